"""Atomic writes: a kill in the middle of a save leaves the previous good file or folder.

Temporaries live beside their target as `.NAME.ganinv-PID-XXXXXXXX.tmp` (and a replaced folder
briefly as `.NAME.ganinv-old-PID`). A process killed mid-save leaves them behind; the next save into
the same folder removes those whose process is gone, so they never pile up. Only names with ganinv's
own marker are touched: an outside audit saw the cleanup of the older `.NAME.PID.XXXXXXXX.tmp` and
`.NAME.old-PID` patterns delete another program's temporary folder and rename a user's
`.zshrc.old-2023` to `zshrc` in the folder an `--out` file was written to.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import re
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Any, Iterator, Optional

from ganinv.errors import GaninvError, SourceError


def _default_mode(directory: bool = False) -> int:
    """The mode a plain open()/mkdir() would give under the current umask (mkstemp uses 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return (0o777 if directory else 0o666) & ~umask


MARK = "ganinv"  # in every name this module makes, and required of every name it removes or restores
TEMPORARY = re.compile(rf"^\.(?P<name>.+)\.{MARK}-(?P<pid>\d+)-[A-Za-z0-9_]{{8}}\.tmp$")  # mkstemp/mkdtemp names
REPLACED = re.compile(rf"^\.(?P<name>.+)\.{MARK}-old-(?P<pid>\d+)$")  # a folder moved aside by atomic_dir


# A temporary's name holds at most this many bytes of its target's: a name the file system takes (255 bytes) whole was
# refused as "File name too long", naming the temporary, the marks and pid added to it (an outside audit, 49a)
TEMPORARY_NAME_BYTES = 120


def temporary_prefix(path: Path) -> str:
    """`.NAME.ganinv-PID-`, NAME cut to TEMPORARY_NAME_BYTES (a temporary is removed by its pid, whatever its name)."""
    name = os.fsdecode(os.fsencode(path.name)[:TEMPORARY_NAME_BYTES])  # bytes: the limit is the file system's
    return f".{name}.{MARK}-{os.getpid()}-"


TEMPORARY_PART = re.compile(rf"(^|/)\.([^/]+)\.{MARK}-\d+-[^/]*?\.tmp(?=/|$)")


def as_target(path: str) -> str:
    """A path through one of this module's temporaries, as the target it stands in for: `run/.inverter.ganinv-3-x.tmp/
    generator` -> `run/inverter/generator` (a full disk was said naming the temporary: an outside audit, 51b)."""
    return TEMPORARY_PART.sub(r"\1\2", path)


def remove_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Remove the temporaries that killed saves left in `folder` (their process is gone); returns them.

    A folder moved aside whose replacement never arrived (killed between the two renames) is put back.
    """
    folder = Path(folder)
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    for entry in folder.iterdir():
        match = TEMPORARY.match(entry.name) or REPLACED.match(entry.name)
        if match is None or _process_alive(int(match["pid"])):
            continue
        target = folder / match["name"]
        if match.re is REPLACED and not target.exists():
            os.replace(entry, target)  # the only complete copy: restore it
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it replaces `path` in one rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path.parent)
    fd, tmp_name = tempfile.mkstemp(prefix=temporary_prefix(path), suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with _write_failures_as_os_errors(path):
            yield tmp
        os.chmod(tmp, _default_mode())
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


# How torch's zip writer and safetensors report a write the file system refused: not as an OSError.
WRITE_FAILURE_WORDS = ("file write failed", "unexpected pos", "No space left", "I/O error", "os error")


@contextlib.contextmanager
def _write_failures_as_os_errors(target: Path) -> Iterator[None]:
    """Turn a serializer's report of a refused write (a full disk, a quota) into the OSError it stands for, so
    that it reaches the user as the machine's refusal naming `target`, not as a bug in ganinv."""
    try:
        yield
    except OSError as exc:
        if exc.filename is None:  # numpy's savez and PIL's PNG writer name no file: the user is told which one
            exc.filename = str(target)
        raise
    except GaninvError:
        raise
    except Exception as exc:
        message = str(exc)
        if not any(word in message for word in WRITE_FAILURE_WORDS):
            raise
        reported = re.search(r"os error (\d+)", message)  # safetensors names the errno; torch's zip writer does not
        if reported:
            code = int(reported[1])
        else:
            code = errno.ENOSPC if "No space left" in message or _nearly_full(target.parent) else errno.EIO
        raise OSError(code, os.strerror(code), str(target)) from exc


def _nearly_full(folder: Path) -> bool:
    try:
        return shutil.disk_usage(folder).free < 16 * 2**20
    except OSError:
        return False


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


# Parsed JSON takes several times its text in memory; a Hub config or shard index is kilobytes, a big one megabytes.
MAX_JSON_CHARS = 16 * 2**20


def read_text(path: Path, encoding: str = "utf-8", largest: Optional[int] = 4 * MAX_JSON_CHARS) -> str:
    """The text of a config, index, spec, recipe or run file. What is no regular file is refused, naming the path:
    a FIFO in its place waited for a writer forever, from a folder or an artifact's own record (an outside audit),
    and a device such as /dev/zero never ends. So is a file far larger than any config (`largest`; None for a log
    that grows with its run, as metrics.jsonl). A missing file is the reader's FileNotFoundError, as before."""
    try:
        status = path.stat()
    except OSError:
        status = None  # missing, or unreadable: open() below says so as it always did
    if status is not None and not stat.S_ISREG(status.st_mode):
        raise SourceError(f"{path} is not a regular file (a FIFO, a device or a folder); give the file itself")
    if status is not None and largest is not None and status.st_size > largest:
        raise SourceError(f"{path} holds {status.st_size / 2**20:.0f} MiB, more than any config or index; refused")
    return path.read_text(encoding=encoding)


def parse_json(text: str) -> Any:
    """`json.loads` for text read from a file: what Python's parser cannot take (nesting deeper than its recursion
    limit, an integer of thousands of digits, text of more than MAX_JSON_CHARS) is a `json.JSONDecodeError` like
    any other invalid JSON, which every reader of a config already turns into one clear error naming the file."""
    if len(text) > MAX_JSON_CHARS:
        raise json.JSONDecodeError(f"{len(text) / 2**20:.0f} MiB, more than any config or index holds", "", 0)
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise
    except (RecursionError, ValueError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc).split(";")[0]
        raise json.JSONDecodeError(reason, text[:100], 0) from None


def json_text(data: Any, indent: Optional[int] = None) -> str:
    """`json.dumps`, refusing NaN and infinities (JSON has none) with an error naming the first one."""
    try:
        return json.dumps(data, indent=indent, allow_nan=False)
    except ValueError:
        where = _non_finite_key(data, "")
        if where is None:
            raise
        raise GaninvError(
            f"{where or 'the value'} is not a finite number, which JSON cannot hold: it comes from "
            "non-finite input or a computation that diverged; check the inputs and options "
            "(GANINV_DEBUG=1 shows where)"
        ) from None


def _non_finite_key(value: Any, where: str) -> Optional[str]:
    """The path (`a.b[2]`) of the first NaN or infinite float in a JSON-like value, or None."""
    if isinstance(value, float) and not math.isfinite(value):
        return where
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, (list, tuple)) else ()
    for key, item in items:
        found = _non_finite_key(item, f"{where}[{key}]" if isinstance(key, int) else f"{where}.{key}".lstrip("."))
        if found is not None:
            return found
    return None


