"""Invert images: the encoder's answer, optionally refined by per-image latent optimisation.

Hybrid inversion: the encoder gives a latent in one pass; `refine` then runs N steps of Adam
on each image's own reconstruction error `||G(u) - x||^2`, starting from that answer. With a
start of z = 0 instead, the same loop is plain optimisation-based inversion, the baseline the
encoder is compared with.

Adam scales each coordinate on its own, but a GAN's latent coordinates are not the axes along
which its images change: the directions that move the image mix all coordinates and move it by
very different amounts (the MNIST WGAN-GP: about 19 per unit along its first, under 0.4 along its
last). So by default the steps are taken in the generator's own directions
(`evaluation.generator_directions`, `V` with sensitivities `s`): `z = z_0 + P u`,
`P = V diag(sqrt(s_mean / s_i))`, Adam on `u` from 0. Adam already makes each coordinate's step about
`lr` whatever its gradient's size; the square-root scaling lets the directions that barely move the
image travel further without slowing the sensitive ones as much as a full `s_mean / s_i` would (on
validation digits the square root beat both the unscaled and the fully scaled basis from `z = 0`, and
was within 5% of the fully scaled one from the encoder). One estimate of `E[J^T J]` per call,
shared by every image, so each image's answer still depends on that image alone.
"""

from __future__ import annotations

import math
import numbers
import time
import warnings
from dataclasses import dataclass
from typing import Any, Optional

import torch
from torch import Tensor
from torch.nn import functional as F

from ganinv.data import as_model_images
from ganinv.errors import ArgumentError, ConfigError, SpecMismatchError, indices_text, require_instance
from ganinv.evaluation import (
    encode_and_reconstruct,
    generator_directions,
    mean_image_baseline,
    reconstruction_metrics,
)
from ganinv.generator import Generator, GradientError
from ganinv.inverter import Inverter
from ganinv.polarity import warn_if_inverted
from ganinv.spec import Latents
from ganinv.status import LONG_TRAINING_S, CountedProgress, said_if_slow

# Adam's rate for `refine`, chosen on validation digits (the first 1000 MNIST training digits, the MNIST WGAN-GP,
# benchmarks/refine_lr_study.py): in the generator's basis, 0.2 is best after 25 steps from the encoder and within 1% of
# the best after 100 (0.4); in the latent basis 0.1 was (README, "Real images").
REFINE_LR = 0.2
REFINE_BASES = ("generator", "latent")  # Adam's coordinates: the generator's scaled directions, or z's own
REFINE_BASIS = "generator"  # the default: chosen on the same validation digits (README, "Real images")
# What refinement does with a categorical code d: move it as free logits (a soft mix of the classes' inputs, the
# least error), or hold each image at the encoder's class (a latent the generator's own samples have)
REFINE_CLASSES = ("soft", "fixed")

# A direction along which the image barely moves gets at most this many times Adam's step: it is nearly free to move,
# and an unbounded step would carry the latent far outside the prior in a few steps for little image change.
MAX_DIRECTION_STEP = 10.0


def generator_preconditioner(generator: Generator, batch_size: int = 256) -> Tensor:
    """(nz, nz) `P = V diag(sqrt(s_mean / s_i))`: columns are the generator's latent directions
    (`generator_directions`, most sensitive first), the ones that barely move the image lengthened (by at most
    MAX_DIRECTION_STEP). The identity (plain Adam) when no direction moves the image or the gradients are not finite."""
    nz = generator.spec.nz
    try:
        basis, sensitivity = generator_directions(generator, batch_size=batch_size)  # (nz, nz), (nz,)
    except GradientError:  # non-finite gradients somewhere in the prior: no directions to trust
        sensitivity = torch.full((nz,), float("nan"))
    if not torch.isfinite(sensitivity).all():
        warnings.warn(
            "the generator's latent directions could not be estimated (its gradients are not finite at some prior "
            "samples), so --refine steps along z's own coordinates, as --refine-basis latent does",
            UserWarning,
            stacklevel=3,
        )
        return torch.eye(nz)
    if not float(sensitivity.max()) > 0:
        # said: refinement then moves only latents where the gradient is not 0, which `refine` counts and says
        warnings.warn(
            f"the generator's latent directions move no image at {batch_size} latents drawn from its prior (its "
            "gradient to them is exactly 0 there), so --refine steps along z's own coordinates, as --refine-basis "
            "latent does",
            UserWarning,
            stacklevel=3,
        )
        return torch.eye(nz)
    scale = (sensitivity.mean() / sensitivity.clamp_min(1e-12)).sqrt().clamp(max=MAX_DIRECTION_STEP)  # (nz,)
    return basis * scale  # column i scaled by scale[i]


