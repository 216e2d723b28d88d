"""`ganinv invert`, hybrid refinement and the evaluation metrics (issue 6)."""

import dataclasses
import json
import sys
import warnings

import numpy as np
import pytest
import torch
import zoo
from click.testing import CliRunner
from safetensors import safe_open
from safetensors.torch import load_file
from torch import nn

from ganinv.cli.main import cli
from ganinv.evaluation import generator_directions, latent_recovery, mean_image_baseline, reconstruction_metrics
from ganinv.generator import Generator
from ganinv.invert import generator_preconditioner, invert, refine, warn_if_unlike_the_generator, zero_latents
from ganinv.inverter import Inverter, Posterior
from ganinv.spec import GeneratorSpec, Latents


@pytest.fixture
def generator():
    return zoo.linear_generator()


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32), (3, 64, 64), (1, 128, 128), (3, 96, 96)])
def test_encoders_are_sized_from_the_spec(shape):
    spec = GeneratorSpec(nz=10, image_shape=shape, nc=2, n_classes=5)
    inverter = Inverter(spec=spec.to_dict(), width=8, hidden=16)
    posterior = inverter.encode(torch.zeros(2, *shape))
    assert posterior.mu_z.shape == (2, 10) and posterior.logits_d.shape == (2, 5) and posterior.mu_c.shape == (2, 2)


def test_reconstruction_metrics_by_hand():
    x = -torch.ones(2, 1, 2, 2)  # black
    x_hat = x.clone()
    x_hat[0] = 1.0  # white: error 1 per pixel on [0, 1]
    metrics = reconstruction_metrics(x, x_hat)
    assert metrics["mse_per_pixel"] == pytest.approx(0.5)  # images with MSE 1 and 0
    assert metrics["sse_per_image"] == pytest.approx(2.0)  # 4 pixels of error 1, and 0
    baseline = mean_image_baseline(torch.stack([-torch.ones(1, 2, 2), torch.ones(1, 2, 2)] * 5))  # ten: a baseline
    assert baseline["mse_per_pixel"] == pytest.approx(0.25) and baseline["psnr"] == pytest.approx(6.0206, rel=1e-4)


def test_latent_recovery_per_dimension():
    torch.manual_seed(0)
    z = torch.randn(4000, 3)
    mu = torch.stack([z[:, 0], 0.5 * z[:, 1], torch.zeros(4000)], dim=1)  # exact, half, nothing
    out = latent_recovery(Latents(z=z), Posterior(mu, torch.zeros_like(mu)))
    assert out["z_variance_recovered_per_dim"] == pytest.approx([1.0, 0.75, 0.0], abs=0.02)
    assert out["z_mse"] == pytest.approx((0 + 0.25 + 1) / 3, abs=0.02)


class Linear(nn.Module):
    """G(z) = W z, reshaped to 1x4x4: J^T J = W^T W everywhere."""

    def __init__(self, weight):
        super().__init__()
        self.weight = nn.Parameter(weight)

    def forward(self, z, c=None, d=None):
        return (z @ self.weight.T).reshape(-1, 1, 4, 4)


def test_generator_directions_of_a_linear_generator():
    torch.manual_seed(0)
    weight = torch.randn(16, 3) * torch.tensor([5.0, 1.0, 0.1])  # columns move the image a lot, some, little
    generator = Generator(Linear(weight), GeneratorSpec(nz=3, image_shape=(1, 4, 4)))
    basis, sensitivity = generator_directions(generator, n=8192)
    expected = torch.linalg.svdvals(weight)
    assert torch.allclose(sensitivity, expected, rtol=0.05)
    top = torch.linalg.svd(weight).Vh[0]
    assert abs(float(basis[:, 0] @ top)) > 0.99
    # recovering only the direction that matters still recovers most of the image-relevant variance
    z = torch.randn(2000, 3)
    mu = torch.outer(z @ basis[:, 0], basis[:, 0])
    out = latent_recovery(Latents(z=z), Posterior(mu, torch.zeros_like(mu)), (basis, sensitivity))
    assert out["z_variance_recovered_by_direction"][0] == pytest.approx(1.0, abs=1e-4)
    assert out["z_variance_recovered_weighted"] > 0.9 > out["z_variance_recovered"]


