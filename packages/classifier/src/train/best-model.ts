import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { pathExists, SkinganError } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { ImageClassifier } from '../classifier.js';

// The best epoch's weights on disk: `best/` while a run trains, `model/` once it has finished.

const BEST_DIR = 'best';
const MODEL_DIR = 'model';
/** In `best/`: which epoch's weights it holds, checked on resume against the checkpoint's record. */
const BEST_EPOCH_FILE = 'best-epoch.json';

/** Every weight of the classifier, backbone then head (BatchNorm statistics included); no copies. */
function weightsOf(c: ImageClassifier): tf.Tensor[] {
  return [...c.backbone.getWeights(), ...c.head.getWeights()];
}

/** Copies of every weight of the classifier. */
export function copyWeights(c: ImageClassifier): tf.Tensor[] {
  return weightsOf(c).map((t) => tf.clone(t));
}

/** Sets every weight of the classifier (as `copyWeights` lists them). */
export function setWeights(c: ImageClassifier, weights: tf.Tensor[]): void {
  const n = c.backbone.getWeights().length;
  c.backbone.setWeights(weights.slice(0, n));
  c.head.setWeights(weights.slice(n));
}

/** Writes the classifier's weights as the run's `best/`, with the epoch they are from inside it. */
export async function writeBest(c: ImageClassifier, runDir: string, epoch: number): Promise<void> {
  await c.save(join(runDir, BEST_DIR), { [BEST_EPOCH_FILE]: { epoch } });
}

/** Whether the run has its final `model/` (it has finished once). */
export function hasFinalModel(runDir: string): Promise<boolean> {
  return pathExists(join(runDir, MODEL_DIR));
}

/** Writes the classifier (holding the best weights) as the run's final `model/`; `best/` goes. */
export async function writeFinalModel(c: ImageClassifier, runDir: string): Promise<void> {
  await c.save(join(runDir, MODEL_DIR));
  await fs.rm(join(runDir, BEST_DIR), { recursive: true, force: true });
}

function badCheckpoint(message: string, file: string, cause?: unknown): SkinganError {
  return new SkinganError(message, {
    code: 'BAD_CHECKPOINT',
    file,
    hint: 'start the run again in a new folder (without --resume)',
    ...(cause !== undefined ? { cause } : {}),
  });
}

/**
 * Copies of the weights of the best epoch so far (`epoch`), for a resume from the checkpoint of
 * `checkpointEpoch`: from `best/`, or from `model/` once the run has finished (it then holds the
 * best weights and `best/` is gone). Missing or damaged, it fails: resuming without it would end
 * with other weights than the result names.
 */
export async function readBest(
  c: ImageClassifier,
  runDir: string,
  epoch: number,
  checkpointEpoch: number,
): Promise<tf.Tensor[]> {
  const bestDir = join(runDir, BEST_DIR);
  const modelDir = join(runDir, MODEL_DIR);
  if (epoch === checkpointEpoch && !(await hasFinalModel(runDir))) {
    // The checkpoint resumed from is the best epoch's own: its weights are the best ones. best/
    // may lag behind it (a crash right after the checkpoint): bring it up to date.
    await writeBest(c, runDir, epoch);
    return copyWeights(c);
  }
  const dir = (await pathExists(bestDir)) ? bestDir : (await pathExists(modelDir)) ? modelDir : undefined;
  const what = `the best model (epoch ${epoch + 1})`;
  if (!dir) throw badCheckpoint(`${what} is missing: neither best/ nor model/ is in the run`, runDir);
  if (dir === bestDir) {
    // A best/ of another epoch than the checkpoint names (a checkpoint set aside after a
    // divergence, or a damaged run): resuming would end with other weights than the result names.
    const saved = await fs
      .readFile(join(bestDir, BEST_EPOCH_FILE), 'utf8')
      .then((t) => (JSON.parse(t) as { epoch: number }).epoch)
      .catch(() => undefined);
    if (saved !== undefined && saved !== epoch) {
      throw badCheckpoint(
        `best/ holds epoch ${saved + 1}'s weights, but the checkpoint resumed from names epoch ${epoch + 1} as the best`,
        bestDir,
      );
    }
  }
  let loaded: ImageClassifier;
  try {
    loaded = await ImageClassifier.load(dir);
  } catch (e) {
    throw badCheckpoint(`${what} cannot be read: ${e instanceof Error ? e.message : String(e)}`, dir, e);
  }
  try {
    const w = weightsOf(loaded);
    const own = weightsOf(c);
    const same = w.length === own.length && w.every((t, i) => t.shape.join() === own[i]!.shape.join());
    if (!same) throw badCheckpoint(`${what} is another network than this run's`, dir);
    return w.map((t) => tf.clone(t));
  } finally {
    loaded.dispose();
  }
}
