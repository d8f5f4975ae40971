import { EvalConfigSchema, parseConfig, SkinganError } from '@skingan/core';
import { z } from 'zod';
import { GENERATOR_UPSAMPLES } from './networks/resnet-generator.js';

const int = () => z.number().int();

/**
 * Everything a CycleGAN run is trained with. Defaults are those of the authors' implementation
 * (junyanz/pytorch-CycleGAN-and-pix2pix, `train.py` with `--model cycle_gan`).
 */
export const CycleGanConfigSchema = z
  .strictObject({
    /** The preset the config started from (informational). */
    preset: z.string().default('custom'),
    /** One seed drives weight init, random crops and flips, and the image pools. */
    seed: int().min(0).default(0),
    /** Side of the training crops and of the images the generators translate (crop_size). */
    size: int().min(24).default(256),
    /**
     * Side the data loader resizes images to before the random crop (load_size). Default:
     * size · 286/256, the reference's ratio.
     */
    loadSize: int().min(24).optional(),
    /** Filters of the generators' first layer. */
    ngf: int().min(1).default(64),
    /** Filters of the discriminators' first layer. */
    ndf: int().min(1).default(64),
    /** Residual blocks per generator (9 for 256², 6 for 128² in the reference). */
    blocks: int().min(0).default(9),
    /**
     * The generators' two upsamplings: the reference's k3 stride-2 transposed convs, or nearest /
     * bilinear 2× upsampling + k3 conv (no checkerboard; 16/9 and 4× the multiply-adds of those two
     * layers, computed on the small map). On ham-train NV → MEL those draw contour lines round the
     * lesions and translate less (docs/results/cyclegan-real.md), so the reference stays the default.
     */
    upsample: z.enum(GENERATOR_UPSAMPLES).default('transposed'),
    /** Stride-2 layers of the PatchGAN (3: 70×70 patches). */
    dLayers: int().min(1).default(3),
    batchSize: int().min(1).default(1),
    /** Total epochs: constant learning rate, then linear decay over the last `decayEpochs`. */
    epochs: int().min(1).default(200),
    /** Epochs of linear decay at the end (n_epochs_decay). Default: half of `epochs`. */
    decayEpochs: int().min(0).optional(),
    lr: z.number().positive().default(2e-4),
    beta1: z.number().min(0).lt(1).default(0.5),
    beta2: z.number().min(0).lt(1).default(0.999),
    /** Weight of the cycle loss A → B → A. */
    lambdaA: z.number().min(0).default(10),
    /** Weight of the cycle loss B → A → B. */
    lambdaB: z.number().min(0).default(10),
    /** Identity loss weight, relative to the cycle weights (0 disables the identity passes). */
    lambdaIdentity: z.number().min(0).default(0.5),
    /** Fakes the discriminators also see from earlier steps (Shrivastava et al.); 0 disables. */
    poolSize: int().min(0).default(50),
    /** Random horizontal flips of the training crops. */
    flip: z.boolean().default(true),
    /** Save a checkpoint every this many steps (0: at the end of each epoch only). */
    checkpointEvery: int().min(0).default(0),
    /** Write sample grids every this many steps (0: at the end of each epoch only). */
    sampleEvery: int().min(0).default(0),
    /** Images per domain in the sample grids. */
    sampleCount: int().min(1).default(4),
    /**
     * Quality measurement of A → B while training (core's `EvalConfigSchema`): translated domain-A
     * images against real domain-B images, the target class being B's.
     */
    eval: EvalConfigSchema.prefault({}),
  })
  .transform((c) => ({
    ...c,
    loadSize: c.loadSize ?? Math.round((c.size * 286) / 256),
    decayEpochs: c.decayEpochs ?? Math.floor(c.epochs / 2),
  }))
  .superRefine((c, ctx) => {
    // [fails, field, message]
    const checks: [boolean, string, string][] = [
      [c.size % 4 !== 0, 'size', 'must be a multiple of 4 (the generator downsamples twice)'],
      // PatchGAN: size / 2^dLayers, then two k4 s1 p1 convolutions that each remove a row.
      [
        Math.floor(c.size / 2 ** c.dLayers) - 2 < 1,
        'size',
        `is too small for a PatchGAN with ${c.dLayers} layers`,
      ],
      [c.loadSize < c.size, 'loadSize', `must be ≥ size (${c.size}): crops are taken from it`],
      [c.decayEpochs > c.epochs, 'decayEpochs', `must be ≤ epochs (${c.epochs})`],
    ];
    for (const [fails, field, message] of checks) {
      if (fails) ctx.addIssue({ code: 'custom', path: [field], message });
    }
  });

