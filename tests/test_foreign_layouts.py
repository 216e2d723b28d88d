"""Files that are not a noise-to-image generator ganinv reads are refused saying what they are, not loaded as one."""

import pytest
import torch
import zoo
from torch import nn

from ganinv.errors import ArchitectureError, SourceError
from ganinv.sources import load_generator


def trained(net: nn.Module, n_in: int) -> nn.Module:
    """BatchNorm statistics as training leaves them."""
    net.train()
    with torch.no_grad():
        for _ in range(4):
            net(torch.rand(32, n_in))
    return net.eval()


@pytest.mark.parametrize(
    "name, net, n_in, said",
    [  # PyTorch-GAN's gan.py discriminator, classifiers, a regressor: chains of Linear layers like an MLP generator
        ("critic", nn.Sequential(nn.Linear(784, 32), nn.LeakyReLU(0.2), nn.Linear(32, 1), nn.Sigmoid()), 784, "1x1x1"),
        ("classifier", nn.Sequential(nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 4)), 784, "1x2x2"),
        ("regressor", nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 3)), 16, "3x1x1"),
        (
            "cifar100",
            nn.Sequential(nn.Linear(3072, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 100)),
            3072,
            "3072 inputs for 100",
        ),
    ],
)
def test_a_chain_of_linear_layers_that_scores_images_is_not_a_generator(tmp_path, name, net, n_in, said):
    """They loaded as `mlp` generators of 1x1 to 10x10 "images", with only the usual assumption warnings."""
    path = tmp_path / f"{name}.pt"
    torch.save(trained(net, n_in).state_dict(), path)
    with pytest.raises(ArchitectureError, match=f"{said}.*looks like a discriminator, classifier or encoder"):
        load_generator(str(path))


def test_a_small_mlp_generator_still_loads(tmp_path):
    """8x8 digits (64 outputs) from a 16-d latent: the smallest images a generator makes are still images. Seeded:
    after `trained`'s 4 batches (momentum 0.1) the running means are a third of their converged values, as an early
    checkpoint's are, and 2 such nets in 40 read as holding a one-hot label and were refused."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(16, 32), nn.BatchNorm1d(32, 0.8), nn.LeakyReLU(0.2), nn.Linear(32, 64), nn.Tanh())
    torch.save(trained(net, 16).state_dict(), tmp_path / "g.pt")
    with pytest.warns(UserWarning):
        g = load_generator(str(tmp_path / "g.pt"))
    assert g.spec.image_shape == (1, 8, 8) and g.spec.nz == 16


def stylegan2_rosinality() -> dict[str, torch.Tensor]:
    return {
        "style.1.weight": torch.randn(8, 8),
        "input.input": torch.randn(1, 8, 4, 4),
        "conv1.conv.weight": torch.randn(1, 8, 8, 3, 3),
        "convs.0.conv.weight": torch.randn(1, 8, 8, 3, 3),
        "to_rgb1.conv.weight": torch.randn(1, 3, 8, 1, 1),
    }


def cyclegan_resnet_generator() -> dict[str, torch.Tensor]:
    return {
        "model.1.weight": torch.randn(8, 3, 7, 7),
        "model.1.bias": torch.randn(8),
        "model.4.weight": torch.randn(16, 8, 3, 3),
        "model.4.bias": torch.randn(16),
    }


def ajbrock_biggan() -> dict[str, torch.Tensor]:
    return {
        "shared.weight": torch.randn(10, 8),
        "linear.weight": torch.randn(64, 8),
        "linear.u0": torch.randn(1, 64),
        "linear.sv0": torch.ones(1),
    }


@pytest.mark.parametrize(
    "make, said",
    [
        (stylegan2_rosinality, "StyleGAN2 generator in rosinality's layout"),
        (ajbrock_biggan, "BigGAN in ajbrock's BigGAN-PyTorch layout"),
        (cyclegan_resnet_generator, "first layer convolves 3-channel images"),
    ],
)
def test_a_layout_no_adapter_reads_is_named_with_the_way_to_load_it(tmp_path, make, said):
    torch.save(make(), tmp_path / "weights.pt")
    with pytest.raises(ArchitectureError) as refused:
        load_generator(str(tmp_path / "weights.pt"))
    message = str(refused.value)
    assert said in message and "module:callable" in message and "--model-class" in message
    assert "Tried:" not in message  # not every adapter's reason: the one that says what the file is


def test_a_generator_whose_latent_is_wider_than_its_images_still_loads(tmp_path):
    """A tutorial GAN on 8x8 digits: 100-d noise -> 128 -> 64 values. Its latent outnumbers its pixels, but its hidden
    layer is wider still, as no critic's is."""
    net = nn.Sequential(nn.Linear(100, 128), nn.BatchNorm1d(128, 0.8), nn.LeakyReLU(0.2), nn.Linear(128, 64), nn.Tanh())
    torch.save(trained(net, 100).state_dict(), tmp_path / "g.pt")
    with pytest.warns(UserWarning):
        g = load_generator(str(tmp_path / "g.pt"))
    assert g.spec.image_shape == (1, 8, 8) and g.spec.nz == 100


