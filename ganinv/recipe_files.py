"""Reading recipe files: the one TOML reader of `fit`, `train`, `mvae fit` and `bench` recipes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ganinv.atomic import read_text
from ganinv.errors import ConfigError

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

BYTE_ORDER_MARK = "\ufeff"  # what Windows Notepad writes before UTF-8 text; TOML has no use for it


def read_toml(path: str | Path, layout: str) -> dict[str, Any]:
    """The tables of recipe `path`; an unreadable file or invalid TOML is one ConfigError saying what to do.
    `layout`: how such a recipe is written, for the message."""
    try:
        text = read_text(Path(path))
    except OSError as exc:
        raise ConfigError(f"cannot read recipe {path}: {exc.strerror or exc}; check the path") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"recipe {path} is not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8"
        ) from None
    try:
        return tomllib.loads(text.removeprefix(BYTE_ORDER_MARK))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"recipe {path} is not valid TOML ({exc}); write it as {layout}") from None
    except RecursionError:  # 50,000 nested arrays ended in an internal error (an outside audit)
        raise ConfigError(f"recipe {path} nests its values too deeply to read; write it as {layout}") from None
