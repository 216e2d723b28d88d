"""`--model-class mypkg.models:Generator`: a checkpoint loaded into the generator class of its own training code.

Most people who have a generator checkpoint also have the class that trained it. ganinv
imports that class, builds it with `--model-kwargs '{"nz": 100}'`, loads the weights into it
strictly, and reads the spec by running it:

- nz: `--nz`, else an `nz` / `latent_dim` / `z_dim` model kwarg, else the input size of the
  first layer (a Linear's in_features, a convolution's in_channels; a label embedding skipped);
- latent shape: `(nz,)`, else `(nz, 1, 1)`, whichever the module runs on (`--latent-shape` wins);
- image shape: the output of a probe batch; a flat output (N, C*H*W) is read as 1 or 3 square
  channels, as an announced assumption (`--image-shape` wins);
- output range: [-1, 1] when some probe pixel is negative, [0, 1] when none is; values outside
  [-1, 1] are refused unless `--output-range` says what they are;
- labels: a forward that takes a second argument needs `--option n_classes=K`, and gets integer
  labels `d.argmax(1)` (codes then not differentiable), else one-hot `d` (N, K), else one-hot
  maps (N, K, 1, 1), whichever the module runs on first (`--option labels=index|onehot|onehot_map`
  wins).

The weights file is a path, or `hub:owner/name[@rev][:FILE][#KEY]`: the one file ganinv.hub picks
(a sharded checkpoint or a program is refused), its commit recorded as for any Hub source.

The class is code, chosen by whoever names it: the user who types `--model-class` runs it, but
a class recorded in a file (an inverter's generator reference, a recipe) runs only when the
user names it again or passes --trust-remote-code for this command (ganinv.trust). The
weights are data: safetensors, or pickles through `ganinv.weight_files.read_pickle`.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import json
import warnings
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional

import torch
from safetensors.torch import load_file
from torch import nn

from ganinv import architectures, hub, trust
from ganinv.architectures import (
    decision,
    describe_mismatch,
    prior_assumed,
    shapes,
    warn_assumptions,
)
from ganinv.errors import SourceError, first_line
from ganinv.generator import Generator, image_shape_advice, square_image_shapes

OPTIONS = ("model_class", "model_kwargs", "n_classes", "labels")  # what a --model-class load reads from the options
NZ_KWARGS = ("nz", "latent_dim", "z_dim", "noise_dim", "dim_z", "latent_size")  # model kwargs that are the noise size
N_PROBE = 64
# the forms a forward's class labels are fed in, tried in this order (`--option labels=FORM` names one)
LABEL_FORMS = {"index": "integers (N,)", "onehot": "one-hot (N, K)", "onehot_map": "one-hot maps (N, K, 1, 1)"}

_typed: ContextVar[frozenset] = ContextVar("ganinv_typed_model_classes", default=frozenset())


@contextlib.contextmanager
def typed_by_user(class_path: Optional[str]) -> Iterator[None]:
    """Run the enclosed command with `class_path` named by the user (typed `--model-class`), so that an artifact
    recording that class may build it. Inside commands run on a file's behalf (a benchmark stage), nothing is."""
    file_origin, _ = trust.resolve(None, False)
    if not class_path or file_origin is not None:
        yield
        return
    token = _typed.set(_typed.get() | {class_path})
    try:
        yield
    finally:
        _typed.reset(token)


