import { adamStep, SkinganError } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';

/** Hyper-parameters of one step; `lr` has one value per parameter group. */
export interface AdamHypers {
  lr: readonly number[];
  /** β1, scheduled by one-cycle. */
  mom: number;
  /** β2. */
  sqrMom: number;
  eps: number;
  /** Decoupled weight decay: p ← p·(1 − lr·wd) before the Adam step. */
  wd: number;
}

/** fastai's Adam defaults (`fastai.optimizer.Adam`). */
export const FASTAI_ADAM = Object.freeze({ mom: 0.9, sqrMom: 0.99, eps: 1e-5, wd: 0.01 });

export interface AdamParam {
  variable: tf.LayerVariable;
  group: number;
  /** Weight decay applies (fastai skips BatchNorm parameters and biases: `wd_bn_bias=False`). */
  decay: boolean;
}

interface ParamState {
  gradAvg?: tf.Variable;
  sqrAvg?: tf.Variable;
  step: number;
}

/**
 * Adam as fastai writes it (`average_grad(dampening=True)`, `average_sqr_grad`, `adam_step`, and
 * `weight_decay` decoupled as in AdamW), with per-group learning rates and a β1 that may change
 * every step (one-cycle momentum). Per-parameter step counts, as fastai keeps them, so a
 * parameter that was frozen starts its bias correction when it first gets a gradient.
 */
export class FastaiAdam extends tf.Optimizer {
  static get className(): string {
    return 'SkinganFastaiAdam';
  }

  private readonly state: ParamState[];
  private counters: tf.Variable | undefined;
  hypers: AdamHypers;

  constructor(
    readonly params: readonly AdamParam[],
    hypers: Partial<AdamHypers> = {},
  ) {
    super();
    this.state = params.map(() => ({ step: 0 }));
    const groups = Math.max(0, ...params.map((p) => p.group)) + 1;
    this.hypers = { lr: hypers.lr ?? new Array(groups).fill(1e-3), ...FASTAI_ADAM, ...withoutLr(hypers) };
  }

  /** Names under which each parameter's state is saved: its position and weight name. */
  private key(i: number): string {
    return `${i}:${this.params[i]!.variable.originalName}`;
  }

  /**
   * One step for the parameters that have a gradient in `grads` (indexed like `params`; a missing
   * entry is a frozen parameter, left untouched). The gradients are not disposed.
   */
  step(grads: ReadonlyMap<number, tf.Tensor>, hypers: AdamHypers = this.hypers): void {
    const { mom, sqrMom, eps, wd } = hypers;
    tf.tidy(() => {
      for (const [i, g] of grads) {
        const p = this.params[i]!;
        const s = this.state[i]!;
        const lr = hypers.lr[p.group];
        if (lr === undefined)
          throw new SkinganError(`no learning rate for parameter group ${p.group}`, { code: 'INTERNAL' });
        const v = p.variable.read();
        s.gradAvg ??= tf.variable(tf.zerosLike(v), false);
        s.sqrAvg ??= tf.variable(tf.zerosLike(v), false);
        s.step += 1;
        const debias1 = 1 - mom ** s.step;
        const debias2 = 1 - sqrMom ** s.step;
        // √(sqrAvg/debias2) as √sqrAvg · (1/√debias2): one fused pass (SIMD on WASM).
        const [value, gradAvg, sqrAvg] = adamStep(v, g, s.gradAvg, s.sqrAvg, {
          beta1: mom,
          beta2: sqrMom,
          eps,
          sqrtScale: 1 / Math.sqrt(debias2),
          stepSize: lr / debias1,
          decay: p.decay && wd !== 0 ? 1 - lr * wd : 1,
        });
        s.gradAvg.assign(gradAvg);
        s.sqrAvg.assign(sqrAvg);
        p.variable.write(value);
      }
    });
    this.incrementIterations();
  }

