import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveExperimentConfig } from './config.js';
import { noise2imgPlan } from './pipelines/noise2img.js';
import { checkWeightsCached, weightsNeeded } from './preflight.js';

const keys = { data: 'd', part: (part: string) => part };

describe('the weights an experiment needs', () => {
  it('are read from the jobs’ flags: the ham preset needs the ResNet-50, the test preset nothing', async () => {
    const plan = async (preset: string) =>
      noise2imgPlan(['/d'], await resolveExperimentConfig(preset), keys, ['MEL', 'NV']).jobs;
    expect(weightsNeeded(await plan('ham'))).toEqual(['resnet50-imagenet']);
    expect(weightsNeeded(await plan('test'))).toEqual([]);
    expect(weightsNeeded([{ args: ['classifier', 'train', '--pretrained', 'imagenet'] }])).toEqual([
      'resnet50-imagenet',
    ]);
    // A folder of the user's own is not a cached name.
    expect(weightsNeeded([{ args: ['--extractor', '/models/mine'] }])).toEqual([]);
  });

  it('missing from the cache: refused before any job runs, with the command that fetches them', async () => {
    const cache = await fs.mkdtemp(join(tmpdir(), 'skingan-preflight-'));
    const env = { SKINGAN_CACHE: cache };
    const jobs = [{ args: ['features', 'extract', 'x', '--extractor', 'resnet50'] }];
    try {
      expect(() => checkWeightsCached(jobs, env)).toThrow(
        expect.objectContaining({
          code: 'NOT_FOUND',
          message: expect.stringContaining(join(cache, 'weights', 'resnet50-imagenet')),
          hint: expect.stringContaining('skingan weights fetch resnet50-imagenet'),
        }),
      );
      await fs.mkdir(join(cache, 'weights', 'resnet50-imagenet'), { recursive: true });
      await fs.writeFile(join(cache, 'weights', 'resnet50-imagenet', 'model.json'), '{}');
      expect(() => checkWeightsCached(jobs, env)).not.toThrow();
    } finally {
      await fs.rm(cache, { recursive: true, force: true });
    }
  });
});
