"""`ganinv bench RECIPE`: stages run in order, reuse with `creates`, a report that picks numbers from results."""

import json
import re

import numpy as np
import pytest
from click.testing import CliRunner

from ganinv.cli.bench import cell, load_recipe, resolve_vars, substitute
from ganinv.cli.main import cli
from ganinv.errors import RunError

RECIPE = """
title = "Pixels probe"
notes = "A tiny benchmark of {images}."
[vars]
images = "unset"
train = "{out}/train.safetensors"

[[stages]]
name = "pixels"
run = ["features", "--raw-pixels", "{images}", "--out", "{train}"]
creates = "{train}"

[[stages]]
name = "probe"
run = ["probe", "--train", "{train}", "--test", "{train}", "--classifiers", "linear", "--json"]
json = true

[[stages]]
name = "clusters"
run = ["cluster-accuracy", "--features", "{train}", "--json"]
json = true
optional = true

[report]
columns = ["Features", "Linear", "Missing"]
rows = [["pixels", "$probe.accuracy_pct.linear", "$probe.nothing"], ["paper", 95.62, "-"]]
"""


def test_bench_runs_stages_and_writes_json_and_markdown(tmp_path):
    images = tmp_path / "images.npz"
    rng = np.random.default_rng(0)
    np.savez(images, images=rng.integers(0, 256, (30, 8, 8), dtype=np.uint8), labels=np.arange(30) % 2)
    recipe = tmp_path / "bench.toml"
    recipe.write_text(RECIPE)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["bench", str(recipe), "--out", str(out), "--set", f"images={images}"])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "bench.json").read_text())
    assert [s["name"] for s in summary["stages"]] == ["pixels", "probe", "clusters"]
    assert "failed" in summary["stages"][2]  # pixels have no code posterior; the stage is optional
    assert summary["stages"][1]["result"]["accuracy_pct"]["linear"] == 100.0
    assert summary["vars"]["train"] == f"{out}/train.safetensors"
    import torch

    from ganinv import __version__

    host = summary["host"]  # what a reader needs to compare figures: the threads the stages ran with, the versions
    assert host["torch_threads"] == torch.get_num_threads() and host["ganinv"] == __version__, host
    assert {"ganinv_threads", "omp_num_threads", "python", "numpy", "torch"} <= set(host), host
    markdown = (out / "bench.md").read_text()
    assert "| pixels | 100.00 | n/a |" in markdown and "| paper | 95.62 | - |" in markdown
    assert markdown in result.stdout and f"A tiny benchmark of {images}." in markdown
    assert "Time:" in markdown and "clusters 0 s (failed)" in markdown

    again = CliRunner().invoke(cli, ["bench", str(recipe), "--out", str(out), "--set", f"images={images}"])
    assert again.exit_code == 0, again.output
    stages = json.loads((out / "bench.json").read_text())["stages"]
    # made by the earlier bench, perhaps with other options: said and recorded as not run (an outside audit)
    assert stages[0]["skipped"] and stages[0]["command_not_run"] and stages[0]["reused"] == f"{out}/train.safetensors"
    assert f"(reused {out}/train.safetensors, made earlier)" in (out / "bench.md").read_text()
    assert f"Warning: stage 'pixels': reusing {out}/train.safetensors, made by an earlier bench into this --out" in (
        again.stderr
    )
    (tmp_path / "mine").mkdir()  # one the user names, as README's --set inverter=runs/my-fit/inverter does
    (tmp_path / "mine" / "train.safetensors").write_bytes((out / "train.safetensors").read_bytes())
    named = CliRunner().invoke(
        cli,
        [
            "bench",
            str(recipe),
            "--out",
            str(out),
            "--set",
            f"images={images}",
            "--set",
            f"train={tmp_path}/mine/train.safetensors",
        ],
    )
    assert named.exit_code == 0, named.output
    assert "train.safetensors, which you named; its command was not run" in named.stderr, named.stderr
    assert "delete" not in named.stderr


