import { join, resolve } from 'node:path';
import {
  CLASSIFIER_PRESETS,
  type ClassifierConfig,
  findClassifierDir,
  findLearningRate,
  ImageClassifier,
  planPhases,
  predictBatches,
  RESNET_ARCH_NAMES,
  resolveClassifierConfig,
  resolvePretrained,
  trainClassifier,
  writeLrFinderReport,
  writeProbabilitiesCsv,
} from '@skingan/classifier';
import {
  checkRunOut,
  type LabelSpace,
  pathExists,
  RunFolder,
  readConfigFile,
  type Sample,
  SkinganError,
  writeJsonAtomic,
} from '@skingan/core';
import { createBatchSource, loadDataset, SPLIT_PARTS, type SplitPart } from '@skingan/data';
import {
  classificationReport,
  classificationTable,
  confusionMarkdown,
  renderMarkdown,
} from '@skingan/metrics';
import { type Command, Option } from 'commander';
import { addOptions, intOption, withBackend } from '../options.js';
import { forceOption, outputGuard } from '../outputs.js';
import { checkRunInputs, describeInput, type ResumeFlags, resumeFlags } from '../run-inputs.js';
import { printJson, stderrLog } from '../ui/output.js';
import { formatDuration, Progress } from '../ui/progress.js';
import { registerClassifierHead } from './classifier-head.js';
import { selectPart, trainingData, warnProblems } from './training-data.js';
import { resumeStep, startTrainingSession } from './training-session.js';

/** Flags shared by `train` and `lr-find`: what network, at what size, with what data. */
interface ModelFlags {
  data: string[];
  split?: string;
  add?: string[];
  classes?: string;
  preset: string;
  config?: string;
  arch?: string;
  pretrained?: string;
  size?: number;
  batchSize?: number;
  lr?: number;
  wd?: number;
  augment?: boolean;
  balance?: ClassifierConfig['balance'];
  seed?: number;
  json?: boolean;
}

interface TrainFlags extends ModelFlags, ResumeFlags {
  out: string;
  epochs?: number;
  freezeEpochs?: number;
  patience?: number;
}

interface LrFindFlags extends ModelFlags {
  out: string;
  force?: boolean;
  startLr: number;
  endLr: number;
  numIt: number;
  freezeEpochs?: number;
}

interface EvalFlags {
  model: string;
  data: string[];
  split?: string;
  part?: SplitPart;
  batchSize: number;
  out?: string;
  json?: boolean;
  force?: boolean;
}

/** `skingan classifier train|eval|predict|lr-find`. */
export function registerClassifier(program: Command): void {
  const classifier = program
    .command('classifier')
    .description(
      'lesion classifiers the fastai way: ImageNet ResNet-50 fine-tuning or ResNets from scratch, one-cycle, LR finder',
    );

  const trainCommand = addModelFlags(
    classifier
      .command('train')
      .description(
        'train a classifier into a run folder (config, metrics.jsonl, checkpoints, model/): fine_tune for pretrained weights, fit_one_cycle from scratch',
      ),
  ).requiredOption('--out <dir>', 'run folder to create');
  addOptions(trainCommand, [
    ['--epochs <n>', 'epochs with everything trainable (default: the preset’s)', 'int'],
    ['--freeze-epochs <n>', 'head-only epochs before unfreezing (pretrained weights only)', 'int'],
    [
      '--patience <n>',
      'early stopping: epochs without a better validation balanced accuracy, after the one-cycle warm-up',
      'int',
    ],
  ]).action(withBackend(train));
  resumeFlags(trainCommand, 'only --epochs and --patience may change; --lr after a divergence');

  const lrFindCommand = addModelFlags(
    classifier
      .command('lr-find')
      .description(
        'fastai’s learning-rate finder: an exponential sweep on the train part; writes lr-find.json and lr-find.svg',
      ),
  ).requiredOption('--out <dir>', 'folder for lr-find.json and lr-find.svg');
  addOptions(lrFindCommand, [
    ['--force', 'overwrite lr-find.json/svg even if this command did not write them'],
    ['--start-lr <x>', 'first learning rate', 'number', 1e-7],
    ['--end-lr <x>', 'last learning rate', 'number', 10],
    ['--num-it <n>', 'steps of the sweep (at least 6)', 'int', 100],
    [
      '--freeze-epochs <n>',
      'with pretrained weights, >0 (default) sweeps the head alone as fine_tune starts',
      'int',
    ],
  ]).action(withBackend(lrFind));

  addEvalFlags(
    classifier
      .command('eval')
      .description(
        'per-class precision/recall/F1/AUC, accuracy, balanced accuracy and the confusion matrix on a dataset',
      ),
  )
    .option('--out <file>', 'also write the report as JSON to this file')
    .option('--json', 'print the report as one JSON object')
    .action(withBackend(evaluate));

  addEvalFlags(
    classifier.command('predict').description('class probabilities of every image as CSV (image,<class>,…)'),
  )
    .requiredOption('--out <file>', 'CSV file to write')
    .option('--json', 'print a summary as JSON')
    .action(withBackend(predict));
  registerClassifierHead(classifier);
}

