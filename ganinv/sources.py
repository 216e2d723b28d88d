"""Resolve a generator source string into a `Generator` (SPEC section 1).

Source strings:
- `builtin:NAME`                  a generator shipped in the package (`ganinv/builtin/NAME/`)
- `path/to/folder`                ganinv's own layout: `config.json` + `model.safetensors`
- `pkg.module:callable`           a Python callable returning `(module, spec)`

This is the one module that opens files from outside. Loading never runs code from a
file: weights are read with safetensors.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from pathlib import Path
from typing import Any, Optional

import torch
from safetensors.torch import load_file, save_file

from ganinv import architectures
from ganinv.atomic import atomic_dir
from ganinv.errors import SourceError
from ganinv.generator import Generator
from ganinv.spec import GeneratorSpec

BUILTIN_DIR = Path(__file__).parent / "builtin"
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
FORMAT = "ganinv-generator"


def builtin_names() -> list[str]:
    return sorted(p.name for p in BUILTIN_DIR.glob("*") if (p / CONFIG_NAME).is_file())


def load_generator(source: str, *, arch: Optional[str] = None, options: Optional[dict[str, Any]] = None,
                   probe: bool = True, device: Optional[str | torch.device] = None) -> Generator:
    """Load any generator source as a frozen `Generator`, probed against its spec."""
    options = dict(options or {})
    if source.startswith("builtin:"):
        name = source.split(":", 1)[1]
        folder = BUILTIN_DIR / name
        if not (folder / CONFIG_NAME).is_file():
            raise SourceError(f"no built-in generator {name!r}; available: {', '.join(builtin_names()) or 'none'}")
        generator = load_folder(folder, source=source)
    elif Path(source).is_dir():
        generator = load_folder(Path(source), source=source)
    elif ":" in source and not Path(source).exists():
        generator = load_callable(source, options)
    else:
        raise SourceError(f"cannot resolve generator source {source!r}: expected builtin:NAME, a folder with "
                          f"{CONFIG_NAME} and {WEIGHTS_NAME}, or module:callable")
    if device is not None:
        generator = generator.to(device)
    if probe:
        generator.probe()
    return generator


def load_folder(folder: Path, source: str) -> Generator:
    config_path, weights_path = folder / CONFIG_NAME, folder / WEIGHTS_NAME
    if not config_path.is_file() or not weights_path.is_file():
        raise SourceError(f"{folder} must hold {CONFIG_NAME} and {WEIGHTS_NAME}")
    try:
        config = json.loads(config_path.read_text())
    except json.JSONDecodeError as exc:
        raise SourceError(f"{config_path} is not valid JSON ({exc}); fix or regenerate it") from None
    if config.get("format") != FORMAT:
        raise SourceError(f"{config_path} is not a ganinv generator config (no \"format\": \"{FORMAT}\")")
    state_dict = load_file(str(weights_path))
    built, opts = architectures.build_generator_net(config["architecture"], config.get("options", {}), state_dict)
    spec = GeneratorSpec.from_dict(config["spec"]) if "spec" in config else built.spec
    meta = {"architecture": config["architecture"], "options": architectures.options_to_dict(opts),
            "weights_sha256": file_sha256(weights_path)}
    return Generator(built.net, spec, source=source, meta=meta)


def load_callable(source: str, options: dict[str, Any]) -> Generator:
    module_name, _, attr = source.partition(":")
    try:
        fn = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise SourceError(f"cannot import {source!r} ({exc}); give an importable module:callable") from None
    result = fn(**options)
    if isinstance(result, Generator):
        return result
    if not (isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], GeneratorSpec)):
        raise SourceError(f"{source} must return (module, GeneratorSpec) or a ganinv Generator")
    net, spec = result
    return Generator(net, spec, source=source, meta={"callable": source})


def save_generator(generator: Generator, folder: str | Path) -> Path:
    """Write ganinv's own generator layout (atomically): config.json + model.safetensors."""
    meta = generator.meta
    if "architecture" not in meta:
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
