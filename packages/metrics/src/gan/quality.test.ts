import { initBackend, type ProbabilisticClassifier, Rng } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { testFeatureExtractor } from '../extractors/test-extractor.js';
import { ganQualityTable } from '../report/gan-table.js';
import { renderMarkdown } from '../report/table.js';
import { meanPairwiseDistance, withinClassDiversity } from './diversity.js';
import { fid } from './fid.js';
import { assignedClasses, classFidelity } from './fidelity.js';
import { ganQuality } from './quality.js';
import { QualityProbe, qualityRecord, qualityWarnings } from './quality-probe.js';

const CLASSES = ['A', 'B', 'C'];

// Hand-computed example. Class A: real (0,0) (3,4) (0,8): distances 5, 8, 5 → mean 6; generated
// (1,1) (4,5): distance 5 → ratio 5/6. Class B: real (10,0) (10,6): 6; generated (10,1) (10,2)
// (10,4): distances 1, 3, 2 → mean 2 → ratio 1/3. Class C: one real image, none generated: no ratio.
const real = {
  features: [
    [0, 0],
    [3, 4],
    [0, 8],
    [10, 0],
    [10, 6],
    [5, 5],
  ],
  labels: [0, 0, 0, 1, 1, 2],
};
const gen = {
  features: [
    [1, 1],
    [4, 5],
    [10, 1],
    [10, 2],
    [10, 4],
  ],
  labels: [0, 0, 1, 1, 1],
};

describe('within-class diversity', () => {
  it('mean pairwise Euclidean distance by hand', () => {
    expect(meanPairwiseDistance(real.features.slice(0, 3))).toBeCloseTo(6, 12);
    expect(meanPairwiseDistance([[1], [1]])).toBe(0);
    expect(() => meanPairwiseDistance([[1, 2]])).toThrow('needs ≥ 2 feature vectors, got 1');
  });

  it('generated ÷ real per class, mean and worst, classes without 2 images on both sides skipped', () => {
    const d = withinClassDiversity(gen.features, gen.labels, real.features, real.labels, CLASSES);
    expect(d.perClass[0]).toMatchObject({ class: 'A', nReal: 3, nGenerated: 2, real: 6, generated: 5 });
    expect(d.perClass[0]!.ratio).toBeCloseTo(5 / 6, 12);
    expect(d.perClass[1]!.ratio).toBeCloseTo(1 / 3, 12);
    expect(d.perClass[2]).toMatchObject({
      class: 'C',
      ratio: null,
      skipped: 'needs ≥ 2 real and ≥ 2 generated images, has 1 real and 0 generated',
    });
    expect(d.mean).toBeCloseTo(7 / 12, 12);
    expect(d.worst!.class).toBe('B');
    expect(d.worst!.value).toBeCloseTo(1 / 3, 12);
  });

  it('is exactly 1 for a set against itself, and 0 for one image repeated', () => {
    const same = withinClassDiversity(real.features, real.labels, real.features, real.labels, CLASSES);
    expect(same.perClass.map((p) => p.ratio)).toEqual([1, 1, null]);
    const collapsed = withinClassDiversity(
      [
        [3, 4],
        [3, 4],
        [3, 4],
      ],
      [0, 0, 0],
      real.features,
      real.labels,
      CLASSES,
    );
    expect(collapsed.perClass[0]!.ratio).toBe(0);
    expect(collapsed.worst).toEqual({ class: 'A', value: 0 });
  });

  it('bad labels and widths are errors that say which set', () => {
    expect(() =>
      withinClassDiversity(gen.features, [0, 0, 1, 1, 3], real.features, real.labels, CLASSES),
    ).toThrow('generated: label 3 of row 4 is not a class index in [0, 3)');
    expect(() => withinClassDiversity([[1, 2, 3]], [0], real.features, real.labels, CLASSES)).toThrow(
      'diversity: real features have 2 dimensions, generated ones 3',
    );
  });
});

