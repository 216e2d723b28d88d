"""What a whole pickled module says about itself: its layers' classes and constructor arguments, read as data.

`torch.save(model)` stores, beside the weights, every layer's class name and the arguments it was built with
(`ConvTranspose2d` with its stride and padding, `LeakyReLU` with its slope, `Sigmoid` at the end). ganinv's
restricted unpickler (ganinv.safe_pickle) turns them into inert records and imports nothing; this module reads
them as the author's own statement of what a state dict cannot say, so that loading such a file takes them as
evidence (like a config) instead of assuming the conventional choice:

- `layer_records(record)`: the leaf layers in registration order (the order a `Sequential` runs them);
- `evidence(layers)`: options for the adapters (`activation`, `output`, `norm_eps`, the transposed convolutions'
  `strides`/`paddings`/`output_paddings`, the stride-1 Conv2d among them as `conv2d_stages`) and the layers no
  adapter models (SELU, InstanceNorm, bilinear upsampling, a class from the author's own code), which the caller
  refuses rather than loading a different net.

Absence is not evidence: a model may apply `torch.tanh` in its `forward`, so no `Tanh` record says nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ganinv import safe_pickle

TORCH_LAYERS = "torch.nn.modules."
# Layers that hold the weights, and so order the stages; the activation after the last one is the output's.
WEIGHTED = {"Linear", "Conv2d", "ConvTranspose2d"}
# Layers the adapters model (or that do nothing in eval mode), besides the activations below.
MODELLED = WEIGHTED | {
    "BatchNorm1d",
    "BatchNorm2d",
    "Embedding",
    "Dropout",
    "Dropout2d",
    "Identity",
    "Flatten",
    "Unflatten",
}
# The author's own parameter-free classes that only reshape (a Linear head's output to a map), by name.
RESHAPES = ("View", "Reshape")
CONTAINERS = {"Sequential", "ModuleList", "ModuleDict"}
HIDDEN = {"ReLU": "relu", "LeakyReLU": "leaky_relu"}  # between layers, as the adapters name them
OUTPUT = {"Tanh": "tanh", "Sigmoid": "sigmoid"}


@dataclass
class Layer:
    kind: str  # the class name for torch's own layers ("ConvTranspose2d"), else the full origin ("mypkg.Swish")
    args: dict[str, Any] = field(default_factory=dict)  # its constructor arguments as pickled (stride, eps, ...)


@dataclass
class Evidence:
    options: dict[str, Any]  # what the layers say, by the adapters' option names
    unmodelled: list[str]  # layer kinds no adapter models, in order of first appearance


def layer_records(record: Any) -> list[Layer]:
    """The leaf layers of a pickled module's record tree, in registration order."""
    children = [c for c in (safe_pickle.fields(record).get("_modules") or {}).values() if safe_pickle.is_record(c)]
    if children:
        return [layer for child in children for layer in layer_records(child)]
    name = safe_pickle.origin(record)
    kind = name.rpartition(".")[2] if name.startswith(TORCH_LAYERS) else name
    if kind in CONTAINERS:
        return []  # an empty container
    args = {k: v for k, v in safe_pickle.fields(record).items() if not k.startswith("_") and k != "training"}
    return [Layer(kind, args)]


def evidence(layers: list[Layer]) -> Evidence:
    weighted = [i for i, layer in enumerate(layers) if layer.kind in WEIGHTED]
    last = weighted[-1] if weighted else len(layers)
    unmodelled: list[str] = []
    hidden: set[str] = set()
    options: dict[str, Any] = {}
    for i, layer in enumerate(layers):
        if layer.kind in HIDDEN and i < last:
            hidden.add(activation_name(layer))
        elif layer.kind in OUTPUT and i > last:
            options["output"] = OUTPUT[layer.kind]
        elif layer.kind in HIDDEN and i > last:  # a ReLU on the output: no adapter's last activation
            unmodelled.append(f"{layer.kind} after the last layer")
        elif layer.kind == "Upsample" and layer.args.get("mode", "nearest") == "nearest":
            continue  # the upsample+conv adapter's nearest-neighbour doubling
        elif layer.kind.rpartition(".")[2].endswith(RESHAPES):
            continue  # a reshape: the adapters reshape too, and the weights' shapes must agree
        elif layer.kind not in MODELLED | HIDDEN.keys() and describe(layer) not in unmodelled:
            unmodelled.append(describe(layer))
    if len(hidden) == 1:
        options["activation"] = hidden.pop()
    elif hidden:
        unmodelled.append(f"mixed activations ({', '.join(sorted(hidden))})")
    epsilons = {
        float(layer.args["eps"]) for layer in layers if layer.kind.startswith("BatchNorm") and "eps" in layer.args
    }
    if len(epsilons) == 1:
        options["norm_eps"] = epsilons.pop()
    convs = [layer for layer in layers if layer.kind in ("ConvTranspose2d", "Conv2d")]
    if any(layer.kind == "ConvTranspose2d" for layer in convs):  # a DCGAN-style stack: its geometry
        options.update(transposed_geometry(convs, unmodelled))
    return Evidence(options, unmodelled)


