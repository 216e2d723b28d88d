"""The terms of the data-free beta-ELBO (docs/algorithms.md §2; SS-AVL Eqs. 9, 10, 12, 24-27).

Each function returns a scalar: summed over the dimensions of one example and averaged
over the batch, the convention of docs/algorithms.md §2. Everything is computed in float32 so the
terms stay accurate under bf16 autocast.
"""

from __future__ import annotations

import math
from typing import Optional

import torch


def gaussian_nll(x: torch.Tensor, x_hat: torch.Tensor, sigma_x: float) -> torch.Tensor:
    """-log p(x | x_hat) for the observation model N(x_hat, sigma_x^2 I) (docs/algorithms.md §2, step 5).

    `||x - x_hat||^2 / (2 sigma_x^2) + (D/2) log(2 pi sigma_x^2)`, D = C*H*W, on the [-1, 1] scale.
    """
    x, x_hat = x.float().flatten(1), x_hat.float().flatten(1)  # (B, D)
    squared_error = (x - x_hat).square().sum(dim=1)  # (B,)
    log_norm = 0.5 * x.shape[1] * math.log(2 * math.pi * sigma_x**2)
    return (squared_error / (2 * sigma_x**2)).mean() + log_norm


def at_least_float32(t: torch.Tensor) -> torch.Tensor:
    """bf16/fp16 (autocast) in float32; float64 stays (the exactness tests of the bounds run in it)."""
    return t if t.dtype in (torch.float32, torch.float64) else t.float()


def kl_normal_to_standard_each(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag(exp(logvar))) || N(0, I)) = 0.5 sum_j (mu_j^2 + sigma_j^2 - log sigma_j^2 - 1), (B,).

    The sign as in SS-AVL Eqs. 9 and 12 (MVAE Eq. 27 prints the negative, a typo).
    """
    mu, logvar = at_least_float32(mu), at_least_float32(logvar)
    return 0.5 * (mu.square() + logvar.exp() - logvar - 1).sum(dim=1)


def kl_categorical_to_uniform_each(logits: torch.Tensor) -> torch.Tensor:
    """KL(Cat(softmax(logits)) || Cat(1/K)) = sum_k p_k log p_k + log K (SS-AVL Eq. 9), (B,)."""
    log_p = at_least_float32(logits).log_softmax(dim=1)  # (B, K)
    return (log_p.exp() * log_p).sum(dim=1) + math.log(logits.shape[1])


def kl_normal_to_standard(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """`kl_normal_to_standard_each`, averaged over the batch."""
    return kl_normal_to_standard_each(mu, logvar).mean()


def kl_categorical_to_uniform(logits: torch.Tensor) -> torch.Tensor:
    """`kl_categorical_to_uniform_each`, averaged over the batch."""
    return kl_categorical_to_uniform_each(logits).mean()


def gumbel_softmax_sample(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """A relaxed one-hot sample of q(d | x), differentiable in the logits (SS-AVL Eq. 10).

    `d_k = softmax((log a_k + g_k) / T)` with `g_k ~ Gumbel(0, 1)`; `log_softmax(logits)`
    and `logits` differ by a constant per row, which the softmax ignores.
    """
    gumbel = -torch.empty_like(logits).exponential_().log()  # -log(Exp(1)) ~ Gumbel(0, 1)
    return ((logits + gumbel) / temperature).softmax(dim=1)  # (B, K)


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """z = mu + sigma * eps, eps ~ N(0, I): a sample of a diagonal Gaussian, differentiable in (mu, logvar)."""
    eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
    return mu + (0.5 * logvar).exp() * eps


def gaussian_code_nll(target: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """-log q(target | x) for a diagonal Gaussian posterior: the code-recovery term for `c`
    (SS-AVL Eq. 24, docs/algorithms.md §2 step 6) and the noise-recovery term for `z` (**beyond**).

    `0.5 sum_j ((t_j - mu_j)^2 / sigma_j^2 + log sigma_j^2 + log 2 pi)`.
    """
    target, mu, logvar = target.float(), mu.float(), logvar.float()
    per_dim = (target - mu).square() * (-logvar).exp() + logvar + math.log(2 * math.pi)
    return 0.5 * per_dim.sum(dim=1).mean()


def categorical_code_nll(target: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """-log q(d~ | x) = -sum_k d~_k log softmax(logits)_k: the code-recovery term for `d`
    (SS-AVL Eq. 24, docs/algorithms.md §2 step 6); `target` a one-hot (or soft) (B, K)."""
    return -(target.float() * logits.float().log_softmax(dim=1)).sum(dim=1).mean()
