"""The `ganinv` command: a click group, one file per command group in this folder.

Results go to stdout, progress to stderr. A `GaninvError` (bad input) is printed as one
line, `Error: ...`, with a non-zero exit and no traceback; `GANINV_DEBUG=1` shows it.
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import importlib.util
import logging
import os
import re
import select
import signal
import sys
import threading
import traceback
import warnings
from typing import Iterator, Optional

import click

from ganinv.errors import GaninvError, first_line, out_of_resources

# command name -> ("module:attribute", one-line summary); modules are imported only when their command runs,
# so `ganinv --help` stays fast (it shows the summaries without importing torch) and one broken command cannot
# break the others. tests/test_cli_conventions.py checks each summary against its command's own docstring.
COMMANDS = {
    "sample": ("ganinv.cli.sample:sample", "Draw samples of a generator: a picture grid and, optionally, latents."),
    "inspect": ("ganinv.cli.inspect:inspect_cmd", "Show how a generator source loads: architecture, spec, decisions."),
    "fit": ("ganinv.cli.fit:fit", "Fit data-free encoders q(z|x) (and q(d,c|x)) to a generator, from its own samples."),
    "invert": ("ganinv.cli.invert:invert", "Invert images through a fitted inverter, optionally refined per image."),
    "train": ("ganinv.cli.train:train", "Train a generator with its encoders on data: the full SS-AVL (wake phase)."),
    "loglik": ("ganinv.cli.loglik:loglik", "ELBO and importance-weighted bounds on log p(x) of images per image."),
    "features": ("ganinv.cli.features:features", "Encoder means of every image, one row each, for classifiers."),
    "probe": ("ganinv.cli.features:probe", "Score features with linear, kNN and MLP classifiers (train -> test)."),
    "cluster-accuracy": ("ganinv.cli.features:cluster_accuracy", "Unsupervised accuracy of argmax q(d|x)."),
    "bench": ("ganinv.cli.bench:bench", "Run a benchmark recipe's ganinv commands; write bench.json and a table."),
    "mvae": ("ganinv.cli.mvae:mvae", "Mixtures of VAEs atop a generator or standalone: fit, eval, features."),
    "perf": ("ganinv.cli.perf:perf", "Measure speed against the machine's own limits; print JSON."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(
            name for name, (target, _) in COMMANDS.items() if importlib.util.find_spec(target.split(":")[0]) is not None
        )

    def get_command(self, ctx: click.Context, name: str):
        if name not in COMMANDS:
            return None
        module_name, attr = COMMANDS[name][0].split(":")
        return getattr(importlib.import_module(module_name), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]  # no command module imported
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def main(self, args=None, *rest, **options):
        """The help and the version, asked for with stdout closed (`>&-`), are refused as a command's results are,
        not printed to nowhere with exit 0 (a review, 52a)."""
        argv = sys.argv[1:] if args is None else list(args)
        if sys.stdout is None and (not argv or any(arg in ("--help", "-h", "--version") for arg in argv)):
            refuse_closed_stdout("the help is")
        return super().main(args, *rest, **options)

    def invoke(self, ctx: click.Context):
        debug = debugging()
        show_library_log()
        # SIGTERM from the start: the command's module is imported first, seconds of torch (a review, 52a)
        with terminate_as_interrupt(), warnings.catch_warnings():
            warnings.simplefilter("default")  # each distinct warning once: assumptions made while loading, ...
            warnings.showwarning = show_warning
            # [the command's name]: `_protected_args` from click 8.2 on, an attribute `protected_args` before
            protected = list(ctx.__dict__.get("_protected_args", ctx.__dict__.get("protected_args")) or [])
            args = protected[1:] + list(ctx.args)  # the command's own arguments
            command = None
            try:
                command = self.get_command(ctx, protected[0]) if protected else None
                if command is not None and not ctx.resilient_parsing:
                    from ganinv.cli.options import refuse_repeated_options

                    # the command's own context: the error points to `ganinv CMD --help` (audit 30b 7a)
                    own = click.Context(command, info_name=protected[0], parent=ctx)
                    refuse_repeated_options(command, args, own)
                # a command's name given, not ctx.invoked_subcommand, which click sets only inside super().invoke: the
                # check had never held, and GANINV_THREADS=1 ran on every core (an outside audit, 49a)
                asks_help = any(arg in ("--help", "-h") for arg in args)
                if command is not None and not asks_help and not ctx.resilient_parsing:  # help, usage errors first
                    if sys.stdout is None:  # started with `>&-`: its results were lost with exit 0 (audit 49a)
                        refuse_closed_stdout("the results are", " (e.g. > results.txt)")
                    from ganinv.devices import set_cpu_threads

                    set_cpu_threads()  # the free cores (GANINV_THREADS or OMP_NUM_THREADS override)
                with generator_prints_to_stderr():  # stdout: the results only
                    return super().invoke(ctx)
            except click.exceptions.NoArgsIsHelpError:  # `ganinv mvae`: the group's help, as `ganinv` gives its own
                raise  # (squashed into one Error line, it was unreadable: an outside audit, 53c)
            except click.UsageError as exc:  # one line, as every error: click's own adds the usage and a blank line
                where = exc.ctx.command_path if exc.ctx is not None else "ganinv"
                takes_images = exc.ctx is not None and any(p.name == "images" for p in exc.ctx.command.params)
                extra = "unexpected extra argument" in exc.format_message() and takes_images
                hint = "; IMAGES is one source: put the image files in one folder and give it" if extra else ""
                fail(f"{exc.format_message()}{hint} (see `{where} --help`)", exc.exit_code)
            except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
                raise  # click's own
            except GaninvError as exc:
                if debug:  # the traceback, then the same exit code as without it (it was 1: an outside audit)
                    traceback.print_exc()
                fail(str(exc), exc.exit_code)
            except KeyboardInterrupt as exc:
                if debug:
                    raise
                close_progress_bars()
                terminated = isinstance(exc, Terminated)  # a run's own line says how it continues (resume_hint)
                click.echo("Stopped by SIGTERM." if terminated else "Interrupted.", err=True)
                sys.exit(TERMINATED_EXIT if terminated else INTERRUPTED_EXIT)
            except (MemoryError, torch_out_of_memory()) as exc:
                if debug:
                    raise
                out_of_memory(exc, command, args)
            except BrokenPipeError as exc:  # stdout's reader went away (`ganinv loglik ... | head`): no disk to blame
                if debug:
                    raise
                if stdout_reader_gone():
                    stdout_gone()
                fail(f"{exc.strerror or first_line(exc)}: a stream this command wrote to was closed by its reader", 2)
            except OSError as exc:  # the machine's refusals: a full disk, a read-only or missing folder
                if debug:
                    raise
                if exc.errno == errno.ENOMEM:  # had been "check the path, its permissions" (a review, 52a)
                    out_of_memory(exc, command, args)
                if exc.errno in (errno.EMFILE, errno.ENFILE):
                    fail(f"{exc.strerror or first_line(exc)}: raise the limit on open files (`ulimit -n`)", 2)
                from ganinv.atomic import as_target

                named = getattr(exc, "filename", None)
                named = os.fsdecode(named) if isinstance(named, (str, bytes, os.PathLike)) else named
                where = f" ({as_target(str(named))})" if named is not None else ""
                fail(f"{exc.strerror or first_line(exc)}{where}; check the path, its permissions and the free space", 2)
            except Exception as exc:  # a bug in ganinv, not the user's input: still one line, and how to report it
                if debug:
                    raise
                if out_of_resources(exc):  # torch's CPU allocator raises a RuntimeError, not MemoryError; a library
                    # not mapped under an address-space limit was "a bug in ganinv" (an outside audit, 51b)
                    out_of_memory(exc, command, args)
                fail(
                    f"internal error, {type(exc).__name__}: {first_line(exc)}. This is a bug in ganinv; rerun with "
                    "GANINV_DEBUG=1 for the traceback and report it",
                    1,
                )


@contextlib.contextmanager
def generator_prints_to_stderr() -> Iterator[None]:
    """While a command runs, what a generator's own code prints goes to stderr (`ganinv.generator.users_prints`); the
    setting before it is restored after, so a Python caller of `cli` keeps its own."""
    import ganinv.generator

    before, ganinv.generator.PRINTS_TO_STDERR = ganinv.generator.PRINTS_TO_STDERR, True
    try:
        yield
    finally:
        ganinv.generator.PRINTS_TO_STDERR = before


INTERRUPTED_EXIT = 130  # 128 + SIGINT, as a shell reports a program Ctrl-C stopped
TERMINATED_EXIT = 128 + signal.SIGTERM


def refuse_closed_stdout(what: str, example: str = "") -> None:
    """A command, its help or its version asked for with stdout closed (`>&-`): what it prints would be lost."""
    fail(f"stdout is closed, and {what} printed there: run it with stdout open{example}", 2)


class Terminated(KeyboardInterrupt):
    """SIGTERM (`timeout`, `kill`, a batch scheduler), met as Ctrl-C is: the run's files are cleaned up or kept for
    --resume, and one line says so. It had ended every command without a word (an outside audit, 51b)."""


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """While a command runs, SIGTERM raises `Terminated`, where nothing else handles it (the main thread, the default
    handler in place: a Python caller's own handler is left alone); the handler before it is restored after."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGTERM) != signal.SIG_DFL:
        yield
        return

    def terminate(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second one (a scheduler's, a repeated kill) must not cut
        raise Terminated()  # the cleanup short: it had killed the process after the line (a review, 52a)

    signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:  # after the command's line and its exit code are set (SystemExit passes through here)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def close_progress_bars() -> None:
    """End the progress bars still drawn, so that the line after them starts a line: an Error printed onto a live
    bar's line was missed by a reader looking for `^Error:` (an outside audit, 51b)."""
    tqdm = sys.modules.get("tqdm")
    for bar in list(getattr(getattr(tqdm, "tqdm", None), "_instances", ()) or ()):
        try:
            bar.close()
        except Exception:  # a bar is only a picture: never in the way of the message
            pass


def stdout_reader_gone() -> bool:
    """Whether stdout is a pipe whose reader has closed it (poll reports an error on its write end), and not another
    stream: stderr's reader gone, or a socket (a review, 40a: every broken pipe ended silently)."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))
    except (AttributeError, OSError, ValueError):  # no poll (Windows), or stdout without a file descriptor
        return False


def stdout_gone() -> None:
    """Exit as a program killed by SIGPIPE does (141), silently; stdout points to /dev/null first, so that the
    interpreter's final flush does not fail on the closed pipe again (the Python docs' recipe for SIGPIPE)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(141)


def debugging() -> bool:
    """GANINV_DEBUG set to anything but empty, 0, false, no or off: tracebacks and the library's details."""
    return os.environ.get("GANINV_DEBUG", "").strip().lower() not in ("", "0", "false", "no", "off")


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
    """Send the `ganinv` logger to stderr (once), warnings and up, and the status lines of slow steps
    (ganinv.status); GANINV_DEBUG adds the details."""
    logger = logging.getLogger("ganinv")
    if not any(isinstance(h.formatter, LogLines) for h in logger.handlers):
        handler = StderrHandler()
        handler.setFormatter(LogLines())
        logger.addHandler(handler)
        logger.propagate = False
    logger.setLevel(logging.DEBUG if debugging() else logging.WARNING)
    logging.getLogger("ganinv.status").setLevel(logging.INFO)  # slow steps and their durations; --quiet hides them
    # the Hub client's own retry lines ("Error while downloading ... Trying to resume download", a dozen) came before
    # the one Error line that says what failed and what to do (an outside audit, 41b); GANINV_DEBUG shows them
    # (set after the client's own logging is imported, which sets the level it had reset to WARNING when the client
    # was imported later, on the first hub: source: the lines came back, audit 49a)
    import huggingface_hub.utils.logging  # noqa: F401

    logging.getLogger("huggingface_hub").setLevel(logging.DEBUG if debugging() else logging.ERROR)


def fail(message: str, code: int) -> None:
    close_progress_bars()
    click.echo(as_typed(f"Error: {' '.join(message.split())}"), err=True)  # one line, whatever the message held
    sys.exit(code)


def as_typed(text: str) -> str | bytes:
    """A message naming a path that is not valid in the locale's encoding (`ünï.pth` under LC_ALL=C, PYTHONUTF8=0:
    Python holds its bytes as surrogates, which were printed as `\\udcc3...`, audit 49a), with the bytes typed."""
    text = ESCAPED_SURROGATE.sub(lambda m: chr(0xDC00 + int(m[1], 16)), text)  # as repr() wrote them
    if not SURROGATES.search(text):
        return text
    encoding = getattr(sys.stderr, "encoding", None) or "utf-8"
    parts = SURROGATES.split(text)  # text, surrogates, text, ...
    return b"".join(
        part.encode(encoding, "surrogateescape" if i % 2 else "backslashreplace") for i, part in enumerate(parts)
    )


SURROGATES = re.compile("([\udc80-\udcff]+)")  # the bytes of a name that did not decode, one surrogate each
ESCAPED_SURROGATE = re.compile(r"\\udc([89a-f][0-9a-f])")


def show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """ganinv's warnings as one `Warning: ...` line on stderr, without the source line Python adds; other
    libraries' warnings only with GANINV_DEBUG."""
    if not (category.__module__.startswith("ganinv") or _is_ours(filename) or debugging()):
        return
    click.echo(as_typed(f"Warning: {' '.join(str(message).split())}"), err=True)


def _is_ours(filename: str) -> bool:
    import ganinv.adapters

    folders = {os.path.dirname(ganinv.__file__), os.path.dirname(ganinv.adapters.__file__)}
    path = os.path.abspath(filename)
    return any(path.startswith(folder + os.sep) for folder in folders)


# the options that set how much memory a command takes, in the order advice names them
MEMORY_FLAGS = ("--batch-size", "--chunk-size", "--k", "-n", "--nz", "--width", "--hidden")


def out_of_memory(exc: BaseException, command: Optional[click.Command], args: list[str]) -> None:
    fail(f"out of memory ({first_line(exc)}); {memory_advice(command, args)}", 2)


def memory_advice(command: Optional[click.Command], args: list[str]) -> str:
    """What the command run can lower: only the flags it has (invert was told to lower --nz and --width, which it
    does not take, and that --batch-size would help, where all its images are held at once: an outside audit, 51b)."""
    while isinstance(command, click.Group) and args and args[0] in command.commands:  # `mvae fit`: its own flags
        command, args = command.commands[args[0]], args[1:]
    flags = {opt for param in (command.params if command else []) for opt in param.opts}
    # --nz only where the user gave it: a pretrained generator's noise size is no size to lower (a review, 52a)
    sizes = [
        flag for flag in MEMORY_FLAGS if flag in flags and (flag != "--nz" or any(a.startswith(flag) for a in args))
    ]
    advice = f"lower the sizes asked for ({', '.join(sizes)})" if sizes else "free memory"
    if "--limit" in flags:
        advice += "; the images are read into memory at once: give fewer (--limit N, or split them)"
    return advice + ", or use a machine with more memory (or a higher `ulimit -v`)"


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