def write_json(path: str | os.PathLike, data: Any) -> None:
    write_text(path, json_text(data, indent=2) + "\n")


def refuse_replacing_foreign(path: Path, replaces: frozenset[str]) -> None:
    """Refuse to replace `path` unless it is absent, or a folder holding only names in `replaces` (hidden ones too:
    a `.git` of a clone would go with the folder)."""
    if not os.path.lexists(path):
        return
    if path.is_symlink() or not path.is_dir():
        raise GaninvError(f"{path} exists and is not a folder; save to a new or empty folder, or remove it first")
    foreign = sorted(p.name for p in path.iterdir() if p.name not in replaces)
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise GaninvError(
            f"{path} holds files that are not a saved model's ({shown}), and saving would replace the folder "
            "whole; save to a new or empty folder"
        )


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike, replaces: Optional[frozenset[str]] = None) -> Iterator[Path]:
    """Yield a fresh temporary folder beside `path`; on success it takes `path`'s place.

    The old folder (if any) is moved aside first and removed only after the new one is in
    place, so at every instant either the old or the new complete folder exists. `replaces`: the
    names an existing folder at `path` may hold to be replaced (what the writer itself writes there);
    a folder holding anything else, or a file at `path`, is the user's and refused before anything
    is written (an outside audit: `save_pretrained` into a project folder deleted the project).
    """
    path = Path(path)
    if replaces is not None:
        refuse_replacing_foreign(path, replaces)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path.parent)
    tmp = Path(tempfile.mkdtemp(prefix=temporary_prefix(path), suffix=".tmp", dir=path.parent))
    try:
        with _write_failures_as_os_errors(path):
            yield tmp
        for inner in [tmp, *tmp.rglob("*")]:  # the umask's modes: safetensors' writer leaves its files 0600
            if not inner.is_symlink():
                os.chmod(inner, _default_mode(directory=inner.is_dir()))
        old = None
        if path.exists():
            old = path.with_name(f".{path.name}.{MARK}-old-{os.getpid()}")
            os.replace(path, old)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
