"""`ganinv mvae fit`: train an MVAE (docs/algorithms.md §5; MVAE Algorithm 1), atop a generator or standalone.

- Atop a generator (`generator` set): MixDec is the frozen `G`, `s` a vector of its flat latent
  `(z, c, d)`; trained data-free on `x' = G(u~)`, `u~` from the priors, exactly as docs/algorithms.md §5,
  with the optional **beyond** term `lambda_s * ||s - u~||^2` (the true latent of a dream is known).
- Standalone (`data` set): a convolutional MixDec of its own, trained on real images.

Every `checkpoint_every` steps the run folder (ganinv.runs) gets a checkpoint with the model (the
dropout rates included), the optimizer and every random stream (the global torch stream behind
the reparameterisation, Dirichlet and mask noise, the latent sampler, the order of real images),
so `resume=True` continues a killed run to the same weights bit for bit on CPU.

After the loop: component selection (step 7, from a stream of its own, so it depends only on the
weights), reconstruction error of real test images (and of held-out generated ones atop a
generator), a picture of what each component reconstructs alone, and the model saved with
`save_pretrained` in `<run>/mvae`, written only then.
"""

from __future__ import annotations

import dataclasses
import sys
import warnings
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Optional

import torch
from torch import Tensor
from tqdm import tqdm

from ganinv import losses
from ganinv.atomic import write_json
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
from ganinv.data import DATASET_DIRS, fit_to_shape, load_images
from ganinv.divergence import check_losses, check_outputs, check_parameters, overflow_stops
from ganinv.errors import GaninvError, RunError
from ganinv.evaluation import held_out_samples, mean_image_baseline, reconstruction_metrics
from ganinv.images import save_side_by_side
from ganinv.mvae.dropout import KINDS
from ganinv.mvae.losses import dhsic, dirichlet_kl, reconstruction_loss
from ganinv.mvae.model import MAX_COMPONENTS, MVAE, MixtureSample
from ganinv.polarity import warn_if_inverted
from ganinv.runs import (
    Run,
    check_resume_step,
    global_state_kept,
    rng_state,
    seed_everything,
    set_rng_state,
    tensor_sha256,
)
from ganinv.sources import load_generator, options_to_record
from ganinv.status import Pace

EVAL_SEED_OFFSET = 1_000_003  # held-out generated samples and selection draws come from streams of their own


