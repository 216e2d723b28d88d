"""The candidate values of the properties the statistics decide for most nets: the activation between layers, the
BatchNorm eps, and the side of z a label enters on."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import torch

from ganinv.architectures import decision

from .identification import Property, option_flag

# Negative slopes of LeakyReLU beside the usual relu (0) and leaky_relu (0.2): PyTorch's default 0.01, 0.1, and
# Keras's default 0.3. Each is an unusual choice: it must fit the statistics MIN_RATIO times better than relu or
# leaky_relu to be taken. Statistics cannot tell 0 from 0.01 (the probe batch's noise is larger than the
# difference), so a net with slope 0.01 loads as relu with that assumption announced; one with an untried slope
# (0.05) fits two neighbours alike and is refused, naming both.
UNUSUAL_SLOPES = ("leaky_relu:0.01", "leaky_relu:0.1", "leaky_relu:0.3")
# Smooth activations of newer generators: under BatchNorm statistics they pass for a leaky ReLU (an outside audit:
# GELU, CELU and Mish nets "decided" as leaky_relu at margins 4-9, one of them at another image size), so they are
# candidates themselves, unusual ones (taken only when they fit 1.5x better than the usual choices). A hidden Tanh
# (older nets) read as SiLU, images 1.06 off, so it is one too.
SMOOTH_ACTIVATIONS = ("gelu", "silu", "elu", "mish", "tanh")
# x * a smooth step: curves within 0.1 of each other; 300 steps of a GELU net's statistics ranked SiLU above it, and
# GELU was never named (an outside audit, 55a)
SMOOTH_TWINS = {"silu": ("gelu",), "gelu": ("silu",), "mish": ("silu",)}
# SELU keeps a net without BatchNorm normalised (RelativisticGAN's --SELU): no statistics there to read it from, so it
# is never a candidate, only named where the activation is assumed (an outside audit, 53b)
SELF_NORMALISING = ("selu",)
# BatchNorm eps of other codebases: Keras's BatchNormalization (1e-3, every TF port) and 1e-4 (BigGAN, some ports).
# With only the adapters' usual two as candidates, an outside audit saw 1e-3 nets "decided" as 1e-5 at margin 1e4
# (the margin against 0.8), images 0.002-0.08 off; as unusual candidates they are taken only when they fit 1.5x
# better, and otherwise named beside the usual one.
UNUSUAL_EPSILONS = (1e-3, 1e-4)
EPS_VISIBLE = 0.005  # the least change of a BatchNorm's scale, sqrt((var + eps) / (var + 1e-5)) - 1, worth a candidate
# ... or of the layers' scales summed, for Keras's 1e-3: the layers' changes compound, and a Keras port's 1e-3 (0.16%,
# 0.10% and 0.28% at its three layers) moved its images 0.017 while no layer alone reached 0.5% (an outside audit,
# 55a). Not for 1e-4: summed, it came into ordinary eps-1e-5 DCGANs' searches, announced where it moved their images
# 0.003-0.005, under one 8-bit level (a review, 56a)
EPS_VISIBLE_SUMMED = 0.002
SUMMED_EPSILONS = (1e-3,)


def visible_epsilons(state_dict: Mapping[str, torch.Tensor]) -> tuple[float, ...]:
    """The unusual eps values that change the scale of a tenth of some layer's channels by EPS_VISIBLE or more (1e-3:
    of the layers' together by EPS_VISIBLE_SUMMED): against larger running variances they change no image visibly,
    and the statistics cannot tell them from 1e-5 either (tested nets would announce a meaningless 1e-4)."""
    variances = [v.float().flatten() for k, v in state_dict.items() if k.endswith("running_var") and v.numel()]
    if not variances:
        return ()
    # Layer by layer: pooled, a wide head's large variances hid the small ones of the last stages, where 1e-3 moved
    # the images 0.011 (an outside fuzzer: "decided" as 1e-5 at margin 466, 1e-3 never tried).
    lows = [float(torch.quantile(v, 0.1)) for v in variances]

    def visible(eps: float) -> bool:
        changes = [((low + eps) / (low + 1e-5)) ** 0.5 - 1 for low in lows]
        return max(changes) >= EPS_VISIBLE or (eps in SUMMED_EPSILONS and sum(changes) >= EPS_VISIBLE_SUMMED)

    return tuple(eps for eps in UNUSUAL_EPSILONS if visible(eps))


# No nonlinearity between layers fits the statistics of a self-normalising activation too: SELU keeps BatchNorm's
# output at mean 0, variance 1, as the identity does. A generator without a nonlinearity is rare; SELU is not, nor is
# Dropout after a ReLU, whose training-mode scaling inflates the variances a ReLU would halve (an outside audit: a
# DCGAN with Dropout(0.5) after each ReLU read as `none`, 1.64 off, the usual ReLU not named).
LINEAR_CAVEAT = (
    "the BatchNorm statistics fit no nonlinearity between layers, as they would a self-normalising one (SELU), "
    "which ganinv does not model, or a ReLU followed by Dropout, which a state dict does not record",
    "--option activation=relu (a ReLU with Dropout; Dropout is off when sampling), or --model-class MODULE:CLASS "
    "(the author's own class)",
)


def no_normalisation() -> dict[str, Any]:
    """The decision for a net whose file holds no normalisation layer: a parameter-free one would leave none."""
    return decision(
        "normalisation",
        "none",
        "assumed: none between layers, as the file holds none; a parameter-free one (InstanceNorm, GroupNorm or "
        "LayerNorm without affine) leaves nothing in a state dict",
        "--model-class MODULE:CLASS (the author's own class)",
    )


# what the activation candidates leave out: the slopes between the tried ones, and activations no adapter builds
ACTIVATIONS_BEYOND = (
    "another LeakyReLU slope: --option activation=leaky_relu:SLOPE; an activation ganinv does not build (Hardswish, "
    "ReLU6, CELU) reads as its nearest: load such a net into its class with --model-class MODULE:CLASS"
)


def activation_and_eps(
    given: Mapping[str, Any],
    values: Mapping[str, Any],
    activations: Sequence[str],
    epsilons: Sequence[float],
    normed: bool,
    activation_convention: str,
    eps_convention: str,
    unusual_epsilons: Sequence[float] = (),
) -> list[Property]:
    """What every normalised generator leaves to its statistics: the activation between layers (the usual
    `activations` and the unusual leaky slopes) and the BatchNorm eps (the usual `epsilons` and the
    `unusual_epsilons` that are visible, `visible_epsilons`). One candidate when the user gave it (and for eps, when
    nothing is normalised, so nothing can tell)."""
    candidates = tuple(activations) + UNUSUAL_SLOPES + SMOOTH_ACTIVATIONS if normed else tuple(activations)
    return [
        Property(
            "activation",
            (values["activation"],) if "activation" in given else candidates,
            activation_convention,
            option_flag("activation"),
            usual=tuple(activations),
            caveats={"none": LINEAR_CAVEAT},
            untried=() if normed or "activation" in given else UNUSUAL_SLOPES + SMOOTH_ACTIVATIONS + SELF_NORMALISING,
            twins=SMOOTH_TWINS,
            beyond=ACTIVATIONS_BEYOND,
        ),
        Property(
            "norm_eps",
            (
                (float(values.get("norm_eps", epsilons[0])),)
                if "norm_eps" in given or not normed
                else tuple(epsilons) + tuple(unusual_epsilons)
            ),
            eps_convention,
            option_flag("norm_eps"),
            usual=tuple(epsilons),
            untried=()
            if "norm_eps" in given or not normed
            else tuple(e for e in UNUSUAL_EPSILONS if e not in unusual_epsilons),
        ),
    ]


def label_order(options: Any, given: Mapping[str, Any], first_by_convention: bool, convention: str) -> list[Property]:
    """Whether a label vector goes before or after z, for generators that concatenate one (else nothing to decide)."""
    if not (options.n_classes and options.condition in ("embedding", "onehot")):
        return []
    order = (True, False) if first_by_convention else (False, True)
    return [
        Property(
            "condition_first",
            (bool(options.condition_first),) if "condition_first" in given else order,
            convention,
            option_flag("condition_first"),
            tie_hint="" if "nc" in given else "or InfoGAN's continuous codes lie beside the label: --option nc=N",
        )
    ]
