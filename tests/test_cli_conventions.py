"""The command line speaks one dialect (README, "Command-line conventions"), checked on every registered command.

A new flag, or an old flag on a new command, fails `test_every_flag_has_one_meaning` until it is entered in
MEANINGS below: the place to decide whether it means what it means elsewhere.
"""

from __future__ import annotations

import json

import click
import pytest
import torch
from click.testing import CliRunner

from ganinv.cli import options
from ganinv.cli.main import cli
from ganinv.config_checks import FiniteFloatRange, LimitedIntRange
from ganinv.features import FeatureSet, save_features


def walk(group: click.Group, prefix: str = "") -> dict[str, click.Command]:
    """Every command under `group`, subcommands by their full name ("mvae fit")."""
    found = {}
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        full = f"{prefix} {name}".strip()
        if isinstance(command, click.Group):
            assert command.help, f"`ganinv {full}` has no docstring"
            found.update(walk(command, full))
        else:
            found[full] = command
    return found


COMMANDS = walk(cli)


def long_name(param: click.Option) -> str:
    return next(opt for opt in param.opts if opt.startswith("--"))


def flags(hidden: bool = False) -> dict[str, dict[str, click.Option]]:
    """flag -> {command: option}, the visible options (or only the hidden ones)."""
    table: dict[str, dict[str, click.Option]] = {}
    for name, command in COMMANDS.items():
        for param in command.params:
            if isinstance(param, click.Option) and param.hidden == hidden and long_name(param) != "--help":
                table.setdefault(long_name(param), {})[name] = param
    return table


GENERATOR = {"fit", "inspect", "sample", "perf", "mvae fit"}  # take a generator source (generator_options)
# read an artifact naming a generator; these are also the commands that read IMAGES (image_options)
ARTIFACT = {"invert", "loglik", "features", "cluster-accuracy", "mvae features", "mvae eval"}
IMAGES = ARTIFACT
RUNS = {"fit", "train", "mvae fit"}  # start a training run in a folder of their own

