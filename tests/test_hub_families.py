"""The Hub's two big GAN families (lightweight-gan of the HugGAN sprint, pytorch-pretrained-BigGAN) and the
truncated-normal native prior: files saved as the projects save them load to the projects' own images."""

import json

import numpy as np
import pytest
import torch
import zoo
from scipy import stats

from ganinv import architectures
from ganinv.errors import ArchitectureError
from ganinv.generator import Generator, truncated_normal_from_standard
from ganinv.sources import load_generator, save_generator
from ganinv.spec import GeneratorSpec

ATOL = 1e-5


# ---- the truncated-normal prior ---------------------------------------------------------------


def test_truncated_normal_is_the_exact_quantile_map():
    z = torch.linspace(-6, 6, 121, dtype=torch.float64)
    for lo, hi in ((-2.0, 2.0), (-0.5, 3.0), (1.0, 2.5)):
        expected = stats.truncnorm.ppf(stats.norm.cdf(z.numpy()), lo, hi)
        np.testing.assert_allclose(truncated_normal_from_standard(z, lo, hi).numpy(), expected, rtol=0, atol=1e-9)


def test_truncated_normal_moments_monotone_tails_and_gradients():
    z = torch.randn(200_000, generator=torch.Generator().manual_seed(0))
    x = truncated_normal_from_standard(z, -2.0, 2.0).double()
    assert abs(x.mean().item() - stats.truncnorm.mean(-2, 2)) < 0.01
    assert abs(x.var().item() - stats.truncnorm.var(-2, 2)) < 0.01
    grid = torch.linspace(-8, 8, 2001, requires_grad=True)
    y = truncated_normal_from_standard(grid, -2.0, 2.0)
    assert y.dtype == torch.float32 and torch.isfinite(y).all()
    assert (y.diff() >= 0).all() and y[0] >= -2 and y[-1] <= 2 and y[0] < -1.999 and y[-1] > 1.999
    y.sum().backward()
    assert torch.isfinite(grid.grad).all() and (grid.grad > 0).all()  # strictly increasing, even at 8 sigma
    far = torch.tensor([-40.0, 40.0], requires_grad=True)
    truncated_normal_from_standard(far, -2.0, 2.0).sum().backward()
    assert torch.isfinite(far.grad).all()


def test_spec_declares_truncation_and_generator_applies_it():
    spec = GeneratorSpec(
        nz=3, image_shape=(1, 2, 2), native_prior="truncated_normal", native_prior_range=(-2, 2), native_prior_scale=0.4
    )
    assert GeneratorSpec.from_json(spec.to_json()) == spec
    g = Generator(torch.nn.Identity(), spec)
    z = torch.tensor([[-9.0, 0.3, 9.0]])
    expected = 0.4 * stats.truncnorm.ppf(stats.norm.cdf(z.numpy()), -2, 2)
    np.testing.assert_allclose(g.to_native_z(z).numpy(), expected, atol=1e-6)
    with pytest.raises(ValueError, match="native_prior_range"):
        GeneratorSpec(nz=3, image_shape=(1, 2, 2), native_prior="truncated_normal", native_prior_range=(2, -2))
    with pytest.raises(ValueError, match="native_prior_scale"):
        GeneratorSpec(nz=3, image_shape=(1, 2, 2), native_prior_scale=0)


# ---- lightweight-gan (HugGAN sprint) ---------------------------------------------------------


def ganinv_images_native(g, z, d=None):
    """ganinv's images for standard-normal z, back in the generator's native range."""
    lo, hi = g.spec.native_output_range
    with torch.no_grad():
        return (g(z, None, d) + 1) / 2 * (hi - lo) + lo


@pytest.fixture(scope="module")
def lightweight():
    return zoo.HugGANLightweightGAN(seed=0)


def test_lightweight_gan_checkpoint_samples_like_the_project(lightweight, tmp_path):
    path = tmp_path / "model_42.pt"
    torch.save({"GAN": lightweight.state_dict()}, path)  # Trainer.save
    g = load_generator(str(path))
    assert g.meta["architecture"] == "lightweight_gan"
    assert g.spec.image_shape == (3, 128, 128) and g.spec.nz == 16 and g.spec.native_output_range == (0.0, 1.0)
    z = torch.randn(4, 16, generator=torch.Generator().manual_seed(1))
    expected = lightweight.sample(g.to_native_z(z))  # the moving average GE, clamped
    torch.testing.assert_close(ganinv_images_native(g, z), expected, rtol=0, atol=ATOL)
    assert (ganinv_images_native(g, z) - lightweight.sample(z, moving_average=False)).abs().max() > 1e-2