def load_with_model_class(request: Any) -> Generator:
    """The Generator of a weights file (`request.source`: a path or a Hub id, optional `#KEY`) in the user's class
    `model_class`."""
    from ganinv.sources import file_sha256, sidecar_spec, with_overrides
    from ganinv.weight_files import entry_meta, locate_state_dict, read_pickle

    options = dict(request.options)
    class_path = str(options.pop("model_class"))
    trust.require_chosen(  # first: a class a file names is refused, not advised on (an outside audit)
        f"the model class {class_path!r}",
        request.origin or request.options_origin,  # the class is an option: code when a file chose either
        request.trust_remote_code or class_path in _typed.get(),
        f"--model-class {class_path}",
    )
    kwargs = parse_kwargs(options.pop("model_kwargs", None))
    form = options.pop("labels", None)
    if form is not None and form not in LABEL_FORMS:
        raise SourceError(f"labels={form}: give the form the class's forward takes, one of {'|'.join(LABEL_FORMS)}")
    n_classes = options.pop("n_classes", None)
    if options:
        raise SourceError(
            f"--option {', '.join(sorted(options))} does not apply to --model-class {class_path}: "
            "pass the class's arguments with --model-kwargs '{\"name\": value}'"
        )
    if request.arch is not None:
        raise SourceError(f"--model-class {class_path} builds the generator itself; drop --arch {request.arch}")
    path, key, where, hub_meta = weights_file(request.source)
    # the class's own config beside its weights fills what --model-kwargs leaves, as its from_pretrained does (audit
    # 49b; given in part, the config had been dropped without a word, and a Sigmoid net built as Tanh: a review, 52a)
    typed = kwargs
    kwargs = mixin_config_kwargs(class_path, path.parent / "config.json", where, kwargs)
    # a spec beside the weights (netG.json) may give n_classes too (a review: asked for what it gave)
    overrides = {**sidecar_spec(path), **request.overrides}
    n_classes_given = n_classes is not None or "n_classes" in overrides  # 0 given: unconditional, said so
    n_classes = (overrides.get("n_classes", 0) if n_classes is None else n_classes) or 0
    if not str(n_classes).isdigit():  # 1 is a one-class generator (rosinality's ProGAN), read as unconditional
        raise SourceError(f"n_classes={n_classes}: give the number of classes, e.g. --option n_classes=10")
    n_classes = int(n_classes)
    if form is not None and not n_classes:
        raise SourceError(f"labels={form} is the form of class labels: give --option n_classes=K with it")
    with hub.errors_named(request.source if hub_meta else None):
        obj = (
            load_file(str(path))
            if path.suffix == ".safetensors"
            else read_pickle(path, request.trust_remote_code, where)
        )
        state_dict, entry = locate_state_dict(obj.state_dict() if isinstance(obj, nn.Module) else obj, key, where)
        if kwargs != typed:  # sizes from a file: checked on the meta device first (an outside audit, 53a)
            check_on_meta(class_path, kwargs, state_dict, where)
        module = build(class_path, kwargs)
        load_strictly(module, state_dict, class_path, kwargs, where)
    module.eval().requires_grad_(False)
    # a forward(z, labels=None) with a label embedding needs n_classes (0 included); one that requires its label is
    # asked for n_classes by probe_spec, not about an optional input after it (ProGAN's `step`: a review)
    if not n_classes_given and not label_arguments(module)[1]:
        from ganinv.adapters.opaque import check_optional_inputs

        check_optional_inputs(module, f"{class_path}.forward", "--option n_classes=0")
    spec, form, decisions = probe_spec(module, class_path, kwargs, n_classes, overrides, form)
    opaque = architectures.get("opaque")
    inputs = {None: "z", "index": "z,labels", "onehot": "z,onehot", "onehot_map": "z,onehot"}[form]
    program = LabelMaps(module) if form == "onehot_map" else module
    # wrap is the opaque adapter's own method; the registry is typed with the base Architecture
    built = opaque.wrap(program, opaque.make_options({"inputs": inputs}), spec)  # type: ignore[attr-defined]
    decisions += built.decisions
    warn_assumptions(decisions)
    meta = {
        "model_class": class_path,
        "model_kwargs": kwargs,
        **({"labels": form} if form else {}),
        "weights_sha256": file_sha256(path),
        "decisions": decisions,
        **entry_meta(entry),
        **hub_meta,
    }
    return with_overrides(Generator(built.net, built.spec, source=request.source, meta=meta), overrides)


