// One CycleGAN training step at 128², ngf = ndf = 32, 3 residual blocks, batch 1, as
// `torch_reference.py --setup cyclegan --size 128 --ngf 32 --ndf 32 --blocks 3` (2,159,110 / 1,388,482
// parameters). See cyclegan-64.mjs.
import { cycleganBench } from './cyclegan-64.mjs';

export default cycleganBench({ size: 128, ngf: 32, ndf: 32, blocks: 3 });
