import { deepMerge, EvalConfigSchema, ISIC2019, parseConfig, SkinganError } from '@skingan/core';
import { z } from 'zod';

const int = () => z.number().int();
const isPowerOfTwo = (n: number) => n >= 1 && (n & (n - 1)) === 0;

/** The generator: [noise ‖ label code] → linear → 2× upsampling blocks (transposed convs by default) → tanh. */
export const GeneratorConfigSchema = z.strictObject({
  /** Length of the noise vector z. */
  latentDim: int().min(1).default(100),
  /**
   * How the label enters: 0 concatenates the one-hot vector itself with z (the paper); n > 0
   * concatenates a learned n-dim code, computed as one-hot × (classes × n) matrix (an embedding
   * without `gather`, whose gradient the WASM backend lacks).
   */
  labelEmbedding: int().min(0).default(0),
  /** Side of the feature map the linear layer reshapes into; doubled by each upsampling block. */
  startSize: int().min(1).default(4),
  /** Width: channels of the last hidden block; each earlier block has twice as many, up to `maxChannels`. */
  channels: int().min(1).default(64),
  maxChannels: int().min(1).default(512),
  kernelSize: int().min(1).default(5),
  /** Batch norm after the linear layer (DCGAN style); the paper has ReLU only there. */
  fcBatchNorm: z.boolean().default(false),
  /**
   * How each block doubles the side: `transposed` = a k×k stride-2 transposed conv (the paper);
   * `nearest-conv` = 2× nearest-neighbour upsampling then a k×k stride-1 conv (Odena, Dumoulin and
   * Olah 2016, "Deconvolution and checkerboard artifacts"): every output pixel sees the same number
   * of taps, so no checkerboard. Same parameters; computed as one transposed conv with a derived
   * (k + 1)² kernel ((k + 2)² for even k), so with k = 3 a step costs what the cpu preset's k = 4
   * transposed convs cost (measured 0.99×; k = 4: 1.23×). Prefer an odd `kernelSize` (3): an even
   * one pads 'same' unevenly and shifts the map by half a pixel per block.
   * `bilinear-conv` = 2× bilinear upsampling then the conv: the nearest blocks' hard edges, which
   * stack into a faint grid of each stage's cells, become ramps (StyleGAN's upsample-and-blur in its
   * simplest form); computed the same way with a (k + 3)² kernel, 2.25× nearest-conv's multiply-adds.
   */
  upsample: z.enum(['transposed', 'nearest-conv', 'bilinear-conv']).default('transposed'),
  /**
   * With `nearest-conv`: the first block (out of the start grid) upsamples bilinearly, against a
   * block pattern of the start grid's cells; the later blocks stay nearest (bilinear everywhere
   * smooths the maps into swirling contours). Measured at 64²: the faint grid stays
   * (docs/results/gan-quality.md).
   */
  bilinearFirst: z.boolean().default(false),
  /**
   * With `nearest-conv`: the last n blocks upsample bilinearly. The nearest blocks at the fine end
   * leave a grid of edges 4 px apart on flat skin (stronger mid-group, weaker between groups); the
   * coarse blocks stay nearest, whose blocks break the contours that smooth coarse maps draw.
   */
  bilinearLast: int().min(0).default(0),
});

/** The discriminator: convs with leaky ReLU, dropout and batch norm, then a real/fake and a class head. */
export const DiscriminatorConfigSchema = z.strictObject({
  /** Width: channels of the first conv; each further conv doubles them, up to `maxChannels`. */
  channels: int().min(1).default(16),
  maxChannels: int().min(1).default(512),
  kernelSize: int().min(1).default(3),
  /** `paired`: each stride-2 conv is followed by a stride-1 conv (the paper); `strided`: stride-2 convs only (DCGAN). */
  layout: z.enum(['paired', 'strided']).default('paired'),
  /** Side of the last feature map, which the heads read flattened. */
  endSize: int().min(1).default(4),
  dropout: z.number().min(0).max(0.95).default(0.5),
  leakySlope: z.number().min(0).max(1).default(0.2),
  /**
   * Spectral normalisation (Miyato et al. 2018) of every conv and both heads: each computes with
   * W / σ(W), σ its largest singular value, estimated by one power iteration per training step
   * from vectors kept as non-trainable weights (saved in the checkpoint with D). Bounds D's
   * Lipschitz constant; usually paired with `training.adversarialLoss: 'hinge'`. Same trainable
   * parameters; the batch norm and dropout stay as configured.
   */
  spectralNorm: z.boolean().default(false),
  /**
   * Projection discriminator (Miyato and Koyama 2018): D also reads the one-hot label y (the real
   * image's class, or the one G was asked for) and adds ⟨E·y, φ(x)⟩ to the real/fake logit, φ(x)
   * the features both heads read and E a learned [classes × features] matrix: D judges "a real
   * image of this class", not just "a real image". The class head (ACGAN's L_C) stays.
   */
  projection: z.boolean().default(false),
});

