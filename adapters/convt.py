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
import warnings
from dataclasses import dataclass
from typing import Any, Mapping, Optional

import torch
from torch import nn

from ganinv.architectures import Architecture, load_weights
from ganinv.errors import ArchitectureError
from ganinv.spec import GeneratorSpec

# Image sides tried when none is given: the first tier that some geometry reaches, in this order.
PREFERRED_SIZES = ((28, 32, 64), (128, 16, 48, 96), (256, 512))


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
    bias: bool = False  # the hidden transposed convolutions have a bias
    last_bias: bool = False  # the last one has a bias (often alone: bias=False with last_bias=True)
    norm: str = "batch"  # "batch": BatchNorm2d after every stage but the last; "none"
    norm_eps: float = 1e-5  # BatchNorm eps (state dicts do not store it)
    activation: str = "relu"  # hidden activation: "relu" or "leaky_relu" (slope 0.2)
    output: str = "tanh"  # last activation: "tanh", "sigmoid" (images in [0, 1]) or "none"
    head: str = "none"  # "none": z enters as (nz, 1, 1); "linear": Linear to (head_channels, head_size, head_size)
    head_channels: int = 0  # channels of the head's map; 0 = twice the first stage's
    head_size: int = 0  # side of the head's map; 0 = the first map of the reference geometry (4, or 7 for 28)
    head_bias: bool = True
    head_norm: str = "none"  # "none" or "batch" (BatchNorm1d on the flat head output, caogang gan_cifar10)
    n_classes: int = 0  # K: class-conditional when > 0
    condition: str = "embedding"  # "embedding": d @ nn.Embedding(K, embed_dim).weight; "onehot": d itself
    embed_dim: int = 0  # 0 = K
    condition_first: bool = False  # the label vector goes before z in the concatenation


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
    widths = tuple(o.widths) or tuple(o.width * 2 ** i for i in reversed(range(n_up + n_first - 1))) + (o.channels,)
    n = len(widths)
    kernels = tuple(o.kernels) or (size,) * n_first + (4,) * (n - n_first)
    strides = tuple(o.strides) or (1,) * n_first + (2,) * (n - n_first)
    paddings = tuple(o.paddings) or (0,) * n_first + (1,) * (n - n_first)
    output_paddings = tuple(o.output_paddings) or (0,) * n
    crops = tuple(o.crops) or (0,) * n
    for name, values in (("kernels", kernels), ("strides", strides), ("paddings", paddings),
                         ("output_paddings", output_paddings), ("crops", crops)):
        if len(values) != n:
            raise ArchitectureError(f"{name}={','.join(map(str, values))} has {len(values)} entries but there are "
                                    f"{n} stages (widths {','.join(map(str, widths))}); give one per stage")
    head_channels = o.head_channels or 2 * widths[0]
    head_size = (o.head_size or size) if o.head == "linear" else 1
    return dataclasses.replace(o, widths=widths, kernels=kernels, strides=strides, paddings=paddings,
                               output_paddings=output_paddings, crops=crops, channels=widths[-1],
                               head_channels=head_channels if o.head == "linear" else 0,
                               head_size=head_size, embed_dim=o.embed_dim or o.n_classes,
                               resolution=image_side(head_size, kernels, strides, paddings, output_paddings, crops))


def image_side(size: int, kernels, strides, paddings, output_paddings, crops) -> int:
    for k, s, p, op, crop in zip(kernels, strides, paddings, output_paddings, crops):
        size = out_size(size, k, s, p, op)
        size = min(size, crop) if crop else size
    return size


# ---- the native module ------------------------------------------------------------------------


def activation(name: str) -> nn.Module:
    modules = {"relu": nn.ReLU(), "leaky_relu": nn.LeakyReLU(0.2), "tanh": nn.Tanh(), "sigmoid": nn.Sigmoid(),
               "none": nn.Identity()}
    if name not in modules:
        raise ArchitectureError(f"unknown activation {name!r}; use one of {', '.join(modules)}")
    return modules[name]


