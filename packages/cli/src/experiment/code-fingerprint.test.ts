import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VERSION } from '../version.js';
import { codeFingerprint, distFingerprint } from './code-fingerprint.js';

const dir = await fs.mkdtemp(join(tmpdir(), 'skingan-code-'));
afterAll(() => fs.rm(dir, { recursive: true, force: true }));

describe('codeFingerprint', () => {
  it('in a checkout is the version plus a hash of the built packages, the same each call', async () => {
    const fp = await codeFingerprint();
    expect(fp).toMatch(new RegExp(`^skingan@${VERSION.replaceAll('.', '\\.')}\\+dist\\.[0-9a-f]{16}$`));
    expect(await codeFingerprint()).toBe(fp);
  });

  it('distFingerprint changes with any built file, and only with what is under dist/', async () => {
    const pkg = join(dir, 'core');
    await fs.mkdir(join(pkg, 'dist', 'kernels'), { recursive: true });
    await fs.writeFile(join(pkg, 'dist', 'index.js'), 'export {};\n');
    await fs.writeFile(join(pkg, 'dist', 'kernels', 'conv.js'), 'a');
    const packages = [['@skingan/core', pkg]] as const;
    const before = await distFingerprint(packages);
    await fs.writeFile(join(pkg, 'README.md'), 'not code');
    expect(await distFingerprint(packages)).toBe(before);
    await fs.writeFile(join(pkg, 'dist', 'kernels', 'conv.js'), 'b');
    expect(await distFingerprint(packages)).not.toBe(before);
  });
});