def test_refine_finds_the_latent_and_is_independent_of_the_batch(generator):
    true, images = generator.sample(6, generator=torch.Generator().manual_seed(1))
    start = zero_latents(generator, 6)
    refined = refine(generator, images, start, steps=300, lr=0.05)
    with torch.no_grad():
        assert reconstruction_metrics(images, generator.decode(refined))["mse_per_pixel"] < 1e-4
    assert torch.allclose(refined.z, true.z, atol=0.05)
    # one image's answer does not depend on which other images share its batch
    alone = refine(generator, images[:2], start[:2], steps=30, lr=0.05)
    together = refine(generator, images, start, steps=30, lr=0.05)
    assert torch.allclose(alone.z, together.z[:2], atol=1e-5)


def test_refinement_projected_past_an_hour_is_said_with_what_shortens_it(generator, monkeypatch):
    """An outside audit (53c): `invert --refine 1000000000000` ran with one start line and nothing more. The pace of
    the first steps projects the whole; past an hour (here: past 0 s) a warning says how long and what to change."""
    inverting = sys.modules["ganinv.invert"]  # (the package's `invert` is the function)
    _, images = generator.sample(4, generator=torch.Generator().manual_seed(1))
    start = zero_latents(generator, 4)
    with pytest.warns(UserWarning, match=r"refining 4 images 12 steps each takes about .* hours.*--refine N"):
        monkeypatch.setattr(inverting, "LONG_TRAINING_S", 0.0)
        refine(generator, images, start, steps=12, lr=0.05, batch_size=2)
    monkeypatch.setattr(inverting, "LONG_TRAINING_S", 3600.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        refine(generator, images, start, steps=12, lr=0.05, batch_size=2)


def test_refine_in_the_generators_directions_beats_plain_adam_on_an_ill_conditioned_generator():
    # the image moves 100x more along one mixed direction than along another: plain Adam, scaling coordinates, crawls
    torch.manual_seed(0)
    mixing = torch.linalg.qr(torch.randn(4, 4))[0]  # directions that mix all coordinates
    weight = torch.linalg.qr(torch.randn(16, 4))[0] @ torch.diag(torch.tensor([20.0, 5.0, 1.0, 0.2])) @ mixing.T
    generator = Generator(Linear(weight), GeneratorSpec(nz=4, image_shape=(1, 4, 4)))
    true, images = generator.sample(8, generator=torch.Generator().manual_seed(1))
    start = zero_latents(generator, 8)
    errors = {}
    for basis in ("generator", "latent"):
        refined = refine(generator, images, start, steps=100, lr=0.1, basis=basis)
        with torch.no_grad():
            errors[basis] = reconstruction_metrics(images, generator.decode(refined))["sse_per_image"]
    assert errors["generator"] < 0.2 * errors["latent"], errors
    assert errors["generator"] < 0.02 * reconstruction_metrics(images, torch.zeros_like(images))["sse_per_image"]


@pytest.mark.parametrize("weight", [torch.zeros(16, 3), torch.full((16, 3), float("nan"))], ids=["ignores z", "nan"])
def test_the_preconditioner_is_the_identity_where_the_generator_shows_no_directions(weight, recwarn):
    generator = Generator(Linear(weight), GeneratorSpec(nz=3, image_shape=(1, 4, 4)))
    assert torch.equal(generator_preconditioner(generator), torch.eye(3))
    said = [str(w.message) for w in recwarn if "latent directions could not be estimated" in str(w.message)]
    assert len(said) == (1 if weight.isnan().any() else 0)  # the fallback for broken gradients is said, once


def test_invert_reports_encoder_and_refined_errors(generator):
    inverter = Inverter.for_generator(generator, width=8, hidden=32)  # untrained: a poor start
    _, images = generator.sample(8, generator=torch.Generator().manual_seed(2))
    result = invert(inverter, images, refine_steps=100)
    metrics = result.metrics
    assert metrics["refined"]["mse_per_pixel"] < 0.2 * metrics["encoder"]["mse_per_pixel"]
    assert result.latents.z.shape == (8, 4) and result.reconstructions.shape == images.shape
    assert not torch.equal(result.encoder_reconstructions, result.reconstructions)
    from_zero = invert(inverter, images, refine_steps=100, start="zero").metrics["refined"]
    assert from_zero["start"] == "zero" and from_zero["mse_per_pixel"] < metrics["encoder"]["mse_per_pixel"]


def test_cli_invert_writes_latents_reconstructions_grid_and_metrics(tmp_path, generator):
    Inverter.for_generator(generator, width=8, hidden=32).save_pretrained(tmp_path / "inverter")
    images = np.random.default_rng(0).integers(0, 256, size=(5, 20, 20), dtype=np.uint8)  # the wrong size
    np.savez(tmp_path / "images.npz", images=images, labels=np.arange(5))
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli,
        [
            "invert",
            "--inverter",
            str(tmp_path / "inverter"),
            str(tmp_path / "images.npz"),
            "--out",
            str(out),
            "--refine",
            "3",
            "--device",
            "cpu",
            "--json",
            "--generator",
            "zoo:linear_generator",
        ],
    )  # code: the user names it
    assert result.exit_code == 0, result.output
    assert "Warning: images converted to the shape the model takes" in result.stderr
    latents = load_file(str(out / "latents.safetensors"))
    assert latents["z"].shape == (5, 4)
    recon = load_file(str(out / "reconstructions.safetensors"))
    assert recon["images"].shape == (5, 1, 16, 16) and recon["labels"].tolist() == [0, 1, 2, 3, 4]
    with safe_open(str(out / "reconstructions.safetensors"), "pt") as file:  # its scale said (an outside audit)
        assert file.metadata()["range"] == "-1,1"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n"] == 5 and metrics["refined"]["steps"] == 3 and "mean_image_baseline" in metrics
    assert metrics["images_from"] == str(tmp_path / "images.npz")  # a dataset's split too: described_source
    assert metrics["refined"]["basis"] == "generator"  # the default, recorded
    assert metrics["images_converted"].endswith("20 x 20 -> 16 x 16 pixels")  # what the errors were measured on
    assert json.loads(result.stdout)["refined"] == metrics["refined"]
    assert (out / "grid.png").stat().st_size > 0
    # the file says what made it: of two inverts to one --out, the last one's result stands (audit 28b F9)
    assert metrics["made_by"] == {
        "inverter": str(tmp_path / "inverter"),
        "generator": "zoo:linear_generator",
        "images": str(tmp_path / "images.npz"),
        "device": "cpu",  # where seconds_per_image were measured (an outside audit, 51b)
        "torch_threads": torch.get_num_threads(),
    }
    assert "made_by" not in json.loads(result.stdout)


