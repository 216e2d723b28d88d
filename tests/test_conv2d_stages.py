"""A stride-1 Conv2d among transposed convolutions (WassersteinGAN's DCGAN_G with --n_extra_layers) is read as the
Conv2d it is: from the BatchNorm after it, the author's key names, or a pickled module's records; else announced.

An outside audit found it read as a ConvTranspose2d of the same weight shape, in silence: images 1.98 off."""

import warnings

import pytest
import torch
from torch import nn

from ganinv.architectures import AssumptionWarning
from ganinv.sources import load_generator, save_generator
from ganinv.spec import Latents

NZ = 8


def wasserstein_dcgan_g(batchnorm: bool, extra_layers: int = 1) -> nn.Sequential:
    """WassersteinGAN's models/dcgan.py DCGAN_G (or DCGAN_G_nobn), 32 px, extra layers (one by default), its own key
    names."""
    main = nn.Sequential()
    c = 16
    main.add_module(f"initial:{NZ}-{c}:convt", nn.ConvTranspose2d(NZ, c, 4, 1, 0, bias=False))
    if batchnorm:
        main.add_module(f"initial:{c}:batchnorm", nn.BatchNorm2d(c))
    main.add_module(f"initial:{c}:relu", nn.ReLU())
    for _ in range(2):
        main.add_module(f"pyramid:{c}-{c // 2}:convt", nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False))
        if batchnorm:
            main.add_module(f"pyramid:{c // 2}:batchnorm", nn.BatchNorm2d(c // 2))
        main.add_module(f"pyramid:{c // 2}:relu", nn.ReLU())
        c //= 2
    for t in range(extra_layers):  # stages 3, 4, ...
        main.add_module(f"extra-layers-{t}:{c}:conv", nn.Conv2d(c, c, 3, 1, 1, bias=False))
        if batchnorm:
            main.add_module(f"extra-layers-{t}:{c}:batchnorm", nn.BatchNorm2d(c))
        main.add_module(f"extra-layers-{t}:{c}:relu", nn.ReLU())
    main.add_module(f"final:{c}-3:convt", nn.ConvTranspose2d(c, 3, 4, 2, 1, bias=False))
    main.add_module("final:3:tanh", nn.Tanh())
    torch.manual_seed(0)
    with torch.no_grad():
        for layer in main.modules():
            if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):  # a trained net's scale: images span [-1, 1]
                layer.weight.normal_(0, 0.25)
            if isinstance(layer, nn.BatchNorm2d):
                layer.momentum = None  # running statistics: the average over the training batches below
        main.train()
        for i in range(8):
            main(torch.randn(64, NZ, 1, 1, generator=torch.Generator().manual_seed(100 + i)))
    return main.eval()


def save_state_dict(module: nn.Module, path, author_names: bool = True) -> str:
    state = module.state_dict()
    if not author_names:  # keys that say nothing of the layers' kinds: main.0.weight, main.1.running_mean, ...
        index = {name: str(i) for i, (name, _) in enumerate(module.named_children())}
        state = {".".join([index[k.split(".")[0]], *k.split(".")[1:]]): v for k, v in state.items()}
    torch.save(state, path)
    return str(path)


def assert_author_images(g, module):
    z = torch.randn(10, NZ, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(g.decode(Latents(z=z)), module(z[:, :, None, None]), rtol=0, atol=1e-5)


def conv2d_decision(g) -> dict:
    return next(d for d in g.meta["decisions"] if d["property"] == "conv2d_stages")


def test_a_stride_one_conv2d_weight_runs_as_the_transposed_convolution_it_equals():
    from ganinv.adapters.convt import ConvAsTransposed

    conv = nn.Conv2d(4, 6, 3, 1, 0, bias=False)
    held = ConvAsTransposed(4, 6, 3, 1, 2, bias=False)  # padding k - 1 - p
    held.load_state_dict(conv.state_dict())
    x = torch.randn(2, 4, 9, 9)
    torch.testing.assert_close(held(x), conv(x))
    torch.testing.assert_close(held.state_dict()["weight"], conv.weight.detach())  # kept in the Conv2d's layout


@pytest.mark.parametrize("author_names", [True, False], ids=["author-names", "index-names"])
def test_the_batchnorm_after_a_conv2d_stage_decides_its_kind(tmp_path, author_names):
    module = wasserstein_dcgan_g(batchnorm=True)
    g = load_generator(save_state_dict(module, tmp_path / "netG.pth", author_names))
    assert conv2d_decision(g)["value"] == "3"
    assert conv2d_decision(g)["source"].startswith("batchnorm statistics")
    assert_author_images(g, module)


def test_without_batchnorm_the_author_names_decide_and_the_reading_is_announced(tmp_path):
    module = wasserstein_dcgan_g(batchnorm=False)
    path = save_state_dict(module, tmp_path / "netG.pth")
    with pytest.warns(AssumptionWarning, match=r"conv2d_stages 3: assumed: Conv2d at stage 3, as the key names say"):
        g = load_generator(path)
    assert_author_images(g, module)


def test_without_batchnorm_or_names_the_transposed_reading_is_announced_with_the_option(tmp_path):
    module = wasserstein_dcgan_g(batchnorm=False)
    path = save_state_dict(module, tmp_path / "netG.pth", author_names=False)
    with pytest.warns(AssumptionWarning, match=r"conv2d_stages none: assumed: .*--option conv2d_stages=3"):
        g = load_generator(path)
    z = Latents(z=torch.randn(4, NZ, generator=torch.Generator().manual_seed(1)))
    with torch.no_grad():
        assert (g.decode(z) - module(z.z[:, :, None, None])).abs().max() > 0.1  # the assumption matters here
    assert_author_images(load_generator(path, options={"conv2d_stages": "3"}), module)


def test_a_whole_pickled_module_says_which_layer_is_a_conv2d(tmp_path):
    module = wasserstein_dcgan_g(batchnorm=False)
    renamed = nn.Sequential(*module.children())  # index names: only the records tell the kinds
    torch.save(renamed, tmp_path / "whole.pth")
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        g = load_generator(str(tmp_path / "whole.pth"))
    assert not [w for w in said if "conv2d_stages" in str(w.message)]  # the records decided
    assert_author_images(g, module)


def test_a_generator_with_a_conv2d_stage_saves_and_reloads_as_itself(tmp_path):
    module = wasserstein_dcgan_g(batchnorm=True)
    g = load_generator(save_state_dict(module, tmp_path / "netG.pth"))
    save_generator(g, tmp_path / "saved")
    assert_author_images(load_generator(str(tmp_path / "saved")), module)


def test_square_stages_beyond_the_third_are_announced(tmp_path):
    """The statistics are searched for the kind of the first three square stages only (2^3 readings): a fourth was
    read as transposed in silence, and the names' reading (Conv2d at all four) was not among those searched."""
    module = wasserstein_dcgan_g(batchnorm=False, extra_layers=4)  # Conv2d stages 3, 4, 5, 6
    path = save_state_dict(module, tmp_path / "netG.pth", author_names=False)
    with pytest.warns(AssumptionWarning, match=r"later_square_stages 6 ConvTranspose2d: assumed: .*conv2d_stages"):
        load_generator(path)
    assert_author_images(load_generator(path, options={"conv2d_stages": "3,4,5,6"}), module)
    named = save_state_dict(module, tmp_path / "named.pth")
    with pytest.warns(AssumptionWarning, match=r"later_square_stages 6 Conv2d: assumed: .*as the key names say"):
        g = load_generator(named)
    assert conv2d_decision(g)["value"] == "3,4,5,6"
    assert_author_images(g, module)
