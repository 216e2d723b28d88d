"""Options are checked at the boundary, the same way through the Python API, a recipe and the command line,
before anything is created; a run whose loss stops being finite stops with one clear error and keeps its last
good checkpoint; `--resume` refuses a folder that holds another kind of run."""

import dataclasses
import json
import math
import sys
from functools import partial

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import ganinv.fit
import ganinv.mvae.train
import ganinv.train
from ganinv import architectures
from ganinv.augment import AugmentConfig
from ganinv.cli.main import cli
from ganinv.config_checks import click_type
from ganinv.dreaming import DreamingConfig
from ganinv.errors import ArchitectureError, ConfigError, DivergedError, RunError
from ganinv.fit import FitConfig, fit
from ganinv.generator import Generator
from ganinv.mvae.train import MVAEConfig, train_mvae
from ganinv.runs import Run
from ganinv.sources import save_generator
from ganinv.train import TrainConfig

NAN, INF = float("nan"), float("inf")


# ---- the Python API -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "cls,values,named",
    [
        (FitConfig, {"steps": 0}, "--steps (recipe key steps) must be an integer >= 1; got 0"),
        (FitConfig, {"steps": -5}, "--steps"),
        (FitConfig, {"steps": "64"}, "--steps"),
        (FitConfig, {"steps": 3.5}, "--steps"),
        (FitConfig, {"steps": True}, "--steps"),
        (FitConfig, {"steps": None}, "--steps"),
        (FitConfig, {"batch_size": 0}, "--batch-size (recipe key batch_size)"),
        (FitConfig, {"lr": NAN}, "--lr (recipe key lr) must be a finite number in (0, 3.4e+38]; got nan"),
        (FitConfig, {"lr": INF}, "--lr"),
        (FitConfig, {"lr": 0}, "--lr"),
        (FitConfig, {"lr": -1e-3}, "--lr"),
        (FitConfig, {"lr": [1e-3]}, "--lr"),
        (FitConfig, {"lr": "1e-3"}, "--lr"),
        (FitConfig, {"width": 0}, "--width"),
        (FitConfig, {"hidden": -1}, "--hidden"),
        (FitConfig, {"warmup_steps": -1}, "recipe key warmup_steps must be an integer >= 0"),
        (FitConfig, {"min_lr_ratio": 1.5}, "recipe key min_lr_ratio must be a finite number in [0, 1]"),
        (FitConfig, {"prior_scale": 0.0}, "--prior-scale"),
        (FitConfig, {"eval_every": 0}, "--eval-every"),
        (FitConfig, {"eval_samples": 0}, "recipe key eval_samples"),
        (FitConfig, {"eval_limit": 0}, "--eval-limit"),
        (FitConfig, {"log_every": 0}, "--log-every"),
        (FitConfig, {"checkpoint_every": 0}, "--checkpoint-every"),
        (FitConfig, {"keep_checkpoints": 0}, "recipe key keep_checkpoints"),
        (FitConfig, {"seed": -1}, "--seed"),
        (FitConfig, {"seed": 2**40}, "--seed"),
        (FitConfig, {"compile": "yes"}, "recipe key compile must be true or false"),
        (FitConfig, {"amp": 1}, "recipe key amp"),
        (FitConfig, {"generator": 3}, "recipe key generator must be a string"),
        (FitConfig, {"eval_real": 3}, "recipe key eval_real"),
        (FitConfig, {"options": ["nz=4"]}, "recipe key options must be a table"),
        (
            FitConfig,
            {"dreaming": {"sigma_x": -1}},
            "--sigma-x (recipe key [dreaming] sigma_x) must be a finite number in [0.0001, 1000]",
        ),
        (FitConfig, {"dreaming": {"beta": -0.5}}, "--beta (recipe key [dreaming] beta)"),
        (FitConfig, {"dreaming": {"lambda_mi": NAN}}, "--lambda-mi"),
        (FitConfig, {"dreaming": {"sigmax": 0.1}}, "unknown [dreaming] option(s) ['sigmax']"),
        (FitConfig, {"dreaming": 3}, "the [dreaming] options must be a table"),
        (FitConfig, {"augment": {"probability": 1.5}}, "--augment (recipe key [augment] probability)"),
        (FitConfig, {"augment": {"elastic_smooth": 1.5}}, "recipe key [augment] elastic_smooth must be an integer"),
        (FitConfig, {"augment": {"scale": 1.0}}, "recipe key [augment] scale must be a finite number in [0, 1)"),
        (DreamingConfig, {"tau_end": 0.0}, "recipe key [dreaming] tau_end"),
        (DreamingConfig, {"sigma_x": INF}, "--sigma-x"),
        (AugmentConfig, {"noise": -0.1}, "recipe key [augment] noise"),
        (AugmentConfig, {"thickness": 2.0}, "recipe key [augment] thickness"),
        (TrainConfig, {"steps": 0}, "--steps (recipe key steps)"),
        (TrainConfig, {"batch_size": 1}, "--batch-size (recipe key batch_size) must be an integer >= 2"),
        (TrainConfig, {"n_critic": 0}, "--n-critic"),
        (TrainConfig, {"n_critic": 999999999999}, "--n-critic (recipe key n_critic) must be an integer in [1, 1000]"),
        (TrainConfig, {"lr": NAN}, "--lr"),
        (TrainConfig, {"encoder_lr": 0.0}, "recipe key encoder_lr"),
        (TrainConfig, {"betas": [0.5]}, "recipe key betas must be a list of 2 finite numbers in [0, 1)"),
        (TrainConfig, {"betas": [0.5, 1.0]}, "recipe key betas"),
        (TrainConfig, {"betas": 0.9}, "recipe key betas"),
        (TrainConfig, {"gp_weight": -1.0}, "recipe key gp_weight"),
        (TrainConfig, {"nz": 0}, "recipe key nz"),
        (TrainConfig, {"nc": -1}, "recipe key nc"),
        (TrainConfig, {"eval_images": 0}, "recipe key eval_images"),
        (TrainConfig, {"checkpoint_every": 0}, "recipe key checkpoint_every"),
        (TrainConfig, {"data": ["a.npz"]}, "--data (recipe key data) must be a string"),
        (TrainConfig, {"dreaming": {"sigma_x": 0}}, "recipe key [dreaming] sigma_x"),
        (MVAEConfig, {"steps": 0}, "--steps (MVAEConfig.steps) must be an integer >= 1"),
        (MVAEConfig, {"batch_size": 1}, "--batch-size (MVAEConfig.batch_size)"),
        (MVAEConfig, {"lr": INF}, "--lr (MVAEConfig.lr)"),
        (MVAEConfig, {"n_components": 0}, "--components (MVAEConfig.n_components)"),
        (MVAEConfig, {"dropout": "gauss"}, "--dropout (MVAEConfig.dropout) must be one of gs, gau, bernoulli, none"),
        (MVAEConfig, {"split": "val"}, "--split"),
        (MVAEConfig, {"limit": 0}, "--limit"),
        (MVAEConfig, {"p_init": 1.0}, "MVAEConfig.p_init must be a finite number in (0, 1)"),
        (MVAEConfig, {"temperature": 0.0}, "MVAEConfig.temperature"),
        (MVAEConfig, {"beta": -1.0}, "--beta"),
        (MVAEConfig, {"per_component_p": "no"}, "MVAEConfig.per_component_p must be true or false"),
    ],
)
def test_the_python_api_refuses_bad_values(cls, values, named):
    with pytest.raises(ConfigError) as caught:
        cls(**values)
    assert named in str(caught.value)
    assert "must be" in str(caught.value) or "unknown" in str(caught.value)


