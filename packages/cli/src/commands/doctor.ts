import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { freemem } from 'node:os';
import { machineInfo, selfCheck, TFJS_INTERNALS_VERSION } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import type { Command } from 'commander';
import { initCommandBackend } from '../options.js';
import { printJson } from '../ui/output.js';
import { VERSION } from '../version.js';

const SKINGAN_PACKAGES = ['core', 'data', 'acgan', 'cyclegan', 'path-rank-filter', 'classifier', 'metrics'];

function packageVersion(name: string): string | null {
  try {
    const req = createRequire(import.meta.url);
    const pkgJson = req.resolve(`${name}/package.json`);
    return (JSON.parse(readFileSync(pkgJson, 'utf8')) as { version: string }).version;
  } catch {
    return null;
  }
}

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description(
      'show the tfjs backend in use and why a faster one is unavailable, versions, SIMD/threads, CPUs and memory',
    )
    .option('--json', 'print one JSON object')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const backend = await initCommandBackend(cmd, opts.json);
      const machine = machineInfo();
      // The private tfjs fields skingan's kernels and layers rely on (core's tfjs-internals.ts).
      const internals = selfCheck();
      const missing = internals.filter((c) => !c.ok);
      const report = {
        skingan: VERSION,
        node: process.version,
        platform: `${process.platform}-${process.arch}`,
        backend: {
          name: backend.name,
          tfBackend: backend.tfBackend,
          reason: backend.reason,
          forced: backend.forced,
          simd: backend.simd,
          threads: backend.threads,
          addedKernels: backend.addedKernels,
          replacedKernels: backend.replacedKernels,
        },
        candidates: backend.candidates,
        native: {
          'tfjs-node-gpu': nativeStatus(
            backend.native.gpu,
            backend.candidates[0]!.usable,
            backend.candidates[0]!.reason,
          ),
          'tfjs-node': nativeStatus(
            backend.native.cpu,
            backend.name === 'node',
            backend.candidates[1]!.reason,
          ),
        },
        versions: {
          tfjs: tf.version.tfjs,
          'tfjs-backend-wasm': packageVersion('@tensorflow/tfjs-backend-wasm'),
          ...Object.fromEntries(
            SKINGAN_PACKAGES.map((p) => [`@skingan/${p}`, packageVersion(`@skingan/${p}`)]),
          ),
        },
        tfjsInternals: { writtenFor: TFJS_INTERNALS_VERSION, ok: missing.length === 0, checks: internals },
        machine: {
          cpus: machine.cpus,
          totalMemoryGiB: Number((machine.totalMemoryBytes / 2 ** 30).toFixed(1)),
          freeMemoryGiB: Number((freemem() / 2 ** 30).toFixed(1)),
        },
      };
      // A missing internal breaks training on this install: say so in the exit status too.
      if (missing.length) process.exitCode = 1;
      if (opts.json) {
        printJson(report);
        return;
      }
      const lines = [
        `skingan ${report.skingan} on Node ${report.node} (${report.platform})`,
        `backend     ${backend.name} (tfjs '${backend.tfBackend}') — ${backend.reason}`,
        `SIMD        ${backend.simd === null ? 'n/a' : backend.simd ? 'on' : 'off'}    threads ${backend.threads}`,
        backend.addedKernels.length
          ? `kernels     added by skingan: ${backend.addedKernels.join(', ')}`
          : undefined,
        backend.replacedKernels.length
          ? `            replaced (wrong or slow in tfjs): ${backend.replacedKernels.join(', ')}`
          : undefined,
        `tfjs-node-gpu  ${report.native['tfjs-node-gpu'].status}: ${report.native['tfjs-node-gpu'].reason}`,
        `tfjs-node      ${report.native['tfjs-node'].status}: ${report.native['tfjs-node'].reason}`,
        `versions    ${Object.entries(report.versions)
          .filter(([, v]) => v)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`,
        missing.length
          ? `internals   MISSING in tfjs ${tf.version.tfjs}: ${missing.map((c) => c.name).join(', ')} — install @tensorflow/tfjs@${TFJS_INTERNALS_VERSION}, the version skingan was written for`
          : `internals   the private tfjs fields skingan relies on: all ${internals.length} checks pass (written for tfjs ${TFJS_INTERNALS_VERSION})`,
        `machine     ${report.machine.cpus} CPUs, ${report.machine.totalMemoryGiB} GiB memory (${report.machine.freeMemoryGiB} GiB free)`,
      ];
      if (backend.name === 'wasm' || backend.name === 'cpu') {
        lines.push(
          '',
          'For a GPU: install @tensorflow/tfjs-node-gpu (Linux, CUDA 11.2 + cuDNN 8.1) where it can download libtensorflow.',
        );
      }
      process.stdout.write(`${lines.filter((l) => l !== undefined).join('\n')}\n`);
    });
}

function nativeStatus(
  probe: { installed: boolean; loaded: boolean; reason?: string },
  usable: boolean,
  reason: string,
): { installed: boolean; loaded: boolean; status: 'usable' | 'not usable'; reason: string } {
  return {
    installed: probe.installed,
    loaded: probe.loaded,
    status: usable ? 'usable' : 'not usable',
    reason,
  };
}