class UpStage(nn.Module):
    """ConvTranspose2d -> [crop] -> BatchNorm2d or nothing -> activation."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int, output_padding: int,
                 bias: bool, crop: int, norm: bool, eps: float, act: str):
        super().__init__()
        self.conv = nn.ConvTranspose2d(c_in, c_out, kernel, stride, padding, output_padding, bias=bias)
        self.crop = crop
        self.norm = nn.BatchNorm2d(c_out, eps=eps) if norm else nn.Identity()
        self.act = activation(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)  # (B, c_out, H', W')
        if self.crop:
            x = x[:, :, :self.crop, :self.crop]
        return self.act(self.norm(x))


class ConvTNet(nn.Module):
    """Native module `net(z, c, d)`: z (N, nz[, 1, 1]), d (N, K) one-hot or soft -> images (N, C, H, W)."""

    def __init__(self, o: ConvTOptions):
        super().__init__()
        self.o = o = complete(o)
        if o.n_classes and o.condition not in ("embedding", "onehot"):
            raise ArchitectureError(f"condition must be 'embedding' or 'onehot', got {o.condition!r}")
        self.embed = nn.Embedding(o.n_classes, o.embed_dim) if o.n_classes and o.condition == "embedding" else None
        label_dim = (o.embed_dim if self.embed is not None else o.n_classes) if o.n_classes else 0
        n_in = o.nz + label_dim
        self.head = self.head_norm = None
        c_in = n_in
        if o.head == "linear":
            self.head = nn.Linear(n_in, o.head_channels * o.head_size ** 2, bias=o.head_bias)
            self.head_norm = nn.BatchNorm1d(self.head.out_features, eps=o.norm_eps) if o.head_norm == "batch" else None
            self.head_act = activation(o.activation)
            c_in = o.head_channels
        elif o.head != "none":
            raise ArchitectureError(f"head must be 'none' or 'linear', got {o.head!r}")
        if o.norm not in ("batch", "none"):
            raise ArchitectureError(f"norm must be 'batch' or 'none', got {o.norm!r}")
        self.stages = nn.ModuleList()
        for i, c_out in enumerate(o.widths):
            last = i == len(o.widths) - 1
            self.stages.append(UpStage(c_in, c_out, o.kernels[i], o.strides[i], o.paddings[i], o.output_paddings[i],
                                       bias=o.last_bias if last else o.bias, crop=o.crops[i],
                                       norm=o.norm == "batch" and not last, eps=o.norm_eps,
                                       act=o.output if last else o.activation))
            c_in = c_out

    def head_output(self, z: torch.Tensor, d: Optional[torch.Tensor] = None) -> torch.Tensor:
        """What the first stage sees: (N, C0, S0, S0)."""
        h = z.flatten(1)  # (N, nz)
        if self.o.n_classes:
            label = d @ self.embed.weight if self.embed is not None else d  # (N, E): a soft one-hot stays differentiable
            h = torch.cat([label, h] if self.o.condition_first else [h, label], dim=1)
        if self.head is None:
            return h[:, :, None, None]  # (N, nz + E, 1, 1)
        h = self.head(h)  # (N, C0 * S0 * S0)
        if self.head_norm is not None:
            h = self.head_norm(h)
        return self.head_act(h.view(h.shape[0], self.o.head_channels, self.o.head_size, self.o.head_size))

    def forward(self, z: torch.Tensor, c: Optional[torch.Tensor] = None,
                d: Optional[torch.Tensor] = None) -> torch.Tensor:
        h = self.head_output(z, d)
        for stage in self.stages:
            h = stage(h)
        return h  # (N, C, H, W)

    def spec(self) -> GeneratorSpec:
        o = self.o
        return GeneratorSpec(nz=o.nz, image_shape=(o.channels, o.resolution, o.resolution), n_classes=o.n_classes,
                             native_latent_shape=(o.nz, 1, 1) if o.head == "none" else None,
                             native_output_range=(0.0, 1.0) if o.output == "sigmoid" else (-1.0, 1.0))


# ---- reading other codebases' state dicts -----------------------------------------------------


@dataclass
class Layout:
    """The layers of a transposed-convolution generator found in a foreign state dict."""

    modules: dict[str, dict[str, torch.Tensor]]  # source prefix -> {"weight": ..., "running_mean": ...}
    convs: list[str]  # prefixes of the transposed convolutions, in forward order
    norms: list[str]  # BatchNorm2d after each conv but the last (empty: none)
    head: Optional[str] = None  # the Linear layer before the first conv
    head_norm: Optional[str] = None  # BatchNorm1d on the head output
    embed: Optional[str] = None  # nn.Embedding of the class label

    def option_values(self) -> dict[str, Any]:
        """Everything the weights determine: sizes, kernels, bias, norms, head, embedding."""
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
            values.update(head_channels=n_in, head_size=round((linear.shape[0] / n_in) ** 0.5),
                          head_bias="bias" in self.modules[self.head],
                          head_norm="batch" if self.head_norm else "none")
            n_in = int(linear.shape[1])
        if self.embed:
            n_classes, embed_dim = self.modules[self.embed]["weight"].shape
            values.update(n_classes=int(n_classes), embed_dim=int(embed_dim), condition="embedding")
            n_in -= int(embed_dim)
        values.update(nz=n_in, channels=values["widths"][-1])
        return values

    def canonical_state_dict(self) -> dict[str, torch.Tensor]:
        names = {self.head: "head", self.head_norm: "head_norm", self.embed: "embed"}
        names.update({p: f"stages.{i}.conv" for i, p in enumerate(self.convs)})
        names.update({p: f"stages.{i}.norm" for i, p in enumerate(self.norms)})
        return rename_modules(self.modules, {p: name for p, name in names.items() if p is not None})


def rename_modules(modules: Mapping[str, Mapping[str, torch.Tensor]], names: Mapping[str, str]) -> dict[str, torch.Tensor]:
    """A state dict with module `prefix` renamed `names[prefix]`; BatchNorm counters added where missing."""
    out: dict[str, torch.Tensor] = {}
    for prefix, name in names.items():
        tensors = dict(modules[prefix])
        if "running_mean" in tensors:  # checkpoints older than PyTorch 0.4 lack the counter
            tensors.setdefault("num_batches_tracked", torch.tensor(0, dtype=torch.long))
        out.update({f"{name}.{k}": v for k, v in tensors.items()})
    return out


def group_modules(state_dict: Mapping[str, torch.Tensor]) -> dict[str, dict[str, torch.Tensor]]:
    """{"main.0.weight": w, "main.1.running_mean": m} -> {"main.0": {"weight": w}, "main.1": {...}}, in order."""
    modules: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in state_dict.items():
        prefix, _, name = key.rpartition(".")
        modules.setdefault(prefix, {})[name] = value
    return modules


def kind_of(prefix: str, tensors: Mapping[str, torch.Tensor]) -> str:
    weight = tensors.get("weight")
    if "running_mean" in tensors:
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
    """"main.10" after "main.9": digit runs compare as numbers."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", prefix)]


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
        raise ArchitectureError(f"tensors that are not transposed convolutions, BatchNorms, a Linear head or a "
                                f"label embedding: {', '.join(unknown[:3])}")
    convs = [p for p in modules if kinds[p] == "conv"]
    linears = [p for p in modules if kinds[p] == "linear"]
    embeds = [p for p in modules if kinds[p] == "embedding"]
    if not convs:
        raise ArchitectureError("no transposed-convolution weights (4-D tensors) in the state dict")
    if len(linears) > 1 or len(embeds) > 1:
        raise ArchitectureError(f"expected at most one Linear head and one label embedding, found Linear "
                                f"{linears[:3]} and embeddings {embeds[:3]}")
    errors = []
    for order in (list(modules), sorted(modules, key=natural_key)):
        try:
            return assemble(modules, [p for p in order if kinds[p] == "conv"], [p for p in order if kinds[p] == "norm"],
                             linears[0] if linears else None, embeds[0] if embeds else None)
        except ArchitectureError as exc:
            errors.append(str(exc))
    raise ArchitectureError(errors[-1])


