"""Files that are not a noise-to-image generator ganinv reads are refused saying what they are, not loaded as one."""

import pytest
import torch
from torch import nn

from ganinv.errors import ArchitectureError
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
    """8x8 digits (64 outputs) from a 16-d latent: the smallest images a generator makes are still images."""
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
