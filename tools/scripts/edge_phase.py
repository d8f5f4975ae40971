#!/usr/bin/python3
"""Where a grid's edges sit: edge strength by position modulo a period (docs/results/gan-quality.md).

  /usr/bin/python3 tools/scripts/edge_phase.py [--period 32] [--size 128] SOURCE...

SOURCE is a dataset folder (labels.csv + images/, the first 800 images, resized to --size²) or a
trainer's sample sheet (samples/epoch-NNN.png: tiles of --size² between 2-px white lines, the
class names in a column on the left). For each: the mean |difference| of neighbouring grey pixels
at each boundary position b = (i + 1) mod period (the edge between pixels i and i + 1; b = 0 is
where blocks of the period meet), rows and columns together, over its mean. Interior only (8 px
from each border), so that padding at the borders does not count. ~1 everywhere: no grid.
Then the same grouped by level: b = 0, b an odd multiple of period/2, of period/4, … (1: b odd).
JPEG's 8-px blocks read high at b ≡ 0 (mod 8); a chain of nearest 2x upsamplings reads low at the
boundaries of each upsampled pixel, lowest where the coarsest blocks meet.
Needs NumPy and Pillow (Debian: python3-numpy python3-pil).
"""
import argparse
import numpy as np
from PIL import Image
from dataset_images import folder_images

ap = argparse.ArgumentParser()
ap.add_argument("sources", nargs="+")
ap.add_argument("--period", type=int, default=32)
ap.add_argument("--size", type=int, default=128)
a = ap.parse_args()
N, P, M = a.size, a.period, 8


def sheet(f):
    g = np.asarray(Image.open(f).convert("L"), dtype=np.float64)
    white = lambda v: np.flatnonzero(v > 250)
    # tiles start right after a white line and are N wide; the label column has white runs too
    starts = lambda v: [i + 1 for i in white(v) if i + 1 + N <= len(v) and not (v[i + 1:i + 1 + N] > 250).any()]
    for y in starts(g.mean(1)):
        for x in starts(g.mean(0)):
            yield g[y:y + N, x:x + N]


total, count = np.zeros(P), np.zeros(P)
at = (np.arange(M, N - 1 - M) + 1) % P  # the boundary position of each interior edge
for s in a.sources:
    total[:], count[:] = 0, 0
    for g in (sheet(s) if s.endswith(".png") else folder_images(s, N)):
        for d in (np.abs(np.diff(g, axis=1))[M:-M].mean(0), np.abs(np.diff(g, axis=0))[:, M:-M].mean(1)):
            total += np.bincount(at, d[M:N - 1 - M], P)
            count += np.bincount(at, minlength=P)
    e = total / count
    e /= e.mean()
    # grouped by the coarsest block that meets there: b = 0, then b an odd multiple of P/2, P/4, … 1
    levels, q = [("0", e[0])], P // 2
    while q >= 1:
        levels.append((str(q), e[q::2 * q].mean()))
        q //= 2
    print(f"{s}\n  by boundary position mod {P}: " + " ".join(f"{v:.2f}" for v in e)
          + "\n  by level (b a multiple of): " + ", ".join(f"{n}: {v:.2f}" for n, v in levels))
