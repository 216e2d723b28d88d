"""`--model-class`: a checkpoint loaded into the generator class of its training code, and never run from a file."""

import hashlib
import json
import os

import pytest
import torch
from click.testing import CliRunner
from huggingface_hub import PyTorchModelHubMixin
from safetensors.torch import save, save_file
from torch import nn

from ganinv.cli.main import cli
from ganinv.errors import ArchitectureError, SourceError, UnsafeFileError
from ganinv.inverter import Inverter
from ganinv.model_class import typed_by_user
from ganinv.sources import load_generator


class TinyDCGAN(nn.Module):
    """A training repo's DCGAN: z enters as (N, nz, 1, 1); 1 -> 4 -> 8 pixels."""

    def __init__(self, nz=6, ngf=4, channels=1):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 2, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, channels, 4, 2, 1, bias=False),
            nn.Tanh(),
        )

    def forward(self, z):
        return self.main(z)


class TinyMLP(nn.Module):
    """z as (N, nz), flattened images reshaped by the module; a default nz the checkpoint also has."""

    def __init__(self, latent_dim_default=12, sigmoid=False):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(latent_dim_default, 32),
            nn.LeakyReLU(0.2),
            nn.Linear(32, 64),
            nn.Sigmoid() if sigmoid else nn.Tanh(),
        )

    def forward(self, z):
        return self.net(z).view(-1, 1, 8, 8)


class RawMLP(TinyMLP):
    """No output activation: values of any size."""

    def forward(self, z):
        return self.net[:-1](z).view(-1, 1, 8, 8) * 10


class LabelMLP(nn.Module):
    """A conditional generator: `forward(z, labels)` with integer labels, embedding concatenated to z."""

    def __init__(self, nz=5, n_classes=3):
        super().__init__()
        self.label_emb = nn.Embedding(n_classes, 4)
        self.net = nn.Sequential(nn.Linear(nz + 4, 32), nn.ReLU(), nn.Linear(32, 64), nn.Tanh())

    def forward(self, z, labels):
        return self.net(torch.cat([z, self.label_emb(labels)], 1)).view(-1, 1, 8, 8)


class MarkerGenerator(nn.Module):
    """Code with a visible effect: building it creates the folder `marker`."""

    def __init__(self, marker):
        super().__init__()
        os.makedirs(marker, exist_ok=True)
        self.linear = nn.Linear(4, 256)

    def forward(self, z):
        return torch.tanh(self.linear(z)).view(-1, 1, 16, 16)


def trained(module, inputs_fn):
    """Seeded weights and BatchNorm running statistics as after training."""
    module.train()
    with torch.no_grad():
        for i in range(4):
            module(*inputs_fn(i))
    return module.eval()


def dcgan(seed=0):
    torch.manual_seed(seed)
    return trained(TinyDCGAN(), lambda i: (torch.randn(32, 6, 1, 1),))


def as_class(name, **kwargs):
    options = {"model_class": f"test_model_class:{name}"}
    if kwargs:
        options["model_kwargs"] = json.dumps(kwargs)
    return options


def test_a_class_of_the_training_code_loads_its_checkpoint_exactly(tmp_path):
    module = dcgan()
    torch.save(module.state_dict(), tmp_path / "netG.pth")
    save_file(module.state_dict(), str(tmp_path / "netG.safetensors"))
    z = torch.randn(10, 6)
    for name in ("netG.pth", "netG.safetensors"):
        g = load_generator(str(tmp_path / name), options=as_class("TinyDCGAN", nz=6, ngf=4))
        assert g.spec.nz == 6 and g.spec.image_shape == (1, 8, 8) and g.spec.native_latent_shape == (6, 1, 1)
        assert g.meta["model_class"] == "test_model_class:TinyDCGAN" and g.meta["model_kwargs"] == {"nz": 6, "ngf": 4}
        with torch.no_grad():
            torch.testing.assert_close(g(z), module(z[:, :, None, None]), rtol=0, atol=1e-6)


def test_a_folder_of_a_repos_files_loads_into_the_class(tmp_path):
    """An outside audit (57b): `--model-class` took hub:owner/name but refused the folder `hf download --local-dir`
    makes of the same repo. The folder's weights file is chosen as the Hub repo's is."""
    module = dcgan()
    (tmp_path / "repo").mkdir()
    save_file(module.state_dict(), str(tmp_path / "repo" / "model.safetensors"))
    (tmp_path / "repo" / "README.md").write_text("a generator\n")
    g = load_generator(str(tmp_path / "repo"), options=as_class("TinyDCGAN", nz=6, ngf=4))
    z = torch.randn(4, 6)
    with torch.no_grad():
        torch.testing.assert_close(g(z), module(z[:, :, None, None]), rtol=0, atol=1e-6)


