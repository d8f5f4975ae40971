import {
  F32X4_ADD,
  F32X4_MUL,
  forLoop,
  get,
  I32,
  I32_ADD,
  I32_GE_U,
  I32_MUL,
  I32_SHL,
  i32,
  locals,
  moduleBytes,
  set,
  simd,
  uleb,
  V128_ZERO,
  vload,
  vstore,
  type WasmFunction,
} from './wasm-asm.js';

/*
 * The two matrix-product loops of skingan's convolutions (gemm-conv.ts), as WebAssembly SIMD. Both
 * compute 4 × 8 blocks of the result in 8 v128 accumulators: per step, two loads of 8 values of B,
 * four broadcasts of A, eight multiplies and eight adds. XNNPACK's WASM build reaches ~15 G
 * multiply-adds/s a thread here and packs every filter it has not seen (~12 ns a value, i.e. every
 * filter during training); these loops reach ~20 G and read filters packed by a plain copy.
 *
 * `igemm` (forward convolution, and the input gradient as a convolution of the output gradient):
 *   C[row] = Σ_tap Σ_k A[tap][row][k] · B[tap·Kc + k, ·]
 * A is indirect: for each block of 4 rows and each tap, 4 pointers to Kc contiguous values (a
 * pixel's channels, or zeros where the tap falls in the padding). B is packed in panels of 8
 * columns, [panel][tap·Kc + k][8]. C is indirect too: 4 row pointers per block.
 *
 * `wgrad` (the filter gradient):
 *   dW[tap, ci + r, co…co+7] = Σ_m X[tap][m][ci + r] · dY[m, co…co+7]
 * with X indirect as above (a pointer per tap and output pixel) and dY rows read where they lie.
 */

/**
 * Each function's parameters, in order: the one place where a job's named fields (see
 * `GemmJob`) become the positional i32 arguments of the WebAssembly call, and where the functions
 * below take their parameters' local indices from.
 */
export const GEMM_PARAMS = {
  /** Rows in blocks of 4: pointer tables of A and C, a block range, taps of kc values, B's panels. */
  igemm: ['ind', 'cind', 'blockStart', 'blockEnd', 'taps', 'kc', 'b', 'panels', 'panelsOuter'],
  /** X's pointer table for M rows, 4-channel blocks per tap, a task range (task = tap·blocks + block), dY, the output, rows per pass. */
  wgrad: [
    'xind',
    'm',
    'channelBlocks',
    'taskStart',
    'taskEnd',
    'dy',
    'dyStride',
    'panels',
    'out',
    'outStride',
    'chunk',
  ],
  pack8: ['src', 'rows', 'n', 'dst', 'panelBytes'],
  packT8: ['src', 'ci', 'co', 'dst', 'panelBytes'],
} as const;

export type GemmFunction = keyof typeof GEMM_PARAMS;

/** One call of a gemm function, its arguments by name (byte addresses in the shared memory, counts). */
export type GemmJob<F extends GemmFunction> = Record<(typeof GEMM_PARAMS)[F][number], number>;

/** A job's positional arguments, in `GEMM_PARAMS` order. */
export function gemmArgs<F extends GemmFunction>(fn: F, job: GemmJob<F>): number[] {
  return GEMM_PARAMS[fn].map((name) => (job as Record<string, number>)[name]!);
}

/** The local index of each parameter of `fn` (its position). */
function params<F extends GemmFunction>(fn: F): Record<(typeof GEMM_PARAMS)[F][number], number> {
  return Object.fromEntries(GEMM_PARAMS[fn].map((name, i) => [name, i])) as Record<
    (typeof GEMM_PARAMS)[F][number],
    number
  >;
}

const I32_LOAD = (offset = 0) => [0x28, 2, ...uleb(offset)];
const I32_DIV_U = [0x6e];
const I32_REM_U = [0x70];
const SPLAT_LOAD = (offset = 0) => [...simd(0x09), 2, ...uleb(offset)]; // v128.load32_splat
const tee = (i: number) => [0x22, i];

