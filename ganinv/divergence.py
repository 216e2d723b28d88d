"""Stop a training run whose loss or weights stop being finite, before a NaN model is saved.

The loops sync with the host only when they log, so `check_losses` looks at the logged means
then; `check_parameters` (one reduction, one sync) runs before every evaluation, checkpoint and
final save, so no checkpoint and no artifact ever holds a non-finite weight. The error names
the step, the last good checkpoint (kept) and what to change.
"""

from __future__ import annotations

import contextlib
import math
import os
import traceback
from typing import Callable, Iterable, Iterator, NoReturn, Optional

import torch
from torch import nn

from ganinv.errors import DivergedError
from ganinv.generator import Generator
from ganinv.runs import Run


def check_losses(
    losses: dict[str, float], step: int, run: Run, change: str, generator: Optional[Generator] = None
) -> None:
    """Raise `DivergedError` if a logged loss mean is NaN or infinite; `change`: the options to change. A frozen
    `generator` is checked first: if it makes non-finite images itself, no setting of the fit is to blame."""
    bad = [name for name, value in losses.items() if not math.isfinite(value)]
    if bad:
        if generator is not None:
            check_generator_output(generator)
        value = "NaN" if any(math.isnan(losses[name]) for name in bad) else "infinite"
        stop(f"the loss became {value} by step {step} ({', '.join(bad)})", run, change)


@torch.no_grad()
def check_generator_output(generator: Generator, n: int = 1024, batch_size: int = 128) -> None:
    """Raise `DivergedError` if `generator` makes NaN or infinite images for some of `n` seeded prior draws (an
    outside audit: a generator that did so for 2% of its latents passed the load-time probe of 8, and the fit's
    NaN loss was blamed on --lr)."""
    latents = generator.sample_latents(n, generator=torch.Generator(device=generator.device).manual_seed(0))
    bad = 0
    for start in range(0, n, batch_size):
        images = generator.decode(latents[start : start + batch_size])
        bad += int((~torch.isfinite(images)).flatten(1).any(dim=1).sum())
    if bad:
        raise DivergedError(
            f"the generator itself makes NaN or infinite images for {bad} of {n} latents drawn from its prior: no "
            "setting of the fit can repair that; check the generator (its weights, or its code for the latents it "
            "cannot take)"
        )


def check_parameters(modules: Iterable[nn.Module], step: int, run: Run, change: str) -> None:
    """Raise `DivergedError` if a parameter of `modules` is NaN or infinite."""
    flags = [torch.isfinite(p).all() for module in modules for p in module.parameters()]
    if flags and not bool(torch.stack(flags).all()):
        stop(f"the weights became NaN or infinite by step {step}", run, change)


@torch.no_grad()
def check_outputs(
    module: nn.Module,
    outputs: Callable[[], Iterable[Optional[torch.Tensor]]],
    what: str,
    step: int,
    run: Run,
    change: str,
) -> None:
    """Raise `DivergedError` if `outputs()` (of `module`, run in eval mode) are not finite: weights can stay finite
    yet grow so large that the outputs overflow (`--lr 1e20` after one step), which had reached the generator as NaN
    latents, an internal error, or been saved as a model whose every figure is NaN."""
    training = module.training
    module.eval()  # as evaluated and saved; and no BatchNorm statistics move
    try:
        values: Optional[list] = list(outputs())
    except ValueError:  # the generator refuses non-finite latents (in refinement passes, or an MVAE's decoder)
        values = None
    finally:
        module.train(training)
    if values is not None and all(bool(torch.isfinite(v).all()) for v in values if v is not None):
        return
    stop(f"{what} became NaN or infinite by step {step}", run, change)


@contextlib.contextmanager
def overflow_stops(step: int, run: Run, change: str) -> Iterator[None]:
    """A training step whose update overflows float32 (torch's "value cannot be converted to type float without
    overflow": Adam's first step is lr / (1 - beta1), past float32 for a learning rate near its top) stops as
    diverged: it had been an internal error, a run folder left (an outside review)."""
    try:
        yield
    except RuntimeError as exc:
        frames = traceback.extract_tb(exc.__traceback__)
        in_optimiser = any(f"torch{os.sep}optim{os.sep}" in frame.filename for frame in frames)
        if "overflow" not in str(exc) or not in_optimiser:  # a user's generator overflowing is no learning rate's
            raise  # fault (a review)
        stop(f"an update overflowed float32 at step {step}", run, change)


def stop(what: str, run: Run, change: str) -> NoReturn:
    latest = run.latest_checkpoint()
    if latest is None:
        raise DivergedError(
            f"{what}, before any checkpoint, and no model was saved; start again with {change} "
            "(the same --out may be used)"
        )
    raise DivergedError(
        f"{what}; no model was saved, and the last good checkpoint is {latest.stem} in "
        f"{run.checkpoint_dir}; start again with {change} in another --out "
        "(--resume would repeat the same steps)"
    )
