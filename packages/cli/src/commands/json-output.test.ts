import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, runCli } from '../test-utils/run-cli.js';

// `--json` means the same in every command: stdout is exactly one JSON document (the result, or
// {"error":{code,message,hint,file}}), with the exit code the command has without --json.

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'skingan-json-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** stdout parsed as one JSON document (JSON.parse throws on anything before or after it). */
function document(r: CliResult): Record<string, unknown> {
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

describe('skingan … --json, on errors', () => {
  it('a usage error is {"error":…} with code USAGE on stdout, exit 2, and commander prints nothing', () => {
    const cases: [string[], string][] = [
      [['bogus', '--json'], "unknown command 'bogus'"],
      [['data', 'stats', '--json'], "missing required argument 'dir'"],
      [
        ['data', 'split', dir, '--seed', 'x', '--out', join(dir, 's.json'), '--json'],
        "option '--seed <n>' argument 'x' is invalid. --seed must be an integer, got \"x\"",
      ],
      [['data', 'stats', dir, '--no-such-flag', '--json'], "unknown option '--no-such-flag'"],
    ];
    for (const [args, message] of cases) {
      const r = runCli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(document(r)).toEqual({
        error: { code: 'USAGE', message, hint: 'run with --help for usage', file: null },
      });
      expect(r.stderr).toBe('');
    }
  });

  it('a failure is the SkinganError (code, message, hint, file) on stdout, exit 1, as the text form says', () => {
    const missing = join(dir, 'no-such-dataset');
    const json = runCli(['data', 'stats', missing, '--json']);
    expect(json.code).toBe(1);
    expect(document(json)).toEqual({
      error: {
        code: 'NOT_FOUND',
        message: `${missing}: no such dataset folder`,
        hint: 'pass a folder with labels.csv + images/, or the ISIC 2019 download folder',
        file: missing,
      },
    });
    const text = runCli(['data', 'stats', missing]);
    expect(text.code).toBe(1);
    expect(text.stdout).toBe('');
    expect(text.stderr).toBe(
      `skingan: ${missing}: no such dataset folder\n  hint: pass a folder with labels.csv + images/, or the ISIC 2019 download folder\n`,
    );
  });

  it('report and experiment take --json too; their usage errors are JSON with exit 2', () => {
    const report = runCli(['report', dir, '--json']);
    expect(report.code).toBe(2);
    expect(document(report)).toMatchObject({ error: { code: 'USAGE', file: dir } });
    const experiment = runCli(['experiment', 'noise2img', '--out', join(dir, 'exp'), '--json']);
    expect(experiment.code).toBe(2);
    expect(document(experiment)).toMatchObject({
      error: { code: 'USAGE', message: "required option '--data <dir...>' not specified" },
    });
  });

  it('--help is not an error: exit 0, help on stdout', () => {
    const r = runCli(['report', '--help', '--json']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: skingan report \[options\] <dir>/);
  });
});

describe('skingan … --json, on success', () => {
  it('report --json prints the paths it wrote', async () => {
    const run = join(dir, 'run');
    await rm(run, { recursive: true, force: true });
    await mkdir(run);
    await writeFile(join(run, 'config.json'), '{"command":"acgan train"}\n');
    const r = runCli(['report', run, '--json']);
    expect(r.code).toBe(0);
    expect(document(r)).toEqual({ dir: run, html: join(run, 'report.html'), md: join(run, 'report.md') });
    expect(existsSync(join(run, 'report.html'))).toBe(true);
  });

  it('metrics classify --json reads a predictions CSV with a quoted header, values as computed by hand', async () => {
    const data = join(dir, 'demo');
    const made = runCli(['data', 'demo-set', '--out', data, '--per-class', '1', '--size', '16', '--json']);
    expect(made.code).toBe(0);
    expect(document(made)).toMatchObject({ total: 8, synthetic: true });
    // Ids and labels of the demo set; predict MEL for the MEL image and NV for all others.
    const rows = (await readFile(join(data, 'labels.csv'), 'utf8')).trim().split('\n').slice(1);
    const classes = ['MEL', 'NV', 'BCC', 'AK', 'BKL', 'DF', 'VASC', 'SCC'];
    const truth = rows.map((r) => {
      const [id, ...hot] = r.split(',');
      return { id: id!, label: classes[hot.findIndex((v) => Number(v) === 1)]! };
    });
    const header = ['image', ...classes].map((c) => `"${c}"`).join(',');
    const body = truth.map(({ id, label }) => {
      const p = classes.map((c) => (c === (label === 'MEL' ? 'MEL' : 'NV') ? '0.9' : '0.0125'));
      return `"${id}",${p.join(',')}`;
    });
    const pred = join(dir, 'predictions.csv');
    await writeFile(pred, `${header}\r\n${body.join('\r\n')}\r\n`);
    const r = runCli(['metrics', 'classify', '--pred', pred, '--data', data, '--bootstrap', '0', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = document(r) as { n: number; accuracy: number; balancedAccuracy: number; classes: string[] };
    // 8 images, one per class: MEL and NV right, 6 wrong → accuracy 2/8; recalls 1,1,0×6 → 2/8.
    expect(out.classes).toEqual(classes);
    expect(out.n).toBe(8);
    expect(out.accuracy).toBe(0.25);
    expect(out.balancedAccuracy).toBe(0.25);
  });
});
