"""Log-likelihood bounds (docs/algorithms.md §3) against exact marginals of linear-Gaussian generators, and the CLI.

The anchor: `G(z, d) = W z + b + B d` with the Gaussian observation model has the exact marginal
`log sum_d (1/K) N(x; b + B_d, W W^T + sigma^2 I)`. With the columns of W orthogonal, and the
columns of B orthogonal to those of W, the true posterior factorises as `p(z|x) p(d|x)` with a
diagonal Gaussian `p(z|x)`, so the inverter's family holds it exactly.
"""

import json
import math

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from torch import nn

from ganinv import architectures, losses
from ganinv.cli.main import cli
from ganinv.generator import Generator
from ganinv.inverter import Inverter
from ganinv.loglik import bits_per_dim, fit_sigma, log_likelihood
from ganinv.spec import GeneratorSpec

SIGMA = 0.3
NZ, K, SHAPE = 3, 3, (1, 4, 4)
D = 16


class LinearNet(nn.Module):
    """Native module: x = W z + b (+ B d), as a 1x4x4 image."""

    def __init__(self, W, b, B=None):
        super().__init__()
        self.W, self.b, self.B = nn.Parameter(W), nn.Parameter(b), None if B is None else nn.Parameter(B)

    def forward(self, z, c=None, d=None):
        x = z @ self.W.T + self.b
        if d is not None:
            x = x + d @ self.B.T
        return x.reshape(-1, *SHAPE)


class ExactLatent(nn.Module):
    """The true posterior p(z | x) of the linear model: N(Sigma W^T (x - b) / s^2, Sigma)."""

    def __init__(self, W, b, shift=0.0, widen=0.0):
        super().__init__()
        cov = torch.linalg.inv(torch.eye(NZ, dtype=W.dtype) + W.T @ W / SIGMA**2)
        assert torch.allclose(cov, torch.diag(cov.diagonal()))
        self.W, self.b = nn.Parameter(W, requires_grad=False), nn.Parameter(b, requires_grad=False)
        self.register_buffer("cov", cov)
        self.shift, self.widen = shift, widen  # an imperfect q: mean shifted, log-variance raised

    def forward(self, x):
        mu = (x.flatten(1) - self.b) @ self.W @ self.cov / SIGMA**2
        logvar = self.cov.diagonal().log().expand_as(mu)
        return mu + self.shift, logvar + self.widen


class ExactCode(nn.Module):
    """The true posterior p(d | x) (or given logits): logits_d = ((x - b).B_d - |B_d|^2 / 2) / s^2."""

    def __init__(self, b, B, random_logits=False):
        super().__init__()
        self.b, self.B = nn.Parameter(b, requires_grad=False), nn.Parameter(B, requires_grad=False)
        self.random_logits = random_logits

    def forward(self, x):
        r = x.flatten(1) - self.b
        logits = (r @ self.B - 0.5 * self.B.square().sum(0)) / SIGMA**2
        if self.random_logits:
            logits = torch.randn(logits.shape, generator=torch.Generator().manual_seed(7), dtype=logits.dtype)
        return logits, None, None


def linear_model(with_code: bool, seed: int = 0, dtype=torch.float64):
    """A generator with its exact inverter, and the exact log-marginal (float64) as a function of x."""
    g = torch.Generator().manual_seed(seed)
    Q, _ = torch.linalg.qr(torch.randn(D, D, generator=g, dtype=torch.float64))
    W = Q[:, :NZ] * torch.tensor([0.8, 0.5, 0.3], dtype=torch.float64)
    b = 0.1 * torch.randn(D, generator=g, dtype=torch.float64)
    B = Q[:, NZ : NZ + K] * 0.6 if with_code else None  # orthogonal to W's columns
    spec = GeneratorSpec(nz=NZ, image_shape=SHAPE, n_classes=K if with_code else 0)
    generator = Generator(LinearNet(W, b, B), spec, source="test:linear")
    inverter = Inverter.for_generator(generator, width=4, hidden=8)
    inverter.latent_encoder = ExactLatent(W, b)
    if with_code:
        inverter.code_encoder = ExactCode(b, B)
    inverter.to(dtype).eval()

    def exact(x):
        cov = W @ W.T + SIGMA**2 * torch.eye(D, dtype=torch.float64)
        means = [b] if B is None else [b + B[:, j] for j in range(K)]
        logs = torch.stack([torch.distributions.MultivariateNormal(m, cov).log_prob(x.flatten(1)) for m in means])
        return logs.logsumexp(0) - math.log(len(means))

    return generator, inverter, exact


