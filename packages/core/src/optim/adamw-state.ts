import type * as tf from '@tensorflow/tfjs';
import { SkinganError } from '../errors.js';
import type { NamedTensor } from '../io/file-handler.js';

/** The layout `AdamW.getWeights` writes: the first entry's name. */
export const ADAMW_LAYOUT = 'adamw@1';

/** An optimizer state read back, whatever layout it was saved in. */
export interface AdamWState {
  iterations: number;
  /** Updates of each variable so far (its bias correction's t). */
  steps: number[];
  /** First and second moments by variable index; a variable without any has not been updated. */
  moments: Map<number, { m: tf.Tensor; v: tf.Tensor }>;
}

/**
 * The state as named tensors, in layout `adamw@1`:
 *
 *   `adamw@1`        int32 [1 + n]: iterations, then each variable's step count
 *   `I:NAME/m`, `I:NAME/v`   the moments of variable I (only of variables updated at least once)
 *
 * Variables are matched by position I; NAME is informative (tfjs names depend on creation order).
 */
export function adamWEntries(
  header: tf.Tensor,
  names: readonly string[],
  moments: readonly ({ m: tf.Tensor; v: tf.Tensor } | undefined)[],
): NamedTensor[] {
  const out: NamedTensor[] = [{ name: ADAMW_LAYOUT, tensor: header }];
  moments.forEach((mv, i) => {
    if (!mv) return;
    out.push({ name: `${i}:${names[i]}/m`, tensor: mv.m }, { name: `${i}:${names[i]}/v`, tensor: mv.v });
  });
  return out;
}

/**
 * Reads a state for `n` variables from `adamw@1` or from what skingan-checkpoint@1 held: tfjs'
 * Adam (ACGAN: `iter`, n × `/m`, n × `/v`), CycleGAN's Adam (the same with `iterations`) and the
 * classifier's FastaiAdam (`counters`, `I:NAME/grad_avg`, `I:NAME/sqr_avg`). Anything else is
 * refused, naming the layout found. The tensors returned are those given (not copies).
 */
export async function readAdamWState(weights: readonly NamedTensor[], n: number): Promise<AdamWState> {
  const [head, ...rest] = weights;
  const layout = head?.name ?? '(nothing)';
  if (layout === ADAMW_LAYOUT) return indexed(await counters(head!, n, layout), rest, n, '/m', '/v');
  if (layout === 'counters')
    return indexed(await counters(head!, n, 'FastaiAdam'), rest, n, '/grad_avg', '/sqr_avg');
  if (layout === 'iter' || layout === 'iterations') {
    // tfjs' layout: every variable stepped every iteration; moments by position, m's then v's.
    const iterations = (await head!.tensor.data())[0]!;
    if (rest.length !== 0 && rest.length !== 2 * n) throw mismatch(`${rest.length / 2}`, n);
    const moments = new Map<number, { m: tf.Tensor; v: tf.Tensor }>();
    if (rest.length)
      for (let i = 0; i < n; i++) moments.set(i, { m: rest[i]!.tensor, v: rest[n + i]!.tensor });
    return { iterations, steps: new Array(n).fill(rest.length ? iterations : 0), moments };
  }
  throw new SkinganError(
    `optimizer state is in layout "${layout}", which this version of skingan does not read (it writes ${ADAMW_LAYOUT})`,
    {
      code: 'BAD_CHECKPOINT',
      hint: /^adamw@\d+$/.test(layout)
        ? 'it was written by a newer skingan: resume with that version'
        : 'start the run again without --resume',
    },
  );
}

async function counters(head: NamedTensor, n: number, layout: string): Promise<[number, number[]]> {
  if (head.tensor.size !== n + 1) throw mismatch(`${head.tensor.size - 1}`, n, layout);
  const c = Array.from(await head.tensor.data());
  return [c[0]!, c.slice(1)];
}

function indexed(
  [iterations, steps]: [number, number[]],
  rest: readonly NamedTensor[],
  n: number,
  mSuffix: string,
  vSuffix: string,
): AdamWState {
  const moments = new Map<number, { m: tf.Tensor; v: tf.Tensor }>();
  const byName = new Map(rest.map((w) => [w.name, w.tensor]));
  for (const w of rest) {
    const i = Number(/^(\d+):/.exec(w.name)?.[1] ?? Number.NaN);
    if (!(i >= 0 && i < n)) {
      throw new SkinganError(
        `optimizer state entry "${w.name}" names no variable of this model (it has ${n})`,
        {
          code: 'BAD_CHECKPOINT',
        },
      );
    }
    if (!w.name.endsWith(mSuffix)) continue;
    const v = byName.get(w.name.slice(0, -mSuffix.length) + vSuffix);
    if (!v)
      throw new SkinganError(`optimizer state has ${w.name} without its second moment`, {
        code: 'BAD_CHECKPOINT',
      });
    moments.set(i, { m: w.tensor, v });
  }
  return { iterations, steps, moments };
}

function mismatch(found: string, n: number, layout?: string): SkinganError {
  return new SkinganError(
    `optimizer state${layout ? ` (${layout})` : ''} holds ${found} variables, this model has ${n}`,
    { code: 'BAD_CHECKPOINT', hint: 'the checkpoint belongs to another model or configuration' },
  );
}