def test_good_values_are_normalised():
    config = FitConfig(lr=1, dreaming={"beta": 2}, augment={"probability": 0})
    assert config.lr == 1.0 and isinstance(config.lr, float)
    assert config.dreaming == DreamingConfig(beta=2.0) and config.augment.probability == 0.0
    assert FitConfig.from_dict(config.to_dict()) == config  # a saved config.json reads back as it was
    train = TrainConfig(betas=[0.0, 0.99], dreaming={"beta": 2})
    assert train.betas == (0.0, 0.99) and train.dreaming.sigma_x == 0.3  # train's own [dreaming] default kept
    assert TrainConfig.from_dict(json.loads(json.dumps(train.to_dict()))) == train
    assert MVAEConfig(limit=None, split="test").limit is None


def test_click_types_carry_the_same_ranges():
    with pytest.raises(Exception, match="not a finite number"):
        click_type(FitConfig, "lr").convert("nan", None, None)
    with pytest.raises(Exception, match="x>=1"):
        click_type(FitConfig, "steps").convert("0", None, None)
    assert click_type(DreamingConfig, "sigma_x").convert("0.2", None, None) == 0.2
    assert click_type(MVAEConfig, "dropout").convert("gau", None, None) == "gau"


# ---- recipes and flags through the command line --------------------------------------------------------
def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def assert_refused(result, named: str, out) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and named in errors[0], result.stderr
    assert not out.exists()  # refused before anything was created