/** acc[2r] += s·b0, acc[2r+1] += s·b1 for the broadcast on the stack. */
function rank1(acc: number, r: number, s: number, b0: number, b1: number): number[] {
  return [
    ...tee(s),
    ...get(b0),
    ...F32X4_MUL,
    ...get(acc + 2 * r),
    ...F32X4_ADD,
    ...set(acc + 2 * r),
    ...get(s),
    ...get(b1),
    ...F32X4_MUL,
    ...get(acc + 2 * r + 1),
    ...F32X4_ADD,
    ...set(acc + 2 * r + 1),
  ];
}

/** 8 floats from the address `at` pushes into the v128 locals `v`, `v + 1`. */
function load8(at: number[], v: number): number[] {
  return [...at, ...vload(0), ...set(v), ...at, ...vload(16), ...set(v + 1)];
}
/** The v128 locals `v`, `v + 1` to 8 floats at the address `at` pushes. */
function store8(at: number[], v: number): number[] {
  return [...at, ...get(v), ...vstore(0), ...at, ...get(v + 1), ...vstore(16)];
}

const loop = (body: number[]) => [0x02, 0x40, 0x03, 0x40, ...body, 0x0c, 0, 0x0b, 0x0b];
/** br_if out of the enclosing block when a >= b (unsigned). */
const exitIf = (a: number[], b: number[]) => [...a, ...b, ...I32_GE_U, 0x0d, 1];
const inc = (local: number, by: number[]) => [...get(local), ...by, ...I32_ADD, ...set(local)];
/** A gemm function: its parameters, all i32, in `GEMM_PARAMS` order, then `locals`. */
function gemmFunction(name: GemmFunction, locals: [number, number][], code: number[]): WasmFunction {
  return { name, params: GEMM_PARAMS[name].map(() => I32), locals, code };
}

const zeroAcc = (acc: number) => Array.from({ length: 8 }, (_, q) => [...V128_ZERO, ...set(acc + q)]).flat();

function igemm(): WasmFunction {
  // params
  const {
    ind: IND,
    cind: CIND,
    blockStart: MB0,
    blockEnd: MB1,
    taps: P,
    kc: KC,
    b: B,
    panels: PANELS,
    panelsOuter: PANELS_OUTER,
  } = params('igemm');
  // locals
  const [MB, J, T, A0, AEND, BP, PB, KB, Q] = [9, 10, 11, 12, 16, 17, 18, 19, 20];
  const [ACC, B0, B1, S] = [21, 29, 30, 31];
  const kStep = load8(get(BP), B0);
  for (let r = 0; r < 4; r++) kStep.push(...get(A0 + r), ...SPLAT_LOAD(), ...rank1(ACC, r, S, B0, B1));
  for (let r = 0; r < 4; r++) kStep.push(...inc(A0 + r, i32(4)));
  kStep.push(...inc(BP, i32(32)));
  const tapStep: number[] = [
    // Q = ind + ((mb·P + t) << 4): this block's 4 pointers for tap t
    ...get(IND),
    ...get(MB),
    ...get(P),
    ...I32_MUL,
    ...get(T),
    ...I32_ADD,
    ...i32(4),
    ...I32_SHL,
    ...I32_ADD,
    ...set(Q),
  ];
  for (let r = 0; r < 4; r++) tapStep.push(...get(Q), ...I32_LOAD(4 * r), ...set(A0 + r));
  tapStep.push(...get(A0), ...get(KB), ...I32_ADD, ...set(AEND));
  tapStep.push(...loop([...exitIf(get(A0), get(AEND)), ...kStep]));
  const panelStep: number[] = [
    ...zeroAcc(ACC),
    ...[...get(B), ...get(J), ...get(PB), ...I32_MUL, ...I32_ADD, ...set(BP)],
    ...forLoop(T, i32(0), get(P), 1, tapStep),
    ...[...get(CIND), ...get(MB), ...i32(4), ...I32_SHL, ...I32_ADD, ...set(Q)],
  ];
  for (let r = 0; r < 4; r++) {
    // the row pointer plus j·32 bytes
    const at = [...get(Q), ...I32_LOAD(4 * r), ...get(J), ...i32(5), ...I32_SHL, ...I32_ADD];
    panelStep.push(...store8(at, ACC + 2 * r));
  }
  const code: number[] = [
    ...[...get(KC), ...i32(2), ...I32_SHL, ...set(KB)],
    ...[...get(P), ...get(KC), ...I32_MUL, ...i32(5), ...I32_SHL, ...set(PB)],
    // blocks outer (B streams, A stays in cache) or panels outer (a panel of B stays in cache)
    ...[...get(PANELS_OUTER), 0x04, 0x40],
    ...forLoop(J, i32(0), get(PANELS), 1, forLoop(MB, get(MB0), get(MB1), 1, panelStep)),
    0x05,
    ...forLoop(MB, get(MB0), get(MB1), 1, forLoop(J, i32(0), get(PANELS), 1, panelStep)),
    0x0b,
  ];
  return gemmFunction('igemm', locals(12, 11), code);
}

