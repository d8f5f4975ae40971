import { type AcganConfig, type AcganConfigOverrides, resolveAcganConfig } from '../config.js';

/** A 16×16 ACGAN small enough that a step takes milliseconds: for trainer tests. */
export function tinyConfig(overrides: AcganConfigOverrides = {}): AcganConfig {
  return resolveAcganConfig({
    preset: 'test',
    imageSize: 16,
    overrides: {
      labelSpace: { name: 'toy', classes: ['A', 'B', 'C', 'D'] },
      seed: 7,
      epochs: 2,
      ...overrides,
      generator: { latentDim: 8, channels: 8, maxChannels: 16, ...overrides.generator },
      discriminator: { channels: 8, maxChannels: 16, ...overrides.discriminator },
      training: { batchSize: 8, checkpointEvery: 4, samplesPerClass: 2, ...overrides.training },
    },
  });
}
