import { existsSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeImageBytes } from '@skingan/data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectNoise2imgTables } from '../test-utils/experiment-tables.js';
import { type CliResult, runCli } from '../test-utils/run-cli.js';
import { pngSize } from '../test-utils/shared-data.js';

// `skingan demo`, the README's main command, end to end on the synthetic demo set it draws itself,
// kept small: two classes and the `test` preset (30 jobs, a few seconds each).
const CLASSES = ['MEL', 'NV'];

describe('skingan demo --preset test --classes MEL,NV', () => {
  let dir: string;
  let out: string;
  let first: CliResult;
  const demo = (...extra: string[]) =>
    runCli([
      'demo',
      '--preset',
      'test',
      '--classes',
      CLASSES.join(','),
      '--jobs',
      '2',
      '--out',
      out,
      ...extra,
    ]);

  beforeAll(async () => {
    dir = await fs.mkdtemp(join(tmpdir(), 'skingan-cli-demo-'));
    out = join(dir, 'demo');
    first = demo();
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('draws the synthetic demo set of the two classes and says so', async () => {
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toContain(
      `drawing the synthetic demo set (2 classes × 40 images, 64×64) into ${join(out, 'demo-data')}`,
    );
    expect(JSON.parse(await fs.readFile(join(out, 'demo-data', 'dataset.json'), 'utf8'))).toMatchObject({
      synthetic: true,
      kind: 'skingan-demo-set',
      classes: CLASSES,
      perClass: 40,
    });
    expect(first.stderr).toMatch(/noise2img: 30 jobs run, 0 reused, 0 failed/);
  });

  it('writes Table 6.2 with the real baseline and a row per generator and N, columns per class', async () => {
    await expectNoise2imgTables(out, CLASSES);
  });

  it('writes report.html naming its tables, and a sample sheet per class that decodes as a PNG', async () => {
    expect(first.stdout).toContain(`report: ${join(out, 'report.html')}`);
    expect(first.stdout).toContain(`Open the report: ${join(out, 'report.html')}`);
    const html = await fs.readFile(join(out, 'report.html'), 'utf8');
    const captions = [...html.matchAll(/<caption>([^<]*)/g)].map((m) => m[1]);
    expect(captions).toEqual([
      expect.stringContaining('Table 6.2'),
      expect.stringContaining('Paired comparison with ISIC-0'),
      expect.stringContaining('Image quality against the real test images'),
      expect.stringContaining('Jobs: where each ran'),
    ]);
    expect((await fs.readdir(join(out, 'report-assets'))).sort()).toEqual([
      'samples-MEL.png',
      'samples-NV.png',
    ]);
    for (const cls of CLASSES) {
      const sheet = join(out, 'report-assets', `samples-${cls}.png`);
      // Rows real | ACGAN | CycleGAN of 32² images, 2 px apart, class labels in a column on the left.
      const [w, h] = await pngSize(sheet);
      expect(h).toBe(2 + 3 * (32 + 2));
      expect(w).toBeGreaterThan(2 + 8 * (32 + 2));
      expect((await decodeImageBytes(sheet, 16)).length).toBe(16 * 16 * 3); // the whole file decodes
    }
  });

  it('a rerun reuses every job; other classes in the same folder, or --classes with --data, are usage errors', async () => {
    const again = demo();
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/0 jobs run, 30 reused, 0 failed/);

    const other = runCli(['demo', '--preset', 'test', '--classes', 'MEL,BCC', '--out', out]);
    expect(other.code).toBe(2);
    expect(other.stderr).toContain('the demo in this folder was drawn with the classes MEL,NV, not MEL,BCC');
    const unknown = runCli(['demo', '--classes', 'MEL,XYZ', '--out', join(dir, 'x1')]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('--classes: unknown class "XYZ"');
    const withData = runCli([
      'demo',
      '--classes',
      'MEL',
      '--data',
      join(out, 'demo-data'),
      '--out',
      join(dir, 'x2'),
    ]);
    expect(withData.code).toBe(2);
    expect(withData.stderr).toContain('--classes chooses the classes of the synthetic demo set');
    for (const r of [other, unknown, withData]) expect(r.stderr).not.toMatch(/\n\s+at /);
    for (const name of ['x1', 'x2']) expect(existsSync(join(dir, name))).toBe(false);
  });
});
