import { describe, expect, it } from 'vitest';
import { CLASSIFIER_PRESETS, resolveClassifierConfig } from './config.js';
import { planPhases } from './train-classifier.js';

describe('classifier config', () => {
  it('layers preset < file < flags, ignoring undefined flags', () => {
    const c = resolveClassifierConfig('test', { epochs: 7, lr: 1e-2 }, { lr: 5e-3, batchSize: undefined });
    expect(c).toMatchObject({ ...CLASSIFIER_PRESETS.test, epochs: 7, lr: 5e-3 });
  });

  it('--pretrained imagenet implies ResNet-50 and fine_tune; other archs with it are refused', () => {
    const c = resolveClassifierConfig('test', {}, { pretrained: 'imagenet', freezeEpochs: 1, epochs: 1 });
    expect(c.arch).toBe('resnet50');
    const phases = planPhases(c);
    expect(phases.map((p) => [p.epochs, p.frozen, p.pctStart])).toEqual([
      [1, true, 0.99],
      [1, false, 0.3],
    ]);
    expect(() => resolveClassifierConfig('test', {}, { pretrained: 'imagenet', arch: 'resnet18' })).toThrow(
      /ImageNet weights are a ResNet-50/,
    );
  });

  it('from scratch is one fit_one_cycle at lr for every group; freeze epochs without weights are a usage error', () => {
    const phases = planPhases(resolveClassifierConfig('test', {}, { epochs: 4, lr: 1e-3 }));
    expect(phases).toEqual([
      expect.objectContaining({
        epochs: 4,
        frozen: false,
        lrMax: [1e-3, 1e-3, 1e-3],
        pctStart: 0.25,
        div: 25,
      }),
    ]);
    expect(() => planPhases(resolveClassifierConfig('test', {}, { freezeEpochs: 1 }))).toThrow(
      /needs pretrained weights/,
    );
  });

  it('names the bad key and the unknown preset', () => {
    expect(() => resolveClassifierConfig('test', { batchSize: 0 }, {}, 'c.json')).toThrow(
      /invalid classifier c.json: batchSize/,
    );
    expect(() => resolveClassifierConfig('test', { bogus: 1 })).toThrow(
      /unknown key bogus \(valid keys: arch,/,
    );
    expect(() => resolveClassifierConfig('test', { learningRate: 1, bachSize: 4 })).toThrow(
      'unknown key learningRate (valid keys: arch, pretrained, imageSize, batchSize, epochs, freezeEpochs, lr, lrMult, wd, pctStart, div, divFinal, moms, headDropout, augment, balance, patience, seed); unknown key bachSize — did you mean batchSize?',
    );
    expect(() => resolveClassifierConfig('huge')).toThrow(/unknown preset "huge"/);
  });
});
