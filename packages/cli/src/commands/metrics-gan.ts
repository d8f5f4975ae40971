import { resolve } from 'node:path';
import { ImageClassifier } from '@skingan/classifier';
import { type FeatureExtractor, type Sample, SkinganError } from '@skingan/core';
import { type Dataset, loadDataset, loadImages } from '@skingan/data';
import {
  concatRows,
  extractFeatures,
  type FeatureMatrix,
  ganQuality,
  ganQualityTable,
  loadFeatureExtractor,
  predictProbabilities,
  renderMarkdown,
} from '@skingan/metrics';
import type { Command } from 'commander';
import { addOptions, initCommandBackend, intOption } from '../options.js';
import { printJson } from '../ui/output.js';
import { Progress } from '../ui/progress.js';
import { extractorOptions } from './features.js';
import { limitPerClass } from './quality-eval.js';

interface GanQualityOptions {
  classifier?: string;
  extractor: string;
  layer?: string;
  inputSize?: number;
  perClassLimit?: number;
  seed: number;
  batchSize: number;
  json?: boolean;
}

/** `skingan metrics gan GEN_DIR REAL_DIR`: the figures a training run's evaluations record, for any two folders. */
export function registerGanQuality(metrics: Command, warnProblems: (d: Dataset, what: string) => void): void {
  const gan = addExtractorOptions(
    metrics
      .command('gan')
      .description(
        'quality of a generated dataset against real images: FID, KID, within-class diversity (generated ÷ real) and, with --classifier, class fidelity',
      )
      .argument('<gen-dir>', 'generated dataset folder (labels.csv + images/)')
      .argument('<real-dir>', 'real dataset folder to compare with (e.g. held-out real images)')
      .option(
        '--classifier <run>',
        'classifier run folder (`skingan classifier train --out`) for class fidelity: the share of each class it recognises, generated and real (without it, fidelity is not measured)',
      ),
  );
  addOptions(gan, [
    [
      '--per-class-limit <n>',
      'use at most n images per class from each folder (a seeded random choice)',
      'int',
    ],
    ['--seed <n>', 'seed of the --per-class-limit choice and of the KID subsets', 'int', 0],
    ['--batch-size <n>', 'images per forward pass', 'int', 16],
    ['--json', 'print one JSON object'],
  ]).action(async (genDir: string, realDir: string, opts: GanQualityOptions, cmd: Command) => {
    await initCommandBackend(cmd, opts.json);
    await ganQualityCommand(genDir, realDir, opts, warnProblems);
  });
}

/** `--extractor` and `--layer`: the feature network of the generated-image metrics. */
export function addExtractorOptions(cmd: Command): Command {
  return cmd
    .option(
      '--extractor <which>',
      'resnet50 (ImageNet ResNet-50 avg-pool, from `skingan weights fetch resnet50-imagenet`), test (small random conv net), or a tfjs layers model folder',
      'resnet50',
    )
    .option('--layer <name>', 'feature layer of a model folder given to --extractor (default: its output)')
    .option(
      '--input-size <n>',
      'side the extractor runs at (default: its own, 224 for resnet50; 128: a third of the time)',
      intOption('--input-size'),
    );
}

