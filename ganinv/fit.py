"""`ganinv fit`: data-free encoders for a frozen generator, the SS-AVL dreaming phase (docs/algorithms.md §2).

The loop, one step per batch: draw latents from the priors, make `x' = G(latents)` without
gradient, compute `dreaming_loss` (ganinv.dreaming), one Adam step on the encoders. Around it:
the run folder (ganinv.runs), evaluation on held-out generated samples and optionally real
images (ganinv.evaluation), checkpoints for `--resume`, DDP under `torchrun`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, cast

import torch
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from ganinv import hub
from ganinv.augment import AugmentConfig, perturb
from ganinv.config_checks import (
    MAX_HIDDEN,
    MAX_ITERATIONS,
    MAX_LR,
    MAX_SEED,
    MAX_WIDTH,
    check_config,
    check_input_range,
    checked,
    config_of_type,
    known_options,
    refuse_changed_config,
    saved_options,
)
from ganinv.data import fit_to_shape, load_images
from ganinv.divergence import check_losses, check_outputs, check_parameters, overflow_stops
from ganinv.dreaming import DreamingConfig, DreamingLosses, dreaming_loss, temperature_at
from ganinv.errors import ConfigError, RunError, SpecMismatchError, require_bool
from ganinv.evaluation import (
    encode_and_reconstruct,
    evaluate_generated,
    evaluate_real,
    generator_directions,
    held_out_samples,
)
from ganinv.generator import Generator
from ganinv.images import save_side_by_side
from ganinv.inverter import Inverter
from ganinv.recipe_files import read_toml
from ganinv.runs import (
    Distributed,
    Run,
    check_resume_step,
    checkpoint_mismatch,
    global_state_kept,
    rng_state,
    seed_everything,
    set_rng_state,
    setup_distributed,
    state_sha256,
    teardown_distributed,
    tensor_sha256,
)
from ganinv.sources import load_generator, options_to_record
from ganinv.status import Pace, said_if_slow

progress_log = logging.getLogger("ganinv.progress")  # quiet runs: a line per log step, not a bar
EVAL_SEED_OFFSET = 1_000_003  # the held-out samples come from a stream of their own


@dataclass
class FitConfig:
    # generator: any ganinv source (docs/algorithms.md §1)
    generator: str = "builtin:mnist"
    arch: Optional[str] = None  # architecture for weights that do not name one
    options: dict[str, Any] = field(default_factory=dict)  # architecture options
    trust_remote_code: bool = False  # allow full pickles (can run code); never needed for safetensors
    # encoders q(z|x) and q(d,c|x) (ganinv.encoders), sized from the generator's spec
    # first convolution's channels, doubled per halving (max 8x)
    width: int = checked(64, flag="--width", min=1, max=MAX_WIDTH)
    hidden: int = checked(512, flag="--hidden", min=1, max=MAX_HIDDEN)  # features before the heads
    # refinement passes after the single pass (ganinv.iterative); each costs about one more step's compute
    iterations: int = checked(0, flag="--iterations", min=0, max=MAX_ITERATIONS)
    # optimisation
    steps: int = checked(5000, flag="--steps", min=1)  # dreaming steps
    batch_size: int = checked(64, flag="--batch-size", min=1)  # dreamed samples per step and per process
    lr: float = checked(1e-3, flag="--lr", min=0, max=MAX_LR, min_open=True)  # Adam, after a linear warm-up ...
    warmup_steps: int = checked(100, min=0)
    min_lr_ratio: float = checked(0.05, min=0, max=1)  # ... decayed along a cosine to lr * min_lr_ratio at the end
    # z ~ N(0, prior_scale^2 I) for dreamed samples; > 1 reaches atypical latents
    prior_scale: float = checked(1.0, flag="--prior-scale", min=0, min_open=True)
    dreaming: DreamingConfig = field(default_factory=DreamingConfig)  # loss weights (docs/algorithms.md §2)
    augment: AugmentConfig = field(default_factory=AugmentConfig)  # perturbed dreams (ganinv.augment)
    # evaluation
    eval_every: int = checked(500, flag="--eval-every", min=1)  # steps between evaluations and picture grids
    eval_samples: int = checked(1000, min=1)  # held-out generated samples (fixed for the run)
    eval_real: Optional[str] = None  # real images to reconstruct too: mnist, fashion-mnist, a folder, a file
    eval_root: Optional[str] = None  # dataset root for eval_real
    # the stored pixel range (LO, HI) of eval_real; None: decided from the files' type and values, said when a guess
    eval_input_range: Optional[tuple[float, float]] = checked(None, flag="--input-range")
    eval_limit: int = checked(1000, flag="--eval-limit", min=1)  # first N real test images
    # bookkeeping
    log_every: int = checked(50, flag="--log-every", min=1)  # steps between metrics records (the only host syncs)
    checkpoint_every: int = checked(500, flag="--checkpoint-every", min=1)  # steps between checkpoints
    keep_checkpoints: int = checked(3, min=1)  # numbered checkpoints kept
    seed: int = checked(0, flag="--seed", min=0, max=MAX_SEED)
    device: Optional[str] = None  # default: cuda when available
    compile: bool = False  # torch.compile the encoders
    amp: bool = True  # bf16 autocast on CUDA (no effect on CPU)

    def __post_init__(self) -> None:
        check_config(self)
        check_input_range(self, "eval_input_range")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "FitConfig":
        """From a recipe or a run's config.json: FitConfig fields, with tables [dreaming] and [augment]."""
        return cls(**known_options(cls, values, "fit"))  # tables become DreamingConfig, AugmentConfig


