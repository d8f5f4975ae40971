import * as tf from '@tensorflow/tfjs';

type Attrs = tf.NamedAttrMap;
/** The `backend` a kernel function receives (typed `{}` by tfjs). */
type Backend = { disposeData(dataId: object, force?: boolean): boolean };

/**
 * Runs one of the backend's own kernels directly (inside another kernel, where `tf.*` ops would
 * not be recorded correctly), returning the raw TensorInfo. The caller disposes what it creates.
 */
export function callKernel(
  name: string,
  backend: unknown,
  inputs: Record<string, tf.TensorInfo>,
  attrs: Attrs = {},
): tf.TensorInfo {
  const config = tf.getKernel(name, tf.getBackend());
  if (!config) throw new Error(`kernel ${name} is not registered for backend ${tf.getBackend()}`);
  return single(config.kernelFunc({ inputs, backend: backend as tf.KernelBackend, attrs }));
}

/** A kernel's one output (kernel functions may return a list). */
export function single(out: tf.TensorInfo | tf.TensorInfo[]): tf.TensorInfo {
  return Array.isArray(out) ? out[0]! : out;
}

/** Frees intermediates created with `callKernel`. */
export function disposeInfos(backend: unknown, ...infos: tf.TensorInfo[]): void {
  for (const info of infos) (backend as Backend).disposeData(info.dataId);
}

/**
 * Backend tensors a kernel keeps between calls (rearranged filters), by key, least recently used
 * first: beyond `capacity` the oldest are freed. An entry made on another backend never hits.
 */
export class TensorCache {
  private readonly entries = new Map<object, { backend: Backend; info: tf.TensorInfo }>();

  constructor(private readonly capacity: number) {}

  get(key: object, backend: unknown): tf.TensorInfo | undefined {
    const hit = this.entries.get(key);
    if (!hit || hit.backend !== backend) return undefined;
    this.entries.delete(key); // re-insert: most recently used last
    this.entries.set(key, hit);
    return hit.info;
  }

  set(key: object, backend: unknown, info: tf.TensorInfo): void {
    this.delete(key);
    this.entries.set(key, { backend: backend as Backend, info });
    for (const [oldKey] of this.entries) {
      if (this.entries.size <= this.capacity) break;
      this.delete(oldKey);
    }
  }

  /** Frees the entry under `key`, if any. */
  delete(key: object): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    entry.backend.disposeData(entry.info.dataId);
  }
}