def weights_file(source: str) -> tuple[Path, Optional[str], str, dict[str, Any]]:
    """(the weights file, its #KEY, its name in messages, meta saying where it came from): a local file, or the one
    weights file of a Hub repo, which ganinv.hub picks and fetches as for any `hub:` source (the refusals of Hub
    generators ganinv cannot build send users to --model-class: an outside audit found it refused `hub:` then)."""
    from ganinv.sources.programs import is_program, program_kind

    if source.startswith(hub.PREFIX):
        resolved = hub.resolve(source)
        path, key, where = resolved.path(resolved.weights), resolved.id.key, resolved.label(resolved.weights)
        if resolved.shards != (resolved.weights,):
            raise SourceError(
                f"{where} is a checkpoint sharded in {len(resolved.shards)} files, and --model-class loads one "
                "weights file: merge the shards into one file and give its path (or a single file: hub:owner/name:FILE)"
            )
        meta = resolved.meta()
    else:
        from ganinv.sources.common import split_entry

        typed, key = split_entry(source)
        path, meta = Path(typed), {}
        where = str(path)
        if path.is_dir():  # a repo's local copy (`hf download --local-dir`), read as the Hub repo is (57b)
            from ganinv import repo_files
            from ganinv.sources.folders import folder_files

            weights, _ = repo_files.pick_weights(folder_files(path), where, name_file=str(path / "FILE"))
            path = path / weights
            where = str(path)
        if not path.is_file():
            raise SourceError(
                f"--model-class loads a weights file (.safetensors, .pt, .pth, .bin, .ckpt, .pkl, or a torch.save "
                f"file of any name), a folder of one, or hub:owner/name[:FILE], but {source!r} is none; give the "
                "weights' path or Hub id"
            )
    if is_program(path):
        raise SourceError(
            f"{where} is a {program_kind(path)} program, not weights to load into a class: drop --model-class to run "
            "it as a program (--trust-remote-code if you trust its author), or give the state dict's file"
        )
    return path, key, where, meta


def mixin_config_kwargs(class_path: str, config_path: Path, where: str, given: dict[str, Any]) -> dict[str, Any]:
    """A `PyTorchModelHubMixin` class's init arguments: the `given` ones (--model-kwargs), and for the others the
    config.json saved beside its weights (`save_pretrained` writes them there; `from_pretrained` passes those its
    `__init__` takes, all where it takes **kwargs, or the whole config as `config=`), announced. Another class, or no
    config: `given` alone. The values are JSON data; the class is the one the user named."""
    from huggingface_hub import ModelHubMixin

    cls = import_class(class_path)
    if not (isinstance(cls, type) and issubclass(cls, ModelHubMixin)) or not config_path.is_file():
        return given
    from ganinv.sources.torch_saves import read_config

    config = read_config(config_path, str(config_path))
    parameters = inspect.signature(cls.__init__).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    if "config" in parameters:  # the whole config as one argument, as from_pretrained passes it (a review, 52a)
        filled: dict[str, Any] = {} if "config" in given else {"config": config}
    else:
        filled = {
            k: v for k, v in config.items() if (takes_any or (k in parameters and k != "self")) and k not in given
        }
    if filled:
        warnings.warn(
            f"{class_path} is a PyTorchModelHubMixin class: built with the arguments its config.json beside {where} "
            f"holds, {json.dumps(filled)}, as its from_pretrained does"
            + (" (--model-kwargs gave the others)" if given else "; --model-kwargs '{...}' gives others"),
            stacklevel=2,
        )
    return {**filled, **given}


def parse_kwargs(value: Any) -> dict[str, Any]:
    """`--model-kwargs '{"nz": 100}'` (a JSON object; a dict from Python) -> keyword arguments of the class."""
    if value is None or value == "":
        return {}
    if isinstance(value, Mapping):
        return dict(value)
    try:
        parsed = json.loads(str(value))
    except json.JSONDecodeError as exc:
        raise SourceError(
            f"--model-kwargs {value!r} is not JSON ({exc.msg}); give an object, e.g. "
            '--model-kwargs \'{"nz": 100, "ngf": 64}\''
        ) from None
    if not isinstance(parsed, dict):
        raise SourceError(
            f"--model-kwargs {value!r} must be a JSON object of keyword arguments, e.g. '{{\"nz\": 100}}'"
        )
    return parsed


def import_class(class_path: str) -> Any:
    """`pkg.module:Class` (or `pkg.module:Outer.Class`), importable from the current folder as with `python -m`."""
    module_name, sep, attr = class_path.partition(":")
    if not sep or not module_name or not attr:
        raise SourceError(f"--model-class {class_path!r}: give module:Class, e.g. mypkg.models:Generator")
    try:
        with trust.current_folder_importable(module_name):
            found: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError) as exc:
        raise SourceError(
            f"cannot import --model-class {class_path} ({exc}); give an importable module:Class "
            "(run from the folder that holds the package, or install it)"
        ) from None
    return found


