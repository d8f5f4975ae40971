import { z } from 'zod';

const int = () => z.number().int();

/**
 * How a GAN trainer measures its generator while training (the same block in every GAN config):
 * every `every` epochs, `perClass` images per class are generated and compared with a fixed sample
 * of `realPerClass` training images per class (FID, KID, within-class diversity, and class fidelity
 * when a classifier is named). Changing it on --resume is allowed: it does not change training.
 */
export const EvalConfigSchema = z.strictObject({
  /** Evaluate after every this many epochs (0: never). */
  every: int().min(0).default(1),
  /**
   * Most of the wall time evaluations may take (1: no limit, the default). Below 1, a due
   * evaluation is skipped while the last one took more than maxShare / (1 − maxShare) of the
   * training time since it (the first and final are always run; the one-time real features are not
   * counted): which epochs get measured then depends on timing, so metrics.jsonl is no longer
   * reproducible.
   */
  maxShare: z.number().gt(0).max(1).default(1),
  /** Images generated per class at each evaluation. */
  perClass: int().min(2).default(6),
  /** Real training images per class in the fixed comparison sample (fewer where a class has fewer). */
  realPerClass: int().min(2).default(24),
  /**
   * Feature network: 'auto' (the ImageNet ResNet-50 when its weights are cached, else the small test
   * network, with a notice; the test network for the `test` preset), 'resnet50', 'test', or a tfjs
   * layers model folder.
   */
  extractor: z.string().min(1).default('auto'),
  /** A classifier run folder for class fidelity (absent: fidelity is not measured). */
  classifier: z.string().min(1).optional(),
});

export type EvalConfig = z.output<typeof EvalConfigSchema>;
