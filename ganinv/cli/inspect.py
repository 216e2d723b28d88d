"""`ganinv inspect`: what a generator source resolves to, and what its samples look like numerically.

ganinv inspect -g hub:owner/name         # spec, architecture and options, parameters, probe statistics
ganinv inspect FILE.pth --arch dcgan --json   # the one positional argument is the generator too
ganinv inspect --list                    # registered architectures and built-in generators
"""

from __future__ import annotations

import json
from typing import Any, Optional

import click
import torch

from ganinv import architectures
from ganinv.atomic import json_text
from ganinv.cli.options import (
    device_option,
    generator_options,
    json_option,
    parse_key_values,
    resolve_device,
    seed_option,
    warn,
    warn_ignored,
)
from ganinv.config_checks import LimitedIntRange
from ganinv.generator import Generator
from ganinv.outputs import check_image_count
from ganinv.sources import builtin_names, load_generator


@click.command("inspect")
@click.argument("source", required=False)
@generator_options
@click.option("--list", "list_all", is_flag=True, help="List the registered architectures and built-in generators.")
@click.option(
    "-n",
    "--num",
    "n",
    type=LimitedIntRange(min=2),
    default=64,
    show_default=True,
    help="Probe batch size for the output statistics.",
)
@json_option
@seed_option
@device_option
def inspect_cmd(
    source: Optional[str],
    generator: str,
    arch: Optional[str],
    options: tuple[str, ...],
    trust_remote_code: bool,
    list_all: bool,
    n: int,
    as_json: bool,
    seed: int,
    device: Optional[str],
) -> None:
    """Show the resolved spec, architecture, parameter count and probe-batch statistics of a generator.

    The generator is -g/--generator, or SOURCE, the one positional argument, for short (not both)."""
    # both given is refused even when equal (audit 30b 7c): the README says "not both"
    if (
        source is not None
        and click.get_current_context().get_parameter_source("generator") is click.core.ParameterSource.COMMANDLINE
    ):
        raise click.UsageError(
            f"got the generator twice, {source!r} and -g {generator!r}; give it once (SOURCE or -g, not both)"
        )
    if list_all:
        warn_ignored("generator", "--list lists what ganinv reads, and loads no generator")
        report = {
            "architectures": {name: architectures.get(name).summary for name in architectures.names()},
            "builtins": [f"builtin:{name}" for name in builtin_names()],
        }
    else:
        source = source or generator
        g = load_generator(
            source,
            arch=arch,
            options=parse_key_values(options),
            device=resolve_device(device),
            trust_remote_code=trust_remote_code,
        )
        check_image_count(n, g.spec.image_shape, "-n")
        described = describe(g, n, seed)
        for message in probe_warnings(described["probe"]):
            warn(message)
        report = described
    # json_text: JSON has no NaN (json.dumps wrote it, which strict parsers refuse); a broken generator's NaN shows
    # as null statistics beside the counts of its NaN and infinite values
    click.echo(json_text(report, indent=2) if as_json else as_text(report))


# a value beyond [-1, 1] by more than float round-off of the range's mapping
BEYOND_RANGE = 1 + 1e-6


def describe(g: Generator, n: int, seed: int) -> dict[str, Any]:
    _, images = g.sample(n, generator=torch.Generator(device=g.device).manual_seed(seed))
    x = images.double()
    finite = x.isfinite()
    values = x[finite]  # the statistics are of the finite values: one NaN pixel made every one of them nan
    whole = x[finite.flatten(1).all(dim=1)]  # the samples without a NaN or infinite value
    beyond = values.abs() > BEYOND_RANGE
    return {
        "source": g.source,
        "architecture": g.meta.get("architecture", g.meta.get("callable", "")),
        "options": g.meta.get("options", {}),
        "spec": g.spec.to_dict(),
        "parameters": sum(p.numel() for p in g.net.parameters()),
        "meta": {k: v for k, v in g.meta.items() if k not in ("architecture", "options")},
        "probe": {  # on the contract's scale: a Sigmoid net's [0.19, 0.79] read as [-0.62, 0.59] (an outside audit)
            "scale": probe_scale(tuple(g.spec.native_output_range)),
            "n": n,
            "seed": seed,
            "min": values.min().item() if values.numel() else None,  # None (JSON null): no finite value
            "max": values.max().item() if values.numel() else None,
            "mean": values.mean().item() if values.numel() else None,
            "std": values.std().item() if values.numel() > 1 else None,
            "std_across_samples": whole.std(dim=0).mean().item() if whole.shape[0] > 1 else None,
            "nan_values": int(x.isnan().sum()),
            "infinite_values": int(x.isinf().sum()),
            "samples_not_finite": int(n - whole.shape[0]),
            # beyond the contract's [-1, 1]: a probe of 8 at load may miss an overshoot that 64 samples show
            "values_beyond_range": int(beyond.sum()),
            "samples_beyond_range": int((x.abs() > BEYOND_RANGE).flatten(1).any(dim=1).sum()),
        },
    }


