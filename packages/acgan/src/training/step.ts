import type { Rng } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import type { AcganConfig } from '../config.js';
import { powerIterateAll } from '../layers/spectral-norm.js';
import { diffAugment } from './diff-augment.js';
import {
  adversarialLoss,
  classAccuracy,
  modeSeekingLoss,
  signAccuracy,
  softmaxCrossEntropy,
} from './losses.js';

/** Loss terms of one step, as logged: D's and G's totals and their parts. */
export interface StepLosses {
  [name: string]: number;
  d: number;
  g: number;
  dAdvReal: number;
  dAdvFake: number;
  dAuxReal: number;
  dAuxFake: number;
  gAdv: number;
  gAux: number;
}

/** Accuracies of one step: D's real/fake head on real and on fake images, the class head on each. */
export interface StepMetrics {
  [name: string]: number;
  dAccReal: number;
  dAccFake: number;
  auxAccReal: number;
  auxAccFake: number;
}

export interface StepResult {
  losses: StepLosses;
  metrics: StepMetrics;
}

export interface StepNetworks {
  generator: tf.LayersModel;
  discriminator: tf.LayersModel;
  optimizerG: tf.Optimizer;
  optimizerD: tf.Optimizer;
}

export interface StepStreams {
  /** Noise and fake labels. */
  noise: Rng;
  /** DiffAugment parameters. */
  augment: Rng;
}

/**
 * One ACGAN update (Odena et al. 2017, eq. 2–3), in the order of the PyTorch reference:
 *
 * 1. G step: fake = G(z, c); G maximizes L_C − L_S on D(fake), i.e. minimizes
 *    CE(aux, c) + BCE(adv, 1) (non-saturating) or CE(aux, c) − BCE(adv, 0) (minimax).
 * 2. D step on the same fake (no gradient to G): D maximizes L_S + L_C, i.e. minimizes
 *    BCE(adv_real, realLabel) + BCE(adv_fake, 0) + CE(aux_real, y) + CE(aux_fake, c).
 *
 * With `modeSeeking` λ > 0, G also pays λ·`modeSeekingLoss` over pairs of fakes of one class.
 * With `adversarialLoss: 'hinge'` the real/fake terms are hinge losses instead (`adversarialLoss`).
 * With D's spectral norm on, its one power iteration of the step comes first (on the weights the
 * previous step left).
 *
 * z and c are drawn from `streams.noise`, so the step is reproducible from the stream states.
 */
export function acganStep(
  nets: StepNetworks,
  config: AcganConfig,
  streams: StepStreams,
  images: tf.Tensor4D,
  labels: tf.Tensor1D,
): StepResult {
  const { generator: G, discriminator: D } = nets;
  const t = config.training;
  if (config.discriminator.spectralNorm) powerIterateAll(D);
  const numClasses = config.labelSpace.classes.length;
  const batch = images.shape[0];
  const z = streams.noise.normalTensor<tf.Rank.R2>([batch, config.generator.latentDim]);
  const modeSeeking = t.modeSeeking > 0 && batch >= 2;
  // With the mode-seeking term, row i + n/2 repeats row i's class: the pairs it compares.
  const half = Math.floor(batch / 2);
  const fakeLabels = new Int32Array(batch);
  for (let i = 0; i < batch; i++) {
    fakeLabels[i] =
      modeSeeking && i >= half && i < 2 * half ? fakeLabels[i - half]! : streams.noise.int(numClasses);
  }
  const fakeOneHot = tf.tidy(
    () => tf.cast(tf.oneHot(tf.tensor1d(fakeLabels, 'int32'), numClasses), 'float32') as tf.Tensor2D,
  );
  const realOneHot = tf.tidy(
    () => tf.cast(tf.oneHot(tf.cast(labels, 'int32'), numClasses), 'float32') as tf.Tensor2D,
  );
  const augment = (x: tf.Tensor4D) => diffAugment(x, t.diffAugment, streams.augment);
  const adversarial = adversarialLoss(t);
  // A projection discriminator also reads the label each image is judged as.
  const discriminate = (x: tf.Tensor4D, oneHot: tf.Tensor2D) =>
    D.apply(config.discriminator.projection ? [x, oneHot] : x, { training: true }) as [
      tf.Tensor,
      tf.Tensor2D,
    ];
  const gVars = G.trainableWeights.map((w) => w.read() as tf.Variable);
  const dVars = D.trainableWeights.map((w) => w.read() as tf.Variable);

  let fake: tf.Tensor4D | undefined;
  let gStats: tf.Tensor | undefined;
  let dStats: tf.Tensor | undefined;
  try {
    const g = tf.variableGrads(() => {
      fake = tf.keep(G.apply([z, fakeOneHot], { training: true }) as tf.Tensor4D);
      const [adv, aux] = discriminate(augment(fake), fakeOneHot);
      const gAdv = adversarial.generator(adv);
      const gAux = softmaxCrossEntropy(aux, fakeOneHot);
      if (!modeSeeking) {
        gStats = tf.keep(tf.stack([gAdv, gAux, 0]));
        return tf.add(gAdv, gAux) as tf.Scalar;
      }
      const gMs = modeSeekingLoss(fake, z);
      gStats = tf.keep(tf.stack([gAdv, gAux, gMs]));
      return tf.addN([gAdv, gAux, tf.mul(gMs, t.modeSeeking)]) as tf.Scalar;
    }, gVars);
    nets.optimizerG.applyGradients(g.grads);
    tf.dispose([g.value, ...Object.values(g.grads)]);

    const fakeImages = fake!;
    const d = tf.variableGrads(() => {
      const [advR, auxR] = discriminate(augment(images), realOneHot);
      const [advF, auxF] = discriminate(augment(fakeImages), fakeOneHot);
      const terms = [
        adversarial.real(advR),
        adversarial.fake(advF),
        softmaxCrossEntropy(auxR, realOneHot),
        softmaxCrossEntropy(auxF, fakeOneHot),
      ];
      const accs = [
        signAccuracy(advR, true),
        signAccuracy(advF, false),
        classAccuracy(auxR, realOneHot),
        classAccuracy(auxF, fakeOneHot),
      ];
      dStats = tf.keep(tf.stack([...terms, ...accs]));
      return tf.addN(terms) as tf.Scalar;
    }, dVars);
    nets.optimizerD.applyGradients(d.grads);
    tf.dispose([d.value, ...Object.values(d.grads)]);

    const [gAdv, gAux, gMs] = gStats!.dataSync();
    const [dAdvReal, dAdvFake, dAuxReal, dAuxFake, dAccReal, dAccFake, auxAccReal, auxAccFake] =
      dStats!.dataSync();
    return {
      losses: {
        d: dAdvReal! + dAdvFake! + dAuxReal! + dAuxFake!,
        g: gAdv! + gAux! + t.modeSeeking * gMs!,
        dAdvReal: dAdvReal!,
        dAdvFake: dAdvFake!,
        dAuxReal: dAuxReal!,
        dAuxFake: dAuxFake!,
        gAdv: gAdv!,
        gAux: gAux!,
        ...(modeSeeking ? { gModeSeeking: gMs! } : {}),
      },
      metrics: { dAccReal: dAccReal!, dAccFake: dAccFake!, auxAccReal: auxAccReal!, auxAccFake: auxAccFake! },
    };
  } finally {
    tf.dispose([
      z,
      fakeOneHot,
      realOneHot,
      ...[fake, gStats, dStats].filter((x): x is tf.Tensor => x !== undefined),
    ]);
  }
}
