"""`ganinv perf`: performance against the machine's own limits, as JSON; the measuring code is ganinv.perf."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import click

from ganinv.cli.options import device_option, generator_options, parse_key_values, seed_option
from ganinv.config_checks import FiniteFloatRange, LimitedIntRange

MEASURES = ("machine", "fit", "reference", "loglik", "invert", "scaling")
# per-measure defaults of --steps and --images, and of --batch-size for the sweeps of `scaling`
DEFAULT_STEPS = {"fit": 20, "reference": 1000, "scaling": 3}
# the options only some measures read: given to another, refused (an outside audit: --variant bf16 on the machine
# measure ran in silence, its result taken for the variant's)
MEASURE_OPTIONS = {
    "images": ("invert", "loglik"),
    "k_text": ("loglik",),
    "threshold": ("reference",),
    "eval_every": ("reference",),
    "augment": ("fit", "reference"),
    "variants": ("fit",),
    "isolate": ("scaling",),
    "steps": ("fit", "reference", "scaling"),
    "batch_size": ("fit", "reference", "scaling", "loglik"),
    "generator": ("fit", "reference", "loglik", "invert", "scaling"),
    "random_dcgan": ("fit", "reference", "loglik", "invert", "scaling"),
}


@click.command("perf")
@click.option(
    "--measure",
    type=click.Choice(MEASURES),
    required=True,
    help="machine: matmul rate; fit: dreaming-step throughput and FLOP/s; reference: time to a held-out "
    "quality against benchmarks/reference_fit.py; loglik: images/s against the arithmetic bound; "
    "invert: per-image inversion times; scaling: time and memory against batch, image size, MVAE K.",
)
@generator_options
@click.option(
    "--random-dcgan",
    type=LimitedIntRange(min=16),
    default=None,
    metavar="RES",
    help="Time a DCGAN (pytorch/examples widths) with random weights making RES x RES images instead of "
    "--generator, e.g. 64 or 128.",
)
@click.option(
    "--batch-size",
    type=LimitedIntRange(min=1),
    default=64,
    show_default=True,
    help="Dreamed samples per step (fit, reference); the batch of the image-size and MVAE sweeps (scaling); "
    "images per log-likelihood batch (loglik).",
)
@click.option(
    "--steps",
    type=LimitedIntRange(min=1),
    default=None,
    help="Timed steps (fit: 20, scaling: 3 per point) or training steps (reference: 1000).",
)
@click.option(
    "--seconds",
    type=FiniteFloatRange(min=0),
    default=1.0,
    show_default=True,
    help="Least time of each repeated timing (matmul, loglik per k, encoder inversion).",
)
@click.option(
    "--images",
    type=LimitedIntRange(min=1),
    default=None,
    help="invert: images in the batch (default 16; 256 on CUDA); loglik: most images per k (default 64; 4096 on CUDA).",
)
@click.option(
    "--k",
    "k_text",
    default="1,16,256",
    show_default=True,
    help="loglik: importance-sample sizes k of the bounds, comma-separated, as `ganinv loglik --k` takes them.",
)
@click.option(
    "--threshold",
    type=FiniteFloatRange(min=0, min_open=True),
    default=0.02,
    show_default=True,
    help="reference: held-out generated-sample MSE per pixel ([0, 1] scale) both loops must get below.",
)
@click.option(
    "--eval-every",
    type=LimitedIntRange(min=1),
    default=100,
    show_default=True,
    help="reference: steps between held-out evaluations.",
)
@click.option(
    "--augment",
    type=FiniteFloatRange(0, 1),
    default=None,
    help="fit, reference: fraction of perturbed dreams (default: ganinv fit's).",
)
@click.option(
    "--variant",
    "variants",
    multiple=True,
    type=click.Choice(["fp32", "bf16", "compile"]),
    help="fit: fp32, bf16 autocast, torch.compile (+ bf16); repeatable (default: fp32 on the CPU, all three on CUDA).",
)
@click.option(
    "--isolate/--no-isolate",
    default=None,
    help="scaling: each point in a fresh process, for its own peak RSS (default on the CPU).",
)
@click.option(
    "--threads",
    type=LimitedIntRange(min=1),
    default=None,
    help="torch intra-op threads for the measurement (torch.set_num_threads; default: GANINV_THREADS or "
    "OMP_NUM_THREADS, else the free cores).",
)
@click.option(
    "--contend",
    type=LimitedIntRange(min=0, max=64),  # a recipe's stage chose thousands of busy processes (an outside audit)
    is_flag=False,
    flag_value=1,
    default=0,
    help="Run N busy processes (--contend alone: 1) that spin on the CPU during the measurement, to see "
    "how a thread count holds up when another process shares the cores.",
)
@click.option(
    "--inverter",
    "inverter_source",
    default=None,
    help="loglik: a fitted inverter (a run folder, an artifact folder, a Hub repo id, or builtin:NAME) scored "
    "with its own generator, so that the spread of the bounds means something (default: an untrained one; speed only).",
)
@click.option(
    "--out", type=click.Path(dir_okay=False), default=None, help="Also write the JSON to this file (atomically)."
)
@seed_option
@device_option
def perf(
    measure,
    generator,
    arch,
    options,
    trust_remote_code,
    random_dcgan,
    batch_size,
    steps,
    seconds,
    images,
    k_text,
    threshold,
    eval_every,
    augment,
    variants,
    isolate,
    threads,
    contend,
    inverter_source,
    out,
    seed,
    device,
) -> None:
    """Measure ganinv's speed against the machine's own limits; JSON on stdout, progress on stderr.

    \b
    Threads under contention, e.g. on a 2-core machine:
      ganinv perf --measure fit --threads 1 --contend
      ganinv perf --measure fit --threads 2 --contend
    """
    import torch

    from ganinv import perf as measures
    from ganinv.atomic import write_json
    from ganinv.cli.options import parse_ks
    from ganinv.devices import resolve_device
    from ganinv.errors import GaninvError
    from ganinv.outputs import check_writable

    if out is not None and not Path(out).is_file():  # `--out ""` printed the JSON and wrote no file, in silence (an
        check_writable(out, folder=False)  # outside audit, 53c); its own earlier JSON is replaced, as ever (a review)
    ks = tuple(parse_ks(k_text))
    given = click.get_current_context().get_parameter_source("generator") != click.core.ParameterSource.DEFAULT
    if random_dcgan is not None and given:
        raise GaninvError("give --generator or --random-dcgan, not both")
    if inverter_source is not None and (given or random_dcgan is not None or measure != "loglik"):
        raise GaninvError("--inverter goes with --measure loglik alone (its generator is the inverter's own)")
    context = click.get_current_context()
    for name, measured_by in MEASURE_OPTIONS.items():
        if measure not in measured_by and context.get_parameter_source(name) != click.core.ParameterSource.DEFAULT:
            flag = next(param.opts[0] for param in context.command.params if param.name == name)
            raise GaninvError(
                f"{flag} goes with --measure {' or '.join(measured_by)}, which reads it, not {measure}; drop it"
            )
    device = resolve_device(device)
    threads_before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        with measures.busy_processes(contend):
            result = run_measure(
                measure,
                device,
                generator,
                arch,
                parse_key_values(options),
                trust_remote_code,
                random_dcgan,
                batch_size,
                steps,
                seconds,
                images,
                ks,
                threshold,
                eval_every,
                augment,
                variants,
                isolate,
                seed,
                inverter_source,
            )
    finally:
        torch.set_num_threads(threads_before)  # `ganinv bench` runs stages in one process
    result["threads"] = threads or threads_before
    result["contending_processes"] = contend
    if out:
        write_json(out, result)
    click.echo(json.dumps(result, indent=2))


def run_measure(
    measure: str,
    device,
    source: str,
    arch: Optional[str],
    options: dict[str, Any],
    trust_remote_code: bool,
    random_dcgan: Optional[int],
    batch_size: int,
    steps: Optional[int],
    seconds: float,
    images: Optional[int],
    ks: tuple[int, ...],
    threshold: float,
    eval_every: int,
    augment: Optional[float],
    variants: tuple[str, ...],
    isolate: Optional[bool],
    seed: int,
    inverter_source: Optional[str] = None,
) -> dict[str, Any]:
    from ganinv import perf as measures
    from ganinv import trust
    from ganinv.sources import load_generator

    steps = steps or DEFAULT_STEPS.get(measure, 0)  # 0: the measure takes no steps
    cuda = device.type == "cuda"
    if measure == "machine":
        return measures.measure_machine(device, seconds)
    point: dict[str, Any]
    inverter = None
    if inverter_source is not None:
        from ganinv.inverter import Inverter

        inverter = Inverter.load(inverter_source, device=device, trust_remote_code=trust_remote_code)
        generator = inverter.generator
    elif random_dcgan is not None:
        point = {"random_dcgan": random_dcgan}
        generator = measures.random_dcgan(random_dcgan, seed=seed, device=device)
    else:
        origin, trusted = trust.resolve(None, trust_remote_code)  # what a scaling point's own process may load
        point = {"source": source, "arch": arch, "options": options, "trust_remote_code": trusted, "origin": origin}
        generator = load_generator(
            source, arch=arch, options=options, device=device, trust_remote_code=trust_remote_code
        )
    if measure == "fit":
        return measures.measure_fit(generator, device, batch_size, steps, variants, augment, seed, min_seconds=seconds)
    if measure == "reference":
        return measures.measure_reference(
            generator, device, steps, threshold, eval_every, batch_size=batch_size, augment=augment, seed=seed
        )
    if measure == "loglik":
        return measures.measure_loglik(
            generator,
            device,
            ks=ks or (1, 16, 256),
            min_seconds=seconds,
            max_images=images or (4096 if cuda else 64),
            batch_size=batch_size,
            seed=seed,
            inverter=inverter,
        )
    if measure == "invert":
        return measures.measure_invert(
            generator, device, images or (256 if cuda else 16), min_seconds=seconds, seed=seed
        )
    return measures.measure_scaling(point, device, batch_size=batch_size, steps=steps, isolate=isolate, seed=seed)
