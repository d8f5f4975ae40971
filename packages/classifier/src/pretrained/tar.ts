import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { SkinganError } from '@skingan/core';

const gunzipAsync = promisify(gunzip);

/** One regular file of a tar archive. */
export interface TarFile {
  path: string;
  data: Uint8Array;
}

/**
 * Reads the regular files of a (gzipped) ustar/pax archive such as an npm tarball, keeping those
 * `keep` accepts. Small on purpose: regular files, GNU long names and pax `path` records; links,
 * devices and the rest are skipped. Header checksums are verified.
 */
export async function readTar(
  archive: Uint8Array,
  keep: (path: string) => boolean,
  file = 'archive',
): Promise<TarFile[]> {
  const buf =
    archive[0] === 0x1f && archive[1] === 0x8b ? new Uint8Array(await gunzipAsync(archive)) : archive;
  const files: TarFile[] = [];
  let offset = 0;
  let longName: string | undefined;
  while (offset + 512 <= buf.length) {
    const header = buf.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    if (!checksumOk(header)) {
      throw new SkinganError(`corrupt tar header at byte ${offset}`, {
        code: 'BAD_INPUT',
        file,
        hint: 'delete the download and fetch it again',
      });
    }
    const size = parseOctal(header.subarray(124, 136));
    const type = String.fromCharCode(header[156] || 0x30);
    const prefix = cString(header.subarray(345, 500));
    const name =
      longName ??
      (prefix ? `${prefix}/${cString(header.subarray(0, 100))}` : cString(header.subarray(0, 100)));
    const body = buf.subarray(offset + 512, offset + 512 + size);
    if (body.length < size) throw new SkinganError('tar archive is truncated', { code: 'BAD_INPUT', file });
    offset += 512 + Math.ceil(size / 512) * 512;
    if (type === 'L') {
      longName = cString(body);
      continue;
    }
    if (type === 'x') {
      longName = paxPath(body) ?? longName;
      continue;
    }
    longName = undefined;
    if ((type === '0' || type === '\0') && keep(name)) files.push({ path: name, data: body.slice() });
  }
  return files;
}

function checksumOk(header: Uint8Array): boolean {
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : header[i]!;
  return sum === parseOctal(header.subarray(148, 156));
}

function parseOctal(bytes: Uint8Array): number {
  const s = cString(bytes).trim();
  return s ? Number.parseInt(s, 8) : 0;
}

function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(end < 0 ? bytes : bytes.subarray(0, end));
}

/** The `path` record of a pax extended header ("<len> path=<value>\n" records). */
function paxPath(body: Uint8Array): string | undefined {
  const text = new TextDecoder().decode(body);
  const m = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(text);
  return m?.[1];
}
