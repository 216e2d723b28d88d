"""The Python API reads images as the command line does (audit 8: a notebook's [0, 255] floats, torchvision's [0, 1]
tensors and uint8 arrays were all taken as [-1, 1] in silence, latents off by up to 585)."""

import numpy as np
import pytest
import torch
import zoo

import ganinv
from ganinv.errors import DataError, SourceError
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


def test_saving_never_replaces_a_folder_of_the_users(tmp_path, inverter):
    """Audit 19a: `save_pretrained` and `save_generator` replace their folder whole (atomically); into a project
    folder they deleted the project, and a file at the path was hidden away and deleted by the next save."""
    from ganinv.errors import GaninvError
    from ganinv.sources import load_generator, save_generator

    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    (project / "thesis.tex").write_text("years of work")
    clone = tmp_path / "clone"  # a git clone of a Hub repo: its .git would go with the folder
    (clone / ".git").mkdir(parents=True)
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    generator = load_generator("builtin:mnist")
    for target in (project, clone, notes):
        with pytest.raises(GaninvError, match="save to a new or empty folder"):
            inverter.save_pretrained(target)
        with pytest.raises(GaninvError, match="save to a new or empty folder"):
            save_generator(generator, target)
    assert (project / "thesis.tex").read_text() == "years of work" and (project / "data").is_dir()
    assert (clone / ".git").is_dir() and notes.read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clone", "notes.txt", "project"]  # nothing hidden left
    inverter.save_pretrained(tmp_path / "saved")  # a saved model's own folder is replaced, as before
    inverter.save_pretrained(tmp_path / "saved")
    save_generator(generator, tmp_path / "generator")
    save_generator(generator, tmp_path / "generator")
    loaded = Inverter.load(str(tmp_path / "saved")).state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in inverter.state_dict().items())


@pytest.mark.parametrize("declared", [(0, float("nan")), (0, float("inf")), (0, 0), (1, 0), (0, 1, 2), 255, ("a", "b")])
def test_a_declared_input_range_is_checked_as_the_cli_checks_it(inverter, digits, declared):
    """Audit 19a: `input_range=(0, nan)` gave NaN posteriors and bounds, `(0, inf)` read every pixel as -1, `(0, 0)`
    was a ZeroDivisionError: the CLI's check of --input-range was never applied to the Python argument."""
    unit = digits.float() / 255
    for call in (inverter.encode, lambda x, **k: ganinv.log_likelihood(inverter, x, ks=(1,), **k)):
        with pytest.raises(DataError, match="input range|input_range"):
            call(unit, input_range=declared)


def test_unit_images_that_dip_below_zero_are_not_read_as_minus_one_to_one(inverter, digits):
    """Audit 19a: one pixel at -0.0006 (resampling overshoot) made [0, 1] images read as [-1, 1] in silence (SSE 31
    became 174). A little below 0 is [0, 1] clamped; [-1, 1] with no value near -1 is said."""
    unit = digits.float() / 255
    dipped = unit.clone()
    dipped[0, 0, 0, 0] = -0.0006
    with pytest.warns(UserWarning, match=r"as images in \[0, 1\] with the values a little outside it clamped"):
        torch.testing.assert_close(inverter.encode(dipped).mu_z, inverter.encode(unit, input_range=(0, 1)).mu_z)
    washed = unit * 1.2 - 0.2  # [-0.2, 1]: [-1, 1] images with no dark pixel, or [0, 1] ones that overshoot a lot
    with pytest.warns(UserWarning, match=r"as images in \[-1, 1\], though no value is near -1"):
        inverter.encode(washed)


@pytest.mark.parametrize("ks", ["256", (1.5,), (2.9,), (True,), (), (0,), [1, "4"]])
def test_sample_sizes_must_be_whole_numbers(inverter, digits, ks):
    """Audit 19a: `ks="256"` computed k = 2, 5, 6 and `(1.5,)` k = 1, in silence."""
    with pytest.raises(ValueError, match="whole numbers >= 1"):
        ganinv.log_likelihood(inverter, digits, ks=ks)
    assert list(ganinv.log_likelihood(inverter, digits, ks=4).iw) == [4]  # one number is (k,)