def test_lightweight_gan_pushed_repo_with_every_variant(tmp_path):
    """pytorch_model.bin = {'GAN': ...} + the sprint's config.json; DCT excitation, blur, greyscale."""
    gan = zoo.HugGANLightweightGAN(seed=3, freq_chan_attn=True, antialias=True, greyscale=True)
    torch.save({"GAN": gan.state_dict()}, tmp_path / "pytorch_model.bin")
    config = gan.huggan_config(freq_chan_attn=True)
    (tmp_path / "config.json").write_text(json.dumps(config))
    g = load_generator(str(tmp_path), arch="lightweight_gan")
    opts = g.meta["options"]
    assert opts["freq_chan_attn"] and opts["antialias"] and opts["greyscale"] and opts["attn_res_layers"] == [8, 16]
    z = torch.randn(3, 16, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(ganinv_images_native(g, z), gan.sample(z), rtol=0, atol=ATOL)
    reloaded = load_generator(str(save_generator(g, tmp_path / "saved")))  # ganinv's own layout round trip
    torch.testing.assert_close(ganinv_images_native(reloaded, z), gan.sample(z), rtol=0, atol=ATOL)


def test_lightweight_gan_config_that_disagrees_with_the_weights_is_an_error(lightweight, tmp_path):
    torch.save({"GAN": lightweight.state_dict()}, tmp_path / "pytorch_model.bin")
    (tmp_path / "config.json").write_text(json.dumps(lightweight.huggan_config(latent_dim=256)))
    with pytest.raises(ArchitectureError, match=r"latent_dim=256.*latent_dim=16"):
        load_generator(str(tmp_path), arch="lightweight_gan")
    (tmp_path / "config.json").write_text(json.dumps(lightweight.huggan_config(fmap_max=512)))
    with pytest.raises(ArchitectureError, match="fmap_max"):
        load_generator(str(tmp_path), arch="lightweight_gan")


# ---- BigGAN (pytorch-pretrained-BigGAN) --------------------------------------------------------


@pytest.fixture(scope="module")
def biggan(tmp_path_factory):
    model = zoo.PretrainedBigGAN(seed=0)
    return model, model.save_pretrained(tmp_path_factory.mktemp("biggan-deep-toy"))


@pytest.mark.parametrize("truncation", [0.4, 0.5, 1.0])  # interpolated statistics, an exact entry, the last
def test_biggan_repo_matches_the_project(biggan, truncation):
    model, folder = biggan
    g = load_generator(str(folder), arch="biggan", options={"truncation": truncation})
    spec = g.spec
    assert (spec.nz, spec.n_classes, spec.image_shape) == (8, 5, (3, 32, 32))
    assert spec.native_prior == "truncated_normal" and spec.native_prior_range == (-2.0, 2.0)
    assert spec.native_prior_scale == truncation and spec.differentiable_codes
    z = torch.randn(5, 8, generator=torch.Generator().manual_seed(4))
    d = torch.eye(5)
    z_native = g.to_native_z(z)
    assert z_native.abs().max() <= 2 * truncation
    with torch.no_grad():
        expected = model(z_native, d, truncation)
    torch.testing.assert_close(ganinv_images_native(g, z, d), expected, rtol=0, atol=ATOL)


def test_biggan_without_arch_or_truncation_is_detected_and_warns(biggan, tmp_path):
    model, folder = biggan
    with pytest.warns(UserWarning, match="truncation=0.4"):
        g = load_generator(str(folder))
    assert g.meta["architecture"] == "biggan" and g.spec.native_prior_scale == 1.0
    z, d = torch.randn(2, 8, generator=torch.Generator().manual_seed(5)), torch.eye(5)[[1, 3]]
    with torch.no_grad():
        expected = model(g.to_native_z(z), d, 1.0)
    torch.testing.assert_close(ganinv_images_native(g, z, d), expected, rtol=0, atol=ATOL)
    reloaded = load_generator(str(save_generator(g, tmp_path / "saved")))
    assert reloaded.spec == g.spec
    torch.testing.assert_close(ganinv_images_native(reloaded, z, d), expected, rtol=0, atol=ATOL)


def test_biggan_codes_are_differentiable(biggan):
    _, folder = biggan
    g = load_generator(str(folder), arch="biggan", options={"truncation": 0.4})
    z = torch.randn(2, 8, requires_grad=True)
    d = torch.full((2, 5), 0.2, requires_grad=True)  # a soft one-hot
    g(z, None, d).square().sum().backward()
    assert torch.isfinite(d.grad).all() and d.grad.abs().sum() > 0 and torch.isfinite(z.grad).all()


def test_biggan_config_that_disagrees_with_the_weights_is_an_error(biggan, tmp_path):
    model, _ = biggan
    folder = model.save_pretrained(tmp_path / "repo")
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "z_dim": 128}))
    with pytest.raises(ArchitectureError, match=r"z_dim=128.*z_dim=8"):
        load_generator(str(folder), arch="biggan", options={"truncation": 0.4})
    (folder / "config.json").write_text(json.dumps({**config, "output_dim": 64}))
    with pytest.raises(ArchitectureError, match="output_dim=64"):
        load_generator(str(folder), arch="biggan", options={"truncation": 0.4})
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ArchitectureError, match=r"truncation must be in \(0, 1\]"):
        load_generator(str(folder), arch="biggan", options={"truncation": 1.5})


