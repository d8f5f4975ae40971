import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { SkinganError } from '../errors.js';
import { recoverDir, replaceDirAtomic, writeFileAtomic } from './atomic.js';

/** A tensor with the name it is saved under (tfjs-core's type, not re-exported by @tensorflow/tfjs). */
export interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

const MODEL_JSON = 'model.json';
const WEIGHTS_BIN = 'weights.bin';

/**
 * A tfjs IOHandler that saves to and loads from a directory (`model.json` + `weights.bin`) with
 * nothing but `node:fs`: tfjs' own `file://` handler exists only in tfjs-node. Saves replace the
 * directory atomically, so a killed save leaves the previous model loadable.
 *
 *   await model.save(fileSystem('runs/r1/final/generator'));
 *   const m = await tf.loadLayersModel(fileSystem('runs/r1/final/generator'));
 */
export function fileSystem(dir: string): tf.io.IOHandler {
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      if (artifacts.modelTopology instanceof ArrayBuffer) {
        throw new SkinganError('binary model topologies are not supported', { code: 'INTERNAL' });
      }
      const weights = tf.io.CompositeArrayBuffer.join(artifacts.weightData); // empty without weights
      const modelJson: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology as tf.io.ModelJSON['modelTopology'],
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        weightsManifest: [{ paths: [`./${WEIGHTS_BIN}`], weights: artifacts.weightSpecs ?? [] }],
        ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
        ...(artifacts.userDefinedMetadata ? { userDefinedMetadata: artifacts.userDefinedMetadata } : {}),
      };
      await replaceDirAtomic(dir, async (tmp) => {
        await writeFileAtomic(join(tmp, WEIGHTS_BIN), new Uint8Array(weights));
        await writeFileAtomic(join(tmp, MODEL_JSON), JSON.stringify(modelJson));
      });
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },

    async load(): Promise<tf.io.ModelArtifacts> {
      await recoverDir(dir);
      const jsonPath = join(dir, MODEL_JSON);
      let modelJson: tf.io.ModelJSON;
      try {
        modelJson = JSON.parse(await fs.readFile(jsonPath, 'utf8')) as tf.io.ModelJSON;
      } catch (e) {
        const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
        throw new SkinganError(
          missing ? 'no saved model here' : `unreadable model.json: ${(e as Error).message}`,
          {
            code: missing ? 'NOT_FOUND' : 'BAD_CHECKPOINT',
            file: jsonPath,
            cause: e,
          },
        );
      }
      return tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
        const specs: tf.io.WeightsManifestEntry[] = [];
        const buffers: Uint8Array[] = [];
        for (const group of manifest) {
          specs.push(...group.weights);
          for (const p of group.paths) buffers.push(await fs.readFile(join(dir, p)));
        }
        const total = buffers.reduce((n, b) => n + b.byteLength, 0);
        const joined = new Uint8Array(total);
        let off = 0;
        for (const b of buffers) {
          joined.set(b, off);
          off += b.byteLength;
        }
        const expected = specs.reduce(
          (n, s) => n + s.shape.reduce((a, b) => a * b, 1) * bytesPer(s.dtype),
          0,
        );
        if (expected !== total) {
          throw new SkinganError(`weights are ${total} bytes, the manifest needs ${expected}`, {
            code: 'BAD_CHECKPOINT',
            file: join(dir, WEIGHTS_BIN),
          });
        }
        return [specs, joined.buffer];
      });
    },
  };
}

function bytesPer(dtype: string): number {
  return dtype === 'bool' ? 1 : 4;
}

/** Saves a layers model to a directory (atomic). */
export async function saveModel(model: tf.LayersModel, dir: string): Promise<void> {
  await model.save(fileSystem(dir));
}

/** Loads a layers model saved by `saveModel` (or any tfjs `model.json` + weights in a directory). */
export async function loadModel(dir: string): Promise<tf.LayersModel> {
  return tf.loadLayersModel(fileSystem(dir));
}

/** Saves named tensors (optimizer state, buffers) as `<name>.json` + `<name>.bin` in `dir`. */
export async function writeTensors(dir: string, name: string, tensors: NamedTensor[]): Promise<void> {
  const { data, specs } = await tf.io.encodeWeights(tensors);
  await fs.mkdir(dir, { recursive: true });
  await writeFileAtomic(join(dir, `${name}.bin`), new Uint8Array(data));
  await writeFileAtomic(join(dir, `${name}.json`), JSON.stringify(specs));
}

/** Reads tensors written by `writeTensors`, in their saved order. */
export async function readTensors(dir: string, name: string): Promise<NamedTensor[]> {
  const specs = JSON.parse(
    await fs.readFile(join(dir, `${name}.json`), 'utf8'),
  ) as tf.io.WeightsManifestEntry[];
  const buf = await fs.readFile(join(dir, `${name}.bin`));
  const map = tf.io.decodeWeights(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength), specs);
  return specs.map((s) => ({ name: s.name, tensor: map[s.name]! }));
}