@pytest.mark.parametrize("sigma_x", [1e-30, 1e-200, 1e6, "0.3", float("nan")])
def test_log_likelihood_takes_the_sigmas_fitting_takes(inverter, digits, sigma_x):
    """Audit 19a: sigma_x 1e-30 gave -inf bounds and 1e-200 a bare "math domain error"."""
    with pytest.raises(ValueError, match="sigma_x must be"):
        ganinv.log_likelihood(inverter, digits, ks=(1,), sigma_x=sigma_x)


def test_refinement_passes_a_single_pass_inverter_lacks_are_refused(inverter, digits):
    """Audit 19a: `encode(x, iterations=1000)` and `invert(..., iterations=1000)` on a single-pass inverter ran one
    pass in silence (the CLI refused it), and 1.5 was taken."""
    assert inverter.refiner is None
    for call in (inverter.encode, lambda x, **k: ganinv.invert(inverter, x, **k)):
        with pytest.raises(ValueError, match="single-pass"):
            call(digits, iterations=1000)
        with pytest.raises(ValueError, match="whole number >= 0"):
            call(digits, iterations=1.5)
        call(digits, iterations=0)


def test_resuming_a_fit_from_python_with_other_options_is_refused(tmp_path):
    """Audit 19a: `fit(config, out, resume=True)` with another lr and sigma_x continued in silence, the run's
    config.json still naming the old ones (the CLI refused the same change)."""
    import dataclasses

    from ganinv.errors import RunError

    config = ganinv.FitConfig(
        generator="builtin:mnist", steps=2, batch_size=4, width=4, hidden=8, eval_every=2, eval_samples=8
    )
    ganinv.fit(config, tmp_path / "run", quiet=True)
    changed = dataclasses.replace(config, steps=4, lr=0.05, dreaming=dataclasses.replace(config.dreaming, sigma_x=0.5))
    with pytest.raises(
        RunError, match=r"started with: dreaming.sigma_x \(the run's 0.1, given 0.5\); lr \(the run's 0.001"
    ):
        ganinv.fit(changed, tmp_path / "run", resume=True, quiet=True)
    ganinv.fit(dataclasses.replace(config, steps=4), tmp_path / "run", resume=True, quiet=True)  # steps may change


def test_an_mvae_reads_images_as_the_inverter_does(digits):
    """Audit 19a: `MVAE.encode` and `reconstruct` took [0, 255] floats and NaN in silence, and uint8, grey batches
    and numpy arrays were raw torch errors."""
    torch.manual_seed(0)
    model = ganinv.MVAE(image_shape=[1, 16, 16], n_components=2, latent_dim=2, s_dim=4, width=4, hidden=8).eval()
    expected = model.encode(as_unit(digits), input_range="model").mu
    for form in (digits, digits.float(), digits.numpy(), digits[:, 0]):
        torch.testing.assert_close(model.encode(form).mu, expected)
    torch.testing.assert_close(model.reconstruct(digits), model.reconstruct(as_unit(digits), input_range="model"))
    with pytest.raises(DataError, match="NaN or infinite"):
        model.encode(torch.full((2, 1, 16, 16), float("nan")))


def test_a_generator_names_the_latents_it_takes():
    """Audit 19a: `G(z)` on a generator with codes, labels for `d`, numpy latents, `sample(0)` were raw torch errors."""
    from ganinv.sources import load_generator

    g = load_generator("builtin:mnist")
    latents = g.sample_latents(3, generator=torch.Generator().manual_seed(0))
    z, c, d = latents.z, latents.c, latents.d
    for call, part in (
        (lambda: g(z), "c is NoneType"),
        (lambda: g(z, c), "d is NoneType"),
        (lambda: g(z[:, :61], c, d), r"z is \(3, 61\) float32"),
        (lambda: g(z, c, d.argmax(1)), r"d is \(3,\) int64"),
        (lambda: g(z.numpy(), c, d), "z is ndarray"),
        (lambda: g(z, c[:2], d), r"c is \(2, 2\)"),
    ):
        with pytest.raises(
            ValueError, match=r"called as G\(z, c, d\) with float tensors z \(N, 62\), c \(N, 2\).*" + part
        ):
            call()
    for n in (0, -1, 4.0):
        with pytest.raises(ValueError, match="n must be a whole number >= 1"):
            g.sample(n)
    torch.testing.assert_close(g(z.double(), c.double(), d.double()), g(z, c, d).double())  # in the latents' dtype


