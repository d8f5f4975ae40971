import { promises as fs } from 'node:fs';
import { extname, join } from 'node:path';
import { Rng, type Sample, SkinganError, writeFileAtomic } from '@skingan/core';
import { writeLabelsCsv } from '../csv/labels-csv.js';
import { readProvenance } from '../dataset/provenance.js';
import { loadSelection, type SelectionOptions } from '../dataset/selection.js';

export interface SubsetOptions extends SelectionOptions {
  /** Keep the first n images of each class, in the sources' order: sets for n ⊂ sets for larger n. */
  perClass?: number;
  /**
   * With `perClass`: draw each class's n at random with this seed instead of taking the first n
   * (still nested: the n of a seed are among its larger n). The folder keeps the sources' order.
   */
  seed?: number;
  /** Copy image files instead of symlinking them (links are the default: no disk, instant). */
  copy?: boolean;
}

export interface SubsetResult {
  dir: string;
  total: number;
  perClass: Record<string, number>;
}

/**
 * Writes a dataset folder holding chosen images of other dataset folders: `labels.csv`, `images/`
 * (symlinks, or copies) and `provenance.jsonl` (each source's record for the image, when it has one,
 * plus the folder it came from). Experiments use it for "the test images", "the MEL train images" or
 * "the first 250 synthetic images of each class", so every such set is an ordinary dataset folder.
 */
export async function subsetDataset(
  sources: readonly string[],
  out: string,
  options: SubsetOptions = {},
): Promise<SubsetResult> {
  if (options.perClass !== undefined && !(Number.isInteger(options.perClass) && options.perClass >= 0)) {
    throw new SkinganError(`images per class must be a non-negative integer, got ${options.perClass}`, {
      code: 'USAGE',
    });
  }
  if (options.seed !== undefined && options.perClass === undefined) {
    throw new SkinganError('a seed draws n images of each class: it needs perClass (--per-class)', {
      code: 'USAGE',
    });
  }
  const { dataset, samples } = await loadSelection(sources, options);

  const taken = new Map<number, number>();
  const order = options.seed === undefined ? samples : new Rng(`subset:${options.seed}`).shuffle(samples);
  const kept = new Set(
    order.filter((s) => {
      const n = taken.get(s.label) ?? 0;
      if (options.perClass !== undefined && n >= options.perClass) return false;
      taken.set(s.label, n + 1);
      return true;
    }),
  );
  const chosen = samples.filter((s) => kept.has(s));
  // Ids are unique: loadDataset refuses an id in two source folders.

  const provenance = new Map<string, Record<string, unknown>>();
  for (const r of dataset.roots) for (const p of await readProvenance(r.dir)) provenance.set(p.id, p.record);
  await clearPreviousSubset(out);
  const imagesDir = join(out, 'images');
  await fs.mkdir(imagesDir, { recursive: true });
  const className = (s: Sample) => dataset.labelSpace.classes[s.label]!;
  const lines: string[] = [];
  for (const s of chosen) {
    const target = join(imagesDir, `${s.id}${extname(s.path).toLowerCase()}`);
    if (options.copy) await fs.copyFile(s.path, target);
    else await fs.symlink(s.path, target);
    const source = dataset.roots.find((r) => s.path.startsWith(r.dir))?.dir;
    lines.push(
      `${JSON.stringify({ ...provenance.get(s.id), id: s.id, class: className(s), subsetOf: source })}\n`,
    );
  }
  await writeFileAtomic(join(out, 'provenance.jsonl'), lines.join(''));
  const synthetic = dataset.roots.some((r) => r.synthetic);
  await writeFileAtomic(
    join(out, 'dataset.json'),
    `${JSON.stringify({ kind: 'subset', synthetic, sources: dataset.roots.map((r) => r.dir), ...options }, null, 2)}\n`,
  );
  // labels.csv last: a folder without it is not a dataset yet.
  await writeLabelsCsv(
    join(out, 'labels.csv'),
    chosen.map((s) => ({ id: s.id, className: className(s) })),
  );
  const perClass: Record<string, number> = {};
  for (const s of chosen) perClass[className(s)] = (perClass[className(s)] ?? 0) + 1;
  return { dir: out, total: chosen.length, perClass };
}

/** An earlier subset in `out` is replaced; any other non-empty folder is left alone and refused. */
async function clearPreviousSubset(out: string): Promise<void> {
  const entries = await fs.readdir(out).catch(() => [] as string[]);
  if (entries.length === 0) return;
  const meta = await fs.readFile(join(out, 'dataset.json'), 'utf8').catch(() => '');
  if (!meta.includes('"kind": "subset"')) {
    throw new SkinganError('the output folder exists and is not an earlier subset', {
      code: 'USAGE',
      file: out,
      hint: 'choose an empty or new --out folder',
    });
  }
  await fs.rm(out, { recursive: true, force: true });
}
