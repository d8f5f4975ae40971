// The weight gradient (Conv2DBackpropFilter) of a 3×3 and a 7×7 convolution: skingan's composite
// kernel on WASM against tfjs' stock cpu kernel, in the same process.

import { Rng } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { timeSteps } from '../timing.mjs';

const shapes = [
  { label: '3x3', x: [4, 64, 64, 32], k: 3, co: 32, stride: 1 },
  { label: '7x7', x: [1, 128, 128, 3], k: 7, co: 32, stride: 1 },
];

async function measure(backend, s) {
  await tf.setBackend(backend);
  const rng = new Rng(1);
  const x = rng.normalTensor(s.x);
  const dy = rng.normalTensor([s.x[0], s.x[1], s.x[2], s.co]);
  const w = tf.zeros([s.k, s.k, s.x[3], s.co]);
  const grad = tf.grad((ww) => tf.mul(tf.conv2d(x, ww, s.stride, 'same'), dy).sum());
  const r = await timeSteps(
    async () => {
      const g = grad(w);
      await g.data();
      g.dispose();
    },
    { warmup: 1, steps: backend === 'cpu' ? 2 : 5, label: `${backend} ${s.label} ` },
  );
  tf.dispose([x, dy, w]);
  return r.medianMs;
}

export default {
  async run({ backend }) {
    if (backend.name !== 'wasm') return { notes: 'kernel benchmark runs on wasm only', medianMs: null };
    const rows = [];
    for (const s of shapes) {
      const ours = await measure('wasm', s);
      const cpu = await measure('cpu', s);
      rows.push({
        shape: s.label,
        x: s.x,
        co: s.co,
        wasmMs: ours,
        cpuMs: cpu,
        speedup: Number((cpu / ours).toFixed(1)),
      });
    }
    await tf.setBackend('wasm');
    const total = rows.reduce((n, r) => n + r.wasmMs, 0);
    const cpuTotal = rows.reduce((n, r) => n + r.cpuMs, 0);
    return {
      medianMs: Number(total.toFixed(1)),
      reference: { impl: 'tfjs-cpu (stock kernel)', medianMs: Number(cpuTotal.toFixed(1)) },
      extra: { shapes: rows },
      notes: rows
        .map((r) => `${r.shape}: wasm ${r.wasmMs} ms vs cpu ${r.cpuMs} ms (${r.speedup}× faster)`)
        .join('; '),
    };
  },
};
