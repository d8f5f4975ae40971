import { createWriteStream, promises as fs } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32, SkinganError, tempSibling } from '@skingan/core';
import yauzl from 'yauzl';

export interface ExtractZipOptions {
  /** Called after each entry with entries done and the entry count. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Extracts a zip (zip64 included) into `outDir`. Entry names that would land outside `outDir` are
 * refused. Every file's CRC-32 is checked; each is written under a temp name and renamed, and files
 * already there with the entry's size are skipped, so an interrupted extraction resumes.
 */
export async function extractZip(
  zipPath: string,
  outDir: string,
  options: ExtractZipOptions = {},
): Promise<{ files: number }> {
  const root = resolve(outDir);
  await fs.mkdir(root, { recursive: true });
  const zip = await openZip(zipPath);
  let done = 0;
  let files = 0;
  try {
    await new Promise<void>((resolvePromise, reject) => {
      const fail = (e: unknown) => {
        zip.close();
        reject(e);
      };
      zip.on('error', (e: Error) => fail(zipError(zipPath, e)));
      zip.on('end', () => resolvePromise());
      zip.on('entry', (entry: yauzl.Entry) => {
        extractEntry(zip, entry, root, zipPath)
          .then((isFile) => {
            if (isFile) files++;
            options.onProgress?.(++done, zip.entryCount);
            zip.readEntry();
          })
          .catch(fail);
      });
      zip.readEntry();
    });
  } finally {
    zip.close();
  }
  return { files };
}

async function extractEntry(
  zip: yauzl.ZipFile,
  entry: yauzl.Entry,
  root: string,
  zipPath: string,
): Promise<boolean> {
  const target = resolve(root, entry.fileName);
  const rel = relative(root, target);
  if (rel.startsWith('..') || isAbsolute(rel)) {
    throw new SkinganError(`zip entry "${entry.fileName}" would be written outside ${root}`, {
      file: zipPath,
    });
  }
  if (entry.fileName.endsWith('/')) {
    await fs.mkdir(target, { recursive: true });
    return false;
  }
  const existing = await fs.stat(target).catch(() => undefined);
  if (existing?.isFile() && existing.size === entry.uncompressedSize) return true;
  await fs.mkdir(dirname(target), { recursive: true });
  const tmp = tempSibling(target); // a killed extraction's temp is one removeStaleTemps knows
  const stream = await new Promise<NodeJS.ReadableStream>((res, rej) =>
    zip.openReadStream(entry, (e, s) => (e ? rej(zipError(zipPath, e)) : res(s))),
  );
  let crc = 0;
  const check = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      crc = crc32(chunk, crc);
      cb(null, chunk);
    },
  });
  try {
    await pipeline(stream, check, createWriteStream(tmp));
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw zipError(zipPath, e as Error);
  }
  if (crc >>> 0 !== entry.crc32 >>> 0) {
    await fs.rm(tmp, { force: true });
    throw new SkinganError(`zip entry ${entry.fileName} is corrupt (CRC-32 mismatch)`, {
      file: zipPath,
      hint: 'delete the zip and download it again',
    });
  }
  await fs.rename(tmp, target);
  return true;
}

function openZip(path: string): Promise<yauzl.ZipFile> {
  return new Promise((res, rej) =>
    yauzl.open(path, { lazyEntries: true, autoClose: false, validateEntrySizes: true }, (e, zip) =>
      e ? rej(zipError(path, e)) : res(zip),
    ),
  );
}

function zipError(path: string, e: Error): SkinganError {
  return new SkinganError(`cannot extract: ${e.message}`, {
    file: path,
    cause: e,
    hint: 'the zip is damaged or incomplete; delete it and download again',
  });
}
