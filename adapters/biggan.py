"""`biggan`: BigGAN-deep in the layout of `huggingface/pytorch-pretrained-BigGAN`.

The generator of Brock et al. ("Large scale GAN training", 2019), deep variant, as ported from
the TF Hub modules to PyTorch by `pytorch_pretrained_biggan` (the `biggan-deep-128/256/512`
repos: `config.json` = BigGANConfig, `pytorch_model.bin` = the module's state dict):

- the class enters as a one-hot vector through a bias-free Linear (`embeddings`, K -> z_dim),
  concatenated to `z` into the condition vector `[z, embed]` (2 z_dim);
- a Linear to a 4x4 map of 16 x channel_width channels (laid out height, width, channels as
  in TF), then `config.layers` residual blocks (up-sampling or not, channel multipliers) with a
  self-attention block before block `attention_layer_position`;
- every block normalises with class-conditional BatchNorm: statistics stored for `n_stats`
  truncation values (0 to 1), gain `1 + scale(cond)` and bias `offset(cond)`;
- a last BatchNorm, ReLU, 3x3 conv, the first 3 channels, Tanh: images in [-1, 1].

Spectral normalisation is folded at load: each `weight_orig` is divided by `u . (W v)` from
its stored `weight_u` and `weight_v`, which is what the module computes in eval mode.

Truncation (`--option truncation=0.4`) picks the BatchNorm statistics, interpolated as the
project does (for t / step = i + f with f > 0 it weights entry i by f and entry i+1 by 1 - f,
reproduced as is), and the latent: the project samples `z = truncation * TruncNormal(-2, 2)`,
which the spec declares (`truncated_normal` on (-2, 2), scale = truncation), so ganinv's
standard-normal z maps onto it exactly. Without the option, truncation 1 (the untruncated
prior) is used, announced as an assumption. Classes are the categorical code `d` (K = num_classes), a
one-hot through a Linear, hence differentiable.

Read from the tensors: z_dim, num_classes, channel_width, the blocks' channel multipliers, the
attention position, n_stats. Not in the tensors: which blocks up-sample (from `layers` in the
config; without it, the alternating no/yes pattern of every released BigGAN-deep is assumed
and announced) and the BatchNorm eps (the config's `eps`, else 1e-4 as in every released model).
Config values that disagree with the weights are an error naming both.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Mapping, Optional

import torch
from torch import nn
from torch.nn import functional as F

from ganinv.architectures import DECISIONS, Architecture, Built, decision, register
from ganinv.errors import ArchitectureError
from ganinv.spec import GeneratorSpec
from ganinv.weight_parametrizations import fold_parametrizations

TRUNCATION_BOUNDS = (-2.0, 2.0)  # z = truncation * TruncNormal(-2, 2) (truncated_noise_sample)


@dataclass
class BigGANOptions:
    z_dim: int = 128
    num_classes: int = 1000
    channel_width: int = 128
    # (up_sample, in_mult, out_mult) per block, or flat "0,16,16,1,16,8,..."; default: biggan-deep-128's
    layers: tuple = (
        (0, 16, 16),
        (1, 16, 16),
        (0, 16, 16),
        (1, 16, 8),
        (0, 8, 8),
        (1, 8, 4),
        (0, 4, 4),
        (1, 4, 2),
        (0, 2, 2),
        (1, 2, 1),
    )
    attention_layer_position: int = 8  # self-attention before this block; outside 0..len(layers)-1: none
    output_dim: int = 0  # image side; 0 = from the layers
    n_stats: int = 51  # BatchNorm statistics stored for this many truncation values in [0, 1]
    eps: float = 1e-4  # BatchNorm eps (not in the weights)
    truncation: float = 1.0  # in (0, 1]: picks BatchNorm statistics and scales the latent


# ---- the native module ----------------------------------------------------------------------


class TruncationStats:
    """Where the project reads a truncation's statistics: (index, weight of that index)."""

    def __init__(self, truncation: float, n_stats: int):
        coef, start = math.modf(truncation / (1.0 / (n_stats - 1)))  # the project's arithmetic, float for float
        self.start, self.coef = int(start), coef

    def pick(self, table: torch.Tensor) -> torch.Tensor:  # (n_stats, C) -> (C,)
        if self.coef != 0.0:
            return table[self.start] * self.coef + table[self.start + 1] * (1 - self.coef)
        return table[self.start]