def test_a_generator_refuses_latents_it_cannot_draw_or_hold():
    """Earlier audits: NaN latents gave NaN images without a word; `G.sample(10**12)` was torch's allocator error."""
    from ganinv.sources import load_generator

    g = load_generator("builtin:mnist")
    latents = g.sample_latents(3, generator=torch.Generator().manual_seed(0))
    z, c = latents.z.clone(), latents.c.clone()
    z[1, 5], c[0, 0] = float("nan"), float("inf")
    with pytest.raises(ValueError, match=r"z holds 1 NaN or infinite value\(s\)"):
        g(z, latents.c, latents.d)
    with pytest.raises(ValueError, match=r"c holds 1 NaN"):
        g(latents.z, c, latents.d)
    with pytest.raises(MemoryError, match=r"G.sample\(n=1000000000000\).*do not fit in memory.*batch by batch"):
        g.sample(10**12)


@pytest.mark.parametrize("dtype", [torch.float64, torch.bfloat16])
def test_an_inverter_in_another_dtype_runs_with_the_generator_it_loads(dtype):
    """Audit 19a: after `inverter.double()` (or bfloat16) the generator loaded on first use stayed float32, and
    reconstruct, log_likelihood and invert were dtype errors inside torch."""
    inverter = Inverter.load("builtin:mnist").to(dtype)
    x = torch.rand(2, 1, 28, 28) * 2 - 1
    assert inverter.reconstruct(x, input_range="model").dtype == dtype
    assert torch.isfinite(ganinv.log_likelihood(inverter, x, ks=(1,), input_range="model").elbo).all()
    assert ganinv.invert(inverter, x, refine_steps=1, input_range="model").reconstructions.shape == x.shape


def test_spec_fields_are_checked_not_misread():
    """Audit 19a: a prior range given alone did nothing, "ture" read as False, GeneratorSpec kept
    differentiable_codes="false" (truthy) and read native_output_range="05" as (0, 5)."""
    from ganinv.errors import SourceError
    from ganinv.sources import load_generator

    with pytest.raises(SourceError, match=r"prior is normal; give the prior with it: --prior uniform:LO,HI"):
        load_generator("builtin:mnist", options={"spec.native_prior_range": "0,1"})
    with pytest.raises(SourceError, match="bad value 'ture' for spec field differentiable_codes"):
        load_generator("builtin:mnist", options={"spec.differentiable_codes": "ture"})
    assert (
        load_generator("builtin:mnist", options={"spec.differentiable_codes": "off"}).spec.differentiable_codes is False
    )
    spec = ganinv.GeneratorSpec(nz=4, image_shape=(1, 8, 8))
    with pytest.raises(ValueError, match="differentiable_codes must be true or false"):
        spec.replace(differentiable_codes="false")
    with pytest.raises(ValueError, match="native_output_range must be a list of two numbers"):
        spec.replace(native_output_range="05")


def test_devices_and_argument_types_are_refused_as_the_cli_refuses_them():
    """Audit 19a: meta tensors, device="gpu" / "meta", options as a string or with a dict for `spec`, a string
    generator_ref and generator=3 reached torch's or Python's internals."""
    from ganinv.errors import ConfigError, GaninvError
    from ganinv.sources import load_generator

    inverter = Inverter.load("builtin:mnist")
    with pytest.raises(DataError, match="on the meta device"):
        inverter.encode(torch.zeros(2, 1, 28, 28, device="meta"))
    for device in ("gpu", "meta"):
        with pytest.raises(GaninvError, match=f"--device '{device}' is not"):
            load_generator("builtin:mnist", device=device)
        with pytest.raises(GaninvError, match=f"--device '{device}' is not"):
            Inverter.load("builtin:mnist", device=device)
    with pytest.raises(ConfigError, match="options must be a dict"):
        load_generator("builtin:mnist", options="nz=62")
    with pytest.raises(ConfigError, match=r"options\['spec'\] is the path of a spec file"):
        load_generator("builtin:mnist", options={"spec": {"nz": 62}})
    with pytest.raises(ConfigError, match="generator= takes a source string or a loaded Generator"):
        Inverter.load("builtin:mnist", generator=3)
    with pytest.raises(ValueError, match="generator_ref must be a JSON object"):
        Inverter(spec=inverter.spec.to_dict(), generator_ref="builtin:mnist", width=4, hidden=8)