def moved(z: Tensor, u: Tensor, to_z: Optional[Tensor]) -> Tensor:
    """`z + u P^T` (B, nz): a move `u` in Adam's coordinates, the generator's scaled directions `P` (columns), or z's
    own coordinates when `to_z` is None."""
    return z + (u @ to_z.T.to(u.dtype) if to_z is not None else u)


def refine(
    generator: Generator,
    images: Tensor,
    start: Latents,
    steps: int,
    lr: float = REFINE_LR,
    batch_size: int = 256,
    basis: str = REFINE_BASIS,
    counts: Optional[dict] = None,
    move_d: bool = True,
) -> Latents:
    """N Adam steps per image on the squared reconstruction error, from `start`.

    z moves along the generator's scaled directions (`basis="generator"`, see the module's doc) or its own
    coordinates (`basis="latent"`); c moves freely; d moves through its logits (initialised at log d), unless
    `move_d` is false or the generator has no differentiable path for d, then it stays as it starts. Each image's
    loss is its own sum of squared errors, so the answer for one image does not depend on the others in its batch.

    Each image's answer is its latent of the least error seen, the start's included: Adam at a large rate can leave
    the last step worse than the start. An image whose latent reaches a NaN or infinite image (or gradient) stops
    there, while the others go on: Adam turned one NaN gradient into a NaN latent. An image whose gradient is exactly
    0 at every step never moves (its latent lies where the generator ignores it, or behind a step function). An image
    no step took below its start keeps the start. Each is said in one warning and, where `counts` is given,
    recorded in it: `images_stopped_non_finite`, `images_unmoved`, `images_not_improved`.
    """
    if basis not in REFINE_BASES:
        raise ArgumentError(f"basis must be one of {REFINE_BASES}, got {basis!r}")
    # gradients whatever the caller's context: a notebook's torch.no_grad() or inference_mode() around ganinv.invert
    # made refinement fail on torch's own autograd error (an outside audit); only inputs made in inference mode, which
    # autograd cannot save, are copied (not every caller's images)
    with torch.inference_mode(False), torch.enable_grad():
        images = images.clone() if images.is_inference() else images
        start = start.map(lambda t: t.clone() if t.is_inference() else t)
        return _refine(generator, images, start, steps, lr, batch_size, basis, counts, move_d)