# flag -> (its one meaning, the commands that take it)
MEANINGS = {
    "--generator": ("the generator source", GENERATOR | ARTIFACT),
    "--trust-remote-code": ("let what is loaded run code", GENERATOR | ARTIFACT | {"bench"}),
    "--model-class": ("the generator's own class, MODULE:CLASS", GENERATOR | ARTIFACT),
    "--model-kwargs": ("keyword arguments of --model-class", GENERATOR),
    "--arch": ("the generator's architecture", GENERATOR),
    "--option": ("an architecture option KEY=VALUE", GENERATOR),
    "--nz": ("the generator's noise size", GENERATOR),
    "--latent-shape": ("the generator's native latent shape", GENERATOR),
    "--image-shape": ("the generator's image shape", GENERATOR),
    "--output-range": ("the generator's native output range", GENERATOR),
    "--prior": ("the generator's native latent prior", GENERATOR),
    "--spec": ("a JSON file of spec fields", GENERATOR),
    "--root": ("folder of a dataset's original files", IMAGES | RUNS),
    "--split": ("split of a dataset source", IMAGES | {"mvae fit"}),
    "--limit": ("the first N images only", IMAGES | {"mvae fit"}),
    "--input-range": ("range of the stored pixel values", IMAGES | {"fit", "train", "mvae fit"}),  # fit: of --eval-real
    "--device": ("torch device", GENERATOR | ARTIFACT | RUNS),
    "--seed": (
        "random seed",
        {"fit", "train", "mvae fit", "mvae eval", "inspect", "sample", "loglik", "probe", "perf"},
    ),
    "--quiet": (
        "no progress bar, no progress lines",
        RUNS | {"loglik", "features", "mvae features", "probe", "cluster-accuracy", "bench"},
    ),
    "--progress-lines": ("progress as plain lines instead of a bar", {"fit", "train"}),
    "--json": (
        "results as JSON on stdout",
        RUNS | {"inspect", "invert", "loglik", "probe", "cluster-accuracy", "mvae eval", "bench"},
    ),
    "--out": (
        "where the command writes",
        RUNS | {"invert", "loglik", "features", "mvae features", "sample", "bench", "perf"},
    ),
    "--batch-size": ("items per batch", RUNS | IMAGES | {"perf"}),
    "--steps": ("optimisation steps", RUNS | {"perf"}),
    "--lr": ("Adam learning rate", RUNS),
    "--beta": (
        "weight of the regulariser (the KL in fit, the dHSIC in mvae fit), the papers' beta",
        {"fit", "mvae fit"},
    ),
    "--sigma-x": ("observation noise std on the [-1, 1] scale", {"fit", "loglik"}),
    "--width": ("encoder width, first convolution's channels", {"fit", "mvae fit"}),
    "--hidden": ("encoder features before the heads", {"fit", "mvae fit"}),
    "--recipe": ("TOML file of the run's options", {"fit", "train"}),
    "--resume": ("continue the run in --out", RUNS),
    "--push-to-hub": ("publish the result to this Hub repo", {"fit", "train"}),
    "--eval-every": ("steps between evaluations", {"fit", "perf"}),
    "--eval-real": ("real images to evaluate on", {"fit", "mvae fit"}),
    "--eval-limit": ("the first N evaluation images", {"fit", "mvae fit"}),
    "--augment": ("fraction of perturbed dreams", {"fit", "perf"}),
    "--data": ("training images", {"train", "mvae fit"}),
    "--inverter": (
        "a fitted inverter: run, artifact, Hub id or builtin",
        {"invert", "loglik", "features", "cluster-accuracy", "perf"},
    ),
    "--num": ("number of generator samples", {"sample", "inspect"}),
    "--k": ("importance-sample sizes of the log-likelihood bounds", {"loglik", "perf"}),
    "--knn-k": ("neighbours of the kNN classifier", {"probe"}),
    "--features": ("a features file", {"cluster-accuracy"}),
    # flags of one command
    "--lambda-mi": ("code-recovery weight", {"fit"}),
    "--lambda-z": ("noise-recovery weight", {"fit"}),
    "--prior-scale": ("scale of the dreaming prior", {"fit"}),
    "--iterations": ("refinement passes of the encoder", {"fit", "invert"}),
    "--checkpoint-every": ("steps between checkpoints", {"fit", "mvae fit"}),
    "--log-every": ("steps between metrics records", {"fit"}),
    "--compile": ("torch.compile the encoders", {"fit"}),
    "--amp": ("bf16 autocast on CUDA", {"fit"}),
    "--n-critic": ("critic steps per generator step", {"train"}),
    "--list": ("list architectures and built-ins", {"inspect"}),
    "--refine": ("steps of per-image latent optimisation", {"invert"}),
    "--refine-lr": ("learning rate of --refine", {"invert"}),
    "--refine-basis": ("coordinates of --refine's steps", {"invert"}),
    "--refine-class": ("what --refine does with a categorical code", {"invert"}),
    "--start": ("where --refine starts", {"invert"}),
    "--generated": ("score N generated samples", {"loglik"}),
    "--fit-sigma": ("fit sigma_x on generated samples", {"loglik"}),
    "--fit-n": ("samples used by --fit-sigma", {"loglik"}),
    "--chunk-size": ("images per generator call", {"loglik"}),
    "--max-enumerate": ("most values of d summed exactly", {"loglik"}),
    "--raw-pixels": ("raw pixels instead of encoder features", {"features"}),
    "--npz": ("write .npz", {"features"}),
    "--train": ("features of the training split", {"probe"}),
    "--test": ("features of the test split", {"probe"}),
    "--classifiers": ("classifiers to train", {"probe"}),
    "--components": ("components K", {"mvae fit"}),
    "--latent-dim": ("size of each component's latent", {"mvae fit"}),
    "--s-dim": ("size of the mixed latent", {"mvae fit"}),
    "--dropout": ("component dropout kind", {"mvae fit"}),
    "--per-component-p": ("one dropout rate per component", {"mvae fit"}),
    "--lambda-s": ("weight of the latent-recovery term", {"mvae fit"}),
    "--mvae": ("a trained MVAE", {"mvae features", "mvae eval"}),
    "--set": ("override a recipe variable", {"bench"}),
    "--nrow": ("images per grid row", {"sample"}),
    "--latents-out": ("also write the latents", {"sample"}),
    "--perturb": ("perturb every sample as fit --augment does", {"sample"}),
    "--measure": ("what to measure", {"perf"}),
    "--random-dcgan": ("a random-weight DCGAN instead of --generator", {"perf"}),
    "--seconds": ("least time of each timing", {"perf"}),
    "--images": ("images per measurement", {"perf"}),
    "--threshold": ("quality threshold of the reference measure", {"perf"}),
    "--variant": ("fit variants to time", {"perf"}),
    "--isolate": ("each point in its own process", {"perf"}),
    "--threads": ("torch threads", {"perf"}),
    "--contend": ("busy processes during the measurement", {"perf"}),
}
SHORT = {"-g": "--generator", "-n": "--num"}  # a short flag stands for one long flag everywhere
DEPRECATED = {("fit", "--eval-root"): "--root", ("probe", "--k"): "--knn-k"}  # hidden old spellings
SAME_HELP = {
    "--root": options.ROOT_HELP,
    "--device": options.DEVICE_HELP,
    "--seed": options.SEED_HELP,
    "--quiet": options.QUIET_HELP,
    "--json": options.JSON_HELP,
}
FILE_RESULTS = {"features", "mvae features", "sample"}  # their result is the file they write: one line naming it
OUT_DEFAULTS = RUNS | {"bench"}  # --out optional, its default named in the help
OUT_EXTRA = {"loglik", "perf"}  # --out optional: an extra copy of what stdout shows
# ganinv/cli/perf.py is another change in progress; these go when it takes json_option and out_option
PENDING = {("perf", "--json"), ("perf", "--out")}