class ConditionalBatchNorm(nn.Module):
    """BatchNorm with stored per-truncation statistics; class-conditional gain and bias when `cond_dim`."""

    running_means: torch.Tensor  # buffer (n_stats, C)
    running_vars: torch.Tensor  # buffer (n_stats, C)

    def __init__(self, channels: int, n_stats: int, eps: float, stats: TruncationStats, cond_dim: int = 0):
        super().__init__()
        self.eps, self.stats = eps, stats
        self.register_buffer("running_means", torch.zeros(n_stats, channels))
        self.register_buffer("running_vars", torch.ones(n_stats, channels))
        self.conditional = cond_dim > 0
        if self.conditional:
            self.scale = nn.Linear(cond_dim, channels, bias=False)
            self.offset = nn.Linear(cond_dim, channels, bias=False)
        else:
            self.weight = nn.Parameter(torch.ones(channels))
            self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor, cond: Optional[torch.Tensor] = None) -> torch.Tensor:
        mean = self.stats.pick(self.running_means)[None, :, None, None]  # (1, C, 1, 1)
        var = self.stats.pick(self.running_vars)[None, :, None, None]
        x = (x - mean) / torch.sqrt(var + self.eps)
        if self.conditional:
            return x * (1 + self.scale(cond))[:, :, None, None] + self.offset(cond)[:, :, None, None]
        return x * self.weight[None, :, None, None] + self.bias[None, :, None, None]


