import { SkinganError } from '@skingan/core';
import { checkLabels } from './per-class.js';

/** Class fidelity of one class. */
export interface ClassFidelity {
  class: string;
  nGenerated: number;
  /** Share of the generated images of this class that the classifier assigns to it (null: none). */
  generated: number | null;
  nReal: number;
  /** The same share for the real images given for comparison (null: none given or none of the class). */
  real: number | null;
}

export interface FidelityResult {
  perClass: ClassFidelity[];
  /** Mean of the per-class shares over the classes with generated images (balanced recall). */
  balanced: number | null;
  /** The same for the real images, when given: the figure the generated images should reach. */
  realBalanced: number | null;
}

/** Labels and a classifier's decisions for a set of images. */
export interface ClassifiedSet {
  /** The class each image is meant to show (index into `classes`). */
  labels: readonly number[];
  /** The class the classifier assigns (index into `classes`; −1 for a class outside them). */
  predicted: readonly number[];
}

/**
 * Class fidelity: for each class c, the share of the generated images of c that a fixed classifier
 * assigns to c (its recall on them), and the mean of those shares over the classes that have
 * generated images (balanced, so a large class does not dominate). With `real` (e.g. held-out real
 * images), the same figures for them: a generator is class-faithful when it reaches about as much.
 */
export function classFidelity(
  generated: ClassifiedSet,
  real: ClassifiedSet | undefined,
  classes: readonly string[],
): FidelityResult {
  const g = shares(generated, classes, 'generated');
  const r = real ? shares(real, classes, 'real') : undefined;
  const perClass = classes.map((name, c) => ({
    class: name,
    nGenerated: g.n[c]!,
    generated: g.share[c]!,
    nReal: r?.n[c] ?? 0,
    real: r?.share[c] ?? null,
  }));
  return { perClass, balanced: g.balanced, realBalanced: r?.balanced ?? null };
}

function shares(set: ClassifiedSet, classes: readonly string[], what: string) {
  checkLabels(set.labels, set.labels.length, classes.length, what);
  if (set.predicted.length !== set.labels.length) {
    throw new SkinganError(`${what}: ${set.predicted.length} predictions for ${set.labels.length} images`);
  }
  const n = classes.map(() => 0);
  const hit = classes.map(() => 0);
  set.labels.forEach((l, i) => {
    n[l]!++;
    if (set.predicted[i] === l) hit[l]!++;
  });
  const share = n.map((k, c) => (k > 0 ? hit[c]! / k : null));
  const defined = share.filter((s): s is number => s !== null);
  const balanced = defined.length ? defined.reduce((a, b) => a + b, 0) / defined.length : null;
  return { n, share, balanced };
}

/**
 * The class index (into `classes`) of each row's most probable class of `classifierClasses`
 * (first maximum on ties); −1 where that class is not one of `classes`.
 */
export function assignedClasses(
  probs: readonly (readonly number[])[],
  classifierClasses: readonly string[],
  classes: readonly string[],
): number[] {
  const map = classifierClasses.map((name) => classes.indexOf(name));
  return probs.map((p, i) => {
    if (p.length !== classifierClasses.length) {
      throw new SkinganError(`row ${i}: ${p.length} probabilities for ${classifierClasses.length} classes`);
    }
    let best = 0;
    for (let k = 1; k < p.length; k++) if (p[k]! > p[best]!) best = k;
    return map[best]!;
  });
}
