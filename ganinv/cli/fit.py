"""`ganinv fit`: train data-free encoders for a generator (docs/algorithms.md §2); see ganinv.fit."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

import click
from click.core import ParameterSource

from ganinv import hub
from ganinv.augment import AugmentConfig
from ganinv.cli.options import (
    deprecated_alias,
    device_option,
    echo_result,
    flag_names,
    generator_options,
    input_range_option,
    json_option,
    not_empty,
    out_option,
    parse_key_values,
    progress_lines,
    quiet_option,
    resume_hint,
    resumed_recipe,
    root_option,
    seed_option,
    warn_ignored,
)
from ganinv.config_checks import (
    changed_on_resume,
    check_recipe_values,
    check_run_generator_here,
    config_option,
    known_options,
    same_generator,
    saved_options,
    started_elsewhere,
    values_from_run,
)
from ganinv.dreaming import DreamingConfig
from ganinv.errors import GaninvError, RunError
from ganinv.fit import FitConfig, given_in_python, load_recipe
from ganinv.fit import fit as run_fit
from ganinv.generator_reference import name_local_generator_by_file_name
from ganinv.outputs import check_writable
from ganinv.runs import Run

# The flags that set FitConfig and DreamingConfig fields are those named like the fields (the dataclasses are the
# one source of the options, their defaults and their ranges; --root, --augment, --option are mapped below)
FIT_FLAGS = {f.name for f in dataclasses.fields(FitConfig)} - {"dreaming", "augment", "options"}
EVAL_FLAGS = {"root": "eval_root", "input_range": "eval_input_range"}  # flags of --eval-real's images: config fields
DREAMING_FLAGS = {f.name for f in dataclasses.fields(DreamingConfig)}
DEFAULTS = FitConfig()
# flags that may be given with --resume (--generator only to name the run's own generator, see ganinv.trust)
RESUMABLE = {
    "steps",
    "device",
    "quiet",
    "progress_lines",
    "as_json",
    "out",
    "resume",
    "push_to_hub",
    "trust_remote_code",
    "generator",
}


@click.command("fit")
@generator_options
@click.option(
    "--recipe",
    type=click.Path(dir_okay=False),
    default=None,
    help="TOML file of fit options (FitConfig fields, [dreaming] and [augment] tables); flags override it, "
    "--option K=V its [options] K alone.",
)
@config_option("--steps", DEFAULTS, "steps", "Dreaming steps.")
@config_option("--batch-size", DEFAULTS, "batch_size", "Dreamed samples per step (per process).")
@config_option("--lr", DEFAULTS, "lr", "Adam learning rate (after warm-up; cosine decay).")
@config_option("--beta", DEFAULTS.dreaming, "beta", "Weight of the KL terms (SS-AVL Eq. 27).")
@config_option(
    "--sigma-x", DEFAULTS.dreaming, "sigma_x", "Observation noise std on the [-1,1] scale of the reconstruction term."
)
@config_option("--lambda-mi", DEFAULTS.dreaming, "lambda_mi", "Code-recovery weight (docs/algorithms.md §2, step 6).")
@config_option("--lambda-z", DEFAULTS.dreaming, "lambda_z", "Noise-recovery weight (docs/algorithms.md §2, step 6).")
@config_option(
    "--prior-scale", DEFAULTS, "prior_scale", "Dream with z ~ N(0, s^2 I); s > 1 shows the encoder atypical latents."
)
@config_option(
    "--augment",
    DEFAULTS.augment,
    "probability",
    "Fraction of dreamed images perturbed off the generator's manifold (0: none); see ganinv.augment.",
)
@config_option("--width", DEFAULTS, "width", "Encoder width (first conv channels).")
@config_option("--hidden", DEFAULTS, "hidden", "Encoder features before the heads.")
@config_option(
    "--iterations",
    DEFAULTS,
    "iterations",
    "Refinement passes after the single pass: the encoder sees its own "
    "reconstruction and corrects the latent (0: single pass); see ganinv.iterative.",
)
@out_option("Run folder to write (default: runs/<generator>-<timestamp>).", folder=True, required=False)
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last checkpoint.")
@config_option("--eval-every", DEFAULTS, "eval_every", "Steps between evaluations and grids.")
@config_option("--checkpoint-every", DEFAULTS, "checkpoint_every", "Steps between checkpoints.")
@config_option("--log-every", DEFAULTS, "log_every", "Steps between metrics records.")
@click.option(
    "--eval-real",
    default=None,
    callback=not_empty,
    help="Real images to reconstruct at each evaluation: mnist, fashion-mnist, a folder or a file.",
)
@root_option
@input_range_option("--eval-real")
@config_option("--eval-limit", DEFAULTS, "eval_limit", "First N real test images.")
@seed_option
@device_option
@click.option("--compile", "compile", is_flag=True, help="torch.compile the encoders.")
@click.option(
    "--amp/--no-amp", default=DEFAULTS.amp, show_default=True, help="bf16 autocast on CUDA (no effect on CPU)."
)
@click.option(
    "--push-to-hub",
    "push_to_hub",
    default=None,
    metavar="REPO",
    help="Publish the final inverter artifact to this Hugging Face Hub repo.",
)
@quiet_option
@click.option(
    "--progress-lines",
    is_flag=True,
    default=False,
    help="Progress as a plain line on stderr every --log-every steps instead of a bar (for log files).",
)
@json_option
@deprecated_alias("--eval-root", "--root", "root", type=click.Path(file_okay=False))
@click.pass_context
def fit(ctx: click.Context, **params) -> None:
    """Fit data-free encoders q(z|x) (and q(d,c|x)) to a generator, from its own samples only."""
    given = {
        name
        for name in params
        if ctx.get_parameter_source(name) not in (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP, None)
    }
    if params["resume"]:
        if params["out"] is None:
            raise RunError("--resume needs --out, the run folder to continue")
        run = Run(params["out"])
        saved = saved_options(run, "fit")
        changed = changed_on_resume(
            {name: saved_path(name, params) for name in given - RESUMABLE - {"recipe"}}, saved, flag_names(ctx)
        )
        if changed:
            run.release()
            raise RunError(
                f"--resume continues a run with its saved options; drop {', '.join(changed)} (only --steps, "
                "--device, --quiet, --progress-lines, --json, --push-to-hub and --trust-remote-code may change)"
            )
        from_recipe = resumed_recipe(params["recipe"], saved, run, given) if params["recipe"] else {}
        commit = run.hub_commit()
        run.release()  # read only: the fit below takes the folder's lock
        elsewhere = not given_in_python(run.config) and started_elsewhere(saved.get("generator"))
        if elsewhere and "generator" not in given:  # (given in Python, it comes again as generator=)
            check_run_generator_here(saved.get("generator"), params["out"])
        pinned = hub.pinned(str(saved.get("generator")), commit)  # the commit it started at
        if "generator" in given and not same_generator(params["generator"], saved.get("generator"), (pinned,)):
            raise RunError(
                f"--resume continues the run's own generator {saved.get('generator')!r}; drop --generator "
                f"{params['generator']} or start a new run"
            )
        values = {
            **saved,
            **from_recipe,
            **{name: params[name] for name in given & {"steps", "device"}},
            **({"generator": params["generator"]} if elsewhere and "generator" in given else {}),  # from here
            "trust_remote_code": params["trust_remote_code"],
        }  # this command's flag; never a saved one
        origin = None if "generator" in given else f"the run's {Path(params['out']) / 'config.json'}"
        options_origin: Optional[str] = f"the run's {Path(params['out']) / 'config.json'}"  # no --option on --resume
    else:
        values = load_recipe(params["recipe"]) if params["recipe"] else {}
        if "trust_remote_code" in values:
            raise RunError(
                f"the recipe {params['recipe']} sets trust_remote_code, but only the command line can "
                "grant it: remove it from the recipe and pass --trust-remote-code if you trust the code"
            )
        origin = f"the recipe {params['recipe']}" if "generator" in values and "generator" not in given else None
        recipe_options = values.get("options") or {}
        dreaming = known_options(DreamingConfig, values.pop("dreaming", {}), "[dreaming]")
        augment = known_options(AugmentConfig, values.pop("augment", {}), "[augment]")
        check_recipe_values(FitConfig, values)
        check_recipe_values(DreamingConfig, dreaming, "dreaming")
        check_recipe_values(AugmentConfig, augment, "augment")
        values.update({name: params[name] for name in given & FIT_FLAGS})
        for name in given & set(EVAL_FLAGS):
            values[EVAL_FLAGS[name]] = params[name]
            if not values.get("eval_real"):
                what = "where --eval-real's dataset lies" if name == "root" else "the range of --eval-real's pixels"
                warn_ignored(name, f"it says {what}, and no --eval-real is given")
        dreaming.update({name: params[name] for name in given & DREAMING_FLAGS})
        if "augment" in given:
            augment["probability"] = params["augment"]
        if "options" in given:  # key by key: a typed --option K replaces the recipe's K alone (an outside audit:
            # the whole [options] table was dropped, and the net built with what the weights alone suggest)
            typed = parse_key_values(params["options"])
            if isinstance(recipe_options, dict):
                recipe_options = {k: v for k, v in recipe_options.items() if k not in typed}
                typed = {**recipe_options, **typed}
            values["options"] = typed
        options_origin = f"the recipe {params['recipe']}" if recipe_options else None  # a file chose some
        values = {"generator": params["generator"], **values, "dreaming": dreaming, "augment": augment}
    with values_from_run(params["out"]) if params["resume"] else contextlib.nullcontext():
        config = FitConfig.from_dict(values)
    check_repo_id(params["push_to_hub"])
    out = check_writable(params["out"] or default_out(config.generator), folder=True)  # before any compute
    with (
        progress_lines(params["progress_lines"] and not params["quiet"]),
        resume_hint("fit", out),
    ):
        result = run_fit(
            config,
            out,
            resume=params["resume"],
            quiet=params["quiet"] or params["progress_lines"],
            generator_origin=origin,
            options_origin=options_origin,
        )
    if os.environ.get("RANK", "0") != "0":  # under torchrun, rank 0 reports
        return
    if params["push_to_hub"]:
        push_folder(result.run_dir / "inverter", params["push_to_hub"])
    echo_result(
        {"run": str(result.run_dir), "inverter": str(result.run_dir / "inverter"), **result.evaluation},
        params["as_json"],
    )


def saved_path(name: str, params: dict[str, Any]) -> tuple[tuple[str, ...], Any]:
    """Where a fit parameter sits in the run's saved options, and the value it would have there."""
    if name in DREAMING_FLAGS:
        return ("dreaming", name), params[name]
    if name == "augment":
        return ("augment", "probability"), params[name]
    if name in EVAL_FLAGS:
        return (EVAL_FLAGS[name],), params[name]
    if name == "options":  # as a run started by this command recorded them: the recipe's [options] under the typed
        # ones, a spec file as its fields (repeated with --resume, the command was refused: a review)
        from ganinv.sources import options_to_record

        recipe = load_recipe(params["recipe"]) if params.get("recipe") else {}
        recipe_options = recipe.get("options")
        merged = {**(recipe_options if isinstance(recipe_options, dict) else {}), **parse_key_values(params[name])}
        return ("options",), options_to_record(merged)
    return (name,), params[name]


