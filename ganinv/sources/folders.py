"""Folders as generators: ganinv's own layout (`config.json` + `model.safetensors`), a `PyTorchModelHubMixin`
folder, and any other folder of weights a Hub repo or a user holds (the file to read chosen from the names).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
from pathlib import Path, PurePosixPath
from typing import Any, Iterator, Optional

import torch

from ganinv import architectures, repo_files
from ganinv.atomic import parse_json, read_text
from ganinv.errors import (
    ArchitectureError,
    GaninvError,
    SourceError,
    first_line,
)
from ganinv.foreign_layouts import NOT_A_GENERATOR
from ganinv.generator import Generator
from ganinv.sources.common import (
    CONFIG_NAME,
    FORMAT,
    PICKLE_WEIGHTS_NAME,
    SPEC_NAME,
    WEIGHTS_NAME,
    Request,
    file_sha256,
)
from ganinv.sources.from_weights import build_from_config, check_evidence
from ganinv.sources.programs import is_program, program_kind
from ganinv.sources.spec_overrides import apply_sidecar, with_overrides
from ganinv.sources.torch_saves import load_checkpoint, read_config, say_code_named
from ganinv.spec import GeneratorSpec
from ganinv.weight_files import (
    read_state_dict,
)

SHAPE_FIELDS = ("nz", "nc", "n_classes", "image_shape")  # what the net built from the options and weights decides


def check_recorded_shapes(recorded: GeneratorSpec, built: GeneratorSpec, config_path: Path) -> None:
    """The spec a config.json records may add what the weights cannot say (a prior, an output range), never other
    sizes than the net's: an outside audit's `nz = 1e10` tried to allocate 320 GB for the first probe, an internal
    error. Checked before anything runs."""
    latent = (recorded.native_latent_shape or (recorded.nz,), built.native_latent_shape or (built.nz,))
    differ = [
        f"{name} {getattr(recorded, name)} where the net has {getattr(built, name)}"
        for name in SHAPE_FIELDS
        if getattr(recorded, name) != getattr(built, name)
    ] + ([f"native_latent_shape {latent[0]} where the net takes {latent[1]}"] if latent[0] != latent[1] else [])
    if differ:
        raise SourceError(
            f"{config_path} records a spec that is not its net's: {'; '.join(differ)}; the file was edited or "
            "damaged: save or download the generator again"
        )


def load_folder(folder: Path, source: str, *, request: Optional[Request] = None) -> Generator:
    """A folder with config.json and model.safetensors (or pytorch_model.bin)."""
    request = request or Request(source, None, {}, {})
    config_path = folder / CONFIG_NAME
    weights_path = next((p for p in (folder / WEIGHTS_NAME, folder / PICKLE_WEIGHTS_NAME) if p.is_file()), None)
    bundled = next((f for f in (folder / "generator", folder / "inverter" / "generator") if f.is_dir()), None)
    # a run of a program's or code's generator bundles none: its encoder's weights had been read as a generator's
    # (an outside audit, 57b)
    artifact = bundled is not None or (folder / "inverter" / CONFIG_NAME).is_file()
    is_run = (folder / "checkpoints").is_dir() and artifact
    if is_run or (folder / "generator" / CONFIG_NAME).is_file():
        # a run folder, or an inverter artifact: what a user who just ran `fit` types after -g
        kind = "a run folder" if is_run else "an inverter or MVAE artifact"
        where = (
            f"its generator is {bundled}"
            if bundled is not None
            else "its generator was not bundled (a program or Python code is named, not copied: give it with -g as "
            f"the fit was given it; {folder / 'config.json'} names it)"
        )
        raise SourceError(
            f"{folder} is {kind}, not a generator: {where}; commands that take --inverter take the folder itself"
        )
    if not config_path.is_file() or weights_path is None:  # a copy of a Hub repo, or a folder of checkpoints
        return load_repo_folder(folder, request)
    try:
        config = parse_json(read_text(config_path, encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise SourceError(f"{config_path} is not valid JSON ({exc}); fix or regenerate it") from None
    if not isinstance(config, dict):
        raise SourceError(f"{config_path} must hold a JSON object")
    if "generator_ref" in config:  # an inverter or MVAE artifact that bundles no generator (57b): not a generator's
        raise SourceError(
            f"{folder} is an inverter or MVAE artifact, not a generator, and its generator was not bundled (a program "
            "or Python code is named, not copied: give it with -g as the fit was given it); commands that take "
            "--inverter take the folder itself"
        )
    say_code_named(config, str(config_path))  # a mixin's own config: read whole, but what names code is said
    state_dict = read_state_dict(weights_path, request.trust_remote_code)
    check_evidence(state_dict, str(weights_path))
    if config.get("format") == FORMAT:
        arch, recorded_spec = saved_config_fields(config, config_path)
        if request.arch and request.arch != arch:
            raise SourceError(f"{folder} holds a {arch!r} generator; drop --arch {request.arch}")
        recorded = config.get("options", {})
        before = architectures.READ_BEFORE_DECIDED.get(arch, {})  # a folder saved before ganinv read them
        recorded = {**{k: v for k, v in before.items() if k not in recorded}, **recorded}
        check_recorded_options(arch, recorded, request.options, state_dict, config_path)
        options = {**recorded, **request.options}
        bgr = recorded_spec is not None and recorded_spec.native_channel_order == "bgr"  # given when it was saved
        given_spec = {**({"native_channel_order": "bgr"} if bgr else {}), **request.overrides}
        built, opts = architectures.build_generator_net(arch, options, state_dict, given_spec)
        spec = recorded_spec or built.spec
        check_recorded_shapes(spec, built.spec, config_path)
        meta: dict[str, Any] = {"architecture": arch, "options": architectures.options_to_dict(opts)}
        if config.get("decisions"):  # how the options were first decided: assumptions stay announced
            meta["decisions"] = config["decisions"]
            said = {d.get("property") for d in built.decisions}  # said again by the build (a misfit: review 40a)
            architectures.warn_assumptions([d for d in meta["decisions"] if d.get("property") not in said])
        if config.get("batchnorm") in ("train", "eval"):
            meta["batchnorm"] = config["batchnorm"]
    else:  # PyTorchModelHubMixin: config.json holds the module's __init__ kwargs, evidence for the options
        built, opts, arch, evidence = build_from_config(
            request.arch,
            config,
            request.options,
            state_dict,
            where=str(weights_path),
            config_label=str(config_path),
            spec=request.overrides,
        )
        spec = built.spec
        meta = {
            "architecture": arch,
            "options": architectures.options_to_dict(opts),
            **evidence,
            "decisions": built.decisions,
        }
    meta["weights_sha256"] = file_sha256(weights_path)
    generator = with_overrides(Generator(built.net, spec, source=source, meta=meta), request.overrides)
    sidecar = folder / SPEC_NAME if (folder / SPEC_NAME).is_file() else None
    return apply_sidecar(generator, sidecar, request.overrides, str(weights_path))


@contextlib.contextmanager
def initialisers_skipped() -> Iterator[None]:
    """torch.nn.init's functions as no-ops: on the meta device there are no values to draw, and the first draw
    (nn.Embedding's normal_) loaded torch's reference kernels, 12 s for one check (review 37a)."""
    names = [name for name in dir(torch.nn.init) if name.endswith("_") and not name.startswith("_")]
    saved = {name: getattr(torch.nn.init, name) for name in names}
    try:
        for name in names:
            setattr(torch.nn.init, name, lambda tensor, *args, **kwargs: tensor)
        yield
    finally:
        for name, function in saved.items():
            setattr(torch.nn.init, name, function)


def check_recorded_options(
    arch: str,
    recorded: dict[str, Any],
    typed: dict[str, Any],
    state_dict: dict[str, torch.Tensor],
    config_path: Path,
) -> None:
    """A ganinv folder records every option: the net they make is built on the meta device (nothing allocated) and
    its shapes compared with the weights' before anything real is built (an outside audit, 36c: an edited bundled
    config's widths of 10^6 asked for 64 TB; of 3000, took 1.3 GB and 53 s, then an error naming neither file).
    The folder's own first, then with the options the user typed, each refusal naming whose they are (an outside
    audit, 53c: `--option nz=64` on builtin:mnist was "the folder is damaged or was edited")."""
    problem = meta_build_problem(arch, recorded, state_dict)
    if problem:
        raise SourceError(
            f"{config_path}'s options make {problem}; the folder is damaged or was edited: save or download it again"
        )
    problem = meta_build_problem(arch, {**recorded, **typed}, state_dict) if typed else None
    if problem:
        flags = " ".join(f"--option {k}={v}" for k, v in typed.items())
        saved = ", ".join(f"{k}={recorded[k]}" for k in typed if k in recorded)
        raise SourceError(
            f"{flags} makes {problem}: {config_path.parent} records its generator's options"
            + (f" (saved with {saved})" if saved else "")
            + "; drop the option, or give the saved value"
        )


def meta_build_problem(arch: str, options: dict[str, Any], state_dict: dict[str, torch.Tensor]) -> Optional[str]:
    """What `options` make that the weights do not fit ("no net (why)", "a net whose shapes ..."), built on the meta
    device; None where they fit (or where the meta device cannot run it: the real build then says what is wrong)."""
    architecture = architectures.get(arch)
    try:
        opts = architecture.make_options(options)
        with torch.device("meta"), initialisers_skipped():
            net = architecture.build(opts).net
        converted = architecture.convert_state_dict(dict(state_dict), opts)
    except (GaninvError, ValueError, TypeError) as exc:  # options no net has: refused before the real build asks
        return f"no net ({first_line(exc)})"  # for what they say (the widths of 10^6: 64 TB)
    except Exception:  # noqa: BLE001 (what the meta device cannot run: the real build says what is wrong)
        return None
    mismatch = architectures.describe_mismatch(architectures.shapes(net.state_dict()), architectures.shapes(converted))
    return f"a net whose shapes its weights do not have ({mismatch})" if mismatch else None


def saved_config_fields(config: dict[str, Any], config_path: Path) -> tuple[str, Optional[GeneratorSpec]]:
    """(architecture, spec or None) of a saved generator's config.json, its options and decisions checked: a
    damaged or hand-edited one (no architecture, options a list, a spec of unknown fields) was an internal error
    (an outside audit); it is one error naming the file."""
    arch, options, decisions = config.get("architecture"), config.get("options", {}), config.get("decisions", [])
    problem = ""
    if not isinstance(arch, str):
        problem = f"its architecture is {arch!r}, not a name"
    elif not isinstance(options, dict):
        problem = f"its options are a JSON {type(options).__name__}, not an object"
    elif not (isinstance(decisions, list) and all(isinstance(d, dict) for d in decisions)):
        problem = "its decisions are not a list of objects"
    spec = None
    if not problem and "spec" in config:
        try:
            if not isinstance(config["spec"], dict):
                raise TypeError(f"a JSON {type(config['spec']).__name__}, not an object")
            spec = GeneratorSpec.from_dict(config["spec"])
        except (TypeError, ValueError) as exc:
            problem = f"its spec cannot be read ({first_line(exc)})"
    if problem or not isinstance(arch, str):
        raise SourceError(f"{config_path} is damaged or edited: {problem}; save or download the generator again")
    return arch, spec


MAX_FOLDER_FILES = 10_000  # a folder given as a generator is a model's, not a home folder: read so many names at most


def folder_files(folder: Path) -> list[str]:
    """The files under `folder` as a repo listing names them (POSIX paths relative to it), hidden ones left out."""
    found: list[str] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        relative = Path(root).relative_to(folder)
        found += [(relative / f).as_posix() for f in sorted(files) if not f.startswith(".")]
        if len(found) > MAX_FOLDER_FILES:
            raise SourceError(
                f"{folder} holds more than {MAX_FOLDER_FILES:,} files, not one model's; give the weights file itself"
            )
    return found


def load_repo_folder(folder: Path, request: Request, weights: Optional[str] = None) -> Generator:
    """A folder as a Hub repo is read (`hf download owner/name --local-dir DIR`, a copy of a repo, a training run's
    checkpoints): the weights file chosen by the Hub's rules and announced among several, a sharded index with its
    shards, config.json and spec sidecars beside it as evidence (an outside audit: what loaded as `hub:` was
    refused from its local copy). `weights`: the file the user named there (a sharded index)."""
    files = folder_files(folder)
    where = str(folder)
    others: tuple[str, ...] = ()
    if weights is None:
        weights, candidates = repo_files.pick_weights(
            files,
            where,
            name_file=str(folder / "FILE"),
            average_beside=functools.partial(repo_files.registered_average, folder),
        )
        others = tuple(f for f in candidates if f != weights)
    weights_path = folder / weights
    if is_program(weights_path):
        raise SourceError(
            f"{where}: {weights} is a {program_kind(weights_path)} program, which is code: name it yourself if you "
            f"trust its author (--generator {weights_path})"
        )
    twins = repo_files.format_twins(weights, files)
    if twins:
        repo_files.compare_twins(folder, weights, twins, where)
    config_name = repo_files.beside(weights, files, CONFIG_NAME)
    config_path = folder / config_name if config_name else None
    config = read_config(config_path, str(config_path)) if config_path else {}
    if config_path and config.get("format") == FORMAT:  # ganinv's own layout, in a subfolder
        if not any((config_path.parent / name).is_file() for name in (WEIGHTS_NAME, PICKLE_WEIGHTS_NAME)):
            raise SourceError(
                f"{config_path} is ganinv's generator config, but {config_path.parent} holds no {WEIGHTS_NAME}: its "
                "weights were moved or renamed; put them back as saved"
            )
        return load_folder(config_path.parent, request.source, request=request)
    index = weights_path if weights.endswith(repo_files.INDEX_SUFFIXES) else None
    shards = repo_files.shards_of(weights_path, weights, where) if index is not None else (weights,)
    missing = [s for s in shards if s not in files]
    if missing:
        raise SourceError(f"{weights_path} names shards the folder does not have: {', '.join(missing[:4])}")
    try:
        generator = load_checkpoint(
            [folder / s for s in shards],
            None,
            request,
            str(weights_path),
            config,
            str(config_path or ""),
            index=index,
        )
    except ArchitectureError as exc:
        if others and NOT_A_GENERATOR in str(exc):  # accelerate's model.safetensors is D where D was prepared first
            raise ArchitectureError(
                f"{exc}; the folder's other weights files may hold the generator: {', '.join(others[:6])} (name one: "
                f"{folder / 'FILE'})"
            ) from None
        if config_path is None or not str(exc).startswith(f"{config_path} disagrees"):
            raise
        # a local folder's config.json may be a training script's settings, not the net's (an outside audit)
        raise ArchitectureError(
            f"{exc}; if {config_path} is not this generator's own config (a training script's settings, say), give "
            f"the weights file alone: --generator {weights_path}"
        ) from None
    spec_name = repo_files.beside(weights, files, PurePosixPath(weights).name + ".json", SPEC_NAME)
    if spec_name is not None:
        generator = apply_sidecar(generator, folder / spec_name, request.overrides, str(weights_path))
    return generator