def noisy_samples(generator, n, seed=1):
    """Draws of the full model: x = G(u) + sigma * noise."""
    g = torch.Generator().manual_seed(seed)
    latents = generator.sample_latents(n, generator=g)
    x = generator.decode(latents.map(lambda t: t.double()))
    return (x + SIGMA * torch.randn(x.shape, generator=g, dtype=x.dtype)).detach()


def run(inverter, x, ks=(1, 16, 256), seed=0, **kwargs):
    kwargs.setdefault("input_range", "model")  # float64 noisy samples, beyond [-1, 1]: a density's arguments
    return log_likelihood(inverter, x, ks=ks, sigma_x=SIGMA, generator=torch.Generator().manual_seed(seed), **kwargs)


@pytest.mark.parametrize("with_code,max_enumerate", [(False, 16), (True, 16), (True, 0)])
def test_exact_posterior_makes_every_bound_exact(with_code, max_enumerate):
    generator, inverter, exact = linear_model(with_code)
    x = noisy_samples(generator, 20)
    result = run(inverter, x, max_enumerate=max_enumerate)
    target = exact(x)
    for name, values in result.bounds().items():
        torch.testing.assert_close(values, target, rtol=0, atol=1e-9, msg=name)
    assert torch.all(result.elbo_se < 1e-9)


def test_categorical_enumeration_matches_the_brute_force_sum():
    """A wrong q(d|x): summing d exactly still gives log p(x) in every IW_k, and the ELBO falls short
    by exactly KL(q(d|x) || p(d|x)), the true posterior of d computed by brute force over its K values."""
    generator, inverter, exact = linear_model(with_code=True)
    true_code = inverter.code_encoder
    inverter.code_encoder = ExactCode(true_code.b, true_code.B, random_logits=True)
    x = noisy_samples(generator, 20)
    result = run(inverter, x)
    target = exact(x)
    log_q = inverter.code_encoder(x)[0].log_softmax(1)
    log_p = true_code(x)[0].log_softmax(1)
    kl = (log_q.exp() * (log_q - log_p)).sum(1)
    assert kl.min() > 0.05
    torch.testing.assert_close(result.elbo, target - kl, rtol=0, atol=1e-9)
    for k, values in result.iw.items():
        torch.testing.assert_close(values, target, rtol=0, atol=1e-9, msg=f"iw_{k}")
    # Sampling d instead: below log p(x), rising towards it with k.
    sampled = run(inverter, x, ks=(1, 16, 256), max_enumerate=0)
    means = [sampled.iw[k].mean().item() for k in (1, 16, 256)]
    assert means[0] < means[1] < means[2] <= target.mean().item() + 1e-3
    assert target.mean().item() - means[2] < 0.2 * (target.mean().item() - means[0])


def gaps(result, target):
    """Mean shortfall of each bound below the exact log p(x), and the s.e. of the last one."""
    shortfall = {name: (target - values) for name, values in result.bounds().items()}
    last = list(shortfall.values())[-1]
    return [v.mean().item() for v in shortfall.values()], last.std().item() / math.sqrt(len(last))


def test_imperfect_encoder_bounds_rise_with_k_towards_the_exact_value():
    generator, inverter, exact = linear_model(with_code=False)
    inverter.latent_encoder.shift, inverter.latent_encoder.widen = 0.6, 1.0
    x = noisy_samples(generator, 200)
    result = run(inverter, x, ks=(1, 4, 16, 256))
    target = exact(x)
    assert torch.all(result.elbo < target)  # per image, S = 256 samples
    (elbo, iw1, iw4, iw16, iw256), se = gaps(result, target)
    assert elbo > 1.0
    assert abs(iw1 - elbo) < 3 * (result.iw[1] - result.elbo).std().item() / math.sqrt(
        len(x)
    )  # IW_1 = ELBO in expectation
    assert iw1 > iw4 > iw16 > iw256 > -3 * se
    assert iw256 < 0.1 * elbo


