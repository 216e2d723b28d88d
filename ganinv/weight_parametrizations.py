"""Weights stored as a torch parametrization's pieces, folded into the weights the module computes from them.

`torch.nn.utils.spectral_norm` / `weight_norm` and their `torch.nn.utils.parametrizations` successors keep a
layer's weight as the pieces it is computed from, and a state dict holds those pieces, not the weight:

- **spectral norm**: `W_orig`, `u`, `v` (`X.weight_orig`, `X.weight_u`, `X.weight_v`; or
  `X.parametrizations.weight.original`, `X.parametrizations.weight.0._u`, `..._v`). In eval mode the module uses
  `W = W_orig / (u . (M v))` with the stored `u`, `v`, where `M` is `W_orig` with dimension `dim` first, flattened
  to `(W.shape[dim], -1)`: `dim` is 1 for transposed convolutions and 0 otherwise, read here from `u`'s length, and
  where both have that length (a square layer), from which of the two matrices `u`, `v` are the singular vectors
  of; where neither is clearly, the file is refused.
- **weight norm**: `g`, `v` (`X.weight_g`, `X.weight_v`; or `X.parametrizations.weight.original0`, `original1`):
  `W = g * v / |v|`, the norm taken over every dimension but the one where `g` is not 1.

Folding gives the state dict of the same module without the parametrization, which is what the adapters read. An
unknown or stacked parametrization is refused, naming how to remove it before saving.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from typing import Mapping

import torch

from ganinv.architectures import DamagedWeightsError
from ganinv.errors import ArchitectureError

logger = logging.getLogger(__name__)

PARAMETRIZED = re.compile(r"^(?:(.*)\.)?parametrizations\.([^.]+)\.(.+)$")  # (layer, tensor name, piece)
CONVERGED = 0.999  # cos(u, M v) after the module's last power iteration: 1 up to the optimizer step that followed
UNRELATED = 0.99  # ... and for the other dimension's matrix, which u, v are not the singular vectors of
REMOVE_HINT = (
    "remove it from the trained model before saving (torch.nn.utils.remove_spectral_norm / remove_weight_norm, or "
    "torch.nn.utils.parametrize.remove_parametrizations(layer, 'weight')), then save its state_dict; or load "
    "the file with --model-class and the generator's own class"
)


def fold_parametrizations(state_dict: Mapping[str, torch.Tensor], where: str) -> dict[str, torch.Tensor]:
    """`state_dict` with every spectral-norm and weight-norm layer's pieces replaced by its computed weight."""
    out = dict(state_dict)
    folded: Counter[str] = Counter()
    for key in [k for k in state_dict if k.endswith("_orig") and k[: -len("orig")] + "u" in state_dict]:
        base = key[: -len("_orig")]
        out.pop(key), out.pop(base + "_u")
        if base + "_v" not in state_dict and base in state_dict:
            continue  # the pre-1.0 torch format also stored the computed weight itself: use it
        if base + "_v" not in state_dict:
            raise ArchitectureError(f"{where}: {key} has no {base}_v to fold its spectral norm with; {REMOVE_HINT}")
        w, u, v = state_dict[key], state_dict[base + "_u"], out.pop(base + "_v")
        out[base] = spectral_normalised(w, u, v, f"{where}: {key}", (f"{base}_u", f"{base}_v"))
        folded["spectral norm"] += 1
    for key in [k for k in state_dict if k.endswith("_g") and k[: -len("g")] + "v" in out]:
        base = key[: -len("_g")]
        g, v = out.pop(key), out.pop(base + "_v")
        out[base] = weight_normalised(g, v, f"{where}: {key}")
        folded["weight norm"] += 1
    for name, pieces in parametrized_groups(out).items():
        for piece in pieces:
            out.pop(f"{name_prefix(name)}parametrizations.{name.rpartition('.')[2]}.{piece}")
        kind, weight = fold_group(name, pieces, f"{where}: {name}")
        out[name] = weight
        folded[kind] += 1
    if folded:
        said = ", ".join(f"{kind} of {n} layer{'s' if n > 1 else ''}" for kind, n in folded.items())
        logger.info("%s: folded the %s into plain weights, as the module computes them in eval mode", where, said)
    return out


def name_prefix(name: str) -> str:
    layer = name.rpartition(".")[0]
    return layer + "." if layer else ""


def parametrized_groups(state_dict: Mapping[str, torch.Tensor]) -> dict[str, dict[str, torch.Tensor]]:
    """{"layer.weight": {"original": ..., "0._u": ..., "0._v": ...}} for each parametrized tensor."""
    groups: dict[str, dict[str, torch.Tensor]] = {}
    for key, tensor in state_dict.items():
        found = PARAMETRIZED.match(key)
        if found:
            layer, tensor_name, piece = found.groups()
            groups.setdefault(f"{layer}.{tensor_name}" if layer else tensor_name, {})[piece] = tensor
    return groups


