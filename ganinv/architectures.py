"""The adapter registry: the one place the core meets particular architectures.

An adapter (a file in the top-level `adapters/` folder, installed as `ganinv.adapters`)
registers an `Architecture`: a typed options dataclass, a `build` that makes the native
module and its spec, and optionally key conversion and option inference for state dicts
saved by other codebases. The core asks the registry by name and never imports an
adapter module directly.

The native module is called as `net(z, c, d)`: `z` in the native prior and shape, `c`
(N, nc) or None, `d` (N, K) one-hot (or soft one-hot) or None. It returns images in the
native output range.

What an adapter decides that the weights do not state (a stride, an activation, how a label
enters) it returns from `infer_options` as decisions (`decision(...)` under the key
`DECISIONS`): the property, its value, its source ("weights", "batchnorm statistics, margin
M", "assumed: <convention>") and the option that changes it. They land in the generator's
`meta["decisions"]`, and each assumption is announced with an `AssumptionWarning`.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
import time
import warnings
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping, Optional

import torch
from torch import nn

from ganinv import status
from ganinv.errors import ArchitectureError
from ganinv.spec import GeneratorSpec
from ganinv.status import said_if_slow


@dataclass
class Built:
    net: nn.Module  # the native module, called as net(z_native, c, d)
    spec: GeneratorSpec
    decisions: list = dataclasses.field(default_factory=list)  # what inference decided, see `decision`


DECISIONS = "decisions"  # the key under which `infer_options` returns its decisions


class AmbiguousWeightsError(ArchitectureError):
    """Weights that fit two candidate nets almost equally well: the user must choose."""


class DamagedWeightsError(ArchitectureError):
    """Weights in an adapter's layout whose tensors contradict each other: damaged, whatever else might read them."""


class NotAGeneratorError(ArchitectureError):
    """Weights an adapter's layout would take, shaped as no generator is (a critic's or a classifier's)."""


class AssumptionWarning(UserWarning):
    """A property of a loaded generator that nothing in its file decided: ganinv assumed it."""


def decision(prop: str, value: Any, source: str, flag: str) -> dict[str, Any]:
    """One decided property: source is "weights", "batchnorm statistics, margin M" or "assumed: <why>"."""
    return {
        "property": prop,
        "value": list(value) if isinstance(value, tuple) else value,
        "source": source,
        "flag": flag,
    }


def prior_assumed(given: Mapping[str, Any], what: str) -> list[dict[str, Any]]:
    """The N(0, I) prior of a generator that records nothing of its latents (a program, a callable, a model class),
    as an assumption, unless --prior (`native_prior`) gave it: a U(-1, 1) program loaded 1.575 off in silence (an
    outside audit). A scale given alone (`native_prior_scale`) is the user's N(0, S^2 I), not N(0, I) assumed."""
    if given.get("native_prior") is not None or given.get("native_prior_scale") is not None:
        return []
    return [
        decision(
            "prior",
            "normal",
            f"assumed: N(0, I) latents (and codes), as {what} records nothing of the latents it was trained on",
            "--prior uniform:-1,1 or --prior uniform:0,1",
        )
    ]


def warn_assumptions(decisions: list[dict[str, Any]]) -> None:
    """One AssumptionWarning per decision that was assumed rather than read or identified."""
    for d in decisions:
        if str(d.get("source", "")).startswith("assumed"):
            warnings.warn(
                f"{d['property']} {shown(d['value'])}: {d['source']}; if the author's differs, pass {d['flag']}",
                AssumptionWarning,
                stacklevel=3,
            )


