import { promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  CheckpointStore,
  type ConditionalGenerator,
  type LabelSpace,
  loadModel,
  pathExists,
  SkinganError,
} from '@skingan/core';
import type * as tf from '@tensorflow/tfjs';
import { type AcganConfig, parseAcganConfig } from '../config.js';
import { registerAcganLayers } from '../layers/register.js';
import { generateImages } from './generate.js';

/** Where a finished run keeps its generator (a checkpoint holds one too), and the step it is from. */
export const FINAL_GENERATOR_DIR = join('model', 'generator');
/**
 * The moving average of the generator's weights (`training.emaDecay` > 0): the checkpoints' network
 * of that name, and the finished run's beside `model/generator`.
 */
export const EMA_NETWORK = 'generator_ema';
export const FINAL_GENERATOR_EMA_DIR = join('model', EMA_NETWORK);
export const FINAL_INFO_FILE = join('model', 'info.json');

/**
 * A trained ACGAN generator as a `ConditionalGenerator`: `generate(labels, seed)` draws one image per
 * label, image i from noise seeded with seed + i (so provenance can name each image's own seed).
 */
export class AcganGenerator implements ConditionalGenerator {
  readonly labelSpace: LabelSpace;
  readonly imageSize: number;
  readonly latentDim: number;

  constructor(
    readonly model: tf.LayersModel,
    readonly config: AcganConfig,
    /**
     * Where the weights came from (a run's model/ or checkpoint folder), for provenance; `ema`: the
     * moving average of G's weights rather than G's last ones.
     */
    readonly source?: { run: string; step: number; dir: string; ema?: boolean },
  ) {
    this.labelSpace = { name: config.labelSpace.name, classes: config.labelSpace.classes };
    this.imageSize = config.imageSize;
    this.latentDim = config.generator.latentDim;
    const [, h] = model.outputs[0]!.shape;
    if (h !== config.imageSize) {
      throw new SkinganError(`the generator makes ${h}×${h} images but the config says ${config.imageSize}`, {
        code: 'BAD_CHECKPOINT',
        ...(source ? { file: source.dir } : {}),
      });
    }
  }

  /** One image per label ([N, size, size, 3] in [-1, 1]); the same seed gives the same images. */
  generate(labels: number[], seed: number = randomSeed()): tf.Tensor4D {
    return generateImages(this.model, this.config, labels, seed);
  }

  dispose(): void {
    this.model.dispose();
  }
}

function randomSeed(): number {
  return Math.floor(Math.random() * 2 ** 31);
}

export interface LoadAcganGeneratorOptions {
  /**
   * `ema` (default): the moving average of G's weights where the run kept one
   * (`training.emaDecay` > 0), else G's own; `raw`: G's own weights always.
   */
  weights?: 'ema' | 'raw';
}

/**
 * Loads the generator of an ACGAN run folder: `model/generator` once training finished, else the
 * newest checkpoint's; its EMA twin (`generator_ema`) instead where there is one, unless
 * `weights: 'raw'`. The run's config.json gives the label space and sizes.
 */
export async function loadAcganGenerator(
  runDir: string,
  options: LoadAcganGeneratorOptions = {},
): Promise<AcganGenerator> {
  registerAcganLayers();
  const dir = resolve(runDir);
  const configPath = join(dir, 'config.json');
  let raw: unknown;
  try {
    raw = JSON.parse(await fs.readFile(configPath, 'utf8'));
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    throw new SkinganError(
      missing ? 'no ACGAN run here (config.json is missing)' : 'config.json is not valid JSON',
      {
        code: missing ? 'NOT_FOUND' : 'BAD_CHECKPOINT',
        file: missing ? dir : configPath,
        hint: 'pass the --out folder of `skingan acgan train`',
        cause: e,
      },
    );
  }
  const config = parseAcganConfig(raw, configPath);
  const finalDir = join(dir, FINAL_GENERATOR_DIR);
  const finalStep = await readFinalStep(dir);
  const latest = await new CheckpointStore(join(dir, 'checkpoints')).latest();
  // A run resumed to train longer has a checkpoint newer than its previous final model.
  const load = async (rawDir: string, emaDir: string, step: number) => {
    const ema = options.weights !== 'raw' && (await pathExists(join(emaDir, 'model.json')));
    const from = ema ? emaDir : rawDir;
    return new AcganGenerator(await loadModel(from), config, { run: dir, step, dir: from, ema });
  };
  if (finalStep !== undefined && (!latest || latest.step <= finalStep)) {
    return load(finalDir, join(dir, FINAL_GENERATOR_EMA_DIR), finalStep);
  }
  if (!latest) {
    throw new SkinganError('this run has no trained generator yet (no model/ and no checkpoint)', {
      code: 'NOT_FOUND',
      file: dir,
      hint: 'train it first, or wait for its first checkpoint',
    });
  }
  return load(join(latest.dir, 'generator'), join(latest.dir, EMA_NETWORK), latest.step);
}

async function readFinalStep(dir: string): Promise<number | undefined> {
  if (!(await pathExists(join(dir, FINAL_GENERATOR_DIR, 'model.json')))) return undefined;
  try {
    const info = JSON.parse(await fs.readFile(join(dir, FINAL_INFO_FILE), 'utf8')) as { step?: unknown };
    return typeof info.step === 'number' ? info.step : 0;
  } catch {
    return 0;
  }
}
