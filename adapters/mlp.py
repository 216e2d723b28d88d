"""`mlp`: fully connected generators, as in the most copied PyTorch GAN / WGAN / WGAN-GP code.

`z` (and a class label) -> Linear [-> BatchNorm1d] -> LeakyReLU(0.2), repeated, -> Linear
-> Tanh, reshaped to `(C, H, W)`. With the defaults this is the generator of
eriklindernoren/PyTorch-GAN `gan`, `wgan` and `wgan_gp` (and of PyTorch Lightning's GAN
example): 100 -> 128 -> 256 -> 512 -> 1024 -> 784, BatchNorm1d from the second layer with
eps 0.8 (its `BatchNorm1d(n, 0.8)` sets eps, not momentum). `cgan` adds a label embedding
placed before z.

From a state dict, widths, BatchNorms and the label embedding are read from the tensors (an
embedding as wide as the first layer's input multiplies z, `h = z * emb[label]`, unless the
first BatchNorm shows z alone, as PyTorch-GAN sgan defines an embedding it never uses; a
narrower one is concatenated to z). The BatchNorm eps, the hidden activation and the order of label
and z are identified from the BatchNorm running statistics where there are some (see
`statedict.py`), and otherwise assumed (PyTorch-GAN's choices) and reported. The image shape
comes from the last layer's width (784 -> 1x28x28, 3072 -> 3x32x32) unless
`image_shape=C,H,W` is given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Optional, cast

import torch
from torch import nn

from ganinv.architectures import DECISIONS, Architecture, Built, NotAGeneratorError, decision, register
from ganinv.errors import ArchitectureError
from ganinv.spec import GeneratorSpec, Prior

from .convt import activation
from .statedict import (
    NO_LINEAR_VIEW,
    PRIOR_MEANS,
    PRIOR_PROBES,
    PRIOR_SPECS,
    PriorFromSpec,
    Property,
    activation_and_eps,
    group_modules,
    identify_from_statistics,
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
    probe_inputs,
    rename_modules,
    running_statistics,
    unnamed_label,
    unread_inputs,
    visible_epsilons,
)


@dataclass
class MLPOptions:
    nz: int = 100  # noise size
    image_shape: tuple[int, ...] = (1, 28, 28)  # (C, H, W) of the output
    # how the last layer's C * H * W outputs are laid out: "chw" (PyTorch's view(N, C, H, W)) or "hwc" (a port of
    # Keras's Reshape((H, W, C))); no statistic sees it, so with colour images it is announced
    image_layout: str = "chw"
    hidden: tuple[int, ...] = (128, 256, 512, 1024)  # widths of the hidden layers
    batch_norm: tuple[int, ...] = (0, 1, 1, 1)  # 1 where a hidden layer has BatchNorm1d
    norm_eps: float = 0.8  # BatchNorm1d eps (state dicts do not store it)
    activation: str = "leaky_relu"  # hidden activation: "leaky_relu" (slope 0.2) or "relu"
    output: str = "tanh"  # last activation: "tanh", "sigmoid" (images in [0, 1]) or "none"
    bias: bool = True  # the Linear layers have a bias
    n_classes: int = 0  # K: class-conditional when > 0
    condition: str = "embedding"  # beside z: "embedding" (d @ Embedding(K, E).weight) or "onehot" (d itself);
    # "multiply": z * (d @ Embedding(K, nz).weight)
    embed_dim: int = 0  # 0 = K
    condition_first: bool = True  # the label vector goes before z (PyTorch-GAN cgan)
    # the native prior of z: "normal" N(0, I), "uniform" U(-1, 1) or "uniform01" U(0, 1); a state dict does not
    # store it, the statistics of the first BatchNorm tell (identified with the activation)
    prior: str = "normal"
    # rows of a label embedding (K x nz) that the file holds but the generator never uses (PyTorch-GAN sgan defines
    # `label_emb` for nothing): held so that the file loads as saved, never applied; n_classes is then 0
    unused_embedding: int = 0


class Block(nn.Module):
    def __init__(self, n_in: int, n_out: int, bias: bool, norm: bool, eps: float, act: str):
        super().__init__()
        self.linear = nn.Linear(n_in, n_out, bias=bias)
        self.norm = nn.BatchNorm1d(n_out, eps=eps) if norm else nn.Identity()
        self.act = activation(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.norm(self.linear(x)))


class MLPNet(nn.Module):
    """Native module `net(z, c, d)`: z (N, nz), d (N, K) one-hot or soft -> images (N, C, H, W)."""

    def __init__(self, o: MLPOptions):
        super().__init__()
        self.o = o
        if len(o.batch_norm) != len(o.hidden):
            raise ArchitectureError(f"batch_norm has {len(o.batch_norm)} flags for {len(o.hidden)} hidden layers")
        if o.n_classes and o.condition not in ("embedding", "onehot", "multiply"):
            raise ArchitectureError(f"condition must be 'embedding', 'onehot' or 'multiply', got {o.condition!r}")
        if o.prior not in PRIOR_PROBES:
            raise ArchitectureError(f"prior must be one of {', '.join(PRIOR_PROBES)}, got {o.prior!r}")
        if o.image_layout not in ("chw", "hwc"):
            raise ArchitectureError(f"image_layout must be chw or hwc, got {o.image_layout!r}")
        embed_dim = o.nz if o.condition == "multiply" else (o.embed_dim or o.n_classes)
        embeds = o.n_classes and o.condition in ("embedding", "multiply")
        self.embed = nn.Embedding(o.n_classes, embed_dim) if embeds else None
        if self.embed is None and o.unused_embedding:  # never applied: first_input reads a label only by n_classes
            self.embed = nn.Embedding(o.unused_embedding, o.nz)
        n_in = o.nz + ((embed_dim if self.embed is not None else o.n_classes) if o.n_classes else 0)
        n_in = o.nz if o.condition == "multiply" else n_in
        self.blocks = nn.ModuleList()
        for width, norm in zip(o.hidden, o.batch_norm):
            self.blocks.append(Block(n_in, width, o.bias, bool(norm), o.norm_eps, o.activation))
            n_in = width
        c, h, w = o.image_shape
        self.out = Block(n_in, c * h * w, o.bias, False, o.norm_eps, o.output)

    def first_input(self, z: torch.Tensor, d: Optional[torch.Tensor] = None) -> torch.Tensor:
        """z with the label vector beside it: (N, nz + E)."""
        h = z.flatten(1)  # (N, nz)
        if self.o.n_classes:
            assert d is not None, "a class-conditional generator needs its one-hot d"
            label = d @ self.embed.weight if self.embed is not None else d  # (N, E): soft one-hots stay differentiable
            if self.o.condition == "multiply":
                return h * label  # (N, nz)
            h = torch.cat([label, h] if self.o.condition_first else [h, label], dim=1)
        return h

    def forward(
        self, z: torch.Tensor, c: Optional[torch.Tensor] = None, d: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        h = self.first_input(z, d)
        for block in self.blocks:
            h = block(h)
        channels, height, width = self.o.image_shape
        if self.o.image_layout == "hwc":
            return self.out(h).view(h.shape[0], height, width, channels).permute(0, 3, 1, 2)  # (N, C, H, W)
        return self.out(h).view(h.shape[0], channels, height, width)  # (N, C, H, W)


def read_layers(state_dict: Mapping[str, torch.Tensor]) -> tuple[dict, list[str], dict[str, str], Optional[str]]:
    """(modules, Linear prefixes in order, Linear -> its BatchNorm1d, embedding) of a foreign state dict."""
    modules = group_modules(state_dict)
    kinds = {p: kind_of(p, t) for p, t in modules.items()}
    odd = [p for p, k in kinds.items() if k not in ("linear", "norm", "embedding")]
    if odd:
        raise ArchitectureError(
            f"not a fully connected generator: {', '.join(odd[:3])} are not Linear, BatchNorm1d or embedding layers"
        )
    embeds = [p for p in modules if kinds[p] == "embedding"]
    for order in (list(modules), sorted(modules, key=natural_key)):
        linears, norms, last = [], {}, None
        for prefix in order:
            if kinds[prefix] == "linear":
                linears.append(last := prefix)
            elif kinds[prefix] == "norm" and last is not None and last not in norms:
                norms[last] = prefix
        widths = [modules[p]["weight"].shape for p in linears]  # (out, in)
        chained = all(a[0] == b[1] for a, b in zip(widths, widths[1:]))
        fits = all(modules[n]["weight"].shape[0] == modules[p]["weight"].shape[0] for p, n in norms.items())
        if linears and chained and fits and len(norms) == sum(kinds[p] == "norm" for p in modules):
            return modules, linears, norms, embeds[0] if embeds else None
        for i in range(len(widths) - 2):  # znxlwm's cGAN: z and the label each through a first layer, concatenated
            if widths[i][0] != widths[i + 1][1] and widths[i][0] + widths[i + 1][0] == widths[i + 2][1]:
                raise ArchitectureError(
                    f"{linears[i]} and {linears[i + 1]} are two branches whose outputs are concatenated for "
                    f"{linears[i + 2]} ({widths[i][0]} + {widths[i + 1][0]} features; a label branch beside z?): "
                    "not modelled by this adapter; load the generator into its class with --model-class MODULE:CLASS"
                )
    raise ArchitectureError("the Linear and BatchNorm1d layers do not chain into one fully connected generator")


def square_image(n_features: int) -> tuple[int, int, int]:
    for channels in (1, 3):
        side = round((n_features / channels) ** 0.5)
        if channels * side * side == n_features:
            return channels, side, side
    raise ArchitectureError(
        f"the last layer gives {n_features} values, not a square 1- or 3-channel image; give --option image_shape=C,H,W"
    )


# The smallest image side a generator read off its last layer may have: 8x8 digits are the smallest images GANs are
# trained on; a chain of Linear layers ending in 1, 4, 9 or 49 values is a critic, a classifier or a regressor.
MIN_IMAGE_SIDE = 8


def refuse_a_scorer(image_shape: tuple[int, int, int], n_inputs: int, hidden: tuple[int, ...]) -> None:
    """A discriminator, classifier or regressor is also a chain of Linear layers, and its output count is often a
    square (1 score, 4 or 100 classes): refuse what is not shaped like a generator, rather than load 1x1 "images".
    A scorer's input (an image) is its widest layer; a generator's latent is narrower than its hidden layers."""
    channels, height, width = image_shape
    if height < MIN_IMAGE_SIDE:
        shape = f"{channels}x{height}x{width} images"
        why = f"would make {shape}, too small for a generator's"
    elif n_inputs >= channels * height * width and n_inputs > max(hidden, default=0):
        why = f"takes {n_inputs} inputs for {channels * height * width} output values (it narrows, as a critic does)"
    else:
        return
    raise NotAGeneratorError(
        f"this chain of Linear layers {why}: it looks like a discriminator, classifier or encoder, not a generator; "
        "load the generator's weights, or, if this is one, give --option image_shape=C,H,W"
    )


@torch.no_grad()
def bn_misfits(net: MLPNet, bound: float = math.inf, n_probe: int = 512) -> Optional[tuple[float, ...]]:
    """Misfit of probe-batch statistics at each BatchNorm1d, normalising by batch statistics as in training."""
    o = net.o
    _, d = probe_inputs(o.nz, o.n_classes, n_probe)
    h = net.first_input(PRIOR_PROBES[o.prior](n_probe, o.nz, torch.Generator().manual_seed(0)), d)
    misfits: list[float] = []
    for block in cast(Iterable[Block], net.blocks):
        y = normalise_as_in_training(block.linear(h), block.norm, misfits)  # (N, width)
        h = block.act(y)
        if sum(misfits) > bound:  # no reading the search can still pick (identification.search, bounded)
            return None
    return tuple(misfits)


def place_onehot_label(
    modules: Mapping[str, Mapping[str, torch.Tensor]],
    first: str,
    norm: Optional[str],
    values: Mapping[str, Any],
    given: Mapping[str, Any],
) -> Optional[tuple[bool, str]]:
    """(condition_first, why) where a one-hot label given by `n_classes` sits first or last among the first layer's
    inputs, read off its BatchNorm's input means; None where they do not show it, or the order is given. Without it, a
    label the first refusal had placed by these means was asked for again: the probes' misfits tied (audit 51a)."""
    if values.get("condition") != "onehot" or "condition_first" in given or norm is None:
        return None
    width = int(modules[first]["weight"].shape[1])
    means = input_means(first_linear(modules, first), running_statistics(modules[norm]), width)
    prior_mean = PRIOR_MEANS[str(values["prior"])] if "prior" in given else 0.0
    found = one_hot_run(means, prior_mean, k=int(values["n_classes"])) if means is not None else None
    if found is None or (found[0] and found[0] + found[1] != width):  # a label between latents: no order says it
        return None
    start, k = found
    return start == 0, f"the first BatchNorm's input means: inputs {start + 1}-{start + k} of {width} are the label"


