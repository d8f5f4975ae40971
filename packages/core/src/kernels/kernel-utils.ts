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
  const out = config.kernelFunc({ inputs, backend: backend as tf.KernelBackend, attrs });
  return Array.isArray(out) ? out[0]! : out; // kernel functions may return a list
}

/** Frees intermediates created with `callKernel`. */
export function disposeInfos(backend: unknown, ...infos: tf.TensorInfo[]): void {
  for (const info of infos) (backend as Backend).disposeData(info.dataId);
}
