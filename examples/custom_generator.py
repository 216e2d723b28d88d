"""Bring your own generator class: a `module:callable` source returning (module, GeneratorSpec).

    uv run ganinv sample -g examples.custom_generator:make_generator -n 16 --out custom.png
    uv run ganinv fit -g examples.custom_generator:make_generator --steps 100 --out runs/custom

(run from the repository root so that `examples` is importable). The native module is called as
`net(z, c, d)` with `z` in its native prior and shape; here a U(-1, 1) latent of shape (nz, 1, 1)
and a [0, 1] output, which the contract turns into N(0, I) latents and [-1, 1] images.
"""

import torch
from torch import nn

from ganinv.spec import GeneratorSpec


class TinyDeconv(nn.Module):
    def __init__(self, nz: int = 16):
        super().__init__()
        self.net = nn.Sequential(
            nn.ConvTranspose2d(nz, 64, 7),
            nn.BatchNorm2d(64),
            nn.ReLU(),  # (B, 64, 7, 7)
            nn.ConvTranspose2d(64, 32, 4, 2, 1),
            nn.BatchNorm2d(32),
            nn.ReLU(),  # (B, 32, 14, 14)
            nn.ConvTranspose2d(32, 1, 4, 2, 1),
            nn.Sigmoid(),  # (B, 1, 28, 28) in [0, 1]
        )

    def forward(self, z, c=None, d=None):
        return self.net(z)


def make_generator(nz: int = 16):
    torch.manual_seed(0)  # untrained weights, seeded: a stand-in for your own checkpoint
    spec = GeneratorSpec(
        nz=int(nz),
        image_shape=(1, 28, 28),
        native_prior="uniform",
        native_prior_range=(-1, 1),
        native_latent_shape=(int(nz), 1, 1),
        native_output_range=(0, 1),
    )
    return TinyDeconv(int(nz)), spec
