"""Spec fields the user or a sidecar gives (`--nz`, `--image-shape`, `--spec FILE`, `FILE.json` beside a
program or weights): parsed as data, checked against the spec's fields, and applied over what a loader read.
"""

from __future__ import annotations

import dataclasses
import json
import os
import warnings
from pathlib import Path
from typing import Any, Mapping, Optional

from ganinv.atomic import parse_json, read_text
from ganinv.errors import (
    ConfigError,
    SourceError,
)
from ganinv.generator import Generator
from ganinv.sources.common import SPEC_NAME, jsonable
from ganinv.spec import PRIORS, GeneratorSpec, latent_shape_conflict


def batchnorm_option(value: Any) -> Optional[str]:
    """`--option bn=train`: BatchNorm uses each batch's statistics, as generators that never call eval() sample;
    `bn=eval` (the default): the stored running statistics."""
    if value is None:
        return None
    if str(value).lower() not in ("train", "eval"):
        raise SourceError(f"--option bn={value}: give bn=train (batch statistics) or bn=eval (running statistics)")
    return str(value).lower()


SPEC_FIELDS = {f.name: f for f in dataclasses.fields(GeneratorSpec)}
# the flags that give spec fields; any other field is given as --option spec.FIELD=VALUE
SPEC_FLAGS = {
    "nz": "--nz",
    "native_latent_shape": "--latent-shape",
    "image_shape": "--image-shape",
    "native_output_range": "--output-range",
    "native_prior": "--prior",  # with native_prior_range: --prior KIND:LO,HI
}


def said_overrides(overrides: Mapping[str, Any]) -> str:
    """Spec overrides as the user gave them: "--prior uniform:1,-1", "--option spec.native_prior_scale=0" (an error
    had named "spec overrides {'native_prior': 'foo'}": an outside audit)."""

    def shown(value: Any) -> str:
        values = value if isinstance(value, (tuple, list)) else (value,)
        return ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values)

    said = {name: shown(value) for name, value in overrides.items()}
    if "native_prior" in said and "native_prior_range" in said:  # one flag: --prior KIND:LO,HI
        said["native_prior"] = f"{said['native_prior']}:{said.pop('native_prior_range')}"
    # the flag, and the field, which --option spec.FIELD=VALUE or a spec file gives too (a review: a field given so
    # was named by a flag the user had not typed)
    return ", ".join(
        f"{SPEC_FLAGS[name]} {value} (spec.{name})" if name in SPEC_FLAGS else f"--option spec.{name}={value}"
        for name, value in said.items()
    )