# ---- a moving average kept as the generator's named parameters alone (no BatchNorm statistics) --------------------
CASE = zoo.case("pytorch-examples-dcgan")
GIVEN = {"strides": "1,2,2,2", "paddings": "0,1,1,1", "activation": "relu"}  # the entry is the point, not the search


def online_and_average() -> tuple[nn.Module, dict[str, torch.Tensor], nn.Module]:
    """(the online generator, a hand-written EMA of it as `{name: parameter}`, the module its author samples from:
    the online one with the averaged parameters copied in, as an EMA's `copy_to` does; its buffers stay)."""
    online = CASE.build(seed=0)
    noise = torch.Generator().manual_seed(3)
    average = {k: v.detach() + 0.01 * torch.randn(v.shape, generator=noise) for k, v in online.named_parameters()}
    sampled = CASE.build(seed=0)
    with torch.no_grad():
        for name, parameter in sampled.named_parameters():
            parameter.copy_(average[name])
    return online, average, sampled


def same_images(g, module: nn.Module) -> None:
    latents = zoo.latents_for(CASE, 6)
    with torch.no_grad():
        torch.testing.assert_close(g.decode(latents), CASE.reference(module, latents), rtol=0, atol=1e-6)


def test_an_average_of_parameters_alone_takes_the_batchnorm_statistics_of_the_generator_beside_it(tmp_path):
    """Audit 24a F3: `{"generator": G.state_dict(), "generator_ema": {named parameters}}` was taken as the moving
    average, then refused as a net of InstanceNorm or GroupNorm layers needing --model-class. The average goes on the
    generator's layers with that generator's statistics, as its author's copy_to does, and that is said."""
    online, average, sampled = online_and_average()
    critic = {"main.0.weight": torch.randn(4, 3, 4, 4)}
    path = tmp_path / "checkpoint.pth"
    torch.save({"generator": online.state_dict(), "generator_ema": average, "discriminator": critic}, path)
    said = r"using generator_ema, the moving average .* with the BatchNorm statistics of generator .*add #generator "
    with pytest.warns(UserWarning, match=said):
        g = load_generator(str(path), options=GIVEN)
    assert g.meta["ema"] and g.meta["entry"] == "generator_ema", g.meta
    same_images(g, sampled)
    same_images(load_generator(f"{path}#generator", options=GIVEN), online)
    with pytest.warns(UserWarning, match=r"generator_ema holds the generator's parameters without their BatchNorm"):
        same_images(load_generator(f"{path}#generator_ema", options=GIVEN), sampled)


def test_an_average_of_parameters_alone_that_does_not_line_up_with_the_generator_is_refused(tmp_path):
    """Its parameters must be the generator's, name for name and shape for shape, to take its statistics."""
    online, average, _ = online_and_average()
    average["main.0.weight"] = average["main.0.weight"][:, :-1]  # another net's first layer
    torch.save({"generator": online.state_dict(), "generator_ema": average}, tmp_path / "checkpoint.pth")
    with pytest.raises(
        SourceError, match=r"generator_ema holds .*do not line up with the parameters of generator .*#gen"
    ):
        load_generator(str(tmp_path / "checkpoint.pth"), options=GIVEN)


def test_a_lightning_callbacks_average_of_parameters_alone_is_taken_with_the_generators_statistics(tmp_path):
    """Audit 24a F3b: a Lightning checkpoint whose EMA callback keeps the average as named parameters alone
    (`callbacks.EMACallback.shadow`) loaded the online weights without a word, images 1.3 from the author's. Audit
    39a: an average is preferred wherever it is kept, as the README promises; a callback's too. It is taken with the
    generator's BatchNorm statistics, and the online weights are named with their #ENTRY."""
    online, average, sampled = online_and_average()
    checkpoint = {
        "state_dict": {f"generator.{k}": v for k, v in online.state_dict().items()},
        "callbacks": {"EMACallback": {"shadow": average, "decay": 0.999}},
        "hyper_parameters": {"latent_dim": CASE.nz},
    }
    path = tmp_path / "last.ckpt"
    torch.save(checkpoint, path)
    said = (
        r"using callbacks.EMACallback.shadow, the moving average .* with the BatchNorm statistics of "
        r"state_dict.generator .*add #state_dict.generator to"
    )
    with pytest.warns(UserWarning, match=said):
        g = load_generator(str(path), options=GIVEN)
    same_images(g, sampled)
    same_images(load_generator(f"{path}#state_dict.generator", options=GIVEN), online)
    with pytest.warns(UserWarning, match=r"using them with the statistics of state_dict.generator"):
        g = load_generator(f"{path}#callbacks.EMACallback.shadow", options=GIVEN)
    same_images(g, sampled)