@pytest.mark.parametrize(
    "command,recipe,named",
    [
        ("fit", "steps = 0", "--steps (recipe key steps)"),
        ("fit", "steps = -5", "--steps"),
        ("fit", 'steps = "64"', "--steps"),
        ("fit", "steps = 3.5", "--steps"),
        ("fit", "steps = true", "--steps"),
        ("fit", "batch_size = 0", "--batch-size"),
        ("fit", "lr = nan", "--lr"),
        ("fit", "lr = inf", "--lr"),
        ("fit", "lr = [0.1]", "--lr"),
        ("fit", "log_every = 0", "--log-every"),
        ("fit", "checkpoint_every = 0", "--checkpoint-every"),
        ("fit", "eval_limit = 0", "--eval-limit"),
        ("fit", "seed = -1", "--seed"),
        ("fit", "dreaming = 3", "[dreaming]"),
        ("fit", "[dreaming]\nsigma_x = -1", "--sigma-x (recipe key [dreaming] sigma_x)"),
        ("fit", "[dreaming]\nbeta = -inf", "--beta"),
        ("fit", "[augment]\nprobability = 2", "--augment (recipe key [augment] probability)"),
        ("fit", "[augment]\nnoize = 0.1", "unknown [augment] option(s) ['noize']"),
        ("train", "batch_size = 0", "--batch-size (recipe key batch_size)"),
        ("train", "n_critic = 0", "--n-critic"),
        ("train", 'lr = "fast"', "--lr"),
        ("train", "betas = [0.5]", "recipe key betas"),
        ("train", "log_every = 0", "recipe key log_every"),
        ("train", "[dreaming]\nsigma_x = 0", "recipe key [dreaming] sigma_x"),
    ],
)
def test_recipes_are_checked_like_flags(tmp_path, command, recipe, named):
    path = tmp_path / "recipe.toml"
    path.write_text(recipe + "\n")
    out = tmp_path / "run"
    assert_refused(invoke(command, "--recipe", path, "--out", out), named, out)


@pytest.mark.parametrize(
    "command,recipe,flags,named",
    [
        ("fit", 'steps = "ten"', ("--steps", 20), "--steps (recipe key steps)"),
        ("fit", "[dreaming]\nsigma_x = -1", ("--sigma-x", 0.3), "recipe key [dreaming] sigma_x"),
        ("train", "batch_size = 0", ("--batch-size", 8), "--batch-size (recipe key batch_size)"),
    ],
)
def test_a_recipe_value_a_flag_replaces_is_still_checked(tmp_path, command, recipe, flags, named):
    """Audit 10b: `steps = "ten"` in a recipe run with `--steps 20` went unchecked: the recipe still holds the error."""
    path = tmp_path / "recipe.toml"
    path.write_text(recipe + "\n")
    out = tmp_path / "run"
    assert_refused(invoke(command, "--recipe", path, *flags, "--out", out), named, out)


