"""torch.save files (checkpoints) as their authors save them: a config beside or inside the file (read as data;
a transformers or diffusers config is refused), a script's pickled arguments, shards, and layers ganinv has no
model of.
"""

from __future__ import annotations

import contextlib
import json
import re
import warnings
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional

from ganinv import architectures, config_words, safe_pickle
from ganinv.atomic import parse_json, read_text
from ganinv.errors import (
    ArchitectureError,
    SourceError,
    first_line,
)
from ganinv.generator import Generator
from ganinv.sources.common import FORMAT, Request, files_sha256, logger
from ganinv.sources.from_weights import build_from_config
from ganinv.sources.spec_overrides import with_overrides
from ganinv.weight_files import (
    LIGHTNING_SIDES,
    check_lightning_latent,
    checkpoint_hints,
    entry_meta,
    lightning_hparams,
    locate_state_dict,
    read_weights,
    unmodelled_layers,
)

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
    say_code_named(config, label)
    foreign = [k for k in FOREIGN_CONFIG_FIELDS if k in config]
    if foreign and config.get("format") != FORMAT and config.get("architecture") not in architectures.names():
        warnings.warn(
            f"{label} configures another library's model ({', '.join(foreign)}), not this generator: not read as "
            "evidence; give sizes with --option KEY=VALUE if the weights leave one open",
            stacklevel=2,
        )
        return {}
    return config


# fields whose value names code (a class or callable by dotted path or module:name): Hydra's `_target_`, a mixin's
# `model_class`, ganinv's own sources, at the top or in a generator's (or a `ganinv`) block
CODE_FIELDS = ("model_class", "_target_", "target", "class_path", "source", "module", "callable", "generator")
CODE_ONLY_FIELDS = ("model_class", "_target_", "class_path")  # the rest may name data too (`source: mnist.npz`)
CODE_BLOCKS = ("generator", "ganinv", "model")
CODE_PATH = re.compile(r"[A-Za-z_][\w.]*[:.][A-Za-z_]\w*")
CLASS_OR_CALLABLE = re.compile(r"[A-Za-z_][\w.]*(:[A-Za-z_]\w*|\.[A-Z]\w*)")  # module:name, or a dotted Class


def say_code_named(config: Mapping[str, Any], label: str) -> None:
    """Say what of a config names code, not run: ignored in silence, the user was not told the author's class was not
    used (an outside audit, 55c). ganinv's own folders record their source: not said."""
    named = code_named(config) if config.get("format") != FORMAT else []
    if named:
        warnings.warn(
            f"{label} names code to build the generator ({', '.join(named[:4])}): not run, as nothing a file names "
            "is; the net is read from the weights. If you trust that code, pass it yourself: a repo's own module is "
            "never imported from the Hub, so download it (hf download OWNER/NAME --local-dir DIR), read it, and from "
            "DIR give --model-class MODULE:CLASS -g DIR (or -g MODULE:CALLABLE)",
            stacklevel=3,
        )


def code_named(config: Mapping[str, Any]) -> list[str]:
    """`key=value` of each field of `config` that names code; the top-level `generator` string is said where unread
    architectural fields are (`say_config_words`)."""
    found = []
    blocks = [("", config)] + [(f"{b}.", config[b]) for b in CODE_BLOCKS if isinstance(config.get(b), Mapping)]
    for prefix, block in blocks:
        for key in CODE_FIELDS:
            value = block.get(key)
            if prefix == "" and key == "generator":
                continue
            pattern = CODE_PATH if key in CODE_ONLY_FIELDS else CLASS_OR_CALLABLE
            if isinstance(value, str) and pattern.fullmatch(value.strip()):
                found.append(f"{prefix}{key}={value.strip()[:60]!r}")
    return found


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
    # a shard refused is named, not only its index (an outside audit, 53a)
    parts = [
        read_weights(path, request.trust_remote_code, where if len(paths) == 1 else f"{where}'s shard {path.name}")
        for path in paths
    ]
    obj = parts[0] if len(paths) == 1 else merge_shards(paths, parts, index, where)
    state_dict, entry = locate_state_dict(obj, key, where)
    batchnorm, hinted = checkpoint_hints(obj, where)
    pickled_label = f"the {'Lightning hyper_parameters' if lightning_hparams(obj) else 'arguments pickled'} in {where}"
    refuse_disagreeing_hints(config, hinted, request.options, config_label, pickled_label)
    with refusing_unmodelled_layers(obj, where) as taken:
        built, opts, arch, evidence = build_from_config(
            request.arch,
            {**hinted, **config},
            request.options,
            state_dict,
            where,
            config_label if config or not hinted else pickled_label,  # a Hub repo's name was said as a config (41b)
            request.overrides,
            checkpoint_words(obj),
            pickled_label,
        )
        taken.append(arch)
    generator = checkpoint_generator(built, opts, arch, evidence, entry, paths, batchnorm, where, request.source)
    check_lightning_latent(obj, generator.spec.nz, where)
    return with_overrides(generator, request.overrides)


def refuse_disagreeing_hints(
    config: Mapping[str, Any],
    hinted: Mapping[str, Any],
    options: Mapping[str, Any],
    config_label: str,
    pickled_label: str,
) -> None:
    """A config.json beside a checkpoint whose pickled records say otherwise (`img_size` 64 there, 32 in the Lightning
    hyper_parameters) is refused naming both sources: it had been "config.json gives resolution twice" (a review,
    42a). The user's --option settles it."""
    for name, value in hinted.items():
        if name in options:
            continue
        for key, said in config.items():
            same = key == name or config_words.FIELD_OPTIONS.get(key) == name
            if (same or (name == "resolution" and key in LIGHTNING_SIDES)) and said != value:
                raise ArchitectureError(
                    f"{config_label} says {key}={said!r}, and {pickled_label} say {name}={value!r}: fix the one "
                    f"that is wrong, or choose with --option {name}=VALUE"
                )


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
