"""Component dropout: the masks `m` that switch MVAE components on and off (docs/algorithms.md §5, step 3).

- `gs` (MVAE-GS, Eqs. 21-23): `m_i = sigmoid((log(1-p) - log p + g1 - g2) / T)`, `g1, g2 ~ Gumbel(0, 1)`
  (**fix**: Eq. 22 prints `log(1-p)` in both terms); penalty `-H(p)`.
- `gau` (MVAE-Gau, Eqs. 18-19): `m_i ~ N(1, tau)`, `tau = p / (1-p)`, `p <= 0.5`; penalty the
  Kingma-Salimans-Welling (2015) approximation of the variational dropout KL.
- `bernoulli`: `m_i ~ Bernoulli(1-p)`, no gradient to `p`, no penalty (for comparison).
- `none`: `m = 1`, a fixed number of components.

`p` is learnable through its logit: one `p` tied across components (the paper), or one
`p_i` per component (**beyond**).
"""

from __future__ import annotations

import math
from typing import Optional

import torch
from torch import Tensor, nn

KINDS = ("gs", "gau", "bernoulli", "none")
THRESHOLDS = {"gs": 0.1, "gau": 0.8, "bernoulli": 0.5, "none": 0.5}  # keep m_i above this (MVAE Sec. V-G)
KSW = (1.16145124, -1.50204118, 0.58629921)  # c1, c2, c3 of Kingma, Salimans & Welling (2015), Eq. 19
MAX_GAU_P = 0.5  # the approximation holds for tau <= 1


def gs_mask(p_logit: Tensor, g1: Tensor, g2: Tensor, temperature: float) -> Tensor:
    """MVAE Eq. 22 with the **fix**: `sigmoid((log(1-p) - log p + g1 - g2) / T)`, `p = sigmoid(p_logit)`.

    It is the two-class Gumbel-softmax over (keep, drop) with probabilities (1-p, p); `log(1-p) - log p = -p_logit`.
    """
    return torch.sigmoid((-p_logit + g1 - g2) / temperature)


def gau_kl(tau: Tensor) -> Tensor:
    """KL(q(m) || p(m)) ~= -(0.5 log tau + c1 tau + c2 tau^2 + c3 tau^3), up to a constant (MVAE Eq. 19)."""
    c1, c2, c3 = KSW
    return -(0.5 * torch.log(tau) + c1 * tau + c2 * tau**2 + c3 * tau**3)


def bernoulli_entropy(p: Tensor) -> Tensor:
    """H(p) = -p log p - (1-p) log(1-p) (MVAE Eq. 23)."""
    return -(p * torch.log(p) + (1 - p) * torch.log1p(-p))


def gumbel(shape: tuple[int, ...], device: torch.device, generator: Optional[torch.Generator] = None) -> Tensor:
    """Gumbel(0, 1) noise, -log(Exp(1))."""
    return -torch.empty(shape, device=device).exponential_(generator=generator).log()


class ComponentDropout(nn.Module):
    def __init__(
        self, kind: str, n_components: int, per_component: bool = False, p_init: float = 0.1, temperature: float = 0.1
    ):
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"dropout must be one of {KINDS}, got {kind!r}")
        self.kind, self.n_components, self.temperature = kind, n_components, temperature
        if kind != "none":
            size = n_components if per_component else 1
            self.p_logit = nn.Parameter(torch.full((size,), math.log(p_init / (1 - p_init))))  # (1,) or (K,)

    def p(self) -> Tensor:
        """The dropout rate(s), (1,) or (K,); clamped to 0.5 for `gau`."""
        p = torch.sigmoid(self.p_logit)
        return p.clamp(max=MAX_GAU_P) if self.kind == "gau" else p

    def sample(self, batch_size: int, device: torch.device, generator: Optional[torch.Generator] = None) -> Tensor:
        """A mask per example and component, (B, K)."""
        shape = (batch_size, self.n_components)
        if self.kind == "none":
            return torch.ones(shape, device=device)
        if self.kind == "gs":
            g1, g2 = gumbel(shape, device, generator), gumbel(shape, device, generator)
            return gs_mask(self.p_logit, g1, g2, self.temperature)
        p = self.p().expand(shape)
        if self.kind == "gau":
            noise = torch.randn(shape, device=device, generator=generator)
            # Negative masks are clipped: a component cannot contribute with a negative weight.
            return (1 + (p / (1 - p)).sqrt() * noise).clamp_min(0)
        return torch.bernoulli((1 - p).detach(), generator=generator)

    def penalty(self) -> Tensor:
        """The dropout term of the loss: `-H(p)` for gs, the KL of Eq. 19 for gau, 0 otherwise; summed over the p's."""
        if self.kind == "gs":
            return -bernoulli_entropy(self.p()).sum()
        if self.kind == "gau":
            p = self.p()
            return gau_kl(p / (1 - p)).sum()
        return torch.zeros(())  # a CPU scalar adds to tensors on any device

    @torch.no_grad()
    def keep_rates(self, n_draws: int = 1000, generator: Optional[torch.Generator] = None) -> Tensor:
        """How often each component's mask is above the threshold of its kind, over `n_draws` masks, (K,)."""
        device = self.p_logit.device if self.kind != "none" else torch.device("cpu")
        masks = self.sample(n_draws, device, generator)  # (n_draws, K)
        return (masks > THRESHOLDS[self.kind]).float().mean(dim=0)
