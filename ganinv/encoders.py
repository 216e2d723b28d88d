"""The inference networks of the dreaming phase (docs/algorithms.md §2), sized from a `GeneratorSpec`.

- `LatentEncoder`, `q_xi(z | x)`: a diagonal Gaussian over the generator's noise.
- `CodeEncoder`, `q_omega(d, c | x)`: one trunk, two heads: logits over the `K`
  categories of `d`, and a diagonal Gaussian over the continuous codes `c`.

Both share the same convolutional trunk design: stride-2 convolutions halve the image
until it is at most 4x4, doubling the channels (capped at 8x width), then a linear layer.
Any image size from 16 pixels up works, with 1 or 3 channels.
"""

from __future__ import annotations

import math

import torch
from torch import nn

LOGVAR_MIN, LOGVAR_MAX = -12.0, 6.0


class ConvTrunk(nn.Module):
    def __init__(self, image_shape: tuple[int, int, int], width: int = 64, hidden: int = 512):
        super().__init__()
        channels, height, _ = image_shape
        layers: list[nn.Module] = []
        c_in, c_out, size = channels, width, height
        while size > 4:
            layers += [nn.Conv2d(c_in, c_out, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
            size = math.ceil(size / 2)
            c_in, c_out = c_out, min(c_out * 2, width * 8)
        self.convs = nn.Sequential(*layers)
        with torch.no_grad():
            flat = self.convs(torch.zeros(1, *image_shape)).numel()
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(flat, hidden), nn.LeakyReLU(0.2))
        self.out_features = hidden

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.convs(x))  # (B, C, H, W) -> (B, hidden)


class GaussianHead(nn.Module):
    """Linear map to the mean and log-variance of a diagonal Gaussian."""

    def __init__(self, in_features: int, dim: int):
        super().__init__()
        self.linear = nn.Linear(in_features, 2 * dim)

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.linear(h).chunk(2, dim=1)
        return mu, logvar.clamp(LOGVAR_MIN, LOGVAR_MAX)  # (B, dim) each


class LatentEncoder(nn.Module):
    """q_xi(z | x): image -> (mu_z, logvar_z)."""

    def __init__(self, image_shape: tuple[int, int, int], nz: int, width: int = 64, hidden: int = 512):
        super().__init__()
        self.trunk = ConvTrunk(image_shape, width, hidden)
        self.head = GaussianHead(hidden, nz)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.head(self.trunk(x))


class CodeHeads(nn.Module):
    """The heads of q_omega(d, c | x) on trunk features: h -> (logits_d or None, mu_c or None, logvar_c or None)."""

    def __init__(self, hidden: int, n_classes: int, nc: int):
        super().__init__()
        self.add_heads(hidden, n_classes, nc)

    def add_heads(self, hidden: int, n_classes: int, nc: int) -> None:
        self.logits = nn.Linear(hidden, n_classes) if n_classes else None
        self.code = GaussianHead(hidden, nc) if nc else None

    def forward(self, h: torch.Tensor):
        logits = self.logits(h) if self.logits is not None else None  # (B, K)
        mu_c, logvar_c = self.code(h) if self.code is not None else (None, None)  # (B, nc)
        return logits, mu_c, logvar_c


class CodeEncoder(CodeHeads):
    """q_omega(d, c | x): image -> (logits_d or None, mu_c or None, logvar_c or None)."""

    def __init__(self, image_shape: tuple[int, int, int], n_classes: int, nc: int, width: int = 64, hidden: int = 512):
        nn.Module.__init__(self)  # the trunk first: parameters drawn in the order they always were (seeded fits repeat)
        self.trunk = ConvTrunk(image_shape, width, hidden)
        self.add_heads(hidden, n_classes, nc)

    def forward(self, x: torch.Tensor):
        return super().forward(self.trunk(x))
