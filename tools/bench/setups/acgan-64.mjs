// One ACGAN training step at 64², batch 16, as `torch_reference.py --setup acgan --ngf 32 --ndf 32`:
// G = [z ‖ label embedding] → linear 4·4·256 → BN/ReLU → 4×4 stride-2 transposed convs 256→128→64→32→3
// → tanh; D = 4×4 stride-2 convs 3→32→64→128→256 (BN from the second, leaky ReLU 0.2, dropout 0.25)
// → real/fake + class heads; Adam(2e-4, 0.5); G step then D step on the same fakes. Ours is the
// `cpu` preset of @skingan/acgan run through AcganTrainer.trainStep (NaN rollback snapshot and
// loss read-back included). SKINGAN_PROFILE=1 adds a per-kernel time breakdown.

import { ACGAN_CPU_REFERENCE, AcganTrainer, resolveAcganConfig } from '@skingan/acgan';
import { Rng } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { profileKernels } from '../profile-kernels.mjs';
import { timeSteps } from '../timing.mjs';

const SIZE = 64;
const BATCH = 16;
// What the anchor prints for this setup (paramsG, paramsD): our layers must match them.
const ANCHOR_PARAMS = { paramsG: 1_514_947, paramsD: 727_913 };

export default {
  anchor: {
    script: 'torch_reference.py',
    args: [
      '--setup',
      'acgan',
      '--size',
      String(SIZE),
      '--ngf',
      '32',
      '--ndf',
      '32',
      '--batch',
      String(BATCH),
      '--threads',
      '2',
    ],
  },
  async run() {
    const config = resolveAcganConfig({
      preset: 'cpu',
      imageSize: SIZE,
      // The reference architecture (4×4 transposed convs, no EMA), not the preset's defaults: like with like.
      overrides: { ...ACGAN_CPU_REFERENCE, training: { ...ACGAN_CPU_REFERENCE.training, batchSize: BATCH } },
    });
    const trainer = await AcganTrainer.create({ config });
    const params = {
      paramsG: trainer.params.generator.trainable,
      paramsD: trainer.params.discriminator.trainable,
    };
    const rng = new Rng(0);
    const step = async () => {
      const images = rng.uniformTensor([BATCH, SIZE, SIZE, 3], -1, 1);
      const labels = tf.tensor1d(
        Array.from({ length: BATCH }, () => rng.int(8)),
        'int32',
      );
      try {
        await trainer.trainStep(images, labels);
      } finally {
        tf.dispose([images, labels]);
      }
    };
    await step(); // warmup, outside the CPU-time window
    const cpu0 = process.cpuUsage();
    const r = await timeSteps(step, { warmup: 0, steps: 5, label: 'acgan-64 ' });
    const cpu = process.cpuUsage(cpu0);
    // WASM runs on one thread: CPU time per step is what the step takes on an idle core, a
    // figure that holds up when other work shares the machine (wall time does not).
    const cpuMsPerStep = Number(((cpu.user + cpu.system) / 1000 / 5).toFixed(1));
    const extra = { ...params, minMs: Number(r.minMs.toFixed(1)), cpuMsPerStep };
    if (process.env.SKINGAN_PROFILE) extra.profile = await profileKernels(step);
    trainer.dispose();
    const same = params.paramsG === ANCHOR_PARAMS.paramsG && params.paramsD === ANCHOR_PARAMS.paramsD;
    return {
      medianMs: r.medianMs,
      params,
      extra,
      notes: `batch ${BATCH}, ${SIZE}², ngf = ndf = 32; paramsG ${params.paramsG}, paramsD ${params.paramsD} (${same ? 'same as' : 'DIFFERENT from'} the anchor's); CPU ${cpuMsPerStep} ms/step`,
    };
  },
};
