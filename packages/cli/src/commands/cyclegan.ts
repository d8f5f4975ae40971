import { promises as fs } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import {
  checkRunOut,
  classIndex,
  type EvalPoint,
  type ImageTranslator,
  ISIC2019,
  pathExists,
  RunFolder,
  readConfigFile,
  replaceDirAtomic,
  type Sample,
  SkinganError,
} from '@skingan/core';
import {
  CYCLEGAN_PRESETS,
  type CycleGanConfig,
  type CycleGanConfigInput,
  type CycleGanPresetName,
  CycleGanTrainer,
  type Direction,
  LOSS_NAMES,
  loadTranslator,
  parseCycleGanConfig,
  readRunConfig,
  resolveConfig,
} from '@skingan/cyclegan';
import {
  createBatchSource,
  type Dataset,
  DatasetWriter,
  formatProblem,
  loadDataset,
  loadImages,
  readSplit,
  selectSplit,
  writeGrid,
} from '@skingan/data';
import * as tf from '@tensorflow/tfjs';
import { type Command, Option } from 'commander';
import { addOptions, flagClassIndex, intOption, presetOption, withBackend } from '../options.js';
import { forceOption, outputGuard } from '../outputs.js';
import { checkRunInputs, type ResumeFlags, resumeFlags } from '../run-inputs.js';
import { printJson, stderrLog } from '../ui/output.js';
import { formatDuration, Progress } from '../ui/progress.js';
import {
  addEvalOptions,
  createTrainingProbe,
  type EvalFlags,
  evalOverrides,
  limitPerClass,
  type TrainingProbe,
} from './quality-eval.js';
import { formatParams, resumeStep, startTrainingSession } from './training-session.js';

interface TrainOptions extends EvalFlags, ResumeFlags {
  a: string;
  b: string;
  data?: string[];
  split?: string;
  preset?: CycleGanPresetName;
  config?: string;
  size?: number;
  loadSize?: number;
  ngf?: number;
  ndf?: number;
  blocks?: number;
  epochs?: number;
  decayEpochs?: number;
  batchSize?: number;
  lr?: number;
  seed?: number;
  checkpointEvery?: number;
  sampleEvery?: number;
  out: string;
  json?: boolean;
}

interface TranslateOptions {
  model: string;
  direction: Direction;
  data: string[];
  class?: string;
  label?: string;
  size?: number;
  batchSize: number;
  format: 'png' | 'jpg';
  out: string;
  json?: boolean;
  force?: boolean;
}

/** One side of an unpaired training set, as recorded in run.json (translate reads the class). */
interface DomainInfo {
  /** The ISIC class the domain's images are (a class filter, or a folder of one class). */
  class: string | null;
  /** Dataset folders the images come from. */
  data: string[];
  images: number;
}

