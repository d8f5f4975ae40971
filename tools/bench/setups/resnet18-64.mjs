// One ResNet-18 training step at 64², batch 16 (torchvision's layer shapes and 11,180,616
// parameters with an 8-class head; Adam; cross-entropy), as `torch_reference.py --setup resnet18`.
// Ours is the classifier's own training step (Learner.step: BatchNorm in training mode, fastai's
// Adam with decoupled weight decay). SKINGAN_PROFILE=1 adds a per-kernel time breakdown.

import { performance } from 'node:perf_hooks';
import { createResNetClassifier, Learner } from '@skingan/classifier';
import { ISIC2019, Rng } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
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

// profileKernels (also used by resnet50-forward-224): per-kernel time of a step: wraps every kernel registered for the active backend with a timer
// (WASM kernels run synchronously, so wall time is kernel time), runs the step, unwraps. Composite
// kernels (skingan's, in @skingan/core) call other kernels: times are exclusive (a child's time is
// not counted in its parent) and each row names the composite it ran inside (`via`).

export async function profileKernels(step, { steps = 2, top = 30 } = {}) {
  const backend = tf.getBackend();
  const kernels = tf.getKernelsForBackend(backend);
  const stats = new Map();
  const stack = [];
  for (const k of kernels) {
    tf.unregisterKernel(k.kernelName, backend);
    tf.registerKernel({
      ...k,
      kernelFunc: (args) => {
        const via = stack.length ? stack[0].name : null;
        const frame = { name: k.kernelName, child: 0 };
        stack.push(frame);
        const t0 = performance.now();
        let out;
        try {
          out = k.kernelFunc(args);
        } finally {
          stack.pop();
        }
        const total = performance.now() - t0;
        if (stack.length) stack[stack.length - 1].child += total;
        const self = total - frame.child;
        const key = `${via ? `${via} > ` : ''}${describe(k.kernelName, args)}`;
        const s = stats.get(key) ?? { kernel: k.kernelName, via, detail: key, calls: 0, ms: 0 };
        s.calls++;
        s.ms += self;
        stats.set(key, s);
        return out;
      },
    });
  }
  const t0 = performance.now();
  try {
    for (let i = 0; i < steps; i++) await step(i);
  } finally {
    for (const k of kernels) {
      tf.unregisterKernel(k.kernelName, backend);
      tf.registerKernel(k);
    }
  }
  const wall = (performance.now() - t0) / steps;
  const rows = [...stats.values()].map((s) => ({ ...s, ms: s.ms / steps, calls: s.calls / steps }));
  const group = (keyOf) => {
    const m = new Map();
    for (const r of rows) {
      const key = keyOf(r);
      const g = m.get(key) ?? { name: key, calls: 0, ms: 0 };
      g.calls += r.calls;
      g.ms += r.ms;
      m.set(key, g);
    }
    return [...m.values()].sort((a, b) => b.ms - a.ms);
  };
  const kernelMs = rows.reduce((n, r) => n + r.ms, 0);
  const fmt = (r) => ({ ...r, ms: Number(r.ms.toFixed(2)), share: Number(((100 * r.ms) / wall).toFixed(1)) });
  return {
    stepMs: Number(wall.toFixed(1)),
    /** Time inside kernels; the rest is JS (tape, tidy, layer bookkeeping). */
    kernelMs: Number(kernelMs.toFixed(1)),
    /** Exclusive time by kernel, composites' inner kernels counted under their own name. */
    byKernel: group((r) => r.kernel).map(fmt),
    /** Inclusive time of each top-level kernel (a composite with everything it called). */
    byTopLevel: group((r) => r.via ?? r.kernel).map(fmt),
    byShape: rows
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top)
      .map(fmt),
  };
}

function describe(name, { inputs, attrs }) {
  const shapes = Object.entries(inputs ?? {})
    .filter(([, t]) => t?.shape)
    .map(([k, t]) => `${k}[${t.shape.join('x')}]`)
    .join(' ');
  const a = attrs ?? {};
  const s = a.strides ? ` s${[].concat(a.strides).join('x')}` : '';
  const perm = a.perm ? ` perm${a.perm.join('')}` : '';
  const reps = a.reps ? ` reps[${a.reps.join('x')}]` : '';
  return `${name} ${shapes}${s}${perm}${reps}`;
}
