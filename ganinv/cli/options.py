"""Option decorators shared by several commands."""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import math
import os
import shlex
import sys
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional

import click

from ganinv.config_checks import MAX_SEED, LimitedIntRange
from ganinv.devices import resolve_device  # noqa: F401  (commands import it from here, with the option)
from ganinv.spec import PRIORS

DEFAULT_GENERATOR = "builtin:mnist"

# One flag, one meaning, one help text: the options below are made only by this module's decorators
# (the conventions are listed in the README, "Command-line conventions").
GENERATOR_HELP = (
    "Generator source: builtin:NAME, hub:owner/name[@rev], a folder, a weights file, a .pt2/TorchScript "
    "archive, or module:callable."
)
ROOT_HELP = "Folder with the original files of a dataset source (mnist, fashion-mnist); nothing is downloaded."
DEVICE_HELP = "torch device: cpu, cuda, cuda:N or mps (default: cuda when available, else cpu)."
SEED_HELP = "Random seed."
QUIET_HELP = "No progress bar, no progress lines and no notes on slow steps on stderr (warnings and errors still show)."
JSON_HELP = "Print the results as JSON on stdout instead of text."


class SharedOption(click.Option):
    """An option made by one of the shared decorators of this module (--generator, --root, --device, --seed,
    --quiet, --json, --out), so that one flag means one thing in every command."""


def parse_key_values(values: tuple[str, ...]) -> dict[str, Any]:
    """`--option nz=64 --option strides=2,1,2,2` -> {"nz": "64", "strides": "2,1,2,2"}."""
    out: dict[str, Any] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint="--option")
        key, value = key.strip(), value.strip()
        if key in out and out[key] != value:  # the last had won in silence (an outside audit, 53c), as a one-value
            raise click.BadParameter(  # flag given twice once did
                f"{key} is given twice ({out[key]!r} and {value!r}); give it once", param_hint="--option"
            )
        out[key] = value
    return out


PRIOR_FORMS = "normal, uniform[:LO,HI] or truncated_normal:LO,HI (e.g. --prior uniform:-1,1)"


def check_prior_flag(prior: str, kind: str, bounds: str) -> None:
    """Refuse a --prior that names no prior, or bounds that are no two numbers LO < HI, as a usage error before any
    loading: `--prior foo` had reached every architecture's reader and ended in "cannot tell the architecture"."""
    if kind not in PRIORS:
        raise click.BadParameter(f"{prior!r} names no prior; give {PRIOR_FORMS}", param_hint="--prior")
    if not bounds:
        return
    try:
        lo, hi = (float(b) for b in bounds.split(","))
    except ValueError:
        lo, hi = math.nan, math.nan
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise click.BadParameter(
            f"{prior!r}: the bounds after ':' must be two numbers LO,HI with LO < HI; give {PRIOR_FORMS}",
            param_hint="--prior",
        )


