import { resolve } from 'node:path';
import { ImageClassifier } from '@skingan/classifier';
import { classIndex, SkinganError } from '@skingan/core';
import { formatProblem, loadDataset, loadImages, SPLIT_PARTS, type SplitPart } from '@skingan/data';
import {
  checkKeptDatasetOut,
  pathRankFilter,
  type Selection,
  writeKeptDataset,
} from '@skingan/path-rank-filter';
import { type Command, Option } from 'commander';
import { flagClassIndex, intOption, numberOption, withBackend } from '../options.js';
import { outputGuard } from '../outputs.js';
import { printJson, stderrLog } from '../ui/output.js';
import { Progress } from '../ui/progress.js';
import { selectPart } from './training-data.js';

interface PrfFlags {
  classifier: string;
  data: string[];
  class: string;
  alpha?: number;
  top?: number;
  split?: string;
  part?: SplitPart;
  out: string;
  link?: boolean;
  batchSize: number;
  json?: boolean;
}

/** `skingan prf`: the path-rank-filter. */
export function registerPrf(program: Command): void {
  program
    .command('prf')
    .description(
      'path-rank-filter (Wei et al. 2019): rank the images of a class by a classifier’s confidence, keep the top α of those it gets right; writes ranking.csv and the kept images as a dataset folder',
    )
    .requiredOption('--classifier <dir>', 'classifier run folder (or its model/ folder)')
    .requiredOption('--data <dir...>', 'dataset folder(s) holding the class’s images')
    .requiredOption('--class <name>', 'the class to filter, e.g. MEL')
    .option(
      '--alpha <x>',
      'keep the top α ∈ (0, 1] of the correctly classified images (⌈α·n⌉, at least one)',
      numberOption('--alpha'),
    )
    .option('--top <n>', 'keep the top n instead', intOption('--top'))
    .option('--split <file>', 'split.json: only its --part (default train: test images must not feed a GAN)')
    .addOption(new Option('--part <name>', 'which part of --split').choices([...SPLIT_PARTS]))
    .requiredOption('--out <dir>', 'dataset folder to create (labels.csv, images/, ranking.csv, prf.json)')
    .option('--link', 'symlink the kept images instead of copying them')
    .option('--batch-size <n>', 'images per forward pass', intOption('--batch-size'), 32)
    .option('--json', 'print the result as one JSON object')
    .action(withBackend(prf));
}

async function prf(opts: PrfFlags): Promise<void> {
  const say = stderrLog(opts.json);
  if ((opts.alpha === undefined) === (opts.top === undefined)) {
    throw new SkinganError('give exactly one of --alpha and --top', {
      code: 'USAGE',
      hint: 'e.g. --alpha 0.25 (the thesis used 1/8, 1/4, 1/2 and 1)',
    });
  }
  const selection: Selection = opts.alpha !== undefined ? { alpha: opts.alpha } : { top: opts.top! };
  // No --force: prf never replaces a non-empty folder (its inputs included).
  const guard = outputGuard('prf', [opts.classifier, ...opts.data, opts.split], false);
  const out = await guard.check(opts.out);
  // Refuse before the work, not after it (writeKeptDataset checks again when it writes).
  await checkKeptDatasetOut(out);
  const classifier = await ImageClassifier.load(opts.classifier);
  try {
    const target =
      classifier.labelSpace.classes[
        flagClassIndex(classifier.labelSpace, opts.class, '--class', " among the classifier's classes")
      ]!;
    const dataset = await loadDataset(opts.data, { classes: classifier.labelSpace.classes });
    for (const p of dataset.problems.slice(0, 5)) say(`warning: ${formatProblem(p)}`);
    const { samples: pool, what } = await selectPart(dataset, opts, 'train');
    const label = classIndex(dataset.labelSpace, target);
    const items = pool.filter((s) => s.label === label);
    if (items.length === 0) throw new SkinganError(`no ${target} images in ${what}`, { code: 'USAGE' });
    const progress = new Progress({
      label: `prf ${target}`,
      total: items.length,
      unit: 'images',
      quiet: opts.json,
    });
    const result = await pathRankFilter({
      classifier,
      items,
      targetClass: target,
      selection,
      batchSize: opts.batchSize,
      loadImages: (batch) => loadImages(batch, classifier.inputSize),
      onProgress: (done) => progress.update(done),
    });
    progress.finish(
      `prf: ${result.counts.correct} of ${result.counts.scored} ${target} images classified as ${target}, kept ${result.counts.kept}`,
    );
    const info = {
      classifier: resolve(opts.classifier),
      class: target,
      selection,
      images: what,
      counts: result.counts,
      rounding: 'alpha keeps ceil(alpha × correctly classified), at least one; ties broken by id',
      createdAt: new Date().toISOString(),
    };
    await guard.claim(out);
    await writeKeptDataset(out, result.kept, target, { link: opts.link, info, ranking: result.rows });
    const summary = {
      out,
      ranking: resolve(out, 'ranking.csv'),
      ...result.counts,
      kept: result.kept.map((k) => k.id),
    };
    if (opts.json) printJson(summary);
    else say(`wrote ${out} (${result.counts.kept} images, labels.csv, ranking.csv)`);
  } finally {
    classifier.dispose();
  }
}
