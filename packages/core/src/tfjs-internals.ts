import * as tf from '@tensorflow/tfjs';

/**
 * Every use skingan makes of tfjs' private fields and methods, and nothing else: the rest of the code
 * goes through the small typed functions below. These fields are not part of tfjs' API and may
 * change in any release, so core's peer range pins the tfjs version this module was written for,
 * and `selfCheck()` (run by `skingan doctor`) says at once which of them a given install lacks.
 */

/** The tfjs version whose internals this module reads (core's peer range pins it). */
export const TFJS_INTERNALS_VERSION = '4.22.0';

/** What of tfjs-backend-wasm's `BackendWasm` skingan's kernels use: its public methods and heap. */
export interface WasmBackend {
  wasm: { HEAPU8: Uint8Array };
  /** A view of a tensor's memory; invalid once the heap grows (any allocation may grow it). */
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
}

/** BackendWasm's tensor table (private in 4.22): where each tensor lies on the heap. */
interface WasmBackendInternals extends WasmBackend {
  dataIdMap: {
    has(dataId: object): boolean;
    get(dataId: object): { memoryOffset: number } | undefined;
  };
}

const internal = (backend: WasmBackend) => backend as WasmBackendInternals;

/** Where a tensor's data starts on the WASM heap (bytes), or undefined if it is not on the backend. */
export function wasmMemoryOffset(backend: WasmBackend, dataId: object): number | undefined {
  const map = internal(backend).dataIdMap;
  // DataStorage.get of an unknown id asks the engine to move the data from another backend.
  return map.has(dataId) ? map.get(dataId)?.memoryOffset : undefined;
}

/** Whether a tfjs-node build registered its native 'tensorflow' backend (the engine's registry). */
export function nativeBackendRegistered(): boolean {
  return tf.engine().registryFactory.tensorflow !== undefined;
}

/** tfjs' cpu backend prints a multi-line hint on first use in Node; marks it as used. */
export function silenceCpuFirstUseHint(backend: tf.KernelBackend): void {
  const b = backend as unknown as { firstUse?: boolean };
  if ('firstUse' in b) b.firstUse = false;
}

/** tfjs-layers' BatchNormalization fields (private in 4.22) that skingan's fused training path uses. */
export interface KerasBatchNormFields {
  axis: number;
  epsilon: number;
  /** Writable: fine-tuning sets its own. */
  momentum: number;
  gamma: tf.LayerVariable | null;
  beta: tf.LayerVariable | null;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
}

/** tfjs-layers' Conv2D fields (private in 4.22) that a replacement `call` needs. */
export interface KerasConv2DFields {
  kernel: { read(): tf.Tensor4D };
  bias?: { read(): tf.Tensor1D } | null;
  strides: number[];
  padding: 'same' | 'valid';
  dataFormat: string;
  dilationRate: number | number[];
  activation: { apply(x: tf.Tensor): tf.Tensor };
}

const BATCH_NORM_FIELDS = ['axis', 'epsilon', 'momentum', 'gamma', 'beta', 'movingMean', 'movingVariance'];
const CONV2D_FIELDS = ['kernel', 'bias', 'strides', 'padding', 'dataFormat', 'dilationRate', 'activation'];

/** A built BatchNormalization layer's private fields (the same object, typed). */
export function kerasBatchNormFields(layer: tf.layers.Layer): KerasBatchNormFields {
  if (layer.getClassName() !== 'BatchNormalization')
    throw new Error(`${layer.name} is not a BatchNormalization`);
  return layer as unknown as KerasBatchNormFields;
}

/** A built Conv2D layer's private fields (the same object, typed). */
export function kerasConv2DFields(layer: tf.layers.Layer): KerasConv2DFields {
  if (layer.getClassName() !== 'Conv2D') throw new Error(`${layer.name} is not a Conv2D`);
  return layer as unknown as KerasConv2DFields;
}

/** Whether a freshly built layer has each of `fields` (for the self-check). */
function hasFields(layer: tf.layers.Layer, inputShape: number[], fields: string[]): boolean {
  layer.build(inputShape);
  try {
    return fields.every((f) => f in layer);
  } finally {
    for (const v of layer.weights) v.dispose();
  }
}

/** One private field or method this module relies on, and whether this install has it. */
export interface InternalCheck {
  name: string;
  ok: boolean;
}

/**
 * Checks each private field and method above on this install: the engine's always, the WASM
 * backend's when it is the backend in use. A failed check means tfjs changed under skingan (a tfjs
 * other than `TFJS_INTERNALS_VERSION`): the pinned version is what the checks were written for.
 */
export function selfCheck(): InternalCheck[] {
  const engine = tf.engine() as unknown as Record<string, unknown>;
  const checks: InternalCheck[] = [
    { name: `tfjs version ${TFJS_INTERNALS_VERSION}`, ok: tf.version.tfjs === TFJS_INTERNALS_VERSION },
    {
      name: 'Engine.registryFactory',
      ok: typeof engine.registryFactory === 'object' && engine.registryFactory !== null,
    },
    {
      name: `layers.BatchNormalization.{${BATCH_NORM_FIELDS.join(',')}}`,
      ok: hasFields(tf.layers.batchNormalization({}), [1, 2, 2, 3], BATCH_NORM_FIELDS),
    },
    {
      name: `layers.Conv2D.{${CONV2D_FIELDS.join(',')}}`,
      ok: hasFields(tf.layers.conv2d({ filters: 1, kernelSize: 1 }), [1, 2, 2, 3], CONV2D_FIELDS),
    },
  ];
  if (tf.getBackend() === 'wasm') {
    const b = tf.backend() as unknown as Partial<WasmBackendInternals>;
    const map = b.dataIdMap as Partial<WasmBackendInternals['dataIdMap']> | undefined;
    checks.push({
      name: 'BackendWasm.dataIdMap',
      ok: ['has', 'get'].every((m) => typeof map?.[m as 'get'] === 'function'),
    });
  }
  if (tf.getBackend() === 'cpu') {
    checks.push({ name: 'MathBackendCPU.firstUse', ok: 'firstUse' in (tf.backend() as object) });
  }
  return checks;
}
