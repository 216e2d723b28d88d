"""One dreaming step's loss: fit the encoders to the frozen generator's own samples (docs/algorithms.md §2).

The caller draws latents from the priors and makes `x' = G(latents)` without gradient (step 1);
`dreaming_loss` does steps 2-6 and returns every term, `total` being what is backpropagated.
Used by `ganinv fit` (frozen pretrained generator) and by the wake-phase trainer (docs/algorithms.md §6).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, cast

import torch
from torch import Tensor

from ganinv import losses
from ganinv.config_checks import check_config, checked
from ganinv.spec import Latents

if TYPE_CHECKING:
    from ganinv.inverter import Inverter


# sigma_x on the [-1, 1] scale: below 1e-4 its Gaussian log-density underflows (log 0), above 1e3 it means nothing
SIGMA_X_RANGE = (1e-4, 1e3)


@dataclass
class DreamingConfig:
    beta: float = checked(1.0, flag="--beta", min=0)  # weight of the KL terms (SS-AVL Eq. 27)
    # Observation std on the [-1, 1] scale. 0.1 puts the reconstruction term (~50 x squared error)
    # well above the KL (~nz nats), so the encoder is pushed to reconstruct precisely, which is what
    # inversion is for; a calibrated sigma (the reachable RMS error, ~0.3 on MNIST) lets the KL blur
    # the posterior means towards 0 and reconstructions towards the average digit.
    sigma_x: float = checked(0.1, flag="--sigma-x", min=SIGMA_X_RANGE[0], max=SIGMA_X_RANGE[1])
    lambda_mi: float = checked(
        1.0, flag="--lambda-mi", min=0
    )  # code-recovery weight, -log q(d~, c~ | x') (docs/algorithms.md §2, step 6)
    lambda_z: float = checked(0.0, flag="--lambda-z", min=0)  # noise-recovery weight, -log q(z~ | x') (beyond)
    tau_start: float = checked(1.0, min=0, min_open=True)  # Gumbel-softmax temperature at step 0 (SS-AVL Eq. 10)
    tau_end: float = checked(0.5, min=0, min_open=True)  # ... and at the last step, annealed geometrically

    def __post_init__(self) -> None:
        check_config(self, section="dreaming")


@dataclass
class DreamingLosses:
    """Scalar tensors; zeros where a term does not apply (no codes, non-differentiable codes)."""

    total: Tensor  # what gets backpropagated
    rec_z: Tensor  # -log p(x' | G(z, c~, d~)), z ~ q(z|x')          (SS-AVL Eq. 12)
    kl_z: Tensor  # KL(q(z|x') || N(0, I))
    rec_u: Tensor  # -log p(x' | G(z~, c, d)), (d, c) ~ q(d, c|x')  (SS-AVL Eq. 9)
    kl_d: Tensor  # KL(q(d|x') || Cat(1/K))
    kl_c: Tensor  # KL(q(c|x') || N(0, I))
    mi: Tensor  # -log q(d~|x') - log q(c~|x')                   (SS-AVL Eq. 24)
    z_recovery: Tensor  # -log q(z~|x')                                 (beyond)
    refine: Tensor  # the L_xi terms of the refinement passes, averaged (ganinv.iterative; beyond)

    def as_dict(self) -> dict[str, Tensor]:
        return dict(vars(self))


def temperature_at(step: int, total_steps: int, config: DreamingConfig) -> float:
    """Gumbel-softmax temperature, from `tau_start` to `tau_end` geometrically over the run
    (the exponential annealing of Jang et al. 2017, cited by SS-AVL for Eq. 10)."""
    progress = min(max(step / max(total_steps - 1, 1), 0.0), 1.0)
    return config.tau_start * math.exp(progress * math.log(config.tau_end / config.tau_start))


def dreaming_loss(
    generator: Callable[..., Tensor],
    inverter: torch.nn.Module,
    latents: Latents,
    images: Tensor,
    temperature: float,
    config: DreamingConfig,
) -> DreamingLosses:
    """docs/algorithms.md §2 steps 2-6 for a batch `x' = images = G(latents)` sampled by the caller without grad.

    `generator(z, c, d)` returns images in [-1, 1] (a frozen `Generator`, or the wake phase's
    generator with its parameters frozen for this step). `inverter` is an `Inverter`, possibly
    wrapped in DistributedDataParallel: it is called, not `.encode`d, so DDP syncs its gradients.
    `images` may also be perturbed copies of `G(latents)` (ganinv.augment): the encoders then
    learn to project them onto the generator's images, and `latents` are approximate targets.
    """
    module = cast("Inverter", getattr(inverter, "module", inverter))  # the Inverter, unwrapped from DDP
    spec = module.spec
    zero = images.new_zeros((), dtype=torch.float32)
    if getattr(module, "refiner", None) is not None:  # the refinement passes decode with the true codes
        post = inverter(images, generator, latents)
    else:
        post = inverter(images)  # Posterior: (B, nz) means and log-variances, code heads
    mu_z, logvar_z = post.passes[0] if post.passes else (post.mu_z, post.logvar_z)  # the single pass

    # Steps 2, 4, 5: q_xi(z | x'), reconstruct with the true codes, L_xi.
    z = losses.reparameterize(mu_z, logvar_z)  # (B, nz)
    rec_z = losses.gaussian_nll(images, generator(z, latents.c, latents.d), config.sigma_x)
    kl_z = losses.kl_normal_to_standard(mu_z, logvar_z)
    z_recovery = losses.gaussian_code_nll(latents.z, mu_z, logvar_z) if config.lambda_z else zero
    # The same L_xi for every refinement pass (ganinv.iterative), averaged over the passes.
    refine = zero
    for mu_t, logvar_t in post.passes[1:]:
        x_t = generator(losses.reparameterize(mu_t, logvar_t), latents.c, latents.d)
        refine = refine + losses.gaussian_nll(images, x_t, config.sigma_x)
        refine = refine + config.beta * losses.kl_normal_to_standard(mu_t, logvar_t)
    if len(post.passes) > 2:
        refine = refine / (len(post.passes) - 1)

    # Steps 3-6: q_omega(d, c | x'), reconstruct with the true noise, L_omega and code recovery.
    rec_u = kl_d = kl_c = mi = zero
    if spec.has_codes:
        d = c = None
        if post.logits_d is not None:
            assert latents.d is not None, "a generator with classes draws d"
            kl_d = losses.kl_categorical_to_uniform(post.logits_d)
            mi = mi + losses.categorical_code_nll(latents.d, post.logits_d)
            # Without a differentiable path for d, keep the true code: the term then trains c only.
            d = losses.gumbel_softmax_sample(post.logits_d, temperature) if spec.differentiable_codes else latents.d
        if post.mu_c is not None:
            assert latents.c is not None and post.logvar_c is not None, "a generator with codes c draws them"
            kl_c = losses.kl_normal_to_standard(post.mu_c, post.logvar_c)
            mi = mi + losses.gaussian_code_nll(latents.c, post.mu_c, post.logvar_c)
            c = losses.reparameterize(post.mu_c, post.logvar_c)  # (B, nc)
        if spec.differentiable_codes or c is not None:
            rec_u = losses.gaussian_nll(images, generator(latents.z, c, d), config.sigma_x)

    total = (
        rec_z
        + config.beta * kl_z
        + rec_u
        + config.beta * (kl_d + kl_c)
        + config.lambda_mi * mi
        + config.lambda_z * z_recovery
        + refine
    )
    return DreamingLosses(total, rec_z, kl_z, rec_u, kl_d, kl_c, mi, z_recovery, refine)
