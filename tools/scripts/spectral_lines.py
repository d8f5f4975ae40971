#!/usr/bin/python3
"""Periodic-artifact figures of a dataset folder's images (docs/results/gan-quality.md).

  /usr/bin/python3 tools/scripts/spectral_lines.py [--size 64] DIR...

For each folder (labels.csv + images/, the first 800 images) the mean power spectrum of the grey,
mean-removed, Hann-windowed images at --size², summed over the lines along either axis with little
frequency across them, then:
  upsampling lines: the lines at N/2, N/4, N/8 (… N/16 at 128²), the frequencies a stack of 2x
    upsamplings leaves (transposed convs' checkerboard), each over the lines beside it (k ± 1);
  other peaks: every line k over the mean of the lines two away (k ± 2), listed where above 1.3:
    a regular pattern of any period (real images show none). Lines at k ≡ 2 (mod 4) over dips at
    k ≡ 0 (mod 4) are the zeros a chain of nearest upsamplings leaves, not extra power;
  edge grid: the mean edge strength (|difference| of neighbouring pixels, both axes) at each
    position modulo p, over its mean, less what the positions modulo p/2 already explain: max − min
    of that, for p = 2, 4, 8 (and 16 at 128²). Edges that are weaker at fixed positions every p
    pixels (a nearest block's edges, say) draw a grid of p-pixel cells that the eye sees on flat
    skin when p ≥ 4 (p = 2 alternates pixel by pixel, finer than a grid); real images at 64² ≤ 0.02
    (at 128² ham-train's JPEG blocks show at 4 and 8 px).
~1 means no peak. Needs NumPy and Pillow (Debian: python3-numpy python3-pil).
"""
import argparse, os
import numpy as np
from dataset_images import folder_images

ap = argparse.ArgumentParser()
ap.add_argument("dirs", nargs="+")
ap.add_argument("--size", type=int, default=64)
a = ap.parse_args()
N = a.size
win = np.outer(np.hanning(N), np.hanning(N))
across = [0, 1, 2, N - 2, N - 1]  # little frequency across the line
for d in a.dirs:
    P = np.zeros((N, N))
    E = np.zeros(N - 1)
    count = 0
    for g in folder_images(d, N):
        g, count = g / 255, count + 1
        P += np.abs(np.fft.fft2((g - g.mean()) * win)) ** 2
        E += np.abs(np.diff(g, axis=1)).mean(0) + np.abs(np.diff(g, axis=0)).mean(1)
    line = np.array([P[k % N, across].sum() + P[across, k % N].sum() for k in range(N + 1)])
    ks = [N // 2 ** i for i in range(1, 5) if N // 2 ** i >= 8]
    up = " ".join(f"N/{N // k}: {line[k] / ((line[k - 1] + line[k + 1]) / 2):.1f}" for k in ks)
    peaks = [(k, line[k] / ((line[k - 2] + line[k + 2]) / 2)) for k in range(3, N // 2 - 1)]
    other = " ".join(f"{k}:{v:.1f}" for k, v in peaks if v > 1.3) or "none above 1.3"
    E /= E.mean()
    # edge i lies between pixels i and i + 1; grouped by (i + 1) mod p, the block boundaries of p
    at = lambda p: np.array([E[[i for i in range(N - 1) if (i + 1) % p == r]].mean() for r in range(p)])
    spread = lambda p: np.ptp(at(p) - np.tile(at(p // 2) if p > 2 else [E.mean()], 2))
    grid = ", ".join(f"{p} px: {spread(p):.2f}" for p in ((2, 4, 8, 16) if N >= 128 else (2, 4, 8)))
    print(f"{os.path.basename(d.rstrip('/'))} ({count} images, {N}²)  upsampling lines {up}  other peaks {other}  edge grid {grid}")
