"""Whether images are drawn the other way round from the generator's: dark on light where it draws light on dark.

Scans and photos of handwritten digits come dark on white; an MNIST generator draws light on black. Every figure
computed on such images (encodings, reconstructions, likelihoods, clusters) describes other images, and
nothing fails: an outside audit saw SSE 521 per image of 784 and "50% cluster accuracy" in silence. The evidence is
the mean image: light where the generator's mean image is dark is the negative's place. One image is enough (a
digit's background covers most of it), so the check runs for any number of images, in every command that meets a
generator with images.
"""

from __future__ import annotations

import warnings
from typing import Any, Optional

import torch
from torch import Tensor

from ganinv.errors import GaninvError
from ganinv.evaluation import held_out_samples
from ganinv.generator import Generator

POLARITY_SAMPLES = 64  # generated images whose mean image the inputs' is compared with: few, as a large G is slow
# The inputs' mean must be this much nearer the negative of the generator's mean than the mean itself: a clear
# reversal, not a domain that differs (natural images around mid-grey are about as near to both).
NEARER = 0.5


class InvertedImagesWarning(UserWarning):
    """Images that look drawn the other way round from the generator's (its own class: the CLI shows it whichever
    frame of the caller's it is attributed to)."""


@torch.no_grad()
def looks_inverted(generator: Generator, images: Tensor) -> bool:
    """images: (N, C, H, W) in [-1, 1], the generator's shape. True when their mean image is much nearer the negative
    of the generator's mean image than that mean image itself."""
    generated = generated_mean_image(generator)  # (C, H, W)
    mean = images.float().mean(dim=0).cpu()  # (C, H, W)
    return float((-mean - generated).norm()) < NEARER * float((mean - generated).norm())


def generated_mean_image(generator: Generator) -> Tensor:
    """The mean of POLARITY_SAMPLES fixed samples, (C, H, W) on the CPU; drawn once per generator (a frozen G makes
    the same ones), so a command that checks batch after batch pays for it once."""
    cached = generator.__dict__.get("_polarity_mean_image")
    if cached is None:
        cached = held_out_samples(generator, POLARITY_SAMPLES, seed=0)[1].float().mean(dim=0)
        generator.__dict__["_polarity_mean_image"] = cached  # not a buffer: no state dict holds it
    return cached


def reachable_generator(model: Any) -> Optional[Generator]:
    """The generator of an inverter or an MVAE atop one, when it can be loaded; None for a standalone MVAE, or where
    the generator cannot be found (a command that does not need it, such as `features`, still runs)."""
    if isinstance(model, Generator):
        return model
    if not (getattr(model, "generator_ref", None) or {}).get("source") and model.__dict__.get("_generator") is None:
        return None
    try:
        with warnings.catch_warnings():  # loaded for this check alone (`features`): what its loading assumed is
            warnings.simplefilter("ignore")  # said by the commands that use the generator, not here
            return model.generator
    except GaninvError:
        return None


def warn_if_inverted(model: Any, images: Tensor) -> bool:
    """Warn, once per call, when `images` look inverted against the generator of `model` (a `Generator`, an
    `Inverter`, an `MVAE`); returns whether they do."""
    generator = reachable_generator(model)
    if generator is None or images.shape[0] == 0 or not looks_inverted(generator, images):
        return False
    warnings.warn(
        f"{'this image looks' if images.shape[0] == 1 else f'these {images.shape[0]} images look'} inverted (light "
        "where the generator's images are dark, or dark where they are light), so every figure on them describes "
        "other images: invert them first (255 - x for 8-bit pixels)",
        InvertedImagesWarning,
        stacklevel=3,
    )
    return True
