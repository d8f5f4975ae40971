/**
 * A few WebAssembly encodings, enough to assemble the small SIMD modules skingan runs over tfjs'
 * WASM heap (simd-adam.ts, simd-reduce.ts, simd-batch-norm.ts) and over the convolutions' shared
 * memory (simd-gemm.ts): each module imports a memory as env.memory and exports functions whose
 * parameters are byte offsets, counts and float factors.
 */

export const I32 = 0x7f;
export const F32 = 0x7d;
const V128 = 0x7b;

export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n) byte |= 0x80;
    out.push(byte);
  } while (n);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(byte & 0x40)) || (n === -1 && byte & 0x40)) return [...out, byte];
    out.push(byte | 0x80);
  }
}

/** A SIMD instruction (prefix 0xfd, LEB128 opcode). */
export const simd = (op: number) => [0xfd, ...uleb(op)];
export const get = (i: number) => [0x20, i];
export const set = (i: number) => [0x21, i];
export const i32 = (n: number) => [0x41, ...sleb(n)];
export const [I32_ADD, I32_MUL, I32_SHL, I32_GE_U] = [[0x6a], [0x6c], [0x74], [0x4f]];
/** v128.load / v128.store with a constant byte offset (16-byte alignment hint). */
export const vload = (offset = 0) => [...simd(0x00), 4, ...uleb(offset)];
export const vstore = (offset = 0) => [...simd(0x0b), 4, ...uleb(offset)];
export const [F32X4_SPLAT, F32X4_SQRT, F32X4_ADD, F32X4_SUB, F32X4_MUL, F32X4_DIV] = [
  0x13, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7,
].map(simd) as [number[], number[], number[], number[], number[], number[]];
/** v128.const of zeros. */
export const V128_ZERO = [...simd(0x0c), ...new Array<number>(16).fill(0)];

/**
 * `counter = from; block { loop { br_if (counter >= end) out; …body…; counter += step; br loop } }`,
 * counters as unsigned i32 locals.
 */
export function forLoop(counter: number, from: number[], end: number[], step: number, body: number[]) {
  return [
    ...from,
    ...set(counter),
    ...[0x02, 0x40, 0x03, 0x40],
    ...get(counter),
    ...end,
    ...I32_GE_U,
    ...[0x0d, 1],
    ...body,
    ...get(counter),
    ...i32(step),
    ...I32_ADD,
    ...set(counter),
    ...[0x0c, 0, 0x0b, 0x0b],
  ];
}

/** A loop over `rows` rows (a local) that advances the `pointers` by `stride` bytes (a local) after each. */
export function rowLoop(r: number, rows: number, stride: number, pointers: number[], body: number[]) {
  const advance = pointers.flatMap((p) => [...get(p), ...get(stride), ...I32_ADD, ...set(p)]);
  return forLoop(r, i32(0), get(rows), 1, [...body, ...advance]);
}

/** Local declarations: `i32s` i32 locals, then `v128s` v128 ones. */
export function locals(i32s: number, v128s = 0): [number, number][] {
  const groups: [number, number][] = [[i32s, I32]];
  if (v128s) groups.push([v128s, V128]);
  return groups;
}

export interface WasmFunction {
  name: string;
  params: number[];
  /** Local declarations as [count, type] groups, after the parameters. */
  locals: [number, number][];
  code: number[];
}

const section = (id: number, content: number[]) => [id, ...uleb(content.length), ...content];
const name = (s: string) => [...uleb(s.length), ...Array.from(s, (ch) => ch.charCodeAt(0))];
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];

/**
 * A module that imports env.memory and exports `functions` (each returns nothing). With
 * `sharedMaxPages` the memory imported is a shared one of at most that many 64 KiB pages.
 */
export function moduleBytes(functions: WasmFunction[], sharedMaxPages?: number): Uint8Array {
  const limits = sharedMaxPages ? [0x03, 1, ...uleb(sharedMaxPages)] : [0x00, 1];
  const types = functions.map((f) => [0x60, ...uleb(f.params.length), ...f.params, 0]);
  const bodies = functions.map((f) => {
    const body = [...vec(f.locals.map(([n, t]) => [...uleb(n), t])), ...f.code, 0x0b];
    return [...uleb(body.length), ...body];
  });
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0],
    ...section(1, vec(types)),
    ...section(2, [1, ...name('env'), ...name('memory'), 0x02, ...limits]),
    ...section(3, vec(functions.map((_, i) => uleb(i)))),
    ...section(7, vec(functions.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]))),
    ...section(10, vec(bodies)),
  ]);
}

/** The WebAssembly API used here (the package compiles without the DOM library that types it). */
export interface WasmMemory {
  buffer: ArrayBuffer;
}
export const WA = (
  globalThis as unknown as {
    WebAssembly: {
      Memory: abstract new (...args: never[]) => WasmMemory;
      Module: new (bytes: Uint8Array) => object;
      Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
      validate(bytes: Uint8Array): boolean;
    };
  }
).WebAssembly;

/**
 * Instantiates `bytes` over the WASM backend's own memory and returns its exports, or null where
 * that cannot be had (no exported memory, a shared one, a runtime without WebAssembly SIMD).
 */
function instantiateOverHeap(
  wasm: unknown,
  bytes: Uint8Array,
): { memory: WasmMemory; exports: Record<string, unknown> } | null {
  try {
    const memory = (wasm as { asm?: { memory?: unknown } }).asm?.memory;
    if (!(memory instanceof WA.Memory) || memory.buffer instanceof SharedArrayBuffer) return null;
    const instance = new WA.Instance(new WA.Module(bytes), { env: { memory } });
    return { memory, exports: instance.exports };
  } catch {
    return null;
  }
}

/**
 * `bind` applied to a module over `backend`'s heap, made once per backend and kept in `cache`; null
 * (also kept) where the module cannot be had there.
 */
export function moduleOverHeap<T>(
  cache: WeakMap<object, T | null>,
  backend: { wasm: unknown },
  bytes: () => Uint8Array,
  bind: (module: { memory: WasmMemory; exports: Record<string, unknown> }) => T,
): T | null {
  const cached = cache.get(backend);
  if (cached !== undefined) return cached;
  const module = instantiateOverHeap(backend.wasm, bytes());
  const bound = module ? bind(module) : null;
  cache.set(backend, bound);
  return bound;
}
