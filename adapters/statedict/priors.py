"""The latent prior, read off the first BatchNorm, which sees z through a linear layer alone."""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping

import torch

from ganinv.architectures import AmbiguousWeightsError, decision
from ganinv.errors import ArchitectureError
from ganinv.generator import native_from_standard

from .identification import DECIDED_RATIO, MIN_RATIO, weak_margin

PRIOR_PROBES = {  # how each native prior draws the probe batch's z
    "normal": lambda n, nz, g: torch.randn(n, nz, generator=g),
    "uniform": lambda n, nz, g: torch.rand(n, nz, generator=g) * 2 - 1,
    "uniform01": lambda n, nz, g: torch.rand(n, nz, generator=g),  # torch.rand latents, as some code samples them
}
PRIOR_SPECS = {
    "normal": ("normal", (-1.0, 1.0)),
    "uniform": ("uniform", (-1.0, 1.0)),
    "uniform01": ("uniform", (0.0, 1.0)),
}
PRIOR_MEANS = {"normal": 0.0, "uniform": 0.0, "uniform01": 0.5}
PRIOR_FLAGS = {"normal": "normal", "uniform": "uniform:-1,1", "uniform01": "uniform:0,1"}  # --prior VALUE
# The first BatchNorm sees z through a linear map: it reads z's mean and variance, never its family. A prior none of
# the usual ones fits while the same family at another scale fits this many times better is refused, naming
# truncation and scale: a net trained on N(0, 1) truncated to [-2, 2] loaded as N(0, 1), 0.69 off (an outside audit).
PRIOR_FLOOR = 0.012  # the first BatchNorm misfit the author's own nets stay under (see POOR_FIT): no verdict below
# and the misfit the scale must explain: N(0, 1) truncated to [-2, 2] read as N(0, 1) leaves 0.033 (a variance 0.77
# of 1); the noise of statistics from one batch of 16 left 0.014 that a scale of 1.1 explained (its prior N(0, 1))
PRIOR_SCALE_GAIN = 0.02
# A latent scale beyond this is read as statistics that lag the weights before a prior's: truncation shrinks the
# variance, and GAN code draws N(0, I) or U(-1, 1), not wider; lag reads as any scale above 1 (1.2 for a DCGAN saved
# after 40 steps, 2.5 for an EMA copy whose averaged statistics trail, 4.9 early in training), and following the
# scaled prior offered first loaded a wrong net each time (outside audits, 30b and 51a)
PLAUSIBLE_PRIOR_SCALE = 1.0


def prior_parts(prior: str) -> tuple[str, tuple[float, float], float]:
    """(family, bounds, scale) of a `prior` option: a usual one (PRIOR_SPECS's names), or the user's own as
    `prior_option` writes it, e.g. "truncated_normal:-2,2" or "normal*0.5"."""
    if prior in PRIOR_SPECS:
        return PRIOR_SPECS[prior][0], PRIOR_SPECS[prior][1], 1.0
    try:
        body, _, scale = prior.partition("*")
        kind, _, bounds = body.partition(":")
        lo, hi = (float(b) for b in bounds.split(",")) if bounds else (-1.0, 1.0)
        parts = (kind, (lo, hi), float(scale) if scale else 1.0)
    except ValueError:
        parts = ("", (0.0, 0.0), 0.0)
    kind, (lo, hi), factor = parts
    if kind not in ("normal", "uniform", "truncated_normal") or not lo < hi or not factor > 0:
        raise ArchitectureError(
            f"prior must be one of {', '.join(PRIOR_SPECS)}, or FAMILY[:LO,HI][*SCALE] (e.g. truncated_normal:-2,2), "
            f"got {prior!r}"
        )
    return parts


def prior_option(kind: str, bounds: tuple[float, float], scale: float) -> str:
    """The `prior` option of a native prior: its usual name where it has one, else FAMILY[:LO,HI][*SCALE]."""
    for name, (native, native_bounds) in PRIOR_SPECS.items():
        if scale == 1.0 and kind == native and (native == "normal" or bounds == native_bounds):
            return name
    body = kind if kind == "normal" else "{}:{:g},{:g}".format(kind, *bounds)
    return body if scale == 1.0 else f"{body}*{scale:g}"


def prior_probe(prior: str) -> Callable[[int, int, torch.Generator], torch.Tensor]:
    """How the native prior `prior` draws the probe batch's z: as the generator maps its N(0, I) latents to it."""
    if prior in PRIOR_PROBES:
        return PRIOR_PROBES[prior]
    kind, bounds, scale = prior_parts(prior)

    def draw(n: int, nz: int, g: torch.Generator) -> torch.Tensor:
        return native_from_standard(torch.randn(n, nz, generator=g), kind, bounds, scale)

    return draw


def prior_mean(prior: str) -> float:
    """The mean of one coordinate of z under `prior` (where a one-hot label's inputs stand out from the latents')."""
    if prior in PRIOR_MEANS:
        return PRIOR_MEANS[prior]
    return float(prior_probe(prior)(4096, 1, torch.Generator().manual_seed(0)).mean())


