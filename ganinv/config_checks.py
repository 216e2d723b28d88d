"""Allowed values of options, written once per option and checked the same way everywhere.

A config dataclass declares each option's range in its field: `steps: int = checked(5000, flag="--steps", min=1)`.
Its `__post_init__` calls `check_config(self)`, which refuses a value of the wrong type (a string,
a bool or 3.5 for an integer, a list for a number), a NaN or infinite number and a value out of
range with a `ConfigError` naming the option as the user writes it: its flag and its recipe key.
Nested option tables (`[dreaming]`) given as dicts become their dataclass, unknown keys refused.
`click_type(Config, "steps")` is the click parameter type with the same range, so the command
line refuses the same values while reading its options, before anything is loaded or created.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import types
import typing
from dataclasses import MISSING
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Sequence

import click

from ganinv.errors import ConfigError, GaninvError, RunError

MAX_SEED = 2**32 - 1  # seeds are also numpy's, which stops there
# the largest float32: a learning rate past it is no float32 number (an outside audit: --lr 1e300 was an internal
# error, a run folder left); an update that overflows below it stops as diverged (divergence.overflow_stops)
MAX_LR = 3.4e38


@dataclasses.dataclass(frozen=True)
class Rule:
    """What a field accepts beyond its type: a flag naming it on the command line, a range, choices."""

    flag: Optional[str] = None  # "--steps"; None where no command has a flag for it
    min: Optional[float] = None
    max: Optional[float] = None
    min_open: bool = False  # min itself excluded
    max_open: bool = False
    choices: Optional[tuple[str, ...]] = None

    def describe_range(self) -> str:
        if self.min is not None and self.max is not None:
            low, high = "(" if self.min_open else "[", ")" if self.max_open else "]"
            return f" in {low}{_number(self.min)}, {_number(self.max)}{high}"
        if self.min is not None:
            return f" {'>' if self.min_open else '>='} {_number(self.min)}"
        if self.max is not None:
            return f" {'<' if self.max_open else '<='} {_number(self.max)}"
        return ""

    def in_range(self, value: float) -> bool:
        if self.min is not None and (value <= self.min if self.min_open else value < self.min):
            return False
        return not (self.max is not None and (value >= self.max if self.max_open else value > self.max))


def _number(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() and abs(bound) < 1e15 else f"{bound:g}"


# Bounds on a network's size, far above any useful encoder or critic (their defaults are 32-64 and 256-512): a width
# of 10**9, typed or in a run's config.json, was torch's allocator error for 64 GB (an outside audit).
MAX_WIDTH = 1024  # first convolution's channels (8x that at the deepest)
MAX_HIDDEN = 65536  # features of a fully connected layer
MAX_ITERATIONS = 20  # an iterative encoder's refinement passes: each costs a generator pass per image
# No integer option may exceed this, bounded or not: torch takes sizes as 64-bit integers, and an option fuzzer's
# `--batch-size 99999999999999999999` was an internal error (randn failing to unpack it) where 10**12 is already the
# machine's own out-of-memory line.
INT_LIMIT = 2**62


def checked(
    default: Any = MISSING,
    *,
    default_factory: Any = MISSING,
    flag: Optional[str] = None,
    min: Optional[float] = None,
    max: Optional[float] = None,
    min_open: bool = False,
    max_open: bool = False,
    choices: Optional[Sequence[str]] = None,
) -> Any:
    """A dataclass field with its allowed values (read by `check_config` and `click_type`)."""
    rule = Rule(flag, min, max, min_open, max_open, tuple(choices) if choices is not None else None)
    return dataclasses.field(default=default, default_factory=default_factory, metadata={"check": rule})


def known_options(cls: type, values: Any, where: str) -> dict[str, Any]:
    """`values` (a recipe table or a saved config) as keyword arguments of `cls`; unknown keys refused."""
    if not isinstance(values, dict):
        raise ConfigError(f"the {where} options must be a table of key = value, got {values!r}")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"unknown {where} option(s) {unknown}: remove or rename them; known: {sorted(known)}")
    return dict(values)


def check_config(config: Any, section: Optional[str] = None, recipe: bool = True) -> None:
    """Check (and normalise: ints to floats, lists to tuples, dicts to nested configs) every field of `config`.

    `section`: the recipe table the fields live in (`dreaming` for `[dreaming]`); `recipe=False`
    for configs no recipe builds, whose fields are then named `Class.field` beside their flag.
    """
    hints = typing.get_type_hints(type(config))
    for field in dataclasses.fields(config):
        rule = field.metadata.get("check", Rule())
        if recipe:
            label = recipe_label(rule, field.name, section)
        else:
            name = f"{type(config).__name__}.{field.name}"
            label = f"{rule.flag} ({name})" if rule.flag else name
        value = _checked_value(getattr(config, field.name), hints[field.name], rule, label, field)
        setattr(config, field.name, value)


def check_input_range(config: Any, name: str, recipe: bool = True) -> None:
    """A config's declared pixel range, (LO, HI) with LO < HI (a list of two finite numbers is checked by type)."""
    from ganinv.data.value_ranges import check_range
    from ganinv.errors import DataError

    value = getattr(config, name)
    if value is not None:
        try:
            setattr(config, name, check_range(value))
        except DataError as exc:
            rule = next(f for f in dataclasses.fields(config) if f.name == name).metadata["check"]
            label = recipe_label(rule, name, None) if recipe else f"{rule.flag} ({type(config).__name__}.{name})"
            raise ConfigError(f"{label}: {exc}") from None


