import { Rng, SkinganError } from '@skingan/core';
import type { Rater, StudyStore } from './store/store.js';
import { hashToken, newToken } from './tokens.js';

export interface Invitation {
  rater: Rater;
  /** Shown once: only its hash is stored. */
  token: string;
  /** The path to open on the study server: `/r/<token>`. */
  path: string;
}

/**
 * Invites a rater: a random token and a random order of every study image (no image twice). The
 * order is drawn from the study seed and the rater's number, so it is reproducible from the study.
 */
export function inviteRater(store: StudyStore, name: string): Invitation {
  const clean = name.trim();
  if (!clean || clean.length > 100 || /[\p{Cc}]/u.test(clean)) {
    throw new SkinganError(`rater name must be 1–100 printable characters, got "${name}"`, { code: 'USAGE' });
  }
  const info = store.info();
  const n = store.raters().length;
  const order = new Rng(`turing:${info.seed}:rater:${n + 1}:${clean}`).shuffle(
    store.images().map((i) => i.id),
  );
  const token = newToken();
  const rater = store.addRater(clean, hashToken(token), order, new Date().toISOString());
  return { rater, token, path: `/r/${token}` };
}
