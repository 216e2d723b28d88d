"""`ganinv sample` and `ganinv inspect` on every kind of source; errors as one line, no traceback."""

import json

import pytest
import torch
import zoo
from click.testing import CliRunner
from conftest import SHARED
from PIL import Image
from safetensors.torch import load_file

from ganinv.cli.main import cli
from ganinv.errors import ArchitectureError
from ganinv.sources import load_generator, save_generator

REAL = SHARED / "generators" / "mnist-wgangp" / "generator.pth"
CASE = zoo.case("pytorch-examples-dcgan")


def run(*args, env=None):
    return CliRunner(env=env).invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The same tiny DCGAN as a foreign state dict, a TorchScript file and a torch.export archive."""
    root = tmp_path_factory.mktemp("gens")
    module = CASE.build()
    torch.save(module.state_dict(), root / "netG.pth")
    torch.jit.trace(module, torch.randn(2, 8, 1, 1)).save(str(root / "g.ts"))
    torch.export.save(
        torch.export.export(
            module, (torch.randn(2, 8, 1, 1),), dynamic_shapes={"z": {0: torch.export.Dim("batch", min=1)}}
        ),
        str(root / "g.pt2"),
    )
    return root


def test_sample_writes_grid_and_latents_that_decode_back(files, tmp_path):
    result = run(
        "sample",
        "-g",
        files / "netG.pth",
        "-n",
        6,
        "--nrow",
        3,
        "--out",
        tmp_path / "grid.png",
        "--latents-out",
        tmp_path / "s.safetensors",
        "--seed",
        4,
    )
    assert result.exit_code == 0, result.output
    assert "6 samples of shape (3, 32, 32)" in result.stdout
    assert Image.open(tmp_path / "grid.png").size == (3 * 34 + 2, 2 * 34 + 2)  # 2 px padding
    saved = load_file(str(tmp_path / "s.safetensors"))
    assert saved["z"].shape == (6, 8) and saved["images"].shape == (6, 3, 32, 32)
    g = load_generator(str(files / "netG.pth"))
    torch.testing.assert_close(g(saved["z"]), saved["images"], rtol=0, atol=1e-6)
    again = run(
        "sample",
        "-g",
        files / "netG.pth",
        "-n",
        6,
        "--out",
        tmp_path / "b.png",
        "--latents-out",
        tmp_path / "b.safetensors",
        "--seed",
        4,
    )
    assert again.exit_code == 0 and torch.equal(load_file(str(tmp_path / "b.safetensors"))["z"], saved["z"])


def test_a_grid_of_many_samples_shows_the_first_1024_and_the_latents_keep_all(tmp_path):
    """`sample -n 100000` wrote a 90-Mpixel grid, past PIL's decompression-bomb limit, in silence (an outside audit,
    51b): the grid shows the first 1024 (32 x 32), said, and --latents-out keeps every sample."""
    args = ["sample", "-g", "builtin:mnist", "-n", 1100, "--out", tmp_path / "grid.png"]
    result = run(*args, "--latents-out", tmp_path / "s.safetensors")
    assert result.exit_code == 0, result.output
    assert "1100 samples of shape (1, 28, 28) from builtin:mnist (the grid shows the first 1024)" in result.stdout
    assert (
        "the grid shows the first 1024 of the 1100 samples" in result.stderr and "all of them are in" in result.stderr
    )
    assert Image.open(tmp_path / "grid.png").size == (32 * 30 + 2, 32 * 30 + 2)  # 2 px padding
    assert load_file(str(tmp_path / "s.safetensors"))["images"].shape == (1100, 1, 28, 28)
    alone = run(*args[:-1], tmp_path / "alone.png")
    assert alone.exit_code == 0 and "keep them all with --latents-out" in alone.stderr


def test_sample_perturb_keeps_the_latents_and_moves_the_images(files, tmp_path):
    saved = {}
    for name, flags in (("plain", []), ("perturbed", ["--perturb"])):
        args = ["-n", 6, "--out", tmp_path / f"{name}.png", "--latents-out", tmp_path / f"{name}.safetensors"]
        result = run("sample", "-g", files / "netG.pth", *args, *flags)
        assert result.exit_code == 0, result.output
        saved[name] = load_file(str(tmp_path / f"{name}.safetensors"))
    assert "6 perturbed samples" in result.stdout
    assert torch.equal(saved["plain"]["z"], saved["perturbed"]["z"])
    moved = (saved["plain"]["images"] - saved["perturbed"]["images"]).flatten(1).abs().amax(dim=1)
    assert bool((moved > 0.05).all())  # every image perturbed
    assert saved["perturbed"]["images"].abs().max() <= 1.0


@pytest.mark.parametrize(
    "name,flags",
    [
        ("g.ts", ["--nz", "8", "--latent-shape", "nz,1,1"]),
        ("g.pt2", []),
        ("netG.pth", ["--arch", "dcgan", "--option", "resolution=32"]),
    ],
)
def test_inspect_json_reports_spec_and_statistics(files, name, flags):
    result = run("inspect", files / name, *flags, "--json", "-n", 16)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["spec"]["image_shape"] == [3, 32, 32] and report["spec"]["nz"] == 8
    assert report["parameters"] == sum(p.numel() for p in CASE.make().parameters())
    probe = report["probe"]
    assert -1 <= probe["min"] < probe["mean"] < probe["max"] <= 1 and probe["std"] > 0
    assert report["architecture"] == ("opaque" if name != "netG.pth" else "dcgan")


def test_inspect_says_the_scale_of_its_probe_statistics(files):
    """The statistics are on the contract's [-1, 1]: a Sigmoid net's own [0.19, 0.79] showed as [-0.62, 0.59], without
    a word (audit 26b F9)."""
    own = run("inspect", files / "g.ts", "--nz", 8, "--latent-shape", "nz,1,1")
    assert own.exit_code == 0, own.output
    assert "on [-1, 1], the generator's own range" in own.stdout
    declared = run("inspect", files / "g.ts", "--nz", 8, "--latent-shape", "nz,1,1", "--output-range", "-2,2", "--json")
    assert declared.exit_code == 0, declared.output
    probe = json.loads(declared.stdout)["probe"]
    assert probe["scale"] == "[-1, 1], ganinv's scale: the generator's own [-2, 2] mapped onto it"
    assert -0.5 <= probe["min"] < probe["max"] <= 0.5  # tanh values in [-1, 1] of a [-2, 2] range


def test_inspect_text_and_list(files):
    text = run("inspect", files / "netG.pth")
    assert text.exit_code == 0 and "strides=1,2,2,2" in text.stdout and "parameters" in text.stdout
    listing = run("inspect", "--list")
    assert listing.exit_code == 0
    for name in ("dcgan", "wgan_gp", "mlp", "opaque"):
        assert f"  {name} " in listing.stdout


def test_sample_from_hub_cache(files, tmp_path):
    folder = save_generator(load_generator(str(files / "netG.pth")), tmp_path / "gen")
    cache = tmp_path / "cache"
    zoo.cache_repo(cache, "someone/dcgan", {n: folder / n for n in ("config.json", "model.safetensors")})
    env = {"HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1"}
    result = run("sample", "-g", "hub:someone/dcgan", "-n", 4, "--out", tmp_path / "hub.png", env=env)
    assert result.exit_code == 0, result.output
    missing = run("sample", "-g", "hub:someone/absent", "-n", 4, "--out", tmp_path / "x.png", env=env)
    assert missing.exit_code == 2 and "HF_HUB_OFFLINE" in missing.stderr
    assert zoo.HUB_SHA in json.loads(run("inspect", "hub:someone/dcgan", "--json", env=env).stdout)["meta"]["revision"]


def test_errors_are_one_line_without_traceback(files, tmp_path):
    marker = tmp_path / "pwned"
    torch.save({"w": zoo.Marker(str(marker))}, tmp_path / "evil.pth")
    cases = [
        (["sample", "-g", tmp_path / "evil.pth", "--out", tmp_path / "e.png"], "--trust-remote-code"),
        (["sample", "-g", tmp_path / "nope.pth", "--out", tmp_path / "e.png"], "no such file"),
        (["inspect", files / "g.ts"], "--nz"),
        (["inspect", files / "netG.pth", "--arch", "dcgan", "--option", "nz=9"], "mis-shaped"),
        (
            ["inspect", files / "g.ts", "--nz", "8", "--latent-shape", "nz,1,1", "--image-shape", "3,64,64"],
            "--image-shape 3,32,32",
        ),
    ]
    for args, match in cases:
        result = run(*args)
        assert result.exit_code == 2, (args, result.output)
        assert result.stderr.startswith("Error: ") and match in result.stderr
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.output
    assert not marker.exists()


@pytest.mark.skipif(not REAL.is_file(), reason="shared real checkpoint not present")
def test_real_checkpoint_samples_from_the_cli(tmp_path):
    result = run(
        "sample",
        "-g",
        REAL,
        "--arch",
        "wgan_gp",
        "-n",
        16,
        "--out",
        tmp_path / "real.png",
        "--latents-out",
        tmp_path / "real.safetensors",
    )
    assert result.exit_code == 0, result.output
    images = load_file(str(tmp_path / "real.safetensors"))["images"]
    assert images.shape == (16, 1, 28, 28) and torch.isfinite(images).all() and images.abs().max() <= 1
    assert images.std(dim=0).mean() > 0.2


@pytest.mark.slow
@pytest.mark.skipif(not REAL.is_file(), reason="shared real checkpoint not present")
def test_real_checkpoint_has_digit_like_variety(tmp_path):
    """1,000 samples: every sample distinct, strokes on a dark background, diverse mean brightness."""
    g = load_generator(str(REAL), arch="wgan_gp")
    _, x = g.sample(1000, generator=torch.Generator().manual_seed(0))
    assert torch.isfinite(x).all() and x.min() >= -1 and x.max() <= 1
    flat = x.flatten(1)
    distances = torch.cdist(flat, flat).fill_diagonal_(float("inf"))
    assert distances.min() > 1.0  # no two samples (nearly) the same: no mode collapse
    ink = (x > 0).float().mean(dim=(1, 2, 3))  # fraction of bright pixels per image
    assert 0.05 < ink.mean() < 0.35 and ink.std() > 0.02
    border = torch.cat([x[..., :2, :].flatten(1), x[..., -2:, :].flatten(1)], dim=1)
    centre = x[..., 8:20, 8:20].mean()
    assert border.mean() < -0.8 and centre > border.mean() + 0.3  # MNIST-like: dark borders, digits in the middle
    assert x.std(dim=0).mean() > 0.25


class OneClassProgram(torch.nn.Module):
    """rosinality's ProGAN as its train.py builds it for one data set: `n_label = 1`, an optional `step` selecting the
    output's resolution."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.label_embed = torch.nn.Embedding(1, 2)
        self.fc = torch.nn.Linear(6, 3 * 8 * 8)

    def forward(self, z: torch.Tensor, label: torch.Tensor, step: int = 0) -> torch.Tensor:
        x = torch.tanh(self.fc(torch.cat([z, self.label_embed(label)], 1))).view(-1, 3, 8, 8)
        return x if step == 0 else x[:, :, ::2, ::2]


def test_a_one_class_conditional_program_loads_as_unconditional(tmp_path):
    """An outside audit: the probe fed one label for two latents (torch.eye(1)[:2]), then advised a fixed batch of 1,
    which failed the same way again; `--model-class` refused n_classes=1. Its one class is fed with every latent, and
    an optional input left to its default is said."""
    torch.jit.script(OneClassProgram()).save(str(tmp_path / "g.ts"))
    options = {"inputs": "z,labels", "n_classes": "1", "spec.nz": "4"}
    with pytest.warns(UserWarning, match=r"optional 'step' besides the z and labels ganinv feeds, left to its default"):
        g = load_generator(str(tmp_path / "g.ts"), options=options)
    assert g.spec.n_classes == 0 and g.spec.image_shape == (3, 8, 8)
    latents = g.sample_latents(4, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = OneClassProgram()(latents.z, torch.zeros(4, dtype=torch.long))
    torch.testing.assert_close(g.decode(latents), expected)
    with pytest.raises(ArchitectureError, match=r"it runs on class 0 alone: give the number of classes it was built"):
        load_generator(str(tmp_path / "g.ts"), options={**options, "n_classes": "2"})
