"""`ganinv bench RECIPE`: benchmarks as recipes, `ganinv` commands run in order and a table of their results.

A benchmark recipe (TOML, e.g. `recipes/bench-features-mnist.toml`):

    title = "Features of the inverter of {generator}"
    notes = "Shown under the table."
    [vars]                     # substituted as {name} into every argument; `--set name=value` overrides
    root = "data/mnist"
    [[stages]]
    name = "probe"             # its JSON result is kept under this name
    run = ["probe", "--train", "{out}/train.safetensors", "--test", "{out}/test.safetensors", "--json"]
    json = true                # the stage prints JSON on stdout
    creates = "{out}/x"        # optional: skip the stage when this path (or builtin:/hub: source) exists
    optional = true            # optional: record a failure and go on (the report shows n/a)
    [report]
    columns = ["Features", "Linear"]
    rows = [["ganinv", "$probe.accuracy_pct.linear"], ["MVAE (Table V)", 95.62]]

`{out}` is the output folder; the title, notes and report text may use variables too.
Stages run one after the other in this process (progress on stderr); `bench.json` (every
stage's command, time and result, the host) and `bench.md` (the report table) are written
there. A cell `"$stage.key..."` is looked up in the results.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import platform
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import click

from ganinv import trust
from ganinv.atomic import write_json, write_text
from ganinv.cli.main import cli
from ganinv.cli.options import echo_result, json_option, out_option, parse_key_values, quiet_option, warn
from ganinv.errors import RunError
from ganinv.outputs import check_writable
from ganinv.recipe_files import read_toml

RECIPE_KEYS = {"title", "notes", "vars", "stages", "report"}
REPORT_KEYS = {"columns", "rows"}
VARIABLE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_-]*)\}")


class StageFailed(RunError):
    """A stage whose command failed with its own one-line error, already printed."""


@dataclass
class Stage:
    name: str
    run: list[str]  # a ganinv command line, e.g. ["probe", "--train", ...]
    json: bool = False  # parse stdout as JSON and keep it as the stage's result
    creates: Optional[str] = None  # skip the stage when this path already exists, or names a builtin:/hub: source
    optional: bool = False  # a failure is recorded and the bench goes on


@dataclass
class Recipe:
    path: Path
    title: str
    notes: str
    vars: dict[str, str]
    stages: list[Stage]
    columns: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)


def load_recipe(path: str | Path) -> Recipe:
    path = Path(path)
    data = read_toml(path, "title, notes, [vars], [[stages]] and [report] (see `ganinv bench --help`)")
    report_keys = set(data.get("report") or {}) if isinstance(data.get("report"), dict) else set()
    unknown = sorted(set(data) - RECIPE_KEYS) + [f"report.{key}" for key in sorted(report_keys - REPORT_KEYS)]
    if unknown:
        raise RunError(
            f"recipe {path}: unknown key(s) {', '.join(unknown)}; a benchmark recipe holds "
            f"{', '.join(sorted(RECIPE_KEYS))}, and report.{' and report.'.join(sorted(REPORT_KEYS))}"
        )
    if not data.get("stages"):
        raise RunError(f"recipe {path} has no [[stages]]; a benchmark recipe lists the commands to run")
    if not isinstance(data["stages"], list) or not all(isinstance(stage, dict) for stage in data["stages"]):
        raise RunError(f"recipe {path}: stages must be [[stages]] tables; write each as [[stages]] with name and run")
    try:
        stages = [Stage(**stage) for stage in data["stages"]]
    except TypeError as exc:
        raise RunError(
            f"recipe {path}: bad [[stages]] entry ({exc}); keys are name, run, json, creates, optional"
        ) from None
    for stage in stages:
        check_stage(stage, path)
    report = data.get("report", {})
    expect(isinstance(data.get("vars", {}), dict), path, "vars", "a [vars] table of NAME = value")
    expect(isinstance(report, dict), path, "report", "a [report] table")
    columns, rows = report.get("columns", []), report.get("rows", [])
    expect(isinstance(columns, list), path, "report.columns", "a list of column titles")
    expect(
        isinstance(rows, list) and all(isinstance(row, list) for row in rows),
        path,
        "report.rows",
        "a list of rows, each a list of cells",
    )
    for key in ("title", "notes"):
        expect(isinstance(data.get(key, ""), str), path, key, "a string")
    check_names(stages, rows, path)
    for key, value in data.get("vars", {}).items():
        expect(isinstance(value, (str, int, float)), path, f"vars.{key}", "a string or a number")
    return Recipe(
        path,
        data.get("title", path.stem),
        data.get("notes", ""),
        {key: str(value) for key, value in data.get("vars", {}).items()},
        stages,
        columns,
        rows,
    )


def expect(ok: bool, path: Path, key: str, what: str) -> None:
    if not ok:
        raise RunError(f"recipe {path}: {key} must be {what}; fix the recipe")


def check_stage(stage: Stage, path: Path) -> None:
    """The value types of a [[stages]] entry, and that its command is a ganinv command."""
    where = f"stages entry {stage.name!r}"
    expect(isinstance(stage.name, str) and stage.name != "", path, f"{where}: name", "a non-empty string")
    expect(
        isinstance(stage.run, list) and len(stage.run) > 0 and all(isinstance(a, str) for a in stage.run),
        path,
        f"{where}: run",
        'a list of strings, the ganinv command line (e.g. ["probe", "--train", "{out}/a"])',
    )
    for key in ("json", "optional"):
        expect(isinstance(getattr(stage, key), bool), path, f"{where}: {key}", "true or false")
    expect(stage.creates is None or isinstance(stage.creates, str), path, f"{where}: creates", "a path string")
    known = set(cli.list_commands(click.Context(cli)))
    if stage.run[0] not in known:
        raise RunError(
            f"recipe {path}: {where} runs {stage.run[0]!r}, not a ganinv command; use one of {', '.join(sorted(known))}"
        )


def check_names(stages: list[Stage], rows: list[list[Any]], path: Path) -> None:
    """Results are kept by stage name: two stages with one name, or a report cell `$NAME...` naming no stage, are
    mistakes that would otherwise show only as a wrong or n/a figure after every stage has run."""
    names = [stage.name for stage in stages]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise RunError(f"recipe {path}: stage names must differ, results are kept by name; twice: {', '.join(twice)}")
    for row in rows:
        for value in row:
            if isinstance(value, str) and value.startswith("$") and value[1:].split(".")[0] not in names:
                raise RunError(
                    f"recipe {path}: report cell {value!r} names no stage; it must start with one of {', '.join(names)}"
                )


def check_overrides(recipe: Recipe, overrides: dict[str, str]) -> None:
    """Refuse a --set of a variable the recipe neither defines nor uses: a typo (`generater=`) ran the benchmark on
    the recipe's own generator, reported as the one asked for (an outside audit); `out` is --out's."""
    if "out" in overrides:
        raise RunError("--set out=... is not a variable the recipe sets: give the folder with --out")
    texts = [*recipe.vars.values(), *(t for stage in recipe.stages for t in [*stage.run, stage.creates or ""])]
    texts += [recipe.title, recipe.notes, *recipe.columns, *(v for row in recipe.rows for v in row)]  # the report's
    known = set(recipe.vars) | {m.group(1) for text in texts for m in VARIABLE.finditer(str(text))}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise RunError(
            f"--set {unknown[0]}=...: recipe {recipe.path} has no variable {unknown[0]!r}; its variables: "
            f"{', '.join(sorted(known - {'out'})) or 'none'}"
        )


def substitute(text: str, values: dict[str, str]) -> str:
    def lookup(match: re.Match) -> str:
        if match.group(1) not in values:
            raise RunError(f"unknown variable {{{match.group(1)}}} in {text!r}; define it in [vars] or with --set")
        return values[match.group(1)]

    return VARIABLE.sub(lookup, text)


LONGEST_VALUE = 4096  # characters of a resolved variable: the longest path Linux takes (PATH_MAX)


def resolve_vars(variables: dict[str, str]) -> dict[str, str]:
    """Substitute variables into each other ({out}/train.safetensors) until none is left."""
    values = dict(variables)
    for _ in range(len(values) + 1):
        unresolved = {key: text for key, text in values.items() if VARIABLE.search(text)}
        if not unresolved:
            return values
        for key, text in unresolved.items():
            values[key] = VARIABLE.sub(lambda m: values.get(m.group(1), m.group(0)), text)
            if len(values[key]) > LONGEST_VALUE:  # a 482-byte recipe of nested variables took 8 GB (an outside audit)
                raise RunError(
                    f"recipe variable {key!r} grows past {LONGEST_VALUE:,} characters as variables are substituted "
                    "into it (variables that repeat each other); a path or an option is never that long"
                )
    raise RunError(f"recipe variables refer to each other in a loop or to unknown names: {unresolved}")


def run_stage(stage: Stage, values: dict[str, str], quiet: bool = False) -> dict[str, Any]:
    """Run one `ganinv` command in this process; its stdout is kept (JSON) or passed to stderr (unless quiet)."""
    argv = [substitute(arg, values) for arg in stage.run]
    record: dict[str, Any] = {"name": stage.name, "command": "ganinv " + " ".join(argv)}
    created = substitute(stage.creates, values) if stage.creates else None
    # a built-in or Hub source (`--set inverter=builtin:mnist`) exists as such: its stage fitted one for 25 minutes
    # that no later stage read (an outside audit)
    if created is not None and created.startswith(("builtin:", "hub:")):
        progress(f"{stage.name}: skipped, {created} exists", quiet)
        return {**record, "skipped": True, "seconds": 0.0}
    if created is not None and Path(created).exists():
        # not run: said and recorded, since its options may have changed since (an outside audit: a rerun with --set
        # fit_steps=10 recorded the 10-step command beside the 5-step fit's figures); the run that made it is named
        # by its config.json, a run folder's above an artifact's own (a review)
        folder = next((p for p in (Path(created).parent, Path(created)) if (p / "config.json").is_file()), None)
        made_by = folder / "config.json" if folder is not None else None
        ours = Path(created).resolve().is_relative_to(Path(values["out"]).resolve()) if "out" in values else False
        warn(
            f"stage {stage.name!r}: reusing {created}, "
            + (
                f"made by an earlier bench into this --out; its command was not run, so options changed since do not "
                f"apply{f' (what made it: {made_by})' if made_by else ''}: delete {created} to make "
                "it anew"
                if ours
                else "which you named; its command was not run"
            )
        )
        reused = {"reused": created, **({"reused_config": str(made_by)} if made_by else {})}
        return {**record, "skipped": True, "command_not_run": True, **reused, "seconds": 0.0}
    resumed = unfinished_run(argv)
    if resumed is not None:  # a bench stopped during this stage: its run goes on, as the rerun promises
        argv = [*argv, "--resume"]
        record["command"] += " --resume"
        finished = (Path(resumed) / "eval.json").is_file()  # a stage without `creates`, run to its end before
        warn(
            f"stage {stage.name!r}: {resumed} holds "
            + (
                "a finished run; resuming it with the stage's options evaluates it again"
                if finished
                else "an unfinished run (a bench stopped during it); resuming it with the stage's options"
            )
        )
    progress(f"{stage.name}: {record['command']}", quiet)
    stdout, stderr = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    try:
        with (
            contextlib.redirect_stdout(stdout),
            contextlib.redirect_stderr(stderr) if quiet else contextlib.nullcontext(),
        ):
            cli.main(args=argv, prog_name="ganinv", standalone_mode=False)
    except click.ClickException as exc:  # a usage error in the recipe's command line
        raise RunError(
            f"stage {stage.name!r} ({record['command']}): {exc.format_message()}; fix the stage's "
            "run line in the recipe"
        ) from None
    except SystemExit as exc:  # a GaninvError, already printed as `Error: ...`
        if exc.code:
            command = " ".join(argv[: 2 if argv[0] == "mvae" else 1])
            advice = (
                f"; {resumed} holds an unfinished run this stage could not continue: continue it yourself with "
                f"`ganinv {command} --out {resumed} --resume` and rerun the bench, "
                "or delete it to start the stage over"
                if resumed is not None
                else ""
            )
            raise StageFailed(
                f"stage {stage.name!r} failed (its error is above): {record['command']}{advice}"
            ) from None
    finally:
        sys.stderr.write(warnings_and_errors(stderr.getvalue()))  # quiet: the stage's progress is dropped
    record["seconds"] = round(time.perf_counter() - start, 1)
    if not stage.json:
        if not quiet:
            sys.stderr.write(stdout.getvalue())
        return record
    try:
        record["result"] = json.loads(stdout.getvalue())
    except json.JSONDecodeError:
        raise RunError(f"stage {stage.name!r} printed no JSON; add --json to its command or drop json = true") from None
    return record


RUN_COMMANDS = (["fit"], ["train"], ["mvae", "fit"])  # the stages that write a run folder, which --resume continues


def unfinished_run(argv: list[str]) -> Optional[str]:
    """The --out of a `fit`, `train` or `mvae fit` stage when it holds a run with a checkpoint (one a stopped bench
    left: a plain rerun of the stage refused it as "already holds a run", an outside audit), else None."""
    from ganinv.runs import Run

    if "--resume" in argv or not any(argv[: len(command)] == command for command in RUN_COMMANDS):
        return None
    out = next(
        (value for flag, value in zip(argv, [*argv[1:], ""]) if flag == "--out"),
        next((arg.partition("=")[2] for arg in argv if arg.startswith("--out=")), None),
    )
    if not out or not Path(out).is_dir() or not (Path(out) / "config.json").is_file():
        return None
    return out if Run(out).latest_checkpoint() is not None else None


def outputs(recipe: Recipe, out: Path) -> set[str]:
    """The recipe's variables that name places inside the benchmark folder by their own values (`fit_out =
    "{out}/fit"`): its outputs, the only ones a --set may move elsewhere."""
    try:
        defaults = resolve_vars({**recipe.vars, "out": str(out)})
    except RunError:  # a variable only the user's --set defines: not one of the recipe's outputs
        return set()
    inside = out.resolve()
    return {name for name in recipe.vars if Path(defaults[name]).resolve().is_relative_to(inside)}


BENCH_MARK = ".ganinv-bench"  # in a folder a benchmark made: a rerun may write there again


def check_writes_inside(stage: Stage, values: dict[str, str], out: Path, typed: set[str], path: Path) -> None:
    """A recipe is a file, so its stages may write only inside the benchmark's folder (or where the user's own
    `--set NAME=PATH` moves one of the recipe's outputs, `typed`), may not replace a file there, and may not
    publish anything."""
    for i, arg in enumerate(stage.run):
        if arg == "--push-to-hub" or arg.startswith("--push-to-hub="):
            raise RunError(f"stage {stage.name!r} of {path} publishes to the Hub; a recipe may not: push yourself")
        option, _, inline = arg.partition("=")
        if not (option == "--out" or (option.startswith("--") and option.endswith("-out"))):
            continue  # every option that names a file or folder to write: --out, --latents-out, ...
        if inline:
            template = inline
        elif i + 1 < len(stage.run):
            template = stage.run[i + 1]
        else:
            continue
        name = template[1:-1] if template.startswith("{") and template.endswith("}") else None
        target = Path(substitute(template, values)).resolve()
        if name in typed:  # the user moved this output with --set: only to a new place (or one the stage skips)
            written = [target, target.with_suffix(".npz")] if "--npz" in stage.run else [target]  # features --npz
            skipped = stage.creates is not None and Path(substitute(stage.creates, values)).exists()
            existing = next((place for place in written if place.exists()), None)
            if existing is not None and not skipped:
                raise RunError(
                    f"stage {stage.name!r} of {path} would write over {existing}, which exists (--set {name}); give "
                    f"{name} a new path, or move it aside yourself"
                )
            continue
        if not target.is_relative_to(out.resolve()):
            raise RunError(
                f"stage {stage.name!r} of {path} writes {target}, outside the benchmark folder {out}; a recipe may "
                "write only inside --out: fix the stage, or --set the variable it writes to"
            )
    if writes_by_default(stage.run) and not any(arg == "--out" or arg.startswith("--out=") for arg in stage.run):
        raise RunError(
            f"stage {stage.name!r} of {path} runs `{' '.join(stage.run[:2])}` without --out, which writes to a "
            "default folder outside the benchmark's; give it --out {out}/NAME"
        )


# Commands that write a folder under runs/ in the working folder when --out is not given.
WRITE_BY_DEFAULT = (["fit"], ["train"], ["mvae", "fit"], ["bench"])


def writes_by_default(argv: list[str]) -> bool:
    return any(argv[: len(command)] == command for command in WRITE_BY_DEFAULT)


def warnings_and_errors(text: str) -> str:
    """The `Warning: ...` and `Error: ...` lines of a quiet stage's stderr (ganinv.cli.main's one-line forms),
    without its progress lines and bars."""
    lines = text.replace("\r", "\n").splitlines()
    return "".join(f"{line}\n" for line in lines if line.startswith(("Warning: ", "Error: ")))


def progress(line: str, quiet: bool) -> None:
    if not quiet:
        click.echo(f"[bench] {line}", err=True)


def host() -> dict[str, Any]:
    import numpy
    import torch

    from ganinv import __version__

    return {
        "platform": platform.platform(),
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "ganinv_threads": os.environ.get("GANINV_THREADS"),
        "torch_threads": torch.get_num_threads(),  # what the stages ran with (chosen from the free cores if unset)
        "ganinv": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


def run_bench(
    recipe: Recipe,
    out: str | Path,
    overrides: Optional[dict[str, str]] = None,
    trust_remote_code: bool = False,
    quiet: bool = False,
) -> dict[str, Any]:
    """Run every stage in order, then write `bench.json` and `bench.md` in `out`.

    The stages' command lines come from a file, so they may not choose code to run (a `module:callable`
    generator, a program, a full pickle) unless `trust_remote_code`, the user's own flag (ganinv.trust).
    """
    out = Path(out)
    check_overrides(recipe, overrides or {})
    values = resolve_vars({**recipe.vars, **(overrides or {}), "out": str(out)})
    # the user's --set may move an output of the recipe (a variable whose own value lies inside --out) anywhere; not
    # an input (a recipe writing to {generator} would overwrite the user's weights), and the --set of a bench stage
    # in another recipe is that file's
    typed = set(overrides or {}) & outputs(recipe, out) if trust.chosen_by_file() is None else set()
    for stage in recipe.stages:  # unknown {variables} fail here, before the folder is made
        for text in [*stage.run, stage.creates or ""]:
            substitute(text, values)
        check_writes_inside(stage, values, out, typed, recipe.path)
    report_text = [recipe.title, recipe.notes, *recipe.columns, *(v for row in recipe.rows for v in row)]
    for text in report_text:  # and in the report's text, before any stage runs
        if isinstance(text, str) and not text.startswith("$"):
            substitute(text, values)
    check_writable(out, folder=True)
    if out.is_dir() and any(out.iterdir()) and not (out / BENCH_MARK).is_file():
        raise RunError(
            f"--out {out} already holds files that are not an earlier `ganinv bench`'s; a benchmark writes its stages' "
            "results there, so give a new or empty folder"
        )
    out.mkdir(parents=True, exist_ok=True)
    (out / BENCH_MARK).touch()  # before any stage: a rerun after a failure is let in
    start = time.perf_counter()
    stages = []
    for stage in recipe.stages:
        try:
            with trust.commands_from_file(f"the benchmark recipe {recipe.path}", trusted=trust_remote_code):
                stages.append(run_stage(stage, values, quiet))
        except StageFailed as exc:  # the stage's error names its own flag: say which --set gave the value (53c)
            given = [
                f"--set {k}={v}"
                for k, v in (overrides or {}).items()
                if v in substitute(" ".join(stage.run), values).split()
            ]
            failed = StageFailed(f"{exc}; from the command line it took {', '.join(given)}") if given else exc
            if not stage.optional:
                raise failed from None
            click.echo(f"[bench] {stage.name}: failed, optional, going on", err=True)
            stages.append({"name": stage.name, "failed": str(failed), "seconds": 0.0})
        except RunError as exc:
            if not stage.optional:
                raise
            click.echo(f"[bench] {stage.name}: failed, optional, going on", err=True)  # quiet too: its error shows
            stages.append({"name": stage.name, "failed": str(exc), "seconds": 0.0})
    summary: dict[str, Any] = {
        "recipe": str(recipe.path),
        "title": substitute(recipe.title, values),
        "vars": values,
        "host": host(),
        "total_seconds": round(time.perf_counter() - start, 1),
        "stages": stages,
    }
    summary["report"] = render_report(recipe, summary)
    write_json(out / "bench.json", summary)
    write_text(out / "bench.md", summary["report"])
    return summary


def cell(value: Any, results: dict[str, Any], values: dict[str, str]) -> str:
    """A report cell: "$stage.key.key" looks a number up in the results; numbers get two decimals, or three
    significant digits below 1 (0.000862 s per image is not 0.00); other text has its {variables} substituted."""
    if isinstance(value, str) and value.startswith("$"):
        stage, *keys = value[1:].split(".")
        value = results.get(stage)
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        if value is None:
            return "n/a"
    if isinstance(value, str):
        return substitute(value, values)
    if not isinstance(value, float):
        return str(value)
    return f"{value:.3g}" if 0 < abs(value) < 1 else f"{value:.2f}"


def render_report(recipe: Recipe, summary: dict[str, Any]) -> str:
    results = {stage["name"]: stage.get("result") for stage in summary["stages"]}
    values = summary["vars"]
    lines = [f"### {substitute(recipe.title, values)}", ""]
    if recipe.columns:
        lines += ["| " + " | ".join(recipe.columns) + " |", "|" + " --- |" * len(recipe.columns)]
        lines += ["| " + " | ".join(cell(v, results, values) for v in row) + " |" for row in recipe.rows]
        lines.append("")
    if recipe.notes:
        lines += [substitute(recipe.notes.strip(), values), ""]
    machine = summary["host"]["cuda"] or f"{summary['host']['cpu']} CPU ({summary['host']['cpu_count']} cores)"
    timings = ", ".join(
        f"{s['name']} {s['seconds']:.0f} s"
        + (f" (reused {s['reused']}, made earlier)" if s.get("reused") else " (reused)" if s.get("skipped") else "")
        + (" (failed)" if s.get("failed") else "")
        for s in summary["stages"]
    )
    lines.append(f"Time: {summary['total_seconds']:.0f} s on {machine}; {timings}.")
    return "\n".join(lines) + "\n"


@click.command("bench")
@click.argument("recipe", type=click.Path(exists=True, dir_okay=False))
@out_option(
    "Folder to write, {out} in the recipe (default: runs/RECIPE-NAME, so a rerun reuses its stages).",
    folder=True,
    required=False,
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="NAME=VALUE",
    help="Override a recipe variable, repeatable (e.g. --set root=data/mnist).",
)
@click.option(
    "--trust-remote-code",
    is_flag=True,
    default=False,
    help="Let the recipe's commands load generators that are code (module:callable, programs, full "
    "pickles). Only for recipes you trust; a --trust-remote-code inside a stage counts for nothing.",
)
@json_option
@quiet_option
def bench(recipe, out, overrides, trust_remote_code, as_json, quiet):
    """Run the ganinv commands the benchmark RECIPE lists; write bench.json and a markdown table (printed, or the
    summary as JSON with --json)."""
    try:
        values = parse_key_values(overrides)
    except click.BadParameter as exc:
        exc.param_hint = "--set"
        raise
    loaded = load_recipe(recipe)
    out = Path(out) if out else Path("runs") / loaded.path.stem
    check_writable(out, folder=True)
    try:
        summary = run_bench(loaded, out, values, trust_remote_code=trust_remote_code, quiet=quiet)
    except StageFailed as exc:  # the stage printed its `Error:` line; one is enough
        click.echo(f"[bench] {exc}", err=True)
        sys.exit(exc.exit_code)
    echo_result(summary, as_json, f"{summary['report']}\nwrote {out / 'bench.json'} and {out / 'bench.md'}")
