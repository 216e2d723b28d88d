"""How well an inverter inverts: on held-out generated samples, and on real images (issue 6).

- Reconstruction: mean squared error per pixel on the [0, 1] scale, the same summed over the
  pixels of an image (the papers' unit: SS-AVL Table 4, MVAE Table VI), and PSNR.
- Latent recovery (generated samples only, where the true latents are known): mean squared
  error between the posterior mean and the true standardised latent, overall and per
  dimension as the fraction of that dimension's variance recovered,
  `1 - E[(z_j - mu_j)^2] / Var(z_j)` (1: recovered exactly; 0: no better than guessing 0).
  Many GAN latent directions barely move the image, and the ones that do mix all coordinates,
  so the same fraction is also given along the generator's own latent directions, ordered by how
  much they move the image (`generator_directions`), and weighted by it: the share of the
  image-relevant latent variance recovered.
- Code accuracy for `d` (argmax of q(d|x) against the true category).
- Baseline: the mean image, the best constant answer, on the same images.
"""

from __future__ import annotations

from typing import Any, Optional

import torch
from torch import Tensor

from ganinv.generator import NONFINITE_GRADIENT_CAUSE, GradientError
from ganinv.inverter import Inverter, Posterior
from ganinv.spec import Latents
from ganinv.status import CountedProgress


def reconstruction_metrics(images: Tensor, reconstructions: Tensor) -> dict[str, float]:
    """images, reconstructions: (N, C, H, W) in [-1, 1] -> MSE per pixel and per image on [0, 1], PSNR (dB)."""
    error = ((images.float() - reconstructions.float()) / 2).square().flatten(1)  # (N, D) on the [0, 1] scale
    mse_per_image = error.mean(dim=1)  # (N,)
    psnr = -10 * torch.log10(mse_per_image.clamp_min(1e-10))
    return {
        "mse_per_pixel": mse_per_image.mean().item(),
        "sse_per_image": error.sum(dim=1).mean().item(),
        "psnr": psnr.mean().item(),
    }


# The mean of n images holds 1/n of each of them, so it flatters itself on few: its expected SSE is (n - 1)/n of the
# population's (a single image is its own mean, SSE 0). From ten images on it is within 10% of the population's.
MIN_BASELINE_IMAGES = 10


def mean_image_baseline(images: Tensor) -> Optional[dict[str, float]]:
    """The reconstruction metrics of answering every image with their mean image; None for fewer than
    MIN_BASELINE_IMAGES images, where that mean is mostly the images themselves and no baseline."""
    if images.shape[0] < MIN_BASELINE_IMAGES:
        return None
    return reconstruction_metrics(images, images.float().mean(dim=0, keepdim=True).expand_as(images))


def generator_directions(generator, n: int = 2048, seed: int = 0, batch_size: int = 256) -> tuple[Tensor, Tensor]:
    """The latent directions of `z` ordered by how much they move the image: eigenvectors of
    `E_z[J^T J]`, `J = dG/dz`, as columns (nz, nz), and the square roots of the eigenvalues (nz,),
    the image change (L2, [-1, 1] scale) per unit move along each.

    Estimated from `n` vector-Jacobian products `J^T u`, `u ~ N(0, I)` in image space
    (`E[J^T u u^T J] = J^T J`): one batched backward pass per batch, whatever the image size.
    """
    rng = torch.Generator(device=generator.device).manual_seed(seed)
    products = []
    for start in range(0, n, batch_size):
        latents = generator.sample_latents(min(batch_size, n - start), generator=rng)
        z = latents.z.requires_grad_(True)
        images = generator(z, latents.c, latents.d)  # (B, C, H, W)
        probe = torch.randn(images.shape, generator=rng, device=images.device)
        products.append(torch.autograd.grad((images * probe).sum(), z)[0].float().cpu())  # (B, nz): J^T u
    stacked = torch.cat(products)  # (n, nz)
    finite = stacked.isfinite().all(dim=1)  # (n,)
    if not bool(finite.all()):  # NaN products stopped a fit on an internal linalg error (an outside audit)
        raise GradientError(
            "the generator's gradient to its latents is not finite at some latents, though its images are "
            f"{NONFINITE_GRADIENT_CAUSE}: at {int((~finite).sum())} of {n} latents drawn from its prior; give a "
            "generator whose gradient is finite where its images are"
        )
    eigenvalues, eigenvectors = torch.linalg.eigh(stacked.T @ stacked / n)  # ascending
    return eigenvectors.flip(1), eigenvalues.flip(0).clamp_min(0).sqrt()