def prior_from_spec(spec: Mapping[str, Any], any_prior: bool = False) -> dict[str, Any]:
    """The `prior` option that the user's --prior (spec fields native_prior, native_prior_range and
    native_prior_scale) names: the option is then the user's, not read from the BatchNorm statistics, and the probes
    draw from it. An architecture without `any_prior` takes only PRIOR_SPECS's priors at scale 1."""
    kind, scale = spec.get("native_prior"), float(spec.get("native_prior_scale") or 1.0)
    if not any_prior:  # these probe with the usual priors alone: the family and bounds name one, the scale is the
        scale = 1.0  # spec's
    if kind is None and scale == 1.0:
        return {}
    bounds = tuple(float(b) for b in spec.get("native_prior_range") or (-1.0, 1.0))
    prior = prior_option(str(kind or "normal"), (bounds[0], bounds[-1]), scale)
    if prior in PRIOR_SPECS or any_prior:
        return {"prior": prior}
    return {}  # another prior: the spec override sets it; the option stays what the statistics read


def prior_scale_check(name: str, misfit_at: Callable[[float], float], prior: str, misfit: float) -> None:
    """Refuse where the usual prior `prior`, the best (its first BatchNorm `misfit`), fits poorly and N(0, I) latents
    times some scale fit DECIDED_RATIO times better, by PRIOR_SCALE_GAIN at least: the statistics read z's variance,
    and it is no usual prior's, as a truncated or scaled prior's is not. `misfit_at(s)`: the first BatchNorm's misfit
    with N(0, I) probes times s."""
    if misfit <= PRIOR_FLOOR:
        return
    lo, hi = math.log(0.02), math.log(20.0)  # golden section over log s: the misfit has one minimum in the scale
    golden = (math.sqrt(5) - 1) / 2
    for _ in range(25):
        a, b = hi - golden * (hi - lo), lo + golden * (hi - lo)
        if misfit_at(math.exp(a)) < misfit_at(math.exp(b)):
            hi = b
        else:
            lo = a
    scale = math.exp((lo + hi) / 2)
    scaled = misfit_at(scale)
    if misfit < DECIDED_RATIO * scaled or misfit - scaled < PRIOR_SCALE_GAIN:
        return
    read = (
        f"the first BatchNorm of this {name} generator fits none of the usual latent priors (the best, "
        f"{PRIOR_FLAGS[prior]}, misfits {misfit:.3g}; the author's under {PRIOR_FLOOR:g}), but N(0, I) latents times "
        f"{scale:.2g} fit it {misfit / max(scaled, 1e-12):.3g}x better. "
    )
    lag = (
        "running statistics lag its weights (a checkpoint saved early in training, whose averages still hold their "
        "initial values): then no prior makes the author's net, and every other reading of the statistics is off too; "
        "load it with its own class (--model-class MODULE:CLASS) or a module:callable, or give a later checkpoint"
    )
    prior_flags = (
        f"pass the author's prior, --prior truncated_normal:LO,HI (e.g. -2,2), or --prior normal --option "
        f"spec.native_prior_scale={scale:.2g} (the statistics read the latents' variance, not which of these)"
    )
    if scale > PLAUSIBLE_PRIOR_SCALE:  # latents 4.9x N(0, I): the signature of lag, whose flag loaded a net with
        # no activation, 1.1 off the author's (an outside audit)
        raise AmbiguousWeightsError(
            f"{read}A scale above 1 is no truncated prior's, and GAN code rarely draws wider latents: more likely its "
            f"{lag}. Only if its "
            f"latents really were N(0, {scale:.2g}^2): --prior normal --option spec.native_prior_scale={scale:.2g}"
        )
    raise AmbiguousWeightsError(f"{read}Either its latents were truncated or scaled: {prior_flags}. Or its {lag}")


class PriorFromSpec:
    """Mixin of the architectures with a `prior` option (PRIOR_SPECS's names): the user's --prior sets it. Where the
    Options class says `any_prior`, any prior the user gives (family, bounds, scale) is its option."""

    def options_from_spec(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        return prior_from_spec(spec, bool(getattr(getattr(self, "Options", None), "any_prior", False)))


def prior_decision(first_misfits: dict[str, float], values: dict[str, Any]):
    """The latent prior by the misfit, under each of PRIOR_PROBES, of the first BatchNorm, the one that sees z through
    a linear layer alone (its running mean and variance are those of z, e.g. 0 and 1 for N(0, I), 0 and 1/3 for
    U(-1, 1), 1/2 and 1/12 for U(0, 1), through the weights); sets `values["prior"]`."""
    best, other = sorted(first_misfits, key=lambda name: first_misfits[name])[:2]
    ratio = first_misfits[other] / first_misfits[best] if first_misfits[best] > 0 else float("inf")
    if ratio < MIN_RATIO:
        rival = best if best != "normal" else other
        values["prior"] = "normal"
        as_well = first_misfits["normal"] / first_misfits[rival] if first_misfits[rival] > 0 else 1.0
        return decision(
            "prior",
            "normal",
            f"assumed: N(0, I) latents; the first BatchNorm fits {PRIOR_FLAGS[rival]} {as_well:.2f}x as well",
            f"--prior {PRIOR_FLAGS[rival]}",
        )
    values["prior"] = best
    shown, flag = PRIOR_FLAGS[best], f"--prior {PRIOR_FLAGS[other]}"
    if ratio < DECIDED_RATIO:
        return decision("prior", shown, weak_margin(ratio, PRIOR_FLAGS[other]), flag)
    margin = f"{ratio:.3g}" if ratio < 1e6 else ">1e6"
    # the margin is over the usual priors: the statistics read z's mean and variance, not its family
    said = (
        f"batchnorm statistics, margin {margin} over {PRIOR_FLAGS[other]}; a truncated prior of its variance fits alike"
    )
    return decision("prior", shown, said, flag)
