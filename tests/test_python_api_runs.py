"""Runs started from Python (audit 22a): `fit(config, out, generator=G)` records G as given in Python with the sha256 of
its weights, and its resume takes the same G again (F1); such a G is probed as `load_generator` probes what it loads
(F4); `fit`, `train` and `train_mvae` leave the caller's global random streams and flush-denormal setting as they were
(F8)."""

import json
import random
import warnings

import numpy as np
import pytest
import torch
import zoo
from torch import nn

import ganinv
from ganinv.errors import RunError, SpecMismatchError
from ganinv.mvae.train import MVAEConfig, train_mvae
from ganinv.runs import flushes_denormals
from ganinv.spec import GeneratorSpec
from ganinv.train import TrainConfig, train

TINY = dict(batch_size=8, width=4, hidden=8, log_every=1, eval_every=2, checkpoint_every=1, eval_samples=16)


def tiny_fit(steps: int) -> ganinv.FitConfig:
    return ganinv.FitConfig(steps=steps, device="cpu", **TINY)  # generator: the default "builtin:mnist", unused


def own_generator() -> ganinv.Generator:
    """The user's own module, wrapped as the Python API allows: no source, no file."""
    torch.manual_seed(0)
    return ganinv.Generator(zoo.Linear16(), GeneratorSpec(nz=4, image_shape=(1, 16, 16)))


# ---- F1: the run records the generator it was fitted on ------------------------------------------------------
def test_a_run_fitted_on_a_python_generator_records_it_and_refuses_a_resume_without_it(tmp_path):
    out = tmp_path / "run"
    ganinv.fit(tiny_fit(2), out, generator=own_generator(), quiet=True)
    config = json.loads((out / "config.json").read_text())
    assert "builtin:mnist" not in json.dumps(config)  # config.generator was never used
    assert config["fit"]["generator"] == "(given in Python)" and config["generator"]["given_in_python"] is True
    assert len(config["inputs"]["generator_state"]) == 64
    with pytest.raises(RunError, match=r"given in Python \(generator=G\); pass the same generator again with gen"):
        ganinv.fit(tiny_fit(4), out, resume=True, quiet=True)  # builtin:mnist was loaded and resumed on


def test_a_python_generator_resumes_only_with_the_same_weights(tmp_path):
    generator = ganinv.load_generator("zoo:linear_generator")
    with torch.no_grad():  # changed after its load: the file's sha256 no longer says what it is
        generator.net.linear.weight.mul_(0.5)
    out = tmp_path / "run"
    ganinv.fit(tiny_fit(2), out, generator=generator, quiet=True)
    assert json.loads((out / "config.json").read_text())["fit"]["generator"] == "zoo:linear_generator (given in Python)"

    unchanged = ganinv.load_generator("zoo:linear_generator")  # the same file, the same source: other weights
    with pytest.raises(RunError, match=r"not the one .* fitted on: its weights \(sha256 \w{12} against \w{12}"):
        ganinv.fit(tiny_fit(4), out, resume=True, generator=unchanged, quiet=True)

    renamed = ganinv.Generator(generator.net, generator.spec, source="elsewhere", meta=generator.meta)
    result = ganinv.fit(tiny_fit(4), out, resume=True, generator=renamed, quiet=True)  # the weights decide
    assert json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])["step"] == 4
    assert result.inverter.generator is renamed


def test_a_python_generator_of_another_spec_is_refused_on_resume_naming_the_field(tmp_path):
    generator = own_generator()
    out = tmp_path / "run"
    ganinv.fit(tiny_fit(2), out, generator=generator, quiet=True)
    halved = GeneratorSpec(nz=4, image_shape=(1, 16, 16), native_prior_scale=0.5)  # other images, the same weights
    with pytest.raises(RunError, match=r"its spec: native_prior_scale \(the run's 1.0, given 0.5\)"):
        ganinv.fit(tiny_fit(4), out, resume=True, generator=ganinv.Generator(generator.net, halved), quiet=True)


# ---- F4: a generator given in Python is probed ----------------------------------------------------------------
class Noisy(nn.Module):
    """Noise drawn inside forward: not a function of its latents."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 256)

    def forward(self, z, c=None, d=None):
        x = torch.tanh(self.linear(z)) + 0.5 * torch.randn(z.shape[0], 256)
        return x.clamp(-1, 1).reshape(-1, 1, 16, 16)


class Sigmoid(nn.Module):
    """Images in [0, 1], under the default [-1, 1] spec."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 256)

    def forward(self, z, c=None, d=None):
        return torch.sigmoid(4 * self.linear(z)).reshape(-1, 1, 16, 16)


