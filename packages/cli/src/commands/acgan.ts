import { promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  ACGAN_PRESETS,
  type AcganConfigOverrides,
  AcganConfigSchema,
  type AcganPresetName,
  loadAcganGenerator,
  parseAcganConfig,
  resolveAcganConfig,
  sampleToDataset,
  trainAcgan,
} from '@skingan/acgan';
import {
  type ConditionalGenerator,
  checkRunOut,
  deepMerge,
  type EvalPoint,
  ISIC2019,
  pathExists,
  readConfigFile,
  replaceDirAtomic,
  SkinganError,
} from '@skingan/core';
import {
  createBatchSource,
  DatasetWriter,
  loadDataset,
  readSplit,
  selectSplit,
  writeGrid,
} from '@skingan/data';
import { type Command, Option } from 'commander';
import { addOptions, flagClassIndex, intOption, presetOption, splitList, withBackend } from '../options.js';
import { forceOption, outputGuard } from '../outputs.js';
import { checkRunInputs, describeInput, type ResumeFlags, resumeFlags } from '../run-inputs.js';
import { printJson, stderrLog } from '../ui/output.js';
import { formatDuration, Progress } from '../ui/progress.js';
import { addEvalOptions, createTrainingProbe, type EvalFlags, evalOverrides } from './quality-eval.js';
import { warnProblems } from './training-data.js';
import { formatParams, resumeStep, startTrainingSession } from './training-session.js';

interface TrainOptions extends EvalFlags, ResumeFlags {
  data: string[];
  split?: string;
  classes?: string;
  preset?: AcganPresetName;
  config?: string;
  size?: number;
  epochs?: number;
  batchSize?: number;
  seed?: number;
  balanced?: boolean;
  diffaugment?: boolean;
  checkpointEvery?: number;
  out: string;
  json?: boolean;
}

interface SampleOptions {
  model: string;
  perClass: number;
  out: string;
  size?: number;
  seed: number;
  classes?: string;
  batchSize: number;
  format: 'png' | 'jpg';
  json?: boolean;
  force?: boolean;
}

/** `skingan acgan train|sample`. */
export function registerAcgan(program: Command): void {
  const acgan = program
    .command('acgan')
    .description('ACGAN (Odena et al. 2017): class-conditional lesion images from noise');

  const trainCommand = addOptions(
    addEvalOptions(acgan.command('train'))
      .description(
        'train an ACGAN on all classes at once; writes a run folder (config, metrics, checkpoints, sample grids)',
      )
      .requiredOption('--data <dir...>', 'dataset folder(s) (labels.csv + images/, or the ISIC 2019 layout)')
      .option('--split <file>', 'split.json: train on its train part only')
      .option('--classes <list>', 'comma-separated classes to train on (default: all 8 ISIC 2019 classes)')
      .addOption(
        presetOption(
          'architecture and defaults (default thesis)',
          ACGAN_PRESETS,
          (name, p) => `${name} (${p.defaultSize}², ${p.description})`,
        ),
      ),
    [
      ['--config <file>', 'JSON with config fields to override (flags override the file)'],
      ['--size <n>', 'image size: 32, 64, 128 or 256 (default: the preset’s)', 'int'],
      ['--epochs <n>', 'epochs (default: the preset’s)', 'int'],
      ['--batch-size <n>', 'batch size (default: the preset’s)', 'int'],
      ['--seed <n>', 'seed for init, noise, dropout, shuffling and augmentation (default 0)', 'int'],
      ['--balanced', 'class-balanced batches (ISIC 2019 is about 50:1 between NV and DF)'],
      ['--diffaugment', 'DiffAugment (color, translation, cutout) on everything D sees: for small datasets'],
      ['--checkpoint-every <n>', 'checkpoint every n steps (default: the preset’s)', 'int'],
    ],
  )
    .requiredOption('--out <dir>', 'run folder to create')
    .option('--json', 'print the result as one JSON object on stdout')
    .action(withBackend(train));
  resumeFlags(
    trainCommand,
    'only --epochs may change; after a divergence, the training settings of --config',
  );

  forceOption(acgan.command('sample'))
    .description(
      'draw N images per class from a trained ACGAN into a dataset folder (labels.csv, images/, provenance.jsonl)',
    )
    .requiredOption('--model <dir>', 'ACGAN run folder (its final model, else its newest checkpoint)')
    .requiredOption('--per-class <n>', 'images per class', intOption('--per-class'))
    .requiredOption(
      '--out <dir>',
      'dataset folder to create (an earlier sample there is replaced once this one is complete)',
    )
    .option('--size <n>', 'resize to n×n (default: the model’s size)', intOption('--size'))
    .option(
      '--seed <n>',
      'base seed; image k uses seed + k (recorded in provenance.jsonl)',
      intOption('--seed'),
      0,
    )
    .option('--classes <list>', 'comma-separated classes to draw (default: all of the model’s)')
    .option('--batch-size <n>', 'images generated at a time', intOption('--batch-size'), 32)
    .addOption(new Option('--format <ext>', 'image format').choices(['png', 'jpg']).default('png'))
    .option('--json', 'print the result as one JSON object on stdout')
    .action(withBackend(sample));
}

