import { promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  type FeatureExtractor,
  kerasBatchNormFields,
  type LabelSpace,
  loadModel,
  type ProbabilisticClassifier,
  pathExists,
  type Rng,
  replaceDirAtomic,
  SkinganError,
  saveModel,
  writeJsonAtomic,
} from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { fuseBatchNorm } from './architectures/batch-norm.js';
import { skipImageGradient } from './architectures/image-gradient.js';
import {
  buildHead,
  buildResNetBackbone,
  countTrainableParams,
  type ResNetConfig,
  resnetConfig,
} from './architectures/resnet.js';
import { type Preprocessing, prepareImages } from './preprocess.js';
import { loadLayersModelDir } from './pretrained/layers-model.js';
import { resolvePretrained, weightsPreprocessing } from './pretrained/weights-cache.js';

const SPEC_FILE = 'classifier.json';

/** What a saved classifier folder records beside its two networks. */
export interface ClassifierSpec {
  format: 'skingan-classifier@1';
  /** 'resnet18', 'resnet-small', … or 'pretrained' for a backbone loaded from weights. */
  arch: string;
  /** The weights the backbone started from ('resnet50-imagenet', a path) or null (from scratch). */
  pretrained: string | null;
  labelSpace: { name: string; classes: string[] };
  inputSize: number;
  preprocessing: Preprocessing;
  featureDim: number;
  /** Dropout on the pooled features while training the head. */
  headDropout: number;
}

/**
 * An image classifier as two tfjs layers models: a backbone (images → pooled features) and a head
 * (features → logits). Splitting them is what lets the trainer freeze the backbone bit for bit,
 * train the head on features computed once, and give the backbone its own learning rates.
 * Inputs are skingan images (NHWC in [-1, 1], any size: they are resized bilinearly to
 * `inputSize` and preprocessed as the backbone's weights expect).
 */
export class ImageClassifier implements ProbabilisticClassifier, FeatureExtractor {
  constructor(
    readonly backbone: tf.LayersModel,
    readonly head: tf.LayersModel,
    readonly spec: ClassifierSpec,
  ) {
    skipImageGradient(backbone);
    fuseBatchNorm(backbone);
  }

  get labelSpace(): LabelSpace {
    return this.spec.labelSpace;
  }

  get inputSize(): number {
    return this.spec.inputSize;
  }

  /** FeatureExtractor name, reported beside metrics computed on these features. */
  get name(): string {
    return `classifier:${this.spec.arch}${this.spec.pretrained ? `(${this.spec.pretrained})` : ''}`;
  }

  get numClasses(): number {
    return this.spec.labelSpace.classes.length;
  }

  /** Resized to `inputSize` and preprocessed for the backbone. */
  prepare(images: tf.Tensor4D): tf.Tensor4D {
    return prepareImages(images, this.inputSize, this.spec.preprocessing);
  }

  /** Pooled backbone features [N, featureDim]; `training` uses batch statistics and updates BatchNorm's. */
  features(images: tf.Tensor4D, training = false): tf.Tensor2D {
    return tf.tidy(() => this.backbone.apply(this.prepare(images), { training }) as tf.Tensor2D);
  }

  /** Head logits; in training, dropout with a mask drawn from `rng` (deterministic per seed). */
  logits(features: tf.Tensor2D, training = false, rng?: Rng): tf.Tensor2D {
    return tf.tidy(() => {
      let x = features;
      const p = this.spec.headDropout;
      if (training && p > 0) {
        if (!rng) throw new SkinganError('dropout in training needs an Rng', { code: 'INTERNAL' });
        const keep = tf.cast(tf.greaterEqual(rng.uniformTensor(features.shape), p), 'float32');
        x = tf.mul(x, tf.mul(keep, 1 / (1 - p)));
      }
      return this.head.apply(x, { training }) as tf.Tensor2D;
    });
  }

