import { SkinganError } from '@skingan/core';
import type Database from 'better-sqlite3';

/**
 * The schema, as a list of steps. `PRAGMA user_version` holds how many have run; each runs in its
 * own transaction with the version bump, so a kill mid-migration leaves the previous version. Never
 * edit a released step: append a new one.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: the study, its images and the key, raters with their order, answers.
  `CREATE TABLE study (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     name TEXT NOT NULL,
     seed INTEGER NOT NULL,
     image_size INTEGER NOT NULL,
     classes TEXT NOT NULL,        -- JSON array of class names offered as diagnoses
     created_at TEXT NOT NULL
   ) STRICT;
   CREATE TABLE images (
     id TEXT PRIMARY KEY,          -- opaque random id: file name and URL
     source TEXT NOT NULL CHECK (source IN ('real', 'synthetic')),
     generator TEXT,               -- NULL for real images
     class TEXT NOT NULL,
     origin TEXT NOT NULL,         -- the source image file (absolute path when created)
     CHECK ((source = 'real') = (generator IS NULL))
   ) STRICT;
   CREATE TABLE raters (
     id INTEGER PRIMARY KEY,
     name TEXT NOT NULL UNIQUE,
     token_hash BLOB NOT NULL,     -- SHA-256 of the invitation token; the token itself is not stored
     created_at TEXT NOT NULL
   ) STRICT;
   CREATE TABLE assignments (
     rater_id INTEGER NOT NULL REFERENCES raters(id),
     position INTEGER NOT NULL,
     image_id TEXT NOT NULL REFERENCES images(id),
     PRIMARY KEY (rater_id, position),
     UNIQUE (rater_id, image_id)
   ) STRICT;
   CREATE TABLE answers (
     rater_id INTEGER NOT NULL,
     position INTEGER NOT NULL,
     verdict TEXT NOT NULL CHECK (verdict IN ('real', 'synthetic')),
     confidence INTEGER NOT NULL CHECK (confidence BETWEEN 1 AND 5),
     diagnosis TEXT,
     answered_at TEXT NOT NULL,
     PRIMARY KEY (rater_id, position),
     FOREIGN KEY (rater_id, position) REFERENCES assignments(rater_id, position)
   ) STRICT;`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings the database to SCHEMA_VERSION; refuses one written by a newer skingan. */
export function migrate(db: Database.Database, file: string): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new SkinganError(
      `the study database has schema version ${current}; this skingan knows up to ${SCHEMA_VERSION}`,
      { file, hint: 'upgrade @skingan/turing (or the skingan CLI) to open this study' },
    );
  }
  for (let v = current; v < SCHEMA_VERSION; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
