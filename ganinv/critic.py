"""The WGAN-GP critic `D(x)` of the wake phase (docs/algorithms.md §6, SS-AVL Eq. 5).

The encoders' convolutional trunk (stride-2 convolutions with LeakyReLU, no normalisation,
as the gradient penalty asks) followed by one linear output: an unbounded score per image.
"""

from __future__ import annotations

import torch
from torch import nn

from ganinv.encoders import ConvTrunk


class Critic(nn.Module):
    def __init__(self, image_shape: tuple[int, int, int], width: int = 64, hidden: int = 512):
        super().__init__()
        self.trunk = ConvTrunk(image_shape, width, hidden)
        self.score = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.score(self.trunk(x)).squeeze(1)  # (B, C, H, W) -> (B,)