def test_the_walk_finds_every_command():
    assert set(COMMANDS) >= {
        "fit",
        "train",
        "invert",
        "inspect",
        "sample",
        "loglik",
        "features",
        "probe",
        "cluster-accuracy",
        "bench",
        "mvae fit",
        "mvae features",
    }


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_and_option_says_what_it_is(name):
    command = COMMANDS[name]
    assert command.help and command.help.strip(), f"`ganinv {name}` has no docstring"
    for param in command.params:
        if isinstance(param, click.Argument):
            assert param.name.upper() in command.help, f"`ganinv {name}`'s docstring does not name {param.name.upper()}"
        else:
            assert param.help and param.help.strip(), f"`ganinv {name} {long_name(param)}` has no help"
            # the range its help shows: a bound-less one had shown "x<=None" (an outside audit)
            shown = param.get_help_record(click.Context(command)) or ("", "")
            assert "None" not in shown[1], f"`ganinv {name} {long_name(param)}`: {shown[1]}"


def test_every_flag_has_one_meaning():
    used = {flag: set(where) for flag, where in flags().items()}
    unknown = sorted(set(used) - set(MEANINGS))
    assert not unknown, f"flags missing from MEANINGS (decide what each means): {unknown}"
    for flag, where in used.items():
        assert where == MEANINGS[flag][1], (
            f"{flag} ({MEANINGS[flag][0]}) is taken by {sorted(where)}, the table says {sorted(MEANINGS[flag][1])}"
        )


def test_a_short_flag_stands_for_one_long_flag():
    for name, command in COMMANDS.items():
        for param in command.params:
            if isinstance(param, click.Option):
                for opt in param.opts:
                    if not opt.startswith("--"):
                        assert SHORT.get(opt) == long_name(param), f"`ganinv {name}`: {opt} is {long_name(param)}"


@pytest.mark.parametrize("flag", sorted(SAME_HELP) + ["--generator", "--out"])
def test_the_shared_flags_come_from_the_shared_decorators(flag):
    for name, param in flags()[flag].items():
        if (name, flag) in PENDING:
            continue
        assert isinstance(param, options.SharedOption), f"`ganinv {name}` makes its own {flag}; use ganinv.cli.options"
        if flag in SAME_HELP:
            assert param.help == SAME_HELP[flag], f"`ganinv {name} {flag}` has help of its own"
        if flag == "--generator":
            assert param.help.startswith(options.GENERATOR_HELP)


def test_out_is_required_unless_a_default_is_natural():
    for name, param in flags()["--out"].items():
        if name in OUT_DEFAULTS:
            assert not param.required and "(default: " in param.help, name
        elif name in OUT_EXTRA:
            assert not param.required and param.help.startswith("Also "), name
        else:
            assert param.required, f"`ganinv {name} --out` writes the command's result and must be required"
            # and click says so: with an explicit default of None (click 8.3 on) a missing --out reached the command
            # as None, an internal error in `sample` and `invert`
            others = [
                arg
                for p in COMMANDS[name].params
                if p.required and p.name != "out"
                for arg in ([p.opts[0], "x"] if isinstance(p, click.Option) else ["x"])
            ]
            result = CliRunner().invoke(cli, [*name.split(), *others], prog_name="ganinv")
            assert result.exit_code == 2 and "Missing option '--out'" in result.output, (name, result.output)


def test_every_command_that_reports_results_has_json():
    for name in set(COMMANDS) - FILE_RESULTS:
        has_json = name in flags()["--json"]
        assert has_json or (name, "--json") in PENDING, f"`ganinv {name}` reports results but has no --json"


def test_the_pending_exceptions_are_still_needed():
    """When perf.py takes the shared decorators, PENDING must shrink (so the exceptions do not outlive the cause)."""
    for name, flag in PENDING:
        param = flags().get(flag, {}).get(name)
        assert param is None or not isinstance(param, options.SharedOption), f"drop ({name!r}, {flag!r}) from PENDING"