def probe_warnings(probe: dict[str, Any]) -> list[str]:
    """What the statistics alone would not say: NaN or infinite values, values beyond [-1, 1]."""
    said = []
    if probe["samples_not_finite"]:
        said.append(
            f"{probe['samples_not_finite']} of the {probe['n']} probe samples hold NaN or infinite values "
            f"({probe['nan_values']} NaN, {probe['infinite_values']} infinite; the statistics leave them out): the "
            "generator makes them for some latents, and every command that meets such a latent fails; check the "
            "generator (its weights, or its code for the latents it cannot take, such as a log or a division)"
        )
    if probe["samples_beyond_range"]:
        said.append(
            f"{probe['samples_beyond_range']} of the {probe['n']} probe samples reach beyond [-1, 1] "
            f"({probe['values_beyond_range']} values; the samples span {probe['min']:.4g} to {probe['max']:.4g}), "
            "the range every command takes the generator's images in: declare the range its images really take "
            "(--output-range LO,HI)"
        )
    return said


def probe_scale(native: tuple[float, ...]) -> str:
    """The scale of the probe's statistics: ganinv's [-1, 1], the generator's own range mapped onto it."""
    if native == (-1.0, 1.0):
        return "[-1, 1], the generator's own range"
    lo, hi = native
    return f"[-1, 1], ganinv's scale: the generator's own [{lo:g}, {hi:g}] mapped onto it"


def as_text(report: dict[str, Any]) -> str:
    if "architectures" in report:
        lines = ["architectures:"] + [f"  {name:10s} {summary}" for name, summary in report["architectures"].items()]
        return "\n".join(lines + ["builtins: " + (", ".join(report["builtins"]) or "none")])
    probe = report["probe"]
    rows = [
        ("source", report["source"]),
        ("architecture", report["architecture"]),
        ("options", " ".join(f"{k}={fmt(v)}" for k, v in report["options"].items())),
        ("spec", " ".join(f"{k}={fmt(v)}" for k, v in report["spec"].items())),
        ("parameters", f"{report['parameters']:,}"),
        *((k, fmt(v)) for k, v in report["meta"].items() if k != "decisions"),
        *decision_rows(report["meta"].get("decisions") or []),
        (
            "probe",
            f"{probe['n']} samples (seed {probe['seed']}): min {number(probe['min'])} max {number(probe['max'])} "
            f"mean {number(probe['mean'])} std {number(probe['std'])} "
            f"std across samples {number(probe['std_across_samples'])}; on {probe['scale']}",
        ),
    ]
    if probe["samples_not_finite"]:
        rows.append(
            (
                "not finite",
                f"{probe['nan_values']} NaN and {probe['infinite_values']} infinite values in "
                f"{probe['samples_not_finite']} of {probe['n']} samples (left out of the statistics above)",
            )
        )
    if probe["samples_beyond_range"]:
        rows.append(
            (
                "beyond [-1, 1]",
                f"{probe['values_beyond_range']} values in {probe['samples_beyond_range']} of {probe['n']} samples",
            )
        )
    return "\n".join(f"{label:15s} {value}" for label, value in rows)


def decision_rows(decisions: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """One row per property the loader decided: value, where it came from, and the flag that changes it."""
    rows = []
    for i, d in enumerate(decisions):
        source = d["source"] if str(d["source"]).startswith("assumed") else f"from {d['source']}"
        rows.append(("decided" if i == 0 else "", f"{d['property']} = {fmt(d['value'])}  [{source}]  {d['flag']}"))
    return rows


def number(value: Optional[float]) -> str:
    """A statistic to 4 decimals, or "none" where no finite value gave one."""
    return "none" if value is None else f"{value:.4f}"


def fmt(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)
