import { createResNetClassifier } from '@skingan/classifier';
import { ISIC2019, initBackend } from '@skingan/core';
import { loadDataset, loadImages } from '@skingan/data';
import { testFeatureExtractor } from '@skingan/metrics';
import { beforeAll, describe, expect, it } from 'vitest';
import { testImages } from '../test-utils/shared-data.js';
import { measureImages } from './metrics-gan.js';

const { dir: IMAGES } = testImages();

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
});

describe('measureImages', () => {
  it("gives the classifier the images decoded at its own size, not the extractor's input resized", async () => {
    const samples = (await loadDataset([IMAGES])).samples.slice(0, 5);
    // The extractor takes 32², the classifier 16²: before, the 32² images were shrunk bilinearly
    // for the classifier, so fidelity depended on --extractor.
    const extractor = testFeatureExtractor({ inputSize: 32 });
    const clf = createResNetClassifier('resnet-small', { labelSpace: ISIC2019, inputSize: 16, seed: 3 });
    try {
      const m = await measureImages(extractor, clf, samples, 2, 'test');
      const own = await loadImages(samples, 16);
      const p = clf.predictProba(own);
      const expected = (await p.array()) as number[][];
      own.dispose();
      p.dispose();
      expect(m.probs).toHaveLength(5);
      for (let i = 0; i < 5; i++) {
        for (let c = 0; c < expected[i]!.length; c++)
          expect(m.probs![i]![c]).toBeCloseTo(expected[i]![c]!, 6);
      }
      expect(m.features.rows).toBe(5);
    } finally {
      clf.dispose();
      (extractor as { dispose?: () => void }).dispose?.();
    }
  }, 120_000);
});
