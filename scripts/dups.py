#!/usr/bin/env python3
"""Repeated blocks (docs/design.md, "Before and after"): pairs of places whose N consecutive
non-blank trimmed lines (lone braces skipped, windows under 60 chars ignored) are identical;
overlapping windows of one pair count once. Usage: dups.py N DIR... [-v]"""
import collections, os, sys
args = [a for a in sys.argv[1:] if a != '-v']; N = int(args[0]); files = []
for d in args[1:]:
    for dp, _, fn in os.walk(d):
        files += [os.path.join(dp, f) for f in fn if f.endswith('.rs')]
SKIP = {'}', '{', '});', '};', ')', '),', '],', '*/'}
occ = collections.defaultdict(list)
for f in sorted(files):
    L = [(i + 1, l.strip()) for i, l in enumerate(open(f)) if l.strip() and l.strip() not in SKIP]
    for k in range(len(L) - N + 1):
        w = tuple(x[1] for x in L[k:k + N])
        if sum(map(len, w)) >= 60:
            occ[w].append((f, k, L[k][0]))
pairs = {}
for o in occ.values():
    for i in range(len(o)):
        for j in range(i + 1, len(o)):
            pairs[(o[i][0], o[i][1], o[j][0], o[j][1])] = (o[i], o[j])
blocks = [v for k, v in sorted(pairs.items()) if (k[0], k[1] - 1, k[2], k[3] - 1) not in pairs]
print(len(blocks))
if '-v' in sys.argv:
    for a, b in blocks:
        print(f"{a[0]}:{a[2]} = {b[0]}:{b[2]}")