def generator_options(func):
    """--generator, --arch, --option, --trust-remote-code and the spec overrides every generator command takes.

    The overrides (--nz, --latent-shape, --image-shape, --output-range, --prior, --spec) reach
    the command inside `options`, as `spec.FIELD=VALUE` (and `spec=FILE`) entries that
    `ganinv.sources.load_generator` applies, so a command passes `options` on and is done.
    """

    @functools.wraps(func)
    def command(
        *args, nz, latent_shape, image_shape, output_range, prior, spec_file, model_class, model_kwargs, **kwargs
    ):
        extra = spec_file_entries(spec_file) if spec_file else []
        if model_kwargs is not None and model_class is None:
            raise click.BadParameter("--model-kwargs goes with --model-class", param_hint="--model-kwargs")
        for flag, text, example in (
            ("--latent-shape", latent_shape, "nz,1,1"),
            ("--image-shape", image_shape, "1,28,28"),
        ):
            if text is not None and not text.strip("()[], "):  # an empty shape met torch's reshape (audit 53c)
                raise click.BadParameter(f"is empty; give the shape, e.g. {example}", param_hint=flag)
        refuse_conflicting_latent_flags(nz, latent_shape)
        if model_class is not None:  # weights in the user's own class (ganinv.model_class)
            extra += [f"model_class={model_class}"] + ([f"model_kwargs={model_kwargs}"] if model_kwargs else [])
        for field, value in (
            ("nz", nz),
            ("native_latent_shape", latent_shape),
            ("image_shape", image_shape),
            ("native_output_range", output_range),
        ):
            if value is not None:
                extra.append(f"spec.{field}={value}")
        if prior is not None:
            kind, _, bounds = prior.partition(":")
            if kind == "normal" and bounds:  # a scale is a spec field: normal:0.5 would read as bounds elsewhere
                raise click.BadParameter(
                    f"{prior!r}: a normal prior has no bounds; for N(0, S^2) latents give --prior normal --option "
                    "spec.native_prior_scale=S, or give uniform:LO,HI or truncated_normal:LO,HI",
                    param_hint="--prior",
                )
            if kind == "truncated_normal" and not bounds:  # no usual default: BigGAN's (-2, 2) is not the spec's
                raise click.BadParameter(
                    f"{prior!r}: a truncated normal needs its bounds: give truncated_normal:LO,HI (e.g. -2,2)",
                    param_hint="--prior",
                )
            check_prior_flag(prior, kind, bounds)
            extra.append(f"spec.native_prior={kind}")
            if bounds:
                extra.append(f"spec.native_prior_range={bounds}")
        if extra:  # commands that ask click whether --option was given see that it was
            kwargs["options"] = tuple(extra) + tuple(kwargs.get("options") or ())
            click.get_current_context().set_parameter_source("options", click.core.ParameterSource.COMMANDLINE)
        return as_typed(model_class, func, *args, **kwargs)

    for decorate in (
        click.option(
            "--model-kwargs",
            default=None,
            metavar="JSON",
            help="Keyword arguments of --model-class, as a JSON object, e.g. '{\"nz\": 100}'.",
        ),
        click.option(
            "--model-class",
            default=None,
            metavar="MODULE:CLASS",
            help="The generator's own class (e.g. mypkg.models:Generator): the weights file is loaded "
            "into it strictly and the spec read by running it. Runs that code.",
        ),
        click.option(
            "--spec",
            "spec_file",
            type=click.Path(dir_okay=False),
            default=None,
            help="JSON file of spec fields (nz, image_shape, native_prior, ...); the other spec flags win.",
        ),
        click.option(
            "--prior",
            type=str,
            default=None,
            metavar="normal|uniform[:LO,HI]|truncated_normal:LO,HI",
            help="The generator's native latent prior (ganinv always exposes N(0, I)), e.g. uniform:-1,1 "
            "(uniform alone: -1,1) or truncated_normal:-2,2; for latents scaled by S (N(0, S^2)) add --option "
            "spec.native_prior_scale=S.",
        ),
        click.option(
            "--output-range",
            type=str,
            default=None,
            metavar="LO,HI",
            help="Native output range, rescaled to [-1, 1] (e.g. 0,1 for a Sigmoid generator).",
        ),
        click.option(
            "--image-shape",
            type=str,
            default=None,
            metavar="C,H,W",
            help="Image shape the generator produces (opaque programs: found by running it if not given).",
        ),
        click.option(
            "--latent-shape",
            type=str,
            default=None,
            metavar="SHAPE",
            help="Native latent shape, e.g. nz,1,1 for a generator fed (N, nz, 1, 1).",
        ),
        click.option("--nz", type=LimitedIntRange(min=1), default=None, help="Noise size of an opaque program."),
        click.option(
            "--option",
            "options",
            multiple=True,
            metavar="KEY=VALUE",
            help="Architecture option, repeatable (e.g. nz=100, width=64, strides=2,1,2,2).",
        ),
        click.option(
            "--arch", default=None, help="Architecture for weights that do not name one (see `ganinv inspect --list`)."
        ),
        click.option(
            "--trust-remote-code",
            is_flag=True,
            default=False,
            help="Allow loading full pickles (can run code). Never needed for safetensors.",
        ),
        click.option(
            "--generator",
            "-g",
            "generator",
            cls=SharedOption,
            default=DEFAULT_GENERATOR,
            show_default=True,
            help=GENERATOR_HELP,
        ),
    ):
        command = decorate(command)
    return command


