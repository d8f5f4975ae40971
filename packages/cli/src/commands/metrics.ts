import { promises as fs } from 'node:fs';
import { resolve } from 'node:path';
import { isSkinganError, type Sample, SkinganError } from '@skingan/core';
import { type Dataset, formatProblem, loadDataset } from '@skingan/data';
import {
  classificationIntervals,
  classificationReport,
  classificationTable,
  confusionMarkdown,
  extractorNote,
  type FeatureMatrix,
  fid,
  ganMetricsTable,
  kid,
  loadFeatureExtractor,
  parsePredictionsCsv,
  perClass,
  prdc,
  renderCsv,
  renderMarkdown,
} from '@skingan/metrics';
import type { Command } from 'commander';
import { addOptions, initCommandBackend, intOption } from '../options.js';
import { printJson } from '../ui/output.js';
import { extractorOptions, featureRowsByPart, openFeatureSource } from './features.js';
import { addExtractorOptions, measureImages, registerGanQuality } from './metrics-gan.js';

interface ClassifyOptions {
  pred: string;
  data: string;
  bootstrap: number;
  seed: number;
  level: number;
  json?: boolean;
  csv?: boolean;
  allowPartial?: boolean;
}

interface GanOptions {
  real: string;
  fake: string;
  extractor: string;
  layer?: string;
  inputSize?: number;
  perClass?: boolean;
  batchSize: number;
  json?: boolean;
  /** Vectors from (and into) the fast path's feature store, of the images decoded at `size`. */
  cache?: boolean;
  /** Side the images are decoded at (default: the store's 128 with `cache`, else the extractor's input). */
  size?: number;
  store?: string;
}

type GanMetric = 'fid' | 'kid' | 'prd';

/** `--size` with `--cache` by default: the side `features extract` stores by default. */
const STORE_SIZE = 128;

/** `skingan metrics classify|fid|kid|prd|gan`. */
export function registerMetrics(program: Command): void {
  const metrics = program
    .command('metrics')
    .description(
      'classification metrics with bootstrap intervals; FID, KID, precision/recall and density/coverage of generated images',
    );

  const classifyCmd = metrics
    .command('classify')
    .description(
      'accuracy, balanced accuracy, per-class precision/recall/F1/AUC and confusion matrix of a predictions CSV',
    )
    .requiredOption(
      '--pred <file>',
      'predictions CSV: image,<class>,<class>,… (as `skingan classifier predict` writes it)',
    )
    .requiredOption('--data <dir>', 'dataset folder with the true labels (labels.csv + images/)');
  addOptions(classifyCmd, [
    ['--bootstrap <n>', 'bootstrap resamples for the 95% intervals (0: none)', 'int', 2000],
    ['--seed <n>', 'bootstrap seed', 'int', 0],
    ['--level <p>', 'interval coverage', 'number', 0.95],
    ['--allow-partial', 'score predictions that cover only some images of --data (a warning says how many)'],
    ['--json', 'print one JSON object'],
    ['--csv', 'print the table as CSV'],
  ]).action(async (opts: ClassifyOptions) => classify(opts));

  const describe: Record<GanMetric, string> = {
    fid: 'Fréchet distance between real and generated image features (FID)',
    kid: 'Kernel Inception Distance: unbiased MMD², cubic kernel, mean ± std over subsets',
    prd: 'precision/recall (k = 3) and density/coverage (k = 5) of generated images',
  };
  for (const metric of ['fid', 'kid', 'prd'] as const) {
    const cmd = addExtractorOptions(
      metrics
        .command(metric)
        .description(describe[metric])
        .requiredOption('--real <dir>', 'real dataset folder (labels.csv + images/)')
        .requiredOption('--fake <dir>', 'generated dataset folder (labels.csv + images/)'),
    )
      .option('--per-class', 'also compute the metric per class (real class c vs generated class c)')
      .option('--batch-size <n>', 'images per forward pass', intOption('--batch-size'), 16)
      .option(
        '--cache',
        "read the vectors from the feature store of `features extract` (and store the missing ones): an image's vector is computed once for every metric, head and experiment job",
      )
      .option(
        '--size <n>',
        'side both folders are decoded at before the extractor resizes them to its input: the generator’s size measures real and generated images at the same detail (default: with --cache 128, the store’s; without, the extractor’s input size)',
        intOption('--size'),
      )
      .option(
        '--store <dir>',
        'with --cache: the feature store folder (default: the one of the extractor and --size)',
      )
      .option('--json', 'print one JSON object');
    if (metric === 'kid') {
      addOptions(cmd, [
        ['--subsets <n>', 'random subsets', 'int', 100],
        ['--subset-size <n>', 'largest subset size', 'int', 1000],
        ['--seed <n>', 'subset seed', 'int', 0],
      ]);
    }
    cmd.action(async (opts: GanOptions & Record<string, unknown>, c: Command) => ganMetric(metric, opts, c));
  }
  registerGanQuality(metrics, warnProblems);
}