def _refine(
    generator: Generator,
    images: Tensor,
    start: Latents,
    steps: int,
    lr: float,
    batch_size: int,
    basis: str,
    counts: Optional[dict],
    move_d: bool,
) -> Latents:
    """`refine` in grad mode."""
    device = generator.device
    to_z = generator_preconditioner(generator, batch_size).to(device) if basis == "generator" and steps else None
    refined, stopped_at, unmoved, worse = [], [], [], []
    # how far it is, every 30 s: 10000 images took 11 minutes with one line at the start (an outside audit, 51b)
    # counted in steps of images: `--refine 10**12` said nothing more than its first line (an outside audit, 53c)
    work = images.shape[0] * max(steps, 1)
    progress = CountedProgress(f"refining the latents of {images.shape[0]} images", work, verb="image-steps done")
    started = time.perf_counter()
    for begin in range(0, images.shape[0], batch_size):
        x = images[begin : begin + batch_size].to(device)  # (B, C, H, W)
        init = start[begin : begin + batch_size].to(device)
        u = torch.zeros_like(init.z, requires_grad=True)  # (B, nz): the move from init.z, in Adam's coordinates
        c = init.c.clone().requires_grad_(True) if init.c is not None else None
        d_logits = None  # learnt when the generator has a differentiable path for d
        if init.d is not None and generator.spec.differentiable_codes and move_d:
            d_logits = init.d.clamp_min(1e-6).log().requires_grad_(True)
        params = [t for t in (u, c, d_logits) if t is not None]
        optimizer = torch.optim.Adam(params, lr=lr)
        stopped = torch.zeros(x.shape[0], dtype=torch.bool, device=device)  # rows held at their last finite latent
        gradient_seen = torch.zeros_like(stopped)  # rows whose gradient was not 0 at some step
        exact = torch.zeros_like(stopped)  # rows reconstructed exactly at the start: nothing to move for
        last = [p.detach().clone() for p in params]  # each row's latest latent with a finite image
        best = [p.detach().clone() for p in params]  # each row's latent of the least error seen, the start's first
        best_error = torch.full((x.shape[0],), math.inf, device=device)  # (B,)
        improved = torch.zeros_like(stopped)  # rows some step took below their start's error
        # one forward more than steps: the latent of the last step is checked too, before it is returned
        for step in range(steps + 1):
            progress.done(begin * max(steps, 1) + step * x.shape[0])
            if begin == 0 and step == PACE_STEPS and steps > PACE_STEPS:
                warn_if_long(time.perf_counter() - started, step, steps, images.shape[0], x.shape[0])
            d = d_logits.softmax(dim=1) if d_logits is not None else init.d
            z = moved(init.z, u, to_z)  # (B, nz)
            per_image = (generator(z, c, d) - x).square().flatten(1).sum(dim=1)  # (B,) every image's own error
            reached = ~per_image.isfinite() & ~stopped  # the last step led where the image is not finite: step back
            with torch.no_grad():  # a select, not a branch on reached.any(): no host sync per step
                for p, good in zip(params, last):
                    p.copy_(torch.where(reached.view(-1, *[1] * (p.dim() - 1)), good, p))
            stopped |= reached
            with torch.no_grad():  # a NaN error is never better: a stepped-back row keeps its best
                better = per_image.detach() < best_error
                best_error = torch.where(better, per_image.detach(), best_error)
                for p, held in zip(params, best):
                    held.copy_(torch.where(better.view(-1, *[1] * (p.dim() - 1)), p, held))
                improved |= better & (step > 0)
            if step == 0:
                exact = per_image == 0
            if step == steps:
                break
            # stopped rows take no part (a NaN there times the 0 a mask gives is NaN again, so they are left out)
            loss = torch.where(stopped, torch.zeros_like(per_image), per_image).sum()
            optimizer.zero_grad(set_to_none=False)
            loss.backward()
            with torch.no_grad():
                # a code the generator ignores gets no gradient: 0
                row_grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
                grads = torch.cat([g.flatten(1) for g in row_grads], dim=1)  # (B, nz + nc + K)
                stopped |= ~grads.isfinite().all(dim=1)  # a finite image with a NaN gradient: stop here
                gradient_seen |= (grads != 0).any(dim=1) & ~stopped
                for p, g in zip(params, row_grads):
                    g[stopped] = 0  # Adam's moments of a stopped row stay finite
                    p.grad = g
                last = [p.detach().clone() for p in params]
            optimizer.step()
            with torch.no_grad():  # Adam's momentum would carry a stopped row on
                for p, good in zip(params, last):
                    p[stopped] = good[stopped]
        # each image's latent of the least error, not the last step's: Adam at a large rate leaves some images worse
        # than their start (an outside audit: the encoder's SSE 15.6 "refined" to 18.4 in silence)
        kept = iter(best)  # in the order of params: u, then c and d's logits where they move
        u = next(kept)
        c = next(kept) if c is not None else None
        d_logits = next(kept) if d_logits is not None else None
        d = d_logits.softmax(dim=1) if d_logits is not None else init.d
        refined.append(Latents(z=moved(init.z, u, to_z), c=c, d=d).detach().to("cpu"))
        stopped_at += (begin + stopped.nonzero().flatten()).tolist()
        if steps:
            unmoved += (begin + (~gradient_seen & ~stopped & ~exact).nonzero().flatten()).tolist()
            worse += (begin + (gradient_seen & ~exact & ~improved & ~stopped).nonzero().flatten()).tolist()
    n = images.shape[0]
    if stopped_at:
        warnings.warn(
            f"refining reached latents where the generator's images or their gradients are NaN or infinite for "
            f"{len(stopped_at)} of {n} images ({indices_text(stopped_at)}): each stopped there, keeping its latent of "
            "least error, the others went on; check the generator (its code for the latents it cannot take, such as a "
            "log, a division or a sqrt behind torch.where)",
            UserWarning,
            stacklevel=2,
        )
    if unmoved:
        warnings.warn(
            f"the generator's images did not move under refinement for {len(unmoved)} of {n} images "
            f"({indices_text(unmoved)}): its gradient to their latents was exactly 0 at every step (they lie where the "
            "generator ignores its latents, or behind a step function such as sign or round), so their refined "
            "latents are where they started",
            UserWarning,
            stacklevel=2,
        )
    if worse:
        warnings.warn(
            f"refining did not lower the error of {len(worse)} of {n} images below their start's "
            f"({indices_text(worse)}): they keep the latents they started from; a smaller learning rate "
            f"(--refine-lr, now {lr:g}) takes smaller steps",
            UserWarning,
            stacklevel=2,
        )
    if counts is not None:
        counts.update(
            images_stopped_non_finite=len(stopped_at), images_unmoved=len(unmoved), images_not_improved=len(worse)
        )
    return Latents.cat(refined)