function addModelFlags(cmd: Command): Command {
  return addOptions(
    cmd
      .requiredOption('--data <dir...>', 'dataset folder(s) (labels.csv + images/, or the ISIC 2019 layout)')
      .option(
        '--split <file>',
        'split.json: train on its train part, validate on its val part (test never used)',
      )
      .option('--add <dir...>', 'extra training folders used in full, e.g. synthetic images')
      .option('--classes <list>', 'comma-separated classes (default: the 8 ISIC 2019 classes)')
      .addOption(
        new Option(
          '--preset <name>',
          'defaults: thesis (ImageNet ResNet-50, 224²), cpu (small ResNet, 128²), test (tiny)',
        )
          .choices(Object.keys(CLASSIFIER_PRESETS))
          .default('thesis'),
      )
      .option('--config <file>', 'JSON with config fields (flags override it)')
      .addOption(new Option('--arch <name>', 'architecture trained from scratch').choices(RESNET_ARCH_NAMES))
      .option(
        '--pretrained <weights>',
        'start from weights: imagenet (Keras ResNet-50, see `skingan weights fetch`), a classifier run, or a tfjs model folder; "none" trains from scratch',
      ),
    [
      ['--size <n>', 'image size (default: the preset’s)', 'int'],
      ['--batch-size <n>', 'batch size (default: the preset’s)', 'int'],
      ['--lr <x>', 'peak learning rate (from scratch) or fine_tune base_lr (pretrained)', 'number'],
      ['--wd <x>', 'decoupled weight decay (fastai: 0.01)', 'number'],
      ['--augment', 'random flips, turns, zoom/shift and colour jitter'],
      ['--no-augment', 'no augmentation (a frozen backbone then computes its features once)'],
    ],
  )
    .addOption(
      new Option(
        '--balance <how>',
        'class balance: oversample (sampler), weight the loss (weights), or none',
      ).choices(['none', 'sampler', 'weights']),
    )
    .option('--seed <n>', 'seed for init, shuffling, augmentation and dropout', intOption('--seed'))
    .option('--json', 'print the result as one JSON object on stdout');
}

function addEvalFlags(cmd: Command): Command {
  return forceOption(cmd)
    .requiredOption('--model <dir>', 'classifier run folder (or its model/ folder)')
    .requiredOption('--data <dir...>', 'dataset folder(s)')
    .option('--split <file>', 'split.json: only its --part (default test); without it every image of --data')
    .addOption(new Option('--part <name>', 'which part of --split').choices([...SPLIT_PARTS]))
    .option('--batch-size <n>', 'images per forward pass', intOption('--batch-size'), 32);
}

