// One CycleGAN training step at 64², ngf = ndf = 16, 3 residual blocks, batch 1, as
// `torch_reference.py --setup cyclegan` (545,030 generator and 350,178 discriminator parameters,
// both networks of each kind). Ours is the trainer's own step: both generators (A → B → A,
// B → A → B, identity), LSGAN, cycle and identity L1, image pools, both Adam updates.
// SKINGAN_PROFILE=1 adds a per-kernel time breakdown.

import { Rng } from '@skingan/core';
import { CycleGanTrainer, resolveConfig } from '@skingan/cyclegan';
import * as tf from '@tensorflow/tfjs';
import { profileKernels } from '../profile-kernels.mjs';
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
      if (process.env.SKINGAN_PROFILE) extra.profile = await profileKernels(step, { steps: 1 });
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

export default cycleganBench({ size: 64, ngf: 16, ndf: 16, blocks: 3 });
