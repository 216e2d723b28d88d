"""Output paths checked before the work starts, so a bad `--out` fails in a second, not after the compute.

`check_writable(path, folder=...)` refuses a path that cannot be written: one under a regular
file, a folder where a file is wanted (or the reverse), or a place the process may not write
(read-only file system, permissions). It creates nothing: the folder is made later, by the
command that writes into it, so a command that then fails validation leaves nothing behind.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from ganinv.errors import GaninvError


class OutputError(GaninvError):
    """An output path that cannot be written."""


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
    path = Path(path)
    kind = "folder" if folder else "file"
    if str(path) in ("", "."):
        writable_dir = Path(".")
    elif os.path.lexists(path):
        mode = path.stat().st_mode if path.exists() else 0
        if folder and not stat.S_ISDIR(mode):
            raise OutputError(f"{option} {path} exists and is not a folder; give a folder path "
                              "(a new or existing folder)")
        if not folder and stat.S_ISDIR(mode):
            raise OutputError(f"{option} {path} is a folder; give a file path, e.g. {path / 'out'}")
        if not folder and not stat.S_ISREG(mode):
            raise OutputError(f"{option} {path} exists and is not a regular file; give another file path")
        writable_dir = path if folder else path.parent
    else:
        writable_dir = _existing_ancestor(path)
        if not writable_dir.is_dir():
            raise OutputError(f"cannot create the {kind} {option} {path}: {writable_dir} is a file, not a folder; "
                              "choose another path")
    try:
        with tempfile.TemporaryFile(dir=writable_dir):
            pass
    except OSError as exc:
        raise OutputError(f"cannot write {option} {path}: {writable_dir} is not writable "
                          f"({exc.strerror or exc}); choose another path") from None
    return path
