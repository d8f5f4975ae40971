// Per-kernel profile of a training step, for the setups' SKINGAN_PROFILE=1 mode: wraps every kernel
// registered for the active backend with a timer (WASM kernels run synchronously, so wall time is
// kernel time), runs the step, unwraps. Composite kernels (skingan's, in @skingan/core) call other
// kernels: times are exclusive (a child's time is not counted in its parent) and each row names the
// composite it ran inside (`via`).
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs';

export async function profileKernels(step, { steps = 2, top = 30 } = {}) {
  const backend = tf.getBackend();
  const kernels = tf.getKernelsForBackend(backend);
  const stats = new Map();
  const stack = [];
  for (const k of kernels) {
    tf.unregisterKernel(k.kernelName, backend);
    tf.registerKernel({
      ...k,
      kernelFunc: (args) => {
        const via = stack.length ? stack[0].name : null;
        const frame = { name: k.kernelName, child: 0 };
        stack.push(frame);
        const t0 = performance.now();
        let out;
        try {
          out = k.kernelFunc(args);
        } finally {
          stack.pop();
        }
        const total = performance.now() - t0;
        if (stack.length) stack[stack.length - 1].child += total;
        const self = total - frame.child;
        const key = `${via ? `${via} > ` : ''}${describe(k.kernelName, args)}`;
        const s = stats.get(key) ?? { kernel: k.kernelName, via, detail: key, calls: 0, ms: 0 };
        s.calls++;
        s.ms += self;
        stats.set(key, s);
        return out;
      },
    });
  }
  const t0 = performance.now();
  try {
    for (let i = 0; i < steps; i++) await step(i);
  } finally {
    for (const k of kernels) {
      tf.unregisterKernel(k.kernelName, backend);
      tf.registerKernel(k);
    }
  }
  const wall = (performance.now() - t0) / steps;
  const rows = [...stats.values()].map((s) => ({ ...s, ms: s.ms / steps, calls: s.calls / steps }));
  const group = (keyOf) => {
    const m = new Map();
    for (const r of rows) {
      const key = keyOf(r);
      const g = m.get(key) ?? { name: key, calls: 0, ms: 0 };
      g.calls += r.calls;
      g.ms += r.ms;
      m.set(key, g);
    }
    return [...m.values()].sort((a, b) => b.ms - a.ms);
  };
  const kernelMs = rows.reduce((n, r) => n + r.ms, 0);
  const fmt = (r) => ({ ...r, ms: Number(r.ms.toFixed(2)), share: Number(((100 * r.ms) / wall).toFixed(1)) });
  return {
    stepMs: Number(wall.toFixed(1)),
    /** Time inside kernels; the rest is JS (tape, tidy, layer bookkeeping). */
    kernelMs: Number(kernelMs.toFixed(1)),
    /** Exclusive time by kernel, composites' inner kernels counted under their own name. */
    byKernel: group((r) => r.kernel).map(fmt),
    /** Inclusive time of each top-level kernel (a composite with everything it called). */
    byTopLevel: group((r) => r.via ?? r.kernel).map(fmt),
    byShape: rows
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top)
      .map(fmt),
  };
}

function describe(name, { inputs, attrs }) {
  const shapes = Object.entries(inputs ?? {})
    .filter(([, t]) => t?.shape)
    .map(([k, t]) => `${k}[${t.shape.join('x')}]`)
    .join(' ');
  const a = attrs ?? {};
  const s = a.strides ? ` s${[].concat(a.strides).join('x')}` : '';
  const perm = a.perm ? ` perm${a.perm.join('')}` : '';
  const reps = a.reps ? ` reps[${a.reps.join('x')}]` : '';
  return `${name} ${shapes}${s}${perm}${reps}`;
}
