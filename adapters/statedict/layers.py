"""Layers of a foreign state dict: tensors grouped by module prefix, what kind of layer each prefix is, and the
renaming into an adapter's own keys."""

from __future__ import annotations

import re
from typing import Mapping, Sequence

import torch

from ganinv.errors import ArchitectureError
from ganinv.weight_files import layers_of

group_modules = layers_of  # {"main.0.weight": w} -> {"main.0": {"weight": w}}, in order


def kind_of(prefix: str, tensors: Mapping[str, torch.Tensor]) -> str:
    """ "norm", "conv" (any 4-D weight), "linear", "embedding" (a bias-free 2-D weight named like one) or "unknown"."""
    weight = tensors.get("weight")
    if "running_mean" in tensors:
        if weight is None or "bias" not in tensors:
            raise ArchitectureError(
                f"BatchNorm {prefix} has running statistics but no weight and bias (affine=False), which ganinv's "
                "adapters do not build; load the file into the generator's own class with --model-class MODULE:CLASS"
            )
        return "norm"
    if weight is None:
        return "unknown"
    if weight.dim() == 4:
        return "conv"
    if weight.dim() == 2:
        label_like = any(word in prefix.lower() for word in ("emb", "label", "class"))
        return "embedding" if label_like and "bias" not in tensors else "linear"
    return "unknown"


def natural_key(prefix: str) -> list:
    """ "main.10" after "main.9": digit runs compare as numbers."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", prefix)]


def rename_modules(
    modules: Mapping[str, Mapping[str, torch.Tensor]], names: Mapping[str, str]
) -> dict[str, torch.Tensor]:
    """A state dict with module `prefix` renamed `names[prefix]`; BatchNorm counters added where missing."""
    out: dict[str, torch.Tensor] = {}
    for prefix, name in names.items():
        tensors = dict(modules[prefix])
        if "running_mean" in tensors:  # checkpoints older than PyTorch 0.4 lack the counter
            tensors.setdefault("num_batches_tracked", torch.tensor(0, dtype=torch.long))
        out.update({f"{name}.{k}": v for k, v in tensors.items()})
    return out


def describe_tensors(modules: Mapping[str, Mapping[str, torch.Tensor]], prefixes: Sequence[str]) -> str:
    """ "main.5.weight (3, 3, 3), extra.w (2,)": the tensors an error is about, by name and shape."""
    return ", ".join(
        f"{f'{p}.' if p else ''}{name} {tuple(t.shape)}" for p in prefixes for name, t in modules[p].items()
    )  # a top-level tensor without a stray dot