def recipe_label(rule: Rule, name: str, section: Optional[str]) -> str:
    """An option as the user writes it: "--steps (recipe key steps)", "recipe key [dreaming] tau_start"."""
    key = f"[{section}] {name}" if section else name
    return f"{rule.flag} (recipe key {key})" if rule.flag else f"recipe key {key}"


def check_recipe_values(cls: type, values: dict[str, Any], section: Optional[str] = None) -> None:
    """Refuse a recipe's values of `cls`'s fields as `check_config` would, before flags replace some of them: a
    value a flag overrides is still the recipe's mistake (`steps = "ten"` beside `--steps 20`). Other keys are left
    to `known_options`."""
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        hint = _unwrap_optional(hints[field.name])[0]
        if field.name not in values or (isinstance(hint, type) and dataclasses.is_dataclass(hint)):
            continue
        rule = field.metadata.get("check", Rule())
        label = recipe_label(rule, field.name, section)
        _checked_value(values[field.name], hints[field.name], rule, label, field)


def _unwrap_optional(hint: Any) -> tuple[Any, bool]:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return args[0], len(args) < len(typing.get_args(hint))
    return hint, False


def _checked_value(value: Any, hint: Any, rule: Rule, label: str, field: dataclasses.Field) -> Any:
    hint, optional = _unwrap_optional(hint)
    if value is None and optional or hint is Any:
        return value
    origin = typing.get_origin(hint)

    def refuse(expected: str) -> ConfigError:
        shown = repr(value) if len(repr(value)) <= 80 else f"a {type(value).__name__}"
        model = (
            " (a loaded model goes to the function instead: fit(config, out, generator=G))"
            if "generator" in label and type(value).__module__.startswith(("ganinv", "torch"))
            else ""
        )
        return ConfigError(f"{label} must be {expected}; got {shown}{model}")

    if isinstance(hint, type) and dataclasses.is_dataclass(hint):  # a hint is a class, not an instance
        if isinstance(value, hint):
            return value
        base = field.default_factory() if field.default_factory is not MISSING else hint()
        return dataclasses.replace(base, **known_options(hint, value, f"[{field.name}]"))
    if hint is bool:
        if not isinstance(value, bool):
            raise refuse("true or false")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise refuse("a string")
        if rule.choices is not None and value not in rule.choices:
            raise refuse("one of " + ", ".join(rule.choices))
        return value
    if hint is int:
        if not isinstance(value, int) or isinstance(value, bool) or not rule.in_range(value):
            raise refuse("an integer" + rule.describe_range())
        if abs(value) > INT_LIMIT:
            raise refuse(f"an integer no larger than 2**62 ({INT_LIMIT})")
        return value
    if hint is float:
        if (
            not isinstance(value, (int, float))
            or isinstance(value, bool)
            or not math.isfinite(value)
            or not rule.in_range(value)
        ):
            raise refuse("a finite number" + rule.describe_range())
        return float(value)
    if origin is dict:
        if not isinstance(value, dict):
            raise refuse("a table of key = value")
        return value
    if origin is tuple:
        size = len(typing.get_args(hint))
        expected = f"a list of {size} finite numbers" + rule.describe_range()
        if not isinstance(value, (list, tuple)) or len(value) != size:
            raise refuse(expected)
        if not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and rule.in_range(v)
            for v in value
        ):
            raise refuse(expected)
        return tuple(float(v) for v in value)
    raise TypeError(f"check_config cannot check {label} of type {hint!r}")  # a new field type: teach it here