class ResidualBlock(nn.Module):
    """BN-ReLU-1x1 (to in/4), BN-ReLU-[up]-3x3, BN-ReLU-3x3, BN-ReLU-1x1 (to out); skip: drop channels, [up]."""

    def __init__(
        self, c_in: int, c_out: int, cond_dim: int, up: bool, n_stats: int, eps: float, stats: TruncationStats
    ):
        super().__init__()
        mid = c_in // 4
        self.up = up
        for i, (a, b, k) in enumerate(((c_in, mid, 1), (mid, mid, 3), (mid, mid, 3), (mid, c_out, 1))):
            setattr(self, f"bn_{i}", ConditionalBatchNorm(a, n_stats, eps, stats, cond_dim))
            setattr(self, f"conv_{i}", nn.Conv2d(a, b, k, padding=k // 2))

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        h = x
        for i in range(4):
            h = F.relu(getattr(self, f"bn_{i}")(h, cond))
            if i == 1 and self.up:
                h = F.interpolate(h, scale_factor=2, mode="nearest")
            h = getattr(self, f"conv_{i}")(h)
        if x.shape[1] != h.shape[1]:
            x = x[:, : x.shape[1] // 2]  # the project halves the skip's channels when the width changes
        if self.up:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        return h + x


class SelfAttention(nn.Module):
    """SAGAN attention with 2x2 max-pooled keys and values, added with a learned `gamma`."""

    def __init__(self, channels: int):
        super().__init__()
        self.snconv1x1_theta = nn.Conv2d(channels, channels // 8, 1, bias=False)
        self.snconv1x1_phi = nn.Conv2d(channels, channels // 8, 1, bias=False)
        self.snconv1x1_g = nn.Conv2d(channels, channels // 2, 1, bias=False)
        self.snconv1x1_o_conv = nn.Conv2d(channels // 2, channels, 1, bias=False)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, ch, h, w = x.shape
        theta = self.snconv1x1_theta(x).reshape(b, ch // 8, h * w)
        phi = F.max_pool2d(self.snconv1x1_phi(x), 2).reshape(b, ch // 8, h * w // 4)
        attn = torch.bmm(theta.transpose(1, 2), phi).softmax(dim=-1)  # (B, HW, HW/4)
        g = F.max_pool2d(self.snconv1x1_g(x), 2).reshape(b, ch // 2, h * w // 4)
        out = torch.bmm(g, attn.transpose(1, 2)).reshape(b, ch // 2, h, w)
        return x + self.gamma * self.snconv1x1_o_conv(out)


class Trunk(nn.Module):
    """The project's `generator` submodule: condition vector -> image."""

    def __init__(self, o: BigGANOptions, blocks: tuple[tuple[int, int, int], ...]):
        super().__init__()
        ch, cond_dim, self.ch = o.channel_width, 2 * o.z_dim, o.channel_width
        stats = TruncationStats(o.truncation, o.n_stats)
        self.gen_z = nn.Linear(cond_dim, 4 * 4 * 16 * ch)
        layers: list[nn.Module] = []
        for i, (up, m_in, m_out) in enumerate(blocks):
            if i == o.attention_layer_position:
                layers.append(SelfAttention(ch * m_in))
            layers.append(ResidualBlock(ch * m_in, ch * m_out, cond_dim, bool(up), o.n_stats, o.eps, stats))
        self.layers = nn.ModuleList(layers)
        self.bn = ConditionalBatchNorm(ch, o.n_stats, o.eps, stats)
        self.conv_to_rgb = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, cond: torch.Tensor) -> torch.Tensor:
        h = self.gen_z(cond).reshape(-1, 4, 4, 16 * self.ch).permute(0, 3, 1, 2)  # (B, 16 ch, 4, 4)
        for layer in self.layers:
            h = layer(h, cond) if isinstance(layer, ResidualBlock) else layer(h)
        h = self.conv_to_rgb(F.relu(self.bn(h)))
        return torch.tanh(h[:, :3])


class BigGANNet(nn.Module):
    def __init__(self, o: BigGANOptions):
        super().__init__()
        if not 0.0 < o.truncation <= 1.0:
            raise ArchitectureError(
                f"biggan truncation must be in (0, 1], got {o.truncation}; e.g. --option truncation=0.4"
            )
        if o.n_stats < 2:
            raise ArchitectureError(f"biggan n_stats must be at least 2, got {o.n_stats}")
        self.o = o
        self.blocks = block_list(o.layers)
        self.embeddings = nn.Linear(o.num_classes, o.z_dim, bias=False)
        self.generator = Trunk(o, self.blocks)

    def forward(
        self, z: torch.Tensor, c: Optional[torch.Tensor] = None, d: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        if d is None:
            raise ValueError("biggan is class-conditional: pass the class code d (N, num_classes)")
        cond = torch.cat([z, self.embeddings(d)], dim=1)  # (B, 2 z_dim)
        return self.generator(cond)

    def spec(self) -> GeneratorSpec:
        side = image_side(self.blocks)
        return GeneratorSpec(
            nz=self.o.z_dim,
            image_shape=(3, side, side),
            n_classes=self.o.num_classes,
            native_prior="truncated_normal",
            native_prior_range=TRUNCATION_BOUNDS,
            native_prior_scale=self.o.truncation,
            native_output_range=(-1.0, 1.0),
            differentiable_codes=True,
        )


def block_list(layers: Any) -> tuple[tuple[int, int, int], ...]:
    """(up, in_mult, out_mult) triples from the config's list of lists or a flat list of numbers."""
    if isinstance(layers, str):  # from the command line
        layers = [p for p in layers.replace(" ", "").strip("()[]").split(",") if p]
    flat: list[Any] = []
    for item in layers or ():
        flat.extend(item if isinstance(item, (list, tuple)) else [item])
    words = {"true": 1, "false": 0}
    try:
        flat = [int(words.get(str(v).lower(), v)) for v in flat]
    except (TypeError, ValueError):
        flat = []
    if not flat or len(flat) % 3:
        raise ArchitectureError(
            "biggan layers must be (up_sample, in_mult, out_mult) triples, e.g. "
            "--option layers=0,16,16,1,16,8; got " + repr(layers)
        )
    return tuple((int(bool(flat[i])), flat[i + 1], flat[i + 2]) for i in range(0, len(flat), 3))


def image_side(blocks: tuple[tuple[int, int, int], ...]) -> int:
    return 4 * 2 ** sum(up for up, _, _ in blocks)


# ---- reading the weights ------------------------------------------------------------------


def weight(sd: Mapping[str, torch.Tensor], prefix: str) -> Optional[torch.Tensor]:
    return sd.get(prefix + ".weight_orig", sd.get(prefix + ".weight"))


def read_options(sd: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    """Every option the tensors decide; an ArchitectureError for weights of another layout."""
    embed, gen_z = sd.get("embeddings.weight"), weight(sd, "generator.gen_z")
    if embed is None or gen_z is None or "generator.bn.running_means" not in sd:
        raise ArchitectureError(
            "not a pytorch-pretrained-BigGAN generator (no embeddings.weight, "
            "generator.gen_z, generator.bn.running_means)"
        )
    if embed.dim() != 2 or gen_z.dim() != 2:
        raise ArchitectureError("embeddings.weight and generator.gen_z must be matrices")
    z_dim, num_classes = embed.shape
    if gen_z.shape[1] != 2 * z_dim or gen_z.shape[0] % 256:
        raise ArchitectureError(
            f"generator.gen_z has shape {tuple(gen_z.shape)}; expected (256 channel_width, "
            f"{2 * z_dim}) for z_dim {z_dim}"
        )
    ch = gen_z.shape[0] // 256
    indices = sorted({int(m.group(1)) for k in sd if (m := re.match(r"generator\.layers\.(\d+)\.", k))})
    if indices != list(range(len(indices))):
        raise ArchitectureError("generator.layers.<i> are not numbered 0..n")
    blocks: list[tuple[int, int]] = []
    attention, width = -1, 16 * ch
    for i in indices:
        prefix = f"generator.layers.{i}"
        if weight(sd, prefix + ".snconv1x1_theta") is not None:
            if attention >= 0:
                raise ArchitectureError("more than one self-attention block; not a pytorch-pretrained-BigGAN layout")
            attention = len(blocks)
            continue
        means, last = sd.get(prefix + ".bn_0.running_means"), weight(sd, prefix + ".conv_3")
        if means is None or last is None:
            raise ArchitectureError(f"{prefix} is neither a residual block nor self-attention")
        c_in, c_out = means.shape[1], last.shape[0]
        if c_in != width or c_in % ch or c_out % ch:
            raise ArchitectureError(
                f"{prefix} maps {c_in} -> {c_out} channels; expected {width} in, multiples of channel_width {ch}"
            )
        blocks.append((c_in // ch, c_out // ch))
        width = c_out
    if not blocks or width != ch:
        raise ArchitectureError(f"the blocks end with {width} channels, expected channel_width {ch}")
    return {
        "z_dim": z_dim,
        "num_classes": num_classes,
        "channel_width": ch,
        "multipliers": tuple(blocks),
        "attention_layer_position": attention,
        "n_stats": sd["generator.bn.running_means"].shape[0],
    }


def attention_index(position: int, n_blocks: int) -> int:
    return position if 0 <= position < n_blocks else -1


@register
class BigGAN(Architecture):
    name = "biggan"
    Options = BigGANOptions
    channel_order = "rgb"  # its code base's loaders (PIL)
    reads_every_layer = True  # one fixed net: the keys give its blocks, widths and attention
    summary = (
        "BigGAN-deep (pytorch-pretrained-BigGAN): class-conditional, spectral norm folded, BatchNorm "
        "statistics per truncation (--option truncation=0.4), truncated-normal latent"
    )

    def build(self, options: BigGANOptions) -> Built:
        net = BigGANNet(options)
        if options.output_dim and options.output_dim != image_side(net.blocks):
            raise ArchitectureError(
                f"biggan output_dim={options.output_dim} but the layers make {image_side(net.blocks)}-pixel images"
            )
        return Built(net, net.spec())

    def infer_options(self, state_dict: Mapping[str, torch.Tensor], given: dict[str, Any]) -> dict[str, Any]:
        read = read_options(state_dict)
        multipliers = read.pop("multipliers")
        for name, value in read.items():
            if name in given and given[name] is not None:
                said = int(given[name])
                if name == "attention_layer_position":
                    said = attention_index(said, len(multipliers))
                if said != value:
                    raise ArchitectureError(
                        f"biggan: the options/config say {name}={given[name]} but the weights "
                        f"have {name}={value}; fix or drop the option"
                    )
        decisions = []
        if given.get("layers"):
            blocks = block_list(given["layers"])
            if tuple((m_in, m_out) for _, m_in, m_out in blocks) != multipliers:
                raise ArchitectureError(
                    f"biggan: the config's layers {[list(b) for b in blocks]} do not match the "
                    f"weights' channel multipliers {[list(m) for m in multipliers]}"
                )
        else:
            blocks = tuple((i % 2, m_in, m_out) for i, (m_in, m_out) in enumerate(multipliers))
            decisions.append(
                decision(
                    "layers",
                    [v for b in blocks for v in b],
                    "assumed: BigGAN-deep's alternating "
                    "up-sampling (blocks 1, 3, 5, ... up-sample), as in every released model",
                    "--option layers=UP,IN,OUT,...",
                )
            )
        if "eps" not in given:
            decisions.append(
                decision("eps", 1e-4, "assumed: the BatchNorm eps of every released model", "--option eps=VALUE")
            )
        if "truncation" not in given:
            decisions.append(
                decision(
                    "truncation",
                    1.0,
                    "assumed: the untruncated prior (BigGAN's examples sample at 0.4)",
                    "--option truncation=0.4",
                )
            )
        position = read["attention_layer_position"]
        return {
            **given,
            **read,
            "layers": blocks,
            DECISIONS: decisions,
            "attention_layer_position": position if position >= 0 else len(blocks),
        }

    def make_options(self, values: Mapping[str, Any]) -> BigGANOptions:
        options = super().make_options(values)
        options.layers = block_list(options.layers) if options.layers else options.layers
        return options

    def convert_state_dict(self, state_dict: dict[str, torch.Tensor], options: Any) -> dict[str, torch.Tensor]:
        return fold_parametrizations(state_dict, "the BigGAN weights")
