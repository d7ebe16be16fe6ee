# Top ten words of a file, counted in awk; this one forgets to lower-case the words.
{
    n = split($0, words, /[^A-Za-z]+/)
    for (i = 1; i <= n; i++) if (words[i] != "") count[words[i]]++
}
END {
    for (w in count) print count[w], w | "sort -k1,1nr -k2,2 | head -n 10"
}