/** `skingan cyclegan train|translate`. */
export function registerCyclegan(program: Command): void {
  const cyclegan = program
    .command('cyclegan')
    .description('CycleGAN (Zhu et al. 2017): unpaired translation between two image domains, e.g. NV → MEL');

  const trainCommand = addOptions(
    addEvalOptions(cyclegan.command('train'))
      .description(
        'train a CycleGAN between domains A and B; writes a run folder (config, metrics, checkpoints, sample grids)',
      )
      .requiredOption('--a <class|dir>', 'domain A: a class of --data (e.g. NV), or a dataset folder')
      .requiredOption('--b <class|dir>', 'domain B: a class of --data (e.g. MEL), or a dataset folder')
      .option('--data <dir...>', 'dataset folder(s) that --a/--b classes are taken from')
      .option('--split <file>', 'split.json of --data: train on its train part only')
      .addOption(
        presetOption(
          'architecture and defaults',
          CYCLEGAN_PRESETS,
          (name, p) => `${name} (${p.description})`,
        ),
      ),
    [
      ['--config <file>', 'JSON with config fields to override (flags override the file)'],
      ['--size <n>', 'training crop and translation size, a multiple of 4 (default: the preset’s)', 'int'],
      ['--load-size <n>', 'size images are resized to before the random crop (default: size·286/256)', 'int'],
      ['--ngf <n>', 'generator width (filters of the first layer)', 'int'],
      ['--ndf <n>', 'discriminator width', 'int'],
      ['--blocks <n>', 'residual blocks per generator', 'int'],
      ['--epochs <n>', 'epochs in total (default: the preset’s)', 'int'],
      ['--decay-epochs <n>', 'last epochs over which the learning rate decays to 0 (default: half)', 'int'],
      ['--batch-size <n>', 'batch size (default 1, as the reference)', 'int'],
      ['--lr <x>', 'Adam learning rate (default 2e-4)', 'number'],
      ['--seed <n>', 'seed for init, crops, flips, image pools and shuffling (default 0)', 'int'],
      ['--checkpoint-every <n>', 'also checkpoint every n steps (default: at the end of each epoch)', 'int'],
      ['--sample-every <n>', 'also write sample grids every n steps (default: each epoch)', 'int'],
    ],
  )
    .requiredOption('--out <dir>', 'run folder to create')
    .option('--json', 'print the result as one JSON object on stdout')
    .action(withBackend(train));
  resumeFlags(trainCommand, 'only epochs and the every-n options may change; --lr after a divergence');

  forceOption(cyclegan.command('translate'))
    .description(
      'translate images of a dataset with a trained CycleGAN into a new dataset folder (labels.csv, images/, provenance.jsonl)',
    )
    .requiredOption('--model <dir>', 'CycleGAN run folder (its newest checkpoint)')
    .addOption(
      new Option('--direction <dir>', 'a2b: generator A → B; b2a: B → A')
        .choices(['a2b', 'b2a'])
        .default('a2b'),
    )
    .requiredOption('--data <dir...>', 'dataset folder(s) with the images to translate')
    .option('--class <name>', 'translate only this class of --data (e.g. NV)')
    .option(
      '--label <name>',
      'class of the translated images (default: the target domain’s class of the run)',
    )
    .option(
      '--size <n>',
      'image size, a multiple of 4 (default: the size the model was trained at)',
      intOption('--size'),
    )
    .option('--batch-size <n>', 'images loaded and written at a time', intOption('--batch-size'), 8)
    .addOption(new Option('--format <ext>', 'image format').choices(['png', 'jpg']).default('png'))
    .requiredOption(
      '--out <dir>',
      'dataset folder to create (an earlier translation there is replaced once this one is complete)',
    )
    .option('--json', 'print the result as one JSON object on stdout')
    .action(withBackend(translate));
}

