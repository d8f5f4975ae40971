#!/usr/bin/python3
"""The PyTorch anchor ACGAN (../shared/anchors/torch_acgan_train.py) at 128x128, for the cpu-128 preset.

The shared script is the 64x64 recipe; this runs it unchanged except for one more stage on each side,
as skingan's cpu-128 preset adds one: G 4x4x256 -> 4x4 stride-2 transposed convs 256, 128, 64, 32, 3
(BatchNorm + ReLU, tanh); D 4x4 stride-2 convs 32, 64, 128, 256, 256 (LeakyReLU 0.2, Dropout 0.25,
BatchNorm from the second) -> 4x4x256 -> real/fake and class heads. Images: short side -> 128 bicubic.
Same arguments as the shared script; its grid.png is drawn for 64x64 tiles (use the samples).

  /usr/bin/python3 tools/anchors/torch_acgan_train_128.py DATA_DIR --out OUT [--steps 1520] ...
  ANCHORS=../shared/anchors (default: the shared folder beside this repository)
"""
import os
import sys

import torch.nn as nn

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.environ.get("ANCHORS", os.path.join(here, "..", "..", "..", "shared", "anchors")))
import torch_acgan_train as t  # noqa: E402


class ACGen128(nn.Module):
    def __init__(self, nz, C, ngf):
        super().__init__()
        self.ngf = ngf
        self.emb = nn.Embedding(C, nz)
        self.fc = nn.Linear(nz * 2, 4 * 4 * ngf * 8)
        bn_rl = lambda c: [nn.BatchNorm2d(c), nn.ReLU(True)]  # noqa: E731
        up = lambda ci, co: [nn.ConvTranspose2d(ci, co, 4, 2, 1), *bn_rl(co)]  # noqa: E731
        self.net = nn.Sequential(*bn_rl(ngf * 8), *up(ngf * 8, ngf * 8), *up(ngf * 8, ngf * 4),
                                 *up(ngf * 4, ngf * 2), *up(ngf * 2, ngf),
                                 nn.ConvTranspose2d(ngf, 3, 4, 2, 1), nn.Tanh())

    forward = t.ACGen.forward


class ACDisc128(nn.Module):
    def __init__(self, C, ndf):
        super().__init__()
        blk = lambda ci, co, bn: [nn.Conv2d(ci, co, 4, 2, 1)] + ([nn.BatchNorm2d(co)] if bn else []) + \
            [nn.LeakyReLU(0.2, True), nn.Dropout(0.25)]  # noqa: E731
        self.net = nn.Sequential(*blk(3, ndf, False), *blk(ndf, ndf * 2, True), *blk(ndf * 2, ndf * 4, True),
                                 *blk(ndf * 4, ndf * 8, True), *blk(ndf * 8, ndf * 8, True))
        self.adv = nn.Linear(4 * 4 * ndf * 8, 1)
        self.aux = nn.Linear(4 * 4 * ndf * 8, C)

    forward = t.ACDisc.forward


load64 = t.load
t.load = lambda d, ids=None, size=128: load64(d, ids, size)
t.ACGen, t.ACDisc = ACGen128, ACDisc128

if __name__ == "__main__":
    t.main()
