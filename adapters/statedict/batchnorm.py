"""The BatchNorm evidence: how far a probe batch's statistics are from a layer's running ones, and whether the
running statistics can tell anything at all."""

from __future__ import annotations

from typing import Mapping, Optional

import torch
from torch import nn

from ganinv.architectures import AmbiguousWeightsError

# ---- the BatchNorm evidence -----------------------------------------------------------------------


def running_statistics(tensors: Mapping[str, torch.Tensor]) -> nn.modules.batchnorm._BatchNorm:
    """A BatchNorm holding a layer's running statistics (all `bn_discrepancy` reads)."""
    norm = nn.BatchNorm1d(tensors["running_mean"].shape[0])
    norm.load_state_dict({k: tensors[k].float() for k in ("running_mean", "running_var")}, strict=False)
    return norm


def bn_discrepancy(y: torch.Tensor, norm: nn.modules.batchnorm._BatchNorm) -> float:
    """Symmetric KL between per-channel Gaussians: batch statistics of y (N, C, ...) vs the running statistics."""
    return bn_fit(y, norm, normalize=False)[0]


def bn_misfit(mean: torch.Tensor, var: torch.Tensor, norm: nn.modules.batchnorm._BatchNorm) -> float:
    """Symmetric KL between per-channel Gaussians with batch statistics (mean, var) (C,) and the running ones."""
    assert norm.running_mean is not None and norm.running_var is not None, "a BatchNorm that tracks running stats"
    run_var, var = norm.running_var + 1e-5, var + 1e-5
    gap = (mean - norm.running_mean) ** 2
    return float((0.5 * ((var + gap) / run_var + (run_var + gap) / var) - 1).mean())


def bn_fit(
    y: torch.Tensor, norm: nn.modules.batchnorm._BatchNorm, normalize: bool = True
) -> tuple[float, Optional[torch.Tensor]]:
    """(`bn_discrepancy` of y, y normalised by its own batch statistics as in training), sharing one pass over y."""
    dims = [0] + list(range(2, y.dim()))
    shape = [1, -1] + [1] * (y.dim() - 2)
    mean = y.mean(dim=dims)  # (C,)
    centered = y - mean.view(shape)
    var = centered.square().mean(dim=dims)  # (C,) biased, as BatchNorm normalises in training
    misfit = bn_misfit(mean, var, norm)
    if not normalize:
        return misfit, None
    scale = torch.rsqrt(var + norm.eps)
    if norm.weight is not None:
        scale = scale * norm.weight
    if norm.bias is None:
        return misfit, centered * scale.view(shape)
    return misfit, torch.addcmul(norm.bias.view(shape), centered, scale.view(shape))


def initial_statistics(state_dict: Mapping[str, torch.Tensor]) -> bool:
    """Every BatchNorm's running statistics are still the initial mean 0, variance 1 (a net never run in training
    mode, or an EMA copy whose buffers were never updated): they tell nothing."""
    means = [v for k, v in state_dict.items() if k.endswith("running_mean")]
    variances = [v for k, v in state_dict.items() if k.endswith("running_var")]
    return bool(means) and all(bool((m == 0).all()) for m in means) and all(bool((v == 1).all()) for v in variances)


def check_statistics_informative(state_dict: Mapping[str, torch.Tensor], what: str, options: str) -> None:
    """Refuse to identify anything from statistics that are still the initial ones, saying what to give instead."""
    if initial_statistics(state_dict):  # the layout is this adapter's; its details cannot be decided
        raise AmbiguousWeightsError(
            f"every BatchNorm of this {what} still holds its initial running statistics (mean 0, variance 1; an "
            "EMA copy whose buffers were never updated?), so they cannot tell what the weights do not store; load "
            f"the trained weights beside it (FILE#KEY, e.g. #g instead of #g_ema), or give {options}"
        )


def normalise_as_in_training(y: torch.Tensor, norm: nn.Module, misfits: list[float]) -> torch.Tensor:
    """At a BatchNorm: record how far the probe batch's statistics of `y` are from the layer's running ones, then
    normalise `y` by its own batch statistics, as training did. Any other layer passes `y` through."""
    if not isinstance(norm, nn.modules.batchnorm._BatchNorm):
        return y
    misfits.append(bn_discrepancy(y, norm))
    return nn.functional.batch_norm(y, None, None, norm.weight, norm.bias, True, 0.0, norm.eps)