class Architecture:
    """Base class of a registered generator family. Subclasses set `name` and `Options`."""

    name: ClassVar[str]
    Options: ClassVar[type]  # a dataclass of typed, defaulted options
    summary: ClassVar[str] = ""
    aliases: ClassVar[dict[str, str]] = {}  # other codebases' names for options, e.g. {"ngf": "width"}
    # options the weights do not state (the adapter checks a config's values against them through a rule): a
    # config's value is never "where the weights have" the default
    unread_options: ClassVar[frozenset[str]] = frozenset()
    # True where the layout's keys name every computation (no activation or stride is left for a pickled module's
    # layer records to state), so that layers other adapters do not model are no reason to refuse it
    reads_every_layer: ClassVar[bool] = False
    # the colour order its code base trains on, where one is known (their loaders read images with PIL: RGB); ""
    # where the family is many authors' (a DCGAN trained on OpenCV's BGR images loads exactly, and every colour figure
    # is then of swapped channels: an outside audit, 57a), and an RGB reading of its weights is announced
    channel_order: ClassVar[str] = ""

    def build(self, options: Any) -> Built:
        raise NotImplementedError

    def convert_state_dict(self, state_dict: dict[str, torch.Tensor], options: Any) -> dict[str, torch.Tensor]:
        """Rename keys of public layouts to this architecture's own; default: unchanged."""
        return state_dict

    def infer_options(self, state_dict: Mapping[str, torch.Tensor], given: dict[str, Any]) -> dict[str, Any]:
        """Fill options the user did not give from tensor shapes; default: nothing inferred."""
        return dict(given)

    def options_from_spec(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        """Options that spec fields the user gave settle (`--prior uniform:-1,1` is this family's `prior` option,
        which then is not read from the weights); default: none."""
        return {}

    # -- helpers shared by every adapter ------------------------------------------------
    def make_options(self, values: Mapping[str, Any]) -> Any:
        fields = {f.name: f for f in dataclasses.fields(self.Options)}
        unknown = sorted(set(values) - set(fields))
        if unknown:
            raise ArchitectureError(
                f"architecture {self.name!r} has no option(s) {unknown}; its options are {sorted(fields)}"
            )
        return self.Options(**{k: _coerce(v, fields[k]) for k, v in values.items()})


# How an option's true and false are written (command line, configs, a callable's --option): one reading everywhere
TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off"})
MAX_INT_OPTION = 1 << 20  # no size, width or count of a generator is larger; a config saying so is wrong


def _coerce(value: Any, field: dataclasses.Field) -> Any:
    """Options may come from the command line as strings ("64", "2,1,2,2", "true"), and from configs as anything:
    integers must be whole numbers in [0, MAX_INT_OPTION] (a Hub config's nz of 1e12 would be allocated first)."""
    kind = str(field.type)
    try:
        if isinstance(value, str):
            if "tuple" in kind or "list" in kind:
                parts = [p for p in value.replace(" ", "").split(",") if p and p.lower() != "none"]  # none: ()
                value = tuple(float(p) if "float" in kind else int(p) for p in parts)
            elif kind.startswith("bool") or kind == "<class 'bool'>":
                if value.strip().lower() not in TRUE_WORDS | FALSE_WORDS:  # "ture" had been False, in silence
                    raise ArchitectureError(f"option {field.name}={value!r} is not true or false; give one of them")
                value = value.strip().lower() in TRUE_WORDS
            elif kind.startswith("int") or kind == "<class 'int'>":
                value = int(value)
            elif kind.startswith("float") or kind == "<class 'float'>":
                value = float(value)
    except ValueError:
        what = "comma-separated numbers" if "tuple" in kind or "list" in kind else "a number"
        raise ArchitectureError(f"option {field.name}={value!r} is not {what}") from None
    value = _checked_type(value, field.name, kind)
    whole = [v for v in (value if isinstance(value, (tuple, list)) else [value]) if isinstance(v, int)]
    if "int" in kind and any(not 0 <= v <= MAX_INT_OPTION for v in whole if not isinstance(v, bool)):
        raise ArchitectureError(
            f"option {field.name}={value!r} is out of range: whole numbers in [0, {MAX_INT_OPTION}]; fix the option "
            "or the config that gives it"
        )
    return value


def _checked_type(value: Any, name: str, kind: str) -> Any:
    """A config's value of the option's type: a whole number for an int (16.0 is 16; 16.7, NaN or [16] are refused),
    a finite number for a float (an eps above 0), a list of whole numbers for a tuple of ints."""

    def whole(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v != int(v):
            raise ArchitectureError(f"option {name}={value!r} is not a whole number; fix the option or the config")
        return int(v)

    if kind == "int":
        return whole(value)
    if kind == "tuple[int, ...]":
        if not isinstance(value, (list, tuple)):
            raise ArchitectureError(f"option {name}={value!r} is not a list of whole numbers, e.g. 1,2,2,2")
        return tuple(whole(v) for v in value)
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ArchitectureError(f"option {name}={value!r} is not a finite number; fix the option or the config")
        if name.endswith("eps") and value <= 0:
            raise ArchitectureError(f"option {name}={value!r} must be above 0 (BatchNorm's eps, e.g. 1e-5)")
        return float(value)
    return value


_REGISTRY: dict[str, Architecture] = {}


def register(cls: type[Architecture]) -> type[Architecture]:
    """Class decorator used by adapters: `@register class DCGAN(Architecture): ...`."""
    _REGISTRY[cls.name] = cls()
    return cls


def _load_adapters() -> None:
    importlib.import_module("ganinv.adapters")  # its __init__ imports every adapter file


def get(name: str) -> Architecture:
    _load_adapters()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ArchitectureError(f"unknown architecture {name!r}; known: {', '.join(sorted(_REGISTRY))}") from None


def names() -> list[str]:
    _load_adapters()
    return sorted(_REGISTRY)


def options_to_dict(options: Any) -> dict[str, Any]:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(options).items()}


def decided_options(prop: str) -> set[str]:
    """The options a decision of `prop` sets (a geometry: the strides and paddings)."""
    return {"strides", "paddings", "output_paddings"} if prop in ("geometry", "output_geometry") else {prop}


def decided_as_flags(options: Mapping[str, Any], decisions: list[dict[str, Any]]) -> str:
    """`--option KEY=VALUE` for each option a decision settled (a geometry: the strides and paddings), with the values
    `ganinv inspect` shows; given, they leave nothing to search."""
    decided = {option for d in decisions for option in decided_options(d["property"])}
    return " ".join(f"--option {k}={shown(v)}" for k, v in options.items() if k in decided)


def shown(value: Any) -> str:
    """An option's or decision's value as the command line writes it: a list or tuple comma-separated."""
    return ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def describe_mismatch(
    expected: Mapping[str, tuple[int, ...]], found: Mapping[str, tuple[int, ...]], shown: int = 3
) -> Optional[str]:
    """The first few missing, unexpected and mis-shaped tensors (shapes: found vs expected), or None when the
    two state-dict layouts agree. The one wording of every strict load's error."""
    missing = [k for k in expected if k not in found]
    unexpected = [k for k in found if k not in expected]
    misshaped = [
        f"{k} {tuple(found[k])} vs {tuple(v)}"
        for k, v in expected.items()
        if k in found and tuple(found[k]) != tuple(v)
    ]
    parts = []
    for label, items in (("missing", missing), ("unexpected", unexpected), ("mis-shaped", misshaped)):
        if items:
            more = f" (+{len(items) - shown} more)" if len(items) > shown else ""
            parts.append(f"{label}: {', '.join(items[:shown])}{more}")
    return "; ".join(parts) or None


def shapes(state_dict: Mapping[str, torch.Tensor]) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in state_dict.items()}


