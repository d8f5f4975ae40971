import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { BIN, runCli } from './run-cli.js';

/** Two demo sets stand in for real and synthetic images; a study of `perClass` each for MEL and NV. */
export function makeCliStudy(root: string, perClass: number, size = 32): string {
  for (const [dir, seed, side] of [
    ['real', '0', size],
    ['synthetic', '1', size + 16],
  ] as const) {
    const r = runCli([
      'data',
      'demo-set',
      '--out',
      join(root, dir),
      '--per-class',
      String(perClass + 1),
      '--size',
      String(side),
      '--seed',
      seed,
    ]);
    if (r.code !== 0) throw new Error(r.stderr);
  }
  const study = join(root, 'study');
  const r = runCli([
    'turing',
    'create',
    '--real',
    join(root, 'real'),
    '--synthetic',
    `acgan=${join(root, 'synthetic')}`,
    '--per-class',
    String(perClass),
    '--classes',
    'MEL,NV',
    '--size',
    String(size),
    '--out',
    study,
    '--json',
  ]);
  if (r.code !== 0) throw new Error(r.stderr);
  return study;
}

/** Invites a rater through the CLI; returns the path part of their link (`/r/<token>`). */
export function invite(study: string, name: string): string {
  const r = runCli(['turing', 'invite', study, '--name', name, '--json']);
  if (r.code !== 0) throw new Error(r.stderr);
  return new URL((JSON.parse(r.stdout) as { link: string }).link).pathname;
}

export interface Served {
  url: string;
  child: ChildProcess;
  /** Resolves when the process has exited. */
  exited: Promise<void>;
}

/** `skingan turing serve STUDY --port 0` as a child process; resolves once it listens. */
export async function serve(study: string): Promise<Served> {
  const child = spawn(process.execPath, [BIN, 'turing', 'serve', study, '--port', '0'], {
    env: { ...process.env, CI: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => {
    err += d;
  });
  const url = await new Promise<string>((done, fail) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) done(m[1]!);
    });
    child.once('exit', (code) => fail(new Error(`turing serve exited with ${code}: ${err}`)));
  });
  return { url, child, exited };
}
