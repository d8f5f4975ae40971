import { type Command, InvalidArgumentError } from 'commander';
import { BIN } from '../experiment/run-experiment.js';
import { globalBackend, intOption } from '../options.js';

/** A whole number ≥ 1 (jobs at once, seconds of a lock). */
const atLeastOne = (flag: string) => (value: string) => {
  const n = intOption(flag)(value);
  if (n < 1) throw new InvalidArgumentError(`${flag} must be at least 1, got "${value}"`);
  return n;
};

interface WorkerFlags {
  queue: string;
  concurrency: number;
  lock: number;
}

/** `skingan worker`: runs experiment jobs from a BullMQ queue until stopped (Ctrl-C / SIGTERM). */
export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description(
      'run experiment jobs from a Redis queue (`experiment … --queue`); start one per machine, or one per GPU, on machines that see the experiment folder at the same path',
    )
    .requiredOption('--queue <redis-url>', 'the queue: redis://[:PASSWORD@]HOST:PORT/DB')
    .option(
      '--concurrency <n>',
      'jobs at once (WASM uses one core per job; a GPU worker: 1)',
      atLeastOne('--concurrency'),
      1,
    )
    .option(
      '--lock <seconds>',
      'how long a job stays with a worker that stopped answering before another worker takes it over',
      atLeastOne('--lock'),
      30,
    )
    .action(async (opts: WorkerFlags, cmd: Command) => {
      // Loaded here so that no other command loads BullMQ or talks to Redis.
      const { startWorker } = await import('../experiment/queue/worker.js');
      const backend = globalBackend(cmd);
      const worker = await startWorker({
        url: opts.queue,
        concurrency: opts.concurrency,
        bin: BIN,
        lockMs: opts.lock * 1000,
        ...(backend ? { backend } : {}),
      });
      // Finish the running jobs' bookkeeping on a polite stop; a second signal exits at once.
      await new Promise<void>((done) => {
        const stop = () => {
          process.stderr.write('worker: stopping after the running jobs (again to stop now)\n');
          process.once('SIGINT', () => process.exit(130));
          process.once('SIGTERM', () => process.exit(143));
          worker.close().then(done, done);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