@pytest.mark.parametrize(
    "args,named",
    [
        (("fit", "--steps", 0), "'--steps'"),
        (("fit", "--steps", -5), "'--steps'"),
        (("fit", "--steps", 3.5), "'--steps'"),
        (("fit", "--batch-size", 0), "'--batch-size'"),
        (("fit", "--lr", "nan"), "'--lr'"),
        (("fit", "--lr", "inf"), "'--lr'"),
        (("fit", "--lr", 0), "'--lr'"),
        (("fit", "--lr", "1e300"), "'--lr'"),  # past float32: an internal error, a run folder left (an outside audit)
        (("fit", "--sigma-x", -1), "'--sigma-x'"),
        (("fit", "--beta", -1), "'--beta'"),
        (("fit", "--lambda-z", "nan"), "'--lambda-z'"),
        (("fit", "--prior-scale", 0), "'--prior-scale'"),
        (("fit", "--augment", 1.5), "'--augment'"),
        (("fit", "--width", 0), "'--width'"),
        (("fit", "--checkpoint-every", 0), "'--checkpoint-every'"),
        (("fit", "--log-every", 0), "'--log-every'"),
        (("fit", "--eval-every", 0), "'--eval-every'"),
        (("fit", "--eval-limit", 0), "'--eval-limit'"),
        (("fit", "--seed", -1), "--seed"),
        (("train", "--steps", 0), "'--steps'"),
        (("train", "--batch-size", 0), "'--batch-size'"),
        (("train", "--batch-size", 1), "'--batch-size'"),
        (("train", "--n-critic", 0), "'--n-critic'"),
        (("train", "--lr", "nan"), "'--lr'"),
        (("train", "--lr", "-inf"), "'--lr'"),
        (("train", "--lr", "1e39"), "'--lr'"),
        (("mvae", "fit", "--data", "x.npz", "--steps", 0), "'--steps'"),
        (("mvae", "fit", "--data", "x.npz", "--lr", "nan"), "'--lr'"),
        (("mvae", "fit", "--data", "x.npz", "--lr", "1e300"), "'--lr'"),
        (("mvae", "fit", "--data", "x.npz", "--beta", "inf"), "'--beta'"),
        (("mvae", "fit", "--data", "x.npz", "--lambda-s", -1), "'--lambda-s'"),
        (("mvae", "fit", "--data", "x.npz", "--batch-size", 1), "'--batch-size'"),
        (("mvae", "fit", "--data", "x.npz", "--components", 0), "'--components'"),
    ],
)
def test_flags_are_refused_before_anything_is_created(tmp_path, args, named):
    out = tmp_path / "run"
    assert_refused(invoke(*args, "--out", out), named, out)


# ---- divergence --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def generator_dir(tmp_path_factory):
    """A seeded 16x16 generator with z, c and d, in ganinv's own layout."""
    folder = tmp_path_factory.mktemp("gen") / "tiny"
    torch.manual_seed(0)
    built, options = architectures.build_generator_net(
        "ssavl", {"nz": 4, "nc": 1, "n_classes": 3, "resolution": 16, "width": 8}
    )
    save_generator(
        Generator(
            built.net,
            built.spec,
            source=str(folder),
            meta={"architecture": "ssavl", "options": architectures.options_to_dict(options)},
        ),
        folder,
    )
    return folder


