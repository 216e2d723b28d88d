"""`ssavl`: the generator `G(z, c, d)` that `ganinv train` learns (docs/algorithms.md §6, SS-AVL Sec. 3.1).

InfoGAN-style inputs: noise `z ~ N(0, I)`, continuous codes `c ~ N(0, I)` and a one-hot
(or soft one-hot) categorical code `d` over `K` categories. `d` enters through a learned
embedding, `d @ E` with `E` (K, nz) initialised N(0, 1) as in class-conditional GANs, so
that from the start it moves the images as much as the noise does (a bare one-hot beside 62
noise dimensions carries ~1/60 of the input variance, and the generator learns to ignore
it before the MI step can make it the digit class). The concatenation `(z, c, d E)` is
mapped by a linear layer to a small feature map, then doubled in size by transposed
convolutions (BatchNorm + ReLU) up to the image, ending in Tanh. For 28-pixel MNIST with
the defaults: 136 -> 128x7x7 -> 64x14x14 -> 1x28x28, about 1M parameters (4 MB as
safetensors). InfoGAN's 1024-wide fully connected layer before the first map is option `hidden`
(off by default, to keep the model small).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
from torch import nn

from ganinv.architectures import Architecture, Built, register
from ganinv.errors import ArchitectureError
from ganinv.spec import GeneratorSpec


@dataclass
class SSAVLOptions:
    nz: int = 62  # noise size
    nc: int = 2  # continuous codes
    n_classes: int = 10  # K, categories of the categorical code
    channels: int = 1  # image channels
    resolution: int = 28  # image height = width; halved until it is at most 7 to find the first map
    width: int = 64  # channels of the last hidden map; doubled towards the first one
    # features of a fully connected layer between the codes and the first map (InfoGAN's 1024), where z, c and d
    # meet through a nonlinearity; 0: none, the codes reach the first map through one linear layer
    hidden: int = 0
    # scale applied to z inside the net, so that the prior stays N(0, I): ClusterGAN's small-variance noise (0.1),
    # which leaves the categorical code most of the first map's variance at the start, when the partition of the
    # codes forms (1: z enters as drawn)
    noise_std: float = 1.0


def start_size(resolution: int) -> tuple[int, int]:
    """(first feature map size, number of x2 upsamplings): 28 -> (7, 2), 32 -> (4, 3), 64 -> (4, 4)."""
    size, n_up = resolution, 0
    while size > 7 and size % 2 == 0:
        size, n_up = size // 2, n_up + 1
    if n_up == 0:
        raise ArchitectureError(  # was a ValueError, an internal error for `train` on 27 x 27 images (an outside audit)
            f"images of side {resolution} cannot be reached by doubling a small map, as this architecture grows them; "
            "resize them to a side such as 28, 32 or 64 first"
        )
    return size, n_up


class SSAVLNet(nn.Module):
    def __init__(self, options: SSAVLOptions):
        super().__init__()
        self.options = options
        size, n_up = start_size(options.resolution)
        channels = options.width * 2 ** (n_up - 1)
        self.first_shape = (channels, size, size)
        self.embed_d = nn.Parameter(torch.randn(options.n_classes, options.nz)) if options.n_classes else None
        n_in = options.nz + options.nc + (options.nz if options.n_classes else 0)
        first = channels * size * size
        layers: list[nn.Module] = []
        if options.hidden:  # (B, n_in) -> (B, hidden)
            layers += [nn.Linear(n_in, options.hidden), nn.BatchNorm1d(options.hidden), nn.ReLU()]
        layers += [nn.Linear(options.hidden or n_in, first), nn.BatchNorm1d(first), nn.ReLU()]
        self.fc = nn.Sequential(*layers)
        blocks: list[nn.Module] = []
        for _ in range(n_up - 1):
            blocks += [
                nn.ConvTranspose2d(channels, channels // 2, 4, stride=2, padding=1),
                nn.BatchNorm2d(channels // 2),
                nn.ReLU(),
            ]
            channels //= 2
        blocks += [nn.ConvTranspose2d(channels, options.channels, 4, stride=2, padding=1), nn.Tanh()]
        self.blocks = nn.Sequential(*blocks)

    def forward(
        self, z: torch.Tensor, c: Optional[torch.Tensor] = None, d: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        d_embedded = None
        if d is not None:
            assert self.embed_d is not None, "d is given to a generator without a categorical code"
            d_embedded = d @ self.embed_d  # (B, nz)
        if self.options.noise_std != 1.0:
            z = z * self.options.noise_std
        u = torch.cat([t for t in (z, c, d_embedded) if t is not None], dim=1)  # (B, nz + nc + nz)
        h = self.fc(u).view(u.shape[0], *self.first_shape)  # (B, C0, S, S)
        return self.blocks(h)  # (B, channels, resolution, resolution) in [-1, 1]


@register
class SSAVL(Architecture):
    channel_order = "rgb"  # ganinv's own: trained on what ganinv.data reads, RGB
    name = "ssavl"
    Options = SSAVLOptions
    summary = "generator G(z, c, d) trained by `ganinv train` (InfoGAN-style codes, WGAN-GP)"

    def build(self, options: SSAVLOptions) -> Built:
        spec = GeneratorSpec(
            nz=options.nz,
            nc=options.nc,
            n_classes=options.n_classes,
            image_shape=(options.channels, options.resolution, options.resolution),
        )
        return Built(SSAVLNet(options), spec)
