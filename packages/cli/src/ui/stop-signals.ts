/**
 * Ctrl-C (SIGINT) and SIGTERM (what `kill`, `timeout`, schedulers and containers send) stop a
 * command the same way: at the next safe point, with a checkpoint, the run marked "interrupted".
 * A second signal quits at once. The exit code is the shell's for the first signal: 130 for
 * SIGINT, 143 for SIGTERM.
 */
interface StopSignals {
  /** Aborted by the first signal. */
  readonly signal: AbortSignal;
  /** 130 or 143 once a signal arrived (set it as the exit code of a command that stopped early). */
  readonly exitCode: number;
  /** Removes the handlers (call in `finally`). */
  dispose(): void;
}

const SIGNALS = { SIGINT: 130, SIGTERM: 143 } as const;

/** `say` tells the user what happens now (e.g. "stopping after this step and saving a checkpoint"). */
export function onStopSignals(say: (line: string) => void, whatHappens: string): StopSignals {
  const controller = new AbortController();
  let exitCode = 130;
  const handlers = Object.entries(SIGNALS).map(([name, code]) => {
    const handler = () => {
      if (controller.signal.aborted) process.exit(exitCode);
      exitCode = code;
      say(`${name === 'SIGINT' ? 'interrupt' : 'SIGTERM'}: ${whatHappens} (a second signal quits at once)`);
      controller.abort();
    };
    process.on(name, handler);
    return [name, handler] as const;
  });
  return {
    signal: controller.signal,
    get exitCode() {
      return exitCode;
    },
    dispose: () => {
      for (const [name, handler] of handlers) process.off(name, handler);
    },
  };
}
