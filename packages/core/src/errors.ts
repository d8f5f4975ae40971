export type ErrorCode =
  | 'USAGE'
  | 'UNKNOWN_CLASS'
  | 'BAD_INPUT'
  | 'NOT_FOUND'
  | 'BAD_CHECKPOINT'
  | 'DIVERGED'
  | 'DISK_FULL'
  | 'OUT_OF_MEMORY'
  | 'BACKEND'
  | 'NETWORK'
  | 'INTERNAL';

export interface SkinganErrorOptions {
  code?: ErrorCode;
  /** What the user can do about it, printed after the message. */
  hint?: string;
  /** The file the error is about. */
  file?: string;
  /** 1-based line (CSV row) in `file`. */
  line?: number;
  cause?: unknown;
}

/**
 * An error meant for the user: it names the file, row or id and says what to do. The CLI prints
 * `message` (plus `hint`) without a stack trace and exits 2 for `USAGE`, 1 otherwise.
 */
export class SkinganError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly file: string | undefined;
  readonly line: number | undefined;

  constructor(message: string, options: SkinganErrorOptions = {}) {
    const where = options.file ? `${options.file}${options.line ? `:${options.line}` : ''}: ` : '';
    super(where + message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SkinganError';
    this.code = options.code ?? 'BAD_INPUT';
    this.hint = options.hint;
    this.file = options.file;
    this.line = options.line;
  }

  /** Message and hint, as the CLI prints them. */
  describe(): string {
    return this.hint ? `${this.message}\n  hint: ${this.hint}` : this.message;
  }
}

export function isSkinganError(e: unknown): e is SkinganError {
  return e instanceof SkinganError || (e instanceof Error && e.name === 'SkinganError');
}
