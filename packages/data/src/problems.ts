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
