import { parseConfig, SkinganError } from '@skingan/core';
import { z } from 'zod';
import { RESNET_ARCH_NAMES } from './architectures/resnet.js';
import { FASTAI_ADAM } from './train/adam.js';
import { FINE_TUNE_DEFAULTS } from './train/phases.js';
import { ONE_CYCLE_DEFAULTS } from './train/schedule.js';

const archs = RESNET_ARCH_NAMES as [string, ...string[]];

/**
 * A classifier training run. Without `pretrained` the ResNet trains from scratch with fastai's
 * `fit_one_cycle(epochs, lr)`; with it, `fine_tune(epochs, base_lr=lr, freeze_epochs)`.
 */
export const ClassifierConfigSchema = z
  .object({
    arch: z.enum(archs),
    /** 'imagenet' / 'resnet50-imagenet' (Keras weights from the cache), a skingan classifier folder, a tfjs model folder, or null. */
    pretrained: z.string().min(1).nullable(),
    imageSize: z.number().int().min(16),
    batchSize: z.number().int().positive(),
    /** Epochs with everything trainable (fit_one_cycle's n_epoch, fine_tune's epochs). */
    epochs: z.number().int().min(0),
    /** Head-only epochs before unfreezing; only with pretrained weights. */
    freezeEpochs: z.number().int().min(0),
    /** Peak learning rate (from scratch) or fine_tune's base_lr (pretrained). */
    lr: z.number().positive(),
    lrMult: z.number().positive(),
    wd: z.number().min(0),
    /** null: fastai's default for the schedule used (0.25 fit_one_cycle, 0.3 fine_tune). */
    pctStart: z.number().min(0).max(1).nullable(),
    /** null: fastai's default (25 fit_one_cycle, 5 fine_tune). */
    div: z.number().positive().nullable(),
    divFinal: z.number().positive(),
    moms: z.tuple([z.number(), z.number(), z.number()]),
    headDropout: z.number().min(0).max(0.99),
    augment: z.boolean(),
    /** Class balance: oversample rare classes ('sampler'), weight the loss ('weights'), or neither. */
    balance: z.enum(['none', 'sampler', 'weights']),
    /** Early stopping: epochs without a better validation balanced accuracy; null never stops. */
    patience: z.number().int().positive().nullable(),
    seed: z.number().int(),
  })
  .strict();

export type ClassifierConfig = z.infer<typeof ClassifierConfigSchema>;

const FASTAI = {
  lrMult: FINE_TUNE_DEFAULTS.lrMult,
  wd: FASTAI_ADAM.wd,
  pctStart: null,
  div: null,
  divFinal: ONE_CYCLE_DEFAULTS.divFinal,
  moms: [...ONE_CYCLE_DEFAULTS.moms] as [number, number, number],
  headDropout: 0.5,
  balance: 'none',
  seed: 0,
} as const;

/** `thesis`: ImageNet ResNet-50 fine-tuned at 224²; `cpu`: a small ResNet at 128² a laptop trains; `test`: tiny and fast. */
export const CLASSIFIER_PRESETS: Readonly<Record<'thesis' | 'cpu' | 'test', ClassifierConfig>> =
  Object.freeze({
    thesis: {
      ...FASTAI,
      arch: 'resnet50',
      pretrained: 'imagenet',
      imageSize: 224,
      batchSize: 32,
      epochs: 10,
      freezeEpochs: 1,
      lr: FINE_TUNE_DEFAULTS.baseLr,
      augment: true,
      patience: 5,
    },
    cpu: {
      ...FASTAI,
      arch: 'resnet-small',
      pretrained: null,
      imageSize: 128,
      batchSize: 32,
      epochs: 20,
      freezeEpochs: 0,
      lr: 3e-3,
      augment: true,
      patience: 5,
    },
    test: {
      ...FASTAI,
      arch: 'resnet-small',
      pretrained: null,
      imageSize: 64,
      batchSize: 16,
      epochs: 3,
      freezeEpochs: 0,
      lr: 3e-3,
      headDropout: 0.2,
      augment: false,
      patience: null,
    },
  });

export type ClassifierPreset = keyof typeof CLASSIFIER_PRESETS;

/**
 * The config a run uses: a preset, then a config file's keys, then flags (undefined flags are
 * ignored). A pretrained 'imagenet' implies arch resnet50. Bad keys or values are usage errors
 * that name them.
 */
export function resolveClassifierConfig(
  preset: string,
  file: Record<string, unknown> = {},
  flags: Partial<ClassifierConfig> = {},
  source = 'config',
): ClassifierConfig {
  const base = (CLASSIFIER_PRESETS as Record<string, ClassifierConfig>)[preset];
  if (!base) {
    throw new SkinganError(`unknown preset "${preset}"`, {
      code: 'USAGE',
      hint: `use one of: ${Object.keys(CLASSIFIER_PRESETS).join(', ')}`,
    });
  }
  const defined = Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined));
  const merged: Record<string, unknown> = { ...base, ...file, ...defined };
  const imagenet = (pretrained: unknown) => pretrained === 'imagenet' || pretrained === 'resnet50-imagenet';
  if (imagenet(merged.pretrained) && !('arch' in defined) && !('arch' in file)) merged.arch = 'resnet50';
  const c = parseConfig(ClassifierConfigSchema, merged, `classifier ${source}`);
  if (imagenet(c.pretrained) && c.arch !== 'resnet50') {
    throw new SkinganError(`the ImageNet weights are a ResNet-50, not ${c.arch}`, {
      code: 'USAGE',
      hint: `drop --arch, or add --pretrained none to train ${c.arch} from scratch`,
    });
  }
  return c;
}
