import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '@skingan/core';
import { StudyStore } from '@skingan/turing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../test-utils/run-cli.js';
import { invite, makeCliStudy, serve } from '../test-utils/turing-study.js';

let root: string;
beforeAll(async () => {
  root = await fs.mkdtemp(join(tmpdir(), 'skingan-cli-turing-'));
});
afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

const positionOn = (html: string) => Number(/name="position" value="(\d+)"/.exec(html)![1]);

describe('skingan turing serve', () => {
  it('loses no acknowledged answer to kill -9: after a restart the rater gets the next image', async () => {
    const study = makeCliStudy(join(root, 'kill'), 3);
    const link = invite(study, 'Dr K');
    const first = await serve(study);
    let pos: number;
    try {
      pos = positionOn(await (await fetch(first.url + link)).text());
      const ack = await fetch(`${first.url}${link}/answer`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `position=${pos}&verdict=synthetic&confidence=5&diagnosis=NV`,
        redirect: 'manual',
      });
      expect(ack.status).toBe(303);
    } finally {
      // Right after the acknowledgement: no shutdown hook, no checkpoint, no close.
      first.child.kill('SIGKILL');
      await first.exited;
    }
    expect(first.child.signalCode).toBe('SIGKILL');

    const store = StudyStore.open(study);
    try {
      expect(store.answers().map((a) => [a.rater, a.position, a.verdict, a.confidence, a.diagnosis])).toEqual(
        [['Dr K', pos, 'synthetic', 5, 'NV']],
      );
    } finally {
      store.close();
    }
    const second = await serve(study);
    try {
      const html = await (await fetch(second.url + link)).text();
      expect(positionOn(html)).toBe(pos + 1);
      expect(html).toContain('<progress id="progress" value="1" max="12">');
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  });

  it('refuses a folder that is not a study (exit 2, with a hint)', async () => {
    const r = runCli(['turing', 'serve', root, '--port', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`skingan: ${root}: not a Turing study folder (no study.sqlite)`);
    expect(r.stderr).toContain('hint: create one with `skingan turing create');
  });
});

describe('skingan turing report on a simulated study', () => {
  /** A scripted rater who names the true source with probability `p`. */
  function simulate(store: StudyStore, name: string, p: number, seed: string): void {
    const rater = store.raterByToken(tokens.get(name)!)!;
    const rng = new Rng(seed);
    const source = new Map(store.images().map((i) => [i.id, i]));
    for (let next = store.progress(rater.id).next; next; next = store.progress(rater.id).next) {
      const im = source.get(next.imageId)!;
      const right = rng.float() < p;
      const verdict = right ? im.source : im.source === 'real' ? 'synthetic' : 'real';
      // A rater above chance is surer when right; one at chance has confidence unrelated to the truth.
      const confidence = p > 0.5 ? (right ? 3 + rng.int(3) : 1 + rng.int(3)) : 1 + rng.int(5);
      const diagnosis = rng.float() < 0.5 ? im.className : null;
      expect(store.answer(rater.id, next.position, { verdict, confidence, diagnosis }, 'now')).toBe('saved');
    }
  }
  const tokens = new Map<string, string>();

  it('gives CIs that contain the truth, and p < 0.05 only for the rater at 90%', async () => {
    const study = makeCliStudy(join(root, 'sim'), 30);
    for (const name of ['chance', 'expert']) tokens.set(name, invite(study, name).slice(3));
    const store = StudyStore.open(study);
    try {
      simulate(store, 'chance', 0.5, 'sim:chance:1');
      simulate(store, 'expert', 0.9, 'sim:expert:1');
    } finally {
      store.close();
    }
    const out = join(root, 'sim-report');
    const r = runCli(['turing', 'report', study, '--out', out, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.stdout);
    expect([rep.raters, rep.images, rep.answers]).toEqual([2, 120, 240]);
    const byName = Object.fromEntries(rep.byRater.map((g: { group: string }) => [g.group, g]));
    const chance = byName.chance;
    const expert = byName.expert;
    expect([chance.answers, expert.answers]).toEqual([120, 120]);
    expect(chance.accuracy.lower).toBeLessThan(0.5);
    expect(chance.accuracy.upper).toBeGreaterThan(0.5);
    expect(chance.pValue).toBeGreaterThan(0.05);
    expect(expert.accuracy.lower).toBeLessThan(0.9);
    expect(expert.accuracy.upper).toBeGreaterThan(0.9);
    expect(expert.pValue).toBeLessThan(0.05);
    // Confidence follows correctness: the expert's AUC is high, chance's near ½.
    expect(expert.auc).toBeGreaterThan(0.9);
    expect(Math.abs(chance.auc - 0.5)).toBeLessThan(0.15);
    // Simulated diagnoses are always right when given.
    expect(expert.diagnosisReal.k).toBe(expert.diagnosisReal.n);
    expect(rep.byClass.map((g: { group: string; answers: number }) => [g.group, g.answers])).toEqual([
      ['MEL', 120],
      ['NV', 120],
    ]);
    expect(rep.agreement).toMatchObject({ items: 120, raters: 2 });

    const csv = (await fs.readFile(join(out, 'answers.csv'), 'utf8')).trim().split('\n');
    expect(csv).toHaveLength(241);
    const html = await fs.readFile(join(out, 'report.html'), 'utf8');
    expect(html).toContain('<caption>Telling real from synthetic: per rater and pooled</caption>');
    expect(html).toContain('<td>expert</td><td>120</td>');
    const md = await fs.readFile(join(out, 'report.md'), 'utf8');
    expect(md).toContain('| all raters | 240 |');

    // The same tables in an experiment's (here: a run's) report, next to what it already shows.
    const run = join(root, 'sim-run');
    await fs.mkdir(run);
    await fs.writeFile(join(run, 'config.json'), '{"preset":"test"}');
    const withRun = runCli(['turing', 'report', study, '--out', out, '--experiment', run]);
    expect(withRun.code).toBe(0);
    const runHtml = await fs.readFile(join(run, 'report.html'), 'utf8');
    expect(runHtml).toContain('<h2>Turing test: study</h2>');
    expect(runHtml).toContain('<dt>preset</dt><dd>test</dd>');
    expect(runHtml).toContain('<td>expert</td><td>120</td>');
    expect(await fs.readFile(join(run, 'report.md'), 'utf8')).toContain('| all raters | 240 |');
  });
});

describe('skingan turing create', () => {
  it('needs a synthetic set of the form DIR or NAME=DIR, and an empty --out', () => {
    const bad = runCli([
      'turing',
      'create',
      '--real',
      root,
      '--synthetic',
      '=x',
      '--per-class',
      '1',
      '--out',
      root,
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--synthetic must be DIR or NAME=DIR, got "=x"');
    const cls = runCli([
      'turing',
      'create',
      '--real',
      root,
      '--synthetic',
      root,
      '--per-class',
      '1',
      '--classes',
      'MEL,XYZ',
      '--out',
      join(root, 'none'),
    ]);
    expect(cls.code).toBe(2);
    expect(cls.stderr).toContain('skingan: --classes: unknown class "XYZ"');
  });
});
