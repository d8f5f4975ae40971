import type { StepEvent, TrainingObserver } from '@skingan/core';

interface ProgressOptions {
  label: string;
  total?: number;
  /** What is counted: 'steps', 'images'... */
  unit?: string;
  /** Nothing is printed (machine output goes to stdout as JSON instead). */
  quiet?: boolean;
  stream?: NodeJS.WriteStream;
}

/**
 * A progress display for long work: a redrawn bar with ETA on a TTY, plain lines (every 10% or
 * 15 s) otherwise, nothing when quiet. Writes to stderr so stdout stays clean for results.
 */
export class Progress {
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;
  private readonly start = Date.now();
  private lastDraw = 0;
  private lastPlainPct = -1;
  private lastPlainAt = 0;
  private done = 0;
  private fields: Record<string, string | number> = {};
  private width = 0;

  constructor(private readonly options: ProgressOptions) {
    this.stream = options.stream ?? process.stderr;
    this.tty = Boolean(this.stream.isTTY) && !process.env.CI;
  }

  /** Finished units so far. */
  get count(): number {
    return this.done;
  }

  /** Sets the count of finished units and optional fields (epoch, losses...) and redraws if due. */
  update(done: number, fields: Record<string, string | number> = {}): void {
    this.done = done;
    this.fields = { ...this.fields, ...fields };
    if (this.options.quiet) return;
    const now = Date.now();
    if (this.tty) {
      if (now - this.lastDraw < 100 && done !== this.options.total) return;
      this.lastDraw = now;
      this.draw();
      return;
    }
    const pct = this.options.total ? Math.floor((100 * done) / this.options.total / 10) * 10 : -1;
    if (pct > this.lastPlainPct || now - this.lastPlainAt > 15_000) {
      this.lastPlainPct = Math.max(pct, this.lastPlainPct);
      this.lastPlainAt = now;
      this.stream.write(`${this.line()}\n`);
    }
  }

  /** Prints a line above the bar. */
  log(line: string): void {
    if (this.options.quiet) return;
    if (this.tty) this.clear();
    this.stream.write(`${line}\n`);
    if (this.tty && this.lastDraw) this.draw();
  }

  finish(summary?: string): void {
    if (this.options.quiet) return;
    if (this.tty) this.clear();
    const took = formatDuration(Date.now() - this.start);
    this.stream.write(
      `${summary ?? `${this.options.label}: ${this.done}${this.options.total ? `/${this.options.total}` : ''} ${this.options.unit ?? ''}`.trimEnd()} (${took})\n`,
    );
  }

  private line(): string {
    const { total, label, unit = '' } = this.options;
    const elapsed = Date.now() - this.start;
    const parts = [label];
    if (total) {
      const frac = Math.min(1, this.done / total);
      if (this.tty) {
        const n = 24;
        const filled = Math.round(frac * n);
        parts.push(`[${'█'.repeat(filled)}${'░'.repeat(n - filled)}]`);
      }
      parts.push(`${(frac * 100).toFixed(0).padStart(3)}%`, `${this.done}/${total} ${unit}`.trimEnd());
      const eta = this.done > 0 ? (elapsed / this.done) * (total - this.done) : undefined;
      parts.push(eta === undefined ? 'ETA –' : `ETA ${formatDuration(eta)}`);
    } else {
      parts.push(`${this.done} ${unit}`.trimEnd(), formatDuration(elapsed));
    }
    for (const [k, v] of Object.entries(this.fields))
      parts.push(`${k} ${typeof v === 'number' ? formatNumber(v) : v}`);
    return parts.join('  ');
  }

  private draw(): void {
    const cols = this.stream.columns ?? 120;
    let text = this.line();
    if (text.length > cols - 1) text = text.slice(0, cols - 1);
    this.stream.write(`\r${text}${' '.repeat(Math.max(0, this.width - text.length))}`);
    this.width = text.length;
  }

  private clear(): void {
    if (this.width) this.stream.write(`\r${' '.repeat(this.width)}\r`);
    this.width = 0;
  }
}

/** A TrainingObserver that drives a Progress bar: epoch, step, ETA and the step's losses. */
export function trainingProgress(progress: Progress, epochs: number, firstStep = 0): TrainingObserver {
  return {
    onStep(e: StepEvent) {
      const epochText = `${e.epoch + 1}/${epochs}`;
      progress.update(e.step - firstStep, { epoch: epochText, ...e.losses });
    },
    onEpoch(e) {
      const losses = Object.entries(e.losses)
        .map(([k, v]) => `${k} ${formatNumber(v)}`)
        .join('  ');
      progress.log(`epoch ${e.epoch + 1}/${e.epochs}  ${losses}`);
    },
  };
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  return Math.abs(v) >= 100 || (Math.abs(v) < 0.001 && v !== 0) ? v.toExponential(2) : v.toFixed(3);
}