def test_wrapped_and_moving_average_checkpoints(tmp_path):
    live, ema = dcgan(0), dcgan(1)
    torch.save({"epoch": 3, "state_dict": live.state_dict()}, tmp_path / "wrapped.pth")
    torch.save({"G": live.state_dict(), "G_ema": ema.state_dict(), "D": {"w": torch.ones(2)}}, tmp_path / "ema.pth")
    z = torch.randn(6, 6)
    g = load_generator(str(tmp_path / "wrapped.pth"), options=as_class("TinyDCGAN"))
    assert g.meta["entry"] == "state_dict"
    torch.testing.assert_close(g(z), live(z[:, :, None, None]), rtol=0, atol=1e-6)
    with pytest.warns(UserWarning, match="G_ema, the moving average"):
        g = load_generator(str(tmp_path / "ema.pth"), options=as_class("TinyDCGAN"))
    assert g.meta["ema"] is True
    torch.testing.assert_close(g(z), ema(z[:, :, None, None]), rtol=0, atol=1e-6)


def test_nz_from_the_first_layer_and_a_flat_latent(tmp_path):
    torch.manual_seed(0)
    module = TinyMLP().eval()
    torch.save(module.state_dict(), tmp_path / "mlp.pth")
    g = load_generator(str(tmp_path / "mlp.pth"), options=as_class("TinyMLP"))  # no --nz, no nz kwarg
    assert g.spec.nz == 12 and g.spec.native_latent_shape is None and g.spec.native_output_range == (-1.0, 1.0)
    nz = next(d for d in g.meta["decisions"] if d["property"] == "nz")
    assert nz["source"] == "weights: the input size of the first layer net.0"
    z = torch.randn(4, 12)
    torch.testing.assert_close(g(z), module(z), rtol=0, atol=1e-6)


def test_output_range_is_read_from_the_probe_or_refused(tmp_path):
    torch.manual_seed(0)
    sigmoid = TinyMLP(sigmoid=True).eval()
    torch.save(sigmoid.state_dict(), tmp_path / "sigmoid.pth")
    # a Tanh net with bright images has no negative pixel either (audit 13a: read as [0, 1] in silence)
    with pytest.warns(UserWarning, match=r"output_range .*assumed: \[0, 1\] as no pixel is negative.*-1,1"):
        g = load_generator(str(tmp_path / "sigmoid.pth"), options=as_class("TinyMLP", sigmoid=True))
    assert g.spec.native_output_range == (0.0, 1.0)
    z = torch.randn(4, 12)
    torch.testing.assert_close(g(z), sigmoid(z) * 2 - 1, rtol=0, atol=1e-6)
    torch.save(TinyMLP().state_dict(), tmp_path / "raw.pth")
    with pytest.raises(SourceError, match=r"outside \[-1, 1\].*--output-range LO,HI"):
        load_generator(str(tmp_path / "raw.pth"), options=as_class("RawMLP"))
    g = load_generator(str(tmp_path / "raw.pth"), options={**as_class("RawMLP"), "spec.native_output_range": "-20,20"})
    assert g.spec.native_output_range == (-20.0, 20.0)


def test_labels_need_n_classes_and_then_enter_as_integers(tmp_path):
    torch.manual_seed(0)
    module = LabelMLP().eval()
    torch.save(module.state_dict(), tmp_path / "cgan.pth")
    with pytest.raises(SourceError, match=r"takes class labels besides z.*--option n_classes=K"):
        load_generator(str(tmp_path / "cgan.pth"), options=as_class("LabelMLP"))
    g = load_generator(str(tmp_path / "cgan.pth"), options={**as_class("LabelMLP"), "n_classes": "3"})
    assert g.spec.nz == 5 and g.spec.n_classes == 3 and g.spec.differentiable_codes is False
    assert g.meta["labels"] == "index" and not [d for d in g.meta["decisions"] if d["property"] == "labels"]
    z, labels = torch.randn(6, 5), torch.tensor([0, 1, 2, 2, 1, 0])
    torch.testing.assert_close(g(z, d=nn.functional.one_hot(labels, 3).float()), module(z, labels), rtol=0, atol=1e-6)


def test_a_wrong_class_is_one_error_naming_the_keys(tmp_path):
    torch.manual_seed(0)
    torch.save(TinyMLP().state_dict(), tmp_path / "mlp.pth")
    result = CliRunner().invoke(
        cli, ["inspect", str(tmp_path / "mlp.pth"), "--model-class", "test_model_class:TinyDCGAN"]
    )
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert result.exit_code == 2 and len(errors) == 1 and "Traceback" not in result.output, result.output
    assert "missing: main.0.weight" in errors[0] and "unexpected: net.0.weight" in errors[0]
    assert "--model-kwargs" in errors[0]


