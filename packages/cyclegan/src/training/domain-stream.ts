import type { Batch, BatchSource, EpochSource } from '@skingan/core';

/**
 * Reads one domain's batches as an endless stream: an unaligned CycleGAN epoch is as long as the
 * larger domain, so the smaller one wraps around into its next (reshuffled) epoch. The position is
 * a plain batch count, so a resumed run reopens the source exactly where the stopped one was.
 */
export class DomainStream {
  private iterator: AsyncIterator<Batch> | undefined;
  private sourceEpoch = 0;

  /** `position`: batches of this source consumed before (global step × 1 batch per step). */
  constructor(
    private readonly source: BatchSource,
    private position: number,
  ) {
    if (source.stepsPerEpoch < 1) throw new Error('a domain has no batches (empty dataset?)');
  }

  async next(): Promise<Batch> {
    for (let attempt = 0; attempt < 2; attempt++) {
      if (!this.iterator) {
        const steps = this.source.stepsPerEpoch;
        this.sourceEpoch = Math.floor(this.position / steps);
        const skipBatches = this.position % steps;
        this.iterator = this.source
          .epoch(this.sourceEpoch, skipBatches ? { skipBatches } : undefined)
          [Symbol.asyncIterator]();
      }
      const r = await this.iterator.next();
      if (!r.done) {
        this.position++;
        return r.value;
      }
      // The epoch ended (possibly early): continue with the next one.
      this.iterator = undefined;
      this.position = (this.sourceEpoch + 1) * this.source.stepsPerEpoch;
    }
    throw new Error(`domain source yielded no batch for epoch ${this.sourceEpoch}`);
  }

  /** Releases the source's iterator (prefetching, open files). */
  async close(): Promise<void> {
    await this.iterator?.return?.();
    this.iterator = undefined;
  }
}

/** One batch of each domain: a CycleGAN step's input. */
export type BatchPair = [Batch, Batch];

/**
 * Both domains as one epoch source: a step takes one batch of each, and an epoch is as long as the
 * larger domain (the smaller wraps around, see `DomainStream`). Each domain's position is the
 * global step count, so a resumed run reopens both where the stopped one was.
 */
export class PairedSource implements EpochSource<BatchPair> {
  readonly stepsPerEpoch: number;
  private streams: [DomainStream, DomainStream] | undefined;

  constructor(
    private readonly a: BatchSource,
    private readonly b: BatchSource,
  ) {
    this.stepsPerEpoch = Math.max(a.stepsPerEpoch, b.stepsPerEpoch);
  }

  async *epoch(epoch: number, options?: { skipBatches?: number }): AsyncGenerator<BatchPair> {
    const skip = options?.skipBatches ?? 0;
    // Opened once, at the first position trained; they run on across epochs.
    const position = epoch * this.stepsPerEpoch + skip;
    this.streams ??= [new DomainStream(this.a, position), new DomainStream(this.b, position)];
    const [streamA, streamB] = this.streams;
    for (let i = skip; i < this.stepsPerEpoch; i++) {
      yield await Promise.all([streamA.next(), streamB.next()]);
    }
  }

  async close(): Promise<void> {
    await Promise.all((this.streams ?? []).map((s) => s.close()));
    this.streams = undefined;
  }
}
