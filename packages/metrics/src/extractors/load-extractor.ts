import { promises as fs } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { loadModel, pathExists, SkinganError, weightsCacheDir } from '@skingan/core';
import type * as tf from '@tensorflow/tfjs';
import {
  type DisposableFeatureExtractor,
  type LayerExtractorOptions,
  layerFeatureExtractor,
} from './layer-extractor.js';
import { caffePreprocess, PREPROCESS_PRESETS } from './preprocess.js';
import { testFeatureExtractor } from './test-extractor.js';

/** How to use a saved model as an extractor: `extractor.json` beside its `model.json`. */
export interface ExtractorSpec {
  name?: string;
  layerName?: string;
  inputSize?: number;
  /** 'none' | 'inception' (both identity), 'caffe', 'unit'. */
  preprocess?: string;
}

export const RESNET50_WEIGHTS = 'resnet50-imagenet';

/** Where `skingan weights fetch resnet50-imagenet` puts the ImageNet ResNet-50. */
export function resnet50WeightsDir(env: NodeJS.ProcessEnv = process.env): string {
  return weightsCacheDir(RESNET50_WEIGHTS, env);
}

/**
 * A tfjs layers model saved in `dir` (model.json + weights) as an extractor. Settings come from
 * `overrides`, then `dir/extractor.json`, then defaults (the model's output, its input size, no
 * preprocessing, named after the folder and layer).
 */
export async function loadLayerFeatureExtractor(
  dir: string,
  overrides: ExtractorSpec = {},
): Promise<DisposableFeatureExtractor> {
  const specPath = join(dir, 'extractor.json');
  let fromFile: ExtractorSpec = {};
  try {
    fromFile = checkSpec(JSON.parse(await fs.readFile(specPath, 'utf8')), specPath);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new SkinganError(`unreadable extractor settings: ${(e as Error).message}`, {
        file: specPath,
        cause: e,
      });
    }
  }
  const spec = { ...fromFile, ...definedOnly(overrides) };
  const preprocessName = spec.preprocess ?? 'none';
  const preprocess = PREPROCESS_PRESETS[preprocessName];
  if (!preprocess) {
    throw new SkinganError(`unknown preprocessing "${preprocessName}"`, {
      code: 'USAGE',
      file: specPath,
      hint: `use one of: ${Object.keys(PREPROCESS_PRESETS).join(', ')}`,
    });
  }
  return extractorOf(await loadModel(dir), {
    name: spec.name ?? `${basename(resolve(dir))}${spec.layerName ? `/${spec.layerName}` : ''}`,
    ...(spec.layerName !== undefined ? { layerName: spec.layerName } : {}),
    ...(spec.inputSize !== undefined ? { inputSize: spec.inputSize } : {}),
    preprocess,
  });
}

/**
 * The ImageNet ResNet-50's global-average-pool features (2048-d), from the weights cache, with
 * Keras' caffe preprocessing at 224×224, or at `inputSize` (the network is convolutional up to the
 * pool; at 128² a third of the cost, and images decoded at 128² go in without a resize). Uses the
 * layer `avg_pool` when the saved model has its classification head, else the model's output.
 */
export async function loadResnet50Extractor(
  dir = resnet50WeightsDir(),
  inputSize = 224,
): Promise<DisposableFeatureExtractor> {
  if (!(await pathExists(join(dir, 'model.json')))) {
    throw new SkinganError(`the ImageNet ResNet-50 weights are not in ${dir}`, {
      code: 'NOT_FOUND',
      hint: 'run `skingan weights fetch resnet50-imagenet` (needs network access once), or set SKINGAN_CACHE',
    });
  }
  const model = await loadModel(dir);
  const extractor = extractorOf(model, {
    name: 'resnet50-imagenet/avg_pool',
    ...(model.layers.some((l) => l.name === 'avg_pool') ? { layerName: 'avg_pool' } : {}),
    inputSize,
    preprocess: caffePreprocess,
  });
  // The name of 224² is the one stores and reports already carry.
  const at = inputSize === 224 ? '' : ` at ${inputSize}²`;
  return { ...extractor, name: `resnet50-imagenet/avg_pool${at} (${extractor.dim}-d)` };
}

/** `layerFeatureExtractor`, disposing the model if it is refused. */
function extractorOf(model: tf.LayersModel, options: LayerExtractorOptions): DisposableFeatureExtractor {
  try {
    return layerFeatureExtractor(model, options);
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/**
 * Resolves the CLI's `--extractor`: 'test' (the small random-conv network), 'resnet50' (the cached
 * ImageNet ResNet-50), or a folder with a saved tfjs layers model (+ optional extractor.json).
 */
export async function loadFeatureExtractor(
  which: string,
  options: { env?: NodeJS.ProcessEnv; layerName?: string; inputSize?: number } = {},
): Promise<DisposableFeatureExtractor> {
  if (which === 'test') return testFeatureExtractor(definedOnly({ inputSize: options.inputSize }));
  if (which === 'resnet50') return loadResnet50Extractor(resnet50WeightsDir(options.env), options.inputSize);
  if (!(await pathExists(join(which, 'model.json')))) {
    throw new SkinganError(`--extractor ${which}: not "resnet50", "test", or a folder with a model.json`, {
      code: 'USAGE',
      hint: 'give a tfjs layers model folder (e.g. a converted Inception-V3) with --layer for the feature layer',
    });
  }
  return loadLayerFeatureExtractor(
    which,
    definedOnly({ layerName: options.layerName, inputSize: options.inputSize }),
  );
}

function checkSpec(value: unknown, file: string): ExtractorSpec {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SkinganError('extractor settings must be a JSON object', { file });
  }
  const v = value as Record<string, unknown>;
  for (const key of ['name', 'layerName', 'preprocess']) {
    if (v[key] !== undefined && typeof v[key] !== 'string') {
      throw new SkinganError(`"${key}" must be a string, got ${JSON.stringify(v[key])}`, { file });
    }
  }
  if (v.inputSize !== undefined && !(Number.isInteger(v.inputSize) && (v.inputSize as number) > 0)) {
    throw new SkinganError(`"inputSize" must be a positive integer, got ${JSON.stringify(v.inputSize)}`, {
      file,
    });
  }
  return v as ExtractorSpec;
}

function definedOnly(spec: ExtractorSpec): ExtractorSpec {
  return Object.fromEntries(Object.entries(spec).filter(([, v]) => v !== undefined)) as ExtractorSpec;
}
