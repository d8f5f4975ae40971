// Test helper: saves a model whose weights are all 1, then overwrites it with all-2 weights in a
// loop until the parent kills this process. Uses the built package (dist).
import * as tf from '@tensorflow/tfjs';
import { initBackend, saveModel } from '../../dist/index.js';

await initBackend({ backend: 'cpu', log: null });
const target = process.argv[2];
const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [512], units: 2048 })] });
const fill = (v) => model.setWeights(model.getWeights().map((w) => tf.fill(w.shape, v)));
fill(1);
await saveModel(model, target);
fill(2);
process.stdout.write('overwriting\n');
for (;;) await saveModel(model, target);
