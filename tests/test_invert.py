"""`ganinv invert`, hybrid refinement and the evaluation metrics (issue 6)."""

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from safetensors.torch import load_file
from torch import nn

from ganinv.cli.main import cli
from ganinv.evaluation import latent_recovery, mean_image_baseline, reconstruction_metrics
from ganinv.generator import Generator
from ganinv.inverter import Inverter, Posterior
from ganinv.invert import invert, refine, zero_latents
from ganinv.spec import GeneratorSpec, Latents


class Linear16(nn.Module):
    """A seeded linear generator z (4) -> 1x16x16, squashed by tanh."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 256)

    def forward(self, z, c=None, d=None):
        return torch.tanh(self.linear(z)).reshape(-1, 1, 16, 16)


def make_generator():
    """Also a `module:callable` source, so a saved inverter can load its generator back."""
    torch.manual_seed(0)
    return Generator(Linear16(), GeneratorSpec(nz=4, image_shape=(1, 16, 16)), source="test_invert:make_generator")


@pytest.fixture
def generator():
    return make_generator()


def test_reconstruction_metrics_by_hand():
    x = -torch.ones(2, 1, 2, 2)  # black
    x_hat = x.clone()
    x_hat[0] = 1.0  # white: error 1 per pixel on [0, 1]
    metrics = reconstruction_metrics(x, x_hat)
    assert metrics["mse_per_pixel"] == pytest.approx(0.5)  # images with MSE 1 and 0
    assert metrics["sse_per_image"] == pytest.approx(2.0)  # 4 pixels of error 1, and 0
    baseline = mean_image_baseline(torch.stack([-torch.ones(1, 2, 2), torch.ones(1, 2, 2)]))
    assert baseline["mse_per_pixel"] == pytest.approx(0.25) and baseline["psnr"] == pytest.approx(6.0206, rel=1e-4)


def test_latent_recovery_per_dimension():
    torch.manual_seed(0)
    z = torch.randn(4000, 3)
    mu = torch.stack([z[:, 0], 0.5 * z[:, 1], torch.zeros(4000)], dim=1)  # exact, half, nothing
    out = latent_recovery(Latents(z=z), Posterior(mu, torch.zeros_like(mu)))
    assert out["z_variance_recovered_per_dim"] == pytest.approx([1.0, 0.75, 0.0], abs=0.02)
    assert out["z_mse"] == pytest.approx((0 + 0.25 + 1) / 3, abs=0.02)


def test_refine_finds_the_latent_and_is_independent_of_the_batch(generator):
    true, images = generator.sample(6, generator=torch.Generator().manual_seed(1))
    start = zero_latents(generator, 6)
    refined = refine(generator, images, start, steps=300, lr=0.05)
    with torch.no_grad():
        assert reconstruction_metrics(images, generator.decode(refined))["mse_per_pixel"] < 1e-4
    assert torch.allclose(refined.z, true.z, atol=0.05)
    # one image's answer does not depend on which other images share its batch
    alone = refine(generator, images[:2], start[:2], steps=30, lr=0.05)
    together = refine(generator, images, start, steps=30, lr=0.05)
    assert torch.allclose(alone.z, together.z[:2], atol=1e-5)


def test_invert_reports_encoder_and_refined_errors(generator):
    inverter = Inverter.for_generator(generator, width=8, hidden=32)  # untrained: a poor start
    _, images = generator.sample(8, generator=torch.Generator().manual_seed(2))
    result = invert(inverter, images, refine_steps=100)
    metrics = result.metrics
    assert metrics["refined"]["mse_per_pixel"] < 0.2 * metrics["encoder"]["mse_per_pixel"]
    assert result.latents.z.shape == (8, 4) and result.reconstructions.shape == images.shape
    assert not torch.equal(result.encoder_reconstructions, result.reconstructions)
    from_zero = invert(inverter, images, refine_steps=100, start="zero").metrics["refined"]
    assert from_zero["start"] == "zero" and from_zero["mse_per_pixel"] < metrics["encoder"]["mse_per_pixel"]


def test_cli_invert_writes_latents_reconstructions_grid_and_metrics(tmp_path, generator):
    Inverter.for_generator(generator, width=8, hidden=32).save_pretrained(tmp_path / "inverter")
    images = np.random.default_rng(0).integers(0, 256, size=(5, 20, 20), dtype=np.uint8)  # the wrong size
    np.savez(tmp_path / "images.npz", images=images, labels=np.arange(5))
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["invert", "--inverter", str(tmp_path / "inverter"), str(tmp_path / "images.npz"),
                                      "--out", str(out), "--refine", "3", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "warning: images converted to the generator's shape" in result.stderr
    latents = load_file(str(out / "latents.safetensors"))
    assert latents["z"].shape == (5, 4)
    recon = load_file(str(out / "reconstructions.safetensors"))
    assert recon["images"].shape == (5, 1, 16, 16) and recon["labels"].tolist() == [0, 1, 2, 3, 4]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n"] == 5 and metrics["refined"]["steps"] == 3 and "mean_image_baseline" in metrics
    assert json.loads(result.stdout)["refined"] == metrics["refined"]
    assert (out / "grid.png").stat().st_size > 0


@pytest.mark.parametrize("args,message", [
    (["--inverter", "{tmp}/nothing", "mnist", "--root", "{tmp}"], "Error: cannot load inverter"),
    (["--inverter", "{tmp}", "mnist", "--root", "{tmp}"], "holds no inverter"),
])
def test_cli_invert_errors_are_one_line(tmp_path, args, message):
    result = CliRunner().invoke(cli, ["invert", *[a.format(tmp=tmp_path) for a in args], "--out", str(tmp_path / "o")])
    assert result.exit_code != 0 and message in result.output and "Traceback" not in result.output
