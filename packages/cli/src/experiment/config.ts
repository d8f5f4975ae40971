import { deepMerge, parseConfig, readConfigFile, SkinganError } from '@skingan/core';
import { foldFractions } from '@skingan/data';
import { z } from 'zod';

const int = () => z.number().int();

/** Everything an experiment's result depends on; saved as experiment.json's `config`. */
const ExperimentConfigSchema = z.strictObject({
  preset: z.string(),
  /** Drives the split, every model's init/noise/shuffling, and the bootstrap. */
  seed: int().default(7),
  fractions: z
    .strictObject({ train: z.number(), val: z.number(), test: z.number() })
    .default({ train: 0.8, val: 0.1, test: 0.1 }),
  acgan: z.strictObject({ preset: z.string(), size: int(), epochs: int(), batchSize: int().optional() }),
  cyclegan: z.strictObject({
    preset: z.string(),
    size: int(),
    epochs: int(),
    /**
     * Images of each domain a CycleGAN learns from, drawn at random where there are more (an epoch
     * is the larger domain): noise2img's per-class refinement, ACGAN images of the class ↔ real ones;
     * nv2mel's, NV train images ↔ the α-filtered MEL.
     */
    trainImages: int().min(1),
    /** nv2mel's NV → MEL CycleGANs' own `epochs` and `trainImages` (default: the above). */
    nv2mel: z.strictObject({ epochs: int().min(1), trainImages: int().min(1) }).optional(),
  }),
  classifier: z.strictObject({
    preset: z.string(),
    size: int(),
    epochs: int().optional(),
    /** `imagenet` fine-tunes the Keras ResNet-50 as the thesis did. */
    pretrained: z.string().optional(),
    freezeEpochs: int().optional(),
    augment: z.boolean().default(false),
    /**
     * `network`: train and predict a network per cell (`classifier train`); `head`: the fast path,
     * a linear head on stored `extractor` features of the images decoded at `size`
     * (`classifier head`, seconds a seed, so `repeats` can be 20 or more). nv2mel's filter still
     * ranks with a network (ISIC-0's, first seed).
     */
    method: z.enum(['network', 'head']).default('network'),
    /** The head's feature network: `resnet50`, `test`, or a tfjs model folder. */
    extractor: z.string().default('resnet50'),
    /**
     * The side it runs at (`--input-size`; default its own, 224 for resnet50); FID/KID's extractor
     * too where it is the same network, whatever `method` (`ganMetricMeasure`).
     */
    inputSize: int().min(32).optional(),
    /**
     * `head` with baselines `augment`: augmented views of each train image (`data augment --views`,
     * the augmentations of `--augment`) whose features the baseline's heads add to the real ones:
     * one feature extraction per view. Unused by `network`, which augments on the fly.
     */
    augmentViews: int().min(1).default(4),
  }),
  /** noise2img: synthetic images added per class (thesis: 250 … 3000). */
  n: z.array(int().min(1)).min(1),
  /** nv2mel: path-rank-filter fractions (thesis: 1/8, 1/4, 1/2, 1). */
  alphas: z.array(z.number().gt(0).max(1)).min(1),
  /** nv2mel: synthetic MEL added (thesis: 500 … 7000), capped at the NV images that exist. */
  nMel: z.array(int().min(1)).min(1),
  /**
   * Real-data rows besides ISIC-0, the yardsticks a GAN row must beat too (Perez et al. found
   * classic augmentation beats GAN augmentation): `augment` = real + classic augmentation (the
   * classifier's `--augment`; for `head`, `classifier.augmentViews` views of each train image),
   * `oversample` = real + class-balanced oversampling (`--balance sampler`).
   */
  baselines: z.array(z.enum(['augment', 'oversample'])).default([]),
  /** Classifier seeds per training set (in each fold); ≥ 2 gives mean ± CI. */
  repeats: int().min(1).default(1),
  /**
   * Lesion-disjoint (or image-disjoint) folds: with K ≥ 2 the whole pipeline runs once per fold of
   * a K-fold rotation (`data split --folds K --fold k`), whose test parts cover every image once,
   * and a row pools its K × `repeats` runs. The test fraction is then 1/K (`fractions` default to
   * val 0.1, test 1/K). 1: one split, as before.
   */
  folds: int().min(1).default(1),
  /**
   * Feature extractor for FID/KID: `test`, `resnet50`, or a tfjs model folder; it sees real and
   * synthetic images decoded at the generators' size.
   */
  extractor: z.string().default('test'),
});
export type ExperimentConfig = z.infer<typeof ExperimentConfigSchema>;

type PresetInput = z.input<typeof ExperimentConfigSchema>;

/**
 * `thesis`: the thesis' sizes and grids (needs a GPU); `cpu`: a real but small run for a laptop;
 * `ham`: ham-train on 2 CPU cores, the issue 17 study (GANs at 64², 20 seeds a row on the fast
 * path, the real + augmentation and oversampling rows; sized from its parts' measured costs, see
 * docs/results/ham-train); `test`: tiny, for CI; `demo`: `skingan demo`, sized to finish in
 * minutes on 2 CPU cores.
 */
