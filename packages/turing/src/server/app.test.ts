import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { inviteRater } from '../invite.js';
import { IMAGES_DIR, StudyStore } from '../store/store.js';
import { makeStudy } from '../test-utils/study.js';
import { buildApp } from './app.js';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

describe('the raters’ web app', () => {
  let t: Awaited<ReturnType<typeof makeStudy>>;
  let store: StudyStore;
  let app: FastifyInstance;
  let token: string;
  let other: string;
  beforeAll(async () => {
    t = await makeStudy(5);
    // Files a path from the request could try to reach.
    await fs.writeFile(join(t.study, 'labels.csv'), 'image,MEL\nsecret,1\n');
    store = StudyStore.open(t.study);
    token = inviteRater(store, 'Dr A').token;
    other = inviteRater(store, 'Dr B').token;
    app = await buildApp(store);
  });
  afterAll(async () => {
    await app.close();
    store.close();
    await fs.rm(t.root, { recursive: true, force: true });
  });

  const page = async (tok = token) => app.inject({ method: 'GET', url: `/r/${tok}` });
  const imageIdOn = (html: string) => /\/image\/([0-9a-f]{32})"/.exec(html)![1]!;
  const positionOn = (html: string) => Number(/name="position" value="(\d+)"/.exec(html)![1]);
  const post = (payload: string | object, tok = token, contentType = 'application/x-www-form-urlencoded') =>
    app.inject({
      method: 'POST',
      url: `/r/${tok}/answer`,
      headers: { 'content-type': contentType },
      payload:
        typeof payload === 'string'
          ? payload
          : new URLSearchParams(payload as Record<string, string>).toString(),
    });

  describe('a rater', () => {
    it('sees one image at a time, with nothing on the page that names its source', async () => {
      const r = await page();
      expect(r.statusCode).toBe(200);
      expect(r.headers['content-security-policy']).toMatch(/default-src 'none'; img-src 'self'/);
      expect(r.headers['referrer-policy']).toBe('no-referrer');
      const html = r.body;
      const id = imageIdOn(html);
      const im = store.image(id)!;
      expect(html).not.toContain(im.origin);
      expect(html).not.toContain('acgan');
      expect(html).not.toContain('demo_');
      expect(html).toContain('<progress id="progress" value="0" max="20">');
      const img = await app.inject({ method: 'GET', url: `/r/${token}/image/${id}` });
      expect(img.statusCode).toBe(200);
      expect(img.headers['content-type']).toBe('image/png');
      expect(sha(img.rawPayload)).toBe(sha(await fs.readFile(join(t.study, IMAGES_DIR, `${id}.png`))));
    });

    it('answers: saved before the 303 to the next image; a replayed answer changes nothing', async () => {
      const first = await page();
      const pos = positionOn(first.body);
      const r = await post({
        position: String(pos),
        verdict: 'synthetic',
        confidence: '4',
        diagnosis: 'MEL',
      });
      expect(r.statusCode).toBe(303);
      expect(r.headers.location).toBe(`/r/${token}`);
      expect(store.answers()).toHaveLength(1);
      expect(store.answers()[0]).toMatchObject({
        rater: 'Dr A',
        position: pos,
        verdict: 'synthetic',
        confidence: 4,
        diagnosis: 'MEL',
      });
      const next = await page();
      expect(positionOn(next.body)).toBe(pos + 1);
      expect(imageIdOn(next.body)).not.toBe(imageIdOn(first.body));
      expect(next.body).toContain('<progress id="progress" value="1" max="20">');
      // The same form again (double click, back + resubmit): still one answer, unchanged.
      const again = await post({ position: String(pos), verdict: 'real', confidence: '1' });
      expect(again.statusCode).toBe(303);
      expect(store.answers()).toHaveLength(1);
      expect(store.answers()[0]!.verdict).toBe('synthetic');
    });

    it('cannot answer an image ahead of the current one (409, nothing written)', async () => {
      const pos = positionOn((await page()).body);
      const before = store.counts();
      const r = await post({ position: String(pos + 3), verdict: 'real', confidence: '2' });
      expect(r.statusCode).toBe(409);
      expect(store.counts()).toEqual(before);
    });

    it('has an order of their own and gets the thank-you page at the end, never the key', async () => {
      const a = store.images().map((i) => i.id);
      const orderOf = (name: string) =>
        (
          store.db
            .prepare(
              'SELECT image_id FROM assignments JOIN raters r ON r.id = rater_id WHERE r.name = ? ORDER BY position',
            )
            .all(name) as { image_id: string }[]
        ).map((r) => r.image_id);
      expect([...orderOf('Dr A')].sort()).toEqual([...a].sort());
      expect([...orderOf('Dr B')].sort()).toEqual([...a].sort());
      expect(orderOf('Dr A')).not.toEqual(orderOf('Dr B'));
      for (let i = 0; i < 20; i++) {
        const r = await page(other);
        if (i === 0) expect(r.body).toContain('1 / 20');
        const res = await post(
          { position: String(positionOn(r.body)), verdict: 'real', confidence: '3' },
          other,
        );
        expect(res.statusCode).toBe(303);
      }
      const done = await page(other);
      expect(done.statusCode).toBe(200);
      expect(done.body).toContain('All 20 images are answered');
      expect(done.body).not.toMatch(/correct|accuracy|synthetic images/i);
    });
  });

  describe('refuses, and writes nothing', () => {
    let before: ReturnType<StudyStore['counts']>;
    beforeEach(() => {
      before = store.counts();
    });
    const unchanged = () => expect(store.counts()).toEqual(before);

    it.each([
      '../labels.csv',
      '..%2Flabels.csv',
      '%2e%2e%2flabels.csv',
      '%2E%2E%5Clabels.csv',
      '..%252Flabels.csv',
      '....//labels.csv',
      '%2Fetc%2Fpasswd',
      '..%2F..%2Freal%2Flabels.csv',
      'images%2F..%2F..%2Flabels.csv',
      '..',
    ])('a request for %s: 404, no file content', async (name) => {
      const r = await app.inject({ method: 'GET', url: `/r/${token}/image/${name}` });
      expect(r.statusCode).toBe(404);
      expect(r.body).not.toContain('secret');
      expect(r.body).not.toContain('image,');
      expect(r.headers['content-type']).not.toBe('image/png');
      unchanged();
    });

    it('an image id not in the study: 404', async () => {
      const r = await app.inject({ method: 'GET', url: `/r/${token}/image/${'0'.repeat(32)}` });
      expect(r.statusCode).toBe(404);
      unchanged();
    });

    it('a wrong, malformed or missing token: 403 and no image, page or answer', async () => {
      const id = store.images()[0]!.id;
      const wrong = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
      for (const tok of [wrong, 'x', '%00', 'A'.repeat(40)]) {
        for (const url of [`/r/${tok}`, `/r/${tok}/image/${id}`]) {
          const r = await app.inject({ method: 'GET', url });
          expect(r.statusCode, url).toBe(403);
          expect(r.headers['content-type']).not.toBe('image/png');
        }
        expect((await post({ position: '0', verdict: 'real', confidence: '3' }, tok)).statusCode).toBe(403);
      }
      for (const url of ['/r/', `/r//image/${id}`]) {
        const r = await app.inject({ method: 'GET', url });
        expect(r.statusCode, url).toBe(403);
      }
      // Images exist only under a rater's link.
      const bare = await app.inject({ method: 'GET', url: `/image/${id}` });
      expect([bare.statusCode, bare.headers['content-type']]).toEqual([404, 'text/html; charset=utf-8']);
      unchanged();
    });

    it('an oversized body: 413', async () => {
      const r = await post(`position=1&verdict=real&confidence=3&diagnosis=${'A'.repeat(5000)}`);
      expect(r.statusCode).toBe(413);
      unchanged();
    });

    it.each([
      ['verdict outside real/synthetic', 'position=1&verdict=maybe&confidence=3'],
      ['confidence 9', 'position=1&verdict=real&confidence=9'],
      ['confidence not a number', 'position=1&verdict=real&confidence=high'],
      ['no verdict', 'position=1&confidence=3'],
      ['a negative position', 'position=-1&verdict=real&confidence=3'],
      ['an unknown diagnosis', 'position=1&verdict=real&confidence=3&diagnosis=FOO'],
      ['an extra field', 'position=1&verdict=real&confidence=3&rater=Dr%20B'],
    ])('a malformed answer (%s): 400', async (_why, body) => {
      const r = await post(body);
      expect(r.statusCode).toBe(400);
      unchanged();
    });

    it('broken JSON: 400; an unsupported content type: 415', async () => {
      expect((await post('{"position": 1, "verdict": ', token, 'application/json')).statusCode).toBe(400);
      expect((await post('position=1', token, 'text/plain')).statusCode).toBe(415);
      unchanged();
    });
  });
});
