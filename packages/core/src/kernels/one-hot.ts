import type * as tf from '@tensorflow/tfjs';
import { callKernel, disposeInfos } from './kernel-utils.js';

/**
 * tfjs-backend-wasm 4.22's OneHot writes int32 values whatever `dtype` asks for, so a float32
 * `tf.oneHot(…, 'float32')` reads back as denormals. This wraps the backend's kernel: int32 from
 * the original, then a Cast.
 */
export function fixedOneHot(original: tf.KernelFunc): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { dtype } = attrs as unknown as tf.OneHotAttrs;
    if (dtype === 'int32') return original({ inputs, backend, attrs });
    const asInt = original({ inputs, backend, attrs: { ...attrs, dtype: 'int32' } }) as tf.TensorInfo;
    const out = callKernel('Cast', backend, { x: asInt }, { dtype });
    disposeInfos(backend, asInt);
    return out;
  };
}