def tiny_fit(generator_dir, **changes) -> FitConfig:
    values = dict(
        generator=str(generator_dir),
        steps=8,
        batch_size=8,
        width=4,
        hidden=16,
        log_every=2,
        eval_every=4,
        checkpoint_every=4,
        eval_samples=16,
        device="cpu",
    )
    return FitConfig(**{**values, **changes})


def poison_after(module, name: str, calls: int, monkeypatch) -> None:
    """Make `module.name` (a loss function) return a NaN total from its `calls`-th call on."""
    original, count = getattr(module, name), [0]

    def poisoned(*args, **kwargs):
        count[0] += 1
        terms = original(*args, **kwargs)
        return dataclasses.replace(terms, total=terms.total * NAN) if count[0] >= calls else terms

    monkeypatch.setattr(module, name, poisoned)


def test_a_diverging_fit_stops_and_keeps_its_last_good_checkpoint(tmp_path, generator_dir, monkeypatch):
    poison_after(sys.modules["ganinv.fit"], "dreaming_loss", 6, monkeypatch)
    run = tmp_path / "run"
    with pytest.raises(DivergedError) as caught:
        fit(tiny_fit(generator_dir), run, quiet=True)
    message = str(caught.value)
    assert "the loss became NaN by step 6 (total)" in message and "step-000004" in message and "--lr" in message
    assert [p.name for p in Run(run).checkpoints()] == ["step-000004.pt"]
    weights = Run(run).load_checkpoint()["inverter"]
    assert all(bool(torch.isfinite(w).all()) for w in weights.values())
    assert not (run / "inverter").exists() and not (run / "eval.json").exists()
    assert all(
        math.isfinite(r["total"])
        for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines())
        if "total" in r
    )  # the NaN record is not written


def test_a_diverging_fit_on_the_command_line(tmp_path, generator_dir):
    run = tmp_path / "run"
    result = invoke(
        "fit",
        "--generator",
        generator_dir,
        "--lr",
        1e9,
        "--steps",
        4,
        "--log-every",
        2,
        "--checkpoint-every",
        4,
        "--width",
        4,
        "--hidden",
        16,
        "--batch-size",
        8,
        "--device",
        "cpu",
        "--quiet",
        "--out",
        run,
    )
    assert result.exit_code == 2 and "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "the loss became" in errors[0] and "by step 2" in errors[0]
    assert "before any checkpoint" in errors[0] and "lower --lr (now 1e+09)" in errors[0]
    assert not (run / "inverter").exists() and Run(run).checkpoints() == []
    result = invoke(
        "fit",
        "--generator",
        generator_dir,
        "--lr",
        1e-3,
        "--steps",
        2,
        "--log-every",
        2,
        "--width",
        4,
        "--hidden",
        16,
        "--batch-size",
        8,
        "--device",
        "cpu",
        "--quiet",
        "--out",
        run,
    )
    assert result.exit_code == 0, result.output  # as the error says, the same --out takes the retry
    assert (run / "inverter").is_dir()


@pytest.fixture
def tiny_images(tmp_path):
    """24 labelled 8x8 images: bright squares in three corners."""
    images = np.zeros((24, 8, 8), dtype=np.uint8)
    labels = np.arange(24) % 3
    for i, label in enumerate(labels):
        row, col = [(0, 0), (4, 4), (0, 4)][label]
        images[i, row : row + 4, col : col + 4] = 220
    path = tmp_path / "tiny.npz"
    np.savez(path, images=images, labels=labels)
    return path


def tiny_train(data, **changes) -> TrainConfig:
    values = dict(
        data=str(data),
        nz=4,
        nc=1,
        n_classes=3,
        width=8,
        critic_width=8,
        critic_hidden=16,
        encoder_width=8,
        encoder_hidden=16,
        steps=6,
        batch_size=8,
        n_critic=1,
        log_every=2,
        eval_every=100,
        checkpoint_every=2,
        device="cpu",
    )
    return TrainConfig(**{**values, **changes})


