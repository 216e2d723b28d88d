"""The iterative encoder: refinement passes that see the target beside the current reconstruction."""

import torch
import zoo

from ganinv.dreaming import DreamingConfig, dreaming_loss
from ganinv.inverter import Inverter
from ganinv.iterative import RefinementEncoder, refine_passes


def test_a_fresh_refiner_is_the_identity():
    refiner = RefinementEncoder((1, 16, 16), nz=4, width=4, hidden=16)
    x, w = torch.randn(3, 1, 16, 16), torch.randn(3, 4)
    passes = refine_passes(refiner, lambda v: torch.zeros(3, 1, 16, 16), x, w, iterations=2)
    assert len(passes) == 2 and all(torch.equal(mu, w) for mu, _ in passes)
    assert all(torch.equal(logvar, torch.zeros(3, 4)) for _, logvar in passes)


def test_encode_runs_the_trained_number_of_passes_and_zero_needs_no_generator():
    g = zoo.linear_generator()
    inverter = Inverter.for_generator(g, width=4, hidden=16, iterations=3)
    x = g.sample(5, generator=torch.Generator().manual_seed(1))[1]
    with torch.no_grad():
        post = inverter.encode(x)
        single = inverter.encode(x, iterations=0)
    assert len(post.passes) == 4 and len(single.passes) == 1
    assert torch.equal(single.mu_z, post.passes[0][0]) and torch.equal(post.mu_z, post.passes[-1][0])
    inverter.__dict__["_generator"] = None  # detached from its generator: the single pass still works
    inverter.generator_ref = {}
    assert inverter.encode(x, iterations=0).mu_z.shape == (5, 4)


def test_refinement_passes_learn_to_correct_the_single_pass():
    """With the single pass left untrained (a poor first answer), training the refiner alone on dreams makes
    each pass reconstruct better than the one before."""
    g = zoo.linear_generator()
    torch.manual_seed(0)
    inverter = Inverter.for_generator(g, width=8, hidden=32, iterations=2)
    optimizer = torch.optim.Adam(inverter.refiner.parameters(), lr=3e-3)
    config = DreamingConfig(sigma_x=0.1)
    sampler = torch.Generator().manual_seed(0)
    for _ in range(150):
        latents = g.sample_latents(32, generator=sampler)
        with torch.no_grad():
            images = g.decode(latents)
        losses = dreaming_loss(g, inverter, latents, images, 1.0, config)
        optimizer.zero_grad()
        losses.total.backward()
        optimizer.step()
    assert torch.isfinite(losses.refine) and losses.refine != 0  # the term is there
    latents = g.sample_latents(256, generator=torch.Generator().manual_seed(9))
    x = g.decode(latents).detach()
    with torch.no_grad():
        post = inverter.encode(x)
        errors = [(g(mu) - x).square().flatten(1).sum(1).mean().item() for mu, _ in post.passes]
    assert errors[2] < errors[1] < 0.5 * errors[0], errors


def test_the_iterations_are_saved_with_the_artifact(tmp_path):
    g = zoo.linear_generator()
    inverter = Inverter.for_generator(g, width=4, hidden=16, iterations=2, sigma_x=0.2)
    inverter.save_pretrained(tmp_path / "a", include_generator=False)
    loaded = Inverter.load(str(tmp_path / "a"), generator=g)
    assert loaded.iterations == 2 and loaded.sigma_x == 0.2 and loaded.refiner is not None
    x = g.sample(3, generator=torch.Generator().manual_seed(2))[1]
    with torch.no_grad():
        torch.testing.assert_close(loaded.encode(x).mu_z, inverter.eval().encode(x).mu_z)


def test_invert_refuses_passes_a_single_pass_inverter_cannot_make(tmp_path):
    """An outside audit asked a single-pass inverter for 5 passes and got one, recorded as `iterations: 0`."""
    from click.testing import CliRunner
    from safetensors.torch import save_file

    from ganinv.cli.main import cli

    Inverter.for_generator(zoo.linear_generator(), width=4, hidden=16).save_pretrained(tmp_path / "single")
    images = tmp_path / "images.safetensors"
    save_file({"images": torch.rand(3, 1, 16, 16) * 2 - 1}, str(images))
    base = ["invert", "--inverter", str(tmp_path / "single"), str(images), "-g", "zoo:linear_generator"]
    result = CliRunner().invoke(cli, [*base, "--iterations", "5", "--out", str(tmp_path / "a")])
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert result.exit_code == 2 and len(errors) == 1 and "single-pass inverter" in errors[0], result.output
    assert not (tmp_path / "a").exists()
    result = CliRunner().invoke(cli, [*base, "--iterations", "0", "--out", str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
