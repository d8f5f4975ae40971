// One ResNet-18 training step at 64², batch 16 (torchvision's layer shapes and 11,180,616
// parameters with an 8-class head; Adam; cross-entropy), as `torch_reference.py --setup resnet18`.
// Ours is the classifier's own training step (Learner.step: BatchNorm in training mode, fastai's
// Adam with decoupled weight decay). SKINGAN_PROFILE=1 adds a per-kernel time breakdown.

import { createResNetClassifier, Learner } from '@skingan/classifier';
import { ISIC2019, Rng } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { profileKernels } from '../profile-kernels.mjs';
import { timeSteps } from '../timing.mjs';

const SIZE = 64;
const BATCH = 16;

export default {
  anchor: {
    script: 'torch_reference.py',
    args: ['--setup', 'resnet18', '--size', String(SIZE), '--batch', String(BATCH), '--threads', '2'],
  },
  async run() {
    const classifier = createResNetClassifier('resnet18', {
      labelSpace: ISIC2019,
      inputSize: SIZE,
      headDropout: 0,
    });
    const source = { size: BATCH, batchSize: BATCH, stepsPerEpoch: 1, epoch: async function* () {} };
    const learner = new Learner(classifier, { train: source, seed: 0 });
    const rng = new Rng(0);
    const lr = [1e-3, 1e-3, 1e-3];
    const step = () => {
      const images = rng.uniformTensor([BATCH, SIZE, SIZE, 3], -1, 1);
      const labels = tf.tensor1d(
        Array.from({ length: BATCH }, () => rng.int(8)),
        'int32',
      );
      learner.step({ images, labels }, false, lr, 0.9);
      tf.dispose([images, labels]);
    };
    const r = await timeSteps(step, { warmup: 1, steps: 5, label: 'resnet18 ' });
    const extra = {};
    if (process.env.SKINGAN_PROFILE) extra.profile = await profileKernels(step, { steps: 2 });
    learner.dispose();
    classifier.dispose();
    return {
      medianMs: r.medianMs,
      params: classifier.trainableParams(),
      extra,
      notes: `batch ${BATCH}, ${SIZE}², Learner.step (fastai Adam)`,
    };
  },
};
