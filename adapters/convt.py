"""Transposed-convolution generators from any state dict layout (shared by `dcgan` and `wgan_gp`).

The DCGAN generator (Radford et al.) and the WGAN-GP generator of Gulrajani et al. are one
machine: `z` (and a class label), either reshaped to `(nz, 1, 1)` or mapped by a Linear layer
to a small feature map, then stages of ConvTranspose2d -> [BatchNorm2d] -> ReLU, the last
ending in Tanh (or Sigmoid). It is held once, in four files:

- this one: `ConvTOptions` / `ConvTNet`, the native module, with ganinv's own key names
  (`embed`, `head`, `head_norm`, `stages.<i>.conv`, `stages.<i>.norm`), and its geometry;
- `convt_layout`: finds those layers in a state dict saved by another codebase from tensor
  shapes and order, whatever its key names (`main.3.weight`, `gen.1.0.weight`,
  `deconv2_bn.running_var`, `main.pyramid:512-256:convt.weight`, `block1.0.weight`, ...);
- `convt_geometry`: strides and paddings are not stored in a state dict. Among the choices
  that reach the image size, the BatchNorm running statistics decide: they are the batch
  statistics the net saw in training, so the geometry whose statistics on a probe batch
  match them best is the geometry it was trained with;
- `convt_identify`: the rest the weights do not store (activation, BatchNorm eps, where the label
  and codes enter, the output), read the same way, and the options an Architecture is built from.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable, ClassVar, Optional, cast

import torch
from torch import nn

from ganinv.errors import ArchitectureError
from ganinv.spec import GeneratorSpec, Prior

from .statedict import normalise_as_in_training, prior_parts

# Image sides tried when none is given: the first tier that some geometry reaches, in this order.


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
    # the hidden activation follows the Linear head (DCGAN and WGAN-GP code); False: the head's map goes into the first
    # stage as it is (Udacity's dcgan-svhn: fc -> view -> t_conv1), read from the stages' statistics (an outside audit)
    head_activated: bool = True
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


def activation(name: str) -> nn.Module:
    """ "relu", "leaky_relu" (slope 0.2, DCGAN's), "leaky_relu:SLOPE" (e.g. 0.01, PyTorch's default; 0.3, Keras's),
    "gelu", "silu", "elu", "mish", "selu", "tanh", "sigmoid" or "none"."""
    modules: dict[str, Callable[[], nn.Module]] = {
        "relu": nn.ReLU,
        "leaky_relu": lambda: nn.LeakyReLU(0.2),
        "gelu": nn.GELU,
        "silu": nn.SiLU,
        "elu": nn.ELU,
        "mish": nn.Mish,
        "selu": nn.SELU,  # self-normalising nets, without BatchNorm (RelativisticGAN's --SELU)
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
        self.trunk_act = activation(o.activation)
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
            self.head_act = activation(o.activation) if o.head_activated else nn.Identity()
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
            h = self.trunk_act(h)
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
