// @ts-check
/**
 * A helper thread of the WASM backend: its own tfjs WASM instance runs the share of a convolution
 * or matrix product that the main thread hands it (see conv-helpers.ts). Plain JavaScript, because worker threads load
 * files as they are, from src/ in tests and from dist/ once built.
 *
 * Protocol, one job at a time: the main thread writes the inputs into the shared buffer, posts the
 * job's description on `port` and bumps control[POSTED]; this thread takes it with
 * receiveMessageOnPort, runs it, writes the result into the shared buffer, posts its shape (or the
 * error) and bumps control[DONE]. Both sides block on Atomics.wait: tfjs kernels are synchronous.
 */
import { receiveMessageOnPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

const POSTED = 0;
const DONE = 1;
const READY = 2;

/** @type {{ control: SharedArrayBuffer, port: import('node:worker_threads').MessagePort }} */
const { control, port } = workerData;
const flags = new Int32Array(control);

await tf.setBackend('wasm');
await tf.ready();
const backend = /** @type {{ typedArrayFromHeap(t: tf.TensorInfo): Float32Array }} */ (
  /** @type {unknown} */ (tf.backend())
);

/** Inputs other than the split one (filters, biases), kept across jobs under the id the main thread gave them. */
/** @type {Map<number, tf.Tensor>} */
const constants = new Map();
/** @type {Float32Array<ArrayBufferLike>} */
let shared = new Float32Array(0);

Atomics.store(flags, READY, 1);
Atomics.notify(flags, READY);

let posted = 0;
for (;;) {
  Atomics.wait(flags, POSTED, posted);
  posted = Atomics.load(flags, POSTED);
  /** @type {{ shape: number[], ms: number } | { error: string }} */
  let reply;
  try {
    const start = performance.now();
    const shape = run(receiveMessageOnPort(port)?.message);
    reply = { shape, ms: performance.now() - start };
  } catch (err) {
    reply = { error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
  }
  port.postMessage(reply);
  Atomics.add(flags, DONE, 1);
  Atomics.notify(flags, DONE);
}

/**
 * @param {{ kernel: string, attrs: Record<string, unknown>, x: { shape: number[], name: string },
 *   constants: Record<string, { id: number, shape: number[], offset?: number }>,
 *   out: { offset: number, size: number }, evict: number[], reset: boolean,
 *   shared?: SharedArrayBuffer }} job
 */
function run(job) {
  if (job.shared) shared = new Float32Array(job.shared);
  if (job.reset) {
    for (const t of constants.values()) t.dispose();
    constants.clear();
  }
  for (const id of job.evict) {
    constants.get(id)?.dispose();
    constants.delete(id);
  }
  /** @type {Record<string, tf.Tensor>} */
  const inputs = {};
  for (const [name, c] of Object.entries(job.constants)) {
    if (c.offset !== undefined) constants.set(c.id, tf.tensor(read(c.offset, c.shape), c.shape, 'float32'));
    const t = constants.get(c.id);
    if (!t) throw new Error(`conv helper: input ${name} (#${c.id}) was never sent`);
    inputs[name] = t;
  }
  const x = tf.tensor(read(0, job.x.shape), job.x.shape, 'float32');
  inputs[job.x.name] = x;
  const out = /** @type {tf.Tensor} */ (
    tf.engine().runKernel(job.kernel, inputs, /** @type {tf.NamedAttrMap} */ (job.attrs))
  );
  x.dispose();
  try {
    if (out.size > job.out.size) throw new Error(`result of ${out.size} values, room for ${job.out.size}`);
    shared.set(backend.typedArrayFromHeap(out), job.out.offset);
    return out.shape;
  } finally {
    out.dispose();
  }
}

/** @param {number} offset @param {number[]} shape */
function read(offset, shape) {
  return shared.subarray(offset, offset + shape.reduce((a, b) => a * b, 1));
}
