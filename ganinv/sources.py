"""Resolve a generator source string into a `Generator` (SPEC section 1).

Source strings:
- `builtin:NAME`                      a generator shipped in the package (`ganinv/builtin/NAME/`)
- `hub:owner/name[@revision]`         a Hugging Face repo, through the real `huggingface_hub` client:
                                      only config.json, the weights and an optional spec.json are fetched;
                                      the local cache and HF_HUB_OFFLINE are honoured
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

Security: this is the one module that opens files from outside. Weights are read with
safetensors, pickles only with `torch.load(weights_only=True)`; a full pickle, which can run
code, only with `trust_remote_code=True`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
import os
import pickle
import re
import sys
import warnings
import zipfile
from pathlib import Path
from typing import Any, Mapping, Optional

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from ganinv import architectures
from ganinv.atomic import atomic_dir
from ganinv.errors import ArchitectureError, GaninvError, SourceError, UnsafeFileError
from ganinv.generator import Generator
from ganinv.spec import GeneratorSpec

BUILTIN_DIR = Path(__file__).parent / "builtin"
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
PICKLE_WEIGHTS_NAME = "pytorch_model.bin"  # what PyTorchModelHubMixin wrote before safetensors
SPEC_NAME = "spec.json"  # sidecar spec beside weights or programs
FORMAT = "ganinv-generator"
STATE_DICT_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".tar")
# Entries of a checkpoint dict that hold the generator, most specific first.
GENERATOR_KEYS = ("generator", "netG", "G", "gen", "g_ema", "G_ema", "model_G", "generator_state_dict",
                  "netG_state_dict", "G_state_dict", "state_dict", "model_state_dict", "model")
# First key components of a whole GAN's state dict: the generator's, beside the critic's.
GENERATOR_PREFIXES = ("generator", "netG", "G", "gen", "g", "model_G")
CRITIC_PREFIXES = ("discriminator", "netD", "D", "disc", "d", "critic", "model_D")


@dataclasses.dataclass
class Request:
    """What the caller asked for, carried to whichever loader the source string picks."""

    source: str
    arch: Optional[str]
    options: dict[str, Any]  # architecture options
    overrides: dict[str, Any]  # spec fields that win over everything else
    trust_remote_code: bool = False


def builtin_names() -> list[str]:
    return sorted(p.name for p in BUILTIN_DIR.glob("*") if (p / CONFIG_NAME).is_file())


def load_generator(source: str, *, arch: Optional[str] = None, options: Optional[dict[str, Any]] = None,
                   probe: bool = True, device: Optional[str | torch.device] = None,
                   trust_remote_code: bool = False) -> Generator:
    """Load any generator source as a frozen `Generator`, probed against its spec."""
    arch_options, overrides = split_options(dict(options or {}))
    request = Request(source, arch, arch_options, overrides, trust_remote_code)
    path = Path(source.partition("#")[0])
    if source.startswith("builtin:"):
        name = source.split(":", 1)[1]
        folder = BUILTIN_DIR / name
        if not (folder / CONFIG_NAME).is_file():
            raise SourceError(f"no built-in generator {name!r}; available: {', '.join(builtin_names()) or 'none'}")
        generator = load_folder(folder, source, request=request)
    elif source.startswith("hub:"):
        generator = load_hub(request)
    elif path.is_dir():
        generator = load_folder(path, source, request=request)
    elif path.is_file():
        generator = load_file_source(path, request)
    elif ":" in source:
        generator = load_callable(source, request)
    else:
        raise SourceError(f"cannot resolve generator source {source!r}: no such file or folder; expected "
                          "builtin:NAME, hub:owner/name[@rev], a folder, a weights or program file, or module:callable")
    if device is not None:
        generator = generator.to(device)
    if probe:
        generator.probe()
    return generator


# ---- spec overrides ----------------------------------------------------------------------------------


SPEC_FIELDS = {f.name: f for f in dataclasses.fields(GeneratorSpec)}


def split_options(options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Architecture options vs spec overrides (`spec.FIELD` keys, and `spec`: a JSON file of fields)."""
    overrides: dict[str, Any] = {}
    if "spec" in options:
        overrides.update(read_spec_file(Path(options.pop("spec"))))
    for key in [k for k in options if k.startswith("spec.")]:
        name = key[len("spec."):]
        overrides[name] = spec_value(name, options.pop(key), overrides.get("nz"))
    return options, overrides


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
            return tuple(int(nz if p == "nz" and nz else p) for p in parts)
        if kind == "bool":
            return value.lower() in ("1", "true", "yes", "on")
        if kind == "int":
            return int(value)
    except ValueError:
        raise SourceError(f"bad value {value!r} for spec field {name}; e.g. --image-shape 1,28,28, "
                          "--output-range 0,1, --latent-shape nz,1,1") from None
    return value