def assemble(modules, convs: list[str], norms: list[str], head: Optional[str], embed: Optional[str]) -> Layout:
    weights = [modules[p]["weight"] for p in convs]  # (C_in, C_out, k, k)
    for a, b, wa, wb in zip(convs, convs[1:], weights, weights[1:]):
        if wa.shape[1] != wb.shape[0]:
            raise ArchitectureError(f"the transposed convolutions do not chain: {a} gives {wa.shape[1]} channels, "
                                    f"{b} takes {wb.shape[0]}")
    head_norm = None
    if head is not None:
        n_out = modules[head]["weight"].shape[0]
        head_norm = next((p for p in norms if modules[p]["weight"].shape[0] == n_out), None)
        norms = [p for p in norms if p != head_norm]
        side = (n_out / weights[0].shape[0]) ** 0.5
        if side != int(side):
            raise ArchitectureError(f"the Linear head {head} gives {n_out} features, not a square map of "
                                    f"{weights[0].shape[0]} channels")
    if norms and len(norms) != len(convs) - 1:
        raise ArchitectureError(f"found {len(norms)} BatchNorm layers for {len(convs)} transposed convolutions; "
                                "expected one after every convolution but the last")
    for conv, norm, w in zip(convs, norms, weights):
        if modules[norm]["weight"].shape[0] != w.shape[1]:
            raise ArchitectureError(f"BatchNorm {norm} has {modules[norm]['weight'].shape[0]} channels but {conv} "
                                    f"gives {w.shape[1]}")
    return Layout(modules, convs, norms, head, head_norm, embed)