def test_the_only_hidden_options_are_the_deprecated_spellings():
    hidden = {(name, flag) for flag, where in flags(hidden=True).items() for name in where}
    assert hidden == set(DEPRECATED)
    for (name, old), new in DEPRECATED.items():
        assert name in flags()[new], f"`ganinv {name}` has {old} but not {new}"


# ---- the deprecated spellings still work, with one warning line -------------------------------------------
def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def warning_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("Warning:")]


@pytest.fixture(scope="module")
def feature_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("features")
    generator = torch.Generator().manual_seed(0)
    for split, n in (("train", 40), ("test", 20)):
        labels = torch.arange(n) % 2  # (N,) two classes, separable along the first column
        features = torch.randn(n, 3, generator=generator) + 4 * labels[:, None].float()  # (N, 3)
        save_features(FeatureSet(features, labels, layout={"z": 3}), folder / f"{split}.safetensors")
    return folder / "train.safetensors", folder / "test.safetensors"


def test_probe_k_is_the_old_spelling_of_knn_k(feature_files):
    train, test = feature_files
    base = ("probe", "--train", train, "--test", test, "--classifiers", "knn", "--json", "--quiet")
    new = invoke(*base, "--knn-k", 3)
    old = invoke(*base, "--k", 3)
    assert new.exit_code == 0 and old.exit_code == 0, old.output
    assert json.loads(old.stdout)["accuracy_pct"] == json.loads(new.stdout)["accuracy_pct"]
    assert warning_lines(new) == [] and len(warning_lines(old)) == 1 and "--knn-k" in warning_lines(old)[0]
    # the old spelling reaches the classifier: k larger than the training set is refused under its new name
    too_many = invoke(*base, "--k", 41)
    assert too_many.exit_code == 2 and "--knn-k" in too_many.stderr
    both = invoke(*base, "--k", 3, "--knn-k", 4)
    assert both.exit_code == 2 and "--knn-k only" in both.stderr


def test_probe_prints_a_table_by_default_and_json_with_json(feature_files):
    train, test = feature_files
    text = invoke("probe", "--train", train, "--test", test, "--classifiers", "knn")
    assert text.exit_code == 0 and text.stdout.startswith("classifier") and "training knn" in text.stderr
    quiet = invoke("probe", "--train", train, "--test", test, "--classifiers", "knn", "--quiet")
    assert quiet.exit_code == 0 and quiet.stderr == ""


def test_fit_eval_root_is_the_old_spelling_of_root(tmp_path):
    from test_fit import tiny_generator

    generator = tiny_generator(tmp_path / "gen")
    recipe = tmp_path / "tiny.toml"
    recipe.write_text("eval_samples = 8\n")
    data = tmp_path / "data"
    tiny = (
        "fit",
        "-g",
        generator,
        "--recipe",
        recipe,
        "--steps",
        2,
        "--batch-size",
        4,
        "--width",
        4,
        "--hidden",
        8,
        "--eval-every",
        2,
        "--checkpoint-every",
        2,
        "--log-every",
        1,
        "--device",
        "cpu",
    )
    old = invoke(*tiny, "--eval-root", data, "--out", tmp_path / "old", "--json", "--progress-lines")
    assert old.exit_code == 0, old.output
    assert json.loads((tmp_path / "old" / "config.json").read_text())["fit"]["eval_root"] == str(data)
    deprecated = [line for line in warning_lines(old) if "deprecated" in line]
    assert len(deprecated) == 1 and "--root" in deprecated[0]
    assert "step 1:" in old.stderr and "step 2:" in old.stderr  # --progress-lines: plain lines, no bar
    assert json.loads(old.stdout)["run"] == str(tmp_path / "old")
    new = invoke(*tiny, "--root", data, "--out", tmp_path / "new", "--quiet")
    assert new.exit_code == 0, new.output
    assert json.loads((tmp_path / "new" / "config.json").read_text())["fit"]["eval_root"] == str(data)
    # --quiet: no bar, no lines, and no warning for the new spelling (2 steps: worse than the mean image, said; and
    # --root without --eval-real is said to be ignored: audit 53c)
    said = ("Warning: the encoders reconstruct", "Warning: --root is ignored: it says where --eval-real's")
    assert all(line.startswith(said) for line in new.stderr.splitlines()), new.stderr
    lines = dict(line.split(None, 1) for line in new.stdout.splitlines())  # text by default: "key  value" lines
    assert lines["run"] == str(tmp_path / "new") and lines["inverter"] == str(tmp_path / "new" / "inverter")


