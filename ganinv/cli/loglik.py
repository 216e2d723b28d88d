"""`ganinv loglik`: bounds on the log-likelihood of images under a generator (docs/algorithms.md §3).

ganinv loglik --inverter runs/fit --generated 1000 --k 1,16,256 --out generated.jsonl
ganinv loglik --inverter runs/fit mnist --root DATA --split test --fit-sigma --out test.jsonl
"""

from __future__ import annotations

import math
import time
import warnings
from typing import Optional, Sequence

import click
import torch

from ganinv.atomic import atomic_path, json_text
from ganinv.cli.options import (
    artifact_generator_options,
    check_suffix,
    device_option,
    image_options,
    json_option,
    out_option,
    parse_ks,
    quiet_option,
    resolve_device,
    seed_option,
    warn,
    warn_ignored,
)
from ganinv.config_checks import FiniteFloatRange, LimitedIntRange
from ganinv.data import described_source, fit_to_shape, load_images
from ganinv.dreaming import SIGMA_X_RANGE, DreamingConfig
from ganinv.errors import GaninvError
from ganinv.inverter import Inverter
from ganinv.loglik import (
    CHUNK_SIZE,
    MAX_ENUMERATE,
    LogLikelihood,
    bits_per_dim,
    fit_sigma,
    log_likelihood,
    plan_batch,
    sample_finite,
)
from ganinv.outputs import check_image_count, check_not_an_input, check_writable

LABELS = {
    "elbo": "ELBO (SS-AVL Eq. 18)",
    "surrogate": "surrogate LL (SS-AVL Table 4: -E_q[SSE on [0,1]] - KL; the SSE of draws from q, not of G(mean))",
    "kl": "KL(q || prior)",
    "mse_sum": "MSE (SSE on [0,1] of G(mean))",
}


def finite_or_none(value: float) -> Optional[float]:
    return value if math.isfinite(value) else None  # JSON has no NaN


def image_records(
    result: LogLikelihood, labels: Optional[torch.Tensor], names: list[str], classes: Sequence[str] = ()
) -> list[dict]:
    """One JSON object per image: every bound in nats and bits/dim, the surrogate, KL and MSE; its label, and the
    label's class name where the images name their classes (folders 1, 10, 2 sort as strings: label 1 is "10")."""
    bounds = result.bounds()
    records = []
    for i in range(len(result)):
        record: dict = {"index": i}
        if labels is not None:
            record["label"] = int(labels[i])
            if int(labels[i]) < len(classes):
                record["class"] = classes[int(labels[i])]
        if names:
            record["name"] = names[i]
        for name, values in bounds.items():
            record[name] = values[i].item()
            record[f"{name}_bpd"] = bits_per_dim(values[i].item(), result.image_dim)
        record["elbo_se"] = finite_or_none(result.elbo_se[i].item())
        for name in ("surrogate", "kl", "mse_sum"):
            record[name] = getattr(result, name)[i].item()
        record["sigma_x"] = result.sigma_x
        records.append(record)
    return records


def speed(images_per_s: float) -> str:
    """Images per second, or seconds per image where fewer than one a second (a large generator at a large k)."""
    return f"{images_per_s:.1f} images/s" if images_per_s >= 1 else f"{1 / max(images_per_s, 1e-9):.3g} s per image"


def print_table(summary: dict, stats: dict[str, dict[str, float]]) -> None:
    click.echo(
        f"{summary['images']} images from {summary['images_from']}, sigma_x = {summary['sigma_x']:.4g} "
        f"({summary['sigma_x_from']}), {speed(summary['images_per_s'])} on {summary['device']}"
    )
    click.echo(f"{'nats of a density on the [-1, 1] pixel scale':46} {'mean':>12} {'s.e.':>9} {'bits/dim':>9}")
    for name, stat in stats.items():
        label = LABELS.get(name, name.replace("iw_", "IW_") + " (importance-weighted)")
        bpd = f"{stat['bpd']:9.4f}" if "bpd" in stat else ""
        click.echo(f"{label:46} {stat['mean']:12.3f} {stat['se']:9.3f} {bpd}")