@pytest.mark.parametrize(
    "args,message",
    [
        (["--inverter", "{tmp}/nothing", "mnist", "--root", "{tmp}"], "nothing does not exist"),
        (["--inverter", "{tmp}/unfinished/config.json", "mnist", "--root", "{tmp}"], "is a file, not a folder"),
        (["--inverter", "{tmp}", "mnist", "--root", "{tmp}"], "holds no inverter"),
        (
            ["--inverter", "{tmp}/unfinished", "mnist", "--root", "{tmp}"],
            "holds no inverter artifact (a `ganinv fit` run folder; a run writes inverter/ at its end",
        ),
    ],
)
def test_cli_invert_errors_are_one_line(tmp_path, args, message):
    (tmp_path / "unfinished").mkdir()
    (tmp_path / "unfinished" / "config.json").write_text('{"fit": {}}')  # a run folder without inverter/ yet
    result = CliRunner().invoke(cli, ["invert", *[a.format(tmp=tmp_path) for a in args], "--out", str(tmp_path / "o")])
    assert result.exit_code != 0 and message in result.output and "Traceback" not in result.output


def test_an_inverter_given_another_generator_of_the_same_spec_says_so():
    """An outside audit ran `invert --inverter builtin:mnist -g builtin:fashion-mnist` (same spec) with rc 0 and no
    word: MNIST latents decoded by the Fashion generator. The given generator is compared with the recorded one."""
    import warnings

    with pytest.warns(UserWarning, match="'builtin:fashion-mnist' is not the one the inverter builtin:mnist was"):
        Inverter.load("builtin:mnist", generator="builtin:fashion-mnist")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the recorded generator itself: nothing to say
        Inverter.load("builtin:mnist", generator="builtin:mnist")