# ---- strides and paddings from BatchNorm statistics ---------------------------------------------

Step = tuple[int, int, int]  # (stride, padding, output_padding) of one stage


UNCONVENTIONAL = 0.01  # cost of a stage that does not upsample exactly by its stride, or has output padding


def convention_cost(size: int, kernel: int, step: Step) -> float:
    """0 for the usual choice (a 1x1 map unpadded, else out = stride * in with no output padding).

    Paddings only move the border, which changes batch statistics about as little as their
    noise; this small cost makes convention decide those, while strides, which change the
    statistics a lot, are still decided by them.
    """
    stride, padding, output_padding = step
    unusual = padding > 0 if size == 1 else out_size(size, kernel, *step) != size * stride
    return UNCONVENTIONAL * (unusual + (output_padding > 0))


def candidate_steps(size: int, kernel: int, given: tuple[Optional[int], Optional[int], Optional[int]]) -> list[Step]:
    """Choices for one stage (within what the user gave), most conventional first."""
    if size == 1:  # from a 1x1 map the stride does nothing
        steps = [(given[0] or 1, p, 0) for p in range(kernel // 2 + 1) if kernel - 2 * p > 0]
    else:
        strides = (1, 2, 3) if kernel == 3 else (1, 2)  # k3 s3 with output padding appears in WGAN-GP ports
        steps = [(s, p, op) for s in strides for p in range(kernel // 2 + 1) for op in range(min(s, 2))
                 if out_size(size, kernel, s, p, op) > 0]
    steps = [step for step in steps if all(g is None or g == v for g, v in zip(given, step))]
    return sorted(steps, key=lambda t: (convention_cost(size, kernel, t), t[0] != 2, t[1], t[2]))


def bn_discrepancy(y: torch.Tensor, norm: nn.modules.batchnorm._BatchNorm) -> float:
    """Symmetric KL between per-channel Gaussians: batch statistics of y (N, C, ...) vs the running statistics."""
    dims = [0] + list(range(2, y.dim()))
    mean, var = y.mean(dim=dims), y.var(dim=dims, unbiased=False) + 1e-5
    run_var = norm.running_var + 1e-5
    gap = (mean - norm.running_mean) ** 2
    return float((0.5 * ((var + gap) / run_var + (run_var + gap) / var) - 1).mean())


@torch.no_grad()
def infer_geometry(net: ConvTNet, target: Optional[int], given: list[tuple[Optional[int], ...]]) -> tuple[Step, ...]:
    """Per stage (stride, padding, output_padding) reaching `target`, or the first usual image side reachable."""
    tiers = [(target,)] if target else PREFERRED_SIZES
    for i, goals in enumerate(tiers):
        try:
            return search_geometry(net, goals, given)
        except ArchitectureError:
            if i == len(tiers) - 1:
                raise


def search_geometry(net: ConvTNet, goals: tuple[int, ...], given: list[tuple[Optional[int], ...]],
                    n_probe: int = 32, beam: int = 3) -> tuple[Step, ...]:
    """Per stage (stride, padding, output_padding) reaching one of `goals`, with the best BatchNorm fit.

    Beam search, stage by stage: every feasible choice is applied to the probe activations
    and scored by `bn_discrepancy` at the BatchNorm that follows it, plus `convention_cost`;
    the best `beam` partial geometries go on. Stages with no BatchNorm at or after them (the
    last) are decided by convention and then the order of `goals`.
    """
    o = net.o
    kernels = [stage.conv.kernel_size[0] for stage in net.stages]
    scored = [any(isinstance(later.norm, nn.BatchNorm2d) for later in net.stages[i:]) for i in range(len(kernels))]

    @functools.lru_cache(maxsize=None)
    def feasible(i: int, size: int) -> bool:  # can stages i.. turn `size` into one of the goals?
        if i == len(kernels):
            return size in goals
        if not any(o.crops[i:]) and size > max(goals) + len(kernels) - i:  # a stage shrinks a map by 1 pixel at most
            return False
        return any(feasible(i + 1, cropped(out_size(size, kernels[i], *step), o.crops[i]))
                   for step in candidate_steps(size, kernels[i], given[i]))

    z = torch.randn(n_probe, o.nz, generator=torch.Generator().manual_seed(0))
    d = torch.eye(o.n_classes)[torch.arange(n_probe) % o.n_classes] if o.n_classes else None
    start = net.head_output(z, d)
    beams = [(0.0, (), start, start.shape[-1])]  # (score, steps so far, activations or None, side)
    for i, stage in enumerate(net.stages):
        grown = []
        for score, steps, x, size in beams:
            if x is not None:  # large maps: fewer samples give enough values per channel, and cost less
                x = x[:max(8, -(-4096 // size ** 2))]
            for rank, step in enumerate(candidate_steps(size, kernels[i], given[i])):
                side = cropped(out_size(size, kernels[i], *step), o.crops[i])
                if not feasible(i + 1, side):
                    continue
                cost, y = convention_cost(size, kernels[i], step), None
                if scored[i]:
                    stage.conv.stride, stage.conv.padding, stage.conv.output_padding = ((v, v) for v in step)
                    y = stage.conv(x)  # (N, C, H, W) before the crop and the BatchNorm
                    y = y[:, :, :stage.crop, :stage.crop] if stage.crop else y
                    if isinstance(stage.norm, nn.BatchNorm2d):
                        cost += bn_discrepancy(y, stage.norm)
                    y = stage.act(stage.norm(y))
                last = i == len(kernels) - 1
                grown.append((score + cost, goals.index(side) if last else 0, rank, steps + (step,), y, side))
        if not grown:
            raise ArchitectureError(f"no strides/paddings make kernels {','.join(map(str, kernels))} reach a side "
                                    f"of {' or '.join(map(str, goals))}; give --option resolution=SIDE or "
                                    "strides=... paddings=...")
        grown.sort(key=lambda g: (round(g[0], 6), g[1], g[2]))
        beams = [(score, steps, y, side) for score, _, _, steps, y, side in grown[:beam]]
    best = grown[0]
    tied = [g for g in grown if round(g[0], 6) == round(best[0], 6) and g[1] == best[1]]
    if len(tied) > 1 and not any(scored):
        steps = best[3]
        warnings.warn(f"no BatchNorm statistics to tell geometries apart; assumed strides "
                      f"{','.join(str(s[0]) for s in steps)} and paddings {','.join(str(s[1]) for s in steps)} "
                      "(override with --option strides=... paddings=...)", stacklevel=2)
    return best[3]


def cropped(size: int, crop: int) -> int:
    return min(size, crop) if crop else size


# ---- what an Architecture needs -----------------------------------------------------------------


@dataclass
class KnownGeometry:
    """A public generator whose geometry and last activation are not in its weights, recognised by what is."""

    source: str  # where it comes from
    match: dict[str, Any]  # option values read from the weights that identify it
    options: dict[str, Any]  # what the weights cannot tell


def infer_options(architecture, state_dict: Mapping[str, torch.Tensor], given: dict[str, Any],
                  known: tuple[KnownGeometry, ...] = ()) -> dict[str, Any]:
    """Options from the weights (given values win), then the geometry from BatchNorm statistics."""
    layout = read_layout(state_dict)
    read = layout.option_values()
    values = {**read, **given}
    for geometry in known:
        if all(read.get(k) == v for k, v in geometry.match.items()):
            values = {**read, **geometry.options, **given}
    if values.get("condition") == "onehot" and "nz" not in given:  # the first layer takes z and the one-hot d
        values["nz"] = read["nz"] - int(values.get("n_classes", 0))
    opts = Architecture.make_options(architecture, values)  # typed, geometry left as given
    if opts.strides and opts.paddings:
        return values
    n = len(opts.widths)
    net = ConvTNet(dataclasses.replace(opts, strides=(1,) * n, paddings=(0,) * n, output_paddings=(0,) * n))
    load_weights(net, layout.canonical_state_dict(), architecture.name, opts)
    net.eval()
    given_steps = [tuple(part[i] if i < len(part) else None for part in (opts.strides, opts.paddings,
                                                                          opts.output_paddings)) for i in range(n)]
    steps = infer_geometry(net, opts.resolution if "resolution" in values else None, given_steps)
    values.update(strides=tuple(s for s, _, _ in steps), paddings=tuple(p for _, p, _ in steps),
                  output_paddings=tuple(op for _, _, op in steps))
    values["resolution"] = complete(architecture.make_options(values)).resolution
    return values