def test_the_cli_loads_with_model_class_and_kwargs(tmp_path):
    module = dcgan()
    torch.save(module.state_dict(), tmp_path / "netG.pth")
    result = CliRunner().invoke(
        cli,
        [
            "inspect",
            str(tmp_path / "netG.pth"),
            "--json",
            "--model-class",
            "test_model_class:TinyDCGAN",
            "--model-kwargs",
            '{"nz": 6}',
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["spec"]["nz"] == 6 and report["meta"]["model_class"] == "test_model_class:TinyDCGAN"


class MixinDCGAN(TinyDCGAN, PyTorchModelHubMixin):
    """TinyDCGAN published with PyTorchModelHubMixin: save_pretrained writes its init arguments to config.json."""


def test_a_mixin_class_is_built_with_the_config_saved_beside_its_weights(tmp_path, hub):
    """`--model-class` built a PyTorchModelHubMixin class with no arguments, though config.json beside the weights holds
    them, as its from_pretrained reads them (an outside audit, 49b); --model-kwargs still wins; other classes never
    read it."""
    torch.manual_seed(0)
    module = trained(MixinDCGAN(nz=5, ngf=3), lambda i: (torch.randn(32, 5, 1, 1),))
    module.save_pretrained(tmp_path / "repo")
    latents = torch.randn(4, 5, generator=torch.Generator().manual_seed(1))
    expected = module(latents.view(4, 5, 1, 1))
    hub.repos.commit("me/mixin", {p.name: p for p in (tmp_path / "repo").iterdir()})
    for source in (str(tmp_path / "repo" / "model.safetensors"), "hub:me/mixin"):
        with pytest.warns(
            UserWarning,
            match=r'built with the arguments its config.json .* holds, \{"channels": 1, "ngf": 3, "nz": 5\}',
        ):
            g = load_generator(source, options=as_class("MixinDCGAN"))
        torch.testing.assert_close(g(latents), expected, rtol=0, atol=1e-6)
    # given in part, the config fills the rest, as from_pretrained does: it had been dropped without a word (52a)
    with pytest.warns(UserWarning, match=r'holds, \{"channels": 1, "ngf": 3\}, as its from_pretrained does \(--model'):
        g = load_generator(source, options=as_class("MixinDCGAN", nz=5))
    torch.testing.assert_close(g(latents), expected, rtol=0, atol=1e-6)
    with pytest.raises(SourceError, match="size mismatch|shape"):  # the user's word wins over the config's
        load_generator(source, options=as_class("MixinDCGAN", nz=5, ngf=4))
    with pytest.raises(SourceError):  # a plain class reads no config: built with its defaults, the weights do not fit
        load_generator(str(tmp_path / "repo" / "model.safetensors"), options=as_class("TinyDCGAN"))


class MixinRecordingDevices(MixinDCGAN):
    """MixinDCGAN that records the device each build made its weights on."""

    devices: list[str] = []

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        MixinRecordingDevices.devices.append(next(self.parameters()).device.type)


def test_sizes_from_a_mixin_config_are_checked_on_the_meta_device_before_a_real_build(tmp_path):
    """An outside audit (53a): config.json beside the weights sized the user's class for real before any check; an
    `ngf` of 20000 asks for 10^11 parameters. The file's sizes are tried on the meta device first."""
    torch.manual_seed(0)
    MixinDCGAN(nz=5, ngf=3).save_pretrained(tmp_path / "repo")
    (tmp_path / "repo" / "config.json").write_text(json.dumps({"nz": 5, "ngf": 700, "channels": 1}))
    MixinRecordingDevices.devices.clear()
    with pytest.warns(UserWarning, match="built with the arguments its config.json"):
        with pytest.raises(SourceError, match=r"does not fit .*MixinRecordingDevices.*'ngf': 700"):
            load_generator(str(tmp_path / "repo" / "model.safetensors"), options=as_class("MixinRecordingDevices"))
    assert MixinRecordingDevices.devices == ["meta"]


class MixinTakingConfig(nn.Module, PyTorchModelHubMixin):
    """A mixin class whose __init__ takes the config whole: from_pretrained passes it as `config=`."""

    def __init__(self, config: dict):
        super().__init__()
        self.inner = TinyDCGAN(**config)

    def forward(self, z):
        return self.inner(z)


def test_a_mixin_class_taking_config_is_given_it_whole(tmp_path):
    """A class whose __init__ takes `config` got nothing and failed "missing 1 required positional argument: 'config'"
    (a review, 52a); from_pretrained passes the config whole, and so does --model-class."""
    torch.manual_seed(0)
    module = trained(MixinTakingConfig({"nz": 5, "ngf": 3}), lambda i: (torch.randn(32, 5, 1, 1),))
    module.save_pretrained(tmp_path / "repo", config={"nz": 5, "ngf": 3})
    latents = torch.randn(4, 5, generator=torch.Generator().manual_seed(1))
    with pytest.warns(UserWarning, match=r'built with the arguments its config.json .* holds, \{"config": \{'):
        g = load_generator(str(tmp_path / "repo" / "model.safetensors"), options=as_class("MixinTakingConfig"))
    torch.testing.assert_close(g(latents), module(latents.view(4, 5, 1, 1)), rtol=0, atol=1e-6)


@pytest.fixture
def marker(tmp_path):
    path = tmp_path / "code-ran"
    yield path
    assert not path.exists(), "a model class named by a file was built"


def marker_artifact(tmp_path, marker):
    """An inverter artifact (JSON + safetensors) whose generator is weights in MarkerGenerator(marker)."""
    torch.manual_seed(0)
    weights = tmp_path / "weights.pth"
    torch.save(MarkerGenerator(tmp_path / "built-by-the-test").state_dict(), weights)
    ref = {
        "source": str(weights),
        "arch": None,
        "meta": {},
        "options": {**as_class("MarkerGenerator", marker=str(marker))},
    }
    spec = {"nz": 4, "image_shape": [1, 16, 16]}
    Inverter(spec=spec, generator_ref=ref, width=8, hidden=32).save_pretrained(tmp_path / "inverter")
    images = tmp_path / "images.safetensors"
    save_file({"images": torch.rand(3, 1, 16, 16) * 2 - 1}, str(images))
    return tmp_path / "inverter", images


def test_an_artifact_recording_a_model_class_is_refused_without_the_users_word(tmp_path, marker):
    art, images = marker_artifact(tmp_path, marker)
    result = CliRunner().invoke(cli, ["invert", "--inverter", str(art), str(images), "--out", str(tmp_path / "out")])
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert result.exit_code == 2 and len(errors) == 1 and "Traceback" not in result.output, result.output
    assert "model class 'test_model_class:MarkerGenerator' is named by the inverter artifact" in errors[0]
    assert "--model-class test_model_class:MarkerGenerator" in errors[0] and "--trust-remote-code" in errors[0]
    with pytest.raises(UnsafeFileError):  # the Python API holds the same line
        Inverter.load(str(art)).generator


def test_naming_the_class_again_or_trusting_the_artifact_builds_it(tmp_path):
    marker = tmp_path / "code-ran"
    art, images = marker_artifact(tmp_path, marker)
    base = ["invert", "--inverter", str(art), str(images)]
    other = CliRunner().invoke(cli, base + ["--out", str(tmp_path / "a"), "--model-class", "test_model_class:TinyMLP"])
    assert other.exit_code == 2 and not marker.exists()  # naming another class grants nothing
    named = CliRunner().invoke(
        cli, base + ["--out", str(tmp_path / "b"), "--model-class", "test_model_class:MarkerGenerator"]
    )
    assert named.exit_code == 0 and marker.exists(), named.output
    os.rmdir(marker)
    trusted = CliRunner().invoke(cli, base + ["--out", str(tmp_path / "c"), "--trust-remote-code"])
    assert trusted.exit_code == 0 and marker.exists(), trusted.output


def test_a_fitted_inverter_records_the_model_class(tmp_path):
    module = dcgan()
    torch.save(module.state_dict(), tmp_path / "netG.pth")
    run = tmp_path / "run"
    result = CliRunner().invoke(
        cli,
        [
            "fit",
            "-g",
            str(tmp_path / "netG.pth"),
            "--model-class",
            "test_model_class:TinyDCGAN",
            "--model-kwargs",
            '{"nz": 6}',
            "--steps",
            "2",
            "--eval-every",
            "1",
            "--width",
            "4",
            "--hidden",
            "8",
            "--quiet",
            "--out",
            str(run),
        ],
    )
    assert result.exit_code == 0, result.output
    options = json.loads((run / "inverter" / "config.json").read_text())["generator_ref"]["options"]
    assert options["model_class"] == "test_model_class:TinyDCGAN"
    with pytest.raises(UnsafeFileError, match="model class 'test_model_class:TinyDCGAN' is named by"):
        Inverter.load(str(run)).generator


def test_a_benchmark_stage_cannot_name_a_model_class(tmp_path, marker):
    """A --model-class inside a benchmark recipe's stage is the recipe's word, not the user's."""
    torch.manual_seed(0)
    torch.save(MarkerGenerator(tmp_path / "built-by-the-test").state_dict(), tmp_path / "weights.pth")
    kwargs = json.dumps({"marker": str(marker)})
    recipe = tmp_path / "bench.toml"
    recipe.write_text(
        '[[stages]]\nname = "attack"\n'
        f'run = ["sample", "-g", "{tmp_path / "weights.pth"}", "--model-class", '
        f'"test_model_class:MarkerGenerator", "--model-kwargs", {json.dumps(kwargs)}, '
        '"-n", "4", "--out", "{out}/grid.png"]\n'
    )
    result = CliRunner().invoke(cli, ["bench", str(recipe), "--out", str(tmp_path / "bench")])
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert result.exit_code == 2, result.output
    assert any("model class 'test_model_class:MarkerGenerator' is named by the benchmark recipe" in e for e in errors)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"model_kwargs": "{nz: 6}"}, r"--model-kwargs .* is not JSON"),
        ({"model_kwargs": "[6]"}, r"must be a JSON object"),
        ({"model_kwargs": '{"depth": 3}'}, r"TinyDCGAN\(\*\*\{'depth': 3\}\) failed: .*--model-kwargs"),
        ({"n_classes": "ten"}, r"n_classes=ten: give the number of classes"),
        ({"width": "8"}, r"--option width does not apply to --model-class"),
    ],
)
def test_bad_model_options_are_one_clear_error(tmp_path, options, message):
    torch.save(dcgan().state_dict(), tmp_path / "netG.pth")
    with pytest.raises(SourceError, match=message):
        load_generator(str(tmp_path / "netG.pth"), options={**as_class("TinyDCGAN"), **options})
    with pytest.raises(SourceError, match=r"cannot import --model-class test_model_class:Nope"):
        load_generator(str(tmp_path / "netG.pth"), options={"model_class": "test_model_class:Nope"})


