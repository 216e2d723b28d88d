"""`ganinv train` end to end on a tiny fake dataset: artifacts, resume, errors."""

import json
import shutil

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from ganinv.cli.main import cli
from ganinv.inverter import Inverter
from ganinv.sources import load_generator

TINY_RECIPE = """
nz = 4
nc = 1
n_classes = 3
width = 8
critic_width = 8
critic_hidden = 16
encoder_width = 8
encoder_hidden = 16
batch_size = 8
n_critic = 2
lr = 1e-3
log_every = 2
eval_every = 2
checkpoint_every = 2
[dreaming]
sigma_x = 0.3
"""


@pytest.fixture
def dataset(tmp_path):
    """32 labelled 8x8 images: three classes of bright squares in different corners."""
    rng = np.random.default_rng(0)
    labels = np.arange(32) % 3
    images = np.zeros((32, 8, 8), dtype=np.uint8)
    for i, label in enumerate(labels):
        row, col = [(0, 0), (4, 4), (0, 4)][label]
        images[i, row : row + 4, col : col + 4] = 200 + rng.integers(0, 55)
    path = tmp_path / "tiny.npz"
    np.savez(path, images=images, labels=labels)
    recipe = tmp_path / "tiny.toml"
    recipe.write_text(TINY_RECIPE)
    return path, recipe


def run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result