def load_weights(net: nn.Module, state_dict: Mapping[str, torch.Tensor], arch: str, options: Any) -> None:
    """Strict load with an error naming the first few missing, unexpected and mis-shaped keys."""
    mismatch = describe_mismatch(shapes(net.state_dict()), shapes(state_dict))
    if mismatch:
        raise ArchitectureError(
            f"weights do not fit architecture {arch!r} with options {options_to_dict(options)}: {mismatch}"
        )
    net.load_state_dict(state_dict, strict=True)


# What ganinv read of a generator, by architecture, before it decided a property: a record (an artifact's generator
# reference, a saved ganinv folder) that does not decide it was made on this reading. A flat colour program output was
# always (C, H, W) before its layout was read; an upsample+conv net always upsampled nearest before the statistics
# read bilinear (an old folder's net switched to bilinear in silence, 0.29 off its inverter's: a review)
READ_BEFORE_DECIDED: dict[str, dict[str, str]] = {"opaque": {"image_layout": "chw"}, "upconv": {"upsample": "nearest"}}


def build_generator_net(
    arch: str,
    options: Mapping[str, Any],
    state_dict: Optional[Mapping[str, torch.Tensor]] = None,
    spec: Optional[Mapping[str, Any]] = None,
) -> tuple[Built, Any]:
    """Make an architecture's native module, fill inferred options, and load weights if given. `spec` holds the
    spec fields the user gave (--prior, ...): the options they settle are not inferred."""
    architecture = get(arch)
    given = {**options, **architecture.options_from_spec(spec or {})}
    decisions: list = []
    if state_dict is not None:
        values = sum(t.numel() for t in state_dict.values() if isinstance(t, torch.Tensor))
        started = time.perf_counter()
        with said_if_slow(f"reading the {arch} generator's architecture from its weights ({values / 1e6:.1f}M values)"):
            inferred = dict(architecture.infer_options(state_dict, given))
        decisions = inferred.pop(DECISIONS, [])
        flags = decided_as_flags(inferred, decisions)
        if flags and time.perf_counter() - started >= status.SLOW_AFTER_S:
            # what was assumed is in the line too: copied as it stands, it pinned an assumed last stage, the wrong
            # image side, and its warning was gone (an outside audit, 51a)
            # named as the line names them: the options of each assumed decision that the line gives (a review, 52a)
            assumed = sorted(
                {
                    option
                    for d in decisions
                    if str(d.get("source", "")).startswith("assumed")
                    for option in decided_options(d["property"])
                    if option in inferred
                }
            )
            caveat = (
                f" (of these, {', '.join(assumed)} {'was' if len(assumed) == 1 else 'were'} assumed, not read from the "
                "weights: check the warnings against the author's code first)"
                if assumed
                else ""
            )
            status.status_log.info(f"to skip this reading next time, give what it decided: {flags}{caveat}")
        given = inferred
    opts = architecture.make_options(given)
    try:
        built = architecture.build(opts)
    except ValueError as exc:  # the spec's own bounds: options from a file (a checkpoint's hyper_parameters with
        # an image side of 100000) ended in an internal error (an outside audit, 53a)
        raise ArchitectureError(f"options {options_to_dict(opts)} make no generator: {exc}") from None
    if state_dict is not None:
        converted = architecture.convert_state_dict(dict(state_dict), opts)
        load_weights(built.net, converted, arch, opts)
    if state_dict is not None and not architecture.channel_order and "native_channel_order" not in (spec or {}):
        decisions = decisions + channel_order_decision(built.spec.image_shape[0])
    built.decisions = decisions
    warn_assumptions(decisions)
    return built, opts


def channel_order_decision(channels: int) -> list[dict[str, Any]]:
    """The colour order of a 3-channel generator read from weights, which no statistic tells: assumed RGB."""
    if channels != 3:
        return []
    return [
        decision(
            "channel_order",
            "rgb",
            "assumed: red, green, blue (no statistic tells red from blue)",
            "--option spec.native_channel_order=bgr for a net trained on OpenCV's BGR images",
        )
    ]
