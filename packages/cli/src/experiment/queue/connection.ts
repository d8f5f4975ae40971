import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { SkinganError } from '@skingan/core';

/** The BullMQ queue every skingan worker listens on; experiments are told apart by job id. */
export const QUEUE_NAME = 'skingan';

/** ioredis options of a `redis://[user:password@]host:port[/db]` URL. */
interface RedisTarget {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  /** The URL without its password, for messages. */
  display: string;
}

/** Parses `--queue`; a bad URL is a usage error naming the flag. */
export function parseQueueUrl(url: string, flag = '--queue'): RedisTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw usage(`${flag} ${url} is not a URL`);
  }
  if (u.protocol !== 'redis:') throw usage(`${flag} must be a redis:// URL, not ${u.protocol}//`);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0)
    throw usage(`${flag}: the database "${u.pathname.slice(1)}" is not a number`);
  const host = u.hostname || '127.0.0.1';
  const port = u.port ? Number(u.port) : 6379;
  const target: RedisTarget = { host, port, db, display: `redis://${host}:${port}/${db}` };
  if (u.username) target.username = decodeURIComponent(u.username);
  if (u.password) target.password = decodeURIComponent(u.password);
  return target;
}

function usage(message: string): SkinganError {
  return new SkinganError(message, {
    code: 'USAGE',
    hint: 'e.g. --queue redis://127.0.0.1:6379/0 (redis://:PASSWORD@HOST:PORT/DB with a password)',
  });
}

/**
 * The Redis of a `--queue` URL, checked to answer (`probeRedis`): its target, and what BullMQ's
 * classes take as `connection` (workers block on Redis, hence no request retries cap).
 */
export async function openRedis(
  url: string,
): Promise<{ target: RedisTarget; connection: Record<string, unknown> }> {
  const t = parseQueueUrl(url);
  await probeRedis(t);
  const { display: _, ...connection } = t;
  return { target: t, connection: { ...connection, maxRetriesPerRequest: null } };
}

const resp = (...parts: string[]) =>
  `*${parts.length}\r\n${parts.map((p) => `$${Buffer.byteLength(p)}\r\n${p}\r\n`).join('')}`;

/**
 * One PING (after AUTH / SELECT) with a deadline, so an unreachable or misconfigured Redis is a
 * clear error at once instead of BullMQ's endless reconnects.
 */
export async function probeRedis(t: RedisTarget, timeoutMs = 5000): Promise<void> {
  const commands = [
    ...(t.password ? [t.username ? resp('AUTH', t.username, t.password) : resp('AUTH', t.password)] : []),
    resp('SELECT', String(t.db)),
    resp('PING'),
  ];
  const reply = await new Promise<string>((resolve, reject) => {
    const socket = connect({ host: t.host, port: t.port });
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    socket.on('connect', () => socket.write(commands.join('')));
    socket.on('data', (d) => {
      text += d.toString();
      if (text.includes('+PONG') || text.startsWith('-') || text.includes('\r\n-')) {
        clearTimeout(timer);
        socket.end();
        resolve(text);
      }
    });
    socket.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  }).catch((e: Error) => {
    throw new SkinganError(`cannot reach Redis at ${t.display}: ${e.message}`, {
      hint: 'start redis-server there (the @skingan/cli README, "Many machines", shows how) or fix the URL',
    });
  });
  const error = reply.split('\r\n').find((l) => l.startsWith('-'));
  if (error) throw new SkinganError(`Redis at ${t.display} refused: ${error.slice(1)}`, { code: 'USAGE' });
}

/** Experiments share the queue: a job's BullMQ id is its cache key, prefixed by its folder's hash. */
export function experimentTag(dir: string): string {
  return createHash('sha256').update(dir).digest('hex').slice(0, 8);
}

/** The BullMQ id in BullMQ's words for a dependency's failure, "child bull:skingan:<id> failed". */
export const failedChildId = (reason: string) => /^child [^:]+:[^:]+:(\S+) failed$/.exec(reason)?.[1];

export const queueJobId = (tag: string, key: string) => `${tag}-${key}`;
export const gateJobId = (tag: string, depKey: string, forKey: string) => `${tag}-${depKey}-for-${forKey}`;