def test_train_runs_end_to_end_and_its_artifacts_load(tmp_path, dataset):
    data, recipe = dataset
    out = tmp_path / "run"
    result = run("train", "--data", data, "--recipe", recipe, "--steps", 4, "--out", out, "--quiet", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["generator"] == str(out / "generator")
    assert 1 / 3 <= report["cluster_accuracy"] <= 1.0 and report["eval_images"] == 32
    # a labelled file has no test split: the accuracy is on the training images, and that is said (audit 9)
    assert "has no test split: the cluster accuracy is measured on these training images" in result.stderr

    for name in (
        "config.json",
        "metrics.jsonl",
        "eval.json",
        "samples/step-000002-d.png",
        "samples/step-000004-d.png",
        "samples/step-000004-c1.png",
        "checkpoints/step-000004.pt",
    ):
        assert (out / name).is_file(), name
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "wasserstein" in r] == [2, 4]

    generator = load_generator(str(out / "generator"))
    assert generator.spec.nz == 4 and generator.spec.n_classes == 3 and generator.spec.image_shape == (1, 8, 8)
    inverter = Inverter.load(str(out))
    images = torch.rand(5, 1, 8, 8) * 2 - 1
    assert inverter.encode(images).logits_d.shape == (5, 3)
    assert inverter.reconstruct(images).shape == (5, 1, 8, 8)
    # the inverter's own copy of the generator is the trained one
    latents = generator.sample_latents(3, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.allclose(inverter.generator.decode(latents), generator.decode(latents))


@pytest.mark.parametrize("q_on_critic", [False, True])
def test_resume_ends_where_an_uninterrupted_run_ends(tmp_path, dataset, q_on_critic):
    data, recipe = dataset
    if q_on_critic:  # InfoGAN's Q on the critic's trunk: its heads are checkpointed with the critic
        recipe.write_text(TINY_RECIPE.replace("[dreaming]", "q_on_critic = true\n[dreaming]"))
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    assert run("train", "--data", data, "--recipe", recipe, "--steps", 4, "--out", straight, "--quiet").exit_code == 0
    # A run killed after its step-2 checkpoint: the folder as it was then.
    shutil.copytree(straight, resumed)
    for later in ("checkpoints/step-000004.pt", "eval.json"):
        (resumed / later).unlink()
    shutil.rmtree(resumed / "generator")
    shutil.rmtree(resumed / "inverter")
    result = run("train", "--resume", "--out", resumed, "--quiet")
    assert result.exit_code == 0, result.output
    a = torch.load(straight / "checkpoints/step-000004.pt", weights_only=True)["models"]
    b = torch.load(resumed / "checkpoints/step-000004.pt", weights_only=True)["models"]
    for part in ("generator", "critic", "inverter", "generator_optimizer"):
        assert str(a[part]) == str(b[part])
    assert any(key.startswith("q.") for key in a["critic"]) == q_on_critic
    for part in ("generator", "critic", "inverter"):
        for key, value in a[part].items():
            assert torch.equal(value, b[part][key]), f"{part}.{key}"
    records = [json.loads(line) for line in (resumed / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "wasserstein" in r] == [2, 4]  # records after step 2 were dropped
    assert json.loads((resumed / "eval.json").read_text()) == json.loads((straight / "eval.json").read_text())


def test_errors_are_one_line_and_say_what_to_do(tmp_path, dataset):
    data, recipe = dataset
    out = tmp_path / "run"
    result = run("train", "--resume", "--data", data)
    assert result.exit_code != 0 and "--resume needs --out" in result.stderr
    result = run("train", "--resume", "--out", out)
    assert result.exit_code != 0 and "no run to resume" in result.stderr
    result = run("train", "--data", tmp_path / "missing.npz", "--out", out)
    assert result.exit_code != 0 and "does not exist" in result.stderr and "Traceback" not in result.output
    result = run("train", "--data", "mnist", "--out", out)
    assert result.exit_code != 0 and "needs --root" in result.stderr
    bad_recipe = tmp_path / "bad.toml"
    bad_recipe.write_text("n_critics = 3\n")
    result = run("train", "--data", data, "--recipe", bad_recipe, "--out", out)
    assert result.exit_code != 0 and "n_critics" in result.stderr
    assert run("train", "--data", data, "--recipe", recipe, "--steps", 2, "--out", out, "--quiet").exit_code == 0
    result = run("train", "--data", data, "--recipe", recipe, "--steps", 2, "--out", out, "--quiet")
    assert result.exit_code != 0 and "--resume" in result.stderr
    result = run("train", "--resume", "--out", out, "--lr", "0.1")
    assert result.exit_code != 0 and "drop --lr " in result.stderr
    config = json.loads((out / "config.json").read_text())
    config["train"]["lr"] = "fast"  # the run's file, not a recipe, holds the bad value (audit 9, F6d)
    (out / "config.json").write_text(json.dumps(config))
    result = run("train", "--resume", "--out", out, "--quiet")
    assert result.exit_code != 0 and f"{out}/config.json holds a value" in result.stderr, result.output
    result = run("train", "--data", data, "--out", tmp_path / "hub", "--push-to-hub", "not a/repo id")
    assert result.exit_code != 0 and "Hub repo id" in result.stderr


def test_data_that_makes_the_evaluation_meaningless_is_said(tmp_path, dataset):
    """Audit 10b: `train` on 3 images (batch 8), on one class, and on labels of more classes than the code has ran
    without a word; one class reported a cluster accuracy of 0.5."""
    _, recipe = dataset
    rng = np.random.default_rng(1)
    np.savez(tmp_path / "one.npz", images=rng.integers(0, 256, (3, 8, 8), dtype=np.uint8), labels=np.zeros(3, int))
    result = run("train", "--recipe", recipe, "--data", tmp_path / "one.npz", "--steps", 2, "--out", tmp_path / "a")
    assert result.exit_code == 0, result.output
    assert "holds 3 images, fewer than a batch (8)" in result.stderr
    assert "holds one class: no cluster accuracy is measured" in result.stderr
    assert "cluster_accuracy" not in json.loads((tmp_path / "a" / "eval.json").read_text())
    many = rng.integers(0, 256, (16, 8, 8), dtype=np.uint8)
    np.savez(tmp_path / "many.npz", images=many, labels=np.arange(16) * 1000)
    result = run("train", "--recipe", recipe, "--data", tmp_path / "many.npz", "--steps", 2, "--out", tmp_path / "b")
    assert result.exit_code == 0 and "its labels hold 16 classes, more than n_classes = 3" in result.stderr


def test_images_no_doubling_reaches_and_a_one_class_code_are_one_error_line(tmp_path):
    """`train` on 27 x 27 images, or with n_classes = 1, ended on "internal error ... a bug" (audit 23b)."""
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "odd.npz", images=rng.integers(0, 256, (20, 27, 27), dtype=np.uint8))
    np.savez(tmp_path / "even.npz", images=rng.integers(0, 256, (20, 28, 28), dtype=np.uint8))
    (tmp_path / "one.toml").write_text("n_classes = 1\n")
    for data, extra, said in (
        ("odd.npz", [], "images of side 27 cannot be reached by doubling"),
        ("even.npz", ["--recipe", str(tmp_path / "one.toml")], "n_classes = 1 is a categorical code of one value"),
    ):
        args = ["train", "--data", str(tmp_path / data), "--steps", "1", "--out", str(tmp_path / "run"), *extra]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 2 and said in result.stderr, result.output
        assert not (tmp_path / "run").exists()


def test_resume_refuses_a_data_folder_it_has_no_fingerprint_of_before_reading_it(tmp_path, dataset):
    """An edited or foreign config.json naming data the run has no fingerprint of: refused before it is read (`fit`'s
    and `mvae fit`'s resumes are tested so too)."""
    from edited_runs import name_unrecorded_folder

    data, recipe = dataset
    out = tmp_path / "run"
    assert run("train", "--data", data, "--recipe", recipe, "--steps", 2, "--out", out, "--quiet").exit_code == 0
    name_unrecorded_folder(out, "train", "data", tmp_path / "never-read")
    result = run("train", "--resume", "--out", out, "--steps", 4, "--quiet")
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert result.exit_code != 0 and len(errors) == 1 and "records no fingerprint of its data" in errors[0], (
        result.output
    )
    assert "does not exist" not in result.output  # refused before the folder was looked at