def test_a_failing_stage_stops_the_bench_with_one_line(tmp_path):
    recipe = tmp_path / "bench.toml"
    recipe.write_text(RECIPE)
    result = CliRunner().invoke(
        cli, ["bench", str(recipe), "--out", str(tmp_path / "out"), "--set", f"images={tmp_path / 'missing.npz'}"]
    )
    assert result.exit_code != 0 and "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert [line for line in lines if line.startswith("Error: ")] == [lines[-2]]  # the stage's own error, once
    assert "missing.npz" in lines[-2] and lines[-1].startswith("[bench] stage 'pixels' failed")
    # the stage names its own flag: the line after it says which --set gave the value (an outside audit, 53c)
    assert lines[-1].endswith(f"; from the command line it took --set images={tmp_path / 'missing.npz'}")


def test_quiet_bench_shows_warnings_and_errors_but_no_stage_progress(tmp_path):
    images = tmp_path / "images.npz"
    np.savez(images, images=np.arange(30 * 64, dtype=np.uint8).reshape(30, 8, 8), labels=np.arange(30) % 2)
    recipe = tmp_path / "bench.toml"
    recipe.write_text(RECIPE)
    args = ["bench", str(recipe), "--out", str(tmp_path / "out"), "--set", f"images={images}", "--json", "--quiet"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    lines = result.stderr.strip().splitlines()  # the probe's warning (it scores its train rows), the optional
    assert len(lines) == 3 and lines[0].startswith("Warning: --train and --test are the same file"), lines
    assert lines[1].startswith("Error: ") and "no code posterior" in lines[1], lines  # stage's error, and that the
    assert lines[2] == "[bench] clusters: failed, optional, going on"  # bench went on
    assert "linear" in json.loads(result.stdout)["stages"][1]["result"]["accuracy_pct"]  # stdout: the JSON alone


def test_variables_resolve_through_each_other_and_unknown_ones_are_named(tmp_path):
    assert resolve_vars({"a": "{b}/x", "b": "{c}", "c": "root"}) == {"a": "root/x", "b": "root", "c": "root"}
    with pytest.raises(RunError, match="loop"):
        resolve_vars({"a": "{b}", "b": "{a}"})
    with pytest.raises(RunError, match=r"unknown variable \{nope\}"):
        substitute("--root {nope}", {"a": "1"})
    (tmp_path / "empty.toml").write_text("title = 'x'\n")
    with pytest.raises(RunError, match="no \\[\\[stages\\]\\]"):
        load_recipe(tmp_path / "empty.toml")


def test_report_cells():
    results, values = {"probe": {"accuracy_pct": {"mlp": 97.5}}, "fit": None}, {"n": "20000"}
    assert cell("$probe.accuracy_pct.mlp", results, values) == "97.50"
    assert cell("$fit.accuracy", results, values) == "n/a" and cell(98.04, results, values) == "98.04"
    assert cell("first {n} images", results, values) == "first 20000 images" and cell(7, results, values) == "7"
    assert cell(0.000862, results, values) == "0.000862" and cell(0.5, results, values) == "0.5"
    assert cell(0.0, results, values) == "0.00" and cell(-12.345, results, values) == "-12.35"


def test_unknown_recipe_keys_are_refused_and_a_byte_order_mark_is_read(tmp_path):
    """Audit 10b: a misspelled `[reprot]` table ran with rc 0 and no table (fit recipes refuse unknown keys), and a
    recipe saved with a byte-order mark (Windows Notepad) was "Invalid statement (at line 1, column 1)"."""
    from ganinv.errors import ConfigError
    from ganinv.fit import load_recipe as load_fit_recipe

    stage = '[[stages]]\nname = "a"\nrun = ["inspect", "--list"]\n'
    (tmp_path / "typo.toml").write_text(stage + '[reprot]\ncolumns = ["x"]\n')
    with pytest.raises(RunError, match=r"unknown key\(s\) reprot; a benchmark recipe holds notes, report, stages"):
        load_recipe(tmp_path / "typo.toml")
    (tmp_path / "cell.toml").write_text(stage + '[report]\ncolumn = ["x"]\n')
    with pytest.raises(RunError, match=r"unknown key\(s\) report.column;"):
        load_recipe(tmp_path / "cell.toml")
    (tmp_path / "bom.toml").write_text("\ufeff" + stage, encoding="utf-8")
    assert load_recipe(tmp_path / "bom.toml").stages[0].name == "a"
    (tmp_path / "fit.toml").write_text("\ufeffsteps = 10\n", encoding="utf-8")
    assert load_fit_recipe(tmp_path / "fit.toml") == {"steps": 10}
    (tmp_path / "latin1.toml").write_bytes("title = 'caf\xe9'\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="is not UTF-8 text"):
        load_fit_recipe(tmp_path / "latin1.toml")


@pytest.mark.parametrize(
    "setting, said",
    [
        ("imgaes=x.npz", "recipe .*bench.toml has no variable 'imgaes'; its variables: images, train"),
        ("out=elsewhere", "--set out=... is not a variable the recipe sets: give the folder with --out"),
    ],
)
def test_a_set_of_no_variable_of_the_recipe_is_refused(tmp_path, setting, said):
    """Audit 21b: `--set generater=...` (a typo) was ignored, and the benchmark ran on the recipe's own generator,
    reported as the one asked for; `--set out=...` wrote nothing where it said."""
    recipe = tmp_path / "bench.toml"
    recipe.write_text(RECIPE)
    result = CliRunner().invoke(cli, ["bench", str(recipe), "--out", str(tmp_path / "out"), "--set", setting])
    assert result.exit_code == 2 and "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and re.search(said, errors[0]), result.output
    assert not (tmp_path / "out").exists()


def test_a_set_of_a_variable_only_the_report_uses_is_taken(tmp_path):
    """Audit 21d: a variable used only in the title, notes or report cells was "unknown" to --set, while the
    unknown-variable error told the user to --set it."""
    images = tmp_path / "images.npz"
    np.savez(images, images=np.arange(30 * 64, dtype=np.uint8).reshape(30, 8, 8), labels=np.arange(30) % 2)
    recipe = tmp_path / "bench.toml"
    recipe.write_text(RECIPE.replace('title = "Pixels probe"', 'title = "Pixels probe of {model}"'))
    args = ["bench", str(recipe), "--out", str(tmp_path / "out"), "--set", f"images={images}", "--set", "model=dcgan"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "Pixels probe of dcgan" in (tmp_path / "out" / "bench.md").read_text()


def test_variables_that_repeat_each_other_and_deeply_nested_recipes_are_refused(tmp_path):
    """Audit 32a F11: a 482-byte recipe of variables each ten times the last took 8 GB as they were substituted; one
    of 50,000 nested arrays ended in an internal error."""
    laughs = {"v0": "x" * 10, **{f"v{k}": f"{{v{k - 1}}}" * 10 for k in range(1, 9)}}
    with pytest.raises(RunError, match=r"recipe variable 'v\d' grows past 4,096 characters"):
        resolve_vars(laughs)
    assert len(resolve_vars({k: laughs[k] for k in ("v0", "v1", "v2")})["v2"]) == 1000  # long ones still resolve
    deep = tmp_path / "deep.toml"
    deep.write_text("x = " + "[" * 50000 + "]" * 50000 + "\n")
    result = CliRunner().invoke(cli, ["bench", str(deep), "--out", str(tmp_path / "out")])
    assert result.exit_code != 0 and "nests its values too deeply to read" in result.output, result.output


def test_a_stage_that_creates_a_builtin_or_hub_source_is_skipped(tmp_path):
    """Audit 32b F2: `bench-features-mnist.toml --set inverter=builtin:mnist` fitted for 25 minutes an inverter no
    later stage read, as `creates = "{inverter}"` was looked for as a path only."""
    recipe = tmp_path / "r.toml"
    recipe.write_text(
        'title = "t"\n[vars]\ninverter = "{out}/fit/inverter"\n[[stages]]\nname = "fit"\n'
        'run = ["fit", "--steps", "1", "--out", "{out}/fit"]\ncreates = "{inverter}"\n'
    )
    result = CliRunner().invoke(
        cli, ["bench", str(recipe), "--out", str(tmp_path / "b"), "--set", "inverter=builtin:mnist"]
    )
    assert result.exit_code == 0, result.output
    assert "fit: skipped, builtin:mnist exists" in result.stderr
    assert json.loads((tmp_path / "b" / "bench.json").read_text())["stages"][0]["skipped"] is True
