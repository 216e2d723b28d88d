"""Generators saved with spectral norm or weight norm on their layers (SNGAN, SAGAN-style generators): the state
dict holds the pieces each weight is computed from, which are folded into the weights the module uses in eval mode."""

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrizations, parametrize, spectral_norm, weight_norm
from zoo import Case, ExamplesDCGAN, PyTorchGANMLP, calibrate, case, latents_for

from ganinv.errors import ArchitectureError
from ganinv.sources import load_generator
from ganinv.weight_parametrizations import fold_parametrizations

WRAPPERS = {
    "spectral_norm": spectral_norm,
    "parametrizations.spectral_norm": parametrizations.spectral_norm,
    "weight_norm": weight_norm,
    "parametrizations.weight_norm": parametrizations.weight_norm,
}


def wrapped(module: nn.Module, wrap, layer_types=(nn.ConvTranspose2d, nn.Linear)) -> nn.Module:
    for child in list(module.modules()):
        for child_name, layer in list(child.named_children()):
            if isinstance(layer, layer_types):
                setattr(child, child_name, wrap(layer))
    return module


@torch.no_grad()
def trained(module: nn.Module, make_inputs, steps: int = 40) -> nn.Module:
    """Run the power iteration as training would (each training-mode forward is one step), then leave BatchNorm
    statistics as `calibrate` does."""
    module.train()
    for i in range(steps):
        module(*make_inputs(i))
    return module


@pytest.mark.filterwarnings("ignore::FutureWarning")  # torch.nn.utils.weight_norm is deprecated
@pytest.mark.parametrize("wrap", list(WRAPPERS))
@pytest.mark.parametrize(
    "name, make", [("pytorch-examples-dcgan", ExamplesDCGAN), ("pytorch-gan-wgan-gp-mlp", PyTorchGANMLP)]
)
def test_a_generator_with_normalised_weights_loads_as_its_eval_module(tmp_path, wrap, name, make):
    c = case(name)
    torch.manual_seed(0)
    module = wrapped(make(), WRAPPERS[wrap])
    trained(module, lambda i: c.inputs(latents_for(c, 64, seed=i)))
    calibrate(module, c)
    path = tmp_path / "netG.pth"
    torch.save(module.state_dict(), path)
    assert any(k.endswith(("_orig", "_g", ".original", ".original0")) for k in torch.load(path))

    g = load_generator(str(path))
    latents = latents_for(c, 16)
    assert torch.allclose(g.decode(latents), c.reference(module, latents), atol=1e-5)


def square_dcgan(wrap) -> nn.Module:
    """A DCGAN whose first transposed convolution maps 16 channels to 16: spectral norm's dimension (1 for a
    transposed convolution) cannot be read off u's length."""
    torch.manual_seed(0)
    return wrapped(ExamplesDCGAN(nz=16, ngf=4), wrap)


@pytest.mark.parametrize("wrap", [spectral_norm, parametrizations.spectral_norm])
def test_a_square_layer_takes_the_dimension_its_u_and_v_are_the_singular_vectors_of(tmp_path, wrap):
    c = Case("square", ExamplesDCGAN, "dcgan", nz=16)
    module = square_dcgan(wrap)
    trained(module, lambda i: c.inputs(latents_for(c, 64, seed=i)))
    calibrate(module, c)
    state_dict = module.state_dict()
    first = next(k for k in state_dict if k.startswith("main.0.") and k.endswith(("weight_orig", "original")))
    assert state_dict[first].shape[0] == state_dict[first].shape[1] == 16

    folded = fold_parametrizations(state_dict, "netG.pth")["main.0.weight"]
    assert torch.allclose(folded, module.main[0].weight, atol=1e-6)  # the eval module's own weight, dim 1

    torch.save(state_dict, tmp_path / "netG.pth")
    latents = latents_for(c, 16)
    assert torch.allclose(
        load_generator(str(tmp_path / "netG.pth")).decode(latents), c.reference(module, latents), atol=1e-5
    )


def test_a_square_layer_whose_u_and_v_never_converged_is_refused_with_the_way_out():
    state_dict = square_dcgan(spectral_norm).state_dict()  # saved before any training step
    with pytest.raises(ArchitectureError, match=r"main\.0\.weight_orig.*cannot be told.*remove_spectral_norm"):
        fold_parametrizations(state_dict, "netG.pth")


def test_a_parametrization_other_than_the_two_norms_is_refused_by_name():
    class Symmetric(nn.Module):
        def forward(self, x):
            return x.triu() + x.triu(1).transpose(-1, -2)

    layer = nn.Linear(4, 4)
    parametrize.register_parametrization(layer, "weight", Symmetric())
    state_dict = {f"fc.{k}": v for k, v in layer.state_dict().items()}
    with pytest.raises(ArchitectureError, match=r"fc\.weight is computed by a parametrization .*original.*remove"):
        fold_parametrizations(state_dict, "netG.pth")


def test_spectral_norm_pieces_that_give_no_positive_norm_are_refused_as_damaged():
    layer = spectral_norm(nn.Linear(3, 5))
    trained(layer, lambda i: (torch.randn(8, 3),))
    state_dict = {f"fc.{k}": v for k, v in layer.state_dict().items()}
    state_dict["fc.weight_u"] = -state_dict["fc.weight_u"]
    with pytest.raises(ArchitectureError, match="spectral norm from its stored u, v is -.*damaged"):
        fold_parametrizations(state_dict, "netG.pth")


def test_weights_without_parametrizations_are_returned_as_they_are():
    state_dict = ExamplesDCGAN().state_dict()
    folded = fold_parametrizations(state_dict, "netG.pth")
    assert folded.keys() == state_dict.keys() and all(folded[k] is state_dict[k] for k in state_dict)