# ---- the command line --------------------------------------------------------------------------------------
class FiniteFloatRange(click.FloatRange):
    """click.FloatRange that also refuses nan and inf (which compare False with every bound)."""

    name = "float"

    def convert(self, value: Any, param: Optional[click.Parameter], ctx: Optional[click.Context]) -> Any:
        number = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number):
            bounded = self.min is not None or self.max is not None
            self.fail(
                f"{value!r} is not a finite number; give one{f' in {self._describe_range()}' if bounded else ''}.",
                param,
                ctx,
            )
        return super().convert(number, param, ctx)


class LimitedIntRange(click.IntRange):
    """click.IntRange that also refuses integers beyond `INT_LIMIT` (which its help leaves unsaid)."""

    def convert(self, value: Any, param: Optional[click.Parameter], ctx: Optional[click.Context]) -> Any:
        number = click.INT.convert(value, param, ctx)
        if abs(number) > INT_LIMIT:
            self.fail(f"{number} is larger than any size or count ganinv takes (2**62).", param, ctx)
        return super().convert(number, param, ctx)


def click_type(cls: type, name: str) -> click.ParamType:
    """The click type of option `name` of config dataclass `cls`: the same type and range `check_config` applies."""
    field = {f.name: f for f in dataclasses.fields(cls)}[name]
    rule = field.metadata.get("check", Rule())
    hint, _ = _unwrap_optional(typing.get_type_hints(cls)[name])
    if rule.choices is not None:
        return click.Choice(list(rule.choices))
    if hint is int:
        return LimitedIntRange(
            None if rule.min is None else int(rule.min),
            None if rule.max is None else int(rule.max),
            min_open=rule.min_open,
            max_open=rule.max_open,
        )
    if hint is float:
        return FiniteFloatRange(rule.min, rule.max, min_open=rule.min_open, max_open=rule.max_open)
    raise TypeError(f"no click type for {cls.__name__}.{name} of type {hint!r}")


def config_option(flag: str, config: Any, name: str, help: str) -> Callable[[Callable], Callable]:
    """The click option `flag` for field `name` of the config dataclass instance `config` (e.g. `FitConfig()` or
    its `.dreaming`): type, range and default all come from the dataclass, so each is written once."""
    return click.option(
        flag, type=click_type(type(config), name), default=getattr(config, name), show_default=True, help=help
    )


# ---- resuming ----------------------------------------------------------------------------------------------
RUN_KINDS = {"fit": "`ganinv fit`", "train": "`ganinv train`", "mvae": "`ganinv mvae fit`"}  # config.json key


@contextlib.contextmanager
def values_from_run(folder: Any) -> Iterator[None]:
    """Name run folder `folder`'s config.json in a `ConfigError` its saved values raise (when resumed)."""
    try:
        yield
    except ConfigError as exc:
        raise ConfigError(
            f"{folder}/config.json holds a value the run cannot have been started with (was it edited?): "
            f"{exc}; restore the file, or start a new run with another --out"
        ) from None


