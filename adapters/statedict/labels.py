"""How a label enters: a one-hot label among the first layer's inputs (read off the first BatchNorm's running
means), or a label embedding as wide as z that multiplies it or is never used."""

from __future__ import annotations

from typing import Any, Callable, Optional, cast

import torch
from torch import nn

from ganinv.architectures import AmbiguousWeightsError, decision
from ganinv.errors import ArchitectureError

from .batchnorm import bn_discrepancy
from .identification import DECIDED_RATIO, weak_margin
from .priors import PRIOR_MEANS, PRIOR_PROBES


def onehot_condition() -> dict[str, Any]:
    """The decision for a class count given for a file with no label embedding: the one-hot label itself enters."""
    return decision(
        "condition",
        "onehot",
        "weights: no label embedding, so the one-hot label is concatenated to z",
        "--option condition=onehot",
    )


# ---- a one-hot label among the first layer's inputs, read off the first BatchNorm's running means -------------
MAX_CODES = 4  # continuous codes tried beside a one-hot label (InfoGAN: 2 on MNIST, up to 4 in its paper)

SIGNIFICANT = 6.0  # standard errors by which "a one-hot label there" must fit the inputs' means better than "latents"


@torch.no_grad()  # the linear map may be a module's layer: a float() of a tensor requiring grad warns (torch)
def input_means(
    linear: Callable[[torch.Tensor], list[torch.Tensor]], norm: nn.modules.batchnorm._BatchNorm, width: int
) -> Optional[torch.Tensor]:
    """The means of the first layer's `width` inputs over the batches its BatchNorm saw. Each batch mean of y = A x + b
    is A (the batch's mean of x) + b, so the running mean is A m + b exactly, whatever the inputs' distribution: with
    more channels than inputs, m is a least-squares solve (the reading of the geometry with no residual). None with
    fewer channels than inputs."""
    basis = torch.cat([torch.zeros(1, width), torch.eye(width)])  # (1 + n, n): b, then b + each column of A
    best: Optional[tuple[float, torch.Tensor]] = None
    for y in linear(basis):  # one per reading of the geometry
        y = y.double().flatten(2).mean(2) if y.dim() > 2 else y.double()  # (1 + n, C): means over positions
        mean = cast(torch.Tensor, norm.running_mean)
        a, target = (y[1:] - y[0]).T, mean.double() - y[0]  # (C, n), (C,)
        if a.shape[0] <= a.shape[1]:
            continue
        means = torch.linalg.lstsq(a, target[:, None]).solution[:, 0]
        residual = float((target - a @ means).norm())
        if best is None or residual < best[0]:
            best = (residual, means)
    return None if best is None else best[1]