def build(class_path: str, kwargs: dict[str, Any]) -> nn.Module:
    cls = import_class(class_path)
    try:
        module = cls(**kwargs)
    except Exception as exc:  # the class is the user's code: any error it raises is about its arguments
        raise SourceError(
            f"{class_path}(**{kwargs}) failed: {first_line(exc)}; pass the arguments the training "
            "code used with --model-kwargs '{\"name\": value}'"
        ) from None
    if not isinstance(module, nn.Module):
        raise SourceError(f"{class_path}(**{kwargs}) gave a {type(module).__name__}, not a torch.nn.Module")
    return module


def check_on_meta(class_path: str, kwargs: dict[str, Any], state_dict: Mapping[str, torch.Tensor], where: str) -> None:
    """Refuse arguments that build the class with other shapes than the weights', on PyTorch's meta device, which
    allocates nothing: a config.json beside the weights is the file's, not the user's, and its `ngf` of 20000 asked
    for 10^11 parameters before any check (an outside audit, 53a). A class that cannot be built there is built for
    real, as before, and checked after."""
    from ganinv.sources.folders import initialisers_skipped  # (sources imports this module)

    try:
        with torch.device("meta"), initialisers_skipped():  # no values to draw there (12 s of kernels: review 37a)
            module = import_class(class_path)(**kwargs)
    except Exception:  # e.g. a class that reads a tensor's value while it builds
        return
    if isinstance(module, nn.Module):
        check_shapes(module, state_dict, class_path, kwargs, where, "the config.json beside the weights (its sizes)")


def check_shapes(
    module: nn.Module,
    state_dict: Mapping[str, torch.Tensor],
    class_path: str,
    kwargs: dict[str, Any],
    where: str,
    sizes: str = "--model-kwargs (its sizes)",
) -> None:
    mismatch = describe_mismatch(shapes(module.state_dict()), shapes(state_dict), shown=4)
    if mismatch:
        raise SourceError(
            f"{where} does not fit {class_path}(**{kwargs}) (shapes: checkpoint vs class): {mismatch}; "
            f"check --model-class (the class that saved these weights) and {sizes}"
        )


def load_strictly(
    module: nn.Module, state_dict: Mapping[str, torch.Tensor], class_path: str, kwargs: dict[str, Any], where: str
) -> None:
    """Every tensor of the module from the checkpoint, and every tensor of the checkpoint into the module."""
    check_shapes(module, state_dict, class_path, kwargs, where)
    try:
        module.load_state_dict(state_dict, strict=True)
    except RuntimeError as exc:
        raise SourceError(f"{where} does not load into {class_path}: {first_line(exc)}") from None


def first_layer_inputs(module: nn.Module) -> Optional[tuple[str, int]]:
    """(name, input size) of the first Linear or convolution registered, skipping label embeddings."""
    for name, layer in module.named_modules():
        if isinstance(layer, nn.Linear):
            return name, layer.in_features
        if isinstance(layer, nn.modules.conv._ConvNd):
            return name, layer.in_channels
    return None


def label_arguments(module: nn.Module) -> tuple[bool, bool]:
    """(forward takes a second argument, forward requires one): the class labels."""
    try:
        params = inspect.signature(module.forward).parameters.values()
    except (TypeError, ValueError):
        return False, False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2, len([p for p in positional if p.default is p.empty]) >= 2


def nz_candidates(
    module: nn.Module, class_path: str, kwargs: dict[str, Any], n_classes: int = 0
) -> list[tuple[int, str]]:
    """Noise sizes to try, with where each comes from: a model kwarg, else the first layer's input size (less a
    label embedding's width, or less K for a one-hot label, for labels concatenated to z)."""
    named = [k for k in NZ_KWARGS if isinstance(kwargs.get(k), int) and not isinstance(kwargs.get(k), bool)]
    if named:
        return [(kwargs[named[0]], f"model kwarg {named[0]}")]
    first = first_layer_inputs(module)
    if first is None:
        raise SourceError(f"cannot tell the noise size of {class_path} (it has no Linear or convolution); pass --nz N")
    name, size = first
    found = [(size, f"weights: the input size of the first layer {name}")]
    for label, layer in module.named_modules():
        if isinstance(layer, nn.Embedding) and layer.embedding_dim < size:
            found.append(
                (
                    size - layer.embedding_dim,
                    f"weights: the input size of the first layer {name} less the label embedding {label}",
                )
            )
    if 0 < n_classes < size:
        found.append((size - n_classes, f"weights: the input size of the first layer {name} less {n_classes} classes"))
    return found


