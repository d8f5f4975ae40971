import { fileSystem, SkinganError } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';

/** A Keras/tfjs layer as it appears in model.json's topology. */
interface LayerJson {
  class_name: string;
  name?: string;
  config: { name: string; batch_input_shape?: (number | null)[]; [k: string]: unknown };
  inbound_nodes?: unknown[];
}

interface FunctionalConfig {
  name?: string;
  layers: LayerJson[];
  input_layers: unknown[];
  output_layers: [string, number, number][];
}

const POOLING = new Set([
  'GlobalAveragePooling2D',
  'GlobalMaxPooling2D',
  'Flatten',
  'GlobalAveragePooling2d',
  'GlobalMaxPooling2d',
]);

export interface LoadLayersModelOptions {
  /** Rebuild the model for square inputs of this size (convolutional layers do not care). */
  inputSize?: number;
  /**
   * 'features': keep only the layers up to the last convolutional feature map (the input of the
   * model's global pooling or flatten), dropping the original classifier, whose weights are skipped.
   */
  truncate?: 'features';
}

/**
 * Loads a tfjs layers model from a directory (model.json + weight shards, as tfjs-converter writes
 * them or `saveModel` does), optionally at another input size and cut before its classifier.
 */
export async function loadLayersModelDir(
  dir: string,
  options: LoadLayersModelOptions = {},
): Promise<tf.LayersModel> {
  const artifacts = await fileSystem(dir).load!();
  if (!options.inputSize && !options.truncate) return tf.loadLayersModel(tf.io.fromMemory(artifacts));
  const topology = structuredClone(artifacts.modelTopology) as Record<string, unknown>;
  const model = (topology.model_config ?? topology) as { class_name: string; config: FunctionalConfig };
  if (!Array.isArray(model.config?.layers) || !Array.isArray(model.config.output_layers)) {
    throw new SkinganError(
      `a ${model.class_name} model cannot be cut or resized; a functional model is needed`,
      {
        code: 'BAD_INPUT',
        file: `${dir}/model.json`,
        hint: 'save the network as a functional (tf.model / keras.Model) layers model',
      },
    );
  }
  const layers = model.config.layers;
  if (options.inputSize) {
    for (const l of layers) {
      if (l.class_name !== 'InputLayer') continue;
      const shape = l.config.batch_input_shape;
      const channels = shape?.[3] ?? 3;
      l.config.batch_input_shape = [null, options.inputSize, options.inputSize, channels];
    }
  }
  if (options.truncate === 'features') {
    const end = featureMapLayer(layers, `${dir}/model.json`);
    const keep = ancestors(layers, end);
    model.config.layers = layers.filter((l) => keep.has(layerName(l)));
    model.config.output_layers = [[end, 0, 0]];
  }
  return tf.loadLayersModel(tf.io.fromMemory({ ...artifacts, modelTopology: topology }), { strict: false });
}

function layerName(l: LayerJson): string {
  return l.config.name ?? l.name ?? '';
}

/** Names of the layers a layer reads from, from Keras' `inbound_nodes` ([[[name, node, tensor, kwargs], …]]). */
function inboundNames(l: LayerJson): string[] {
  const names: string[] = [];
  for (const node of l.inbound_nodes ?? []) {
    if (!Array.isArray(node)) continue;
    for (const entry of node) if (Array.isArray(entry) && typeof entry[0] === 'string') names.push(entry[0]);
  }
  return names;
}

/** The layer whose output the first global pooling / flatten layer reads: the last feature map. */
function featureMapLayer(layers: LayerJson[], file: string): string {
  const pool = layers.find((l) => POOLING.has(l.class_name));
  const input = pool ? inboundNames(pool)[0] : undefined;
  if (!input) {
    throw new SkinganError(
      'no global pooling or flatten layer found to cut the model before its classifier',
      {
        code: 'BAD_INPUT',
        file,
        hint: 'use a convolutional classifier whose feature map feeds a GlobalAveragePooling2D or Flatten layer',
      },
    );
  }
  return input;
}

function ancestors(layers: LayerJson[], end: string): Set<string> {
  const byName = new Map(layers.map((l) => [layerName(l), l]));
  const keep = new Set<string>();
  const todo = [end];
  while (todo.length) {
    const n = todo.pop()!;
    if (keep.has(n)) continue;
    keep.add(n);
    const l = byName.get(n);
    if (l) todo.push(...inboundNames(l));
  }
  return keep;
}
