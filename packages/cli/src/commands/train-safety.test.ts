import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, type CliResult, runCli } from '../test-utils/run-cli.js';
import { readJsonl } from '../test-utils/shared-data.js';

/*
 * What a user's results survive: resuming a finished run, two processes on one run folder,
 * SIGTERM, a process that is gone, and divergence (issue 20, items 1, 4, 5, 6). On the generated
 * demo set (no real data needed), with the `test` preset.
 */

/** The built CLI in the background, for the tests that signal it or race it. */
function startCli(args: string[]): { child: ChildProcess; done: Promise<CliResult> } {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, CI: '1' } });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<CliResult>((resolve) =>
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? -1 : 0), stdout, stderr, signal })),
  );
  return { child, done };
}

/** Waits until `metrics.jsonl` in `run` holds at least `n` step records. */
async function untilSteps(run: string, n: number): Promise<void> {
  for (;;) {
    const text = await fs.readFile(join(run, 'metrics.jsonl'), 'utf8').catch(() => '');
    if (text.split('\n').filter((l) => l.includes('"type":"step"')).length >= n) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function checksums(dir: string): Promise<Record<string, string>> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  const files = entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
  const sums: Record<string, string> = {};
  for (const f of files.sort())
    sums[f] = createHash('sha256')
      .update(await fs.readFile(f))
      .digest('hex');
  return sums;
}

const readJson = async (path: string) => JSON.parse(await fs.readFile(path, 'utf8'));

describe('skingan training safety', () => {
  let dir: string;
  let data: string;
  let split: string;
  const acgan = (out: string, ...extra: string[]) => [
    'acgan',
    'train',
    '--data',
    data,
    '--preset',
    'test',
    '--size',
    '32',
    '--out',
    out,
    ...extra,
  ];
  const classifier = (out: string, ...extra: string[]) => [
    'classifier',
    'train',
    '--data',
    data,
    '--split',
    split,
    '--preset',
    'test',
    '--out',
    out,
    ...extra,
  ];

  beforeAll(async () => {
    dir = await fs.mkdtemp(join(tmpdir(), 'skingan-cli-safety-'));
    data = join(dir, 'D');
    const d = runCli(['data', 'demo-set', '--out', data, '--per-class', '6', '--size', '32']);
    expect(d.code, d.stderr).toBe(0);
    split = join(dir, 'split.json');
    const s = runCli(['data', 'split', data, '--seed', '7', '--out', split]);
    expect(s.code, s.stderr).toBe(0);
  }, 120_000);
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("classifier train --epochs 4, then --resume: model/ stays byte-identical and the printed best epoch is run.json's", async () => {
    const out = join(dir, 'C');
    const first = runCli(classifier(out, '--epochs', '4', '--json'));
    expect(first.code, first.stderr).toBe(0);
    const before = await checksums(join(out, 'model'));
    const again = runCli(classifier(out, '--epochs', '4', '--resume', '--json'));
    expect(again.code, again.stderr).toBe(0);
    expect(await checksums(join(out, 'model'))).toEqual(before);
    const summary = JSON.parse(again.stdout);
    expect(summary.best).toEqual(JSON.parse(first.stdout).best);
    expect((await readJson(join(out, 'run.json'))).best).toEqual(summary.best);
  }, 300_000);

  it('acgan train into a folder another acgan train writes: refused (exit 2) naming its pid and host; SIGTERM then stops the first with a checkpoint, exit 143, run.json "interrupted"', async () => {
    const out = join(dir, 'A');
    const first = startCli(acgan(out, '--epochs', '200', '--checkpoint-every', '1000'));
    await untilSteps(out, 2);
    const second = runCli(acgan(out, '--epochs', '200', '--resume'));
    expect(second.code).toBe(2);
    expect(second.stderr).toContain(
      `another process is writing into this folder: \`acgan train\` (pid ${first.child.pid} on ${hostname()}`,
    );
    const lock = await readJson(join(out, '.skingan.lock'));
    expect(lock).toMatchObject({ pid: first.child.pid, host: hostname(), command: 'acgan train' });

    first.child.kill('SIGTERM');
    const r = await first.done;
    expect(r.code, r.stderr).toBe(143);
    expect(r.stderr).toContain('SIGTERM: stopping after this step and saving a checkpoint');
    const run = await readJson(join(out, 'run.json'));
    expect(run.status).toBe('interrupted');
    // Every step trained is in the checkpoint: nothing is lost.
    const latest = await readJson(join(out, 'checkpoints', 'latest.json'));
    const steps = (await readJsonl(join(out, 'metrics.jsonl'))).filter((m) => m.type === 'step');
    expect(latest.step).toBe(steps.length);
    expect(latest.step).toBeGreaterThanOrEqual(2);
    expect(existsSync(join(out, '.skingan.lock'))).toBe(false);
  }, 300_000);

  it('acgan train killed with -9: report shows "stopped (process gone)", and a rerun takes over the stale lock with a notice', async () => {
    const out = join(dir, 'K');
    const first = startCli(acgan(out, '--epochs', '200', '--checkpoint-every', '2'));
    await untilSteps(out, 3);
    first.child.kill('SIGKILL');
    await first.done;
    expect((await readJson(join(out, 'run.json'))).status).toBe('running');
    const report = runCli(['report', out]);
    expect(report.code, report.stderr).toBe(0);
    const md = await fs.readFile(join(out, 'report.md'), 'utf8');
    expect(md).toContain(`acgan · stopped (process gone: pid ${first.child.pid} no longer runs`);

    const rerun = runCli(acgan(out, '--epochs', '1', '--resume'));
    expect(rerun.stderr).toContain(
      `notice: ${out} was locked by \`acgan train\` (pid ${first.child.pid} on ${hostname()}`,
    );
    expect(rerun.stderr).toContain('which is no longer running; taking the lock over');
    expect(existsSync(join(out, '.skingan.lock'))).toBe(false);
  }, 300_000);

  it('classifier train --lr 1e6: exit 1 "diverged" naming step, loss and learning rate; --resume unchanged is refused, --resume --lr 1e-3 runs', async () => {
    const out = join(dir, 'L');
    const r = runCli(classifier(out, '--epochs', '3', '--lr', '1e6'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/classifier training diverged: loss = \S+ at step \d+/);
    expect(r.stderr).toContain('resume with a lower --lr');
    expect(r.stderr).not.toContain('probability of class');
    const run = await readJson(join(out, 'run.json'));
    expect(run.status).toBe('failed');
    expect(run.divergence.step).toBeGreaterThan(1);

    const same = runCli(classifier(out, '--epochs', '3', '--lr', '1e6', '--resume'));
    expect(same.code).toBe(2);
    expect(same.stderr).toContain(`this run diverged at step ${run.divergence.step}`);
    expect(same.stderr).toContain('--resume-diverged');

    const lower = runCli(classifier(out, '--epochs', '3', '--lr', '1e-3', '--resume'));
    expect(lower.code, lower.stderr).toBe(0);
    expect((await readJson(join(out, 'run.json'))).status).toBe('completed');
  }, 300_000);

  it('data prepare and experiment into a folder a live process holds: exit 2 naming it, nothing written there', async () => {
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      for (const [name, args] of [
        ['P', ['data', 'prepare', data, '--size', '16']],
        ['E', ['experiment', 'noise2img', '--data', data, '--preset', 'demo']],
      ] as const) {
        const out = join(dir, name);
        await fs.mkdir(out);
        const held = { pid: other.pid, host: hostname(), command: 'acgan train', startedAt: 'x' };
        await fs.writeFile(join(out, '.skingan.lock'), JSON.stringify(held));
        const r = runCli([...args, '--out', out]);
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toContain(
          `another process is writing into this folder: \`acgan train\` (pid ${other.pid}`,
        );
        expect(await fs.readdir(out)).toEqual(['.skingan.lock']);
      }
    } finally {
      other.kill();
    }
  }, 120_000);
});
