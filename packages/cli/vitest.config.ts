import { defineConfig, mergeConfig } from 'vitest/config';
import shared, { TEST_DATA_SETUP } from '../../vitest.shared.ts';

// Tests here read images: real ones from ../shared/data, or the generated demo set. They run the
// built CLI end to end (training, whole experiments), which with both cores busy takes minutes: a
// generous bound, since a test that is slow on a loaded machine is not a failing one.
export default mergeConfig(
  shared,
  defineConfig({ test: { globalSetup: [TEST_DATA_SETUP], testTimeout: 900_000, hookTimeout: 900_000 } }),
);