def load_recipe(path: str | Path) -> dict[str, Any]:
    """A recipe: a TOML file of FitConfig fields, with optional [dreaming] and [augment] tables."""
    return read_toml(path, "`key = value` lines, with [dreaming] and [augment] tables")


@dataclass
class FitResult:
    run_dir: Path
    inverter: Inverter  # the trained encoders, attached to the generator
    evaluation: dict[str, Any]  # the final evaluation (eval.json); empty on ranks other than 0


def not_the_cuda_note(record: logging.LogRecord) -> bool:
    """A logging filter: a CPU compile needs no CUDA, and its note that none is found says nothing wrong."""
    return "No CUDA runtime is found" not in record.getMessage()


def fit(
    config: FitConfig,
    out: str | Path,
    resume: bool = False,
    quiet: bool = False,
    generator: Optional[Generator] = None,
    generator_origin: Optional[str] = None,
    options_origin: Optional[str] = None,
) -> FitResult:
    """Train the encoders of `config.generator` (or of `generator`, when given) into the run folder `out`.

    `generator_origin` names the file `config.generator` was read from (a recipe, a resumed run's
    config.json) when the user did not type it: a source that is code is then refused unless
    `config.trust_remote_code` is the user's own flag (ganinv.trust). `options_origin` names the file
    `config.options` came from, for the same rule on a `model_class` among them.

    A `generator` given here is probed as `load_generator` probes what it loads, and the run records it as given
    in Python, with the sha256 of its weights: its resume takes the same generator again (`generator=`).
    The caller's global random streams and flush-denormal setting are as they were when it returns.
    """
    config_of_type(config, FitConfig, "fit")
    resume, quiet = require_bool(resume, "resume"), require_bool(quiet, "quiet")
    if generator is not None and not isinstance(generator, Generator):
        raise ConfigError(
            f"fit(generator=...) takes a loaded Generator (ganinv.load_generator(...), or ganinv.Generator(net, spec) "
            f"around a module of yours), not {type(generator).__name__}"
        )
    from ganinv.devices import resolve_device

    resolve_device(config.device)  # a device this machine lacks (a recipe's "tpu") is refused before any work
    with global_state_kept():  # seed_everything reseeds and flushes subnormals: for the fit only
        distributed, device = setup_distributed(config.device)
        run = Run(out, config.keep_checkpoints, writer=distributed.is_main)
        try:
            return _fit(
                config,
                run,
                resume,
                quiet,
                generator,
                (generator_origin, options_origin),
                distributed,
                device,
            )
        finally:
            run.release()
            teardown_distributed()


