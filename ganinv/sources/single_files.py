"""A single file as a generator: a state dict (`.safetensors`, `.pt`, `.pth`, `.bin`, `.ckpt`, `.tar`,
`#KEY` for an entry), a shard of a set, or a program.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

from torch import nn

from ganinv import repo_files
from ganinv.errors import (
    ArchitectureError,
    SourceError,
)
from ganinv.generator import Generator
from ganinv.sources.common import STATE_DICT_SUFFIXES, Request, split_entry
from ganinv.sources.folders import load_repo_folder
from ganinv.sources.from_weights import build_from_config
from ganinv.sources.programs import is_program, load_program
from ganinv.sources.spec_overrides import apply_sidecar, sidecar_path, with_overrides
from ganinv.sources.torch_saves import checkpoint_generator, checkpoint_words, refusing_unmodelled_layers
from ganinv.weight_files import (
    PickledModuleWeights,
    check_lightning_latent,
    checkpoint_hints,
    in_a_script,
    is_torch_checkpoint,
    lightning_hparams,
    locate_state_dict,
    read_weights,
)

# model-00001-of-00002.safetensors: five digits, as the Hub's own shards (netG-25-of-50.bin is an epoch's whole file)
SHARD_NAME = re.compile(r"-(\d{5})-of-(\d{5})\.(safetensors|bin)$")


def load_file_source(path: Path, request: Request) -> Generator:
    key = split_entry(request.source)[1]
    if path.name.endswith(repo_files.INDEX_SUFFIXES) and key is None:  # a sharded set's index: its shards beside it
        return load_repo_folder(path.parent, request, weights=path.name)
    shard = SHARD_NAME.search(path.name)
    if shard and int(shard[2]) > 1:
        indexes = sorted(p.name for p in path.parent.iterdir() if p.name.endswith(repo_files.INDEX_SUFFIXES))
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
        if not isinstance(obj, PickledModuleWeights) or "--trust-remote-code" in str(exc) or in_a_script(obj.origin):
            raise  # (a refusal naming the remedy already was said twice; a script's class cannot be imported)
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