function resolveConfig(
  opts: ModelFlags & { epochs?: number; freezeEpochs?: number; patience?: number },
  file: Record<string, unknown>,
): ClassifierConfig {
  const pretrained =
    opts.pretrained === undefined ? undefined : opts.pretrained === 'none' ? null : opts.pretrained;
  return resolveClassifierConfig(
    opts.preset,
    file,
    {
      arch: opts.arch,
      pretrained,
      imageSize: opts.size,
      batchSize: opts.batchSize,
      lr: opts.lr,
      wd: opts.wd,
      augment: opts.augment,
      balance: opts.balance,
      seed: opts.seed,
      epochs: opts.epochs,
      freezeEpochs: opts.freezeEpochs ?? (pretrained === null ? 0 : undefined),
      patience: opts.patience,
    },
    opts.config ? `config ${opts.config}` : 'config',
  );
}

/** The training batches as the config asks: augmented and class-balanced or not. */
function trainBatches(samples: Sample[], config: ClassifierConfig, labelSpace: LabelSpace) {
  return createBatchSource(samples, {
    imageSize: config.imageSize,
    batchSize: config.batchSize,
    seed: config.seed,
    augment: config.augment,
    balanced: config.balance === 'sampler',
    labelSpace,
  });
}

async function train(opts: TrainFlags): Promise<void> {
  const say = stderrLog(opts.json);
  const out = resolve(opts.out);
  const config = resolveConfig(opts, opts.config ? await readConfigFile(opts.config) : {});
  const phases = planPhases(config);
  // --out before the data: a mistake there should not cost the time of loading it.
  await checkRunOut(out, { resume: opts.resume, kind: 'training' });
  const { dataset, train: trainSamples, val: valSamples } = await trainingData(opts, say);
  // Missing weights stop the run before its folder exists: otherwise the rerun after
  // `skingan weights fetch` would find "a run already exists here".
  if (config.pretrained && !(await findClassifierDir(config.pretrained).catch(() => undefined))) {
    await resolvePretrained(config.pretrained);
  }
  const trainSource = trainBatches(trainSamples, config, dataset.labelSpace);
  const valSource = valSamples.length
    ? createBatchSource(valSamples, {
        imageSize: config.imageSize,
        batchSize: config.batchSize,
        seed: config.seed,
        shuffle: false,
      })
    : undefined;
  const info = await checkRunInputs(
    out,
    {
      train: {
        what: `training images (${describeInput('--data', opts.data, opts.split)}${opts.add?.length ? ` + ${describeInput('--add', opts.add)}` : ''})`,
        samples: trainSamples,
        labelSpace: dataset.labelSpace,
      },
      val: {
        what: `validation images (${describeInput('--data', opts.data, opts.split, 'val')})`,
        samples: valSamples,
        labelSpace: dataset.labelSpace,
      },
    },
    { resume: opts.resume, allowDataChange: opts.allowDataChange, log: say },
  );
  const run = await RunFolder.open(out, {
    kind: 'classifier',
    config: {
      ...config,
      labelSpace: dataset.labelSpace,
      data: opts.data.map((d) => resolve(d)),
      add: (opts.add ?? []).map((d) => resolve(d)),
      split: opts.split ? resolve(opts.split) : null,
    },
    resume: opts.resume,
    resumableKeys: ['epochs', 'patience'],
    retuneKeys: ['lr'],
    resumeDiverged: opts.resumeDiverged ?? false,
    info,
  });
  const totalEpochs = phases.reduce((n, p) => n + p.epochs, 0);
  const session = startTrainingSession({
    label: 'classifier',
    epochs: totalEpochs,
    stepsPerEpoch: trainSource.stepsPerEpoch,
    firstStep: await resumeStep(out, opts.resume),
    out: opts.out,
    json: opts.json,
    onStop: 'stopping now; --resume continues from the last epoch checkpoint',
  });
  const { progress, bar } = session;
  const what = config.pretrained ? `${config.arch} from ${config.pretrained}` : `${config.arch} from scratch`;
  say(
    `classifier: ${what}, ${trainSamples.length} train / ${valSamples.length} val images, ${config.imageSize}², batch ${config.batchSize}, ` +
      phases
        .map(
          (p) =>
            `${p.epochs} ${p.frozen ? 'frozen' : 'unfrozen'} epoch(s) at lr ≤ ${Math.max(...p.lrMax).toExponential(1)}`,
        )
        .join(' then '),
  );
  try {
    const { classifier, result } = await trainClassifier({
      config,
      labelSpace: dataset.labelSpace,
      train: trainSource,
      val: valSource,
      trainLabels: trainSamples.map((s) => s.label),
      run,
      resume: opts.resume,
      signal: session.signal,
      log: (l) => progress.log(l),
      // The learner writes metrics.jsonl; this is the progress display.
      observer: {
        onStep: (e) => bar.onStep?.(e),
        onEpoch: (e) => {
          const m = e.metrics ?? {};
          const val =
            m.valBalancedAccuracy !== undefined
              ? `  val loss ${e.losses.valLoss?.toFixed(3)}  acc ${m.valAccuracy?.toFixed(3)}  bal.acc ${m.valBalancedAccuracy.toFixed(3)}`
              : '';
          progress.log(
            `epoch ${e.epoch + 1}/${e.epochs}  loss ${e.losses.loss?.toFixed(3)}${val}  (${formatDuration(e.elapsedMs)})`,
          );
        },
      },
    });
    const interrupted = result.status === 'stopped';
    const summary = {
      run: run.dir,
      status: interrupted ? 'interrupted' : 'completed',
      arch: config.arch,
      pretrained: config.pretrained,
      params: classifier.trainableParams(),
      epochs: result.epochs,
      steps: result.step,
      stoppedEarly: result.stoppedEarly,
      best: result.best,
      seconds: Math.round((Date.now() - session.started) / 1000),
    };
    classifier.dispose();
    await run.update({ params: summary.params, best: result.best, stoppedEarly: result.stoppedEarly });
    await run.finish(interrupted ? 'interrupted' : 'completed');
    session.finish(
      interrupted,
      result.step,
      `classifier: ${result.epochs} epochs into ${run.dir}${result.best ? ` (best epoch ${result.best.epoch + 1}: val balanced accuracy ${result.best.valBalancedAccuracy?.toFixed(3)})` : ''}`,
    );
    if (opts.json) printJson(summary);
  } catch (e) {
    await run.finish('failed', e);
    throw e;
  } finally {
    session.dispose();
    trainSource.dispose();
    valSource?.dispose();
  }
}