def refuse_conflicting_latent_flags(nz: Optional[int], latent_shape: Optional[str]) -> None:
    """`--nz 8 --latent-shape 4,1,1`: refused before anything loads (audit 30b 7e: a program ran on it and failed with
    the generic "check --nz and --latent-shape"). A shape naming nz (`nz,1,1`) agrees by construction; a malformed
    one is left to the spec's own parsing, which says what is wrong with it."""
    from ganinv.spec import latent_shape_conflict

    if nz is None or latent_shape is None:
        return
    parts = [p for p in latent_shape.replace(" ", "").strip("()[]").split(",") if p]
    if not parts or not all(p.isdigit() for p in parts):
        return
    shape = tuple(int(p) for p in parts)
    if latent_shape_conflict(nz, shape):
        size = math.prod(shape)
        raise click.UsageError(
            f"--nz {nz} and --latent-shape {latent_shape} disagree: that shape holds {size} values, not {nz}; give "
            f"--latent-shape alone (nz is then its size, {size}), or one that holds nz values (e.g. --latent-shape "
            "nz,1,1)"
        )


def spec_file_entries(path: str) -> list[str]:
    """`--spec FILE` as `spec.FIELD=VALUE` entries, before the other spec flags (which win): a run and its artifact
    record the fields, not a path of this machine that a moved file breaks (an outside audit: `--resume` failed for
    good once the file was moved, and the shared artifact named the author's folders)."""
    from ganinv.sources import read_spec_file

    def text(value: Any) -> str:
        if isinstance(value, (list, tuple)):
            return ",".join(map(str, value))
        return str(value).lower() if isinstance(value, bool) else str(value)

    return [f"spec.{k}={text(v)}" for k, v in read_spec_file(Path(path)).items() if v is not None]


def flag_names(ctx: click.Context) -> dict[str, str]:
    """Parameter name -> the flag a user types for it (`batch_size` -> `--batch-size`; `options` -> `--option`)."""
    names = {}
    for param in ctx.command.params:
        if param.name:
            names[param.name] = next((o for o in param.opts if o.startswith("--")), param.opts[0])
    names["options"] = "--option (or a spec flag: --spec, --nz, --latent-shape, --image-shape, --output-range, --prior)"
    return names


def as_typed(model_class: Optional[str], func, *args, **kwargs):
    """Run a command with `--model-class` named by the user (ganinv.model_class.typed_by_user)."""
    if model_class is None:
        return func(*args, **kwargs)
    from ganinv.model_class import typed_by_user

    with typed_by_user(model_class):
        return func(*args, **kwargs)


def _check_device(ctx: click.Context, param: click.Parameter, value: Optional[str]) -> Optional[str]:
    """Refuse an unknown, absent or empty device while the options are read, before anything is loaded."""
    if value is not None and not value.strip():  # `--device "$DEVICE"` with the variable unset
        raise click.BadParameter("is empty; give cpu, cuda or cuda:N, or leave --device out for the default")
    if value is not None:
        resolve_device(value)
    return value


