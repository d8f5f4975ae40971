#!/usr/bin/python3
"""Tabulates the yardstick over seeds: skingan's `cpu` classifier vs the PyTorch recipe, one split.

Run in the folder of the runs (docs/results/ham-train/yardstick/README.md has the commands):
reads {torch,skingan}-seed-{s}.classify.json (the test part, `skingan metrics classify --json`)
and the training results (torch-seed-{s}.json from torch_classifier_test_predictions.py,
skingan-seed-{s}.train.json from `classifier train --json`); writes seeds.csv and prints a
markdown table (mean ± the 95% t-interval half-width over seeds) and Welch's t-test of the means.
"""
import csv, json, os
from scipy import stats

MINOR = ['AK', 'DF', 'VASC', 'SCC']
rows = []
for impl in ['torch', 'skingan']:
    for s in range(20):
        c = f'{impl}-seed-{s}.classify.json'
        if not os.path.exists(c) or os.path.getsize(c) == 0:
            continue
        t = json.load(open(c))
        if impl == 'torch':
            r = json.load(open(f'torch-seed-{s}.json'))
            val, ep, wall, ran = r['best']['valBalancedAccuracy'], r['best']['epoch'], r['wallSeconds'], r['args']['epochs']
        else:
            r = json.load(open(f'skingan-seed-{s}.train.json'))
            val, ep, wall, ran = r['best']['valBalancedAccuracy'], r['best']['epoch'], r['seconds'], r['epochs']
        rec = {p['class']: p['recall'] for p in t['perClass']}
        rows.append(dict(impl=impl, seed=s, val_bal_acc=round(val, 4), best_epoch=ep, epochs_run=ran,
                         test_bal_acc=round(t['balancedAccuracy'], 4), test_acc=round(t['accuracy'], 4),
                         **{f'recall_{k}': round(rec[k], 4) for k in MINOR}, wall_s=round(wall)))
with open('seeds.csv', 'w', newline='') as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
    w.writeheader(); w.writerows(rows)

def summary(xs):
    m = sum(xs) / len(xs)
    if len(xs) < 2:
        return m, float('nan')
    h = stats.t.ppf(0.975, len(xs) - 1) * stats.tstd(xs) / len(xs) ** 0.5
    return m, h

cols = ['val_bal_acc', 'test_bal_acc', 'test_acc'] + [f'recall_{k}' for k in MINOR]
print('| classifier | seeds | ' + ' | '.join(cols) + ' |')
print('|---|---:|' + '---:|' * len(cols))
by = {impl: [r for r in rows if r['impl'] == impl] for impl in ['torch', 'skingan']}
for impl, rs in by.items():
    cells = []
    for c in cols:
        m, h = summary([r[c] for r in rs])
        cells.append(f'{m:.3f} ± {h:.3f}')
    print(f'| {impl} | {len(rs)} | ' + ' | '.join(cells) + ' |')
for c in ['val_bal_acc', 'test_bal_acc']:
    a, b = [r[c] for r in by['skingan']], [r[c] for r in by['torch']]
    if len(a) > 1 and len(b) > 1:
        t = stats.ttest_ind(a, b, equal_var=False)
        print(f'{c}: skingan − torch = {sum(a)/len(a) - sum(b)/len(b):+.3f}, Welch p = {t.pvalue:.3f}')
