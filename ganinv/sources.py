"""Resolve a generator source string into a `Generator` (docs/algorithms.md §1).

Source strings:
- `builtin:NAME`                      a generator shipped in the package (`ganinv/builtin/NAME/`)
- `hub:owner/name[@revision][:FILE][#KEY]`  a Hugging Face repo (ganinv.hub): listed once, only the files
                                      the listing names are fetched; the cache and HF_HUB_OFFLINE are honoured
- `path/to/folder`                    `config.json` + `model.safetensors` (or `pytorch_model.bin`): ganinv's
                                      own layout, or a `PyTorchModelHubMixin` folder (architecture from --arch,
                                      an "architecture" field, or inferred from the weights)
- `FILE.safetensors|.pt|.pth|.bin|.ckpt[#KEY]`  a state dict, nested ones (`{"netG": ...}`, `{"state_dict":
                                      ...}`, `module.` prefixes) unwrapped; `#KEY` picks an entry
- `FILE.pt2`, TorchScript `FILE.pt`   opaque programs (torch.export / torch.jit), spec from a sidecar JSON
                                      (`FILE.pt2.json`, `FILE.json` or `spec.json` beside it) or flags
- `pkg.module:callable`               a Python callable returning `(module, spec)`, a module, or a Generator

`options` holds architecture options (`--option KEY=VALUE`) and spec overrides: keys
`spec.FIELD` (the CLI's --nz, --latent-shape, --image-shape, --output-range, --prior) and
`spec` (a JSON file of spec fields, the CLI's --spec). Overrides win over sidecars and configs.

Security (SECURITY.md): weights files are read as data by ganinv.weight_files (safetensors; pickles with
`weights_only=True` or the restricted unpickler; the full unpickler only with `trust_remote_code`); a
source that is code (`module:callable`, `--model-class`, programs) runs only when the user chose it
(ganinv.trust). A layer weight holding one value throughout (`check_evidence`) is refused rather than
read as an architecture.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import importlib
import inspect
import itertools
import json
import logging
import math
import os
import re
import reprlib
import sys
import warnings
from pathlib import Path, PurePosixPath
from typing import Any, Iterator, Mapping, Optional

import torch
from safetensors.torch import save_file
from torch import nn

from ganinv import architectures, config_words, foreign_layouts, hub, safe_pickle, trust
from ganinv.atomic import atomic_dir, parse_json, read_text
from ganinv.errors import (
    ArchitectureError,
    ConfigError,
    GaninvError,
    SourceError,
    SpecMismatchError,
    UnsafeFileError,
    first_line,
)
from ganinv.generator import Generator
from ganinv.spec import GeneratorSpec
from ganinv.weight_files import (
    PickledModuleWeights,
    check_lightning_latent,
    checkpoint_hints,
    entry_meta,
    is_torch_checkpoint,
    is_torchscript,
    layers_of,
    lightning_hparams,
    locate_state_dict,
    read_state_dict,
    read_weights,
    state_dict_sha256,
    unmodelled_layers,
    unusual_tensor,
)
from ganinv.weight_parametrizations import fold_parametrizations

BUILTIN_DIR = Path(__file__).parent / "builtin"
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
PICKLE_WEIGHTS_NAME = "pytorch_model.bin"  # what PyTorchModelHubMixin wrote before safetensors
SPEC_NAME = "spec.json"  # sidecar spec beside weights or programs
logger = logging.getLogger("ganinv")
FORMAT = "ganinv-generator"
STATE_DICT_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".tar")


@dataclasses.dataclass
class Request:
    """What the caller asked for, carried to whichever loader the source string picks."""

    source: str
    arch: Optional[str]
    options: dict[str, Any]  # architecture options
    overrides: dict[str, Any]  # spec fields that win over everything else
    trust_remote_code: bool = False  # the user's --trust-remote-code for this command (ganinv.trust)
    origin: Optional[str] = None  # the file that named this source, when the user did not type it
    options_origin: Optional[str] = None  # the file the options came from, when the user did not type them


def builtin_names() -> list[str]:
    return sorted(p.name for p in BUILTIN_DIR.glob("*") if (p / CONFIG_NAME).is_file())


def source_text(source: object, what: str) -> str:
    """A source given in Python as a string or a path (`pathlib.Path`), as the string the command line would take."""
    if isinstance(source, os.PathLike):
        source = os.fspath(source)
    if not isinstance(source, str):
        raise ConfigError(
            f"the {what} source must be a string or a path, got {source!r} ({type(source).__name__}): a folder, "
            "a file, builtin:NAME or hub:owner/name"
        )
    return source


def load_generator(
    source: str,
    *,
    arch: Optional[str] = None,
    options: Optional[dict[str, Any]] = None,
    probe: bool = True,
    device: Optional[str | torch.device] = None,
    trust_remote_code: bool = False,
    origin: Optional[str] = None,
    options_origin: Optional[str] = None,
) -> Generator:
    """Load any generator source as a frozen `Generator`, probed against its spec.

    `origin` names the file the source was read from (an artifact's config, a recipe) when the
    user did not type it: then sources that are code (`module:callable`, programs, full pickles)
    are refused unless `trust_remote_code` is the user's own flag (see ganinv.trust).
    `options_origin` does the same for `options` alone (a source the user typed, with the options
    an artifact or recipe recorded for it): a `model_class` among them is then code a file chose.
    """
    source = source_text(source, "generator")
    if not source.strip():  # "" would read as the current folder
        raise SourceError(
            "the generator source is empty; give builtin:NAME, hub:owner/name, a folder, a weights or program file, "
            "or module:callable"
        )
    origin, trust_remote_code = trust.resolve(origin, trust_remote_code)
    if options is not None and not isinstance(options, Mapping):  # --option K=V is options={"K": "V"}
        raise ConfigError(f"options must be a dict of option names to values, e.g. {{'nz': 100}}; got {options!r}")
    arch_options, overrides = split_options(dict(options or {}))
    batchnorm = batchnorm_option(arch_options.pop("bn", None))
    request = Request(source, arch, arch_options, overrides, trust_remote_code, origin, options_origin)
    hub.refuse_url(source)
    path = Path(source.partition("#")[0])
    if "model_class" in arch_options:  # weights in the user's own class (--model-class), see ganinv.model_class
        from ganinv.model_class import load_with_model_class

        generator = load_with_model_class(request)
    elif source.startswith("builtin:"):
        name = source.split(":", 1)[1]
        folder = BUILTIN_DIR / name
        if name not in builtin_names():  # a name, never a path: `builtin:/abs` or `builtin:../..` read any folder
            raise SourceError(f"no built-in generator {name!r}; available: {', '.join(builtin_names()) or 'none'}")
        generator = load_folder(folder, source, request=request)
    elif source.startswith("hub:"):
        generator = load_hub(request)
    elif path.is_dir():
        generator = load_folder(path, source, request=request)
    elif path.is_file():
        generator = load_file_source(path, request)
    elif path.exists() and ":" not in source:  # a FIFO, socket or device: never read (it may never end)
        raise SourceError(
            f"{source} is a special file (a device, FIFO or socket), not a weights file or folder; give the file "
            "the generator was saved to"
        )
    elif ":" in source:
        generator = load_callable(source, request)
    else:
        raise SourceError(
            f"cannot resolve generator source {source!r}: no such file or folder; expected "
            "builtin:NAME, hub:owner/name[@rev], a folder, a weights or program file, or module:callable"
        )
    if batchnorm is not None:  # --option bn=train|eval wins over what the checkpoint suggested
        generator.meta["batchnorm"] = batchnorm
        generator.freeze()
    if device is not None:
        from ganinv.devices import resolve_device

        generator = generator.to(resolve_device(device))  # "gpu" or "meta" refused as the CLI refuses them
    if "native_output_range" in request.overrides:  # the user's --output-range: no probe heuristic overrules it
        generator.meta["output_range_given"] = True  # (a Tanh net of bright images, given -1,1, was refused)
    if probe:
        with hub.errors_named(source if source.startswith(hub.PREFIX) else None):
            try:
                generator.probe()
            except SpecMismatchError as exc:  # say which generator, as every other load error does
                if source not in str(exc) and not source.startswith(hub.PREFIX):
                    exc.args = (f"{source}: {exc}",)
                raise
    if generator.meta.get("architecture") == "opaque":  # its assumptions, said where the load succeeded
        architectures.warn_assumptions(list(generator.meta.get("decisions") or []))
    if generator.meta.get("architecture") == "opaque" and path.is_file() and not trust_remote_code:
        warnings.warn(  # typed by the user: theirs to run, and said once, where the load succeeded
            f"{path} is a program: its code ran, and can read and write files as you (torch.from_file); run only "
            "programs whose author you trust",
            stacklevel=2,
        )
    return generator


def batchnorm_option(value: Any) -> Optional[str]:
    """`--option bn=train`: BatchNorm uses each batch's statistics, as generators that never call eval() sample;
    `bn=eval` (the default): the stored running statistics."""
    if value is None:
        return None
    if str(value).lower() not in ("train", "eval"):
        raise SourceError(f"--option bn={value}: give bn=train (batch statistics) or bn=eval (running statistics)")
    return str(value).lower()


# ---- spec overrides ----------------------------------------------------------------------------------


SPEC_FIELDS = {f.name: f for f in dataclasses.fields(GeneratorSpec)}


def split_options(options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Architecture options vs spec overrides (`spec.FIELD` keys, and `spec`: a JSON file of fields)."""
    overrides: dict[str, Any] = {}
    if "spec" in options:
        path = options.pop("spec")
        if not isinstance(path, (str, os.PathLike)):
            raise ConfigError(
                f"options['spec'] is the path of a spec file (--spec FILE), not {type(path).__name__}; give its "
                "fields as 'spec.FIELD' keys instead, e.g. {'spec.nz': 100}"
            )
        overrides.update(read_spec_file(Path(path)))
    for key in [k for k in options if k.startswith("spec.")]:
        name = key[len("spec.") :]
        overrides[name] = spec_value(name, options.pop(key), overrides.get("nz"))
    if overrides.get("native_prior") == "truncated_normal" and "native_prior_range" not in overrides:
        raise SourceError(  # it meant [-1, 1], unsaid (an outside audit)
            "a truncated_normal prior needs its bounds, which no default stands for: give them with it, --prior "
            "truncated_normal:LO,HI (e.g. -2,2; in a spec file or Python, spec.native_prior_range too)"
        )
    return options, overrides


def options_to_record(options: Optional[Mapping[str, Any]]) -> dict[str, Any]:
    """Options as an artifact records them: a spec file (`spec`, a path of this machine) as its fields (spec.FIELD),
    since an artifact's reader refuses a path to read (ganinv.generator_reference: an outside audit's Hub artifact
    made ganinv read a file of the user's)."""
    options = dict(options or {})
    path = options.pop("spec", None)
    if path is None:
        return options
    fields = {f"spec.{k}": list(v) if isinstance(v, tuple) else v for k, v in read_spec_file(Path(path)).items()}
    return {**{k: v for k, v in fields.items() if v is not None}, **options}


BOOL_WORDS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


def spec_value(name: str, value: Any, nz: Optional[int] = None) -> Any:
    """A spec field from a command-line string ("1,28,28", "0,1", "nz,1,1", "uniform") or a JSON value."""
    if name not in SPEC_FIELDS:
        raise SourceError(f"unknown spec field {name!r}; known: {', '.join(SPEC_FIELDS)}")
    if not isinstance(value, str):
        return value
    kind = str(SPEC_FIELDS[name].type)
    try:
        if "tuple" in kind:
            parts = [p for p in value.replace(" ", "").strip("()[]").split(",") if p]
            if "float" in kind:
                return tuple(float(p) for p in parts)
            if "nz" in parts and not nz:  # refused as a bad value, with this very form as the example (audit 21c)
                raise SourceError(
                    f"{value!r} for spec field {name} names nz, which is not given: give --nz N with it, or the "
                    "shape in numbers (e.g. --latent-shape 100,1,1)"
                )
            return tuple(int(str(nz) if p == "nz" else p) for p in parts)
        if kind == "bool":  # a typo is no False (an outside audit: "ture" read as False)
            word = value.strip().lower()
            if word not in BOOL_WORDS:
                raise SourceError(f"bad value {value!r} for spec field {name}: give true or false")
            return BOOL_WORDS[word]
        if kind == "int":
            return int(value)
    except ValueError:
        raise SourceError(
            f"bad value {value!r} for spec field {name}; e.g. --image-shape 1,28,28, "
            "--output-range 0,1, --latent-shape nz,1,1"
        ) from None
    return value


def read_spec_file(path: Path, sidecar: bool = False, label: Optional[str] = None) -> dict[str, Any]:
    """Spec fields from a JSON file: a (partial) GeneratorSpec dict, or a config with a "spec" entry. A `sidecar`
    (a JSON found beside the weights, not one the user named) that is not a spec, such as a training script's
    `netG.pth.json` of epochs and losses, is ignored and said so: it blocked loading, naming no file."""
    label = label or str(path)
    try:
        data = parse_json(read_text(path))
    except FileNotFoundError:
        raise SourceError(f"spec file {label} does not exist") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        if sidecar:
            warnings.warn(f"{label} is not valid JSON ({exc}): not read as the generator's spec", stacklevel=2)
            return {}
        raise SourceError(f"{label} is not valid JSON ({exc}); fix it or pass the flags instead") from None
    data = data.get("spec", data) if isinstance(data, dict) else data
    if sidecar and not (isinstance(data, dict) and data and set(data) <= set(SPEC_FIELDS)):
        fields = ", ".join(list(data)[:4]) if isinstance(data, dict) else type(data).__name__
        warnings.warn(f"{label} holds no generator spec ({fields}): not read as one", stacklevel=2)
        return {}
    if not isinstance(data, dict):
        raise SourceError(f"{label} must hold a JSON object of spec fields ({', '.join(SPEC_FIELDS)})")
    try:
        return {k: spec_value(k, v) for k, v in data.items()}
    except SourceError as exc:
        raise SourceError(f"{label}: {exc}") from None


def sidecar_path(path: Path) -> Optional[Path]:
    """`FILE.EXT.json`, `FILE.json` or `spec.json` beside a weights or program file, the first there."""
    for candidate in (path.with_name(path.name + ".json"), path.with_suffix(".json"), path.parent / SPEC_NAME):
        if candidate.is_file() and candidate != path:
            return candidate
    return None


def sidecar_spec(path: Path) -> dict[str, Any]:
    """Spec fields from the sidecar beside a weights or program file (`sidecar_path`)."""
    found = sidecar_path(path)
    return read_spec_file(found, sidecar=True) if found else {}


PRIOR_FIELDS = ("native_prior", "native_prior_range")  # what the first BatchNorm's statistics read (`prior`)


def apply_sidecar(
    generator: Generator, path: Optional[Path], user: Mapping[str, Any], where: str, label: Optional[str] = None
) -> Generator:
    """The sidecar spec file at `path` (found beside the weights, not one the user named; None: there is none) is
    evidence, like a config: a prior that the BatchNorm statistics read otherwise is refused naming both; any other
    field that changes the spec is applied and said in one line naming the file (a folder's spec.json applies to
    every weights file in it, and is easy to pick up by accident; an outside audit saw one turn a N(0, I) generator
    uniform, in silence). The user's flags (`user`) win. `label` names the file (a Hub repo's, by its repo path)."""
    if path is None:
        return generator
    label = label or str(path)
    fields = {k: v for k, v in read_spec_file(path, sidecar=True, label=label).items() if k not in user}
    read = generator.spec
    changed = {k: v for k, v in fields.items() if jsonable(getattr(read, k)) != jsonable(v)}
    if not changed:
        return generator
    decisions = list(generator.meta.get("decisions") or [])
    prior = next((d for d in decisions if d.get("property") == "prior"), None)
    if changed.keys() & set(PRIOR_FIELDS) and prior and not str(prior["source"]).startswith("assumed"):
        says = ", ".join(f"{k}={jsonable(fields[k])}" for k in PRIOR_FIELDS if k in fields)
        raise SourceError(
            f"{label} says {says}, but the BatchNorm statistics of {where} read the prior {prior['value']} "
            f"({prior['source']}): the spec file is wrong or belongs to another generator; fix or delete it, or "
            "choose with --prior"
        )
    before = ", ".join(f"{k}={jsonable(getattr(read, k))}" for k in changed)
    warnings.warn(
        f"{label} sets {', '.join(f'{k}={jsonable(v)}' for k, v in changed.items())} for {where} (the weights "
        f"alone give {before}); delete it if it is not this generator's spec (--prior, --output-range and --spec "
        "win over it)",
        stacklevel=2,
    )
    generator = with_overrides(generator, changed)
    if prior and changed.keys() & set(PRIOR_FIELDS):  # the record says where the prior now comes from, as --prior
        spec = generator.spec
        value = spec.native_prior + (
            ":{:g},{:g}".format(*spec.native_prior_range) if spec.native_prior == "uniform" else ""
        )
        generator.meta["decisions"] = [
            {**d, "value": value, "source": f"the spec file {label}"} if d is prior else d for d in decisions
        ]
    return generator


def with_overrides(generator: Generator, overrides: Mapping[str, Any]) -> Generator:
    if not overrides:
        return generator
    try:
        spec = generator.spec.replace(**overrides)
    except (TypeError, ValueError) as exc:
        raise SourceError(f"spec overrides {dict(overrides)} do not make a valid spec: {exc}") from None
    # a range given alone for a normal prior would do nothing (an outside audit); a whole spec (--spec FILE) names both
    alone = "native_prior_range" in overrides and "native_prior" not in overrides
    if alone and spec.native_prior == "normal":
        raise SourceError(
            "a prior range (spec.native_prior_range) bounds a uniform or truncated_normal prior, but this generator's "
            "prior is normal; give the prior with it: --prior uniform:LO,HI (in Python, spec.native_prior too)"
        )
    meta = {
        **generator.meta,
        "spec_overrides": {k: list(v) if isinstance(v, tuple) else v for k, v in overrides.items()},
    }
    return Generator(generator.net, spec, source=generator.source, meta=meta)


# ---- folders: ganinv's layout and PyTorchModelHubMixin -----------------------------------------------


SHAPE_FIELDS = ("nz", "nc", "n_classes", "image_shape")  # what the net built from the options and weights decides


def check_recorded_shapes(recorded: GeneratorSpec, built: GeneratorSpec, config_path: Path) -> None:
    """The spec a config.json records may add what the weights cannot say (a prior, an output range), never other
    sizes than the net's: an outside audit's `nz = 1e10` tried to allocate 320 GB for the first probe, an internal
    error. Checked before anything runs."""
    latent = (recorded.native_latent_shape or (recorded.nz,), built.native_latent_shape or (built.nz,))
    differ = [
        f"{name} {getattr(recorded, name)} where the net has {getattr(built, name)}"
        for name in SHAPE_FIELDS
        if getattr(recorded, name) != getattr(built, name)
    ] + ([f"native_latent_shape {latent[0]} where the net takes {latent[1]}"] if latent[0] != latent[1] else [])
    if differ:
        raise SourceError(
            f"{config_path} records a spec that is not its net's: {'; '.join(differ)}; the file was edited or "
            "damaged: save or download the generator again"
        )


def load_folder(folder: Path, source: str, *, request: Optional[Request] = None) -> Generator:
    """A folder with config.json and model.safetensors (or pytorch_model.bin)."""
    request = request or Request(source, None, {}, {})
    config_path = folder / CONFIG_NAME
    weights_path = next((p for p in (folder / WEIGHTS_NAME, folder / PICKLE_WEIGHTS_NAME) if p.is_file()), None)
    bundled = next((f for f in (folder / "generator", folder / "inverter" / "generator") if f.is_dir()), None)
    is_run = (folder / "checkpoints").is_dir() and bundled is not None
    if is_run or (folder / "generator" / CONFIG_NAME).is_file():
        # a run folder, or an inverter artifact: what a user who just ran `fit` types after -g
        kind = "a run folder" if is_run else "an inverter or MVAE artifact"
        where = f"its generator is {bundled}" if bundled is not None else "its generator was not bundled"
        raise SourceError(
            f"{folder} is {kind}, not a generator: {where}; commands that take --inverter take the folder itself"
        )
    if not config_path.is_file() or weights_path is None:  # a copy of a Hub repo, or a folder of checkpoints
        return load_repo_folder(folder, request)
    try:
        config = parse_json(read_text(config_path, encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise SourceError(f"{config_path} is not valid JSON ({exc}); fix or regenerate it") from None
    if not isinstance(config, dict):
        raise SourceError(f"{config_path} must hold a JSON object")
    state_dict = read_state_dict(weights_path, request.trust_remote_code)
    check_evidence(state_dict, str(weights_path))
    if config.get("format") == FORMAT:
        arch, recorded_spec = saved_config_fields(config, config_path)
        if request.arch and request.arch != arch:
            raise SourceError(f"{folder} holds a {arch!r} generator; drop --arch {request.arch}")
        built, opts = architectures.build_generator_net(
            arch, {**config.get("options", {}), **request.options}, state_dict, request.overrides
        )
        spec = recorded_spec or built.spec
        check_recorded_shapes(spec, built.spec, config_path)
        meta: dict[str, Any] = {"architecture": arch, "options": architectures.options_to_dict(opts)}
        if config.get("decisions"):  # how the options were first decided: assumptions stay announced
            meta["decisions"] = config["decisions"]
            architectures.warn_assumptions(meta["decisions"])
        if config.get("batchnorm") in ("train", "eval"):
            meta["batchnorm"] = config["batchnorm"]
    else:  # PyTorchModelHubMixin: config.json holds the module's __init__ kwargs, evidence for the options
        built, opts, arch, evidence = build_from_config(
            request.arch,
            config,
            request.options,
            state_dict,
            where=str(weights_path),
            config_label=str(config_path),
            spec=request.overrides,
        )
        spec = built.spec
        meta = {
            "architecture": arch,
            "options": architectures.options_to_dict(opts),
            **evidence,
            "decisions": built.decisions,
        }
    meta["weights_sha256"] = file_sha256(weights_path)
    generator = with_overrides(Generator(built.net, spec, source=source, meta=meta), request.overrides)
    sidecar = folder / SPEC_NAME if (folder / SPEC_NAME).is_file() else None
    return apply_sidecar(generator, sidecar, request.overrides, str(weights_path))


def saved_config_fields(config: dict[str, Any], config_path: Path) -> tuple[str, Optional[GeneratorSpec]]:
    """(architecture, spec or None) of a saved generator's config.json, its options and decisions checked: a
    damaged or hand-edited one (no architecture, options a list, a spec of unknown fields) was an internal error
    (an outside audit); it is one error naming the file."""
    arch, options, decisions = config.get("architecture"), config.get("options", {}), config.get("decisions", [])
    problem = ""
    if not isinstance(arch, str):
        problem = f"its architecture is {arch!r}, not a name"
    elif not isinstance(options, dict):
        problem = f"its options are a JSON {type(options).__name__}, not an object"
    elif not (isinstance(decisions, list) and all(isinstance(d, dict) for d in decisions)):
        problem = "its decisions are not a list of objects"
    spec = None
    if not problem and "spec" in config:
        try:
            if not isinstance(config["spec"], dict):
                raise TypeError(f"a JSON {type(config['spec']).__name__}, not an object")
            spec = GeneratorSpec.from_dict(config["spec"])
        except (TypeError, ValueError) as exc:
            problem = f"its spec cannot be read ({first_line(exc)})"
    if problem or not isinstance(arch, str):
        raise SourceError(f"{config_path} is damaged or edited: {problem}; save or download the generator again")
    return arch, spec


MAX_FOLDER_FILES = 10_000  # a folder given as a generator is a model's, not a home folder: read so many names at most


def folder_files(folder: Path) -> list[str]:
    """The files under `folder` as a repo listing names them (POSIX paths relative to it), hidden ones left out."""
    found: list[str] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        relative = Path(root).relative_to(folder)
        found += [(relative / f).as_posix() for f in sorted(files) if not f.startswith(".")]
        if len(found) > MAX_FOLDER_FILES:
            raise SourceError(
                f"{folder} holds more than {MAX_FOLDER_FILES:,} files, not one model's; give the weights file itself"
            )
    return found


def load_repo_folder(folder: Path, request: Request, weights: Optional[str] = None) -> Generator:
    """A folder as a Hub repo is read (`hf download owner/name --local-dir DIR`, a copy of a repo, a training run's
    checkpoints): the weights file chosen by the Hub's rules and announced among several, a sharded index with its
    shards, config.json and spec sidecars beside it as evidence (an outside audit: what loaded as `hub:` was
    refused from its local copy). `weights`: the file the user named there (a sharded index)."""
    files = folder_files(folder)
    where = str(folder)
    if weights is None:
        weights, _ = hub.pick_weights(files, where, name_file=str(folder / "FILE"))
    weights_path = folder / weights
    if is_program(weights_path):
        raise SourceError(
            f"{where}: {weights} is a {program_kind(weights_path)} program, which is code: name it yourself if you "
            f"trust its author (--generator {weights_path})"
        )
    twins = hub.format_twins(weights, files)
    if twins:
        hub.compare_twins(folder, weights, twins, where)
    config_name = hub.beside(weights, files, CONFIG_NAME)
    config_path = folder / config_name if config_name else None
    config = read_config(config_path, str(config_path)) if config_path else {}
    if config_path and config.get("format") == FORMAT:  # ganinv's own layout, in a subfolder
        if not any((config_path.parent / name).is_file() for name in (WEIGHTS_NAME, PICKLE_WEIGHTS_NAME)):
            raise SourceError(
                f"{config_path} is ganinv's generator config, but {config_path.parent} holds no {WEIGHTS_NAME}: its "
                "weights were moved or renamed; put them back as saved"
            )
        return load_folder(config_path.parent, request.source, request=request)
    index = weights_path if weights.endswith(hub.INDEX_SUFFIXES) else None
    shards = hub.shards_of(weights_path, weights, where) if index is not None else (weights,)
    missing = [s for s in shards if s not in files]
    if missing:
        raise SourceError(f"{weights_path} names shards the folder does not have: {', '.join(missing[:4])}")
    try:
        generator = load_checkpoint(
            [folder / s for s in shards],
            None,
            request,
            str(weights_path),
            config,
            str(config_path or ""),
            index=index,
        )
    except ArchitectureError as exc:
        if config_path is None or not str(exc).startswith(f"{config_path} disagrees"):
            raise
        # a local folder's config.json may be a training script's settings, not the net's (an outside audit)
        raise ArchitectureError(
            f"{exc}; if {config_path} is not this generator's own config (a training script's settings, say), give "
            f"the weights file alone: --generator {weights_path}"
        ) from None
    spec_name = hub.beside(weights, files, PurePosixPath(weights).name + ".json", SPEC_NAME)
    if spec_name is not None:
        generator = apply_sidecar(generator, folder / spec_name, request.overrides, str(weights_path))
    return generator


def mixin_options(
    config: dict[str, Any], arch: Optional[str], config_label: str = "the config", settled: frozenset[str] = frozenset()
) -> tuple[dict[str, Any], list[str]]:
    """(options, unread fields) of a foreign config for `arch`: other codebases' names mapped by the adapter's
    `aliases` and `config_words.FIELDS`, their words read as ganinv's. Under ganinv's own option name (or an alias)
    a word it does not know is refused (`config_words.option_value`); under another codebase's name an unknown word
    or a non-string is unread, and one that differs from the own name's value is dropped for it, both named, never
    refused (an outside audit, 25a: `normalization: spectral` and `norm: batch` beside `normalization: none` were
    refused where they loaded exactly before). Two own fields naming one option with different values are refused
    naming both: the one written last won, in silence (an outside audit). A null value says nothing: unread. The
    options the user `settled` (--option, --prior) win over the config's fields of them, which are not read."""
    if arch is None:
        return {}, sorted(config)
    architecture = architectures.get(arch)
    fields = {f.name for f in dataclasses.fields(architecture.Options)}
    given: dict[str, Any] = {}
    read_from: dict[str, str] = {}
    ignored = []
    own: list[tuple[str, str]] = []  # (field, option) under ganinv's own names and the adapter's aliases
    foreign_fields: list[tuple[str, str]] = []  # under other codebases' names (`config_words.FIELDS`)
    for key, value in config.items():
        name = config_words.option_name(key, architecture.aliases)
        if name not in fields or value is None:
            if key != "architecture":
                ignored.append(key)
        elif name not in settled:
            (foreign_fields if config_words.foreign(key, architecture.aliases, fields) else own).append((key, name))
    for key, name in own + foreign_fields:  # ganinv's own names (and aliases) first: a foreign one gives way to them
        is_foreign = (key, name) in foreign_fields
        if is_foreign:
            value = config_words.foreign_value(name, config[key])
        else:
            value = config_words.option_value(name, key, config[key], config_label)
        if value is None:
            ignored.append(key)
            continue
        if name in given and jsonable(given[name]) != jsonable(value):
            first = read_from[name]
            if is_foreign and (first, name) in own:
                ignored.append(key)
                continue
            raise ArchitectureError(
                f"{config_label} gives {name} twice, as {first}={jsonable(config[first])!r} and "
                f"{key}={jsonable(config[key])!r}: fix the config, keeping the generator's"
            )
        given[name], read_from[name] = value, key
    order = list(config)
    return given, sorted(ignored, key=order.index)


def refuse_non_finite(given: Mapping[str, Any], config_label: str) -> None:
    """A config's option given as Infinity, NaN or 1e400 (JSON readers take all three) is refused naming it: it
    reached the adapters' arithmetic as an internal OverflowError (an outside audit)."""
    for key, value in given.items():
        values = value if isinstance(value, (list, tuple)) else [value]
        if any(isinstance(v, float) and not math.isfinite(v) for v in values):
            raise ArchitectureError(f"{config_label}: {key}={value!r} is not a finite number; fix the config")


def build_from_config(
    arch: Optional[str],
    config: Mapping[str, Any],
    options: dict[str, Any],
    state_dict: Mapping[str, torch.Tensor],
    where: str,
    config_label: str,
    spec: Optional[Mapping[str, Any]] = None,
    pickled: Optional[Mapping[str, Any]] = None,
    pickled_label: str = "",
):
    """`build_with_config_fields` with a foreign config read in ganinv's words (`config_words`): a nested generator
    block as the generator's fields, a field naming what no adapter builds refused where the net upsamples, a leaky
    ReLU as the slope it means, and the architectural fields left unread named in one warning, with the words of a
    checkpoint's `pickled` arguments (`checkpoint_words`, `pickled_label`), which are never applied."""
    config = config_words.generator_block(config)
    config, bare_leaky = config_words.read_leaky_activation(config, options)
    with warnings.catch_warnings(record=True) as said:  # said only if this net is taken
        warnings.simplefilter("always")
        found = build_with_config_fields(arch, config, options, state_dict, where, config_label, spec)
    built, opts, name, evidence = found
    config_words.refuse_unmodelled(config, config_label, name)
    assumed = bare_leaky and config_words.settle_bare_leaky(getattr(opts, "activation", None), config_label, where)
    if not assumed:
        for warning in said:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    else:
        activation = {"activation": assumed["value"]}
        built, opts, name, evidence = build_with_config_fields(
            name, {**config, **activation}, options, state_dict, where, config_label, spec
        )
        built.decisions[:] = [d for d in built.decisions if d.get("property") != "activation"] + [assumed]
        architectures.warn_assumptions([assumed])
    settled = frozenset(options) | ({"prior"} if (spec or {}).get("native_prior") is not None else frozenset())
    pickled = {k: v for k, v in (pickled or {}).items() if config_words.option_name(k, {}) not in settled}
    say_config_words(config, evidence, name, opts, config_label, pickled, pickled_label)
    return built, opts, name, evidence


SAID_OPTIONS = ("activation", "norm", "norm_eps", "output", "prior", "image_layout", "head_layout")  # the usual words


def say_config_words(
    config: Mapping[str, Any],
    evidence: Mapping[str, Any],
    arch: str,
    opts: Any,
    config_label: str,
    pickled: Optional[Mapping[str, Any]] = None,
    pickled_label: str = "",
) -> None:
    """Say what of a config's words was not taken as its author meant: architectural fields left unread (they were
    recorded in the metadata alone, and the generic "assumed" line printed, an outside audit), a checkpoint's
    pickled words (the whole training module's arguments: the generator's or the discriminator's), and GELU's tanh
    approximation read as the exact GELU ganinv builds. The unread are said in one warning."""
    approximation = config_words.gelu_approximation(config, config_label)
    if approximation and getattr(opts, "activation", None) == "gelu":
        warnings.warn(approximation, stacklevel=3)
    unread = config_words.unread_architectural(config, list(evidence.get("ignored_config", [])))
    parts = []
    if unread:
        fields = {f.name for f in dataclasses.fields(architectures.get(arch).Options)}
        listed = ", ".join(f"{k}={reprlib.repr(jsonable(v))}" for k, v in unread.items())
        verb, subject = ("is", "it describes") if len(unread) == 1 else ("are", "they describe")
        said = ", ".join(o for o in SAID_OPTIONS if o in fields)
        parts.append(
            f"{config_label}'s {listed} {verb} not read by ganinv; if {subject} this generator, pass --option "
            f"KEY=VALUE ({arch}'s: {said})"
        )
        ranged = config_words.range_remedy(unread, "output" in fields)
        if ranged:
            parts.append(ranged)
    if pickled:
        listed = ", ".join(f"{k}={reprlib.repr(jsonable(v))}" for k, v in pickled.items())
        verb, subject = ("is", "it is") if len(pickled) == 1 else ("are", "they are")
        remedies = " ".join(dict.fromkeys(config_words.pickled_remedy(k, v) for k, v in pickled.items()))
        parts.append(
            f"{pickled_label}'s {listed} {verb} not read by ganinv: a training module's or script's arguments may "
            f"be the generator's or the discriminator's; if {subject} the generator's, pass {remedies}"
        )
    if parts:
        warnings.warn("; ".join(parts), stacklevel=3)


def build_with_config_fields(
    arch: Optional[str],
    config: Mapping[str, Any],
    options: dict[str, Any],
    state_dict: Mapping[str, torch.Tensor],
    where: str,
    config_label: str,
    spec: Optional[Mapping[str, Any]] = None,
):
    """(built, options, architecture, evidence) with a config's fields as evidence.

    The config's fields that an architecture knows (its own option names, or other codebases'
    names through its `aliases`) are options for it, with the weights: the first architecture
    they build is taken. Otherwise the weights alone decide (`build_any`), and if they fit an
    architecture the config has fields for, the two disagree: an error naming both. The user's
    --option values win over the config; `spec` holds the spec fields the user gave (--prior, ...).
    Spectral-norm and weight-norm layers are read as the weights they compute (`weight_parametrizations`).
    """
    state_dict = fold_parametrizations(state_dict, where)
    check_evidence(state_dict, where)
    named = config.get("architecture")
    arch = arch or (named if isinstance(named, str) and named in architectures.names() else None)
    candidates = [arch] if arch else [n for n in architectures.names() if n != "opaque"]
    evidence: dict[str, tuple[dict[str, Any], list[str], Exception]] = {}
    settled = frozenset(options) | ({"prior"} if (spec or {}).get("native_prior") is not None else frozenset())
    for name in candidates if config else []:
        try:
            given, ignored = mixin_options(dict(config), name, config_label, settled)
        except ArchitectureError:
            continue  # this family's reading of the config is refused, and said below if the weights are its
        refuse_non_finite(given, config_label)
        given = {k: v for k, v in given.items() if k not in options}
        if not given:
            continue
        with warnings.catch_warnings(record=True) as said_with_config:  # said only if the config's net is taken
            warnings.simplefilter("always")
            try:
                built, opts = architectures.build_generator_net(name, {**given, **options}, state_dict, spec)
            except GaninvError as exc:
                evidence[name] = (given, ignored, exc)
                continue
        check_config_against_statistics(name, given, options, state_dict, spec, built, where, config_label)
        for said in said_with_config:
            warnings.warn_explicit(said.message, said.category, said.filename, said.lineno)
        return built, opts, name, {"config_options": jsonable(given), "ignored_config": ignored}
    with warnings.catch_warnings(record=True) as assumptions:  # said only if the weights alone are taken
        warnings.simplefilter("always")
        built, opts, arch = build_any(arch, options, state_dict, where, spec)
    if arch not in evidence:
        for said in assumptions:
            warnings.warn_explicit(said.message, said.category, said.filename, said.lineno)
        return (
            built,
            opts,
            arch,
            {"ignored_config": mixin_options(dict(config), arch, config_label, settled)[1]} if config else {},
        )
    given, _, error = evidence[arch]
    from_weights = architectures.options_to_dict(opts)
    unread = architectures.get(arch).unread_options
    differ = [
        f"{k}={jsonable(v)!r} where the weights have {from_weights[k]!r}"
        for k, v in given.items()
        if k in from_weights and k not in unread and jsonable(v) != from_weights[k]
    ]
    raise ArchitectureError(
        f"{config_label} disagrees with the weights {where}: "
        + ("; ".join(differ) if differ else f"with its {jsonable(given)}, {first_line(error)}")
        + f". Fix the config, or choose with --option KEY=VALUE (the weights alone give {arch} "
        f"with {', '.join(f'{k}={from_weights[k]}' for k in given if k in from_weights and k not in unread)})"
    )


WEIGHT_NAMES = ("weight", "weight_orig", "weight_bar")  # layer weights, spectral-normalised ones too
LEARNED_NAMES = (*WEIGHT_NAMES, "bias", "running_mean", "running_var")  # floating point in every trained layer


def refuse_unusual_tensor(key: str, tensor: torch.Tensor, where: str) -> None:
    """Refuse what no saved weight is, before anything computes on it (`weight_files.unusual_tensor`)."""
    said = unusual_tensor(key, tensor, where)
    if said:
        raise ArchitectureError(said)


def check_evidence(state_dict: Mapping[str, torch.Tensor], where: str) -> None:
    """Refuse a layer weight whose values are all equal (all zero, say): no trained layer has one, so it is a
    damaged or replaced tensor, and its shape must not be read as the architecture's (a kernel size, a width)."""
    for key, tensor in state_dict.items():
        if isinstance(tensor, torch.Tensor):
            refuse_unusual_tensor(key, tensor, where)
            if key.rpartition(".")[2] in LEARNED_NAMES and not tensor.is_floating_point():
                raise ArchitectureError(
                    f"{where}: {key} {tuple(tensor.shape)} holds {tensor.dtype} values, which no trained layer "
                    "does: the tensor was cast or replaced; re-save the float weights of the trained model"
                )
        if (
            key.rpartition(".")[2] not in WEIGHT_NAMES
            or not isinstance(tensor, torch.Tensor)
            or not tensor.is_floating_point()
            or tensor.dim() < 2
            or tensor.numel() < 2
        ):
            continue
        flat = tensor.reshape(-1)
        if flat[0] != flat[1] or not bool((flat == flat[0]).all()):
            continue
        raise ArchitectureError(
            f"{where}: {key} {tuple(tensor.shape)} holds one value ({float(flat[0]):g}) "
            "throughout, which no trained layer does: the tensor is damaged or was replaced, and "
            "its shape is no evidence of the architecture; download the file again or re-save it "
            "from the trained model"
        )


def jsonable(value: Any) -> Any:
    """Tuples as lists, recursively: how options compare with a config read from JSON."""
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    return value


# ---- the Hugging Face Hub -----------------------------------------------------------------------------


def load_hub(request: Request) -> Generator:
    """`hub:owner/name[@revision][:FILE][#KEY]`: the files ganinv.hub chooses from the repo's listing; read once more
    where a damaged cached copy was downloaded again (`hub.damaged_copy`), which is said."""
    try:
        return load_hub_files(request)
    except SourceError as exc:
        if hub.DOWNLOADED_AGAIN not in str(exc):
            raise
        warnings.warn(str(exc), stacklevel=3)
    return load_hub_files(request)


def load_hub_files(request: Request) -> Generator:
    """`load_hub`, once."""
    resolved = hub.resolve(request.source)
    where = resolved.label(resolved.weights)
    with hub.errors_named(request.source, resolved.id.repo_text):
        config: dict[str, Any] = {}
        if resolved.config is not None:
            config = read_config(resolved.path(resolved.config), resolved.label(resolved.config))
        first = resolved.path(resolved.shards[0])
        if resolved.config is not None and config.get("format") == FORMAT:  # ganinv's own layout
            generator = load_folder(resolved.path(resolved.config).parent, request.source, request=request)
        elif len(resolved.shards) == 1 and is_program(first):
            if not request.trust_remote_code:
                raise UnsafeFileError(
                    f"{where} is a {program_kind(first)} program, which is code, not weights: ganinv runs code from "
                    "the Hub only with --trust-remote-code (if you trust its author); or ask for its state dict"
                )
            generator = load_program(first, request)
        else:
            index = resolved.path(resolved.weights) if resolved.weights not in resolved.shards else None
            generator = load_checkpoint(
                [resolved.path(n) for n in resolved.shards],
                resolved.id.key,
                request,
                where,
                config,
                resolved.label(resolved.config),
                index=index,
            )
            if resolved.spec is not None:
                sidecar, label = resolved.path(resolved.spec), resolved.label(resolved.spec)
                generator = apply_sidecar(generator, sidecar, request.overrides, where, label)
    generator.meta["revision"] = resolved.commit  # the resolved commit, whatever branch or tag was typed
    generator.meta["hub"] = {
        "repo": resolved.id.repo,
        "requested_revision": resolved.id.revision,
        "commit": resolved.commit,
        "file": resolved.weights,
        "config": resolved.config,
    }
    return generator


FOREIGN_CONFIG_FIELDS = ("model_type", "architectures", "auto_map", "_class_name")  # transformers, diffusers


def read_config(path: Path, label: str) -> dict[str, Any]:
    """A repo's config.json as evidence; a byte-order mark is read (Windows editors write one). A transformers or
    diffusers model's config is no evidence about a GAN generator beside or below it: its `hidden_size`,
    `image_size`, `num_channels` read as DCGAN sizes and blocked loading (an outside audit); it is set aside, said."""
    try:
        config = parse_json(read_text(path, encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SourceError(f"{label} is not valid JSON ({first_line(exc)}); fix or regenerate it") from None
    if not isinstance(config, dict):
        raise SourceError(f"{label} must hold a JSON object")
    foreign = [k for k in FOREIGN_CONFIG_FIELDS if k in config]
    if foreign and config.get("format") != FORMAT and config.get("architecture") not in architectures.names():
        warnings.warn(
            f"{label} configures another library's model ({', '.join(foreign)}), not this generator: not read as "
            "evidence; give sizes with --option KEY=VALUE if the weights leave one open",
            stacklevel=2,
        )
        return {}
    return config


CHECKPOINT_CONFIGS = ("args", "opt", "opts", "config", "cfg", "hparams", "options")  # a script's arguments, pickled


def checkpoint_words(obj: Any) -> dict[str, Any]:
    """The word fields (`config_words.words_of`) of the configs a checkpoint pickles beside its weights: Lightning's
    `hyper_parameters`, an `argparse.Namespace` or a dict under `args`, `opt`, ... An outside audit's (24b) Sigmoid
    generator with `final_activation: sigmoid` there loaded as Tanh, 0.30 off, in silence; but they are the whole
    training module's arguments, and applied, a discriminator's `final_activation: sigmoid` built a Tanh generator
    0.30 off (25a). So they are named with the option to pass (`say_config_words`), never applied. Sizes are read
    where unambiguous (`weight_files.checkpoint_hints`)."""
    found = dict(lightning_hparams(obj))
    for key in CHECKPOINT_CONFIGS if isinstance(obj, Mapping) else ():
        value = obj.get(key)
        value = safe_pickle.fields(value) if safe_pickle.is_record(value) else value
        if isinstance(value, Mapping):
            found.update({str(k): v for k, v in value.items() if str(k) not in found})
    return config_words.words_of(found)


def load_checkpoint(
    paths: list[Path],
    key: Optional[str],
    request: Request,
    where: str,
    config: Mapping[str, Any],
    config_label: str,
    index: Optional[Path] = None,
) -> Generator:
    """Weights (one file, or the shards of one with their `index`) + a config as evidence -> a Generator; `where`
    names them."""
    parts = [read_weights(path, request.trust_remote_code, where) for path in paths]
    obj = parts[0] if len(paths) == 1 else merge_shards(paths, parts, index, where)
    state_dict, entry = locate_state_dict(obj, key, where)
    batchnorm, hinted = checkpoint_hints(obj, where)
    with refusing_unmodelled_layers(obj, where) as taken:
        built, opts, arch, evidence = build_from_config(
            request.arch,
            {**hinted, **config},
            request.options,
            state_dict,
            where,
            config_label,
            request.overrides,
            checkpoint_words(obj),
            f"the {'Lightning hyper_parameters' if lightning_hparams(obj) else 'arguments pickled'} in {where}",
        )
        taken.append(arch)
    generator = checkpoint_generator(built, opts, arch, evidence, entry, paths, batchnorm, where, request.source)
    check_lightning_latent(obj, generator.spec.nz, where)
    return with_overrides(generator, request.overrides)


def merge_shards(paths: list[Path], parts: list[Any], index: Optional[Path], where: str) -> dict[str, Any]:
    """The tensors of every shard by name, each from the shard its index names: a name in two shards, or one the
    index puts elsewhere or does not list, is refused (merging in order would let a later shard win in silence)."""
    merged: dict[str, Any] = {}
    owner: dict[str, str] = {}
    for path, part in zip(paths, parts):
        if not isinstance(part, Mapping):
            raise SourceError(f"{where}: the shard {path.name} holds no tensors by name; re-save the sharded weights")
        for name, value in part.items():
            if name in merged:
                raise SourceError(
                    f"{where}: the tensor {name!r} is in two shards ({owner[name]} and {path.name}), so which one is "
                    "the generator's is unknown; re-save the sharded weights"
                )
            merged[name], owner[name] = value, path.name
    if index is not None:
        weight_map = parse_json(read_text(index))["weight_map"]  # read and checked by ganinv.hub
        misplaced = [n for n, f in weight_map.items() if owner.get(n) != Path(str(f)).name]
        unlisted = [n for n in merged if n not in weight_map]
        if misplaced or unlisted:
            raise SourceError(
                f"{where}: the index {index.name} and its shards disagree ({len(misplaced)} tensors not in the shard "
                f"the index names, e.g. {misplaced[:3]}; {len(unlisted)} the index does not list, e.g. "
                f"{unlisted[:3]}); re-save the sharded weights"
            )
    return merged


@contextlib.contextmanager
def refusing_unmodelled_layers(obj: Any, where: str) -> Iterator[list[str]]:
    """Build inside: a whole pickled module with layers no adapter models is refused, unless the architecture the
    build appends to the yielded list reads every layer from its own keys (lightweight_gan, biggan)."""
    refusal = unmodelled_layers(obj, where)
    taken: list[str] = []
    try:
        yield taken
    except ArchitectureError:
        if refusal is not None:
            raise ArchitectureError(refusal) from None
        raise
    if refusal is not None and not (taken and architectures.get(taken[0]).reads_every_layer):
        raise ArchitectureError(refusal)


def checkpoint_generator(
    built: Any,
    opts: Any,
    arch: str,
    evidence: dict[str, Any],
    entry: str,
    weights: list[Path],
    batchnorm: Optional[str],
    where: Any,
    source: str,
) -> Generator:
    """The Generator of a checkpoint's weights, with its provenance: architecture, options, decisions, weights hash,
    the entry it came from, and whether BatchNorm samples with batch statistics (announced)."""
    meta = {
        "architecture": arch,
        "options": architectures.options_to_dict(opts),
        "weights_sha256": files_sha256(weights),
        "decisions": built.decisions,
        **evidence,
        **entry_meta(entry),
    }
    if batchnorm is not None:
        meta["batchnorm"] = batchnorm
        logger.warning(
            "%s: BatchNorm uses batch statistics, as its codebase samples (its models are never put in "
            "eval mode); pass --option bn=eval for the stored running statistics",
            where,
        )
    return Generator(built.net, built.spec, source=source, meta=meta)


# ---- single files: state dicts and programs --------------------------------------------------------


def is_program(path: Path) -> bool:
    """A torch.export or TorchScript archive: code, not a state dict."""
    return path.suffix == ".pt2" or (path.suffix != ".safetensors" and is_torchscript(path))


def program_kind(path: Path) -> str:
    return "torch.export" if path.suffix == ".pt2" else "TorchScript"


# model-00001-of-00002.safetensors: five digits, as the Hub's own shards (netG-25-of-50.bin is an epoch's whole file)
SHARD_NAME = re.compile(r"-(\d{5})-of-(\d{5})\.(safetensors|bin)$")


def load_file_source(path: Path, request: Request) -> Generator:
    key = request.source.partition("#")[2] or None
    if path.name.endswith(hub.INDEX_SUFFIXES) and key is None:  # a sharded set's index: its shards beside it
        return load_repo_folder(path.parent, request, weights=path.name)
    shard = SHARD_NAME.search(path.name)
    if shard and int(shard[2]) > 1:
        indexes = sorted(p.name for p in path.parent.iterdir() if p.name.endswith(hub.INDEX_SUFFIXES))
        raise SourceError(
            f"{path} is shard {int(shard[1])} of {int(shard[2])} of a sharded set, which holds part of the tensors; "
            f"give its index ({path.parent / indexes[0] if indexes else 'the *.index.json beside the shards'}) or the "
            "folder holding them"
        )
    if is_program(path):
        return load_program(path, request)
    if path.suffix != ".safetensors" and path.suffix not in STATE_DICT_SUFFIXES and not is_torch_checkpoint(path):
        raise SourceError(
            f"{path}: unknown file type; give .safetensors, .pt/.pth/.bin/.ckpt (a state dict), "
            ".pt2 (torch.export) or a TorchScript file (a torch.save file of another name, such as .pkl, is read "
            "by its contents; this one is neither a zip archive nor a pickle)"
        )
    obj = read_weights(path, request.trust_remote_code)
    if isinstance(obj, nn.Module) and request.arch in (None, "opaque"):  # a whole pickled module (trusted)
        return load_program(path, request, program=obj)
    state_dict, entry = locate_state_dict(obj.state_dict() if isinstance(obj, nn.Module) else obj, key, str(path))
    batchnorm, hinted = checkpoint_hints(obj, str(path))
    words = checkpoint_words(obj)  # named, never applied: they may be the discriminator's
    label = f"the {'layers' if isinstance(obj, PickledModuleWeights) else 'config'} pickled in {path}"
    if lightning_hparams(obj):
        label = f"the Lightning hyper_parameters in {path}"
    where = f"{path}#{entry}" if entry else str(path)  # the entry read, when the file holds several
    try:
        with refusing_unmodelled_layers(obj, str(path)) as taken:
            built, opts, arch, evidence = build_from_config(
                request.arch,
                hinted,
                request.options,
                state_dict,
                where,
                label,
                request.overrides,
                words,
                label,
            )
            taken.append(arch)
    except ArchitectureError as exc:
        if not isinstance(obj, PickledModuleWeights):
            raise
        raise ArchitectureError(
            f"{exc}. The file is a whole pickled {obj.origin} module: --trust-remote-code runs that class itself "
            "(only if you trust its author)"
        ) from None
    generator = checkpoint_generator(built, opts, arch, evidence, entry, [path], batchnorm, path, request.source)
    check_lightning_latent(obj, generator.spec.nz, str(path))
    assumed = [d for d in generator.meta.get("decisions", []) if d.get("property") == "output"]
    if (
        isinstance(obj, PickledModuleWeights)
        and "output" not in hinted
        and assumed
        and assumed[0]["source"].startswith("assumed")
    ):  # the layers are there to read: none after the last is a hint the announcement alone did not give
        warnings.warn(
            f"{path}: its pickled layers end with no Tanh or Sigmoid after the last one; if its forward applies none "
            f"either (a linear output, as some WGAN generators have), pass --option output=none",
            stacklevel=2,
        )
    generator = with_overrides(generator, request.overrides)
    return apply_sidecar(generator, sidecar_path(path), request.overrides, where)


# Names that say a file is a program (torch.export's .pt2, TorchScript's .ts and .torchscript): typing one is choosing
# to run it. A program named like weights (.pt, .pth, .bin, .ckpt) needs --trust-remote-code: .pt is the most common
# name of a state dict, and an outside audit had a stranger's TorchScript `generator.pt`, typed as weights, write a
# file (torch.from_file) in silence. torch.jit.save's own examples name programs .pt, so the refusal says what to do.
PROGRAM_SUFFIXES = (".pt2", ".ts", ".torchscript")


def load_program(path: Path, request: Request, program: Any = None) -> Generator:
    """A TorchScript or torch.export archive (or a trusted pickled module) through the `opaque` adapter."""
    if request.arch not in (None, "opaque"):
        raise SourceError(f"{path} is a program, not a state dict; drop --arch {request.arch}")
    trust.require_chosen(f"the program {str(path)!r}", request.origin, request.trust_remote_code, f"--generator {path}")
    if program is None and path.suffix not in PROGRAM_SUFFIXES and not request.trust_remote_code:
        raise UnsafeFileError(
            f"{path} is a {program_kind(path)} program (code), not the state dict its name suggests; ganinv runs a "
            "program named like weights only with --trust-remote-code, if you trust its author (or, for a program "
            "you made, name it .ts)"
        )
    if program is None:
        try:
            with warnings.catch_warnings():  # TorchScript is deprecated upstream, and still a format users have
                warnings.simplefilter("ignore", FutureWarning)
                program = (
                    torch.export.load(str(path))
                    if path.suffix == ".pt2"
                    else torch.jit.load(str(path), map_location="cpu")
                )
        except Exception as exc:
            raise SourceError(f"cannot load {path} as a {program_kind(path)} archive: {first_line(exc)}") from None
    sidecar = sidecar_path(path)
    spec = read_spec_file(sidecar, sidecar=True) if sidecar else {}
    return wrap_program(program, request, {"weights_sha256": file_sha256(path)}, spec, sidecar)


def wrap_program(
    program: Any, request: Request, meta: dict[str, Any], spec: dict[str, Any], sidecar: Optional[Path] = None
) -> Generator:
    """A program (or a callable's bare module) with its spec: `spec` read from `sidecar` (a JSON found beside it), then
    the user's flags. What the sidecar sets is said, naming it, as for weights: a stray spec.json left by another
    generator made a program's latents uniform in silence (an outside audit); the prior nothing gave is announced."""
    opaque = architectures.get("opaque")
    opts = opaque.make_options(request.options)
    from_sidecar = {k: v for k, v in spec.items() if k not in request.overrides}
    if sidecar is not None and from_sidecar:
        warnings.warn(
            f"{sidecar} gives the spec of {request.source}: "
            + ", ".join(f"{k}={jsonable(v)}" for k, v in from_sidecar.items())
            + "; delete it if it is not this program's spec (--nz, --prior, --output-range and --spec win over it)",
            stacklevel=2,
        )
    given = {**spec, **request.overrides}
    # wrap is the opaque adapter's own method; the registry is typed with the base Architecture
    try:
        built = opaque.wrap(program, opts, given)  # type: ignore[attr-defined]
    except ValueError as exc:  # the spec's own check of the values given: an internal error here (an outside audit)
        raise SourceError(f"spec overrides {dict(request.overrides)} do not make a valid spec: {exc}") from None
    # said by load_generator once the probe ran
    decisions = built.decisions + architectures.prior_assumed(given, "a program")
    meta = {"architecture": "opaque", "options": architectures.options_to_dict(opts), **meta, "decisions": decisions}
    return Generator(built.net, built.spec, source=request.source, meta=meta)


# ---- architectures -------------------------------------------------------------------------------


# A net that is the author's misfits its BatchNorm statistics by under 0.006 at its worst layer (every generator tried);
# a config whose options make the net misfit them more than that, and DECIDED_RATIO times what the weights' own
# reading does, contradicts the weights: an activation, eps or stride the statistics rule out.
AUTHOR_MISFIT = 0.006
DECIDED_RATIO = 3.0
SIZE_OPTIONS = frozenset({"resolution", "strides", "paddings", "output_paddings", "kernels"})  # set the image side


def statistics_misfit(built: architectures.Built) -> Optional[float]:
    """The worst BatchNorm misfit of a built net, where its adapter measured it."""
    return next((float(d["misfit"]) for d in built.decisions if "misfit" in d), None)


def check_config_against_statistics(
    arch: str,
    given: dict[str, Any],
    options: dict[str, Any],
    state_dict: Mapping[str, torch.Tensor],
    spec: Optional[Mapping[str, Any]],
    built: architectures.Built,
    where: str,
    config_label: str,
) -> None:
    """A config is evidence, not an order: its options must not fit the weights' BatchNorm statistics clearly worse
    than the weights alone do (an outside audit: a Hub config's `activation: leaky_relu` on a ReLU net loaded with
    images off by 0.6, in silence)."""
    with_config = statistics_misfit(built)
    sizes = set(given) & SIZE_OPTIONS  # what no statistic sees: the stages after the last BatchNorm
    if (with_config is None or with_config <= AUTHOR_MISFIT) and not sizes:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            alone, alone_options = architectures.build_generator_net(arch, options, state_dict, spec)
        except GaninvError:
            return  # the weights alone do not make a net: the config is what decides
    from_weights = architectures.options_to_dict(alone_options)
    read = ", ".join(f"{k}={from_weights[k]}" for k in given if k in from_weights)
    if sizes and built.spec.image_shape != alone.spec.image_shape:
        side = alone.spec.image_shape[-1]
        warnings.warn(
            f"{config_label} makes {where} a generator of {built.spec.image_shape} images through geometry no "
            f"statistic sees (its {jsonable({k: given[k] for k in sorted(sizes)})}), where the weights alone, read "
            f"the usual way, give {alone.spec.image_shape}; if the config is wrong, pass --option resolution={side}",
            architectures.AssumptionWarning,
            stacklevel=4,
        )
    without = statistics_misfit(alone)
    if with_config is None or without is None or with_config <= AUTHOR_MISFIT or with_config < DECIDED_RATIO * without:
        return
    raise ArchitectureError(
        f"{config_label} disagrees with the BatchNorm statistics of the weights {where}: with its "
        f"{jsonable(given)} the net misfits them by {with_config:.3g} at its worst layer, {with_config / without:.0f}x "
        f"the {without:.3g} of what the weights alone give ({read}); a net that is the author's misfits under "
        f"{AUTHOR_MISFIT:g}. Fix the config, or choose with --option KEY=VALUE"
    )


def build_any(
    arch: Optional[str],
    options: dict[str, Any],
    state_dict: Mapping[str, torch.Tensor],
    where: str,
    spec: Optional[Mapping[str, Any]] = None,
):
    """(built, options, architecture name): the given architecture, else the first registered one that fits."""
    if arch is not None:
        built, opts = architectures.build_generator_net(arch, options, state_dict, spec)
        return built, opts, arch
    tried = []
    refusals: list[Exception] = []
    for name in architectures.names():
        if name == "opaque":
            continue
        try:
            built, opts = architectures.build_generator_net(name, options, state_dict, spec)
            return built, opts, name
        except architectures.AmbiguousWeightsError as exc:  # the layout is this one's; its details are not decided
            raise architectures.AmbiguousWeightsError(f"{where} ({name}): {exc}") from None
        except architectures.DamagedWeightsError as exc:  # the layout is this one's; its tensors disagree
            raise architectures.DamagedWeightsError(f"{where} ({name}): {exc}") from None
        except GaninvError as exc:
            tried.append(f"{name}: {exc}")
            refusals.append(exc)
    recognised = foreign_layouts.recognise(state_dict)
    if recognised is not None:
        raise ArchitectureError(
            f"{where} holds {recognised}, which no ganinv adapter reads; if it is the generator you mean, load it "
            "through code you trust: -g module:callable, a TorchScript or torch.export archive, or --model-class "
            "with its own class"
        )
    not_generators = [first_line(exc) for exc in refusals if isinstance(exc, architectures.NotAGeneratorError)]
    if not_generators:
        raise ArchitectureError(f"{where}: {not_generators[0]}")
    norms, slopes = statless_norms(state_dict), learned_slopes(state_dict)
    hint = (
        f" Its {', '.join(norms[:3])} hold a weight and a bias but no running statistics: InstanceNorm, "
        "GroupNorm or LayerNorm layers, or BatchNorm with track_running_stats=False (normalising by each batch even "
        "in eval mode), which no adapter models; load it with --model-class."
        if norms
        else ""
    ) + (
        f" Its {', '.join(slopes[:3])} hold one 1-D weight each and nothing else, as PReLU layers do (a learned "
        "negative slope), which no adapter models; load it with --model-class."
        if slopes
        else ""
    )
    raise ArchitectureError(
        f"cannot tell the architecture of {where}; pass --arch "
        f"({', '.join(n for n in architectures.names() if n != 'opaque')}), or --model-class "
        f"with the generator's own class.{hint} Tried: " + " | ".join(tried)
    )


def learned_slopes(state_dict: Mapping[str, torch.Tensor]) -> list[str]:
    """Layers that hold a lone 1-D `weight` (one value, or one per channel) between 2-D or 4-D weights: PReLU's
    learned negative slopes, which no adapter reads (an outside audit saw them listed only as unknown tensors)."""
    layered = any(t.dim() in (2, 4) for t in state_dict.values())
    return [
        layer
        for layer, tensors in layers_of(state_dict).items()
        if layered and set(tensors) == {"weight"} and tensors["weight"].dim() == 1
    ]


def statless_norms(state_dict: Mapping[str, torch.Tensor]) -> list[str]:
    """Layers that hold only a 1-D weight and bias of one length, beside convolutions: normalisation layers without
    running statistics (InstanceNorm, GroupNorm with affine), which no adapter reads."""
    layers = layers_of(state_dict)
    convolutions = any(t.dim() == 4 for t in state_dict.values())
    return [
        layer
        for layer, tensors in layers.items()
        if convolutions
        and set(tensors) == {"weight", "bias"}
        and tensors["weight"].dim() == 1
        and tensors["weight"].shape == tensors["bias"].shape
    ]


# ---- Python callables -----------------------------------------------------------------------------


def load_callable(source: str, request: Request) -> Generator:
    trust.require_chosen(
        f"the Python callable {source!r}", request.origin, request.trust_remote_code, f"--generator {source}"
    )
    module_name, _, attr = source.partition(":")
    if os.getcwd() not in sys.path:  # as with `python -m`, modules in the current folder are importable
        sys.path.insert(0, os.getcwd())
    try:
        fn = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        path = Path(module_name)
        if path.suffix == ".py" or os.sep in module_name:  # a file's path is not a module's name (an outside audit)
            raise SourceError(
                f"cannot import {source!r}: {module_name} is a file's path, not a module's name; run from its folder "
                f"and give {path.stem}:{attr} (or put {path.parent or '.'} on PYTHONPATH)"
            ) from None
        raise SourceError(f"cannot import {source!r} ({exc}); give an importable module:callable") from None
    factory_options, program_options, unsaid = split_callable_options(fn, request.options)
    try:
        result = fn(**factory_options)
    except TypeError as exc:
        raise SourceError(f"{source} does not take the options {sorted(factory_options)}: {exc}") from None
    if isinstance(result, nn.Module) and not isinstance(result, Generator):  # a bare module: called as a program
        check_returned_module(result, source)
        meta = {"callable": source, "weights_sha256": state_dict_sha256(result.state_dict())}  # weights of no file
        return wrap_program(result, dataclasses.replace(request, options=program_options), meta, {})
    if unsaid:  # options only a bare module's call would take, dropped in silence (an outside audit)
        raise SourceError(
            f"{source} does not take the options {sorted(unsaid)}, and returns its generator with a spec, which says "
            "how it is called: give them to it as parameters, or put them in the GeneratorSpec it returns"
        )
    if isinstance(result, Generator):
        return with_overrides(result, request.overrides)
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], GeneratorSpec):
        net, spec = result
        check_returned_module(net, source)
        meta = {"callable": source, "weights_sha256": state_dict_sha256(net.state_dict())}
        return with_overrides(Generator(net, spec, source=source, meta=meta), request.overrides)
    check_returned_module(result, source)  # names a function or a class
    raise SourceError(f"{source} must return (module, GeneratorSpec), a module, or a ganinv Generator")


PROGRAM_OPTIONS = ("inputs", "n_classes", "nc", "batch_size", "image_layout")  # how ganinv calls a bare module (opaque)


def split_callable_options(
    fn: Any, options: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """--option values -> (the callable's keyword arguments; how ganinv calls a bare module it returns; the program
    options the callable does not take). The program options (PROGRAM_OPTIONS) reach ganinv's call of a bare module
    whether or not the callable also takes them: all went to the callable, so a module whose forward takes (z, labels)
    could not be told so (an outside audit). The callable gets those it names, and every option where it takes
    **kwargs."""
    program = {k: v for k, v in options.items() if k in PROGRAM_OPTIONS}
    try:
        parameters = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return dict(options), program, {}
    if any(p.kind == p.VAR_KEYWORD for p in parameters.values()):
        return dict(options), program, {}
    unsaid = {k: v for k, v in program.items() if k not in parameters}
    return {k: v for k, v in options.items() if k not in unsaid}, program, unsaid


def check_returned_module(net: Any, source: str) -> None:
    """What a callable returns as its generator is a module instance with weights: a function, a class or a module
    built on the meta device became internal errors (an outside audit)."""
    if isinstance(net, type):
        raise SourceError(f"{source} returns the class {net.__name__}, not a module: return an instance of it")
    if not isinstance(net, nn.Module):
        kind = "a function" if callable(net) else f"a {type(net).__name__}"
        raise SourceError(
            f"{source} returns {kind} as its generator, not a torch.nn.Module: wrap it in a module whose forward "
            "computes the images"
        )
    if any(t.is_meta for t in itertools.chain(net.parameters(), net.buffers())):
        raise SourceError(
            f"{source} returns a module whose weights are on the meta device (built without weights): load its "
            "weights into it first (load_state_dict(..., assign=True))"
        )


# ---- saving ------------------------------------------------------------------------------------------


GENERATOR_FILES = frozenset(  # what a folder save may replace: its own files, and the Hub client's beside them
    {CONFIG_NAME, WEIGHTS_NAME, PICKLE_WEIGHTS_NAME, SPEC_NAME, ".gitattributes", ".cache"}
)


def save_generator(generator: Generator, folder: str | Path) -> Path:
    """Write ganinv's own generator layout (atomically): config.json + model.safetensors."""
    meta = generator.meta
    if meta.get("architecture") in (None, "opaque"):
        raise SourceError("only generators built from a registered architecture can be saved in ganinv's layout")
    folder = Path(folder)
    with atomic_dir(folder, replaces=GENERATOR_FILES) as tmp:
        state = {k: v.detach().contiguous().cpu() for k, v in generator.net.state_dict().items()}
        save_file(state, str(tmp / WEIGHTS_NAME))
        config = {
            "format": FORMAT,
            "architecture": meta["architecture"],
            "options": meta["options"],
            "spec": generator.spec.to_dict(),
        }
        if meta.get("batchnorm") == "train":
            config["batchnorm"] = "train"
        if meta.get("decisions"):
            config["decisions"] = meta["decisions"]
        (tmp / CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n")
    return folder


def files_sha256(paths: list[Path]) -> str:
    """A file's SHA-256; for the shards of one set of weights, the SHA-256 of their names and hashes."""
    if len(paths) == 1:
        return file_sha256(paths[0])
    return hashlib.sha256("".join(f"{p.name}:{file_sha256(p)}\n" for p in paths).encode()).hexdigest()


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