def refuse_repeated_options(command: click.Command, args: list[str], ctx: Optional[click.Context] = None) -> None:
    """A one-value option given twice is refused (click keeps the last in silence: an outside audit ran
    `--inverter /nonexistent --inverter builtin:mnist` with rc 0); repeatable ones (`--option`) and flags may be.
    `ctx`, the command's own context, makes the error point to the command's help (`ganinv sample --help`), as
    every other usage error does (audit 30b 7a: it said `ganinv --help`)."""
    if isinstance(command, click.Group):
        at = next((i for i, a in enumerate(args) if not a.startswith("-")), None)
        found = command.get_command(ctx or click.Context(command), args[at]) if at is not None else None
        if at is not None and found is not None:
            sub = click.Context(found, info_name=args[at], parent=ctx) if ctx is not None else None
            refuse_repeated_options(found, args[at + 1 :], sub)
        return
    single = {
        opt: param
        for param in command.params
        if isinstance(param, click.Option) and not (param.multiple or param.count or param.is_flag)
        for opt in param.opts
    }
    seen: dict[str, list[str]] = {}
    i = 0
    while i < len(args) and args[i] != "--":
        flag, has_value, value = args[i].partition("=")
        if flag not in single and len(flag) > 2 and flag[0] == "-" and flag[1] != "-" and flag[:2] in single:
            flag, has_value, value = flag[:2], "=", args[i][2:]  # `-n4`: a short option with its value attached
        param = single.get(flag) if flag.startswith("-") else None
        if param is not None and param.name is not None:
            if not has_value:
                i += 1
                value = args[i] if i < len(args) else ""
            seen.setdefault(param.name, []).append(value)
            if len(seen[param.name]) == 2:
                raise click.UsageError(
                    f"{param.opts[-1] if param.opts[-1].startswith('--') else param.opts[0]} is given twice "
                    f"({seen[param.name][0]!r} and {seen[param.name][1]!r}); give it once",
                    ctx=ctx,
                )
        i += 1


def device_option(func):
    return click.option("--device", cls=SharedOption, default=None, callback=_check_device, help=DEVICE_HELP)(func)


def seed_option(func):
    seed_type = LimitedIntRange(0, MAX_SEED)  # numpy's seeds stop at 2**32 - 1; a larger one was an internal error
    return click.option("--seed", cls=SharedOption, type=seed_type, default=0, show_default=True, help=SEED_HELP)(func)


def _parse_input_range(ctx: click.Context, param: click.Parameter, value: Optional[str]):
    """`--input-range 0,255` -> (0.0, 255.0)."""
    from ganinv.data import parse_input_range

    return None if value is None else parse_input_range(value)


def _split_only_for_datasets(func):
    """--split chooses among a dataset's files, --root says where they lie; given with a folder or a file, either would
    be ignored: say so."""

    @functools.wraps(func)
    def command(*args, **kwargs):
        from ganinv.data import DATASET_DIRS

        given = click.get_current_context().get_parameter_source("split") == click.core.ParameterSource.COMMANDLINE
        if given and kwargs.get("images") is not None and kwargs["images"] not in DATASET_DIRS:
            warn(
                f"--split {kwargs['split']} is ignored: {kwargs['images']} is not a dataset with splits "
                f"({', '.join(DATASET_DIRS)}); all its images are read"
            )
        if kwargs.get("root") is not None and kwargs.get("images") is not None and kwargs["images"] not in DATASET_DIRS:
            warn(  # as --split is: it was ignored with no word (an outside audit)
                f"--root {kwargs['root']} is ignored: {kwargs['images']} is not a dataset ({', '.join(DATASET_DIRS)}), "
                "and is read as it is"
            )
        if kwargs.get("images") is None and kwargs.get("generated") is not None:  # loglik --generated N
            source = click.get_current_context().get_parameter_source
            for name in ("limit", "split", "root", "input_range"):
                if name in kwargs and source(name) == click.core.ParameterSource.COMMANDLINE:
                    warn(  # --limit 100 scored all 1000 generated samples, no word (an outside audit)
                        f"--{name.replace('_', '-')} is ignored: it reads IMAGES, and --generated "
                        f"{kwargs['generated']} scores that many generated samples"
                    )
        return func(*args, **kwargs)

    return command


def input_range_option(images: str = ""):
    """--input-range LO,HI: the stored pixel range of the images a command reads (`images`: which, where it reads
    more than one kind), parsed to (LO, HI). One flag for every command that reads images: `train`, `mvae fit` and
    `fit --eval-real` had none, and refused what the others read with it (an outside audit)."""
    return click.option(
        "--input-range",
        type=str,
        default=None,
        metavar="LO,HI",
        callback=_parse_input_range,
        help=f"Range of the stored pixel values{' of ' + images if images else ''}, e.g. 0,1 or 0,255 or -1,1 "
        "(default: decided from the file type and values, with a warning when it is a guess).",
    )