class LabelMaps(nn.Module):
    """The user's module fed its labels as one-hot maps (N, K, 1, 1), as a conditional DCGAN's label branch (a
    ConvTranspose2d on the label) takes them; ganinv's d is (N, K), and stays differentiable."""

    def __init__(self, module: nn.Module):
        super().__init__()
        self.module = module

    def forward(self, z: torch.Tensor, onehot: torch.Tensor) -> Any:
        return self.module(z, onehot[:, :, None, None])


def probe_labels(form: str, n_classes: int) -> torch.Tensor:
    """The probe batch's labels 0, 1, ..., K-1, 0, ... in `form`."""
    labels = torch.arange(N_PROBE) % n_classes
    if form == "index":
        return labels
    onehot = nn.functional.one_hot(labels, n_classes).float()
    return onehot if form == "onehot" else onehot[:, :, None, None]


@torch.no_grad()
def probe_spec(
    module: nn.Module,
    class_path: str,
    kwargs: dict[str, Any],
    n_classes: int,
    given: dict[str, Any],
    form: Optional[str] = None,
) -> tuple[dict[str, Any], Optional[str], list]:
    """(spec fields, the form its labels take (None: it takes none), decisions) read by running the module on a
    probe batch. The label form is read as the latent shape is: integer labels, the documented form, else the first
    of one-hot (N, K) and one-hot maps (N, K, 1, 1) the module runs on (znxlwm's cDCGAN takes maps: an outside audit
    found integers fed to it, and the error blaming z); `form` (--option labels=FORM) wins."""
    takes_labels, needs_labels = label_arguments(module)
    if needs_labels and not n_classes:
        from ganinv.generator import embedding_rows

        rows = embedding_rows(module)
        held = f" (its label embedding has {rows[0]} rows: --option n_classes={rows[0]})" if len(rows) == 1 else ""
        raise SourceError(
            f"{class_path}.forward takes class labels besides z; say how many classes with --option n_classes=K{held}"
        )
    if n_classes and not takes_labels:
        raise SourceError(f"{class_path}.forward takes z alone, no labels; drop n_classes={n_classes}")
    forms: list[Optional[str]] = ([form] if form else list(LABEL_FORMS)) if n_classes else [None]
    sizes = [(int(given["nz"]), "")] if given.get("nz") else nz_candidates(module, class_path, kwargs, n_classes)
    given_shape = tuple(given["native_latent_shape"]) if given.get("native_latent_shape") else None
    tries = [
        (f, nz, src, shape)
        for nz, src in sizes
        for f in forms
        for shape in ([given_shape] if given_shape else [(nz,), (nz, 1, 1)])
    ]
    out, errors = None, []
    for form, nz, nz_source, shape in tries:  # noqa: B007 (read after the loop: the one that ran)
        z = torch.randn(N_PROBE, nz, generator=torch.Generator().manual_seed(0))
        labels = () if form is None else (probe_labels(form, n_classes),)
        try:
            out = module(z.reshape(N_PROBE, *shape), *labels)
        except Exception as exc:  # the user's code: whatever fails, the next form, size or shape may run
            fed = f"labels {tuple(labels[0].shape)}, " if labels else ""
            errors.append(f"{fed}z {shape}: {first_line(exc)}")
            continue
        break
    if out is None and n_classes and any("index out of range" in e for e in errors):
        from ganinv.generator import embedding_rows

        rows = embedding_rows(module)
        # one table, or one per layer of a size (conditional BatchNorm's): as a program's probe says it, not six
        # errors (an outside audit; a review for conditional BatchNorm)
        if rows and len(set(rows)) == 1 and rows[0] < n_classes:
            which = "label embedding's" if len(rows) == 1 else f"{len(rows)} label embeddings'"
            raise SourceError(
                f"{class_path} does not run on the probe batch's labels up to {n_classes - 1}: they index past its "
                f"{which} {rows[0]} rows; give --option n_classes={rows[0]}"
            )
    if out is None and n_classes:  # z alone may be what fails; --nz names it unless the user gave both
        noise = "" if given.get("nz") and given_shape else "; or pass --nz N (and --latent-shape nz,1,1) for its noise"
        raise SourceError(
            f"{class_path} does not run on the probe batch of z and {n_classes}-class labels fed as "
            f"{', '.join(LABEL_FORMS[f] for f in forms if f)} (--option labels={'|'.join(LABEL_FORMS)}) "
            f"({'; '.join(errors[:6])}); check n_classes={n_classes}, or load it through a module:callable of yours "
            f"that feeds its forward z and the one-hot d{noise}"
        )
    if out is None:
        raise SourceError(
            f"{class_path} does not run on the probe latents ({'; '.join(errors[:4])}); pass --nz N "
            "(and --latent-shape nz,1,1) for the noise it takes"
        )
    out = out[0] if isinstance(out, (tuple, list)) else out
    if not isinstance(out, torch.Tensor):
        raise SourceError(f"{class_path} returns a {type(out).__name__}, not images; load it with module:callable")
    decisions = [decision("nz", nz, nz_source, "--nz N")] if nz_source else []
    # integer labels have no gradient; one-hot ones do, as d itself
    spec: dict[str, Any] = {"nz": nz, "n_classes": n_classes, "differentiable_codes": form != "index"}
    if form not in (None, "index") and len(forms) > 1:
        decisions.append(
            decision(
                "labels",
                form,
                f"probe: the module runs on labels as {LABEL_FORMS[form]}, not as integers (N,)",
                f"--option labels={form}",
            )
        )
    if len(shape) > 1:
        spec["native_latent_shape"] = shape
        if not given.get("native_latent_shape"):
            decisions.append(
                decision(
                    "latent_shape",
                    shape,
                    "probe: the module runs on (N, nz, 1, 1), not on (N, nz)",
                    "--latent-shape nz,1,1",
                )
            )
    spec["image_shape"] = tuple(given["image_shape"]) if given.get("image_shape") else image_shape(out, decisions)
    if given.get("native_output_range") is None:
        spec["native_output_range"] = output_range(out)
        seen = f"{N_PROBE} images with values in [{float(out.min()):.3g}, {float(out.max()):.3g}]"
        decisions.append(
            decision(
                "output_range",
                spec["native_output_range"],
                # a negative pixel rules [0, 1] out; none does not rule [-1, 1] out (a Tanh net with bright images)
                f"probe: {seen}"
                if spec["native_output_range"][0] < 0
                else f"assumed: [0, 1] as no pixel is negative in the probe's {seen}; a Tanh generator whose "
                "images are all bright gives the same",
                "--output-range -1,1" if spec["native_output_range"][0] >= 0 else "--output-range LO,HI",
            )
        )
    decisions += prior_assumed(given, "a model class")
    return spec, form, decisions