def test_typing_the_recorded_source_does_not_adopt_the_artifacts_model_class(tmp_path, marker):
    """The user types -g, the artifact's own source: its recorded options come along, and a model_class among them
    is still the artifact's word (found by an outside audit: the options rode in as if typed)."""
    art, images = marker_artifact(tmp_path, marker)
    weights = json.loads((art / "config.json").read_text())["generator_ref"]["source"]
    for command in (
        ["invert", "--inverter", str(art), str(images), "--out", str(tmp_path / "out"), "-g", weights],
        ["features", "--inverter", str(art), str(images), "--out", str(tmp_path / "f.safetensors"), "-g", weights],
        ["loglik", "--inverter", str(art), str(images), "--k", "1", "-g", weights],
    ):
        result = CliRunner().invoke(cli, command)
        errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
        assert result.exit_code == 2 and len(errors) == 1, (command[0], result.output)
        assert "model class 'test_model_class:MarkerGenerator' is named by the inverter" in errors[0], errors[0]
    with pytest.raises(UnsafeFileError):  # the Python API holds the same line
        Inverter.load(str(art), generator=weights)
    assert not (tmp_path / "out").exists() and not (tmp_path / "f.safetensors").exists()


@pytest.mark.parametrize(
    "beside, typed",
    [
        ("", []),
        # another option beside the class had been answered with advice on the options (an outside audit)
        ('activation = "relu"\n', []),
        # a typed --option merges with the recipe's [options], and the class is still the recipe's word
        ("", ["--option", "activation=relu"]),
    ],
)
def test_a_recipes_options_cannot_name_a_model_class(tmp_path, marker, beside, typed):
    torch.manual_seed(0)
    weights = tmp_path / "weights.pth"
    torch.save(MarkerGenerator(tmp_path / "built-by-the-test").state_dict(), weights)
    recipe = tmp_path / "fit.toml"
    kwargs = json.dumps({"marker": str(marker)})
    recipe.write_text(
        f'steps = 2\n[options]\nmodel_class = "test_model_class:MarkerGenerator"\nmodel_kwargs = {json.dumps(kwargs)}\n'
        + beside
    )
    args = ["fit", "--recipe", str(recipe), "-g", str(weights), "--out", str(tmp_path / "r"), *typed]
    result = CliRunner().invoke(cli, args)
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert result.exit_code == 2 and len(errors) == 1, result.output
    assert "model class 'test_model_class:MarkerGenerator' is named by the recipe" in errors[0], errors[0]


