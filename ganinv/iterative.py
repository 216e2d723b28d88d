"""Iterative refinement of the noise posterior: the encoder looks at its own reconstruction and corrects it.

After the single pass of `q(z | x)`, each refinement pass t sees the target beside the current
reconstruction, `(x, G(w_t))`, and the current latent `w_t`, and moves it:

    w_{t+1} = w_t + delta(x, G(w_t), w_t)          logvar_{t+1} = head(x, G(w_t), w_t)

as ReStyle (Alaluf et al. 2021) does for StyleGAN encoders, but trained data-free: the pairs
`(x, G(w_t))` come from dreamed samples, and each pass is scored by the same beta-ELBO as the
single pass (docs/algorithms.md §2), through the frozen generator. `G(w_t)` is computed without
gradient and `w_t` is detached, so each pass learns to improve on whatever it is given.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor, nn

from ganinv.encoders import LOGVAR_MAX, LOGVAR_MIN, ConvTrunk


class RefinementEncoder(nn.Module):
    """(x, G(w_t), w_t) -> (delta, logvar): the correction of the noise latent and its uncertainty."""

    def __init__(self, image_shape: tuple[int, int, int], nz: int, width: int = 64, hidden: int = 512):
        super().__init__()
        channels, height, width_px = image_shape
        self.trunk = ConvTrunk((2 * channels, height, width_px), width, hidden)  # target and reconstruction
        self.mix = nn.Sequential(nn.Linear(hidden + nz, hidden), nn.LeakyReLU(0.2))
        self.out = nn.Linear(hidden, 2 * nz)
        with torch.no_grad():  # start as the identity: no correction, unit variance
            self.out.weight.zero_()
            self.out.bias.zero_()

    def forward(self, x: Tensor, reconstruction: Tensor, w: Tensor) -> tuple[Tensor, Tensor]:
        h = self.trunk(torch.cat([x, reconstruction.to(x.dtype)], dim=1))  # (B, hidden)
        delta, logvar = self.out(self.mix(torch.cat([h, w.to(h.dtype)], dim=1))).chunk(2, dim=1)
        return delta, logvar.clamp(LOGVAR_MIN, LOGVAR_MAX)  # (B, nz) each


def refine_passes(
    refiner: RefinementEncoder, decode: Callable[[Tensor], Tensor], x: Tensor, mu: Tensor, iterations: int
) -> list[tuple[Tensor, Tensor]]:
    """`iterations` refinement passes from the single pass's mean `mu`; returns each pass's (mean, logvar).

    `decode(w)` is `G(w, c, d)` with the codes held fixed (the true codes of a dreamed sample in
    training, the posterior's at inference); it runs without gradient.
    """
    passes: list[tuple[Tensor, Tensor]] = []
    w = mu
    for _ in range(iterations):
        w = w.detach()
        with torch.no_grad():
            reconstruction = decode(w)  # (B, C, H, W)
        delta, logvar = refiner(x, reconstruction, w)
        w = w + delta
        passes.append((w, logvar))
    return passes
