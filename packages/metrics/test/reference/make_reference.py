#!/usr/bin/env python3
"""Reference values for @skingan/metrics' GAN metrics, from numpy + scipy.

Run with Debian's python3-numpy / python3-scipy:

    /usr/bin/python3 packages/metrics/test/reference/make_reference.py

It writes gan-reference.json beside itself (then formats it with the repository's biome). The feature matrices are not stored: both this script
and test/fixtures.ts draw them from the same 32-bit LCG with only additions and multiplications
in the same order, so they are bit-identical in Python and JavaScript (the JSON carries checksums
that the tests compare first).

FID follows pytorch-fid's calculate_frechet_distance (scipy.linalg.sqrtm of Σ1·Σ2, real part).
KID follows torch-fidelity's unbiased MMD² with the kernel (xᵀy/d + 1)³ and the population std
over subsets. Precision/recall follow Kynkäänniemi et al.'s reference code (closed k-NN balls,
k = 3), density/coverage Naeem et al.'s `prdc` (open balls, k = 5); distances from
scipy.spatial.distance.cdist.
"""
import json
import os
import platform
import shutil
import subprocess

import numpy as np
import scipy
from scipy import linalg
from scipy.spatial.distance import cdist


class Lcg:
    """Numerical Recipes' LCG; normal() = (sum of 12 uniforms) − 6, exact in float64."""

    def __init__(self, seed):
        self.state = seed % 2**32

    def uniform(self):
        self.state = (1664525 * self.state + 1013904223) % 2**32
        return self.state / 4294967296.0

    def normal(self):
        s = 0.0
        for _ in range(12):
            s += self.uniform()
        return s - 6.0


def features(spec):
    """x[i][j] = shift·((j mod 5) − 2)/2 + scale·(z[i][j] + mix·z[i][j−1]), z from Lcg(seed)."""
    g = Lcg(spec["seed"])
    n, d = spec["n"], spec["d"]
    shift, scale, mix = spec["shift"], spec["scale"], spec["mix"]
    rows = []
    for _ in range(n):
        prev = 0.0
        row = []
        for j in range(d):
            z = g.normal()
            row.append(shift * ((j % 5) - 2) / 2.0 + scale * (z + mix * prev))
            prev = z
        rows.append(row)
    return np.array(rows, dtype=np.float64)


def checksum(x):
    return {"first": float(x[0, 0]), "last": float(x[-1, -1]), "sum": float(np.sum(x))}


def fid(real, fake):
    mu1, mu2 = real.mean(axis=0), fake.mean(axis=0)
    s1, s2 = np.cov(real, rowvar=False), np.cov(fake, rowvar=False)
    covmean, _ = linalg.sqrtm(s1.dot(s2), disp=False)
    covmean = covmean.real
    diff = mu1 - mu2
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def mmd2_unbiased(x, y):
    d = x.shape[1]
    kxx = (x @ x.T / d + 1) ** 3
    kyy = (y @ y.T / d + 1) ** 3
    kxy = (x @ y.T / d + 1) ** 3
    m, n = x.shape[0], y.shape[0]
    return float(
        (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
        + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
        - 2 * kxy.sum() / (m * n)
    )


def kth_radii(x, k):
    d = cdist(x, x)
    np.fill_diagonal(d, np.inf)
    return np.sort(d, axis=1)[:, k - 1]


def prdc(real, fake, k_pr=3, k_dc=5):
    d = cdist(real, fake)  # real × fake
    r_pr, r_dc = kth_radii(real, k_pr), kth_radii(real, k_dc)
    f_pr = kth_radii(fake, k_pr)
    precision = (d <= r_pr[:, None]).any(axis=0).mean()
    recall = (d <= f_pr[None, :]).any(axis=1).mean()
    density = (d < r_dc[:, None]).sum(axis=0).mean() / k_dc
    coverage = (d.min(axis=1) < r_dc).mean()
    return {
        "precision": float(precision),
        "recall": float(recall),
        "density": float(density),
        "coverage": float(coverage),
    }


def spec(seed, n, d, shift=0.0, scale=1.0, mix=0.5):
    return {"seed": seed, "n": n, "d": d, "shift": shift, "scale": scale, "mix": mix}


def main():
    out = {
        "generator": "make_reference.py",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "fid": [],
        "kid": [],
        "prdc": [],
    }
    fid_cases = [
        ("more images than dimensions", spec(1, 300, 12), spec(2, 250, 12, 0.3, 1.2, 0.3)),
        ("fewer images than dimensions", spec(3, 40, 64), spec(4, 30, 64, 0.2, 0.9, 0.5)),
        ("mixed", spec(5, 90, 32), spec(6, 20, 32, -0.4, 1.1, 0.8)),
        ("close distributions", spec(7, 200, 16), spec(8, 200, 16, 0.0, 1.0, 0.5)),
    ]
    for name, r, f in fid_cases:
        real, fake = features(r), features(f)
        out["fid"].append(
            {"name": name, "real": r, "fake": f, "realChecksum": checksum(real), "fakeChecksum": checksum(fake),
             "fid": fid(real, fake)}
        )

    # KID over explicit subsets drawn here, so the TypeScript side can reuse them exactly.
    rng = np.random.RandomState(2024)
    r, f = spec(11, 80, 10), spec(12, 70, 10, 0.5, 1.3, 0.2)
    real, fake = features(r), features(f)
    m, count = 30, 10
    subsets, values = [], []
    for _ in range(count):
        ri = rng.choice(real.shape[0], m, replace=False)
        fi = rng.choice(fake.shape[0], m, replace=False)
        subsets.append({"real": ri.tolist(), "fake": fi.tolist()})
        values.append(mmd2_unbiased(real[ri], fake[fi]))
    out["kid"].append(
        {"name": "random subsets", "real": r, "fake": f, "realChecksum": checksum(real), "fakeChecksum": checksum(fake),
         "subsets": subsets, "values": values, "mean": float(np.mean(values)), "std": float(np.std(values))}
    )
    # Whole sets of equal size: every subset of size n is the set itself, so any draw gives this.
    r, f = spec(13, 60, 24), spec(14, 60, 24, 0.1, 1.0, 0.5)
    real, fake = features(r), features(f)
    out["kid"].append(
        {"name": "whole sets", "real": r, "fake": f, "realChecksum": checksum(real), "fakeChecksum": checksum(fake),
         "mean": mmd2_unbiased(real, fake), "std": 0.0}
    )

    for name, r, f in [
        ("shifted", spec(21, 120, 8), spec(22, 100, 8, 0.6, 1.0, 0.5)),
        ("narrow fake", spec(23, 90, 6), spec(24, 110, 6, 0.0, 0.4, 0.5)),
    ]:
        real, fake = features(r), features(f)
        out["prdc"].append(
            {"name": name, "real": r, "fake": f, "realChecksum": checksum(real), "fakeChecksum": checksum(fake),
             **prdc(real, fake)}
        )

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gan-reference.json")
    with open(path, "w") as fh:
        json.dump(out, fh, indent=2)
        fh.write("\n")
    # Keep the checked-in file in the repository's (biome) format, so a rerun only shows real changes.
    if shutil.which("npx"):
        subprocess.run(["npx", "biome", "format", "--write", path], check=False, capture_output=True)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