@pytest.mark.parametrize(
    "net, message", [(Noisy, "not a function of its latents"), (Sigmoid, r"never negative.*output-range 0,1")]
)
def test_fit_probes_a_generator_given_in_python(tmp_path, net, message):
    torch.manual_seed(0)
    generator = ganinv.Generator(net(), GeneratorSpec(nz=4, image_shape=(1, 16, 16)), source="mine")
    with pytest.raises(SpecMismatchError, match=rf"the generator given with generator= \(mine\): .*{message}"):
        ganinv.fit(tiny_fit(2), tmp_path / "run", generator=generator, quiet=True)
    assert not (tmp_path / "run" / "config.json").exists()  # refused before the run was started


def test_an_inverter_fitted_on_a_python_generator_probes_and_compares_one_given_to_load_it(tmp_path):
    """An outside audit (41a): Inverter.load(run, generator=G) took a G of other weights in silence (the run's sha256
    was not in the inverter's record) and a G whose spec lies without a probe."""
    generator = own_generator()
    ganinv.fit(tiny_fit(2), tmp_path / "run", generator=generator, quiet=True)
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        ganinv.Inverter.load(tmp_path / "run", generator=generator)
    assert not [w for w in said if "sha256" in str(w.message)]
    other = own_generator()
    with torch.no_grad():
        next(other.net.parameters()).mul_(1.5)
    with pytest.warns(
        UserWarning, match=r"the generator given in Python (now )?holds weights of sha256 \w+, but .* fit\(config"
    ):
        ganinv.Inverter.load(tmp_path / "run", generator=other)
    torch.manual_seed(0)
    lying = ganinv.Generator(Sigmoid(), GeneratorSpec(nz=4, image_shape=(1, 16, 16)), source="mine")
    with pytest.raises(SpecMismatchError, match=r"the generator given with generator= \(mine\): .*never negative"):
        ganinv.Inverter.load(tmp_path / "run", generator=lying)


# ---- F8: the caller's global state is left as it was ----------------------------------------------------------
def next_draws() -> tuple[float, float, float]:
    return torch.rand(1).item(), float(np.random.rand()), random.random()


def seed_all(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)


def fit_run(folder):
    generator = own_generator()  # seeds torch itself: made before the caller's streams are
    return lambda: ganinv.fit(tiny_fit(2), folder / "run", generator=generator, quiet=True)


def train_run(folder):
    images = (np.arange(24 * 64).reshape(24, 8, 8) * 7 % 256).astype(np.uint8)
    np.savez(folder / "images.npz", images=images, labels=np.arange(24) % 3)
    config = TrainConfig(
        data=str(folder / "images.npz"),
        **dict(nz=4, nc=1, n_classes=3, width=8, critic_width=8, critic_hidden=16, encoder_width=8, encoder_hidden=16),
        **dict(steps=2, batch_size=8, n_critic=1, log_every=1, eval_every=100, checkpoint_every=2, device="cpu"),
    )
    return lambda: train(config, folder / "run", quiet=True)


def mvae_run(folder):
    np.savez(folder / "images.npz", images=(np.arange(24 * 64).reshape(24, 8, 8) * 7 % 256).astype(np.uint8))
    config = MVAEConfig(
        data=str(folder / "images.npz"), s_dim=4, n_components=2, latent_dim=4, width=8, hidden=16, steps=2,
        batch_size=8, log_every=1, checkpoint_every=2, device="cpu",
    )  # fmt: skip
    return lambda: train_mvae(config, folder / "run", quiet=True)


@pytest.mark.parametrize("prepare", [fit_run, train_run, mvae_run])
def test_a_run_leaves_the_callers_random_streams_and_subnormals_as_they_were(tmp_path, prepare):
    run = prepare(tmp_path)
    torch.set_flush_denormal(False)
    seed_all(1234)
    expected = next_draws()
    seed_all(1234)
    run()  # seeds every global stream with the run's seed, and flushes subnormals while it runs
    assert (next_draws(), flushes_denormals()) == (expected, False)  # 1e-40 stays 1e-40 after it, as before it