def image_options(required: bool):
    """IMAGES with --root, --split, --limit, --input-range: any `ganinv.data.load_images` source."""

    def decorate(func):
        func = _split_only_for_datasets(func)
        func = input_range_option()(func)
        func = click.option("--limit", type=LimitedIntRange(min=1), default=None, help="Use only the first N images.")(
            func
        )
        func = click.option(
            "--split",
            type=click.Choice(["train", "test"]),
            default="test",
            show_default=True,
            help="Split of a dataset source (mnist, fashion-mnist).",
        )(func)
        func = root_option(func)
        return click.argument("images", required=required)(func)

    return decorate


def artifact_generator_options(func):
    """--generator and --trust-remote-code for commands that read an artifact (an inverter, an MVAE).

    An artifact names its generator, but a file may not choose code to run (ganinv.trust): when
    that generator is a `module:callable` or a program, the user names it with --generator, or
    trusts the artifact with --trust-remote-code for this command; a generator the artifact
    records with a `--model-class`, when the user names that class again with --model-class.
    """

    inner = func

    @functools.wraps(inner)
    def command(*args, model_class, **kwargs):  # the user names the class an artifact's generator reference records
        return as_typed(model_class, inner, *args, **kwargs)

    func = click.option(
        "--model-class",
        default=None,
        metavar="MODULE:CLASS",
        help="Let the artifact's generator be built with this class, which its generator reference "
        "records (--model-class when it was fitted).",
    )(command)
    func = click.option(
        "--trust-remote-code",
        is_flag=True,
        default=False,
        help="Let the artifact's own generator reference be code (a module:callable, a program, "
        "a full pickle). Only for artifacts you trust; never remembered.",
    )(func)
    return click.option(
        "--generator",
        "-g",
        "generator",
        cls=SharedOption,
        default=None,
        help=GENERATOR_HELP + " Default: the one the artifact names; another must have the same "
        "spec (the way to use an artifact whose generator is code).",
    )(func)


def root_option(func):
    return click.option("--root", cls=SharedOption, type=click.Path(file_okay=False), default=None, help=ROOT_HELP)(
        func
    )


def hide_status_lines(ctx: click.Context, param: click.Parameter, quiet: bool) -> bool:
    """--quiet also hides the library's notes on slow steps (ganinv.status), which are shown otherwise."""
    if quiet:
        logging.getLogger("ganinv.status").setLevel(logging.WARNING)
    return quiet


def quiet_option(func):
    return click.option(
        "--quiet", cls=SharedOption, is_flag=True, default=False, callback=hide_status_lines, help=QUIET_HELP
    )(func)


def json_option(func):
    return click.option("--json", "as_json", cls=SharedOption, is_flag=True, default=False, help=JSON_HELP)(func)


class OutPath(click.Path):
    """A path to write: an empty one, or one starting with '~', which no shell expanded (`--out "~/x.png"` made a
    folder named '~' in the current one: an outside audit, 49a), is refused."""

    def convert(self, value, param, ctx):
        if isinstance(value, str) and not value.strip():
            self.fail("is empty: name the file or folder to write", param, ctx)
        if isinstance(value, str) and value.startswith("~"):
            self.fail(
                f"{value!r} starts with '~', which a shell expands and ganinv does not: give the full path, "
                f"{os.path.expanduser(value)}",
                param,
                ctx,
            )
        return super().convert(value, param, ctx)


def out_option(help: str, *, folder: bool, required: bool = True):
    """--out, what the command writes. Required where that file or folder is the command's product; optional
    (its `help` says the default) for a run, whose folder has a natural name, or for an extra copy of stdout."""
    kind = OutPath(file_okay=False) if folder else OutPath(dir_okay=False)
    # no `default=None` where required: from click 8.3 an explicit default counts as a value, and a missing --out
    # reached the command as None (an internal error in sample and invert)
    default = {} if required else {"default": None}
    return click.option("--out", cls=SharedOption, type=kind, required=required, help=help, **default)


