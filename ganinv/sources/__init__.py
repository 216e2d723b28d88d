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

import os
import warnings
from pathlib import Path
from typing import Any, Mapping, Optional

import torch

from ganinv import architectures, hub, trust
from ganinv.errors import ConfigError, SourceError, SpecMismatchError, require_bool
from ganinv.generator import Generator
from ganinv.sources.callables import load_callable, names_a_callable
from ganinv.sources.common import CONFIG_NAME, Request, file_sha256, split_entry
from ganinv.sources.folders import load_folder
from ganinv.sources.from_weights import build_from_config, mixin_options
from ganinv.sources.hub_repos import load_hub
from ganinv.sources.programs import is_program
from ganinv.sources.saving import save_generator
from ganinv.sources.single_files import load_file_source
from ganinv.sources.spec_overrides import (
    apply_sidecar,
    batchnorm_option,
    options_to_record,
    read_spec_file,
    sidecar_spec,
    split_options,
    with_overrides,
)

BUILTIN_DIR = Path(__file__).parent.parent / "builtin"


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
    probe = require_bool(probe, "probe")
    if options is not None and not isinstance(options, Mapping):  # --option K=V is options={"K": "V"}
        raise ConfigError(f"options must be a dict of option names to values, e.g. {{'nz': 100}}; got {options!r}")
    arch_options, overrides = split_options(dict(options or {}))
    batchnorm = batchnorm_option(arch_options.pop("bn", None))
    request = Request(source, arch, arch_options, overrides, trust_remote_code, origin, options_origin, batchnorm)
    hub.refuse_url(source)
    path = Path(split_entry(source)[0]) if not source.startswith(("builtin:", hub.PREFIX)) else Path(source)
    if "model_class" in arch_options:  # weights in the user's own class (--model-class), see ganinv.model_class
        from ganinv.model_class import load_with_model_class

        generator = load_with_model_class(request)
    elif (
        source.lower().startswith(("builtin:", hub.PREFIX))
        and not source.startswith(("builtin:", hub.PREFIX))
        and not os.path.lexists(source)
    ):
        prefix = source.split(":", 1)[0]  # BUILTIN:mnist had been imported as a module named BUILTIN (audit 49a)
        raise SourceError(f"{source!r}: write its prefix {prefix!r} in lower case, {prefix.lower()}:")
    elif source.startswith("builtin:"):
        name = source.split(":", 1)[1]
        folder = BUILTIN_DIR / name
        if name not in builtin_names():  # a name, never a path: `builtin:/abs` or `builtin:../..` read any folder
            raise SourceError(f"no built-in generator {name!r}; available: {', '.join(builtin_names()) or 'none'}")
        generator = load_folder(folder, source, request=request)
    elif source.startswith("hub:"):
        generator = load_hub(request)
    elif path.is_dir():
        entry = split_entry(source)[1]
        if entry is not None:  # dropped without a word before (a review, 50a)
            raise SourceError(
                f"{source!r}: #{entry} picks an entry of a checkpoint file, and {path} is a folder; give "
                f"{path / 'FILE'}#{entry}"
            )
        generator = load_folder(path, source, request=request)
    elif path.is_file():
        if names_a_callable(source):  # the file was taken, without a word (an outside audit, 49a)
            raise SourceError(
                f"{source!r} is both a file here and a module:callable that can be imported; give ./{source} for the "
                "file, or rename it to load the callable"
            )
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
            + unresolved_hint(source, path)
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


def unresolved_hint(source: str, path: Path) -> str:
    """What a source that names nothing may have meant (an outside audit, 49a): a link that leads nowhere, a `~` no
    shell expanded, a built-in's or a Hub repo's name without its prefix."""
    if path.is_symlink():
        return f"; {path} is a link to {os.readlink(path)}, which does not exist"
    if source.startswith("~"):
        return f"; '~' is expanded by a shell, not here: give the full path, {os.path.expanduser(source)}"
    if source in builtin_names():
        return f"; the built-in generator is builtin:{source}"
    if source.count("/") == 1 and not source.startswith((".", "/")) and all(source.split("/")):
        return f"; a Hugging Face repo is written hub:{source}"
    return ""


__all__ = [  # what other modules and tests import from `ganinv.sources`
    "BUILTIN_DIR",
    "Request",
    "apply_sidecar",
    "build_from_config",
    "builtin_names",
    "file_sha256",
    "is_program",
    "load_folder",
    "load_generator",
    "load_hub",
    "mixin_options",
    "options_to_record",
    "read_spec_file",
    "save_generator",
    "sidecar_spec",
    "source_text",
    "with_overrides",
]
