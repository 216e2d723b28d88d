"""The MVAE-only loss terms (docs/algorithms.md §5, step 6; MVAE Eqs. 15, 28, 29).

The Gaussian KL of each component is `ganinv.losses.kl_normal_to_standard` (docs/algorithms.md §2,
the **fix** of MVAE Eq. 27). Each function returns a scalar averaged over the batch.
"""

from __future__ import annotations

import torch
from torch import Tensor


def reconstruction_loss(x: Tensor, x_hat: Tensor) -> Tensor:
    """L_rec = 0.5 * sum over pixels of (x_hat - x)^2, mean over the batch (MVAE Eq. 29)."""
    return 0.5 * (x_hat.float() - x.float()).square().flatten(1).sum(dim=1).mean()


def dirichlet_kl(a: Tensor, b: Tensor | None = None) -> Tensor:
    """KL(Dir(a) || Dir(b)) (MVAE Eq. 28), a: (B, K) concentrations; b: (K,) or (B, K), default ones.

    `lgamma(a0) - sum lgamma(a_i) - lgamma(b0) + sum lgamma(b_i) + sum (a_i - b_i)(digamma(a_i) - digamma(a0))`.
    """
    a = a.float()
    b = torch.ones_like(a) if b is None else b.float().expand_as(a)
    a0, b0 = a.sum(dim=1), b.sum(dim=1)  # (B,)
    kl = (
        torch.lgamma(a0)
        - torch.lgamma(a).sum(dim=1)
        - torch.lgamma(b0)
        + torch.lgamma(b).sum(dim=1)
        + ((a - b) * (torch.digamma(a) - torch.digamma(a0).unsqueeze(1))).sum(dim=1)
    )
    return kl.mean()


def gaussian_kernel_matrix(z: Tensor) -> Tensor:
    """z: (B, L) -> the (B, B) Gaussian kernel matrix `exp(-||z_a - z_b||^2 / (2 h^2))`.

    Bandwidth by the median heuristic of Pfister et al.'s dHSIC package, `h^2 = median(||z_a - z_b||^2) / 2`
    over the pairs a < b, held constant for the gradient.
    """
    squared = torch.cdist(z.float(), z.float()).square()  # (B, B)
    rows, cols = torch.triu_indices(z.shape[0], z.shape[0], offset=1, device=z.device)
    bandwidth_sq = 0.5 * squared[rows, cols].median().detach().clamp_min(1e-12)
    return torch.exp(-squared / (2 * bandwidth_sq))


def dhsic(latents: list[Tensor]) -> Tensor:
    """dHSIC(z_1, ..., z_K) (Pfister et al. 2018; MVAE Eq. 15), the V-statistic over a batch.

    With `K^j` the kernel matrix of `z_j`:
    `mean_ab(prod_j K^j_ab) + prod_j mean_ab(K^j_ab) - 2 mean_a(prod_j mean_b K^j_ab)`.
    Zero iff the z_j are jointly independent (in the population), and `>= 0`.
    """
    kernels = torch.stack([gaussian_kernel_matrix(z) for z in latents])  # (K, B, B)
    joint = kernels.prod(dim=0).mean()
    product = kernels.mean(dim=(1, 2)).prod()
    cross = kernels.mean(dim=2).prod(dim=0).mean()  # mean_a prod_j mean_b K^j_ab
    return joint + product - 2 * cross