@dataclass
class MVAEConfig:
    # what it learns from: exactly one of `generator` and `data`
    generator: Optional[str] = None  # a ganinv generator source: MixDec = the frozen G, trained on x' ~ G
    arch: Optional[str] = None  # architecture for generator weights that do not name one
    options: dict[str, Any] = field(default_factory=dict)  # architecture options of the generator
    trust_remote_code: bool = False  # allow full pickles for the generator (can run code)
    data: Optional[str] = None  # standalone: mnist, fashion-mnist, an image folder or file
    root: Optional[str] = None  # dataset folder for `data` and `eval_real` (nothing is downloaded)
    # the stored pixel range (LO, HI) of `data` and `eval_real`; None: decided from the files, said when a guess
    input_range: Optional[tuple[float, float]] = checked(None, flag="--input-range")
    split: str = checked("train", flag="--split", choices=("train", "test"))  # split of `data`
    limit: Optional[int] = checked(None, flag="--limit", min=1)  # use the first N images of `data`
    # the mixture (ganinv.mvae.model)
    n_components: int = checked(
        6, flag="--components", min=1, max=MAX_COMPONENTS
    )  # K before selection (Table VI: 4, 6)
    latent_dim: int = checked(16, flag="--latent-dim", min=1)  # size of each component's z_i
    # size of s for the standalone MixDec (atop a generator: its latent size)
    s_dim: int = checked(32, flag="--s-dim", min=1)
    # channels of each encoder's first convolution (and of the standalone MixDec)
    width: int = checked(32, flag="--width", min=1, max=MAX_WIDTH)
    hidden: int = checked(256, flag="--hidden", min=1, max=MAX_HIDDEN)  # encoder features before the heads
    dropout: str = checked("gs", flag="--dropout", choices=KINDS)  # component dropout (ganinv.mvae.dropout)
    per_component_p: bool = False  # one dropout rate p_i per component (beyond) instead of one tied p
    p_init: float = checked(0.1, min=0, max=1, min_open=True, max_open=True)  # initial dropout rate
    temperature: float = checked(0.1, min=0, min_open=True)  # T of the Gumbel-softmax masks (MVAE Sec. III-D)
    # the loss (docs/algorithms.md §5, step 6)
    beta: float = checked(1.0, flag="--beta", min=0)  # weight of dHSIC(z_1..z_K) (MVAE Sec. V)
    lambda_s: float = checked(0.0, flag="--lambda-s", min=0)  # atop a generator: weight of ||s - u~||^2 (beyond)
    # optimisation
    steps: int = checked(3000, flag="--steps", min=1)  # Adam steps
    batch_size: int = checked(64, flag="--batch-size", min=2)  # >= 2: dHSIC compares images of a batch
    lr: float = checked(1e-3, flag="--lr", min=0, max=MAX_LR, min_open=True)
    # evaluation
    eval_real: Optional[str] = None  # real images to reconstruct at the end; default: `data`'s test split
    eval_limit: int = checked(1000, flag="--eval-limit", min=1)  # first N of them
    eval_samples: int = checked(1000, min=1)  # held-out generated samples (atop a generator)
    log_every: int = checked(50, min=1)  # steps between metrics.jsonl records
    checkpoint_every: int = checked(500, flag="--checkpoint-every", min=1)  # steps between checkpoints
    keep_checkpoints: int = checked(3, min=1)  # numbered checkpoints kept
    seed: int = checked(0, flag="--seed", min=0, max=MAX_SEED)
    device: Optional[str] = None  # default: cuda when available

    def __post_init__(self) -> None:
        check_config(self, recipe=False)
        check_input_range(self, "input_range", recipe=False)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "MVAEConfig":
        """From a run's config.json (its "mvae" table); unknown keys refused."""
        return cls(**known_options(cls, values, "mvae"))


@dataclass
class MVAELosses:
    total: Tensor  # what gets backpropagated
    rec: Tensor  # 0.5 * sum over pixels (x_hat - x)^2 (Eq. 29)
    kl_z: Tensor  # (1/K) sum_i KL(q(z_i|x) || N(0, I))
    kl_w: Tensor  # KL(Dir(a) || Dir(1)) (Eq. 28)
    dhsic: Tensor  # dHSIC(z_1..z_K) (Eq. 15)
    dropout: Tensor  # -H(p) for gs, the KL of Eq. 19 for gau
    latent: Tensor  # ||s - u~||^2 atop a generator (beyond); 0 otherwise


def mvae_loss(
    model: MVAE, x: Tensor, sample: MixtureSample, config: MVAEConfig, true_latent: Optional[Tensor] = None
) -> MVAELosses:
    """docs/algorithms.md §5, step 6 (MVAE Eqs. 18, 24); `true_latent` (B, S) is u~ of a dreamed batch, for lambda_s."""
    posterior = sample.posterior
    rec = reconstruction_loss(x, sample.x_hat)
    kl_z = torch.stack(
        [losses.kl_normal_to_standard(posterior.mu[:, i], posterior.logvar[:, i]) for i in range(model.n_components)]
    ).mean()
    kl_w = dirichlet_kl(posterior.a)
    independence = dhsic(list(sample.z.unbind(dim=1)))
    dropout = model.dropout.penalty().to(x.device)
    latent = x.new_zeros(())
    if true_latent is not None and config.lambda_s:
        latent = (sample.s - true_latent).square().sum(dim=1).mean()
    total = rec + kl_z + kl_w + config.beta * independence + dropout + config.lambda_s * latent
    return MVAELosses(total, rec, kl_z, kl_w, independence, dropout, latent)


@dataclass
class MVAEResult:
    run_dir: Path
    model: MVAE
    summary: dict[str, Any]  # eval.json: selection and reconstruction errors