PACE_STEPS = 10  # the refinement steps of the first batch timed for the projection


def warn_if_long(elapsed: float, done: int, steps: int, n: int, batch: int) -> None:
    """Warn once where refining `n` images `steps` steps each takes more than an hour at the pace of the first
    batch's first `done` steps."""
    total = elapsed / done * steps * math.ceil(n / batch)
    if total >= LONG_TRAINING_S:
        warnings.warn(
            f"refining {n} images {steps} steps each takes about {total / 3600:.1f} hours at this pace; fewer steps "
            "(--refine N, refine_steps=N) make it shorter",
            UserWarning,
            stacklevel=3,
        )


def zero_latents(generator: Generator, n: int) -> Latents:
    """The prior mode: z = c = 0, d uniform (the start of optimisation-only inversion)."""
    spec = generator.spec
    return Latents(
        z=torch.zeros(n, spec.nz),
        c=torch.zeros(n, spec.nc) if spec.nc else None,
        d=torch.full((n, spec.n_classes), 1.0 / spec.n_classes) if spec.n_classes else None,
    )


def one_hot_classes(d: Tensor) -> Tensor:
    """(N, K) each row's most probable class, one-hot."""
    return F.one_hot(d.argmax(dim=1), d.shape[1]).to(d.dtype)


def refinement_start(generator: Generator, encoded: Latents, start: str, refine_class: str) -> tuple[Latents, dict]:
    """Where `refine` starts, and what the metrics say of its `d`. From the encoder's answer, or from the prior mode
    (`start="zero"`). With `refine_class="fixed"` each image's `d` is the encoder's class, held; so it is too for a
    generator fed integer labels, whose class refinement cannot move: from `start="zero"` its uniform `d` had decoded
    every image as the first class, and was saved uniform."""
    init = encoded if start == "encoder" else zero_latents(generator, len(encoded))
    if encoded.d is None:
        return init, {}
    if refine_class == "fixed":
        said = "fixed: each image's class of the encoder"
    elif not generator.spec.differentiable_codes:
        said = "the encoder's class: the generator takes integer labels, which refinement cannot move"
    else:
        return init, {}
    return Latents(z=init.z, c=init.c, d=one_hot_classes(encoded.d)), {"d": said}


@dataclass
class Inversion:
    latents: Latents  # the final answer (refined when steps > 0), on the CPU
    reconstructions: Tensor  # (N, C, H, W) in [-1, 1], of the final answer
    encoder_reconstructions: Tensor  # (N, C, H, W), of the encoder's answer
    metrics: dict  # encoder, refined (when asked), mean-image baseline