# ---- neither claims another layout --------------------------------------------------------------


def test_the_families_refuse_other_weights_and_each_other(lightweight, biggan):
    dcgan = zoo.case("pytorch-examples-dcgan").build().state_dict()
    lw, bg = lightweight.state_dict(), biggan[0].state_dict()
    for arch, foreign in (("biggan", dcgan), ("biggan", lw), ("lightweight_gan", dcgan), ("lightweight_gan", bg)):
        with pytest.raises(ArchitectureError, match="not a"):
            architectures.get(arch).infer_options(foreign, {})


# ---- an outside audit's files: what the sprint's configs say, bf16 folds, damaged or pickled families -----------


def test_lightweight_gan_trainer_defaults_that_build_nothing_agree_with_the_weights(tmp_path):
    """The sprint's defaults `attn_res_layers=[32]` and `freq_chan_attn=true` build nothing in a 32-px net (no
    layer takes 32-px input; no excitation gate below 128 px): the project builds exactly the weights' net from that
    config, so ganinv must not refuse it (it did, also blaming fmap_max, which the weights never state)."""
    gan = zoo.HugGANLightweightGAN(seed=1, image_size=32, attn_res_layers=())
    torch.save({"GAN": gan.state_dict()}, tmp_path / "pytorch_model.bin")
    config = gan.huggan_config(attn_res_layers=[32], freq_chan_attn=True)
    (tmp_path / "config.json").write_text(json.dumps(config))
    g = load_generator(str(tmp_path))
    assert g.meta["architecture"] == "lightweight_gan" and g.meta["options"]["attn_res_layers"] == []
    z = torch.randn(3, 16, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(ganinv_images_native(g, z), gan.sample(z), rtol=0, atol=ATOL)
    (tmp_path / "config.json").write_text(json.dumps({**config, "attn_res_layers": [8], "latent_dim": 32}))
    with pytest.raises(ArchitectureError) as refused:  # a real disagreement is still one, and names only it
        load_generator(str(tmp_path))
    assert "latent_dim" in str(refused.value) and "fmap_max" not in str(refused.value)


def test_biggan_in_bfloat16_folds_its_spectral_norm_as_the_author_computes_it(biggan, tmp_path):
    """The author's module loads a bf16 file into float32 and divides there; rounding the folded weight back to
    bf16 was off by 1e-3."""
    model, folder = biggan
    half = tmp_path / "bf16"
    half.mkdir()
    (half / "config.json").write_text((folder / "config.json").read_text())
    state = {k: v.to(torch.bfloat16) if v.is_floating_point() else v for k, v in model.state_dict().items()}
    torch.save(state, half / "pytorch_model.bin")
    author = zoo.PretrainedBigGAN(seed=0)
    author.load_state_dict(state)  # what the author's float32 module computes from that file
    author.eval()
    g = load_generator(str(half), arch="biggan", options={"truncation": 0.4})
    z, d = torch.randn(5, 8, generator=torch.Generator().manual_seed(4)), torch.eye(5)
    with torch.no_grad():
        expected = author(g.to_native_z(z), d, 0.4)
    torch.testing.assert_close(ganinv_images_native(g, z, d), expected, rtol=0, atol=ATOL)


def test_biggan_with_a_spectral_norm_vector_of_the_wrong_length_is_named(biggan, tmp_path):
    model, _ = biggan
    state = dict(model.state_dict())
    state["generator.gen_z.weight_u"] = torch.randn(state["generator.gen_z.weight_u"].shape[0] + 1)
    torch.save(state, tmp_path / "damaged.bin")
    with pytest.raises(
        ArchitectureError, match=r"damaged.bin: generator\.gen_z\.weight_orig .*weight_u \(\d+,\).*damaged"
    ):
        load_generator(str(tmp_path / "damaged.bin"), options={"truncation": 0.4})


@pytest.mark.parametrize("family", ["lightweight_gan", "biggan"])
def test_a_whole_pickled_module_of_a_family_that_reads_every_layer_loads(lightweight, biggan, family, tmp_path):
    """Their layers (GLU, blur, attention, BigGAN's batch norm) are not the DCGAN family's, and a pickled module's
    records named them as unmodelled: the file was refused, though its keys give the net exactly."""
    path = tmp_path / "pytorch_model.bin"
    module, options = (lightweight.GE, {}) if family == "lightweight_gan" else (biggan[0], {"truncation": 0.4})
    torch.save(module, path)  # torch.save(model): read as data, its class never imported
    g = load_generator(str(path), options=options)
    assert g.meta["architecture"] == family
    z = torch.randn(5, g.spec.nz, generator=torch.Generator().manual_seed(3))
    d = torch.eye(5) if family == "biggan" else None
    with torch.no_grad():
        expected = (
            lightweight.sample(g.to_native_z(z)) if family == "lightweight_gan" else module(g.to_native_z(z), d, 0.4)
        )
    torch.testing.assert_close(ganinv_images_native(g, z, d), expected, rtol=0, atol=ATOL)