  predictProba(images: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => tf.softmax(this.logits(this.features(images))));
  }

  /**
   * Trainable variables in fastai's three layer groups for ResNets: stem + stages 1–2, stages 3–4,
   * head (torchvision's `layer3` is Keras' `conv4`/`res4`). Discriminative learning rates and
   * freezing act on these groups.
   */
  layerGroups(): tf.LayerVariable[][] {
    const [g0, g1] = splitBackbone(this.backbone);
    return [g0, g1, this.head.trainableWeights];
  }

  trainableParams(): number {
    return countTrainableParams(this.backbone, this.head);
  }

  /**
   * Saves `classifier.json`, `backbone/` and `head/` into `dir`, replacing it atomically; `extraJson`
   * (file name → value) is written into the same folder, so it can never describe other weights.
   */
  async save(dir: string, extraJson: Record<string, unknown> = {}): Promise<void> {
    await replaceDirAtomic(resolve(dir), async (tmp) => {
      await saveModel(this.backbone, join(tmp, 'backbone'));
      await saveModel(this.head, join(tmp, 'head'));
      await writeJsonAtomic(join(tmp, SPEC_FILE), this.spec);
      for (const [name, value] of Object.entries(extraJson)) await writeJsonAtomic(join(tmp, name), value);
    });
  }

  /** Copies the weights of a classifier saved with `save` (same architecture) into this one. */
  async loadWeights(dir: string): Promise<void> {
    const modelDir = await findClassifierDir(dir);
    for (const [name, target] of [
      ['backbone', this.backbone],
      ['head', this.head],
    ] as const) {
      const loaded = await loadModel(join(modelDir, name));
      target.setWeights(loaded.getWeights());
      loaded.dispose();
    }
  }

  /**
   * Loads a saved classifier: a folder with classifier.json, or a training run whose final model
   * is in `model/`.
   */
  static async load(dir: string): Promise<ImageClassifier> {
    const modelDir = await findClassifierDir(dir);
    const spec = await readSpec(modelDir);
    if (spec.format !== 'skingan-classifier@1') {
      throw new SkinganError(`unsupported classifier format "${String(spec.format)}"`, {
        code: 'BAD_CHECKPOINT',
        file: join(modelDir, SPEC_FILE),
      });
    }
    const backbone = await loadModel(join(modelDir, 'backbone'));
    const head = await loadModel(join(modelDir, 'head'));
    return new ImageClassifier(backbone, head, spec);
  }

  dispose(): void {
    this.backbone.dispose();
    this.head.dispose();
  }
}

async function readSpec(modelDir: string): Promise<ClassifierSpec> {
  return JSON.parse(await fs.readFile(join(modelDir, SPEC_FILE), 'utf8')) as ClassifierSpec;
}

/** `dir` itself when it holds classifier.json, else `dir/model` (a training run). */
export async function findClassifierDir(dir: string): Promise<string> {
  const abs = resolve(dir);
  for (const d of [abs, join(abs, 'model')]) {
    if (await pathExists(join(d, SPEC_FILE))) return d;
  }
  const running = await pathExists(join(abs, 'run.json'));
  throw new SkinganError(`no trained classifier here (no ${SPEC_FILE} in it or in model/)`, {
    code: 'NOT_FOUND',
    file: abs,
    hint: running
      ? 'this run has not finished: wait for it, or resume it with `skingan classifier train --resume`'
      : 'pass the --out folder of `skingan classifier train`',
  });
}

export interface ClassifierOptions {
  labelSpace: LabelSpace;
  inputSize: number;
  /** Dropout before the head's dense layer; default 0.5 (fastai's last-layer `ps`). */
  headDropout?: number;
  /** Initialization seed. */
  seed?: number;
}

/** A ResNet trained from scratch: a named architecture (`resnet18`, `resnet-small`, …) or a config. */
export function createResNetClassifier(
  arch: string | ResNetConfig,
  options: ClassifierOptions,
): ImageClassifier {
  const config = typeof arch === 'string' ? resnetConfig(arch) : arch;
  const backbone = buildResNetBackbone(config, options.inputSize, options.seed ?? 0);
  return withNewHead(backbone, options, {
    arch: typeof arch === 'string' ? arch : 'resnet-custom',
    pretrained: null,
    preprocessing: 'none',
  });
}

/** A classifier of `backbone` with a fresh head for the options' label space. */
function withNewHead(
  backbone: tf.LayersModel,
  options: ClassifierOptions,
  spec: Pick<ClassifierSpec, 'arch' | 'pretrained' | 'preprocessing'>,
): ImageClassifier {
  const featureDim = backbone.outputs[0]!.shape[1] as number;
  const head = buildHead(featureDim, options.labelSpace.classes.length, options.seed ?? 0);
  return new ImageClassifier(backbone, head, {
    format: 'skingan-classifier@1',
    ...spec,
    labelSpace: { name: options.labelSpace.name, classes: [...options.labelSpace.classes] },
    inputSize: options.inputSize,
    featureDim,
    headDropout: options.headDropout ?? 0.5,
  });
}