export type CycleGanConfig = z.output<typeof CycleGanConfigSchema>;

/**
 * A config validated, with the defaults of fields added since it was written: a run folder's saved
 * config resumes unchanged (`RunFolder.open`'s `parseSaved`).
 */
export function parseCycleGanConfig(value: unknown, file?: string): CycleGanConfig {
  return parseConfig(CycleGanConfigSchema, value, 'CycleGAN config', file ? { file } : {});
}
export type CycleGanConfigInput = z.input<typeof CycleGanConfigSchema>;

export const PRESET_NAMES = ['thesis', 'cpu', 'test'] as const;
export type CycleGanPresetName = (typeof PRESET_NAMES)[number];

/**
 * `thesis`: the reference at 256×256 (ngf = ndf = 64, 9 residual blocks, 100 + 100 epochs), as the
 * thesis trained it. `cpu`: 128×128, 32/32 filters, 6 blocks, small enough for a laptop CPU.
 * `test`: tiny networks for tests and smoke runs.
 */
export const CYCLEGAN_PRESETS: Readonly<
  Record<CycleGanPresetName, CycleGanConfigInput & { description: string }>
> = {
  thesis: {
    description: 'reference CycleGAN at 256×256: ngf = ndf = 64, 9 residual blocks, 100 + 100 epochs',
    size: 256,
    ngf: 64,
    ndf: 64,
    blocks: 9,
    epochs: 200,
    decayEpochs: 100,
  },
  cpu: {
    description: '128×128, ngf = ndf = 32, 6 residual blocks, 20 + 20 epochs',
    size: 128,
    ngf: 32,
    ndf: 32,
    blocks: 6,
    epochs: 40,
    decayEpochs: 20,
  },
  test: {
    description: 'tiny: 32×32, ngf = ndf = 8, 2 residual blocks, 2 epochs',
    size: 32,
    ngf: 8,
    ndf: 8,
    blocks: 2,
    epochs: 2,
    poolSize: 10,
    sampleCount: 2,
  },
};

/**
 * A preset with overrides applied (flags over the file over the preset), validated. A bad value is
 * a SkinganError naming the field.
 */
export function resolveConfig(
  preset: CycleGanPresetName | undefined,
  overrides: Partial<CycleGanConfigInput> = {},
): CycleGanConfig {
  if (preset !== undefined && !(preset in CYCLEGAN_PRESETS)) {
    throw new SkinganError(`unknown preset "${preset}"`, {
      code: 'USAGE',
      hint: `use one of: ${PRESET_NAMES.join(', ')}`,
    });
  }
  const { description: _, ...base } = preset ? CYCLEGAN_PRESETS[preset] : { description: '' };
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  // A new size without a new loadSize keeps the reference's ratio rather than the preset's loadSize.
  if (defined.size !== undefined && defined.loadSize === undefined)
    delete (base as { loadSize?: number }).loadSize;
  if (defined.epochs !== undefined && defined.decayEpochs === undefined)
    delete (base as { decayEpochs?: number }).decayEpochs;
  return parseConfig(
    CycleGanConfigSchema,
    { ...base, preset: preset ?? 'custom', ...defined },
    'CycleGAN config',
  );
}
