"""The wake phase (docs/algorithms.md §6): gradient penalty, critic / generator / MI / dreaming steps,
the ssavl adapter."""

import copy
import dataclasses
import math
from pathlib import Path

import pytest
import torch
from torch import nn

from ganinv.critic import Critic
from ganinv.dreaming import DreamingConfig
from ganinv.errors import ArchitectureError
from ganinv.sources import load_generator, save_generator
from ganinv.train import TrainConfig, build_models, save_code_grids
from ganinv.wake import code_recovery_loss, critic_step, dreaming_step, generator_step, gradient_penalty, mi_step

TINY = TrainConfig(
    nz=4,
    nc=1,
    n_classes=3,
    width=8,
    critic_width=8,
    critic_hidden=16,
    encoder_width=8,
    encoder_hidden=16,
    lr=1e-3,
    encoder_lr=1e-3,
)
SHAPE = (1, 8, 8)


def tiny_models(seed: int = 0):
    torch.manual_seed(seed)
    return build_models(TINY, SHAPE, source="tiny", device=torch.device("cpu"))


def snapshot(module: nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def moved(before: list[torch.Tensor], module: nn.Module) -> bool:
    return any(not torch.equal(a, b) for a, b in zip(before, module.parameters()))


class Linear(nn.Module):
    def __init__(self, weight):
        super().__init__()
        self.weight = weight

    def forward(self, x):
        return (x.flatten(1) * self.weight).sum(dim=1)


class HalfSquaredNorm(nn.Module):
    def forward(self, x):
        return 0.5 * x.flatten(1).square().sum(dim=1)


def test_gradient_penalty_of_a_linear_critic_is_its_squared_norm_excess():
    # D(x) = w.x has gradient w everywhere: GP = (||w|| - 1)^2 = (2 - 1)^2 whatever the mix.
    weight = torch.zeros(16)
    weight[:4] = 1.0  # ||w|| = 2
    real, fake = torch.randn(5, 1, 4, 4), torch.randn(5, 1, 4, 4)
    assert gradient_penalty(Linear(weight), real, fake).item() == pytest.approx(1.0, abs=1e-6)


def test_gradient_penalty_hand_computed_for_a_quadratic_critic():
    # D(x) = ||x||^2 / 2 has gradient x; with real == fake the mix is x itself.
    x = torch.tensor([[3.0, 4.0], [0.0, 0.5], [1.0, 0.0]]).reshape(3, 1, 1, 2)  # norms 5, 0.5, 1
    expected = ((5 - 1) ** 2 + (0.5 - 1) ** 2 + 0) / 3
    assert gradient_penalty(HalfSquaredNorm(), x, x).item() == pytest.approx(expected, rel=1e-6)
    # and it is differentiable in the critic's parameters (create_graph), as WGAN-GP needs
    critic = Critic(SHAPE, width=4, hidden=8)
    gradient_penalty(critic, torch.randn(4, *SHAPE), torch.randn(4, *SHAPE)).backward()
    assert all(p.grad is not None for p in critic.parameters() if p.dim() > 1)  # biases do not shape grad D


def test_each_step_moves_exactly_its_own_parameters():
    m = tiny_models()
    g, critic, latent_enc, code_enc = m.generator, m.critic, m.inverter.latent_encoder, m.inverter.code_encoder
    real = torch.rand(8, *SHAPE) * 2 - 1

    before = [snapshot(x) for x in (g, critic, latent_enc, code_enc)]
    stats = critic_step(critic, g, real, m.critic_optimizer, gp_weight=10.0)
    assert [moved(b, x) for b, x in zip(before, (g, critic, latent_enc, code_enc))] == [False, True, False, False]
    assert torch.isclose(stats["critic_loss"], -stats["wasserstein"] + 10.0 * stats["gp"])

    before = [snapshot(x) for x in (g, critic, latent_enc, code_enc)]
    generator_step(critic, g, 8, m.generator_optimizer)
    assert [moved(b, x) for b, x in zip(before, (g, critic, latent_enc, code_enc))] == [True, False, False, False]
    assert all(p.requires_grad for p in critic.parameters())  # unfrozen again

    before = [snapshot(x) for x in (g, critic, latent_enc, code_enc)]
    mi_step(g, m.inverter.code_encoder, 8, m.generator_optimizer, m.inverter_optimizer)
    assert [moved(b, x) for b, x in zip(before, (g, critic, latent_enc, code_enc))] == [True, False, False, True]

    before = [snapshot(x) for x in (g, critic, latent_enc, code_enc)]
    losses = dreaming_step(g, m.inverter, 8, 1.0, DreamingConfig(), m.inverter_optimizer)
    assert [moved(b, x) for b, x in zip(before, (g, critic, latent_enc, code_enc))] == [False, False, True, True]
    assert all(p.requires_grad for p in g.parameters())  # G learns again after the dreaming step
    assert torch.isfinite(losses.total) and losses.kl_z >= 0 and losses.mi > 0  # every term was computed


def test_generator_steps_raise_the_critic_score_of_samples():
    m = tiny_models(seed=1)
    torch.manual_seed(1)
    latents = m.generator.sample_latents(256)
    with torch.no_grad():
        score_before = m.critic(m.generator.decode(latents)).mean()
    for _ in range(20):
        generator_step(m.critic, m.generator, 64, m.generator_optimizer)
    with torch.no_grad():
        score_after = m.critic(m.generator.decode(latents)).mean()
    assert score_after > score_before + 0.01


def test_mi_steps_make_q_omega_recover_the_categorical_code():
    m = tiny_models(seed=2)
    torch.manual_seed(2)

    def recovery():
        latents = m.generator.sample_latents(512)
        with torch.no_grad():
            images = m.generator.decode(latents)
            logits = m.inverter.code_encoder(images)[0]
            loss = code_recovery_loss(m.inverter.code_encoder, latents, images)
        accuracy = (logits.argmax(dim=1) == latents.d.argmax(dim=1)).float().mean().item()
        return loss.item(), accuracy

    loss_before, accuracy_before = recovery()
    for _ in range(150):
        mi_step(m.generator, m.inverter.code_encoder, 64, m.generator_optimizer, m.inverter_optimizer)
    loss_after, accuracy_after = recovery()
    assert accuracy_before < 0.6  # K = 3: near chance before
    assert accuracy_after > 0.95
    assert loss_after < loss_before - 1.0


def test_q_on_the_critic_is_infogans_q_trained_by_the_mi_step_with_the_critic():
    import dataclasses

    torch.manual_seed(6)
    m = build_models(dataclasses.replace(TINY, q_on_critic=True), SHAPE, source="tiny", device=torch.device("cpu"))
    assert m.critic.q is not None and set(m.critic.state_dict()) > set(Critic(SHAPE, 8, 16).state_dict())
    g, critic, inverter = m.generator, m.critic, m.inverter
    before = [snapshot(x) for x in (g, critic.trunk, critic.q, critic.score, inverter)]
    mi_step(g, critic.codes, 8, m.generator_optimizer, m.critic_optimizer)
    moves = [moved(b, x) for b, x in zip(before, (g, critic.trunk, critic.q, critic.score, inverter))]
    assert moves == [True, True, True, False, False]  # G, the shared trunk and Q's heads; not the score or encoders

    def accuracy():
        latents = g.sample_latents(512)
        with torch.no_grad():
            logits = critic.codes(g.decode(latents))[0]
        return (logits.argmax(dim=1) == latents.d.argmax(dim=1)).float().mean().item()

    accuracy_before = accuracy()
    for _ in range(150):
        mi_step(g, critic.codes, 64, m.generator_optimizer, m.critic_optimizer)
    assert accuracy_before < 0.6 and accuracy() > 0.95


def test_trained_generator_saves_and_loads_as_a_frozen_generator(tmp_path):
    m = tiny_models(seed=3)
    generator_step(m.critic, m.generator, 8, m.generator_optimizer)  # BatchNorm running stats move
    m.generator.eval()
    save_generator(m.generator, tmp_path / "generator")
    loaded = load_generator(str(tmp_path / "generator"))
    assert loaded.spec == m.generator.spec and loaded.meta["architecture"] == "ssavl"
    latents = loaded.sample_latents(5, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.allclose(loaded.decode(latents), m.generator.decode(latents), atol=1e-6)
    assert all(p.requires_grad for p in m.generator.parameters())  # the trained one is not frozen


def test_a_generator_with_a_hidden_layer_saves_and_loads_with_it(tmp_path):
    """Recipe key generator_hidden (InfoGAN's fully connected layer before the first map) reaches G, and the folder
    `ganinv train` saves reloads it with the layer (a generator without it keeps the shipped key layout)."""
    m = build_models(dataclasses.replace(TINY, generator_hidden=12), SHAPE, source="tiny", device=torch.device("cpu"))
    assert m.generator.meta["options"]["hidden"] == 12
    linears = [layer for layer in m.generator.net.modules() if isinstance(layer, nn.Linear)]
    assert [layer.out_features for layer in linears][0] == 12 and len(linears) == 2
    generator_step(m.critic, m.generator, 8, m.generator_optimizer)
    m.generator.eval()
    save_generator(m.generator, tmp_path / "generator")
    loaded = load_generator(str(tmp_path / "generator"))
    latents = loaded.sample_latents(5, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(loaded.decode(latents), m.generator.decode(latents))
    assert [k for k in tiny_models().generator.net.state_dict() if k.startswith("fc.")][:2] == [
        "fc.0.weight",
        "fc.0.bias",
    ]


def test_a_generator_with_small_noise_scales_z_inside_and_reloads_with_it(tmp_path):
    """Recipe key generator_noise_std (ClusterGAN's small-variance noise) scales z inside G, so the prior stays
    N(0, I): the same weights fed z * 0.1 with the scale 1 give the same images; the saved folder keeps the scale."""
    torch.manual_seed(0)
    m = build_models(
        dataclasses.replace(TINY, generator_noise_std=0.1), SHAPE, source="tiny", device=torch.device("cpu")
    )
    assert m.generator.meta["options"]["noise_std"] == 0.1
    m.generator.eval()
    plain = tiny_models().generator.eval()
    plain.net.load_state_dict(m.generator.net.state_dict())
    latents = m.generator.sample_latents(5, generator=torch.Generator().manual_seed(0))
    scaled = dataclasses.replace(latents, z=latents.z * 0.1)
    with torch.no_grad():
        torch.testing.assert_close(m.generator.decode(latents), plain.decode(scaled))
        assert not torch.allclose(m.generator.decode(latents), plain.decode(latents), atol=1e-3)
    save_generator(m.generator, tmp_path / "generator")
    loaded = load_generator(str(tmp_path / "generator"))
    with torch.no_grad():
        torch.testing.assert_close(loaded.decode(latents), m.generator.decode(latents))


def test_code_grids_have_one_row_per_category(tmp_path):
    from PIL import Image

    m = tiny_models()
    paths = save_code_grids(m.generator, tmp_path, "final", seed=0, columns=5)
    assert [p.name for p in paths] == ["final-d.png", "final-c1.png"]
    width, height = Image.open(paths[0]).size
    assert (width, height) == (5 * (8 + 2) + 2, 3 * (8 + 2) + 2)  # 5 columns, K = 3 rows, padding 2
    assert m.generator.training  # left as it was


def test_ssavl_adapter_sizes():
    from ganinv import architectures

    built, _ = architectures.build_generator_net("ssavl", {})
    assert built.spec.nz == 62 and built.spec.nc == 2 and built.spec.n_classes == 10
    assert sum(p.numel() for p in built.net.parameters()) * 4 < 10e6  # < 10 MB as float32 safetensors
    for resolution, channels in ((28, 1), (32, 3), (64, 3)):
        built, _ = architectures.build_generator_net("ssavl", {"resolution": resolution, "channels": channels})
        built.net.eval()
        x = built.net(torch.randn(2, 62), torch.randn(2, 2), torch.eye(10)[:2])
        assert x.shape == (2, channels, resolution, resolution) and x.abs().max() <= 1
    with pytest.raises(ArchitectureError, match="cannot be reached by doubling"):  # one Error: line, not a bug's
        architectures.build_generator_net("ssavl", {"resolution": 27})


def test_models_round_trip_their_state():
    a, b = tiny_models(seed=4), tiny_models(seed=5)
    mi_step(a.generator, a.inverter.code_encoder, 8, a.generator_optimizer, a.inverter_optimizer)
    b.load_state_dict(copy.deepcopy(a.state_dict()))
    for name in ("generator", "critic", "inverter"):
        for p, q in zip(getattr(a, name).parameters(), getattr(b, name).parameters()):
            assert torch.equal(p, q)


def test_builtin_mnist_is_small_and_its_encoders_recover_its_codes():
    from ganinv.inverter import Inverter
    from ganinv.sources import BUILTIN_DIR

    assert (BUILTIN_DIR / "mnist" / "model.safetensors").stat().st_size <= 10e6
    generator = load_generator("builtin:mnist")
    assert generator.meta["architecture"] == "ssavl" and generator.spec.n_classes == 10
    inverter = Inverter.load(str(BUILTIN_DIR / "mnist"))  # its encoders, shipped beside it
    latents, images = generator.sample(500, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        posterior = inverter.encode(images)
    assert (posterior.logits_d.argmax(dim=1) == latents.d.argmax(dim=1)).float().mean() > 0.95


def test_builtin_fashion_mnist_is_stored_in_half_precision_and_its_codes_move_the_images():
    from ganinv.sources import BUILTIN_DIR

    assert (BUILTIN_DIR / "fashion-mnist" / "model.safetensors").stat().st_size <= 2.5e6  # float16 on disk
    generator = load_generator("builtin:fashion-mnist")
    assert all(p.dtype == torch.float32 for p in generator.parameters())
    assert generator.spec.image_shape == (1, 28, 28) and generator.spec.n_classes == 10
    latents = generator.sample_latents(64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        by_code = []
        for k in range(10):  # the same z and c, each value of d
            latents.d = torch.nn.functional.one_hot(torch.full((64,), k), 10).float()
            by_code.append(generator.decode(latents))
    means = torch.stack([images.mean(dim=0) for images in by_code])  # (10, 1, 28, 28)
    gaps = torch.cdist(means.flatten(1), means.flatten(1))
    assert gaps[~torch.eye(10, dtype=torch.bool)].min() > 3.0  # each code its own kind of item


def test_the_package_stays_under_15_mb():
    package = Path(__file__).parent.parent / "ganinv"
    size = sum(p.stat().st_size for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    assert size < 15e6, f"ganinv/ holds {size / 1e6:.1f} MB"


def test_the_generator_may_learn_at_its_own_rate():
    """Recipe key generator_lr (InfoGAN's G learns at 5x its discriminator's rate); 0 keeps lr for both."""
    import dataclasses

    models = build_models(dataclasses.replace(TINY, generator_lr=5e-3), SHAPE, "tiny", torch.device("cpu"))
    assert models.generator_optimizer.param_groups[0]["lr"] == 5e-3
    assert models.critic_optimizer.param_groups[0]["lr"] == 1e-3
    assert tiny_models().generator_optimizer.param_groups[0]["lr"] == 1e-3


def test_a_fixed_code_variance_makes_the_code_term_half_the_squared_error():
    """`fixed_code_variance`: -log q(c~|x') with unit variance, whatever variance q predicts (the MI step's pull on G
    then does not fade as q widens it)."""
    from ganinv.spec import Latents

    torch.manual_seed(3)
    c, mu = torch.randn(5, 2), torch.randn(5, 2)
    wide = torch.full((5, 2), 4.0)  # q's log-variance: sigma^2 = e^4

    def q(_images):
        return None, mu, wide

    latents = Latents(z=torch.randn(5, 3), c=c, d=None)
    images = torch.zeros(5, 1, 4, 4)
    fixed = code_recovery_loss(q, latents, images, lambda_c=1.0, fixed_code_variance=True)
    expected = 0.5 * ((c - mu).square() + math.log(2 * math.pi)).sum(dim=1).mean()
    torch.testing.assert_close(fixed, expected)
    learned = code_recovery_loss(q, latents, images, lambda_c=1.0)
    assert abs(learned - fixed) > 1  # without the flag, q's variance counts
