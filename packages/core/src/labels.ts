import { SkinganError } from './errors.js';

/** An ordered set of class names; a label is an index into `classes`. */
export interface LabelSpace {
  readonly name: string;
  readonly classes: readonly string[];
}

/** The eight diagnostic classes of the ISIC 2019 challenge, in the ground-truth CSV's column order. */
export const ISIC2019: LabelSpace = Object.freeze({
  name: 'isic2019',
  classes: Object.freeze(['MEL', 'NV', 'BCC', 'AK', 'BKL', 'DF', 'VASC', 'SCC'] as const),
});

/** Full names, for reports. */
export const ISIC2019_NAMES: Readonly<Record<string, string>> = Object.freeze({
  MEL: 'Melanoma',
  NV: 'Melanocytic nevus',
  BCC: 'Basal cell carcinoma',
  AK: 'Actinic keratosis',
  BKL: 'Benign keratosis',
  DF: 'Dermatofibroma',
  VASC: 'Vascular lesion',
  SCC: 'Squamous cell carcinoma',
});

/** A label space over a subset of classes, e.g. `subLabelSpace(ISIC2019, ['NV', 'MEL'])`. */
export function subLabelSpace(space: LabelSpace, classes: readonly string[]): LabelSpace {
  for (const c of classes) classIndex(space, c);
  return Object.freeze({ name: `${space.name}[${classes.join(',')}]`, classes: Object.freeze([...classes]) });
}

/** Index of a class name (case-insensitive); throws a SkinganError listing the valid names. */
export function classIndex(space: LabelSpace, name: string): number {
  const i = space.classes.findIndex((c) => c.toUpperCase() === name.toUpperCase());
  if (i < 0) {
    throw new SkinganError(`unknown class "${name}"`, {
      code: 'UNKNOWN_CLASS',
      hint: `use one of: ${space.classes.join(', ')}`,
    });
  }
  return i;
}
