import { createHash } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZipFile } from 'yazl';
import { loadDataset } from '../dataset/load-dataset.js';
import { HEADER, row, tempDir, writeTestImage } from '../test-utils/fixtures.js';
import { downloadFile } from './http-download.js';
import { downloadIsic2019 } from './isic2019.js';
import { extractZip } from './unzip.js';

function zipOf(entries: { name: string; data: Buffer; compress?: boolean }[]): Promise<Buffer> {
  const zip = new ZipFile();
  for (const e of entries) zip.addBuffer(e.data, e.name, { compress: e.compress ?? true });
  zip.end();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    zip.outputStream.on('data', (c: Buffer) => chunks.push(c));
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
    zip.outputStream.on('error', reject);
  });
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * A static file server on 127.0.0.1 with Range, ETag and If-Range, that can cut a response after
 * some bytes (a dropped connection). The cut waits for the client: the server sends exactly the
 * bytes, and drops the connection only once the client reports (`received`) that it has them all,
 * so a slow client cannot lose them to the drop (a dropped fetch discards what it had not read).
 */
class TestServer {
  files = new Map<string, Buffer>();
  requests: { path: string; range?: string; status: number }[] = [];
  /** Bytes after which the next response for a path is cut. */
  cutAfter = new Map<string, number>();
  /** Responses sent up to their cut, waiting for the client to have the bytes: path → [bytes, drop]. */
  private cuts = new Map<string, [number, () => void]>();
  private server: Server = createServer((req, res) => this.handle(req, res));
  url = '';

  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/2019/`;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }

  private handle(req: IncomingMessage, res: import('node:http').ServerResponse): void {
    const path = decodeURIComponent((req.url ?? '').replace(/^\/2019\//, ''));
    const body = this.files.get(path);
    const range = req.headers.range;
    if (!body) {
      this.requests.push({ path, range, status: 404 });
      res.writeHead(404).end();
      return;
    }
    const etag = `"${sha256(body).slice(0, 16)}"`;
    let start = 0;
    let status = 200;
    const m = /^bytes=(\d+)-$/.exec(range ?? '');
    if (m && (!req.headers['if-range'] || req.headers['if-range'] === etag)) {
      start = Number(m[1]);
      status = 206;
    }
    this.requests.push({ path, range, status });
    const part = body.subarray(start);
    res.writeHead(status, {
      'content-length': part.length,
      etag,
      ...(status === 206 ? { 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}),
    });
    const cut = this.cutAfter.get(path);
    if (cut !== undefined) {
      this.cutAfter.delete(path);
      this.cuts.set(path, [cut, () => res.destroy()]);
      res.write(part.subarray(0, cut));
      return;
    }
    res.end(part);
  }

  /** The client's progress on `path`: drops a cut response's connection once the client has its bytes. */
  received(path: string, bytes: number): void {
    const cut = this.cuts.get(path);
    if (cut && bytes >= cut[0]) {
      this.cuts.delete(path);
      cut[1]();
    }
  }
}

describe('download', () => {
  let dir: string;
  let server: TestServer;
  let zip: Buffer;
  const gt = `${HEADER}\n${row('ISIC_0000001', 'MEL')}\n${row('ISIC_0000002', 'NV')}\n`;

  beforeAll(async () => {
    dir = await tempDir();
    const img = join(dir, 'img.jpg');
    await writeTestImage(img, 16, 12, (x, y) => [x * 10, y * 10, 90]);
    const jpeg = await fs.readFile(img);
    zip = await zipOf([
      { name: 'ISIC_2019_Training_Input/ISIC_0000001.jpg', data: jpeg },
      { name: 'ISIC_2019_Training_Input/ISIC_0000002.jpg', data: jpeg },
      { name: 'ISIC_2019_Training_Input/LICENSE.txt', data: Buffer.from('CC BY-NC 4.0\n'.repeat(2000)) },
    ]);
    server = new TestServer();
    server.files.set('ISIC_2019_Training_GroundTruth.csv', Buffer.from(gt));
    server.files.set('ISIC_2019_Training_Input.zip', zip);
    await server.start();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('downloads, resumes an interrupted transfer with a Range request, verifies and extracts', async () => {
    const out = join(dir, 'isic');
    server.requests = [];
    server.cutAfter.set('ISIC_2019_Training_Input.zip', 1000);
    const phases = new Set<string>();
    const opts = {
      baseUrl: server.url,
      retries: 0,
      sha256: { images: sha256(zip) },
      onProgress: (p: { phase: string; file: string; done: number }) => {
        phases.add(p.phase);
        if (p.phase === 'download') server.received(p.file, p.done);
      },
    };
    await expect(downloadIsic2019(out, opts)).rejects.toThrow(
      /download of .*ISIC_2019_Training_Input\.zip interrupted after 1000 bytes/,
    );
    expect((await fs.stat(join(out, 'ISIC_2019_Training_Input.zip.part'))).size).toBe(1000);

    const r = await downloadIsic2019(out, opts);
    const zipRequests = server.requests.filter((q) => q.path.endsWith('.zip'));
    expect(zipRequests).toEqual([
      { path: 'ISIC_2019_Training_Input.zip', range: undefined, status: 200 },
      { path: 'ISIC_2019_Training_Input.zip', range: 'bytes=1000-', status: 206 },
    ]);
    expect(r.images).toBe(2);
    expect(r.files.find((f) => f.name.endsWith('.zip'))).toMatchObject({
      bytes: zip.length,
      sha256: sha256(zip),
    });
    expect([...phases].sort()).toEqual(['download', 'extract']);
    expect(existsSync(join(out, 'ISIC_2019_Training_Input.zip'))).toBe(false); // deleted after extraction

    const ds = await loadDataset(out);
    expect(ds.roots[0]?.layout).toBe('isic2019');
    expect(ds.samples.map((s) => [s.id, s.label])).toEqual([
      ['ISIC_0000001', 0],
      ['ISIC_0000002', 1],
    ]);
    expect(ds.problems).toEqual([]);

    // A rerun finds everything done and fetches nothing.
    const before = server.requests.length;
    await downloadIsic2019(out, opts);
    expect(server.requests.length).toBe(before);
  });

  it('retries within one call, resuming each time', async () => {
    const dest = join(dir, 'retry', 'file.zip');
    server.requests = [];
    server.cutAfter.set('ISIC_2019_Training_Input.zip', 300);
    const r = await downloadFile(`${server.url}ISIC_2019_Training_Input.zip`, dest, {
      retries: 2,
      retryDelayMs: 1,
      onProgress: (done) => server.received('ISIC_2019_Training_Input.zip', done),
    });
    expect(r).toMatchObject({ bytes: zip.length, sha256: sha256(zip), cached: false });
    expect(server.requests.map((q) => q.range)).toEqual([undefined, 'bytes=300-']);
    expect((await fs.readFile(dest)).equals(zip)).toBe(true);
  });

  it('starts over when the file changed upstream (If-Range)', async () => {
    const dest = join(dir, 'changed', 'gt.csv');
    const url = `${server.url}changing.csv`;
    server.files.set('changing.csv', Buffer.from('a'.repeat(5000)));
    server.cutAfter.set('changing.csv', 2000);
    const onProgress = (done: number) => server.received('changing.csv', done);
    await expect(downloadFile(url, dest, { retries: 0, onProgress })).rejects.toThrow(
      'interrupted after 2000 bytes',
    );
    server.files.set('changing.csv', Buffer.from('b'.repeat(4000)));
    server.requests = [];
    await downloadFile(url, dest, { retries: 0 });
    expect(server.requests).toEqual([{ path: 'changing.csv', range: 'bytes=2000-', status: 200 }]);
    expect(await fs.readFile(dest, 'utf8')).toBe('b'.repeat(4000));
  });

  it('rejects a checksum mismatch and deletes the bad download', async () => {
    const dest = join(dir, 'bad', 'gt.csv');
    await expect(
      downloadFile(`${server.url}ISIC_2019_Training_GroundTruth.csv`, dest, { sha256: 'f'.repeat(64) }),
    ).rejects.toThrow(
      `${dest}: the download has SHA-256 ${sha256(Buffer.from(gt))}, expected ${'f'.repeat(64)}`,
    );
    expect(existsSync(`${dest}.part`)).toBe(false);
    expect(existsSync(dest)).toBe(false);
  });

  it('names a missing file and a ground truth that does not match the expected counts', async () => {
    await expect(
      downloadFile(`${server.url}nope.zip`, join(dir, 'nope.zip'), { retries: 0 }),
    ).rejects.toThrow(`${server.url}nope.zip: HTTP 404 Not Found`);
    await expect(
      downloadIsic2019(join(dir, 'counts'), { baseUrl: server.url, expectCounts: { MEL: 4522, NV: 12875 } }),
    ).rejects.toThrow(
      'the ground truth does not match the official release: MEL 1 (expected 4522), NV 1 (expected 12875)',
    );
  });

  it('extractZip refuses entries that leave the folder and checks every CRC', async () => {
    const slip = await zipOf([{ name: 'xx/evil.txt', data: Buffer.from('owned') }]);
    const patched = Buffer.from(slip.toString('latin1').replaceAll('xx/evil.txt', '../evil.txt'), 'latin1');
    await fs.writeFile(join(dir, 'slip.zip'), patched);
    await expect(extractZip(join(dir, 'slip.zip'), join(dir, 'slip'))).rejects.toThrow(
      /slip\.zip: cannot extract: invalid relative path: \.\.\/evil\.txt/,
    );
    expect(existsSync(join(dir, 'evil.txt'))).toBe(false);

    const data = Buffer.from('x'.repeat(100));
    const stored = await zipOf([{ name: 'a.txt', data, compress: false }]);
    const at = stored.indexOf(data);
    stored[at + 50] = 'y'.charCodeAt(0);
    await fs.writeFile(join(dir, 'crc.zip'), stored);
    await expect(extractZip(join(dir, 'crc.zip'), join(dir, 'crc'))).rejects.toThrow(
      'zip entry a.txt is corrupt (CRC-32 mismatch)',
    );
    expect(existsSync(join(dir, 'crc', 'a.txt'))).toBe(false);
  });
});