async function classify(opts: ClassifyOptions): Promise<void> {
  const predPath = resolve(opts.pred);
  let text: string;
  try {
    text = await fs.readFile(predPath, 'utf8');
  } catch (e) {
    throw new SkinganError('cannot read the predictions file', {
      code: 'NOT_FOUND',
      file: predPath,
      cause: e,
    });
  }
  const table = await parsePredictionsCsv(text, predPath);
  let dataset: Dataset;
  try {
    dataset = await loadDataset(opts.data, { classes: table.classes });
  } catch (e) {
    if (isSkinganError(e) && e.code === 'UNKNOWN_CLASS') {
      throw new SkinganError(`a class column of the predictions is not an ISIC 2019 class: ${e.message}`, {
        code: 'USAGE',
        file: predPath,
        line: 1,
        hint: e.hint,
      });
    }
    throw e;
  }
  warnProblems(dataset, '--data');
  const labelOf = new Map(dataset.samples.map((s) => [s.id, s.label]));
  const labels: number[] = [];
  table.ids.forEach((id, i) => {
    const label = labelOf.get(id);
    if (label === undefined) {
      const why = dataset.skippedIds.has(id)
        ? 'its label is a class without a column here, UNK, or its image is missing'
        : `it is not in ${resolve(opts.data)}`;
      throw new SkinganError(`image ${id} has a prediction but no usable true label: ${why}`, {
        file: predPath,
        line: i + 2,
        hint: 'predict the same dataset you pass to --data',
      });
    }
    labels.push(label);
  });
  const predicted = new Set(table.ids);
  const unpredicted = dataset.samples.filter((s) => !predicted.has(s.id));
  if (unpredicted.length > 0) {
    const cover = `the predictions cover ${table.ids.length} of the ${dataset.samples.length} images of ${resolve(opts.data)} (${unpredicted.length} without a prediction, e.g. ${unpredicted
      .slice(0, 3)
      .map((s) => s.id)
      .join(', ')})`;
    if (!opts.allowPartial) {
      throw new SkinganError(cover, {
        code: 'USAGE',
        file: predPath,
        hint: 'predict every image of --data, or pass as --data the images predicted (e.g. `skingan data subset D --split S --part test --out T`); --allow-partial scores them anyway',
      });
    }
    process.stderr.write(
      `skingan: warning: ${predPath}: ${cover}; scoring those ${table.ids.length} only (--allow-partial)\n`,
    );
  }
  const report = classificationReport(labels, table.probs, { classes: table.classes });
  const intervals =
    opts.bootstrap > 0
      ? classificationIntervals(labels, table.probs, table.classes, {
          resamples: opts.bootstrap,
          seed: opts.seed,
          level: opts.level,
        })
      : undefined;
  if (opts.json) {
    printJson({ ...report, intervals: intervals ?? null });
    return;
  }
  const t = classificationTable(report, intervals, { title: `Classification metrics: ${opts.pred}` });
  if (opts.csv) {
    process.stdout.write(renderCsv(t));
    return;
  }
  process.stdout.write(`${renderMarkdown(t)}\n### Confusion matrix\n\n${confusionMarkdown(report)}`);
}

async function ganMetric(
  metric: GanMetric,
  opts: GanOptions & Record<string, unknown>,
  cmd: Command,
): Promise<void> {
  await initCommandBackend(cmd, opts.json);
  const [real, fake] = await Promise.all([loadDataset(opts.real), loadDataset(opts.fake)]);
  for (const [d, flag] of [
    [real, '--real'],
    [fake, '--fake'],
  ] as const) {
    warnProblems(d, flag);
    if (d.samples.length < 2) {
      throw new SkinganError(`${flag} has ${d.samples.length} usable images; at least 2 are needed`, {
        code: 'USAGE',
        file: d.roots[0]?.dir,
      });
    }
  }
  const { extractor, realF, fakeF, decodeSize, stored } = opts.cache
    ? await storedFeatures(opts, real.samples, fake.samples)
    : await computedFeatures(opts, real.samples, fake.samples);
  try {
    const compute = (r: FeatureMatrix, g: FeatureMatrix) => {
      if (metric === 'fid') return { fid: fid(r, g) };
      if (metric === 'kid') {
        return {
          kid: kid(r, g, {
            subsets: opts.subsets as number,
            subsetSize: opts.subsetSize as number,
            seed: opts.seed as number,
          }),
        };
      }
      return { prdc: prdc(r, g) };
    };
    const all = compute(realF, fakeF);
    const classes = real.labelSpace.classes;
    const per = opts.perClass
      ? perClass(
          realF,
          real.samples.map((s) => s.label),
          fakeF,
          fake.samples.map((s) => s.label),
          classes,
          compute,
          { minRows: metric === 'prd' ? 6 : 2 },
        )
      : undefined;
    if (opts.json) {
      const out: Record<string, unknown> = {
        ...flatten(all),
        extractor: extractor.name,
        dim: realF.cols,
        decodeSize,
        ...(stored ? { features: stored } : {}),
      };
      if (per)
        out.perClass = per.map((p) => ({
          class: p.class,
          ...(p.value ? flatten(p.value) : { skipped: p.skipped }),
        }));
      printJson(out);
      return;
    }
    process.stdout.write(`${headline(all, extractor.name, decodeSize, realF.rows, fakeF.rows)}\n`);
    if (per) {
      const entries = per
        .filter((p) => p.value)
        .map((p) => ({ label: p.class, extractor: extractor.name, ...p.value! }));
      process.stdout.write(`\n${renderMarkdown(ganMetricsTable(entries, { title: 'Per class' }))}`);
      for (const p of per.filter((q) => !q.value))
        process.stdout.write(`- ${p.class}: skipped, ${p.skipped}\n`);
    } else {
      process.stdout.write(`${extractorNote(extractor.name)}\n`);
    }
  } finally {
    extractor.dispose();
  }
}