def fold_group(name: str, pieces: Mapping[str, torch.Tensor], where: str) -> tuple[str, torch.Tensor]:
    if set(pieces) == {"original", "0._u", "0._v"}:
        u_v = (f"{name}.0._u", f"{name}.0._v")
        return "spectral norm", spectral_normalised(pieces["original"], pieces["0._u"], pieces["0._v"], where, u_v)
    if set(pieces) == {"original0", "original1"}:
        return "weight norm", weight_normalised(pieces["original0"], pieces["original1"], where)
    raise ArchitectureError(
        f"{where} is computed by a parametrization ganinv does not know (stored pieces: "
        f"{', '.join(sorted(pieces))}; it reads spectral norm and weight norm, one per tensor); {REMOVE_HINT}"
    )


def spectral_normalised(
    w: torch.Tensor, u: torch.Tensor, v: torch.Tensor, where: str, names: tuple[str, str]
) -> torch.Tensor:
    """W_orig / (u . (M v)) in float64, returned in at least float32: the author's module divides in its own
    float32 even when the file is bf16 or fp16, and rounding back to the file's dtype would differ from it."""
    w64, u64, v64 = w.double(), u.double().reshape(-1), v.double().reshape(-1)
    matrix = spectral_matrix(w64, u64, v64, where, names)
    sigma = torch.dot(u64, matrix @ v64)
    if not torch.isfinite(sigma) or sigma <= 0:
        raise DamagedWeightsError(
            f"{where}: the spectral norm from its stored u, v is {float(sigma)}, which no trained layer has: the "
            "weights are damaged; download the file again or re-save it from the trained model"
        )
    return (w64 / sigma).to(torch.promote_types(w.dtype, torch.float32))


def spectral_matrix(
    w: torch.Tensor, u: torch.Tensor, v: torch.Tensor, where: str, names: tuple[str, str]
) -> torch.Tensor:
    """W_orig as the matrix M whose singular vectors u, v are: the dimension whose size is u's length first."""
    # torch takes dimension 1 for transposed convolutions and 0 for every other layer
    dims = [d for d in (0, 1) if d < w.dim() and w.shape[d] == u.numel() and w.numel() == u.numel() * v.numel()]
    if w.dim() < 2 or not dims:
        raise DamagedWeightsError(
            f"{where} {tuple(w.shape)} cannot be folded with {names[0]} {tuple(u.shape)} and {names[1]} "
            f"{tuple(v.shape)}: spectral "
            "norm stores u as the size of dimension 0 (1 for a transposed convolution) and v as the product of the "
            "others; the file is damaged"
        )
    matrices = {d: w.movedim(d, 0).reshape(w.shape[d], -1) for d in dims}
    if len(dims) == 1 or torch.equal(matrices[0], matrices[1]):  # one fits, or both are the same (1 x 1 channels)
        return matrices[dims[0]]
    # two dimensions of u's size (a square layer): u = M v / |M v| after the power iteration the module ran last
    fits = {d: float(torch.nn.functional.cosine_similarity(u, m @ v, dim=0)) for d, m in matrices.items()}
    ranked = sorted(fits, key=fits.__getitem__, reverse=True)
    if fits[ranked[0]] >= CONVERGED and fits[ranked[1]] < UNRELATED:
        return matrices[ranked[0]]
    raise ArchitectureError(
        f"{where} {tuple(w.shape)}: which dimension its spectral norm is taken over cannot be told (dimensions "
        f"{', '.join(map(str, dims))} have u's length, and u, v fit "
        + ", ".join(f"dimension {d} with cos {fits[d]:.3f}" for d in ranked)
        + f": they never converged, or the layer was not trained); {REMOVE_HINT}"
    )


def weight_normalised(g: torch.Tensor, v: torch.Tensor, where: str) -> torch.Tensor:
    """g * v / |v|, the norm over every dimension but the one g keeps (all of them when g is a scalar)."""
    if g.numel() == 1:
        norm = v.double().norm()
    elif g.dim() == v.dim() and sum(size != 1 for size in g.shape) == 1:
        kept = next(d for d, size in enumerate(g.shape) if size != 1)
        if g.shape[kept] != v.shape[kept]:
            raise DamagedWeightsError(
                f"{where}: g {tuple(g.shape)} does not fit v {tuple(v.shape)}; the file is damaged"
            )
        others = [d for d in range(v.dim()) if d != kept]
        norm = torch.linalg.vector_norm(v.double(), dim=others, keepdim=True)
    else:
        raise ArchitectureError(
            f"{where}: weight norm's g {tuple(g.shape)} and v {tuple(v.shape)} are not one norm per slice of one "
            f"dimension; {REMOVE_HINT}"
        )
    if not bool((norm > 0).all()):
        raise DamagedWeightsError(f"{where}: weight norm's v has a slice of norm 0; the weights are damaged")
    return (g.double() * v.double() / norm).to(torch.promote_types(v.dtype, torch.float32))
