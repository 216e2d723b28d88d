"""The WGAN-GP critic `D(x)` of the wake phase (docs/algorithms.md §6, SS-AVL Eq. 5).

The encoders' convolutional trunk (stride-2 convolutions with LeakyReLU, no normalisation,
as the gradient penalty asks) followed by one linear output: an unbounded score per image.
With `n_classes` or `nc`, it also carries InfoGAN's Q: code heads on the same trunk, whose
features the critic shapes on real images (`codes`, used by the MI step when asked).
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from ganinv.encoders import CodeHeads, ConvTrunk


class Critic(nn.Module):
    def __init__(
        self, image_shape: tuple[int, int, int], width: int = 64, hidden: int = 512, n_classes: int = 0, nc: int = 0
    ):
        super().__init__()
        self.trunk = ConvTrunk(image_shape, width, hidden)
        self.score = nn.Linear(hidden, 1)
        self.q: Optional[CodeHeads] = CodeHeads(hidden, n_classes, nc) if n_classes or nc else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.score(self.trunk(x)).squeeze(1)  # (B, C, H, W) -> (B,)

    def codes(self, x: torch.Tensor):
        """InfoGAN's Q on the critic's trunk: (B, C, H, W) -> (logits_d, mu_c, logvar_c), as CodeEncoder."""
        assert self.q is not None, "a critic built with code heads (n_classes or nc)"
        return self.q(self.trunk(x))
