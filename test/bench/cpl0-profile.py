#!/usr/bin/env python3
# Per-entry CPL0 profile: KVMBOX_CPL0_TRACE=all kvmbox run --count-cpl0 PROG 2>trace;
# test/bench/cpl0-profile.py trace build/guest/kernel.elf [KEY,KEY...]
# prints, per kernel entry (optionally only those keys: syscall number, or
# 512 + vector), its instruction count and the functions they ran in.
import sys, re, subprocess, collections
tr, elf = sys.argv[1], sys.argv[2]
keys = sys.argv[3].split(',') if len(sys.argv) > 3 else None
entries = collections.OrderedDict()
for line in open(tr):
    m = re.match(r'kvmbox: cpl0 trace (\d+) key (-?\d+): rip (0x[0-9a-f]+)', line)
    if not m: continue
    e, k, rip = int(m[1]), int(m[2]), int(m[3], 16)
    ent = entries.setdefault(e, [k, []]); ent[0] = k; ent[1].append(rip)
rips = sorted({r for _, (k, rs) in entries.items() for r in rs})
out = subprocess.run(['addr2line', '-f', '-e', elf] + [hex(r) for r in rips], capture_output=True, text=True).stdout.split('\n')
fn = {r: out[2*i] for i, r in enumerate(rips)}
for e, (k, rs) in entries.items():
    if keys and str(k) not in keys: continue
    c = collections.Counter(fn[r] for r in rs)
    print(f"entry {e} key {k}: {len(rs)} -- " + ", ".join(f"{f} {n}" for f, n in c.most_common()))