def test_resume_does_not_adopt_a_model_class_written_into_the_run(tmp_path, marker):
    module = dcgan()
    torch.save(module.state_dict(), tmp_path / "netG.pth")
    torch.save(MarkerGenerator(tmp_path / "built-by-the-test").state_dict(), tmp_path / "weights.pth")
    run = tmp_path / "run"
    args = ["fit", "-g", str(tmp_path / "netG.pth"), "--model-class", "test_model_class:TinyDCGAN"]
    args += ["--model-kwargs", '{"nz": 6}', "--steps", "2", "--width", "4", "--hidden", "8", "--quiet"]
    result = CliRunner().invoke(cli, args + ["--out", str(run)])
    assert result.exit_code == 0, result.output
    config = json.loads((run / "config.json").read_text())
    config["fit"].update(
        generator=str(tmp_path / "weights.pth"), options=as_class("MarkerGenerator", marker=str(marker))
    )
    (run / "config.json").write_text(json.dumps(config))
    resumed = ["fit", "--resume", "--out", str(run), "--steps", "3", "-g", str(tmp_path / "weights.pth")]
    result = CliRunner().invoke(cli, resumed)
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert result.exit_code == 2 and len(errors) == 1, result.output
    assert "is named by the run's" in errors[0], errors[0]


class OptionalLabelMLP(LabelMLP):
    """A conditional generator whose labels default to class 0: `forward(z, labels=None)`."""

    def forward(self, z, labels=None):
        return super().forward(z, torch.zeros(len(z), dtype=torch.long) if labels is None else labels)


def test_a_class_whose_labels_have_a_default_is_refused_unless_n_classes_is_given(tmp_path):
    """Left to its default, every image was class 0's, loaded as unconditional in silence (audit 26b)."""
    torch.manual_seed(0)
    torch.save(OptionalLabelMLP().state_dict(), tmp_path / "g.pth")
    with pytest.raises(ArchitectureError, match=r"optional .labels. beside z.*an embedding of 3 rows.*n_classes=0"):
        load_generator(str(tmp_path / "g.pth"), options=as_class("OptionalLabelMLP"))
    g = load_generator(str(tmp_path / "g.pth"), options={**as_class("OptionalLabelMLP"), "n_classes": 3})
    assert g.spec.n_classes == 3
    latents = g.sample_latents(6, generator=torch.Generator().manual_seed(0))
    module = OptionalLabelMLP()
    module.load_state_dict(torch.load(tmp_path / "g.pth"))
    with torch.no_grad():
        torch.testing.assert_close(g.decode(latents), module(latents.z, latents.d.argmax(1)))
    assert (
        load_generator(str(tmp_path / "g.pth"), options={**as_class("OptionalLabelMLP"), "n_classes": 0}).spec.n_classes
        == 0
    )


