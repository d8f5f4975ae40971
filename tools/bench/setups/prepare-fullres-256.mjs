// Image preparation throughput on ../shared/data/isic-fullres (31 ISIC JPEGs, 576–1024 px) → 256²:
// decode → EXIF orientation → bicubic resize of the short side → center crop → float32 in [-1, 1],
// the work of ../shared/anchors/pil_prepare_reference.py (PIL, one process, one thread), measured in
// the same run. Ours runs sharp/libvips with all cores (one image per core in flight) and, in a child
// process pinned to one CPU with one libuv thread, on one core. The headline figure excludes PNG
// writing, as the anchor does; `prepareDataset` (the same plus PNG encode + write) is reported beside it.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeImage, prepareDataset } from '@skingan/data';
import { median } from '../timing.mjs';

const here = dirname(fileURLToPath(import.meta.url));
// The real data beside the repository, or where SKINGAN_SHARED_DATA says (as for the tests).
const SHARED_DATA = process.env.SKINGAN_SHARED_DATA || join(here, '..', '..', '..', '..', 'shared', 'data');
const FULLRES = join(SHARED_DATA, 'isic-fullres');
const IMAGES = join(FULLRES, 'images');
const SIZE = 256;
const REPEATS = 5;
const ANCHOR = join(here, '..', '..', '..', '..', 'shared', 'anchors', 'pil_prepare_reference.py');

const files = () =>
  readdirSync(IMAGES)
    .filter((f) => /\.(jpe?g|png)$/i.test(f))
    .map((f) => join(IMAGES, f));

/** images/s of one round of decodeImage over every file, `concurrency` in flight. */
async function decodeRound(concurrency) {
  const list = files();
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < list.length) {
        const x = await decodeImage(list[next++], SIZE);
        if (x.length !== SIZE * SIZE * 3) throw new Error('bad decode');
      }
    }),
  );
  return list.length / ((performance.now() - t0) / 1000);
}

/** images/s of prepareDataset (decode … crop, PNG encode and write) into a fresh folder. */
async function prepareRound(concurrency) {
  const out = mkdtempSync(join(tmpdir(), 'skingan-bench-prepare-'));
  try {
    const t0 = performance.now();
    const res = await prepareDataset(FULLRES, out, { size: SIZE, concurrency });
    return res.written / ((performance.now() - t0) / 1000);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

const TASKSET = ['/usr/bin/taskset', '/bin/taskset'].find((p) => existsSync(p));

/** One warm-up and one timed round in a child process on CPU 0 only, with one libuv thread. */
function oneCoreRound() {
  const cmd = [process.execPath, fileURLToPath(import.meta.url), '--one-core'];
  const [bin, ...args] = TASKSET ? [TASKSET, '-c', '0', ...cmd] : cmd;
  const r = spawnSync(bin, args, { encoding: 'utf8', env: { ...process.env, UV_THREADPOOL_SIZE: '1' } });
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('ONE_CORE '));
  if (!line) throw new Error(`one-core child failed: ${r.stderr}`);
  return Number(line.slice(9));
}

/** One round of the PIL anchor (same files, same size), or null where Python/PIL is missing. */
function pilRound() {
  if (!existsSync(ANCHOR) || !existsSync('/usr/bin/python3')) return null;
  const r = spawnSync('/usr/bin/python3', [ANCHOR, IMAGES, '--size', String(SIZE), '--repeat', '1'], {
    encoding: 'utf8',
  });
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('RESULT '));
  return line ? JSON.parse(line.slice(7)).imagesPerSec : null;
}

if (process.argv[2] === '--one-core') {
  await decodeRound(1);
  console.log(`ONE_CORE ${await decodeRound(1)}`);
}

const round1 = (x) => Number(x.toFixed(1));
const round2 = (x) => Number(x.toFixed(2));

export default {
  anchor: { script: 'pil_prepare_reference.py', args: [IMAGES, '--size', String(SIZE)] },
  async run() {
    if (!existsSync(IMAGES)) return { imagesPerSec: null, notes: `${IMAGES} not found` };
    const cores = cpus().length;
    // Rounds of ours (all cores, one core, with PNG writing) alternate with rounds of PIL, so that on a
    // shared, noisy machine each ratio compares measurements taken moments apart.
    await decodeRound(cores);
    const all = [];
    const one = [];
    const png = [];
    const pil = [];
    for (let r = 0; r < REPEATS; r++) {
      all.push(await decodeRound(cores));
      pil.push(pilRound());
      one.push(oneCoreRound());
      png.push(await prepareRound(cores));
    }
    const paired = (xs) => (pil.every((p) => p) ? round2(median(xs.map((x, i) => x / pil[i]))) : null);
    const extra = {
      allCoresImagesPerSec: round1(median(all)),
      oneCoreImagesPerSec: round1(median(one)),
      oneCorePinned: Boolean(TASKSET),
      prepareWithPngAllCoresImagesPerSec: round1(median(png)),
      pilInterleavedImagesPerSec: pil.every((p) => p) ? round1(median(pil)) : null,
      pairedRatioAllCores: paired(all),
      pairedRatioOneCore: paired(one),
      pairedRatioPrepareWithPng: paired(png),
    };
    return {
      imagesPerSec: extra.allCoresImagesPerSec,
      params: { images: files().length, size: SIZE, cores, rounds: REPEATS },
      extra,
      notes:
        `decode→resize→crop→float32, no PNG writing (like the anchor). ${cores} cores ${extra.allCoresImagesPerSec} img/s ` +
        `(${extra.pairedRatioAllCores}× PIL), 1 core${TASKSET ? ' (taskset -c 0, 1 libuv thread)' : ''} ${extra.oneCoreImagesPerSec} img/s ` +
        `(${extra.pairedRatioOneCore}× PIL), with PNG writing ${extra.prepareWithPngAllCoresImagesPerSec} img/s ` +
        `(${extra.pairedRatioPrepareWithPng}× PIL); ratios are medians of rounds interleaved with PIL rounds ` +
        `(PIL ${extra.pilInterleavedImagesPerSec} img/s); targets ≥ 2× PIL with all cores, ≥ 1× on one core`,
    };
  },
};
