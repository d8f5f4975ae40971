import * as tf from '@tensorflow/tfjs';

/** Whether tensor data lives in host memory, where reading it back is cheap (WASM, cpu). */
const onHost = () => ['wasm', 'cpu'].includes(tf.getBackend());

/**
 * The kernels of the adjoint ("transposed") convolution of a forward kernel `w` [kh, kw, inC, outC]:
 * `full()`, w rotated by 180° with its channel axes swapped ([kh, kw, outC, inC]), and for a strided
 * convolution one sub-kernel per output phase, `phase(stride, rh, rw)` (the taps of w that reach
 * rows ≡ rh and columns ≡ rw modulo the stride, see conv-adjoint.ts).
 *
 * Built lazily and kept until `dispose()`: a layer keeps one per version of its weights, since a
 * CycleGAN step back-propagates through each network several times between two updates. On host
 * backends the rearranging is a JavaScript loop (the WASM Reverse kernel is ~4× slower).
 */
export class AdjointKernels {
  private readonly w: tf.Tensor4D;
  private data: Float32Array | undefined;
  private fullKernel: tf.Tensor4D | undefined;
  private readonly phases = new Map<string, tf.Tensor4D | null>();

  constructor(w: tf.Tensor4D) {
    // A clone shares w's data: it stays valid after the variable is assigned new values.
    this.w = tf.keep(w.clone());
  }

  get shape(): readonly [number, number, number, number] {
    return this.w.shape;
  }

  full(): tf.Tensor4D {
    if (!this.fullKernel) {
      const [kh, kw] = this.w.shape;
      this.fullKernel = tf.keep(this.taps(0, 0, kh, kw, 1));
    }
    return this.fullKernel;
  }

  /**
   * The sub-kernel for output rows ≡ phase `rh` and columns ≡ `rw` (0 ≤ r < stride, counted on the
   * padded input): taps r, r + s, r + 2s, … of w, in reverse order, channels swapped. Null when no tap
   * falls in that phase (kernel smaller than the stride).
   */
  phase(stride: number, rh: number, rw: number): tf.Tensor4D | null {
    const key = `${stride}:${rh}:${rw}`;
    if (!this.phases.has(key)) {
      const [kh, kw] = this.w.shape;
      const mh = Math.ceil((kh - rh) / stride);
      const mw = Math.ceil((kw - rw) / stride);
      // Rotated index of the first tap used: k − 1 − r − (m − 1)·s.
      const kernel =
        mh > 0 && mw > 0
          ? tf.keep(
              this.taps(kh - 1 - rh - (mh - 1) * stride, kw - 1 - rw - (mw - 1) * stride, mh, mw, stride),
            )
          : null;
      this.phases.set(key, kernel);
    }
    return this.phases.get(key)!;
  }

  /** Rotated, channel-swapped taps at rotated rows a0, a0 + s, … (mh of them) and columns b0, b0 + s, … (mw). */
  private taps(a0: number, b0: number, mh: number, mw: number, s: number): tf.Tensor4D {
    const [kh, kw, ci, co] = this.w.shape;
    if (!onHost()) {
      return tf.tidy(() => {
        const rot = tf.transpose(tf.reverse(this.w, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
        return tf.stridedSlice(
          rot,
          [a0, b0, 0, 0],
          [a0 + (mh - 1) * s + 1, b0 + (mw - 1) * s + 1, co, ci],
          [s, s, 1, 1],
        ) as tf.Tensor4D;
      });
    }
    this.data ??= this.w.dataSync() as Float32Array;
    const src = this.data;
    const dst = new Float32Array(mh * mw * ci * co);
    for (let u = 0; u < mh; u++) {
      for (let v = 0; v < mw; v++) {
        // Rotated tap (a0 + u·s, b0 + v·s) is w's tap (kh − 1 − a, kw − 1 − b).
        const from = ((kh - 1 - (a0 + u * s)) * kw + (kw - 1 - (b0 + v * s))) * ci * co;
        const to = (u * mw + v) * co * ci;
        for (let i = 0; i < ci; i++)
          for (let j = 0; j < co; j++) dst[to + j * ci + i] = src[from + i * co + j]!;
      }
    }
    return tf.tensor4d(dst, [mh, mw, co, ci]);
  }

  dispose(): void {
    tf.dispose([this.w, ...(this.fullKernel ? [this.fullKernel] : [])]);
    for (const k of this.phases.values()) k?.dispose();
    this.phases.clear();
    this.fullKernel = undefined;
  }
}
