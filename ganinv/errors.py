"""Errors a user can act on.

Every error ganinv raises for bad input is a `GaninvError`: the CLI prints its message as
one line, `Error: ...`, and exits non-zero without a traceback (set `GANINV_DEBUG=1` to
see one). Messages say what went wrong *and* what to do instead.
"""

from __future__ import annotations

import errno

TORCHSCRIPT_PREAMBLE = "The following operation failed in the TorchScript interpreter."


def indices_text(rows: list[int], shown: int = 5) -> str:
    """ "index 3" or "indices 3, 7, 12, ..." (the first `shown`): which images a message is about."""
    listed = ", ".join(map(str, rows[:shown])) + (", ..." if len(rows) > shown else "")
    return f"index {listed}" if len(rows) == 1 else f"indices {listed}"


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type's name when it has none), for one-line errors. A
    TorchScript program's error opens with the same sentence whatever went wrong, and ends with the cause
    (`RuntimeError: shape '[16, 8, 1, 1]' is invalid for input of size 16`): that line is taken."""
    text = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    if text and text[0] == TORCHSCRIPT_PREAMBLE and len(text) > 1:
        return text[-1]
    return text[0] if text else type(exc).__name__


class GaninvError(Exception):
    """Base class: a problem with the user's input, not a bug in ganinv."""

    exit_code = 2


class SourceError(GaninvError):
    """A generator or artifact source that cannot be resolved or read."""


class ArchitectureError(GaninvError):
    """Weights that do not fit the architecture (missing, unexpected or mis-shaped tensors)."""


class SpecMismatchError(GaninvError):
    """A generator whose probe batch breaks its declared spec (shape, range, finiteness)."""


class UnsafeFileError(GaninvError):
    """A file that could run code when loaded, refused without an explicit trust flag."""


class DataError(GaninvError):
    """Images or datasets that cannot be read or do not fit the generator."""


class RunError(GaninvError):
    """A run folder in a state that does not allow the requested action."""


class ConfigError(GaninvError):
    """An option (flag, recipe key or config field) of the wrong type or outside its allowed range."""


class ArgumentError(ConfigError, ValueError):
    """A Python API argument of the wrong type or outside its range: one of ganinv's errors, and a ValueError as
    Python's own argument errors are (an outside audit: `except GaninvError` missed them)."""


def require_torch_generator(generator: object, name: str = "generator") -> None:
    """Refuse a seed given where a `torch.Generator` is taken (`generator=0` ended in an AttributeError)."""
    if generator is not None and not (hasattr(generator, "manual_seed") and hasattr(generator, "device")):
        raise ArgumentError(
            f"{name} must be a torch.Generator, e.g. torch.Generator().manual_seed(0), not {type(generator).__name__}"
        )


def require_whole(value: object, name: str, least: int = 0) -> int:
    """A whole number >= `least` (not a bool: True is no count), as an int; else an `ArgumentError` naming it."""
    import operator

    try:  # ints, numpy's and 0-d integer tensors (they have __index__); not floats, not bools
        number = None if isinstance(value, bool) else operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        number = None
    if number is None or number < least:
        raise ArgumentError(f"{name} must be a whole number >= {least}, got {value!r}")
    return number


def require_bool(value: object, name: str) -> bool:
    """A real bool (numpy's too): `"no"` or `"false"` from a setting is truthy, and had been taken as True (an outside
    audit, 53c; trust_remote_code's own rule)."""
    import numpy

    if isinstance(value, numpy.bool_):
        value = bool(value)
    if not isinstance(value, bool):
        raise ArgumentError(
            f"{name} must be True or False, got {value!r} ({type(value).__name__}); convert a string yourself "
            f"({name}=value == 'true')"
        )
    return value


def require_instance(value: object, kind: type, name: str, how: str) -> None:
    """Refuse an argument of another type than `kind`, saying `how` to make one (a string given for an Inverter
    ended in "'str' object has no attribute 'passes'": an outside audit, 53c)."""
    if not isinstance(value, kind):
        article = "an" if kind.__name__[0] in "AEIOU" else "a"
        raise ArgumentError(f"{name} must be {article} {kind.__name__} ({how}), not {type(value).__name__}")


class DivergedError(GaninvError):
    """A training run whose loss or weights stopped being finite; the last good checkpoint is kept."""


def out_of_resources(exc: BaseException) -> bool:
    """Whether an error is the machine's, not the file's: memory (MemoryError, ENOMEM, torch's allocator, a library
    that could not be mapped under an address-space limit), file descriptors, disk space."""
    text = str(exc).lower()
    return (
        isinstance(exc, MemoryError)
        or (isinstance(exc, OSError) and exc.errno in (errno.ENOMEM, errno.EMFILE, errno.ENFILE, errno.ENOSPC))
        or any(
            words in text
            for words in ("cannot allocate memory", "can't allocate memory", "out of memory", "failed to map segment")
        )
    )
