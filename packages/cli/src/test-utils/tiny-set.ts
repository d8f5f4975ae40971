import { expect } from 'vitest';
import { runCli } from './run-cli.js';

/**
 * The smallest inputs the model commands accept, for tests of what they write rather than how well
 * they train: the generated demo set (4 images per class, 32²), a split, and `--preset test` runs.
 */
const TEST = ['--preset', 'test', '--size', '32'];

export const tinyArgs = {
  demoSet: (out: string) => ['data', 'demo-set', '--out', out, '--per-class', '4', '--size', '32'],
  split: (data: string, out: string) => [
    'data',
    'split',
    data,
    '--seed',
    '1',
    '--fractions',
    '0.5,0.25,0.25',
    '--out',
    out,
  ],
  acgan: (data: string, out: string, epochs: number) => [
    'acgan',
    'train',
    '--data',
    data,
    ...TEST,
    '--epochs',
    String(epochs),
    '--out',
    out,
  ],
  cyclegan: (data: string, out: string, epochs: number) => [
    'cyclegan',
    'train',
    '--data',
    data,
    '--a',
    'NV',
    '--b',
    'MEL',
    ...TEST,
    '--epochs',
    String(epochs),
    '--out',
    out,
  ],
  classifier: (data: string, split: string, out: string, epochs: number) =>
    ['classifier', 'train', '--data', data, '--split', split, '--classes', 'MEL,NV,BCC,AK', ...TEST].concat([
      '--epochs',
      String(epochs),
      '--batch-size',
      '4',
      '--out',
      out,
    ]),
};

/** Runs each command (one thread: several test files share the cores) and expects success. */
export function runAll(commands: string[][]): void {
  for (const args of commands) {
    const r = runCli(args, { SKINGAN_THREADS: '1' });
    expect(r.code, r.stderr).toBe(0);
  }
}
