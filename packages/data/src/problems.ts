import type { Sample } from '@skingan/core';

/** Something wrong with the input that was skipped rather than thrown (see `strict` options). */
export interface Problem {
  /** The file the problem is in or about. */
  file: string;
  /** 1-based line in `file`, for CSV rows. */
  line?: number;
  /** The image id concerned, if any. */
  id?: string;
  message: string;
}

/** One line per problem, as the CLI prints them. */
export function formatProblem(p: Problem): string {
  return `${p.file}${p.line ? `:${p.line}` : ''}: ${p.message}`;
}

/** An image that could not be decoded and is skipped (`error` names its path, as decode errors do). */
export function skippedImage(sample: Sample, error: Error): Problem {
  return {
    file: sample.path,
    id: sample.id,
    message: `${error.message.replace(`${sample.path}: `, '')} (skipped)`,
  };
}

/**
 * The one warning for a dataset whose images have transparent pixels: alpha is dropped, so those
 * pixels show whatever colour they hold under it (black in most files).
 */
export function transparencyProblem(count: number, total: number, file: string): Problem {
  return {
    file,
    message: `${count} of ${total} images have transparent pixels, which become the colour under them (black in most files): alpha is dropped. Flatten them onto the background you want first if black is wrong`,
  };
}
