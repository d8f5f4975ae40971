import { columnBlocks } from './simd-reduce.js';
import {
  F32,
  F32X4_ADD,
  F32X4_DIV,
  F32X4_MUL,
  F32X4_SPLAT,
  F32X4_SUB,
  get,
  I32,
  locals,
  moduleBytes,
  moduleOverHeap,
  rowLoop,
  set,
  V128_ZERO,
  vload,
  vstore,
  type WasmFunction,
} from './wasm-asm.js';
import type { WasmBackend } from './wasm-heap.js';

/*
 * BatchNorm's passes over a row-major [rows, C] float32 array in tfjs' WASM heap (NHWC with the
 * channels last), a block of 4·lanes channels per call, per-channel vectors read from the heap:
 *   sqdev   out[c] = Σᵣ (x[r, c] − mean[c])² / d        (the variance, given the mean)
 *   dsums   s1[c] = Σᵣ dy[r, c],  s2[c] = Σᵣ dy[r, c]·(x[r, c] − mean[c])   (the gradient's sums)
 *   affine  out[r, c] = (x[r, c] − mean[c])·a[c] + b[c]        (normalize: a = γ/σ, b = β)
 *   affine2 out[r, c] = x[r, c]·a[c] + (z[r, c] − mean[c])·e[c] + b[c]   (the input gradient)
 * Values are centred before scaling, so a mean large against the spread loses no precision.
 * Each is one pass over memory where tfjs' moments, batchNorm and their gradients take ~15.
 */

type Fn = (...args: number[]) => void;
export interface BatchNormLoops {
  sqdev(x: number, rows: number, cols: number, mean: number, out: number, divisor: number): void;
  dsums(x: number, dy: number, rows: number, cols: number, mean: number, s1: number, s2: number): void;
  affine(x: number, rows: number, cols: number, mean: number, a: number, b: number, out: number): void;
  affine2(
    x: number,
    z: number,
    rows: number,
    cols: number,
    mean: number,
    a: number,
    e: number,
    b: number,
    out: number,
  ): void;
}

const vec = (ptr: number, q: number) => [...get(ptr), ...vload(16 * q)];

function sqdev(lanes: number): WasmFunction {
  const [X, ROWS, STRIDE, MEAN, OUT, D] = [0, 1, 2, 3, 4, 5];
  const [R, D4, T, ACC, M] = [6, 7, 8, 9, 9 + lanes];
  const code = [...get(D), ...F32X4_SPLAT, ...set(D4)];
  for (let q = 0; q < lanes; q++) code.push(...V128_ZERO, ...set(ACC + q), ...vec(MEAN, q), ...set(M + q));
  const body: number[] = [];
  for (let q = 0; q < lanes; q++) {
    body.push(...vec(X, q), ...get(M + q), ...F32X4_SUB, 0x22, T); // tee T
    body.push(...get(T), ...F32X4_MUL, ...get(ACC + q), ...F32X4_ADD, ...set(ACC + q));
  }
  code.push(...rowLoop(R, ROWS, STRIDE, [X], body));
  for (let q = 0; q < lanes; q++)
    code.push(...get(OUT), ...get(ACC + q), ...get(D4), ...F32X4_DIV, ...vstore(16 * q));
  return {
    name: `sqdev${4 * lanes}`,
    params: [I32, I32, I32, I32, I32, F32],
    locals: locals(1, 2 + 2 * lanes),
    code,
  };
}

function dsums(lanes: number): WasmFunction {
  const [X, DY, ROWS, STRIDE, MEAN, S1, S2] = [0, 1, 2, 3, 4, 5, 6];
  const [R, G, A1, A2, M] = [7, 8, 9, 9 + lanes, 9 + 2 * lanes];
  const code: number[] = [];
  for (let q = 0; q < lanes; q++) {
    code.push(...V128_ZERO, ...set(A1 + q), ...V128_ZERO, ...set(A2 + q), ...vec(MEAN, q), ...set(M + q));
  }
  const body: number[] = [];
  for (let q = 0; q < lanes; q++) {
    body.push(...vec(DY, q), 0x22, G, ...get(A1 + q), ...F32X4_ADD, ...set(A1 + q));
    body.push(
      ...get(G),
      ...vec(X, q),
      ...get(M + q),
      ...F32X4_SUB,
      ...F32X4_MUL,
      ...get(A2 + q),
      ...F32X4_ADD,
    );
    body.push(...set(A2 + q));
  }
  code.push(...rowLoop(R, ROWS, STRIDE, [X, DY], body));
  for (let q = 0; q < lanes; q++) {
    code.push(...get(S1), ...get(A1 + q), ...vstore(16 * q), ...get(S2), ...get(A2 + q), ...vstore(16 * q));
  }
  return {
    name: `dsums${4 * lanes}`,
    params: [I32, I32, I32, I32, I32, I32, I32],
    locals: locals(1, 1 + 3 * lanes),
    code,
  };
}

