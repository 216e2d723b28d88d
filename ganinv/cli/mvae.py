"""`ganinv mvae fit`, `ganinv mvae features` and `ganinv mvae eval`: mixtures of VAEs (docs/algorithms.md §5).

ganinv mvae fit -g generator.pth --eval-real mnist --root data/mnist --out runs/mvae
ganinv mvae fit --data mnist --root data/mnist --out runs/mvae-standalone
ganinv mvae fit --resume --out runs/mvae-standalone --steps 6000
ganinv mvae features --mvae runs/mvae mnist --root data/mnist --split train --out train.safetensors
ganinv mvae eval --mvae runs/mvae-standalone mnist --root data/mnist --json
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import click
from click.core import ParameterSource

from ganinv.cli.options import (
    artifact_generator_options,
    check_suffix,
    device_option,
    echo_result,
    flag_names,
    generator_options,
    image_options,
    input_range_option,
    json_option,
    not_empty,
    out_option,
    parse_key_values,
    quiet_option,
    resolve_device,
    resume_hint,
    root_option,
    seed_option,
    warn,
    warn_ignored,
)
from ganinv.config_checks import (
    LimitedIntRange,
    changed_on_resume,
    check_run_generator_here,
    click_type,
    config_option,
    same_generator,
    saved_options,
    started_elsewhere,
    values_from_run,
)
from ganinv.data import DATASET_DIRS, fit_to_shape, load_images
from ganinv.errors import GaninvError, RunError
from ganinv.mvae.train import MVAEConfig
from ganinv.outputs import check_not_an_input, check_writable
from ganinv.runs import Run
from ganinv.sources import options_to_record

DEFAULTS = MVAEConfig()
MVAE_TYPE = functools.partial(click_type, MVAEConfig)  # the click type of an MVAEConfig field
# parameters that may be given with --resume (--generator only to name the run's own generator, see ganinv.trust)
RESUMABLE = {"steps", "device", "quiet", "as_json", "out", "resume", "trust_remote_code", "generator"}


@click.group("mvae")
def mvae() -> None:
    """Mixtures of VAE components with component dropout (MVAE; docs/algorithms.md §5)."""


@mvae.command("fit")
@generator_options
@click.option(
    "--data",
    default=None,
    help="Train a standalone MVAE (its own mix-decoder) on these images: mnist, fashion-mnist, a folder "
    "or file. Without it the MVAE sits atop --generator and learns from its samples only.",
)
@root_option
@input_range_option("--data and --eval-real")
@config_option("--split", DEFAULTS, "split", "Split of --data.")
@click.option("--limit", type=MVAE_TYPE("limit"), default=None, help="Train on the first N images of --data.")
@config_option("--components", DEFAULTS, "n_components", "Number of components K before selection.")
@config_option("--latent-dim", DEFAULTS, "latent_dim", "Size of each component's latent z_i.")
@config_option(
    "--s-dim", DEFAULTS, "s_dim", "Size of the mixed latent s of a standalone MVAE (atop a generator: its latent size)."
)
@config_option("--width", DEFAULTS, "width", "Channels of each encoder's first convolution.")
@config_option("--hidden", DEFAULTS, "hidden", "Encoder features before the heads.")
@config_option(
    "--dropout",
    DEFAULTS,
    "dropout",
    "Component dropout: gs (Gumbel-softmax), gau (variational Gaussian), bernoulli, none.",
)
@click.option(
    "--per-component-p",
    is_flag=True,
    default=False,
    help="Learn one dropout rate per component instead of one tied rate.",
)
@config_option("--beta", DEFAULTS, "beta", "Weight of the dHSIC term.")
@config_option("--lambda-s", DEFAULTS, "lambda_s", "Atop a generator: weight of ||s - true latent||^2.")
@config_option("--steps", DEFAULTS, "steps", "Adam steps.")
@config_option("--batch-size", DEFAULTS, "batch_size", "Images per step.")
@config_option("--lr", DEFAULTS, "lr", "Adam learning rate.")
@click.option(
    "--eval-real",
    default=None,
    callback=not_empty,
    help="Real images whose reconstruction error is reported (test split); default: --data.",
)
@config_option("--eval-limit", DEFAULTS, "eval_limit", "Evaluate on the first N of them.")
@out_option("Run folder to write (default: runs/mvae-<data or generator>-<timestamp>).", folder=True, required=False)
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last checkpoint.")
@config_option("--checkpoint-every", DEFAULTS, "checkpoint_every", "Steps between checkpoints.")
@device_option
@seed_option
@quiet_option
@json_option
@click.pass_context
def fit(
    ctx: click.Context,
    generator,
    arch,
    options,
    trust_remote_code,
    data,
    root,
    input_range,
    split,
    limit,
    components,
    latent_dim,
    s_dim,
    width,
    hidden,
    dropout,
    per_component_p,
    beta,
    lambda_s,
    steps,
    batch_size,
    lr,
    eval_real,
    eval_limit,
    out,
    resume,
    checkpoint_every,
    device,
    seed,
    quiet,
    as_json,
):
    """Train an MVAE and select its components; prints the selection and reconstruction errors."""
    from ganinv.mvae.train import train_mvae

    given = {
        param.name
        for param in ctx.command.params
        if ctx.get_parameter_source(param.name) not in (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP, None)
    }
    origin = options_origin = None
    if resume:
        if out is None:
            raise RunError("--resume needs --out, the run folder to continue")
        saved = saved_options(Run(out), "mvae")
        values_given = {param.name: ((param.name,), ctx.params[param.name]) for param in ctx.command.params}
        # the spec flags' entries too, a spec file as its fields, as the run recorded them (a review)
        values_given["options"] = (("options",), options_to_record(parse_key_values(options)))
        values_given["components"] = (("n_components",), components)  # saved under the config's name
        changed = changed_on_resume(
            {name: values_given[name] for name in given - RESUMABLE if name in values_given}, saved, flag_names(ctx)
        )
        if changed:
            raise RunError(
                f"--resume continues a run with its saved options; drop {', '.join(changed)} (only "
                "--steps, --device, --quiet, --json and --trust-remote-code may change)"
            )
        elsewhere = started_elsewhere(saved.get("generator"))
        if elsewhere and "generator" not in given:
            check_run_generator_here(saved.get("generator"), out)
        if "generator" in given and not same_generator(generator, saved.get("generator")):
            raise RunError(
                f"--resume continues the run's own generator {saved.get('generator')!r}; drop --generator "
                f"{generator} or start a new run"
            )
        values = {
            **saved,
            **{name: value for name, value in (("steps", steps), ("device", device)) if name in given},
            **({"generator": generator} if elsewhere and "generator" in given else {}),  # where it is from here
            "trust_remote_code": trust_remote_code,
        }  # this command's flag; never a saved one
        with values_from_run(out):
            config = MVAEConfig.from_dict(values)
        if config.generator is not None and "generator" not in given:
            origin = f"the run's {Path(out) / 'config.json'}"
        options_origin = f"the run's {Path(out) / 'config.json'}"  # --option cannot be given on --resume
    else:
        if data is not None and ctx.get_parameter_source("generator") is ParameterSource.COMMANDLINE:
            raise GaninvError("give either --generator (an MVAE atop it) or --data (a standalone MVAE), not both")
        # flags of the other kind of MVAE were accepted and ignored, in silence (an outside audit)
        kind_flags = (
            {"split": "--split", "limit": "--limit", "s_dim": "--s-dim"}
            if data is None
            else {"lambda_s": "--lambda-s", "options": "--option", "arch": "--arch"}
        )
        ignored = [flag for name, flag in kind_flags.items() if name in given]
        if ignored:
            which = "an MVAE atop a generator (no --data)" if data is None else "a standalone MVAE (--data)"
            raise GaninvError(
                f"{', '.join(ignored)} {'does' if len(ignored) == 1 else 'do'} not apply to {which}; drop "
                f"{'it' if len(ignored) == 1 else 'them'}"
                + (
                    " (its evaluation images are --eval-real's test split, --eval-limit of them)"
                    if data is None
                    else ""
                )
            )
        if "input_range" in given and data is None and eval_real is None:
            warn_ignored("input_range", "it says the range of --data's and --eval-real's pixels, and neither is given")
        config = MVAEConfig(
            generator=None if data else generator,
            arch=arch,
            options=parse_key_values(options),
            trust_remote_code=trust_remote_code,
            data=data,
            root=root,
            input_range=input_range,
            split=split,
            limit=limit,
            n_components=components,
            latent_dim=latent_dim,
            s_dim=s_dim,
            width=width,
            hidden=hidden,
            dropout=dropout,
            per_component_p=per_component_p,
            beta=beta,
            lambda_s=lambda_s,
            steps=steps,
            batch_size=batch_size,
            lr=lr,
            eval_real=eval_real,
            eval_limit=eval_limit,
            checkpoint_every=checkpoint_every,
            seed=seed,
            device=device,
        )
    out = check_writable(out or default_out(data or generator), folder=True)  # before any compute
    with resume_hint("mvae fit", out):
        result = train_mvae(
            config, out, quiet=quiet, resume=resume, generator_origin=origin, options_origin=options_origin
        )
    echo_result(result.summary, as_json)


@mvae.command("features")
@image_options(required=True)
@click.option("--mvae", "source", required=True, help="A trained MVAE: a run folder of `ganinv mvae fit` or its mvae/.")
@click.option(
    "--batch-size", type=LimitedIntRange(min=1), default=256, show_default=True, help="Images encoded per batch."
)
@out_option("Features file to write (safetensors; .npz when it ends in .npz), read by `ganinv probe`.", folder=False)
@artifact_generator_options
@device_option
@quiet_option
def features(
    images, root, split, limit, input_range, source, batch_size, out, device, generator, trust_remote_code, quiet
):
    """Every component's mu_i side by side, one row per image of IMAGES, with its label and name (docs/algorithms.md
    §4)."""
    from ganinv.features import FEATURE_SUFFIXES, inverter_features, model_sha256, save_features
    from ganinv.mvae.model import MVAE

    check_suffix(out, FEATURE_SUFFIXES, "--out", "is written as a features file (safetensors, or .npz)")
    check_not_an_input(out, [images, root])  # as features and loglik check it (a review: the input was overwritten)
    check_writable(out, folder=False)  # before any compute
    model = MVAE.load(source, device=resolve_device(device), generator=generator, trust_remote_code=trust_remote_code)
    size = tuple(model.image_shape[1:])  # image files of mixed sizes go straight to the model's (an outside audit:
    # 28 x 28 files among 64 x 64 ones went up to 64 and back down to 28)
    image_set = load_images(images, root=root, split=split, limit=limit, input_range=input_range, size=size)
    x, warning = fit_to_shape(image_set.images, model.image_shape)
    if warning:
        warn(warning)
    result = inverter_features(
        model, dataclasses.replace(image_set, images=x), batch_size=batch_size, progress=not quiet
    )
    result.meta = {
        "images": images,
        "split": split if images in DATASET_DIRS else None,  # a folder or file has no split (as `ganinv features`)
        "limit": limit,
        "mvae": source,
        "model_sha256": model_sha256(model),
    }
    path = save_features(result, Path(out))
    click.echo(f"wrote {path}: {len(result)} rows x {result.features.shape[1]} features")


@mvae.command("eval")
@image_options(required=True)
@click.option("--mvae", "source", required=True, help="A trained MVAE: a run folder of `ganinv mvae fit` or its mvae/.")
@click.option(
    "--batch-size", type=LimitedIntRange(min=1), default=256, show_default=True, help="Images reconstructed per batch."
)
@seed_option
@artifact_generator_options
@device_option
@json_option
def evaluate(
    images, root, split, limit, input_range, source, batch_size, seed, device, generator, trust_remote_code, as_json
):
    """Component selection and reconstruction error of a trained MVAE on IMAGES (MVAE Table VI): SSE per image on
    [0, 1] beside the mean image's. The selection draws from the stream `ganinv mvae fit` used, so the fit's
    --seed repeats its choice."""
    from ganinv.mvae.model import MVAE
    from ganinv.mvae.train import evaluate as reconstruction_errors
    from ganinv.mvae.train import select_components

    model = MVAE.load(source, device=resolve_device(device), generator=generator, trust_remote_code=trust_remote_code)
    model.eval()
    size = tuple(model.image_shape[1:])  # image files of mixed sizes go straight to the model's (an outside audit:
    # 28 x 28 files among 64 x 64 ones went up to 64 and back down to 28)
    image_set = load_images(images, root=root, split=split, limit=limit, input_range=input_range, size=size)
    x, warning = fit_to_shape(image_set.images, model.image_shape)
    if warning:
        warn(warning)
    summary = {"mvae": source, **select_components(model, seed), "images": images}
    if images in DATASET_DIRS:  # a folder or file has no split: "split test" read as held-out figures (an audit)
        summary["split"] = split
    summary["real"] = reconstruction_errors(model, x, batch_size)
    echo_result(summary, as_json)


def default_out(source: str) -> Path:
    """runs/mvae-<name of the data or generator>-<timestamp>, like `ganinv fit`'s runs."""
    from ganinv.cli.fit import default_out as fit_out

    path = fit_out(source)
    return path.with_name("mvae-" + path.name)
