import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { ISIC2019, lockFolder, SkinganError } from '@skingan/core';
import {
  augmentViews,
  checkImages,
  countPerClass,
  type Dataset,
  type DownloadProgress,
  downloadIsic2019,
  findLesionMetadata,
  foldFractions,
  formatProblem,
  generateDemoSet,
  LESION_COLUMN,
  LESION_METADATA_FILES,
  type LesionGrouping,
  lesionGroups,
  loadDataset,
  makeSplit,
  type Problem,
  prepareDataset,
  SPLIT_PARTS,
  type SplitFractions,
  type SplitPart,
  subsetDataset,
  writeSplit,
} from '@skingan/data';
import { type Command, Option } from 'commander';
import { flagClasses, intOption, splitList } from '../options.js';
import { forceOption, outputGuard } from '../outputs.js';
import { printJson } from '../ui/output.js';
import { Progress } from '../ui/progress.js';

interface DatasetFlags {
  classes?: string[];
  strict?: boolean;
  json?: boolean;
  force?: boolean;
}

/** `skingan data stats|split|subset|augment|prepare|download|demo-set`. */
export function registerData(program: Command): void {
  const data = program
    .command('data')
    .description(
      'datasets: class counts and problems, stratified splits, subsets, augmented views, one-off resizing, the ISIC 2019 download, the synthetic demo set',
    );

  withDatasetFlags(
    data
      .command('stats')
      .description(
        'images per class and every problem found (missing images, images without a row, UNK rows, images that do not decode)',
      )
      .argument('<dir...>', 'dataset folder(s): labels.csv + images/, or the ISIC 2019 layout')
      .option('--no-decode', 'skip decoding every image (faster; empty or corrupt images then go unnoticed)'),
  ).action(async (dirs: string[], opts: StatsFlags) => stats(dirs, opts));

  withDatasetFlags(
    forceOption(data.command('split'))
      .description('stratified train/val/test split (per class, seeded) written as split.json')
      .argument('<dir...>', 'dataset folder(s)')
      .requiredOption(
        '--seed <n>',
        'shuffling seed: the same seed gives the same split on any machine',
        intOption('--seed'),
      )
      .requiredOption('--out <file>', 'where to write split.json')
      .option('--fractions <train,val,test>', 'fractions per part', parseFractions, {
        train: 0.8,
        val: 0.1,
        test: 0.1,
      })
      .addOption(
        new Option(
          '--group-by <column>',
          `keep the images of each lesion in one part (stratified by lesion), lesions read from --metadata or from ${LESION_METADATA_FILES.join(' / ')} in DIR`,
        ).choices([LESION_COLUMN]),
      )
      .option(
        '--metadata <file>',
        'lesion metadata CSV (lesion_id with image_id or image) for --group-by; default: the one in each DIR',
      )
      .option(
        '--folds <k>',
        'one of K rotated splits whose test parts cover every image once (test 1/K, val 0.1 unless --fractions); with --fold',
        intOption('--folds'),
      )
      .option('--fold <i>', 'which fold, 0 … K − 1 (with --folds)', intOption('--fold')),
  ).action(async (dirs: string[], opts: SplitFlags, cmd: Command) =>
    split(dirs, opts, cmd.getOptionValueSource('fractions') === 'default'),
  );

  withDatasetFlags(
    withSplitPart(forceOption(data.command('subset')), 'keep')
      .description(
        'a dataset folder of chosen images of other folders (links): one split part, some classes, the first n per class',
      )
      .argument('<dir...>', 'source dataset folder(s)')
      .requiredOption('--out <dir>', 'dataset folder to write (an earlier subset there is replaced)')
      .option(
        '--per-class <n>',
        'the first n images of each class, in source order (nested sets)',
        intOption('--per-class'),
      )
      .option(
        '--seed <n>',
        'with --per-class: n of each class drawn at random with this seed instead of the first n (still nested)',
        intOption('--seed'),
      )
      .option('--copy', 'copy the image files instead of linking them'),
  ).action(async (dirs: string[], opts: SubsetFlags) => subset(dirs, opts));

  withDatasetFlags(
    withSplitPart(forceOption(data.command('augment')), 'augment')
      .description(
        "K augmented views of each image as a new dataset folder: the fast path's real + classic augmentation (`classifier head --add`)",
      )
      .argument('<dir...>', 'source dataset folder(s)')
      .requiredOption('--views <k>', 'augmented views per image (1 or more)', intOption('--views'))
      .option(
        '--seed <n>',
        'with the image id and the view number, draws each augmentation: the same seed gives the same files',
        intOption('--seed'),
        0,
      )
      .option(
        '--size <px>',
        'side the images are decoded at (short side, center crop) and written at',
        intOption('--size'),
        128,
      )
      .requiredOption('--out <dir>', 'dataset folder to write (written whole, then renamed into place)')
      .addHelpText(
        'after',
        `
A linear head on stored features (\`classifier head\`, the fast path) cannot augment on the fly, so
its "real + augmentation" baseline trains on the features of augmented copies written as files.
Each view draws the augmentations of \`classifier train --augment\` (flips, quarter turns, zoom,
shift, brightness/contrast/saturation jitter) from (--seed, image id, view number): reruns write
byte-identical PNGs, and an image's views do not depend on the other images in the folder. Each
view costs one feature extraction. Ids are <id>_v<k>; provenance.jsonl names the source image.

  skingan data augment DATA --split split.json --part train --views 4 --out views
  skingan classifier head --data DATA --split split.json --add views --out head`,
      ),
  ).action(async (dirs: string[], opts: AugmentFlags) => augment(dirs, opts));

  withDatasetFlags(
    forceOption(data.command('prepare'))
      .description(
        'resize every image once (short side, bicubic, center crop) into a new dataset folder; resumable',
      )
      .argument('<dir...>', 'dataset folder(s)')
      .requiredOption('--size <px>', 'output side, e.g. 128 or 256', intOption('--size'))
      .requiredOption(
        '--out <dir>',
        'dataset folder to write (rerun to resume; with --force, images of other settings are redone)',
      )
      .option('--concurrency <n>', 'images in flight', intOption('--concurrency'), cpus().length)
      .addOption(new Option('--format <fmt>', 'image format').choices(['png', 'jpg']).default('png')),
  ).action(async (dirs: string[], opts: PrepareFlags) => prepare(dirs, opts));

  forceOption(data.command('download'))
    .description(
      'download a public dataset (resumable, checksummed): isic2019 = the ISIC 2019 training images + ground truth (~9 GB)',
    )
    .argument('<name>', 'dataset name: isic2019')
    .requiredOption('--out <dir>', 'folder to download into (rerun to resume)')
    .option('--base-url <url>', 'a mirror serving the same file names')
    .option('--sha256-images <hex>', 'pin the SHA-256 of ISIC_2019_Training_Input.zip')
    .option('--sha256-ground-truth <hex>', 'pin the SHA-256 of ISIC_2019_Training_GroundTruth.csv')
    .option('--keep-zip', 'keep the image zip after extracting it')
    .option('--retries <n>', 'resumed retries after a dropped connection', intOption('--retries'), 5)
    .option('--json', 'print one JSON object')
    .action(async (name: string, opts: DownloadFlags) => download(name, opts));

  forceOption(data.command('demo-set'))
    .description(
      'write the built-in SYNTHETIC demo set (lesion-like drawings for the 8 classes; not medical images)',
    )
    .requiredOption('--out <dir>', 'folder to write (an earlier demo set there is replaced)')
    .option('--per-class <n>', 'images per class', intOption('--per-class'), 40)
    .option('--size <px>', 'image side', intOption('--size'), 64)
    .option('--seed <n>', 'drawing seed', intOption('--seed'), 0)
    .option('--classes <list>', 'comma-separated classes to draw (default: all 8 ISIC 2019 classes)')
    .option('--json', 'print one JSON object')
    .action(async (opts: DemoFlags) => demoSet(opts));
}

