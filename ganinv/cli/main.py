"""The `ganinv` command: a click group, one file per command group in this folder.

Results go to stdout, progress to stderr. A `GaninvError` (bad input) is printed as one
line, `Error: ...`, with a non-zero exit and no traceback; `GANINV_DEBUG=1` shows it.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import sys
import warnings

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
    "perf": "ganinv.cli.perf:perf",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(
            name for name, target in COMMANDS.items() if importlib.util.find_spec(target.split(":")[0]) is not None
        )

    def get_command(self, ctx: click.Context, name: str):
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        return getattr(importlib.import_module(module_name), attr)

    def invoke(self, ctx: click.Context):
        debug = bool(os.environ.get("GANINV_DEBUG"))
        show_library_log()
        with warnings.catch_warnings():
            warnings.simplefilter("default")  # each distinct warning once: assumptions made while loading, ...
            warnings.showwarning = show_warning
            try:
                if ctx.invoked_subcommand is not None and not ctx.resilient_parsing:
                    from ganinv.devices import set_cpu_threads

                    set_cpu_threads()  # the free cores (GANINV_THREADS or OMP_NUM_THREADS override)
                return super().invoke(ctx)
            except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
                raise  # click's own: usage errors print `Error: ...` with exit code 2
            except GaninvError as exc:
                if debug:
                    raise
                fail(str(exc), exc.exit_code)
            except KeyboardInterrupt:
                if debug:
                    raise
                click.echo("Interrupted; a fit resumes from its last checkpoint with --resume.", err=True)
                sys.exit(130)
            except (MemoryError, torch_out_of_memory()) as exc:
                if debug:
                    raise
                fail(
                    f"out of memory ({first_line(exc)}); lower --batch-size (or --chunk-size, --k), or use a "
                    "machine with more memory",
                    2,
                )
            except OSError as exc:  # the machine's refusals: a full disk, a read-only or missing folder
                if debug:
                    raise
                where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
                fail(f"{exc.strerror or first_line(exc)}{where}; check the path, its permissions and the free space", 2)
            except Exception as exc:  # a bug in ganinv, not the user's input: still one line, and how to report it
                if debug:
                    raise
                fail(
                    f"internal error, {type(exc).__name__}: {first_line(exc)}. This is a bug in ganinv; rerun with "
                    "GANINV_DEBUG=1 for the traceback and report it",
                    1,
                )


class LogLines(logging.Formatter):
    """The library's log records as the CLI's lines: `Warning: ...` for warnings, plain text for progress."""

    def format(self, record: logging.LogRecord) -> str:
        text = " ".join(record.getMessage().split())
        return f"Warning: {text}" if record.levelno >= logging.WARNING else text


class StderrHandler(logging.StreamHandler):
    """A handler that writes to whatever `sys.stderr` is at the time (tests and `bench` swap it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def show_library_log() -> None:
    """Send the `ganinv` logger to stderr (once), warnings and up; GANINV_DEBUG adds the details."""
    logger = logging.getLogger("ganinv")
    if not any(isinstance(h.formatter, LogLines) for h in logger.handlers):
        handler = StderrHandler()
        handler.setFormatter(LogLines())
        logger.addHandler(handler)
        logger.propagate = False
    logger.setLevel(logging.DEBUG if os.environ.get("GANINV_DEBUG") else logging.WARNING)


def fail(message: str, code: int) -> None:
    click.echo(f"Error: {' '.join(message.split())}", err=True)  # one line, whatever the message held
    sys.exit(code)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """ganinv's warnings as one `Warning: ...` line on stderr, without the source line Python adds; other
    libraries' warnings only with GANINV_DEBUG."""
    if not (category.__module__.startswith("ganinv") or _is_ours(filename) or os.environ.get("GANINV_DEBUG")):
        return
    click.echo(f"Warning: {' '.join(str(message).split())}", err=True)


def _is_ours(filename: str) -> bool:
    import ganinv.adapters

    folders = {os.path.dirname(ganinv.__file__), os.path.dirname(ganinv.adapters.__file__)}
    path = os.path.abspath(filename)
    return any(path.startswith(folder + os.sep) for folder in folders)


def torch_out_of_memory() -> type[BaseException]:
    """torch's out-of-memory error, without importing torch for commands that do not need it."""
    torch = sys.modules.get("torch")
    return getattr(torch, "OutOfMemoryError", MemoryError) if torch is not None else MemoryError


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ganinv")
def cli() -> None:
    """ganinv: data-free inference models for pretrained GAN generators."""


if __name__ == "__main__":
    cli()
