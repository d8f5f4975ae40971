import { type Batch, type ProbabilisticClassifier, writeFileAtomic } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';

/** Class probabilities of a set of images, one row per image, in the order they came. */
export interface PredictionTable {
  ids: string[];
  /** The batches' labels (the truth, when the data has it). */
  labels: number[];
  probs: number[][];
}

/**
 * Runs a classifier over batches and collects the probabilities. Disposes each batch.
 * `onBatch` reports the running count of images (for progress bars).
 */
export async function predictBatches(
  classifier: ProbabilisticClassifier,
  batches: AsyncIterable<Batch>,
  onBatch?: (done: number) => void,
): Promise<PredictionTable> {
  const table: PredictionTable = { ids: [], labels: [], probs: [] };
  for await (const batch of batches) {
    try {
      const p = classifier.predictProba(batch.images);
      const values = (await p.array()) as number[][];
      p.dispose();
      table.ids.push(...batch.ids);
      table.labels.push(...(await batch.labels.data()));
      table.probs.push(...values);
    } finally {
      tf.dispose([batch.images, batch.labels]);
    }
    onBatch?.(table.ids.length);
  }
  return table;
}

/** `image,<class…>` CSV with one row of probabilities per image. */
export function probabilitiesCsv(table: PredictionTable, classes: readonly string[]): string {
  const lines = [['image', ...classes].join(',')];
  table.ids.forEach((id, i) => {
    lines.push([csvField(id), ...table.probs[i]!.map((p) => p.toPrecision(6))].join(','));
  });
  return `${lines.join('\n')}\n`;
}

export async function writeProbabilitiesCsv(
  path: string,
  table: PredictionTable,
  classes: readonly string[],
): Promise<void> {
  await writeFileAtomic(path, probabilitiesCsv(table, classes));
}

function csvField(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
