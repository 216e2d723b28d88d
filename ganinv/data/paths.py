"""What a path is before it is read: only regular files and folders are (a FIFO or a device would block)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ganinv.errors import DataError


def _file_kind(mode: int) -> str:
    for test, kind in (
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return kind
    return "not a regular file"


def _stat(path: Path) -> os.stat_result:
    """os.stat (following links), refusing anything but a regular file or a folder before it is opened."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}; check that it exists and is readable") from None
    if not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):
        raise DataError(
            f"{path} is {_file_kind(info.st_mode)}; ganinv reads images only from regular files "
            "and folders: give one of those"
        )
    return info


def _is_dir(path: Path) -> bool:
    return stat.S_ISDIR(_stat(path).st_mode)


def _is_gzip(path: Path) -> bool:
    """Whether a file is gzip-compressed, by its magic bytes, not its suffix: raw IDX bytes under the .gz name (a
    download stored decompressed) and gzip bytes without it both hold the original data, and were called damaged (an
    outside audit)."""
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"