export const DIFF_AUGMENT_POLICIES = ['color', 'translation', 'cutout'] as const;
export type DiffAugmentPolicy = (typeof DIFF_AUGMENT_POLICIES)[number];

export const TrainingConfigSchema = z.strictObject({
  batchSize: int().min(2).default(100),
  learningRateG: z.number().positive().default(2e-4),
  learningRateD: z.number().positive().default(2e-4),
  beta1: z.number().min(0).lt(1).default(0.5),
  beta2: z.number().min(0).lt(1).default(0.999),
  /** One-sided label smoothing: the target of real images for the real/fake head (1 = none). */
  realLabel: z.number().gt(0.5).max(1).default(0.9),
  /**
   * G maximizes L_C − L_S. `non-saturating` replaces the log(1 − D(G(z))) part of −L_S by
   * −log D(G(z)) (same fixed point, useful gradients early on); `minimax` is the literal objective.
   */
  generatorLoss: z.enum(['non-saturating', 'minimax']).default('non-saturating'),
  /**
   * The real/fake part of the objective. `bce` (the paper): binary cross-entropy, with `realLabel`
   * and `generatorLoss`. `hinge` (Lim and Ye 2017; Miyato et al. 2018, with spectral norm): D
   * minimizes mean max(0, 1 − D(x)) + mean max(0, 1 + D(G(z))), G minimizes −mean D(G(z));
   * `realLabel` and `generatorLoss` do not apply. The class terms are cross-entropy either way.
   */
  adversarialLoss: z.enum(['bce', 'hinge']).default('bce'),
  /**
   * Weight λ of the mode-seeking term (Mao et al. 2019; 0 = off, 1 in the paper) in G's loss:
   * the fakes of a step come in pairs of one class and different noise, and G pays
   * λ / (mean|G(z₁, c) − G(z₂, c)| / mean|z₁ − z₂| + 1e-5). Against within-class collapse; no extra
   * forward pass (the pairs are halves of the batch).
   */
  modeSeeking: z.number().min(0).default(0),
  /** DiffAugment (Zhao et al. 2020) on every image D sees, real and fake, in both steps. */
  diffAugment: z.array(z.enum(DIFF_AUGMENT_POLICIES)).default([]),
  /**
   * Exponential moving average of G's weights for sampling (0 = off; e.g. 0.999): a shadow copy of G,
   * updated after each step as shadow ← d·shadow + (1 − d)·G with d = min(emaDecay, (1 + t)/(10 + t))
   * at update t (a warm-up, so it forgets the initial weights fast). Saved with each checkpoint and
   * as `model/generator_ema`; the per-epoch sample grid and `loadAcganGenerator` (`acgan sample`) use
   * it when present. Costs one more generator's memory and a few element-wise ops per step.
   */
  emaDecay: z.number().min(0).lt(1).default(0),
  /** Class-balanced batches. Recorded here; the BatchSource (built by the caller) applies it. */
  balanced: z.boolean().default(false),
  /** Save a checkpoint every this many steps (and always at the end). */
  checkpointEvery: int().min(1).default(500),
  /** Columns of the per-epoch sample grid (one row per class, fixed noise). */
  samplesPerClass: int().min(1).default(8),
  /** Stop when training is stuck this many steps in a row (losses frozen, or D rejecting every fake). */
  divergencePatience: int().min(1).default(200),
  /**
   * G's real/fake loss above this means D rejects every fake with certainty: D(G(z)) ≈ e^-x with
   * `bce`, a mean fake logit below −x with `hinge`.
   */
  maxGeneratorAdvLoss: z.number().positive().default(20),
});

const LabelSpaceSchema = z.strictObject({
  name: z.string().min(1),
  classes: z.array(z.string().min(1)).min(2),
});