def test_images_unlike_the_generators_are_said_and_inverted_ones_named(shared_dir):
    """Audit 10b: black-on-white digits (as scans are) inverted at SSE 511 against their mean image's 48, rc 0 and no
    word; `fit` warned of the like, `invert` did not. Audit 17: the inverted ones were named only from ten images on,
    and only by `invert`; one is enough, and features, loglik (and through them cluster-accuracy) name them too."""
    import warnings

    from ganinv.data import load_images
    from ganinv.features import inverter_features
    from ganinv.loglik import log_likelihood
    from ganinv.polarity import InvertedImagesWarning

    inverter = Inverter.load("builtin:mnist")
    digits = load_images("mnist", root=shared_dir / "data" / "mnist", split="test", limit=64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the generator's own kind of images: nothing to say
        invert(inverter, digits.images, input_range="model")
        inverter_features(inverter, digits, progress=False)
        for one in digits.images[:8]:
            invert(inverter, one[None], input_range="model")
    inverted = dataclasses.replace(digits, images=-digits.images)
    with pytest.warns(InvertedImagesWarning, match=r"these 64 images look inverted .* \(255 - x"):
        invert(inverter, inverted.images, input_range="model")
    for one in inverted.images[:8]:
        with pytest.warns(InvertedImagesWarning, match=r"this image looks inverted"):
            invert(inverter, one[None], input_range="model")
    with pytest.warns(InvertedImagesWarning):
        inverter_features(inverter, inverted, progress=False)
    with pytest.warns(InvertedImagesWarning):
        log_likelihood(inverter, inverted.images[:4], ks=(1,), input_range="model")
    pixels = ((inverted.images[:4] + 1) * 127.5).round().to(torch.uint8)  # as a notebook holds scans: uint8
    with pytest.warns(InvertedImagesWarning, match=r"these 4 images look inverted"):  # audit 31b: the API was silent
        inverter.encode(pixels)
    with pytest.warns(InvertedImagesWarning, match=r"these 4 images look inverted"):
        inverter.reconstruct(pixels)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        inverter.encode(((digits.images[:4] + 1) * 127.5).round().to(torch.uint8))
    fresh = Inverter.load("builtin:mnist")  # review 33a: never loaded for the check alone (the random stream moved)
    torch.manual_seed(0)
    expected = torch.rand(2)
    torch.manual_seed(0)
    fresh.encode(pixels)
    assert fresh.__dict__["_generator"] is None
    torch.testing.assert_close(torch.rand(2), expected, rtol=0, atol=0)


def test_images_unlike_the_generators_domain_are_said_from_ten_on(shared_dir):
    """Images that are not inverted but not the generator's kind either (Fashion items for the MNIST generator) are
    said through the mean-image baseline, not named as inverted."""
    from ganinv.data import load_images
    from ganinv.polarity import InvertedImagesWarning

    inverter = Inverter.load("builtin:mnist")
    items = load_images("fashion-mnist", root=shared_dir / "data" / "fashion-mnist", split="test", limit=64).images
    with pytest.warns(UserWarning) as said:
        invert(inverter, items, input_range="model")
    messages = [str(w.message) for w in said]
    assert any("worse than their own mean image" in m for m in messages), messages
    assert not any(issubclass(w.category, InvertedImagesWarning) for w in said), messages


def test_images_resized_while_read_are_recorded_as_converted(tmp_path, generator):
    """Audit 10c: image files of several sizes went straight to the generator's size while read, with a warning, but
    metrics.json said `images_converted: None`."""
    from PIL import Image

    Inverter.for_generator(generator, width=8, hidden=32).save_pretrained(tmp_path / "inverter")
    (tmp_path / "images").mkdir()
    for i, side in enumerate((16, 16, 20)):
        Image.new("L", (side, side), 40 * i).save(tmp_path / "images" / f"{i}.png")
    out = tmp_path / "out"
    args = ["invert", "--inverter", tmp_path / "inverter", tmp_path / "images", "--out", out]
    result = CliRunner().invoke(cli, [*map(str, args), "--generator", "zoo:linear_generator"])
    assert result.exit_code == 0, result.output
    said = json.loads((out / "metrics.json").read_text())["images_converted"]
    assert said is not None and "1 of 3 images differ from the size the model takes 16 x 16" in said


def test_a_few_images_have_no_mean_image_baseline_and_no_warning_of_it():
    """Audit 16 F1: one image (the generator's own sample) was 'worse than its own mean image' (SSE 5.65 against 0),
    blaming its domain and range: the mean of one image is the image."""
    import warnings

    inverter = Inverter.load("builtin:mnist")
    _, own = inverter.generator.sample(12, generator=torch.Generator().manual_seed(3))
    for n in (1, 2, 9):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            metrics = invert(inverter, own[:n], input_range="model").metrics
        assert metrics["mean_image_baseline"] is None and metrics["encoder"]["sse_per_image"] > 0
    assert invert(inverter, own, input_range="model").metrics["mean_image_baseline"]["sse_per_image"] > 0


def test_the_worse_than_the_mean_warning_speaks_python_in_python_and_names_a_short_fit(tmp_path, generator):
    """Audit 30b 7d: after `examples/fit_and_invert.py --steps 20` the Python API warned "are they what the generator
    makes (its domain, its image range: --input-range)?": a flag, not the argument, and not the short fit, which fit's
    own warning names ("train longer (--steps)"). `ganinv invert` keeps its flags."""
    torch.manual_seed(0)
    inverter = Inverter.for_generator(generator, width=8, hidden=16)  # unfitted: the shortest fit of all
    with torch.no_grad():
        for p in inverter.latent_encoder.parameters():
            p.mul_(4)  # far from the mean image, whatever the seed
    _, own = generator.sample(16, generator=torch.Generator().manual_seed(0))
    with pytest.warns(UserWarning, match="worse than their own mean image") as said:
        invert(inverter, own, input_range="model")
    (text,) = [str(w.message) for w in said if "mean image" in str(w.message)]
    assert "train longer: FitConfig(steps=N)" in text and "image range: input_range=)" in text
    assert "--" not in text, text

    metrics = {"encoder": {"sse_per_image": 78.0}, "mean_image_baseline": {"sse_per_image": 51.7}}
    with pytest.warns(UserWarning) as said:
        warn_if_unlike_the_generator(metrics, cli_words=True)
    text = str(said[0].message)
    assert "train longer: `ganinv fit --steps`" in text and "image range: --input-range)" in text
    assert "=" not in text, text

    inverter.save_pretrained(tmp_path / "inverter")
    images = tmp_path / "own.safetensors"
    from safetensors.torch import save_file

    save_file({"images": own.contiguous()}, str(images))
    args = ["invert", "--inverter", tmp_path / "inverter", images, "--out", tmp_path / "out", "--input-range", "-1,1"]
    result = CliRunner().invoke(cli, [*map(str, args), "--generator", "zoo:linear_generator"])
    assert result.exit_code == 0, result.output
    (line,) = [line for line in result.stderr.splitlines() if "mean image" in line]
    assert "(train longer: `ganinv fit --steps`)" in line and "--input-range)" in line, line


def test_a_result_says_which_split_of_a_dataset_its_figures_are_on():
    """`invert`'s results had not said whether a figure was on the validation (train) or the test digits (an outside
    audit); `loglik`'s did."""
    from ganinv.data import described_source

    assert described_source("mnist", "train") == "mnist train"
    assert described_source("fashion-mnist", "test") == "fashion-mnist test"
    assert described_source("digits/", "test") == "digits/"  # files: no split


def test_a_soft_categorical_code_is_said_with_the_errors_of_each_images_one_class():
    """An outside audit: the errors of invert (and refinement, which moves d as free logits) are of a soft d, a mix of
    the classes' inputs that no sample has (refined SSE 1.28; 6.61 with each image's class), unsaid. Both are
    reported: the soft code's, and those of the same latents with d the class it favours."""
    inverter = Inverter.load("builtin:mnist")
    images = inverter.generator.sample(12, generator=torch.Generator().manual_seed(0))[1]
    images = (images + 0.1 * torch.randn(images.shape, generator=torch.Generator().manual_seed(1))).clamp(-1, 1)
    result = invert(inverter, images, refine_steps=3)
    for stage in ("encoder", "refined"):
        said = result.metrics[stage]
        assert said["d"].startswith("soft: a mix of the classes' inputs"), said
    d = result.latents.d
    one_class = Latents(z=result.latents.z, c=result.latents.c, d=torch.eye(10)[d.argmax(dim=1)])
    with torch.no_grad():
        expected = reconstruction_metrics(images, inverter.generator.decode(one_class))
    assert result.metrics["refined"]["with_one_class"] == pytest.approx(expected, rel=1e-5)
    assert result.metrics["refined"]["sse_per_image"] == pytest.approx(
        reconstruction_metrics(images, result.reconstructions)["sse_per_image"], rel=1e-5
    )


def test_a_code_fed_as_integer_labels_is_not_called_soft():
    """A review: a label-conditional program (d fed as integer labels, `differentiable_codes` false) sees one class
    only, yet its d was said "soft", with two equal errors."""
    from ganinv.invert import one_class_metrics

    class Labelled(nn.Module):
        def forward(self, z, c, d):
            return torch.tanh(z[:, :1, None, None].expand(-1, 1, 4, 4) + d.argmax(1)[:, None, None, None])

    spec = GeneratorSpec(nz=2, image_shape=(1, 4, 4), n_classes=3, differentiable_codes=False)
    latents = Latents(z=torch.zeros(2, 2), d=torch.full((2, 3), 1 / 3))
    assert one_class_metrics(Generator(Labelled(), spec), torch.zeros(2, 1, 4, 4), latents, 8) == {}
    soft = dataclasses.replace(spec, differentiable_codes=True)
    assert one_class_metrics(Generator(Labelled(), soft), torch.zeros(2, 1, 4, 4), latents, 8)["d"].startswith("soft")


def test_refinement_can_hold_each_image_at_the_encoders_class():
    """`refine_class="fixed"`: z and c are refined, d stays each image's class of the encoder, one-hot, so the answer is
    a latent the generator's own samples have (the soft d's errors are of a mix of classes' inputs)."""
    inverter = Inverter.load("builtin:mnist")
    images = inverter.generator.sample(8, generator=torch.Generator().manual_seed(0))[1]
    images = (images + 0.1 * torch.randn(images.shape, generator=torch.Generator().manual_seed(1))).clamp(-1, 1)
    with torch.no_grad():
        encoded = inverter.encode(images).mean_latents()
    classes = torch.eye(10)[encoded.d.argmax(dim=1)]  # (8, 10) one-hot of argmax q(d|x)
    result = invert(inverter, images, refine_steps=3, refine_class="fixed")
    assert torch.equal(result.latents.d, classes)
    refined = result.metrics["refined"]
    assert refined["class"] == "fixed" and refined["d"].startswith("fixed") and "with_one_class" not in refined
    with torch.no_grad():
        decoded = reconstruction_metrics(images, inverter.generator.decode(result.latents))
    assert refined["sse_per_image"] == pytest.approx(decoded["sse_per_image"], rel=1e-5)
    # z moved, and no image ended worse than the encoder's answer with its class
    assert not torch.equal(result.latents.z, encoded.z)
    assert refined["sse_per_image"] <= result.metrics["encoder"]["with_one_class"]["sse_per_image"] + 1e-6
    soft = invert(inverter, images, refine_steps=3).metrics["refined"]
    assert soft["class"] == "soft" and soft["d"].startswith("soft")
    with pytest.raises(ValueError, match="refine_class must be one of"):
        invert(inverter, images, refine_steps=3, refine_class="hard")


def test_optimisation_from_zero_for_integer_labels_takes_the_encoders_class():
    """A generator fed integer labels: refinement cannot move its class, and from `start="zero"` the uniform d decoded
    every image as class 0 and was saved uniform. It starts from, keeps and records the encoder's class."""

    class Labelled(nn.Module):
        def forward(self, z, c, d):
            return torch.tanh(z[:, :1, None, None].expand(-1, 1, 4, 4) + d.argmax(1)[:, None, None, None] - 1.0)

    spec = GeneratorSpec(nz=2, image_shape=(1, 4, 4), n_classes=3, differentiable_codes=False)
    inverter = Inverter(spec=spec.to_dict(), width=4, hidden=8)
    inverter.attach(Generator(Labelled(), spec))
    images = torch.tanh(torch.tensor([0.3, -0.2, 0.1])[:, None, None, None].expand(-1, 1, 4, 4) + 1.0)  # class 2's
    with torch.no_grad():
        classes = inverter.encode(images, input_range=(-1, 1)).logits_d.argmax(dim=1)
    result = invert(inverter, images, refine_steps=5, start="zero", input_range=(-1, 1))
    assert torch.equal(result.latents.d.argmax(dim=1), classes) and torch.equal(
        result.latents.d.sum(dim=1), torch.ones(3)
    )
    assert result.metrics["refined"]["d"].startswith("the encoder's class")


def test_invert_command_holds_the_class_when_asked(tmp_path):
    inverter = Inverter.load("builtin:mnist")
    images = inverter.generator.sample(4, generator=torch.Generator().manual_seed(2))[1]
    np.save(tmp_path / "x.npy", images.numpy())
    args = ["invert", "--inverter", "builtin:mnist", str(tmp_path / "x.npy"), "--input-range", "-1,1", "--refine", "2"]
    result = CliRunner().invoke(cli, [*args, "--refine-class", "fixed", "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert metrics["refined"]["class"] == "fixed"
    d = load_file(tmp_path / "o" / "latents.safetensors")["d"]
    assert torch.equal(d.sum(dim=1), torch.ones(4)) and int((d == 1).sum()) == 4