def train_mvae(
    config: MVAEConfig,
    out: str | Path,
    quiet: bool = False,
    resume: bool = False,
    generator_origin: Optional[str] = None,
    options_origin: Optional[str] = None,
) -> MVAEResult:
    """Train an MVAE as `config` says into the new run folder `out` (config.json, checkpoints/, metrics.jsonl,
    eval.json, components.png, mvae/), or with `resume` continue the run there from its last checkpoint
    (a finished run is evaluated again).

    `generator_origin` names the file `config.generator` was read from (a resumed run's config.json) when
    the user did not type it: a source that is code is then refused unless `config.trust_remote_code`
    is the user's own flag (ganinv.trust). `options_origin` names the file `config.options` came from,
    for the same rule on a `model_class` among them. The caller's global random streams and flush-denormal setting
    are as they were when it returns.
    """
    config_of_type(config, MVAEConfig, "train_mvae")
    if (config.generator is None) == (config.data is None):
        raise GaninvError("give exactly one of a generator (MVAE atop it, data-free) and data (standalone MVAE)")
    run = Run(out, config.keep_checkpoints)
    try:
        with global_state_kept():  # seed_everything reseeds and flushes subnormals: for the run only
            return _train_mvae(config, run, quiet, resume, (generator_origin, options_origin))
    finally:
        run.release()  # the folder's lock, taken when the run was created or reopened