function wgrad(): WasmFunction {
  // dyStride and outStride in bytes; chunk: rows summed per pass over the tiles (X's rows for a
  // chunk stay in the L1 cache while every tile reads them)
  const {
    xind: XIND,
    m: M,
    channelBlocks: CB,
    taskStart: T0,
    taskEnd: T1,
    dy: DY,
    dyStride: DYS,
    panels: PANELS,
    out: OUT,
    outStride: OROW,
    chunk: CHUNK,
  } = params('wgrad');
  const [J, T, XP, XEND, DYP, CI, X, O, M0, M1, ACCUM] = [11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21];
  const [ACC, B0, B1, S] = [22, 30, 31, 32];
  const mStep: number[] = [
    ...[...get(XP), ...I32_LOAD(), ...get(CI), ...I32_ADD, ...set(X)],
    ...load8(get(DYP), B0),
  ];
  for (let r = 0; r < 4; r++) mStep.push(...get(X), ...SPLAT_LOAD(4 * r), ...rank1(ACC, r, S, B0, B1));
  mStep.push(...inc(XP, i32(4)), ...inc(DYP, get(DYS)));
  const tap = [...get(T), ...get(CB), ...I32_DIV_U];
  const block = [...get(T), ...get(CB), ...I32_REM_U];
  // The tile's address: out + (tap·CB·4 + block·4 + r)·outRow + j·32 = out + (T·4 + r)·outRow + j·32
  const tile = [
    ...[...get(OUT), ...get(T), ...i32(2), ...I32_SHL, ...get(OROW), ...I32_MUL, ...I32_ADD],
    ...[...get(J), ...i32(5), ...I32_SHL, ...I32_ADD, ...set(O)],
  ];
  const row = (r: number) => [...get(O), ...get(OROW), ...i32(r), ...I32_MUL, ...I32_ADD];
  const loadTile: number[] = [];
  const storeTile: number[] = [];
  for (let r = 0; r < 4; r++) {
    loadTile.push(...load8(row(r), ACC + 2 * r));
    storeTile.push(...store8(row(r), ACC + 2 * r));
  }
  const taskStep: number[] = [
    ...tile,
    // a later run of rows adds to the tile an earlier one stored
    ...[...get(ACCUM), 0x04, 0x40, ...loadTile, 0x05, ...zeroAcc(ACC), 0x0b],
    // XP = xind + (tap·M + m0)·4; XEND = xind + (tap·M + m1)·4; CI = block·16 bytes
    ...[...get(XIND), ...tap, ...get(M), ...I32_MUL, ...i32(2), ...I32_SHL, ...I32_ADD, ...set(XEND)],
    ...[...get(XEND), ...get(M0), ...i32(2), ...I32_SHL, ...I32_ADD, ...set(XP)],
    ...[...get(XEND), ...get(M1), ...i32(2), ...I32_SHL, ...I32_ADD, ...set(XEND)],
    ...[...block, ...i32(4), ...I32_SHL, ...set(CI)],
    // DYP = dy + m0·dyStride + j·32
    ...[
      ...get(DY),
      ...get(M0),
      ...get(DYS),
      ...I32_MUL,
      ...I32_ADD,
      ...get(J),
      ...i32(5),
      ...I32_SHL,
      ...I32_ADD,
      ...set(DYP),
    ],
    ...loop([...exitIf(get(XP), get(XEND)), ...mStep]),
    ...storeTile,
  ];
  const pass = forLoop(J, i32(0), get(PANELS), 1, forLoop(T, get(T0), get(T1), 1, taskStep));
  // m0 = 0; while m0 < M: m1 = min(m0 + chunk, M); pass; accumulate = 1; m0 = m1
  const SELECT = [0x1b];
  const I32_LT_U = [0x49];
  const code = [
    ...[...i32(0), ...set(M0), ...i32(0), ...set(ACCUM)],
    ...loop([
      ...exitIf(get(M0), get(M)),
      ...[...get(M0), ...get(CHUNK), ...I32_ADD, ...set(M1)],
      ...[...get(M1), ...get(M), ...get(M1), ...get(M), ...I32_LT_U, ...SELECT, ...set(M1)],
      ...pass,
      ...[...i32(1), ...set(ACCUM), ...get(M1), ...set(M0)],
    ]),
  ];
  return gemmFunction('wgrad', locals(11, 11), code);
}