def one_hot_run(means: torch.Tensor, prior_mean: float, k: Optional[int] = None) -> Optional[tuple[int, int]]:
    """(start, K) of a run of K inputs whose means are a one-hot label's (1/K each) while the rest have the prior's,
    where that fits SIGNIFICANT standard errors better than latents alone; else None. The standard error is the
    spread of the other inputs' means (their median distance from the prior's mean): sampling noise of the batches.
    Measured outside the run: a label of 5 among 13 inputs inflated a median taken over all of them, and the label
    went unread (an outside audit's fuzzer)."""
    off = means - prior_mean
    n = len(means)
    best: Optional[tuple[float, int, int]] = None
    for size in (k,) if k else range(2, n // 2 + 1):
        if not 2 <= size < n:
            continue
        gains = off.square() - (means - 1 / size).square()  # (n,): each input's fit, label over latent
        window = gains.unfold(0, size, 1).sum(1)  # (n - size + 1,)
        start = int(window.argmax())
        rest = torch.cat([off[:start], off[start + size :]])
        scale = max(1.4826 * float(rest.abs().median()), 1e-6)
        score = float(window[start]) / scale**2
        run = means[start : start + size]
        label = abs(float(run.sum()) - 1) <= 0.25 and bool(((run > 0.5 / size) & (run < 2 / size)).all())
        if label and score >= SIGNIFICANT**2 and (best is None or score > best[0]):  # among runs that are labels: a
            # run one latent longer can score higher (a smaller noise scale) and fail as a label (an outside fuzzer)
            best = (score, start, size)
    return None if best is None else (best[1], best[2])


def refuse_unnamed_label(name: str, means: Optional[torch.Tensor], prior_mean: float) -> None:
    """Refuse an unconditional reading where a run of the first layer's inputs has the means of a one-hot label:
    loading the label as latent noise makes images the generator never makes (a real-size InfoGAN given no options
    loaded so, its statistics' misfit under the warning's bar)."""
    found = one_hot_run(means, prior_mean) if means is not None else None
    if means is None or found is None:
        return
    start, k = found
    run, after = means[start : start + k], len(means) - start - k
    flags = f"--option n_classes={k}"
    codes = codes_beside(start, after)
    if codes is not None:
        flags += f" --option nc={codes[0]} --option input_order={codes[1]}"
    elif not after:
        flags += " --option condition_first=False"
    elif not start:
        flags += " --option condition_first=True"
    raise AmbiguousWeightsError(
        f"the first BatchNorm of this {name} generator says its inputs {start + 1}-{start + k} (of {len(means)}) have "
        f"means {float(run.min()):.2f}-{float(run.max()):.2f}, summing to {float(run.sum()):.2f}, as a one-hot label "
        f"of {k} classes has, where the others have the latent prior's {prior_mean:g}: read as latent noise, they "
        f"would give images the generator never makes; pass {flags}"
    )


def unnamed_label(
    name: str,
    linear: Callable[[torch.Tensor], list[torch.Tensor]],
    norm: nn.modules.batchnorm._BatchNorm,
    width: int,
    prior_mean: Optional[float] = None,
) -> list[dict[str, Any]]:
    """For a generator read as taking latents alone: refuse it where the first BatchNorm's running means show a
    one-hot label among the `width` inputs of the first linear map (`refuse_unnamed_label`), and where that BatchNorm
    has too few channels to show it, announce that every input was read as noise. Shared by every family: an outside
    audit's fuzzer loaded labels as noise in silence in the fully connected and DCGAN families (1.5-1.7 off).
    `prior_mean`: the latents' mean under the prior read; None, before it is read: the nearest to the inputs' median."""
    means = input_means(linear, norm, width)
    if prior_mean is None and means is not None:  # before the prior is read: the one the inputs' median mean is near
        prior_mean = min(set(PRIOR_MEANS.values()), key=lambda m: abs(float(means.median()) - m))
    refuse_unnamed_label(name, means, prior_mean or 0.0)
    if means is not None:
        return []
    channels = len(cast(torch.Tensor, norm.running_mean))
    return [unread_inputs(width, f"the first BatchNorm has {channels} channels for {width} inputs, too few to show")]


def unread_inputs(width: int, why: str) -> dict[str, Any]:
    """The decision that all `width` inputs were read as latent noise where no statistic can show a one-hot label or
    codes among them (`why`, e.g. "no BatchNorm sees the inputs through one linear map, so nothing shows")."""
    return decision(
        "inputs",
        f"{width} latents",
        f"assumed: every input is latent noise; {why} whether some are a one-hot label or codes (InfoGAN's)",
        "--option n_classes=K (--option nc=N for codes)",
    )


NO_LINEAR_VIEW = "no BatchNorm sees the inputs through one linear map, so nothing shows"


def codes_beside(start: int, after: int) -> Optional[tuple[int, str]]:
    """(nc, input order) for a one-hot label with `start` inputs before it and `after` after: between z and InfoGAN's
    codes, the shorter side (at most MAX_CODES) is the codes; None for a label at either end or between long sides."""
    if not (start and after and min(start, after) <= MAX_CODES):
        return None
    return (after, "zdc") if after <= start else (start, "cdz")


# ---- a label embedding as wide as z: multiplying it (PyTorch-GAN acgan), or never used (PyTorch-GAN sgan) ----------
UNUSED_EMBEDDING = "some codebases define a label embedding they never use (PyTorch-GAN sgan's generator)"
Z_ALONE = "z alone (the embedding unused)"
MULTIPLIES = "multiplies z"


@torch.no_grad()
def label_fits(
    linear: Callable[[torch.Tensor], list[torch.Tensor]],
    norm: nn.modules.batchnorm._BatchNorm,
    embedding: torch.Tensor,
    n: int = 1024,
) -> tuple[float, float]:
    """(misfit of z times the label embedding (K, nz), misfit of z alone) at the first BatchNorm, which sees the
    inputs through the linear map alone; each at its best latent prior and reading of the map (the prior is read
    later, with the inputs settled). An embedding at its N(0, 1) init gives z * e about the variance of z: the two
    fit alike, and `label_use` says so."""
    k, nz = embedding.shape
    label = torch.eye(k)[torch.arange(n) % k] @ embedding.detach().float()  # (n, nz): the classes in turn
    draws = [draw(n, nz, torch.Generator().manual_seed(0)) for draw in PRIOR_PROBES.values()]
    times_label, alone = (
        min(bn_discrepancy(y, norm) for z in draws for y in linear(z * label if multiplied else z))
        for multiplied in (True, False)
    )
    return times_label, alone


def label_use(
    name: str, fits: Optional[tuple[float, float]], why_unseen: str, count_given: int
) -> tuple[bool, dict[str, Any]]:
    """(whether a label embedding as wide as z multiplies z, the decision) from `label_fits` (None where no statistic
    sees the inputs: `why_unseen` says why). PyTorch-GAN's sgan defines `label_emb` and never uses it: read as acgan's
    label multiplying z, it loaded 0.77 off in silence (an outside audit). The embedding is taken as unused only where
    z alone fits DECIDED_RATIO times better; else it multiplies z (why the file holds it), announced where the
    statistics do not decide it (an untrained acgan's fit z alone 1.2x better). `count_given` (a class count from the
    user or a config, which may be a discriminator's, as sgan's `num_classes`) against a clear unused is refused."""
    on, off = "--option condition=multiply", "--option n_classes=0"
    if fits is None:
        said = f"assumed: the label embedding multiplies z (PyTorch-GAN acgan); {why_unseen}, and {UNUSED_EMBEDDING}"
        return True, decision("label_embedding", MULTIPLIES, said, off)
    times_label, alone = fits
    ratio = max(fits) / min(fits) if min(fits) > 0 else float("inf")
    margin = f"{ratio:.3g}" if ratio < 1e6 else ">1e6"
    if ratio >= DECIDED_RATIO and alone < times_label:
        if count_given:
            raise ArchitectureError(
                f"n_classes={count_given} reads this {name} generator's label embedding as multiplying z, but its "
                f"first BatchNorm fits z alone {margin}x better: the generator never uses the embedding, as "
                "PyTorch-GAN sgan's never does (its num_classes is its discriminator's); drop n_classes (--option "
                f"n_classes=0), or pass {on} if the embedding does multiply z"
            )
        return False, decision("label_embedding", "unused", f"batchnorm statistics, margin {margin}", on)
    if ratio >= DECIDED_RATIO:
        return True, decision("label_embedding", MULTIPLIES, f"batchnorm statistics, margin {margin}", off)
    if times_label <= alone:
        said = weak_margin(ratio, Z_ALONE)
    else:
        said = (
            f"assumed: the label embedding multiplies z (PyTorch-GAN acgan), though {Z_ALONE} fits the first "
            f"BatchNorm {ratio:.2f}x better (a decision needs {DECIDED_RATIO:g}x)"
        )
    return True, decision("label_embedding", MULTIPLIES, f"{said}; {UNUSED_EMBEDDING}", off)