def test_fit_names_its_argument_mistakes(tmp_path):
    """Audit 19a: a dict for the config was "'dict' object has no attribute 'device'", a file for `out` a bare
    FileExistsError."""
    from ganinv.errors import ConfigError, RunError

    with pytest.raises(ConfigError, match=r"fit\(\) takes a FitConfig, not dict; build one with FitConfig"):
        ganinv.fit({"generator": "builtin:mnist"}, tmp_path / "run")
    (tmp_path / "afile").write_text("mine")
    with pytest.raises(RunError, match="afile exists and is not a folder"):
        ganinv.fit(ganinv.FitConfig(generator="builtin:mnist", steps=1), tmp_path / "afile")
    assert (tmp_path / "afile").read_text() == "mine"


def test_what_the_first_checks_of_this_change_refused_wrongly(tmp_path, inverter, digits):
    """Audit 20a, a review of the checks above: a whole spec (normal prior and its range) was refused as a range
    given alone; saving into a Hub download (.gitattributes, .cache/huggingface) was refused; options saved as the
    CLI's "62" against Python's 62 were a change on resume; numpy whole numbers and bools were refused; DCGAN code's
    (N, nz, 1, 1) latents were refused; [0, 1] images that overshoot on both sides (bicubic) fit no range."""
    from ganinv.config_checks import refuse_changed_config
    from ganinv.errors import RunError
    from ganinv.sources import load_generator

    g = load_generator("builtin:mnist", options={"spec.native_prior": "normal", "spec.native_prior_range": "0,1"})
    download = tmp_path / "download"
    (download / ".cache" / "huggingface").mkdir(parents=True)
    (download / ".gitattributes").write_text("*.safetensors filter=lfs\n")
    inverter.save_pretrained(download)
    assert (download / "model.safetensors").is_file()
    refuse_changed_config("run", {"options": {"nz": "62"}, "lr": 0.001}, {"options": {"nz": 62}, "lr": 1e-3})
    with pytest.raises(RunError, match="options.nz"):
        refuse_changed_config("run", {"options": {"nz": "62"}}, {"options": {"nz": 63}})
    latents, images = g.sample(np.int64(2), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(g(latents.z[:, :, None, None], latents.c, latents.d), images)
    assert list(ganinv.log_likelihood(inverter, digits, ks=np.array([1, 2])).iw) == [1, 2]
    Inverter.load("builtin:mnist", trust_remote_code=np.False_)
    unit = digits.float() / 255
    bicubic = unit * 1.05 - 0.02  # [-0.02, 1.03]
    with pytest.warns(UserWarning, match=r"as images in \[0, 1\] with the values a little outside it clamped"):
        inverter.encode(bicubic)


def test_one_image_without_its_batch_axis_is_read_as_one(inverter, digits):
    """x_test[0] is (H, W), or (H, W, 1): refused with advice (fit_to_shape) that refused it too (audit 31b)."""
    one = digits[0, 0].numpy()  # (16, 16) uint8
    expected = inverter.encode(digits[:1]).mu_z
    for form in (one, one[..., None]):
        torch.testing.assert_close(inverter.encode(form).mu_z, expected)


def test_one_colour_image_for_a_grey_inverter_is_refused_naming_both_readings(inverter, digits):
    """Audit 36b: ToTensor's one RGB image (3, H, W) was read as three grey images, its latents the red, green and
    blue planes', in silence; the file reader refuses the shape as ambiguous. Both remedies run."""
    for n in (3, 4):  # RGB, RGBA
        colour = digits[0].float().div(255).expand(n, -1, -1).clone()  # (n, 16, 16) in [0, 1]
        with pytest.raises(DataError, match=rf"either {n} greyscale images or one {n}-channel image") as refused:
            inverter.encode(colour)
        code = str(refused.value).split(": ")[-1]
        one = eval(code, {"ganinv": ganinv, "x": colour})  # noqa: S307 (the message's own code, as a user runs it)
        assert one.shape == (1, 1, 16, 16)
        torch.testing.assert_close(inverter.encode(one).mu_z, inverter.encode(digits[:1]).mu_z, atol=1e-4, rtol=0)
        assert inverter.encode(colour.unsqueeze(1), input_range=(0, 1)).mu_z.shape[0] == n
    assert inverter.encode(digits[:5, 0]).mu_z.shape[0] == 5  # a grey batch (N, H, W) of another N: read as one
    # review 37a: at another size, both readings' code runs, numpy too (x.unsqueeze(1) was torch's alone)
    grey = np.random.default_rng(0).integers(0, 256, (3, 20, 20), dtype=np.uint8)
    with pytest.raises(DataError) as refused:
        inverter.encode(grey)
    batch, one = str(refused.value).split("their channels: ")[1].split("; or, if it is one 3-channel image: ")
    assert eval(batch, {"ganinv": ganinv, "x": grey}).shape == (3, 1, 16, 16)  # noqa: S307
    assert eval(one, {"ganinv": ganinv, "x": grey}).shape == (1, 1, 16, 16)  # noqa: S307
    last = np.random.default_rng(0).integers(0, 256, (20, 20, 4), dtype=np.uint8)  # one RGBA image, channels last
    with pytest.raises(DataError) as refused:
        inverter.encode(last)
    assert eval(str(refused.value).split(": ")[-1], {"ganinv": ganinv, "x": last}).shape == (1, 1, 16, 16)  # noqa: S307


def test_images_of_another_size_are_told_code_that_converts_them(inverter):
    """encode named fit_to_shape, which refused [0, 255] pixels naming load_images, which takes no arrays: a circle
    (audit 31b). The message's code runs and gives images the inverter takes."""
    rgb = np.random.default_rng(0).integers(0, 256, (4, 20, 20, 3), dtype=np.uint8)  # channels-last, other size
    with pytest.raises(DataError) as refused:
        inverter.encode(rgb)
    code = str(refused.value).split(": ")[-1]
    assert code.startswith("ganinv.data.fit_to_shape(ganinv.data.as_model_images(x, (3, 20, 20)), (1, 16, 16))")
    converted = eval(code, {"ganinv": ganinv, "x": rgb})  # noqa: S307 (the message's own code, as a user runs it)
    assert converted.shape == (4, 1, 16, 16) and inverter.encode(converted).mu_z.shape[0] == 4


@pytest.mark.parametrize("context", [torch.no_grad, torch.inference_mode])
def test_refinement_runs_inside_a_notebooks_no_grad(inverter, digits, context):
    """ganinv.invert(refine_steps > 0) inside torch.no_grad() or inference_mode() failed on torch's own autograd
    error (audit 31b)."""
    expected = ganinv.invert(inverter, digits, refine_steps=2)
    with context():
        within = ganinv.invert(inverter, digits, refine_steps=2)
    torch.testing.assert_close(within.latents.z, expected.latents.z)


def test_features_of_an_image_set_not_in_model_space_are_refused(inverter, digits):
    """An ImageSet built by hand from uint8 or [0, 255] pixels gave features 471 off in silence (audit 31b)."""
    from ganinv.data import ImageSet
    from ganinv.features import inverter_features

    for pixels in (digits, digits.float()):
        with pytest.raises(DataError, match=r"not floats in \[-1, 1\]"):
            inverter_features(inverter, ImageSet(pixels), progress=False)
    with pytest.raises(DataError, match="encode_model_images takes float images"):
        inverter.encode_model_images(digits)


def test_a_read_only_array_raises_no_torch_warning(inverter, digits):
    """np.frombuffer's arrays are read-only: torch warned of undefined behaviour from inside ganinv (audit 31b)."""
    import warnings

    frozen = np.frombuffer(digits.numpy().tobytes(), np.uint8).reshape(digits.shape)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        inverter.encode(frozen)


def test_api_argument_errors_are_ganinvs_own_and_say_what_to_give(inverter, digits):
    """refine_steps=2.5, generator=0 and input_range=np.array(...) ended in torch's or numpy's own errors, and the
    clear ValueErrors were missed by `except GaninvError` (audit 31b); a numpy float sigma was "not a number"."""
    from ganinv.errors import ArgumentError, GaninvError

    assert issubclass(ArgumentError, GaninvError) and issubclass(ArgumentError, ValueError)
    with pytest.raises(ArgumentError, match="refine_steps must be a whole number, got 2.5"):
        ganinv.invert(inverter, digits, refine_steps=2.5)
    with pytest.raises(ArgumentError, match="need refine steps >= 0"):  # a ConfigError alone (an outside audit)
        ganinv.invert(inverter, digits, refine_steps=-1)
    with pytest.raises(ArgumentError, match="trust_remote_code must be True or False"):
        ganinv.load_generator("builtin:mnist", trust_remote_code="false")
    with pytest.raises(ArgumentError, match=r"generator must be a torch.Generator, e\.g\. torch.Generator"):
        inverter.generator.sample_latents(2, generator=0)
    with pytest.raises(ArgumentError, match="generator must be a torch.Generator"):
        inverter.encode(digits).sample(generator=3)
    with pytest.raises(ArgumentError, match="need sample sizes k"):
        ganinv.log_likelihood(inverter, digits, ks=0)
    declared = inverter.encode(digits, input_range=np.array([0, 255])).mu_z
    torch.testing.assert_close(declared, inverter.encode(digits).mu_z)
    bounds = ganinv.log_likelihood(inverter, digits, ks=(1,), sigma_x=np.float32(0.3))
    assert bounds is not None
    # the wrong kind of object, and counts that ran or met Python's own errors (an outside audit, 53c)
    assert len(inverter.generator.sample_latents(torch.tensor(3))) == 3  # a 0-d integer tensor is a count (54a)
    for call, said in (
        (lambda: ganinv.invert("builtin:mnist", digits), r"inverter must be an Inverter \(ganinv.Inverter.load"),
        (lambda: ganinv.log_likelihood(inverter.generator, digits), "inverter must be an Inverter"),
        (lambda: ganinv.save_generator("builtin:mnist", "unused"), "generator must be a Generator"),
        (lambda: ganinv.log_likelihood(inverter, digits, ks=(1, 2), max_enumerate=-1), "max_enumerate must be a whole"),
        (lambda: ganinv.log_likelihood(inverter, digits, ks=(1,), chunk_size=2.5), "chunk_size must be a whole number"),
        (lambda: inverter.generator.sample_latents(-1), "n must be a whole number >= 0, got -1"),
        (lambda: inverter.generator.sample_latents(True), "n must be a whole number"),
        (lambda: inverter.generator.sample_latents(torch.tensor(2.5)), "n must be a whole number"),
        (lambda: ganinv.load_generator("builtin:mnist", probe="no"), "probe must be True or False, got 'no'"),
        (lambda: ganinv.log_likelihood(inverter, digits, ks=(1,), progress="yes"), "progress must be True or False"),
    ):
        with pytest.raises(ArgumentError, match=said):
            call()


def test_a_mistyped_run_folder_read_as_a_hub_id_says_it_is_no_folder_here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no folder runs/ here: runs/apii reads as owner/name, as from_pretrained reads it
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(SourceError, match=r"^runs/apii is no folder here, and read as a Hub repo id: hub:runs/apii is"):
        Inverter.load("runs/apii")
    with pytest.raises(SourceError, match=r"^hub:runs/apii is not in the local"):  # typed as a Hub id: said as one
        Inverter.load("hub:runs/apii")


def test_an_mvae_asked_of_another_folder_says_whose_config_it_is(tmp_path):
    """An outside audit (53c): `MVAE.from_pretrained` given an inverter's folder (or a run folder) ended in
    "MVAE.__init__() missing 1 required keyword-only argument: 'image_shape'", a TypeError from deep inside."""
    from ganinv.errors import SourceError
    from ganinv.mvae.model import MVAE

    spec = {"nz": 4, "image_shape": [1, 16, 16]}
    ref = {"source": "builtin:mnist", "arch": None, "meta": {}, "options": {}}
    Inverter(spec=spec, generator_ref=ref, width=8, hidden=16).save_pretrained(tmp_path / "inverter")
    with pytest.raises(SourceError, match=r"inverter's config\.json is not an MVAE's .*MVAE\.load\(RUN\)"):
        MVAE.from_pretrained(str(tmp_path / "inverter"))