def split_options(options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Architecture options vs spec overrides (`spec.FIELD` keys, and `spec`: a JSON file of fields)."""
    overrides: dict[str, Any] = {}
    if "spec" in options:
        path = options.pop("spec")
        if not isinstance(path, (str, os.PathLike)):
            raise ConfigError(
                f"options['spec'] is the path of a spec file (--spec FILE), not {type(path).__name__}; give its "
                "fields as 'spec.FIELD' keys instead, e.g. {'spec.nz': 100}"
            )
        overrides.update(read_spec_file(Path(path)))
    for key in [k for k in options if k.startswith("spec.")]:
        name = key[len("spec.") :]
        overrides[name] = spec_value(name, options.pop(key), overrides.get("nz"))
    if overrides.get("native_prior") == "truncated_normal" and "native_prior_range" not in overrides:
        raise SourceError(  # it meant [-1, 1], unsaid (an outside audit)
            "a truncated_normal prior needs its bounds, which no default stands for: give them with it, --prior "
            "truncated_normal:LO,HI (e.g. -2,2; in a spec file or Python, spec.native_prior_range too)"
        )
    return options, overrides


def options_to_record(options: Optional[Mapping[str, Any]]) -> dict[str, Any]:
    """Options as an artifact records them: a spec file (`spec`, a path of this machine) as its fields (spec.FIELD),
    since an artifact's reader refuses a path to read (ganinv.generator_reference: an outside audit's Hub artifact
    made ganinv read a file of the user's)."""
    options = dict(options or {})
    path = options.pop("spec", None)
    if path is None:
        return options
    fields = {f"spec.{k}": list(v) if isinstance(v, tuple) else v for k, v in read_spec_file(Path(path)).items()}
    return {**{k: v for k, v in fields.items() if v is not None}, **options}


BOOL_WORDS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


def spec_value(name: str, value: Any, nz: Optional[int] = None) -> Any:
    """A spec field from a command-line string ("1,28,28", "0,1", "nz,1,1", "uniform") or a JSON value."""
    if name not in SPEC_FIELDS:
        raise SourceError(f"unknown spec field {name!r}; known: {', '.join(SPEC_FIELDS)}")
    if name == "native_prior" and value not in PRIORS:  # else every architecture's reader refused it, as unreadable
        raise SourceError(
            f"{said_overrides({name: value})}: bad value {value!r}; give {', '.join(PRIORS)} (the range as "
            "spec.native_prior_range, or both at once as --prior uniform:-1,1)"
        )
    if not isinstance(value, str):
        return value
    kind = str(SPEC_FIELDS[name].type)
    try:
        if "tuple" in kind:
            parts = [p for p in value.replace(" ", "").strip("()[]").split(",") if p]
            if "float" in kind:
                return tuple(float(p) for p in parts)
            if "nz" in parts and not nz:  # refused as a bad value, with this very form as the example (audit 21c)
                raise SourceError(
                    f"{value!r} for spec field {name} names nz, which is not given: give --nz N with it, or the "
                    "shape in numbers (e.g. --latent-shape 100,1,1)"
                )
            return tuple(int(str(nz) if p == "nz" else p) for p in parts)
        if kind == "bool":  # a typo is no False (an outside audit: "ture" read as False)
            word = value.strip().lower()
            if word not in BOOL_WORDS:
                raise SourceError(f"bad value {value!r} for spec field {name}: give true or false")
            return BOOL_WORDS[word]
        if kind == "int":
            return int(value)
    except ValueError:  # named as given: by its flag where it has one (a review: the field alone was named)
        examples = {"image_shape": "1,28,28", "native_output_range": "0,1", "native_latent_shape": "nz,1,1"}
        said = said_overrides({name: value})
        raise SourceError(
            f"{said}: bad value {value!r}"
            + (f"; e.g. {SPEC_FLAGS[name]} {examples[name]}" if name in examples else "; give a number")
        ) from None
    return value


def read_spec_file(path: Path, sidecar: bool = False, label: Optional[str] = None) -> dict[str, Any]:
    """Spec fields from a JSON file: a (partial) GeneratorSpec dict, or a config with a "spec" entry. A `sidecar`
    (a JSON found beside the weights, not one the user named) that is not a spec, such as a training script's
    `netG.pth.json` of epochs and losses, is ignored and said so: it blocked loading, naming no file."""
    label = label or str(path)
    try:
        data = parse_json(read_text(path))
    except FileNotFoundError:
        raise SourceError(f"spec file {label} does not exist") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        if sidecar:
            warnings.warn(f"{label} is not valid JSON ({exc}): not read as the generator's spec", stacklevel=2)
            return {}
        raise SourceError(f"{label} is not valid JSON ({exc}); fix it or pass the flags instead") from None
    data = data.get("spec", data) if isinstance(data, dict) else data
    if sidecar and not (isinstance(data, dict) and data and set(data) <= set(SPEC_FIELDS)):
        fields = ", ".join(list(data)[:4]) if isinstance(data, dict) else type(data).__name__
        warnings.warn(f"{label} holds no generator spec ({fields}): not read as one", stacklevel=2)
        return {}
    if not isinstance(data, dict):
        raise SourceError(f"{label} must hold a JSON object of spec fields ({', '.join(SPEC_FIELDS)})")
    try:
        return {k: spec_value(k, v) for k, v in data.items()}
    except SourceError as exc:
        raise SourceError(f"{label}: {exc}") from None


def sidecar_path(path: Path) -> Optional[Path]:
    """`FILE.EXT.json`, `FILE.json` or `spec.json` beside a weights or program file, the first there."""
    for candidate in (path.with_name(path.name + ".json"), path.with_suffix(".json"), path.parent / SPEC_NAME):
        if candidate.is_file() and candidate != path:
            return candidate
    return None


def sidecar_spec(path: Path) -> dict[str, Any]:
    """Spec fields from the sidecar beside a weights or program file (`sidecar_path`)."""
    found = sidecar_path(path)
    return read_spec_file(found, sidecar=True) if found else {}


PRIOR_FIELDS = ("native_prior", "native_prior_range")  # what the first BatchNorm's statistics read (`prior`)


def apply_sidecar(
    generator: Generator, path: Optional[Path], user: Mapping[str, Any], where: str, label: Optional[str] = None
) -> Generator:
    """The sidecar spec file at `path` (found beside the weights, not one the user named; None: there is none) is
    evidence, like a config: a prior that the BatchNorm statistics read otherwise is refused naming both; any other
    field that changes the spec is applied and said in one line naming the file (a folder's spec.json applies to
    every weights file in it, and is easy to pick up by accident; an outside audit saw one turn a N(0, I) generator
    uniform, in silence). The user's flags (`user`) win. `label` names the file (a Hub repo's, by its repo path)."""
    if path is None:
        return generator
    label = label or str(path)
    fields = {k: v for k, v in read_spec_file(path, sidecar=True, label=label).items() if k not in user}
    read = generator.spec
    changed = {k: v for k, v in fields.items() if jsonable(getattr(read, k)) != jsonable(v)}
    if not changed:
        return generator
    decisions = list(generator.meta.get("decisions") or [])
    prior = next((d for d in decisions if d.get("property") == "prior"), None)
    if changed.keys() & set(PRIOR_FIELDS) and prior and not str(prior["source"]).startswith("assumed"):
        says = ", ".join(f"{k}={jsonable(fields[k])}" for k in PRIOR_FIELDS if k in fields)
        raise SourceError(
            f"{label} says {says}, but the BatchNorm statistics of {where} read the prior {prior['value']} "
            f"({prior['source']}): the spec file is wrong or belongs to another generator; fix or delete it, or "
            "choose with --prior"
        )
    before = ", ".join(f"{k}={jsonable(getattr(read, k))}" for k in changed)
    warnings.warn(
        f"{label} sets {', '.join(f'{k}={jsonable(v)}' for k, v in changed.items())} for {where} (the weights "
        f"alone give {before}); delete it if it is not this generator's spec (--prior, --output-range and --spec "
        "win over it)",
        stacklevel=2,
    )
    conflict = latent_shape_conflict(
        changed.get("nz", read.nz), changed.get("native_latent_shape", read.native_latent_shape)
    )
    if conflict:  # the error named no file, only the warning above it did (an outside audit)
        raise SourceError(f"{label}, the spec beside {where}: {conflict}, or fix or delete {Path(label).name}")
    generator = with_overrides(generator, changed, f"the fields {label} sets")
    if prior and changed.keys() & set(PRIOR_FIELDS):  # the record says where the prior now comes from, as --prior
        spec = generator.spec
        value = spec.native_prior + (
            ":{:g},{:g}".format(*spec.native_prior_range) if spec.native_prior == "uniform" else ""
        )
        generator.meta["decisions"] = [
            {**d, "value": value, "source": f"the spec file {label}"} if d is prior else d for d in decisions
        ]
    return generator


def refuse_range_alone(overrides: Mapping[str, Any], spec: GeneratorSpec) -> None:
    """A prior range given alone for a normal prior would do nothing (an outside audit; a program's and a callable's
    module's too: a review); a whole spec (--spec FILE) names both."""
    if "native_prior_range" in overrides and "native_prior" not in overrides and spec.native_prior == "normal":
        raise SourceError(
            "a prior range (spec.native_prior_range) bounds a uniform or truncated_normal prior, but this generator's "
            "prior is normal; give the prior with it: --prior uniform:LO,HI (in Python, spec.native_prior too)"
        )


def with_overrides(generator: Generator, overrides: Mapping[str, Any], given_by: Optional[str] = None) -> Generator:
    """The generator with these spec fields changed; `given_by` names where they come from in an error."""
    if not overrides:
        return generator
    try:
        spec = generator.spec.replace(**overrides)
    except (TypeError, ValueError) as exc:
        said = f"{given_by} ({', '.join(overrides)})" if given_by else said_overrides(overrides)
        raise SourceError(f"{said}: not a valid spec: {exc}") from None
    refuse_range_alone(overrides, spec)
    meta = {
        **generator.meta,
        "spec_overrides": {k: list(v) if isinstance(v, tuple) else v for k, v in overrides.items()},
    }
    return Generator(generator.net, spec, source=generator.source, meta=meta)