class OvershootMLP(TinyMLP):
    """A Tanh net whose rounding overshoots 1 by 0.0005 at one pixel: what the generic probe accepts (1e-3)."""

    def forward(self, z):
        x = super().forward(z)
        return torch.cat([x.flatten(1)[:, :1] * 0 + 1.0005, x.flatten(1)[:, 1:]], 1).view_as(x)


def test_a_class_whose_output_overshoots_by_rounding_loads_as_the_generic_probe_allows(tmp_path):
    """Refused as "values in [-0.897, 1], outside [-1, 1]", a message that contradicted itself (audit 26b F9)."""
    torch.manual_seed(0)
    torch.save(OvershootMLP().state_dict(), tmp_path / "g.pth")
    g = load_generator(str(tmp_path / "g.pth"), options=as_class("OvershootMLP"))
    assert g.spec.native_output_range == (-1.0, 1.0)


class MapCDCGAN(nn.Module):
    """znxlwm's MNIST cDCGAN in small: z (N, nz, 1, 1) and a one-hot label map (N, K, 1, 1) through their own
    ConvTranspose2d branches, concatenated; 1 -> 4 -> 8 pixels."""

    def __init__(self, nz=8, n_classes=3, ngf=4):
        super().__init__()
        self.z_branch = nn.Sequential(nn.ConvTranspose2d(nz, ngf, 4, 1, 0), nn.BatchNorm2d(ngf), nn.ReLU())
        self.y_branch = nn.Sequential(nn.ConvTranspose2d(n_classes, ngf, 4, 1, 0), nn.BatchNorm2d(ngf), nn.ReLU())
        self.out = nn.Sequential(nn.ConvTranspose2d(2 * ngf, 1, 4, 2, 1), nn.Tanh())

    def forward(self, input, label):
        return self.out(torch.cat([self.z_branch(input), self.y_branch(label)], 1))


class OneHotMLP(nn.Module):
    """A conditional MLP that concatenates a one-hot label (N, K) to z (N, nz)."""

    def __init__(self, nz=8, n_classes=3):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(nz + n_classes, 32), nn.ReLU(), nn.Linear(32, 64), nn.Tanh())

    def forward(self, z, y):
        return self.net(torch.cat([z, y], 1)).view(-1, 1, 8, 8)


class WideMapCDCGAN(MapCDCGAN):
    """Labels as one-hot maps (N, K, 4, 4), a form ganinv does not feed: its label branch is a 1x1 convolution."""

    def __init__(self, nz=8, n_classes=3, ngf=4):
        super().__init__(nz, n_classes, ngf)
        self.y_branch = nn.Sequential(nn.Conv2d(n_classes, ngf, 1), nn.ReLU())


def map_cdcgan(path):
    torch.manual_seed(0)
    onehot = torch.eye(3)
    module = trained(MapCDCGAN(), lambda i: (torch.randn(32, 8, 1, 1), onehot[torch.arange(32) % 3, :, None, None]))
    torch.save(module.state_dict(), path)
    return module