def saved_options(run: Any, kind: str) -> dict[str, Any]:
    """The options run folder `run` (a ganinv.runs.Run) was started with, refusing a folder of another kind."""
    try:
        saved = run.reopen()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RunError(f"{run.folder}/config.json is not valid JSON ({exc}); it cannot be resumed") from None
    if isinstance(saved, dict) and isinstance(saved.get(kind), dict):
        from ganinv.generator_reference import refuse_a_path_to_read

        try:  # a run's record holds a spec's fields, never a file for ganinv to read (an outside audit, 43c)
            refuse_a_path_to_read(saved[kind].get("options"), f"{run.folder}/config.json")
        except GaninvError:
            run.release()
            raise
        return saved[kind]
    run.release()  # not this kind's run: the folder is not ours to hold (the error may keep `run` alive)
    held = [name for name in RUN_KINDS if isinstance(saved, dict) and name in saved]
    if held == [kind]:  # this kind's entry, but no table: "holds a `ganinv fit` run, not a `ganinv fit` run"
        raise RunError(
            f"{run.folder}/config.json is damaged or edited: its {kind!r} entry is a JSON "
            f"{type(saved[kind]).__name__}, not a table of options; it cannot be resumed"
        )
    if not held:
        raise RunError(
            f"{run.folder} does not hold a ganinv run (its config.json names none of "
            f"{', '.join(RUN_KINDS)}); it cannot be resumed"
        )
    raise RunError(
        f"{run.folder} holds a {RUN_KINDS[held[0]]} run, not a {RUN_KINDS[kind]} run; resume it with "
        f"{RUN_KINDS[held[0]][:-1]} --resume --out {run.folder}`, or choose another --out"
    )


def plain(value: Any) -> Any:
    """A value as its JSON reads back: tuples as lists, paths and other objects as strings (what a run saved)."""
    return json.loads(json.dumps(value, default=str))


def config_of_type(config: Any, cls: type, function: str) -> None:
    """Refuse a `config` that is not a `cls` (a dict gave "'dict' object has no attribute 'device'")."""
    if not isinstance(config, cls):
        raise ConfigError(
            f"{function}() takes a {cls.__name__}, not {type(config).__name__}; build one with {cls.__name__}(...) "
            f"or {cls.__name__}.from_dict(values)"
        )


def changed_on_resume(
    given: dict[str, tuple[tuple[str, ...], Any]], saved: dict[str, Any], flags: dict[str, str]
) -> list[str]:
    """The options given to `--resume` that differ from the run's saved ones, as "--flag (the run's: VALUE)".

    `given`: parameter name -> (its path in the saved options, e.g. ("dreaming", "beta"), the value given); `flags`:
    parameter name -> its flag. The up-arrow retry of an interrupted command with `--resume` added repeats every
    option: those with the saved value are no change (an outside audit saw that retry refused)."""

    changed = []
    for name, (path, value) in sorted(given.items()):
        where: Any = saved
        for part in path:
            where = where.get(part, MISSING) if isinstance(where, dict) else MISSING
        if where is MISSING or (plain(where) != plain(value) and not same_path(where, value)):
            shown = "" if where is MISSING else f" (the run's: {json.dumps(plain(where))})"
            if isinstance(where, dict) and isinstance(value, dict):  # `--option` entries: the ones that differ
                keys = sorted(k for k in set(where) | set(value) if plain(where.get(k)) != plain(value.get(k)))
                shown = " (" + "; ".join(f"{k}: {entry_change(k, where, value, repr)}" for k in keys) + ")"
            changed.append(f"{flags.get(name, '--' + name.replace('_', '-'))}{shown}")
    return changed


def entry_change(key: str, was: dict[str, Any], now: dict[str, Any], show: Callable[[Any], str]) -> str:
    """How one entry of a table differs on resume: "the run's A, given B", or "not given" / "not in the run" where one
    side lacks it (it had said "given None" of a key the run's recipe gave: an outside audit)."""
    run = f"the run's {show(was[key])}" if key in was else "not in the run"
    return f"{run}, given {show(now[key])}" if key in now else f"{run}, not given"


def same_generator(given: str, saved: Any, alternatives: tuple[str, ...] = ()) -> bool:
    """Whether `--generator given`, typed with `--resume`, names the run's saved generator `saved`.

    The same string (or one of `alternatives`, e.g. the Hub id pinned at the run's commit), two spellings of one
    local file or folder (`./gen.pth` and `gen.pth`, an absolute path), or, where the run's is a relative path that
    names nothing from this folder (the run was started elsewhere), any existing local path: each with the same
    `#ENTRY`. The run checks the file's sha256 against the one it recorded either way (`Run.check_same_inputs`)."""
    if given == saved or given in alternatives:
        return True
    if not isinstance(saved, str):
        return False
    from ganinv.sources.common import split_entry  # the one reading of #ENTRY: a '#' in a path is the path's

    (given_path, given_entry), (saved_path, saved_entry) = split_entry(given), split_entry(saved)
    if given_entry != saved_entry or given.startswith(("hub:", "builtin:")) or saved.startswith(("hub:", "builtin:")):
        return False
    if same_path(given_path, saved_path):  # False where either is missing, or a module:callable
        return True
    # the run's relative path, started in another folder (a name with ":" is a module:callable): `-g` says where
    # that file is from here
    moved = ":" not in saved_path and not os.path.isabs(saved_path) and not os.path.lexists(saved_path)
    return moved and os.path.exists(given_path)


