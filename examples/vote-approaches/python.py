# Top ten words of a file, by counting into a dictionary.
import re
import sys
from collections import Counter

text = open(sys.argv[1], encoding="utf-8").read().lower()
counts = Counter(re.findall(r"[a-z]+", text))
for word, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:10]:
    print(count, word)
