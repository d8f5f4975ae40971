import { cpus, totalmem } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { SkinganError } from '../errors.js';
import { startGemmThreads } from '../kernels/gemm-conv.js';
import { registerTrainingKernels } from '../kernels/register.js';
import { nativeBackendRegistered, silenceCpuFirstUseHint } from '../tfjs-internals.js';
import { cudaGpuVisible, loadNative, type NativeProbe } from './native.js';

/** The backends skingan can run on, fastest first. */
export const BACKENDS = ['node-gpu', 'node', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

export interface BackendCandidate {
  name: BackendName;
  usable: boolean;
  /** Why it is (not) used, in one line. */
  reason: string;
}

export interface BackendInfo {
  name: BackendName;
  /** The tfjs backend id: 'tensorflow', 'wasm' or 'cpu'. */
  tfBackend: string;
  /** One line: which backend and why. */
  reason: string;
  forced: boolean;
  simd: boolean | null;
  threads: number;
  /** Composite kernels skingan registered because the backend lacked them. */
  addedKernels: string[];
  /** Backend kernels skingan replaced because they were wrong or slow. */
  replacedKernels: string[];
  candidates: BackendCandidate[];
  native: { gpu: NativeProbe; cpu: NativeProbe };
  tfjsVersion: string;
}

export interface InitBackendOptions {
  /** Force a backend; default: `SKINGAN_BACKEND`, else the fastest usable. */
  backend?: BackendName;
  /**
   * Threads for the WASM backend's convolutions (this one plus helpers); default `SKINGAN_THREADS`,
   * else the CPU count up to 4. Native backends manage their own threads.
   */
  threads?: number;
  /** Where the one-line choice is written; default stderr. `null` silences it. */
  log?: ((line: string) => void) | null;
}

let current: BackendInfo | undefined;

/** The backend chosen by `initBackend`, if it ran. */
export function backendInfo(): BackendInfo | undefined {
  return current;
}

export function parseBackendName(value: string, source: string): BackendName {
  const v = value.trim().toLowerCase();
  const alias: Record<string, BackendName> = { gpu: 'node-gpu', tensorflow: 'node', native: 'node' };
  const name = (alias[v] ?? v) as BackendName;
  if (!BACKENDS.includes(name)) {
    throw new SkinganError(`${source}: unknown backend "${value}"`, {
      code: 'USAGE',
      hint: `use one of: ${BACKENDS.join(', ')}`,
    });
  }
  return name;
}

/**
 * Chooses the tfjs backend for the whole process and says which and why on one stderr line:
 * tfjs-node-gpu with a usable CUDA GPU → tfjs-node (native CPU) → WASM (with the training
 * kernels it lacks added) → the pure-JS cpu backend. Forcing an unusable backend is an error.
 * Idempotent: a second call returns the first choice unless another backend is forced.
 */
export async function initBackend(options: InitBackendOptions = {}): Promise<BackendInfo> {
  const env = process.env.SKINGAN_BACKEND;
  const forced = options.backend ?? (env ? parseBackendName(env, 'SKINGAN_BACKEND') : undefined);
  if (current && (!forced || forced === current.name)) return current;

  const gpuProbe = loadNative('@tensorflow/tfjs-node-gpu');
  // tfjs-node-gpu also runs on the CPU; tfjs-node is only needed when the GPU build is absent.
  const cpuProbe = gpuProbe.loaded ? gpuProbe : loadNative('@tensorflow/tfjs-node');
  const gpu = cudaGpuVisible();
  const nativeLoaded = nativeBackendRegistered();

  const candidates: BackendCandidate[] = [
    {
      name: 'node-gpu',
      usable: gpuProbe.loaded && gpu.visible,
      reason: !gpuProbe.loaded
        ? `@tensorflow/tfjs-node-gpu ${gpuProbe.reason}`
        : gpu.visible
          ? '@tensorflow/tfjs-node-gpu loaded and a CUDA GPU is visible'
          : `@tensorflow/tfjs-node-gpu loaded but not usable on a GPU: ${gpu.reason}`,
    },
    {
      name: 'node',
      usable: nativeLoaded,
      reason: nativeLoaded
        ? `${cpuProbe.package} loaded (native TensorFlow on the CPU)`
        : `@tensorflow/tfjs-node ${cpuProbe.reason}`,
    },
    { name: 'wasm', usable: true, reason: 'WebAssembly SIMD: XNNPACK and skingan training kernels' },
    { name: 'cpu', usable: true, reason: 'pure JavaScript (slow: for checks only)' },
  ];

  // (wasm and cpu are always usable: only a forced backend can be unusable)
  const chosen = candidates.find((c) => (forced ? c.name === forced : c.usable))!;
  if (!chosen.usable) {
    throw new SkinganError(`backend "${forced}" was asked for but is not usable: ${chosen.reason}`, {
      code: 'BACKEND',
      hint: 'run `skingan doctor` for details, or choose another backend with SKINGAN_BACKEND',
    });
  }

  const tfBackend = chosen.name === 'node' || chosen.name === 'node-gpu' ? 'tensorflow' : chosen.name;
  // Checked before anything changes: a bad SKINGAN_THREADS leaves the engine as it was.
  const threadsWanted = tfBackend === 'wasm' ? wasmThreads(options.threads) : undefined;
  if (tfBackend === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend(tfBackend))) {
    throw new SkinganError(`tfjs could not initialize the ${tfBackend} backend`, { code: 'BACKEND' });
  }
  await tf.ready();
  // tfjs' cpu backend prints a multi-line hint on first use in Node; our one-line choice replaces it.
  if (tfBackend === 'cpu') silenceCpuFirstUseHint(tf.backend());
  const { added: addedKernels, replaced: replacedKernels } = registerTrainingKernels(tfBackend);

  const simd = tfBackend === 'wasm' ? Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) : null;
  // tfjs' own WASM threads need a browser's workers; skingan's convolution loops split each call
  // over helper threads of one shared memory instead (gemm-conv.ts).
  const threads = threadsWanted ?? (tfBackend === 'cpu' ? 1 : cpus().length);
  if (threadsWanted !== undefined && process.env.SKINGAN_GEMM !== '0') startGemmThreads(threads - 1);
  const why = forced ? `forced by ${options.backend ? 'option' : 'SKINGAN_BACKEND'}` : chosen.reason;
  const skipped = candidates
    .slice(0, candidates.indexOf(chosen))
    .map((c) => `${c.name}: ${c.reason}`)
    .join('; ');
  const reason = forced || !skipped ? why : `${why} (${skipped})`;

  current = {
    name: chosen.name,
    tfBackend,
    reason,
    forced: Boolean(forced),
    simd,
    threads,
    addedKernels,
    replacedKernels,
    candidates,
    native: { gpu: gpuProbe, cpu: cpuProbe },
    tfjsVersion: tf.version.tfjs,
  };
  const log = options.log === undefined ? (l: string) => process.stderr.write(`${l}\n`) : options.log;
  log?.(`skingan: backend ${chosen.name} — ${reason}`);
  return current;
}

/** The WASM thread count asked for: the option, else SKINGAN_THREADS, else the CPU count up to 4. */
function wasmThreads(option: number | undefined): number {
  const env = process.env.SKINGAN_THREADS;
  const value = option ?? (env ? Number(env) : Math.min(4, cpus().length));
  if (!Number.isInteger(value) || value < 1) {
    const [source, given] = option === undefined ? ['SKINGAN_THREADS', env] : ['threads', option];
    throw new SkinganError(`${source}: "${given}" is not a whole number ≥ 1`, {
      code: 'USAGE',
      hint: 'e.g. SKINGAN_THREADS=2, or 1 to keep every kernel on the main thread',
    });
  }
  return value;
}

/** Total memory and CPU count, for doctor and memory estimates. */
export function machineInfo(): { cpus: number; totalMemoryBytes: number } {
  return { cpus: cpus().length, totalMemoryBytes: totalmem() };
}
