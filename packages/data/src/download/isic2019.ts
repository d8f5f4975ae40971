import { promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import { SkinganError, writeJsonAtomic } from '@skingan/core';
import { readLabelsCsv } from '../csv/labels-csv.js';
import { ISIC2019_GROUND_TRUTH, ISIC2019_INPUT_DIR } from '../dataset/load-dataset.js';
import { downloadFile } from './http-download.js';
import { extractZip } from './unzip.js';

/** A file of a remote dataset; `sha256` is checked when known. */
export interface RemoteFile {
  name: string;
  sha256?: string;
}

/** Where the ISIC 2019 challenge serves its training data. */
export const ISIC2019_BASE_URL = 'https://isic-challenge-data.s3.amazonaws.com/2019/';

/**
 * The official training files. The archive publishes no checksums; the ground truth is checked
 * against the official class counts instead, every image against its zip CRC-32, and the SHA-256 of
 * what was fetched is recorded in `download.json` (pass `sha256` to pin them).
 */
export const ISIC2019_FILES = Object.freeze({
  groundTruth: { name: ISIC2019_GROUND_TRUTH } as RemoteFile,
  images: { name: `${ISIC2019_INPUT_DIR}.zip` } as RemoteFile,
});

/** Class counts of the official ISIC 2019 training ground truth (25,331 images, no UNK). */
export const ISIC2019_TRAINING_COUNTS: Readonly<Record<string, number>> = Object.freeze({
  MEL: 4522,
  NV: 12875,
  BCC: 3323,
  AK: 867,
  BKL: 2624,
  DF: 239,
  VASC: 253,
  SCC: 628,
});

export interface DownloadProgress {
  phase: 'download' | 'extract';
  file: string;
  done: number;
  total: number | undefined;
}

export interface DownloadIsic2019Options {
  /** A mirror (or a test server) serving the same file names; default the ISIC archive. */
  baseUrl?: string;
  /** Pin checksums (hex SHA-256) of the ground truth and the image zip. */
  sha256?: { groundTruth?: string; images?: string };
  /** Check the ground truth's class counts against the official release; default: only for the official URL. */
  expectCounts?: Readonly<Record<string, number>> | false;
  /** Keep the zip after extraction; default false (it is ~9 GB). */
  keepZip?: boolean;
  retries?: number;
  retryDelayMs?: number;
  onProgress?: (p: DownloadProgress) => void;
}

export interface DownloadIsic2019Result {
  dir: string;
  groundTruth: string;
  imagesDir: string;
  images: number;
  files: { name: string; url: string; bytes: number; sha256: string }[];
}

/**
 * Downloads the ISIC 2019 training images and ground truth into `out` in the official layout
 * (`ISIC_2019_Training_GroundTruth.csv` + `ISIC_2019_Training_Input/`), which `loadDataset(out)`
 * reads as is. Resumable at every stage: rerun after a kill or a dropped connection.
 */
export async function downloadIsic2019(
  out: string,
  options: DownloadIsic2019Options = {},
): Promise<DownloadIsic2019Result> {
  const dir = resolve(out);
  const base = (options.baseUrl ?? ISIC2019_BASE_URL).replace(/\/?$/, '/');
  const manifestFile = join(dir, 'download.json');
  const manifest = await fs
    .readFile(manifestFile, 'utf8')
    .then((t) => JSON.parse(t) as { files?: DownloadIsic2019Result['files']; extracted?: string })
    .catch(() => ({}) as { files?: DownloadIsic2019Result['files']; extracted?: string });
  const files: DownloadIsic2019Result['files'] = [];
  const fetchOne = async (file: RemoteFile, sha256?: string) => {
    const url = base + file.name;
    const r = await downloadFile(url, join(dir, file.name), {
      sha256: sha256 ?? file.sha256,
      retries: options.retries,
      retryDelayMs: options.retryDelayMs,
      onProgress: (done, total) => options.onProgress?.({ phase: 'download', file: file.name, done, total }),
    });
    files.push({ name: file.name, url, bytes: r.bytes, sha256: r.sha256 });
    return r;
  };

  const gt = await fetchOne(ISIC2019_FILES.groundTruth, options.sha256?.groundTruth);
  const expectCounts =
    options.expectCounts ?? (options.baseUrl === undefined ? ISIC2019_TRAINING_COUNTS : false);
  if (expectCounts) await checkCounts(gt.path, expectCounts);

  const imagesDir = join(dir, ISIC2019_INPUT_DIR);
  const zipName = ISIC2019_FILES.images.name;
  const previous = manifest.files?.find((f) => f.name === zipName);
  if (manifest.extracted && previous && manifest.extracted === previous.sha256) {
    files.push(previous); // extracted by an earlier run; the zip may be gone
  } else {
    const zip = await fetchOne(ISIC2019_FILES.images, options.sha256?.images);
    await extractZip(zip.path, dir, {
      onProgress: (done, total) => options.onProgress?.({ phase: 'extract', file: zipName, done, total }),
    });
    // Recorded before the zip is deleted, so a kill in between never costs a second download.
    await writeJsonAtomic(manifestFile, { files, extracted: zip.sha256, date: new Date().toISOString() });
    if (!options.keepZip) await fs.rm(zip.path, { force: true });
  }
  const images = (await fs.readdir(imagesDir).catch(() => [] as string[])).filter((n) =>
    /\.(jpe?g|png)$/i.test(n),
  ).length;
  if (images === 0) {
    throw new SkinganError(`the image zip held no images under ${ISIC2019_INPUT_DIR}/`, {
      file: join(dir, zipName),
    });
  }
  return { dir, groundTruth: gt.path, imagesDir, images, files };
}

async function checkCounts(csvPath: string, expected: Readonly<Record<string, number>>): Promise<void> {
  const csv = await readLabelsCsv(csvPath);
  const counts: Record<string, number> = {};
  for (const row of csv.rows) counts[row.className] = (counts[row.className] ?? 0) + 1;
  const off = Object.entries(expected).filter(([c, n]) => (counts[c] ?? 0) !== n);
  if (off.length) {
    throw new SkinganError(
      `the ground truth does not match the official release: ${off.map(([c, n]) => `${c} ${counts[c] ?? 0} (expected ${n})`).join(', ')}`,
      { file: csvPath, hint: 'delete it and download again, or pass --base-url for a different release' },
    );
  }
}
