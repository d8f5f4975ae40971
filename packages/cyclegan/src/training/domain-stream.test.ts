import type { Batch, BatchSource } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { DomainStream } from './domain-stream.js';

/** A source whose batches are named `e<epoch>b<batch>`. */
function source(stepsPerEpoch: number, opened: string[]): BatchSource {
  return {
    size: stepsPerEpoch,
    batchSize: 1,
    stepsPerEpoch,
    async *epoch(epoch: number, options: { skipBatches?: number } = {}): AsyncIterable<Batch> {
      opened.push(`${epoch}+${options.skipBatches ?? 0}`);
      for (let i = options.skipBatches ?? 0; i < stepsPerEpoch; i++) {
        yield { images: tf.zeros([1, 1, 1, 3]), labels: tf.zeros([1], 'int32'), ids: [`e${epoch}b${i}`] };
      }
    },
  };
}

async function take(stream: DomainStream, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const b = await stream.next();
    out.push(b.ids[0]!);
    tf.dispose([b.images, b.labels]);
  }
  return out;
}

describe('DomainStream', () => {
  it('wraps a smaller domain into its next epochs', async () => {
    const opened: string[] = [];
    const stream = new DomainStream(source(3, opened), 0);
    expect(await take(stream, 7)).toEqual(['e0b0', 'e0b1', 'e0b2', 'e1b0', 'e1b1', 'e1b2', 'e2b0']);
    await stream.close();
  });

  it('reopens the source mid-epoch from a batch count (resume)', async () => {
    const opened: string[] = [];
    const stream = new DomainStream(source(3, opened), 5);
    expect(await take(stream, 3)).toEqual(['e1b2', 'e2b0', 'e2b1']);
    expect(opened).toEqual(['1+2', '2+0']);
    await stream.close();
  });
});