def read_spec_file(path: Path) -> dict[str, Any]:
    """Spec fields from a JSON file: a (partial) GeneratorSpec dict, or a config with a "spec" entry."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise SourceError(f"spec file {path} does not exist") from None
    except json.JSONDecodeError as exc:
        raise SourceError(f"{path} is not valid JSON ({exc}); fix it or pass the flags instead") from None
    data = data.get("spec", data) if isinstance(data, dict) else data
    if not isinstance(data, dict):
        raise SourceError(f"{path} must hold a JSON object of spec fields ({', '.join(SPEC_FIELDS)})")
    return {k: spec_value(k, v) for k, v in data.items()}


def sidecar_spec(path: Path) -> dict[str, Any]:
    """Spec fields from `FILE.EXT.json`, `FILE.json` or `spec.json` beside a weights or program file."""
    for candidate in (path.with_name(path.name + ".json"), path.with_suffix(".json"), path.parent / SPEC_NAME):
        if candidate.is_file() and candidate != path:
            return read_spec_file(candidate)
    return {}


def with_overrides(generator: Generator, overrides: Mapping[str, Any]) -> Generator:
    if not overrides:
        return generator
    try:
        spec = generator.spec.replace(**overrides)
    except (TypeError, ValueError) as exc:
        raise SourceError(f"spec overrides {dict(overrides)} do not make a valid spec: {exc}") from None
    meta = {**generator.meta, "spec_overrides": {k: list(v) if isinstance(v, tuple) else v
                                                 for k, v in overrides.items()}}
    return Generator(generator.net, spec, source=generator.source, meta=meta)


# ---- folders: ganinv's layout and PyTorchModelHubMixin -----------------------------------------------


def load_folder(folder: Path, source: str, *, request: Optional[Request] = None) -> Generator:
    """A folder with config.json and model.safetensors (or pytorch_model.bin)."""
    request = request or Request(source, None, {}, {})
    config_path = folder / CONFIG_NAME
    weights_path = next((p for p in (folder / WEIGHTS_NAME, folder / PICKLE_WEIGHTS_NAME) if p.is_file()), None)
    if not config_path.is_file() or weights_path is None:
        raise SourceError(f"{folder} must hold {CONFIG_NAME} and {WEIGHTS_NAME} (or {PICKLE_WEIGHTS_NAME})")
    try:
        config = json.loads(config_path.read_text())
    except json.JSONDecodeError as exc:
        raise SourceError(f"{config_path} is not valid JSON ({exc}); fix or regenerate it") from None
    if not isinstance(config, dict):
        raise SourceError(f"{config_path} must hold a JSON object")
    state_dict = read_state_dict(weights_path, request.trust_remote_code)
    sidecar = read_spec_file(folder / SPEC_NAME) if (folder / SPEC_NAME).is_file() else {}
    if config.get("format") == FORMAT:
        arch = config["architecture"]
        if request.arch and request.arch != arch:
            raise SourceError(f"{folder} holds a {arch!r} generator; drop --arch {request.arch}")
        built, opts = architectures.build_generator_net(arch, {**config.get("options", {}), **request.options},
                                                       state_dict)
        spec = GeneratorSpec.from_dict(config["spec"]) if "spec" in config else built.spec
        meta = {"architecture": arch, "options": architectures.options_to_dict(opts)}
    else:  # PyTorchModelHubMixin: config.json holds the module's __init__ kwargs
        arch = request.arch or config.get("architecture")
        given, ignored = mixin_options(config, arch)
        built, opts, arch = build_any(arch, {**given, **request.options}, state_dict, where=str(folder))
        spec = built.spec
        meta = {"architecture": arch, "options": architectures.options_to_dict(opts), "ignored_config": ignored}
    meta["weights_sha256"] = file_sha256(weights_path)
    generator = Generator(built.net, spec, source=source, meta=meta)
    return with_overrides(generator, {**sidecar, **request.overrides})


def mixin_options(config: dict[str, Any], arch: Optional[str]) -> tuple[dict[str, Any], list[str]]:
    """Architecture options from a PyTorchModelHubMixin config (other codebases' names mapped by `aliases`)."""
    if arch is None:
        return {}, sorted(config)
    architecture = architectures.get(arch)
    fields = {f.name for f in dataclasses.fields(architecture.Options)}
    given, ignored = {}, []
    for key, value in config.items():
        name = architecture.aliases.get(key, key)
        if name in fields:
            given[name] = value
        elif key != "architecture":
            ignored.append(key)
    return given, ignored


# ---- the Hugging Face Hub -----------------------------------------------------------------------------


def load_hub(request: Request) -> Generator:
    """`hub:owner/name[@revision]`: fetch config.json, the weights and spec.json into the local cache."""
    repo, _, revision = request.source[len("hub:"):].partition("@")
    config = hub_file(repo, CONFIG_NAME, revision)
    for name in (WEIGHTS_NAME, PICKLE_WEIGHTS_NAME):
        if hub_file(repo, name, revision, optional=True) is not None:
            break
    else:
        raise SourceError(f"hub:{repo} has neither {WEIGHTS_NAME} nor {PICKLE_WEIGHTS_NAME}"
                          + (" in the local cache (HF_HUB_OFFLINE is set)" if hub_offline() else ""))
    hub_file(repo, SPEC_NAME, revision, optional=True)
    generator = load_folder(config.parent, request.source, request=request)
    generator.meta["revision"] = config.parent.name  # the snapshot folder is named by the commit hash
    return generator


def hub_offline() -> bool:
    from huggingface_hub import constants

    return constants.is_offline_mode() or os.environ.get("HF_HUB_OFFLINE", "").upper() in ("1", "ON", "YES", "TRUE")


def hub_file(repo: str, filename: str, revision: str = "", optional: bool = False) -> Optional[Path]:
    """One file of a hub repo through the real client (cache first; no network when offline)."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import (EntryNotFoundError, HFValidationError, LocalEntryNotFoundError,
                                        RepositoryNotFoundError, RevisionNotFoundError)

    offline = hub_offline()
    where = f"hub:{repo}" + (f"@{revision}" if revision else "")
    try:
        return Path(hf_hub_download(repo, filename, revision=revision or None, local_files_only=offline,
                                    cache_dir=os.environ.get("HF_HUB_CACHE") or None))
    except LocalEntryNotFoundError:
        if optional:
            return None
        if offline:
            raise SourceError(f"{where} ({filename}) is not in the local Hugging Face cache and HF_HUB_OFFLINE is "
                              "set; download it once online, or unset HF_HUB_OFFLINE") from None
        raise SourceError(f"cannot reach the Hugging Face Hub for {where} and {filename} is not cached; check the "
                          "network, or set HF_HUB_OFFLINE=1 to use the cache") from None
    except EntryNotFoundError:
        if optional:
            return None
        raise SourceError(f"{where} has no {filename}; is it a generator repo?") from None
    except RevisionNotFoundError:
        raise SourceError(f"{where}: no such revision; give a branch, tag or commit hash after @") from None
    except RepositoryNotFoundError:
        raise SourceError(f"no Hugging Face repo {repo!r} (or it is private: log in with `hf auth login`)") from None
    except HFValidationError as exc:
        raise SourceError(f"{repo!r} is not a valid repo id ({str(exc).splitlines()[0]}); use owner/name") from None
    except OSError as exc:  # network and HTTP errors
        raise SourceError(f"cannot fetch {filename} of {where}: {str(exc).strip().splitlines()[0]}; set "
                          "HF_HUB_OFFLINE=1 to use the cache") from None


# ---- single files: state dicts and programs --------------------------------------------------------


def load_file_source(path: Path, request: Request) -> Generator:
    key = request.source.partition("#")[2] or None
    if path.suffix == ".pt2" or (path.suffix != ".safetensors" and is_torchscript(path)):
        return load_program(path, request)
    if path.suffix != ".safetensors" and path.suffix not in STATE_DICT_SUFFIXES:
        raise SourceError(f"{path}: unknown file type; give .safetensors, .pt/.pth/.bin/.ckpt (a state dict), "
                          ".pt2 (torch.export) or a TorchScript file")
    obj = load_file(str(path)) if path.suffix == ".safetensors" else read_pickle(path, request.trust_remote_code)
    if isinstance(obj, nn.Module) and request.arch in (None, "opaque"):  # a whole pickled module (trusted)
        return load_program(path, request, program=obj)
    state_dict = find_state_dict(obj.state_dict() if isinstance(obj, nn.Module) else obj, key, path)
    built, opts, arch = build_any(request.arch, request.options, state_dict, where=str(path))
    meta = {"architecture": arch, "options": architectures.options_to_dict(opts), "weights_sha256": file_sha256(path)}
    generator = Generator(built.net, built.spec, source=request.source, meta=meta)
    return with_overrides(generator, {**sidecar_spec(path), **request.overrides})


def read_state_dict(path: Path, trust_remote_code: bool = False) -> dict[str, torch.Tensor]:
    if path.suffix == ".safetensors":
        return load_file(str(path))
    return find_state_dict(read_pickle(path, trust_remote_code), None, path)


def read_pickle(path: Path, trust_remote_code: bool) -> Any:
    """torch.load with weights_only=True; the full unpickler (which can run code) only when trusted."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        unsafe = re.search(r"GLOBAL (\S+)", str(exc))  # the restricted unpickler met a class or function
        if unsafe is None:
            raise SourceError(f"cannot read {path} as a PyTorch checkpoint (not a pickle of tensors)") from None
        if not trust_remote_code:
            raise UnsafeFileError(f"{path} holds Python objects ({unsafe.group(1)}) besides tensors, and unpickling "
                                  "them can run code; refused. Re-save it as a state_dict or safetensors, or pass "
                                  "--trust-remote-code if you trust its author") from None
    except Exception as exc:
        raise SourceError(f"cannot read {path} as a PyTorch checkpoint: {first_line(exc)}") from None
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:
        raise SourceError(f"cannot unpickle {path}: {first_line(exc)} (its classes must be importable)") from None


def find_state_dict(obj: Any, key: Optional[str], path: Path) -> dict[str, torch.Tensor]:
    """The generator's tensors in a checkpoint: `obj[key]`, a generator-named entry, or obj itself."""
    if key is not None:
        if not isinstance(obj, Mapping) or key not in obj:
            keys = list(obj) if isinstance(obj, Mapping) else []
            raise SourceError(f"{path} has no entry {key!r}; its entries: {', '.join(map(str, keys[:10]))}")
        obj = obj[key]
    if isinstance(obj, nn.Module):
        obj = obj.state_dict()
    if not isinstance(obj, Mapping):
        raise SourceError(f"{path} holds a {type(obj).__name__}, not a state dict")
    tensors = {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if tensors:
        return strip_prefixes(tensors)
    nested = {k: v for k, v in obj.items() if isinstance(v, (Mapping, nn.Module))}
    for name in GENERATOR_KEYS:
        if name in nested:
            return find_state_dict(nested[name], None, path)
    if len(nested) == 1:
        return find_state_dict(next(iter(nested.values())), None, path)
    raise SourceError(f"{path} holds entries {', '.join(map(str, list(obj)[:10]))}; say which is the generator "
                      f"with --generator '{path}#ENTRY'")


def strip_prefixes(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Drop DataParallel `module.` and torch.compile `_orig_mod.` prefixes; keep only `generator.*` in a GAN's dict."""
    while True:
        firsts = {k.split(".", 1)[0] for k in state_dict}
        if len(firsts) == 1 and firsts & {"module", "_orig_mod"}:
            state_dict = {k.split(".", 1)[1]: v for k, v in state_dict.items()}
            continue
        generator_first = [p for p in GENERATOR_PREFIXES if p in firsts]
        if generator_first and firsts & set(CRITIC_PREFIXES):
            prefix = generator_first[0] + "."
            state_dict = {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}
            continue
        return state_dict


def is_torchscript(path: Path) -> bool:
    """TorchScript archives are zip files with `code/` and `constants.pkl`; torch.save zips have neither."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(name.endswith("/constants.pkl") for name in archive.namelist())


def load_program(path: Path, request: Request, program: Any = None) -> Generator:
    """A TorchScript or torch.export archive (or a trusted pickled module) through the `opaque` adapter."""
    if request.arch not in (None, "opaque"):
        raise SourceError(f"{path} is a program, not a state dict; drop --arch {request.arch}")
    if program is None:
        try:
            with warnings.catch_warnings():  # TorchScript is deprecated upstream, and still a format users have
                warnings.simplefilter("ignore", FutureWarning)
                program = torch.export.load(str(path)) if path.suffix == ".pt2" else torch.jit.load(str(path),
                                                                                                     map_location="cpu")
        except Exception as exc:
            raise SourceError(f"cannot load {path} as a {'torch.export' if path.suffix == '.pt2' else 'TorchScript'} "
                              f"archive: {first_line(exc)}") from None
    return wrap_program(program, request, {"weights_sha256": file_sha256(path)}, sidecar_spec(path))


def wrap_program(program: Any, request: Request, meta: dict[str, Any], spec: dict[str, Any]) -> Generator:
    opaque = architectures.get("opaque")
    opts = opaque.make_options(request.options)
    built = opaque.wrap(program, opts, {**spec, **request.overrides})
    meta = {"architecture": "opaque", "options": architectures.options_to_dict(opts), **meta}
    return Generator(built.net, built.spec, source=request.source, meta=meta)


# ---- architectures -------------------------------------------------------------------------------


def build_any(arch: Optional[str], options: dict[str, Any], state_dict: Mapping[str, torch.Tensor], where: str):
    """(built, options, architecture name): the given architecture, else the first registered one that fits."""
    if arch is not None:
        built, opts = architectures.build_generator_net(arch, options, state_dict)
        return built, opts, arch
    tried = []
    for name in architectures.names():
        if name == "opaque":
            continue
        try:
            built, opts = architectures.build_generator_net(name, options, state_dict)
            return built, opts, name
        except GaninvError as exc:
            tried.append(f"{name}: {str(exc)[:100]}")
    raise ArchitectureError(f"cannot tell the architecture of {where}; pass --arch "
                            f"({', '.join(n for n in architectures.names() if n != 'opaque')}). Tried: "
                            + " | ".join(tried))


# ---- Python callables -----------------------------------------------------------------------------


def load_callable(source: str, request: Request) -> Generator:
    module_name, _, attr = source.partition(":")
    if os.getcwd() not in sys.path:  # as with `python -m`, modules in the current folder are importable
        sys.path.insert(0, os.getcwd())
    try:
        fn = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise SourceError(f"cannot import {source!r} ({exc}); give an importable module:callable") from None
    try:
        result = fn(**request.options)
    except TypeError as exc:
        raise SourceError(f"{source} does not take the options {sorted(request.options)}: {exc}") from None
    if isinstance(result, Generator):
        return with_overrides(result, request.overrides)
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], GeneratorSpec):
        net, spec = result
        return with_overrides(Generator(net, spec, source=source, meta={"callable": source}), request.overrides)
    if isinstance(result, nn.Module):  # a bare module: called as a program, spec from the flags
        return wrap_program(result, dataclasses.replace(request, options={}), {"callable": source}, {})
    raise SourceError(f"{source} must return (module, GeneratorSpec), a module, or a ganinv Generator")


# ---- saving ------------------------------------------------------------------------------------------


def save_generator(generator: Generator, folder: str | Path) -> Path:
    """Write ganinv's own generator layout (atomically): config.json + model.safetensors."""
    meta = generator.meta
    if meta.get("architecture") in (None, "opaque"):
        raise SourceError("only generators built from a registered architecture can be saved in ganinv's layout")
    folder = Path(folder)
    with atomic_dir(folder) as tmp:
        state = {k: v.detach().contiguous().cpu() for k, v in generator.net.state_dict().items()}
        save_file(state, str(tmp / WEIGHTS_NAME))
        config = {"format": FORMAT, "architecture": meta["architecture"], "options": meta["options"],
                  "spec": generator.spec.to_dict()}
        (tmp / CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n")
    return folder


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
