import { kerasConv2DFields, single, withBias } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';

/**
 * Stops a network's first convolutions from computing the gradient of the images they read.
 *
 * tfjs-layers convolves with `tf.fused.conv2d`, whose gradient computes the input's gradient eagerly
 * along with the filter's. For a convolution fed by the images (directly or through layers without
 * weights, such as Keras ResNet-50's ZeroPadding2D), that gradient flows nowhere: a ResNet stem's is
 * ~5% of a training step. Those layers are made to call `tf.conv2d`, then add the bias and apply
 * the activation as separate ops: the same values, and tfjs skips the gradient of an input that
 * does not depend on a trained variable. The layers' config and weights, and so saved models, are
 * unchanged. Returns the names of the layers changed.
 */
export function skipImageGradient(model: tf.LayersModel): string[] {
  const weightFree = new Set<string>();
  const changed: string[] = [];
  for (const layer of model.layers) {
    const inbound = layer.inboundNodes.flatMap((node) => node.inboundLayers);
    if (!inbound.every((l) => weightFree.has(l.name))) continue;
    if (layer.weights.length === 0) {
      weightFree.add(layer.name);
    } else if (layer.getClassName() === 'Conv2D' && !unfused.has(layer) && unfuse(layer)) {
      unfused.add(layer);
      changed.push(layer.name);
    }
  }
  return changed;
}

/** Layers already changed: a second call leaves them be. */
const unfused = new WeakSet<object>();

function unfuse(layer: tf.layers.Layer): boolean {
  const conv = kerasConv2DFields(layer);
  const dilations = Array.isArray(conv.dilationRate) ? conv.dilationRate : [conv.dilationRate];
  if (conv.dataFormat !== 'channelsLast' || dilations.some((d) => d !== 1)) return false;
  const [sh, sw] = conv.strides as [number, number];
  layer.call = (inputs) =>
    tf.tidy(() => {
      const x = single(inputs) as tf.Tensor4D;
      const y = withBias(
        () => tf.conv2d(x, conv.kernel.read() as tf.Tensor4D, [sh, sw], conv.padding),
        conv.bias?.read() as tf.Tensor1D | undefined,
      );
      return conv.activation.apply(y);
    });
  return true;
}
