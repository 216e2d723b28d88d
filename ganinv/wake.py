"""The steps of SS-AVL Algorithm 1 with data (docs/algorithms.md §6).

- `critic_step`: WGAN-GP critic update, SS-AVL Eq. 5 / Eq. 22 (`n_critic` of them per generator step);
- `generator_step`: the generator update of Eq. 23, `-E[D(G(z, c, d))]`;
- `mi_step`: the mutual-information step of Eq. 24: `G` and `q_omega(d, c | x)` maximise
  `log q_omega(d~ | x') + log q_omega(c~ | x')` on fresh samples `x' = G(z~, c~, d~)`;
- `dreaming_step`: docs/algorithms.md §2 (Eqs. 25, 26) on both encoders, with `G` frozen for the step.

Each step takes its modules and optimiser, does one update, and returns its losses as
detached scalar tensors (no host synchronisation).
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator, Optional

import torch
from torch import Tensor, nn

from ganinv import losses
from ganinv.dreaming import DreamingConfig, DreamingLosses, dreaming_loss
from ganinv.generator import Generator
from ganinv.inverter import Inverter
from ganinv.spec import Latents


@contextlib.contextmanager
def frozen(module: nn.Module) -> Iterator[nn.Module]:
    """Parameters of `module` take no gradient inside the block (inputs still do)."""
    flags = [p.requires_grad for p in module.parameters()]
    module.requires_grad_(False)
    try:
        yield module
    finally:
        for p, flag in zip(module.parameters(), flags):
            p.requires_grad_(flag)


def gradient_penalty(
    critic: nn.Module, real: Tensor, fake: Tensor, generator: Optional[torch.Generator] = None
) -> Tensor:
    """`E[(||grad D(x^)||_2 - 1)^2]`, `x^ = a x + (1 - a) x'`, `a ~ U(0, 1)` per image (SS-AVL Eq. 5)."""
    alpha = torch.rand(real.shape[0], 1, 1, 1, generator=generator, device=real.device)  # (B, 1, 1, 1)
    mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)  # (B, C, H, W)
    (grad,) = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
    return (grad.flatten(1).norm(dim=1) - 1).square().mean()


def critic_step(
    critic: nn.Module, generator: Generator, real: Tensor, optimizer: torch.optim.Optimizer, gp_weight: float = 10.0
) -> dict[str, Tensor]:
    """Maximise `E[D(x)] - E[D(G(u))]` under the gradient penalty: minimise Eq. 22 + lambda * GP."""
    with torch.no_grad():
        fake = generator.decode(generator.sample_latents(real.shape[0]))  # (B, C, H, W)
    wasserstein = critic(real).mean() - critic(fake).mean()
    penalty = gradient_penalty(critic, real, fake)
    loss = -wasserstein + gp_weight * penalty
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return {"critic_loss": loss.detach(), "wasserstein": wasserstein.detach(), "gp": penalty.detach()}


def generator_step(
    critic: nn.Module, generator: Generator, batch_size: int, optimizer: torch.optim.Optimizer
) -> dict[str, Tensor]:
    """Minimise `-E[D(G(z, c, d))]` over the generator (SS-AVL Eq. 23); the critic does not move."""
    fake = generator.decode(generator.sample_latents(batch_size))
    with frozen(critic):
        loss = -critic(fake).mean()
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return {"generator_loss": loss.detach()}


CodeModel = Callable[[Tensor], Any]  # x -> (logits_d, mu_c, logvar_c), each None when the generator lacks it


def code_recovery_loss(
    q: CodeModel,
    latents: Latents,
    images: Tensor,
    lambda_d: float = 1.0,
    lambda_c: float = 1.0,
    fixed_code_variance: bool = False,
) -> Tensor:
    """`-lambda_d log q_omega(d~ | x') - lambda_c log q_omega(c~ | x')`: minus the MI bound of SS-AVL Eq. 21
    (the constant entropy H(u) dropped). `q`: the inverter's code encoder, or the critic's `codes` (InfoGAN's Q).
    `fixed_code_variance`: `q(c|x)` taken with unit variance (InfoGAN's reimplementations), so the term on `c` is
    half the squared error, whose pull on G does not fade as q widens its variance."""
    logits_d, mu_c, logvar_c = q(images)
    if fixed_code_variance and logvar_c is not None:
        logvar_c = torch.zeros_like(logvar_c)
    loss = images.new_zeros(())
    if logits_d is not None:
        assert latents.d is not None, "a generator with classes draws d"
        loss = loss + lambda_d * losses.categorical_code_nll(latents.d, logits_d)
    if mu_c is not None and logvar_c is not None:
        assert latents.c is not None, "a generator with codes c draws them"
        loss = loss + lambda_c * losses.gaussian_code_nll(latents.c, mu_c, logvar_c)
    return loss


def mi_step(
    generator: Generator,
    q: CodeModel,
    batch_size: int,
    generator_optimizer: torch.optim.Optimizer,
    q_optimizer: torch.optim.Optimizer,
    lambda_d: float = 1.0,
    lambda_c: float = 1.0,
    fixed_code_variance: bool = False,
) -> dict[str, Tensor]:
    """SS-AVL Eq. 24: one step of `G` and `q_omega(d, c | x)` on the code-recovery loss of fresh samples
    (`q_optimizer` holds q's parameters: the inverter's, or the critic's for InfoGAN's shared Q)."""
    latents = generator.sample_latents(batch_size)
    images = generator.decode(latents)
    loss = code_recovery_loss(q, latents, images, lambda_d, lambda_c, fixed_code_variance)
    generator_optimizer.zero_grad(set_to_none=True)
    q_optimizer.zero_grad(set_to_none=True)
    loss.backward()
    generator_optimizer.step()
    q_optimizer.step()
    return {"mi_loss": loss.detach()}


def dreaming_step(
    generator: Generator,
    inverter: Inverter,
    batch_size: int,
    temperature: float,
    config: DreamingConfig,
    optimizer: torch.optim.Optimizer,
) -> DreamingLosses:
    """docs/algorithms.md §2 (SS-AVL Eqs. 25, 26): both encoders fit fresh samples of the current `G`, which is
    frozen."""
    latents = generator.sample_latents(batch_size)
    with torch.no_grad():
        images = generator.decode(latents)  # (B, C, H, W)
    with frozen(generator):
        terms = dreaming_loss(generator, inverter, latents, images, temperature, config)
        optimizer.zero_grad(set_to_none=True)
        terms.total.backward()
    optimizer.step()
    return DreamingLosses(**{k: v.detach() for k, v in terms.as_dict().items()})