async function lrFind(opts: LrFindFlags): Promise<void> {
  const say = stderrLog(opts.json);
  const guard = outputGuard('classifier lr-find', [], opts.force);
  const outputs = ['lr-find.json', 'lr-find.svg'].map((f) => join(resolve(opts.out), f));
  for (const f of outputs) await guard.check(f);
  const config = resolveConfig(opts, opts.config ? await readConfigFile(opts.config) : {});
  const { dataset, train: samples } = await trainingData(opts, say);
  const source = trainBatches(samples, config, dataset.labelSpace);
  const progress = new Progress({
    label: 'lr-find',
    total: Math.max(6, opts.numIt), // the finder's minimum
    unit: 'steps',
    quiet: opts.json,
  });
  try {
    const r = await findLearningRate({
      config,
      labelSpace: dataset.labelSpace,
      train: source,
      startLr: opts.startLr,
      endLr: opts.endLr,
      numIt: opts.numIt,
      log: (l) => progress.log(l),
      onStep: (i, lr, loss) => progress.update(i + 1, { lr: lr.toExponential(1), loss }),
    });
    const out = resolve(opts.out);
    for (const f of outputs) await guard.claim(f);
    const files = await writeLrFinderReport(out, r, {
      arch: config.arch,
      pretrained: config.pretrained,
      imageSize: config.imageSize,
      batchSize: config.batchSize,
      frozen: r.frozen,
    });
    progress.finish(`lr-find: ${r.lrs.length} steps (${r.stopped})`);
    const s = r.suggestion;
    const summary = { suggestion: s, stopped: r.stopped, steps: r.lrs.length, frozen: r.frozen, ...files };
    if (opts.json) printJson(summary);
    else {
      process.stdout.write(
        s
          ? `suggested learning rate (valley): ${s.valley.toExponential(2)}   steep: ${s.steep.toExponential(2)}   minimum/10: ${s.minimum.toExponential(2)}\n`
          : 'too few steps for a suggestion: raise --num-it or lower --start-lr\n',
      );
      process.stdout.write(`curve: ${files.svg}\n`);
    }
  } finally {
    source.dispose();
  }
}

