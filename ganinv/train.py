"""`ganinv train`: the full SS-AVL with data, SS-AVL Algorithm 1 (docs/algorithms.md §6).

Each step: `n_critic` WGAN-GP critic steps on real batches, one generator step, the
mutual-information step on `G` and `q_omega`, and the dreaming step on both encoders with
`G` frozen (the steps are in ganinv.wake). Around it, the run folder of ganinv.runs:
`config.json`, numbered checkpoints for `--resume`, `metrics.jsonl`, sample grids per
code value in `samples/`, and at the end the generator artifact (`generator/`, loadable by
every command as `--generator RUN/generator`), the inverter artifact (`inverter/`, with
the generator inside) and `eval.json` with the unsupervised test accuracy of `q(d|x)`.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import torch
from tqdm import tqdm

from ganinv import architectures
from ganinv.config_checks import (
    MAX_HIDDEN,
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
from ganinv.critic import Critic
from ganinv.data import DATASET_DIRS, ImageSet, load_images
from ganinv.divergence import check_losses, check_parameters, overflow_stops
from ganinv.dreaming import DreamingConfig, temperature_at
from ganinv.errors import ConfigError, DataError, RunError
from ganinv.generator import Generator
from ganinv.images import save_grid
from ganinv.inverter import Inverter
from ganinv.probes import cluster_accuracy
from ganinv.runs import (
    Run,
    check_resume_step,
    checkpoint_mismatch,
    global_state_kept,
    rng_state,
    seed_everything,
    set_rng_state,
    tensor_sha256,
)
from ganinv.sources import save_generator
from ganinv.status import Pace
from ganinv.wake import CodeModel, critic_step, dreaming_step, generator_step, mi_step

progress_log = logging.getLogger("ganinv.progress")  # quiet runs: a line per log step, not a bar


@dataclass
class TrainConfig:
    # data: mnist, fashion-mnist (with root), an image folder or a tensor file (ganinv.data.load_images)
    data: str = checked("mnist", flag="--data")
    root: Optional[str] = None  # folder with the original IDX files of mnist / fashion-mnist
    # the stored pixel range (LO, HI) of data; None: decided from the files' type and values, said when a guess
    input_range: Optional[tuple[float, float]] = checked(None, flag="--input-range")
    # generator G(z, c, d) (adapters/ssavl.py); image channels and resolution come from the data
    nz: int = checked(62, min=1)  # noise size
    nc: int = checked(2, min=0)  # continuous codes
    n_classes: int = checked(10, min=0)  # K, categories of the categorical code
    width: int = checked(64, min=1, max=MAX_WIDTH)  # generator width
    # a fully connected layer before G's first map (InfoGAN: 1024); 0 none
    generator_hidden: int = checked(0, min=0, max=MAX_HIDDEN)
    # scale of z inside G (the prior stays N(0, I)); ClusterGAN's 0.1 gives the categorical code most of the first
    # map's variance early, a lever on codes that split by style (recipe key only; adapters/ssavl.py)
    generator_noise_std: float = checked(1.0, min=0, min_open=True)
    critic_width: int = checked(64, min=1, max=MAX_WIDTH)  # critic trunk width (ganinv.critic)
    critic_hidden: int = checked(512, min=1, max=MAX_HIDDEN)  # critic features before the score
    encoder_width: int = checked(64, min=1, max=MAX_WIDTH)  # q_xi(z|x) and q_omega(d,c|x) (ganinv.encoders)
    encoder_hidden: int = checked(512, min=1, max=MAX_HIDDEN)  # encoder features before the heads
    # optimisation (docs/algorithms.md §6)
    # generator steps; each has n_critic critic steps, an MI step and a dreaming step
    steps: int = checked(20000, flag="--steps", min=1)
    batch_size: int = checked(64, flag="--batch-size", min=2)  # >= 2: G has BatchNorm
    # critic steps per generator step; at most 1000 (WGAN's 100 for its first steps is the most a recipe asks): a
    # huge value ran its first generator step for ever, before any pace could be announced (an option fuzzer)
    n_critic: int = checked(5, flag="--n-critic", min=1, max=1000)
    gp_weight: float = checked(10.0, min=0)  # lambda of the gradient penalty (SS-AVL Eq. 5)
    lr: float = checked(1e-4, flag="--lr", min=0, max=MAX_LR, min_open=True)  # Adam, generator and critic
    betas: tuple[float, float] = checked((0.5, 0.9), min=0, max=1, max_open=True)  # Adam betas, every optimiser
    encoder_lr: float = checked(1e-4, min=0, max=MAX_LR, min_open=True)  # Adam, encoders (MI and dreaming steps)
    # Adam for G alone (its adversarial and MI steps), 0: lr. InfoGAN trains G at 5x its discriminator's rate (1e-3
    # against 2e-4): the categorical code's learning rate, one of the levers on codes that merge (recipe key only)
    generator_lr: float = checked(0.0, min=0, max=MAX_LR)
    lambda_d: float = checked(1.0, min=0)  # MI step weight of -log q(d~|x') (SS-AVL Eq. 24)
    lambda_c: float = checked(0.1, min=0)  # MI step weight of -log q(c~|x') (InfoGAN's weight for continuous codes)
    # the MI step takes q(c|x) with unit variance: -log q(c~|x') becomes half the squared error, a pull on G that does
    # not fade as q widens its variance (a lever on codes that split d by style; recipe key only)
    fixed_code_variance: bool = False
    # the MI step's q: False, the inverter's own code encoder (SS-AVL); True, InfoGAN's Q, heads on the critic's
    # trunk, whose features the critic shapes on real images (the dreaming step still fits the shipped encoders)
    q_on_critic: bool = False
    # docs/algorithms.md §2; sigma_x 0.3, about the reachable RMS error on MNIST: with 0.1 the reconstruction
    # term can drive q(d|x) to one class before G uses d (recipes/builtin-mnist.toml)
    dreaming: DreamingConfig = field(default_factory=lambda: DreamingConfig(sigma_x=0.3))
    # bookkeeping
    log_every: int = checked(50, min=1)  # steps between metrics.jsonl records (the only host syncs of the loop)
    eval_every: int = checked(500, min=1)  # steps between sample grids and cluster accuracy
    eval_images: int = checked(2000, min=1)  # real test images for the cluster accuracy while training (all at the end)
    checkpoint_every: int = checked(250, min=1)  # steps between checkpoints
    keep_checkpoints: int = checked(3, min=1)  # numbered checkpoints kept
    seed: int = checked(0, flag="--seed", min=0, max=MAX_SEED)
    device: Optional[str] = None  # default: cuda when available

    def __post_init__(self) -> None:
        check_config(self)
        check_input_range(self, "input_range")
        if self.n_classes == 1:  # one category is no code: the spec refused it as an internal error (an outside audit)
            raise ConfigError("n_classes = 1 is a categorical code of one value; give 0 (no code) or 2 or more")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "TrainConfig":
        """From a recipe or a run's config.json: TrainConfig fields, `dreaming` a table of DreamingConfig fields."""
        return cls(**known_options(cls, values, "train"))  # betas become a tuple, [dreaming] a DreamingConfig