def first_linear(modules: Mapping[str, Mapping[str, torch.Tensor]], prefix: str) -> Callable[[torch.Tensor], list]:
    """inputs (N, n_in) -> [the first Linear's outputs (N, width)], in float32 (bf16 files too)."""
    linear = {k: t.float() for k, t in modules[prefix].items()}

    def first_map(x: torch.Tensor) -> list[torch.Tensor]:
        return [nn.functional.linear(x, linear["weight"], linear.get("bias"))]

    return first_map


def multiplied_label(
    modules: Mapping[str, Mapping[str, torch.Tensor]],
    first: str,
    first_norm: Optional[str],
    embed: str,
    given: Mapping[str, Any],
    initial: bool,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(options, decisions) for a label embedding as wide as the first layer's input: the user's `condition`, or
    n_classes=0 (the embedding held unused); else whether it multiplies z (a cgan-like MLP) or is never used (sgan),
    by the BatchNorm right after the first Linear, which sees the inputs through it alone (`label_use`)."""
    unused = {
        "n_classes": 0,
        "condition": MLPOptions.condition,
        "unused_embedding": int(modules[embed]["weight"].shape[0]),
    }
    if int(given.get("n_classes", 1)) == 0:
        return unused, []
    if "condition" in given:
        return {}, []
    fits = None
    if first_norm is not None and not initial:
        fits = label_fits(
            first_linear(modules, first), running_statistics(modules[first_norm]), modules[embed]["weight"]
        )
    why = (
        "the BatchNorm statistics are the initial ones"
        if initial
        else NO_LINEAR_VIEW.removesuffix(", so nothing shows")
    )
    used, said = label_use("fully connected", fits, why, int(given.get("n_classes", 0)))
    return {} if used else unused, [said]


ACTIVATIONS = ("leaky_relu", "relu", "none")  # PyTorch-GAN's first
EPSILONS = (0.8, 1e-5)  # PyTorch-GAN's BatchNorm1d(n, 0.8) first, then PyTorch's default


@register
class MLP(PriorFromSpec, Architecture):
    name = "mlp"
    Options = MLPOptions
    summary = "fully connected generator (PyTorch-GAN gan/wgan/wgan_gp/cgan): Linear+BatchNorm1d+LeakyReLU, Tanh"
    aliases = {"latent_dim": "nz", "z_dim": "nz", "img_shape": "image_shape", "num_classes": "n_classes"}

    def build(self, options: MLPOptions) -> Built:
        net = MLPNet(options)
        channels, height, width = options.image_shape  # MLPNet has unpacked it the same way
        spec = GeneratorSpec(
            nz=options.nz,
            image_shape=(channels, height, width),
            n_classes=options.n_classes,
            native_output_range=(0.0, 1.0) if options.output == "sigmoid" else (-1.0, 1.0),
            native_prior=cast(Prior, PRIOR_SPECS[options.prior][0]),
            native_prior_range=PRIOR_SPECS[options.prior][1],
        )
        return Built(net, spec)

    def infer_options(self, state_dict: Mapping[str, torch.Tensor], given: dict[str, Any]) -> dict[str, Any]:
        modules, linears, norms, embed = read_layers(state_dict)
        if len(linears) < 2:
            raise ArchitectureError("a fully connected generator needs at least two Linear layers")
        weights = [modules[p]["weight"] for p in linears]  # (out, in)
        read: dict[str, Any] = {
            "hidden": tuple(int(w.shape[0]) for w in weights[:-1]),
            "batch_norm": tuple(int(p in norms) for p in linears[:-1]),
            "bias": "bias" in modules[linears[0]],
            "nz": int(weights[0].shape[1]),
        }
        decisions: list[dict[str, Any]] = []
        if embed:
            n_classes, embed_dim = (int(v) for v in modules[embed]["weight"].shape)
            multiply = embed_dim == read["nz"]  # as wide as the first layer's input: it multiplies z
            read.update(
                n_classes=n_classes,
                embed_dim=embed_dim,
                condition="multiply" if multiply else "embedding",
                nz=read["nz"] if multiply else read["nz"] - embed_dim,
            )
            if multiply:  # used (why the file holds it), or never used (sgan): the first BatchNorm tells, if any
                label, decisions = multiplied_label(
                    modules, linears[0], norms.get(linears[0]), embed, given, initial_statistics(state_dict)
                )
                read.update(label)
            if "condition" not in given and read.get("n_classes"):
                how = (
                    "multiplies z (its width equals the first layer's input)"
                    if multiply
                    else "is concatenated to z (narrower than the first layer's input)"
                )
                decisions.append(
                    decision(
                        "condition",
                        read["condition"],
                        f"weights: the label embedding {how}",
                        f"--option condition={read['condition']}",
                    )
                )
        values = {**read, **given}
        if given.get("n_classes") and not embed and "condition" not in given:  # no embedding: d itself enters
            values["condition"] = "onehot"
            decisions.append(onehot_condition())
        if values.get("condition") == "onehot" and "nz" not in given:  # the first layer takes z and the one-hot d
            values["nz"] = read["nz"] - int(values.get("n_classes", 0))
        placed = place_onehot_label(modules, linears[0], norms.get(linears[0]), values, given)
        if placed is not None:  # as good as given: the probes' misfits could not tell the orders apart (audit 51a)
            values["condition_first"], said = placed
            given = {**given, "condition_first": placed[0]}
            decisions.append(decision("condition_first", placed[0], said, f"--option condition_first={placed[0]}"))
        if "image_shape" not in given:
            values["image_shape"] = square_image(int(weights[-1].shape[0]))
            refuse_a_scorer(values["image_shape"], int(weights[0].shape[1]), read["hidden"])
        base = self.make_options(values)
        properties = activation_and_eps(
            given,
            values,
            ACTIVATIONS,
            EPSILONS,
            bool(norms),
            "LeakyReLU(0.2) between layers (PyTorch-GAN)",
            "BatchNorm1d eps 0.8 (PyTorch-GAN's BatchNorm1d(n, 0.8))",
            visible_epsilons(state_dict),
        ) + label_order(base, given, True, "the label vector before z (PyTorch-GAN cgan)")
        if norms:  # the first BatchNorm sees z's distribution through the layers before it
            prior = (values["prior"],) if "prior" in given else tuple(PRIOR_PROBES)
            properties.append(Property("prior", prior, "N(0, I) latents", option_flag("prior")))
        inputs_read: list = []
        first_norm = norms.get(linears[0])
        unlabelled = not embed and not values.get("n_classes") and not {"n_classes", "nc"} & set(given)
        if unlabelled and not first_norm:  # PyTorch-GAN's first block has no BatchNorm: nothing reads the inputs
            inputs_read = [unread_inputs(int(weights[0].shape[1]), NO_LINEAR_VIEW)]
        if first_norm and unlabelled:
            inputs_read = unnamed_label(  # a label among z's inputs is refused
                "fully connected",
                first_linear(modules, linears[0]),
                running_statistics(modules[first_norm]),
                int(weights[0].shape[1]),
                PRIOR_MEANS[str(values["prior"])] if "prior" in given else None,
            )
        chosen, found = identify_from_statistics(
            base,
            properties,
            MLPNet,
            bn_misfits,
            self.convert_state_dict(dict(state_dict), None),
            self.name,
            "fully connected generator",
        )
        values.update(chosen)
        found += inputs_read
        if "output" not in given:
            found.append(
                decision(
                    "output",
                    base.output,
                    f"assumed: {base.output} on the last layer (no statistic sees it)",
                    "--option output=tanh|sigmoid|none",
                )
            )
        if not norms and "activation" not in given:
            found.append(no_normalisation())
        if base.image_shape[0] > 1 and "image_layout" not in given:
            found.append(
                decision(
                    "image_layout",
                    "chw",
                    "assumed: the last layer's outputs are (C, H, W), as PyTorch code lays them out (no statistic "
                    "sees it)",
                    "--option image_layout=hwc (a port of Keras's Reshape((H, W, C)))",
                )
            )
        if not norms and "prior" not in given:
            said = "assumed: N(0, I) latents (no BatchNorm sees z)"
            found.append(decision("prior", "normal", said, "--prior uniform:-1,1 or --prior uniform:0,1"))
        values[DECISIONS] = decisions + found
        return values

    def convert_state_dict(self, state_dict: dict[str, torch.Tensor], options: Any) -> dict[str, torch.Tensor]:
        modules, linears, norms, embed = read_layers(state_dict)
        names = {p: f"blocks.{i}.linear" for i, p in enumerate(linears[:-1])}
        names.update({n: f"blocks.{linears.index(p)}.norm" for p, n in norms.items()})
        names[linears[-1]] = "out.linear"
        if embed:
            names[embed] = "embed"
        return rename_modules(modules, names)