def _fit(
    config: FitConfig,
    run: Run,
    resume: bool,
    quiet: bool,
    generator: Optional[Generator],
    origins: tuple[Optional[str], Optional[str]],  # (generator_origin, options_origin) of `fit`
    distributed: Distributed,
    device: torch.device,
) -> FitResult:
    main = distributed.is_main
    in_python = generator is not None  # given as fit(generator=G), not loaded here from config.generator
    asked = config.to_dict()
    # a spec file as its fields: a run's record names no file to read, and its resume reads none (an outside audit)
    asked["options"] = options_to_record(asked["options"])
    if resume:
        saved = saved_options(run, "fit")  # refuses a folder that holds another kind of run
        if given_in_python(run.config):
            if not in_python:  # config.generator is none of its business: never load it instead
                source = run.config["generator"].get("source")
                raise RunError(
                    f"{run.folder} was fitted on a generator given in Python (generator=G"
                    f"{f', source {source!r}' if source else ''}); pass the same generator again with generator= to "
                    "resume it: fit(config, out, resume=True, generator=G)"
                )
            asked["generator"] = saved.get("generator")  # not the generator's name: its fingerprint says (below)
        refuse_changed_config(run.folder, saved, asked)
        run.check_resume_steps(config.steps)
    else:
        run.check_new()
    if generator is not None:
        generator = probe_given(generator.to(device))
    else:
        generator = load_generator(
            hub.pinned(config.generator, run.hub_commit() if resume else None),  # resume: the commit it started from
            arch=config.arch,
            options=config.options,
            device=device,
            trust_remote_code=config.trust_remote_code,
            origin=origins[0],
            options_origin=origins[1],
        )
    generator = generator.to(device)
    generator.require_gradients("fitting an inverter")  # before the run folder is made: a retry starts clean
    inputs = {"generator": generator.meta.get("weights_sha256")}  # what the run trains on, fingerprinted
    # the real images it shows, read once (twice, every note on them was said twice: audit 36b)
    if resume and config.eval_real:
        run.refuse_unrecorded(["eval_real"])  # before its folder is read
    real = real_eval_images(config, generator, say=True) if config.eval_real else None
    if real is not None:  # fingerprinted: a resumed run's config.json is data, and its eval_real chose a folder of
        # the user's private images to copy into the run's pictures (an outside audit)
        inputs["eval_real"] = tensor_sha256(real)
    if in_python or not resume:  # its weights as they are: one given in Python may differ from the file it came from
        inputs["generator_state"] = state_sha256(generator.net)  # (resumed from its source, the file's sha256 says)
    described: dict[str, Any] = {"source": generator.source, "meta": generator.meta, "spec": generator.spec.to_dict()}
    if in_python:
        described = {"given_in_python": True, **described}
    if resume:
        run.check_same_inputs(inputs, described)
    if main and not resume:
        saved = {k: v for k, v in asked.items() if k != "trust_remote_code"}  # trust is never saved
        if in_python:  # never a config.generator it did not use (a resume loaded it: an outside audit)
            saved["generator"] = f"{generator.source} (given in Python)" if generator.source else "(given in Python)"
        run.create(
            {
                "fit": saved,
                "world_size": distributed.world_size,
                "generator": described,
                "inputs": inputs,
            }
        )
    distributed.barrier()

    seed_everything(config.seed)  # same initial weights on every rank (DDP also broadcasts rank 0's)
    inverter = Inverter.for_generator(
        generator,
        width=config.width,
        hidden=config.hidden,
        arch=config.arch,
        options=config.options,
        iterations=config.iterations,
        sigma_x=config.dreaming.sigma_x,
    ).to(device)
    optimizer = torch.optim.Adam(inverter.parameters(), lr=config.lr)
    seed_everything(config.seed + distributed.rank)  # reparameterisation and Gumbel noise differ per rank
    sampler = torch.Generator(device=device).manual_seed(config.seed + distributed.rank + 1)  # dreamed latents

    start_step = 0
    if resume:
        state = run.load_checkpoint()  # on the CPU: RNG states must stay there; the rest is copied over
        try:
            inverter.load_state_dict(state["inverter"])
            optimizer.load_state_dict(state["optimizer"])
        except (KeyError, ValueError, RuntimeError) as exc:
            raise RunError(checkpoint_mismatch(run, exc)) from None
        if len(state["rng"]) != distributed.world_size:
            raise RunError(
                f"the run was checkpointed by {len(state['rng'])} process(es); "
                f"resume it with the same number, not {distributed.world_size}"
            )
        set_rng_state(state["rng"][distributed.rank], sampler)
        start_step = int(state["step"])
        check_resume_step(run, start_step, config.steps)
        if main:
            run.truncate_metrics(start_step)
            run.record_steps("fit", config.steps, "learning-rate and temperature schedules")

    model: torch.nn.Module = DistributedDataParallel(inverter) if distributed.enabled else inverter
    if config.compile:  # compiling a Module gives an OptimizedModule (torch types it as a plain callable)
        if device.type == "cpu":  # inductor's C++ backend logs that no CUDA is found, in torch's raw log format
            logging.getLogger("torch.utils.cpp_extension").addFilter(not_the_cuda_note)  # (an outside audit, 53c)
        model = cast(torch.nn.Module, torch.compile(model))
    autocast = (
        torch.autocast("cuda", dtype=torch.bfloat16)
        if config.amp and device.type == "cuda"
        else contextlib.nullcontext()
    )
    evaluator = Evaluator(config, generator, real) if main else None
    probe = evaluator.images[:64].to(device) if evaluator is not None else None  # (64, C, H, W) held out

    def encoder_outputs() -> list[Optional[torch.Tensor]]:
        assert probe is not None, "checked only where there is a probe"
        posterior = inverter.encode_model_images(probe)
        return [posterior.mu_z, posterior.logvar_z, posterior.logits_d, posterior.mu_c, posterior.logvar_c]

    def save_checkpoint(step: int) -> None:
        rng = distributed.gather(rng_state(sampler))  # every rank's streams, for an exact resume
        if main:
            run.save_checkpoint(
                step, {"step": step, "inverter": inverter.state_dict(), "optimizer": optimizer.state_dict(), "rng": rng}
            )

    progress = tqdm(
        total=config.steps,
        initial=start_step,
        disable=quiet or not main,
        file=sys.stderr,
        dynamic_ncols=True,
        desc="fit",
    )
    names = [f.name for f in dataclasses.fields(DreamingLosses)]
    running = torch.zeros(len(names), device=device)  # sums of the loss terms since the last log
    clock = time.perf_counter()
    last_eval: dict[str, Any] = {}
    pace = Pace(start_step + 1, config.steps, device.type, checkpoint_every=config.checkpoint_every)
    last_record = start_step
    for step in range(start_step + 1, config.steps + 1):
        with overflow_stops(step, run, _divergence_advice(config)):
            losses = dreaming_step(generator, inverter, model, optimizer, sampler, config, step, autocast)
        running += torch.stack([getattr(losses, n) for n in names]).detach()
        if (long_run := pace.warning_after(step)) and main:
            warnings.warn(long_run, UserWarning, stacklevel=2)

        if step % config.log_every == 0 or step == config.steps:
            count, last_record = step - last_record, step  # the steps summed since the last record (a resume: since it)
            means = dict(zip(names, (running / count).tolist()))  # one host sync per log interval
            running.zero_()
            check_losses(means, step, run, _divergence_advice(config), generator)
            rate = count * config.batch_size * distributed.world_size / (time.perf_counter() - clock)
            clock = time.perf_counter()
            record = {
                "step": step,
                **means,
                "train_mse": _mse_from_nll(means["rec_z"], generator, config),
                "samples_per_s": rate,
            }
            if main:
                run.log_metrics(record)
                _report(progress, quiet, record, last_eval)
        evaluating = step % config.eval_every == 0 or step == config.steps
        if evaluating or step % config.checkpoint_every == 0:  # never evaluate or save non-finite weights
            check_parameters([inverter], step, run, _divergence_advice(config))
            if probe is not None:  # finite weights can still be too large for finite outputs
                check_outputs(inverter, encoder_outputs, "the encoders' outputs", step, run, _divergence_advice(config))
        if evaluator is not None and evaluating:  # the main process evaluates
            last_eval = evaluator.evaluate(inverter, run, step)
            run.log_metrics({"step": step, "eval": last_eval})
        if step % config.checkpoint_every == 0 or step == config.steps:
            save_checkpoint(step)
        progress.update(1)
    progress.close()

    evaluation = last_eval if main else {}
    if main:
        if start_step >= config.steps:  # resumed a finished run: evaluate what is there
            assert evaluator is not None, "the main process has one"
            evaluation = evaluator.evaluate(inverter, run, config.steps)
        run.save_json("eval.json", evaluation)
        warn_if_worse_than_the_mean(evaluation)
        inverter.save_pretrained(run.folder / "inverter")  # the generator bundled when it has an architecture
    distributed.barrier()
    return FitResult(run.folder, inverter, evaluation)


