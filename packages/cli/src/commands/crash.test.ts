import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../test-utils/run-cli.js';
import { runAll, tinyArgs } from '../test-utils/tiny-set.js';

/**
 * What a crash costs, per command that writes: `kill -9` at a random write, and a full disk
 * (ENOSPC) from a random write on. The moment is the N-th durable write of the process
 * (SKINGAN_TEST_FAULT, see core's io/fault.ts), N drawn from the writes an uninterrupted run makes
 * with a logged seed: SKINGAN_CRASH_SEED=<seed> replays the same moments. After either, the rerun
 * (`--resume` for training, the same command otherwise) must end with the same files as the
 * uninterrupted run, and a previous complete output must survive the crash untouched.
 */
// A fixed seed by default, so CI is reproducible; SKINGAN_CRASH_SEED=random draws new moments (do so
// when hunting crash bugs; the first write, where seed 1553717627 found one, is checked always).
const SEED_ENV = process.env.SKINGAN_CRASH_SEED ?? '1382483090';
const SEED = SEED_ENV === 'random' ? Math.floor(Math.random() * 2 ** 31) : Number(SEED_ENV);
console.info(`crash tests: SKINGAN_CRASH_SEED=${SEED} reproduces these kill and full-disk moments`);

/** mulberry32: a few seeded draws, no dependency. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
/** The N of one test, from the seed and the test's own label: the same with any test filter. */
function drawWrite(label: string, writes: number): number {
  let h = SEED;
  for (const c of label) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return 1 + Math.floor(seeded(h)() * writes);
}

/** Fields that hold times (and the run.json of timings) differ between any two runs. */
const VOLATILE = new Set(['ms', 'savedAt', 'createdAt', 'writtenAt', 'updatedAt', 'startedAt', 'finishedAt']);

/**
 * A checksum per file under `dir` (hidden files and run.json aside), JSON with its time fields
 * dropped and `dir` itself written as <out>, so two runs into two folders compare.
 */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string): Promise<void> => {
    for (const e of await fs.readdir(d, { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue;
      const path = join(d, e.name);
      if (e.isDirectory()) await walk(path);
      else if (e.name !== 'run.json') out[relative(dir, path)] = hash(e.name, await fs.readFile(path), dir);
    }
  };
  await walk(dir);
  return out;
}

function hash(name: string, bytes: Buffer, dir: string): string {
  let data: string | Buffer = bytes;
  if (name.endsWith('.json') || name.endsWith('.jsonl')) {
    const text = bytes.toString('utf8').split(dir).join('<out>');
    // Keys sorted: a resumed run may write the same config with its keys in another order.
    const strip = (v: unknown): unknown =>
      JSON.stringify(v, (k, x) =>
        VOLATILE.has(k)
          ? undefined
          : x && typeof x === 'object' && !Array.isArray(x)
            ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1)))
            : x,
      );
    data = name.endsWith('.jsonl')
      ? text
          .split('\n')
          .filter(Boolean)
          .map((l) => strip(JSON.parse(l)))
          .join('\n')
      : String(strip(JSON.parse(text)));
  }
  return createHash('sha256').update(data).digest('hex').slice(0, 16);
}

/** Temp files or folders of atomic writes left anywhere under `dir`. */
async function tempsUnder(dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await fs.readdir(d, { withFileTypes: true }).catch(() => [])) {
      const path = join(d, e.name);
      if (/\.tmp-\d+-[0-9a-f]{8}$/.test(e.name)) found.push(relative(dir, path));
      else if (e.isDirectory()) await walk(path);
    }
  };
  await walk(dir);
  return found;
}

const fault = (spec: string) => ({ SKINGAN_TEST_FAULT: spec, SKINGAN_THREADS: '1' });

interface Case {
  command: string;
  args: (out: string) => string[];
  /** The rerun adds these flags (`--resume` for training). */
  resume?: string[];
  /** The command replaces a previous output: one is in place when the crash comes, and must survive it. */
  replaces?: boolean;
}