def deprecated_alias(old: str, new: str, dest: str, **attrs):
    """`old`, a hidden former spelling of the option `new` (parameter `dest`): it still works, with one
    `Warning:` line; giving both with different values is refused."""
    hidden = "deprecated_" + old.lstrip("-").replace("-", "_")

    def decorate(func):
        @functools.wraps(func)
        def command(*args, **kwargs):
            value = kwargs.pop(hidden)
            if value is not None:
                ctx = click.get_current_context()
                if ctx.get_parameter_source(dest) is click.core.ParameterSource.COMMANDLINE and kwargs[dest] != value:
                    raise click.UsageError(f"{old} is the old spelling of {new}; give {new} only")
                warn(f"{old} is deprecated; use {new} (same meaning)")
                kwargs[dest] = value
                ctx.set_parameter_source(dest, click.core.ParameterSource.COMMANDLINE)
            return func(*args, **kwargs)

        return click.option(old, hidden, hidden=True, default=None, help=f"Deprecated spelling of {new}.", **attrs)(
            command
        )

    return decorate


def not_empty(ctx: click.Context, param: click.Parameter, value: Optional[str]) -> Optional[str]:
    """A source given as "" (an unset variable) is refused, not read as "not given" (an outside audit, 53c: `mvae fit
    --eval-real ""` evaluated on --data, in silence)."""
    if value is not None and not value.strip():
        raise click.BadParameter("is empty (an unset variable?); give a source, or leave the option out")
    return value


def warn_ignored(name: str, why: str) -> None:
    """Say that an option typed on the command line is ignored, and why: seven such options had run in silence (an
    outside audit, 53c), where `invert --split` said so."""
    context = click.get_current_context()
    if context.get_parameter_source(name) is not click.core.ParameterSource.COMMANDLINE:
        return
    param = next(p for p in context.command.params if p.name == name)
    flag = max(param.opts, key=len)
    warn(f"{flag} is ignored: {why}")


def warn(message: str) -> None:
    """A warning of the CLI's own: one `Warning: ...` line on stderr (the library's warnings and log records
    reach the same form through ganinv.cli.main)."""
    click.echo(f"Warning: {' '.join(str(message).split())}", err=True)


def echo_result(result: dict[str, Any], as_json: bool, text: Optional[str] = None) -> None:
    """A command's result on stdout: JSON with --json, else `text`, or one `key  value` line per entry."""
    from ganinv.atomic import json_text

    if as_json:
        click.echo(json_text(result, indent=2))
    else:
        click.echo(text if text is not None else as_lines(result))


def as_lines(result: dict[str, Any]) -> str:
    """{"a": {"b": 0.5}, "c": [1, 2]} -> "a.b  0.5" and "c    1,2", keys aligned."""
    rows: list[tuple[str, str]] = []

    def add(prefix: str, value: Any) -> None:
        if isinstance(value, dict) and value:
            for key, item in value.items():
                add(f"{prefix}.{key}" if prefix else str(key), item)
        elif isinstance(value, float):
            rows.append((prefix, f"{value:.6g}"))
        elif isinstance(value, (list, tuple)):
            rows.append((prefix, ",".join(map(str, value))))
        else:
            rows.append((prefix, str(value)))

    add("", result)
    width = max((len(key) for key, _ in rows), default=0)
    return "\n".join(f"{key:<{width}}  {value}" for key, value in rows)


@contextlib.contextmanager
def progress_lines(enabled: bool) -> Iterator[None]:
    """While `enabled`, show the library's progress lines (INFO records of the `ganinv.progress` logger, which a
    run writes in place of its bar when quiet) on stderr."""
    logger = logging.getLogger("ganinv.progress")
    level = logger.level
    if enabled:
        logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.setLevel(level)


def check_suffix(path: str, suffixes: str | tuple[str, ...], option: str, what: str, hint: str = "") -> None:
    """A file is written in one format: a name that promises another (a grid saved as samples.npz) is refused."""
    allowed = (suffixes,) if isinstance(suffixes, str) else suffixes
    if Path(path).suffix.lower() not in allowed:
        names = " or ".join(f"*{suffix}" for suffix in allowed)
        raise click.BadParameter(f"{path} {what}: name it {names}{hint}", param_hint=option)