async function ganQualityCommand(
  genDir: string,
  realDir: string,
  opts: GanQualityOptions,
  warnProblems: (d: Dataset, what: string) => void,
): Promise<void> {
  if (opts.perClassLimit !== undefined && opts.perClassLimit < 2) {
    throw new SkinganError(`--per-class-limit must be at least 2, got ${opts.perClassLimit}`, {
      code: 'USAGE',
    });
  }
  const sets: { dir: string; what: string; samples: Sample[] }[] = [];
  let classes: readonly string[] = [];
  for (const [dir, what] of [
    [genDir, 'generated'],
    [realDir, 'real'],
  ] as const) {
    const d = await loadDataset(dir);
    warnProblems(d, `${what} folder ${resolve(dir)}`);
    const samples = limitPerClass(d.samples, opts.perClassLimit, opts.seed);
    if (samples.length < 2) {
      throw new SkinganError(
        `the ${what} folder has ${samples.length} usable images; at least 2 are needed`,
        { code: 'USAGE', file: resolve(dir) },
      );
    }
    sets.push({ dir: resolve(dir), what, samples });
    classes = d.labelSpace.classes;
  }
  const classifier = opts.classifier ? await ImageClassifier.load(opts.classifier) : undefined;
  let extractor: (FeatureExtractor & { dispose?: () => void }) | undefined;
  try {
    extractor = await loadFeatureExtractor(opts.extractor, extractorOptions(opts));
    const g = await measureImages(extractor, classifier, sets[0]!.samples, opts.batchSize, 'generated');
    const r = await measureImages(extractor, classifier, sets[1]!.samples, opts.batchSize, 'real');
    const side = ({ features, probs }: Measured, samples: Sample[]) => ({
      features,
      labels: samples.map((s) => s.label),
      ...(probs ? { probs } : {}),
    });
    const q = ganQuality(side(g, sets[0]!.samples), side(r, sets[1]!.samples), {
      classes,
      extractor: extractor.name,
      ...(classifier
        ? { classifier: resolve(opts.classifier!), classifierClasses: classifier.labelSpace.classes }
        : {}),
      kid: { seed: opts.seed },
    });
    if (opts.json) {
      printJson({ generated: sets[0]!.dir, real: sets[1]!.dir, ...q, fidelity: q.fidelity ?? null });
      return;
    }
    process.stdout.write(
      `FID ${q.fid.toFixed(2)}  KID ${q.kid.mean.toFixed(4)} ± ${q.kid.std.toFixed(4)}  diversity mean ${fmt(q.diversity.mean)}, worst ${q.diversity.worst ? `${q.diversity.worst.class} ${fmt(q.diversity.worst.value)}` : '—'}` +
        `${q.fidelity ? `  fidelity ${fmt(q.fidelity.balanced)} (real ${fmt(q.fidelity.realBalanced)})` : '  fidelity not measured (no --classifier)'}\n` +
        `(extractor: ${q.extractor}; ${q.counts.generated} generated images from ${sets[0]!.dir} vs ${q.counts.real} real from ${sets[1]!.dir})\n\n`,
    );
    process.stdout.write(renderMarkdown(ganQualityTable(q)));
  } finally {
    extractor?.dispose?.();
    classifier?.dispose();
  }
}

const fmt = (v: number | null) => (v === null ? '—' : v.toFixed(2));

interface Measured {
  features: FeatureMatrix;
  probs?: number[][];
}

/**
 * Features of every sample, loaded at the extractor's size (or at `decodeSize`, which the extractor
 * then resizes to its input), and the classifier's probabilities,
 * from the images loaded at the classifier's own size: resizing the extractor's input to it instead
 * (e.g. 64² images decoded at the ResNet-50's 224², then shrunk bilinearly to a 64² classifier)
 * aliases fine patterns and made class fidelity depend on --extractor; this way it is what
 * `classifier predict` says of the same files.
 */
export async function measureImages(
  extractor: FeatureExtractor,
  classifier: ImageClassifier | undefined,
  samples: readonly Sample[],
  batchSize: number,
  what: string,
  decodeSize?: number,
): Promise<Measured> {
  const progress = new Progress({ label: `${what} features`, total: samples.length, unit: 'images' });
  const parts: FeatureMatrix[] = [];
  const probs: number[][] = [];
  const side = decodeSize ?? extractor.inputSize;
  for (let start = 0; start < samples.length; start += batchSize) {
    const chunk = samples.slice(start, start + batchSize);
    const images = await loadImages(chunk, side);
    try {
      parts.push(await extractFeatures(extractor, images, { batchSize }));
      if (classifier) {
        const own = classifier.inputSize === side ? images : await loadImages(chunk, classifier.inputSize);
        try {
          probs.push(...(await predictProbabilities(classifier, own, { batchSize })));
        } finally {
          if (own !== images) own.dispose();
        }
      }
    } finally {
      images.dispose();
    }
    progress.update(Math.min(start + batchSize, samples.length));
  }
  progress.finish();
  return { features: concatRows(parts), ...(classifier ? { probs } : {}) };
}
