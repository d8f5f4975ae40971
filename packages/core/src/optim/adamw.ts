import * as tf from '@tensorflow/tfjs';
import { SkinganError } from '../errors.js';
import type { NamedTensor } from '../io/file-handler.js';
import { type AdamStepFactors, adamStep } from '../kernels/adam-step.js';
import { adamWEntries, readAdamWState } from './adamw-state.js';

/** Hyper-parameters shared by all groups (each may be changed between steps, e.g. by a schedule). */
export interface AdamWConfig {
  /** Default 1e-3; the learning rate of groups that set none. */
  lr?: number;
  /** Default 0.9. */
  beta1?: number;
  /** Default 0.999. */
  beta2?: number;
  /** Default 1e-8 (PyTorch's; tfjs' Adam uses 1e-7, fastai 1e-5). */
  epsilon?: number;
  /** Decoupled weight decay, default 0 (plain Adam); of groups that set none. */
  weightDecay?: number;
}

/** Variables that share a learning rate and weight decay (fastai: a layer group). */
export interface ParamGroup {
  variables: readonly tf.Variable[];
  lr?: number;
  weightDecay?: number;
  /** Variables of this group that get no weight decay (fastai's `wd_bn_bias=False`: BatchNorm, biases). */
  noDecay?: readonly tf.Variable[];
}

/** A group as the optimizer holds it: `lr` and `weightDecay` may be set before any step. */
export interface AdamWGroup {
  lr: number;
  weightDecay: number;
  readonly variables: readonly tf.Variable[];
}

interface Slot {
  readonly variable: tf.Variable;
  readonly group: number;
  readonly decay: boolean;
  step: number;
  m?: tf.Variable;
  v?: tf.Variable;
}

/**
 * The scalars of one AdamW update of a variable at its `step`-th update (1-based): β₁ᵗ and β₂ᵗ in
 * double precision from the integer step, so a restored state continues bit for bit (a running
 * float32 product, as tfjs' Adam keeps, cannot be restored exactly). β₁ may change between steps
 * (one-cycle momentum): the correction uses the current β₁ to the power t, as fastai does.
 */
export function adamWFactors(
  h: { lr: number; beta1: number; beta2: number; epsilon: number; weightDecay: number },
  step: number,
): AdamStepFactors {
  return {
    beta1: h.beta1,
    beta2: h.beta2,
    eps: h.epsilon,
    sqrtScale: 1 / Math.sqrt(1 - h.beta2 ** step),
    stepSize: h.lr / (1 - h.beta1 ** step),
    decay: 1 - h.lr * h.weightDecay,
  };
}

/**
 * Adam with decoupled weight decay (Loshchilov & Hutter; PyTorch's `AdamW`, fastai's `Adam`):
 *
 *   m ← β₁m + (1 − β₁)g,  v ← β₂v + (1 − β₂)g²,
 *   p ← p·(1 − lr·wd) − lr/(1 − β₁ᵗ) · m / (√v/√(1 − β₂ᵗ) + ε)
 *
 * in parameter groups with their own learning rate and weight decay (fastai's discriminative
 * learning rates). A real `tf.Optimizer`: `minimize`, `applyGradients` and the layers API work, and
 * gradients of variables given to no group update them in group 0.
 *
 * Each variable is updated in its own tidy by core's `adamStep` (one SIMD pass on WASM), so the
 * temporaries of one variable are freed before the next: tfjs' Adam keeps all of them to the end
 * of the step (≈ 7 extra copies of the parameters at the peak). Moments are created at a
 * variable's first update, and each variable counts its own steps, so a variable frozen at first
 * starts its bias correction when it first gets a gradient (as fastai).
 *
 * State (`getWeights`/`setWeights`, which CheckpointStore saves) is in layout `adamw@1`; the
 * layouts of skingan-checkpoint@1 are converted on `setWeights` (`adamw-state.ts`).
 */
export class AdamW extends tf.Optimizer {
  static get className(): string {
    return 'skingan.AdamW';
  }

  beta1: number;
  beta2: number;
  epsilon: number;
  readonly groups: AdamWGroup[];
  private readonly slots: Slot[] = [];
  private readonly slotOf = new Map<string, number>();
  /** The last `getWeights` header, kept (and replaced on the next call): savers do not dispose. */
  private header: tf.Tensor | undefined;

  constructor(params: readonly tf.Variable[] | readonly ParamGroup[] = [], config: AdamWConfig = {}) {
    super();
    const lr = config.lr ?? 1e-3;
    const weightDecay = config.weightDecay ?? 0;
    this.beta1 = config.beta1 ?? 0.9;
    this.beta2 = config.beta2 ?? 0.999;
    this.epsilon = config.epsilon ?? 1e-8;
    const groups: readonly ParamGroup[] = isGroupList(params) ? params : [{ variables: params }];
    this.groups = (groups.length ? groups : [{ variables: [] }]).map((g, k) => {
      const skip = new Set(g.noDecay ?? []);
      for (const v of g.variables) this.addSlot(v, k, !skip.has(v));
      return { lr: g.lr ?? lr, weightDecay: g.weightDecay ?? weightDecay, variables: g.variables };
    });
  }

