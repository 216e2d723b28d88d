"""Invert images: the encoder's answer, optionally refined by per-image latent optimisation.

Hybrid inversion: the encoder gives a latent in one pass; `refine` then runs N steps of Adam
on each image's own reconstruction error `||G(u) - x||^2`, starting from that answer. With a
start of z = 0 instead, the same loop is plain optimisation-based inversion, the baseline the
encoder is compared with.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass
from typing import Optional

import torch
from torch import Tensor

from ganinv.data import as_model_images
from ganinv.errors import ConfigError
from ganinv.evaluation import encode_and_reconstruct, held_out_samples, mean_image_baseline, reconstruction_metrics
from ganinv.generator import Generator
from ganinv.inverter import Inverter
from ganinv.spec import Latents
from ganinv.status import said_if_slow


def refine(
    generator: Generator, images: Tensor, start: Latents, steps: int, lr: float = 0.1, batch_size: int = 256
) -> Latents:
    """N Adam steps per image on the squared reconstruction error, from `start`.

    z and c move freely; d moves through its logits (initialised at log d), unless the generator
    has no differentiable path for d, then it stays fixed. Each image's loss is its own sum of
    squared errors, so the answer for one image does not depend on the others in its batch.
    """
    device = generator.device
    refined = []
    for begin in range(0, images.shape[0], batch_size):
        x = images[begin : begin + batch_size].to(device)  # (B, C, H, W)
        init = start[begin : begin + batch_size].to(device)
        z = init.z.clone().requires_grad_(True)
        c = init.c.clone().requires_grad_(True) if init.c is not None else None
        d_logits = None  # learnt when the generator has a differentiable path for d
        if init.d is not None and generator.spec.differentiable_codes:
            d_logits = init.d.clamp_min(1e-6).log().requires_grad_(True)
        params = [t for t in (z, c, d_logits) if t is not None]
        optimizer = torch.optim.Adam(params, lr=lr)
        for _ in range(steps):
            d = d_logits.softmax(dim=1) if d_logits is not None else init.d
            loss = (generator(z, c, d) - x).square().sum()  # the sum of every image's own squared error
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        d = d_logits.softmax(dim=1) if d_logits is not None else init.d
        refined.append(Latents(z=z, c=c, d=d).detach().to("cpu"))
    return Latents.cat(refined)


def zero_latents(generator: Generator, n: int) -> Latents:
    """The prior mode: z = c = 0, d uniform (the start of optimisation-only inversion)."""
    spec = generator.spec
    return Latents(
        z=torch.zeros(n, spec.nz),
        c=torch.zeros(n, spec.nc) if spec.nc else None,
        d=torch.full((n, spec.n_classes), 1.0 / spec.n_classes) if spec.n_classes else None,
    )


@dataclass
class Inversion:
    latents: Latents  # the final answer (refined when steps > 0), on the CPU
    reconstructions: Tensor  # (N, C, H, W) in [-1, 1], of the final answer
    encoder_reconstructions: Tensor  # (N, C, H, W), of the encoder's answer
    metrics: dict  # encoder, refined (when asked), mean-image baseline


@torch.no_grad()
def decode_all(generator: Generator, latents: Latents, batch_size: int = 256) -> Tensor:
    return torch.cat(
        [
            generator.decode(latents[i : i + batch_size].to(generator.device)).cpu()
            for i in range(0, len(latents), batch_size)
        ]
    )


# Adam moves each latent coordinate by about its learning rate per step, and latents have unit scale: above this,
# every step jumps far outside the prior and the result is a saturated image, not a refinement.
REFINE_LR_MAX = 10.0


def check_refine_lr(refine_lr: float) -> None:
    if not (math.isfinite(refine_lr) and 0 < refine_lr <= REFINE_LR_MAX):
        raise ConfigError(
            f"--refine-lr must be in (0, {REFINE_LR_MAX:g}] (Adam's step on unit-scale latents), got {refine_lr:g}; "
            "give e.g. --refine-lr 0.1"
        )


POLARITY_SAMPLES = 256  # generated images whose mean the inputs' mean is compared with


@torch.no_grad()
def warn_if_unlike_the_generator(generator: Generator, images: Tensor, metrics: dict) -> None:
    """Warn when the encoder reconstructs the images worse than their own mean image does: they are not what the
    generator makes. Dark-on-light images for a light-on-dark generator (scans of digits) are named as such (an
    outside audit: SSE 511 against the mean image's 48, in silence)."""
    if metrics["mean_image_baseline"] is None:  # too few images for their mean to be a baseline
        return
    sse, baseline = metrics["encoder"]["sse_per_image"], metrics["mean_image_baseline"]["sse_per_image"]
    if not sse > baseline:
        return
    generated = held_out_samples(generator, POLARITY_SAMPLES, seed=0)[1].mean(dim=0)  # (C, H, W)
    mean = images.float().mean(dim=0).cpu()  # (C, H, W)
    inverted = float((-mean - generated).norm()) < 0.5 * float((mean - generated).norm())
    why = (
        "they look inverted (light where the generator's images are dark): invert them (255 - x) first"
        if inverted
        else "are they what the generator makes (its domain, its image range: --input-range)?"
    )
    warnings.warn(
        f"the encoder reconstructs these images worse than their own mean image does (SSE {sse:.3g} against "
        f"{baseline:.3g}): {why}",
        UserWarning,
        stacklevel=3,
    )


def check_inputs(
    inverter: Inverter,
    images: Tensor,
    refine_steps: int,
    refine_lr: float,
    batch_size: int,
    input_range: Optional[tuple[float, float] | str] = None,
) -> Tensor:
    """Refuse what would give an empty, NaN or meaningless inversion, before any compute; the images in [-1, 1]."""
    if refine_steps < 0 or batch_size < 1:
        raise ConfigError(
            f"need refine steps >= 0 (--refine) and a batch size >= 1 (--batch-size), got "
            f"{refine_steps} and {batch_size}"
        )
    if refine_steps > 0:
        check_refine_lr(refine_lr)
    return as_model_images(images, inverter.spec.image_shape, input_range)  # shape, range, NaN: one clear error


def invert(
    inverter: Inverter,
    images: Tensor,
    refine_steps: int = 0,
    refine_lr: float = 0.1,
    start: str = "encoder",
    batch_size: int = 256,
    iterations: Optional[int] = None,
    input_range: Optional[tuple[float, float] | str] = None,
) -> Inversion:
    """Encode `images` of the generator's shape, then refine if asked.

    `images` are read as `Inverter.encode` reads them (uint8 as [0, 255]; floats as [-1, 1], [0, 1] with a
    warning, or [0, 255]; `input_range=(lo, hi)` declares the range); other sizes go through
    `ganinv.data.fit_to_shape` first.

    `iterations`: the encoder's refinement passes (default: as many as it was trained with; 0: the
    single pass). `start="zero"` refines from the prior mode instead of the encoder's answer:
    optimisation-only inversion, for comparison. The metrics give each stage's wall time per image.
    """
    if start not in ("encoder", "zero"):
        raise ValueError(f"start must be 'encoder' or 'zero', got {start!r}")
    images = check_inputs(inverter, images, refine_steps, refine_lr, batch_size, input_range)
    n = images.shape[0]
    _ = inverter.generator  # loaded before the clock: seconds_per_image measured the generator's loading too
    clock = time.perf_counter()
    posterior, encoded = encode_and_reconstruct(inverter, images, batch_size, iterations)
    passes = inverter.iterations if iterations is None else iterations
    metrics = {
        "n": n,
        "encoder": {
            "iterations": passes if inverter.refiner is not None else 0,
            **reconstruction_metrics(images, encoded),
            "seconds_per_image": (time.perf_counter() - clock) / n,
        },
        "mean_image_baseline": mean_image_baseline(images),
    }
    warn_if_unlike_the_generator(inverter.generator, images, metrics)
    latents, reconstructions = posterior.mean_latents(), encoded
    if refine_steps > 0:
        clock = time.perf_counter()
        init = latents if start == "encoder" else zero_latents(inverter.generator, n)
        with said_if_slow(f"refining the latents of {n} images, {refine_steps} gradient steps each"):
            latents = refine(inverter.generator, images, init, refine_steps, refine_lr, batch_size)
        reconstructions = decode_all(inverter.generator, latents, batch_size)
        metrics["refined"] = {
            "steps": refine_steps,
            "lr": refine_lr,
            "start": start,
            **reconstruction_metrics(images, reconstructions),
            "seconds_per_image": (time.perf_counter() - clock) / n,
        }
    return Inversion(latents, reconstructions, encoded, metrics)
