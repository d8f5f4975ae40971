import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * The globalSetup of the packages whose tests read images: real data from ../shared/data
 * ($SKINGAN_SHARED_DATA) or the generated demo set, resolved once per run.
 */
export const TEST_DATA_SETUP = fileURLToPath(
  new URL('./packages/data/src/test-utils/test-data.setup.ts', import.meta.url),
);

const pkg = (name: string) => fileURLToPath(new URL(`./packages/${name}/src/index.ts`, import.meta.url));

// Tests import sibling packages from source, so `pnpm test` in one package needs no build of the others.
// `forks`: tfjs' native bindings break in worker threads, and one process per file keeps each
// file's engine state (backend, registered kernels, tensors) apart.
export default defineConfig({
  resolve: {
    alias: Object.fromEntries(
      ['core', 'data', 'acgan', 'cyclegan', 'path-rank-filter', 'classifier', 'metrics', 'turing'].map(
        (n) => [`@skingan/${n}`, pkg(n)],
      ),
    ),
  },
  test: {
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
  },
});
