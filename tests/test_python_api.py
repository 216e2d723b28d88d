"""The Python API reads images as the command line does (audit 8: a notebook's [0, 255] floats, torchvision's [0, 1]
tensors and uint8 arrays were all taken as [-1, 1] in silence, latents off by up to 585)."""

import numpy as np
import pytest
import torch
import zoo

import ganinv
from ganinv.errors import DataError
from ganinv.inverter import Inverter


@pytest.fixture(scope="module")
def inverter():
    generator = zoo.linear_generator()
    torch.manual_seed(0)
    return Inverter.for_generator(generator, width=8, hidden=32).eval()


@pytest.fixture(scope="module")
def digits():
    """Images as a notebook holds them: uint8 (N, 1, 16, 16) with black background and bright strokes."""
    g = torch.Generator().manual_seed(3)
    return (torch.rand(6, 1, 16, 16, generator=g) ** 4 * 255).round().to(torch.uint8)


def as_unit(u8: torch.Tensor) -> torch.Tensor:
    return u8.float() / 127.5 - 1


def test_every_common_form_of_the_same_images_gives_the_same_latents(inverter, digits):
    expected = inverter.encode(as_unit(digits)).mu_z
    forms = {
        "uint8": digits,
        "float [0, 255]": digits.float(),
        "float64 [0, 255]": digits.double(),
        "numpy uint8": digits.numpy(),
        "channels-last": digits.permute(0, 2, 3, 1),
        "grey without a channel axis": digits[:, 0],
    }
    for name, images in forms.items():
        torch.testing.assert_close(inverter.encode(images).mu_z, expected, atol=1e-5, rtol=0, msg=name)
    with pytest.warns(UserWarning, match=r"as images in \[0, 1\].*input_range=\(-1, 1\)"):
        from_unit = inverter.encode(digits.float() / 255).mu_z  # torchvision's ToTensor
    torch.testing.assert_close(from_unit, expected, atol=1e-5, rtol=0)
    one = inverter.encode(digits[0].float()).mu_z  # a single (C, H, W) image
    torch.testing.assert_close(one, expected[:1], atol=1e-5, rtol=0)
    declared = inverter.encode(digits.float() / 255, input_range=(0, 1)).mu_z  # no warning when declared
    torch.testing.assert_close(declared, expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize(
    "images, message",
    [
        (torch.full((2, 1, 16, 16), float("nan")), "NaN or infinite"),
        (torch.full((2, 1, 16, 16), 1000.0), r"fit none of the pixel ranges.*input_range=\(LO, HI\)"),
        (torch.zeros(2, 3, 16, 16), r"shape \(2, 3, 16, 16\), not \(N, 1, 16, 16\)"),
        (torch.zeros(0, 1, 16, 16), "hold no image"),
        ([torch.zeros(1, 16, 16)], "must be a torch tensor or numpy array"),
        (np.zeros((2, 1, 16, 16), dtype=object), "numpy array of object, not pixel values"),
        (torch.zeros(2, 1, 16, 16, dtype=torch.complex64), "complex numbers, not pixel values"),
    ],
)
def test_images_the_api_cannot_read_are_one_clear_error(inverter, images, message):
    for call in (inverter.encode, lambda x: ganinv.invert(inverter, x), lambda x: ganinv.log_likelihood(inverter, x)):
        with pytest.raises(DataError, match=message):
            call(images)


def test_invert_and_log_likelihood_read_uint8_as_the_cli_does(inverter, digits):
    unit = as_unit(digits)
    torch.testing.assert_close(ganinv.invert(inverter, digits).latents.z, ganinv.invert(inverter, unit).latents.z)
    rng = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    from_bytes = ganinv.log_likelihood(inverter, digits, ks=(1, 4), generator=rng())
    from_unit = ganinv.log_likelihood(inverter, unit, ks=(1, 4), generator=rng())
    torch.testing.assert_close(from_bytes.elbo, from_unit.elbo)


def test_log_likelihood_uses_the_sigma_the_inverter_was_fitted_with(digits):
    """It used 0.1 for every inverter: on builtin:mnist's (fitted at 0.3) an ELBO of -2550 against the CLI's -252."""
    generator = zoo.linear_generator()
    torch.manual_seed(0)
    fitted = Inverter.for_generator(generator, width=8, hidden=32, sigma_x=0.3).eval()
    rng = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    default = ganinv.log_likelihood(fitted, digits, ks=(1,), generator=rng())
    explicit = ganinv.log_likelihood(fitted, digits, ks=(1,), sigma_x=0.3, generator=rng())
    torch.testing.assert_close(default.elbo, explicit.elbo)
    assert default.sigma_x == 0.3


def test_api_misuse_names_the_python_way():
    """load_images(array) printed the whole array; FitConfig(generator=G) its multi-line repr (audit 8)."""
    from ganinv.errors import ConfigError

    with pytest.raises(DataError, match=r"not a ndarray; images already in memory go straight to Inverter.encode"):
        ganinv.load_images(np.zeros((2, 1, 8, 8)))
    with pytest.raises(ConfigError, match=r"got a Generator \(a loaded model goes to the function instead: fit\("):
        ganinv.FitConfig(generator=zoo.linear_generator())


def test_sources_may_be_paths_and_nothing_else(tmp_path):
    """Audit 19a: `load_generator(Path(...))` was an AttributeError and `Inverter.load(Path(...))` called the intact
    artifact damaged ("download it again"), though `save_pretrained` and `fit` take paths."""
    from pathlib import Path

    from ganinv.errors import ConfigError
    from ganinv.sources import BUILTIN_DIR, load_generator

    folder = BUILTIN_DIR / "mnist"
    assert load_generator(Path(folder)).spec == load_generator(str(folder)).spec
    assert isinstance(Inverter.load(Path(folder) / "inverter"), Inverter)
    for wrong in (3, None, ["builtin:mnist"]):
        with pytest.raises(ConfigError, match="source must be a string or a path"):
            load_generator(wrong)
        with pytest.raises(ConfigError, match="source must be a string or a path"):
            Inverter.load(wrong)
