import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * skingan's per-user cache folder (pretrained weights, file hashes): `$SKINGAN_CACHE`, else
 * `$XDG_CACHE_HOME/skingan`, else `~/.cache/skingan`. Never inside a dataset, which may be read-only.
 */
export function skinganCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SKINGAN_CACHE) return resolve(env.SKINGAN_CACHE);
  if (env.XDG_CACHE_HOME) return join(resolve(env.XDG_CACHE_HOME), 'skingan');
  return join(homedir(), '.cache', 'skingan');
}

/** `skinganCacheDir()/weights`, where `skingan weights fetch` puts pretrained weights, or one entry's folder in it. */
export function weightsCacheDir(name?: string, env: NodeJS.ProcessEnv = process.env): string {
  const root = join(skinganCacheDir(env), 'weights');
  return name ? join(root, name) : root;
}