def default_out(source: str) -> Path:
    name = source.rstrip("/").split("@")[0].replace("\\", "/").split("/")[-1].split(":")[-1] or "generator"
    return Path("runs") / f"{Path(name).stem}-{time.strftime('%Y%m%d-%H%M%S')}"


def check_repo_id(repo: Optional[str]) -> None:
    """Refuse a --push-to-hub that is no repo id before hours of training, not after."""
    if not repo:
        return
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(repo.removeprefix("hub:"))
    except HFValidationError as exc:
        raise RunError(f"--push-to-hub {repo!r} is not a Hub repo id ({exc}); give owner/name") from None


def push_folder(folder: Path, repo: str) -> None:
    from huggingface_hub import HfApi

    try:
        api = HfApi()
        api.create_repo(repo.removeprefix("hub:"), exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:  # what is published: the folder, its generator named by file name
            published = Path(tmp) / folder.name
            shutil.copytree(folder, published)
            if (published / "config.json").is_file():
                name_local_generator_by_file_name(published)
            api.upload_folder(repo_id=repo.removeprefix("hub:"), folder_path=str(published))
    except Exception as exc:
        raise GaninvError(
            f"cannot push {folder} to the Hub repo {repo}: {str(exc).splitlines()[0]}; the folder is complete: "
            f"upload it when the Hub is reachable (`hf upload {repo.removeprefix('hub:')} {folder}`)"
        ) from None
    click.echo(f"pushed {folder} to hub:{repo.removeprefix('hub:')}", err=True)