def _train_mvae(
    config: MVAEConfig,
    run: Run,
    quiet: bool,
    resume: bool,
    origins: tuple[Optional[str], Optional[str]],  # (generator_origin, options_origin) of `train_mvae`
) -> MVAEResult:
    from ganinv.devices import resolve_device

    generator_origin, options_origin = origins
    asked = config.to_dict()
    asked["options"] = options_to_record(asked["options"])  # a spec file as its fields: a record names no file to read
    if resume:
        saved = saved_options(run, "mvae")  # refuses a folder that holds another kind of run, or none
        refuse_changed_config(run.folder, saved, asked)
        run.check_resume_steps(config.steps)
    else:
        run.check_new()
    device = resolve_device(config.device)  # refuses a device this machine lacks
    seed_everything(config.seed)
    model_options: dict[str, Any] = dict(
        n_components=config.n_components,
        latent_dim=config.latent_dim,
        width=config.width,
        hidden=config.hidden,
        dropout=config.dropout,
        per_component_p=config.per_component_p,
        p_init=config.p_init,
        temperature=config.temperature,
    )
    generator, images = None, None
    if config.generator is not None:
        generator = load_generator(
            config.generator,
            arch=config.arch,
            options=config.options,
            device=device,
            trust_remote_code=config.trust_remote_code,
            origin=generator_origin,
            options_origin=options_origin,
        )
        generator.require_gradients("fitting an MVAE atop a generator")
        model = MVAE.for_generator(generator, arch=config.arch, options=config.options, **model_options).to(device)
    else:
        assert config.data is not None, "a generator or data, checked above"
        if resume:
            run.refuse_unrecorded(["data"])  # before the folder its config.json names is read
        images = load_images(
            config.data, root=config.root, split=config.split, limit=config.limit, input_range=config.input_range
        ).images
        model = MVAE(image_shape=list(images.shape[1:]), s_dim=config.s_dim, **model_options).to(device)
    # read before any step: a wrong --eval-real or a --root without the test files failed after the last one, and
    # the finished run could then be neither started again nor resumed with the missing flag (an outside audit)
    real = evaluation_images(config, model, images)
    inputs: dict[str, Optional[str]] = {}  # what the run trains on, fingerprinted
    if generator is not None:
        inputs["generator"] = generator.meta.get("weights_sha256")
    if images is not None:
        inputs["data"] = tensor_sha256(images)
    described = (
        None
        if generator is None
        else {"source": generator.source, "meta": generator.meta, "spec": generator.spec.to_dict()}
    )
    if resume:
        run.check_same_inputs(inputs, described)
    else:
        saved = {k: v for k, v in asked.items() if k != "trust_remote_code"}  # trust is never saved
        run.create(
            {
                "mvae": saved,
                "generator": described,
                "inputs": inputs,
            }
        )
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    sampler = torch.Generator(device=device).manual_seed(config.seed + 1)  # dreamed latents
    indices = torch.Generator().manual_seed(config.seed + 1)  # batches of real images

    start_step = 0
    if resume:
        start_step = restore_checkpoint(run, model, optimizer, sampler, indices, config.seed, device)
        check_resume_step(run, start_step, config.steps)
        run.truncate_metrics(start_step)
        run.record_steps("mvae", config.steps)  # no schedule follows the total: the weights are those of one run

    names = [f.name for f in dataclasses.fields(MVAELosses)]
    running = torch.zeros(len(names), device=device)
    change = f"a lower --lr (now {config.lr:g})"
    progress = tqdm(
        total=config.steps,
        initial=min(start_step, config.steps),
        disable=quiet,
        file=sys.stderr,
        dynamic_ncols=True,
        desc="mvae",
    )
    pace = Pace(start_step + 1, config.steps, device.type, checkpoint_every=config.checkpoint_every)
    last_record = start_step
    for step in range(start_step + 1, config.steps + 1):
        model.train()
        true_latent = None
        if generator is not None:
            latents = generator.sample_latents(config.batch_size, generator=sampler)
            with torch.no_grad():
                x = generator.decode(latents)  # (B, C, H, W): x' ~ G
            true_latent = latents.flat()  # (B, nz + nc + K)
        else:
            assert images is not None, "loaded when there is no generator"
            x = images[torch.randint(len(images), (config.batch_size,), generator=indices)].to(device)
        terms = mvae_loss(model, x, model(x), config, true_latent)
        optimizer.zero_grad(set_to_none=True)
        terms.total.backward()
        with overflow_stops(step, run, change):
            optimizer.step()
        running += torch.stack([getattr(terms, n).detach().float() for n in names])
        if long_run := pace.warning_after(step):
            warnings.warn(long_run, UserWarning, stacklevel=2)
        if step % config.log_every == 0 or step == config.steps:
            count, last_record = step - last_record, step  # the steps summed since the last record (a resume: since it)
            means = dict(zip(names, (running / count).tolist()))  # one host sync per log interval
            running.zero_()
            check_losses(means, step, run, change)
            record = {"step": step, **means, "p": model.dropout.p().tolist() if config.dropout != "none" else []}
            run.log_metrics(record)
            progress.set_postfix(loss=f"{record['total']:.1f}", rec=f"{record['rec']:.1f}")
        if step % config.checkpoint_every == 0 or step == config.steps:
            check_parameters([model], step, run, change)  # never save non-finite weights
            reconstructions = partial(model.reconstruct, x[:64], input_range="model")  # of this batch's images
            check_outputs(model, lambda: [reconstructions()], "the reconstructions", step, run, change)  # noqa: B023
            run.save_checkpoint(
                step,
                {
                    "step": step,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "rng": rng_state(sampler),
                    "indices": indices.get_state(),
                    "device_type": device.type,
                },
            )
        progress.update(1)
    progress.close()
    check_parameters([model], config.steps, run, change)  # never save non-finite weights

    model.eval()
    summary: dict[str, Any] = {"run": str(run.folder), **select_components(model, config.seed)}
    if real is not None:
        summary["real"] = evaluate(model, real)
        save_components(model, real[:8], run.folder / "components.png")
    if generator is not None:
        _, dreams = held_out_samples(generator, config.eval_samples, config.seed + EVAL_SEED_OFFSET)
        summary["generated"] = evaluate(model, dreams)
        if real is None:
            save_components(model, dreams[:8], run.folder / "components.png")
    write_json(run.folder / "eval.json", summary)
    model.save_pretrained(run.folder / "mvae")
    return MVAEResult(run.folder, model, summary)


