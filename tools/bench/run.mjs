#!/usr/bin/env node
// pnpm bench [name…] — times each setup on the current backend in its own process, runs its anchor
// (../shared/anchors: PyTorch / PIL) in the same run, prints both and the ratio, and writes
// bench-results.json at the repo root.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const anchors = join(root, '..', 'shared', 'anchors');
const python = '/usr/bin/python3';

const all = readdirSync(join(here, 'setups'))
  .filter((f) => f.endsWith('.mjs'))
  .map((f) => f.replace(/\.mjs$/, ''))
  .sort();
const asked = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = asked.filter((a) => !all.includes(a));
if (unknown.length) {
  console.error(`unknown setup(s): ${unknown.join(', ')}\navailable: ${all.join(', ')}`);
  process.exit(2);
}
const names = asked.length ? asked : all;

function lastResult(stdout) {
  const line = stdout
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('RESULT '));
  return line ? JSON.parse(line.slice(7)) : undefined;
}

function torchAvailable() {
  if (!existsSync(python)) return 'no /usr/bin/python3';
  const r = spawnSync(python, ['-c', 'import torch, torchvision, PIL'], { encoding: 'utf8' });
  return r.status === 0
    ? null
    : 'PyTorch/PIL missing (apt-get install -y python3-torch python3-torchvision python3-pil)';
}
const missingRef = torchAvailable();

const results = [];
for (const name of names) {
  process.stderr.write(`\n▶ ${name}\n`);
  const ours = spawnSync(process.execPath, [join(here, 'run-one.mjs'), name], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 26,
  });
  const r = lastResult(ours.stdout ?? '');
  if (!r) {
    console.error(`  ${name}: failed (exit ${ours.status})`);
    results.push({ name, error: `exit ${ours.status}` });
    continue;
  }
  let reference = r.reference ?? null;
  if (!reference && r.anchor) {
    const script = join(anchors, r.anchor.script);
    if (missingRef) {
      reference = { skipped: missingRef };
    } else if (!existsSync(script)) {
      reference = { skipped: `${script} not found` };
    } else {
      const ref = spawnSync(python, [script, ...r.anchor.args], { encoding: 'utf8', maxBuffer: 1 << 26 });
      const rr = lastResult(ref.stdout ?? '');
      reference = rr
        ? {
            impl: rr.impl,
            medianMs: rr.medianMs,
            imagesPerSec: rr.imagesPerSec,
            peakRssMB: rr.peakRssMB ?? rr.maxrssMB,
            raw: rr,
          }
        : { skipped: `anchor failed: ${(ref.stderr ?? '').trim().split('\n').pop()}` };
    }
  }
  // ratio > 1 means we are slower (time) or faster (throughput): the unit says which.
  let ratio = null;
  let ratioMeaning = null;
  if (r.medianMs && reference?.medianMs) {
    ratio = r.medianMs / reference.medianMs;
    ratioMeaning = 'ours ms / reference ms (lower is better)';
  } else if (r.imagesPerSec && reference?.imagesPerSec) {
    ratio = r.imagesPerSec / reference.imagesPerSec;
    ratioMeaning = 'ours images/s / reference images/s (higher is better)';
  }
  const entry = {
    name,
    backend: r.backend,
    ours: { medianMs: r.medianMs ?? null, imagesPerSec: r.imagesPerSec ?? null, ...(r.extra ?? {}) },
    referenceMedianMs: reference?.medianMs ?? null,
    reference,
    ratio: ratio === null ? null : Number(ratio.toFixed(3)),
    ratioMeaning,
    peakRssMB: r.peakRssMB,
    params: r.params ?? null,
    notes: r.notes ?? null,
  };
  results.push(entry);
  const fmt = (x) => (x === null || x === undefined ? '–' : typeof x === 'number' ? x.toFixed(1) : String(x));
  const unit = r.medianMs ? 'ms/step' : 'images/s';
  const oursV = r.medianMs ?? r.imagesPerSec;
  const refV = reference?.medianMs ?? reference?.imagesPerSec;
  console.log(
    `${name.padEnd(24)} ${r.backend.padEnd(6)} ours ${fmt(oursV)} ${unit}  ${reference?.impl ?? 'reference'} ${reference?.skipped ? `skipped (${reference.skipped})` : fmt(refV)}  ratio ${ratio === null ? '–' : ratio < 0.1 ? `1/${(1 / ratio).toFixed(0)}` : `${ratio.toFixed(2)}×`}  peak RSS ${fmt(r.peakRssMB)} MB${r.notes ? `  — ${r.notes}` : ''}`,
  );
}
// Setups run now replace their earlier entries; the others are kept, each with its own date.
const resultsPath = join(root, 'bench-results.json');
let previous = [];
try {
  previous = JSON.parse(readFileSync(resultsPath, 'utf8')).results ?? [];
} catch {
  // first run, or an unreadable file: start afresh
}
const date = new Date().toISOString();
const merged = [...previous.filter((p) => !names.includes(p.name)), ...results.map((r) => ({ ...r, date }))];
merged.sort((a, b) => a.name.localeCompare(b.name));
writeFileSync(resultsPath, `${JSON.stringify({ date, results: merged }, null, 2)}\n`);
console.log(`\nwrote ${resultsPath}`);
if (results.some((r) => r.error)) process.exit(1);
