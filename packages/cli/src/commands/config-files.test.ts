import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../test-utils/run-cli.js';

/** Issue 20 item 8: every config file is strict; an unknown key is named with the nearest valid one. */
describe('config files (--config)', () => {
  let dir: string;
  let data: string;
  const config = async (name: string, text: string) => {
    await fs.writeFile(join(dir, name), text);
    return join(dir, name);
  };

  beforeAll(async () => {
    dir = await fs.mkdtemp(join(tmpdir(), 'skingan-cli-config-'));
    data = join(dir, 'D');
    const r = runCli(['data', 'demo-set', '--out', data, '--per-class', '2', '--size', '32']);
    expect(r.code, r.stderr).toBe(0);
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('acgan train --config {"training":{"learningrateG":5}} exits 2: "unknown key training.learningrateG — did you mean learningRateG?", writes no run', async () => {
    const out = join(dir, 'acgan');
    const r = runCli([
      'acgan',
      'train',
      '--data',
      data,
      '--preset',
      'test',
      '--out',
      out,
      '--config',
      await config('a.json', '{"training":{"learningrateG":5}}'),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'invalid ACGAN config: unknown key training.learningrateG — did you mean learningRateG?',
    );
    await expect(fs.access(out)).rejects.toThrow();
  });

  it('acgan train --config {"trainingg":{}} exits 2 naming trainingg and training', async () => {
    const r = runCli([
      'acgan',
      'train',
      '--data',
      data,
      '--preset',
      'test',
      '--out',
      join(dir, 'a2'),
      '--config',
      await config('a2.json', '{"trainingg":{}}'),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown key trainingg — did you mean training?');
  });

  it('acgan train --config [JSON array] exits 2: "holds one JSON object of settings, not an array"', async () => {
    const file = await config('array.json', '[{"epochs": 1}]');
    const r = runCli([
      'acgan',
      'train',
      '--data',
      data,
      '--preset',
      'test',
      '--out',
      join(dir, 'a3'),
      '--config',
      file,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}: a config file holds one JSON object of settings, not an array`);
  });

  it('experiment noise2img --config {"repeatz":5} exits 2: "unknown key repeatz — did you mean repeats?"', async () => {
    const out = join(dir, 'exp');
    const r = runCli([
      'experiment',
      'noise2img',
      '--data',
      data,
      '--preset',
      'test',
      '--out',
      out,
      '--config',
      await config('e.json', '{"repeatz":5}'),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('invalid experiment config: unknown key repeatz — did you mean repeats?');
    const nested = runCli([
      'experiment',
      'noise2img',
      '--data',
      data,
      '--preset',
      'test',
      '--out',
      out,
      '--config',
      await config('e2.json', '{"acgan":{"epoch":1}}'),
    ]);
    expect(nested.code).toBe(2);
    expect(nested.stderr).toContain('unknown key acgan.epoch — did you mean epochs?');
  });

  it('cyclegan train --config {"lamdaA":3} exits 2: "unknown key lamdaA — did you mean lambdaA?"', async () => {
    const r = runCli([
      'cyclegan',
      'train',
      '--a',
      'MEL',
      '--b',
      'NV',
      '--data',
      data,
      '--preset',
      'test',
      '--out',
      join(dir, 'c'),
      '--config',
      await config('c.json', '{"lamdaA":3}'),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('invalid CycleGAN config: unknown key lamdaA — did you mean lambdaA?');
  });

  it('classifier train --config {"bachSize":4} exits 2: "unknown key bachSize — did you mean batchSize?"', async () => {
    const r = runCli([
      'classifier',
      'train',
      '--data',
      data,
      '--preset',
      'test',
      '--out',
      join(dir, 'k'),
      '--config',
      await config('k.json', '{"bachSize":4}'),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown key bachSize — did you mean batchSize?');
  });
});