def test_trained_encoder_stays_below_and_bounds_rise_with_k():
    """The inverter's own encoder, trained briefly on the generator's noisy samples with the ELBO."""
    torch.manual_seed(0)
    generator, _, exact = linear_model(with_code=False)
    trained = Inverter.for_generator(generator, width=4, hidden=32).to(torch.float64)
    optimizer = torch.optim.Adam(trained.latent_encoder.parameters(), lr=3e-3)
    for step in range(60):
        x = noisy_samples(generator, 128, seed=100 + step)
        mu, logvar = trained.latent_encoder(x)
        x_hat = generator(losses.reparameterize(mu, logvar))
        loss = losses.gaussian_nll(x, x_hat, SIGMA) + losses.kl_normal_to_standard(mu, logvar)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    trained.eval()
    x = noisy_samples(generator, 200)
    result = run(trained, x, ks=(16, 256))
    target = exact(x)
    assert torch.all(result.elbo < target)
    (elbo, iw16, iw256), se = gaps(result, target)
    assert 0.2 < elbo < 20  # trained, though not perfectly
    assert elbo > iw16 > iw256 > -3 * se
    assert iw256 < 0.25 * elbo


def test_monte_carlo_is_seeded_and_standard_errors_shrink():
    generator, inverter, _ = linear_model(with_code=True)
    inverter.latent_encoder.shift, inverter.latent_encoder.widen = 0.5, 1.0
    x = noisy_samples(generator, 1600)
    a, b = run(inverter, x[:50], seed=3), run(inverter, x[:50], seed=3)
    other = run(inverter, x[:50], seed=4)
    assert torch.equal(a.elbo, b.elbo) and torch.equal(a.iw[256], b.iw[256])
    assert not torch.equal(a.elbo, other.elbo)
    # Per image, the Monte Carlo s.e. of the ELBO falls as 1/sqrt(samples): 16 -> 1024 is a factor 8.
    few, many = run(inverter, x[:50], ks=(16,)), run(inverter, x[:50], ks=(1024,))
    ratio = (few.elbo_se / many.elbo_se).median().item()
    assert 6 < ratio < 10.5
    # Over images, the s.e. of the mean falls as 1/sqrt(images): 100 -> 1600 is a factor 4.
    small, large = run(inverter, x[:100], ks=(4,)).summary(), run(inverter, x, ks=(4,)).summary()
    for name in ("elbo", "iw_4"):
        assert 2.5 < small[name]["se"] / large[name]["se"] < 6


def test_fit_sigma_is_the_elbo_maximiser():
    """On noise-free samples x = W z + b with the exact-posterior encoder, E_q||x - G(z')||^2 =
    sum_j s_j^2 (Sigma_j^2 + Sigma_j), so sigma^2 = that / D."""
    generator, inverter, _ = linear_model(with_code=False, dtype=torch.float32)  # sample() draws float32
    cov = inverter.latent_encoder.cov.diagonal()
    s2 = inverter.latent_encoder.W.square().sum(0)
    expected = math.sqrt(((s2 * (cov.square() + cov)).sum() / D).item())
    fitted = fit_sigma(inverter, 4000, generator=torch.Generator().manual_seed(0))
    assert abs(fitted / expected - 1) < 0.03


def test_bits_per_dim():
    # A density of 127.5 per pixel on [-1, 1] puts probability 1 in an 8-bit bin (width 2/255): 0 bits.
    assert bits_per_dim(D * math.log(127.5), D) == pytest.approx(0.0, abs=1e-12)
    assert bits_per_dim(D * math.log(127.5 / 2), D) == pytest.approx(1.0)


# ---- the command -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    """A tiny `ssavl` generator (z, c and a 3-way d, 8x8 images) and an untrained inverter, saved together."""
    torch.manual_seed(0)
    built, options = architectures.build_generator_net(
        "ssavl", {"nz": 4, "nc": 1, "n_classes": 3, "resolution": 8, "width": 8}
    )
    meta = {"architecture": "ssavl", "options": architectures.options_to_dict(options)}
    generator = Generator(built.net, built.spec, source="tiny-ssavl", meta=meta)
    folder = tmp_path_factory.mktemp("loglik") / "inverter"
    Inverter.for_generator(generator, width=8, hidden=32).save_pretrained(folder, include_generator=True)
    return folder


def invoke(*args):
    return CliRunner().invoke(cli, ["loglik", *map(str, args)], env={"HF_HUB_OFFLINE": "1"})