async function train(opts: TrainOptions): Promise<void> {
  const out = resolve(opts.out);
  checkSize(opts.size);
  const classes = opts.classes ? splitList(opts.classes) : undefined;
  for (const c of classes ?? []) flagClassIndex(ISIC2019, c, '--classes');
  // --out first: a mistake there should not cost the time of loading the data.
  const outState = await checkRunOut(out, { resume: opts.resume, kind: 'training' });
  const dataset = await loadDataset(opts.data, classes ? { classes } : {});
  const log = stderrLog(opts.json);
  warnProblems(dataset, log);
  const samples = opts.split ? selectSplit(dataset, await readSplit(opts.split), 'train') : dataset.samples;

  const config = await resolveTrainConfig(opts, out, dataset.labelSpace);
  const t = config.training;
  if (samples.length === 0) throw noImagesError(opts, dataset.problems.length);
  if (samples.length < t.batchSize) {
    throw new SkinganError(`${samples.length} training images make no batch of ${t.batchSize}`, {
      code: 'USAGE',
      hint: 'lower --batch-size or add data',
    });
  }
  const source = createBatchSource(samples, {
    imageSize: config.imageSize,
    batchSize: t.batchSize,
    seed: config.seed,
    balanced: t.balanced,
    // Batch norm on a last batch of one or two images would skew the statistics.
    dropLast: true,
    labelSpace: dataset.labelSpace,
  });
  const runInfo = await checkRunInputs(
    out,
    {
      data: { what: describeInput('--data', opts.data, opts.split), samples, labelSpace: dataset.labelSpace },
    },
    { resume: opts.resume, allowDataChange: opts.allowDataChange, log },
  );
  const firstStep = await resumeStep(out, opts.resume);
  if (opts.resume && firstStep === 0) {
    log(
      outState.isRun
        ? `acgan: --resume: ${out} has no checkpoint yet (the run stopped before its first one): starting again from step 0`
        : `acgan: --resume: nothing to resume in ${out}: starting a new run`,
    );
  }
  log(
    `acgan: ${samples.length} images listed, ${config.labelSpace.classes.length} classes, ${config.imageSize}², preset ${config.preset}, ` +
      `batch ${t.batchSize}, ${source.stepsPerEpoch} steps/epoch × ${config.epochs} epochs${firstStep ? `, resuming at step ${firstStep}` : ''}`,
  );

  const quality = await createTrainingProbe({
    eval: config.eval,
    preset: config.preset,
    seed: config.seed,
    classes: config.labelSpace.classes,
    samples,
    imageSize: config.imageSize,
    log,
    resume: { dir: out, step: firstStep },
  }).catch((e) => {
    source.dispose();
    throw e;
  });
  const session = startTrainingSession({
    label: 'acgan',
    epochs: config.epochs,
    stepsPerEpoch: source.stepsPerEpoch,
    firstStep,
    out: opts.out,
    json: opts.json,
    onStop: 'stopping after this step and saving a checkpoint',
  });
  try {
    const result = await trainAcgan({
      config,
      out,
      resume: opts.resume ?? false,
      resumeDiverged: opts.resumeDiverged ?? false,
      runInfo,
      source,
      signal: session.signal,
      observer: session.ganObserver((l) => ({ d: l.d!, g: l.g! })),
      // The same noise every evaluation (image i of class c: seed EVAL_SEED + c·n + i), so the
      // figures follow the generator, not the draw.
      ...(quality
        ? {
            evaluate: (generator: ConditionalGenerator, at: EvalPoint) =>
              quality.evaluate(
                (c, n) => generator.generate(new Array<number>(n).fill(c), EVAL_SEED + c * n),
                at,
              ),
          }
        : {}),
      onSamples: async (grid) => {
        const file = join(out, 'samples', `epoch-${String(grid.epoch + 1).padStart(3, '0')}.png`);
        await writeGrid(file, grid.images, { rows: grid.rows, cols: grid.cols, rowLabels: grid.classes });
      },
    });
    const params = result.params;
    const skipped = source.skipped;
    if (skipped > 0) {
      log(
        `acgan: trained on ${samples.length - skipped} of ${samples.length} images: ${skipped} could not be decoded and were skipped (see the warnings above)`,
      );
    }
    const summary = {
      run: result.dir,
      images: { listed: samples.length, skipped },
      status: result.status,
      step: result.step,
      epoch: result.epoch,
      params: { generator: params.generator.trainable, discriminator: params.discriminator.trainable },
      losses: result.last?.losses ?? null,
      metrics: result.last?.metrics ?? null,
      seconds: Math.round((Date.now() - session.started) / 1000),
    };
    session.finish(
      result.status !== 'completed',
      result.step,
      `acgan: trained ${result.step} steps into ${result.dir} (G ${formatParams(summary.params.generator)}, D ${formatParams(summary.params.discriminator)} parameters)`,
    );
    if (opts.json) printJson(summary);
    else
      log(
        `took ${formatDuration(Date.now() - session.started)}; sample grids in ${join(result.dir, 'samples')}`,
      );
  } finally {
    session.dispose();
    source.dispose();
    quality?.dispose();
  }
}