describe('class fidelity', () => {
  it('share of each class assigned to it, balanced over classes, beside the real figure', () => {
    const f = classFidelity(
      { labels: gen.labels, predicted: [0, 1, 1, 1, 0] },
      { labels: real.labels, predicted: [0, 0, 0, 1, 0, 2] },
      CLASSES,
    );
    expect(f.perClass.map((p) => p.generated)).toEqual([1 / 2, 2 / 3, null]);
    expect(f.perClass.map((p) => p.real)).toEqual([1, 1 / 2, 1]);
    expect(f.balanced).toBeCloseTo(7 / 12, 12);
    expect(f.realBalanced).toBeCloseTo(5 / 6, 12);
    expect(classFidelity({ labels: [0], predicted: [0] }, undefined, CLASSES).realBalanced).toBeNull();
  });

  it('maps a classifier’s columns to the classes by name (argmax; −1 outside them)', () => {
    const probs = [
      [0.2, 0.7, 0.1],
      [0.6, 0.3, 0.1],
      [0.1, 0.1, 0.8],
    ];
    expect(assignedClasses(probs, ['B', 'A', 'X'], CLASSES)).toEqual([0, 1, -1]);
    expect(() => assignedClasses([[1, 0]], ['B', 'A', 'X'], CLASSES)).toThrow(
      'row 0: 2 probabilities for 3 classes',
    );
  });
});

describe('ganQuality', () => {
  it('FID, KID, diversity and fidelity of the hand example', () => {
    const oneHot = (k: number) => [0, 1, 2].map((j) => (j === k ? 1 : 0));
    const q = ganQuality(
      { ...gen, probs: [0, 1, 1, 1, 0].map(oneHot) },
      { ...real, probs: [0, 0, 0, 1, 0, 2].map(oneHot) },
      { classes: CLASSES, extractor: 'hand', classifier: 'fake', kid: { subsets: 10, seed: 1 } },
    );
    expect(q.fid).toBeCloseTo(fid(real.features, gen.features).fid, 12);
    expect(q.diversity.mean).toBeCloseTo(7 / 12, 12);
    expect(q.fidelity!.balanced).toBeCloseTo(7 / 12, 12);
    expect(q.fidelity!.realBalanced).toBeCloseTo(5 / 6, 12);
    expect(q.fidelity!.classifier).toBe('fake');
    expect(q.kid.subsets).toBe(10);
    expect(q.dim).toBe(2);
    expect(q.kid.subsetSize).toBe(5);
    expect(q.counts).toEqual({
      generated: 5,
      real: 6,
      perClass: [
        { class: 'A', generated: 2, real: 3 },
        { class: 'B', generated: 3, real: 2 },
        { class: 'C', generated: 0, real: 1 },
      ],
    });
  });

  it('1-d by hand: a set shifted by 1 has FID 1 and diversity 1; without probabilities no fidelity', () => {
    const q = ganQuality(
      { features: [[1], [3], [5]], labels: [0, 0, 0] },
      { features: [[0], [2], [4]], labels: [0, 0, 0] },
      { classes: CLASSES, extractor: 'hand' },
    );
    expect(q.fid).toBeCloseTo(1, 9);
    expect(q.diversity.perClass[0]!.ratio).toBeCloseTo(1, 12);
    expect(q.fidelity).toBeUndefined();
  });

  it('real against itself: FID ≈ 0, diversity 1', () => {
    const q = ganQuality(real, real, { classes: CLASSES, extractor: 'hand' });
    expect(Math.abs(q.fid)).toBeLessThan(1e-9);
    expect(q.diversity.mean).toBe(1);
  });
});