export interface PretrainedClassifierOptions extends ClassifierOptions {
  /** Overrides the preprocessing the weights declare (known weights: theirs; a plain folder: 'none'). */
  preprocessing?: Preprocessing;
  /**
   * BatchNorm momentum (Keras convention) for fine-tuning; default 0.9, PyTorch's 0.1 as fastai
   * trains. Keras models ship with 0.99, whose running statistics barely move in a few epochs, so
   * a fine-tuned network would be evaluated with nearly ImageNet's statistics. null keeps theirs.
   */
  bnMomentum?: number | null;
}

/**
 * A classifier whose backbone starts from pretrained weights, with a new head for the label space:
 * `resnet50-imagenet` (alias `imagenet`) from the cache, a skingan classifier folder (its backbone),
 * or any tfjs layers model folder, cut before its global pooling and rebuilt at `inputSize`.
 */
export async function createPretrainedClassifier(
  pretrained: string,
  options: PretrainedClassifierOptions,
): Promise<ImageClassifier> {
  let base: tf.LayersModel;
  let preprocessing: Preprocessing = options.preprocessing ?? 'none';
  let arch = 'pretrained';
  const asClassifier = await findClassifierDir(pretrained).catch(() => undefined);
  if (asClassifier) {
    const spec = await readSpec(asClassifier);
    base = await loadLayersModelDir(join(asClassifier, 'backbone'), { inputSize: options.inputSize });
    preprocessing = options.preprocessing ?? spec.preprocessing;
    arch = spec.arch;
  } else {
    const found = await resolvePretrained(pretrained);
    base = await loadLayersModelDir(found.dir, { inputSize: options.inputSize, truncate: 'features' });
    preprocessing = options.preprocessing ?? (await weightsPreprocessing(found));
    if (found.name === 'resnet50-imagenet') arch = 'resnet50';
  }
  const backbone = asClassifier ? base : withGlobalPooling(base);
  const momentum = options.bnMomentum === undefined ? 0.9 : options.bnMomentum;
  if (momentum !== null && !asClassifier) {
    for (const layer of backbone.layers) {
      if (layer.getClassName() === 'BatchNormalization') kerasBatchNormFields(layer).momentum = momentum;
    }
  }
  return withNewHead(backbone, options, { arch, pretrained, preprocessing });
}

function withGlobalPooling(base: tf.LayersModel): tf.LayersModel {
  const pooled = tf.layers
    .globalAveragePooling2d({ name: 'avg_pool' })
    .apply(base.outputs[0]!) as tf.SymbolicTensor;
  return tf.model({ inputs: base.inputs, outputs: pooled, name: 'backbone' });
}

/** Stage of a ResNet layer from its Keras name: `conv4_block1_1_conv` and `res4a_branch2a`/`bn4a_…` → 4. */
function stageOf(name: string): number | undefined {
  const m = /^conv(\d+)_/.exec(name) ?? /^(?:res|bn)(\d+)[a-z]/.exec(name);
  if (m) return Number(m[1]);
  if (name === 'conv1' || name === 'bn_conv1') return 1;
  return undefined;
}

/**
 * The backbone's trainable variables in two groups, split where torchvision's `layer3` begins
 * (fastai's `_resnet_split`); for backbones without ResNet layer names, at the middle layer.
 */
function splitBackbone(backbone: tf.LayersModel): [tf.LayerVariable[], tf.LayerVariable[]] {
  const layers = backbone.layers;
  let split = layers.findIndex((l) => (stageOf(l.name) ?? 0) >= 4);
  const named = split >= 0;
  if (!named) split = Math.floor(layers.filter((l) => l.trainableWeights.length).length / 2);
  const g0: tf.LayerVariable[] = [];
  const g1: tf.LayerVariable[] = [];
  let withWeights = 0;
  layers.forEach((l, i) => {
    if (!l.trainableWeights.length) return;
    const stage = stageOf(l.name);
    const late = named ? (stage !== undefined ? stage >= 4 : i >= split) : withWeights >= split;
    (late ? g1 : g0).push(...l.trainableWeights);
    withWeights++;
  });
  return [g0, g1];
}