def test_inspect_takes_the_generator_once():
    assert invoke("inspect", "builtin:mnist", "-n", 2, "--json").exit_code == 0
    twice = invoke("inspect", "builtin:mnist", "-g", "builtin:other", "-n", 2)
    assert twice.exit_code == 2 and "give it once" in twice.stderr


def test_inspect_refuses_the_generator_twice_even_when_equal():
    """Audit 30b 7c: `inspect builtin:mnist -g builtin:mnist` was accepted; the README says SOURCE or -g, not both."""
    same = CliRunner().invoke(cli, ["inspect", "builtin:mnist", "-g", "builtin:mnist", "-n", "2"], prog_name="ganinv")
    assert same.exit_code == 2 and same.stdout == "", same.output
    assert same.stderr.splitlines() == [
        "Error: got the generator twice, 'builtin:mnist' and -g 'builtin:mnist'; give it once (SOURCE or -g, "
        "not both) (see `ganinv inspect --help`)"
    ], same.stderr


def test_the_top_level_help_lists_every_command_without_importing_them():
    import subprocess
    import sys

    from ganinv.cli import main

    code = (
        "import sys; from click.testing import CliRunner; from ganinv.cli.main import cli; "
        "r = CliRunner().invoke(cli, ['--help']); print(r.output); "
        "print('IMPORTED', sorted(m for m in sys.modules if m.startswith('ganinv.cli.') and m != 'ganinv.cli.main'), "
        "'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "IMPORTED ['ganinv.cli.options'] False" in out or "IMPORTED [] False" in out, out
    flat = " ".join(out.split())  # the help wraps long summaries
    for name, (_target, summary) in main.COMMANDS.items():
        assert name in flat and " ".join(summary.split()) in flat
        assert summary.strip() and len(summary) < 120


@pytest.mark.parametrize("value, debug", [("0", False), ("false", False), ("", False), ("1", True), ("yes", True)])
def test_ganinv_debug_is_on_only_when_it_says_so(monkeypatch, tmp_path, value, debug):
    """GANINV_DEBUG=0 turned debugging on (audit 8): a traceback instead of one Error line. With it on, the traceback
    comes before the same Error line and exit code (it exited 1: audit 32b)."""
    monkeypatch.setenv("GANINV_DEBUG", value)
    result = CliRunner().invoke(cli, ["sample", "-g", str(tmp_path / "missing.pth"), "--out", str(tmp_path / "x.png")])
    assert result.exit_code == 2 and result.stderr.splitlines()[-1].startswith("Error:"), result.output
    assert ("Traceback (most recent call last)" in result.stderr) == debug, result.stderr


def test_usage_errors_are_one_line():
    """Audit 10b: click's usage errors printed `Usage:`, `Try ... --help` and a blank line before the `Error:` line,
    and two image files said only "Got unexpected extra argument"."""
    runner = CliRunner()
    for args, said in (
        (["invert", "--inverter", "builtin:mnist", "a.png", "b.png", "--out", "o"], "IMAGES is one source: put the"),
        (["fit", "--out", __file__, "-g", "builtin:mnist"], "is a file. (see `ganinv fit --help`)"),
        (["mvae", "fit", "--bogus"], "No such option '--bogus'"),
    ):
        result = runner.invoke(cli, args, prog_name="ganinv")
        assert result.exit_code == 2 and result.output.splitlines() == [result.output.strip()], result.output
        assert result.output.startswith("Error: ") and said in result.output


def test_a_one_value_option_given_twice_is_refused_and_an_empty_device_too(tmp_path):
    """Audit 17b F9: `--inverter /nonexistent --inverter builtin:mnist` ran with rc 0 on the second (click keeps the
    last in silence), and `--device ''` (an unset variable) was the default device. Repeatable options still repeat."""
    runner = CliRunner()
    for args, said in (
        (["invert", "--inverter", "/nonexistent", "--inverter", "builtin:mnist", "x"], "--inverter is given twice"),
        (["mvae", "fit", "--steps", "2", "--steps=3"], "--steps is given twice ('2' and '3'); give it once"),
        (["sample", "--out", f"{tmp_path}/a.png", "-n", "2", "--out", f"{tmp_path}/b.png"], "--out is given twice"),
        (["sample", "-n", "2", "-n4", "--out", f"{tmp_path}/a.png"], "--num is given twice ('2' and '4')"),  # audit 18
        (["sample", "--device", "", "-n", "2", "--out", f"{tmp_path}/c.png"], "'--device': is empty; give cpu"),
        # a key given twice in a repeatable KEY=VALUE option (an outside audit, 53c: the last won in silence)
        (["inspect", "--option", "nz=62", "--option", "nz=64"], "--option: nz is given twice ('62' and '64')"),
        (["bench", "recipes/bench-perf.toml", "--set", "n=4", "--set", "n=5"], "--set: n is given twice ('4' and '5')"),
    ):
        result = runner.invoke(cli, args, prog_name="ganinv")
        assert result.exit_code == 2 and result.output.startswith("Error: ") and said in result.output, result.output
    options.refuse_repeated_options(cli.get_command(click.Context(cli), "fit"), ["--option", "a=1", "--option", "b=2"])


def test_a_repeated_option_points_to_its_own_commands_help(tmp_path):
    r"""Audit 30b 7a: `ganinv sample -n 4 -n 8` said `(see \`ganinv --help\`)`; every other usage error names the
    command's own help, subcommands of a group too."""
    runner = CliRunner()
    for args, where in (
        (["sample", "-n", "4", "-n", "8", "--out", f"{tmp_path}/a.png"], "ganinv sample"),
        (["mvae", "fit", "--steps", "2", "--steps=3"], "ganinv mvae fit"),
        (["invert", "--inverter", "a", "--inverter", "b", "x"], "ganinv invert"),
    ):
        result = runner.invoke(cli, args, prog_name="ganinv")
        assert result.exit_code == 2 and result.output.splitlines() == [result.output.strip()], result.output
        assert result.output.rstrip().endswith(f"give it once (see `{where} --help`)"), result.output


def test_a_size_the_cpu_allocator_refuses_is_out_of_memory_not_a_bug(tmp_path, monkeypatch):
    """An outside fuzzer: `--nz 999999999999` reached torch's CPU allocator, whose refusal is a RuntimeError, and was
    reported as an internal error of ganinv. (Such an nz is now refused as the spec is made, audit 32a F10; a
    loader that asks the allocator for too much stands for it.)"""
    refused = CliRunner().invoke(cli, ["inspect", "builtin:mnist", "--nz", "999999999999"])
    assert refused.exit_code == 2 and "more than any generator's" in refused.stderr, refused.output
    import ganinv.cli.inspect

    def allocate(*args, **kwargs):  # as torch's CPU allocator refuses (a machine that overcommits may not)
        raise RuntimeError(
            "[enforce fail at alloc_cpu.cpp:114] data. DefaultCPUAllocator: can't allocate memory: you tried to "
            "allocate 1000000000000 bytes. Error code 12 (Cannot allocate memory)"
        )

    monkeypatch.setattr(ganinv.cli.inspect, "load_generator", allocate)
    result = CliRunner().invoke(cli, ["inspect", "builtin:mnist"])
    assert result.exit_code == 2, result.output
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert line.startswith("Error: out of memory (") and "lower the sizes asked for" in line
    assert "internal error" not in result.stderr


@pytest.mark.parametrize(
    "args, named, not_named",
    [
        (["invert", "--inverter", "RUN", "x.npy", "--out", "o"], ["--batch-size", "--limit N"], ["--nz", "--width"]),
        (["features", "--inverter", "RUN", "x.npy", "--out", "o.npz"], ["--batch-size", "--limit N"], ["--width"]),
        (["mvae", "fit", "--data", "mnist", "--out", "o"], ["--batch-size", "--width"], ["--chunk-size"]),
        # --nz only where typed: a pretrained generator's noise size is no size to lower (a review, 52a)
        (["sample", "-g", "builtin:mnist", "--out", "o.png"], ["(-n)"], ["--batch-size", "--width", "--nz"]),
        (["sample", "-g", "x.pt2", "--nz", "8", "--out", "o.png"], ["(-n, --nz)"], ["--batch-size"]),
        (["loglik", "--inverter", "RUN", "x.npy"], ["--batch-size", "--chunk-size", "--k"], ["--width"]),
    ],
)
def test_out_of_memory_names_what_the_command_can_lower(monkeypatch, args, named, not_named):
    """invert was told to lower --nz and --width, which it does not take, and --batch-size, which did not help: its
    images are read whole (an outside audit, 51b). A library that could not be mapped under an address-space limit
    had been "a bug in ganinv"."""
    for failure in (
        RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 188160000 bytes"),
        ImportError("libtorch_cuda.so: failed to map segment from shared object"),
        OSError(12, "Cannot allocate memory"),  # had been "check the path, its permissions" (a review, 52a)
    ):

        def run(self, ctx, failure=failure):
            raise failure

        monkeypatch.setattr(click.Group, "invoke", run)  # LazyGroup's checks run, then the command fails so
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 2, result.output
        (line,) = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
        assert line.startswith("Error: out of memory (") and all(flag in line for flag in named), line
        assert not any(flag in line for flag in not_named) and "bug in ganinv" not in line, line


@pytest.mark.parametrize(
    "number, checked", [(click.types.IntParamType, LimitedIntRange), (click.types.FloatParamType, FiniteFloatRange)]
)
def test_every_number_option_takes_a_type_that_checks_it(number, checked):
    """An option fuzzer: `fit --batch-size 99999999999999999999` was an internal error (torch failing to unpack the
    size), and `perf --seconds inf` timed for ever. Every integer option refuses integers beyond 2**62
    (LimitedIntRange), every float option nan and inf (FiniteFloatRange)."""
    for name, command in COMMANDS.items():
        for param in command.params:
            if isinstance(param, click.Option) and isinstance(param.type, number):
                assert isinstance(param.type, checked), f"`ganinv {name} {long_name(param)}`"


@pytest.mark.parametrize(
    "args, said",
    [
        (["fit", "-g", "builtin:mnist", "--batch-size", "99999999999999999999"], "larger than any size or count"),
        (["perf", "--seconds", "inf"], "'inf' is not a finite number; give one in x>=0"),
        (["probe", "--train", "", "--test", "x.safetensors"], "the features file's path is empty"),
    ],
)
def test_numbers_and_paths_no_command_can_take_are_usage_errors(args, said):
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2 and said in result.output and "internal error" not in result.output


def test_the_hub_clients_retry_lines_wait_for_ganinv_debug(monkeypatch):
    """An outside audit (41b): a cut download printed a dozen lines of the client's log before ganinv's one line."""
    import logging

    from ganinv.cli.main import show_library_log

    monkeypatch.delenv("GANINV_DEBUG", raising=False)
    show_library_log()
    assert not logging.getLogger("huggingface_hub").isEnabledFor(logging.WARNING)
    monkeypatch.setenv("GANINV_DEBUG", "1")
    show_library_log()
    assert logging.getLogger("huggingface_hub").isEnabledFor(logging.WARNING)
    monkeypatch.delenv("GANINV_DEBUG")
    show_library_log()


def test_a_closed_stdout_is_refused_before_anything_runs(tmp_path):
    """Audit 49a F17: `ganinv inspect -g ... >&-` printed its results nowhere and exited 0."""
    import os
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "ganinv", "sample", "-g", "builtin:mnist", "-n", "4", "--out", "s.png"],
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        timeout=300,
        preexec_fn=lambda: os.close(1),  # the child starts as `>&-` leaves it
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "Error: stdout is closed, and the results are printed there: run it with stdout open (e.g. > results.txt)"
    ]
    assert list(tmp_path.iterdir()) == []  # nothing ran
    for asked in (["--help"], ["--version"], ["sample", "--help"]):  # printed to nowhere with exit 0 (a review, 52a)
        done = subprocess.run(
            [sys.executable, "-m", "ganinv", *asked],
            stderr=subprocess.PIPE,
            text=True,
            timeout=300,
            preexec_fn=lambda: os.close(1),
        )
        assert done.returncode == 2 and done.stderr.startswith("Error: stdout is closed"), (asked, done.stderr)


