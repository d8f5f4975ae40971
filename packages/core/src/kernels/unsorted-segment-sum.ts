import type * as tf from '@tensorflow/tfjs';
import { callKernel, disposeInfos } from './kernel-utils.js';

/**
 * UnsortedSegmentSum (the gradient of gather, hence of embeddings) for backends that lack it:
 * out = oneHot(segmentIds, numSegments)ᵀ · x, one matrix product on the backend's BatchMatMul.
 * Ids outside [0, numSegments) contribute nothing, as in TensorFlow.
 */
export const unsortedSegmentSum: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const { numSegments } = attrs as unknown as tf.UnsortedSegmentSumAttrs;
  const idsRank = segmentIds.shape.length;
  const n = segmentIds.shape.reduce((a, b) => a * b, 1);
  const inner = x.shape.slice(idsRank);
  const innerSize = inner.reduce((a, b) => a * b, 1);

  const ids = callKernel('Reshape', backend, { x: segmentIds }, { shape: [n] });
  const idsInt =
    segmentIds.dtype === 'int32' ? ids : callKernel('Cast', backend, { x: ids }, { dtype: 'int32' });
  // WASM's OneHot writes int32 whatever dtype is asked for: make int32, then cast.
  const oneHotInt = callKernel(
    'OneHot',
    backend,
    { indices: idsInt },
    { depth: numSegments, onValue: 1, offValue: 0, dtype: 'int32' },
  );
  const oneHot = callKernel('Cast', backend, { x: oneHotInt }, { dtype: 'float32' });
  const x3 = callKernel('Reshape', backend, { x }, { shape: [1, n, innerSize] });
  const xf = x.dtype === 'float32' ? x3 : callKernel('Cast', backend, { x: x3 }, { dtype: 'float32' });
  const oh3 = callKernel('Reshape', backend, { x: oneHot }, { shape: [1, n, numSegments] });
  const prod = callKernel('BatchMatMul', backend, { a: oh3, b: xf }, { transposeA: true, transposeB: false });
  const out = callKernel('Reshape', backend, { x: prod }, { shape: [numSegments, ...inner] });
  const toFree = [ids, oneHotInt, oneHot, x3, oh3, prod];
  if (idsInt !== ids) toFree.push(idsInt);
  if (xf !== x3) toFree.push(xf);
  disposeInfos(backend, ...toFree);
  if (x.dtype === 'int32') {
    const cast = callKernel('Cast', backend, { x: out }, { dtype: 'int32' });
    disposeInfos(backend, out);
    return cast;
  }
  return out;
};
