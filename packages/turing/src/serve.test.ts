import { promises as fs } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inviteRater } from './invite.js';
import { serveStudy } from './serve.js';
import { StudyStore } from './store/store.js';
import { makeStudy } from './test-utils/study.js';

describe('serveStudy', () => {
  let t: Awaited<ReturnType<typeof makeStudy>>;
  beforeAll(async () => {
    t = await makeStudy(1);
  });
  afterAll(async () => {
    await fs.rm(t.root, { recursive: true, force: true });
  });

  it('listens on 127.0.0.1 unless told otherwise, and serves the rater over real HTTP', async () => {
    const store = StudyStore.open(t.study);
    const { token } = inviteRater(store, 'Dr L');
    store.close();
    const server = await serveStudy(t.study, { port: 0 });
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const res = await fetch(`${server.url}/r/${token}`);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('1 / 4');
      expect((await fetch(`${server.url}/r/${'x'.repeat(32)}`)).status).toBe(403);
    } finally {
      await server.close();
    }
  });

  it('refuses a folder that is not a study before listening', async () => {
    await expect(serveStudy(t.root, { port: 0 })).rejects.toThrow(
      `${t.root}: not a Turing study folder (no study.sqlite)`,
    );
  });
});
