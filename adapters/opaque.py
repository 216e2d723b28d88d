"""`opaque`: generators that come as programs, not weights: any architecture, no Python class needed.

TorchScript archives (`torch.jit.save`), `torch.export` archives (`.pt2`), a module from a
trusted full pickle, or a module returned by a `module:callable`. `ganinv.sources` opens the
file; this adapter calls the program the way it expects and builds its spec:

- `inputs` says what the program takes, in order: `z`, `c` (continuous codes), `onehot`
  (the one-hot / soft d, differentiable) or `labels` (integer classes: `d.argmax(1)`, so
  the spec gets `differentiable_codes=False`). `auto`: `z`, or `z,labels` for a program
  with two inputs and `n_classes` in its spec.
- The spec comes from a sidecar JSON or flags (`--nz`, `--latent-shape`, ...). A `.pt2`
  archive records its input and output shapes, so it needs neither; the image shape of any
  program is found by running it once.
- A program exported with a fixed batch size is called in chunks of that size.
"""

from __future__ import annotations

import inspect
import math
import re
import warnings
from dataclasses import dataclass
from typing import Any, Optional

import torch
from torch import nn

from ganinv.architectures import Architecture, AssumptionWarning, Built, decision, register
from ganinv.errors import ArchitectureError, first_line
from ganinv.generator import (
    IMAGE_CHANNELS,
    BatchLimit,
    batch_limit,
    embedding_rows,
    image_shape_advice,
    in_module_dtype,
    modes_for_call,
    reshapes_to,
    square_image_shapes,
)
from ganinv.spec import GeneratorSpec, latent_shape_conflict

INPUT_NAMES = ("z", "c", "onehot", "labels")
INPUT_SHAPES = {"c": "codes (N, nc)", "onehot": "one-hot labels (N, K)", "labels": "labels (N,)"}  # beside z


@dataclass
class OpaqueOptions:
    inputs: str = "auto"  # comma-separated program inputs: z, c, onehot, labels; "auto" = from the program
    batch_size: int = 0  # 0: any batch size; else the only one the program accepts (found in .pt2 archives)
    n_classes: int = 0  # a conditional program's class count (as --option n_classes=K means for every adapter)
    nc: int = 0  # its continuous codes
    # how a flat (N, C*H*W) colour output is laid out: "chw" (PyTorch's view(N, C, H, W)), "hwc" (a port of Keras's
    # Reshape((H, W, C))), or "auto": read from a probe (the smoother images), else chw, said
    image_layout: str = "auto"


