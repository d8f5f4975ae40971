import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRunOut } from './check-out.js';

describe('checkRunOut', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(join(tmpdir(), 'skingan-out-'));
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('a new or empty folder (hidden files aside) starts a run', async () => {
    expect(await checkRunOut(join(dir, 'new'))).toEqual({ dir: join(dir, 'new'), isRun: false });
    await fs.mkdir(join(dir, 'empty'));
    await fs.writeFile(join(dir, 'empty', '.lock'), '');
    expect((await checkRunOut(join(dir, 'empty'))).isRun).toBe(false);
  });

  it('checkRunOut(non-empty folder that is not a run) → "--out is a non-empty folder that is not a training run (it holds notes.txt)"', async () => {
    const out = join(dir, 'mine');
    await fs.mkdir(out);
    await fs.writeFile(join(out, 'notes.txt'), 'mine');
    await expect(checkRunOut(out, { kind: 'training' })).rejects.toThrow(
      `${out}: --out is a non-empty folder that is not a training run (it holds notes.txt)`,
    );
    await expect(checkRunOut(out, { resume: true })).rejects.toThrow(/not a run/);
    await fs.writeFile(join(dir, 'file'), '');
    await expect(checkRunOut(join(dir, 'file'))).rejects.toThrow('--out is a file, not a folder');
  });

  it('an existing run needs --resume', async () => {
    const out = join(dir, 'run');
    await fs.mkdir(out);
    await fs.writeFile(join(out, 'config.json'), '{}');
    await expect(checkRunOut(out)).rejects.toThrow(`${out}: a run already exists here`);
    expect(await checkRunOut(out, { resume: true })).toEqual({ dir: out, isRun: true });
  });
});
