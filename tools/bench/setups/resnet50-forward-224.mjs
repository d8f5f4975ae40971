// ResNet-50 inference throughput at 224², batch 8: the classifier's predictProba (caffe
// preprocessing, backbone, 8-class head) as eval, predict and the path-rank-filter run it. Uses the
// Keras ImageNet weights when cached (`skingan weights fetch resnet50-imagenet`), else the same
// network from scratch (torchvision's ResNet-50 shapes). There is no PyTorch forward anchor: the
// anchor shown is torchvision's ResNet-50 *training* step at the same size and batch, for scale.
// SKINGAN_PROFILE=1 adds a per-kernel time breakdown.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createPretrainedClassifier, createResNetClassifier } from '@skingan/classifier';
import { ISIC2019, Rng, weightsCacheDir } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { profileKernels } from '../profile-kernels.mjs';
import { timeSteps } from '../timing.mjs';

const SIZE = 224;
const BATCH = 8;

export default {
  anchor: {
    script: 'torch_reference.py',
    args: [
      '--setup',
      'resnet50',
      '--size',
      String(SIZE),
      '--batch',
      String(BATCH),
      '--threads',
      '2',
      '--steps',
      '3',
    ],
  },
  async run() {
    const cached = existsSync(join(weightsCacheDir('resnet50-imagenet'), 'model.json'));
    const options = { labelSpace: ISIC2019, inputSize: SIZE };
    const classifier = cached
      ? await createPretrainedClassifier('imagenet', options)
      : createResNetClassifier('resnet50', options);
    const images = new Rng(0).uniformTensor([BATCH, SIZE, SIZE, 3], -1, 1);
    const step = async () => {
      const p = classifier.predictProba(images);
      await p.data();
      p.dispose();
    };
    const r = await timeSteps(step, { warmup: 1, steps: 5, label: 'resnet50 forward ' });
    const extra = {
      batch: BATCH,
      size: SIZE,
      weights: cached ? 'keras-imagenet' : 'random (weights not cached)',
      medianBatchMs: r.medianMs,
    };
    if (process.env.SKINGAN_PROFILE) extra.profile = await profileKernels(step, { steps: 2 });
    const params = classifier.trainableParams();
    tf.dispose(images);
    classifier.dispose();
    return {
      imagesPerSec: Number(((BATCH * 1000) / r.medianMs).toFixed(2)),
      params,
      extra,
      notes: `forward only, ${extra.weights}; no PyTorch forward anchor (the reference is torchvision's ResNet-50 training step, for scale)`,
    };
  },
};