class ProgramNet(nn.Module):
    """Native module `net(z, c, d)` that calls a program as `program(*inputs)` and returns (N, C, H, W)."""

    def __init__(
        self,
        program: nn.Module,
        inputs: tuple[str, ...],
        image_shape: Optional[tuple[int, ...]],
        batch_size: int = 0,
        switchable: bool = True,
    ):
        super().__init__()
        self.program = program
        self.inputs = inputs
        self.image_shape = image_shape  # None until found by a first call
        self.announced_first = False  # a tuple output's first element taken: said once
        self.batch_size = batch_size
        self.channels_last = False  # a flat output in (H, W, C) order (image_layout=hwc)
        self.larger_later = ""  # a later element of a tuple output holding larger images: said with the first's
        self.label_dtype = torch.long  # an exported program's recorded one (int32 labels were refused: audit 41a)
        self.switchable = switchable  # False: torch.export modules run in the mode they were exported in
        self.one_class = False  # a one-class conditional program (n_classes=1): class 0 fed with every latent

    def train(self, mode: bool = True) -> "ProgramNet":
        self.training = mode
        if self.switchable:
            self.program.train(mode)
        return self

    def forward(
        self, z: torch.Tensor, c: Optional[torch.Tensor] = None, d: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        if self.one_class and d is None:  # its one label, the same for every image (rosinality's ProGAN, n_label=1)
            d = torch.ones(z.shape[0], 1, device=z.device)
        z, c, d = in_module_dtype(self.program, z, c, d)  # a float64 program takes float64 inputs
        labels = d.argmax(dim=1).to(self.label_dtype) if d is not None else None
        given = {"z": z, "c": c, "onehot": d, "labels": labels}
        missing = [name for name in self.inputs if given[name] is None]
        if missing:
            raise ArchitectureError(
                f"the program takes {','.join(self.inputs)} but got no {','.join(missing)}; "
                "give --option n_classes=K (and --option nc=N for continuous codes)"
            )
        args = [a for a in (given[name] for name in self.inputs) if a is not None]  # every one, as none is missing
        if not self.batch_size:
            return self._images(self.program(*args))
        return torch.cat([self._call_padded(args, i) for i in range(0, z.shape[0], self.batch_size)])

    def _call_padded(self, args: list[torch.Tensor], start: int) -> torch.Tensor:
        chunk = [a[start : start + self.batch_size] for a in args]
        n = chunk[0].shape[0]
        padded = [torch.cat([a, a[:1].expand(self.batch_size - n, *a.shape[1:])]) for a in chunk]
        return self._images(self.program(*padded))[:n]

    def _images(self, out: Any) -> torch.Tensor:
        if isinstance(out, (tuple, list)):
            self._check_first_is_images(out)
            if not self.announced_first:
                warnings.warn(
                    f"the program returns a {type(out).__name__} of {len(out)}; its first element is taken as the "
                    f"images{self.larger_later} (wrap it in a module:callable of yours if another one is)",
                    AssumptionWarning,
                    stacklevel=2,
                )
                self.announced_first = True
            out = out[0]
        if isinstance(out, dict):
            raise ArchitectureError(
                f"the program returns a dict ({', '.join(map(str, list(out)[:4]))}), not images; wrap it in a "
                "module:callable of yours that returns the images tensor"
            )
        if self.image_shape is not None and out.dim() in (2, 3) and reshapes_to(out, self.image_shape):
            if self.channels_last and out.dim() == 2:  # (N, H*W*C) -> (N, C, H, W)
                c, h, w = self.image_shape
                return out.reshape(out.shape[0], h, w, c).permute(0, 3, 1, 2)
            return out.reshape(out.shape[0], *self.image_shape)  # flat (N, C*H*W) or grey (N, H, W), as given
        return out  # (N, C, H, W); the load-time probe checks it against the spec

    def _check_first_is_images(self, out: tuple | list) -> None:
        """A (features, images) return: its first element was taken as the images and the user told to give an
        --image-shape that no shape of the features makes (an outside audit)."""
        first = out[0] if out else None
        image_elements = [  # later elements shaped as images (N, 1|3|4, H, W)
            (i, v)
            for i, v in enumerate(out)
            if i and isinstance(v, torch.Tensor) and v.dim() == 4 and v.shape[1] in IMAGE_CHANNELS
        ]
        if image_elements and isinstance(first, torch.Tensor) and first.dim() == 4:
            i, largest = max(image_elements, key=lambda pair: pair[1].shape[-2:].numel())
            channels_last = first.shape[1] not in IMAGE_CHANNELS and first.shape[-1] in IMAGE_CHANNELS
            feature_map = first.shape[1] not in IMAGE_CHANNELS and not channels_last
            # MSG-GAN's tiers from 4 px up to at least 4x that; not the images beside a 2x preview (review 42a)
            coarsest_tier = max(first.shape[-2:]) <= 8 and max(largest.shape[-2:]) >= 4 * max(first.shape[-2:])
            if feature_map or coarsest_tier:  # (features, images); MSG-GAN's images from 4 px up (41a: taken)
                what = "no image, beside" if feature_map else "smaller than"
                raise ArchitectureError(
                    f"the program returns a {type(out).__name__} of {len(out)} whose first element "
                    f"{tuple(first.shape[1:])} is {what} element {i}'s images {tuple(largest.shape[1:])}: wrap it in "
                    f"a module:callable of yours whose forward returns the images it makes (element {i} alone, if "
                    "that is they)"
                )
            if largest.shape[-2:].numel() > first.shape[-2:].numel() and not channels_last:
                self.larger_later = f"; element {i} holds larger images {tuple(largest.shape[1:])}"  # said, not taken
        if isinstance(first, torch.Tensor) and (
            first.dim() == 4
            or (self.image_shape is not None and reshapes_to(first, self.image_shape))
            # shape not known yet (the probes): flat or grey images first, a feature map after them (a review:
            # refused here, the flat images' layout probe gave up, and an (H, W, C) output was read as (C, H, W))
            or (self.image_shape is None and first.dim() in (2, 3) and bool(square_image_shapes(first[0].numel())))
        ):
            return
        later = next((i for i, v in enumerate(out) if i and isinstance(v, torch.Tensor) and v.dim() == 4), None)
        if later is not None:
            shape = tuple(first.shape) if isinstance(first, torch.Tensor) else type(first).__name__
            raise ArchitectureError(
                f"the program returns a {type(out).__name__} of {len(out)} whose element {later} is images "
                f"{tuple(out[later].shape)}, and ganinv takes the first ({shape}) as the images: wrap it in a "
                f"module:callable of yours whose forward returns element {later} alone"
            )


def first_layer_wider(text: str, nz: int) -> Optional[int]:
    """The inputs of a first Linear layer wider than z, from torch's "mat1 and mat2 shapes cannot be multiplied (2x16
    and 26x128)"; None where the message says no such thing."""
    found = re.search(r"shapes cannot be multiplied \((\d+)x(\d+) and (\d+)x(\d+)\)", text)
    if found and int(found.group(2)) == nz and int(found.group(3)) > nz:
        return int(found.group(3))
    return None


def machine_cause(text: str, dtype: torch.dtype) -> Optional[str]:
    """What to do where a program failed for the machine or the dtypes it assumes, not for the latents' size: a
    forward that puts tensors on CUDA on a machine without it, or layers of mixed dtypes (fp16 beside float32)."""
    if re.search(r"NVIDIA driver|not compiled with CUDA|CUDA driver|no CUDA GPUs|CUDA error", text):
        return (
            "its forward puts tensors on CUDA, which this machine lacks: run it where there is a GPU, or wrap it in "
            "a module:callable of yours that makes them on the latents' device (z.device)"
        )
    if re.search(r"same dtype|dtype mismatch|expected scalar type|Expected .* dtype|Input type \(", text):
        return (
            f"its layers take other dtypes than the {str(dtype).removeprefix('torch.')} latents ganinv feeds it (the "
            "dtype of its first parameter): wrap it in a module:callable of yours whose forward casts z to what its "
            "first layer takes"
        )
    return None


def probe_latents(n: int, spec: dict[str, Any]) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
    """`n` native latents z (and codes c) to run a program on, from a private stream: the user's global one is
    theirs (an outside audit: loading a module moved the user's next torch.rand)."""
    stream = torch.Generator().manual_seed(0)
    z = torch.randn(n, *(spec.get("native_latent_shape") or (spec["nz"],)), generator=stream)
    nc = spec.get("nc", 0)
    return z, (torch.randn(n, nc, generator=stream) if nc else None)


def inputs_taken(program: Any, coded: bool) -> Optional[int]:
    """How many positional inputs ganinv feeds a TorchScript or Python module, or None where its signature does not
    say (forward(*args), a builtin): those it requires, and where the spec has codes (`coded`) those it may take too.
    A forward(z, labels) was called with z alone, and advised to check --nz (an outside audit); and forward(z,
    labels=None) of a conditional program needs its labels, where forward(z, c=None, d=None) of a plain one does not
    (a later audit)."""
    if isinstance(program, torch.jit.ScriptModule):  # forward is a ScriptMethod: its schema, minus self
        arguments = program.forward.schema.arguments[1:]  # type: ignore[attr-defined]
        needed = [not argument.has_default_value() for argument in arguments]
    else:
        try:
            parameters = inspect.signature(python_forward(program)).parameters.values()
        except (TypeError, ValueError):
            return None
        if any(p.kind == p.VAR_POSITIONAL for p in parameters):
            return None
        positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        needed = [p.default is p.empty for p in parameters if p.kind in positional]
    return (len(needed) if coded else sum(needed)) or len(needed) or None


def forward_arguments(program: Any) -> tuple[list[str], list[str]]:
    """The names of a program's positional inputs, and of the keyword-only ones it requires ([] where its signature
    does not say): to name them where ganinv cannot feed them."""
    if isinstance(program, torch.jit.ScriptModule):
        arguments = program.forward.schema.arguments[1:]  # type: ignore[attr-defined]
        positional = [a.name for a in arguments if not a.kwarg_only]
        return positional, [a.name for a in arguments if a.kwarg_only and not a.has_default_value()]
    try:
        parameters = list(inspect.signature(python_forward(program)).parameters.values())
    except (TypeError, ValueError):
        return [], []
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [p.name for p in parameters if p.kind in kinds], [
        p.name for p in parameters if p.kind == p.KEYWORD_ONLY and p.default is p.empty
    ]


def refuse_required_keywords(program: Any) -> None:
    """forward(z, *, psi) failed on its first call with Python's own "missing 1 required keyword-only argument",
    advised to check --nz (an outside audit)."""
    required = forward_arguments(program)[1]
    if required:
        raise ArchitectureError(
            f"the program's forward requires the keyword argument{'s' if len(required) > 1 else ''} "
            f"{', '.join(map(repr, required))}, which ganinv does not give (it calls forward(z), or forward(z, labels) "
            "and the like): wrap it in a module:callable of yours whose forward(z) supplies "
            f"{'them' if len(required) > 1 else 'it'}"
        )


CODE_NAMES = ("c", "code", "codes", "latent_code", "latent_codes")  # InfoGAN's continuous codes, as authors name them
LABEL_NAMES = (
    "labels",
    "label",
    "y",
    "class_labels",
    "class_label",
    "classes",
    "class_idx",
    "cls",
    "targets",
    "target",
)


# forward(z, c=None, d=None): ganinv's own contract for a module without codes or labels (README), not InfoGAN's
CONTRACT_CODES = frozenset({"c", "d"})


def python_forward(program: Any) -> Any:
    """The forward whose signature names the inputs: a `torch.compile`d module's own (its wrapper takes *args)."""
    return getattr(getattr(program, "_orig_mod", program), "forward", None)


def optional_inputs(program: Any, fed: int = 1) -> list[tuple[str, Any]]:
    """(name, default) of each input after the `fed` first ones (z) that has a default (forward(z, labels=None,
    truncation=0.7))."""
    if isinstance(program, torch.jit.ScriptModule):
        arguments = program.forward.schema.arguments[1 + fed :]  # type: ignore[attr-defined]
        return [(a.name, a.default_value) for a in arguments if a.has_default_value()]
    try:
        parameters = list(inspect.signature(python_forward(program)).parameters.values())[fed:]
    except (TypeError, ValueError):
        return []
    return [(p.name, p.default) for p in parameters if p.default is not p.empty and p.kind != p.VAR_KEYWORD]


def check_optional_inputs(program: Any, who: str, not_a_label: str) -> None:
    """Inputs after z left to their defaults for every image. Where the module holds a label embedding, one is
    refused, naming `n_classes` and `not_a_label` (the option that loads it as it is): a conditional generator's
    images of one class only. An outside audit (41a) saw that loaded in silence whenever the input was not named as
    a label (`class_id`, `cond`, `c`) or the module was compiled. Without an embedding each is said (a noise scale
    `y=None` was refused: a review), InfoGAN-named codes with the options that feed them."""
    optional = optional_inputs(program)
    if {name for name, default in optional if default is None} >= CONTRACT_CODES:
        optional = [(name, default) for name, default in optional if name not in CONTRACT_CODES]  # the contract's
    if not optional:
        return
    tables = embedding_rows(program)
    # what an embedding may be indexed by: a label's name, or a default of None or a whole number (a review, 42a: a
    # VQ codebook beside `temperature=1.0`, a position table beside `noise_scale=0.0`, were called label embeddings)
    indices = [
        name
        for name, default in optional
        if name.lower() in LABEL_NAMES
        or default is None
        or (isinstance(default, int) and not isinstance(default, bool))
    ]
    if tables and indices:
        name = indices[0]
        held, classes = (  # several tables: which one a label indexes is not known here (review 42a)
            (f"an embedding of {tables[0]} rows", str(tables[0]))
            if len(tables) == 1
            else (f"embeddings of {', '.join(map(str, tables))} rows", "K (the rows of its label table)")
        )
        raise ArchitectureError(
            f"{who} takes an optional {name!r} beside z, which ganinv would leave to its default for every image, "
            f"and the module holds {held}: if {name!r} indexes one, a conditional generator's images of one class "
            f"only. Give {not_a_label} if {name!r} is no class label, or --option n_classes={classes} to feed it "
            "labels"
        )
    for name, default in optional:
        if name.lower() in LABEL_NAMES:
            said = "if it is a class label, give --option n_classes=K to feed it labels"
        elif name.lower() in CODE_NAMES:
            said = "if it is InfoGAN's codes, give --option inputs=z,c --option nc=N to feed them (and invert them)"
        else:
            said = "to set it, wrap the module in a module:callable of yours whose forward(z) passes the value"
        warnings.warn(
            f"{who} takes an optional {name!r} beside z, left to its default ({default!r}) for every image; {said}",
            AssumptionWarning,
            stacklevel=3,
        )


def say_unfed_inputs(program: Any, inputs: tuple[str, ...]) -> None:
    """Inputs after those fed (z and labels or codes) keep their defaults for every image, said: rosinality's ProGAN,
    forward(input, label, step=0, alpha=-1), made 4-px images at step 0 in silence (an outside audit)."""
    fed = " and ".join(inputs)
    for name, default in optional_inputs(program, fed=len(inputs)):
        if name in CONTRACT_CODES and default is None:
            continue
        warnings.warn(
            f"the program's forward takes an optional {name!r} besides the {fed} ganinv feeds, left to its default "
            f"({default!r}) for every image; if it selects the output (a resolution, a truncation, a blend), wrap the "
            "module in a module:callable of yours whose forward passes the value",
            AssumptionWarning,
            stacklevel=3,
        )


def exported_shapes(program: torch.export.ExportedProgram) -> tuple[list[torch.Size], list[torch.dtype], torch.Size]:
    """Shapes and dtypes of the user inputs and the first output recorded in a torch.export archive."""
    nodes = {node.name: node for node in program.graph.nodes}
    inputs = [nodes[name].meta["val"] for name in program.graph_signature.user_inputs]
    output = next(node for node in program.graph.nodes if node.op == "output").args[0][0].meta["val"]
    return [t.shape for t in inputs], [t.dtype for t in inputs], output.shape


def first_layer(module: Any, spec: dict[str, Any]) -> Optional[tuple[str, int, bool]]:
    """(name, input size, is a convolution) of a module's first registered Linear or convolution; None for a
    TorchScript program (its layers are not torch's classes), or where a label or codes may share those inputs."""
    from ganinv.model_class import first_layer_inputs

    if not isinstance(module, nn.Module) or isinstance(module, torch.jit.ScriptModule):
        return None
    if spec.get("n_classes") or spec.get("nc") or any(isinstance(m, nn.Embedding) for m in module.modules()):
        return None
    first = first_layer_inputs(module)
    if first is None:
        return None
    name, size = first
    return name, size, isinstance(module.get_submodule(name), nn.modules.conv._ConvNd)


def nz_from_first_layer(module: Any, spec: dict[str, Any]) -> list[dict[str, Any]]:
    """A module's nz from its first registered layer, a Linear, set in `spec` and announced as assumed: the layer
    registered first need not be the one applied first (an outside audit: a whole pickled module run with
    --trust-remote-code asked for the --nz its Linear head shows). A convolution first is not read: its input may be
    (N, nz, 1, 1) or a noise map (N, C, H, W), which one of them runs on too (a review: a (20, 5, 5) map read as
    (20, 1, 1) made 16-px images for 80-px ones); its size is named in the refusal instead (`first_layer_hint`)."""
    first = first_layer(module, spec)
    if first is None or first[2]:
        return []
    name, size, _ = first
    spec["nz"] = size
    return [
        decision(
            "nz",
            size,
            f"assumed: the input size of the first Linear registered, {name}, as the latents' (N, {size})",
            "--nz N (and --latent-shape if z comes in another shape)",
        )
    ]


def first_layer_hint(module: Any, spec: dict[str, Any]) -> str:
    """What the refusal of a spec without nz says of a module's first convolution."""
    first = first_layer(module, spec)
    if first is None or not first[2]:
        return ""
    name, size, _ = first
    return (
        f" (its first convolution, {name}, takes {size} channels: --nz {size} --latent-shape {size},1,1 for "
        f"(N, {size}, 1, 1) latents, or --latent-shape {size},H,W for a noise map)"
    )


@register
class Opaque(Architecture):
    name = "opaque"
    Options = OpaqueOptions
    summary = "TorchScript / torch.export (.pt2) programs or trusted pickled modules; spec from a sidecar or flags"

    def build(self, options: OpaqueOptions) -> Built:
        raise ArchitectureError(
            "an opaque generator is a program, not weights: give --generator FILE.pt2 or a "
            "TorchScript file (spec from FILE.json or --nz/--image-shape)"
        )

    def wrap(self, program: Any, options: OpaqueOptions, spec: dict[str, Any]) -> Built:
        """The native module and spec of a loaded program; `spec` holds the fields known so far."""
        spec = dict(spec)
        for field in ("n_classes", "nc"):  # an option here, a spec field underneath: the user's word wins
            if getattr(options, field):
                spec[field] = getattr(options, field)
        batch_size = options.batch_size
        n_inputs = None
        second = None  # how an exported program's float (N, k) second input is fed: "onehot" or "c"
        exported = isinstance(program, torch.export.ExportedProgram)
        if exported:
            shapes, dtypes, out_shape = exported_shapes(program)
            n_inputs = len(shapes)
            z_shape = tuple(int(v) for v in shapes[0][1:])
            spec.setdefault("nz", math.prod(z_shape))
            if len(z_shape) > 1:
                spec.setdefault("native_latent_shape", z_shape)
            if n_inputs == 2 and dtypes[1].is_floating_point and len(shapes[1]) == 2:
                second = self._float_second_input(options, int(shapes[1][1]), spec)
            if len(out_shape) == 4:
                spec.setdefault("image_shape", tuple(int(v) for v in out_shape[1:]))
            batch_size = batch_size or (int(shapes[0][0]) if isinstance(shapes[0][0], int) else 0)  # static batch
            program = program.module()
        else:
            refuse_required_keywords(program)
            n_inputs = inputs_taken(program, coded=bool(spec.get("n_classes") or spec.get("nc")))
        inputs = (("z", second) if second and options.inputs == "auto" else None) or self._inputs(
            options.inputs, n_inputs, spec, [] if exported else forward_arguments(program)[0]
        )
        if options.inputs == "auto" and inputs == ("z",):
            check_optional_inputs(program, "the program's forward", "--option inputs=z")
        elif not exported:
            say_unfed_inputs(program, inputs)
        for field, fed in (("n_classes", ("onehot", "labels")), ("nc", ("c",))):  # a code no input receives
            if spec.get(field) and not set(fed) & set(inputs):  # was a phantom d that fit scored (an outside audit)
                raise ArchitectureError(
                    f"{field}={spec[field]} but the program's inputs {','.join(inputs)} feed it to none of "
                    f"{', '.join(fed)}: give --option inputs=... with it, or drop {field}"
                )
        if "nz" not in spec and spec.get("native_latent_shape"):  # --latent-shape 100,1,1 says nz = 100
            spec["nz"] = math.prod(spec["native_latent_shape"])
        read = [] if "nz" in spec or exported else nz_from_first_layer(program, spec)
        if "nz" not in spec:
            raise ArchitectureError(
                "the spec of this program has no nz: pass --nz N (and --latent-shape if it "
                "takes (N, nz, 1, 1)) or a sidecar JSON spec" + ("" if exported else first_layer_hint(program, spec))
            )
        conflict = latent_shape_conflict(spec["nz"], spec.get("native_latent_shape"))
        if conflict:  # before the program runs on it, which failed generically (audit 30b 7e)
            raise ArchitectureError(conflict)
        spec.setdefault("differentiable_codes", "labels" not in inputs)
        # a frozen TorchScript module (torch.jit.freeze) has no mode to switch, nor a `training` flag: it is in eval
        # mode for good (an outside review: an internal error)
        frozen = isinstance(program, torch.jit.ScriptModule) and not hasattr(program, "training")
        net = ProgramNet(program, inputs, spec.get("image_shape"), batch_size, switchable=not (exported or frozen))
        one_class = []
        if spec.get("n_classes") == 1:  # one label for every image: an unconditional generator (an outside audit)
            net.one_class, spec["n_classes"] = True, 0
            one_class = [
                decision(
                    "n_classes",
                    1,
                    "given: one class, so every image has the same label: class 0 is fed with every latent, and the "
                    "generator is read as unconditional",
                    "--option n_classes=K",
                )
            ]
        if exported and "labels" in inputs and not dtypes[inputs.index("labels")].is_floating_point:
            net.label_dtype = dtypes[inputs.index("labels")]
        if "image_shape" not in spec:  # run in eval mode: a module saved in training mode updated its BatchNorm
            with modes_for_call(net):  # statistics (audit 17); the module's own modes are restored (a user's object)
                spec["image_shape"] = self._run_for_shape(net, spec)
            net.image_shape = spec["image_shape"]
        decisions = read + one_class + self._flat_layout(net, spec, options.image_layout)
        return Built(net, GeneratorSpec.from_dict(spec), decisions)

    @staticmethod
    @torch.no_grad()
    def _flat_layout(net: ProgramNet, spec: dict[str, Any], layout: str) -> list[dict[str, Any]]:
        """The order of a flat colour output, read from a probe: the reading whose images change less from pixel to
        pixel (a Keras port's (H, W, C) vector read as (C, H, W) made a red image grey stripes, in silence: an
        outside audit), decided at 3x; else chw, said with the option that changes it."""
        if layout not in ("auto", "chw", "hwc"):
            raise ArchitectureError(f"image_layout must be chw, hwc or auto, got {layout!r}")
        c, h, w = spec["image_shape"]
        if c == 1:
            return []
        z, codes = probe_latents(8, spec)
        n_classes = spec.get("n_classes", 0)
        d = torch.eye(n_classes)[torch.arange(8) % n_classes] if n_classes else None
        net.image_shape = None  # the program's own output, unreshaped
        try:
            with modes_for_call(net):
                out = net(z, codes, d)
        except Exception:  # the probe of the spec says what fails
            return []
        finally:
            net.image_shape = spec["image_shape"]
        if not isinstance(out, torch.Tensor) or out.dim() != 2:  # not flat: its layout is its own
            return []
        if layout != "auto":
            net.channels_last = layout == "hwc"
            return []

        def roughness(x: torch.Tensor) -> float:
            return float((x[..., 1:, :] - x[..., :-1, :]).abs().mean() + (x[..., 1:] - x[..., :-1]).abs().mean())

        chw = roughness(out.reshape(-1, c, h, w).float())
        hwc = roughness(out.reshape(-1, h, w, c).permute(0, 3, 1, 2).float())
        net.channels_last = hwc * 3 < chw
        if net.channels_last:  # said: before this reading, ganinv read every flat output as (C, H, W) (a review)
            warnings.warn(
                f"the flat output of {c * h * w} values is read as (H, W, C), a Keras port's order: its images are "
                f"{chw / max(hwc, 1e-12):.3g}x smoother so than as (C, H, W); --option image_layout=chw reads it as "
                "PyTorch's view (as ganinv did before it read the order, and an inverter fitted then saw it)",
                AssumptionWarning,
                stacklevel=2,
            )
        if net.channels_last or chw * 3 < hwc:
            value = "hwc" if net.channels_last else "chw"
            return [
                decision(
                    "image_layout", value, f"probe: {value} images are the smoother", "--option image_layout=chw|hwc"
                )
            ]
        return [
            decision(
                "image_layout",
                "chw",
                f"assumed: the flat output of {c * h * w} values as (C, H, W), PyTorch's view; read as (H, W, C) its "
                "images are as smooth",
                "--option image_layout=hwc (a port of Keras's Reshape((H, W, C)))",
            )
        ]

    @staticmethod
    def _float_second_input(options: OpaqueOptions, width: int, spec: dict[str, Any]) -> Optional[str]:
        """An exported program's float (N, `width`) second input: a one-hot label or continuous codes, as the user
        says (--option n_classes / nc / inputs). It was read as a label of `width` classes, fed integer labels it
        could not take, or kept as a phantom code beside InfoGAN's continuous ones (an outside audit)."""
        named = options.inputs.split(",") if options.inputs != "auto" else []
        if spec.get("nc") or "c" in named:
            spec.setdefault("nc", width)
            return "c"
        if spec.get("n_classes") or "onehot" in named:
            spec.setdefault("n_classes", width)
            return "onehot"
        raise ArchitectureError(
            f"the program's second input is a float ({width} per latent): pass --option inputs=z,onehot --option "
            f"n_classes={width} for a one-hot class label, or --option inputs=z,c --option nc={width} for "
            "continuous codes (InfoGAN's)"
        )

    @staticmethod
    def _inputs(text: str, n_inputs: Optional[int], spec: dict[str, Any], names: list[str]) -> tuple[str, ...]:
        if text == "auto":
            if n_inputs in (None, 1):
                return ("z",)
            if n_inputs == 2 and spec.get("n_classes"):
                return ("z", "labels")
            named = f" ({', '.join(names[:n_inputs])})" if len(names) >= n_inputs else ""
            others = [name for name in names[1:n_inputs] if name.lower() not in (*LABEL_NAMES, *CODE_NAMES, "d")]
            wrap = (  # forward(z, truncation): a float of the user's, not labels (an outside audit)
                f"; an input that is neither ({', '.join(map(repr, others))}?) needs a wrapper: a module:callable of "
                "yours whose forward takes z (and labels or codes) and supplies it"
                if others
                else ""
            )
            raise ArchitectureError(
                f"the program takes {n_inputs} inputs{named}; ganinv feeds z and, for a conditional generator, its "
                "labels or codes: say which with --option inputs=z,labels and --option n_classes=K (or "
                f"inputs=z,onehot; inputs=z,c and --option nc=N for continuous codes; names: {', '.join(INPUT_NAMES)})"
                + wrap
            )
        inputs = tuple(name.strip() for name in text.split(",") if name.strip())
        unknown = [name for name in inputs if name not in INPUT_NAMES]
        if unknown or not inputs or inputs[0] != "z":
            raise ArchitectureError(f"inputs={text!r}: expected z first, then any of c, onehot, labels")
        fed = {"labels": LABEL_NAMES, "onehot": (*LABEL_NAMES, "d", "onehot"), "c": CODE_NAMES}
        for given, slot in zip(inputs[1:], names[1:]):  # fed by position: a review (42a) saw labels go into
            takers = [n for n in names if n.lower() in fed[given]]  # forward(z, truncation=1.0, labels=None)'s
            if takers and slot.lower() not in fed[given]:  # truncation, every image class 0's, in silence
                raise ArchitectureError(
                    f"inputs={text}: ganinv feeds its inputs by position, so the program's {slot!r} would get the "
                    f"{given} its {takers[0]!r} takes: wrap it in a module:callable of yours whose forward takes "
                    f"(z, {takers[0]}) in that order"
                )
        return inputs

    @staticmethod
    @torch.no_grad()
    def _fixed_batch(net: ProgramNet, spec: dict[str, Any]) -> Optional[BatchLimit]:
        """The batch size a program traced with a fixed one takes (`z.view(16, ...)` inside), among the usual ones,
        or the largest it takes; None where none of them runs either. The same inputs repeated must fail for a fixed
        batch: a batch of 1 ran where the failure was its class-1 label, and "pass --option batch_size=1" failed the
        same way again (an outside audit)."""
        n_classes = spec.get("n_classes", 0)

        def runs(n: int, repeated_to: Optional[int] = None) -> bool:
            z, c = probe_latents(n, spec)
            d = torch.eye(n_classes)[torch.arange(n) % n_classes] if n_classes else None
            rows = torch.arange(repeated_to if repeated_to is not None else n) % n
            return Opaque._runs(net, *(None if t is None else t[rows] for t in (z, c, d)))

        return batch_limit(runs, 2)  # the shape probe's batch

    @staticmethod
    def _runs(net: ProgramNet, *inputs: Optional[torch.Tensor]) -> bool:
        """Whether the program runs on these inputs (z, c, d)."""
        try:
            net(*inputs)
        except Exception:
            return False
        return True

    @staticmethod
    @torch.no_grad()
    def _run_for_shape(net: ProgramNet, spec: dict[str, Any]) -> tuple[int, int, int]:
        """Call the program on two probe latents and read the image shape off its output."""
        n_classes = spec.get("n_classes", 0)
        z, c = probe_latents(2, spec)
        d = torch.eye(n_classes)[torch.arange(2) % n_classes] if n_classes else None  # a label for every latent
        try:
            out = net(z, c, d)
        except ArchitectureError:
            raise
        except Exception as exc:
            said = first_line(exc)
            cause = machine_cause(str(exc), z.dtype)
            if cause:  # not the latents' size: "check --nz" was the wrong advice (an outside audit, 41a)
                raise ArchitectureError(
                    f"the program failed on latents of shape {tuple(z.shape)}: {said}; {cause}"
                ) from None
            fixed = Opaque._fixed_batch(net, spec)
            fed = ", ".join([f"z {tuple(z.shape)}"] + [INPUT_SHAPES[name] for name in net.inputs[1:]])
            class_zero = torch.eye(n_classes)[[0, 0]] if n_classes > 1 else None
            if not fixed and class_zero is not None and Opaque._runs(net, z, c, class_zero):
                raise ArchitectureError(  # class 1 of a one-row label table (an outside audit)
                    f"the program failed on latents of shape {tuple(z.shape)} with labels of class 0 and 1: {said}; "
                    f"it runs on class 0 alone: give the number of classes it was built with, --option n_classes=K "
                    f"(not {n_classes}); a one-class generator takes --option n_classes=1"
                ) from None
            advice = [
                f"it runs on {fixed.said}: pass --option batch_size={fixed.size}"
                if fixed
                # integer labels into a layer of floats (a message of "Long", or of dimensions: an outside audit)
                else "if it takes its label as a one-hot float vector, pass --option inputs=z,onehot"
                if "labels" in net.inputs
                else "check --nz and --latent-shape",
            ]
            wider = first_layer_wider(str(exc), int(z.shape[1]))
            if wider and not fixed:  # cat(z, one-hot) in one input: "check --nz" led to nz=26, labels fed noise (57b)
                advice.append(
                    f"its first layer takes {wider} inputs, {wider - int(z.shape[1])} more than z's: a one-hot label "
                    f"or codes concatenated to z? --nz {wider} would feed them noise; wrap it in a module:callable of "
                    "yours whose forward takes (z, labels) and concatenates them, and give --option n_classes=K"
                )
            if not fixed:  # forward((z, y)), forward({"z": z}): "check --nz" alone did not help (an outside audit)
                advice.append(
                    f"ganinv calls it with tensors, {fed}: one that takes a tuple, a dict or other arguments needs a "
                    "wrapper, a module:callable of yours whose forward takes those"
                )
            raise ArchitectureError(
                f"the program failed on latents of shape {tuple(z.shape)}: {first_line(exc)}; " + "; ".join(advice)
            ) from None
        if out.dim() == 4:
            channels, height, width = (int(v) for v in out.shape[1:])
            return channels, height, width
        raise ArchitectureError(
            f"the program returns shape {tuple(out.shape)}, not images (N, C, H, W); {image_shape_advice(out)}"
        )
