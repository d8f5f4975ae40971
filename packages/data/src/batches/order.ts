import { Rng } from '@skingan/core';

export interface OrderOptions {
  seed: number;
  epoch: number;
  shuffle: boolean;
  /** Draw classes uniformly instead of in proportion to their size. */
  balanced: boolean;
}

/**
 * The sample indices of one epoch: `labels.length` of them. A function of (seed, epoch) only, so a
 * resumed run gets the same order without replaying earlier epochs. Balanced: each slot picks a
 * class uniformly, then that class's next image in a per-class shuffled cycle (rare classes repeat,
 * large ones are subsampled).
 */
export function epochOrder(labels: readonly number[], options: OrderOptions): number[] {
  const n = labels.length;
  const rng = new Rng(`order:${options.seed}:${options.epoch}`);
  if (!options.balanced) {
    const idx = Array.from({ length: n }, (_, i) => i);
    return options.shuffle ? rng.shuffle(idx) : idx;
  }
  const byClass = new Map<number, number[]>();
  labels.forEach((l, i) => {
    const list = byClass.get(l);
    if (list) list.push(i);
    else byClass.set(l, [i]);
  });
  const classes = [...byClass.keys()].sort((a, b) => a - b);
  const cycles = classes.map((c) => ({ members: byClass.get(c)!, queue: [] as number[] }));
  const out: number[] = [];
  for (let k = 0; k < n; k++) {
    const cycle = cycles[rng.int(cycles.length)]!;
    if (cycle.queue.length === 0)
      cycle.queue = options.shuffle ? rng.shuffle(cycle.members) : [...cycle.members];
    out.push(cycle.queue.shift()!);
  }
  return out;
}