def latent_recovery(
    true: Latents, posterior: Posterior, directions: Optional[tuple[Tensor, Tensor]] = None
) -> dict[str, object]:
    """Posterior means against the true standardised latents of generated samples; `directions`
    from `generator_directions` adds the recovery along the generator's own directions."""
    squared_error = (posterior.mu_z.float() - true.z.float()).square()  # (N, nz)
    recovered = 1 - squared_error.mean(dim=0) / true.z.float().var(dim=0).clamp_min(1e-12)  # (nz,)
    out: dict[str, object] = {
        "z_mse": squared_error.mean().item(),
        "z_variance_recovered": recovered.mean().item(),
        "z_variance_recovered_per_dim": [round(v, 4) for v in recovered.tolist()],
    }
    if directions is not None:
        basis, sensitivity = directions
        along_true, along_mu = true.z.float() @ basis, posterior.mu_z.float() @ basis  # (N, nz)
        error, variance = (along_true - along_mu).square().mean(dim=0), along_true.var(dim=0)
        weight = sensitivity.square()  # image change^2 per unit^2 move
        total = float((weight * variance).sum())  # 0 for a generator no move of z changes: no weights, no figure
        out["z_variance_recovered_weighted"] = (1 - float((weight * error).sum()) / total) if total > 0 else None
        out["z_variance_recovered_by_direction"] = [round(v, 4) for v in (1 - error / variance).tolist()]
        out["generator_sensitivity_by_direction"] = [round(v, 4) for v in sensitivity.tolist()]
    if true.c is not None:
        assert posterior.mu_c is not None, "an inverter for codes c encodes them"
        out["c_mse"] = (posterior.mu_c.float() - true.c.float()).square().mean().item()
    if true.d is not None:
        assert posterior.logits_d is not None, "an inverter for classes encodes d"
        out["d_accuracy"] = (posterior.logits_d.argmax(dim=1) == true.d.argmax(dim=1)).float().mean().item()
    return out


@torch.no_grad()
@torch.no_grad()
def encode_and_reconstruct(
    inverter: Inverter, images: Tensor, batch_size: int = 256, iterations: Optional[int] = None
) -> tuple[Posterior, Tensor]:
    """The posterior and G(posterior mean) for many images, in batches, on the inverter's device
    (`iterations`: refinement passes, default as trained; 0 for the single pass)."""
    posteriors, reconstructions = [], []
    progress = CountedProgress(f"encoding {images.shape[0]} images", images.shape[0], verb="done")
    for start in range(0, images.shape[0], batch_size):
        progress.done(start)
        batch = images[start : start + batch_size].to(inverter.device)
        posterior = inverter.encode_model_images(batch, iterations)
        posteriors.append(posterior)
        reconstructions.append(inverter.generator.decode(posterior.mean_latents()).cpu())
    parts: dict[str, Any] = {
        name: (
            torch.cat([getattr(p, name) for p in posteriors]).cpu()
            if getattr(posteriors[0], name) is not None
            else None
        )
        for name in ("mu_z", "logvar_z", "logits_d", "mu_c", "logvar_c")
    }
    merged = Posterior(**parts)
    return merged, torch.cat(reconstructions)


def held_out_samples(generator, n: int, seed: int) -> tuple[Latents, Tensor]:
    """A fixed set of generated samples: the same for every evaluation of a run (and across runs with one seed)."""
    rng = torch.Generator(device=generator.device).manual_seed(seed)
    latents, images = generator.sample(n, generator=rng)
    return latents.to("cpu"), images.cpu()


@torch.no_grad()
def evaluate_generated(
    inverter: Inverter, latents: Latents, images: Tensor, directions: Optional[tuple[Tensor, Tensor]] = None
) -> dict[str, object]:
    """Reconstruction and latent recovery on held-out generated samples, with the mean-image baseline."""
    posterior, reconstructions = encode_and_reconstruct(inverter, images)
    return {
        "n": images.shape[0],
        **reconstruction_metrics(images, reconstructions),
        "mean_image_baseline": mean_image_baseline(images),
        **latent_recovery(latents, posterior, directions),
    }


@torch.no_grad()
def evaluate_real(inverter: Inverter, images: Tensor) -> dict[str, object]:
    """Reconstruction of real images (already in the generator's shape), with the mean-image baseline."""
    _, reconstructions = encode_and_reconstruct(inverter, images)
    return {
        "n": images.shape[0],
        **reconstruction_metrics(images, reconstructions),
        "mean_image_baseline": mean_image_baseline(images),
    }