/**
 * `pack8(src, rows, n, dst, panelBytes)`: a row-major [rows, n] matrix (n a multiple of 8) into
 * panels of 8 columns, dst[j·panelBytes + (r·8 + q)·4] = src[r, 8j + q]: the forward product's B from
 * an HWIO filter (threads each pack a run of rows).
 */
function pack8(): WasmFunction {
  const { src: SRC, rows: ROWS, n: N, dst: DST, panelBytes: PANEL } = params('pack8');
  const [R, J, S, D] = [5, 6, 7, 8];
  const copy = [
    ...get(D),
    ...get(S),
    ...vload(0),
    ...vstore(0),
    ...get(D),
    ...get(S),
    ...vload(16),
    ...vstore(16),
  ];
  const row = [
    ...[...get(DST), ...get(R), ...i32(5), ...I32_SHL, ...I32_ADD, ...set(D)],
    ...forLoop(J, i32(0), get(N), 8, [...copy, ...inc(S, i32(32)), ...inc(D, get(PANEL))]),
  ];
  const code = [...get(SRC), ...set(S), ...forLoop(R, i32(0), get(ROWS), 1, row)];
  return gemmFunction('pack8', locals(4), code);
}

/**
 * `packT8(src, ci, co, dst, panelBytes)`: one tap's [ci, co] filter matrix (ci a multiple of 8),
 * transposed into panels of 8 input channels: dst[i/8 · panelBytes + (c·8 + i mod 8)·4] =
 * src[i, c]. The input gradient's B, a tap at a time.
 */
function packT8(): WasmFunction {
  const { src: SRC, ci: CI, co: CO, dst: DST, panelBytes: PANEL } = params('packT8');
  const [I, C, S, D] = [5, 6, 7, 8];
  const F32_LOAD = [0x2a, 2, 0];
  const F32_STORE = [0x38, 2, 0];
  const I32_AND = [0x71];
  const I32_SHR_U = [0x76];
  const inner = [...get(D), ...get(S), ...F32_LOAD, ...F32_STORE, ...inc(S, i32(4)), ...inc(D, i32(32))];
  const row = [
    // D = dst + (i >> 3)·panel + (i & 7)·4
    ...[...get(DST), ...get(I), ...i32(3), ...I32_SHR_U, ...get(PANEL), ...I32_MUL, ...I32_ADD],
    ...[...get(I), ...i32(7), ...I32_AND, ...i32(2), ...I32_SHL, ...I32_ADD, ...set(D)],
    ...forLoop(C, i32(0), get(CO), 1, inner),
  ];
  const code = [...get(SRC), ...set(S), ...forLoop(I, i32(0), get(CI), 1, row)];
  return gemmFunction('packT8', locals(4), code);
}

/** The module: imports env.memory (shared between the threads that run it), exports igemm, wgrad, pack8, packT8. */
export function gemmModuleBytes(maxPages: number): Uint8Array {
  return moduleBytes([igemm(), wgrad(), pack8(), packT8()], maxPages);
}
