"""Features for downstream classifiers (docs/algorithms.md §4): extraction, files, the three commands,
the bench runner."""

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image
from torch import nn

from ganinv.cli.main import cli
from ganinv.data import ImageSet
from ganinv.errors import DataError
from ganinv.features import FeatureSet, inverter_features, load_features, pixel_features, save_features
from ganinv.generator import Generator
from ganinv.inverter import Inverter
from ganinv.spec import GeneratorSpec


class TinyNet(nn.Module):
    """A native generator: one linear layer from (z, c, d) to a 1x16x16 image."""

    def __init__(self, n_in: int):
        super().__init__()
        self.linear = nn.Linear(n_in, 256)

    def forward(self, z, c=None, d=None):
        u = torch.cat([t for t in (z, c, d) if t is not None], dim=1)
        return torch.tanh(self.linear(u)).reshape(-1, 1, 16, 16)


def tiny_inverter(nz=4, nc=2, n_classes=3) -> Inverter:
    torch.manual_seed(0)
    spec = GeneratorSpec(nz=nz, image_shape=(1, 16, 16), nc=nc, n_classes=n_classes)
    generator = Generator(TinyNet(nz + nc + n_classes), spec, source="test:tiny")
    return Inverter.for_generator(generator, width=8, hidden=32).eval()


def tiny_images(n=20, size=16, seed=0) -> ImageSet:
    g = torch.Generator().manual_seed(seed)
    images = torch.rand(n, 1, size, size, generator=g) * 2 - 1
    return ImageSet(images, torch.arange(n) % 3, [f"img{i}.png" for i in range(n)], ["a", "b", "c"])


def test_features_are_the_posterior_means_in_layout_order():
    inverter, images = tiny_inverter(), tiny_images()
    result = inverter_features(inverter, images, batch_size=7, progress=False)
    assert result.layout == {"z": 4, "c": 2, "d": 3}
    assert result.features.shape == (20, 9)
    with torch.no_grad():
        posterior = inverter.encode(images.images)
    torch.testing.assert_close(result.part("z"), posterior.mu_z)
    torch.testing.assert_close(result.part("c"), posterior.mu_c)
    torch.testing.assert_close(result.part("d"), posterior.logits_d.softmax(dim=1))
    torch.testing.assert_close(result.part("d").sum(dim=1), torch.ones(20))
    assert torch.equal(result.labels, images.labels) and result.names == images.names


def test_a_generator_without_codes_gives_only_mu_z():
    result = inverter_features(tiny_inverter(nc=0, n_classes=0), tiny_images(), progress=False)
    assert result.layout == {"z": 4} and result.features.shape == (20, 4)


def test_images_of_another_shape_are_refused():
    with pytest.raises(DataError, match="fit_to_shape"):
        inverter_features(tiny_inverter(), tiny_images(size=28), progress=False)


@pytest.mark.parametrize("suffix", [".safetensors", ".npz"])
def test_feature_files_round_trip(tmp_path, suffix):
    original = FeatureSet(
        torch.randn(5, 7),
        torch.tensor([4, 0, 1, 1, 9]),
        [f"dir/é{i}.png" for i in range(5)],
        {"z": 4, "d": 3},
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"],
        {"inverter": "runs/x", "limit": None},
    )
    loaded = load_features(save_features(original, tmp_path / f"feats{suffix}"))
    assert torch.equal(loaded.features, original.features)
    assert torch.equal(loaded.labels, original.labels) and loaded.labels.dtype == torch.int64
    assert (loaded.names, loaded.layout, loaded.classes, loaded.meta) == (
        original.names,
        original.layout,
        original.classes,
        original.meta,
    )
    torch.testing.assert_close(loaded.part("d"), original.features[:, 4:])


@pytest.mark.parametrize("suffix", [".safetensors", ".npz"])
def test_unlabelled_pixel_features_round_trip(tmp_path, suffix):
    images = ImageSet(torch.rand(3, 1, 4, 4))
    loaded = load_features(save_features(pixel_features(images), tmp_path / f"pixels{suffix}"))
    assert loaded.labels is None and loaded.names == [] and loaded.layout == {"pixels": 16}
    torch.testing.assert_close(loaded.features, images.images.flatten(1))