def given_in_python(run_config: dict[str, Any]) -> bool:
    """Whether the run was fitted on a generator given as fit(generator=G) (its config.json says so)."""
    record = run_config.get("generator")
    return isinstance(record, dict) and record.get("given_in_python") is True


def probe_given(generator: Generator) -> Generator:
    """Check a generator given as fit(generator=G) against its spec, as load_generator checks those it loads (an
    outside audit fitted one that drew noise inside forward, and a [0, 1] one under a [-1, 1] spec, to the end in
    silence). A loaded one is probed again: a few small batches, and it may have been changed since."""
    try:
        generator.probe()
    except SpecMismatchError as exc:  # say which generator, as load_generator does
        exc.args = (f"the generator given with generator= ({generator.source or 'of no source'}): {exc}",)
        raise
    return generator


def warn_if_worse_than_the_mean(evaluation: dict[str, Any]) -> None:
    """An encoder that reconstructs worse than the mean image learned nothing useful (an outside audit: --augment 1
    on a textured generator ended at SSE 17.6 against the mean image's 11.3, in silence)."""
    for name, figures in evaluation.items():
        if not isinstance(figures, dict) or not isinstance(figures.get("mean_image_baseline"), dict):
            continue
        sse, baseline = figures.get("sse_per_image"), figures["mean_image_baseline"].get("sse_per_image")
        if isinstance(sse, float) and isinstance(baseline, float) and sse > baseline:
            warnings.warn(
                f"the encoders reconstruct {name} images worse than their mean image does (SSE {sse:.3g} against "
                f"{baseline:.3g}): train longer (--steps), or lower --augment or --lr",
                UserWarning,
                stacklevel=2,
            )