/** `--split F --part P`: the command works on one part of a split (`loadSelection`). */
function withSplitPart(cmd: Command, verb: string): Command {
  return cmd
    .option('--split <file>', `split.json: ${verb} one part of it (with --part)`)
    .addOption(new Option('--part <part>', 'which part of --split').choices([...SPLIT_PARTS]));
}

function withDatasetFlags(cmd: Command): Command {
  return cmd
    .option('--classes <list>', 'only these classes, e.g. MEL,NV', splitList)
    .option('--strict', 'fail on any problem instead of skipping it')
    .option('--json', 'print one JSON object');
}

async function load(dirs: string[], opts: DatasetFlags): Promise<Dataset> {
  return loadDataset(dirs, { classes: opts.classes, strict: opts.strict });
}

/** Problems on stderr, the first 20 in full. */
function warnProblems(problems: readonly Problem[]): void {
  for (const p of problems.slice(0, 20)) process.stderr.write(`skingan: warning: ${formatProblem(p)}\n`);
  if (problems.length > 20)
    process.stderr.write(
      `skingan: warning: … and ${problems.length - 20} more problems (--json lists all)\n`,
    );
}

interface StatsFlags extends DatasetFlags {
  decode: boolean;
}

async function stats(dirs: string[], opts: StatsFlags): Promise<void> {
  const ds = await load(dirs, opts);
  const perClass = countPerClass(ds);
  const total = ds.samples.length;
  let undecodable: Problem[] = [];
  if (opts.decode) {
    const progress = new Progress({ label: 'decode check', total, unit: 'images', quiet: opts.json });
    undecodable = await checkImages(ds.samples, { onProgress: (n) => progress.update(n) });
    progress.finish();
    if (opts.strict && undecodable[0]) {
      throw new SkinganError(undecodable[0].message, {
        file: undecodable[0].file,
        hint: 'replace the file, or remove its row from labels.csv',
      });
    }
  }
  const problems = [...ds.problems, ...undecodable];
  if (opts.json) {
    printJson({
      total,
      perClass,
      decodeChecked: opts.decode,
      problems,
      classes: ds.labelSpace.classes,
      roots: ds.roots.map(({ dir, layout, synthetic, samples }) => ({
        dir,
        layout,
        synthetic,
        images: samples,
      })),
    });
    return;
  }
  const lines = ds.roots.map(
    (r) => `${r.dir}  (${r.layout}${r.synthetic ? ', synthetic' : ''}): ${r.samples} images`,
  );
  lines.push(`total ${total} images`);
  for (const [c, n] of Object.entries(perClass)) {
    lines.push(
      `  ${c.padEnd(5)} ${String(n).padStart(7)}  ${total ? ((100 * n) / total).toFixed(1).padStart(5) : '  0.0'} %`,
    );
  }
  const unchecked = opts.decode ? '' : ' (images not decoded: --no-decode)';
  lines.push(
    problems.length
      ? `${problems.length} problem${problems.length > 1 ? 's' : ''} (see warnings)${unchecked}`
      : `no problems${opts.decode ? ` (every image decoded)` : unchecked}`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
  warnProblems(problems);
}

interface SplitFlags extends DatasetFlags {
  seed: number;
  out: string;
  fractions: SplitFractions;
  groupBy?: string;
  metadata?: string;
  folds?: number;
  fold?: number;
}

function parseFractions(value: string): SplitFractions {
  const parts = value.split(',').map(Number);
  if (parts.length !== 3 || parts.some((x) => !Number.isFinite(x))) {
    throw new SkinganError(
      `--fractions must be three numbers train,val,test (e.g. 0.8,0.1,0.1), got "${value}"`,
      { code: 'USAGE' },
    );
  }
  return { train: parts[0]!, val: parts[1]!, test: parts[2]! };
}

async function split(dirs: string[], opts: SplitFlags, defaultFractions: boolean): Promise<void> {
  const guard = outputGuard('data split', dirs, opts.force);
  const out = await guard.check(opts.out);
  if (opts.metadata && !opts.groupBy) {
    throw new SkinganError('--metadata is read only with --group-by lesion_id', { code: 'USAGE' });
  }
  if ((opts.folds === undefined) !== (opts.fold === undefined)) {
    throw new SkinganError('--folds and --fold go together', {
      code: 'USAGE',
      hint: 'e.g. --folds 5 --fold 0, then --fold 1 … 4 for the other folds',
    });
  }
  const fold = opts.folds === undefined ? undefined : { count: opts.folds, index: opts.fold! };
  // A fold's test part is 1/K: the default fractions give way to it (explicit ones must agree).
  const fractions = fold && defaultFractions ? foldFractions(fold.count) : opts.fractions;
  const ds = await load(dirs, opts);
  const grouping = opts.groupBy ? await lesionGrouping(dirs, ds, opts) : undefined;
  const s = makeSplit(ds, { seed: opts.seed, fractions, groups: grouping?.groups, fold });
  await guard.claim(out);
  await writeSplit(out, s);
  const partOf = new Map<string, string>();
  for (const part of SPLIT_PARTS) for (const id of s.ids[part]) partOf.set(id, part);
  const perClass: Record<string, Record<string, number>> = {};
  for (const c of ds.labelSpace.classes) perClass[c] = { train: 0, val: 0, test: 0 };
  for (const sample of ds.samples) perClass[ds.labelSpace.classes[sample.label]!]![partOf.get(sample.id)!]!++;
  const counts = Object.fromEntries(SPLIT_PARTS.map((p) => [p, s.ids[p].length]));
  const problems = [
    ...ds.problems,
    ...(grouping?.problems ?? []),
    ...mixedGroupProblems(grouping, s.mixedGroups ?? []),
    ...emptyPartProblems(out, s.fractions, counts, perClass),
  ];
  const rule = grouping
    ? {
        groupBy: LESION_COLUMN,
        metadata: grouping.paths,
        lesions: grouping.lesions,
        withoutLesionRow: grouping.unlisted.length,
      }
    : {};
  if (opts.json) {
    printJson({ out, seed: s.seed, fractions: s.fractions, ...rule, fold, counts, perClass, problems });
    return;
  }
  const lines = [
    `wrote ${out} (seed ${s.seed}${fold ? `, fold ${fold.index} of 0 … ${fold.count - 1}` : ''}): train ${counts.train}, val ${counts.val}, test ${counts.test}`,
    grouping
      ? `  by lesion: ${grouping.lesions} lesions from ${grouping.paths.join(', ')}, each in one part`
      : '  by image (images of one lesion may land in different parts: see --group-by lesion_id)',
  ];
  lines.push(`  class   train    val   test`);
  for (const [c, n] of Object.entries(perClass)) {
    lines.push(
      `  ${c.padEnd(5)} ${String(n.train).padStart(7)} ${String(n.val).padStart(6)} ${String(n.test).padStart(6)}`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  warnProblems(problems);
}

/** The lesions of the dataset: from --metadata, else from the known metadata file of each folder. */
async function lesionGrouping(
  dirs: string[],
  ds: Dataset,
  opts: SplitFlags,
): Promise<LesionGrouping & { paths: string[] }> {
  const paths = opts.metadata ? [resolve(opts.metadata)] : await findLesionMetadata(dirs);
  if (!paths.length) {
    throw new SkinganError(
      `--group-by ${LESION_COLUMN}: no lesion metadata found: looked for ${LESION_METADATA_FILES.join(', ')} in ${dirs.map((d) => resolve(d)).join(', ')}`,
      {
        code: 'USAGE',
        hint: 'pass --metadata FILE (a CSV with lesion_id and image_id or image columns)',
      },
    );
  }
  return { ...(await lesionGroups(ds, paths)), paths };
}

/** One warning naming the lesions whose images have more than one class. */
function mixedGroupProblems(grouping: { paths: string[] } | undefined, mixed: string[]): Problem[] {
  if (!grouping || !mixed.length) return [];
  const shown = mixed.slice(0, 5).join(', ') + (mixed.length > 5 ? ', …' : '');
  return [
    {
      file: grouping.paths.join(', '),
      message: `${mixed.length} lesion${mixed.length > 1 ? 's have' : ' has'} images of more than one class (${shown}): each goes whole to the part its majority class puts it in`,
    },
  ];
}

/** A part asked for (fraction > 0) that got no image, or classes missing from one: say so, with what helps. */
function emptyPartProblems(
  out: string,
  fractions: SplitFractions,
  counts: Record<string, number>,
  perClass: Record<string, Record<string, number>>,
): Problem[] {
  const problems: Problem[] = [];
  for (const part of ['val', 'test'] as const) {
    if (fractions[part] <= 0) continue;
    if (counts[part] === 0) {
      problems.push({
        file: out,
        message: `the ${part} part is empty: too few images per class for a ${part} fraction of ${fractions[part]} (each class needs about ${Math.ceil(1 / fractions[part])} images for one ${part} image)`,
      });
      continue;
    }
    const missing = Object.entries(perClass)
      .filter(([, n]) => (n.train ?? 0) + (n.val ?? 0) + (n.test ?? 0) > 1 && n[part] === 0)
      .map(([c]) => c);
    if (missing.length > 0) {
      problems.push({
        file: out,
        message: `no ${part} image of ${missing.join(', ')}: too few images of those classes for a ${part} fraction of ${fractions[part]}`,
      });
    }
  }
  return problems;
}

interface PrepareFlags extends DatasetFlags {
  size: number;
  out: string;
  concurrency: number;
  format: 'png' | 'jpg';
}

async function prepare(dirs: string[], opts: PrepareFlags): Promise<void> {
  const out = await outputGuard('data prepare', dirs, opts.force).checkAndClaim(opts.out);
  let progress: Progress | undefined;
  const lock = await lockFolder(out, { command: 'data prepare' });
  const r = await prepareDataset(dirs, out, {
    rebuild: Boolean(opts.force),
    size: opts.size,
    concurrency: opts.concurrency,
    format: opts.format,
    classes: opts.classes,
    strict: opts.strict,
    onProgress: (p) => {
      progress ??= new Progress({ label: 'prepare', total: p.total, unit: 'images', quiet: opts.json });
      progress.update(p.done, { reused: String(p.reused), failed: String(p.failed) });
    },
  }).finally(() => lock.release());
  const summary = `prepared ${r.written + r.reused} images of ${opts.size}×${opts.size} into ${r.out} (${r.written} written, ${r.reused} already there, ${r.failed} failed)`;
  if (progress) progress.finish(summary);
  else if (!opts.json) process.stderr.write(`${summary}\n`);
  if (opts.json) printJson(r);
  else warnProblems(r.problems);
}

interface DownloadFlags {
  out: string;
  force?: boolean;
  baseUrl?: string;
  sha256Images?: string;
  sha256GroundTruth?: string;
  keepZip?: boolean;
  retries: number;
  json?: boolean;
}

async function download(name: string, opts: DownloadFlags): Promise<void> {
  if (name.toLowerCase() !== 'isic2019') {
    throw new SkinganError(`unknown dataset "${name}"`, { code: 'USAGE', hint: 'available: isic2019' });
  }
  await outputGuard('data download', [], opts.force).checkAndClaim(opts.out);
  let progress: Progress | undefined;
  let current = '';
  const mb = (n: number) => Math.round(n / 2 ** 20);
  const r = await downloadIsic2019(opts.out, {
    baseUrl: opts.baseUrl,
    sha256: { images: opts.sha256Images, groundTruth: opts.sha256GroundTruth },
    keepZip: opts.keepZip,
    retries: opts.retries,
    onProgress: (p: DownloadProgress) => {
      const key = `${p.phase}:${p.file}`;
      if (key !== current) {
        progress?.finish();
        current = key;
        const extract = p.phase === 'extract';
        progress = new Progress({
          label: `${extract ? 'extract' : 'download'} ${p.file}`,
          total: p.total === undefined ? undefined : extract ? p.total : mb(p.total),
          unit: extract ? 'files' : 'MiB',
          quiet: opts.json,
        });
      }
      progress?.update(p.phase === 'extract' ? p.done : mb(p.done));
    },
  });
  progress?.finish();
  if (opts.json) printJson(r);
  else
    process.stdout.write(
      `ISIC 2019 training set in ${r.dir}: ${r.images} images, ground truth ${r.groundTruth}\n`,
    );
}

interface DemoFlags {
  out: string;
  force?: boolean;
  perClass: number;
  size: number;
  seed: number;
  classes?: string;
  json?: boolean;
}

async function demoSet(opts: DemoFlags): Promise<void> {
  await outputGuard('data demo-set', [], opts.force).checkAndClaim(opts.out);
  let progress: Progress | undefined;
  const r = await generateDemoSet(opts.out, {
    perClass: opts.perClass,
    size: opts.size,
    seed: opts.seed,
    ...(opts.classes ? { classes: flagClasses(ISIC2019, opts.classes, '--classes') } : {}),
    onProgress: (done, total) => {
      progress ??= new Progress({ label: 'demo-set', total, unit: 'images', quiet: opts.json });
      progress.update(done);
    },
  });
  progress?.finish(
    `wrote the SYNTHETIC demo set (${r.total} images, ${opts.perClass} per class, ${opts.size}²) to ${r.dir}`,
  );
  if (opts.json) printJson({ ...r, synthetic: true });
}

interface SubsetFlags extends DatasetFlags {
  out: string;
  split?: string;
  part?: SplitPart;
  perClass?: number;
  seed?: number;
  copy?: boolean;
}

async function subset(dirs: string[], opts: SubsetFlags): Promise<void> {
  const out = await outputGuard('data subset', [...dirs, opts.split], opts.force).checkAndClaim(opts.out);
  const r = await subsetDataset(dirs, out, {
    ...(opts.split ? { split: resolve(opts.split) } : {}),
    ...(opts.part ? { part: opts.part } : {}),
    ...(opts.classes ? { classes: opts.classes } : {}),
    ...(opts.perClass !== undefined ? { perClass: opts.perClass } : {}),
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
    strict: opts.strict,
    copy: Boolean(opts.copy),
  });
  if (opts.json) {
    printJson(r);
    return;
  }
  const counts = Object.entries(r.perClass)
    .map(([c, n]) => `${c} ${n}`)
    .join(', ');
  process.stdout.write(`wrote ${r.dir}: ${r.total} images (${counts || 'none'})\n`);
}

interface AugmentFlags extends DatasetFlags {
  out: string;
  views: number;
  seed: number;
  size: number;
  split?: string;
  part?: SplitPart;
}

async function augment(dirs: string[], opts: AugmentFlags): Promise<void> {
  if (opts.views < 1) {
    throw new SkinganError(`--views must be 1 or more, got ${opts.views}`, { code: 'USAGE' });
  }
  const out = await outputGuard('data augment', [...dirs, opts.split], opts.force).checkAndClaim(opts.out);
  let progress: Progress | undefined;
  const r = await augmentViews(dirs, out, {
    views: opts.views,
    seed: opts.seed,
    size: opts.size,
    ...(opts.split ? { split: resolve(opts.split) } : {}),
    ...(opts.part ? { part: opts.part } : {}),
    ...(opts.classes ? { classes: opts.classes } : {}),
    strict: opts.strict,
    onProgress: (done, total) => {
      progress ??= new Progress({ label: 'augment', total, unit: 'images', quiet: opts.json });
      progress.update(done);
    },
  });
  const counts = Object.entries(r.perClass)
    .map(([c, n]) => `${c} ${n}`)
    .join(', ');
  const summary = `wrote ${r.total} views (${opts.views} of each of ${r.sources} images, ${opts.size}²: ${counts || 'none'}) to ${r.dir}`;
  if (progress) progress.finish(summary);
  else if (!opts.json) process.stderr.write(`${summary}\n`);
  if (opts.json) printJson({ ...r, views: opts.views, seed: opts.seed, size: opts.size });
}
