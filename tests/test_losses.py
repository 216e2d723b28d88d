"""The dreaming-phase loss terms (docs/algorithms.md §2) against hand-computed values and torch.distributions."""

import math

import pytest
import torch
from torch import distributions as D
from torch import nn

from ganinv import losses
from ganinv.dreaming import DreamingConfig, dreaming_loss, temperature_at
from ganinv.generator import Generator
from ganinv.inverter import Inverter
from ganinv.spec import GeneratorSpec


def test_gaussian_nll_by_hand():
    x = torch.zeros(2, 1, 1, 2)
    x_hat = torch.tensor([[[[1.0, 0.0]]], [[[0.0, 2.0]]]])  # squared errors 1 and 4
    sigma = 0.5
    per_image = torch.tensor([1.0, 4.0]) / (2 * sigma**2) + math.log(2 * math.pi * sigma**2)  # D/2 = 1
    assert losses.gaussian_nll(x, x_hat, sigma).item() == pytest.approx(per_image.mean().item(), rel=1e-6)


def test_gaussian_nll_matches_torch_normal():
    x, x_hat = torch.randn(5, 3, 4, 4), torch.randn(5, 3, 4, 4)
    expected = -D.Normal(x_hat, 0.3).log_prob(x).flatten(1).sum(1).mean()
    assert losses.gaussian_nll(x, x_hat, 0.3).item() == pytest.approx(expected.item(), rel=1e-5)


def test_kl_normal_to_standard_matches_torch():
    mu, logvar = torch.randn(6, 5), torch.randn(6, 5)
    q = D.Normal(mu, (0.5 * logvar).exp())
    expected = D.kl_divergence(q, D.Normal(0.0, 1.0)).sum(1).mean()
    assert losses.kl_normal_to_standard(mu, logvar).item() == pytest.approx(expected.item(), rel=1e-5)
    # by hand: mu = 1, sigma = 1 gives 0.5; the posterior equal to the prior gives 0
    assert losses.kl_normal_to_standard(torch.ones(1, 1), torch.zeros(1, 1)).item() == pytest.approx(0.5)
    assert losses.kl_normal_to_standard(torch.zeros(3, 4), torch.zeros(3, 4)).item() == 0.0


def test_kl_categorical_to_uniform_matches_torch():
    logits = torch.randn(7, 10)
    expected = D.kl_divergence(D.Categorical(logits=logits), D.Categorical(logits=torch.zeros(10))).mean()
    assert losses.kl_categorical_to_uniform(logits).item() == pytest.approx(expected.item(), rel=1e-5)
    # a certain answer is log K away from uniform
    certain = torch.tensor([[100.0, 0.0, 0.0, 0.0]])
    assert losses.kl_categorical_to_uniform(certain).item() == pytest.approx(math.log(4), rel=1e-5)


def test_code_recovery_terms_match_torch():
    target, mu, logvar = torch.randn(4, 3), torch.randn(4, 3), torch.randn(4, 3)
    expected = -D.Normal(mu, (0.5 * logvar).exp()).log_prob(target).sum(1).mean()
    assert losses.gaussian_code_nll(target, mu, logvar).item() == pytest.approx(expected.item(), rel=1e-5)
    logits, labels = torch.randn(4, 5), torch.tensor([0, 3, 1, 4])
    one_hot = nn.functional.one_hot(labels, 5).float()
    expected = nn.functional.cross_entropy(logits, labels)
    assert losses.categorical_code_nll(one_hot, logits).item() == pytest.approx(expected.item(), rel=1e-6)


def test_gumbel_softmax_sample_frequencies_and_temperature():
    torch.manual_seed(0)
    probs = torch.tensor([0.6, 0.3, 0.1])
    logits = probs.log().expand(20000, 3)
    soft = losses.gumbel_softmax_sample(logits, temperature=0.5)
    assert torch.allclose(soft.sum(1), torch.ones(20000))
    # argmax of a Gumbel-perturbed logit is an exact sample of Cat(probs) (the Gumbel-max trick)
    freq = torch.bincount(soft.argmax(1), minlength=3).float() / 20000
    assert torch.allclose(freq, probs, atol=0.015)
    # lower temperature, closer to one-hot
    cold = losses.gumbel_softmax_sample(logits, temperature=0.05)
    assert cold.max(1).values.mean() > soft.max(1).values.mean() > 0.7
    # differentiable in the logits
    leaf = torch.zeros(2, 3, requires_grad=True)
    losses.gumbel_softmax_sample(leaf, 1.0)[:, 0].sum().backward()
    assert leaf.grad is not None and leaf.grad.abs().sum() > 0


