// The thesis preset: 256², ngf = ndf = 64, 9 residual blocks, batch 1 (22,756,358 / 5,529,474
// parameters). On WASM the trainer first estimates its peak memory against the 4 GiB heap: the
// result is either the step time (and the heap it reached) or the refusal it prints. The PyTorch
// anchor takes ~20-40 s per step here, hence 1 warm-up + 2 timed steps on both sides.
import { cycleganBench } from './cyclegan-64.mjs';

export default cycleganBench({ size: 256, ngf: 64, ndf: 64, blocks: 9, warmup: 1, steps: 2 });
