import { join } from 'node:path';
import { type LabelSpace, type Sample, SkinganError } from '@skingan/core';
import { fingerprintSamples } from '@skingan/data';
import type { Command } from 'commander';
import { readJsonIfAny } from './read-json.js';

/** One set of images a training run learns from, as recorded in its run.json. */
interface RunInput {
  /** What it is, in the command's words, e.g. `--data D (train part of S)`. */
  what: string;
  images: number;
  /** `fingerprintSamples`: ids, classes and image bytes. */
  fingerprint: string;
}

/** The images of one input: what the command reads, named for messages. */
interface InputImages {
  what: string;
  samples: readonly Sample[];
  labelSpace: LabelSpace;
}

interface CheckRunInputsOptions {
  resume?: boolean;
  /** Continue a run on other data than it started with (recorded in run.json's `dataChanges`). */
  allowDataChange?: boolean;
  log?: (line: string) => void;
}

/**
 * The one data check of the training commands (`acgan`, `cyclegan` and `classifier train`):
 * fingerprints the images each input gives the trainer and, on `--resume`, compares them with the
 * fingerprints the run recorded when it started. Other data is refused with an error naming the
 * input and both fingerprints, unless `allowDataChange`. Returns the fields the command records in
 * run.json (`RunFolder.open`'s `info`). Runs before anything is written.
 */
export async function checkRunInputs(
  out: string,
  inputs: Record<string, InputImages>,
  options: CheckRunInputsOptions = {},
): Promise<{ inputs: Record<string, RunInput>; dataChanges?: unknown[] }> {
  const now: Record<string, RunInput> = {};
  for (const [name, input] of Object.entries(inputs)) {
    now[name] = {
      what: input.what,
      images: input.samples.length,
      fingerprint: await fingerprintSamples(input.samples, input.labelSpace),
    };
  }
  if (!options.resume) return { inputs: now };
  const runJson = join(out, 'run.json');
  const previous = await readJsonIfAny<{ inputs?: Record<string, RunInput>; dataChanges?: unknown[] }>(
    runJson,
  );
  // No run yet (or unreadable: RunFolder.open reports what is wrong): nothing to compare with.
  if (!previous) return { inputs: now };
  if (!previous.inputs) {
    options.log?.(`note: ${runJson} records no input fingerprints (an older run); recording them now`);
    return { inputs: now };
  }
  const changes = Object.keys({ ...previous.inputs, ...now })
    .filter((name) => previous.inputs?.[name]?.fingerprint !== now[name]?.fingerprint)
    .map((name) => ({ input: name, was: previous.inputs?.[name] ?? null, now: now[name] ?? null }));
  if (changes.length === 0) return { inputs: now };
  const c = changes[0]!;
  const describe = (i: RunInput | null) => (i ? `${short(i.fingerprint)} (${i.images} images)` : 'none');
  const message =
    `--resume with other data: ${c.now?.what ?? c.was?.what ?? c.input} has fingerprint ` +
    `${describe(c.now)}, the run started with ${describe(c.was)}`;
  if (!options.allowDataChange) {
    throw new SkinganError(message, {
      code: 'USAGE',
      file: runJson,
      hint: 'resume with the data the run started with, start a new run in another --out, or pass --allow-data-change to continue on this data',
    });
  }
  options.log?.(`warning: ${message}; continuing (--allow-data-change), recorded in run.json`);
  const at = new Date().toISOString();
  return {
    inputs: now,
    dataChanges: [
      ...(previous.dataChanges ?? []),
      ...changes.map((ch) => ({
        at,
        input: ch.input,
        from: ch.was?.fingerprint ?? null,
        to: ch.now?.fingerprint ?? null,
      })),
    ],
  };
}

/** The options `resumeFlags` adds. */
export interface ResumeFlags {
  resume?: boolean;
  resumeDiverged?: boolean;
  allowDataChange?: boolean;
}

/**
 * `--resume`, `--resume-diverged` and `--allow-data-change`, the same in each training command;
 * `mayChange` says which settings a resumed run of this command may change.
 */
export function resumeFlags(cmd: Command, mayChange: string): Command {
  return cmd
    .option('--resume', `continue the run in --out from its newest checkpoint (${mayChange})`)
    .option(
      '--resume-diverged',
      'with --resume: retry a run that diverged with unchanged settings (otherwise lower the learning rate)',
    )
    .option(
      '--allow-data-change',
      'with --resume: continue even though the training images differ from those the run started with',
    );
}

/** An input named as the user gave it, e.g. `--data D (train part of split.json)`. */
export function describeInput(
  flag: string,
  values: readonly string[],
  split?: string,
  part = 'train',
): string {
  return `${flag} ${values.join(' ')}${split ? ` (${part} part of ${split})` : ''}`;
}

const short = (fingerprint: string) => fingerprint.slice(0, 16);