def restore_checkpoint(
    run: Run,
    model: MVAE,
    optimizer: torch.optim.Optimizer,
    sampler: torch.Generator,
    indices: torch.Generator,
    seed: int,
    device: torch.device,
) -> int:
    """Load the run's last checkpoint into the model, the optimizer and the random streams; returns its step."""
    path = run.latest_checkpoint()
    state = run.load_checkpoint(path)  # on the CPU: RNG states must stay there; the rest is copied over
    assert path is not None, "load_checkpoint refuses a run without one"
    try:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step = int(state["step"])
        indices.set_state(state["indices"])
        if state["device_type"] == device.type:
            set_rng_state(state["rng"], sampler)
        else:  # a CUDA generator's state does not fit a CPU one: the run goes on, but not bit for bit
            warnings.warn(
                f"the checkpoint {path.name} was written on {state['device_type']} and the run continues "
                f"on {device.type}, so it will not match an uninterrupted run bit for bit; resume with "
                f"--device {state['device_type']} for that",
                stacklevel=2,
            )
            torch.set_rng_state(state["rng"]["torch"])
            sampler.manual_seed(seed + 1 + step)
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise RunError(
            f"the checkpoint {path} does not fit this MVAE run ({str(exc).splitlines()[0]}); delete it "
            "to resume from the one before, or start a new run"
        ) from None
    return step


def select_components(model: MVAE, seed: int) -> dict[str, Any]:
    """Component selection (docs/algorithms.md §5, step 7) from a stream of its own, `seed + 2`, so that it depends
    only on the weights and the run's seed: `ganinv mvae eval` with the same `--seed` repeats the fit's choice."""
    stream = torch.Generator(device=model.device).manual_seed(seed + 2)
    return {"dropout": model.dropout.kind, "initial_k": model.n_components, **model.select_components(generator=stream)}


def evaluation_images(config: MVAEConfig, model: MVAE, training: Optional[Tensor] = None) -> Optional[Tensor]:
    """The real test images to reconstruct, in the model's image shape: `eval_real`, else `data`'s test split.

    `training`: the images a standalone model trained on, reused (not read again, with its notes a second time)
    where `data` has no test split."""
    source = config.eval_real if config.eval_real is not None else config.data  # "" is refused by the reader (53c)
    if source is None:
        return None
    trained_on_test = training is not None and config.split == "test"  # standalone, on the split it is scored on
    if config.eval_real is None and (source not in DATASET_DIRS or trained_on_test):
        why = "it trained on the test split" if trained_on_test else f"{source} has no test split"
        warnings.warn(  # the test split trained on was scored as held out, unwarned (an outside audit)
            f"{why}: the real.* figures are measured on the training images themselves; give --eval-real with "
            "held-out images (or a dataset such as mnist with --root) for a test figure",
            UserWarning,
            stacklevel=2,
        )
        if training is not None:
            return training[: config.eval_limit]
    # at the model's size: a folder's images of it are never resized (an outside audit: 0.61 off, up and back down)
    read = load_images(
        source,
        root=config.root,
        split="test",
        limit=config.eval_limit,
        size=model.image_shape[1:],
        input_range=config.input_range,
    )
    images, warning = fit_to_shape(read.images, model.image_shape)
    if warning:
        warnings.warn(warning, stacklevel=2)
    return images


@torch.no_grad()
def reconstruct_all(model: MVAE, images: Tensor, component: Optional[int] = None, batch_size: int = 256) -> Tensor:
    """`model.reconstruct` in batches on the model's device, (N, C, H, W) on the CPU."""
    return torch.cat(
        [
            model.reconstruct(images[i : i + batch_size], component, input_range="model").cpu()
            for i in range(0, images.shape[0], batch_size)
        ]
    )


def evaluate(model: MVAE, images: Tensor, batch_size: int = 256) -> dict[str, Any]:
    """Reconstruction error of the mixture (kept components, mean weights), beside the mean-image baseline;
    `sse_per_image` on the [0, 1] scale is the unit of MVAE Table VI."""
    reconstructions = reconstruct_all(model, images, batch_size=batch_size)  # loads the generator, saying its notes
    warn_if_inverted(model, images)
    return {
        "n": images.shape[0],
        **reconstruction_metrics(images, reconstructions),
        "mean_image_baseline": mean_image_baseline(images),
    }


def save_components(model: MVAE, images: Tensor, path: Path) -> None:
    """One row per image: the original, the mixture's reconstruction, then each component alone (b = e_i)."""
    columns = [images, reconstruct_all(model, images)]
    columns += [reconstruct_all(model, images, component=i) for i in range(model.n_components)]
    save_side_by_side(columns, path, groups_per_row=1)
