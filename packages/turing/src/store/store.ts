import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SkinganError } from '@skingan/core';
import Database from 'better-sqlite3';
import { findToken } from '../tokens.js';
import { migrate } from './migrations.js';

export const DB_FILE = 'study.sqlite';
export const IMAGES_DIR = 'images';

export type Source = 'real' | 'synthetic';
export type Verdict = Source;

export interface StudyInfo {
  name: string;
  seed: number;
  /** Side of every (square) study image, in pixels. */
  imageSize: number;
  /** Classes a rater may give as the diagnosis. */
  classes: string[];
  createdAt: string;
}

export interface StudyImage {
  id: string;
  source: Source;
  /** Null for real images. */
  generator: string | null;
  className: string;
  origin: string;
}

export interface Rater {
  id: number;
  name: string;
  createdAt: string;
}

export interface AnswerInput {
  verdict: Verdict;
  /** 1 (guessing) … 5 (certain). */
  confidence: number;
  /** One of the study's classes, or null when not given. */
  diagnosis: string | null;
}

/** One answer joined with the key. */
export interface AnswerRecord extends AnswerInput {
  rater: string;
  raterId: number;
  position: number;
  imageId: string;
  source: Source;
  generator: string | null;
  className: string;
  answeredAt: string;
}

export interface Progress {
  answered: number;
  total: number;
  /** The next image to show, or null when the rater is done. */
  next: { position: number; imageId: string } | null;
}

/** The columns of a `StudyImage`, and of a `Rater`. */
const IMAGE = 'id, source, generator, class AS className, origin';
const RATER = 'id, name, created_at AS createdAt';

export type AnswerOutcome = 'saved' | 'already-saved' | 'not-current';

/**
 * The study database (one SQLite file in the study folder). WAL journal with `synchronous = FULL`:
 * an answer is on disk when `answer()` returns, so a killed server loses at most the one in flight.
 */
export class StudyStore {
  private constructor(
    readonly db: Database.Database,
    readonly dir: string,
  ) {}

  /** Opens the study in `dir` (migrating an older schema). */
  static open(dir: string): StudyStore {
    const file = join(dir, DB_FILE);
    if (!existsSync(file)) {
      throw new SkinganError(`not a Turing study folder (no ${DB_FILE})`, {
        code: 'USAGE',
        file: dir,
        hint: 'create one with `skingan turing create --real DIR --synthetic DIR --per-class N --out STUDY`',
      });
    }
    return StudyStore.connect(dir, file);
  }

  /** A new database in `dir` with the study and its key (used while building the study folder). */
  static create(dir: string, info: StudyInfo, images: readonly StudyImage[]): StudyStore {
    const file = join(dir, DB_FILE);
    if (existsSync(file)) throw new SkinganError('a study database already exists', { file, code: 'USAGE' });
    const store = StudyStore.connect(dir, file);
    const db = store.db;
    db.transaction(() => {
      db.prepare(
        'INSERT INTO study (id, name, seed, image_size, classes, created_at) VALUES (1, ?, ?, ?, ?, ?)',
      ).run(info.name, info.seed, info.imageSize, JSON.stringify(info.classes), info.createdAt);
      const ins = db.prepare(
        'INSERT INTO images (id, source, generator, class, origin) VALUES (?, ?, ?, ?, ?)',
      );
      for (const im of images) ins.run(im.id, im.source, im.generator, im.className, im.origin);
    })();
    return store;
  }

  private static connect(dir: string, file: string): StudyStore {
    const db = new Database(file);
    // WAL: readers (a report) never block the server's writes. FULL: a commit is fsynced.
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    migrate(db, file);
    return new StudyStore(db, dir);
  }

  close(): void {
    this.db.close();
  }

  info(): StudyInfo {
    const r = this.db
      .prepare(
        'SELECT name, seed, image_size AS imageSize, classes, created_at AS createdAt FROM study WHERE id = 1',
      )
      .get() as (Omit<StudyInfo, 'classes'> & { classes: string }) | undefined;
    if (!r) throw new SkinganError('the study database has no study row', { file: this.dir });
    return { ...r, classes: JSON.parse(r.classes) as string[] };
  }

  images(): StudyImage[] {
    return this.db.prepare(`SELECT ${IMAGE} FROM images ORDER BY id`).all() as StudyImage[];
  }

  /** The image with this opaque id, or undefined. */
  image(id: string): StudyImage | undefined {
    return this.db.prepare(`SELECT ${IMAGE} FROM images WHERE id = ?`).get(id) as StudyImage | undefined;
  }