async function train(opts: TrainOptions): Promise<void> {
  const out = resolve(opts.out);
  const log = stderrLog(opts.json);
  if (opts.a.toUpperCase() === opts.b.toUpperCase() || resolve(opts.a) === resolve(opts.b))
    throw sameDomainsError(opts.a);
  // --out before the data: a mistake there should not cost the time of loading it.
  await checkRunOut(out, { resume: opts.resume, kind: 'training' });
  const shared = opts.data?.length ? await loadDataset(opts.data) : undefined;
  const split = shared && opts.split ? await readSplit(opts.split) : undefined;
  const a = await resolveDomain('--a', opts.a, shared, split, log);
  const b = await resolveDomain('--b', opts.b, shared, split, log);
  const pathsOfA = new Set(a.samples.map((x) => resolve(x.path)));
  if (b.samples.length === a.samples.length && b.samples.every((x) => pathsOfA.has(resolve(x.path)))) {
    throw sameDomainsError(`${opts.a} and ${opts.b}`);
  }

  const config = await resolveTrainConfig(opts, out);
  const info = await checkRunInputs(
    out,
    {
      a: { what: `--a ${opts.a}`, samples: a.samples, labelSpace: ISIC2019 },
      b: { what: `--b ${opts.b}`, samples: b.samples, labelSpace: ISIC2019 },
    },
    { resume: opts.resume, allowDataChange: opts.allowDataChange, log },
  );
  const run = await RunFolder.open<CycleGanConfig>(out, {
    kind: 'cyclegan',
    config,
    resume: opts.resume ?? false,
    info,
    parseSaved: parseCycleGanConfig,
    resumableKeys: ['epochs', 'decayEpochs', 'checkpointEvery', 'sampleEvery', 'eval'],
    retuneKeys: ['lr'],
    resumeDiverged: opts.resumeDiverged ?? false,
  });
  await run.update({ domains: { A: a.info, B: b.info } });
  const firstStep = await resumeStep(out, opts.resume);
  // Images at loadSize; the trainer takes the random crops and flips itself (seeded, resumable).
  const source = (samples: Sample[], seed: number) =>
    createBatchSource(samples, {
      imageSize: config.loadSize,
      batchSize: config.batchSize,
      seed,
      augment: false,
    });
  const sourceA = source(a.samples, config.seed);
  const sourceB = source(b.samples, config.seed + 1);
  let trainer: CycleGanTrainer | undefined;
  let samples: { a: tf.Tensor4D; b: tf.Tensor4D; idsA: string[]; idsB: string[] } | undefined;
  let quality: TrainingProbe | undefined;
  let evalSources: tf.Tensor4D | undefined;
  const stepsPerEpoch = Math.max(sourceA.stepsPerEpoch, sourceB.stepsPerEpoch);
  const session = startTrainingSession({
    label: 'cyclegan',
    epochs: config.epochs,
    stepsPerEpoch,
    firstStep,
    out: opts.out,
    json: opts.json,
    onStop: 'stopping after this step and saving a checkpoint',
  });
  try {
    trainer = new CycleGanTrainer(config);
    const firstA = a.samples.slice(0, config.sampleCount);
    const firstB = b.samples.slice(0, config.sampleCount);
    samples = {
      a: await loadImages(firstA, config.size),
      b: await loadImages(firstB, config.size),
      idsA: firstA.map((s) => s.id),
      idsB: firstB.map((s) => s.id),
    };
    // Evaluations translate the same domain-A images each time and compare them with a fixed
    // sample of B (its one class, or "B" for a folder of several).
    const target = b.info.class ?? 'B';
    let evalConfig = config.eval;
    if (evalConfig.classifier && !b.info.class) {
      log('eval: domain B is not one class: class fidelity is not measured');
      evalConfig = { ...evalConfig, classifier: undefined };
    }
    quality = await createTrainingProbe({
      eval: evalConfig,
      preset: config.preset,
      seed: config.seed,
      classes: [target],
      samples: b.samples.map((x) => ({ ...x, label: 0 })),
      imageSize: config.size,
      log,
      resume: { dir: out, step: firstStep },
    });
    if (quality) {
      const from = limitPerClass(
        a.samples.map((x) => ({ ...x, label: 0 })),
        config.eval.perClass,
        `${config.seed}:eval-sources`,
      );
      evalSources = await loadImages(from, config.size);
    }
    const p = trainer.params();
    log(
      `cyclegan: A ${describeDomain(a.info)} (${a.samples.length} images) ↔ B ${describeDomain(b.info)} (${b.samples.length}), ` +
        `${config.size}² crops of ${config.loadSize}², preset ${config.preset}, ngf ${config.ngf}, ndf ${config.ndf}, ${config.blocks} blocks, ` +
        `${stepsPerEpoch} steps/epoch × ${config.epochs} epochs, G ${formatParams(p.G_A)} ×2, D ${formatParams(p.D_A)} ×2 parameters, ` +
        `~${trainer.memory.summary.peakMiB} MiB${firstStep ? `; resuming at step ${firstStep}` : ''}`,
    );
    const result = await trainer.train(sourceA, sourceB, {
      run,
      samples,
      signal: session.signal,
      // The generators' and discriminators' totals on the bar.
      observer: session.ganObserver((l) => ({ G: l.G ?? 0, D: (l.D_A ?? 0) + (l.D_B ?? 0) })),
      ...(quality && evalSources
        ? {
            evaluate: (translator: ImageTranslator, at: EvalPoint) =>
              quality!.evaluate(() => translator.translate(evalSources!), at),
          }
        : {}),
      onSamples: async (grids) => {
        for (const g of grids) {
          const file = join(run.samplesDir, `step-${String(g.step).padStart(7, '0')}-${g.name}.png`);
          await writeGrid(file, g.images, { rows: g.rows, cols: g.cols, rowLabels: g.rowLabels });
        }
      },
    });
    const completed = result.status === 'completed';
    await run.finish(completed ? 'completed' : 'interrupted');
    const last = result.last?.losses;
    session.finish(!completed, result.step, `cyclegan: trained ${result.step} steps into ${out}`);
    if (opts.json) {
      const summary = {
        run: out,
        status: completed ? 'completed' : 'interrupted',
        step: result.step,
        epoch: result.epoch,
        params: p,
        losses: last ? Object.fromEntries(LOSS_NAMES.map((k) => [k, last[k]])) : null,
        memoryEstimateMiB: trainer.memory.summary.peakMiB,
        seconds: Math.round((Date.now() - session.started) / 1000),
      };
      printJson(summary);
    } else {
      log(`took ${formatDuration(Date.now() - session.started)}; sample grids in ${run.samplesDir}`);
    }
  } catch (e) {
    await run.finish('failed', e);
    throw e;
  } finally {
    session.dispose();
    trainer?.dispose();
    if (samples) tf.dispose([samples.a, samples.b]);
    evalSources?.dispose();
    quality?.dispose();
    sourceA.dispose();
    sourceB.dispose();
  }
}