/** The samples to evaluate or predict: a split's part (default test), or every image. */
async function evalSamples(
  opts: EvalFlags,
  classes: readonly string[],
  say: (l: string) => void,
): Promise<{ samples: Sample[]; what: string }> {
  const dataset = await loadDataset(opts.data, { classes });
  warnProblems(dataset, say);
  return selectPart(dataset, opts, 'test');
}

async function runPredictions(opts: EvalFlags, say: (l: string) => void) {
  const classifier = await ImageClassifier.load(opts.model);
  const classes = classifier.labelSpace.classes;
  try {
    const { samples, what } = await evalSamples(opts, classes, say);
    if (samples.length === 0) throw new SkinganError(`no images in ${what}`, { code: 'USAGE' });
    const source = createBatchSource(samples, {
      imageSize: classifier.inputSize,
      batchSize: opts.batchSize,
      seed: 0,
      shuffle: false,
      strict: true,
    });
    const progress = new Progress({
      label: 'predict',
      total: samples.length,
      unit: 'images',
      quiet: opts.json,
    });
    try {
      const table = await predictBatches(classifier, source.epoch(0), (n) => progress.update(n));
      progress.finish(`predicted ${table.ids.length} images (${what})`);
      return { table, classes: [...classes], what };
    } finally {
      source.dispose();
    }
  } finally {
    classifier.dispose();
  }
}

/** What predict and eval read, so their --out may not be one of them. */
function evalInputs(opts: EvalFlags): (string | undefined)[] {
  return [opts.model, ...opts.data, opts.split];
}

async function evaluate(opts: EvalFlags): Promise<void> {
  const say = stderrLog(opts.json);
  const guard = outputGuard('classifier eval', evalInputs(opts), opts.force);
  const out = opts.out ? await guard.check(opts.out) : undefined;
  const { table, classes, what } = await runPredictions(opts, say);
  const report = classificationReport(table.labels, table.probs, { classes });
  const json = { model: resolve(opts.model), images: what, ...report };
  if (out) {
    await guard.claim(out);
    await writeJsonAtomic(out, json);
  }
  if (opts.json) {
    printJson(json);
    return;
  }
  process.stdout.write(
    `${renderMarkdown(classificationTable(report, undefined, { title: `${opts.model} on ${what}` }))}\n### Confusion matrix\n\n${confusionMarkdown(report)}`,
  );
}

async function predict(opts: EvalFlags & { out: string }): Promise<void> {
  const say = stderrLog(opts.json);
  const guard = outputGuard('classifier predict', evalInputs(opts), opts.force);
  const out = await guard.check(opts.out);
  if (await pathExists(out)) say(`note: replacing ${out}`);
  const { table, classes, what } = await runPredictions(opts, say);
  await guard.claim(out);
  await writeProbabilitiesCsv(out, table, classes);
  if (opts.json) printJson({ out, images: table.ids.length, of: what, classes });
  else say(`wrote ${out}`);
}