export const AcganConfigSchema = z
  .strictObject({
    /** The preset the config started from (informational). */
    preset: z.string().default('custom'),
    imageSize: int().refine(
      (n) => isPowerOfTwo(n) && n >= 8 && n <= 512,
      'must be a power of two from 8 to 512',
    ),
    labelSpace: LabelSpaceSchema.default({ name: ISIC2019.name, classes: [...ISIC2019.classes] }),
    /** One seed drives init, noise, dropout and augmentation. */
    seed: int().min(0).default(0),
    epochs: int().min(1).default(100),
    generator: GeneratorConfigSchema.prefault({}),
    discriminator: DiscriminatorConfigSchema.prefault({}),
    training: TrainingConfigSchema.prefault({}),
    /** Quality measurement while training (FID, KID, diversity, fidelity): core's `EvalConfigSchema`. */
    eval: EvalConfigSchema.prefault({}),
  })
  .superRefine((c, ctx) => {
    // The sizes where G's stack starts and D's ends: each block doubles or halves the side.
    const ends = [
      ['generator', 'startSize', c.generator.startSize],
      ['discriminator', 'endSize', c.discriminator.endSize],
    ] as const;
    for (const field of ['bilinearFirst', 'bilinearLast'] as const) {
      if (c.generator[field] && c.generator.upsample !== 'nearest-conv') {
        ctx.addIssue({
          code: 'custom',
          path: ['generator', field],
          message: `needs upsample "nearest-conv", not "${c.generator.upsample}"`,
        });
      }
    }
    for (const [net, field, size] of ends) {
      if (!isPowerOfTwo(size) || size >= c.imageSize) {
        ctx.addIssue({
          code: 'custom',
          path: [net, field],
          message: `must be a power of two below imageSize ${c.imageSize}`,
        });
      }
    }
    const blocks = Math.log2(c.imageSize / c.generator.startSize);
    if (Number.isInteger(blocks) && c.generator.bilinearLast > blocks) {
      ctx.addIssue({
        code: 'custom',
        path: ['generator', 'bilinearLast'],
        message: `G has ${blocks} blocks at imageSize ${c.imageSize} (startSize ${c.generator.startSize}), not ${c.generator.bilinearLast}`,
      });
    }
  });

export type AcganConfig = z.output<typeof AcganConfigSchema>;
export type AcganConfigInput = z.input<typeof AcganConfigSchema>;
export type GeneratorConfig = AcganConfig['generator'];
export type DiscriminatorConfig = AcganConfig['discriminator'];
export type TrainingConfig = AcganConfig['training'];

type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends readonly unknown[] ? T[K] : T[K] extends object ? DeepPartial<T[K]> : T[K];
};
export type AcganConfigOverrides = DeepPartial<AcganConfigInput>;

interface Preset {
  description: string;
  defaultSize: number;
  make(size: number): AcganConfigOverrides;
}

/** The `cpu` preset's choices; its stacks grow a stage per doubling of the size (startSize, endSize 4). */
const cpuPreset = (size: number): AcganConfigOverrides => ({
  generator: {
    latentDim: 100,
    labelEmbedding: 100,
    startSize: 4,
    channels: 32,
    maxChannels: 256,
    // Measured on ham-train (docs/results/gan-quality.md): the reference (4×4 transposed convs,
    // plain D, no EMA) draws one image per class with a checkerboard; nearest-conv k3, the
    // projection D and EMA beat it on FID, diversity and fidelity at about the same cost per
    // step. CPU_REFERENCE restores the reference.
    kernelSize: 3,
    upsample: 'nearest-conv',
    // At 64² the last two blocks bilinear: the nearest ones there drew a grid of 4-px cells on flat
    // skin; bilinear, it is gone and FID falls, also through ResNet-50. At 128² the same two drew a
    // diamond texture at 4 px instead (docs/results/gan-quality.md), so larger sizes stay nearest.
    // (G has log2(size / 4) blocks: below 16² fewer than two.)
    bilinearLast: size <= 64 ? Math.min(2, Math.log2(size / 4)) : 0,
    fcBatchNorm: true,
  },
  discriminator: {
    channels: 32,
    maxChannels: 256,
    kernelSize: 4,
    layout: 'strided',
    endSize: 4,
    dropout: 0.25,
    projection: true,
  },
  // The mode-seeking term (λ = 1) took within-class diversity from 0.70–0.91 to 0.83–1.15 of
  // real images' at 8 epochs, FID unchanged (docs/results/gan-quality.md).
  training: { batchSize: 32, checkpointEvery: 200, emaDecay: 0.999, modeSeeking: 1 },
  epochs: 50,
});

