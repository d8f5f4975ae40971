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
    expect(report.machine.cpus).toBeGreaterThan(0);
  });

  it('follows SKINGAN_BACKEND', () => {
    const r = runCli(['doctor', '--json'], { SKINGAN_BACKEND: 'cpu' });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).backend.name).toBe('cpu');
  });

  it('prints a readable report, and a usage error (exit 2) for an unknown backend', () => {
    const ok = runCli(['doctor']);
    expect(ok.stdout).toMatch(/^backend {5}wasm/m);
    expect(ok.stderr).toMatch(/^skingan: backend wasm — /m);
    const bad = runCli(['doctor', '--backend', 'tpu']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown backend "tpu"/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  });
});
