"""The layers of a transposed-convolution generator found in a state dict another codebase saved
(`convt`), from tensor shapes and order whatever the key names: the embedding, the head, the stages and
their norms, and the widths they fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import permutations
from typing import Any, Mapping, Optional

import torch

from ganinv.errors import ArchitectureError

from .statedict import describe_tensors, group_modules, kind_of, natural_key, rename_modules

# Image sides tried when none is given: the first tier that some geometry reaches, in this order.


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
                f"transposed convolution taking the {wa.shape[1]} channels of {a}: a Conv2d that changes the number "
                "of channels is not modelled by this adapter (only stride-1 Conv2d stages that keep it, "
                "--option conv2d_stages=N); load the generator into its class with --model-class MODULE:CLASS"
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