@click.command("loglik")
@image_options(required=False)
@click.option(
    "--inverter",
    "inverter_source",
    required=True,
    help="Fitted inverter: a run folder, an artifact folder, a Hub repo id, or builtin:NAME.",
)
@click.option(
    "--generated",
    type=LimitedIntRange(min=1),
    default=None,
    help="Score N fresh samples of the inverter's generator instead of IMAGES.",
)
@click.option(
    "--k",
    "k_text",
    default="1,16,256",
    show_default=True,
    help="Importance-sample sizes k of the importance-weighted bounds, comma-separated.",
)
@click.option(
    "--sigma-x",
    type=FiniteFloatRange(min=SIGMA_X_RANGE[0], max=SIGMA_X_RANGE[1]),  # fit's range, shown as fit's help shows it
    default=None,
    help="Observation std on the [-1, 1] scale [default: the one the inverter was fitted with, recorded in "
    f"its artifact; {DreamingConfig.sigma_x}, fit's default, for artifacts that do not record it].",
)
@click.option(
    "--fit-sigma",
    "fit_sigma_flag",
    is_flag=True,
    default=False,
    help="Pick sigma_x maximising the ELBO on held-out generated samples (recorded in the output).",
)
@click.option(
    "--fit-n",
    type=LimitedIntRange(min=1),
    default=512,
    show_default=True,
    help="Generated samples used by --fit-sigma.",
)
@out_option("Also write one JSON line per image to this file (.jsonl).", folder=False, required=False)
@json_option
@quiet_option
@click.option(
    "--batch-size",
    type=LimitedIntRange(min=1),
    default=64,
    show_default=True,
    help="Images encoded together (the Monte Carlo draws depend on it).",
)
@click.option(
    "--chunk-size",
    type=LimitedIntRange(min=1),
    default=CHUNK_SIZE,
    show_default=True,
    help="Images per generator call; bounds the memory whatever k is.",
)
@click.option(
    "--max-enumerate",
    type=LimitedIntRange(min=0),
    default=MAX_ENUMERATE,
    show_default=True,
    help="Sum the categorical code d exactly when it has at most this many values; above (or with 0), draw "
    "one d per sample from q(d|x): cheaper, higher-variance bounds.",
)
@artifact_generator_options
@device_option
@seed_option
def loglik(
    images,
    root,
    split,
    limit,
    input_range,
    inverter_source,
    generated,
    k_text,
    sigma_x,
    fit_sigma_flag,
    fit_n,
    out,
    as_json,
    quiet,
    batch_size,
    chunk_size,
    max_enumerate,
    device,
    seed,
    generator,
    trust_remote_code,
):
    """ELBO and importance-weighted bounds on log p(x) per image of IMAGES, or of --generated samples (SS-AVL
    Proposition 3, docs/algorithms.md §3)."""
    ks = parse_ks(k_text)
    if (images is None) == (generated is None):
        raise GaninvError("give either IMAGES (a dataset, folder or file) or --generated N, not both or neither")
    if fit_sigma_flag and sigma_x is not None:
        raise GaninvError("--sigma-x and --fit-sigma exclude each other; give one")
    if not fit_sigma_flag:
        warn_ignored("fit_n", "it is how many images --fit-sigma fits on, and --fit-sigma is not given")
    if out is not None:
        check_suffix(out, (".jsonl",), "--out", "is written as JSON lines, one record per image")
        check_not_an_input(out, [images, root])  # first: the input is no earlier result either, and this says why
        check_writable(out, folder=False)
    device = resolve_device(device)
    inverter = Inverter.load(inverter_source, device=device, generator=generator, trust_remote_code=trust_remote_code)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        batch_size = plan_batch(
            inverter, ks, batch_size, max_enumerate
        )  # refuses a k whose samples cannot fit in memory
    for caught_warning in caught:
        warn(str(caught_warning.message))
    rng = torch.Generator(device=device).manual_seed(seed)

    labels, names, classes, converted, source_notes = None, [], [], None, None
    if fit_sigma_flag:
        check_image_count(fit_n, inverter.spec.image_shape, "--fit-n")
    if generated is not None:
        check_image_count(generated, inverter.spec.image_shape, "--generated")
        x = sample_finite(inverter, generated, rng, "--generated")  # NaN samples: the generator named, not the images
        images_from = f"the generator ({generated} samples, seed {seed})"
    else:
        size = tuple(inverter.spec.image_shape[1:])  # image files of mixed sizes go straight to the generator's
        image_set = load_images(images, root=root, split=split, limit=limit, input_range=input_range, size=size)
        if len(image_set) == 0:
            raise GaninvError(f"{images} holds no images; give at least one image to score")
        x, fitted = fit_to_shape(image_set.images, inverter.spec.image_shape)
        if fitted:
            warn(fitted)
        converted = "; ".join([*image_set.notes, *([fitted] if fitted else [])]) or None  # as read, then as fitted
        source_notes = "; ".join(image_set.source_notes) or None  # no conversion: what else the source held
        labels, names, classes = image_set.labels, image_set.names, image_set.classes
        images_from = described_source(images, split)

    if fit_sigma_flag:
        sigma_x = fit_sigma(
            inverter, fit_n, batch_size=batch_size, chunk_size=chunk_size, max_enumerate=max_enumerate, generator=rng
        )
        sigma_from = f"fitted: maximises the ELBO on {fit_n} held-out generated samples"
        if not quiet:
            click.echo(f"fitted sigma_x = {sigma_x:.4g}", err=True)
    elif sigma_x is not None:
        sigma_from = "given"
    elif inverter.sigma_x is not None:
        sigma_x, sigma_from = inverter.sigma_x, "inverter"  # the sigma its encoders were fitted with
    else:
        sigma_x, sigma_from = DreamingConfig.sigma_x, "default"  # fit's default: the artifact records none

    started = time.perf_counter()
    result = log_likelihood(
        inverter,
        x,
        ks=ks,
        sigma_x=sigma_x,
        batch_size=batch_size,
        chunk_size=chunk_size,
        max_enumerate=max_enumerate,
        generator=rng,
        progress=not quiet,
        input_range="model",  # read and converted by the command's image reader
    )
    seconds = time.perf_counter() - started

    if out is not None:
        with atomic_path(out) as tmp:
            tmp.write_text("".join(json_text(r) + "\n" for r in image_records(result, labels, names, classes)))
    stats = result.summary()
    summary = {
        "inverter": inverter_source,
        "images_from": images_from,
        "images": len(result),
        "images_converted": converted,  # resized or recoloured to the generator's shape first: what was scored
        "images_notes": source_notes,  # what else reading them said: folders skipped, images that came out blank
        "k": ks,
        # the nats are of a density on this pixel scale, whatever the images' own (an outside audit: a user of [0, 1]
        # images read them as theirs, D log 2 nats off); bits/dim are of 8-bit bins, the same on either
        "density_scale": "[-1, 1]",
        "sigma_x": sigma_x,
        "sigma_x_from": sigma_from,
        "d_enumerated": 0 < inverter.spec.n_classes <= max_enumerate,
        "seed": seed,
        "device": str(device),
        "seconds": seconds,
        "images_per_s": len(result) / seconds,
        "stats": {name: {key: finite_or_none(v) for key, v in stat.items()} for name, stat in stats.items()},
    }
    if as_json:
        click.echo(json_text(summary, indent=2))
    else:
        print_table(summary, stats)