def one_class_metrics(generator: Generator, images: Tensor, latents: Latents, batch_size: int) -> dict[str, Any]:
    """For a generator with a categorical code: the answer's `d` is soft, a mix of its K classes' inputs (the encoder's
    probabilities; refinement moves it as free logits), which the contract allows but no sample of the generator
    has; said, with the errors of the same latents with `d` the one class it favours (an outside audit: refined SSE
    1.28 with soft codes was 6.61 with each image's class)."""
    if latents.d is None or not generator.spec.differentiable_codes:  # integer labels: it sees one class (a review)
        return {}
    one_class = Latents(z=latents.z, c=latents.c, d=one_hot_classes(latents.d))
    return {
        "d": "soft: a mix of the classes' inputs, which no sample of the generator has",
        "with_one_class": reconstruction_metrics(images, decode_all(generator, one_class, batch_size)),
    }


@torch.no_grad()
def decode_all(generator: Generator, latents: Latents, batch_size: int = 256) -> Tensor:
    return torch.cat(
        [
            generator.decode(latents[i : i + batch_size].to(generator.device)).cpu()
            for i in range(0, len(latents), batch_size)
        ]
    )


# Adam moves each latent coordinate (or generator direction) by about its learning rate per step, and latents have unit
# scale: above this, every step jumps far outside the prior and the result is a saturated image, not a refinement.
REFINE_LR_MAX = 10.0


def check_refine_lr(refine_lr: float) -> None:
    if not (math.isfinite(refine_lr) and 0 < refine_lr <= REFINE_LR_MAX):
        raise ConfigError(
            f"--refine-lr must be in (0, {REFINE_LR_MAX:g}] (Adam's step on unit-scale latents), got {refine_lr:g}; "
            "give e.g. --refine-lr 0.1"
        )


def check_finite_reconstructions(reconstructions: Tensor, where: str) -> None:
    """Refuse NaN or infinite reconstructions, naming the generator: their errors are no numbers (the metrics' JSON
    check called them "a computation that diverged; check the inputs"), and the images are not at fault."""
    bad = (~reconstructions.flatten(1).isfinite().all(dim=1)).nonzero().flatten().tolist()
    if bad:
        raise SpecMismatchError(
            f"the generator makes NaN or infinite images at {where} for {len(bad)} of {reconstructions.shape[0]} "
            f"images ({indices_text(bad)}), so their reconstruction errors are not numbers; check the generator (its "
            "weights, or its code for the latents it cannot take, such as a log or a division)"
        )