def test_unreadable_feature_files_give_clear_errors(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a safetensors file")
    with pytest.raises(DataError, match="cannot read features from"):
        load_features(bad)
    with pytest.raises(DataError, match="does not exist"):
        load_features(tmp_path / "missing.npz")


# ---- the commands ----------------------------------------------------------------------------
@pytest.fixture
def workspace(tmp_path):
    """A saved tiny inverter (with codes), one without codes, and labelled 28x28 images as .npz."""
    tiny_inverter().save_pretrained(tmp_path / "inverter")
    tiny_inverter(nc=0, n_classes=0).save_pretrained(tmp_path / "plain")
    images = torch.rand(60, 28, 28, generator=torch.Generator().manual_seed(1))
    np.savez(tmp_path / "images.npz", images=(images * 255).to(torch.uint8).numpy(), labels=np.arange(60) % 3)
    return tmp_path


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def assert_one_line_error(result, text):
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert result.stderr.strip().splitlines()[-1].startswith("Error: ") and text in result.stderr


def test_features_command_writes_labelled_rows(workspace):
    result = run(
        "features",
        "--inverter",
        workspace / "inverter",
        workspace / "images.npz",
        "--out",
        workspace / "f.safetensors",
        "--batch-size",
        16,
    )
    assert result.exit_code == 0, result.output
    assert "28 x 28 -> 16 x 16 pixels" in result.stderr  # converted to the shape the model takes, with a warning
    assert "60 rows x 9 features (z 4, c 2, d 3), with labels" in result.stdout
    feats = load_features(workspace / "f.safetensors")
    assert feats.features.shape == (60, 9) and feats.labels.tolist() == [i % 3 for i in range(60)]
    assert feats.meta["inverter"] == str(workspace / "inverter")


def test_features_command_npz_and_raw_pixels(workspace):
    result = run(
        "features",
        "--raw-pixels",
        workspace / "images.npz",
        "--limit",
        10,
        "--out",
        workspace / "p.safetensors",
        "--npz",
    )
    assert result.exit_code == 0, result.output
    feats = load_features(workspace / "p.npz")
    assert feats.layout == {"pixels": 784} and feats.features.shape == (10, 784)
    assert feats.features.min() >= -1 and feats.features.max() <= 1


def test_probe_command_prints_a_table_and_json(workspace):
    for split in ("train", "test"):
        run("features", "--raw-pixels", workspace / "images.npz", "--out", workspace / f"{split}.safetensors")
    args = ["probe", "--train", workspace / "train.safetensors", "--test", workspace / "test.safetensors"]
    table = run(*args, "--classifiers", "linear,knn")
    assert table.exit_code == 0, table.output
    assert table.stdout.splitlines()[0].split() == ["classifier", "accuracy", "seconds"]
    report = json.loads(run(*args, "--json").stdout)
    # Train and test are the same images: 784 pixels for 60 images, the linear model fits them all.
    assert set(report["accuracy_pct"]) == {"linear", "knn", "mlp"} and report["accuracy_pct"]["linear"] == 100.0
    assert report["n_train"] == report["n_test"] == 60 and report["layout"] == {"pixels": 784}


def test_cluster_accuracy_from_an_inverter_and_from_a_features_file(workspace):
    direct = run("cluster-accuracy", "--inverter", workspace / "inverter", workspace / "images.npz", "--json")
    assert direct.exit_code == 0, direct.output
    report = json.loads(direct.stdout)
    run("features", "--inverter", workspace / "inverter", workspace / "images.npz", "--out", workspace / "f.npz")
    from_file = json.loads(run("cluster-accuracy", "--features", workspace / "f.npz", "--json").stdout)
    assert report["accuracy_pct"] == from_file["accuracy_pct"]
    assert report["n"] == 60 and report["n_clusters"] == 3 and report["n_classes"] == 3
    assert 100 / 3 - 0.01 <= report["accuracy_pct"] <= 100  # never below the largest class share


def test_clusters_are_matched_to_class_names_and_one_class_is_refused(tmp_path):
    """Audit 10b: with class folders 0,1,2,4,... `cluster -> label` printed indices ("9->7" for folder 9), and a
    folder of one class gave an accuracy that measures nothing."""
    tiny_inverter().save_pretrained(tmp_path / "inverter")
    for name in ("4", "9"):
        (tmp_path / "digits" / name).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(np.full((28, 28), 60 * i + (0 if name == "4" else 30), np.uint8)).save(
                tmp_path / "digits" / name / f"{i}.png"
            )
    result = run("cluster-accuracy", "--inverter", tmp_path / "inverter", tmp_path / "digits", "--json")
    assert result.exit_code == 0, result.output
    named = set(json.loads(result.stdout)["cluster_to_label"].values())
    assert named and named <= {"4", "9"}
    one = run("cluster-accuracy", "--inverter", tmp_path / "inverter", tmp_path / "digits", "--limit", 3)  # all 4s
    assert_one_line_error(one, "the images hold one class (4)")


def test_cli_errors_are_one_line(workspace):
    assert_one_line_error(
        run("features", workspace / "images.npz", "--out", workspace / "x.safetensors"),
        "give exactly one of --inverter",
    )
    assert_one_line_error(
        run("cluster-accuracy", "--inverter", workspace / "plain", workspace / "images.npz"), "no categorical code"
    )
    np.savez(workspace / "unlabelled.npz", images=np.full((5, 28, 28), 200, np.uint8))
    refused = run("cluster-accuracy", "--inverter", workspace / "inverter", workspace / "unlabelled.npz")
    assert_one_line_error(refused, "no labels to score clusters against")
    assert "converted to the shape the model takes" not in refused.stderr  # refused before encoding (audit 9, F6g)
    run("features", "--raw-pixels", workspace / "images.npz", "--out", workspace / "p.npz")
    assert_one_line_error(run("cluster-accuracy", "--features", workspace / "p.npz"), "no code posterior d")
    assert_one_line_error(
        run("probe", "--train", workspace / "p.npz", "--test", workspace / "p.npz", "--classifiers", "svm"),
        "unknown classifiers ['svm']",
    )
    assert_one_line_error(  # none named had been "unknown classifiers []" (an outside audit)
        run("probe", "--train", workspace / "p.npz", "--test", workspace / "p.npz", "--classifiers", ""),
        "--classifiers names none; choose from linear, knn, mlp",
    )
    assert_one_line_error(
        run("probe", "--train", workspace / "nope.npz", "--test", workspace / "p.npz"), "does not exist"
    )
    assert_one_line_error(run("features", "--raw-pixels", "mnist", "--out", workspace / "x.npz"), "needs --root")


def test_quiet_means_nothing_on_stderr(workspace):
    """--quiet: no progress bar and no progress lines (an outside audit found features' bar drawn regardless)."""
    images = torch.rand(40, 16, 16, generator=torch.Generator().manual_seed(2))  # the generator's shape: no warning
    np.savez(workspace / "small.npz", images=(images * 255).to(torch.uint8).numpy(), labels=np.arange(40) % 3)
    for command in (
        ["features", "--inverter", workspace / "inverter", workspace / "small.npz", "--out", workspace / "q.npz"],
        ["cluster-accuracy", "--inverter", workspace / "inverter", workspace / "small.npz"],
    ):
        loud = run(*command, "--batch-size", 8)
        quiet = run(*command, "--batch-size", 8, "--quiet")
        assert loud.exit_code == 0 and quiet.exit_code == 0, quiet.output
        assert loud.stderr.strip() and quiet.stderr == "", (command[0], quiet.stderr)


def test_probe_scores_test_labels_by_class_name_or_refuses(tmp_path):
    """Class folders of train and test that differ: label 1 is "dog" in one and "fox" in the other (an outside audit
    got 50% on trivially separable classes, scored against the wrong names)."""
    from PIL import Image

    shades = {"cat": 0, "dog": 120, "fox": 250}
    for split, names in (("train", ("cat", "dog", "fox")), ("test", ("cat", "fox")), ("odd", ("cat", "owl"))):
        for name in names:
            (tmp_path / split / name).mkdir(parents=True)
            for i in range(6):
                value = shades.get(name, 60) + i
                Image.fromarray(np.full((8, 8), value, np.uint8)).save(tmp_path / split / name / f"{i}.png")
    for split in ("train", "test", "odd"):
        result = run("features", "--raw-pixels", tmp_path / split, "--out", tmp_path / f"{split}.safetensors")
        assert result.exit_code == 0, result.output
    result = run("probe", "--train", tmp_path / "train.safetensors", "--test", tmp_path / "test.safetensors", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["accuracy_pct"]["knn"] == 100.0
    refused = run("probe", "--train", tmp_path / "train.safetensors", "--test", tmp_path / "odd.safetensors")
    assert_one_line_error(refused, "the test classes ['owl'] are not among the train classes")
    for name in ("cat", "fox"):  # the same test images in colour: raw pixels of another shape, no inverter used
        (tmp_path / "colour" / name).mkdir(parents=True)
        for i in range(6):
            Image.fromarray(np.full((8, 8, 3), shades[name] + i, np.uint8)).save(
                tmp_path / "colour" / name / f"{i}.png"
            )
    run("features", "--raw-pixels", tmp_path / "colour", "--out", tmp_path / "colour.safetensors")
    refused = run("probe", "--train", tmp_path / "train.safetensors", "--test", tmp_path / "colour.safetensors")
    assert_one_line_error(refused, "raw pixels of images of two shapes (grey and colour, or two sizes)")  # (57c)


def test_probe_refuses_what_an_outside_audit_scored_in_silence(tmp_path):
    """Features of two different inverters with one layout (scored at chance, rc 0); blocks in another order;
    labels outside the file's own class list (one was an internal error); a class name listed twice."""
    from ganinv.features import labels_in_train_terms, model_sha256

    a, b = tiny_inverter(), tiny_inverter()
    torch.nn.init.normal_(b.latent_encoder.trunk.fc[1].weight)  # same layout, other weights
    assert model_sha256(a) != model_sha256(b) and model_sha256(a) == model_sha256(tiny_inverter())
    images = tiny_images(12)
    train = inverter_features(a, images)
    train.meta = {"inverter": "runs/a", "model_sha256": model_sha256(a)}
    other = inverter_features(b, images)
    other.meta = {"inverter": "runs/b", "model_sha256": model_sha256(b)}
    with pytest.raises(DataError, match="models with different weights"):
        labels_in_train_terms(train, other)
    reordered = FeatureSet(train.features, train.labels, layout=dict(reversed(list(train.layout.items()))))
    with pytest.raises(DataError, match="extract both with the same inverter"):
        labels_in_train_terms(train, reordered)
    assert torch.equal(labels_in_train_terms(train, train), train.labels)
    for labels, classes, message in (
        (torch.tensor([0, 1, 3]), ["a", "b", "c"], "labels run from 0 to 3 but it names 3 classes"),
        (
            torch.tensor([0, -1, 2]),
            ["a", "b", "c"],
            r"must be class indices 0, 1, ... \(found int64 values in \[-1, 2\]",
        ),
        (torch.tensor([0, 1, 2]), ["a", "b", "a"], "class names repeat"),
    ):
        path = save_features(FeatureSet(torch.zeros(3, 2), labels, classes=classes), tmp_path / "f.safetensors")
        with pytest.raises(DataError, match=message):
            load_features(path)


def test_a_file_that_holds_no_features_is_never_suggested_as_the_place_to_write_them(tmp_path):
    """`probe --train images.npy` suggested `features --out images.npy`, over the user's images (audit 5)."""
    np.save(tmp_path / "images.npy", np.zeros((3, 8, 8), np.uint8))
    result = CliRunner().invoke(
        cli, ["probe", "--train", str(tmp_path / "images.npy"), "--test", str(tmp_path / "images.npy")]
    )
    assert result.exit_code != 0 and f"--out {tmp_path / 'images-features.safetensors'}" in result.output
    assert f"--out {tmp_path / 'images.npy'}" not in result.output


def test_an_out_that_is_the_input_is_refused_and_the_input_kept(tmp_path):
    """`features data.npz --out data.npz` replaced the user's images with features, exit 0 (audit 8)."""
    images = tmp_path / "data.npz"
    np.savez(images, images=np.random.default_rng(0).integers(0, 256, (4, 1, 8, 8), dtype=np.uint8))
    before = images.read_bytes()
    for out in (images, tmp_path / "." / "data.npz"):
        refused = CliRunner().invoke(cli, ["features", "--raw-pixels", str(images), "--out", str(out), "--quiet"])
        errors = [line for line in refused.stderr.splitlines() if line.startswith("Error:")]
        assert refused.exit_code == 2 and len(errors) == 1 and "would destroy the input" in errors[0], refused.output
    assert images.read_bytes() == before
    fine = CliRunner().invoke(cli, ["features", "--raw-pixels", str(images), "--out", str(tmp_path / "f.npz")])
    assert fine.exit_code == 0, fine.output
    samples = tmp_path / "s.safetensors"  # a samples file, which is an earlier result too (a review: mvae features)
    made = ["sample", "-g", "builtin:mnist", "-n", "2", "--out", str(tmp_path / "s.png"), "--latents-out", str(samples)]
    assert CliRunner().invoke(cli, made).exit_code == 0
    kept = samples.read_bytes()
    refused = CliRunner().invoke(cli, ["mvae", "features", "--mvae", "x", str(samples), "--out", str(samples)])
    assert refused.exit_code == 2 and "would destroy the input" in refused.stderr, refused.output
    assert samples.read_bytes() == kept
    refused = CliRunner().invoke(
        cli, ["loglik", "--inverter", "x", "--generated", "2", "--out", str(tmp_path / "a.npz")]
    )
    assert refused.exit_code == 2 and "is written as JSON lines" in refused.stderr


def test_split_with_a_folder_is_said_to_be_ignored_and_not_recorded(tmp_path):
    """--split on a folder was ignored without a word, and the features file recorded split "test" (audit 9)."""
    from PIL import Image

    from ganinv.features import load_features

    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(3):
        Image.new("L", (8, 8), 40 * i).save(folder / f"{i}.png")
    out = tmp_path / "f.safetensors"
    result = CliRunner().invoke(cli, ["features", "--raw-pixels", str(folder), "--split", "train", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "--split train is ignored" in result.stderr
    assert load_features(str(out)).meta["split"] is None


def class_folders(folder, shades: dict[str, list[int]]):
    """Real 8x8 grey PNGs in one folder per class: shades[name] are the pixel values of its images."""
    for name, values in shades.items():
        (folder / name).mkdir(parents=True)
        for i, value in enumerate(values):
            Image.fromarray(np.full((8, 8), value, np.uint8)).save(folder / name / f"{i}.png")


def test_probe_reads_digit_folders_as_the_numbers_bare_train_labels_are(tmp_path):
    """Train labels the digits 0-9 (an .npz, no class names), test folders 3/ and 7/ (labels 0, 1): compared by
    index, the 3s were scored as 0s (an outside audit: linear 0.00%, rc 0, no warning)."""
    shades = [10 * digit + 5 for digit in range(10)]
    images = np.stack([np.full((8, 8), shades[d] + i, np.uint8) for d in range(10) for i in range(4)])
    np.savez(tmp_path / "train.npz", images=images, labels=np.repeat(np.arange(10), 4))
    class_folders(tmp_path / "test", {"3": [shades[3] + 1, shades[3] + 2], "7": [shades[7] + 1, shades[7] + 2]})
    for name in ("train.npz", "test"):
        result = run("features", "--raw-pixels", tmp_path / name, "--out", tmp_path / f"{name}.safetensors")
        assert result.exit_code == 0, result.output
    args = ["--train", tmp_path / "train.npz.safetensors", "--test", tmp_path / "test.safetensors"]
    result = run("probe", *args, "--classifiers", "knn", "--knn-k", 1, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["accuracy_pct"]["knn"] == 100.0
    assert "read the test class names as those numbers ('3' as 3, '7' as 7)" in result.stderr
    swapped = run("probe", "--train", args[3], "--test", args[1], "--classifiers", "knn", "--knn-k", 1)
    assert_one_line_error(swapped, "the test labels [0, 1, 2, 4, 5, 6, 8, 9] are bare numbers that name none")


def test_probe_refuses_class_names_against_bare_numbers(tmp_path):
    """Folders cat/ and dog/ against bare labels 0, 1: which number is which class is unknown, so it is refused."""
    class_folders(tmp_path / "test", {"cat": [20, 21], "dog": [200, 201]})
    images = np.stack([np.full((8, 8), 20 + 60 * i, np.uint8) for i in range(4)])
    np.savez(tmp_path / "train.npz", images=images, labels=np.array([0, 0, 1, 1]))
    for name in ("train.npz", "test"):
        assert (
            run("features", "--raw-pixels", tmp_path / name, "--out", tmp_path / f"{name}.safetensors").exit_code == 0
        )
    result = run("probe", "--train", tmp_path / "train.npz.safetensors", "--test", tmp_path / "test.safetensors")
    assert_one_line_error(result, "the test features name their classes (cat, dog) and label rows by their index")


def test_probe_warns_when_test_rows_are_train_rows(tmp_path):
    """The same file, or a copy of the images, as --train and --test scored classifiers on their own training rows
    with no word (an outside audit: kNN 100% with k = 1 on random labels)."""
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "a.npz", images=rng.integers(0, 256, (12, 8, 8), dtype=np.uint8), labels=np.arange(12) % 3)
    np.savez(tmp_path / "b.npz", images=rng.integers(0, 256, (12, 8, 8), dtype=np.uint8), labels=np.arange(12) % 3)
    for name in ("a", "b"):
        out = tmp_path / f"{name}.npz.safetensors"
        assert run("features", "--raw-pixels", tmp_path / f"{name}.npz", "--out", out).exit_code == 0
    (tmp_path / "copy.safetensors").write_bytes((tmp_path / "a.npz.safetensors").read_bytes())
    probe = ["probe", "--classifiers", "knn", "--train", tmp_path / "a.npz.safetensors", "--test"]
    same = run(*probe, tmp_path / "a.npz.safetensors")
    assert same.exit_code == 0 and "--train and --test are the same file" in same.stderr, same.output
    copy = run(*probe, tmp_path / "copy.safetensors")
    assert copy.exit_code == 0 and "12 of 12 test rows are also train rows" in copy.stderr, copy.output
    held_out = run(*probe, tmp_path / "b.npz.safetensors")
    assert held_out.exit_code == 0 and "Warning" not in held_out.stderr, held_out.output


@pytest.mark.parametrize(
    "labels,found",
    [(np.array([1e20, 0.0, 1.0]), "float64 values in [0, 1e+20]"), (np.array([0, -1, 1]), "int64 values in [-1, 1]")],
)
def test_feature_labels_that_are_no_class_indices_are_refused(tmp_path, labels, found):
    """A float label 1e20 was cast to int64 as -9223372036854775808, and negative labels were taken, while image files'
    labels refuse both (an outside audit)."""
    np.savez(tmp_path / "f.npz", features=np.zeros((3, 2), np.float32), labels=labels)
    with pytest.raises(DataError, match="must be class indices") as error:
        load_features(tmp_path / "f.npz")
    assert found in str(error.value)


def test_long_double_features_are_read(tmp_path):
    """float128 features ended in "cannot read features ... (can't convert np.ndarray of type numpy.longdouble)"."""
    np.savez(tmp_path / "f.npz", features=np.ones((3, 2), np.longdouble), labels=np.array([0, 1, 2], np.longdouble))
    loaded = load_features(tmp_path / "f.npz")
    assert loaded.features.dtype == torch.float32 and loaded.labels.tolist() == [0, 1, 2]


def test_feature_labels_in_one_column_are_one_label_per_row(tmp_path):
    """Labels (N, 1) were refused as not one per row, as image files' were (an outside audit)."""
    np.savez(tmp_path / "f.npz", features=np.zeros((3, 2), np.float32), labels=np.array([[1], [0], [2]]))
    assert load_features(tmp_path / "f.npz").labels.tolist() == [1, 0, 2]


def test_zero_padded_digit_folders_are_read_as_their_numbers():
    """Audit 21d: class folders 00/ 01/ 02/ against bare labels 0-2 were refused ("which number is which class is
    unknown"), where they had been scored; names that would make two classes one number still give no reading."""
    from ganinv.features import _class_numbers

    assert _class_numbers(["00", "01", "02"]) == [0, 1, 2]
    assert _class_numbers(["1", "01"]) is None and _class_numbers(["cat", "dog"]) is None
