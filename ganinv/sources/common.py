"""What every route of `ganinv.sources` shares: the file names of ganinv's layout, the request a loader
carries, and the hashes that tie an artifact to the weights it was made with.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from pathlib import Path
from typing import Any, Optional

CONFIG_NAME = "config.json"


WEIGHTS_NAME = "model.safetensors"


PICKLE_WEIGHTS_NAME = "pytorch_model.bin"  # what PyTorchModelHubMixin wrote before safetensors


SPEC_NAME = "spec.json"  # sidecar spec beside weights or programs


logger = logging.getLogger("ganinv")


FORMAT = "ganinv-generator"


STATE_DICT_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".tar")


def split_entry(source: str) -> tuple[str, Optional[str]]:
    """A local source's path and its `#ENTRY` (the dict entry of a checkpoint to read). A path that exists as typed is
    that path, `#` and all: `run#2/netG.pth` had been read as `run` with an entry, another generator when a folder
    `run` stood beside it (an outside audit). Else the entry follows the last `#` whose path before it exists (or
    the first `#`, for a path that exists nowhere). A name that exists both ways (a file `G.pth#D` beside the
    checkpoint `G.pth`) is refused: which one was meant is not the file system's to decide."""
    import os

    if "#" not in source:
        return source, None
    splits = [i for i, char in enumerate(source) if char == "#"]
    entries = [(source[:i], source[i + 1 :]) for i in reversed(splits) if os.path.lexists(source[:i])]
    if os.path.lexists(source):
        entries = [(path, entry) for path, entry in entries if os.path.isfile(path)]  # a folder has no entries
        if entries:
            from ganinv.errors import SourceError

            path, entry = entries[0]
            raise SourceError(
                f"{source!r} names both a file or folder of that name and entry {entry!r} of {path} (#ENTRY picks a "
                "checkpoint's entry); rename the one that is not meant"
            )
        return source, None
    if entries:
        return entries[0]
    path, _, entry = source.partition("#")
    return path, entry or None


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
    batchnorm: Optional[str] = None  # --option bn=train|eval: how BatchNorm normalises (batchnorm_option)


def jsonable(value: Any) -> Any:
    """Tuples as lists, recursively: how options compare with a config read from JSON."""
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    return value


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