  /** The learning rate of group 0; setting it sets every group's (a schedule of one-group optimizers). */
  get learningRate(): number {
    return this.groups[0]!.lr;
  }

  set learningRate(lr: number) {
    for (const g of this.groups) g.lr = lr;
  }

  /** Updates the variables named in `variableGradients` (the gradients are not disposed). */
  override applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    const entries: [string, tf.Tensor | undefined][] = Array.isArray(variableGradients)
      ? variableGradients.map((g) => [g.name, g.tensor])
      : Object.entries(variableGradients);
    for (const [name, grad] of entries) {
      if (!grad) continue;
      const slot = this.slots[this.slotOf.get(name) ?? this.addUnknown(name)]!;
      const group = this.groups[slot.group]!;
      const { beta1, beta2, epsilon } = this;
      const weightDecay = slot.decay ? group.weightDecay : 0;
      const f = adamWFactors({ lr: group.lr, beta1, beta2, epsilon, weightDecay }, slot.step + 1);
      tf.tidy(() => {
        slot.m ??= tf.variable(tf.zerosLike(slot.variable), false);
        slot.v ??= tf.variable(tf.zerosLike(slot.variable), false);
        const [p, m, v] = adamStep(slot.variable, grad, slot.m, slot.v, f);
        slot.m.assign(m);
        slot.v.assign(v);
        slot.variable.assign(p);
      });
      slot.step++;
    }
    this.incrementIterations();
  }

  /**
   * The state in layout `adamw@1`. The tensors belong to the optimizer (do not dispose them); the
   * moments are its live variables, so copy (or `reshape`-hold) what must outlast the next step.
   */
  override async getWeights(): Promise<NamedTensor[]> {
    this.header?.dispose();
    this.header = tf.tensor1d([this.iterations, ...this.slots.map((s) => s.step)], 'int32');
    return adamWEntries(
      this.header,
      this.slots.map((s) => s.variable.name),
      this.slots.map((s) => (s.m && s.v ? { m: s.m, v: s.v } : undefined)),
    );
  }

  /**
   * Restores a state of `getWeights` (or of skingan-checkpoint@1's optimizers), copying it into the
   * optimizer's own variables: the tensors given stay the caller's.
   */
  override async setWeights(weights: NamedTensor[]): Promise<void> {
    const state = await readAdamWState(weights, this.slots.length);
    for (const [i, { m }] of state.moments) {
      const want = this.slots[i]!.variable.shape;
      if (m.shape.join('x') !== want.join('x')) {
        throw new SkinganError(
          `optimizer state of variable ${i} (${this.slots[i]!.variable.name}) has shape [${m.shape}], expected [${want}]`,
          { code: 'BAD_CHECKPOINT', hint: 'the checkpoint belongs to another model or configuration' },
        );
      }
    }
    this.iterations_ = state.iterations;
    this.slots.forEach((s, i) => {
      s.step = state.steps[i]!;
      const saved = state.moments.get(i);
      if (!saved) {
        tf.dispose([s.m, s.v].filter((t) => t !== undefined));
        s.m = s.v = undefined;
        return;
      }
      if (s.m && s.v) {
        s.m.assign(saved.m);
        s.v.assign(saved.v);
      } else {
        s.m = tf.variable(saved.m, false);
        s.v = tf.variable(saved.v, false);
      }
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      lr: this.learningRate,
      beta1: this.beta1,
      beta2: this.beta2,
      epsilon: this.epsilon,
      weightDecay: this.groups[0]!.weightDecay,
    };
  }

  /** For tfjs' serialization: hyper-parameters only (groups name variables, which do not serialize). */
  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    return new (cls as unknown as new (p: [], c: AdamWConfig) => T)([], config as AdamWConfig);
  }

  override dispose(): void {
    for (const s of this.slots) {
      tf.dispose([s.m, s.v].filter((t) => t !== undefined));
      s.m = s.v = undefined;
    }
    this.header?.dispose();
    this.header = undefined;
    super.dispose();
  }

  private addSlot(variable: tf.Variable, group: number, decay: boolean): number {
    if (this.slotOf.has(variable.name)) {
      throw new SkinganError(`variable ${variable.name} is in more than one parameter group`, {
        code: 'USAGE',
      });
    }
    this.slotOf.set(variable.name, this.slots.length);
    return this.slots.push({ variable, group, decay, step: 0 }) - 1;
  }

  /** A variable given to no group: group 0, as tfjs' optimizers update whatever they are given. */
  private addUnknown(name: string): number {
    const variable = tf.engine().registeredVariables[name];
    if (!variable)
      throw new SkinganError(`no variable named ${name} to apply a gradient to`, { code: 'INTERNAL' });
    return this.addSlot(variable, 0, true);
  }
}

tf.serialization.registerClass(AdamW);

function isGroupList(p: readonly tf.Variable[] | readonly ParamGroup[]): p is readonly ParamGroup[] {
  return p.length > 0 && !(p[0] instanceof tf.Variable);
}
