"""Perturbed dreams: show the encoders images a little off the generator's manifold
(ganinv **beyond** docs/algorithms.md §2).

An encoder trained only on a generator's typical samples has never seen an image the generator
cannot make exactly, and real images are such images: on MNIST its reconstructions of real digits
are far worse than of generated ones (see recipes/bench-invert-mnist-wgangp.toml). So a fraction
of each dreamed batch is perturbed (affine and elastic warps, stroke thickness, intensity gamma,
pixel noise) and the reconstruction term compares `G(E(x_perturbed))` with `x_perturbed` itself:
the encoder learns to *project* an off-manifold image onto the closest image the generator can
make, which is what inverting a real image asks of it. No real data is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from ganinv.config_checks import check_config, checked


@dataclass
class AugmentConfig:
    # Fraction of dreamed images perturbed (each by a random amount); 0: off. 0.5 is the compromise
    # measured on MNIST: 1.0 is best for a generator whose samples are far from real digits (the
    # shared WGAN-GP), but costs reconstruction of its own samples and latent recovery elsewhere.
    probability: float = checked(0.5, flag="--augment", min=0, max=1)
    rotate: float = checked(0.2, min=0)  # max rotation, radians
    scale: float = checked(0.1, min=0, max=1, max_open=True)  # max relative zoom
    shear: float = checked(0.15, min=0)  # max shear
    translate: float = checked(0.1, min=0)  # max shift, as a fraction of the half-width (0.1 ~ 1.4 px at 28 px)
    elastic: float = checked(1.5, min=0)  # displacement of the elastic warp, pixels (Simard et al. 2003); 0: none
    elastic_smooth: int = checked(4, min=0)  # pixels over which the elastic displacement field is smoothed
    thickness: float = checked(1.0, min=0, max=1)  # max blend towards a 3x3 dilation (bolder) or erosion (thinner)
    gamma: float = checked(0.5, min=0)  # intensity gamma in [1/(1+g), 1+g] on the [0, 1] scale
    noise: float = checked(0.05, min=0)  # max std of additive Gaussian pixel noise, [-1, 1] scale

    def __post_init__(self) -> None:
        check_config(self, section="augment")


def perturb(images: Tensor, config: AugmentConfig, generator: Optional[torch.Generator] = None) -> Tensor:
    """Perturb a random `config.probability` fraction of `images` (B, C, H, W) in [-1, 1]; the rest pass unchanged."""
    if config.probability <= 0:
        return images
    batch = images.shape[0]

    def uniform(*shape: int) -> Tensor:  # U(-1, 1) from the caller's stream, so runs resume exactly
        return torch.rand(*shape, generator=generator, device=images.device) * 2 - 1

    chosen = (uniform(batch, 1, 1, 1) + 1) / 2 < config.probability  # (B, 1, 1, 1)
    x = warp(images, config, uniform)
    x = change_thickness(x, config.thickness * uniform(batch, 1, 1, 1))
    gamma = (1 + config.gamma) ** uniform(batch, 1, 1, 1)
    x = ((x + 1) / 2).clamp_min(0).pow(gamma) * 2 - 1
    x = x + config.noise * uniform(batch, 1, 1, 1).abs() * torch.randn(x.shape, generator=generator, device=x.device)
    return torch.where(chosen, x.clamp(-1, 1), images)


def warp(images: Tensor, config: AugmentConfig, uniform: Callable[..., Tensor]) -> Tensor:
    """A random affine map composed with a smooth elastic displacement, one grid_sample."""
    batch, _, height, width = images.shape
    angle, shear = config.rotate * uniform(batch), config.shear * uniform(batch)
    zoom = 1 + config.scale * uniform(batch)
    theta = torch.stack(
        [
            torch.stack([zoom * angle.cos(), -zoom * angle.sin() + shear, config.translate * uniform(batch)], dim=1),
            torch.stack([zoom * angle.sin(), zoom * angle.cos(), config.translate * uniform(batch)], dim=1),
        ],
        dim=1,
    )  # (B, 2, 3)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)  # (B, H, W, 2)
    if config.elastic > 0:
        field = uniform(batch, 2, height, width)
        for _ in range(2):  # two box blurs ~ a Gaussian of width elastic_smooth
            field = F.avg_pool2d(
                field, 2 * config.elastic_smooth + 1, stride=1, padding=config.elastic_smooth, count_include_pad=False
            )
        field = field / field.flatten(1).abs().amax(dim=1).clamp_min(1e-8)[:, None, None, None]  # peak 1
        scale = torch.tensor([2 / width, 2 / height], device=images.device) * config.elastic
        grid = grid + field.permute(0, 2, 3, 1) * scale
    return F.grid_sample(images, grid, align_corners=False, padding_mode="border")


def change_thickness(images: Tensor, amount: Tensor) -> Tensor:
    """amount (B, 1, 1, 1) in [-1, 1]: > 0 blends towards a 3x3 dilation (bolder strokes), < 0 towards an erosion."""
    dilated = F.max_pool2d(images, 3, stride=1, padding=1)
    eroded = -F.max_pool2d(-images, 3, stride=1, padding=1)
    return torch.where(amount > 0, images + amount * (dilated - images), images - amount * (eroded - images))