def dreaming_step(
    generator: Generator,
    inverter: Inverter,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    sampler: torch.Generator,
    config: FitConfig,
    step: int,
    autocast: contextlib.AbstractContextManager,
) -> DreamingLosses:
    """One step: dream a batch from the priors, perturb part of it, `dreaming_loss`, one Adam step.

    `model` is the inverter, or its DDP / compiled form; `step` counts from 1 (learning rate and
    Gumbel temperature follow it). Returns the loss terms, still on the device (no host sync).
    """
    inverter.train()
    for group in optimizer.param_groups:
        group["lr"] = learning_rate(step, config)
    latents = generator.sample_latents(config.batch_size, generator=sampler)
    latents.z = latents.z * config.prior_scale
    with torch.no_grad():
        images = generator.decode(latents)  # (B, C, H, W) in [-1, 1]: x' of docs/algorithms.md §2, step 1
        images = perturb(images, config.augment, generator=sampler)
    with autocast:
        losses = dreaming_loss(
            generator, model, latents, images, temperature_at(step - 1, config.steps, config.dreaming), config.dreaming
        )
    optimizer.zero_grad(set_to_none=True)
    losses.total.backward()
    optimizer.step()
    return losses


def learning_rate(step: int, config: FitConfig) -> float:
    """Linear warm-up over `warmup_steps`, then a cosine from `lr` down to `lr * min_lr_ratio` (step counts from 1)."""
    if step <= config.warmup_steps:
        return config.lr * step / config.warmup_steps
    progress = (step - config.warmup_steps) / max(config.steps - config.warmup_steps, 1)
    return config.lr * (config.min_lr_ratio + (1 - config.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


def _divergence_advice(config: FitConfig) -> str:
    """The settings that can make the loss diverge: always the step size and the pixel noise, and the loss weights
    where the user moved them from their defaults."""
    advice = [f"a lower --lr (now {config.lr:g})", f"a larger --sigma-x (now {config.dreaming.sigma_x:g})"]
    defaults = DreamingConfig()
    for flag, name in (("--beta", "beta"), ("--lambda-mi", "lambda_mi"), ("--lambda-z", "lambda_z")):
        value, default = getattr(config.dreaming, name), getattr(defaults, name)
        if value > default:
            advice.append(f"a {flag} nearer its default {default:g} (now {value:g})")
    return ", ".join(advice[:-1]) + " or " + advice[-1]


def _mse_from_nll(rec_nll: float, generator: Generator, config: FitConfig) -> float:
    """The per-pixel squared error on the [0, 1] scale behind a Gaussian NLL (ganinv.losses.gaussian_nll)."""
    dim, sigma = generator.spec.image_dim, config.dreaming.sigma_x
    squared_error = (rec_nll - 0.5 * dim * math.log(2 * math.pi * sigma**2)) * 2 * sigma**2
    return squared_error / dim / 4


def say_dead_directions(sensitivity: torch.Tensor) -> None:
    """Latent directions that move no image (a generator that ignores part of z): their coordinates in every answer
    are the encoder's guess, near the prior's 0, and meaningless as features; shown only as zeros among the fit's
    sensitivities before (an outside audit)."""
    dead = int((sensitivity <= 1e-6 * float(sensitivity.max())).sum()) if float(sensitivity.max()) > 0 else 0
    if dead:
        warnings.warn(
            f"{dead} of the generator's {sensitivity.numel()} latent directions move no image (it ignores part of "
            "z): what the inverter answers along them is the prior's guess, not read from the image, in its latents "
            "and features alike",
            UserWarning,
            stacklevel=3,
        )


def real_eval_images(config: FitConfig, generator: Generator, say: bool = False) -> torch.Tensor:
    """The real images of `config.eval_real` in the generator's shape, (N, C, H, W) in [-1, 1]; a conversion said
    when `say`."""
    real = load_images(  # at the generator's size: a folder's images of it are never resized (an audit)
        cast(str, config.eval_real),
        root=config.eval_root,
        split="test",
        limit=config.eval_limit,
        input_range=config.eval_input_range,
        size=generator.spec.image_shape[1:],
    )
    images, warning = fit_to_shape(real.images, generator.spec.image_shape)
    if warning and say:
        warnings.warn(warning, stacklevel=3)
    return images


class Evaluator:
    """The fixed held-out generated set (and real images, when asked) and how the encoders do on them."""

    def __init__(self, config: FitConfig, generator: Generator, real: Optional[torch.Tensor] = None):
        # 30 silent seconds before the first step at 64 px (an outside audit, 51b)
        with said_if_slow(f"preparing the evaluation: {config.eval_samples} held-out samples, the latent directions"):
            self.latents, self.images = held_out_samples(
                generator, config.eval_samples, seed=config.seed + EVAL_SEED_OFFSET
            )
            self.directions = generator_directions(generator, seed=config.seed + EVAL_SEED_OFFSET)
        say_dead_directions(self.directions[1])
        self.real = real  # (N, C, H, W) in [-1, 1]: `real_eval_images`

    def evaluate(self, inverter: Inverter, run: Run, step: int) -> dict[str, Any]:
        inverter.eval()
        out = {"generated": evaluate_generated(inverter, self.latents, self.images, self.directions)}
        pictures = {"generated": self.images[:32]}
        if self.real is not None:
            out["real"] = evaluate_real(inverter, self.real)
            pictures["real"] = self.real[:32]
        for name, images in pictures.items():  # originals beside reconstructions
            _, reconstructions = encode_and_reconstruct(inverter, images)
            save_side_by_side([images, reconstructions], run.folder / "samples" / f"step-{step:06d}-{name}.png")
        inverter.train()
        return out


def _report(progress: tqdm, quiet: bool, record: dict[str, Any], last_eval: dict[str, Any]) -> None:
    fields = {
        "loss": f"{record['total']:.4g}",
        "mse": f"{record['train_mse']:.4f}",
        "samples/s": f"{record['samples_per_s']:.0f}",
    }
    if last_eval:
        fields["eval_mse"] = f"{last_eval['generated']['mse_per_pixel']:.4f}"
        fields["z_mse"] = f"{last_eval['generated']['z_mse']:.3f}"
        if "real" in last_eval:
            fields["real_mse"] = f"{last_eval['real']['mse_per_pixel']:.4f}"
    if quiet:
        progress_log.info(f"step {record['step']}: " + " ".join(f"{k}={v}" for k, v in fields.items()))
    else:
        progress.set_postfix(fields, refresh=False)