/**
 * A domain given as a class of --data (filtered, and cut to the split's train part) or as a
 * dataset folder of its own.
 */
/** A CycleGAN between a domain and itself would learn the identity: refuse rather than train it. */
function sameDomainsError(what: string): SkinganError {
  return new SkinganError(
    `--a and --b are the same images (${what}): a CycleGAN translates between two different domains`,
    {
      code: 'USAGE',
      hint: 'give two classes (e.g. --a NV --b MEL with --data DIR) or two dataset folders',
    },
  );
}

async function resolveDomain(
  flag: string,
  value: string,
  shared: Dataset | undefined,
  split: Awaited<ReturnType<typeof readSplit>> | undefined,
  log: (line: string) => void,
): Promise<{ samples: Sample[]; info: DomainInfo }> {
  const upper = value.toUpperCase();
  if (shared && ISIC2019.classes.includes(upper) && !(await pathExists(value))) {
    const label = classIndex(shared.labelSpace, upper);
    const pool = split ? selectSplit(shared, split, 'train') : shared.samples;
    const samples = pool.filter((s) => s.label === label);
    if (samples.length === 0) {
      throw new SkinganError(
        `${flag} ${upper}: no ${upper} images in ${shared.roots.map((r) => r.dir).join(', ')}${split ? ' (train part of the split)' : ''}`,
        {
          code: 'USAGE',
        },
      );
    }
    return { samples, info: { class: upper, data: shared.roots.map((r) => r.dir), images: samples.length } };
  }
  if (!(await pathExists(value))) {
    throw new SkinganError(
      `${flag} ${value}: neither a dataset folder nor ${shared ? 'an ISIC 2019 class' : 'a class (no --data given)'}`,
      {
        code: 'USAGE',
        hint: `give a folder, or --data DIR with a class among ${ISIC2019.classes.join(', ')}`,
      },
    );
  }
  const dataset = await loadDataset(value);
  for (const p of dataset.problems.slice(0, 5)) log(`warning: ${formatProblem(p)}`);
  if (dataset.samples.length === 0)
    throw new SkinganError(`${flag}: no images in this dataset`, { code: 'USAGE', file: resolve(value) });
  const classes = [...new Set(dataset.samples.map((s) => dataset.labelSpace.classes[s.label]!))];
  return {
    samples: dataset.samples,
    info: {
      class: classes.length === 1 ? classes[0]! : null,
      data: [resolve(value)],
      images: dataset.samples.length,
    },
  };
}

function describeDomain(d: DomainInfo): string {
  return d.class
    ? `${d.class}${d.data.length === 1 ? ` of ${basename(d.data[0]!)}` : ''}`
    : basename(d.data[0] ?? '?');
}

/**
 * Preset → --config file → flags. On --resume the run's own config.json is the base, so flags need
 * not be repeated; given flags still override it (and the run refuses changes other than epochs and
 * the every-n options).
 */
async function resolveTrainConfig(opts: TrainOptions, out: string): Promise<CycleGanConfig> {
  const flags: Partial<CycleGanConfigInput> = {
    size: opts.size,
    loadSize: opts.loadSize,
    ngf: opts.ngf,
    ndf: opts.ndf,
    blocks: opts.blocks,
    epochs: opts.epochs,
    decayEpochs: opts.decayEpochs,
    batchSize: opts.batchSize,
    lr: opts.lr,
    seed: opts.seed,
    checkpointEvery: opts.checkpointEvery,
    sampleEvery: opts.sampleEvery,
  };
  if (opts.resume && (await pathExists(join(out, 'config.json')))) {
    const saved = await readRunConfig(out);
    const { preset, ...rest } = saved;
    // Keep the saved derived values unless their source changed.
    return resolveConfig(undefined, {
      ...rest,
      ...defined(flags),
      eval: { ...rest.eval, ...evalOverrides(opts) },
      preset,
    } as Partial<CycleGanConfigInput>);
  }
  const file = opts.config ? await readConfigFile(opts.config) : {};
  const preset = opts.preset ?? (file.preset as CycleGanPresetName | undefined) ?? 'thesis';
  const { preset: _, ...fromFile } = file;
  return resolveConfig(preset, {
    ...fromFile,
    ...defined(flags),
    eval: { ...(fromFile.eval as object | undefined), ...evalOverrides(opts) },
  });
}

