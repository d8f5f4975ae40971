import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

export type NativePackage = '@tensorflow/tfjs-node-gpu' | '@tensorflow/tfjs-node';

export interface NativeProbe {
  package: NativePackage;
  /** Resolvable from the application (or from @skingan/core). */
  installed: boolean;
  /** `require` succeeded: libtensorflow is present and loads. */
  loaded: boolean;
  /** Where it was resolved, when installed. */
  path?: string;
  /** Why it cannot be used, in one line, when not loaded. */
  reason?: string;
  /** The loader's own message, when it threw. */
  detail?: string;
}

/**
 * Where to look for the native packages: the application (cwd and the main script) first, then
 * this package. tfjs-node(-gpu) are the application's choice: libraries never depend on them.
 */
function requirers(): NodeRequire[] {
  const bases = [join(process.cwd(), 'package.json'), import.meta.url];
  if (process.argv[1]) bases.splice(1, 0, process.argv[1]);
  return bases.map((b) => createRequire(b));
}

function resolve(pkg: NativePackage): string | undefined {
  for (const req of requirers()) {
    try {
      return req.resolve(pkg);
    } catch {
      // not resolvable from here; try the next base
    }
  }
  return undefined;
}

const loaded = new Map<NativePackage, NativeProbe>();

/**
 * Tries to load a tfjs native package. An installed package whose install script could not fetch
 * libtensorflow throws on `require`; that is reported as a reason, never thrown.
 */
export function loadNative(pkg: NativePackage): NativeProbe {
  const cached = loaded.get(pkg);
  if (cached) return cached;
  const path = resolve(pkg);
  let probe: NativeProbe;
  if (!path) {
    probe = { package: pkg, installed: false, loaded: false, reason: 'not installed' };
  } else {
    try {
      createRequire(import.meta.url)(path);
      probe = { package: pkg, installed: true, loaded: true, path };
    } catch (e) {
      const detail = (e instanceof Error ? e.message : String(e)).split('\n')[0]!.trim();
      probe = {
        package: pkg,
        installed: true,
        loaded: false,
        path,
        reason: `installed but cannot load: ${explain(detail)}`,
        detail,
      };
    }
  }
  loaded.set(pkg, probe);
  return probe;
}

/** Whether an NVIDIA driver with a visible GPU is present (checked without loading CUDA). */
export function cudaGpuVisible(): { visible: boolean; reason: string } {
  if (process.env.CUDA_VISIBLE_DEVICES === '' || process.env.CUDA_VISIBLE_DEVICES === '-1') {
    return { visible: false, reason: 'CUDA_VISIBLE_DEVICES hides all GPUs' };
  }
  if (!existsSync('/proc/driver/nvidia/version')) {
    return { visible: false, reason: 'no NVIDIA driver (/proc/driver/nvidia/version is missing)' };
  }
  return { visible: true, reason: 'NVIDIA driver present' };
}

/** Short causes for the usual load failures; the full message stays in `detail`. */
function explain(message: string): string {
  if (/tfjs_binding\.node.*can ?not be found/i.test(message)) {
    return 'its native addon was never built (the install script could not download libtensorflow)';
  }
  if (/libtensorflow[^:]*: cannot open shared object/i.test(message)) return 'libtensorflow is missing';
  if (/libcud|cudnn|libnvinfer/i.test(message)) return `CUDA libraries are missing (${message})`;
  return message;
}
