"""Writing a generator in ganinv's own layout (atomically): `config.json` + `model.safetensors`."""

from __future__ import annotations

import json
from pathlib import Path

from safetensors.torch import save_file

from ganinv.atomic import atomic_dir
from ganinv.errors import SourceError, require_instance
from ganinv.generator import Generator
from ganinv.sources.common import CONFIG_NAME, FORMAT, PICKLE_WEIGHTS_NAME, SPEC_NAME, WEIGHTS_NAME

GENERATOR_FILES = frozenset(  # what a folder save may replace: its own files, and the Hub client's beside them
    {CONFIG_NAME, WEIGHTS_NAME, PICKLE_WEIGHTS_NAME, SPEC_NAME, ".gitattributes", ".cache"}
)


def save_generator(generator: Generator, folder: str | Path) -> Path:
    """Write ganinv's own generator layout (atomically): config.json + model.safetensors."""
    require_instance(generator, Generator, "generator", "ganinv.load_generator(...)")
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
