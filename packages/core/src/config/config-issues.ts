import { promises as fs } from 'node:fs';
import { resolve } from 'node:path';
import type { z } from 'zod';
import { SkinganError } from '../errors.js';

/**
 * One place for what every config loader (ACGAN, CycleGAN, classifier, experiment) says about a
 * bad config: unknown keys name the nearest valid key, other issues name the field.
 */

/** Levenshtein distance, case-insensitive (a wrong case is the most common typo). */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  let prev = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const row = [i];
    for (let j = 1; j <= t.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (s[i - 1] === t[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[t.length]!;
}

/** The candidate closest to `key`, if it is close enough to be a plausible typo (≤ 1/3 of its length, at least 2). */
export function nearestKey(key: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const d = editDistance(key, c);
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return bestD <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

/** "unknown key training.learningrateG — did you mean learningRateG?" (or the valid keys when none is near). */
export function unknownKeyMessage(
  path: readonly PropertyKey[],
  key: string,
  valid: readonly string[],
): string {
  const full = [...path.map(String), key].join('.');
  const near = nearestKey(key, valid);
  if (near) return `unknown key ${full} — did you mean ${near}?`;
  return valid.length > 0 ? `unknown key ${full} (valid keys: ${valid.join(', ')})` : `unknown key ${full}`;
}

interface ZodDefLike {
  type: string;
  shape?: Record<string, unknown>;
  innerType?: unknown;
  in?: unknown;
}

function defOf(schema: unknown): ZodDefLike | undefined {
  return (schema as { _zod?: { def?: ZodDefLike } } | undefined)?._zod?.def;
}

/** The object schema at `path` inside `schema`, through defaults, optionals and transforms. */
function objectAt(schema: unknown, path: readonly PropertyKey[]): ZodDefLike | undefined {
  let def = defOf(schema);
  let i = 0;
  while (def) {
    if (def.type === 'object') {
      if (i === path.length) return def;
      def = defOf(def.shape?.[String(path[i++])]);
    } else if (def.innerType !== undefined) def = defOf(def.innerType);
    else if (def.type === 'pipe') def = defOf(def.in);
    else return undefined;
  }
  return undefined;
}

/** The keys a strict object schema accepts at `path` (empty when there is no object there). */
export function schemaKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  return Object.keys(objectAt(schema, path)?.shape ?? {});
}

/** Every issue of a failed parse on one line each joined by "; ", unknown keys with their nearest valid key. */
export function describeConfigIssues(schema: z.ZodType, issues: readonly z.core.$ZodIssue[]): string {
  const parts: string[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const valid = schemaKeysAt(schema, issue.path);
      for (const key of issue.keys) parts.push(unknownKeyMessage(issue.path, key, valid));
    } else {
      parts.push(`${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`);
    }
  }
  return parts.join('; ');
}

/**
 * Parses `value` with `schema`, or throws a usage error "invalid WHAT: …" naming every bad
 * field (and the nearest valid key for an unknown one).
 */
export function parseConfig<S extends z.ZodType>(
  schema: S,
  value: unknown,
  what: string,
  options: { file?: string; hint?: string } = {},
): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  throw new SkinganError(`invalid ${what}: ${describeConfigIssues(schema, r.error.issues)}`, {
    code: 'USAGE',
    ...(options.file ? { file: options.file } : {}),
    hint: options.hint ?? 'fix or remove the named keys',
  });
}

/** A config file's JSON object; a missing file, invalid JSON, an array or a scalar is a usage error naming the file. */
export async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  const file = resolve(path);
  const usage = (message: string, more: { cause?: unknown; hint?: string }) =>
    new SkinganError(message, { code: 'USAGE', file, ...more });
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    throw usage(missing ? 'config file not found' : `cannot read the config file: ${(e as Error).message}`, {
      cause: e,
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw usage(`config file is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const kind = Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`;
    throw usage(`a config file holds one JSON object of settings, not ${kind}`, {
      hint: 'write the settings as {"key": value, …}',
    });
  }
  return value as Record<string, unknown>;
}