describe('quality warnings', () => {
  const base = ganQuality(real, real, { classes: CLASSES, extractor: 'hand' });
  const opts = { collapseBelow: 0.5, fidRises: 3 };
  it('warns on the classes under the collapse threshold, in one line', () => {
    const q = ganQuality(gen, real, { classes: CLASSES, extractor: 'hand' });
    expect(qualityWarnings(q, [1], opts)).toEqual(['mode collapse: class B diversity 0.33']);
    expect(qualityWarnings(q, [1], { ...opts, collapseBelow: 0.9 })).toEqual([
      'mode collapse: diversity under 0.9 in 2 classes: A 0.83, B 0.33',
    ]);
  });
  it('warns when FID rose at each of the last 3 evaluations, not after 2 rises or a dip', () => {
    expect(qualityWarnings(base, [5, 4, 6, 7, 8], opts)).toEqual([
      'FID rose for 3 evaluations in a row: 4.0 → 6.0 → 7.0 → 8.0',
    ]);
    expect(qualityWarnings(base, [5, 6, 7], opts)).toEqual([]);
    expect(qualityWarnings(base, [5, 6, 5.5, 7, 8], opts)).toEqual([]);
  });
});

describe('QualityProbe', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'wasm', log: null });
  });

  /** Noise images around a per-class brightness: `spread` 0 gives one image repeated. */
  function images(c: number, n: number, spread: number, seed: number): tf.Tensor4D {
    const rng = new Rng(seed);
    return tf.tidy(() =>
      tf.clipByValue(
        tf
          .add(
            rng.normalTensor<tf.Rank.R4>([1, 16, 16, 3], 0, 0.5).tile([n, 1, 1, 1]).mul(0.2),
            c * 0.3 - 0.3,
          )
          .add(rng.normalTensor<tf.Rank.R4>([n, 16, 16, 3], 0, spread)),
        -1,
        1,
      ),
    ) as tf.Tensor4D;
  }
  // Classifies by mean brightness: class round((mean + 0.3) / 0.3).
  const classifier: ProbabilisticClassifier = {
    labelSpace: { name: 'abc', classes: CLASSES },
    inputSize: 16,
    predictProba: (x) =>
      tf.tidy(() => {
        const k = x.mean([1, 2, 3]).add(0.3).div(0.3).round().clipByValue(0, 2).toInt();
        return tf.oneHot(k, 3).toFloat() as tf.Tensor2D;
      }),
  };

  it('a varied generator has diversity near 1 and full fidelity; a collapsed one warns', async () => {
    const extractor = testFeatureExtractor({ inputSize: 16 });
    const real = [0, 1, 2].map((c) => ({
      images: images(c, 8, 0.3, 100 + c),
      labels: tf.tensor1d([c, c, c, c, c, c, c, c], 'int32'),
      ids: [],
    }));
    const probe = await QualityProbe.create({
      extractor,
      classes: CLASSES,
      real,
      perClass: 8,
      classifier,
      classifierName: 'brightness',
      kid: { subsets: 5 },
    });
    expect(probe.realCounts).toEqual([8, 8, 8]);
    const before = tf.memory().numTensors;
    const good = await probe.evaluate((c, n) => images(c, n, 0.3, 200 + c));
    expect(tf.memory().numTensors).toBe(before);
    expect(good.quality.diversity.mean!).toBeGreaterThan(0.8);
    expect(good.quality.diversity.mean!).toBeLessThan(1.2);
    expect(good.quality.fidelity!.balanced).toBe(1);
    expect(good.quality.fidelity!.realBalanced).toBe(1);
    expect(good.warnings).toEqual([]);
    expect(good.record).toMatchObject({ classifier: 'brightness', fidelity: 1, generated: 24, real: 24 });
    expect(good.record.extractor).toBe('test-random-conv (64-d, 16px)');

    const bad = await probe.evaluate((c, n) => images(c, n, c === 2 ? 0 : 0.3, 300 + c));
    expect(bad.quality.diversity.perClass[2]!.ratio).toBeCloseTo(0, 6);
    expect(bad.warnings).toEqual(['mode collapse: class C diversity 0.00']);
    expect(qualityRecord(bad.quality).diversityWorstClass).toBe('C');

    // A resumed run's earlier FIDs count towards the rise check.
    const probe2 = await QualityProbe.create({
      extractor,
      classes: CLASSES,
      real: [0, 1, 2].map((c) => ({
        images: images(c, 8, 0.3, 100 + c),
        labels: tf.tensor1d([c, c, c, c, c, c, c, c], 'int32'),
        ids: [],
      })),
      perClass: 8,
      kid: { subsets: 5 },
    });
    const f = good.quality.fid;
    probe2.remember([f - 3, f - 2, f - 1]);
    const again = await probe2.evaluate((c, n) => images(c, n, 0.3, 200 + c));
    expect(again.quality.fid).toBeCloseTo(f, 6);
    expect(again.warnings).toEqual([
      `FID rose for 3 evaluations in a row: ${[f - 3, f - 2, f - 1, again.quality.fid].map((v) => v.toFixed(1)).join(' → ')}`,
    ]);
    extractor.dispose();
  });

  it('draws only the classes that have real images in the sample', async () => {
    const extractor = testFeatureExtractor({ inputSize: 16 });
    const probe = await QualityProbe.create({
      extractor,
      classes: CLASSES,
      real: [0, 2].map((c) => ({
        images: images(c, 4, 0.3, 400 + c),
        labels: tf.tensor1d([c, c, c, c], 'int32'),
        ids: [],
      })),
      perClass: 3,
      kid: { subsets: 2 },
    });
    const asked: number[] = [];
    const r = await probe.evaluate((c, n) => {
      asked.push(c);
      return images(c, n, 0.3, 500 + c);
    });
    expect(asked).toEqual([0, 2]);
    expect(r.quality.counts.generated).toBe(6);
    expect(r.quality.diversity.perClass[1]).toMatchObject({ class: 'B', nGenerated: 0, ratio: null });
    extractor.dispose();
  });
});
describe('ganQualityTable', () => {
  it('one row per class with diversity, spreads and fidelity; overall figures and definitions in the notes', () => {
    const oneHot = (k: number) => [0, 1, 2].map((j) => (j === k ? 1 : 0));
    const q = ganQuality(
      { ...gen, probs: [0, 1, 1, 1, 0].map(oneHot) },
      { ...real, probs: [0, 0, 0, 1, 0, 2].map(oneHot) },
      { classes: CLASSES, extractor: 'hand', classifier: 'fake', kid: { subsets: 10, seed: 1 } },
    );
    const md = renderMarkdown(ganQualityTable(q));
    expect(md).toContain(
      '| class | n generated | n real | diversity | spread generated | spread real | fidelity generated | fidelity real |',
    );
    expect(md).toContain('| A | 2 | 3 | 0.83 | 5.00 | 6.00 | 0.50 | 1.00 |');
    expect(md).toContain('| B | 3 | 2 | 0.33 | 2.00 | 6.00 | 0.67 | 0.50 |');
    expect(md).toContain('| C | 0 | 1 | — | — | — | — | 1.00 |');
    expect(md).toContain('- Diversity: mean 0.58, worst B 0.33.');
    expect(md).toContain('balanced (mean over classes): generated 0.58, real 0.83.');
    // 5 and 6 images in 2 dimensions: no small-sample FID caveat; 1-d features of 3 images would not either.
    expect(md).not.toContain('biased upwards');
    const wide = ganQuality(
      {
        features: [
          [0, 0, 1],
          [1, 0, 0],
        ],
        labels: [0, 0],
      },
      {
        features: [
          [0, 1, 0],
          [1, 1, 1],
        ],
        labels: [0, 0],
      },
      { classes: CLASSES, extractor: 'hand', kid: { subsets: 2 } },
    );
    expect(renderMarkdown(ganQualityTable(wide))).toContain(
      'FID is biased upwards when a set has fewer images than feature dimensions (2 < 3)',
    );
  });
});
