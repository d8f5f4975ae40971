import { defineConfig, mergeConfig } from 'vitest/config';
import shared, { TEST_DATA_SETUP } from '../../vitest.shared.ts';

// Tests here read images: real ones from ../shared/data, or the generated demo set.
export default mergeConfig(shared, defineConfig({ test: { globalSetup: [TEST_DATA_SETUP] } }));
