import { describe, expect, it } from 'vitest';
import { CYCLEGAN_PRESETS, resolveConfig } from './config.js';

describe('resolveConfig', () => {
  it('thesis preset is the reference at 256² (load 286, 100 + 100 epochs)', () => {
    expect(resolveConfig('thesis')).toMatchObject({
      preset: 'thesis',
      size: 256,
      loadSize: 286,
      ngf: 64,
      ndf: 64,
      blocks: 9,
      dLayers: 3,
      batchSize: 1,
      epochs: 200,
      decayEpochs: 100,
      lr: 2e-4,
      beta1: 0.5,
      lambdaA: 10,
      lambdaB: 10,
      lambdaIdentity: 0.5,
      poolSize: 50,
      flip: true,
    });
  });

  it('a new size keeps the 286/256 load ratio; new epochs decay over the second half', () => {
    expect(resolveConfig('test', { size: 64 })).toMatchObject({ size: 64, loadSize: 72, ngf: 8 });
    expect(resolveConfig('thesis', { epochs: 10 })).toMatchObject({ epochs: 10, decayEpochs: 5 });
    expect(resolveConfig('test', { epochs: 2 })).toMatchObject({ epochs: 2, decayEpochs: 1 });
    expect(resolveConfig('cpu', { size: undefined })).toMatchObject({ size: 128, loadSize: 143 });
  });

  it('every preset resolves', () => {
    for (const name of Object.keys(CYCLEGAN_PRESETS) as (keyof typeof CYCLEGAN_PRESETS)[])
      expect(resolveConfig(name).preset).toBe(name);
  });

  it('names the offending field', () => {
    expect(() => resolveConfig('test', { size: 30 })).toThrow(/size: must be a multiple of 4/);
    expect(() => resolveConfig('test', { size: 20 })).toThrow(/size: .*24/);
    expect(() => resolveConfig('test', { epochs: 3, decayEpochs: 4 })).toThrow(
      /decayEpochs: must be ≤ epochs \(3\)/,
    );
    expect(() => resolveConfig('test', { loadSize: 28 })).toThrow(/loadSize: must be ≥ size \(32\)/);
    expect(() => resolveConfig('huge' as 'test')).toThrow(/unknown preset "huge"/);
  });

  it('resolveConfig("test", {lamdaA: 3}) → "unknown key lamdaA — did you mean lambdaA?"', () => {
    expect(() => resolveConfig('test', { lamdaA: 3 } as never)).toThrow(
      'invalid CycleGAN config: unknown key lamdaA — did you mean lambdaA?',
    );
  });
});