/** Base seed of the evaluation noise (apart from the sample grids' and `acgan sample`'s default 0). */
const EVAL_SEED = 1_000_000;

/** Why there is nothing to train on, and what to check (not "lower --batch-size"). */
function noImagesError(opts: TrainOptions, problems: number): SkinganError {
  const where = opts.split
    ? `the train part of ${opts.split}`
    : opts.classes
      ? `classes ${opts.classes} of ${opts.data.join(', ')}`
      : opts.data.join(', ');
  return new SkinganError(`no training images in ${where}`, {
    code: 'USAGE',
    hint:
      problems > 0
        ? 'every row was skipped: see the warnings above (skingan data stats DIR lists them)'
        : opts.split
          ? 'is the split made from this --data? (skingan data split DIR --seed 7 --out split.json)'
          : 'the dataset lists no images of these classes: check labels.csv and images/ (skingan data stats DIR)',
  });
}

/**
 * Preset → --config file → flags. On --resume the run's own config.json is the base, so the
 * flags need not be repeated; given flags still override it (and the run refuses changes other
 * than --epochs).
 */
async function resolveTrainConfig(
  opts: TrainOptions,
  out: string,
  labelSpace: { name: string; classes: readonly string[] },
) {
  const flags: AcganConfigOverrides = {
    labelSpace: { name: labelSpace.name, classes: [...labelSpace.classes] },
    ...(opts.epochs !== undefined ? { epochs: opts.epochs } : {}),
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
    training: {
      ...(opts.batchSize !== undefined ? { batchSize: opts.batchSize } : {}),
      ...(opts.balanced ? { balanced: true } : {}),
      ...(opts.diffaugment ? { diffAugment: ['color', 'translation', 'cutout'] } : {}),
      ...(opts.checkpointEvery !== undefined ? { checkpointEvery: opts.checkpointEvery } : {}),
    },
    eval: evalOverrides(opts),
  };
  const savedPath = join(out, 'config.json');
  if (opts.resume && (await pathExists(savedPath))) {
    const saved = parseAcganConfig(JSON.parse(await fs.readFile(savedPath, 'utf8')), savedPath);
    if (opts.size !== undefined && opts.size !== saved.imageSize) {
      throw new SkinganError(`--size ${opts.size} differs from the run's ${saved.imageSize}`, {
        code: 'USAGE',
        file: savedPath,
        hint: 'resume with the same size, or start a new run',
      });
    }
    // A --config file may change what a resume allows (e.g. lower learning rates after a divergence).
    const fileOverrides = opts.config ? await readConfigFile(opts.config) : {};
    return parseAcganConfig(deepMerge(deepMerge(saved, fileOverrides), flags), savedPath);
  }
  const fileOverrides = opts.config ? await readConfigFile(opts.config) : {};
  return resolveAcganConfig({
    preset: opts.preset ?? (fileOverrides.preset as AcganPresetName | undefined) ?? 'thesis',
    ...(opts.size !== undefined ? { imageSize: opts.size } : {}),
    overrides: deepMerge(fileOverrides, flags) as AcganConfigOverrides,
  });
}

