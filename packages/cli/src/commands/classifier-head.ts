import { join, resolve } from 'node:path';
import {
  balancedClassWeights,
  type FeatureRows,
  trainLinearHead,
  writeProbabilitiesCsv,
} from '@skingan/classifier';
import { SkinganError, writeJsonAtomic } from '@skingan/core';
import { readSplit, selectSplit } from '@skingan/data';
import { type Command, Option } from 'commander';
import { intOption, numberOption, splitList, withBackend } from '../options.js';
import { forceOption, outputGuard } from '../outputs.js';
import { printJson, stderrLog } from '../ui/output.js';
import { formatDuration } from '../ui/progress.js';
import { addFeatureFlags, type FeatureFlags, featureRowsByPart, openFeatureSource } from './features.js';
import { type DataFlags, trainingData } from './training-data.js';

interface HeadFlags extends DataFlags, FeatureFlags {
  split: string;
  out: string;
  seed: number;
  epochs: number;
  lr: number;
  wd: string;
  balance: 'none' | 'weights';
  force?: boolean;
  json?: boolean;
}

/**
 * `skingan classifier head`: the fast path's classifier (docs/fast-path.md), a logistic regression
 * on stored image features, trained per seed in seconds, writing the test part's probabilities in
 * `classifier predict`'s format so that experiment tables read it unchanged.
 */
export function registerClassifierHead(classifier: Command): void {
  addFeatureFlags(
    forceOption(
      classifier
        .command('head')
        .description(
          'train a linear head on stored image features (see `skingan features extract`): seconds a seed; writes OUT/predictions.csv for the test part and OUT/head.json',
        ),
    ),
  )
    .requiredOption('--data <dir...>', 'dataset folder(s)')
    .requiredOption('--split <file>', 'split.json: train on train (+ --add), choose on val, predict test')
    .option('--add <dir...>', 'extra training folders used in full, e.g. synthetic images')
    .option('--classes <list>', 'comma-separated classes (default: the 8 ISIC 2019 classes)')
    .requiredOption('--out <dir>', 'output folder')
    .option('--seed <n>', 'seed of the batch order', intOption('--seed'), 0)
    .option('--epochs <n>', 'epochs per weight decay tried', intOption('--epochs'), 30)
    .option('--lr <x>', "Adam's step size", numberOption('--lr'), 1e-3)
    .option('--wd <list>', 'decoupled weight decays tried, the best on val kept', '1e-4,1e-3,1e-2')
    .addOption(
      new Option('--balance <how>', 'weight the loss so that every class counts equally, or not')
        .choices(['none', 'weights'])
        .default('weights'),
    )
    .option('--json', 'print the result as one JSON object')
    .action(withBackend(head));
}

async function head(opts: HeadFlags): Promise<void> {
  const say = stderrLog(opts.json);
  const decays = splitList(opts.wd).map((v) => {
    const n = Number(v);
    if (!(Number.isFinite(n) && n >= 0)) {
      throw new SkinganError(`--wd: "${v}" is not a weight decay ≥ 0`, { code: 'USAGE' });
    }
    return n;
  });
  const guard = outputGuard('classifier head', [...opts.data, ...(opts.add ?? []), opts.split], opts.force);
  const out = await guard.check(opts.out);
  const started = performance.now();
  const { dataset, train, val } = await trainingData(opts, say);
  const test = selectSplit(dataset, await readSplit(opts.split), 'test');
  for (const [part, s] of [
    ['val', val],
    ['test', test],
  ] as const) {
    if (!s.length) {
      throw new SkinganError(`the ${part} part of ${resolve(opts.split)} has no images`, { code: 'USAGE' });
    }
  }
  const classes = dataset.labelSpace.classes;
  const source = await openFeatureSource(opts);
  try {
    const [trainRows, valRows, testRows] = (
      await featureRowsByPart(source, [train, val, test], {
        label: 'features',
        ...(opts.json ? { quiet: true } : {}),
      })
    ).parts as [FeatureRows, FeatureRows, FeatureRows];
    const fitStarted = performance.now();
    const result = trainLinearHead(trainRows, valRows, {
      numClasses: classes.length,
      seed: opts.seed,
      epochs: opts.epochs,
      learningRate: opts.lr,
      weightDecays: decays,
      ...(opts.balance === 'weights'
        ? { classWeights: balancedClassWeights(Array.from(trainRows.labels), classes.length) }
        : {}),
    });
    try {
      const fitSeconds = (performance.now() - fitStarted) / 1000;
      const probs = result.head.predictProba(testRows.x);
      await guard.checkAndClaim(out);
      await writeProbabilitiesCsv(
        join(out, 'predictions.csv'),
        { ids: test.map((s) => s.id), labels: test.map((s) => s.label), probs },
        classes,
      );
      const summary = {
        out,
        extractor: source.extractor.name,
        store: source.store.dir,
        seed: opts.seed,
        images: { train: train.length, val: val.length, test: test.length },
        weightDecay: result.weightDecay,
        bestEpoch: result.bestEpoch,
        valBalancedAccuracy: result.valBalancedAccuracy,
        history: result.history,
        fitSeconds,
      };
      await writeJsonAtomic(join(out, 'head.json'), summary);
      if (opts.json) printJson(summary);
      else {
        say(
          `head: val balanced accuracy ${result.valBalancedAccuracy.toFixed(3)} (weight decay ${result.weightDecay}, epoch ${result.bestEpoch + 1}); fit ${fitSeconds.toFixed(1)} s, all ${formatDuration(performance.now() - started)}`,
        );
        say(`wrote ${join(out, 'predictions.csv')} (${test.length} test images) and head.json`);
      }
    } finally {
      result.head.dispose();
    }
  } finally {
    source.dispose();
  }
}
