import { describe, expect, it } from 'vitest';
import { epochOrder } from './order.js';

describe('epochOrder', () => {
  const labels = [...new Array(90).fill(0), ...new Array(9).fill(1), 2];

  it('is a seeded permutation per epoch', () => {
    const a = epochOrder(labels, { seed: 1, epoch: 0, shuffle: true, balanced: false });
    expect([...a].sort((x, y) => x - y)).toEqual(labels.map((_, i) => i));
    expect(epochOrder(labels, { seed: 1, epoch: 0, shuffle: true, balanced: false })).toEqual(a);
    expect(epochOrder(labels, { seed: 1, epoch: 1, shuffle: true, balanced: false })).not.toEqual(a);
    expect(epochOrder(labels, { seed: 2, epoch: 0, shuffle: true, balanced: false })).not.toEqual(a);
    expect(epochOrder(labels, { seed: 1, epoch: 0, shuffle: false, balanced: false })).toEqual(
      labels.map((_, i) => i),
    );
  });

  it('balanced: classes drawn about equally, each class cycling through its images', () => {
    const order = epochOrder(labels, { seed: 3, epoch: 0, shuffle: true, balanced: true });
    expect(order).toHaveLength(100);
    const per = [0, 1, 2].map((c) => order.filter((i) => labels[i] === c).length);
    for (const n of per) expect(n).toBeGreaterThan(20); // expected 33 each; class 0 would get 90 unbalanced
    const ones = order.filter((i) => labels[i] === 1);
    expect(new Set(ones.slice(0, 9)).size).toBe(9); // a full cycle before any repeat
  });
});
