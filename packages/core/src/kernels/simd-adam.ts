import {
  F32,
  F32X4_ADD,
  F32X4_DIV,
  F32X4_MUL,
  F32X4_SPLAT,
  F32X4_SQRT,
  F32X4_SUB,
  forLoop,
  get,
  I32,
  I32_ADD,
  I32_SHL,
  i32,
  locals,
  moduleBytes,
  moduleOverHeap,
  set,
  vload,
  vstore,
  WA,
  type WasmMemory,
} from './wasm-asm.js';
import type { WasmBackend } from './wasm-heap.js';

/**
 * One Adam update as a WebAssembly SIMD loop over tfjs' own heap: a ~300-byte module, assembled
 * below, that imports the WASM backend's memory, so it reads p, g, m, v and writes p', m', v' in
 * place of the ~12 elementwise kernels (each a pass over memory, sqrt without SIMD) the update
 * otherwise takes. Per value, with every operation in float32:
 *
 *   m' = β₁·m + (1 − β₁)·g
 *   v' = β₂·v + (1 − β₂)·g·g
 *   p' = p·decay − (m' / (√v'·c + ε))·stepSize
 */
export type AdamLoop = (
  ptrs: { p: number; g: number; m: number; v: number; pOut: number; mOut: number; vOut: number },
  n: number,
  h: AdamFactors,
) => void;

/** The float32 factors of one update (see `AdamLoop`). */
export interface AdamFactors {
  beta1: number;
  oneMinusBeta1: number;
  beta2: number;
  oneMinusBeta2: number;
  /** Multiplies √v' (1/√(1 − β₂ᵗ) for PyTorch's and fastai's bias correction). */
  c: number;
  eps: number;
  stepSize: number;
  decay: number;
}

// Parameters: 7 byte offsets (p, g, m, v, p', m', v'), n, then the 8 factors; locals: i, end, 8 splats.
const [P, G, M, V, PO, MO, VO, N] = [0, 1, 2, 3, 4, 5, 6, 7];
const FACTOR = 8; // beta1, 1-beta1, beta2, 1-beta2, c, eps, stepSize, decay: params 8..15
const I = 16;
const END = 17;
const SPLAT = 18; // v128 locals 18..25, the factors splatted

const load = (base: number) => [...get(base), ...get(I), ...I32_ADD, ...vload()];
const store = (base: number, value: number[]) => [...get(base), ...get(I), ...I32_ADD, ...value, ...vstore()];
const [SQRT, ADD, SUB, MUL, DIV] = [F32X4_SQRT, F32X4_ADD, F32X4_SUB, F32X4_MUL, F32X4_DIV];
const factor = (k: number) => get(SPLAT + k);
const [B1, OB1, B2, OB2, C, EPS, STEP, DECAY] = [0, 1, 2, 3, 4, 5, 6, 7];

function body(): number[] {
  const code: number[] = [];
  for (let k = 0; k < 8; k++) code.push(...get(FACTOR + k), ...F32X4_SPLAT, ...set(SPLAT + k));
  // end = (n & ~3) · 4 bytes
  code.push(...get(N), ...i32(-4), 0x71, ...i32(2), ...I32_SHL, ...set(END));
  // m' → mOut
  const mNew = [...factor(B1), ...load(M), ...MUL, ...factor(OB1), ...load(G), ...MUL, ...ADD];
  // v' → vOut
  const g = load(G);
  const vNew = [...factor(B2), ...load(V), ...MUL, ...factor(OB2), ...g, ...g, ...MUL, ...MUL, ...ADD];
  // p' from m', v' as stored (read back: same float32 values)
  const denom = [...load(VO), ...SQRT, ...factor(C), ...MUL, ...factor(EPS), ...ADD];
  const pNew = [
    ...load(P),
    ...factor(DECAY),
    ...MUL,
    ...load(MO),
    ...denom,
    ...DIV,
    ...factor(STEP),
    ...MUL,
    ...SUB,
  ];
  const step = [...store(MO, mNew), ...store(VO, vNew), ...store(PO, pNew)]; // 4 values, 16 bytes
  return [...code, ...forLoop(I, i32(0), get(END), 16, step)];
}

/** The module's bytes: imports env.memory, exports `adam`. */
function adamModuleBytes(): Uint8Array {
  const params = [...new Array<number>(8).fill(I32), ...new Array<number>(8).fill(F32)];
  return moduleBytes([
    {
      name: 'adam',
      params,
      locals: locals(2, 8),
      code: body(),
    },
  ]);
}

/** Whether this runtime accepts the module (WebAssembly SIMD). */
export function adamModuleValid(): boolean {
  return WA.validate(adamModuleBytes());
}

const loops = new WeakMap<object, AdamLoop | null>();

/**
 * The SIMD update bound to `backend`'s heap, or null where it cannot be had (no exported memory, a
 * shared one, or a runtime without WebAssembly SIMD): callers then compose the update from kernels.
 */
export function adamLoopFor(backend: WasmBackend): AdamLoop | null {
  return moduleOverHeap(loops, backend, adamModuleBytes, ({ memory, exports }) => {
    const adam = exports.adam as (...args: number[]) => void;
    return (p, n, h) => {
      adam(p.p, p.g, p.m, p.v, p.pOut, p.mOut, p.vOut, n, ...factorList(h));
      const tail = n & 3;
      if (tail) scalarTail(memory, p, n - tail, n, h);
    };
  });
}

type Factors = [number, number, number, number, number, number, number, number];

/** The factors in the module's parameter order. */
function factorList(h: AdamFactors): Factors {
  return [h.beta1, h.oneMinusBeta1, h.beta2, h.oneMinusBeta2, h.c, h.eps, h.stepSize, h.decay];
}

/**
 * The last n mod 4 values, in JavaScript: each operation rounded to float32 (exact for + − × ÷ √
 * computed in double), so they equal what the SIMD lanes compute.
 */
function scalarTail(
  memory: WasmMemory,
  p: Parameters<AdamLoop>[0],
  from: number,
  to: number,
  h: AdamFactors,
): void {
  const f = Math.fround;
  const heap = new Float32Array(memory.buffer);
  const [b1, ob1, b2, ob2, c, eps, step, decay] = factorList(h).map(f) as Factors;
  for (let i = from; i < to; i++) {
    const g = heap[p.g / 4 + i]!;
    const m = f(f(b1 * heap[p.m / 4 + i]!) + f(ob1 * g));
    const v = f(f(b2 * heap[p.v / 4 + i]!) + f(ob2 * f(g * g)));
    heap[p.mOut / 4 + i] = m;
    heap[p.vOut / 4 + i] = v;
    const denom = f(f(f(Math.sqrt(v)) * c) + eps);
    heap[p.pOut / 4 + i] = f(f(heap[p.p / 4 + i]! * decay) - f(f(m / denom) * step));
  }
}
