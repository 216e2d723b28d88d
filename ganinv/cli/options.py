"""Option decorators shared by several commands."""

from __future__ import annotations

from typing import Any

import click

DEFAULT_GENERATOR = "builtin:mnist"


def parse_key_values(values: tuple[str, ...]) -> dict[str, Any]:
    """`--option nz=64 --option strides=2,1,2,2` -> {"nz": "64", "strides": "2,1,2,2"}."""
    out: dict[str, Any] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint="--option")
        out[key.strip()] = value.strip()
    return out


def generator_options(func):
    """--generator, --arch, --option: what every generator-consuming command takes."""
    func = click.option("--option", "options", multiple=True, metavar="KEY=VALUE",
                        help="Architecture option, repeatable (e.g. nz=100, width=64, strides=2,1,2,2).")(func)
    func = click.option("--arch", default=None,
                        help="Architecture for weights that do not name one (see `ganinv inspect --list`).")(func)
    func = click.option("--trust-remote-code", is_flag=True, default=False,
                        help="Allow loading full pickles (can run code). Never needed for safetensors.")(func)
    func = click.option("--generator", "-g", "generator", default=DEFAULT_GENERATOR, show_default=True,
                        help="Generator source: builtin:NAME, hub:owner/name[@rev], a folder, a weights "
                             "file, a .pt2/TorchScript archive, or module:callable.")(func)
    return func


def device_option(func):
    return click.option("--device", default=None,
                        help="torch device (default: cuda when available, else cpu).")(func)


def seed_option(func):
    return click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")(func)


def resolve_device(name: str | None):
    import torch

    if name:
        return torch.device(name)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