  /** tf.Optimizer's entry point: gradients by variable name, with the current `hypers`. */
  override applyGradients(
    variableGradients: tf.NamedTensorMap | { name: string; tensor: tf.Tensor }[],
  ): void {
    const byName = Array.isArray(variableGradients)
      ? Object.fromEntries(variableGradients.map((g) => [g.name, g.tensor]))
      : variableGradients;
    const grads = new Map<number, tf.Tensor>();
    this.params.forEach((p, i) => {
      const g = byName[(p.variable.read() as tf.Variable).name];
      if (g) grads.set(i, g);
    });
    this.step(grads);
  }

  /**
   * Saved state: `counters` ([iterations, step of each parameter], int32) and each parameter's
   * `grad_avg` and `sqr_avg`. The tensors returned are the optimizer's own (nothing to dispose).
   */
  override async getWeights(): Promise<{ name: string; tensor: tf.Tensor }[]> {
    const counts = [this.iterations, ...this.state.map((s) => s.step)];
    if (!this.counters) this.counters = tf.tidy(() => tf.variable(tf.tensor1d(counts, 'int32'), false));
    else tf.tidy(() => this.counters!.assign(tf.tensor1d(counts, 'int32')));
    const out: { name: string; tensor: tf.Tensor }[] = [{ name: 'counters', tensor: this.counters }];
    this.state.forEach((s, i) => {
      if (!s.gradAvg || !s.sqrAvg) return;
      out.push({ name: `${this.key(i)}/grad_avg`, tensor: s.gradAvg });
      out.push({ name: `${this.key(i)}/sqr_avg`, tensor: s.sqrAvg });
    });
    return out;
  }

  override async setWeights(weights: { name: string; tensor: tf.Tensor }[]): Promise<void> {
    const byName = new Map(weights.map((w) => [w.name, w.tensor]));
    const counters = byName.get('counters');
    if (!counters || counters.size !== this.params.length + 1) {
      throw new SkinganError('optimizer state does not match this model (parameter count differs)', {
        code: 'BAD_CHECKPOINT',
      });
    }
    const counts = await counters.data();
    this.iterations_ = counts[0]!;
    this.state.forEach((s, i) => {
      s.gradAvg?.dispose();
      s.sqrAvg?.dispose();
      s.gradAvg = undefined;
      s.sqrAvg = undefined;
      s.step = counts[i + 1]!;
      const g = byName.get(`${this.key(i)}/grad_avg`);
      const q = byName.get(`${this.key(i)}/sqr_avg`);
      if (!g || !q) return;
      s.gradAvg = tf.variable(g, false);
      s.sqrAvg = tf.variable(q, false);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    const { lr, ...rest } = this.hypers;
    return { lr: [...lr], ...rest };
  }

  override dispose(): void {
    for (const s of this.state) {
      s.gradAvg?.dispose();
      s.sqrAvg?.dispose();
      s.gradAvg = undefined;
      s.sqrAvg = undefined;
    }
    this.counters?.dispose();
    this.counters = undefined;
    super.dispose();
  }
}

function withoutLr(h: Partial<AdamHypers>): Partial<AdamHypers> {
  const { lr: _lr, ...rest } = h;
  return Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)) as Partial<AdamHypers>;
}

/** Optimizer parameters for variables in groups; BatchNorm parameters and biases get no weight decay. */
export function adamParams(
  groups: readonly (readonly tf.LayerVariable[])[],
  bnWeightNames?: ReadonlySet<string>,
): AdamParam[] {
  const params: AdamParam[] = [];
  groups.forEach((vars, group) => {
    for (const variable of vars) {
      const name = variable.originalName;
      const isBias = name.endsWith('/bias') || name.endsWith('/beta');
      const isBn = name.endsWith('/gamma') || name.endsWith('/beta') || (bnWeightNames?.has(name) ?? false);
      params.push({ variable, group, decay: !(isBias || isBn) });
    }
  });
  return params;
}