def warn_if_unlike_the_generator(metrics: dict, cli_words: bool = False) -> None:
    """Warn when the encoder reconstructs the images worse than their own mean image does: the inverter was fitted too
    briefly (as `fit`'s own warning says of the generator's images), or they are not what the generator makes.
    (Images drawn the other way round are named before, by `ganinv.polarity`, for any number.) `cli_words`: the
    command line's flags (`ganinv invert`); else Python's arguments (audit 30b 7d: the Python API named
    --input-range, and not the short fit an example's `--steps 20` made)."""
    if metrics["mean_image_baseline"] is None:  # too few images for their mean to be a baseline
        return
    sse, baseline = metrics["encoder"]["sse_per_image"], metrics["mean_image_baseline"]["sse_per_image"]
    if not sse > baseline:
        return
    steps, input_range = (
        ("`ganinv fit --steps`", "--input-range") if cli_words else ("FitConfig(steps=N)", "input_range=")
    )
    warnings.warn(
        f"the encoder reconstructs these images worse than their own mean image does (SSE {sse:.3g} against "
        f"{baseline:.3g}): either its inverter was fitted too briefly (train longer: {steps}), or the images are not "
        f"what the generator makes (its domain, its image range: {input_range})",
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
    for name, value in (("refine_steps", refine_steps), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):  # 2.5 ended in range()'s TypeError
            raise ArgumentError(f"{name} must be a whole number, got {value!r}")
    if refine_steps < 0 or batch_size < 1:  # the Python API's arguments: a ValueError too (an outside audit)
        raise ArgumentError(
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
    refine_lr: float = REFINE_LR,
    start: str = "encoder",
    batch_size: int = 256,
    iterations: Optional[int] = None,
    input_range: Optional[tuple[float, float] | str] = None,
    refine_basis: str = REFINE_BASIS,
    refine_class: str = "soft",
    *,
    _cli_words: bool = False,
) -> Inversion:
    """Encode `images` of the generator's shape, then refine if asked.

    `images` are read as `Inverter.encode` reads them (uint8 as [0, 255]; floats as [-1, 1], [0, 1] with a
    warning, or [0, 255]; `input_range=(lo, hi)` declares the range); other sizes are refused, naming the
    `ganinv.data.fit_to_shape` call that converts them (nothing is resized unasked).

    `iterations`: the encoder's refinement passes (default: as many as it was trained with; 0: the
    single pass). `start="zero"` refines from the prior mode instead of the encoder's answer:
    optimisation-only inversion, for comparison. `refine_basis`: see `refine`. `refine_class` (a generator with a
    categorical code d): "soft" moves d as free logits, a mix of the classes' inputs that no sample of the generator
    has (the least error); "fixed" holds each image at the encoder's class and refines z and c. The metrics give each
    stage's wall time per image. (`_cli_words`: `ganinv invert`'s own, for its warnings to name its flags.)
    """
    require_instance(inverter, Inverter, "inverter", "ganinv.Inverter.load(...)")
    if start not in ("encoder", "zero"):
        raise ArgumentError(f"start must be 'encoder' or 'zero', got {start!r}")
    if refine_basis not in REFINE_BASES:
        raise ArgumentError(f"refine_basis must be one of {REFINE_BASES}, got {refine_basis!r}")
    if refine_class not in REFINE_CLASSES:
        raise ArgumentError(f"refine_class must be one of {REFINE_CLASSES}, got {refine_class!r}")
    passes = inverter.passes(iterations)
    images = check_inputs(inverter, images, refine_steps, refine_lr, batch_size, input_range)
    n = images.shape[0]
    _ = inverter.generator  # loaded before the clock: seconds_per_image measured the generator's loading too
    if refine_steps > 0:
        inverter.generator.require_gradients("refining latents (--refine)")
    inverted = warn_if_inverted(inverter.generator, images)
    clock = time.perf_counter()
    with said_if_slow(f"encoding {n} images"):  # 60000 images took 80 silent seconds (an outside audit, 51b)
        posterior, encoded = encode_and_reconstruct(inverter, images, batch_size, iterations)
    check_finite_reconstructions(encoded, "the encoder's latents")
    seconds = (time.perf_counter() - clock) / n
    latents, reconstructions = posterior.mean_latents(), encoded
    metrics = {
        "n": n,
        "encoder": {
            "iterations": passes,
            **reconstruction_metrics(images, encoded),
            "seconds_per_image": seconds,
            **one_class_metrics(inverter.generator, images, latents, batch_size),
        },
        "mean_image_baseline": mean_image_baseline(images),
    }
    if not inverted:  # named already, with its remedy
        warn_if_unlike_the_generator(metrics, cli_words=_cli_words)
    if refine_steps > 0:
        clock = time.perf_counter()
        init, d_said = refinement_start(inverter.generator, latents, start, refine_class)
        counts: dict = {}
        with said_if_slow(f"refining the latents of {n} images, {refine_steps} gradient steps each"):
            latents = refine(
                inverter.generator,
                images,
                init,
                refine_steps,
                refine_lr,
                batch_size,
                refine_basis,
                counts,
                move_d=refine_class == "soft",
            )
        reconstructions = decode_all(inverter.generator, latents, batch_size)
        check_finite_reconstructions(reconstructions, f"the start of refinement (--start {start})")
        metrics["refined"] = {
            "steps": refine_steps,
            "lr": refine_lr,
            "basis": refine_basis,
            "start": start,
            **({"class": refine_class} if latents.d is not None else {}),
            **reconstruction_metrics(images, reconstructions),
            **(d_said or one_class_metrics(inverter.generator, images, latents, batch_size)),
            **counts,  # images whose refinement stopped early or never moved (warned)
            "seconds_per_image": (time.perf_counter() - clock) / n,
        }
    return Inversion(latents, reconstructions, encoded, metrics)