def test_a_path_the_locale_cannot_decode_is_said_as_typed(tmp_path):
    """Audit 49a F18: under LC_ALL=C with PYTHONUTF8=0 a path `ünï.pth` was said as 'nosuch/\\udcc3\\udcbcn...'."""
    import os
    import subprocess
    import sys

    name = "nosuch/ünï.pth".encode()
    env = {**os.environ, "LANG": "C", "LC_ALL": "C", "PYTHONUTF8": "0"}
    done = subprocess.run(
        [sys.executable, "-m", "ganinv", "inspect", "-g", name], capture_output=True, env=env, cwd=tmp_path, timeout=300
    )
    assert done.returncode == 2
    assert done.stderr.startswith(b"Error: cannot resolve generator source 'nosuch/\xc3\xbcn\xc3\xaf.pth': no such")
    assert b"\\u" not in done.stderr and len(done.stderr.splitlines()) == 1


def test_sigterm_is_met_as_ctrl_c(tmp_path):
    """`timeout`, `kill` and batch schedulers send SIGTERM; it had ended every command without a word (an outside
    audit, 51b). A fit stopped so says so in one line, exits 143, and leaves what a retry takes."""
    import os
    import signal
    import subprocess
    import sys
    import time

    env = {**os.environ, "OMP_NUM_THREADS": "1", "GANINV_THREADS": "1"}
    args = ["fit", "-g", "builtin:mnist", "--steps", "100000", "--batch-size", "4", "--progress-lines", "--out", "run"]
    process = subprocess.Popen(
        [sys.executable, "-m", "ganinv", *args], cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True
    )
    assert process.stderr is not None
    lines = []
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        lines.append(line)
        if not line or line.startswith(("step ", "Warning: at ")):  # the training loop runs
            break
    process.send_signal(signal.SIGTERM)
    process.send_signal(signal.SIGTERM)  # a second, during the cleanup, had killed it after the line (a review, 52a)
    rest = process.stderr.read()
    assert process.wait(timeout=120) == 143, "".join(lines) + rest
    said = [line for line in rest.splitlines() if line.strip()]
    assert said[-1].startswith("Stopped by SIGTERM"), rest
    assert "Traceback" not in rest and "Error" not in rest