function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

async function translate(opts: TranslateOptions): Promise<void> {
  // Class names on the command line are checked before the model loads.
  if (opts.class) flagClassIndex(ISIC2019, opts.class, '--class');
  if (opts.label) flagClassIndex(ISIC2019, opts.label, '--label');
  const guard = outputGuard('cyclegan translate', [opts.model, ...opts.data], opts.force);
  const out = await guard.check(opts.out);
  const translator = await loadTranslator(opts.model, opts.direction);
  try {
    const run = translator.source.run ?? resolve(opts.model);
    const step = translator.source.step ?? null;
    const target = (
      opts.label ?? (await domainClass(run, opts.direction === 'a2b' ? 'B' : 'A'))
    )?.toUpperCase();
    if (!target) {
      throw new SkinganError('the run does not record the class of its target domain', {
        code: 'USAGE',
        file: join(run, 'run.json'),
        hint: 'pass --label CLASS for the translated images',
      });
    }
    const label = classIndex(ISIC2019, target);
    const dataset = await loadDataset(opts.data);
    const wanted = opts.class?.toUpperCase();
    const samples = wanted
      ? dataset.samples.filter((s) => s.label === classIndex(dataset.labelSpace, wanted))
      : dataset.samples;
    if (samples.length === 0) {
      throw new SkinganError(
        `no ${wanted ?? ''} images to translate in ${opts.data.join(', ')}`.replace('  ', ' '),
        { code: 'USAGE' },
      );
    }
    const size = opts.size ?? translator.imageSize;
    // Written into a temp folder that replaces `out` when complete: a kill or a full disk leaves
    // the previous translation (if any) as it was, and rerunning the command starts clean.
    const progress = new Progress({
      label: 'cyclegan translate',
      total: samples.length,
      unit: 'images',
      quiet: opts.json,
    });
    let count = 0;
    await guard.claim(out);
    await replaceDirAtomic(out, async (tmp) => {
      const writer = await DatasetWriter.open(tmp, {
        labelSpace: ISIC2019,
        format: opts.format,
        idPrefix: 'cyclegan',
        command: 'cyclegan translate',
        meta: {
          generator: 'cyclegan',
          run,
          step,
          direction: opts.direction,
          sourceClass: wanted ?? null,
          label: target,
          size,
        },
      });
      for (let i = 0; i < samples.length; i += opts.batchSize) {
        const chunk = samples.slice(i, i + opts.batchSize);
        const images = await loadImages(chunk, size);
        const translated = translator.translate(images);
        try {
          await writer.add(
            translated,
            chunk.map(() => label),
            undefined,
            chunk.map((s) => ({
              generator: 'cyclegan',
              run,
              step,
              direction: opts.direction,
              source: s.id,
              sourceClass: dataset.labelSpace.classes[s.label],
              sourcePath: s.path,
            })),
          );
        } finally {
          tf.dispose([images, translated]);
        }
        progress.update(Math.min(samples.length, i + opts.batchSize));
      }
      await writer.close();
      count = writer.size;
    });
    progress.finish(`cyclegan translate: wrote ${count} ${target} images (${opts.direction}) to ${out}`);
    if (opts.json) {
      printJson({ out, run, step, direction: opts.direction, label: target, size, count });
    }
  } finally {
    translator.dispose();
  }
}

async function domainClass(run: string, domain: 'A' | 'B'): Promise<string | null> {
  try {
    const json = JSON.parse(await fs.readFile(join(run, 'run.json'), 'utf8')) as {
      domains?: Record<string, DomainInfo>;
    };
    return json.domains?.[domain]?.class ?? null;
  } catch {
    return null;
  }
}
