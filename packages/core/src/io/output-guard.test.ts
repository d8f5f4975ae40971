import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeStaleTemps, tempSibling, writeFileAtomic } from './atomic.js';
import { checkAndClaimOutput, checkOutput, claimOutput, outputOwner } from './output-guard.js';

describe('checkOutput: no overwriting of inputs or of files another command wrote, without force', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(join(tmpdir(), 'skingan-guard-'));
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('refuses an output that is an input, or holds one, naming the command and --force', async () => {
    const labels = join(dir, 'D', 'labels.csv');
    await fs.mkdir(join(dir, 'D'));
    await fs.writeFile(labels, 'image,MEL\n');
    const check = { command: 'classifier predict', inputs: [labels] };
    await expect(checkOutput(labels, check)).rejects.toThrow(
      `${labels}: is an input of \`skingan classifier predict\`; it would be overwritten`,
    );
    await expect(checkOutput(join(dir, 'D'), check)).rejects.toThrow(
      `${join(dir, 'D')}: holds ${labels}, an input of \`skingan classifier predict\``,
    );
    await expect(checkOutput(labels, { ...check, force: true })).resolves.toBe(labels);
  });

  it('refuses an existing file no command claimed, or another command claimed; the same command may replace its own', async () => {
    const file = join(dir, 'preds.csv');
    await fs.writeFile(file, 'theirs');
    await expect(checkOutput(file, { command: 'classifier predict' })).rejects.toThrow(
      `${file}: already exists and was not written by \`skingan classifier predict\``,
    );
    await claimOutput(file, 'data split');
    await expect(checkOutput(file, { command: 'classifier predict' })).rejects.toThrow(
      'already exists, written by `skingan data split`, not by `skingan classifier predict`',
    );
    await claimOutput(file, 'classifier predict');
    expect(await outputOwner(file)).toBe('classifier predict');
    await expect(checkOutput(file, { command: 'classifier predict' })).resolves.toBe(file);
    expect(await fs.readFile(file, 'utf8')).toBe('theirs');
  });

  it('accepts a new path and an empty folder, and claims them', async () => {
    const empty = join(dir, 'empty');
    await fs.mkdir(empty);
    await expect(checkAndClaimOutput(empty, { command: 'acgan sample' })).resolves.toBe(empty);
    expect(await outputOwner(empty)).toBe('acgan sample');
    const fresh = join(dir, 'new.json');
    await expect(checkOutput(fresh, { command: 'data split' })).resolves.toBe(fresh);
    expect(await outputOwner(fresh)).toBeUndefined();
  });
});

describe('atomic writes: what a killed writer leaves is cleaned, a live one is not', () => {
  it('removeStaleTemps removes temps of dead processes only', async () => {
    const dir = await fs.mkdtemp(join(tmpdir(), 'skingan-temps-'));
    const mine = tempSibling(join(dir, 'a.png'));
    const dead = join(dir, '.b.png.tmp-999999999-0123abcd');
    const deadDir = join(dir, '.step-00000004.tmp-999999999-0123abcd');
    await fs.writeFile(mine, 'x');
    await fs.writeFile(dead, 'x');
    await fs.mkdir(deadDir);
    await fs.writeFile(join(dir, '.hidden'), 'kept');
    await removeStaleTemps(dir);
    expect((await fs.readdir(dir)).sort()).toEqual(['.hidden', mine.slice(dir.length + 1)].sort());
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('writeFileAtomic leaves no temp behind when the write fails', async () => {
    const dir = await fs.mkdtemp(join(tmpdir(), 'skingan-atomic-'));
    await fs.mkdir(join(dir, 'x.txt')); // renaming a file over a folder fails
    await expect(writeFileAtomic(join(dir, 'x.txt'), 'data')).rejects.toThrow();
    expect(await fs.readdir(dir)).toEqual(['x.txt']);
    await fs.rm(dir, { recursive: true, force: true });
  });
});
