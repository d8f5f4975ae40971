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

const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;

// Parameters: 7 byte offsets (p, g, m, v, p', m', v'), n, then the 8 factors; locals: i, end, 8 splats.
const [P, G, M, V, PO, MO, VO, N] = [0, 1, 2, 3, 4, 5, 6, 7];
const FACTOR = 8; // beta1, 1-beta1, beta2, 1-beta2, c, eps, stepSize, decay: params 8..15
const I = 16;
const END = 17;
const SPLAT = 18; // v128 locals 18..25, the factors splatted

const simd = (op: number) => (op < 0x80 ? [0xfd, op] : [0xfd, (op & 0x7f) | 0x80, op >> 7]);
const get = (i: number) => [0x20, i];
const set = (i: number) => [0x21, i];
const load = (base: number) => [...get(base), ...get(I), 0x6a, ...simd(0x00), 0, 0];
const store = (base: number, value: number[]) => [
  ...get(base),
  ...get(I),
  0x6a,
  ...value,
  ...simd(0x0b),
  0,
  0,
];
const [SQRT, ADD, SUB, MUL, DIV] = [0xe3, 0xe4, 0xe5, 0xe6, 0xe7].map(simd) as [
  number[],
  number[],
  number[],
  number[],
  number[],
];
const factor = (k: number) => get(SPLAT + k);
const [B1, OB1, B2, OB2, C, EPS, STEP, DECAY] = [0, 1, 2, 3, 4, 5, 6, 7];

function body(): number[] {
  const code: number[] = [];
  for (let k = 0; k < 8; k++) code.push(...get(FACTOR + k), ...simd(0x13), ...set(SPLAT + k)); // f32x4.splat
  // end = (n & ~3) · 4 bytes; i = 0
  code.push(...get(N), 0x41, 0x7c, 0x71, 0x41, 2, 0x74, ...set(END), 0x41, 0, ...set(I));
  code.push(0x02, 0x40, 0x03, 0x40); // block, loop
  code.push(...get(I), ...get(END), 0x4f, 0x0d, 1); // br_if out when i >= end (unsigned)
  // m' → mOut
  const mNew = [...factor(B1), ...load(M), ...MUL, ...factor(OB1), ...load(G), ...MUL, ...ADD];
  code.push(...store(MO, mNew));
  // v' → vOut
  const g = load(G);
  const vNew = [...factor(B2), ...load(V), ...MUL, ...factor(OB2), ...g, ...g, ...MUL, ...MUL, ...ADD];
  code.push(...store(VO, vNew));
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
  code.push(...store(PO, pNew));
  code.push(...get(I), 0x41, 16, 0x6a, ...set(I), 0x0c, 0, 0x0b, 0x0b); // i += 16; br loop; end; end
  const locals = [2, 2, I32, 8, V128]; // 2 local groups: 2 × i32, 8 × v128
  const fn = [...locals, ...code, 0x0b];
  return [...uleb(fn.length), ...fn];
}

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n) byte |= 0x80;
    out.push(byte);
  } while (n);
  return out;
}

const section = (id: number, content: number[]) => [id, ...uleb(content.length), ...content];
const name = (s: string) => [...uleb(s.length), ...Array.from(s, (ch) => ch.charCodeAt(0))];

/** The module's bytes: imports env.memory, exports `adam`. */
export function adamModuleBytes(): Uint8Array {
  const params = [...new Array(8).fill(I32), ...new Array(8).fill(F32)];
  const type = section(1, [1, 0x60, ...uleb(params.length), ...params, 0]);
  const imports = section(2, [1, ...name('env'), ...name('memory'), 0x02, 0x00, 1]);
  const functions = section(3, [1, 0]);
  const exports = section(7, [1, ...name('adam'), 0x00, 0]);
  const code = section(10, [1, ...body()]);
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    1,
    0,
    0,
    0,
    ...type,
    ...imports,
    ...functions,
    ...exports,
    ...code,
  ]);
}

/** The WebAssembly API this file uses (the package compiles without the DOM library that types it). */
interface WasmMemory {
  buffer: ArrayBuffer;
}
const WA = (
  globalThis as unknown as {
    WebAssembly: {
      Memory: abstract new (...args: never[]) => WasmMemory;
      Module: new (bytes: Uint8Array) => object;
      Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
      validate(bytes: Uint8Array): boolean;
    };
  }
).WebAssembly;

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
  const cached = loops.get(backend);
  if (cached !== undefined) return cached;
  let loop: AdamLoop | null = null;
  try {
    const memory = (backend.wasm as unknown as { asm?: { memory?: unknown } }).asm?.memory;
    if (memory instanceof WA.Memory && !(memory.buffer instanceof SharedArrayBuffer)) {
      const instance = new WA.Instance(new WA.Module(adamModuleBytes()), { env: { memory } });
      const adam = instance.exports.adam as (...args: number[]) => void;
      loop = (p, n, h) => {
        adam(p.p, p.g, p.m, p.v, p.pOut, p.mOut, p.vOut, n, ...factorList(h));
        const tail = n & 3;
        if (tail) scalarTail(memory, p, n - tail, n, h);
      };
    }
  } catch {
    loop = null;
  }
  loops.set(backend, loop);
  return loop;
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