async function sample(opts: SampleOptions): Promise<void> {
  const guard = outputGuard('acgan sample', [opts.model], opts.force);
  const out = await guard.check(opts.out);
  const generator = await loadAcganGenerator(opts.model);
  try {
    const space = generator.labelSpace;
    const classes = opts.classes
      ? splitList(opts.classes).map((c) => flagClassIndex(space, c, '--classes'))
      : undefined;
    const size = opts.size ?? generator.imageSize;
    const run = generator.source?.run ?? resolve(opts.model);
    const step = generator.source?.step ?? null;
    // Which weights drew the images: the moving average of G's (training.emaDecay) or G's own.
    const weights = generator.source?.ema ? 'ema' : 'raw';
    const total = opts.perClass * (classes?.length ?? space.classes.length);
    const progress = new Progress({ label: 'acgan sample', total, unit: 'images', quiet: opts.json });
    // Written into a temp folder that replaces `out` when complete: a kill or a full disk leaves
    // the previous sample (if any) as it was, and rerunning the command starts clean.
    let result!: Awaited<ReturnType<typeof sampleToDataset>>;
    await guard.claim(out);
    await replaceDirAtomic(out, async (tmp) => {
      const writer = await DatasetWriter.open(tmp, {
        labelSpace: space,
        format: opts.format,
        idPrefix: 'acgan',
        command: 'acgan sample',
        meta: { generator: 'acgan', run, step, weights, seed: opts.seed, perClass: opts.perClass, size },
      });
      result = await sampleToDataset(generator, {
        perClass: opts.perClass,
        seed: opts.seed,
        size,
        batchSize: opts.batchSize,
        ...(classes ? { classes } : {}),
        write: async (images, records) => {
          await writer.add(
            images,
            records.map((r) => r.label),
            undefined,
            records.map((r) => ({
              generator: 'acgan',
              run,
              step,
              weights,
              seed: r.seed,
              index: r.index,
              size,
            })),
          );
        },
        onProgress: (done) => progress.update(done),
      });
      await writer.close();
    });
    progress.finish(
      `acgan sample: wrote ${result.count} images (${Object.entries(result.perClass)
        .map(([c, n]) => `${c} ${n}`)
        .join(', ')}) to ${out}`,
    );
    if (opts.json) {
      printJson({ out, run, step, weights, size, count: result.count, perClass: result.perClass });
    }
  } finally {
    generator.dispose();
  }
}

/** The config schema's rule for imageSize, with the flag and its value in the message. */
function checkSize(size: number | undefined): void {
  if (size === undefined) return;
  const r = AcganConfigSchema.shape.imageSize.safeParse(size);
  if (!r.success) {
    throw new SkinganError(`--size ${size}: ${r.error.issues[0]?.message ?? 'invalid image size'}`, {
      code: 'USAGE',
      hint: 'the presets train at 32, 64, 128 or 256',
    });
  }
}
