import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** 24 random bytes (192 bits) as base64url: 32 URL-safe characters. */
const TOKEN_BYTES = 24;
export const TOKEN_PATTERN = /^[A-Za-z0-9_-]{32}$/;

/** A fresh invitation token. Only its hash is stored, so a copy of the database opens no session. */
export function newToken(): string {
  return randomBytes(TOKEN_BYTES).toString('base64url');
}

export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/**
 * The index of the stored hash that `token` matches, or -1. Every hash is compared (equal lengths,
 * constant time per comparison), so timing says nothing about which rater or how many bytes matched.
 */
export function findToken(token: string, hashes: readonly Buffer[]): number {
  const h = hashToken(token);
  let found = -1;
  for (let i = 0; i < hashes.length; i++) {
    const stored = hashes[i]!;
    if (stored.length === h.length && timingSafeEqual(stored, h) && found < 0) found = i;
  }
  return found;
}

/** An opaque image id (128 random bits, hex): the file name and the URL say nothing about the source. */
export function newImageId(): string {
  return randomBytes(16).toString('hex');
}