def test_a_diverging_train_stops_and_keeps_its_last_good_checkpoint(tmp_path, tiny_images, monkeypatch):
    poison_after(ganinv.train, "dreaming_step", 3, monkeypatch)
    run = tmp_path / "run"
    with pytest.raises(DivergedError) as caught:
        ganinv.train.train(tiny_train(tiny_images), run, quiet=True)
    assert "became NaN by step 4 (" in str(caught.value) and "dream_total" in str(caught.value)
    assert "step-000002" in str(caught.value)
    assert [p.name for p in Run(run).checkpoints()] == ["step-000002.pt"]
    assert not (run / "generator").exists() and not (run / "inverter").exists()


def test_a_diverging_mvae_writes_no_model(tmp_path, tiny_images, monkeypatch):
    poison_after(ganinv.mvae.train, "mvae_loss", 2, monkeypatch)
    run = tmp_path / "run"
    config = MVAEConfig(
        data=str(tiny_images),
        n_components=2,
        latent_dim=2,
        s_dim=4,
        width=4,
        hidden=8,
        steps=4,
        batch_size=4,
        log_every=2,
        device="cpu",
    )
    with pytest.raises(DivergedError, match="became NaN by step 2 .total."):
        train_mvae(config, run, quiet=True)
    assert not (run / "mvae").exists() and not (run / "eval.json").exists()


def test_an_mvae_whose_concentrations_turn_nan_stops_as_diverged(tmp_path):
    """A learning rate of 1e12 makes the Dirichlet concentrations NaN at step 2: the divergence check says so (it was
    an internal error, the Dirichlet refusing its NaN argument; an option fuzzer)."""
    images = tmp_path / "digits.npy"
    np.save(images, np.random.default_rng(0).integers(0, 256, (16, 28, 28), dtype=np.uint8))
    run = tmp_path / "run"
    config = MVAEConfig(
        data=str(images), n_components=2, latent_dim=2, width=4, hidden=8, steps=2, batch_size=4, lr=1e12, device="cpu"
    )
    with pytest.raises(DivergedError, match="became NaN by step 2 .* lower --lr"):
        train_mvae(config, run, quiet=True)
    assert not (run / "mvae").exists()


@pytest.mark.parametrize("trainer", ["fit", "mvae", "mvae_atop"])
def test_weights_too_large_for_finite_outputs_stop_as_diverged(tmp_path, generator_dir, trainer):
    """An option fuzzer: after one step at `--lr 1e20` the weights are finite but the outputs overflow. `fit` then
    gave the generator NaN latents in its evaluation (an internal error), an MVAE atop a generator likewise, and a
    standalone MVAE saved a checkpoint of them and failed on a NaN figure. Each now stops as diverged, saving
    nothing, and the same folder takes a new start."""
    run = tmp_path / "run"
    if trainer == "fit":
        start = partial(fit, tiny_fit(generator_dir, steps=1, lr=1e20), run, quiet=True)
        said = "the encoders' outputs became NaN or infinite by step 1"
    else:
        images = tmp_path / "digits.npy"
        np.save(images, np.random.default_rng(0).integers(0, 256, (16, 28, 28), dtype=np.uint8))
        source = dict(data=str(images), s_dim=4) if trainer == "mvae" else dict(generator=str(generator_dir))
        config = MVAEConfig(
            **source, n_components=2, latent_dim=2, width=4, hidden=8, steps=1, batch_size=4, lr=1e20, device="cpu"
        )
        start = partial(train_mvae, config, run, quiet=True)
        said = "the reconstructions became NaN or infinite by step 1"
    with pytest.raises(DivergedError, match=f"{said}, before any checkpoint.* lower --lr"):
        start()
    assert not Run(run).checkpoints() and not (run / "eval.json").exists()


