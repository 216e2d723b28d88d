"""Who may choose code for ganinv to run.

Some generator sources are code: a `module:callable`, a user's model class, a TorchScript or
`torch.export` program, a full pickle. ganinv runs such code only when the person running it
chose it:

- a source typed on the command line, or passed by a Python caller, is chosen by them;
- a source *read from a file* (an inverter's or MVAE's generator reference, a fit recipe, a
  resumed run's `config.json`, the stages of a benchmark recipe) is data, and may name code
  only when the user passes `--trust-remote-code` (`trust_remote_code=True`) for this command.

A file never grants trust either: a `trust_remote_code = true` in a recipe or a saved config,
or a `--trust-remote-code` inside a benchmark stage, is not the user's word and is ignored or
refused. Safetensors weights, JSON configs and `weights_only` pickles are data and need no trust.
"""

from __future__ import annotations

import contextlib
import importlib.machinery
import os
import sys
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Iterator, Optional

from ganinv.errors import ArgumentError, UnsafeFileError


@dataclass(frozen=True)
class FileCommands:
    """Commands being run on a file's behalf (a benchmark recipe's stages)."""

    origin: str  # e.g. "benchmark recipe recipes/bench.toml"
    trusted: bool  # the user passed --trust-remote-code to the command that reads the file


_file_commands: ContextVar[Optional[FileCommands]] = ContextVar("ganinv_file_commands", default=None)


@contextlib.contextmanager
def commands_from_file(origin: str, trusted: bool) -> Iterator[None]:
    """Run the enclosed commands as chosen by `origin`, not by the user (unless `trusted`).

    Nested (a benchmark stage that runs a benchmark): the outermost file stays the origin, and trust needs every
    level's grant, so a stage cannot grant itself trust that the user did not type."""
    outer = _file_commands.get()
    if outer is not None:
        origin, trusted = outer.origin, trusted and outer.trusted
    token = _file_commands.set(FileCommands(origin, trusted))
    try:
        yield
    finally:
        _file_commands.reset(token)


def chosen_by_file() -> Optional[str]:
    """The file whose commands are running (the outermost recipe), or None when the user typed the command."""
    context = _file_commands.get()
    return context.origin if context is not None else None


def check_flag(trust_remote_code: object) -> bool:
    """The user's trust flag, which must be a real bool: `"false"` or `"0"` from an environment variable, argparse
    or YAML is truthy, and counted as trust it would run the code a file names (an outside audit)."""
    import numpy

    if isinstance(trust_remote_code, numpy.bool_):  # numpy's bool, e.g. read from an array of settings
        trust_remote_code = bool(trust_remote_code)
    if not isinstance(trust_remote_code, bool):  # a Python argument: a ValueError too (an outside audit)
        raise ArgumentError(
            f"trust_remote_code must be True or False, got {trust_remote_code!r} ({type(trust_remote_code).__name__}); "
            "convert a string yourself (trust_remote_code=value == 'true')"
        )
    return trust_remote_code


def resolve(origin: Optional[str], trust_remote_code: bool) -> tuple[Optional[str], bool]:
    """The effective (origin, trust) of a load: inside `commands_from_file`, the file is the origin and only the
    user's flag on the enclosing command counts, whatever the enclosed command says."""
    check_flag(trust_remote_code)
    context = _file_commands.get()
    if context is None:
        return origin, trust_remote_code
    return origin or context.origin, context.trusted


def require_chosen(what: str, origin: Optional[str], trust_remote_code: bool, retry: str) -> None:
    """Refuse to run `what` (code) when a file, not the user, named it.

    `retry` says how the user can name it themselves, e.g. "--generator mypkg:make".
    """
    if origin is None or check_flag(trust_remote_code):
        return
    context = _file_commands.get()
    if context is not None and origin == context.origin:  # a benchmark's stage: its commands take no flag of the
        # user's (`--generator` was advised, which bench has not: an outside audit)
        raise UnsafeFileError(
            f"{what} is named by {origin}, and ganinv never runs code that a file names; a benchmark's stages run "
            "code only with `ganinv bench --trust-remote-code`, if you trust it (its --set values too)"
        )
    raise UnsafeFileError(
        f"{what} is named by {origin}, and ganinv never runs code that a file names; "
        f"if you trust it, name it yourself ({retry}) or pass --trust-remote-code"
    )


@contextlib.contextmanager
def current_folder_importable(module: Optional[str] = None) -> Iterator[None]:
    """Modules in the folder the command runs from importable during the block, first, as `python -m` makes them:
    the code routes the user chose (`module:callable`, `--model-class`, a whole pickled module with
    `--trust-remote-code`) import the user's classes from where they stand (an outside audit: a pickle's `nets.py`
    beside it was "not importable"). After it, the folder stays importable only where the user's code came from it,
    and last: that code imports its siblings later too (in `__init__`, `forward`: a review), while left first, the
    folder's own `PIL/` ran in place of Pillow when ganinv wrote a grid, though the user had typed an installed class
    (an outside audit). `module`: the one the user typed; a folder that does not hold it (an installed package's)
    is not made importable at all, or the package's own `import yaml` ran the folder's `yaml.py` (a review)."""
    folder = os.getcwd()
    added = folder not in sys.path and (module is None or holds_module(folder, module))
    before = set(sys.modules)
    if added:
        sys.path.insert(0, folder)
    try:
        yield
    finally:
        if added and folder in sys.path:
            sys.path.remove(folder)
            if any(
                _within(getattr(sys.modules.get(name), "__file__", None), folder) for name in set(sys.modules) - before
            ):
                sys.path.append(folder)  # after every installed package: none of theirs is shadowed


def holds_module(folder: str, module: str) -> bool:
    """Whether `folder` holds the top-level package or module of `module` (`nets` of `nets.models`)."""
    top = os.path.join(folder, module.split(".")[0])
    # every suffix Python imports from: .py, .pyc, and compiled extensions built in place (a review)
    return os.path.isdir(top) or any(os.path.isfile(top + suffix) for suffix in importlib.machinery.all_suffixes())


def _within(path: Optional[str], folder: str) -> bool:
    """Whether a module's file lies in `folder` (or below it)."""
    return bool(path) and os.path.abspath(str(path)).startswith(os.path.join(os.path.abspath(folder), ""))