def test_a_full_disk_names_the_file_being_written_not_its_temporary(monkeypatch):
    """A disk that filled during fit's save was said naming `run/.inverter.ganinv-30385-gs22lrhv.tmp/generator`, an
    internal temporary (an outside audit, 51b): the target is named."""
    import errno

    def run(self, ctx):
        raise OSError(errno.ENOSPC, "No space left on device", "runs/r3/.inverter.ganinv-30385-gs22lrhv.tmp/generator")

    monkeypatch.setattr(click.Group, "invoke", run)
    result = CliRunner().invoke(cli, ["fit", "-g", "builtin:mnist"])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("Error: No space left on device (runs/r3/inverter/generator); check the path")


def test_samples_that_do_not_fit_in_memory_are_said_in_the_commands_words(monkeypatch):
    """`sample -n 1000000` under a memory limit printed the library's advice, `G.decode(G.sample_latents(k, ...))`, to
    a command-line user (a review, 52a): the line names the samples and -n."""
    from ganinv.generator import Generator

    def sample(self, n, generator=None):
        raise MemoryError(f"G.sample(n={n}) holds all {n} images at once; decode them batch by batch: G.decode(...)")

    monkeypatch.setattr(Generator, "sample", sample)
    result = CliRunner().invoke(cli, ["sample", "-g", "builtin:mnist", "-n", "1000000", "--out", "never.png"])
    assert result.exit_code == 2, result.output
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert line.startswith("Error: out of memory (1000000 samples of shape (1, 28, 28) do not fit in memory at once)")
    assert "(-n)" in line and "G.decode" not in line