export const EXPERIMENT_PRESETS: Record<string, PresetInput> = {
  thesis: {
    preset: 'thesis',
    acgan: { preset: 'thesis', size: 128, epochs: 100 },
    cyclegan: { preset: 'thesis', size: 256, epochs: 200, trainImages: 1000 },
    classifier: {
      preset: 'thesis',
      size: 224,
      pretrained: 'imagenet',
      freezeEpochs: 1,
      epochs: 10,
      augment: true,
    },
    n: [250, 500, 1000, 2000, 3000],
    alphas: [1 / 8, 1 / 4, 1 / 2, 1],
    nMel: [500, 1000, 2000, 3000, 4000, 5000, 6000, 7000],
    repeats: 3,
    extractor: 'resnet50',
  },
  cpu: {
    preset: 'cpu',
    acgan: { preset: 'cpu', size: 64, epochs: 30 },
    cyclegan: { preset: 'cpu', size: 64, epochs: 10, trainImages: 200 },
    classifier: { preset: 'cpu', size: 64, augment: true },
    n: [100, 250, 500],
    alphas: [1 / 4, 1],
    nMel: [250, 500, 1000],
    repeats: 2,
    extractor: 'test',
  },
  ham: {
    preset: 'ham',
    acgan: { preset: 'cpu', size: 64, epochs: 8 },
    // 300 steps a class (the refinement measured in docs/results/cyclegan-real.md); NV → MEL 1,800
    // steps an α (as measured there: 6 epochs of 300 images each way).
    cyclegan: {
      preset: 'cpu',
      size: 64,
      epochs: 3,
      trainImages: 100,
      nv2mel: { epochs: 6, trainImages: 300 },
    },
    // The fast path: ResNet-50 at 128² (a third of 224²'s cost, the vectors shared with FID/KID), on
    // images decoded at the generators' 64², real and synthetic alike (`sizeMismatch`).
    classifier: {
      preset: 'cpu',
      size: 64,
      method: 'head',
      extractor: 'resnet50',
      inputSize: 128,
      // One augmented view of each train image: two cost 9 more minutes of features and put the
      // run over the 2 hours it is sized for (docs/fast-path.md).
      augmentViews: 1,
    },
    n: [250, 1000],
    alphas: [1 / 4, 1],
    nMel: [500, 2000],
    baselines: ['augment', 'oversample'],
    repeats: 20,
    extractor: 'resnet50',
  },
  test: {
    preset: 'test',
    acgan: { preset: 'test', size: 32, epochs: 1 },
    cyclegan: { preset: 'test', size: 32, epochs: 1, trainImages: 8 },
    classifier: { preset: 'test', size: 32, epochs: 1 },
    n: [4, 8],
    alphas: [1 / 4, 1],
    nMel: [8, 16],
    repeats: 1,
    extractor: 'test',
  },
  demo: {
    preset: 'demo',
    acgan: { preset: 'cpu', size: 32, epochs: 60 },
    cyclegan: { preset: 'test', size: 32, epochs: 4, trainImages: 24 },
    classifier: { preset: 'test', size: 32, epochs: 6 },
    n: [20, 40],
    alphas: [1 / 4, 1],
    nMel: [10, 20],
    repeats: 3,
    extractor: 'test',
  },
};

/** Preset, then a JSON config file's fields (deep-merged), then explicit overrides. */
export async function resolveExperimentConfig(
  preset: string,
  file?: string,
  overrides: Partial<PresetInput> = {},
): Promise<ExperimentConfig> {
  const base = EXPERIMENT_PRESETS[preset];
  if (!base) {
    throw new SkinganError(`unknown preset "${preset}"`, {
      code: 'USAGE',
      hint: `use one of: ${Object.keys(EXPERIMENT_PRESETS).join(', ')}`,
    });
  }
  const fromFile = file ? await readConfigFile(file) : {};
  const merged = deepMerge(deepMerge(base, fromFile), overrides);
  const config = parseConfig(ExperimentConfigSchema, merged, 'experiment config', file ? { file } : {});
  const invalid = (message: string, hint: string) =>
    new SkinganError(`invalid experiment config: ${message}`, { code: 'USAGE', file, hint });
  if (config.folds > 1) {
    // A fold tests 1/K of each class: unset fractions give way to it, set ones must agree.
    const fold = foldFractions(config.folds, config.fractions.val);
    if (!(merged as PresetInput).fractions) config.fractions = foldFractions(config.folds);
    else if (Math.abs(config.fractions.test - fold.test) > 1e-9) {
      throw invalid(
        `folds ${config.folds} tests 1/${config.folds} of each class in each fold, but fractions.test is ${config.fractions.test}`,
        `leave "fractions" out (val 0.1, test 1/${config.folds}) or set them to ${JSON.stringify(fold)}`,
      );
    }
  }
  if (config.baselines.includes('augment') && config.classifier.augment) {
    throw invalid(
      'baselines "augment" is real + classic augmentation, but ISIC-0 already augments (classifier.augment is true)',
      'set "classifier": {"augment": false} for a real-only ISIC-0, or drop "augment" from baselines',
    );
  }
  if (config.classifier.method === 'head' && config.classifier.augment) {
    throw invalid(
      'classifier.method "head" trains on stored features, so it cannot augment on the fly (classifier.augment is true)',
      'set "classifier": {"augment": false} and add "augment" to baselines: that row\'s heads also train on classifier.augmentViews augmented views of each train image (`data augment`)',
    );
  }
  return config;
}
