import { SkinganError } from '@skingan/core';

// Ids become file names (`images/<id>.png`), so anything that could leave the folder, hide the file
// or break a shell is refused rather than sanitized: a silently renamed id would no longer match
// its label row or split entry.
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Whether `id` is a plain file name that is safe to use as `images/<id>.<ext>`. */
export function isValidId(id: string): boolean {
  return id.length <= 200 && ID_PATTERN.test(id) && !id.includes('..');
}

/** Throws a SkinganError naming `where` (file, line) unless `id` is a plain file name. */
export function checkId(id: string, where: { file?: string; line?: number } = {}): void {
  if (isValidId(id)) return;
  const why =
    id === ''
      ? 'the image id is empty'
      : /[/\\]/.test(id) || id.includes('..')
        ? `image id "${id}" is a path, not a plain file name (paths are never followed)`
        : `image id "${id}" is not a plain file name`;
  throw new SkinganError(why, {
    code: 'BAD_INPUT',
    file: where.file,
    line: where.line,
    hint: 'ids may use letters, digits, "_", "-" and "." (not "..") and must start with a letter or digit',
  });
}