def image_shape(out: torch.Tensor, decisions: list) -> tuple[int, int, int]:
    """(C, H, W) of a probe output (N, C, H, W), or of a flat (N, F) one read as 1 or 3 square channels."""
    if out.dim() == 4:
        channels, height, width = (int(v) for v in out.shape[1:])
        return channels, height, width
    if out.dim() == 2:
        size = int(out.shape[1])
        fits = square_image_shapes(size)
        if len(fits) == 1:
            c, side, _ = fits[0]
            decisions.append(
                decision(
                    "image_shape",
                    (c, side, side),
                    f"assumed: the flat output of {size} values is {c} square channel(s)",
                    "--image-shape C,H,W",
                )
            )
            return c, side, side
    raise SourceError(
        f"the module returns shape {tuple(out.shape)}, not images (N, C, H, W); {image_shape_advice(out)}"
    )


def output_range(out: torch.Tensor) -> tuple[float, float]:
    """[-1, 1] when some value is negative, [0, 1] when none is; anything else is the user's to say."""
    lo, hi = float(out.min()), float(out.max())
    if not (torch.isfinite(out).all() and -1.0 - 1e-3 <= lo and hi <= 1.0 + 1e-3):  # the generic probe's tolerance
        raise SourceError(  # 5 digits: "[-0.897, 1], outside [-1, 1]" read as a contradiction (a review)
            f"the probe images have values in [{lo:.5g}, {hi:.5g}], outside [-1, 1]: ganinv cannot tell "
            "their range; pass --output-range LO,HI (e.g. 0,255)"
        )
    return (-1.0, 1.0) if lo < 0 else (0.0, 1.0)