def transposed_geometry(convs: list[Layer], unmodelled: list[str]) -> dict[str, str]:
    """The stages' strides, paddings and output paddings, as the transposed convolutions they are or equal: a
    stride-1 Conv2d among them (WassersteinGAN's DCGAN_G extra layers) is its stage in `conv2d_stages`, its padding p
    the transposed one's k - 1 - p. A Conv2d of another stride has no such equal: named in `unmodelled`."""
    steps: list[tuple[Any, Any, Any]] = []
    for layer in convs:
        stride, padding, output_padding = (first(layer.args.get(a)) for a in ("stride", "padding", "output_padding"))
        kernel, dilation = first(layer.args.get("kernel_size")), first(layer.args.get("dilation", 1))
        # the records are the file's, not the author's word: a stride of 4096 or a dilation of 10^5 built nets the
        # size of the memory (an outside audit, 53a); a dilated convolution is one no adapter models
        if dilation != 1:
            unmodelled.append(f"{layer.kind} of dilation {layer.args.get('dilation')}")
            return {}
        if not plausible_step(kernel, stride, padding, output_padding):
            unmodelled.append(
                f"{layer.kind} of kernel {kernel}, stride {stride}, padding {padding}, output padding {output_padding} "
                "(not a generator's)"
            )
            return {}
        if layer.kind == "Conv2d":
            if stride != 1:
                unmodelled.append(f"Conv2d of stride {stride} among transposed convolutions")
                return {}
            if padding in ("same", "valid") and isinstance(kernel, int):
                padding = (kernel - 1) // 2 if padding == "same" else 0
            if not (isinstance(kernel, int) and isinstance(padding, int)):
                return {}
            padding, output_padding = kernel - 1 - padding, 0
        steps.append((stride, padding, output_padding))
    options = {}
    conv2d = [i for i, layer in enumerate(convs) if layer.kind == "Conv2d"]
    if conv2d:
        options["conv2d_stages"] = ",".join(map(str, conv2d))
    for option, values in zip(("strides", "paddings", "output_paddings"), zip(*steps)):
        if all(isinstance(v, int) for v in values):
            options[option] = ",".join(map(str, values))
    return options


MAX_STRIDE = 8  # generators up-sample by 2, some by 3 or 4 per stage


def plausible_step(kernel: Any, stride: Any, padding: Any, output_padding: Any) -> bool:
    """Whether a layer's recorded geometry is one a generator's layer can have (None: not one number, left to the
    weights); strings ("same") pass, for Conv2d."""

    def number(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    if number(stride) and not 1 <= stride <= MAX_STRIDE:
        return False
    if number(kernel) and number(padding) and not 0 <= padding < kernel:
        return False
    return not (number(output_padding) and number(stride) and not 0 <= output_padding < stride)


def activation_name(layer: Layer) -> str:
    if layer.kind == "ReLU":
        return "relu"
    slope = float(layer.args.get("negative_slope", 0.01))
    return "leaky_relu" if slope == 0.2 else f"leaky_relu:{slope:g}"


def describe(layer: Layer) -> str:
    if layer.kind == "Upsample":
        return f"Upsample(mode={layer.args.get('mode')!r})"
    if layer.kind in ("InstanceNorm2d", "InstanceNorm1d") and not layer.args.get("affine", False):
        return f"{layer.kind}(affine=False)"
    return layer.kind


def first(value: Any) -> Any:
    """A pickled per-dimension argument ((2, 2), or 2) as one number; None when the two dimensions differ."""
    if isinstance(value, (tuple, list)):
        return value[0] if len(set(value)) == 1 else None
    return value