/**
 * `thesis`: Odena et al. 2017, Appendix A (ImageNet 128×128): 5×5 stride-2 transposed convs from
 * 768 channels, a discriminator of six 3×3 convs (16 → 512 channels, strides 2,1,2,1,2,1) with
 * dropout 0.5, the one-hot label concatenated with z, batch 100. `cpu`: the DCGAN-like 64×64 ACGAN
 * of the PyTorch reference (learned label embedding, 4×4 convs in D, dropout 0.25), small enough for
 * a laptop, with G's 4×4 transposed convs replaced by nearest-neighbour upsampling + 3×3 convs, a
 * projection discriminator, an EMA of G's weights for sampling and MSGAN's mode-seeking term
 * (`CPU_REFERENCE` undoes all four). `test`: tiny, for tests and smoke runs.
 */
export const PRESETS: Readonly<Record<'thesis' | 'cpu' | 'cpu-128' | 'test', Preset>> = {
  thesis: {
    description: 'ACGAN paper (ImageNet 128×128 architecture), batch 100',
    defaultSize: 128,
    make: (size) => ({
      generator: {
        latentDim: 100,
        labelEmbedding: 0,
        startSize: Math.max(2, size / 16),
        channels: 96,
        maxChannels: 768,
        kernelSize: 5,
        fcBatchNorm: false,
      },
      discriminator: {
        channels: 16,
        maxChannels: 512,
        kernelSize: 3,
        layout: 'paired',
        endSize: Math.max(2, size / 8),
        dropout: 0.5,
      },
      training: { batchSize: 100, checkpointEvery: 500 },
      epochs: 100,
    }),
  },
  cpu: {
    description:
      'DCGAN-like ACGAN of the PyTorch reference (ngf = ndf = 32), 3×3 nearest-neighbour upsampling convs, projection D, EMA of G, mode-seeking term, batch 32',
    defaultSize: 64,
    make: cpuPreset,
  },
  'cpu-128': {
    description:
      'the cpu preset at 128×128 (one more upsampling stage in G, one more stride-2 conv in D), batch 32',
    defaultSize: 128,
    make: cpuPreset,
  },
  test: {
    description: 'tiny networks for tests and smoke runs, batch 16',
    defaultSize: 32,
    make: () => ({
      generator: {
        latentDim: 16,
        labelEmbedding: 0,
        startSize: 4,
        channels: 8,
        maxChannels: 32,
        kernelSize: 4,
        fcBatchNorm: true,
      },
      discriminator: {
        channels: 8,
        maxChannels: 32,
        kernelSize: 4,
        layout: 'strided',
        endSize: 4,
        dropout: 0.25,
      },
      training: { batchSize: 16, checkpointEvery: 50, samplesPerClass: 8 },
      epochs: 2,
    }),
  },
};

export type PresetName = keyof typeof PRESETS;

/**
 * Overrides that turn the `cpu` preset back into the PyTorch reference ACGAN
 * (`torch_reference.py --setup acgan`, `torch_acgan_train.py`): 4×4 stride-2 transposed convs in G,
 * no projection in D, no EMA, no mode-seeking term: the same layer shapes and parameter counts, for
 * comparisons with that anchor.
 */
export const CPU_REFERENCE: Readonly<AcganConfigOverrides> = Object.freeze({
  generator: { kernelSize: 4, upsample: 'transposed' as const, bilinearLast: 0 },
  discriminator: { projection: false },
  training: { emaDecay: 0, modeSeeking: 0 },
});

export interface ResolveOptions {
  preset?: PresetName;
  /** Output size; default: the preset's. */
  imageSize?: number;
  /** Anything to override (a config file, then flags), merged over the preset. */
  overrides?: AcganConfigOverrides;
}

/** Preset → overrides → validated config with every default filled in. */
export function resolveAcganConfig(options: ResolveOptions = {}): AcganConfig {
  const presetName = options.preset ?? 'thesis';
  const preset = PRESETS[presetName];
  if (!preset) {
    throw new SkinganError(`unknown preset "${String(presetName)}"`, {
      code: 'USAGE',
      hint: `use one of: ${Object.keys(PRESETS).join(', ')}`,
    });
  }
  const imageSize = options.imageSize ?? options.overrides?.imageSize ?? preset.defaultSize;
  const merged = deepMerge(
    { preset: presetName, imageSize, ...preset.make(imageSize) } as Record<string, unknown>,
    (options.overrides ?? {}) as Record<string, unknown>,
  );
  if (options.imageSize !== undefined) merged.imageSize = options.imageSize;
  return parseAcganConfig(merged);
}

/** Validates a config (e.g. a run's config.json); errors name every bad field, and the nearest valid key for an unknown one. */
export function parseAcganConfig(value: unknown, file?: string): AcganConfig {
  return parseConfig(AcganConfigSchema, value, 'ACGAN config', {
    ...(file ? { file } : {}),
    hint: 'fix the listed fields (see the preset values with `skingan acgan train --help`)',
  });
}
