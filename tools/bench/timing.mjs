// Shared timing helpers for setups.
import { performance } from 'node:perf_hooks';

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Runs `step` warmup + steps times (awaiting it), returns the median ms of the timed steps. */
export async function timeSteps(step, { warmup = 1, steps = 5, label = '' } = {}) {
  const times = [];
  for (let i = 0; i < warmup + steps; i++) {
    const t0 = performance.now();
    await step(i);
    const ms = performance.now() - t0;
    if (i >= warmup) times.push(ms);
    process.stderr.write(`  ${label}step ${i}${i < warmup ? ' (warmup)' : ''}: ${ms.toFixed(1)} ms\n`);
  }
  return { medianMs: Number(median(times).toFixed(1)), minMs: Math.min(...times), maxMs: Math.max(...times) };
}
