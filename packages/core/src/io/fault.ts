/**
 * Test-only fault injection for the crash tests (`SKINGAN_TEST_FAULT`), read once per process.
 * Every durable write of the toolkit (atomic files, model and tensor saves, metrics lines) passes
 * `beforeCommit` once its bytes are written and before they become visible (the rename), which is
 * the moment a crash or a full disk hurts most:
 *
 * - `kill@N`:   the N-th write SIGKILLs the process (a reproducible "kill -9 at a random moment").
 * - `enospc@N`: the N-th write and every later one fail with ENOSPC, as on a full disk.
 * - `count`:    on exit, prints `skingan-test-writes: <n>` on stderr (to draw N from 1..n).
 *
 * Unset, it costs one counter increment per file written.
 */
type Fault = { kind: 'kill' | 'enospc'; at: number } | { kind: 'count' } | undefined;

let fault: Fault | null = null;
let writes = 0;

function parse(spec: string | undefined): Fault {
  if (!spec) return undefined;
  if (spec === 'count') return { kind: 'count' };
  const m = /^(kill|enospc)@([1-9]\d*)$/.exec(spec);
  if (!m) throw new Error(`SKINGAN_TEST_FAULT="${spec}": expected kill@N, enospc@N or count`);
  return { kind: m[1] as 'kill' | 'enospc', at: Number(m[2]) };
}

function current(): Fault {
  if (fault === null) {
    fault = parse(process.env.SKINGAN_TEST_FAULT);
    if (fault?.kind === 'count') {
      process.on('exit', () => process.stderr.write(`skingan-test-writes: ${writes}\n`));
    }
  }
  return fault;
}

/** Called by every durable write of `path` after its data is written, before it is committed. */
export function beforeCommit(path: string): void {
  writes++;
  const f = current();
  if (!f || f.kind === 'count' || writes < f.at) return;
  if (f.kind === 'kill') {
    process.kill(process.pid, 'SIGKILL');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); // never returns: the kill lands
  }
  const e = new Error(`ENOSPC: no space left on device, write '${path}'`) as NodeJS.ErrnoException;
  e.code = 'ENOSPC';
  throw e;
}
