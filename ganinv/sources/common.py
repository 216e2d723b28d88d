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