def started_elsewhere(generator: Any) -> bool:
    """Whether a run's generator is a relative path that names nothing from this folder (builtin:, hub:,
    module:callable and absolute paths are the same from any folder)."""
    if not isinstance(generator, str) or ":" in generator or Path(generator).is_absolute():
        return False
    from ganinv.sources.common import split_entry

    return not os.path.lexists(split_entry(generator)[0])


def check_run_generator_here(generator: Any, out: str) -> None:
    """Refuse, saying where the name comes from, a run's generator recorded as a relative path that names nothing
    from this folder: the run was started elsewhere (an outside audit: "cannot resolve generator source 'gdir10'"
    named a source the user never typed in the command). `-g PATH` says where it is from here."""
    if not started_elsewhere(generator):
        return
    from ganinv.sources.common import split_entry

    path = split_entry(str(generator))[0]
    raise RunError(
        f"the run's {Path(out) / 'config.json'} names its generator {generator!r}, a path relative to the folder the "
        f"run was started from, and there is no {path} in {Path.cwd()}; resume from the folder it was started "
        "from (with --out as seen from there), or give --generator with the path of that file from here"
    )


RESUME_MAY_CHANGE = frozenset({"steps", "device", "trust_remote_code"})  # what a resumed run may be given anew


def refuse_changed_config(run_folder: Any, saved: dict[str, Any], config: dict[str, Any]) -> None:
    """Refuse to resume the run in `run_folder` (saved options `saved`) with other options than it was started with,
    naming each: the command line refused them, but the Python API (`fit(config, out, resume=True)`) continued with
    another learning rate and sigma_x in silence, its config.json still saying the old ones (an outside audit). The
    generator is compared as the same file (`same_generator`); its bytes are checked by the run's sha256."""

    differ = []
    for name, value in sorted(config.items()):
        if name in RESUME_MAY_CHANGE or name not in saved:
            continue
        if name == "generator" and isinstance(value, str) and same_generator(value, saved[name]):
            continue
        was, now = plain(saved[name]), plain(value)
        if same_value(was, now):
            continue
        if isinstance(was, dict) and isinstance(now, dict):  # [dreaming], [augment], options: the fields that differ
            keys = sorted(k for k in set(was) | set(now) if not same_value(was.get(k, MISSING), now.get(k, MISSING)))
            differ += [f"{name}.{k} ({entry_change(k, was, now, json.dumps)})" for k in keys]
        else:
            differ.append(f"{name} (the run's {json.dumps(was)}, given {json.dumps(now)})")
    if differ:
        raise RunError(
            f"{run_folder} is resumed with other options than it was started with: {'; '.join(differ)}; resume with "
            "the run's own (only steps, device and trust_remote_code may change), or start a new run"
        )


def same_value(a: Any, b: Any) -> bool:
    """Equal as options: the same JSON, or a string and a number or bool that read alike (`--option nz=62` is saved as
    "62", a Python caller gives 62: an outside audit saw that resume refused)."""
    if a == b:
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return set(a) == set(b) and all(same_value(a[k], b[k]) for k in a)
    if isinstance(a, str) == isinstance(b, str):
        return False
    text, other = (a, b) if isinstance(a, str) else (b, a)
    if isinstance(other, bool):
        return text.strip().lower() == str(other).lower()
    if isinstance(other, (int, float)):
        try:
            return float(text) == float(other)
        except ValueError:
            return False
    return False


def same_path(a: Any, b: Any) -> bool:
    """Two strings naming one existing file or folder (`data/mnist/` and `data/mnist`, an absolute path): the same
    `--root` or `--data` given again on `--resume` (an outside audit saw a trailing slash refused as a change)."""
    if not (isinstance(a, str) and isinstance(b, str)) or not a or not b:
        return False
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False
