"""Iterative refinement of the noise posterior: the encoder looks at its own reconstruction and corrects it.

After the single pass of `q(z | x)`, each refinement pass t sees the target beside the current
reconstruction, `(x, G(w_t))`, and the current latent `w_t`, and moves it:

    w_{t+1} = w_t + delta(x, G(w_t), w_t)          logvar_{t+1} = head(x, G(w_t), w_t)

as ReStyle (Alaluf et al. 2021) does for StyleGAN encoders, but trained data-free: the pairs
`(x, G(w_t))` come from dreamed samples, and each pass is scored by the same beta-ELBO as the
single pass (docs/algorithms.md §2), through the frozen generator. `G(w_t)` is computed without
gradient and `w_t` is detached, so each pass learns to improve on whatever it is given.

With `gradient=True` each pass also sees the gradient of the reconstruction error with respect to
the latent, `g_t = d/dw 1/2 ||x - G(w)||^2 at w_t` (its direction, and its log norm): what an
optimiser would follow, which the image pair alone leaves the encoder to learn (the generator's
Jacobian). One backward pass through the frozen generator per refinement pass; ganinv's own
measure of what it buys is in the README.
"""

from __future__ import annotations

from typing import Callable, Optional

import torch
from torch import Tensor, nn

from ganinv.encoders import LOGVAR_MAX, LOGVAR_MIN, ConvTrunk


class RefinementEncoder(nn.Module):
    """(x, G(w_t), w_t[, g_t]) -> (delta, logvar): the correction of the noise latent and its uncertainty."""

    def __init__(
        self, image_shape: tuple[int, int, int], nz: int, width: int = 64, hidden: int = 512, gradient: bool = False
    ):
        super().__init__()
        channels, height, width_px = image_shape
        self.gradient = gradient  # the pass also sees the reconstruction error's gradient in w
        self.trunk = ConvTrunk((2 * channels, height, width_px), width, hidden)  # target and reconstruction
        extra = nz + 1 if gradient else 0  # the gradient's direction and log norm
        self.mix = nn.Sequential(nn.Linear(hidden + nz + extra, hidden), nn.LeakyReLU(0.2))
        self.out = nn.Linear(hidden, 2 * nz)
        with torch.no_grad():  # start as the identity: no correction, unit variance
            self.out.weight.zero_()
            self.out.bias.zero_()

    def forward(
        self, x: Tensor, reconstruction: Tensor, w: Tensor, grad: Optional[Tensor] = None
    ) -> tuple[Tensor, Tensor]:
        h = self.trunk(torch.cat([x, reconstruction.to(x.dtype)], dim=1))  # (B, hidden)
        inputs = [h, w.to(h.dtype)]
        if self.gradient:
            assert grad is not None, "a gradient-informed pass needs the gradient"
            norm = grad.norm(dim=1, keepdim=True)  # (B, 1)
            inputs += [(grad / (norm + 1e-8)).to(h.dtype), torch.log1p(norm).to(h.dtype)]
        delta, logvar = self.out(self.mix(torch.cat(inputs, dim=1))).chunk(2, dim=1)
        return delta, logvar.clamp(LOGVAR_MIN, LOGVAR_MAX)  # (B, nz) each


def reconstruction_and_gradient(decode: Callable[[Tensor], Tensor], x: Tensor, w: Tensor) -> tuple[Tensor, Tensor]:
    """(G(w), d/dw 1/2 ||x - G(w)||^2) per image, both detached; the generator's own weights get no gradient."""
    with torch.enable_grad():
        w = w.detach().requires_grad_(True)
        reconstruction = decode(w)  # (B, C, H, W)
        error = 0.5 * (reconstruction.float() - x.float()).pow(2).sum()  # images are independent: per-image grads
        (grad,) = torch.autograd.grad(error, w)
    return reconstruction.detach(), grad  # (B, C, H, W), (B, nz)


def refine_passes(
    refiner: RefinementEncoder, decode: Callable[[Tensor], Tensor], x: Tensor, mu: Tensor, iterations: int
) -> list[tuple[Tensor, Tensor]]:
    """`iterations` refinement passes from the single pass's mean `mu`; returns each pass's (mean, logvar).

    `decode(w)` is `G(w, c, d)` with the codes held fixed (the true codes of a dreamed sample in
    training, the posterior's at inference); it runs without gradient to the generator's weights.
    """
    passes: list[tuple[Tensor, Tensor]] = []
    w = mu
    for _ in range(iterations):
        w = w.detach()
        grad = None
        if refiner.gradient:
            reconstruction, grad = reconstruction_and_gradient(decode, x, w)
        else:
            with torch.no_grad():
                reconstruction = decode(w)  # (B, C, H, W)
        delta, logvar = refiner(x, reconstruction, w, grad)
        w = w + delta
        passes.append((w, logvar))
    return passes
