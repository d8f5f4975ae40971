import { describe, expect, it } from 'vitest';
import { deepMerge } from './deep-merge.js';

describe('deepMerge', () => {
  it('merges nested objects key by key; arrays and scalars replace; undefined keeps the base', () => {
    const base = { a: 1, nested: { x: 1, y: [1, 2], deep: { k: 'base' } }, list: [1] };
    const over = { a: undefined, nested: { y: [3], deep: { j: 2 } }, list: [9, 9], extra: null };
    expect(deepMerge(base, over)).toEqual({
      a: 1,
      nested: { x: 1, y: [3], deep: { k: 'base', j: 2 } },
      list: [9, 9],
      extra: null,
    });
    // The inputs are not changed.
    expect(base.nested.deep).toEqual({ k: 'base' });
  });
});