def resumed_recipe(path: str, saved: dict[str, Any], run: Any, flagged: Iterable[str] = ()) -> dict[str, Any]:
    """`--recipe` given again with `--resume` (the interrupted command repeated, as the README allows): accepted
    when each of its fields equals the run's saved one (`saved`, of the run folder `run`, released on refusal);
    returns what it may change (steps, device). A field that differs is named, as a differing flag is. A field the
    command's own flags set (`flagged`, checked against the run as flags) is theirs: the run started with the flag's
    value over the recipe's, and was refused on resume for it (an outside audit)."""
    from dataclasses import MISSING

    from ganinv.config_checks import RESUME_MAY_CHANGE, plain, same_generator, same_path, same_value
    from ganinv.errors import RunError
    from ganinv.fit import load_recipe

    recipe = load_recipe(path)
    flagged = set(flagged)
    differ = []
    for key, value in sorted(recipe.items()):
        if key in RESUME_MAY_CHANGE or key in flagged:
            continue
        was = saved.get(key, MISSING)
        if key == "options" and isinstance(value, dict):  # as the run recorded them: a spec file as its fields
            from ganinv.sources import options_to_record

            value = options_to_record(value)
        if isinstance(value, dict) and isinstance(was, dict):  # [dreaming], [augment], options: field by field
            pairs = [(f"{key}.{k}", was.get(k, MISSING), v) for k, v in sorted(value.items()) if k not in flagged]
        else:
            pairs = [(key, was, value)]
        for name, then, now in pairs:
            if then is not MISSING and (
                same_value(plain(then), plain(now))
                or same_path(then, now)
                or (name == "generator" and isinstance(now, str) and same_generator(now, then))
            ):
                continue
            shown = "none" if then is MISSING else json.dumps(plain(then))
            differ.append(f"{name} (the run's {shown}, the recipe's {json.dumps(plain(now))})")
    if differ:
        run.release()
        raise RunError(
            f"--resume continues a run with its saved options, and the recipe {path} differs from them: "
            f"{'; '.join(differ)}; drop --recipe to resume, or start a new run with it in another --out"
        )
    return {key: recipe[key] for key in ("steps", "device") if key in recipe}


@contextlib.contextmanager
def resume_hint(command: str, out: str | os.PathLike) -> Iterator[None]:
    """What a run stopped by Ctrl-C takes next: the command that continues it, its folder named (`--resume` alone was
    an error of its own where `--out` had been left to its default: an outside audit); before its first checkpoint,
    the same command again (`--resume` then has nothing to continue: an outside audit)."""
    try:
        yield
    except KeyboardInterrupt:
        from ganinv.cli.main import debugging
        from ganinv.runs import Run

        if debugging():
            raise
        from ganinv.cli.main import INTERRUPTED_EXIT, TERMINATED_EXIT, Terminated, close_progress_bars

        terminated = sys.exc_info()[0] is Terminated  # SIGTERM, met as Ctrl-C (ganinv.cli.main)
        stopped = "Stopped by SIGTERM" if terminated else "Interrupted"
        if Run(out).latest_checkpoint() is None:
            said = f"{stopped} before the run's first checkpoint; run the same command again to start it over."
        else:
            said = f"{stopped}; continue with `ganinv {command} --out {shlex.quote(str(out))} --resume`."
        close_progress_bars()
        click.echo(said, err=True)
        sys.exit(TERMINATED_EXIT if terminated else INTERRUPTED_EXIT)


def parse_ks(text: str) -> list[int]:
    """`--k 1,16,256`: the importance-sample sizes, as `loglik` and `perf` take them."""
    from ganinv.errors import GaninvError

    try:
        ks = sorted({int(part) for part in text.split(",")})  # an empty part (1,,2) is a typo: refused
    except ValueError:
        ks = []
    if not ks or ks[0] < 1:
        raise GaninvError(f"--k takes positive sample sizes separated by commas (e.g. 1,16,256), got {text!r}")
    return ks