def test_cli_on_generated_samples(artifact, tmp_path):
    out = tmp_path / "ll.jsonl"
    result = invoke("--inverter", artifact, "--generated", 6, "--k", "1,8", "--out", out, "--json", "--seed", 5)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["images"] == 6 and summary["k"] == [1, 8] and summary["sigma_x_from"] == "default"
    assert summary["images_converted"] is None
    assert summary["images_per_s"] > 0
    assert summary["density_scale"] == "[-1, 1]"  # the nats' pixel scale, said (an outside audit)
    table = invoke("--inverter", artifact, "--generated", 6, "--k", "1,8", "--seed", 5)
    assert "nats of a density on the [-1, 1] pixel scale" in table.stdout, table.stdout
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 6
    for record in records:
        assert {"elbo", "elbo_bpd", "elbo_se", "iw_1", "iw_8", "iw_8_bpd", "surrogate", "kl", "mse_sum"} <= set(record)
        assert record["iw_8_bpd"] == pytest.approx(bits_per_dim(record["iw_8"], 64))
    mean = np.mean([r["iw_8"] for r in records])
    assert summary["stats"]["iw_8"]["mean"] == pytest.approx(mean)
    again = tmp_path / "again.jsonl"
    assert invoke("--inverter", artifact, "--generated", 6, "--k", "1,8", "--out", again, "--seed", 5).exit_code == 0
    assert again.read_text() == out.read_text()  # seeded
    limited = invoke("--inverter", artifact, "--generated", 6, "--k", "1", "--limit", 2, "--json")  # audit 32b F11
    assert json.loads(limited.stdout)["images"] == 6
    assert "Warning: --limit is ignored: it reads IMAGES, and --generated 6 scores" in limited.stderr


def test_cli_samples_d_above_max_enumerate(artifact):
    summaries = {}
    for max_enumerate in (3, 2, 0):  # K = 3: summed, then drawn from q(d|x)
        result = invoke(
            "--inverter", artifact, "--generated", 4, "--k", "1,4", "--json", "--max-enumerate", max_enumerate
        )
        assert result.exit_code == 0, result.output
        summaries[max_enumerate] = json.loads(result.stdout)
    assert [summaries[m]["d_enumerated"] for m in (3, 2, 0)] == [True, False, False]
    assert summaries[2]["stats"] == summaries[0]["stats"]  # the same route, the same seed
    assert summaries[3]["stats"]["iw_4"]["mean"] != summaries[0]["stats"]["iw_4"]["mean"]


def test_cli_on_an_npz_of_images_with_fitted_sigma(artifact, tmp_path):
    images = np.random.default_rng(0).integers(0, 256, size=(3, 10, 10), dtype=np.uint8)
    np.savez(tmp_path / "images.npz", images=images, labels=np.array([0, 1, 2]))
    out = tmp_path / "ll.jsonl"
    result = invoke(
        "--inverter", artifact, tmp_path / "images.npz", "--k", "4", "--fit-sigma", "--fit-n", 32, "--out", out
    )
    assert result.exit_code == 0, result.output
    assert "converted to the shape the model takes" in result.stderr
    as_json = invoke("--inverter", artifact, tmp_path / "images.npz", "--k", "1", "--json", "--quiet")
    assert json.loads(as_json.stdout)["images_converted"].endswith("10 x 10 -> 8 x 8 pixels")  # recorded, too
    assert "IW_4 (importance-weighted)" in result.stdout and "fitted" in result.stdout
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["label"] for r in records] == [0, 1, 2]
    assert len({r["sigma_x"] for r in records}) == 1 and records[0]["sigma_x"] != 0.1


@pytest.mark.parametrize(
    "args",
    [
        ["--generated", 4, "IMAGES"],  # both inputs
        [],  # neither
        ["--generated", 4, "--k", "0,16"],  # bad k
        ["--generated", 4, "--k", "a"],
        ["--generated", 4, "--k", "1,,2"],  # a typo, not two sizes
        ["--generated", 4, "--fit-sigma", "--sigma-x", 0.2],
        ["missing.npz"],
    ],
)
def test_cli_bad_inputs_give_one_line_errors(artifact, tmp_path, args):
    args = [str(tmp_path / "images.npz") if a == "IMAGES" else a for a in args]
    (tmp_path / "images.npz").write_bytes(b"")
    result = invoke("--inverter", artifact, *args)
    assert result.exit_code != 0
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("Error: ") and "Traceback" not in result.output


def test_cli_unknown_inverter_is_one_line_error(tmp_path):
    result = invoke("--inverter", tmp_path / "nowhere", "--generated", 2)
    assert result.exit_code != 0
    assert result.stderr.strip().startswith("Error: ") and len(result.stderr.strip().splitlines()) == 1


def test_a_slow_loglik_says_seconds_per_image_not_zero_images_per_second():
    from ganinv.cli.loglik import speed

    assert speed(0.025) == "40 s per image"  # was "0.0 images/s" on a 128-px generator at k = 512
    assert speed(12.34) == "12.3 images/s"