type Features = {
  extractor: { name: string; dispose(): void };
  realF: FeatureMatrix;
  fakeF: FeatureMatrix;
  /** The side both folders were decoded at. */
  decodeSize: number;
  /** With --cache: distinct images whose vectors were computed now, and found in the store. */
  stored?: { extracted: number; reused: number };
};

async function computedFeatures(opts: GanOptions, real: Sample[], fake: Sample[]): Promise<Features> {
  const extractor = await loadFeatureExtractor(opts.extractor, extractorOptions(opts));
  try {
    const measure = (s: Sample[], what: string) =>
      measureImages(extractor, undefined, s, opts.batchSize, what, opts.size);
    const { features: realF } = await measure(real, 'real');
    const same = resolve(opts.real) === resolve(opts.fake);
    const fakeF = same ? realF : (await measure(fake, 'generated')).features;
    return { extractor, realF, fakeF, decodeSize: opts.size ?? extractor.inputSize };
  } catch (e) {
    extractor.dispose();
    throw e;
  }
}

async function storedFeatures(opts: GanOptions, real: Sample[], fake: Sample[]): Promise<Features> {
  const source = await openFeatureSource({
    extractor: opts.extractor,
    size: opts.size ?? STORE_SIZE,
    batchSize: opts.batchSize,
    ...(opts.layer ? { layer: opts.layer } : {}),
    ...(opts.inputSize !== undefined ? { inputSize: opts.inputSize } : {}),
    ...(opts.store ? { store: opts.store } : {}),
  });
  try {
    const { parts, extracted, reused } = await featureRowsByPart(source, [real, fake], {
      label: 'features',
      quiet: opts.json,
    });
    const [realF, fakeF] = parts.map((p) => ({
      rows: p.labels.length,
      cols: p.dim,
      data: Float64Array.from(p.x),
    }));
    // The source disposes its extractor; only the name is needed after.
    return {
      extractor: { name: source.extractor.name, dispose() {} },
      realF: realF!,
      fakeF: fakeF!,
      decodeSize: source.flags.size,
      stored: { extracted, reused },
    };
  } finally {
    source.dispose();
  }
}

/** Skipped rows/images go to stderr (stdout stays the result): a metric over fewer images than expected should not pass silently. */
function warnProblems(d: Dataset, flag: string): void {
  if (d.problems.length === 0) return;
  const shown = d.problems.slice(0, 5).map((p) => `  ${formatProblem(p)}`);
  const more = d.problems.length > 5 ? [`  … and ${d.problems.length - 5} more`] : [];
  process.stderr.write(
    `skingan: ${flag}: ${d.samples.length} images used, skipped:\n${[...shown, ...more].join('\n')}\n`,
  );
}

type Computed = {
  fid?: ReturnType<typeof fid>;
  kid?: ReturnType<typeof kid>;
  prdc?: ReturnType<typeof prdc>;
};

function flatten(c: Computed): Record<string, number> {
  if (c.fid) return { fid: c.fid.fid, nReal: c.fid.nReal, nFake: c.fid.nFake };
  if (c.kid) {
    const { kid: value, std, subsets, subsetSize, nReal, nFake } = c.kid;
    return { kid: value, kidStd: std, subsets, subsetSize, nReal, nFake };
  }
  const p = c.prdc!;
  return {
    precision: p.precision,
    recall: p.recall,
    density: p.density,
    coverage: p.coverage,
    kPrecisionRecall: p.kPrecisionRecall,
    kDensityCoverage: p.kDensityCoverage,
    nReal: p.nReal,
    nFake: p.nFake,
  };
}

function headline(c: Computed, extractor: string, decodeSize: number, nReal: number, nFake: number): string {
  const where = `(extractor: ${extractor}; ${nReal} real vs ${nFake} generated images, decoded at ${decodeSize}²)`;
  if (c.fid) return `FID ${c.fid.fid.toFixed(4)} ${where}`;
  if (c.kid) return `KID ${c.kid.kid.toFixed(6)} ± ${c.kid.std.toFixed(6)} ${where}`;
  const p = c.prdc!;
  return [
    `precision ${p.precision.toFixed(4)}  recall ${p.recall.toFixed(4)}  (k = ${p.kPrecisionRecall})`,
    `density   ${p.density.toFixed(4)}  coverage ${p.coverage.toFixed(4)}  (k = ${p.kDensityCoverage})`,
    where,
  ].join('\n');
}