@dataclass
class Models:
    generator: Generator  # trainable=True: the wake phase's G
    critic: Critic
    inverter: Inverter  # q_xi(z|x) and q_omega(d,c|x)
    generator_optimizer: torch.optim.Optimizer
    critic_optimizer: torch.optim.Optimizer
    inverter_optimizer: torch.optim.Optimizer

    def state_dict(self) -> dict[str, Any]:
        return {
            name: getattr(self, name).state_dict()
            for name in (
                "generator",
                "critic",
                "inverter",
                "generator_optimizer",
                "critic_optimizer",
                "inverter_optimizer",
            )
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            getattr(self, name).load_state_dict(value)


def build_models(config: TrainConfig, image_shape: tuple[int, int, int], source: str, device: torch.device) -> Models:
    """G (architecture `ssavl`), the critic and the encoders, with their Adam optimisers."""
    channels, height, width = image_shape
    if height != width:
        raise DataError(f"training images must be square, got {height}x{width}; resize them first")
    options = {
        "nz": config.nz,
        "nc": config.nc,
        "n_classes": config.n_classes,
        "channels": channels,
        "resolution": height,
        "width": config.width,
        "hidden": config.generator_hidden,
        "noise_std": config.generator_noise_std,
    }
    built, opts = architectures.build_generator_net("ssavl", options)
    meta = {"architecture": "ssavl", "options": architectures.options_to_dict(opts)}
    generator = Generator(built.net, built.spec, source=source, meta=meta, trainable=True).to(device)
    heads = (config.n_classes, config.nc) if config.q_on_critic else (0, 0)
    critic = Critic(image_shape, config.critic_width, config.critic_hidden, *heads).to(device)
    inverter = Inverter.for_generator(
        generator, width=config.encoder_width, hidden=config.encoder_hidden, sigma_x=config.dreaming.sigma_x
    ).to(device)

    def adam(module: torch.nn.Module, lr: float) -> torch.optim.Optimizer:
        return torch.optim.Adam(module.parameters(), lr=lr, betas=config.betas)

    return Models(
        generator,
        critic,
        inverter,
        adam(generator, config.generator_lr or config.lr),
        adam(critic, config.lr),
        adam(inverter, config.encoder_lr),
    )


def load_training_data(config: TrainConfig) -> tuple[ImageSet, Optional[ImageSet]]:
    """Training images, and labelled real images for the cluster accuracy (the test split where there is one)."""
    if config.data in DATASET_DIRS:
        return (
            load_images(config.data, root=config.root, split="train", input_range=config.input_range),
            load_images(config.data, root=config.root, split="test", input_range=config.input_range),
        )
    images = load_images(config.data, root=config.root, input_range=config.input_range)
    if len(images) < config.batch_size:
        warnings.warn(
            f"{config.data} holds {len(images)} images, fewer than a batch ({config.batch_size}): every batch repeats "
            "them; give more images or a smaller --batch-size",
            UserWarning,
            stacklevel=2,
        )
    if images.labels is None:
        return images, None
    classes = len(set(images.labels.tolist()))
    if classes < 2:
        warnings.warn(
            f"{config.data} holds one class: no cluster accuracy is measured (it would match one label)",
            UserWarning,
            stacklevel=2,
        )
        return images, None
    warnings.warn(
        f"{config.data} has no test split: the cluster accuracy is measured on these training images "
        "themselves, not on held-out ones (a dataset such as mnist with --root has one)"
        + (
            f"; its labels hold {classes} classes, more than n_classes = {config.n_classes}"
            if config.n_classes and classes > config.n_classes
            else ""
        ),
        UserWarning,
        stacklevel=2,
    )
    return images, images


# ---- evaluation ----------------------------------------------------------------------------------
@torch.no_grad()
def code_accuracy(inverter: Inverter, images: ImageSet, batch_size: int = 500) -> float:
    """Unsupervised classification accuracy of `argmax q(d|x)` with the best one-to-one assignment (SS-AVL Table 1)."""
    code_encoder, labels = inverter.code_encoder, images.labels
    assert code_encoder is not None and labels is not None, "a generator with classes, labelled images"
    predicted = [
        code_encoder(images.images[i : i + batch_size].to(inverter.device))[0].argmax(dim=1).cpu()
        for i in range(0, len(images), batch_size)
    ]
    return cluster_accuracy(torch.cat(predicted).numpy(), labels.numpy())


@torch.no_grad()
def save_code_grids(generator: Generator, folder: Path, tag: str, seed: int, columns: int = 10) -> list[Path]:
    """Sample grids per code value, as in SS-AVL's figures: each row one value of `d`.

    `{tag}-d.png`: the columns are different `(z, c)`, the same in every row;
    `{tag}-c{j}.png`: the columns sweep `c_j` from -2 to 2 (other codes 0), one `z` per row.
    """
    spec, device = generator.spec, generator.device
    rows = max(spec.n_classes, 1)
    rng = torch.Generator().manual_seed(seed)  # the same latents at every evaluation
    d = torch.eye(rows)[torch.arange(rows).repeat_interleave(columns)] if spec.n_classes else None  # (R*C, K)
    z = torch.randn(columns, spec.nz, generator=rng).repeat(rows, 1)  # (R*C, nz)
    c = torch.randn(columns, spec.nc, generator=rng).repeat(rows, 1) if spec.nc else None  # (R*C, nc)
    grids = {f"{tag}-d.png": (z, c, d)}
    z_per_row = torch.randn(rows, spec.nz, generator=rng).repeat_interleave(columns, dim=0)
    for j in range(spec.nc):
        sweep = torch.zeros(rows * columns, spec.nc)
        sweep[:, j] = torch.linspace(-2, 2, columns).repeat(rows)
        grids[f"{tag}-c{j + 1}.png"] = (z_per_row, sweep, d)
    was_training = generator.training
    generator.eval()
    for name, parts in grids.items():
        z_, c_, d_ = (None if t is None else t.to(device) for t in parts)
        save_grid(generator(z_, c_, d_), folder / name, nrow=columns)
    generator.train(was_training)
    return [folder / name for name in grids]


# ---- the loop -------------------------------------------------------------------------------------
@dataclass
class TrainResult:
    run_dir: Path
    evaluation: dict[str, Any]


def train(config: TrainConfig, out: str | Path, *, resume: bool = False, quiet: bool = False) -> TrainResult:
    """Run (or resume) SS-AVL Algorithm 1 into the run folder `out`; the caller's global random streams and
    flush-denormal setting are as they were when it returns."""
    config_of_type(config, TrainConfig, "train")
    run = Run(out, config.keep_checkpoints)
    try:
        with global_state_kept():  # seed_everything reseeds and flushes subnormals: for the run only
            return _train(config, run, resume, quiet)
    finally:
        run.release()  # the folder's lock, taken when the run was created or reopened


def _train(config: TrainConfig, run: Run, resume: bool, quiet: bool) -> TrainResult:
    from ganinv.devices import resolve_device

    device = resolve_device(config.device)
    if resume:
        saved = saved_options(run, "train")  # refuses a folder that holds another kind of run
        refuse_changed_config(run.folder, saved, config.to_dict())
        run.check_resume_steps(config.steps)
    else:
        run.check_new()
    if resume:
        run.refuse_unrecorded(["data"])  # before the folder its config.json names is read
    train_set, eval_set = load_training_data(config)
    if not bool(torch.isfinite(train_set.images).all()):  # would turn every weight into NaN
        raise DataError(f"the training images {config.data} hold NaN or infinite pixels; repair or drop them")
    real = train_set.images.to(device)  # (N, C, H, W) in [-1, 1]
    seed_everything(config.seed)
    channels, height, width = real.shape[1:]
    models = build_models(config, (channels, height, width), source=str(run.folder / "generator"), device=device)
    generator, inverter = models.generator, models.inverter
    inputs = {"data": tensor_sha256(train_set.images)}  # what the run trains on, fingerprinted
    if resume:
        run.check_same_inputs(inputs)
    else:
        run.create(
            {
                "train": config.to_dict(),
                "generator": {**generator.meta, "spec": generator.spec.to_dict()},
                "inputs": inputs,
            }
        )
    sampler = torch.Generator(device=device).manual_seed(config.seed + 1)  # real batches

    start_step = 0
    if resume:
        state = run.load_checkpoint()  # on the CPU: RNG states must stay there; the rest is copied over
        try:
            models.load_state_dict(state["models"])
        except (KeyError, ValueError, RuntimeError) as exc:
            raise RunError(checkpoint_mismatch(run, exc)) from None
        set_rng_state(state["rng"], sampler)
        start_step = int(state["step"])
        check_resume_step(run, start_step, config.steps)
        run.truncate_metrics(start_step)
        run.record_steps("train", config.steps, "Gumbel temperature schedule")

    def evaluate(step: int, limit: Optional[int]) -> dict[str, Any]:
        record: dict[str, Any] = {"step": step}
        if eval_set is not None and eval_set.labels is not None and generator.spec.n_classes:
            inverter.eval()
            record["cluster_accuracy"] = code_accuracy(inverter, eval_set.subset(limit))
            record["eval_images"] = len(eval_set.subset(limit))
            inverter.train()
        save_code_grids(generator, run.folder / "samples", f"step-{step:06d}", config.seed)
        return record

    # the MI step's q (Eq. 24): InfoGAN's Q on the critic's trunk, or the inverter's own code encoder
    q: Optional[CodeModel] = models.critic.codes if config.q_on_critic else inverter.code_encoder
    q_optimizer = models.critic_optimizer if config.q_on_critic else models.inverter_optimizer
    change = f"a lower --lr (now {config.lr:g}) or recipe key encoder_lr (now {config.encoder_lr:g})"
    progress = tqdm(
        total=config.steps, initial=start_step, disable=quiet, file=sys.stderr, dynamic_ncols=True, desc="train"
    )
    running: dict[str, torch.Tensor] = {}  # sums of the losses since the last log
    clock = time.perf_counter()
    pace = Pace(start_step + 1, config.steps, device.type, checkpoint_every=config.checkpoint_every)
    last_record = start_step
    for step in range(start_step + 1, config.steps + 1):
        stats: dict[str, torch.Tensor] = {}
        with overflow_stops(step, run, change):  # an update past float32 stops as diverged (a review)
            for _ in range(config.n_critic):  # Algorithm 1 line 9, SS-AVL Eq. 22 + gradient penalty; the last is logged
                batch = real[torch.randint(len(real), (config.batch_size,), generator=sampler, device=device)]
                stats = critic_step(models.critic, generator, batch, models.critic_optimizer, config.gp_weight)
            stats.update(generator_step(models.critic, generator, config.batch_size, models.generator_optimizer))
            if generator.spec.has_codes and q is not None:  # line 12, Eq. 24
                stats.update(
                    mi_step(
                        generator,
                        q,
                        config.batch_size,
                        models.generator_optimizer,
                        q_optimizer,
                        config.lambda_d,
                        config.lambda_c,
                        config.fixed_code_variance,
                    )
                )
            temperature = temperature_at(step - 1, config.steps, config.dreaming)
            dream = dreaming_step(
                generator, inverter, config.batch_size, temperature, config.dreaming, models.inverter_optimizer
            )  # line 13, Eqs. 25 and 26
        stats.update({f"dream_{name}": value for name, value in dream.as_dict().items()})
        if long_run := pace.warning_after(step):
            warnings.warn(long_run, UserWarning, stacklevel=2)
        for name, value in stats.items():
            running[name] = running.get(name, 0.0) + value

        if step % config.log_every == 0 or step == config.steps:
            count, last_record = step - last_record, step  # the steps summed since the last record (a resume: since it)
            means = {name: round(float(total) / count, 5) for name, total in running.items()}  # one host sync
            running.clear()
            check_losses(means, step, run, change)
            rate = count / (time.perf_counter() - clock)
            clock = time.perf_counter()
            record = {"step": step, **means, "temperature": round(temperature, 4), "steps_per_s": round(rate, 3)}
            run.log_metrics(record)
            _report(progress, quiet, record)
        evaluating = step % config.eval_every == 0 and step < config.steps
        checkpointing = step % config.checkpoint_every == 0 or step == config.steps
        if evaluating or checkpointing:  # never evaluate or save non-finite weights
            check_parameters([generator, models.critic, inverter], step, run, change)
        if evaluating:
            record = evaluate(step, config.eval_images)
            run.log_metrics(record)
            if "cluster_accuracy" in record:
                line = (
                    f"step {step}: cluster accuracy {record['cluster_accuracy']:.4f} "
                    f"on {record['eval_images']} real images"
                )
                if quiet:
                    progress_log.info(line)
                else:
                    progress.write(line, file=sys.stderr)
        if checkpointing:
            run.save_checkpoint(step, {"step": step, "models": models.state_dict(), "rng": rng_state(sampler)})
        progress.update(1)
    progress.close()

    evaluation = evaluate(config.steps, None)
    generator.eval()
    inverter.eval()
    save_generator(generator, run.folder / "generator")
    inverter.save_pretrained(run.folder / "inverter", include_generator=True)
    run.save_json("eval.json", evaluation)
    run.log_metrics(evaluation)
    return TrainResult(run.folder, evaluation)


def _report(progress: tqdm, quiet: bool, record: dict[str, Any]) -> None:
    fields = {
        "W": f"{record['wasserstein']:.3f}",
        "gp": f"{record['gp']:.3f}",
        "mi": f"{record.get('mi_loss', 0.0):.3f}",
        "dream": f"{record['dream_total']:.4g}",
        "steps/s": f"{record['steps_per_s']:.2f}",
    }
    if quiet:
        progress_log.info(f"step {record['step']}: " + " ".join(f"{k}={v}" for k, v in fields.items()))
    else:
        progress.set_postfix(fields, refresh=False)