def test_train_refuses_images_that_are_not_finite(tmp_path):
    images = np.zeros((8, 1, 8, 8), dtype=np.float32)
    images[3, 0, 2, 2] = np.nan
    path = tmp_path / "nan.npz"
    np.savez(path, images=images)
    out = tmp_path / "run"
    result = invoke("train", "--data", path, "--steps", 2, "--out", out, "--quiet")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "NaN" in result.stderr and not (out / "generator").exists() and not (out / "config.json").exists()


# ---- resuming a folder of another kind -------------------------------------------------------------------------
def test_resume_refuses_a_folder_of_another_kind(tmp_path, generator_dir, tiny_images):
    fit_run, train_run = tmp_path / "fit", tmp_path / "train"
    fit(tiny_fit(generator_dir, checkpoint_every=2), fit_run, quiet=True)
    ganinv.train.train(tiny_train(tiny_images, steps=2), train_run, quiet=True)

    result = invoke("fit", "--resume", "--out", train_run)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "holds a `ganinv train` run, not a `ganinv fit` run; resume it with `ganinv train --resume" in result.stderr
    result = invoke("train", "--resume", "--out", fit_run)
    assert result.exit_code == 2 and "holds a `ganinv fit` run, not a `ganinv train` run" in result.stderr
    with pytest.raises(RunError, match="holds a `ganinv train` run"):
        fit(tiny_fit(generator_dir), train_run, resume=True, quiet=True)
    config = json.loads((fit_run / "config.json").read_text())  # audit 21b: the entry there but not a table was
    (fit_run / "config.json").write_text(json.dumps({**config, "fit": [1, 2]}))  # "a fit run, not a fit run"
    result = invoke("fit", "--resume", "--out", fit_run)
    assert result.exit_code == 2 and "its 'fit' entry is a JSON list, not a table of options" in result.stderr

    mvae_run = tmp_path / "mvae"  # an MVAE run is resumed by `ganinv mvae fit` only
    (mvae_run / "checkpoints").mkdir(parents=True)
    (mvae_run / "config.json").write_text(json.dumps({"mvae": MVAEConfig().to_dict(), "generator": None}))
    (mvae_run / "checkpoints" / "step-000002.pt").write_bytes(b"")
    result = invoke("fit", "--resume", "--out", mvae_run)
    assert result.exit_code == 2 and "holds a `ganinv mvae fit` run" in result.stderr
    assert "resume it with `ganinv mvae fit --resume --out" in result.stderr


def test_the_runs_generator_spelled_another_way_is_the_same_generator(tmp_path, monkeypatch):
    from ganinv.config_checks import same_generator

    monkeypatch.chdir(tmp_path)
    (tmp_path / "gen.pth").write_bytes(b"weights")
    (tmp_path / "other.pth").write_bytes(b"weights")  # equal bytes, another file: the run's sha256 decides that
    assert same_generator("./gen.pth", "gen.pth") and same_generator(str(tmp_path / "gen.pth"), "gen.pth")
    assert same_generator("./gen.pth#netG", "gen.pth#netG")
    assert not same_generator("gen.pth#netG_ema", "gen.pth#netG") and not same_generator("gen.pth#netG", "gen.pth")
    assert not same_generator("other.pth", "gen.pth") and not same_generator("gone.pth", "gone.pth/")
    assert not same_generator("hub:a/b", "hub:a/c") and same_generator("hub:a/b", "hub:a/b@c0ffee", ("hub:a/b",))
    assert not same_generator("mod:make", "mod:other") and not same_generator("gen.pth", None)
    (tmp_path / "lr#1").mkdir()  # a '#' in the path, and an entry (a review, 50a: refused on resume as another)
    (tmp_path / "lr#1" / "ck.pth").write_bytes(b"weights")
    assert same_generator("./lr#1/ck.pth#netG", "lr#1/ck.pth#netG")