function affine(lanes: number, withZ: boolean): WasmFunction {
  // affine: x, rows, stride, mean, a, b, out; affine2: x, z, rows, stride, mean, a, e, b, out
  const [X, Z, ROWS, STRIDE, MEAN, A, E, B, OUT] = withZ
    ? [0, 1, 2, 3, 4, 5, 6, 7, 8]
    : [0, -1, 1, 2, 3, 4, -1, 5, 6];
  const nParams = withZ ? 9 : 7;
  const R = nParams;
  const [VA, VE, VB, VM] = [0, 1, 2, 3].map((k) => nParams + 1 + k * lanes) as [
    number,
    number,
    number,
    number,
  ];
  const code: number[] = [];
  for (let q = 0; q < lanes; q++) {
    code.push(...vec(A, q), ...set(VA + q), ...vec(B, q), ...set(VB + q), ...vec(MEAN, q), ...set(VM + q));
    if (withZ) code.push(...vec(E, q), ...set(VE + q));
  }
  const body: number[] = [];
  for (let q = 0; q < lanes; q++) {
    // the centred term first: (x − mean)·a, or x·a + (z − mean)·e
    const centred = (p: number, f: number) => [
      ...vec(p, q),
      ...get(VM + q),
      ...F32X4_SUB,
      ...get(f + q),
      ...F32X4_MUL,
    ];
    const value = withZ
      ? [...vec(X, q), ...get(VA + q), ...F32X4_MUL, ...centred(Z, VE), ...F32X4_ADD]
      : centred(X, VA);
    value.push(...get(VB + q), ...F32X4_ADD);
    body.push(...get(OUT), ...value, ...vstore(16 * q));
  }
  code.push(...rowLoop(R, ROWS, STRIDE, withZ ? [X, Z, OUT] : [X, OUT], body));
  return {
    name: `${withZ ? 'affine2_' : 'affine'}${4 * lanes}`,
    params: new Array<number>(nParams).fill(I32),
    locals: locals(1, 4 * lanes),
    code,
  };
}

function batchNormModuleBytes(): Uint8Array {
  return moduleBytes(
    [4, 1].flatMap((lanes) => [sqdev(lanes), dsums(lanes), affine(lanes, false), affine(lanes, true)]),
  );
}

const cache = new WeakMap<object, BatchNormLoops | null>();

/**
 * The loops bound to `backend`'s heap, or null where a module cannot reach it. Channel counts must
 * be multiples of 4 (callers check; ResNets' are multiples of 16).
 */
export function batchNormLoopsFor(backend: WasmBackend): BatchNormLoops | null {
  return moduleOverHeap(cache, backend, batchNormModuleBytes, ({ exports }) => {
    const e = exports as Record<string, Fn>;
    return {
      sqdev: (x, rows, cols, mean, out, d) =>
        columnBlocks(cols, (w, o) => e[`sqdev${w}`]!(x + o, rows, 4 * cols, mean + o, out + o, d)),
      dsums: (x, dy, rows, cols, mean, s1, s2) =>
        columnBlocks(cols, (w, o) =>
          e[`dsums${w}`]!(x + o, dy + o, rows, 4 * cols, mean + o, s1 + o, s2 + o),
        ),
      affine: (x, rows, cols, mean, a, b, out) =>
        columnBlocks(cols, (w, o) =>
          e[`affine${w}`]!(x + o, rows, 4 * cols, mean + o, a + o, b + o, out + o),
        ),
      affine2: (x, z, rows, cols, mean, a, ee, b, out) =>
        columnBlocks(cols, (w, o) =>
          e[`affine2_${w}`]!(x + o, z + o, rows, 4 * cols, mean + o, a + o, ee + o, b + o, out + o),
        ),
    };
  });
}
