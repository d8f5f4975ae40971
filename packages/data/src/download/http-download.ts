import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import { dirname } from 'node:path';
import { SkinganError } from '@skingan/core';

export interface DownloadFileOptions {
  /** Expected SHA-256 (hex). A mismatch deletes the download and throws. */
  sha256?: string;
  /** Called as bytes arrive (`total` when the server says it). */
  onProgress?: (received: number, total: number | undefined) => void;
  /** Resumed retries after a dropped connection; default 3. */
  retries?: number;
  /** Wait before a retry, in ms; default 1000 (doubling). */
  retryDelayMs?: number;
}

export interface DownloadFileResult {
  path: string;
  bytes: number;
  sha256: string;
  /** Bytes already on disk from an earlier, interrupted run. */
  resumedFrom: number;
  /** The file was already complete; nothing was fetched. */
  cached: boolean;
}

interface PartMeta {
  url: string;
  validator?: string;
  total?: number;
}

/**
 * Downloads `url` to `dest`, resumably: bytes go to `dest.part` (with `dest.part.json` remembering the
 * URL and the server's ETag), an interrupted transfer continues with an HTTP Range request (guarded by
 * If-Range, so a changed file starts over), and only a complete, checksum-verified file is renamed to
 * `dest`. A complete `dest` is not fetched again (its checksum is verified when one is given).
 */
export async function downloadFile(
  url: string,
  dest: string,
  options: DownloadFileOptions = {},
): Promise<DownloadFileResult> {
  await fs.mkdir(dirname(dest), { recursive: true });
  const expected = options.sha256?.toLowerCase();
  const existing = await fs.stat(dest).catch(() => undefined);
  if (existing?.isFile()) {
    const sha256 = await hashFile(dest);
    if (expected && sha256 !== expected) {
      throw checksumError(dest, expected, sha256, 'the file on disk');
    }
    return { path: dest, bytes: existing.size, sha256, resumedFrom: existing.size, cached: true };
  }

  const part = `${dest}.part`;
  const metaFile = `${part}.json`;
  const meta = await readMeta(metaFile, url);
  let offset = meta ? ((await fs.stat(part).catch(() => undefined))?.size ?? 0) : 0;
  const resumedFrom = offset;
  const retries = options.retries ?? 3;
  let delay = options.retryDelayMs ?? 1000;
  let validator = meta?.validator;
  let total = meta?.total;

  for (let attempt = 0; ; attempt++) {
    try {
      ({ offset, validator, total } = await fetchInto(
        url,
        part,
        metaFile,
        { offset, validator, total },
        options.onProgress,
      ));
      break;
    } catch (e) {
      if (e instanceof SkinganError && e.code !== 'NETWORK') throw e;
      offset = (await fs.stat(part).catch(() => undefined))?.size ?? 0;
      if (attempt >= retries) {
        throw new SkinganError(
          `download of ${url} interrupted after ${offset} bytes: ${(e as Error).message}`,
          {
            code: 'NETWORK',
            file: dest,
            cause: e,
            hint: 'run the same command again to resume where it stopped',
          },
        );
      }
      await new Promise((r) => setTimeout(r, delay));
      delay *= 2;
    }
  }
  if (total !== undefined && offset !== total) {
    throw new SkinganError(`download of ${url} ended at ${offset} of ${total} bytes`, {
      code: 'NETWORK',
      file: dest,
      hint: 'run the same command again to resume where it stopped',
    });
  }
  const sha256 = await hashFile(part);
  if (expected && sha256 !== expected) {
    await fs.rm(part, { force: true });
    await fs.rm(metaFile, { force: true });
    throw checksumError(dest, expected, sha256, 'the download');
  }
  await fs.rename(part, dest);
  await fs.rm(metaFile, { force: true });
  return { path: dest, bytes: offset, sha256, resumedFrom, cached: false };
}

interface Transfer {
  offset: number;
  validator: string | undefined;
  total: number | undefined;
}

/** One HTTP request appending to `part` from `state.offset`; returns the new state. */
async function fetchInto(
  url: string,
  part: string,
  metaFile: string,
  state: Transfer,
  onProgress: DownloadFileOptions['onProgress'],
): Promise<Transfer> {
  const headers: Record<string, string> = {};
  if (state.offset > 0) {
    headers.Range = `bytes=${state.offset}-`;
    if (state.validator) headers['If-Range'] = state.validator;
  }
  let res: Response;
  try {
    res = await fetch(url, { headers, redirect: 'follow' });
  } catch (e) {
    throw new SkinganError(`cannot reach ${url}: ${(e as Error).message}`, { code: 'NETWORK', cause: e });
  }
  let offset = state.offset;
  if (res.status === 416 && state.total !== undefined && state.offset === state.total) {
    return state; // already complete
  }
  if (res.status === 206) {
    const start = Number(/bytes (\d+)-/.exec(res.headers.get('content-range') ?? '')?.[1]);
    if (start !== offset) {
      await res.body?.cancel();
      throw new SkinganError(`${url}: the server resumed at byte ${start}, not ${offset}`, {
        code: 'NETWORK',
      });
    }
  } else if (res.ok) {
    offset = 0; // a full response: the server ignored the range, or the file changed
  } else {
    await res.body?.cancel();
    throw new SkinganError(`${url}: HTTP ${res.status} ${res.statusText}`, {
      code: res.status >= 500 ? 'NETWORK' : 'NOT_FOUND',
      hint:
        res.status === 404 || res.status === 403
          ? 'check the URL (--base-url) or whether the file moved'
          : undefined,
    });
  }
  const length = Number(res.headers.get('content-length'));
  const total = Number.isFinite(length) && res.headers.has('content-length') ? offset + length : undefined;
  const validator = res.headers.get('etag') ?? res.headers.get('last-modified') ?? undefined;
  await fs.writeFile(metaFile, JSON.stringify({ url, validator, total } satisfies PartMeta));
  const fh = await fs.open(part, offset === 0 ? 'w' : 'a');
  try {
    if (res.body) {
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        await fh.write(chunk);
        offset += chunk.length;
        onProgress?.(offset, total);
      }
    }
  } catch (e) {
    throw new SkinganError(`connection lost: ${(e as Error).message}`, { code: 'NETWORK', cause: e });
  } finally {
    await fh.close();
  }
  return { offset, validator, total };
}

/** What an earlier transfer of `url` recorded; undefined when none did (another URL's part is not resumed). */
async function readMeta(path: string, url: string): Promise<PartMeta | undefined> {
  try {
    const meta = JSON.parse(await fs.readFile(path, 'utf8')) as PartMeta;
    return meta.url === url ? meta : undefined;
  } catch {
    return undefined;
  }
}

/** SHA-256 (hex) of a file, streamed. */
export async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function checksumError(file: string, expected: string, actual: string, what: string): SkinganError {
  return new SkinganError(`${what} has SHA-256 ${actual}, expected ${expected}`, {
    code: 'BAD_INPUT',
    file,
    hint: 'the file is corrupt or was changed upstream; delete it and download again (or pass the new checksum)',
  });
}
