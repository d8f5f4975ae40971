import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashToken } from '../tokens.js';
import { SCHEMA_VERSION } from './migrations.js';
import { DB_FILE, StudyStore } from './store.js';

const INFO = { name: 's', seed: 1, imageSize: 32, classes: ['MEL', 'NV'], createdAt: '2026-01-01T00:00:00Z' };
const IMAGES = ['a', 'b', 'c'].map((c) => ({
  id: c.repeat(32),
  source: c === 'a' ? ('real' as const) : ('synthetic' as const),
  generator: c === 'a' ? null : 'acgan',
  className: 'MEL',
  origin: `/x/${c}.png`,
}));

describe('StudyStore', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(join(tmpdir(), 'skingan-store-'));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('writes the schema version and uses WAL with full sync', () => {
    const s = StudyStore.create(dir, INFO, IMAGES);
    try {
      expect(s.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      expect(s.db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(s.db.pragma('synchronous', { simple: true })).toBe(2); // FULL
      expect(s.info()).toEqual(INFO);
    } finally {
      s.close();
    }
  });

  it('brings an older database (here: version 0, empty) to the current schema', () => {
    new Database(join(dir, DB_FILE)).close();
    const s = StudyStore.open(dir);
    try {
      expect(s.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      const tables = (
        s.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as {
          name: string;
        }[]
      ).map((t) => t.name);
      expect(tables).toEqual(['answers', 'assignments', 'images', 'raters', 'study']);
      expect(s.counts()).toEqual({ raters: 0, answers: 0, images: 0 });
    } finally {
      s.close();
    }
  });

  it('refuses a database from a newer skingan, naming the versions', () => {
    StudyStore.create(dir, INFO, IMAGES).close();
    const db = new Database(join(dir, DB_FILE));
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => StudyStore.open(dir)).toThrow(
      `${join(dir, DB_FILE)}: the study database has schema version ${SCHEMA_VERSION + 1}; this skingan knows up to ${SCHEMA_VERSION}`,
    );
  });

  it('says what to do with a folder that is not a study', () => {
    expect(() => StudyStore.open(dir)).toThrow(`${dir}: not a Turing study folder (no study.sqlite)`);
  });

  it('answers in order, once per position; finds raters by token only', () => {
    const s = StudyStore.create(dir, INFO, IMAGES);
    try {
      const order = IMAGES.map((i) => i.id).reverse();
      const r = s.addRater('A', hashToken('t'.repeat(32)), order, 'now');
      expect(() => s.addRater('A', hashToken('u'.repeat(32)), order, 'now')).toThrow(
        'a rater named "A" is already invited',
      );
      expect(s.raterByToken('t'.repeat(32))?.name).toBe('A');
      expect(s.raterByToken('u'.repeat(32))).toBeUndefined();
      expect(s.progress(r.id)).toEqual({ answered: 0, total: 3, next: { position: 0, imageId: order[0] } });
      const ans = { verdict: 'real' as const, confidence: 2, diagnosis: null };
      expect(s.answer(r.id, 1, ans, 'now')).toBe('not-current');
      expect(s.answer(r.id, 0, ans, 'now')).toBe('saved');
      expect(s.answer(r.id, 0, { ...ans, verdict: 'synthetic' }, 'now')).toBe('already-saved');
      expect(s.progress(r.id)).toEqual({ answered: 1, total: 3, next: { position: 1, imageId: order[1] } });
      expect(s.answers()).toEqual([
        {
          rater: 'A',
          raterId: r.id,
          position: 0,
          imageId: order[0],
          source: 'synthetic',
          generator: 'acgan',
          className: 'MEL',
          verdict: 'real',
          confidence: 2,
          diagnosis: null,
          answeredAt: 'now',
        },
      ]);
      // The schema itself refuses what the server would never send.
      expect(() =>
        s.db.prepare("INSERT INTO answers VALUES (?, 1, 'real', 9, NULL, 'now')").run(r.id),
      ).toThrow(/CHECK constraint failed/);
    } finally {
      s.close();
    }
  });
});
