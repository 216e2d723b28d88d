"""`hub:owner/name[@revision][:FILE][#KEY]`: a Hugging Face repo listed once, only the files it names fetched
(ganinv.hub), then read as a folder, a checkpoint or a program.
"""

from __future__ import annotations

import warnings
from typing import Any

from ganinv import hub
from ganinv.errors import (
    SourceError,
    UnsafeFileError,
)
from ganinv.generator import Generator
from ganinv.sources.common import FORMAT, Request
from ganinv.sources.folders import load_folder
from ganinv.sources.programs import is_program, load_program, program_kind
from ganinv.sources.spec_overrides import apply_sidecar
from ganinv.sources.torch_saves import load_checkpoint, read_config


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
    generator.meta.update(resolved.meta())
    return generator