def test_a_path_given_again_on_resume_under_another_spelling_is_no_change(tmp_path, monkeypatch):
    """Audit 20a: `--root data/mnist/` against a run saved with `data/mnist` was refused as a change on resume."""
    from ganinv.config_checks import changed_on_resume

    monkeypatch.chdir(tmp_path)
    (tmp_path / "data" / "mnist").mkdir(parents=True)
    (tmp_path / "other").mkdir()
    saved = {"eval_root": "data/mnist"}
    for spelling in ("data/mnist/", "./data/mnist", str(tmp_path / "data" / "mnist")):
        assert changed_on_resume({"root": (("eval_root",), spelling)}, saved, {"root": "--root"}) == []
    changed = changed_on_resume({"root": (("eval_root",), "other")}, saved, {"root": "--root"})
    assert changed == ["""--root (the run's: "data/mnist")"""]


@pytest.mark.parametrize("flag", ["--width", "--hidden"])
def test_a_network_size_beyond_any_use_is_refused_before_anything_is_built(tmp_path, generator_dir, flag):
    """Audit 21b: `--width 1000000000` (or the same in a run's config.json on --resume) was torch's allocator error
    for 64 GB, an internal error, with the run's config.json left behind."""
    out = tmp_path / "run"
    result = invoke("fit", "-g", generator_dir, "--steps", 1, flag, 10**9, "--out", out, "--quiet")
    assert result.exit_code == 2 and f"Invalid value for '{flag}'" in result.stderr and "Traceback" not in result.output
    assert not out.exists()
    with pytest.raises(ConfigError, match=f"{flag}.*1000000000"):
        fit(tiny_fit(generator_dir, **{flag.strip("-"): 10**9}), out, quiet=True)


def test_an_architecture_options_bool_word_is_read_as_written_or_refused():
    """A review: any word but true/1/yes/on had been False in silence (`--option condition_first=ture`)."""
    options = architectures.get("dcgan").make_options({"condition_first": "Yes", "bias": "off"})
    assert (options.condition_first, options.bias) == (True, False)
    with pytest.raises(ArchitectureError, match=r"option condition_first='ture' is not true or false"):
        architectures.get("dcgan").make_options({"condition_first": "ture"})


@pytest.mark.parametrize("trainer", ["fit", "train", "mvae"])
def test_an_update_that_overflows_float32_stops_as_diverged(tmp_path, generator_dir, tiny_images, trainer):
    """A review: a learning rate inside its bound (3e38) overflowed Adam's first step, lr / (1 - beta1), in torch's
    own update: an internal error, exit 1, a run folder left. It stops as diverged, and the same --out starts again."""
    run = tmp_path / "run"
    if trainer == "fit":  # without the warm-up, which would scale the first step's rate down
        start = partial(fit, tiny_fit(generator_dir, steps=2, lr=3e38, warmup_steps=0), run, quiet=True)
    elif trainer == "train":
        start = partial(ganinv.train.train, tiny_train(tiny_images, lr=3e38), run, quiet=True)
    else:
        config = MVAEConfig(
            data=str(tiny_images), n_components=2, latent_dim=2, s_dim=4, width=4, hidden=8, steps=2, batch_size=4,
            lr=3.4e38, device="cpu",
        )  # fmt: skip
        start = partial(train_mvae, config, run, quiet=True)
    with pytest.raises(DivergedError, match=r"an update overflowed float32 at step 1, before any checkpoint.*--lr"):
        start()
    assert not Run(run).checkpoints()


def test_an_overflow_in_the_generators_own_code_is_not_called_a_learning_rate_one(tmp_path):
    """A review: overflow_stops caught every "overflow" error of the step, the user's generator's too, and advised a
    lower --lr, which cannot help; only the optimiser's are divergence."""
    from ganinv.divergence import overflow_stops

    run = Run(tmp_path / "run")
    with pytest.raises(RuntimeError, match="overflow"):
        with overflow_stops(1, run, "a lower --lr"):
            raise RuntimeError("value cannot be converted to type float without overflow")  # as a generator's code
