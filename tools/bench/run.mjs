#!/usr/bin/env node
// pnpm bench [name…] [--rounds=N] — times each setup on the current backend in its own process, runs
// its anchor (../shared/anchors: PyTorch / PIL) in the same run, prints both and the ratio, and writes
// bench-results.json at the repo root. With --rounds=N, ours and the anchor take turns N times and the
// ratio is that of the medians over rounds: on a shared machine one round can be off by 2×.
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
const roundsArg = process.argv.find((a) => a.startsWith('--rounds='));
const rounds = roundsArg ? Number(roundsArg.slice('--rounds='.length)) : 1;
if (!Number.isInteger(rounds) || rounds < 1) {
  console.error(`--rounds: "${roundsArg}" is not a whole number ≥ 1`);
  process.exit(2);
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

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

/** Runs a setup's anchor script once; `{ skipped }` says why it could not. */
function anchorRun(anchor) {
  if (!anchor) return null;
  const script = join(anchors, anchor.script);
  if (missingRef) return { skipped: missingRef };
  if (!existsSync(script)) return { skipped: `${script} not found` };
  const ref = spawnSync(python, [script, ...anchor.args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const rr = lastResult(ref.stdout ?? '');
  return rr
    ? {
        impl: rr.impl,
        medianMs: rr.medianMs,
        imagesPerSec: rr.imagesPerSec,
        peakRssMB: rr.peakRssMB ?? rr.maxrssMB,
        raw: rr,
      }
    : { skipped: `anchor failed: ${(ref.stderr ?? '').trim().split('\n').pop()}` };
}

const results = [];
for (const name of names) {
  process.stderr.write(`\n▶ ${name}\n`);
  const ourRounds = [];
  const refRounds = [];
  let r;
  let reference = null;
  for (let round = 0; round < rounds; round++) {
    if (rounds > 1) process.stderr.write(`  round ${round + 1} of ${rounds}\n`);
    const ours = spawnSync(process.execPath, [join(here, 'run-one.mjs'), name], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 1 << 26,
    });
    r = lastResult(ours.stdout ?? '');
    if (!r) {
      console.error(`  ${name}: failed (exit ${ours.status})`);
      break;
    }
    ourRounds.push(r.medianMs ?? r.imagesPerSec);
    reference = r.reference ?? anchorRun(r.anchor);
    if (reference && !reference.skipped) refRounds.push(reference.medianMs ?? reference.imagesPerSec);
  }
  if (!r) {
    results.push({ name, error: 'failed' });
    continue;
  }
  if (rounds > 1) {
    // The medians over rounds stand for the run; each round's figure is kept beside them.
    if (r.medianMs) r.medianMs = median(ourRounds);
    else r.imagesPerSec = median(ourRounds);
    if (refRounds.length && reference) {
      if (reference.medianMs) reference.medianMs = median(refRounds);
      else reference.imagesPerSec = median(refRounds);
    }
    r.extra = { ...(r.extra ?? {}), rounds: { ours: ourRounds, reference: refRounds } };
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
