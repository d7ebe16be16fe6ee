# Top ten words of a file, with a sort pipeline.
tr 'A-Z' 'a-z' < "$1" | tr -cs 'a-z' '\n' | grep -v '^$' | sort | uniq -c | sort -k1,1nr -k2,2 | head -n 10 | awk '{ print $1, $2 }'
