import { describe, expect, it } from 'vitest';
import { onStopSignals } from './stop-signals.js';

describe('onStopSignals', () => {
  it.each([
    ['SIGINT', 130, 'interrupt'],
    ['SIGTERM', 143, 'SIGTERM'],
  ] as const)(
    '%s aborts the signal, says what happens and gives exit code %i; dispose removes the handlers',
    (name, code, word) => {
      const before = process.listenerCount(name);
      const said: string[] = [];
      const stop = onStopSignals((l) => said.push(l), 'stopping after this step');
      expect(process.listenerCount(name)).toBe(before + 1);
      process.emit(name);
      expect(stop.signal.aborted).toBe(true);
      expect(stop.exitCode).toBe(code);
      expect(said).toEqual([`${word}: stopping after this step (a second signal quits at once)`]);
      stop.dispose();
      expect(process.listenerCount(name)).toBe(before);
    },
  );
});
