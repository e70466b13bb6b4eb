#!/usr/bin/env python3
# Writes inst/include/vaeconv/exp_table.inc, the table of libm.hpp's exp:
# for j = 0, ..., 127, with H_j = 2^(j/128) rounded to the nearest double,
# the bits of tail_j = (2^(j/128) - H_j) / H_j rounded to the nearest double,
# then H_j's bits less j 2^45. Needs mpmath (python3-mpmath).
import struct
import sys

import mpmath

mpmath.mp.prec = 300


def bits(d):
    return struct.unpack("<Q", struct.pack("<d", d))[0]


out = []
for j in range(128):
    v = mpmath.power(2, mpmath.mpf(j) / 128)
    h = float(v)  # nearest double
    tail = float((v - mpmath.mpf(h)) / mpmath.mpf(h))
    out.append(bits(tail))
    out.append((bits(h) - (j << 45)) % 2**64)

path = sys.argv[1] if len(sys.argv) > 1 else "inst/include/vaeconv/exp_table.inc"
with open(path, "w") as f:
    f.write("// Written by tools/exp-table.py; see libm.hpp.\n")
    for j in range(128):
        f.write("0x%016xULL, 0x%016xULL,\n" % (out[2 * j], out[2 * j + 1]))
