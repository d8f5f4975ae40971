// One CycleGAN training step at 64², ngf = ndf = 16, 3 residual blocks, batch 1, as
// `torch_reference.py --setup cyclegan` (545,030 generator and 350,178 discriminator parameters,
// both networks of each kind). Ours is the trainer's own step: both generators (A → B → A,
// B → A → B, identity), LSGAN, cycle and identity L1, image pools, both Adam updates.
// SKINGAN_PROFILE=1 adds a per-kernel time breakdown.

import { Rng } from '@skingan/core';
import { CycleGanTrainer, resolveConfig } from '@skingan/cyclegan';
import * as tf from '@tensorflow/tfjs';
import { timeSteps } from '../timing.mjs';

/** A CycleGAN step benchmark; shared by the cyclegan-* setups. */
export function cycleganBench({ size, ngf, ndf, blocks, warmup = 1, steps = 5 }) {
  const anchorArgs = [
    '--setup',
    'cyclegan',
    '--size',
    String(size),
    '--ngf',
    String(ngf),
    '--ndf',
    String(ndf),
  ];
  anchorArgs.push('--blocks', String(blocks), '--batch', '1', '--threads', '2');
  if (warmup !== 1 || steps !== 5) anchorArgs.push('--warmup', String(warmup), '--steps', String(steps));
  return {
    anchor: { script: 'torch_reference.py', args: anchorArgs },
    async run() {
      const config = resolveConfig(undefined, { size, ngf, ndf, blocks, batchSize: 1 });
      let trainer;
      try {
        trainer = new CycleGanTrainer(config);
      } catch (e) {
        if (e.code !== 'OUT_OF_MEMORY') throw e;
        // The refusal is the result: print it as the trainer gives it to the user.
        return { medianMs: null, notes: `refused before training: ${e.message} (hint: ${e.hint})` };
      }
      const p = trainer.params();
      const params = { G: p.G_A + p.G_B, D: p.D_A + p.D_B };
      const rng = new Rng(0);
      const step = () => {
        // Fresh random images each step, as the anchor draws them.
        const a = rng.uniformTensor([1, size, size, 3], -1, 1);
        const b = rng.uniformTensor([1, size, size, 3], -1, 1);
        trainer.trainStep(a, b);
        tf.dispose([a, b]);
      };
      const r = await timeSteps(step, { warmup, steps, label: `cyclegan ${size}² ` });
      const heapMiB =
        tf.getBackend() === 'wasm' ? Math.round(tf.backend().wasm.HEAPU8.length / 2 ** 20) : null;
      const extra = { memoryEstimateMiB: trainer.memory.summary.peakMiB, wasmHeapMiB: heapMiB };
      if (process.env.SKINGAN_PROFILE) extra.profile = profileKernels(step);
      trainer.dispose();
      return {
        medianMs: r.medianMs,
        params,
        extra,
        notes: `${size}², ngf ${ngf}, ndf ${ndf}, ${blocks} blocks, batch 1; G ${params.G} / D ${params.D} params; heap ${heapMiB} MiB (estimate ${trainer.memory.summary.peakMiB} MiB)`,
      };
    },
  };
}

/**
 * Exclusive time per kernel over one step: wraps every kernel of the active backend with a timer
 * (WASM kernels run synchronously), grouped by kernel and by kernel + shapes. A composite kernel's
 * inner kernels (skingan's, in @skingan/core) are counted under their own names, `via` the composite.
 */
export function profileKernels(step, top = 40) {
  const backend = tf.getBackend();
  const kernels = tf.getKernelsForBackend(backend);
  const rows = new Map();
  const stack = [];
  for (const k of kernels) {
    tf.unregisterKernel(k.kernelName, backend);
    tf.registerKernel({
      ...k,
      kernelFunc: (args) => {
        const frame = { child: 0 };
        const via = stack.length ? stack[0].name : null;
        stack.push({ ...frame, name: k.kernelName });
        const t0 = performance.now();
        try {
          return k.kernelFunc(args);
        } finally {
          const mine = stack.pop();
          const total = performance.now() - t0;
          if (stack.length) stack[stack.length - 1].child += total;
          const shapes = Object.entries(args.inputs ?? {})
            .filter(([, t]) => t?.shape)
            .map(([n, t]) => `${n}[${t.shape.join('x')}]`)
            .join(' ');
          const s = args.attrs?.strides ? ` s${[].concat(args.attrs.strides).join('x')}` : '';
          const key = `${via ? `${via} > ` : ''}${k.kernelName} ${shapes}${s}`;
          const r = rows.get(key) ?? { kernel: k.kernelName, key, calls: 0, ms: 0 };
          r.calls++;
          r.ms += total - mine.child;
          rows.set(key, r);
        }
      },
    });
  }
  const t0 = performance.now();
  try {
    step();
  } finally {
    for (const k of kernels) {
      tf.unregisterKernel(k.kernelName, backend);
      tf.registerKernel(k);
    }
  }
  const stepMs = performance.now() - t0;
  const all = [...rows.values()];
  const byKernel = new Map();
  for (const r of all) {
    const g = byKernel.get(r.kernel) ?? { kernel: r.kernel, calls: 0, ms: 0 };
    g.calls += r.calls;
    g.ms += r.ms;
    byKernel.set(r.kernel, g);
  }
  const fmt = (r) => ({
    ...r,
    ms: Number(r.ms.toFixed(1)),
    share: Number(((100 * r.ms) / stepMs).toFixed(1)),
  });
  return {
    stepMs: Number(stepMs.toFixed(1)),
    kernelMs: Number(all.reduce((n, r) => n + r.ms, 0).toFixed(1)),
    byKernel: [...byKernel.values()].sort((a, b) => b.ms - a.ms).map(fmt),
    byShape: all
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top)
      .map(fmt),
  };
}

export default cycleganBench({ size: 64, ngf: 16, ndf: 16, blocks: 3 });