  /** Adds a rater with their token's hash and their image order (every study image once). */
  addRater(name: string, tokenHash: Buffer, order: readonly string[], createdAt: string): Rater {
    const db = this.db;
    return db.transaction(() => {
      if (db.prepare('SELECT 1 FROM raters WHERE name = ?').get(name)) {
        throw new SkinganError(`a rater named "${name}" is already invited`, {
          code: 'USAGE',
          file: this.dir,
          hint: 'give each rater a distinct --name',
        });
      }
      const id = Number(
        db
          .prepare('INSERT INTO raters (name, token_hash, created_at) VALUES (?, ?, ?)')
          .run(name, tokenHash, createdAt).lastInsertRowid,
      );
      const ins = db.prepare('INSERT INTO assignments (rater_id, position, image_id) VALUES (?, ?, ?)');
      for (const [position, imageId] of order.entries()) ins.run(id, position, imageId);
      return { id, name, createdAt };
    })();
  }

  raters(): Rater[] {
    return this.db.prepare(`SELECT ${RATER} FROM raters ORDER BY id`).all() as Rater[];
  }

  /** The rater this invitation token belongs to (constant-time comparison against every rater). */
  raterByToken(token: string): Rater | undefined {
    const sql = `SELECT ${RATER}, token_hash AS hash FROM raters ORDER BY id`;
    const rows = this.db.prepare(sql).all() as (Rater & { hash: Buffer })[];
    const hashes = rows.map((r) => r.hash);
    const r = rows[findToken(token, hashes)];
    return r && { id: r.id, name: r.name, createdAt: r.createdAt };
  }

  /** Whether `imageId` is in this rater's list (so a rater fetches only their own images). */
  isAssigned(raterId: number, imageId: string): boolean {
    return Boolean(
      this.db.prepare('SELECT 1 FROM assignments WHERE rater_id = ? AND image_id = ?').get(raterId, imageId),
    );
  }

  progress(raterId: number): Progress {
    const total = this.count('assignments WHERE rater_id = ?', raterId);
    const answered = this.count('answers WHERE rater_id = ?', raterId);
    const next = this.db
      .prepare(
        `SELECT a.position, a.image_id AS imageId FROM assignments a
         LEFT JOIN answers x ON x.rater_id = a.rater_id AND x.position = a.position
         WHERE a.rater_id = ? AND x.position IS NULL ORDER BY a.position LIMIT 1`,
      )
      .get(raterId) as { position: number; imageId: string } | undefined;
    return { answered, total, next: next ?? null };
  }

  /**
   * Records the rater's answer for the image at `position`, which must be the one shown now. A
   * resubmission of an answered position (a double click, a replayed form) changes nothing.
   */
  answer(raterId: number, position: number, input: AnswerInput, answeredAt: string): AnswerOutcome {
    const db = this.db;
    return db.transaction((): AnswerOutcome => {
      if (db.prepare('SELECT 1 FROM answers WHERE rater_id = ? AND position = ?').get(raterId, position)) {
        return 'already-saved';
      }
      if (this.progress(raterId).next?.position !== position) return 'not-current';
      db.prepare(
        'INSERT INTO answers (rater_id, position, verdict, confidence, diagnosis, answered_at) VALUES (?, ?, ?, ?, ?, ?)',
      ).run(raterId, position, input.verdict, input.confidence, input.diagnosis, answeredAt);
      return 'saved';
    })();
  }

  /** Every answer with the key, by rater then position. */
  answers(): AnswerRecord[] {
    return this.db
      .prepare(
        `SELECT r.name AS rater, r.id AS raterId, x.position, a.image_id AS imageId, i.source, i.generator,
                i.class AS className, x.verdict, x.confidence, x.diagnosis, x.answered_at AS answeredAt
         FROM answers x
         JOIN raters r ON r.id = x.rater_id
         JOIN assignments a ON a.rater_id = x.rater_id AND a.position = x.position
         JOIN images i ON i.id = a.image_id
         ORDER BY r.id, x.position`,
      )
      .all() as AnswerRecord[];
  }

  /** Row counts of the tables a request may write (tests check that refused requests write nothing). */
  counts(): { raters: number; answers: number; images: number } {
    const n = (t: string) => this.count(t);
    return { raters: n('raters'), answers: n('answers'), images: n('images') };
  }

  /** `SELECT COUNT(*) FROM` these tables and conditions. */
  private count(from: string, ...params: unknown[]): number {
    return (this.db.prepare(`SELECT COUNT(*) AS n FROM ${from}`).get(...params) as { n: number }).n;
  }
}
