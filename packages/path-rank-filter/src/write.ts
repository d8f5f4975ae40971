import { promises as fs } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import {
  ISIC2019,
  pathExists,
  replaceDirAtomic,
  SkinganError,
  writeFileAtomic,
  writeJsonAtomic,
} from '@skingan/core';
import type { Ranked } from './select.js';

/** A row of `ranking.csv`: a ranked image, with the classifier's predicted class when known. */
type RankingRow = Ranked & { predicted?: string };

/** `id,probability,predicted,rank,kept` — every image, the kept ones first. */
export function rankingCsv(rows: readonly RankingRow[]): string {
  const lines = rows.map((r) =>
    [csvField(r.id), r.probability.toPrecision(6), r.predicted ?? '', r.rank ?? '', r.kept ? 1 : 0].join(','),
  );
  return `${['id,probability,predicted,rank,kept', ...lines].join('\n')}\n`;
}

export async function writeRankingCsv(path: string, rows: readonly RankingRow[]): Promise<void> {
  await writeFileAtomic(path, rankingCsv(rows));
}

export interface KeptDatasetOptions {
  /** Symbolic links to the originals instead of copies. */
  link?: boolean;
  /** Written to `prf.json` beside labels.csv. */
  info?: Record<string, unknown>;
  /** Written to `ranking.csv` beside labels.csv. */
  ranking?: readonly RankingRow[];
}

/** Refuses `outDir` when it exists and is not empty: a kept dataset never replaces one. */
export async function checkKeptDatasetOut(outDir: string): Promise<void> {
  const out = resolve(outDir);
  if ((await pathExists(out)) && (await fs.readdir(out)).length > 0) {
    throw new SkinganError('the output folder exists and is not empty', {
      code: 'USAGE',
      file: out,
      hint: 'choose another --out folder or remove this one',
    });
  }
}

/**
 * Writes the kept images as a skingan dataset folder: `images/<id><ext>` (copies or links) and
 * `labels.csv` in the ISIC 2019 ground-truth format, all labelled `className` (plus `prf.json`
 * and `ranking.csv` when given). The folder is built
 * in a temporary sibling and renamed into place, and an existing non-empty folder is refused, so a
 * failure never leaves half a dataset or overwrites one.
 */
export async function writeKeptDataset(
  outDir: string,
  kept: readonly { id: string; path: string }[],
  className: string,
  options: KeptDatasetOptions = {},
): Promise<void> {
  const out = resolve(outDir);
  const column = ISIC2019.classes.indexOf(className);
  if (column < 0) {
    throw new SkinganError(`class "${className}" is not an ISIC 2019 class, so labels.csv cannot hold it`, {
      code: 'USAGE',
    });
  }
  await checkKeptDatasetOut(out);
  await replaceDirAtomic(out, async (tmp) => {
    await fs.mkdir(join(tmp, 'images'));
    for (const k of kept) {
      const dest = join(tmp, 'images', `${k.id}${extname(k.path).toLowerCase()}`);
      if (options.link) await fs.symlink(resolve(k.path), dest);
      else await fs.copyFile(k.path, dest);
    }
    const header = ['image', ...ISIC2019.classes, 'UNK'];
    const row = (id: string) =>
      [id, ...header.slice(1).map((_, i) => (i === column ? '1.0' : '0.0'))].join(',');
    await writeFileAtomic(
      join(tmp, 'labels.csv'),
      `${[header.join(','), ...kept.map((k) => row(k.id))].join('\n')}\n`,
    );
    if (options.info) await writeJsonAtomic(join(tmp, 'prf.json'), options.info);
    if (options.ranking) await writeRankingCsv(join(tmp, 'ranking.csv'), options.ranking);
  }); // replaces `out`, empty (checked above) or absent
}

function csvField(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
