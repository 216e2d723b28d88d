"""`ganinv train`: train a generator with codes on data, the full SS-AVL (docs/algorithms.md §6); see ganinv.train."""

from __future__ import annotations

import time
from pathlib import Path

import click
from click.core import ParameterSource

from ganinv.cli.fit import check_repo_id, push_folder
from ganinv.cli.options import (
    device_option,
    echo_result,
    flag_names,
    input_range_option,
    json_option,
    out_option,
    progress_lines,
    quiet_option,
    resume_hint,
    resumed_recipe,
    root_option,
    seed_option,
)
from ganinv.config_checks import changed_on_resume, check_recipe_values, config_option, saved_options, values_from_run
from ganinv.errors import RunError
from ganinv.outputs import check_writable
from ganinv.runs import Run
from ganinv.train import TrainConfig

TRAIN_FLAGS = {
    "data",
    "root",
    "input_range",
    "steps",
    "batch_size",
    "n_critic",
    "lr",
    "seed",
    "device",
}  # TrainConfig fields
RESUMABLE = {
    "steps",
    "device",
    "quiet",
    "progress_lines",
    "as_json",
    "out",
    "resume",
    "push_to_hub",
}  # flags that may change on --resume
DEFAULTS = TrainConfig()


@click.command("train")
@click.option(
    "--data",
    default="mnist",
    show_default=True,
    help="Training images: mnist, fashion-mnist (with --root), an image folder, or an .npz/.safetensors file.",
)
@root_option
@input_range_option("--data")
@click.option(
    "--recipe",
    type=click.Path(dir_okay=False),
    default=None,
    help="TOML file of training options (TrainConfig fields, [dreaming] table); flags override it.",
)
@config_option("--steps", DEFAULTS, "steps", "Generator steps.")
@config_option("--batch-size", DEFAULTS, "batch_size", "Images per batch.")
@config_option("--n-critic", DEFAULTS, "n_critic", "Critic steps per generator step.")
@config_option("--lr", DEFAULTS, "lr", "Adam learning rate of the generator and critic.")
@out_option("Run folder to write (default: runs/train-<data>-<timestamp>).", folder=True, required=False)
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last checkpoint.")
@seed_option
@device_option
@click.option(
    "--push-to-hub",
    "push_to_hub",
    default=None,
    metavar="REPO",
    help="Publish the generator (REPO) and the inverter (REPO-inverter) to the Hugging Face Hub.",
)
@quiet_option
@click.option(
    "--progress-lines",
    is_flag=True,
    default=False,
    help="Progress as a plain line on stderr every log_every steps instead of a bar (for log files).",
)
@json_option
@click.pass_context
def train(ctx: click.Context, **params) -> None:
    """Train a generator G(z, c, d) with a WGAN-GP critic, the MI step and the dreaming step (SS-AVL Algorithm 1)."""
    from ganinv.fit import load_recipe
    from ganinv.train import train as run_train

    given = {
        name
        for name in params
        if ctx.get_parameter_source(name) not in (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP, None)
    }
    if params["resume"]:
        if params["out"] is None:
            raise RunError("--resume needs --out, the run folder to continue")
        run = Run(params["out"])
        saved = saved_options(run, "train")
        flags = changed_on_resume(
            {name: ((name,), params[name]) for name in given - RESUMABLE - {"recipe"}}, saved, flag_names(ctx)
        )
        if flags:
            run.release()
            raise RunError(
                f"--resume continues a run with its saved options; drop {', '.join(flags)} "
                "(only --steps and --device may change; --quiet, --progress-lines, --json and "
                "--push-to-hub may be given)"
            )
        from_recipe = resumed_recipe(params["recipe"], saved, run, given) if params["recipe"] else {}
        run.release()  # read only: the training below takes the folder's lock
        with values_from_run(params["out"]):
            config = TrainConfig.from_dict(
                {**saved, **from_recipe, **{name: params[name] for name in given & {"steps", "device"}}}
            )
    else:
        values = load_recipe(params["recipe"]) if params["recipe"] else {}
        check_recipe_values(TrainConfig, values)
        values.update({name: params[name] for name in given & TRAIN_FLAGS})
        config = TrainConfig.from_dict(values)
    check_repo_id(params["push_to_hub"])
    out = params["out"] or Path("runs") / f"train-{Path(config.data).stem}-{time.strftime('%Y%m%d-%H%M%S')}"
    check_writable(out, folder=True)  # before any compute
    with (
        progress_lines(params["progress_lines"] and not params["quiet"]),
        resume_hint("train", out),
    ):
        result = run_train(config, out, resume=params["resume"], quiet=params["quiet"] or params["progress_lines"])
    if params["push_to_hub"]:
        repo = params["push_to_hub"].removeprefix("hub:")
        push_folder(result.run_dir / "generator", repo)
        push_folder(result.run_dir / "inverter", f"{repo}-inverter")
    echo_result(
        {
            "run": str(result.run_dir),
            "generator": str(result.run_dir / "generator"),
            "inverter": str(result.run_dir / "inverter"),
            **result.evaluation,
        },
        params["as_json"],
    )
