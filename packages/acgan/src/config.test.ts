import { ISIC2019, isSkinganError } from '@skingan/core';
import { describe, expect, it } from 'vitest';
import { CPU_REFERENCE, PRESETS, parseAcganConfig, resolveAcganConfig } from './config.js';
import { discriminatorConvs } from './models/discriminator.js';
import { generatorChannels } from './models/generator.js';

describe('ACGAN config', () => {
  it('thesis preset at 128 follows the paper (Odena et al. 2017, Appendix A, ImageNet)', () => {
    const c = resolveAcganConfig({ preset: 'thesis' });
    expect(c.imageSize).toBe(128);
    expect(c.labelSpace.classes).toEqual([...ISIC2019.classes]);
    expect(c.generator).toMatchObject({
      kernelSize: 5,
      labelEmbedding: 0,
      latentDim: 100,
      fcBatchNorm: false,
    });
    // linear → 8×8×768, then 5×5 stride-2 transposed convs 384 → 192 → 96 → 3 up to 128×128.
    expect(c.generator.startSize).toBe(8);
    expect(generatorChannels(c)).toEqual([768, 384, 192, 96]);
    // Six 3×3 convs, 16 → 512 channels, strides 2,1,2,1,2,1; dropout 0.5; leaky ReLU 0.2.
    expect(discriminatorConvs(c)).toEqual([
      { filters: 16, strides: 2 },
      { filters: 32, strides: 1 },
      { filters: 64, strides: 2 },
      { filters: 128, strides: 1 },
      { filters: 256, strides: 2 },
      { filters: 512, strides: 1 },
    ]);
    expect(c.discriminator).toMatchObject({ kernelSize: 3, dropout: 0.5, leakySlope: 0.2 });
    expect(c.training).toMatchObject({
      learningRateG: 2e-4,
      learningRateD: 2e-4,
      beta1: 0.5,
      batchSize: 100,
    });
  });

  it('every preset resolves at every supported size', () => {
    for (const preset of Object.keys(PRESETS) as (keyof typeof PRESETS)[]) {
      for (const imageSize of [32, 64, 128, 256]) {
        const c = resolveAcganConfig({ preset, imageSize });
        expect(c.imageSize).toBe(imageSize);
        expect(c.preset).toBe(preset);
      }
    }
  });

  it('cpu-128 is the cpu preset at 128², a stage more on each side', () => {
    const c = resolveAcganConfig({ preset: 'cpu-128' });
    expect(c.imageSize).toBe(128);
    // The last two blocks bilinear only up to 64² (measured at 128²: a diamond texture instead).
    expect(c.generator.bilinearLast).toBe(0);
    const { preset: _a, ...rest } = c;
    const { preset: _b, ...cpuRest } = resolveAcganConfig({ preset: 'cpu', imageSize: 128 });
    expect(rest).toEqual(cpuRest);
    expect(generatorChannels(c)).toEqual([256, 256, 128, 64, 32]);
    expect(discriminatorConvs(c).map((s) => s.filters)).toEqual([32, 64, 128, 256, 256]);
  });

  it('merges overrides over the preset, deeply', () => {
    const c = resolveAcganConfig({
      preset: 'cpu',
      imageSize: 32,
      overrides: { training: { batchSize: 7, diffAugment: ['cutout'] }, generator: { channels: 4 }, seed: 3 },
    });
    expect(c.training.batchSize).toBe(7);
    expect(c.training.diffAugment).toEqual(['cutout']);
    expect(c.training.learningRateD).toBe(2e-4);
    expect(c.generator.channels).toBe(4);
    expect(c.generator.kernelSize).toBe(3);
    expect(c.generator.upsample).toBe('nearest-conv');
    expect(c.seed).toBe(3);
  });

  it('cpu preset: nearest-conv k3 with the last two blocks bilinear at 64², projection D, EMA 0.999 and mode seeking 1 by default (docs/results/gan-quality.md); CPU_REFERENCE restores the PyTorch reference', () => {
    const c = resolveAcganConfig({ preset: 'cpu' });
    expect(c.generator).toMatchObject({ upsample: 'nearest-conv', kernelSize: 3, bilinearLast: 2 });
    // At 8² G has one block: the preset asks for no more than G has.
    expect(resolveAcganConfig({ preset: 'cpu', imageSize: 8 }).generator.bilinearLast).toBe(1);
    expect(c.training.emaDecay).toBe(0.999);
    expect(c.training.modeSeeking).toBe(1);
    // Everything else the issue-16 ablation left at the reference's values.
    expect(c.training).toMatchObject({ adversarialLoss: 'bce', diffAugment: [], batchSize: 32 });
    expect(c.discriminator).toMatchObject({ spectralNorm: false, projection: true, kernelSize: 4 });
    const ref = resolveAcganConfig({ preset: 'cpu', overrides: CPU_REFERENCE });
    expect(ref.generator).toMatchObject({ upsample: 'transposed', kernelSize: 4, bilinearLast: 0 });
    expect(ref.discriminator.projection).toBe(false);
    expect(ref.training.emaDecay).toBe(0);
    expect(ref.training.modeSeeking).toBe(0);
    // The thesis preset stays the paper's.
    const t = resolveAcganConfig({ preset: 'thesis' });
    expect(t.generator).toMatchObject({ upsample: 'transposed', kernelSize: 5 });
    expect(t.discriminator.projection).toBe(false);
    expect(t.training.emaDecay).toBe(0);
    expect(t.training.modeSeeking).toBe(0);
  });

  it('rejects bad values with a USAGE error naming each field', () => {
    let err: unknown;
    try {
      resolveAcganConfig({ preset: 'test', imageSize: 48, overrides: { training: { batchSize: 1 } } });
    } catch (e) {
      err = e;
    }
    expect(isSkinganError(err)).toBe(true);
    expect((err as { code: string }).code).toBe('USAGE');
    expect((err as Error).message).toMatch(/imageSize: must be a power of two/);
    expect((err as Error).message).toMatch(/training\.batchSize/);
  });

  it('rejects a start size the image size is not a power-of-two multiple of, and names the file', () => {
    const raw = { imageSize: 32, generator: { startSize: 3 } };
    expect(() => parseAcganConfig(raw, '/runs/r/config.json')).toThrow(
      /\/runs\/r\/config\.json: invalid ACGAN config: generator\.startSize/,
    );
  });

  it("refuses bilinearFirst and bilinearLast without nearest-conv blocks, and bilinearLast beyond G's blocks", () => {
    expect(() => parseAcganConfig({ imageSize: 32, generator: { bilinearFirst: true } })).toThrow(
      /generator\.bilinearFirst: needs upsample "nearest-conv", not "transposed"/,
    );
    expect(() =>
      parseAcganConfig({ imageSize: 32, generator: { upsample: 'bilinear-conv', bilinearLast: 2 } }),
    ).toThrow(/generator\.bilinearLast: needs upsample "nearest-conv", not "bilinear-conv"/);
    expect(() =>
      parseAcganConfig({ imageSize: 32, generator: { upsample: 'nearest-conv', bilinearLast: 4 } }),
    ).toThrow(/generator\.bilinearLast: G has 3 blocks at imageSize 32 \(startSize 4\), not 4/);
  });

  it('rejects an unknown preset with the list of presets', () => {
    expect(() => resolveAcganConfig({ preset: 'huge' as 'test' })).toThrow(/unknown preset "huge"/);
  });

  it('unknown keys at any depth ({"training": {"learningrateG": 5}}, {"trainingg": {}}) are refused with the nearest valid key', () => {
    expect(() =>
      resolveAcganConfig({ preset: 'test', overrides: { training: { learningrateG: 5 } as never } }),
    ).toThrow('invalid ACGAN config: unknown key training.learningrateG — did you mean learningRateG?');
    expect(() => resolveAcganConfig({ preset: 'test', overrides: { trainingg: {} } as never })).toThrow(
      'unknown key trainingg — did you mean training?',
    );
    expect(() =>
      resolveAcganConfig({ preset: 'test', overrides: { generator: { chanels: 4 } } as never }),
    ).toThrow('unknown key generator.chanels — did you mean channels?');
    expect(() =>
      parseAcganConfig({ imageSize: 32, labelSpace: { name: 'x', classes: ['a', 'b'], extra: 1 } }),
    ).toThrow('unknown key labelSpace.extra');
  });
});
