import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ISIC2019, initBackend, type ProbabilisticClassifier } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pathRankFilter } from './path-rank-filter.js';
import { keepCount, rankAndSelect } from './select.js';
import { rankingCsv, writeKeptDataset } from './write.js';

// A fixed probability table over MEL images: [id, P(MEL), P(NV)] (the rest of the mass on BCC).
// h and i are misclassified (NV is more probable); b and c tie at 0.90.
const TABLE: [string, number, number][] = [
  ['e', 0.8, 0.1],
  ['c', 0.9, 0.05],
  ['h', 0.3, 0.6],
  ['a', 0.95, 0.02],
  ['g', 0.55, 0.3],
  ['b', 0.9, 0.05],
  ['f', 0.7, 0.2],
  ['i', 0.45, 0.5],
  ['d', 0.85, 0.1],
  ['j', 0.6, 0.3],
];
// Correct, by P(MEL) then id: a .95, b .90, c .90, d .85, e .80, f .70, j .60, g .55 (8 images).

/** A classifier that reads its answer from the table: image i's first pixel is its row index. */
const tableClassifier: ProbabilisticClassifier = {
  labelSpace: ISIC2019,
  inputSize: 2,
  predictProba(images) {
    const first = images.slice([0, 0, 0, 0], [-1, 1, 1, 1]);
    const rows = Array.from(first.dataSync());
    first.dispose();
    const probs = rows.map((r) => {
      const [, mel, nv] = TABLE[Math.round(r)]!;
      const p = new Array(8).fill(0);
      p[0] = mel;
      p[1] = nv;
      p[2] = 1 - mel - nv;
      return p;
    });
    return tf.tensor2d(probs);
  },
};

const items = TABLE.map(([id], i) => ({ id, index: i }));
const loadImages = async (batch: readonly { index: number }[]) =>
  tf.tidy(() => tf.stack(batch.map((b) => tf.fill([2, 2, 3], b.index))) as tf.Tensor4D);