def test_reparameterize_moments():
    torch.manual_seed(0)
    mu, logvar = torch.full((50000, 1), 2.0), torch.full((50000, 1), math.log(0.25))
    z = losses.reparameterize(mu, logvar)
    assert z.mean().item() == pytest.approx(2.0, abs=0.01) and z.std().item() == pytest.approx(0.5, abs=0.01)


def test_temperature_anneals_from_start_to_end():
    config = DreamingConfig(tau_start=1.0, tau_end=0.5)
    assert temperature_at(0, 100, config) == pytest.approx(1.0)
    assert temperature_at(99, 100, config) == pytest.approx(0.5)
    assert temperature_at(49, 100, config) == pytest.approx(math.sqrt(0.5), rel=0.02)  # geometric midpoint


class TinyNet(nn.Module):
    """A small seeded native generator with z, c and d: linear map to a 1x16x16 image, tanh."""

    def __init__(self, nz=6, nc=2, k=3):
        super().__init__()
        self.linear = nn.Linear(nz + nc + k, 256)

    def forward(self, z, c=None, d=None):
        u = torch.cat([t for t in (z, c, d) if t is not None], dim=1)
        return torch.tanh(self.linear(u)).reshape(-1, 1, 16, 16)


def tiny(differentiable_codes=True, nc=2, k=3):
    torch.manual_seed(0)
    spec = GeneratorSpec(nz=6, image_shape=(1, 16, 16), nc=nc, n_classes=k, differentiable_codes=differentiable_codes)
    generator = Generator(TinyNet(6, nc, k), spec)
    return generator, Inverter.for_generator(generator, width=8, hidden=32)


def test_dreaming_loss_terms_add_up_and_reach_the_encoders():
    generator, inverter = tiny()
    config = DreamingConfig(beta=0.5, lambda_mi=2.0, lambda_z=0.25)
    latents, images = generator.sample(16, generator=torch.Generator().manual_seed(1))
    out = dreaming_loss(generator, inverter, latents, images, 1.0, config)
    expected = (
        out.rec_z + 0.5 * out.kl_z + out.rec_u + 0.5 * (out.kl_d + out.kl_c) + 2.0 * out.mi + 0.25 * out.z_recovery
    )
    assert out.total.item() == pytest.approx(expected.item(), rel=1e-6)
    assert all(v.dim() == 0 and torch.isfinite(v) for v in out.as_dict().values())
    assert out.rec_u > 0 and out.mi > 0 and out.z_recovery != 0
    out.total.backward()
    assert all(p.grad is not None for p in inverter.parameters())
    assert all(p.grad is None for p in generator.parameters())  # G is frozen


def test_non_differentiable_codes_keep_recovery_drop_d_reconstruction():
    generator, inverter = tiny(differentiable_codes=False, nc=0)
    latents, images = generator.sample(8, generator=torch.Generator().manual_seed(1))
    out = dreaming_loss(generator, inverter, latents, images, 1.0, DreamingConfig())
    assert out.rec_u.item() == 0.0 and out.mi.item() > 0
    out.total.backward()
    assert inverter.code_encoder.logits.weight.grad.abs().sum() > 0  # trained by code recovery alone


def test_a_few_dreaming_steps_reduce_the_loss():
    generator, inverter = tiny()
    config = DreamingConfig(lambda_z=1.0)
    optimizer = torch.optim.Adam(inverter.parameters(), lr=2e-3)
    rng = torch.Generator().manual_seed(2)
    history = []
    for step in range(60):
        latents, images = generator.sample(32, generator=rng)
        out = dreaming_loss(generator, inverter, latents, images, temperature_at(step, 60, config), config)
        optimizer.zero_grad()
        out.total.backward()
        optimizer.step()
        history.append(out.total.item())
    assert sum(history[-10:]) / 10 < 0.5 * sum(history[:10]) / 10
