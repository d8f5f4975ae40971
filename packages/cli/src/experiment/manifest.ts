import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { SkinganError, writeJsonAtomic } from '@skingan/core';
import type { ExperimentConfig } from './config.js';
import type { ExperimentPlan } from './pipelines/common.js';

/** `experiment.json`: what an experiment folder holds, enough to rebuild its tables and report. */
export interface ExperimentManifest {
  format: 'skingan-experiment@1';
  kind: ExperimentPlan['kind'];
  data: string[];
  /** `fingerprintDataset` of `data` when the jobs were planned: what the job keys hold. */
  dataFingerprint?: string;
  /** `codeFingerprint()`: the skingan version (and built packages) the jobs were keyed with. */
  code?: string;
  config: ExperimentConfig;
  backend: string | null;
  createdAt: string;
  updatedAt: string;
  plan: Omit<ExperimentPlan, 'jobs'>;
  jobs: { id: string; stage: string; key: string; out: string }[];
  /** Outcome of the last run of each job: where it ran (host, backend) and for how long. */
  results?: Record<
    string,
    { status: string; ms: number; log: string; host?: string; backend?: string; error?: string }
  >;
}

export const MANIFEST = 'experiment.json';

export async function readManifest(dir: string): Promise<ExperimentManifest> {
  const path = join(dir, MANIFEST);
  try {
    return JSON.parse(await fs.readFile(path, 'utf8')) as ExperimentManifest;
  } catch (e) {
    throw new SkinganError('not an experiment folder (experiment.json missing or unreadable)', {
      code: 'USAGE',
      file: path,
      cause: e,
    });
  }
}

export async function writeManifest(dir: string, manifest: ExperimentManifest): Promise<void> {
  await writeJsonAtomic(join(dir, MANIFEST), { ...manifest, updatedAt: new Date().toISOString() });
}

/** A job's folder when its last run finished (done, or reused), else undefined: what the tables read. */
export function finishedOut(m: ExperimentManifest): (id: string) => string | undefined {
  const outOf = new Map(m.jobs.map((j) => [j.id, j.out]));
  return (id) => {
    const s = m.results?.[id]?.status;
    return s === 'done' || s === 'reused' ? outOf.get(id) : undefined;
  };
}
