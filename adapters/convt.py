"""Transposed-convolution generators from any state dict layout (shared by `dcgan` and `wgan_gp`).

The DCGAN generator (Radford et al.) and the WGAN-GP generator of Gulrajani et al. are one
machine: `z` (and a class label), either reshaped to `(nz, 1, 1)` or mapped by a Linear layer
to a small feature map, then stages of ConvTranspose2d -> [BatchNorm2d] -> ReLU, the last
ending in Tanh (or Sigmoid). This file holds that machine once:

- `ConvTOptions` / `ConvTNet`: the native module, with ganinv's own key names
  (`embed`, `head`, `head_norm`, `stages.<i>.conv`, `stages.<i>.norm`).
- `read_layout`: finds those layers in a state dict saved by another codebase from tensor
  shapes and order, whatever its key names (`main.3.weight`, `gen.1.0.weight`,
  `deconv2_bn.running_var`, `main.pyramid:512-256:convt.weight`, `block1.0.weight`, ...).
- `infer_geometry`: strides and paddings are not stored in a state dict. Among the choices
  that reach the image size, the BatchNorm running statistics decide: they are the batch
  statistics the net saw in training, so the geometry whose statistics on a probe batch
  match them best is the geometry it was trained with.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass
from itertools import permutations, product
from typing import Any, Callable, ClassVar, Iterable, Mapping, Optional, cast

import torch
from torch import nn

from ganinv.architectures import DECISIONS, AmbiguousWeightsError, Architecture, decision, load_weights
from ganinv.errors import ArchitectureError
from ganinv.spec import GeneratorSpec, Prior
from ganinv.weight_files import state_dict_sha256

from .statedict import (
    DECIDED_RATIO,
    MAX_CODES,
    NO_LINEAR_VIEW,
    POOR_FIT,
    POOR_FIT_SAID,
    PRIOR_PROBES,
    Candidate,
    Property,
    activation_and_eps,
    bn_discrepancy,
    bn_fit,
    bn_misfit,
    cached_search,
    check_statistics_informative,
    codes_beside,
    describe_tensors,
    fmt,
    group_modules,
    identify,
    initial_statistics,
    input_means,
    kind_of,
    label_fits,
    label_order,
    label_use,
    natural_key,
    no_normalisation,
    normalise_as_in_training,
    one_hot_run,
    onehot_condition,
    option_flag,
    prior_decision,
    prior_mean,
    prior_parts,
    prior_probe,
    prior_scale_check,
    probe_inputs,
    rename_modules,
    unnamed_label,
    unread_inputs,
    visible_epsilons,
)

# Image sides tried when none is given: the first tier that some geometry reaches, in this order.
PREFERRED_SIZES = ((28, 32, 64, 48, 96), (128, 16), (256, 512))  # 48, 96: STL-10 and anime-face DCGANs


@dataclass
class ConvTOptions:
    nz: int = 100  # noise size
    channels: int = 3  # image channels
    resolution: int = 64  # image side; sets the reference geometry when none is given
    width: int = 64  # channels of the last hidden stage (ngf, DIM), doubled towards the first
    widths: tuple[int, ...] = ()  # output channels of every stage, image channels last; () = from width
    kernels: tuple[int, ...] = ()  # kernel side of every stage; () = reference geometry
    strides: tuple[int, ...] = ()  # () = reference geometry, or inferred from the weights
    paddings: tuple[int, ...] = ()
    output_paddings: tuple[int, ...] = ()  # () = all 0
    crops: tuple[int, ...] = ()  # crop the map to this side after a stage, 0 = no crop (caogang gan_mnist: 7,0,0)
    # stages that are stride-1 Conv2d layers, not transposed ones (WassersteinGAN's DCGAN_G extra layers, a last
    # refinement conv): their weights are stored (C_out, C_in, k, k), and each runs as the ConvTranspose2d it equals,
    # so its `paddings` entry is the transposed one, k - 1 - p for the author's padding p
    conv2d_stages: tuple[int, ...] = ()
    bias: bool = False  # the hidden transposed convolutions have a bias
    last_bias: bool = False  # the last one has a bias (often alone: bias=False with last_bias=True)
    norm: str = "batch"  # "batch": BatchNorm2d after every stage but the last; "none"
    norm_eps: float = 1e-5  # BatchNorm eps (state dicts do not store it)
    activation: str = "relu"  # hidden activation: "relu" or "leaky_relu" (slope 0.2)
    output: str = "tanh"  # last activation: "tanh", "sigmoid" (images in [0, 1]) or "none"
    head: str = "none"  # "none": z enters as (nz, 1, 1); "linear": Linear to (head_channels, head_size, head_size)
    # widths of fully connected layers before the head (InfoGAN's MNIST generator: 1024), each followed by the head's
    # norm and the hidden activation
    trunk: tuple[int, ...] = ()
    trunk_bias: bool = True
    head_channels: int = 0  # channels of the head's map; 0 = twice the first stage's
    head_size: int = 0  # side of the head's map; 0 = the first map of the reference geometry (4, or 7 for 28)
    head_bias: bool = True
    # "none"; "batch", BatchNorm1d on the flat head output (caogang gan_cifar10); "batch2d", BatchNorm2d on the first
    # map, the head's output reshaped (carpedm20/DCGAN-tensorflow and Keras Dense -> Reshape -> BatchNormalization
    # ports)
    head_norm: str = "none"
    # how the Linear head's output becomes the first map: "chw", view(N, C, S, S) as PyTorch code does, or "hwc",
    # view(N, S, S, C) then channels first, as ports of Keras's Reshape do; read from the stages' statistics
    head_layout: str = "chw"
    n_classes: int = 0  # K: class-conditional when > 0
    condition: str = "embedding"  # label vector beside z: "embedding" (d @ Embedding(K, E).weight) or "onehot" (d);
    # "multiply": z * (d @ Embedding(K, nz).weight) (PyTorch-GAN acgan style)
    embed_dim: int = 0  # 0 = K
    condition_first: bool = False  # the label vector goes before z in the concatenation
    nc: int = 0  # continuous codes c concatenated beside z and the label (InfoGAN: cat(z, d, c))
    # the native prior of c: "uniform" U(-1, 1), as InfoGAN draws its codes (the contract's standard-normal c is
    # mapped through 2 Phi(c) - 1, docs/algorithms.md §1), or "normal"
    code_prior: str = "uniform"
    # the order of z, the label vector d and the codes c in the concatenation ("zdc", "dzc", ...); "" = z and d as
    # condition_first says, c last
    input_order: str = ""
    # the native latent prior: "normal" N(0, I), "uniform" U(-1, 1) or "uniform01" U(0, 1); a state dict does not
    # store it, the first BatchNorm's statistics tell (`check_against_statistics`); or the user's --prior as
    # FAMILY[:LO,HI][*SCALE] (`statedict.prior_option`), e.g. "truncated_normal:-2,2", which the probes draw from
    prior: str = "normal"
    any_prior: ClassVar[bool] = True  # PriorFromSpec: any prior the user gives is this option
    # rows of a label embedding (K x nz) that the file holds but the generator never uses (PyTorch-GAN sgan defines
    # `label_emb` for nothing): held so that the file loads as saved, never applied (n_classes is then 0)
    unused_embedding: int = 0


# ---- geometry -----------------------------------------------------------------------------


def start_size(resolution: int) -> tuple[int, int]:
    """(first map side, number of x2 stages): 28 -> (7, 2), 32 -> (4, 3), 64 -> (4, 4)."""
    size, n_up = resolution, 0
    while size > 7 and size % 2 == 0:
        size, n_up = size // 2, n_up + 1
    if n_up == 0:
        raise ArchitectureError(f"resolution {resolution} cannot be reached by doubling; use e.g. 28, 32, 64 or 128")
    return size, n_up


def out_size(size: int, kernel: int, stride: int, padding: int, output_padding: int = 0) -> int:
    return (size - 1) * stride - 2 * padding + kernel + output_padding


def complete(o: ConvTOptions) -> ConvTOptions:
    """Fill widths, kernels, strides, paddings, output paddings and crops (reference geometry where empty).

    Reference geometry: with head "none", a first stage of kernel S0 (1 -> S0), with head "linear"
    a Linear to an S0 x S0 map; then stages of kernel 4, stride 2, padding 1 doubling S0 up to
    the resolution (64: 1 -> 4 -> 8 -> 16 -> 32 -> 64, as in the PyTorch DCGAN example).
    """
    n_first = 1 if o.head == "none" else 0  # the stage that turns (nz, 1, 1) into the first map
    size, n_up = start_size(o.resolution) if not (o.widths and o.kernels) else (0, 0)
    widths = tuple(o.widths) or tuple(o.width * 2**i for i in reversed(range(n_up + n_first - 1))) + (o.channels,)
    n = len(widths)
    kernels = tuple(o.kernels) or (size,) * n_first + (4,) * (n - n_first)
    strides = tuple(o.strides) or (1,) * n_first + (2,) * (n - n_first)
    paddings = tuple(o.paddings) or (0,) * n_first + (1,) * (n - n_first)
    output_paddings = tuple(o.output_paddings) or (0,) * n
    crops = tuple(o.crops) or (0,) * n
    for name, values in (
        ("kernels", kernels),
        ("strides", strides),
        ("paddings", paddings),
        ("output_paddings", output_paddings),
        ("crops", crops),
    ):
        if len(values) != n:
            raise ArchitectureError(
                f"{name}={','.join(map(str, values))} has {len(values)} entries but there are "
                f"{n} stages (widths {','.join(map(str, widths))}); give one per stage"
            )
    head_channels = o.head_channels or 2 * widths[0]
    head_size = (o.head_size or size) if o.head == "linear" else 1
    return dataclasses.replace(
        o,
        widths=widths,
        kernels=kernels,
        strides=strides,
        paddings=paddings,
        output_paddings=output_paddings,
        crops=crops,
        channels=widths[-1],
        head_channels=head_channels if o.head == "linear" else 0,
        head_size=head_size,
        embed_dim=o.embed_dim or o.n_classes,
        resolution=image_side(head_size, kernels, strides, paddings, output_paddings, crops),
    )


def image_side(size: int, kernels, strides, paddings, output_paddings, crops) -> int:
    for k, s, p, op, crop in zip(kernels, strides, paddings, output_paddings, crops):
        size = out_size(size, k, s, p, op)
        size = min(size, crop) if crop else size
    return size


# ---- the native module ------------------------------------------------------------------------


def activation(name: str) -> nn.Module:
    """ "relu", "leaky_relu" (slope 0.2, DCGAN's), "leaky_relu:SLOPE" (e.g. 0.01, PyTorch's default; 0.3, Keras's),
    "gelu", "silu", "elu", "mish", "tanh", "sigmoid" or "none"."""
    modules: dict[str, Callable[[], nn.Module]] = {
        "relu": nn.ReLU,
        "leaky_relu": lambda: nn.LeakyReLU(0.2),
        "gelu": nn.GELU,
        "silu": nn.SiLU,
        "elu": nn.ELU,
        "mish": nn.Mish,
        "tanh": nn.Tanh,
        "sigmoid": nn.Sigmoid,
        "none": nn.Identity,
    }
    family, _, slope = name.partition(":")
    if family == "leaky_relu" and slope:
        return nn.LeakyReLU(leaky_slope(name))
    if name not in modules:
        raise ArchitectureError(f"unknown activation {name!r}; use one of {', '.join(modules)} or leaky_relu:SLOPE")
    return modules[name]()


def leaky_slope(name: str) -> float:
    """The negative slope an activation name stands for: 0 for relu, 0.2 for leaky_relu, S for leaky_relu:S."""
    if name == "relu":
        return 0.0
    family, _, text = name.partition(":")
    if family != "leaky_relu":
        raise ArchitectureError(f"{name!r} has no negative slope")
    try:
        slope = float(text) if text else 0.2
    except ValueError:
        slope = float("nan")
    if not 0 <= slope < 1:
        raise ArchitectureError(f"activation {name!r}: the slope must be a number in [0, 1), e.g. leaky_relu:0.01")
    return slope


def as_transposed(weight: torch.Tensor) -> torch.Tensor:
    """A stride-1 Conv2d's weight (C_out, C_in, k, k) as the ConvTranspose2d weight (C_in, C_out, k, k) computing the
    same map (with padding k - 1 - p): channels swapped, kernel flipped. Its own inverse."""
    return weight.transpose(0, 1).flip(2, 3)


class ConvAsTransposed(nn.ConvTranspose2d):
    """A stride-1 `Conv2d(c_in, c_out, k, padding=k - 1 - p)` held as the `ConvTranspose2d(c_in, c_out, k, padding=p)`
    it equals, so that the geometry search and the forward treat it like every other stage. Its state dict keeps the
    Conv2d's layout, as the author's file holds it."""

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        if prefix + "weight" in state_dict:  # torch passes a copy of the dict: replacing an entry is local
            state_dict[prefix + "weight"] = as_transposed(state_dict[prefix + "weight"])
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        super()._save_to_state_dict(destination, prefix, keep_vars)
        destination[prefix + "weight"] = as_transposed(destination[prefix + "weight"])


class UpStage(nn.Module):
    """ConvTranspose2d (or a stride-1 Conv2d, as the transposed convolution it equals) -> [crop] -> BatchNorm2d or
    nothing -> activation."""

    def __init__(
        self,
        c_in: int,
        c_out: int,
        kernel: int,
        stride: int,
        padding: int,
        output_padding: int,
        bias: bool,
        crop: int,
        norm: bool,
        eps: float,
        act: str,
        conv2d: bool = False,
    ):
        super().__init__()
        if conv2d and (stride, output_padding) != (1, 0):
            raise ArchitectureError(
                f"a Conv2d stage ({c_in} -> {c_out} channels) is modelled at stride 1 only, not stride {stride}"
            )
        layer = ConvAsTransposed if conv2d else nn.ConvTranspose2d
        self.conv = layer(c_in, c_out, kernel, stride, padding, output_padding, bias=bias)
        self.crop = crop
        self.norm = nn.BatchNorm2d(c_out, eps=eps) if norm else nn.Identity()
        self.act = activation(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)  # (B, c_out, H', W')
        if self.crop:
            x = x[:, :, : self.crop, : self.crop]
        return self.act(self.norm(x))


def joined_inputs(
    o: ConvTOptions,
    embedding: Optional[torch.Tensor],
    z: torch.Tensor,
    d: Optional[torch.Tensor] = None,
    c: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """What the first layer takes under options `o`: z with the label (`d`, or `d @ embedding`) and the codes beside
    it, in `o`'s order; or z multiplied by the label's embedding. (N, nz + E + nc)."""
    parts = {"z": z.flatten(1)}  # (N, nz)
    if o.n_classes:
        assert d is not None, "a class-conditional generator needs its one-hot d"
        label = d @ embedding if embedding is not None else d  # (N, E): a soft one-hot stays differentiable
        if o.condition == "multiply":
            parts["z"] = parts["z"] * label  # (N, nz)
        else:
            parts["d"] = label
    if o.nc:
        assert c is not None, "a generator with continuous codes needs c"
        parts["c"] = 2 * torch.special.ndtr(c) - 1 if o.code_prior == "uniform" else c  # (N, nc)
    order = o.input_order or ("dzc" if o.condition_first else "zdc")
    return torch.cat([parts[p] for p in order if p in parts], dim=1)


class ConvTNet(nn.Module):
    """Native module `net(z, c, d)`: z (N, nz[, 1, 1]), d (N, K) one-hot or soft -> images (N, C, H, W)."""

    def __init__(self, o: ConvTOptions):
        super().__init__()
        self.o = o = complete(o)
        if o.n_classes and o.condition not in ("embedding", "onehot", "multiply"):
            raise ArchitectureError(f"condition must be 'embedding', 'onehot' or 'multiply', got {o.condition!r}")
        prior_parts(o.prior)  # a prior no probe can draw is refused here
        if o.code_prior not in ("uniform", "normal"):
            raise ArchitectureError(f"code_prior must be uniform or normal, got {o.code_prior!r}")
        if o.input_order and sorted(o.input_order) != ["c", "d", "z"]:
            raise ArchitectureError(f"input_order must order the letters z, d and c (e.g. zdc), got {o.input_order!r}")
        embeds = o.n_classes and o.condition in ("embedding", "multiply")
        self.embed = nn.Embedding(o.n_classes, o.nz if o.condition == "multiply" else o.embed_dim) if embeds else None
        if self.embed is None and o.unused_embedding:  # never applied: joined_inputs reads a label only by n_classes
            self.embed = nn.Embedding(o.unused_embedding, o.nz)
        label_dim = (o.embed_dim if self.embed is not None else o.n_classes) if o.n_classes else 0
        label_dim = 0 if o.condition == "multiply" else label_dim
        n_in = o.nz + label_dim + o.nc
        self.head: Optional[nn.Linear] = None
        self.head_norm: Optional[nn.modules.batchnorm._BatchNorm] = None
        self.trunk = nn.ModuleList()
        self.trunk_norms = nn.ModuleList()
        if o.trunk and o.head != "linear":
            raise ArchitectureError("fully connected layers before the first map (trunk) need head=linear")
        for width in o.trunk:
            self.trunk.append(nn.Linear(n_in, width, bias=o.trunk_bias))
            if o.head_norm != "none":
                self.trunk_norms.append(nn.BatchNorm1d(width, eps=o.norm_eps))
            n_in = width
        c_in = n_in
        if o.head_norm not in ("none", "batch", "batch2d"):
            raise ArchitectureError(f"head_norm must be none, batch or batch2d, got {o.head_norm!r}")
        if o.head == "linear":
            self.head = nn.Linear(n_in, o.head_channels * o.head_size**2, bias=o.head_bias)
            if o.head_norm == "batch":
                self.head_norm = nn.BatchNorm1d(self.head.out_features, eps=o.norm_eps)
            elif o.head_norm == "batch2d":
                self.head_norm = nn.BatchNorm2d(o.head_channels, eps=o.norm_eps)
            self.head_act = activation(o.activation)
            c_in = o.head_channels
        elif o.head != "none":
            raise ArchitectureError(f"head must be 'none' or 'linear', got {o.head!r}")
        if o.head_layout not in ("chw", "hwc"):
            raise ArchitectureError(f"head_layout must be chw or hwc, got {o.head_layout!r}")
        if o.norm not in ("batch", "none"):
            raise ArchitectureError(f"norm must be 'batch' or 'none', got {o.norm!r}")
        if any(not 0 <= i < len(o.widths) for i in o.conv2d_stages):
            raise ArchitectureError(
                f"conv2d_stages={','.join(map(str, o.conv2d_stages))}: stages are numbered 0 to {len(o.widths) - 1}"
            )
        self.stages = nn.ModuleList()
        for i, c_out in enumerate(o.widths):
            last = i == len(o.widths) - 1
            self.stages.append(
                UpStage(
                    c_in,
                    c_out,
                    o.kernels[i],
                    o.strides[i],
                    o.paddings[i],
                    o.output_paddings[i],
                    bias=o.last_bias if last else o.bias,
                    crop=o.crops[i],
                    norm=o.norm == "batch" and not last,
                    eps=o.norm_eps,
                    act=o.output if last else o.activation,
                    conv2d=i in o.conv2d_stages,
                )
            )
            c_in = c_out

    def first_input(
        self, z: torch.Tensor, d: Optional[torch.Tensor] = None, c: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        """z with the label and the codes beside it (the label may multiply z instead): (N, nz + E + nc)."""
        return joined_inputs(self.o, None if self.embed is None else self.embed.weight, z, d, c)

    def head_output(
        self, z: torch.Tensor, d: Optional[torch.Tensor] = None, c: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        """What the first stage sees: (N, C0, S0, S0)."""
        h = self.first_input(z, d, c)
        if self.head is None:
            return h[:, :, None, None]  # (N, nz + E, 1, 1)
        h = self.head(self.through_trunk(h))  # (N, C0 * S0 * S0)
        if self.head_norm is None:
            return self.head_act(self.first_map(h))
        if isinstance(self.head_norm, nn.BatchNorm2d):  # on the map
            return self.head_act(self.head_norm(self.first_map(h)))
        return self.head_act(self.first_map(self.head_norm(h)))

    def through_trunk(self, h: torch.Tensor, misfits: Optional[list[float]] = None) -> torch.Tensor:
        """The fully connected layers before the head: (N, nz + E + nc) -> (N, trunk[-1]). With `misfits`, each
        BatchNorm records its misfit and normalises by the batch's own statistics, as in training."""
        for i, linear in enumerate(self.trunk):
            h = linear(h)
            if len(self.trunk_norms):
                norm = self.trunk_norms[i]
                h = norm(h) if misfits is None else normalise_as_in_training(h, norm, misfits)
            h = self.head_act(h)
        return h

    def first_map(self, h: torch.Tensor) -> torch.Tensor:
        """The Linear head's output (N, C0 * S0 * S0) as the first map (N, C0, S0, S0)."""
        side = self.o.head_size
        if self.o.head_layout == "hwc":
            return h.view(h.shape[0], side, side, self.o.head_channels).permute(0, 3, 1, 2)
        return h.view(h.shape[0], self.o.head_channels, side, side)

    def forward(
        self, z: torch.Tensor, c: Optional[torch.Tensor] = None, d: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        h = self.head_output(z, d, c)
        for stage in self.stages:
            h = stage(h)
        return h  # (N, C, H, W)

    def spec(self) -> GeneratorSpec:
        o = self.o
        kind, bounds, scale = prior_parts(o.prior)  # checked in ConvTNet.__init__
        return GeneratorSpec(
            nz=o.nz,
            image_shape=(o.channels, o.resolution, o.resolution),
            n_classes=o.n_classes,
            nc=o.nc,
            native_latent_shape=(o.nz, 1, 1) if o.head == "none" else None,
            native_output_range=(0.0, 1.0) if o.output == "sigmoid" else (-1.0, 1.0),
            native_prior=cast(Prior, kind),
            native_prior_range=bounds,
            native_prior_scale=scale,
        )


# ---- reading other codebases' state dicts -----------------------------------------------------


@dataclass
class Layout:
    """The layers of a transposed-convolution generator found in a foreign state dict."""

    modules: dict[str, dict[str, torch.Tensor]]  # source prefix -> {"weight": ..., "running_mean": ...}
    convs: list[str]  # prefixes of the transposed convolutions, in forward order
    norms: list[str]  # BatchNorm2d after each conv but the last (empty: none)
    head: Optional[str] = None  # the Linear layer before the first conv
    head_norm: Optional[str] = None  # BatchNorm1d on the head output, or BatchNorm2d on the first map (head_norm_2d)
    embed: Optional[str] = None  # nn.Embedding of the class label
    trunk: tuple[str, ...] = ()  # Linear layers before the head, in forward order
    trunk_norms: tuple[str, ...] = ()  # a BatchNorm1d after each (empty: none)
    head_norm_2d: bool = False

    def option_values(self) -> dict[str, Any]:
        """Everything the weights determine: sizes, kernels, bias, norms, head, embedding and how it enters."""
        convs = [self.modules[p]["weight"] for p in self.convs]  # (C_in, C_out, k, k)
        values: dict[str, Any] = {
            "widths": tuple(int(w.shape[1]) for w in convs),
            "kernels": tuple(int(w.shape[2]) for w in convs),
            "bias": "bias" in self.modules[self.convs[0]],
            "last_bias": "bias" in self.modules[self.convs[-1]],
            "norm": "batch" if self.norms else "none",
            "head": "linear" if self.head else "none",
        }
        n_in = int(convs[0].shape[0])
        if self.head:
            linear = self.modules[self.head]["weight"]  # (C0 * S0 * S0, n_in)
            values.update(
                head_channels=n_in,
                head_size=round((linear.shape[0] / n_in) ** 0.5),
                head_bias="bias" in self.modules[self.head],
                head_norm=("batch2d" if self.head_norm_2d else "batch") if self.head_norm else "none",
            )
            n_in = int(linear.shape[1])
        if self.trunk:
            trunk = [self.modules[p]["weight"] for p in self.trunk]  # (out, in) each
            values.update(trunk=tuple(int(w.shape[0]) for w in trunk), trunk_bias="bias" in self.modules[self.trunk[0]])
            n_in = int(trunk[0].shape[1])
        if self.embed:
            n_classes, embed_dim = (int(v) for v in self.modules[self.embed]["weight"].shape)
            # An embedding as wide as the first layer's input multiplies z; a narrower one is concatenated to it.
            condition = "multiply" if embed_dim == n_in else "embedding"
            values.update(n_classes=n_classes, embed_dim=embed_dim, condition=condition)
            n_in -= 0 if condition == "multiply" else embed_dim
        values.update(nz=n_in, channels=values["widths"][-1])
        return values

    def canonical_state_dict(self) -> dict[str, torch.Tensor]:
        names = {self.head: "head", self.head_norm: "head_norm", self.embed: "embed"}
        names.update({p: f"trunk.{i}" for i, p in enumerate(self.trunk)})
        names.update({p: f"trunk_norms.{i}" for i, p in enumerate(self.trunk_norms)})
        names.update({p: f"stages.{i}.conv" for i, p in enumerate(self.convs)})
        names.update({p: f"stages.{i}.norm" for i, p in enumerate(self.norms)})
        return rename_modules(self.modules, {p: name for p, name in names.items() if p is not None})


def read_layout(state_dict: Mapping[str, torch.Tensor]) -> Layout:
    """Find embedding, head, transposed convolutions and their BatchNorms; raise ArchitectureError if not such a net.

    Layers are taken in the order the file lists them (registration order for torch.save) or,
    when that does not chain (channels out of one conv = channels into the next), in natural
    key order (safetensors files list keys sorted).
    """
    modules = group_modules(state_dict)
    kinds = {p: kind_of(p, t) for p, t in modules.items()}
    unknown = [p for p, k in kinds.items() if k == "unknown"]
    if unknown:
        raise ArchitectureError(
            f"tensors that are not transposed convolutions, BatchNorms, a Linear head or a "
            f"label embedding: {describe_tensors(modules, unknown[:3])}"
        )
    convs = [p for p in modules if kinds[p] == "conv"]
    embeds = [p for p in modules if kinds[p] == "embedding"]
    if not convs:
        raise ArchitectureError("no transposed-convolution weights (4-D tensors) in the state dict")
    refuse_conditional_norms(modules, kinds)
    if len(embeds) > 1:
        raise ArchitectureError(f"expected at most one label embedding, found {embeds[:3]}")
    errors = []
    for order in (list(modules), sorted(modules, key=natural_key)):
        try:
            return assemble(
                modules,
                [p for p in order if kinds[p] == "conv"],
                [p for p in order if kinds[p] == "norm"],
                [p for p in order if kinds[p] == "linear"],
                embeds[0] if embeds else None,
            )
        except ArchitectureError as exc:
            errors.append(str(exc))
    raise ArchitectureError(errors[-1])


def refuse_conditional_norms(modules: Mapping[str, Mapping[str, torch.Tensor]], kinds: Mapping[str, str]) -> None:
    """An embedding in the same block as a BatchNorm (`b3.embed` beside `b3.bn`) gives that norm a gain and bias
    per class: conditional BatchNorm (SNGAN, BigGAN). Read as a label entering the first layer, it loaded a net of
    another latent size, or one whose embedding multiplies z, images 0.83 off (an outside audit)."""
    norms = {p.rpartition(".")[0]: p for p, kind in kinds.items() if kind == "norm" and "." in p}
    for embed in (p for p, kind in kinds.items() if kind == "embedding" and "." in p):
        norm = norms.get(embed.rpartition(".")[0])
        if norm is not None:
            raise ArchitectureError(
                f"{embed} {tuple(modules[embed]['weight'].shape)} sits in one block with the BatchNorm {norm}: a "
                "conditional BatchNorm (a gain and bias per class, as in SNGAN and BigGAN), which this adapter does "
                "not model; load the generator into its class with --model-class MODULE:CLASS"
            )


def assemble(modules, convs: list[str], norms: list[str], linears: list[str], embed: Optional[str]) -> Layout:
    weights = [modules[p]["weight"] for p in convs]  # (C_in, C_out, k, k)
    for i in range(len(convs) - 2):  # znxlwm's cDCGAN: z and the label maps each through a first layer, concatenated
        if weights[i].shape[1] != weights[i + 1].shape[0] and (
            weights[i].shape[1] + weights[i + 1].shape[1] == weights[i + 2].shape[0]
        ):
            raise ArchitectureError(
                f"{convs[i]} and {convs[i + 1]} are two branches whose outputs are concatenated for {convs[i + 2]} "
                f"({weights[i].shape[1]} + {weights[i + 1].shape[1]} channels; a label branch beside z?): not "
                "modelled by this adapter; load the generator into its class with --model-class MODULE:CLASS"
            )
    for a, b, wa, wb in zip(convs, convs[1:], weights, weights[1:]):
        if wa.shape[1] != wb.shape[0] and wa.shape[1] == wb.shape[1]:  # (C_out, C_in, k, k): a Conv2d's weight
            raise ArchitectureError(
                f"{b}.weight {tuple(wb.shape)} reads as a Conv2d ({wb.shape[1]} -> {wb.shape[0]} channels), not a "
                f"transposed convolution taking the {wa.shape[1]} channels of {a}: Conv2d layers are not modelled "
                "by this adapter; load the generator into its class with --model-class MODULE:CLASS"
            )
        if wa.shape[1] != wb.shape[0]:
            raise ArchitectureError(
                f"the transposed convolutions do not chain: {a}.weight {tuple(wa.shape)} gives "
                f"{wa.shape[1]} channels, {b}.weight {tuple(wb.shape)} takes {wb.shape[0]}"
            )
        if wa.shape[2] != wa.shape[3]:
            raise ArchitectureError(f"{a}.weight {tuple(wa.shape)} is not a square kernel")
    for p, w in zip(convs, weights):
        if "bias" in modules[p] and tuple(modules[p]["bias"].shape) != (w.shape[1],):
            raise ArchitectureError(
                f"{p}.bias {tuple(modules[p]['bias'].shape)} does not fit {p}.weight "
                f"{tuple(w.shape)} ({w.shape[1]} output channels)"
            )
    if 1 < len(linears) <= 5:  # in the order they chain (a safetensors file lists `head` before `trunk.0`)
        linears = next(
            (
                list(order)
                for order in permutations(linears)
                if all(modules[a]["weight"].shape[0] == modules[b]["weight"].shape[1] for a, b in zip(order, order[1:]))
            ),
            linears,
        )
    head = linears[-1] if linears else None  # the Linear layers before it are the trunk, chained
    trunk, trunk_norms = linears[:-1], []
    for a, b in zip(linears, linears[1:]):
        if modules[a]["weight"].shape[0] != modules[b]["weight"].shape[1]:
            raise ArchitectureError(
                f"the Linear layers do not chain: {a}.weight {tuple(modules[a]['weight'].shape)} gives "
                f"{modules[a]['weight'].shape[0]} features, {b}.weight {tuple(modules[b]['weight'].shape)} takes "
                f"{modules[b]['weight'].shape[1]}"
            )
    for p in trunk:  # each one's BatchNorm1d: the first remaining norm of its width
        width = modules[p]["weight"].shape[0]
        norm = next((n for n in norms if modules[n]["weight"].shape[0] == width), None)
        if norm is not None:
            trunk_norms.append(norm)
            norms = [n for n in norms if n != norm]
    head_norm, on_map = None, False
    if head is not None:
        n_out = modules[head]["weight"].shape[0]
        head_norm = next((p for p in norms if modules[p]["weight"].shape[0] == n_out), None)
        if (
            head_norm is None
            and len(norms) == len(convs)
            and modules[norms[0]]["weight"].shape[0] == weights[0].shape[0]
        ):
            head_norm, on_map = norms[0], True  # one BatchNorm more than the stages have: the first map's own
        norms = [p for p in norms if p != head_norm]
        side = (n_out / weights[0].shape[0]) ** 0.5
        if side != int(side):
            raise ArchitectureError(
                f"the Linear head {head}.weight {tuple(modules[head]['weight'].shape)} gives "
                f"{n_out} features, not a square map of {weights[0].shape[0]} channels"
            )
    if norms and len(norms) != len(convs) - 1:
        raise ArchitectureError(
            f"found {len(norms)} BatchNorm layers ({', '.join(norms[:4])}) for {len(convs)} "
            "transposed convolutions; expected one after every convolution but the last"
        )
    for conv, norm, w in zip(convs, norms, weights):
        if modules[norm]["weight"].shape[0] != w.shape[1]:
            raise ArchitectureError(
                f"BatchNorm {norm}.weight has {modules[norm]['weight'].shape[0]} channels but "
                f"{conv}.weight {tuple(w.shape)} gives {w.shape[1]}"
            )
    if trunk_norms and (len(trunk_norms) != len(trunk) or head_norm is None):
        raise ArchitectureError(
            f"BatchNorm after some fully connected layers ({', '.join(trunk_norms)}) but not after all of "
            f"{', '.join(trunk + [head] if head else trunk)}: not modelled by this adapter; load the generator into "
            "its class with --model-class MODULE:CLASS"
        )
    return Layout(modules, convs, norms, head, head_norm, embed, tuple(trunk), tuple(trunk_norms), on_map)


# ---- geometry, activation, eps and label order from BatchNorm statistics -------------------------

Step = tuple[int, int, int]  # (stride, padding, output_padding) of one stage


def convention_cost(size: int, kernel: int, step: Step) -> int:
    """0 for the usual choice (a 1x1 map unpadded, else out = stride * in with no output padding): a tie-breaker."""
    stride, padding, output_padding = step
    unusual = padding > 0 if size == 1 else out_size(size, kernel, *step) != size * stride
    return int(unusual) + int(output_padding > 0)


def candidate_steps(size: int, kernel: int, given: tuple[Optional[int], ...]) -> list[Step]:
    """Choices for one stage (within what the user gave), most conventional first."""
    paddings = range(kernel // 2 + 1) if given[1] is None else (given[1],)  # a given value is tried as given
    if size == 1:  # from a 1x1 map the stride does nothing
        steps = [(given[0] or 1, p, 0) for p in paddings if kernel - 2 * p > 0]
    else:
        strides = (1, 2, 3) if kernel == 3 else (1, 2)  # k3 s3 with output padding appears in WGAN-GP ports
        steps = [
            (s, p, op)
            for s in (strides if given[0] is None else (given[0],))
            for p in paddings
            for op in (range(min(s, 2)) if given[2] is None else (given[2],))
            if out_size(size, kernel, s, p, op) > 0 and op < s
        ]
    steps = [step for step in steps if all(g is None or g == v for g, v in zip(given, step))]
    return sorted(steps, key=lambda t: (convention_cost(size, kernel, t), t[0] != 2, t[1], t[2]))


@torch.no_grad()
def geometry_candidates(
    net: ConvTNet,
    given: list[tuple[Optional[int], ...]],
    target: Optional[int],
    n_probe: int = 128,
    beam: int = 4,
    bound: float = float("inf"),
) -> list[Candidate]:
    """Geometries reaching `target` (or the first tier of usual sides some geometry reaches), with their misfits;
    none once every partial geometry misfits more than `bound` (see `statedict.search`)."""
    tiers = [(target,)] if target else PREFERRED_SIZES
    found: list[Candidate] = []
    for tier, goals in enumerate(tiers):
        try:
            reached = search_geometry(net, goals, given, n_probe, beam, bound)
        except NoGeometryError:
            continue
        found += [dataclasses.replace(c, rank=(c.rank[0], tier, c.rank[1])) for c in reached]
        # a later tier only where this one needs an unusual choice: a 128-px DCGAN reached 64 px through a stage
        # with an output padding (an outside audit), when its usual reading reaches 128
        if not reached or min(c.rank[0] for c in reached) == 0:
            return found
    if found:
        return found
    kernels = ",".join(str(stage.conv.kernel_size[0]) for stage in cast(Iterable[UpStage], net.stages))
    sides = " or ".join(str(side) for goals in tiers for side in goals)
    named = [
        f"{name}={','.join('?' if g[j] is None else str(g[j]) for g in given)}"
        for j, name in enumerate(("strides", "paddings", "output_paddings"))
        if any(g[j] is not None for g in given)
    ]
    if named:
        raise ArchitectureError(
            f"no strides/paddings make kernels {kernels} reach a side of {sides} with the given {' '.join(named)} "
            "(from --option or the recipe's [options]): give the ones the generator was built with, or leave "
            "them out to infer them from the weights"
        )
    raise ArchitectureError(
        f"no strides/paddings make kernels {kernels} reach a side of {sides}; give --option resolution=SIDE or "
        "strides=... paddings=..."
    )


class NoGeometryError(ArchitectureError):
    """No (stride, padding, output_padding) per stage reaches the sides searched for (`geometry_candidates` says
    which sides it tried)."""


def search_geometry(
    net: ConvTNet,
    goals: tuple[int, ...],
    given: list[tuple[Optional[int], ...]],
    n_probe: int,
    beam: int,
    bound: float = float("inf"),
) -> list[Candidate]:
    """Beam search, stage by stage, over (stride, padding, output_padding) reaching one of `goals`.

    Every feasible choice is applied to the probe activations and its misfit taken at the
    BatchNorm that follows; the `beam` best partial geometries go on. Stages after the last
    BatchNorm change no statistic: they are ranked by convention, then by the order of `goals`.
    Nothing is returned once the best partial misfit exceeds `bound`.
    """
    o = net.o
    stages = list(cast(Iterable[UpStage], net.stages))
    kernels = [stage.conv.kernel_size[0] for stage in stages]
    scored = [any(isinstance(later.norm, nn.BatchNorm2d) for later in stages[i:]) for i in range(len(kernels))]

    @functools.lru_cache(maxsize=None)
    def feasible(i: int, size: int) -> bool:  # can stages i.. turn `size` into one of the goals?
        if i == len(kernels):
            return size in goals
        if not any(o.crops[i:]) and size > max(goals) + len(kernels) - i:  # a stage shrinks a map by 1 pixel at most
            return False
        return any(
            feasible(i + 1, cropped(out_size(size, kernels[i], *step), o.crops[i]))
            for step in candidate_steps(size, kernels[i], given[i])
        )

    def stage_cost(i: int, size: int, step: Step, steps: tuple[Step, ...]) -> int:
        """`convention_cost`, but for a stage after the last BatchNorm, which no statistic sees, its up-sampling
        siblings' step (same kernel, stride above 1; TF's 'same' padding is k3 s2 p1 op1) costs nothing: with
        output padding counted unusual there, 'same'-padded nets ended in a stage of stride 1 or 3, at half the
        side (an outside audit)."""
        siblings = {s for j, s in enumerate(steps) if kernels[j] == kernels[i] and s[0] > 1}
        if scored[i] or not siblings:
            return convention_cost(size, kernels[i], step)
        return 0 if step in siblings else 1 + convention_cost(size, kernels[i], step)

    z, d, c = probe_batch(o, n_probe)
    start = net.head_output(z, d, c)
    head_misfit: tuple[float, ...] = ()
    if net.head is not None and net.head_norm is not None:  # a head norm comes with a head
        found: list[float] = []
        h = net.head(net.through_trunk(net.first_input(z, d, c), found))
        on_map = isinstance(net.head_norm, nn.BatchNorm2d)
        head_misfit = (*found, bn_discrepancy(net.first_map(h) if on_map else h, net.head_norm))
    # (misfits, convention, steps, the next stage's input or None, side); a grown one holds how to make that input
    beams: list[tuple[tuple[float, ...], int, tuple, Any, int]] = [(head_misfit, 0, (), start, start.shape[-1])]
    for i, stage in enumerate(stages):
        grown: list[tuple[tuple[float, ...], int, tuple, Any, int]] = []
        for misfits, convention, steps, x, size in beams:
            if x is not None:  # large maps: fewer samples give enough values per channel, and cost less
                x = x[: max(32, -(-32768 // size**2))]
            unpadded: dict[int, UnpaddedOutput] = {}  # one transposed convolution per stride serves every padding
            for step in candidate_steps(size, kernels[i], given[i]):
                side = cropped(out_size(size, kernels[i], *step), o.crops[i])
                if not feasible(i + 1, side):
                    continue
                made: Optional[tuple[UnpaddedOutput, Step, int]] = None
                misfit: tuple[float, ...] = ()
                if scored[i]:  # every scored stage ends in a BatchNorm
                    assert isinstance(stage.norm, nn.BatchNorm2d)
                    if step[0] not in unpadded:
                        unpadded[step[0]] = UnpaddedOutput(
                            nn.functional.conv_transpose2d(x, stage.conv.weight, stride=step[0])
                        )
                    made = (unpadded[step[0]], step, out_size(size, kernels[i], *step))
                    misfit = (unpadded[step[0]].misfit(step[1], side, stage.conv.bias, stage.norm),)
                grown.append(
                    (
                        misfits + misfit,
                        convention + stage_cost(i, size, step, steps),
                        steps + (step,),
                        made,
                        side,
                    )
                )
        if not grown:
            raise NoGeometryError()
        last = i == len(kernels) - 1
        grown.sort(key=lambda g: (sum(g[0]), g[1], goals.index(g[4]) if last else 0))
        if sum(grown[0][0]) > bound:  # misfits only add up: nothing here can be picked
            return []
        # the best conventional partial geometry goes on too: unusual ones that fit alike by the probe's noise
        # crowded the usual 128-px reading out of the beam (an outside audit)
        usual = next((g for g in grown[beam:] if g[1] == 0), None) if not last else None
        beams = grown if last else grown[:beam] + ([usual] if usual and all(g[1] for g in grown[:beam]) else [])
        if not last and scored[i + 1]:  # only the partial geometries that go on need their activations
            beams = [(m, c, st, stage_output(stage, *made), side) for m, c, st, made, side in beams]
    n_scored = sum(scored)
    return [
        Candidate(
            {"steps": steps, "geometry": steps[:n_scored], "output_geometry": steps[n_scored:]},
            misfits,
            (convention, goals.index(side)),
            unusual_stages(net, start.shape[-1], steps[:n_scored]),
        )
        for misfits, convention, steps, _, side in beams
    ]


def unusual_stages(net: ConvTNet, size: int, steps: tuple[Step, ...]) -> int:
    """How many of the first stages make an unusual choice, from a map of side `size`."""
    count = 0
    for stage, step in zip(cast(Iterable[UpStage], net.stages), steps):
        kernel = stage.conv.kernel_size[0]
        count += convention_cost(size, kernel, step) > 0
        size = cropped(out_size(size, kernel, *step), stage.crop)
    return count


class UnpaddedOutput:
    """A transposed convolution's output without padding or bias, (N, C, S, S), and its per-pixel sums.

    Padding p crops p rows and columns from each border of it; output padding adds rows and
    columns at the far end that no input reaches (bias only). So the batch statistics of every
    padding come from sums over one window of the same maps, without another convolution.
    """

    def __init__(self, y: torch.Tensor):
        self.y = y
        self.count = y.shape[0]
        pad = (1, 0, 1, 0)  # a zero row and column first: window sums from differences of cumulative sums
        self.sums = nn.functional.pad(y.sum(0).double(), pad).cumsum(1).cumsum(2)  # (C, S+1, S+1)
        self.squares = nn.functional.pad(y.square().sum(0).double(), pad).cumsum(1).cumsum(2)

    def window(self, table: torch.Tensor, padding: int, side: int) -> torch.Tensor:
        """Per-channel sum over rows and columns padding .. padding + side (zeros past the end): (C,)."""
        end = min(padding + side, table.shape[-1] - 1)
        return table[:, end, end] - table[:, padding, end] - table[:, end, padding] + table[:, padding, padding]

    def misfit(self, padding: int, side: int, bias: Optional[torch.Tensor], norm: nn.BatchNorm2d) -> float:
        """`bn_discrepancy` of the padded output cropped to `side`, from the window sums."""
        n = self.count * side * side
        mean = self.window(self.sums, padding, side) / n
        var = (self.window(self.squares, padding, side) / n - mean**2).clamp_min(0)
        mean = mean.float() + bias if bias is not None else mean.float()
        return bn_misfit(mean, var.float(), norm)


def stage_output(stage: UpStage, unpadded: UnpaddedOutput, step: Step, side: int) -> torch.Tensor:
    """What a stage with this step gives the next one: padded, cropped, batch-normalised as in training, activated."""
    _, padding, _ = step
    y = unpadded.y[:, :, padding : padding + side, padding : padding + side]
    extra = side - y.shape[-1]
    if extra > 0:
        y = nn.functional.pad(y, (0, extra, 0, extra))
    y = y + stage.conv.bias.view(1, -1, 1, 1) if stage.conv.bias is not None else y
    y = y[:, :, : stage.crop, : stage.crop] if stage.crop else y  # (N, C, H, W) before the BatchNorm
    assert isinstance(stage.norm, nn.BatchNorm2d), "only stages that end in a BatchNorm are scored"
    return stage.act(bn_fit(y, stage.norm)[1])


def cropped(size: int, crop: int) -> int:
    return min(size, crop) if crop else size


def geometry_flag(values: dict[str, Any]) -> str:
    steps = values["steps"]
    flags = (
        f"--option strides={','.join(str(s[0]) for s in steps)} --option paddings={','.join(str(s[1]) for s in steps)}"
    )
    if any(s[2] for s in steps):
        flags += f" --option output_paddings={','.join(str(s[2]) for s in steps)}"
    return flags


def probe_batch(o: ConvTOptions, n: int) -> tuple[torch.Tensor, Optional[torch.Tensor], Optional[torch.Tensor]]:
    """The probe batch under options `o`: z drawn from its prior, one-hot labels cycling over the classes, codes."""
    z = prior_probe(o.prior)(n, o.nz, torch.Generator().manual_seed(0))  # N(0, I): the draw of probe_inputs
    return z, probe_inputs(o.nz, o.n_classes, n)[1], code_probe(o.nc, n)


def code_probe(nc: int, n: int) -> Optional[torch.Tensor]:
    """The probe batch's continuous codes, the contract's N(0, I) (mapped to the native prior by the net), or None."""
    return torch.randn(n, nc, generator=torch.Generator().manual_seed(1)) if nc else None


def show_steps(steps: tuple[Step, ...], first: int = 0) -> str:
    """ "stages 2-3: strides 2,2 paddings 1,1" (output paddings when any)."""
    text = (
        f"stages {first + 1}-{first + len(steps)}: " if len(steps) > 1 else f"stage {first + 1}: "
    ) + f"strides {','.join(str(s[0]) for s in steps)} paddings {','.join(str(s[1]) for s in steps)}"
    if any(s[2] for s in steps):
        text += f" output_paddings {','.join(str(s[2]) for s in steps)}"
    return text


# ---- what an Architecture needs -----------------------------------------------------------------


@dataclass
class KnownGeometry:
    """A public generator whose geometry and last activation are not in its weights, recognised by what is."""

    source: str  # where it comes from
    match: dict[str, Any]  # option values read from the weights that identify it
    options: dict[str, Any]  # what the weights cannot tell


ACTIVATIONS = ("relu", "leaky_relu", "none")  # between stages, most common first
EPSILONS = (1e-5, 0.8)  # BatchNorm eps: PyTorch's default, and PyTorch-GAN's BatchNorm2d(n, 0.8)


def infer_options(
    architecture, state_dict: Mapping[str, torch.Tensor], given: dict[str, Any], known: tuple[KnownGeometry, ...] = ()
) -> dict[str, Any]:
    """Options from the weights (given values win), the rest identified from BatchNorm statistics, with decisions."""
    layout = read_layout(state_dict)
    read = layout.option_values()
    decisions: list[dict[str, Any]] = []
    if read.get("condition") == "multiply":  # used, or held unused: read as the weights' own options
        label, decisions = multiplied_label(architecture.name, layout, given)
        read.update(label)
    elif read.get("n_classes") and "condition" not in given:
        decisions.append(
            decision(
                "condition",
                read["condition"],
                "weights: the label embedding is concatenated to z (narrower than the first layer's input)",
                f"--option condition={read['condition']}",
            )
        )
    values = {**read, **given}
    if given.get("n_classes") and not layout.embed and "condition" not in given:  # no embedding: d itself enters
        values["condition"] = "onehot"
        decisions.append(onehot_condition())
    for geometry in known:
        if all(read.get(k) == v for k, v in geometry.match.items()):
            values = {**read, **geometry.options, **given}
            decisions += [
                decision(k, v, f"weights: {describe_match(geometry)}", f"--option {k}={fmt(v)}")
                for k, v in geometry.options.items()
                if k not in given
            ]
            # as good as given from here on: the search assumed the activation again, and warned the user to doubt
            # what the recognition settled (an outside audit: caogang's gan_mnist, relu "from weights" and "assumed")
            given = {**geometry.options, **given}
    if "nz" not in given:  # the first layer takes z, the one-hot d (not embedded) and the codes c
        onehot = int(values.get("n_classes", 0)) if values.get("condition") == "onehot" else 0
        values["nz"] = read["nz"] - onehot - int(values.get("nc", 0))
    opts = Architecture.make_options(architecture, values)  # typed, geometry left as given
    placed = place_label(architecture.name, layout, opts, given)
    if placed is not None:  # where the label sits, from the first BatchNorm's input means: as good as given
        given = {**given, **placed["options"]}
        values.update(placed["options"])
        decisions.append(placed["decision"])
        opts = Architecture.make_options(architecture, values)
    n = len(opts.widths)
    normed = bool(layout.norms)
    properties = activation_and_eps(
        given,
        values,
        ACTIVATIONS,
        EPSILONS,
        normed,
        "ReLU between stages (DCGAN)",
        "BatchNorm eps 1e-5 (PyTorch default)",
        visible_epsilons(state_dict),
    ) + input_order(opts, given)
    if layout.head is not None and "head_layout" not in given and normed:
        properties.append(
            Property(
                "head_layout",
                ("chw", "hwc"),
                "view(N, C, S, S) after the Linear head (PyTorch)",
                option_flag("head_layout"),
                usual=("chw",),
            )
        )
    properties += stage_kinds(layout, given)
    decisions += unread_square_stages(layout, given)
    undecided = [prop.name for prop in properties if prop.values is not None and len(prop.values) > 1]
    if (
        not undecided
        and "activation" in values
        and ("norm_eps" in values or not normed)
        and opts.strides
        and opts.paddings
    ):
        # everything given (a ganinv folder, the user, a pickled module's layers): only the prior (and the output
        # activation, if not given) is left
        decisions += [] if "output" in values else [assumed_output(opts.output)]
        return {**values, DECISIONS: decisions + check_against_statistics(architecture, values, layout, given)}
    check_statistics_informative(
        state_dict,
        f"{architecture.name} generator",
        "--option strides=... --option paddings=... --option activation=relu --option norm_eps=1e-5",
    )
    prior, read_inputs = first_norm_inputs(architecture.name, layout, opts, given)
    decisions += read_inputs
    if prior is not None and "prior" not in given:  # the search probes with it; decided and announced at the end
        values["prior"] = prior
        opts = dataclasses.replace(opts, prior=prior)
    if not (opts.strides and opts.paddings):
        n_scored = sum(1 for i in range(n) if normed and i < n - 1)
        properties += [
            Property(
                "geometry",
                None,
                "the most usual strides and paddings",
                geometry_flag,
                lambda v: show_steps(v["geometry"]),
            ),
            Property(
                "output_geometry",
                None,
                "no statistic sees the stages after the last BatchNorm; taken the most usual strides and "
                "paddings (a stage doubles the side) that reach a usual image side (28, 32, 64, 48, 96; then "
                "128, ...)",
                lambda v: (
                    f"--option resolution=SIDE (the author's image side), or {geometry_flag(v)} with the last "
                    "stages changed"
                ),
                lambda v: show_steps(v["output_geometry"], n_scored),
                scored=False,
            ),
        ]
    # a partial geometry is searched within: each part given needs one entry per stage
    for name in ("strides", "paddings", "output_paddings"):
        entries = getattr(opts, name)
        if entries and len(entries) != n:
            raise ArchitectureError(
                f"{name}={','.join(map(str, entries))} has {len(entries)} entries but there are {n} stages; "
                "give one per stage"
            )
    given_steps = [
        tuple(part[i] if i < len(part) else None for part in (opts.strides, opts.paddings, opts.output_paddings))
        for i in range(n)
    ]
    target = opts.resolution if "resolution" in values else None
    converted = layout.canonical_state_dict()

    def score(combo: dict[str, Any], bound: float) -> list[Candidate]:
        trial = dataclasses.replace(opts, strides=(1,) * n, paddings=(0,) * n, output_paddings=(0,) * n, **combo)
        net = ConvTNet(trial)
        load_weights(net, converted, architecture.name, trial)
        net.eval()
        if opts.strides and opts.paddings:  # geometry given: score it as it stands
            steps = tuple(zip(opts.strides, opts.paddings, opts.output_paddings or (0,) * n))
            found = geometry_candidates(net, [tuple(s) for s in steps], complete(opts).resolution, bound=bound)
            return [Candidate({}, c.misfits, c.rank) for c in found]
        # a Conv2d stage runs at stride 1 (ConvAsTransposed), so only the geometries with stride 1 there are its
        conv2d = trial.conv2d_stages
        steps_given = [(1, g[1], 0) if i in conv2d else g for i, g in enumerate(given_steps)]
        return geometry_candidates(net, steps_given, target, bound=bound)

    # The search depends on the weights and the options, not on the options' class; with the layers read from the
    # weights, the resolution only through `target`.
    searched_options = {
        **dataclasses.asdict(opts),
        "resolution": target if opts.widths and opts.kernels else opts.resolution,
    }
    searched = cached_search(
        (state_dict_sha256(converted), repr(sorted(searched_options.items())), tuple(given_steps), target),
        properties,
        score,
        True,
    )
    chosen, found = identify(searched, properties, f"{architecture.name} generator")
    values.update(
        {
            k: v
            for k, v in chosen.items()
            if k in ("activation", "norm_eps", "condition_first", "input_order", "code_prior", "head_layout")
        }
    )
    if "steps" in chosen:
        steps = chosen["steps"]
        values.update(
            strides=tuple(s for s, _, _ in steps),
            paddings=tuple(p for _, p, _ in steps),
            output_paddings=tuple(op for _, _, op in steps),
        )
    values["resolution"] = complete(architecture.make_options(values)).resolution
    if "conv2d_stages" in chosen:
        values["conv2d_stages"] = chosen["conv2d_stages"]
    if "output" not in values:
        found.append(assumed_output(opts.output))
    found += last_layer_kind(layout, values)
    values[DECISIONS] = decisions + found + check_against_statistics(architecture, values, layout, given)
    return values


def multiplied_label(
    name: str, layout: Layout, given: Mapping[str, Any]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(options, decisions) for a label embedding as wide as the first layer's input: the user's `condition`, or
    n_classes=0 (the embedding held unused); else whether it multiplies z (acgan) or is never used (sgan), by the
    first BatchNorm, where one sees the inputs through one linear map (`label_use`)."""
    embedding = layout.modules[cast(str, layout.embed)]["weight"]  # (K, nz)
    unused = {"n_classes": 0, "unused_embedding": int(embedding.shape[0])}
    if int(given.get("n_classes", 1)) == 0:
        return unused, []
    if "condition" in given:
        return {}, []
    first = first_linear_map(layout)
    initial = initial_statistics(layout.canonical_state_dict())
    fits = label_fits(first[0], first[1], embedding) if first is not None and not initial else None
    why = (
        "the BatchNorm statistics are the initial ones"
        if initial
        else NO_LINEAR_VIEW.removesuffix(", so nothing shows")
    )
    used, said = label_use(name, fits, why, int(given.get("n_classes", 0)))
    return {} if used else unused, [said]


def input_order(opts: ConvTOptions, given: Mapping[str, Any]) -> list[Property]:
    """Where the label vector and the codes enter beside z, and the codes' prior: what the statistics decide."""
    if not opts.nc:  # z and a label: before or after z
        return [] if "input_order" in given else label_order(opts, given, False, "the label vector after z")
    present = "".join(p for p in "zdc" if p != "d" or (opts.n_classes and opts.condition != "multiply"))
    orders = ["".join(p) + "".join(x for x in "zdc" if x not in present) for p in permutations(present)]
    return [
        Property(
            "input_order",
            (opts.input_order,) if "input_order" in given else orders,
            "cat(z, d, c) (InfoGAN)",
            option_flag("input_order"),
        ),
        Property(
            "code_prior",
            (opts.code_prior,) if "code_prior" in given else ("uniform", "normal"),
            "U(-1, 1) codes (InfoGAN)",
            option_flag("code_prior"),
            # N(0, 1) codes must fit 1.5x better to be taken, else InfoGAN's U(-1, 1) is announced: a few codes among
            # many inputs move the statistics less than the probe's noise (refused at 1.03x, an outside audit)
            usual=("uniform",),
        ),
    ]


def stage_kinds(layout: Layout, given: Mapping[str, Any]) -> list[Property]:
    """Which hidden stages with as many input as output channels are stride-1 Conv2d layers (WassersteinGAN's
    DCGAN_G `extra-layers`): the weight of `Conv2d(c, c, k)` has the shape of `ConvTranspose2d(c, c, k)`'s, but read
    as one it computes another map (images 1.98 off, an outside audit). The BatchNorm after the stage tells them
    apart; without one, the reading the key names give (`...:conv` among `...:convt`) is assumed, else the
    transposed one, and announced. Only odd kernels are candidates: a Conv2d between stages keeps the side with a
    3x3 (or 1x1, 5x5) kernel, while the transposed stages of these nets use even ones (4x4) against checkerboard
    artifacts; and the readings of the first three such stages only (2^3 searches at most)."""
    if "conv2d_stages" in given:
        return []
    square = square_stages(layout)
    if not square:
        return []
    named = tuple(i for i in square if names_a_conv2d(layout.convs[i], layout.convs))
    later = tuple(i for i in named if i not in square[:3])  # not searched: the names' kind (unread_square_stages)
    readings = [
        tuple(i for j, i in enumerate(square[:3]) if keep >> j & 1) + later for keep in range(2 ** min(len(square), 3))
    ]
    readings.sort(key=lambda r: r != named)  # the first reading is taken where no statistic tells
    convention = (
        f"Conv2d at stage {fmt(named)}, as the key names say ({', '.join(layout.convs[i] for i in named)} among "
        "transposed convolutions)"
        if named
        else "ConvTranspose2d, as the stages around them"
    )
    return [
        Property(
            "conv2d_stages",
            readings,
            convention,
            option_flag("conv2d_stages"),
            lambda v: fmt(v["conv2d_stages"]),
            tie_hint="a stride-1 layer of as many input as output channels reads as a Conv2d or a ConvTranspose2d",
        )
    ]


def square_stages(layout: Layout) -> list[int]:
    """The hidden stages (the last one is `last_layer_kind`'s) whose odd-kernel weight has as many input as output
    channels: those that may be a stride-1 Conv2d."""
    weights = [layout.modules[p]["weight"] for p in layout.convs[:-1]]
    return [i for i, w in enumerate(weights) if w.shape[0] == w.shape[1] and w.shape[2] % 2 == 1]


def unread_square_stages(layout: Layout, given: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The square stages after the first three, which `stage_kinds` does not search: read as the key names say,
    else as ConvTranspose2d, and said so (a net with four or more stride-1 Conv2d extra layers was otherwise
    misread in silence)."""
    if "conv2d_stages" in given:
        return []
    square = square_stages(layout)
    if len(square) <= 3:
        return []
    kinds = [
        f"{i} {'Conv2d' if names_a_conv2d(layout.convs[i], layout.convs) else 'ConvTranspose2d'}" for i in square[3:]
    ]
    return [
        decision(
            "later_square_stages",
            ", ".join(kinds),
            "assumed: only the first three stages of as many input as output channels are read as Conv2d or "
            "ConvTranspose2d from the statistics; the later ones are taken as the key names say (`conv` among "
            "`convt`), else as transposed",
            f"--option conv2d_stages=I,J,... (every stage that is a Conv2d, numbered from 0; of {fmt(tuple(square))})",
        )
    ]


def names_a_conv2d(prefix: str, prefixes: list[str]) -> bool:
    """`main.extra-layers-0:4:conv` among `main.pyramid:8-4:convt`: the author's own names tell the two kinds."""

    def words(p: str) -> set[str]:
        return set(re.split(r"[^a-z0-9]+", p.lower()))

    transposed = ("convt", "deconv", "convtranspose", "convtranspose2d", "tconv", "upconv")
    return bool(words(prefix) & {"conv", "conv2d"}) and any(words(p) & set(transposed) for p in prefixes)


def last_layer_kind(layout: Layout, values: Mapping[str, Any]) -> list:
    """A last layer with as many input as output channels, at stride 1, has a weight of the same shape, and makes the
    same image sizes, as a ConvTranspose2d or a Conv2d (Conv2d(3, 3, 3, 1, 1) after the upsampling, a common
    refinement): no BatchNorm comes after it to tell, so the reading is announced (audit 5: images off by 1.8)."""
    weight = layout.modules[layout.convs[-1]]["weight"]  # (C_in, C_out, k, k) as a ConvTranspose2d
    last = len(layout.convs) - 1
    if weight.shape[0] != weight.shape[1] or tuple(values.get("strides") or (None,))[-1] != 1:
        return []
    if last in tuple(values.get("conv2d_stages") or ()):
        return []  # the user's, or a pickled module's records: a Conv2d
    return [
        decision(
            "last_layer",
            "ConvTranspose2d",
            f"assumed: a {weight.shape[0]} -> {weight.shape[1]} channel stride-1 last layer reads alike as a "
            "ConvTranspose2d or a Conv2d",
            f"--option conv2d_stages={last} if it is a Conv2d",
        )
    ]


def assumed_output(output: str) -> dict[str, Any]:
    return decision(
        "output",
        output,
        f"assumed: {output} on the last stage (no statistic sees it)",
        "--option output=tanh|sigmoid|none",
    )


PROBE_INPUTS = 1024  # the first BatchNorm's probe batch: its noise, not the net's, must stay small


def check_against_statistics(architecture, values: dict[str, Any], layout: Layout, given: Mapping[str, Any]) -> list:
    """Two last questions for the BatchNorm statistics, once everything else is chosen (returns their decisions):

    - the native latent prior, from the first BatchNorm, which sees z through one linear layer: its running
      variance is that of z (1 for N(0, I), 1/3 for U(-1, 1)) times the weights'; sets `values["prior"]`;
    - whether the net, so built, fits the statistics at all: a layer or activation ganinv does not model (a
      LeakyReLU body behind a ReLU head) fits every candidate badly, and is announced rather than loaded silently.
    """
    if not layout.norms and layout.head_norm is None:  # nothing normalised: nothing to tell; N(0, I) is the default
        announced = [] if "activation" in given else [no_normalisation()]
        if not values.get("n_classes") and not values.get("nc") and not {"n_classes", "nc"} & set(given):
            announced.append(unread_inputs(first_input_width(layout), NO_LINEAR_VIEW))  # here alone, not also in
            # first_norm_inputs (said twice, an outside audit)
        if "prior" not in given:  # announced as the other families announce it (an outside audit's fuzzer: a net
            # trained on U(-1, 1) latents loaded 0.55 off, no prior in its decisions)
            values["prior"] = values.get("prior", "normal")
            announced.append(
                decision(
                    "prior",
                    "normal",
                    "assumed: N(0, I) latents (no BatchNorm sees z)",
                    "--prior uniform:-1,1 or --prior uniform:0,1",
                )
            )
        return announced
    weights = layout.canonical_state_dict()
    if initial_statistics(weights):
        said = "assumed: N(0, I) (the BatchNorm statistics are the initial ones)"
        return [] if "prior" in given else [decision("prior", "normal", said, "--prior uniform:-1,1")]
    opts = complete(architecture.make_options(values))
    net = ConvTNet(opts).eval()
    load_weights(net, weights, architecture.name, opts)
    d, c = probe_inputs(opts.nz, opts.n_classes, 512)[1], code_probe(opts.nc, 512)
    names = [values.get("prior", "normal")] if "prior" in given else list(PRIOR_PROBES)  # a prior given is checked
    misfits = {
        name: norm_misfits(net, prior_probe(name)(512, opts.nz, torch.Generator().manual_seed(0)), d, c)
        for name in names
    }
    decisions = []
    if "prior" not in given:
        first_prior_scale(architecture.name, layout, opts)  # where the search did not (all given)
        decisions.append(prior_decision({name: m[0] for name, m in misfits.items()}, values))
    fit = misfits[values.get("prior", "normal")]
    worst = max(range(len(fit)), key=lambda i: fit[i])
    said = (
        "batchnorm statistics"
        if fit[worst] <= POOR_FIT
        else POOR_FIT_SAID
        + (
            "; this far off, what was read from them, geometry and activation, is likely wrong too"
            if fit[worst] > 1
            else ""
        )
        + "): a layer or activation ganinv does not model (Dropout between stages, which a state dict does not "
        "record, blurs the statistics: try the usual activation, --option activation=relu), running statistics "
        "that lag the weights (a checkpoint "
        "saved early in training, or BatchNorm momentum 0.01 as in Keras ports: give --option strides=... "
        "--option paddings=... --option activation=...), or a one-hot label and codes beside z (InfoGAN: --option "
        "n_classes=K --option nc=N)? check `ganinv sample`"
    )
    fitted = decision(
        "statistics",
        f"misfit {fit[worst]:.3g} at BatchNorm {worst + 1} of {len(fit)}",
        said,
        "--model-class MODULE:CLASS (the generator's own class)",
    )
    decisions.append({**fitted, "misfit": float(fit[worst])})  # what a config's options are weighed by (sources)
    return decisions


@torch.no_grad()
def first_prior_scale(name: str, layout: Layout, opts: ConvTOptions) -> None:
    """`prior_scale_check` at the first BatchNorm, for a net whose options were all given (no search read its inputs
    before), under the best of the usual priors."""
    first = first_linear_map(layout)
    embedding = layout.modules[layout.embed]["weight"] if layout.embed and opts.condition != "onehot" else None
    if first is None or joined_inputs(opts, embedding, *probe_batch(opts, 1)).shape[1] != first[2]:
        return
    linear, norm, _ = first
    _, d, c = probe_batch(opts, PROBE_INPUTS)

    def misfit(z: torch.Tensor) -> float:
        return min(bn_discrepancy(y, norm) for y in linear(joined_inputs(opts, embedding, z, d, c)))

    fits = {p: misfit(prior_probe(p)(PROBE_INPUTS, opts.nz, torch.Generator().manual_seed(0))) for p in PRIOR_PROBES}
    best = min(fits, key=lambda p: fits[p])
    scale_check(name, linear, norm, opts, embedding, best, fits[best])


def scale_check(
    name: str, linear: Callable, norm: Any, opts: ConvTOptions, embedding: Any, prior: str, misfit: float
) -> None:
    """`prior_scale_check` at the first BatchNorm (`linear` -> `norm`), with N(0, I) probes times a scale, under the
    inputs `opts` joins; not where a label embedding multiplies z, whose scale the statistics cannot tell from z's."""
    if opts.n_classes and opts.condition == "multiply":
        return
    z, d, c = probe_batch(dataclasses.replace(opts, prior="normal"), PROBE_INPUTS)
    prior_scale_check(
        name,
        lambda s: min(bn_discrepancy(y, norm) for y in linear(joined_inputs(opts, embedding, z * s, d, c))),
        prior,
        misfit,
    )


@torch.no_grad()
def first_norm_inputs(
    name: str, layout: Layout, opts: ConvTOptions, given: Mapping[str, Any]
) -> tuple[Optional[str], list[dict[str, Any]]]:
    """Read the first layer's inputs off the first BatchNorm, which sees them through one linear map, before the
    search. Returns the latent prior that fits it best, for the search to probe with (None where no BatchNorm sees
    the inputs so), and the decisions: a label given without InfoGAN's continuous codes is refused where codes
    beside it fit the statistics DECIDED_RATIO times better, taken as having none where latents alone fit that much
    better, and else announced as assumed (an outside audit read a Natsu6767 InfoGAN with its label 2 inputs off,
    images 1.4 apart, in silence; at its real sizes, 2 codes among 74 inputs move the statistics less than their
    noise)."""
    first = first_linear_map(layout)
    if first is None:  # where nothing is normalised, check_against_statistics says so
        normed = bool(layout.norms) or layout.head_norm is not None
        unlabelled = normed and not opts.n_classes and not opts.nc and not {"n_classes", "nc"} & set(given)
        return None, [unread_inputs(first_input_width(layout), NO_LINEAR_VIEW)] if unlabelled else []
    linear, norm, width = first
    embedding = layout.modules[layout.embed]["weight"] if layout.embed and opts.condition != "onehot" else None
    labelled = bool(opts.n_classes) and opts.condition != "multiply"
    free = opts.nz + opts.nc  # the inputs that are z or codes
    if joined_inputs(opts, embedding, *probe_batch(opts, 1)).shape[1] != width:  # options that contradict the
        return None, []  # weights: loading says so, naming both
    codes = range(min(MAX_CODES, free - 1) + 1) if labelled and "nc" not in given else (opts.nc,)
    fits: dict[tuple[int, str, str, str], float] = {}  # (nc, input order, code prior, prior) -> misfit
    for nc in codes:
        present = "".join(p for p in "zdc" if p == "z" or (p == "d" and labelled) or (p == "c" and nc))
        if "input_order" in given or (not nc and "condition_first" in given):
            orders: tuple[str, ...] = (opts.input_order or ("dzc" if opts.condition_first else "zdc"),)
        else:
            orders = tuple("".join(p) + "".join(x for x in "zdc" if x not in p) for p in permutations(present))
        code_priors = ("uniform", "normal") if nc and "code_prior" not in given else (opts.code_prior,)
        priors = (opts.prior,) if "prior" in given else tuple(PRIOR_PROBES)
        for order, code_prior, prior in product(orders, code_priors, priors):
            trial = dataclasses.replace(
                opts, nz=free - nc, nc=nc, input_order=order, code_prior=code_prior, prior=prior
            )
            z, d, c = probe_batch(trial, PROBE_INPUTS)
            fits[(nc, order, code_prior, prior)] = min(
                bn_discrepancy(y, norm) for y in linear(joined_inputs(trial, embedding, z, d, c))
            )
    best = min(fits, key=lambda key: fits[key])
    latents_alone = min((m for key, m in fits.items() if key[0] == opts.nc), default=float("inf"))
    if best[0] != opts.nc and fits[best] * DECIDED_RATIO < latents_alone:
        nc, order, code_prior, _ = best
        raise AmbiguousWeightsError(
            f"the first BatchNorm of this {name} generator fits {nc} continuous code(s) beside the label (InfoGAN's "
            f"cat of {', '.join(order)}, {code_prior} codes) {latents_alone / fits[best]:.3g}x better than latents "
            f"alone (misfit {fits[best]:.3g} against {latents_alone:.3g}): pass --option nc={nc} --option "
            f"input_order={order}" + (" --option code_prior=normal" if code_prior == "normal" else "")
        )
    best_latents = min((key for key in fits if key[0] == opts.nc), key=lambda key: fits[key])
    prior = best_latents[3]
    if "prior" not in given:  # a variance no usual prior has (truncated, scaled) is refused, naming --prior
        nc, order, code_prior, _ = best_latents
        trial = dataclasses.replace(opts, nz=free - nc, nc=nc, input_order=order, code_prior=code_prior)
        scale_check(name, linear, norm, trial, embedding, prior, fits[best_latents])
    if not labelled and not {"n_classes", "nc"} & set(given):
        return prior, unnamed_label(name, linear, norm, width, prior_mean(prior))
    rival = min((key for key in fits if key[0] != opts.nc), key=lambda key: fits[key], default=None)
    if rival is None or fits[rival] >= latents_alone * DECIDED_RATIO:
        return prior, []
    nc, order, code_prior, _ = rival
    flag = f"--option nc={nc} --option input_order={order}"
    return prior, [
        decision(
            "nc",
            opts.nc,
            f"assumed: no continuous codes beside the label, though the first BatchNorm fits {nc} (InfoGAN's, cat of "
            f"{', '.join(order)}) about as well (misfit {fits[rival]:.3g} against {latents_alone:.3g})",
            flag + (" --option code_prior=normal" if code_prior == "normal" else ""),
        )
    ]


def place_label(name: str, layout: Layout, opts: ConvTOptions, given: Mapping[str, Any]) -> Optional[dict[str, Any]]:
    """Where a one-hot label given by `n_classes` sits among the first layer's inputs, read off the first
    BatchNorm's input means (`input_means`): the order of z, d and c that puts it there, as options with their
    decision; None where the means do not show it, or the order is given. A label between z and codes not given is
    refused naming them. At real sizes (z 62, 10 classes, 2 codes) the probes' misfits could not tell the orders
    apart (1.02x, refused one property at a time, an outside audit); the means put the label at inputs 63-72."""
    if not opts.n_classes or opts.condition != "onehot" or "input_order" in given or "condition_first" in given:
        return None
    first = first_linear_map(layout)
    means = input_means(*first) if first is not None else None
    found = one_hot_run(means, prior_mean(opts.prior), k=opts.n_classes) if means is not None else None
    if found is None or means is None:
        return None
    start, k = found
    after = len(means) - start - k
    said = f"the first BatchNorm's input means: inputs {start + 1}-{start + k} of {len(means)} are the one-hot label"
    if not opts.nc:
        codes = codes_beside(start, after)
        if codes is not None and "nc" not in given:
            nc, order = codes
            raise AmbiguousWeightsError(
                f"{said}, with {start} input(s) before it and {after} after: InfoGAN's codes beside it? pass "
                f"--option nc={nc} --option input_order={order}"
            )
        if start and after:
            return None
        first_label = start == 0
        return {
            "options": {"condition_first": first_label},
            "decision": decision("condition_first", first_label, said, f"--option condition_first={first_label}"),
        }
    sizes = {"z": opts.nz, "d": k, "c": opts.nc}
    orders = ["".join(p) for p in permutations("zdc") if sum(sizes[x] for x in p[: p.index("d")]) == start]
    if len(orders) != 1:
        return None
    return {
        "options": {"input_order": orders[0]},
        "decision": decision("input_order", orders[0], said, f"--option input_order={orders[0]}"),
    }


def first_linear_map(
    layout: Layout,
) -> Optional[tuple[Callable[[torch.Tensor], list[torch.Tensor]], nn.modules.batchnorm._BatchNorm, int]]:
    """(inputs (N, n_in) -> the first BatchNorm's inputs under each reading of the geometry, that BatchNorm, n_in)
    where one linear map lies between them: the first transposed convolution on the 1x1 input (its padding unknown:
    each crop of the k x k map), the first fully connected layer, or the Linear head; else None."""
    modules = layout.modules
    if layout.head is None and layout.norms:
        conv = {name: tensor.float() for name, tensor in modules[layout.convs[0]].items()}  # bf16 files: in float32
        stats = modules[layout.norms[0]]

        def crops(x: torch.Tensor) -> list[torch.Tensor]:
            y = nn.functional.conv_transpose2d(x[:, :, None, None], conv["weight"], conv.get("bias"))  # (N, C, k, k)
            k = y.shape[-1]
            return [y[:, :, p : k - p, p : k - p] for p in range(k // 2 + 1) if k - 2 * p > 0]

        return crops, running_statistics(stats), int(conv["weight"].shape[0])
    first = layout.trunk[0] if layout.trunk else layout.head
    stats_name = layout.trunk_norms[0] if layout.trunk_norms else layout.head_norm
    if first is None or stats_name is None:
        return None
    linear = {name: tensor.float() for name, tensor in modules[first].items()}
    if layout.head_norm_2d and not layout.trunk:  # per channel of the first map, under either reshape (chw, hwc)
        channels = int(modules[layout.convs[0]]["weight"].shape[0])

        def maps(x: torch.Tensor) -> list[torch.Tensor]:
            y = nn.functional.linear(x, linear["weight"], linear.get("bias"))  # (N, C0 * S0 * S0)
            return [y.view(len(y), channels, -1), y.view(len(y), -1, channels).transpose(1, 2)]  # (N, C0, S0 * S0)

        return maps, running_statistics(modules[stats_name]), int(linear["weight"].shape[1])
    return (
        lambda x: [nn.functional.linear(x, linear["weight"], linear.get("bias"))],
        running_statistics(modules[stats_name]),
        int(linear["weight"].shape[1]),
    )


def running_statistics(tensors: Mapping[str, torch.Tensor]) -> nn.modules.batchnorm._BatchNorm:
    """A BatchNorm holding a layer's running statistics (all `bn_discrepancy` reads)."""
    norm = nn.BatchNorm1d(tensors["running_mean"].shape[0])
    norm.load_state_dict({k: tensors[k].float() for k in ("running_mean", "running_var")}, strict=False)
    return norm


@torch.no_grad()
def norm_misfits(
    net: ConvTNet, z: torch.Tensor, d: Optional[torch.Tensor], c: Optional[torch.Tensor] = None
) -> list[float]:
    """`bn_discrepancy` at every BatchNorm in forward order, each normalising by the batch's own statistics as in
    training (the head's first, when it has one)."""
    misfits: list[float] = []
    h = net.first_input(z, d, c)  # (N, nz + E + nc)
    if net.head is None:
        x = h[:, :, None, None]  # (N, nz + E + nc, 1, 1)
    else:
        h = net.head(net.through_trunk(h, misfits))
        if isinstance(net.head_norm, nn.BatchNorm2d):  # on the map
            x = net.head_act(normalise_as_in_training(net.first_map(h), net.head_norm, misfits))
        else:
            h = normalise_as_in_training(h, net.head_norm, misfits) if net.head_norm else h
            x = net.head_act(net.first_map(h))
    stages = list(cast(Iterable[UpStage], net.stages))
    normed = [i for i, stage in enumerate(stages) if isinstance(stage.norm, nn.BatchNorm2d)]
    for stage in stages[: normed[-1] + 1 if normed else 0]:  # the stages after the last BatchNorm change none
        x = x[: max(32, -(-32768 // x.shape[-1] ** 2))]  # large maps: fewer samples give enough values per channel
        y = stage.conv(x)  # (N, C, S, S)
        if stage.crop:
            y = y[:, :, : stage.crop, : stage.crop]
        x = stage.act(normalise_as_in_training(y, stage.norm, misfits))
    return misfits


def describe_match(geometry: KnownGeometry) -> str:
    return (
        f"{', '.join(f'{k} {fmt(v)}' for k, v in geometry.match.items() if k in ('kernels', 'head'))} "
        f"match {geometry.source}"
    )


def check_last_bias(layout: Layout, given: Mapping[str, Any]) -> None:
    """Refuse a last transposed convolution without a bias when every other layer has one.

    Public layouts have no biases (pytorch/examples DCGAN), a bias on the last layer only, or
    biases everywhere (the PyTorch default); none drops only the last one, so its absence is a
    tensor missing from the file, not evidence of `last_bias=False`, unless the user says so.
    """
    others = ([layout.head] if layout.head else []) + layout.convs[:-1]
    last = layout.convs[-1]
    if "last_bias" in given or not others or "bias" in layout.modules[last]:
        return
    if all("bias" in layout.modules[p] for p in others):
        raise ArchitectureError(
            f"{last}.bias is missing: every other layer ({', '.join(others[:4])}"
            f"{', ...' if len(others) > 4 else ''}) has a bias and no public layout drops only the "
            "last one, so the file looks damaged; download it again or re-save it, or pass "
            "--option last_bias=false if its author built the last layer without a bias"
        )


def check_resolution(architecture, values: Mapping[str, Any], given: Mapping[str, Any]) -> None:
    """A given image side the net as built does not make (strides and paddings given beside it) is refused: it was
    dropped for the geometry's side in silence (an outside audit)."""
    if "resolution" not in given:
        return
    options = complete(architecture.make_options({k: v for k, v in values.items() if k != DECISIONS}))
    if options.resolution != int(given["resolution"]):
        raise ArchitectureError(
            f"resolution={given['resolution']} where the weights with strides {fmt(options.strides)} and paddings "
            f"{fmt(options.paddings)} make {options.resolution}-pixel images; drop one of them"
        )


def hidden_width(layout: Layout, given: Mapping[str, Any]) -> dict[str, Any]:
    """{"width": the last hidden stage's channels (ngf, DIM, hidden_size)} as the weights have it, to record with
    the options read; a given one that differs (a config's) is an error naming both."""
    widths = [int(layout.modules[p]["weight"].shape[1]) for p in layout.convs]
    if len(widths) < 2 or "widths" in given:
        return {}
    for name, value, layer in (("width", widths[-2], layout.convs[-2]), ("channels", widths[-1], layout.convs[-1])):
        # the channels a user or config gives were dropped for the weights' in silence (an outside audit)
        if name in given and int(given[name]) != value:
            raise ArchitectureError(
                f"{name}={given[name]} where the weights have {value} "
                f"({layer}.weight {tuple(layout.modules[layer]['weight'].shape)}); drop the option or fix the config"
            )
    return {"width": widths[-2]}


def first_input_width(layout: Layout) -> int:
    """How many inputs the first layer takes (z, and a label or codes beside it): the first Linear's (trunk or head)
    input features, else the first transposed convolution's input channels."""
    first = layout.trunk[0] if layout.trunk else layout.head
    if first is not None:
        return int(layout.modules[first]["weight"].shape[1])
    return int(layout.modules[layout.convs[0]]["weight"].shape[0])
