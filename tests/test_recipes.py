"""Every recipe shipped in recipes/ loads, and every bench recipe's report reads only what its stages produce."""

import json
import re
from pathlib import Path

import pytest
import torch
import zoo
from click.testing import CliRunner

from ganinv.cli.bench import load_recipe as load_bench_recipe
from ganinv.cli.bench import substitute
from ganinv.cli.main import cli
from ganinv.fit import FitConfig
from ganinv.fit import load_recipe as load_toml
from ganinv.train import TrainConfig

RECIPES = sorted((Path(__file__).parent.parent / "recipes").glob("*.toml"))
BENCH = [path for path in RECIPES if "[[stages]]" in path.read_text()]
TRAINING = [path for path in RECIPES if path not in BENCH]


def test_there_are_recipes_of_both_kinds():
    assert len(BENCH) >= 5 and len(TRAINING) >= 4


@pytest.mark.parametrize("path", TRAINING, ids=lambda p: p.name)
def test_training_recipes_build_their_config(path):
    values = load_toml(path)
    config = TrainConfig.from_dict(values) if "n_critic" in values else FitConfig.from_dict(values)
    assert config is not None


@pytest.mark.parametrize("path", BENCH, ids=lambda p: p.name)
def test_bench_recipes_substitute_and_report_from_their_own_stages(path):
    recipe = load_bench_recipe(path)
    values = {**recipe.vars, "out": "runs/x"}
    for stage in recipe.stages:
        for arg in [*stage.run, stage.creates or ""]:
            substitute(arg, values)  # raises on an undefined {variable}
    stages = {stage.name for stage in recipe.stages}
    for row in recipe.rows:
        assert len(row) == len(recipe.columns), row
        substitute(str(row[0]), values)
        for cell in row[1:]:
            if isinstance(cell, str) and cell.startswith("$"):
                name = cell[1:].split(".")[0]
                assert name in stages, f"{cell} reads stage {name!r}, which {path.name} does not run"
    for text in (recipe.title, recipe.notes):
        assert set(re.findall(r"\{([A-Za-z_][A-Za-z0-9_-]*)\}", text)) <= set(values), text


def recipe_fit(tmp_path: Path, recipe_text: str) -> list[str]:
    """The arguments of `fit --recipe R --option activation=leaky_relu` on a tiny PyTorch-GAN MLP, R holding
    `recipe_text`."""
    case = zoo.case("pytorch-gan-wgan-gp-mlp")
    torch.save(case.build().state_dict(), tmp_path / "generator.pth")
    recipe = tmp_path / "fit.toml"
    recipe.write_text(recipe_text)
    args = ["fit", "--recipe", str(recipe), "-g", str(tmp_path / "generator.pth"), "--out", str(tmp_path / "run")]
    return [*args, "--option", "activation=leaky_relu", "--width", "4", "--hidden", "8", "--quiet"]


def test_a_typed_option_replaces_the_recipes_option_of_its_name_alone(tmp_path):
    """`fit --recipe R --option K=V` had dropped every other key of the recipe's [options] table, and built the net
    with what the weights alone suggest (an outside audit)."""
    args = recipe_fit(tmp_path, 'steps = 1\nbatch_size = 4\n[options]\nnorm_eps = 0.8\nactivation = "relu"\n')
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    saved = json.loads((tmp_path / "run" / "config.json").read_text())["fit"]["options"]
    assert saved == {"norm_eps": 0.8, "activation": "leaky_relu"}, saved


@pytest.mark.parametrize("name", ["bench-features-mnist.toml", "bench-features-fashion.toml"])
def test_a_features_bench_names_the_inverter_it_scored(name):
    """`--set inverter=runs/my-fit/inverter`, the recipes' own advice, was reported as the default generator's
    inverter in the title and the table (an outside audit)."""
    from ganinv.cli.bench import resolve_vars

    recipe = load_bench_recipe(Path("recipes") / name)
    values = resolve_vars({**recipe.vars, "out": "b", "inverter": "runs/my-fit/inverter"})
    assert "runs/my-fit/inverter" in substitute(recipe.title, values)
    assert "runs/my-fit/inverter" in substitute(str(recipe.rows[0][0]), values)


def test_the_command_that_started_a_run_with_a_recipe_and_options_resumes_it(tmp_path):
    """A run started by `fit --recipe R --option K=V` recorded the recipe's [options] merged with the typed ones, and
    the same command repeated with --resume compared the typed ones alone: refused, the recipe's key "given None"
    (a review)."""
    args = recipe_fit(tmp_path, "steps = 2\ncheckpoint_every = 2\nbatch_size = 4\n[options]\nnorm_eps = 0.8\n")
    assert CliRunner().invoke(cli, args).exit_code == 0
    resumed = CliRunner().invoke(cli, [*args, "--resume", "--steps", "3"])
    assert resumed.exit_code == 0, resumed.output
    # without the recipe, the typed option names less than the run recorded: refused, saying the key was not given
    # (it had said "given None", audit 45a)
    without = [a for a in args if a not in ("--recipe", str(tmp_path / "fit.toml"))]
    refused = CliRunner().invoke(cli, [*without, "--resume", "--steps", "4"])
    assert refused.exit_code == 2 and "norm_eps: the run's 0.8, not given" in refused.output, refused.output
    assert "None" not in refused.output


def test_the_command_that_started_a_run_with_a_recipes_spec_file_resumes_it(tmp_path):
    """The run records the recipe's `spec` file as its fields; the recipe given again on resume compared its path
    with them: refused, "the run's none" (a review)."""
    (tmp_path / "spec.json").write_text('{"native_prior_scale": 1.0}')
    recipe = f'steps = 2\ncheckpoint_every = 2\nbatch_size = 4\n[options]\nspec = "{tmp_path / "spec.json"}"\n'
    args = recipe_fit(tmp_path, recipe)
    args = args[: args.index("--option")] + args[args.index("--option") + 2 :]  # the recipe's options alone
    assert CliRunner().invoke(cli, args).exit_code == 0
    recorded = json.loads((tmp_path / "run" / "config.json").read_text())["fit"]["options"]
    assert recorded == {"spec.native_prior_scale": 1.0}, recorded
    resumed = CliRunner().invoke(cli, [*args, "--resume", "--steps", "3"])
    assert resumed.exit_code == 0, resumed.output
