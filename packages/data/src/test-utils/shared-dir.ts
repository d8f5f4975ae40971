import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The real test data: `$SKINGAN_SHARED_DATA`, else `../shared/data` beside the repository. Read
 * there, never copied. No dependencies, so any package's tests can import it.
 */
export const SHARED_DATA = process.env.SKINGAN_SHARED_DATA
  ? resolve(process.env.SKINGAN_SHARED_DATA)
  : fileURLToPath(new URL('../../../../../shared/data/', import.meta.url));
