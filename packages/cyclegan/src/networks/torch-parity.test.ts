import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, Rng } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { worstMismatch } from '../test-utils/grad-check.js';
import { initNormal } from './init.js';
import { createPatchDiscriminator } from './patch-discriminator.js';
import { createResnetGenerator } from './resnet-generator.js';

// The networks of ../shared/anchors/torch_reference.py (the authors' architecture), rebuilt here
// because that script trains on import. Weights come from tfjs (NHWC, [kh, kw, in, out]) and are
// permuted to PyTorch's layouts; outputs go back as NHWC.
const PYTHON = `
import json, sys, torch, torch.nn as nn
class ResBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.b = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3), nn.InstanceNorm2d(c), nn.ReLU(True),
                               nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3), nn.InstanceNorm2d(c))
    def forward(self, x):
        return x + self.b(x)
def resnet_g(ngf, n_blocks):
    L = [nn.ReflectionPad2d(3), nn.Conv2d(3, ngf, 7), nn.InstanceNorm2d(ngf), nn.ReLU(True),
         nn.Conv2d(ngf, ngf * 2, 3, 2, 1), nn.InstanceNorm2d(ngf * 2), nn.ReLU(True),
         nn.Conv2d(ngf * 2, ngf * 4, 3, 2, 1), nn.InstanceNorm2d(ngf * 4), nn.ReLU(True)]
    L += [ResBlock(ngf * 4) for _ in range(n_blocks)]
    L += [nn.ConvTranspose2d(ngf * 4, ngf * 2, 3, 2, 1, output_padding=1), nn.InstanceNorm2d(ngf * 2), nn.ReLU(True),
          nn.ConvTranspose2d(ngf * 2, ngf, 3, 2, 1, output_padding=1), nn.InstanceNorm2d(ngf), nn.ReLU(True),
          nn.ReflectionPad2d(3), nn.Conv2d(ngf, 3, 7), nn.Tanh()]
    return nn.Sequential(*L)
def patch_d(ndf):
    lr = lambda: nn.LeakyReLU(0.2, True)
    return nn.Sequential(nn.Conv2d(3, ndf, 4, 2, 1), lr(),
                         nn.Conv2d(ndf, ndf * 2, 4, 2, 1), nn.InstanceNorm2d(ndf * 2), lr(),
                         nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1), nn.InstanceNorm2d(ndf * 4), lr(),
                         nn.Conv2d(ndf * 4, ndf * 8, 4, 1, 1), nn.InstanceNorm2d(ndf * 8), lr(),
                         nn.Conv2d(ndf * 8, 1, 4, 1, 1))
spec = json.load(open(sys.argv[1]))
out = {}
for name, net in (('g', resnet_g(spec['ngf'], spec['blocks'])), ('d', patch_d(spec['ndf']))):
    convs = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    ws = spec[name + 'Weights']
    assert len(ws) == 2 * len(convs)
    with torch.no_grad():
        for i, m in enumerate(convs):
            k, b = ws[2 * i], ws[2 * i + 1]
            # tfjs kernels: conv [kh, kw, in, out] -> torch [out, in, kh, kw]; transposed conv
            # [kh, kw, out, in] -> torch [in, out, kh, kw]: the same permutation.
            m.weight.copy_(torch.tensor(k['values']).reshape(k['shape']).permute(3, 2, 0, 1))
            m.bias.copy_(torch.tensor(b['values']))
        x = torch.tensor(spec['input']['values']).reshape(spec['input']['shape']).permute(0, 3, 1, 2)
        y = net(x).permute(0, 2, 3, 1)
    out[name] = {'shape': list(y.shape), 'values': y.flatten().tolist()}
json.dump(out, open(sys.argv[2], 'w'))
`;

const python = '/usr/bin/python3';
const torchMissing = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' }).status !== 0;
let dir = '';

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
  dir = mkdtempSync(join(tmpdir(), 'cyclegan-parity-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const dump = (t: tf.Tensor) => ({ shape: t.shape, values: Array.from(t.dataSync()) });

describe.skipIf(torchMissing)(
  'parity with the PyTorch reference networks (needs /usr/bin/python3 with torch)',
  () => {
    it('generator and PatchGAN outputs equal PyTorch’s for the same weights and input', () => {
      const cfg = { ngf: 4, ndf: 4, blocks: 2 };
      const g = createResnetGenerator(cfg);
      const d = createPatchDiscriminator(cfg);
      // Larger than the training init, so every layer visibly shapes the output.
      initNormal(g, new Rng(1), 0.3);
      initNormal(d, new Rng(2), 0.3);
      const rng = new Rng(3);
      for (const m of [g, d]) {
        for (const w of m.weights.filter((w) => w.originalName.endsWith('/bias'))) {
          const b = rng.normalTensor(w.shape as number[], 0, 0.1);
          w.write(b);
          b.dispose();
        }
      }
      // 36×44: not square, and not a power of two.
      const x = rng.uniformTensor([2, 36, 44, 3], -1, 1) as tf.Tensor4D;
      const spec = {
        ...cfg,
        gWeights: g.weights.map((w) => dump(w.read())),
        dWeights: d.weights.map((w) => dump(w.read())),
        input: dump(x),
      };
      writeFileSync(join(dir, 'in.json'), JSON.stringify(spec));
      const r = spawnSync(python, ['-c', PYTHON, join(dir, 'in.json'), join(dir, 'out.json')], {
        encoding: 'utf8',
      });
      expect(r.status, r.stderr).toBe(0);
      const ref = JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8')) as Record<
        'g' | 'd',
        { shape: number[]; values: number[] }
      >;
      tf.tidy(() => {
        const yg = g.apply(x) as tf.Tensor;
        const yd = d.apply(x) as tf.Tensor;
        expect(yg.shape).toEqual(ref.g.shape);
        expect(yd.shape).toEqual(ref.d.shape);
        expect(worstMismatch(yg.dataSync(), ref.g.values, 1e-4, 1e-3)).toBeLessThan(1);
        expect(worstMismatch(yd.dataSync(), ref.d.values, 1e-4, 1e-3)).toBeLessThan(1);
      });
      tf.dispose(x);
      g.dispose();
      d.dispose();
    });
  },
);