def test_a_class_taking_one_hot_label_maps_is_fed_them_and_says_so(tmp_path):
    """znxlwm's cDCGAN takes its label as a one-hot map (N, 10, 1, 1): fed integer labels, the probe failed and
    blamed z, and nothing let --model-class feed one-hot labels (audit 30a F2)."""
    module = map_cdcgan(tmp_path / "G.pkl")
    g = load_generator(str(tmp_path / "G.pkl"), options={**as_class("MapCDCGAN"), "n_classes": 3})
    assert g.spec.n_classes == 3 and g.spec.native_latent_shape == (8, 1, 1) and g.spec.image_shape == (1, 8, 8)
    assert g.meta["labels"] == "onehot_map" and g.spec.differentiable_codes is True
    said = next(d for d in g.meta["decisions"] if d["property"] == "labels")
    assert said["value"] == "onehot_map" and said["flag"] == "--option labels=onehot_map"
    latents, images = g.sample(6, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = module(latents.z.view(6, 8, 1, 1), latents.d.view(6, 3, 1, 1))
    torch.testing.assert_close(images, expected, rtol=0, atol=1e-6)
    d = latents.d.clone().requires_grad_(True)  # one-hot labels are d itself: gradients reach it
    g(latents.z, d=d).sum().backward()
    assert d.grad is not None and d.grad.abs().sum() > 0
    given = load_generator(
        str(tmp_path / "G.pkl"), options={**as_class("MapCDCGAN"), "n_classes": 3, "labels": "onehot_map"}
    )
    assert not [d for d in given.meta["decisions"] if d["property"] == "labels"]  # the user's word: not a decision
    torch.testing.assert_close(given.decode(latents), expected, rtol=0, atol=1e-6)


def test_a_class_taking_one_hot_labels_is_fed_d(tmp_path):
    torch.manual_seed(0)
    module = OneHotMLP().eval()
    torch.save(module.state_dict(), tmp_path / "g.pth")
    g = load_generator(str(tmp_path / "g.pth"), options={**as_class("OneHotMLP"), "n_classes": "3"})
    assert g.meta["labels"] == "onehot" and g.spec.differentiable_codes is True and g.spec.nz == 8
    nz = next(d for d in g.meta["decisions"] if d["property"] == "nz")  # a one-hot label concatenated to z
    assert nz["source"] == "weights: the input size of the first layer net.0 less 3 classes"
    latents = g.sample_latents(5, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(g.decode(latents), module(latents.z, latents.d), rtol=0, atol=1e-6)


def test_a_fitted_inverter_reloads_its_generator_with_the_same_label_form(tmp_path):
    module = map_cdcgan(tmp_path / "G.pkl")
    run = tmp_path / "run"
    args = ["fit", "-g", str(tmp_path / "G.pkl"), "--model-class", "test_model_class:MapCDCGAN"]
    args += ["--option", "n_classes=3", "--steps", "2", "--batch-size", "8", "--width", "4", "--hidden", "8"]
    result = CliRunner().invoke(cli, args + ["--quiet", "--out", str(run)])
    assert result.exit_code == 0, result.output
    with typed_by_user("test_model_class:MapCDCGAN"):
        g = Inverter.load(str(run)).generator
    assert g.meta["labels"] == "onehot_map" and g.spec.differentiable_codes is True
    latents = g.sample_latents(4, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        expected = module(latents.z.view(4, 8, 1, 1), latents.d.view(4, 3, 1, 1))
    torch.testing.assert_close(g.decode(latents), expected, rtol=0, atol=1e-6)
    save_file({"images": expected}, str(tmp_path / "images.safetensors"))
    invert = ["invert", "--inverter", str(run / "inverter"), str(tmp_path / "images.safetensors")]
    invert += ["--model-class", "test_model_class:MapCDCGAN", "--out", str(tmp_path / "out")]
    result = CliRunner().invoke(cli, invert)
    assert result.exit_code == 0, result.output
    given = ["inspect", str(tmp_path / "G.pkl"), "--json", "--model-class", "test_model_class:MapCDCGAN"]
    result = CliRunner().invoke(cli, given + ["--option", "n_classes=3", "--option", "labels=onehot_map"])
    assert result.exit_code == 0, result.output  # an option of --model-class, not refused as one that does not apply
    assert json.loads(result.stdout)["meta"]["labels"] == "onehot_map"


def test_labels_in_no_form_ganinv_feeds_are_one_error_naming_them(tmp_path):
    """The error named z (--nz, --latent-shape) where the labels were what the module did not take (audit 30a F2)."""
    torch.manual_seed(0)
    torch.save(WideMapCDCGAN().state_dict(), tmp_path / "G.pth")
    given = {**as_class("WideMapCDCGAN"), "n_classes": 3, "spec.nz": 8, "spec.native_latent_shape": "8,1,1"}
    with pytest.raises(SourceError) as caught:
        load_generator(str(tmp_path / "G.pth"), options=given)
    message = str(caught.value)
    for fed in ("labels (64,), z (8, 1, 1)", "labels (64, 3), z (8, 1, 1)", "labels (64, 3, 1, 1), z (8, 1, 1)"):
        assert fed in message, message
    assert "--option labels=index|onehot|onehot_map" in message and "n_classes=3" in message
    assert "--nz" not in message and "--latent-shape" not in message  # the user gave both: not what failed
    with pytest.raises(SourceError, match=r"labels=maps: give the form .* one of index\|onehot\|onehot_map"):
        load_generator(str(tmp_path / "G.pth"), options={**as_class("WideMapCDCGAN"), "labels": "maps"})
    with pytest.raises(SourceError, match=r"labels=onehot is the form of class labels: give --option n_classes=K"):
        load_generator(str(tmp_path / "G.pth"), options={**as_class("WideMapCDCGAN"), "labels": "onehot"})


def test_a_hub_repo_loads_into_the_class_and_records_its_commit(hub, tmp_path):
    """`--model-class` refused `hub:` sources, while the refusals of Hub generators ganinv cannot build send users to
    it (audit 30a F6)."""
    module = dcgan()
    torch.save(module.state_dict(), tmp_path / "netG.pth")
    torch.save({"G": module.state_dict(), "D": {"w": torch.ones(2)}}, tmp_path / "last.pth")
    sha = hub.repos.commit("someone/tiny-dcgan", {"netG.pth": tmp_path / "netG.pth", "README.md": "# DCGAN\n"})
    z = torch.randn(5, 6)
    g = load_generator("hub:someone/tiny-dcgan", options=as_class("TinyDCGAN"))
    torch.testing.assert_close(g(z), module(z[:, :, None, None]), rtol=0, atol=1e-6)
    assert g.source == "hub:someone/tiny-dcgan" and g.meta["revision"] == sha
    assert g.meta["hub"] == {
        "repo": "someone/tiny-dcgan",
        "requested_revision": None,
        "commit": sha,
        "file": "netG.pth",
        "config": None,
    }
    assert g.meta["weights_sha256"] == hashlib.sha256((tmp_path / "netG.pth").read_bytes()).hexdigest()
    sha = hub.repos.commit("someone/wrapped", {"checkpoints/last.pth": tmp_path / "last.pth"}, refs=("main", "v1"))
    g = load_generator("hub:someone/wrapped@v1:checkpoints/last.pth#G", options=as_class("TinyDCGAN"))
    torch.testing.assert_close(g(z), module(z[:, :, None, None]), rtol=0, atol=1e-6)
    assert g.meta["entry"] == "G" and g.meta["revision"] == sha and g.meta["hub"]["requested_revision"] == "v1"
    result = CliRunner().invoke(
        cli, ["inspect", "hub:someone/tiny-dcgan", "--model-class", "test_model_class:TinyDCGAN"]
    )
    assert result.exit_code == 0, result.output


@pytest.mark.filterwarnings("ignore:`torch.jit:FutureWarning")
def test_a_sharded_or_program_hub_repo_and_a_missing_file_are_one_clear_error(hub, tmp_path):
    module = dcgan()
    state = {k: v.contiguous() for k, v in module.state_dict().items()}
    names = sorted(state)
    half = len(names) // 2
    shards = {"model-00001-of-00002.safetensors": names[:half], "model-00002-of-00002.safetensors": names[half:]}
    files: dict = {n: save({k: state[k] for k in keys}) for n, keys in shards.items()}
    files["model.safetensors.index.json"] = json.dumps({"weight_map": {k: n for n, ks in shards.items() for k in ks}})
    hub.repos.commit("someone/sharded", files)
    with pytest.raises(SourceError, match=r"sharded in 2 files, and --model-class loads one weights file: merge"):
        load_generator("hub:someone/sharded", options=as_class("TinyDCGAN"))
    torch.jit.save(torch.jit.script(module), str(tmp_path / "generator.pt"))
    hub.repos.commit("someone/program", {"generator.pt": tmp_path / "generator.pt"})
    with pytest.raises(SourceError, match=r"generator\.pt is a TorchScript program, not weights.*drop --model-class"):
        load_generator("hub:someone/program", options=as_class("TinyDCGAN"))
    with pytest.raises(SourceError, match=r"a torch\.save file of any name\), a folder of one, or hub:owner/name"):
        load_generator(str(tmp_path / "nope.pth"), options=as_class("TinyDCGAN"))


def test_a_one_class_generator_loads_into_its_class_as_unconditional(tmp_path):
    """rosinality's ProGAN trains with `n_label = 1`; --option n_classes=1 was refused, "give the number of classes"
    (an outside audit). Its one class is fed with every latent."""
    torch.manual_seed(0)
    module = LabelMLP(n_classes=1)
    torch.save(module.state_dict(), tmp_path / "g.pth")
    g = load_generator(str(tmp_path / "g.pth"), options={**as_class("LabelMLP", n_classes=1), "n_classes": 1})
    assert g.spec.n_classes == 0
    latents = g.sample_latents(4, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(g.decode(latents), module(latents.z, torch.zeros(4, dtype=torch.long)))


class OneClassProGAN(LabelMLP):
    """rosinality's ProGAN forward: a required label, then optional `step` and `alpha`."""

    def forward(self, z, label, step=0, alpha=-1):
        return super().forward(z, label)


def test_a_class_that_requires_its_label_is_asked_for_n_classes_with_its_embeddings_rows(tmp_path):
    """Its optional `step` had been asked about as a possible label, with --option n_classes=0 offered, which failed
    next (a review)."""
    torch.manual_seed(0)
    torch.save(OneClassProGAN(n_classes=1).state_dict(), tmp_path / "g.pth")
    with pytest.raises(SourceError, match=r"takes class labels besides z; .* has 1 rows: --option n_classes=1\)"):
        load_generator(str(tmp_path / "g.pth"), options=as_class("OneClassProGAN", n_classes=1))


def test_labels_past_the_classes_embedding_name_its_rows(tmp_path):
    """--option n_classes=12 for a 10-row embedding gave six probe errors, 1,000 characters of "index out of range"
    (an outside audit), where the same net as a program names the rows."""
    torch.manual_seed(0)
    torch.save(LabelMLP(n_classes=10).state_dict(), tmp_path / "g.pth")
    with pytest.raises(SourceError, match=r"labels up to 11: they index past its label embedding's 10 rows; give "):
        load_generator(str(tmp_path / "g.pth"), options={**as_class("LabelMLP", n_classes=10), "n_classes": 12})


class ConditionalNorm(LabelMLP):
    """A label embedding per layer (conditional BatchNorm's gains), all of one size, beside the concatenated one."""

    def __init__(self, nz=5, n_classes=3):
        super().__init__(nz, n_classes)
        self.gain = nn.Embedding(n_classes, 32)

    def forward(self, z, labels):
        hidden = self.net[1](self.net[0](torch.cat([z, self.label_emb(labels)], 1)) * self.gain(labels))
        return self.net[3](self.net[2](hidden)).view(-1, 1, 8, 8)


def test_labels_past_every_one_of_its_embeddings_name_their_rows(tmp_path):
    """A review: a conditional-BatchNorm generator (an embedding per layer, all of 10 rows) given n_classes=12 still
    got six probe errors."""
    torch.manual_seed(0)
    torch.save(ConditionalNorm(n_classes=10).state_dict(), tmp_path / "g.pth")
    with pytest.raises(SourceError, match=r"index past its 2 label embeddings' 10 rows; give --option n_classes=10"):
        load_generator(str(tmp_path / "g.pth"), options={**as_class("ConditionalNorm", n_classes=10), "n_classes": 12})
