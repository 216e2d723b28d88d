"""`upconv`: Linear to a small map, then nearest x2 Upsample + Conv2d stages, any public layout.

The generator of eriklindernoren/PyTorch-GAN `dcgan`, `acgan` and `infogan` (and the many
copies of it): `l1` maps the input to `128 x S0 x S0`, BatchNorm2d, then Upsample(x2) ->
Conv2d 3x3 -> BatchNorm2d(eps 0.8) -> LeakyReLU(0.2) twice, and a last Conv2d 3x3 -> Tanh;
with the defaults (32 pixels) 100 -> 128x8x8 -> 128x16x16 -> 64x32x32 -> 1x32x32.

Inputs, by `condition`:
- `none`: z alone (dcgan).
- `multiply`: `embedding(labels) * z`, the embedding being K x nz (acgan); a soft one-hot
  d enters as `d @ embedding.weight`.
- `concat`: `cat(z, d, c)` (infogan: `--option n_classes=10 nc=2`); its codes `c` are drawn
  from U(-1, 1) in training, so by default (`code_prior=uniform`) the standard-normal c of
  the contract is mapped through `2 Phi(c) - 1` (docs/algorithms.md §1).

From a state dict, widths, kernels and BatchNorms are read from the tensors; an x2 upsampling
is assumed before every convolution but the last (as PyTorch-GAN does) and reported; the
BatchNorm eps and the hidden activation, when not given, are identified from the BatchNorm
running statistics (see `statedict.py`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from itertools import permutations, product
from typing import Any, Callable, Iterable, Mapping, Optional, cast

import torch
from torch import nn

from ganinv.architectures import DECISIONS, Architecture, Built, decision, load_weights, register
from ganinv.errors import ArchitectureError
from ganinv.spec import GeneratorSpec, Prior

from .convt import activation
from .statedict import (
    DECIDED_RATIO,
    POOR_FIT,
    POOR_FIT_SAID,
    PRIOR_MEANS,
    PRIOR_PROBES,
    PRIOR_SPECS,
    PriorFromSpec,
    Property,
    activation_and_eps,
    bn_discrepancy,
    group_modules,
    identify_from_statistics,
    initial_statistics,
    kind_of,
    label_fits,
    label_use,
    natural_key,
    no_normalisation,
    normalise_as_in_training,
    option_flag,
    prior_decision,
    rename_modules,
    running_statistics,
    unnamed_label,
    unread_inputs,
    visible_epsilons,
    weak_margin,
)

PRIOR_FLAG = "--prior uniform:-1,1 or --prior uniform:0,1"


@dataclass
class UpConvOptions:
    nz: int = 100  # noise size
    channels: int = 1  # image channels
    resolution: int = 32  # image side
    widths: tuple[int, ...] = (128, 128, 64)  # head map channels, then the output channels of every conv but the last
    kernel: int = 3  # Conv2d kernel side (padding kernel // 2 keeps the size)
    head_norm: bool = True  # BatchNorm2d on the head map
    norm_eps: float = 0.8  # eps of the stages' BatchNorm2d (PyTorch-GAN's BatchNorm2d(n, 0.8) sets eps)
    activation: str = "leaky_relu"  # "leaky_relu" (slope 0.2) or "relu"
    output: str = "tanh"  # "tanh", "sigmoid" (images in [0, 1]) or "none"
    n_classes: int = 0  # K, categories of d
    nc: int = 0  # continuous codes c (condition=concat)
    condition: str = "none"  # "none", "multiply" (embedding(d) * z, acgan) or "concat" (cat(z, d, c), infogan)
    code_prior: str = "uniform"  # the native prior of c: "uniform" (U(-1, 1)) or "normal"
    # condition=concat: the order in which the head's Linear takes z, d (one-hot) and c, e.g. "dzc" for
    # cat(label, z, code); read with the priors from the head BatchNorm, which sees them through the Linear alone
    input_order: str = "zdc"
    # how the head's output becomes the first map: "chw", view(N, C, S, S) as PyTorch code does, or "hwc",
    # view(N, S, S, C) then channels first, as ports of Keras's Reshape do; read from the head BatchNorm
    head_layout: str = "chw"
    # the native prior of z: "normal" N(0, I), "uniform" U(-1, 1) or "uniform01" U(0, 1); a state dict does not
    # store it, the head BatchNorm's statistics (z through the Linear alone) tell it
    prior: str = "normal"
    # how a stage doubles its map: "nearest" (PyTorch-GAN's nn.Upsample(scale_factor=2)), "bilinear" or "bicubic"
    # (nn.Upsample's mode, align_corners=False), "bilinear_align_corners" (align_corners=True, PyTorch <= 0.3's
    # bilinear); a state dict does not store it, the stages' BatchNorms may tell it
    upsample: str = "nearest"
    # how the convolutions pad: "zeros" (nn.Conv2d's default), "reflect" or "replicate" (padding_mode=, as
    # image-to-image code writes them); a state dict does not store it, the stages' BatchNorms may tell it
    padding_mode: str = "zeros"
    # rows of a label embedding (K x nz) that the file holds but the generator never uses (PyTorch-GAN sgan defines
    # `label_emb` for nothing): held so that the file loads as saved, never applied; condition is then "none"
    unused_embedding: int = 0


# PyTorch-GAN's first; the rest are searched too: a bilinear net with aligned corners was "decided" bilinear, and a
# bicubic one nearest, 1.78 and 1.19 off (an outside audit, 55a)
UPSAMPLE_MODES = ("nearest", "bilinear", "bilinear_align_corners", "bicubic")
ALIGNED = "_align_corners"  # the suffix of a mode with nn.Upsample's align_corners=True
# nn.Conv2d's default first; reflection padding, read as zeros, moved a net's images 1.83 (an outside audit, 55a)
PADDING_MODES = ("zeros", "reflect", "replicate")


def doubled(x: torch.Tensor, mode: str) -> torch.Tensor:
    """(B, C, H, W) -> (B, C, 2H, 2W), as nn.Upsample(scale_factor=2, mode=...) does."""
    if mode == "nearest":
        return nn.functional.interpolate(x, scale_factor=2, mode="nearest")
    aligned = mode.endswith(ALIGNED)
    return nn.functional.interpolate(x, scale_factor=2, mode=mode.removesuffix(ALIGNED), align_corners=aligned)


class UpStage(nn.Module):
    """[Upsample x2] -> Conv2d -> [BatchNorm2d] -> activation."""

    def __init__(
        self, c_in: int, c_out: int, kernel: int, upsample: bool, norm: bool, eps: float, act: str, mode: str, pad: str
    ):
        super().__init__()
        self.upsample = upsample
        self.mode = mode
        self.conv = nn.Conv2d(c_in, c_out, kernel, 1, kernel // 2, padding_mode=cast(Any, pad))  # PADDING_MODES
        self.norm = nn.BatchNorm2d(c_out, eps=eps) if norm else nn.Identity()
        self.act = activation(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.upsample:
            x = doubled(x, self.mode)  # (B, C, 2H, 2W)
        return self.act(self.norm(self.conv(x)))


class UpConvNet(nn.Module):
    """Native module `net(z, c, d)` -> images (N, C, H, W)."""

    def __init__(self, o: UpConvOptions):
        super().__init__()
        self.o = o
        n_stages = len(o.widths)  # convolutions: one per width after the head's, plus the image one
        self.head_size = o.resolution // 2 ** (n_stages - 1)
        if self.head_size * 2 ** (n_stages - 1) != o.resolution:
            raise ArchitectureError(f"resolution {o.resolution} is not {n_stages - 1} doublings of a map side")
        if o.condition not in ("none", "multiply", "concat"):
            raise ArchitectureError(f"condition must be none, multiply or concat, got {o.condition!r}")
        if o.prior not in PRIOR_PROBES:
            raise ArchitectureError(f"prior must be one of {', '.join(PRIOR_PROBES)}, got {o.prior!r}")
        if sorted(o.input_order) != ["c", "d", "z"]:
            raise ArchitectureError(f"input_order must order the letters z, d and c (e.g. zdc), got {o.input_order!r}")
        if o.upsample not in UPSAMPLE_MODES:
            raise ArchitectureError(f"upsample must be one of {', '.join(UPSAMPLE_MODES)}, got {o.upsample!r}")
        if o.padding_mode not in PADDING_MODES:
            raise ArchitectureError(f"padding_mode must be one of {', '.join(PADDING_MODES)}, got {o.padding_mode!r}")
        if o.head_layout not in ("chw", "hwc"):
            raise ArchitectureError(f"head_layout must be chw or hwc, got {o.head_layout!r}")
        rows = o.n_classes if o.condition == "multiply" else o.unused_embedding
        self.embed = nn.Embedding(rows, o.nz) if rows else None
        n_in = o.nz + (o.n_classes + o.nc if o.condition == "concat" else 0)
        self.head = nn.Linear(n_in, o.widths[0] * self.head_size**2)
        self.head_norm = nn.BatchNorm2d(o.widths[0]) if o.head_norm else nn.Identity()
        outs = list(o.widths[1:]) + [o.channels]
        self.stages = nn.ModuleList(
            UpStage(
                c_in,
                c_out,
                o.kernel,
                upsample=i < n_stages - 1,
                norm=i < n_stages - 1,
                eps=o.norm_eps,
                act=o.activation if i < n_stages - 1 else o.output,
                mode=o.upsample,
                pad=o.padding_mode,
            )
            for i, (c_in, c_out) in enumerate(zip(o.widths, outs))
        )

    def first_input(self, z: torch.Tensor, c: Optional[torch.Tensor], d: Optional[torch.Tensor]) -> torch.Tensor:
        z = z.flatten(1)  # (N, nz)
        if self.o.condition == "multiply":
            assert d is not None and self.embed is not None, "condition=multiply needs the one-hot d"
            return (d @ self.embed.weight) * z  # a soft one-hot d stays differentiable
        if self.o.condition == "concat":
            parts = {"z": z}
            if self.o.n_classes:
                assert d is not None, "a class-conditional generator needs its one-hot d"
                parts["d"] = d
            if self.o.nc:
                assert c is not None, "a generator with continuous codes needs c"
                parts["c"] = 2 * torch.special.ndtr(c) - 1 if self.o.code_prior == "uniform" else c
            return torch.cat([parts[p] for p in self.o.input_order if p in parts], dim=1)  # (N, nz + K + nc)
        return z

    def head_map(
        self, z: torch.Tensor, c: Optional[torch.Tensor] = None, d: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        return self.head_norm(self.first_map(self.head(self.first_input(z, c, d))))

    def first_map(self, h: torch.Tensor) -> torch.Tensor:
        """The head Linear's output (N, C * S * S) as the first map (N, C, S, S)."""
        if self.o.head_layout == "hwc":
            return h.view(h.shape[0], self.head_size, self.head_size, self.o.widths[0]).permute(0, 3, 1, 2)
        return h.view(h.shape[0], self.o.widths[0], self.head_size, self.head_size)

    def forward(
        self, z: torch.Tensor, c: Optional[torch.Tensor] = None, d: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        h = self.head_map(z, c, d)
        for stage in self.stages:
            h = stage(h)
        return h  # (N, C, H, W)


def read_layers(
    state_dict: Mapping[str, torch.Tensor],
) -> tuple[dict, str, Optional[str], list[str], list[str], Optional[str]]:
    """(modules, head Linear, head BatchNorm, convs, their BatchNorms, embedding) of a foreign state dict."""
    modules = group_modules(state_dict)
    kinds = {p: kind_of(p, t) for p, t in modules.items()}
    linears = [p for p in modules if kinds[p] == "linear"]
    embeds = [p for p in modules if kinds[p] == "embedding"]
    if len(linears) != 1 or len(embeds) > 1 or "unknown" in kinds.values():
        raise ArchitectureError(
            "not a Linear + Upsample/Conv2d generator: expected one Linear layer, Conv2d "
            "and BatchNorm2d layers, and at most one label embedding"
        )
    head = linears[0]
    for order in (list(modules), sorted(modules, key=natural_key)):
        convs = [p for p in order if kinds[p] == "conv"]
        norms = [p for p in order if kinds[p] == "norm"]
        weights = [modules[p]["weight"] for p in convs]  # (C_out, C_in, k, k)
        chained = convs and all(a.shape[0] == b.shape[1] for a, b in zip(weights, weights[1:]))
        if not chained:
            continue
        head_norm = norms[0] if len(norms) == len(convs) else None
        stage_norms = norms[1:] if head_norm else norms
        fits = len(stage_norms) == len(convs) - 1 and all(
            modules[n]["weight"].shape[0] == w.shape[0] for n, w in zip(stage_norms, weights)
        )
        if fits and (head_norm is None or modules[head_norm]["weight"].shape[0] == weights[0].shape[1]):
            return modules, head, head_norm, convs, stage_norms, embeds[0] if embeds else None
    raise ArchitectureError("the Conv2d and BatchNorm2d layers do not chain into one Upsample/Conv2d generator")


def head_readings(head: Mapping[str, torch.Tensor], channels: int) -> Callable[[torch.Tensor], list[torch.Tensor]]:
    """Inputs (N, n_in) -> the head Linear's output as the first map's `channels` channels under each layout (chw,
    hwc), (N, C0, S0 * S0) each: what the head BatchNorm sees of the inputs, for the readings of them."""

    weight, bias = head["weight"].float(), head.get("bias")  # bf16 files: in float32

    def maps(x: torch.Tensor) -> list[torch.Tensor]:
        h = nn.functional.linear(x, weight, None if bias is None else bias.float())  # (N, C0 * S0 * S0)
        return [h.view(len(h), channels, -1), h.view(len(h), -1, channels).transpose(1, 2)]

    return maps


def unseen_inputs(initial: bool) -> str:
    """Why no statistic sees the head's inputs: the statistics are the initial ones, or no BatchNorm is there."""
    return "the BatchNorm statistics are the initial ones" if initial else "no BatchNorm sees z before a nonlinearity"


def embedding_reading(
    modules: Mapping[str, Mapping[str, torch.Tensor]],
    head: str,
    head_norm: Optional[str],
    embed: Optional[str],
    given: Mapping[str, Any],
    initial: bool,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(options, decisions) for a label embedding (K x nz) in the file: the user's `condition`, or n_classes=0 (the
    embedding held unused); else whether it multiplies z (acgan) or is never used (sgan), by the head BatchNorm,
    which sees the inputs through the Linear alone (`label_use`)."""
    if embed is None:
        return {}, []
    unused = {"condition": "none", "n_classes": 0, "unused_embedding": int(modules[embed]["weight"].shape[0])}
    if given.get("condition") == "none" or int(given.get("n_classes", 1)) == 0:
        return unused, []
    if "condition" in given:
        return {}, []
    fits = None
    if head_norm is not None and not initial:
        channels = int(modules[head_norm]["running_mean"].shape[0])
        maps = head_readings(modules[head], channels)
        fits = label_fits(maps, running_statistics(modules[head_norm]), modules[embed]["weight"])
    used, said = label_use("upsample+conv", fits, unseen_inputs(initial), int(given.get("n_classes", 0)))
    return {} if used else unused, [said]


@torch.no_grad()
def bn_misfits(net: UpConvNet, bound: float = math.inf, n_probe: int = 128) -> Optional[tuple[float, ...]]:
    """Misfit at each stage BatchNorm, normalising by batch statistics as in training."""
    o = net.o
    z = PRIOR_PROBES[o.prior](n_probe, o.nz, torch.Generator().manual_seed(0))  # the net's own prior
    c = torch.randn(n_probe, o.nc, generator=torch.Generator().manual_seed(1)) if o.nc else None
    d = torch.eye(o.n_classes)[torch.arange(n_probe) % o.n_classes] if o.n_classes else None
    h = net.first_map(net.head(net.first_input(z, c, d)))  # (N, C0, S0, S0), in the layout the head reads
    if isinstance(net.head_norm, nn.BatchNorm2d):
        h = nn.functional.batch_norm(
            h, None, None, net.head_norm.weight, net.head_norm.bias, True, 0.0, net.head_norm.eps
        )
    misfits: list[float] = []
    for stage in cast(Iterable[UpStage], net.stages):
        y = stage.conv(doubled(h, stage.mode) if stage.upsample else h)
        h = stage.act(normalise_as_in_training(y, stage.norm, misfits))
        if sum(misfits) > bound:  # no reading the search can still pick (identification.search, bounded)
            return None
    return tuple(misfits)


# The head BatchNorm's misfit under the author's prior is that of the probe batch's noise (under 0.01 in the tests);
# all inputs drawn from one prior misfit InfoGAN's z + one-hot + U(-1, 1) codes by 0.1 or more.
POOR_PRIOR_FIT = 0.05

ACTIVATIONS = ("leaky_relu", "relu", "none")  # PyTorch-GAN's first
EPSILONS = (0.8, 1e-5)  # PyTorch-GAN's BatchNorm2d(n, 0.8) first, then PyTorch's default


def upsampling(given: Mapping[str, Any], values: Mapping[str, Any], normed: bool) -> Property:
    """How the stages double their maps, read from the BatchNorms after them: nearest is PyTorch-GAN's, the others
    unusual readings taken only where they fit clearly better (the statistics of a trained net often cannot tell them
    apart: a bilinear net then loads as nearest, said, with the option; an outside audit found it 1.8 off unnamed)."""
    return Property(
        "upsample",
        (values["upsample"],) if "upsample" in given else UPSAMPLE_MODES if normed else ("nearest",),
        "PyTorch-GAN's nn.Upsample(scale_factor=2), nearest",
        option_flag("upsample"),
        usual=("nearest",),
        rarer=("bilinear_align_corners", "bicubic"),
    )


@register
class UpConv(PriorFromSpec, Architecture):
    name = "upconv"
    Options = UpConvOptions
    summary = "Linear to a map, Upsample x2 + Conv2d stages (PyTorch-GAN dcgan/acgan/infogan); codes optional"
    aliases = {"latent_dim": "nz", "img_size": "resolution", "code_dim": "nc", "num_classes": "n_classes"}

    def build(self, options: UpConvOptions) -> Built:
        net = UpConvNet(options)
        spec = GeneratorSpec(
            nz=options.nz,
            image_shape=(options.channels, options.resolution, options.resolution),
            nc=options.nc if options.condition == "concat" else 0,
            n_classes=options.n_classes if options.condition != "none" else 0,
            native_output_range=(0.0, 1.0) if options.output == "sigmoid" else (-1.0, 1.0),
            native_prior=cast(Prior, PRIOR_SPECS[options.prior][0]),  # checked in UpConvNet.__init__
            native_prior_range=PRIOR_SPECS[options.prior][1],
        )
        return Built(net, spec)

    def infer_options(self, state_dict: Mapping[str, torch.Tensor], given: dict[str, Any]) -> dict[str, Any]:
        modules, head, head_norm, convs, norms, embed = read_layers(state_dict)
        weights = [modules[p]["weight"] for p in convs]  # (C_out, C_in, k, k)
        widths = tuple(int(w.shape[1]) for w in weights)
        n_in = int(modules[head]["weight"].shape[1])
        head_side = round((modules[head]["weight"].shape[0] / widths[0]) ** 0.5)
        read: dict[str, Any] = {
            "widths": widths,
            "kernel": int(weights[0].shape[-1]),
            "channels": int(weights[-1].shape[0]),
            "head_norm": head_norm is not None,
            "resolution": head_side * 2 ** (len(convs) - 1),
            "nz": n_in,
        }
        if embed:
            rows, width = modules[embed]["weight"].shape  # (K, E)
            if width != n_in:  # an outside audit (39a): read as multiplying z, it was an internal error
                raise ArchitectureError(
                    f"the label embedding ({rows} x {width}) is not as wide as the head Linear's {n_in} inputs: "
                    "a label vector beside z, which the upsample+conv adapter does not build (it builds an embedding "
                    "multiplying z, or a one-hot label beside z); load it with --model-class MODULE:CLASS (its own "
                    "class)"
                )
            read.update(condition="multiply", n_classes=int(rows))
        values = {**read, **given}
        label, label_said = embedding_reading(modules, head, head_norm, embed, given, initial_statistics(state_dict))
        values.update(label)
        if values.get("condition", "none") == "none" and (int(values.get("n_classes", 0)) or int(values.get("nc", 0))):
            values["condition"] = "concat"  # codes given for a generator without an embedding: InfoGAN's input
        if values.get("condition") == "concat" and "nz" not in given:
            values["nz"] = n_in - int(values.get("n_classes", 0)) - int(values.get("nc", 0))
        # the head's inputs first: the stages are probed with the prior it reads (a net trained on torch.rand latents,
        # probed with N(0, I), fit none of its readings: an outside audit, 55a)
        inputs_said = self.head_inputs(state_dict, values, given)
        base = self.make_options(values)
        properties = activation_and_eps(
            given,
            values,
            ACTIVATIONS,
            EPSILONS,
            bool(norms),
            "LeakyReLU(0.2) between stages (PyTorch-GAN)",
            "BatchNorm2d eps 0.8 (PyTorch-GAN's BatchNorm2d(n, 0.8))",
            visible_epsilons(state_dict),
        ) + [upsampling(given, values, bool(norms))]
        chosen, found = identify_from_statistics(
            base,
            properties,
            UpConvNet,
            bn_misfits,
            self.convert_state_dict(dict(state_dict), None),
            self.name,
            "upsample+conv generator",
        )
        values.update(chosen)
        found = label_said + found + self.padding(state_dict, values, given, bool(norms))
        # The net is checked against its statistics, and what no option states is announced, whatever the user gave:
        # `activation` and `norm_eps` given (the author's true values) silenced every other reading (an outside
        # audit: a Sigmoid output and a conv-then-upsample layout loaded 0.3 and 1.68 off without a word). A ganinv
        # folder gives every option: its own decisions are re-announced from its config.
        # The check runs with every option given too: the head BatchNorm is built with PyTorch's eps, and a head
        # BatchNorm2d(n, 0.8) given the author's activation, eps and output loaded 0.41 off in silence (fuzzer 39a);
        # a folder's recorded misfit gives way to this one (`folders.load_folder`).
        found += self.fit_as_built(values, state_dict)
        if not {"activation", "norm_eps", "output"} <= set(given):
            found.append(
                decision(
                    "layout",
                    "x2 upsampling before every convolution but the last",
                    "assumed: PyTorch-GAN dcgan/acgan/infogan layout",
                    "a module:callable or --model-class for another layout",
                )
            )
        if not norms and "upsample" not in given:
            found.append(
                decision(
                    "upsample",
                    "nearest",
                    "assumed: PyTorch-GAN's nn.Upsample(scale_factor=2); no BatchNorm statistics tell it",
                    "--option upsample=" + "|".join(UPSAMPLE_MODES[1:]),
                )
            )
        if "output" not in given:
            found.append(
                decision(
                    "output",
                    base.output,
                    f"assumed: {base.output} on the last convolution (no statistic sees it)",
                    "--option output=tanh|sigmoid|none",
                )
            )
        if not norms and "activation" not in given:
            found.append(no_normalisation())
        found += inputs_said
        values[DECISIONS] = found
        return values

    def padding(
        self, state_dict: Mapping[str, torch.Tensor], values: dict[str, Any], given: Mapping[str, Any], normed: bool
    ) -> list:
        """The convolutions' padding mode, read from the statistics with the rest of the net as read (sets it in
        `values`): it changes the border pixels of every map alone, so it is tried once the rest is decided."""
        if "padding_mode" in given or not normed:
            if not normed and "padding_mode" not in given:
                return [
                    decision(
                        "padding_mode",
                        "zeros",
                        "assumed: nn.Conv2d's zero padding; no BatchNorm statistics tell it",
                        "--option padding_mode=" + "|".join(PADDING_MODES[1:]),
                    )
                ]
            return []
        prop = Property(
            "padding_mode",
            PADDING_MODES,
            "nn.Conv2d's default, zero padding",
            option_flag("padding_mode"),
            usual=("zeros",),
            rarer=("replicate",),  # after a nearest doubling, a one-pixel pad replicates what reflection pads
        )
        options = self.make_options({k: v for k, v in values.items() if k != DECISIONS})
        weights = self.convert_state_dict(dict(state_dict), None)
        chosen, found = identify_from_statistics(
            options, [prop], UpConvNet, bn_misfits, weights, self.name, "upsample+conv generator"
        )
        values.update(chosen)
        return found

    def fit_as_built(self, values: Mapping[str, Any], state_dict: Mapping[str, torch.Tensor]) -> list:
        """The net finally built against its BatchNorm statistics, as the DCGAN family checks it: another upsampling
        (bilinear: misfit 0.30, an outside audit) fits every candidate badly, and is announced, not loaded in
        silence."""
        options = self.make_options({k: v for k, v in values.items() if k != DECISIONS})
        net = UpConvNet(options)
        if not any(isinstance(stage.norm, nn.BatchNorm2d) for stage in cast(Iterable[UpStage], net.stages)):
            return []
        load_weights(net, self.convert_state_dict(dict(state_dict), None), self.name, options)
        misfits = cast(tuple[float, ...], bn_misfits(net.eval()))  # unbounded: every misfit
        worst = max(range(len(misfits)), key=lambda i: misfits[i])
        if misfits[worst] <= POOR_FIT:
            return []
        return [
            decision(
                "statistics",
                f"misfit {misfits[worst]:.3g} at BatchNorm {worst + 1} of {len(misfits)}",
                POOR_FIT_SAID + "): another upsampling than the one built (--option upsample=NAME; area; a "
                "transposed convolution), a layer or activation ganinv does not model (BatchNorm after the activation, "
                "activations that differ by stage), or running statistics that lag the weights? check `ganinv sample`",
                "--model-class MODULE:CLASS (the generator's own class)",
            )
        ]

    def head_inputs(
        self, state_dict: Mapping[str, torch.Tensor], values: dict[str, Any], given: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        """What the head BatchNorm sees through the Linear alone, read together (sets them in `values`): the latent
        prior, the codes' prior and their order (InfoGAN's input), and how the Linear's output becomes the first map.
        Without a head BatchNorm nothing sees them: N(0, I) and PyTorch-GAN's order are assumed out loud."""
        net = UpConvNet(self.make_options(values)).eval()
        load_weights(net, self.convert_state_dict(dict(state_dict), None), self.name, net.o)
        o = net.o
        present = "".join(p for p in "zdc" if p == "z" or (p == "d" and o.n_classes) or (p == "c" and o.nc))
        searched = {
            "prior": () if "prior" in given else tuple(PRIOR_PROBES),
            "code_prior": () if "code_prior" in given or not o.nc or o.condition != "concat" else ("uniform", "normal"),
            "input_order": ()
            if "input_order" in given or o.condition != "concat" or len(present) < 2
            else tuple("".join(p) + "".join(x for x in "zdc" if x not in present) for p in permutations(present)),
            "head_layout": () if "head_layout" in given or net.head_size == 1 else ("chw", "hwc"),
        }
        initial = initial_statistics(state_dict)
        if initial or not isinstance(net.head_norm, nn.BatchNorm2d):
            values["prior"] = values.get("prior", "normal")
            why = unseen_inputs(initial)
            said = []
            if not (o.n_classes or o.nc) and not {"n_classes", "nc"} & set(given):
                said.append(unread_inputs(int(net.head.weight.shape[1]), f"{why}, so nothing shows"))
            if searched["prior"]:
                said.append(decision("prior", "normal", f"assumed: N(0, I) latents ({why})", PRIOR_FLAG))
            if searched["input_order"]:
                said.append(
                    decision(
                        "input_order",
                        "zdc",
                        f"assumed: PyTorch-GAN's cat(z, label, code) ({why})",
                        "--option input_order=dzc (or another order of z, d, c)",
                    )
                )
            return said
        fixed = {k: getattr(o, k) for k in searched}
        names = [k for k in searched if searched[k]]
        misfits: dict[tuple, float] = {}
        with torch.no_grad():
            for combo in product(*(searched[k] for k in names)):
                trial = dataclasses.replace(o, **{**fixed, **dict(zip(names, combo))})
                probe = UpConvNet(trial)
                probe.load_state_dict(net.state_dict())
                z = PRIOR_PROBES[trial.prior](512, o.nz, torch.Generator().manual_seed(0))
                c = torch.randn(512, o.nc, generator=torch.Generator().manual_seed(1)) if o.nc else None
                d = torch.eye(o.n_classes)[torch.arange(512) % o.n_classes] if o.n_classes else None
                h = probe.first_map(probe.head(probe.first_input(z, c, d)))
                misfits[combo] = bn_discrepancy(h, net.head_norm)
        best = min(misfits, key=lambda k: misfits[k])
        values.update(dict(zip(names, best)))
        said = []
        if not (o.n_classes or o.nc) and not {"n_classes", "nc"} & set(given):
            # a one-hot label read as noise gives images the author's net never makes (an outside audit: PyTorch-GAN's
            # InfoGAN loaded as 74 N(0, 1) inputs, 1.17-1.30 off, its prior "decided" at margin 29-38)
            maps = head_readings({"weight": net.head.weight, "bias": net.head.bias}, o.widths[0])
            prior_mean = PRIOR_MEANS[str(values.get("prior", "normal"))]
            said += unnamed_label("upsample+conv", maps, net.head_norm, int(net.head.weight.shape[1]), prior_mean)
        if min(misfits.values()) > POOR_PRIOR_FIT and not (o.n_classes or o.nc):
            values["prior"] = "normal"  # no prior explains the head's inputs: InfoGAN's, with codes beside z?
            return said + [
                decision(
                    "prior",
                    "normal",
                    f"assumed: N(0, I) latents, though the head BatchNorm fits no prior well (misfit "
                    f"{min(misfits.values()):.3g}): are some of its {o.nz} inputs a one-hot label or codes, as "
                    "InfoGAN's?",
                    "--option n_classes=K --option nc=N (InfoGAN's categorical and continuous codes) or --prior ...",
                )
            ]
        for i, name in enumerate(names):
            # each property's misfit with the others at their best: its own candidates compared
            own = {
                combo[i]: misfit
                for combo, misfit in misfits.items()
                if all(combo[j] == best[j] for j in range(len(names)) if j != i)
            }
            if name == "prior":
                said.append(prior_decision(own, values))
                continue
            rival = min((v for v in own if v != best[i]), key=lambda v: own[v])
            ratio = own[rival] / own[best[i]] if own[best[i]] > 0 else float("inf")
            flag = f"--option {name}={rival}"
            if ratio >= DECIDED_RATIO:
                margin = f"{ratio:.3g}" if ratio < 1e6 else ">1e6"
                said.append(decision(name, best[i], f"batchnorm statistics, margin {margin}", flag))
            else:
                said.append(decision(name, best[i], weak_margin(ratio, str(rival)), flag))
        return said

    def convert_state_dict(self, state_dict: dict[str, torch.Tensor], options: Any) -> dict[str, torch.Tensor]:
        modules, head, head_norm, convs, norms, embed = read_layers(state_dict)
        names = {
            head: "head",
            **{p: f"stages.{i}.conv" for i, p in enumerate(convs)},
            **{p: f"stages.{i}.norm" for i, p in enumerate(norms)},
        }
        if head_norm:
            names[head_norm] = "head_norm"
        if embed:
            names[embed] = "embed"
        return rename_modules(modules, names)
