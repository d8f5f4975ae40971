import { type FeatureExtractor, SkinganError } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { identityPreprocess, type Preprocess } from './preprocess.js';

/** A feature extractor that holds tensors (weights) until disposed. */
export interface DisposableFeatureExtractor extends FeatureExtractor {
  /** Feature dimension. */
  readonly dim: number;
  dispose(): void;
}

export interface LayerExtractorOptions {
  /** The layer whose output are the features; default the model's output. */
  layerName?: string;
  /** Reported with every value, e.g. "resnet50-imagenet/avg_pool". */
  name: string;
  /**
   * Input side in pixels; default the model's input shape (required if that is unknown). Another
   * side than the model's traces the model again at it (a convolutional network up to a pool).
   */
  inputSize?: number;
  /** From skingan's [-1, 1] RGB to the network's input; default identity. */
  preprocess?: Preprocess;
}

/**
 * Features from any tfjs layers model: the output of `layerName` (or the model's output). A
 * spatial output (N × H × W × C) is global-average-pooled to N × C, as Inception's pool3 and
 * ResNet's avg-pool are; any other shape is flattened. The extractor takes ownership of `model`:
 * its `dispose()` disposes the model.
 */
export function layerFeatureExtractor(
  model: tf.LayersModel,
  options: LayerExtractorOptions,
): DisposableFeatureExtractor {
  const inputShape = model.inputs[0]?.shape;
  if (inputShape?.length !== 4) {
    throw new SkinganError(
      `${options.name}: the model must take NHWC images, its input shape is ${JSON.stringify(inputShape)}`,
    );
  }
  const modelSize = inputShape[1];
  const inputSize = options.inputSize ?? modelSize ?? undefined;
  if (inputSize === undefined || inputSize === null) {
    throw new SkinganError(`${options.name}: the model's input size is not fixed; give inputSize`, {
      code: 'USAGE',
    });
  }
  let net: tf.LayersModel = model;
  if (options.layerName !== undefined) {
    const layer = model.layers.find((l) => l.name === options.layerName);
    if (!layer) {
      const names = model.layers.map((l) => l.name);
      throw new SkinganError(`${options.name}: no layer "${options.layerName}" in the model`, {
        code: 'USAGE',
        hint: `layers include: ${names.slice(-12).join(', ')}${names.length > 12 ? ` (${names.length} in all)` : ''}`,
      });
    }
    net = tf.model({ inputs: model.inputs, outputs: layer.output as tf.SymbolicTensor });
  }
  // A convolutional network runs at any size up to a global pool: trace it again on an input of
  // the size asked for (ResNet-50 at 128² costs a third of 224²), sharing the weights.
  if (modelSize != null && modelSize !== inputSize) net = retrace(net, inputSize, options.name);
  const outShape = (net.outputs[0] as tf.SymbolicTensor).shape;
  const dim =
    outShape.length === 4 ? outShape[3]! : outShape.slice(1).reduce<number>((a, b) => a * (b ?? 1), 1);
  const preprocess = options.preprocess ?? identityPreprocess;
  return {
    name: options.name,
    inputSize,
    dim,
    features(images: tf.Tensor4D): tf.Tensor2D {
      return tf.tidy(() => {
        const y = net.predict(preprocess(images)) as tf.Tensor;
        if (y.rank === 4) return y.mean([1, 2]) as tf.Tensor2D;
        return y.reshape([y.shape[0]!, -1]) as tf.Tensor2D;
      });
    },
    dispose() {
      model.dispose();
    },
  };
}

/** `net` applied to a new input of side `size`; refused where a layer needs the size it was built for. */
function retrace(net: tf.LayersModel, size: number, name: string): tf.LayersModel {
  const channels = net.inputs[0]!.shape[3]!;
  const input = tf.input({ shape: [size, size, channels] });
  try {
    const traced = tf.model({ inputs: input, outputs: net.apply(input) as tf.SymbolicTensor });
    // Tracing checks no weight shapes: one image through it does.
    tf.dispose(tf.tidy(() => traced.predict(tf.zeros([1, size, size, channels]))));
    return traced;
  } catch (e) {
    throw new SkinganError(
      `${name}: cannot run at ${size}×${size}, the model takes ${net.inputs[0]!.shape[1]}×${net.inputs[0]!.shape[2]}: ${(e as Error).message}`,
      { code: 'USAGE', cause: e },
    );
  }
}
