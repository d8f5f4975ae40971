import { describe, expect, it } from 'vitest';
import { runCli } from '../test-utils/run-cli.js';

describe('skingan doctor', () => {
  it('--json reports wasm with SIMD here, and tfjs-node-gpu not usable with the reason', () => {
    const r = runCli(['doctor', '--json'], { SKINGAN_BACKEND: undefined });
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.backend.name).toBe('wasm');
    expect(report.backend.simd).toBe(true);
    expect(report.backend.addedKernels).toContain('Conv2DBackpropFilter');
    expect(report.native['tfjs-node-gpu'].status).toBe('not usable');
    expect(report.native['tfjs-node-gpu'].reason).toMatch(
      /tfjs-node-gpu (not installed|installed but cannot load: .+)/,
    );
    expect(report.versions.tfjs).toMatch(/^4\./);
    // The self-check of core's tfjs-internals.ts: the engine's fields, and the WASM backend's in use.
    expect(report.tfjsInternals.writtenFor).toBe('4.22.0');
    expect(report.tfjsInternals.ok).toBe(true);
    const names = report.tfjsInternals.checks.map((c: { name: string }) => c.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'Engine.registryFactory',
        'BackendWasm.dataIdMap',
        'layers.Conv2D.{kernel,bias,strides,padding,dataFormat,dilationRate,activation}',
      ]),
    );
    expect(report.tfjsInternals.checks.every((c: { ok: boolean }) => c.ok)).toBe(true);
    expect(report.machine.cpus).toBeGreaterThan(0);
  });

  it('follows SKINGAN_BACKEND', () => {
    const r = runCli(['doctor', '--json'], { SKINGAN_BACKEND: 'cpu' });
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.backend.name).toBe('cpu');
    // No WASM backend in use: only the engine's fields (and the cpu backend's) are checked.
    const names = report.tfjsInternals.checks.map((c: { name: string }) => c.name);
    expect(names).toContain('MathBackendCPU.firstUse');
    expect(names).not.toContain('BackendWasm.dataIdMap');
    expect(report.tfjsInternals.ok).toBe(true);
  });

  it('prints a readable report, and a usage error (exit 2) for an unknown backend', () => {
    const ok = runCli(['doctor']);
    expect(ok.stdout).toMatch(/^backend {5}wasm/m);
    expect(ok.stdout).toMatch(
      /^internals {3}the private tfjs fields skingan relies on: all 5 checks pass \(written for tfjs 4\.22\.0\)$/m,
    );
    expect(ok.stderr).toMatch(/^skingan: backend wasm — /m);
    const bad = runCli(['doctor', '--backend', 'tpu']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown backend "tpu"/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  });
});
