import * as tf from '@tensorflow/tfjs';
import { Rng } from '../random.js';

/**
 * A tiny conditional encoder-decoder written with raw ops, touching every kernel GAN and
 * classifier training needs: conv2d (strided), conv2dTranspose, batch norm and instance norm via
 * moments, one-hot × matrix labels, an embedding via gather, leaky ReLU, tanh, softmax CE.
 */
export function tinyNet(seed: number) {
  const rng = new Rng(seed);
  const v = (shape: number[], std = 0.2) => tf.variable(rng.normalTensor(shape, 0, std));
  const params = {
    labelW: v([4, 8]),
    embed: v([4, 8]),
    conv1: v([3, 3, 3 + 2, 8]),
    conv2: v([3, 3, 8, 8]),
    bnGamma: tf.variable(tf.ones([8])),
    bnBeta: tf.variable(tf.zeros([8])),
    deconv: v([3, 3, 8, 8]),
    inGamma: tf.variable(tf.ones([8])),
    out: v([1, 1, 8, 3]),
    head: v([8, 4]),
  };
  const forward = (x: tf.Tensor4D, labels: tf.Tensor1D) =>
    tf.tidy(() => {
      const [n, h, w] = x.shape;
      const onehot = tf.oneHot(labels, 4).toFloat();
      const cond = tf.add(tf.matMul(onehot, params.labelW), tf.gather(params.embed, labels)); // [n, 8]
      const condMap = tf.tile(tf.reshape(cond.slice([0, 0], [n, 2]), [n, 1, 1, 2]), [1, h, w, 1]);
      let y = tf.conv2d(tf.concat([x, condMap], 3) as tf.Tensor4D, params.conv1 as tf.Tensor4D, 1, 'same');
      y = tf.leakyRelu(y, 0.2);
      y = tf.conv2d(y, params.conv2 as tf.Tensor4D, 2, 'same');
      const bm = tf.moments(y, [0, 1, 2]);
      y = tf.batchNorm(y, bm.mean, bm.variance, params.bnBeta, params.bnGamma, 1e-5) as tf.Tensor4D;
      y = tf.relu(y);
      y = tf.conv2dTranspose(y, params.deconv as tf.Tensor4D, [n, h, w, 8], 2, 'same');
      const im = tf.moments(y, [1, 2], true);
      y = tf.mul(
        tf.div(tf.sub(y, im.mean), tf.sqrt(tf.add(im.variance, 1e-5))),
        params.inGamma,
      ) as tf.Tensor4D;
      y = tf.relu(y);
      const image = tf.tanh(tf.conv2d(y, params.out as tf.Tensor4D, 1, 'valid'));
      const logits = tf.matMul(tf.mean(y, [1, 2]), params.head);
      return { image, logits };
    });
  const loss = (x: tf.Tensor4D, labels: tf.Tensor1D, target: tf.Tensor4D) =>
    tf.tidy(() => {
      const { image, logits } = forward(x, labels);
      const rec = tf.mean(tf.abs(tf.sub(image, target)));
      const ce = tf.losses.softmaxCrossEntropy(tf.oneHot(labels, 4), logits);
      return tf.add(rec, ce) as tf.Scalar;
    });
  return { params, forward, loss, dispose: () => tf.dispose(Object.values(params)) };
}
