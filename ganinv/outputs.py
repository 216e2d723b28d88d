"""Output paths checked before the work starts, so a bad `--out` fails in a second, not after the compute.

`check_writable(path, folder=...)` refuses a path that cannot be written: one under a regular
file, a folder where a file is wanted (or the reverse), or a place the process may not write
(read-only file system, permissions). It creates nothing: the folder is made later, by the
command that writes into it, so a command that then fails validation leaves nothing behind.
`check_image_count` refuses a count of images to draw at once (`sample -n`, `loglik --generated`)
that memory cannot hold, naming the largest that fits.
"""

from __future__ import annotations

import json
import math
import os
import stat
import tempfile
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from ganinv.errors import GaninvError


class OutputError(GaninvError):
    """An output that cannot be written (a path) or held in memory (a count of images)."""


MAX_IMAGES_BYTES = 4 * 1024**3  # images a command holds in memory at once (samples drawn in one go)


def check_image_count(n: int, image_shape, option: str) -> None:
    """Refuse drawing `n` images of `image_shape` (C, H, W) at once when they alone would exceed
    `MAX_IMAGES_BYTES` as float32: an absurd count fails in a second instead of exhausting memory."""
    per_image = 4 * math.prod(int(size) for size in image_shape)
    if n * per_image > MAX_IMAGES_BYTES:
        raise OutputError(
            f"{option} {n} asks for {n * per_image / 2**30:.3g} GiB of images at once, more than "
            f"{MAX_IMAGES_BYTES / 2**30:.3g} GiB; use {option} "
            f"{MAX_IMAGES_BYTES // per_image} or fewer"
        )


def _existing_ancestor(path: Path) -> Path:
    """The nearest ancestor of `path` that exists (as anything: folder, file, ...)."""
    for parent in path.parents:
        if os.path.lexists(parent):
            return parent
    return Path(".")


def check_writable(path: str | os.PathLike, *, folder: bool, option: str = "--out") -> Path:
    """Raise `OutputError` unless `path` can be written (a folder when `folder`, else a file); return it.

    Nothing is created: the probe file is anonymous and gone when closed.
    """
    kind = "folder" if folder else "file"
    if str(path).strip() in ("", "-"):  # `--out -` made a folder named `-`; `--out ""` (an unset variable) wrote to the
        raise OutputError(  # current folder, or nothing (an outside audit, 53c)
            f"{option} is empty (an unset variable?); give a {kind} path"
            if not str(path).strip()
            else f"{option} - names standard output: ganinv writes files; give a {kind} path (./- for a {kind} named -)"
        )
    path = Path(path)
    if str(path) in ("", "."):
        writable_dir = Path(".")
    elif os.path.lexists(path):
        mode = path.stat().st_mode if path.exists() else 0
        if folder and not stat.S_ISDIR(mode):
            raise OutputError(
                f"{option} {path} exists and is not a folder; give a folder path (a new or existing folder)"
            )
        if not folder and stat.S_ISDIR(mode):
            raise OutputError(f"{option} {path} is a folder; give a file path, e.g. {path / 'out'}")
        if not folder and not stat.S_ISREG(mode):
            raise OutputError(f"{option} {path} exists and is not a regular file; give another file path")
        if not folder and not is_earlier_result(path):
            raise OutputError(
                f"{option} {path} exists and is not a file ganinv wrote (one of yours? or a grid from before ganinv "
                "marked its grids): it is not replaced; give another path, or delete it first"
            )
        writable_dir = path if folder else path.parent
    else:
        writable_dir = _existing_ancestor(path)
        if not writable_dir.is_dir():
            raise OutputError(
                f"cannot create the {kind} {option} {path}: {writable_dir} is a file, not a folder; choose another path"
            )
    try:
        with tempfile.TemporaryFile(dir=writable_dir):
            pass
    except OSError as exc:
        raise OutputError(
            f"cannot write {option} {path}: {writable_dir} is not writable ({exc.strerror or exc}); choose another path"
        ) from None
    return path


# what marks a file as one ganinv wrote: an existing file of that name without the mark is not an earlier result (an
# outside audit: `sample --out s.png` replaced a text file of the user's in silence; then a review: any PNG, npz or
# safetensors file of the user's was replaced, as were upper-case suffixes)
MADE_BY = "ganinv"  # a PNG's "Software" text chunk


def is_earlier_result(path: Path) -> bool:
    """Whether the existing file `path` is empty or one ganinv writes under its suffix: a PNG grid marked as ganinv's,
    features or samples (their `format`), loglik's per-image records."""
    if path.stat().st_size == 0:
        return True
    suffix = path.suffix.lower()
    try:
        if suffix == ".png":
            from PIL import Image

            with Image.open(path) as image:
                return image.format == "PNG" and image.info.get("Software") == MADE_BY
        if suffix == ".npz":
            with np.load(path, allow_pickle=False) as arrays:
                return "header" in arrays.files and json.loads(str(arrays["header"])).get("format", "").startswith(
                    "ganinv-"
                )
        if suffix == ".safetensors":
            from safetensors import safe_open

            with safe_open(str(path), "pt") as file:
                return "ganinv-" in ((file.metadata() or {}).get("format") or "")
        if suffix == ".jsonl":
            with open(path, encoding="utf-8") as file:
                first = json.loads(file.readline())
            return isinstance(first, dict) and {"index", "elbo"} <= set(first)
    except Exception:  # unreadable as that format: not one of ours
        return False
    return False


def check_result_folder(path: str | os.PathLike, command: str, names: set[str], is_own: Callable[[Path], bool]) -> None:
    """Refuse an existing, non-empty `--out` folder unless it is `command`'s own earlier output: only `names`
    inside, and `is_own(folder)` (its record file reads as the command's). Otherwise it would replace a user's
    files of the same names in silence."""
    path = Path(path)
    if not path.is_dir():
        return
    entries = sorted(entry.name for entry in path.iterdir())
    if not entries or (set(entries) <= names and is_own(path)):
        return
    foreign = [name for name in entries if name not in names] or entries
    shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
    raise OutputError(
        f"--out {path} already holds files that are not an earlier `ganinv {command}`'s ({shown}); nothing there "
        "is ganinv's to replace: give a new or empty folder"
    )


def check_not_inside(out: str | os.PathLike, inputs: str | os.PathLike, option: str) -> None:
    """Refuse writing results inside the folder they are read from: the next run would read them as inputs."""
    if str(inputs).strip() in ("", "-"):  # no folder: the reader refuses the name, saying why (an outside audit, 53c)
        return
    inputs_path = Path(inputs).resolve()
    if inputs_path.is_dir() and Path(out).resolve().is_relative_to(inputs_path):
        raise OutputError(
            f"--out {out} is inside the {option} folder {inputs}, so a later run would read the results as "
            "inputs; give a folder outside it"
        )


def check_not_an_input(path: str | os.PathLike, inputs: Sequence[Optional[str]], option: str = "--out") -> None:
    """Refuse an output file that is one of the command's inputs (`features data.npz --out data.npz` replaced the
    user's images with features, exit 0: audit 8). Inputs that are not paths (a dataset name) are skipped."""
    target = Path(path)
    if not target.exists():
        return
    for given in inputs:
        if given is None or not Path(given).exists():
            continue
        source = Path(given)
        if os.path.samefile(source, target) or (source.is_dir() and source.resolve() in target.resolve().parents):
            raise OutputError(
                f"{option} {target} is the input {given}; writing it would destroy the input: choose another path"
            )
