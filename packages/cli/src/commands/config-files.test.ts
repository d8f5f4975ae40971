import { existsSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../test-utils/run-cli.js';

/** Issue 20 item 8: every config file is strict; an unknown key is named with the nearest valid one. */
describe('config files (--config)', () => {
  let dir: string;
  let data: string;

  beforeAll(async () => {
    dir = await fs.mkdtemp(join(tmpdir(), 'skingan-cli-config-'));
    data = join(dir, 'D');
    const r = runCli(['data', 'demo-set', '--out', data, '--per-class', '2', '--size', '32']);
    expect(r.code, r.stderr).toBe(0);
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  /** Runs `command… --data D --preset test --out OUT --config FILE` with `json` in FILE; exit 2 expected. */
  async function withConfig(name: string, json: string, command: string[]) {
    const file = join(dir, `${name}.json`);
    await fs.writeFile(file, json);
    const out = join(dir, `out-${name}`);
    const r = runCli([...command, '--data', data, '--preset', 'test', '--out', out, '--config', file]);
    expect(r.code, r.stderr).toBe(2);
    expect(existsSync(join(out, 'config.json'))).toBe(false);
    return { ...r, file };
  }
  const acgan = ['acgan', 'train'];

  it('acgan train --config {"training":{"learningrateG":5}} exits 2: "unknown key training.learningrateG — did you mean learningRateG?", writes no run', async () => {
    const r = await withConfig('a1', '{"training":{"learningrateG":5}}', acgan);
    expect(r.stderr).toContain(
      'invalid ACGAN config: unknown key training.learningrateG — did you mean learningRateG?',
    );
  });

  it('acgan train --config {"trainingg":{}} exits 2 naming trainingg and training', async () => {
    const r = await withConfig('a2', '{"trainingg":{}}', acgan);
    expect(r.stderr).toContain('unknown key trainingg — did you mean training?');
  });

  it('acgan train --config [JSON array] exits 2: "holds one JSON object of settings, not an array"', async () => {
    const r = await withConfig('a3', '[{"epochs": 1}]', acgan);
    expect(r.stderr).toContain(`${r.file}: a config file holds one JSON object of settings, not an array`);
  });

  it('experiment noise2img --config {"repeatz":5} exits 2: "unknown key repeatz — did you mean repeats?"', async () => {
    const top = await withConfig('e1', '{"repeatz":5}', ['experiment', 'noise2img']);
    expect(top.stderr).toContain('invalid experiment config: unknown key repeatz — did you mean repeats?');
    const nested = await withConfig('e2', '{"acgan":{"epoch":1}}', ['experiment', 'noise2img']);
    expect(nested.stderr).toContain('unknown key acgan.epoch — did you mean epochs?');
  });

  it('cyclegan train --config {"lamdaA":3} exits 2: "unknown key lamdaA — did you mean lambdaA?"', async () => {
    const r = await withConfig('c1', '{"lamdaA":3}', ['cyclegan', 'train', '--a', 'MEL', '--b', 'NV']);
    expect(r.stderr).toContain('invalid CycleGAN config: unknown key lamdaA — did you mean lambdaA?');
  });

  it('classifier train --config {"bachSize":4} exits 2: "unknown key bachSize — did you mean batchSize?"', async () => {
    const r = await withConfig('k1', '{"bachSize":4}', ['classifier', 'train']);
    expect(r.stderr).toContain('unknown key bachSize — did you mean batchSize?');
  });
});
