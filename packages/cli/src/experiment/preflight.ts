import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pretrainedName } from '@skingan/classifier';
import { SkinganError, weightsCacheDir } from '@skingan/core';
import { RESNET50_WEIGHTS } from '@skingan/metrics';

/** The cached weights a flag's value needs, if any (`--extractor resnet50`, `--pretrained imagenet`). */
function weightsOf(flag: string, value: string): string | undefined {
  if (flag === '--extractor' || flag === '--eval-extractor')
    return value === 'resnet50' ? RESNET50_WEIGHTS : undefined;
  return flag === '--pretrained' ? pretrainedName(value) : undefined;
}

/** The cached weights (by `skingan weights fetch` name) that the jobs' arguments name. */
export function weightsNeeded(jobs: readonly { args: readonly string[] }[]): string[] {
  const names = new Set<string>();
  for (const { args } of jobs) {
    for (let i = 0; i + 1 < args.length; i++) {
      const name = weightsOf(args[i]!, args[i + 1]!);
      if (name) names.add(name);
    }
  }
  return [...names].sort();
}

/**
 * Refuses to start when a job will need weights this machine's cache lacks: a fresh machine fails
 * in a second with the command that fetches them, not after the GANs have trained for half an hour.
 */
export function checkWeightsCached(jobs: readonly { args: readonly string[] }[], env = process.env): void {
  const missing = weightsNeeded(jobs).filter((n) => !existsSync(join(weightsCacheDir(n, env), 'model.json')));
  if (!missing.length) return;
  throw new SkinganError(
    `the experiment's jobs need pretrained weights that are not cached: ${missing.map((n) => `${n} (${weightsCacheDir(n, env)})`).join(', ')}`,
    {
      code: 'NOT_FOUND',
      hint: `fetch them once with: ${missing.map((n) => `skingan weights fetch ${n}`).join('; ')} (or set SKINGAN_CACHE to a cache that has them)`,
    },
  );
}
