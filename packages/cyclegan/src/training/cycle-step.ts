import * as tf from '@tensorflow/tfjs';
import type { CycleGanNets } from '../networks/cyclegan-nets.js';
import { applyEager } from '../networks/layer-plan.js';
import type { ImagePool } from './image-pool.js';
import { l1Loss, lsganLoss } from './losses.js';

/** Every loss term of one step, named as in the reference (`G_A` is G_A's adversarial loss, etc.). */
export interface CycleGanStepLosses {
  G_A: number;
  cycle_A: number;
  idt_A: number;
  G_B: number;
  cycle_B: number;
  idt_B: number;
  /** Sum of the six generator terms. */
  G: number;
  D_A: number;
  D_B: number;
}

export const LOSS_NAMES: readonly (keyof CycleGanStepLosses)[] = [
  'G_A',
  'cycle_A',
  'idt_A',
  'G_B',
  'cycle_B',
  'idt_B',
  'G',
  'D_A',
  'D_B',
];

export interface StepContext {
  nets: CycleGanNets;
  /** One Adam over both generators' variables, one over both discriminators' (as the reference). */
  optG: { applyGradients(grads: tf.NamedTensorMap): void };
  optD: { applyGradients(grads: tf.NamedTensorMap): void };
  /** Pool of G_B's fakes (A images) for D_B, and of G_A's fakes (B images) for D_A. */
  poolA: ImagePool;
  poolB: ImagePool;
  lambdaA: number;
  lambdaB: number;
  lambdaIdentity: number;
}

/** The trainable variables of `models`, in order. */
export const variablesOf = (...models: tf.LayersModel[]): tf.Variable[] =>
  models.flatMap((m) => m.trainableWeights.map((w) => w.read() as tf.Variable));

/** Sums the gradients of several backward passes, per variable, freeing each part at once. */
class GradientSum {
  private readonly sums = new Map<string, tf.Tensor>();

  add({ value, grads }: { value: tf.Scalar; grads: tf.NamedTensorMap }): void {
    value.dispose();
    for (const [name, g] of Object.entries(grads)) {
      const prev = this.sums.get(name);
      if (prev) {
        this.sums.set(name, tf.add(prev, g));
        tf.dispose([prev, g]);
      } else {
        this.sums.set(name, g);
      }
    }
  }

  /** Applies the summed gradients with `optimizer`, then frees them and clears the sum. */
  applyWith(optimizer: StepContext['optG']): void {
    const grads = Object.fromEntries(this.sums);
    this.sums.clear();
    optimizer.applyGradients(grads);
    tf.dispose(Object.values(grads));
  }
}

/**
 * One CycleGAN iteration as the reference's `optimize_parameters`: the generators' step (D frozen),
 * then the discriminators' step on real images and pooled fakes.
 *
 * Memory: the generator loss is a sum of independent parts, so its gradient is taken one part at a
 * time (A → B → A with D_A on the fake, B → A → B with D_B, then each identity pass) and summed.
 * Each backward pass holds the activations of at most two generator passes instead of all six.
 */
export function cycleGanStep(ctx: StepContext, realA: tf.Tensor4D, realB: tf.Tensor4D): CycleGanStepLosses {
  const { G_A, G_B, D_A, D_B } = ctx.nets;
  const gVars = variablesOf(G_A, G_B);
  const terms: Partial<Record<keyof CycleGanStepLosses, tf.Scalar>> = {};
  // Loss terms outlive their backward pass (a clone shares the data) so all are read in one sync.
  const term = (name: keyof CycleGanStepLosses, t: tf.Tensor) => {
    terms[name] = tf.keep(t.clone() as tf.Scalar);
    return t as tf.Scalar;
  };
  // The two ways round the cycle: G_A takes A to B (judged by D_A) and G_B back, and the reverse.
  const ways = [
    { from: 'A', to: 'B', g: G_A, d: D_A, back: G_B, real: realA, lambda: ctx.lambdaA },
    { from: 'B', to: 'A', g: G_B, d: D_B, back: G_A, real: realB, lambda: ctx.lambdaB },
  ] as const;
  const fakes: Partial<Record<'A' | 'B', tf.Tensor4D>> = {};
  try {
    const gGrads = new GradientSum();
    for (const w of ways) {
      gGrads.add(
        tf.variableGrads(() => {
          const fake = tf.keep(applyEager(w.g, w.real) as tf.Tensor4D);
          fakes[w.to] = fake;
          const adv = term(`G_${w.from}`, lsganLoss(applyEager(w.d, fake), 1));
          const cycle = term(`cycle_${w.from}`, tf.mul(l1Loss(applyEager(w.back, fake), w.real), w.lambda));
          return tf.add(adv, cycle);
        }, gVars),
      );
    }
    for (const [i, w] of ways.entries()) {
      // G_A should leave B images alone, G_B A images.
      const other = ways[1 - i]!;
      if (ctx.lambdaIdentity > 0) {
        gGrads.add(
          tf.variableGrads(() => {
            const idt = l1Loss(applyEager(w.g, other.real), other.real);
            return term(`idt_${w.from}`, tf.mul(idt, other.lambda * ctx.lambdaIdentity));
          }, variablesOf(w.g)),
        );
      } else {
        terms[`idt_${w.from}`] = tf.keep(tf.scalar(0));
      }
    }
    gGrads.applyWith(ctx.optG);

    const dGrads = new GradientSum();
    const discriminatorStep = (
      name: 'D_A' | 'D_B',
      d: tf.LayersModel,
      real: tf.Tensor4D,
      fake: tf.Tensor4D,
      pool: ImagePool,
    ) => {
      const pooled = pool.query(fake);
      try {
        dGrads.add(
          tf.variableGrads(() => {
            const lossReal = lsganLoss(applyEager(d, real), 1);
            const lossFake = lsganLoss(applyEager(d, pooled), 0);
            return term(name, tf.mul(tf.add(lossReal, lossFake), 0.5));
          }, variablesOf(d)),
        );
      } finally {
        pooled.dispose();
      }
    };
    discriminatorStep('D_A', D_A, realB, fakes.B!, ctx.poolB);
    discriminatorStep('D_B', D_B, realA, fakes.A!, ctx.poolA);
    dGrads.applyWith(ctx.optD);

    const names = LOSS_NAMES.filter((n) => n !== 'G');
    const values = tf.tidy(() => tf.stack(names.map((n) => terms[n]!)).dataSync());
    const losses = Object.fromEntries(names.map((n, i) => [n, values[i]!])) as unknown as CycleGanStepLosses;
    losses.G = losses.G_A + losses.cycle_A + losses.idt_A + losses.G_B + losses.cycle_B + losses.idt_B;
    return losses;
  } finally {
    tf.dispose([...Object.values(terms), ...Object.values(fakes)]);
  }
}
