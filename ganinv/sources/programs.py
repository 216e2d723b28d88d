"""Programs: TorchScript and `torch.export` files, loaded only because the user named them (ganinv.trust), and
wrapped with a spec from the flags, a sidecar JSON or the archive.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import warnings
import zipfile
from pathlib import Path
from typing import Any, Optional

import torch

from ganinv import architectures, trust
from ganinv.errors import (
    SourceError,
    UnsafeFileError,
    first_line,
)
from ganinv.generator import Generator
from ganinv.repo_files import PROGRAM_SUFFIXES
from ganinv.sources.common import Request, file_sha256, jsonable
from ganinv.sources.spec_overrides import read_spec_file, refuse_range_alone, said_overrides, sidecar_path
from ganinv.spec import latent_shape_conflict
from ganinv.weight_files import (
    EXPORT_MEMBERS,
    is_torchscript,
    logger_held,
)


def is_program(path: Path) -> bool:
    """A torch.export or TorchScript archive: code, not a state dict."""
    return path.suffix == ".pt2" or (path.suffix != ".safetensors" and (is_torchscript(path) or is_exported(path)))


def is_exported(path: Path) -> bool:
    """A torch.export archive by its members, whatever its name (`torch.export.save` to `generator.pt` was refused
    even with --trust-remote-code, told to rename a Hub file: an outside audit, 55c)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode) or not zipfile.is_zipfile(path):  # a FIFO: opening it waits forever
            return False
        with zipfile.ZipFile(path) as archive:
            return any(m.endswith(EXPORT_MEMBERS) for m in archive.namelist())
    except (OSError, zipfile.BadZipFile, ValueError):
        return False


def program_kind(path: Path) -> str:
    """By the archive's members where they tell, else by its name: a TorchScript file named .pt2 had been read as a
    damaged torch.export archive, with torch's traceback (an outside audit, 57b)."""
    if is_exported(path):
        return "torch.export"
    return "TorchScript" if path.suffix != ".pt2" or is_torchscript(path) else "torch.export"


def load_program(path: Path, request: Request, program: Any = None) -> Generator:
    """A TorchScript or torch.export archive (or a trusted pickled module) through the `opaque` adapter."""
    if request.arch not in (None, "opaque"):
        raise SourceError(f"{path} is a program, not a state dict; drop --arch {request.arch}")
    trust.require_chosen(f"the program {str(path)!r}", request.origin, request.trust_remote_code, f"--generator {path}")
    if program is None and path.suffix not in PROGRAM_SUFFIXES and not request.trust_remote_code:
        raise UnsafeFileError(
            f"{path} is a {program_kind(path)} program (code), not the state dict its name suggests; ganinv runs a "
            "program named like weights only with --trust-remote-code, if you trust its author (or, for a program "
            f"you made, name it {'.pt2' if program_kind(path) == 'torch.export' else '.ts'})"
        )
    if program is None:
        try:
            with warnings.catch_warnings():  # TorchScript is deprecated upstream, and still a format users have
                warnings.simplefilter("ignore", FutureWarning)
                if program_kind(path) == "torch.export":
                    # a file object: by name torch.export wants .pt2; its own log of a failure is a traceback, which
                    # the one error below says (an outside audit, 57b)
                    held = (
                        contextlib.nullcontext()
                        if os.environ.get("GANINV_DEBUG")
                        else logger_held("torch.export", logging.CRITICAL)
                    )
                    with open(path, "rb") as archive, held:
                        program = torch.export.load(archive)
                else:
                    program = torch.jit.load(str(path), map_location="cpu")
        except Exception as exc:
            raise SourceError(f"cannot load {path} as a {program_kind(path)} archive: {first_line(exc)}") from None
        if request.batchnorm != "train" and batch_norm_in_training_mode(program):
            raise SourceError(
                f"{path} is a {program_kind(path)} program whose BatchNorm runs in training mode (normalising each "
                "batch by its own statistics, fixed inside the program: it was traced or exported before G.eval()); "
                "ganinv inverts a fixed G(z): trace or export it again after G.eval() (--option bn=train takes it "
                "as it is, for a generator its author samples with batch statistics)"
            )
    sidecar = sidecar_path(path)
    spec = read_spec_file(sidecar, sidecar=True) if sidecar else {}
    return wrap_program(program, request, {"weights_sha256": file_sha256(path)}, spec, sidecar)


def batch_norm_in_training_mode(program: Any) -> bool:
    """Whether a loaded program's graph holds a BatchNorm with training fixed to true. Its images are then those of
    each batch's own statistics; exported at a batch of 1 (the usual example input), each image normalised by
    itself, no batch test can see it, and it loaded 0.81 off in silence (an outside audit, 57b). A scripted module's
    mode is an attribute, which eval() sets: only a constant counts."""
    try:
        if isinstance(program, torch.export.ExportedProgram):
            return any(
                node.op == "call_function"
                and "batch_norm" in str(node.target)
                and "no_training" not in str(node.target)
                and len(node.args) > 5
                and node.args[5] is True
                for node in program.graph.nodes
            )
        if isinstance(program, torch.jit.ScriptModule):
            for node in program.inlined_graph.nodes():
                if node.kind() == "aten::batch_norm":
                    training = list(node.inputs())[5]
                    if training.node().kind() == "prim::Constant" and training.toIValue() is True:
                        return True
    except (AttributeError, IndexError, RuntimeError):  # a graph of another torch's making: the probe's checks stand
        return False
    return False


def wrap_program(
    program: Any, request: Request, meta: dict[str, Any], spec: dict[str, Any], sidecar: Optional[Path] = None
) -> Generator:
    """A program (or a callable's bare module) with its spec: `spec` read from `sidecar` (a JSON found beside it), then
    the user's flags. What the sidecar sets is said, naming it, as for weights: a stray spec.json left by another
    generator made a program's latents uniform in silence (an outside audit); the prior nothing gave is announced."""
    opaque = architectures.get("opaque")
    opts = opaque.make_options(request.options)
    from_sidecar = {k: v for k, v in spec.items() if k not in request.overrides}
    if sidecar is not None and from_sidecar:
        warnings.warn(
            f"{sidecar} gives the spec of {request.source}: "
            + ", ".join(f"{k}={jsonable(v)}" for k, v in from_sidecar.items())
            + "; delete it if it is not this program's spec (--nz, --prior, --output-range and --spec win over it)",
            stacklevel=2,
        )
    given = {**spec, **request.overrides}
    conflict = latent_shape_conflict(given.get("nz"), given.get("native_latent_shape"))
    if conflict and sidecar is not None and from_sidecar.keys() & {"nz", "native_latent_shape"}:
        # the error named no file, only the warning above it did (an outside audit)
        raise SourceError(f"{sidecar}, the spec beside {request.source}: {conflict}, or fix or delete {sidecar.name}")
    # wrap is the opaque adapter's own method; the registry is typed with the base Architecture
    try:
        built = opaque.wrap(program, opts, given)  # type: ignore[attr-defined]
    except ValueError as exc:  # the spec's own check of the values given: an internal error here (an outside audit)
        raise SourceError(f"{said_overrides(request.overrides)}: not a valid spec: {exc}") from None
    refuse_range_alone(request.overrides, built.spec)
    # said by load_generator once the probe ran
    decisions = built.decisions + architectures.prior_assumed(given, "a program")
    meta = {"architecture": "opaque", "options": architectures.options_to_dict(opts), **meta, "decisions": decisions}
    return Generator(built.net, built.spec, source=request.source, meta=meta)
