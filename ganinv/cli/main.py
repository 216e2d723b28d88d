"""The `ganinv` command: a click group, one file per command group in this folder.

Results go to stdout, progress to stderr. A `GaninvError` (bad input) is printed as one
line, `Error: ...`, with a non-zero exit and no traceback; `GANINV_DEBUG=1` shows it.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys

import click

from ganinv.errors import GaninvError

# command name -> "module:attribute"; modules are imported only when their command runs,
# so `ganinv --help` stays fast and one broken command cannot break the others.
COMMANDS = {
    "sample": "ganinv.cli.sample:sample",
    "inspect": "ganinv.cli.inspect:inspect_cmd",
    "fit": "ganinv.cli.fit:fit",
    "invert": "ganinv.cli.invert:invert",
    "train": "ganinv.cli.train:train",
    "loglik": "ganinv.cli.loglik:loglik",
    "features": "ganinv.cli.features:features",
    "probe": "ganinv.cli.features:probe",
    "cluster-accuracy": "ganinv.cli.features:cluster_accuracy",
    "bench": "ganinv.cli.bench:bench",
    "mvae": "ganinv.cli.mvae:mvae",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name, target in COMMANDS.items()
                      if importlib.util.find_spec(target.split(":")[0]) is not None)

    def get_command(self, ctx: click.Context, name: str):
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        return getattr(importlib.import_module(module_name), attr)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except GaninvError as exc:
            if os.environ.get("GANINV_DEBUG"):
                raise
            click.echo(f"Error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            if os.environ.get("GANINV_DEBUG"):
                raise
            click.echo("Interrupted; a fit resumes from its last checkpoint with --resume.", err=True)
            sys.exit(130)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ganinv")
def cli() -> None:
    """ganinv: data-free inference models for pretrained GAN generators."""


if __name__ == "__main__":
    cli()