describe('what a crash costs: kill -9 and a full disk, for every command that writes', () => {
  let dir: string;
  let data: string;
  let split: string;
  let acganRun: string;
  let cycleganRun: string;

  beforeAll(async () => {
    dir = await fs.mkdtemp(join(tmpdir(), 'skingan-crash-'));
    data = join(dir, 'D');
    split = join(dir, 'split.json');
    acganRun = join(dir, 'acgan-model');
    cycleganRun = join(dir, 'cyclegan-model');
    runAll([
      tinyArgs.demoSet(data),
      tinyArgs.split(data, split),
      tinyArgs.acgan(data, acganRun, 1),
      tinyArgs.cyclegan(data, cycleganRun, 1),
    ]);
  }, 600_000);
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  const cases: Case[] = [
    {
      command: 'acgan train',
      args: (out) => [...tinyArgs.acgan(data, out, 3), '--checkpoint-every', '2'],
      resume: ['--resume'],
    },
    {
      command: 'cyclegan train',
      args: (out) => tinyArgs.cyclegan(data, out, 2),
      resume: ['--resume'],
    },
    {
      command: 'classifier train',
      args: (out) => tinyArgs.classifier(data, split, out, 3),
      resume: ['--resume'],
    },
    {
      command: 'acgan sample',
      args: (out) => [
        'acgan',
        'sample',
        '--model',
        acganRun,
        '--per-class',
        '2',
        '--batch-size',
        '4',
        '--out',
        out,
      ],
      replaces: true,
    },
    {
      command: 'cyclegan translate',
      args: (out) => [
        'cyclegan',
        'translate',
        '--model',
        cycleganRun,
        '--data',
        data,
        '--class',
        'NV',
        '--batch-size',
        '2',
        '--out',
        out,
      ],
      replaces: true,
    },
    {
      command: 'data prepare',
      // Resumable in place: rerunning it is its resume.
      args: (out) => ['data', 'prepare', data, '--size', '16', '--concurrency', '1', '--out', out],
      resume: [],
    },
  ];

  describe.each(cases)('$command', ({ command, args, resume, replaces }) => {
    const slug = command.replace(' ', '-');
    let writes = 0;
    let reference: Record<string, string>;

    beforeAll(async () => {
      const out = join(dir, `${slug}-reference`);
      // Writes are counted in the scenario the crash comes in: over a previous output if it replaces one.
      if (replaces) expect(runCli(args(out), { SKINGAN_THREADS: '1' }).code).toBe(0);
      const r = runCli(args(out), fault('count'));
      expect(r.code, r.stderr).toBe(0);
      writes = Number(/skingan-test-writes: (\d+)/.exec(r.stderr)?.[1]);
      expect(writes).toBeGreaterThan(2);
      reference = await snapshot(out);
    }, 600_000);

    /** A finished earlier output, for commands that replace theirs. */
    async function previousOutput(out: string): Promise<Record<string, string> | undefined> {
      if (!replaces) return undefined;
      const r = runCli(args(out), { SKINGAN_THREADS: '1' });
      expect(r.code, r.stderr).toBe(0);
      return snapshot(out);
    }

    it(`${command}: killed -9 at a random write, the rerun ends with the files of an uninterrupted run`, async () => {
      const n = drawWrite(`${command} kill`, writes);
      console.info(`${command}: kill -9 at write ${n} of ${writes} (seed ${SEED})`);
      const out = join(dir, `${slug}-killed`);
      const previous = await previousOutput(out);
      const killed = runCli(args(out), fault(`kill@${n}`));
      expect(killed.signal, killed.stderr).toBe('SIGKILL');
      if (previous) expect(await snapshot(out)).toEqual(previous);
      const rerun = runCli([...args(out), ...(resume ?? [])], { SKINGAN_THREADS: '1' });
      expect(rerun.code, rerun.stderr).toBe(0);
      expect(await snapshot(out)).toEqual(reference);
      expect(await tempsUnder(dir)).toEqual([]);
    }, 600_000);

    // The first write is where a run folder is born (config.json for training): a kill there must
    // leave a folder the rerun accepts. Found by seed 1553717627; now checked with every seed.
    it.runIf(resume)(
      `${command}: killed -9 at its first write, the rerun ends with the files of an uninterrupted run`,
      async () => {
        const out = join(dir, `${slug}-killed-first`);
        const killed = runCli(args(out), fault('kill@1'));
        expect(killed.signal, killed.stderr).toBe('SIGKILL');
        const rerun = runCli([...args(out), ...(resume ?? [])], { SKINGAN_THREADS: '1' });
        expect(rerun.code, rerun.stderr).toBe(0);
        expect(await snapshot(out)).toEqual(reference);
        expect(await tempsUnder(dir)).toEqual([]);
      },
      600_000,
    );

    it(`${command}: a full disk fails naming the file and 'disk full', loses nothing, and the rerun ends the same`, async () => {
      const n = drawWrite(`${command} disk full`, writes);
      console.info(`${command}: disk full from write ${n} of ${writes} (seed ${SEED})`);
      const out = join(dir, `${slug}-full`);
      const previous = await previousOutput(out);
      const full = runCli(args(out), fault(`enospc@${n}`));
      expect(full.code, full.stderr).toBe(1);
      expect(full.stderr).toMatch(/^skingan: \/\S+: disk full \(ENOSPC\) while writing this$/m);
      expect(full.stderr).not.toMatch(/\n\s+at /);
      expect(await tempsUnder(dir)).toEqual([]);
      if (previous) expect(await snapshot(out)).toEqual(previous);
      const rerun = runCli([...args(out), ...(resume ?? [])], { SKINGAN_THREADS: '1' });
      expect(rerun.code, rerun.stderr).toBe(0);
      expect(await snapshot(out)).toEqual(reference);
    }, 600_000);
  });
});
