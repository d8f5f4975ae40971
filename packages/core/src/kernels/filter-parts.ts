import type * as tf from '@tensorflow/tfjs';
import { convHelpers } from '../parallel/conv-helpers.js';
import { TensorCache } from './kernel-utils.js';
import { sliceColumns, type WasmBackend } from './wasm-heap.js';

// Channel parts of filters and biases, for convolutions split by output channels: this thread's own
// parts (as tensors of the WASM backend) and the keys that name each part in a helper's cache. Both
// live exactly as long as the tensor they are cut from (`forgetTensor`, called on every free).

/**
 * One key object per (tensor, channel range), so a helper's cache never confuses a part with the
 * whole or with another part.
 */
export function partKey(dataId: object, a: number, b: number): object {
  return derivedKey(dataId, `${a}:${b}`);
}

/**
 * One key object per (tensor, view of it): a tensor's buffer may reach kernels under several shapes
 * (a [K, N] matrix and the same values as [1, K, N]), and a helper must hold each as given.
 */
export function wholeKey(dataId: object, shape: readonly number[]): object {
  return derivedKey(dataId, shape.join('x'));
}

function derivedKey(dataId: object, name: string): object {
  let parts = partKeys.get(dataId);
  if (!parts) {
    parts = new Map();
    partKeys.set(dataId, parts);
  }
  let key = parts.get(name);
  if (!key) {
    key = { dataId, name };
    parts.set(name, key);
  }
  return key;
}
const partKeys = new WeakMap<object, Map<string, object>>();

/**
 * This thread's channels [c0, c1) of a filter or bias, kept while the tensor lives: a weight serves
 * several convs per step, and XNNPACK keeps the packed copy of each part it sees.
 */
export function ownPart(backend: WasmBackend, info: tf.TensorInfo, c0: number, c1: number): tf.TensorInfo {
  const key = partKey(info.dataId, c0, c1);
  const hit = ownParts.get(key, backend);
  if (hit) return hit;
  const width = info.shape[info.shape.length - 1]!;
  const data = sliceColumns(backend.typedArrayFromHeap(info), width, c0, c1);
  const part = backend.makeOutput([...info.shape.slice(0, -1), c1 - c0], 'float32');
  backend.typedArrayFromHeap(part).set(data);
  ownParts.set(key, backend, part);
  return part;
}
/** Bound for parts of tensors that live on unused (each part is dropped when its tensor is freed). */
const ownParts = new TensorCache(256);

/** Drops what the caches here and in the helpers hold for a freed tensor (the whole, or its parts). */
export function forgetTensor(dataId: object): void {
  const parts = partKeys.get(dataId);
  if (!parts) return;
  for (const helper of convHelpers()) for (const key of parts.values()) helper.forget(key);
  for (const key of parts.values()) ownParts.delete(key);
}