def test_an_option_another_one_makes_meaningless_is_said_to_be_ignored(tmp_path):
    """An outside audit (53c): `invert --refine-lr` without `--refine`, `inspect --list -g`, `loglik --fit-n` without
    `--fit-sigma` and four more ran with rc 0 and no word, where `invert --split` said it was ignored."""
    import numpy as np

    np.save(tmp_path / "digits.npy", np.zeros((2, 28, 28), np.uint8) + np.arange(28, dtype=np.uint8))
    images = str(tmp_path / "digits.npy")
    for args, said in (
        (["inspect", "--list", "-g", "builtin:mnist"], "--generator is ignored: --list lists"),
        (
            ["invert", images, "--inverter", "builtin:mnist", "--refine-lr", "0.5", "--out", str(tmp_path / "inv")],
            "--refine-lr is ignored: it is the rate of --refine N's steps",
        ),
        (["loglik", images, "--inverter", "builtin:mnist", "--k", "1", "--fit-n", "8"], "--fit-n is ignored"),
    ):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        assert f"Warning: {said}" in result.stderr, result.stderr
    quiet = CliRunner().invoke(cli, ["inspect", "--list"])
    assert quiet.exit_code == 0 and "ignored" not in quiet.stderr


def test_a_group_without_its_command_shows_its_help_as_ganinv_does():
    """An outside audit (53c): `ganinv mvae` squashed its whole help into one `Error:` line, where `ganinv` prints its
    help; both print their help, with exit 2."""
    for args, usage in (([], "Usage: ganinv [OPTIONS] COMMAND"), (["mvae"], "Usage: ganinv mvae [OPTIONS] COMMAND")):
        result = CliRunner().invoke(cli, args, prog_name="ganinv")
        assert result.exit_code == 2 and result.stderr.startswith(usage), result.output
        assert "Commands:" in result.stderr and not result.stderr.startswith("Error")


def test_perf_replaces_its_own_earlier_json(tmp_path):
    """A review (54a): the early check of --out (audit 53c) refused perf's own JSON of the run before as "not a file
    ganinv wrote"; the file is replaced, as it always was."""
    out = tmp_path / "perf.json"
    for _ in range(2):
        result = CliRunner().invoke(cli, ["perf", "--measure", "machine", "--seconds", "0.05", "--out", str(out)])
        assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["threads"] >= 1