let tmp: string;
beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
  tmp = await mkdtemp(join(tmpdir(), 'skingan-prf-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('path-rank-filter on a fixed probability table', () => {
  it.each([
    [1 / 8, ['a']], // ⌈8/8⌉ = 1
    [1 / 4, ['a', 'b']], // ⌈2⌉: b beats c on the 0.90 tie by id
    [1 / 2, ['a', 'b', 'c', 'd']],
    [1, ['a', 'b', 'c', 'd', 'e', 'f', 'j', 'g']], // every correctly classified image, never h or i
  ])('α = %f keeps exactly %j', async (alpha, expected) => {
    const before = tf.memory().numTensors;
    const r = await pathRankFilter({
      classifier: tableClassifier,
      items,
      targetClass: 'MEL',
      selection: { alpha },
      loadImages,
      batchSize: 3,
    });
    expect(r.kept.map((k) => k.id)).toEqual(expected);
    expect(r.counts).toEqual({ scored: 10, correct: 8, kept: expected.length });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('ranks the correct images 1…8 with their probabilities and leaves the misclassified unranked', async () => {
    const r = await pathRankFilter({
      classifier: tableClassifier,
      items,
      targetClass: 'mel',
      selection: { top: 3 },
      loadImages,
    });
    expect(r.rows.map((x) => [x.id, x.rank, x.kept, x.predicted])).toEqual([
      ['a', 1, true, 'MEL'],
      ['b', 2, true, 'MEL'],
      ['c', 3, true, 'MEL'],
      ['d', 4, false, 'MEL'],
      ['e', 5, false, 'MEL'],
      ['f', 6, false, 'MEL'],
      ['j', 7, false, 'MEL'],
      ['g', 8, false, 'MEL'],
      ['i', null, false, 'NV'],
      ['h', null, false, 'NV'],
    ]);
    expect(r.rows[0]!.probability).toBeCloseTo(0.95, 6);
  });

  it('gives the same result whatever the input order', () => {
    const scored = TABLE.map(([id, mel, nv]) => ({
      id,
      probability: mel,
      correct: mel > nv && mel > 1 - mel - nv,
    }));
    const a = rankAndSelect(scored, { alpha: 0.25 });
    const b = rankAndSelect([...scored].reverse(), { alpha: 0.25 });
    expect(b).toEqual(a);
  });

  it('rounds α·n up (documented), keeps at least one, never more than were ranked', () => {
    expect(keepCount(7, { alpha: 1 / 4 })).toBe(2); // 1.75 → 2
    expect(keepCount(7, { alpha: 1 / 8 })).toBe(1); // 0.875 → 1
    expect(keepCount(60, { alpha: 0.25 })).toBe(15);
    expect(keepCount(60, { alpha: 0.1 + 0.15 })).toBe(15); // 15.000000000000002 is 15
    expect(keepCount(0, { alpha: 0.5 })).toBe(0);
    expect(keepCount(4, { top: 10 })).toBe(4);
    expect(() => keepCount(4, { alpha: 0 })).toThrow(/alpha must be in \(0, 1\]/);
    expect(() => keepCount(4, { alpha: 1.5 })).toThrow(/alpha/);
    expect(() => keepCount(4, { top: 2.5 })).toThrow(/positive integer/);
  });

  it('refuses an unknown class and duplicate ids', async () => {
    await expect(
      pathRankFilter({
        classifier: tableClassifier,
        items,
        targetClass: 'XYZ',
        selection: { alpha: 1 },
        loadImages,
      }),
    ).rejects.toThrow(/unknown class "XYZ"/);
    expect(() =>
      rankAndSelect(
        [
          { id: 'a', probability: 1, correct: true },
          { id: 'a', probability: 0.5, correct: true },
        ],
        { top: 1 },
      ),
    ).toThrow(/appears twice/);
  });
});

describe('outputs', () => {
  it('writes the ranking as CSV: id, probability, predicted, rank, kept', () => {
    const csv = rankingCsv([
      { id: 'a', probability: 0.95, correct: true, rank: 1, kept: true, predicted: 'MEL' },
      { id: 'h,1', probability: 0.3, correct: false, rank: null, kept: false, predicted: 'NV' },
    ]);
    expect(csv).toBe('id,probability,predicted,rank,kept\na,0.950000,MEL,1,1\n"h,1",0.300000,NV,,0\n');
  });

  it('writes kept images as a dataset folder (copies or links) with ISIC 2019 labels, and refuses a non-empty folder', async () => {
    const src = join(tmp, 'src');
    await mkdir(src, { recursive: true });
    await writeFile(join(src, 'ISIC_1.jpg'), 'jpeg bytes 1');
    await writeFile(join(src, 'ISIC_2.PNG'), 'png bytes 2');
    const kept = [
      { id: 'ISIC_1', path: join(src, 'ISIC_1.jpg') },
      { id: 'ISIC_2', path: join(src, 'ISIC_2.PNG') },
    ];
    const out = join(tmp, 'kept');
    const ranking = [
      { id: 'ISIC_1', probability: 0.9, correct: true, rank: 1, kept: true, predicted: 'MEL' },
    ];
    await writeKeptDataset(out, kept, 'MEL', { info: { alpha: 0.25 }, ranking });
    expect((await readdir(out)).sort()).toEqual(['images', 'labels.csv', 'prf.json', 'ranking.csv']);
    expect(await readFile(join(out, 'ranking.csv'), 'utf8')).toBe(rankingCsv(ranking));
    expect(JSON.parse(await readFile(join(out, 'prf.json'), 'utf8'))).toEqual({ alpha: 0.25 });
    expect((await readdir(join(out, 'images'))).sort()).toEqual(['ISIC_1.jpg', 'ISIC_2.png']);
    expect(await readFile(join(out, 'images', 'ISIC_1.jpg'), 'utf8')).toBe('jpeg bytes 1');
    expect(await readFile(join(out, 'labels.csv'), 'utf8')).toBe(
      'image,MEL,NV,BCC,AK,BKL,DF,VASC,SCC,UNK\nISIC_1,1.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0\nISIC_2,1.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0\n',
    );
    await expect(writeKeptDataset(out, kept, 'MEL')).rejects.toThrow(/exists and is not empty/);
    expect(await readFile(join(out, 'images', 'ISIC_1.jpg'), 'utf8')).toBe('jpeg bytes 1');

    const linked = join(tmp, 'linked');
    await writeKeptDataset(linked, kept, 'MEL', { link: true });
    const img = join(linked, 'images', 'ISIC_1.jpg');
    expect((await lstat(img)).isSymbolicLink()).toBe(true);
    expect(await readlink(img)).toBe(join(src, 'ISIC_1.jpg'));
  });
});
