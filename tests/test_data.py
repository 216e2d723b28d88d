"""Images from local files (ganinv/data/): IDX datasets in both layouts, image folders, tensor files, resizing;
the range of stored values decided from evidence or declared, and every kind of bad input refused in one line."""

import gzip
import json
import os
import pickle
import re
import shutil
import struct
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image
from safetensors.torch import save_file

import ganinv
import ganinv.images
from ganinv.atomic import json_text, write_json
from ganinv.cli.main import cli
from ganinv.data import fit_to_shape, idx_datasets, load_images, parse_input_range
from ganinv.errors import DataError, GaninvError

SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


def write_idx(path: Path, array: np.ndarray) -> None:
    header = b"\x00\x00\x08" + bytes([array.ndim]) + struct.pack(">" + "I" * array.ndim, *array.shape)
    with gzip.open(path, "wb") as fh:
        fh.write(header + array.astype(np.uint8).tobytes())


def fake_idx_dataset(folder: Path, n: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """The four original file names, with tiny 28x28 images whose pixels are 0 or 255."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 2, (n, 28, 28)) * 255
    labels = np.arange(n) % 10
    for split in ("train", "t10k"):
        write_idx(folder / f"{split}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{split}-labels-idx1-ubyte.gz", labels)
    return images, labels


def test_damaged_or_ambiguous_idx_roots_say_what_they_are(tmp_path):
    """Extra bytes were "truncated", a differing raw copy beside the .gz was passed over in silence, and labels
    outside 0-9 were accepted (audit 9)."""
    fake_idx_dataset(tmp_path / "long")
    images = tmp_path / "long" / "t10k-images-idx3-ubyte.gz"
    with gzip.open(images, "rb") as fh:
        data = fh.read()
    with gzip.open(images, "wb") as fh:
        fh.write(data + b"\0" * 784)
    with pytest.raises(DataError, match="holds more than its header says"):
        load_images("mnist", root=tmp_path / "long")
    fake_idx_dataset(tmp_path / "both")
    with gzip.open(tmp_path / "both" / "t10k-images-idx3-ubyte.gz", "rb") as fh:
        original = fh.read()
    raw = tmp_path / "both" / "t10k-images-idx3-ubyte"
    raw.write_bytes(original)  # the same file, unpacked: fine
    assert load_images("mnist", root=tmp_path / "both").images.shape == (6, 1, 28, 28)
    raw.write_bytes(original[:16] + bytes(len(original) - 16))  # another file under the same name
    with pytest.raises(DataError, match="holds both t10k-images-idx3-ubyte.gz and t10k-images-idx3-ubyte, and they"):
        load_images("mnist", root=tmp_path / "both")
    raw.write_bytes(original[:-784])  # an extraction cut short: the one to remove is named (an outside audit, 57c)
    with pytest.raises(
        DataError, match=r"they differ: .*t10k-images-idx3-ubyte is truncated: header says \(6, 28, 28\)"
    ):
        load_images("mnist", root=tmp_path / "both")
    fake_idx_dataset(tmp_path / "labels")
    write_idx(tmp_path / "labels" / "t10k-labels-idx1-ubyte.gz", np.array([0, 1, 2, 3, 4, 12]))
    with pytest.raises(DataError, match="holds label 12, but mnist has 10 classes"):
        load_images("mnist", root=tmp_path / "labels")


@pytest.mark.parametrize("name,layout", [("mnist", "."), ("mnist", "MNIST/raw"), ("fashion-mnist", "FashionMNIST/raw")])
def test_idx_datasets_load_from_the_original_files_or_torchvisions_layout(tmp_path, name, layout):
    images, labels = fake_idx_dataset(tmp_path / layout)
    for split in ("train", "test"):
        data = load_images(name, root=tmp_path, split=split)
        assert data.images.shape == (6, 1, 28, 28) and data.images.dtype == torch.float32
        assert torch.equal(data.images[:, 0], torch.from_numpy(images / 127.5 - 1).float())  # 0 -> -1, 255 -> 1
        assert data.labels.tolist() == labels.tolist()
    assert len(load_images(name, root=tmp_path, limit=4)) == 4


def test_idx_errors_say_what_to_do(tmp_path):
    with pytest.raises(DataError, match="needs --root"):
        load_images("mnist")
    with pytest.raises(DataError, match="pass --root"):
        load_images("mnist", root=tmp_path)
    fake_idx_dataset(tmp_path)
    truncated = tmp_path / "t10k-images-idx3-ubyte.gz"
    with gzip.open(truncated, "rb") as fh:
        data = fh.read()
    with gzip.open(truncated, "wb") as fh:
        fh.write(data[:-10])
    with pytest.raises(DataError, match="truncated"):
        load_images("mnist", root=tmp_path)
    with pytest.raises(DataError, match="split must be"):
        load_images("mnist", root=tmp_path, split="valid")


def test_an_idx_file_of_images_by_another_name_is_read_as_its_images(tmp_path):
    """Audit 36b: EMNIST's, KMNIST's and re-exports' IDX files, not named as MNIST's, were sent to --root, which reads
    MNIST's four names only: no route read them. One is read as its images; a labels file is named as such."""
    digits = np.random.default_rng(0).integers(0, 256, (5, 28, 28)).astype(np.uint8)
    for name in ("emnist-letters-test-images-idx3-ubyte.gz", "kmnist-images-idx3-ubyte"):
        emnist = name.startswith("emnist")  # review 37a: NIST stores EMNIST's glyphs transposed
        write_idx(tmp_path / name, digits.transpose(0, 2, 1) if emnist else digits)
        data = load_images(str(tmp_path / name))
        assert data.images.shape == (5, 1, 28, 28) and data.labels is None
        torch.testing.assert_close(data.images[:, 0], torch.from_numpy(digits).float() / 127.5 - 1)
        assert any("stored transposed: read upright" in note for note in data.notes) == emnist
    upright = tmp_path / "letters-upright-idx3-ubyte"  # the way out the note names: another name reads as stored
    write_idx(upright, digits)
    torch.testing.assert_close(load_images(str(upright)).images[:, 0], torch.from_numpy(digits).float() / 127.5 - 1)
    assert (
        "does not start with 'emnist'"
        in load_images(str(tmp_path / "emnist-letters-test-images-idx3-ubyte.gz")).notes[0]
    )
    write_idx(tmp_path / "emnist-letters-test-labels-idx1-ubyte.gz", np.arange(5))
    with pytest.raises(DataError, match=r"is an IDX file of labels \(one number per image\), not of images"):
        load_images(str(tmp_path / "emnist-letters-test-labels-idx1-ubyte.gz"))


def test_class_subfolders_give_labels_and_names(tmp_path):
    for label, colour in (("cat", 0), ("dog", 255)):
        (tmp_path / label).mkdir()
        for i in range(2):
            Image.new("RGB", (8, 8), (colour, colour, colour)).save(tmp_path / label / f"{i}.png")
    data = load_images(str(tmp_path))
    assert data.classes == ["cat", "dog"] and data.labels.tolist() == [0, 0, 1, 1]
    assert data.images.shape == (4, 3, 8, 8) and data.names[2].endswith("dog/0.png")
    assert data.images[:2].eq(-1).all() and data.images[2:].eq(1).all()


def test_a_folder_per_split_above_the_class_folders_is_said(tmp_path):
    """Audit 10b: `mnist_png/testing/<digit>/` given as `mnist_png` read testing/ and training/ as the two classes,
    every digit under them mixed, with no word (cluster accuracy 18.75% against 68.75%)."""
    for split in ("testing", "training"):
        for digit in ("0", "1", "2"):
            (tmp_path / split / digit).mkdir(parents=True)
            Image.new("L", (8, 8), 40 * int(digit)).save(tmp_path / split / digit / "a.png")
    data = load_images(str(tmp_path))
    assert data.classes == ["testing", "training"]  # read as laid out, and said so with the way out
    said = [note for note in data.source_notes if "one level down" in note]
    assert len(said) == 1 and "folders 0, 1, 2 one level down" in said[0] and str(tmp_path / "testing") in said[0]
    right = load_images(str(tmp_path / "testing"))
    assert right.classes == ["0", "1", "2"] and not [note for note in right.source_notes if "one level down" in note]


def test_class_folders_named_as_splits_are_said(tmp_path):
    """An outside audit (57c): ImageNet's CLS-LOC folder, train/<wnid>/ beside flat val/ and test/, was read as three
    classes train, test, val with no word, and cluster-accuracy scored the clusters against the splits."""
    for wnid in ("n01440764", "n01443537"):
        (tmp_path / "train" / wnid).mkdir(parents=True)
        Image.new("L", (8, 8), 60).save(tmp_path / "train" / wnid / f"{wnid}_0.JPEG")
    for split in ("val", "test"):
        (tmp_path / split).mkdir()
        Image.new("L", (8, 8), 90).save(tmp_path / split / f"ILSVRC2012_{split}_00000001.JPEG")
    data = load_images(str(tmp_path))
    assert data.classes == ["test", "train", "val"]  # read as laid out, and said so with the way out
    nested, splits = (note for note in data.source_notes if note.startswith(f"the classes of {tmp_path} "))
    assert "and the images of train lie in folders n01440764, n01443537 one level down" in nested, nested
    assert "named as a dataset's splits (test, train, val): each image is labelled by the split" in splits, splits
    assert f"give one split's folder (e.g. {tmp_path / 'train'})" in splits, splits
    flat = load_images(str(tmp_path / "train"))
    assert flat.classes == ["n01440764", "n01443537"] and not [n for n in flat.source_notes if "the classes" in n]


def test_archivers_and_empty_folders_are_no_classes(tmp_path):
    """Audit 10b: a macOS zip's `__MACOSX` folder, and an empty class folder, were read as classes."""
    for digit in ("3", "7"):
        (tmp_path / digit).mkdir()
        Image.new("L", (8, 8), 9).save(tmp_path / digit / "a.png")
    (tmp_path / "__MACOSX" / "3").mkdir(parents=True)
    (tmp_path / "__MACOSX" / "3" / "._a.png").write_bytes(b"\x00\x05\x16\x07 resource fork")
    (tmp_path / "8").mkdir()
    data = load_images(str(tmp_path))
    assert data.classes == ["3", "7"] and data.labels.tolist() == [0, 1]
    assert any("hold no images ganinv reads and are not taken as classes" in note for note in data.source_notes)
    assert any(note.endswith("are numbered without them): 8") for note in data.source_notes)


def test_every_image_type_pil_reads_is_read_or_named(tmp_path):
    """An outside audit's folder of 8 digits (.png, .pgm, .ppm, .jfif, .jpe, .tga) gave 3 images with no word, and a
    class folder of only .pgm files was dropped as one that "holds no images", the next class moving down."""
    folder = tmp_path / "mixed"
    folder.mkdir()
    for i, suffix in enumerate((".png", ".pgm", ".ppm", ".jfif", ".jpe", ".tga")):
        Image.new("L" if suffix != ".ppm" else "RGB", (8, 8), 20 * i).save(folder / f"{i}{suffix}")
    Image.new("L", (8, 8), 9).save(folder / "6.pcx")  # PIL reads PCX, ganinv does not: named
    data = load_images(str(folder))
    assert len(data) == 6 and sorted(Path(name).suffix for name in data.names)[0] == ".jfif"
    assert data.source_notes[0].startswith(
        f"1 file(s) of {folder} with suffixes .pcx (e.g. {folder / '6.pcx'}) were not read"
    )
    classes = tmp_path / "classes"
    for name, suffix in (("c0", ".png"), ("c1", ".pcx"), ("c2", ".png")):
        (classes / name).mkdir(parents=True)
        Image.new("L", (8, 8), 9).save(classes / name / f"a{suffix}")
    said = load_images(str(classes)).source_notes
    assert said[0].startswith(f"1 file(s) of {classes} with suffixes .pcx") and said[1].endswith("without them): c1")


def test_links_that_lead_outside_the_named_folder_are_named_not_read(tmp_path):
    """A class folder b/ with a link more/ -> ../extra was read without a word before links were followed (an outside
    audit), and followed it read whatever the link chose: a shared dataset's `a/more -> /usr/share` put 4934 images
    of the machine into features labelled `a` (audit 34a). A folder names what ganinv reads: links that lead outside
    it are named in a note, not read; links back into the tree of classes are not followed either (an outside
    review: a/parent -> .. read b's images again as a's)."""
    (tmp_path / "extra").mkdir()
    for i in range(2):
        Image.new("L", (8, 8), 9).save(tmp_path / "extra" / f"{i}.png")
    for name in ("a", "b"):
        (tmp_path / "classes" / name).mkdir(parents=True)
        Image.new("L", (8, 8), 9).save(tmp_path / "classes" / name / "0.png")
    (tmp_path / "classes" / "b" / "more").symlink_to(tmp_path / "extra", target_is_directory=True)
    (tmp_path / "classes" / "b" / "one.png").symlink_to(tmp_path / "extra" / "0.png")
    (tmp_path / "classes" / "a" / "parent").symlink_to(tmp_path / "classes", target_is_directory=True)
    (tmp_path / "classes" / "a" / "sibling").symlink_to(tmp_path / "classes" / "b", target_is_directory=True)
    data = load_images(str(tmp_path / "classes"))
    assert data.labels.tolist() == [0, 1] and data.classes == ["a", "b"]
    (note,) = [n for n in data.source_notes if "lead outside it" in n]
    assert note.startswith(f"2 link(s) in {tmp_path / 'classes'} lead outside it") and "not read" in note
    # a whole class folder linked from outside: refused, as dropping it numbered the classes after it anew (review)
    (tmp_path / "classes" / "c").symlink_to(tmp_path / "extra", target_is_directory=True)
    with pytest.raises(DataError, match=r"classes/c is a link that leads outside \S*classes \(to \S*extra\)"):
        load_images(str(tmp_path / "classes"))
    loose = tmp_path / "loose"
    loose.mkdir()
    Image.new("L", (8, 8), 9).save(loose / "mine.png")
    (loose / "theirs.png").symlink_to(tmp_path / "extra" / "1.png")
    (loose / "alias.png").symlink_to(loose / "mine.png")  # inside: read
    data = load_images(str(loose))
    assert [Path(n).name for n in data.names] == ["alias.png", "mine.png"] and "1 link(s)" in data.source_notes[0]


def test_a_note_about_many_files_is_said_once(tmp_path):
    """Audit 10b: 16 two-frame GIFs gave 16 lines "has 2 frames; only the first is read"."""
    for i in range(5):
        frames = [Image.new("L", (8, 8), 10 * k) for k in range(2)]
        frames[0].save(tmp_path / f"{i}.gif", save_all=True, append_images=frames[1:])
    data = load_images(str(tmp_path))
    assert [note for note in data.notes if "frames" in note] == [
        f"5 of 5 images, e.g. {tmp_path / '0.gif'} has 2 frames; only the first is read"
    ]


def test_a_flat_folder_has_names_but_no_labels(tmp_path):
    for i in range(3):
        Image.new("L", (10, 12), 128).save(tmp_path / f"{i}.png")
    data = load_images(str(tmp_path))
    assert data.labels is None and data.images.shape == (3, 1, 12, 10) and len(data.names) == 3


def test_a_folder_with_several_damaged_files_names_them_all_at_once(tmp_path):
    """They were refused one per run, so a user repaired them one rerun at a time (audit 8)."""
    for i in range(3):
        Image.new("L", (8, 8), 128).save(tmp_path / f"{i}.png")
    good = (tmp_path / "0.png").read_bytes()
    (tmp_path / "1.png").write_bytes(good[: len(good) // 2])  # truncated
    (tmp_path / "2.png").write_bytes(b"not an image at all")
    with pytest.raises(DataError, match=r"2 of 3 image files cannot be read; repair or remove them: .*1\.png.*2\.png"):
        load_images(str(tmp_path))


def test_tensor_files_in_uint8_nhwc_become_nchw_in_range(tmp_path):
    images = np.full((4, 8, 8, 3), 255, dtype=np.uint8)
    np.savez(tmp_path / "x.npz", images=images, labels=np.array([1, 2, 3, 4]))
    data = load_images(str(tmp_path / "x.npz"))
    assert data.images.shape == (4, 3, 8, 8) and data.images.eq(1).all() and data.labels.tolist() == [1, 2, 3, 4]
    np.savez(tmp_path / "y.npz", pixels=images)
    with pytest.raises(DataError, match="no 'images' array"):
        load_images(str(tmp_path / "y.npz"))


def test_fit_to_shape_converts_and_says_what_it_changed():
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    y, warning = fit_to_shape(x, (1, 16, 16))
    assert y.shape == (2, 1, 16, 16) and "3 -> 1 channels" in warning and "32 x 32 -> 16 x 16 pixels" in warning
    torch.testing.assert_close(y.mean(), x.mean(), atol=0.02, rtol=0)
    same, none = fit_to_shape(x, (3, 32, 32))
    assert none is None and torch.equal(same, x)
    grey = torch.zeros(1, 1, 4, 4)
    coloured, said = fit_to_shape(grey, (3, 4, 4))
    assert coloured.shape == (1, 3, 4, 4)  # its SSE is 3x the grey one's, said (audit 26b F9)
    assert said is not None and "1 -> 3 channels (the grey copied into each: errors are summed over all 3" in said


@pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason="the shared MNIST files are not on this machine")
def test_the_real_mnist_test_split():
    data = load_images("mnist", root=SHARED_MNIST, split="test")
    assert data.images.shape == (10000, 1, 28, 28)
    assert data.labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]  # as the data README lists them
    assert abs((data.images.mean().item() + 1) * 127.5 - 33.791) < 0.01  # mean pixel value 33.791


def test_another_datasets_files_are_refused_by_their_labels(tmp_path):
    """Audit 10b: `mnist --root <Fashion-MNIST's folder>` read Fashion-MNIST as MNIST (same file names and format),
    and `train --data fashion-mnist --root <MNIST's>` trained on MNIST recorded as Fashion-MNIST."""
    fashion = SHARED_MNIST.parent / "fashion-mnist"
    with pytest.raises(DataError, match="holds Fashion-MNIST's test labels, not MNIST's test labels"):
        load_images("mnist", root=fashion, split="test")
    with pytest.raises(DataError, match="holds MNIST's train labels, not Fashion-MNIST's train labels"):
        load_images("fashion-mnist", root=SHARED_MNIST, split="train")
    assert load_images("fashion-mnist", root=fashion, split="test", limit=5).notes == []
    # as many labels as the published test split, but other ones (KMNIST is written in MNIST's format): said
    rng = np.random.default_rng(0)
    other = tmp_path / "kmnist"
    other.mkdir()
    write_idx(other / "t10k-images-idx3-ubyte.gz", rng.integers(0, 256, (10000, 28, 28)))
    write_idx(other / "t10k-labels-idx1-ubyte.gz", rng.integers(0, 10, 10000))
    notes = load_images("mnist", root=other, split="test").notes
    assert len(notes) == 1 and "but not its published ones: read as mnist" in notes[0]


@pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason="the shared MNIST files are not on this machine")
def test_another_datasets_images_beside_the_right_labels_are_refused(tmp_path):
    """An outside audit (57c): Fashion-MNIST's images beside MNIST's labels (the same file names) were read as digits
    in silence, only the labels being checked. The images are checked too; changed ones beside the published labels
    are said."""
    fashion = SHARED_MNIST.parent / "fashion-mnist"
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    shutil.copy(fashion / "t10k-images-idx3-ubyte.gz", mixed)
    shutil.copy(SHARED_MNIST / "t10k-labels-idx1-ubyte.gz", mixed)
    with pytest.raises(DataError, match="holds Fashion-MNIST's test images, not MNIST's test images.*fashion-mnist"):
        load_images("mnist", root=mixed, split="test")
    changed = idx_datasets.read_idx(SHARED_MNIST / "t10k-images-idx3-ubyte.gz").copy()
    changed[0, 0, 0] = 1  # one pixel of a modified copy
    write_idx(mixed / "t10k-images-idx3-ubyte.gz", changed)
    notes = load_images("mnist", root=mixed, split="test", limit=3).notes
    assert len(notes) == 1 and "but not its published ones, beside its published labels" in notes[0], notes
    assert load_images("mnist", root=SHARED_MNIST, split="test", limit=3).notes == []


# ---- the range of tensor files ------------------------------------------------------------------------
def save_tensors(path: Path, **arrays) -> Path:
    """Real .npz or .safetensors files, from numpy arrays."""
    if path.suffix == ".npz":
        np.savez(path, **arrays)
    else:
        save_file({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items()}, str(path))
    return path


RAMP = np.linspace(0, 1, 2 * 8 * 8).reshape(2, 8, 8)  # (N, H, W) from 0 to 1


def unblank(notes: list[str]) -> list[str]:
    """The notes but the one on blank images, which tests of other rules read from one-value images say too."""
    return [note for note in notes if " are blank, one value in every pixel " not in note]


@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
@pytest.mark.parametrize(
    "stored,expected,note",
    [
        ((RAMP * 255).round().astype(np.uint8), (RAMP * 255).round() / 127.5 - 1, None),
        ((RAMP * 65535).round().astype(np.uint16), (RAMP * 65535).round() / 32767.5 - 1, "16-bit pixels in [0, 65535]"),
        (RAMP.astype(np.float32), RAMP * 2 - 1, "declare --input-range -1,1"),  # [0, 1]: assumed, and said
        (RAMP.astype(np.float64), RAMP * 2 - 1, "declare --input-range -1,1"),
        (RAMP.astype(np.float16), RAMP.astype(np.float16).astype(np.float64) * 2 - 1, "as images in [0, 1]"),
        ((RAMP * 255).astype(np.float32), RAMP * 2 - 1, "as 8-bit values in [0, 255]"),  # floats: said too
        ((RAMP * 2 - 1).astype(np.float32), RAMP * 2 - 1, None),  # [-1, 1], some negative
        (RAMP > 0.5, np.where(RAMP > 0.5, 1.0, -1.0), "False black, True white"),  # bool masks: said (audit 17b F7)
    ],
)
def test_the_range_of_tensor_files_is_decided_from_dtype_and_values(tmp_path, suffix, stored, expected, note):
    path = save_tensors(tmp_path / f"x{suffix}", images=stored)
    data = load_images(str(path))
    assert data.images.shape == (2, 1, 8, 8) and data.images.dtype == torch.float32
    torch.testing.assert_close(data.images[:, 0], torch.from_numpy(expected).float(), atol=1e-6, rtol=0)
    notes = unblank(data.notes)  # the bool masks are one value an image
    if note is None:
        assert notes == []
    else:
        assert len(notes) == 1 and note in notes[0] and str(path) in notes[0]


def test_an_assumed_range_is_logged_as_a_warning(tmp_path, caplog):
    path = save_tensors(tmp_path / "x.npz", images=RAMP.astype(np.float32))
    load_images(str(path))
    assert any("--input-range -1,1" in r.getMessage() and r.levelname == "WARNING" for r in caplog.records)


@pytest.mark.parametrize(
    "stored,message",
    [
        ((RAMP * 255).astype(np.int32), "int32 values in [0, 255] have no known pixel range; declare it with"),
        ((RAMP * 255).astype(np.int64), "int64 values in [0, 255]"),
        ((RAMP * 200).astype(np.uint16), "uint16 values in [0, 200] have no known pixel range"),  # 8 or 16 bits?
        # a CT scan's signed values: their own span offered, where 0,255 and 0,65535 cannot hold them (an audit)
        (
            (RAMP * 2040 - 1024).astype(np.int16),
            "int16 values in [-1024, 1016] have no known pixel range; declare it "
            "with --input-range LO,HI (e.g. -1024,1016, the values' own span)",
        ),
        (RAMP.astype(np.float32) * 300 - 5, "values in [-5, 295] fit none of the pixel ranges"),
        (RAMP.astype(np.float32) * 2 - 1.5, "values in [-1.5, 0.5] fit none"),
        (RAMP.astype(np.float32) * 1.1, "values in [0, 1.1] fit none"),  # [0, 1] overshot, or a black [0, 255]?
    ],
)
def test_values_without_a_known_range_are_refused_with_what_was_seen(tmp_path, stored, message):
    path = save_tensors(tmp_path / "x.npz", images=stored)
    with pytest.raises(DataError, match="x.npz") as error:
        load_images(str(path))
    assert message in str(error.value)


def test_unit_values_a_resampling_overshot_are_read_as_unit_and_said(tmp_path):
    """Audit 20a: [0, 1] images resampled bicubically lie a little outside [0, 1] on both sides; they were refused,
    and declaring 0,1 was refused too. Within [-0.05, 1.05] they are [0, 1] clamped, said with both other readings."""
    path = save_tensors(tmp_path / "x.npz", images=RAMP.astype(np.float32) * 1.04 - 0.02)
    data = load_images(str(path))
    torch.testing.assert_close(data.images[:, 0], torch.from_numpy(RAMP * 1.04 - 0.02).float().clamp(0, 1) * 2 - 1)
    said = " ".join(data.notes)
    assert "a little outside it clamped" in said and "--input-range -1,1" in said and "--input-range 0,255" in said
    # bicubic's real overshoot at MNIST's edges, [-0.17, 1.2], fits no other range: refused, until audit 55b
    path = save_tensors(tmp_path / "y.npz", images=RAMP.astype(np.float32) * 1.37 - 0.17)
    torch.testing.assert_close(
        load_images(str(path)).images[:, 0], torch.from_numpy(RAMP * 1.37 - 0.17).float().clamp(0, 1) * 2 - 1
    )
    path = save_tensors(tmp_path / "z.npz", images=RAMP.astype(np.float32) * 1.8 - 0.4)
    with pytest.raises(DataError, match="fit none of the pixel ranges"):
        load_images(str(path))  # [-0.4, 1.4]: more than a resampling overshoots


@pytest.mark.parametrize(
    "stored,declared,expected",
    [
        ((RAMP * 255).astype(np.int64), (0, 255), (RAMP * 255).astype(np.int64) / 127.5 - 1),
        (RAMP.astype(np.float32) * 0.5, (-1, 1), RAMP * 0.5),  # [0, 1] values declared [-1, 1]: kept as they are
        ((RAMP * 4095).round().astype(np.uint16), (0, 4095), (RAMP * 4095).round() / 2047.5 - 1),  # 12-bit data
        ((RAMP * 255).round().astype(np.uint8), (0, 255), (RAMP * 255).round() / 127.5 - 1),
    ],
)
def test_a_declared_range_maps_the_values(tmp_path, stored, declared, expected):
    data = load_images(str(save_tensors(tmp_path / "x.safetensors", images=stored)), input_range=declared)
    torch.testing.assert_close(data.images[:, 0], torch.from_numpy(expected).float(), atol=1e-6, rtol=0)
    assert data.notes == []


def test_values_outside_a_declared_range_are_counted_and_refused(tmp_path):
    stored = (RAMP * 255).astype(np.float32)  # 127 values of 128 exceed 1
    path = save_tensors(tmp_path / "x.npz", images=stored)
    with pytest.raises(DataError) as error:
        load_images(str(path), input_range=(0, 1))
    assert f"{path}: 127 of 128 values lie outside the declared input range [0, 1] (seen [0, 255])" in str(error.value)
    png = tmp_path / "a.png"
    Image.new("L", (4, 4), 200).save(png)
    with pytest.raises(DataError, match=r"16 of 16 values lie outside the declared input range \[-1, 1\]"):
        load_images(str(png), input_range=(-1, 1))


@pytest.mark.parametrize("text,expected", [("0,1", (0.0, 1.0)), ("0, 255", (0.0, 255.0)), ("-1,1", (-1.0, 1.0))])
def test_input_range_text(text, expected):
    assert parse_input_range(text) == expected


@pytest.mark.parametrize("text", ["1,0", "0", "a,b", "0,1,2", "nan,1", "0,inf", "2,2"])
def test_bad_input_ranges_are_refused(text):
    with pytest.raises(DataError, match="LO"):
        parse_input_range(text)


# ---- bad tensor files ------------------------------------------------------------------------------------
def with_bad_pixels(value: float) -> np.ndarray:
    images = np.zeros((8, 6, 6), dtype=np.float32)
    images[[2, 5], 1, 3] = value
    return images


@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_pixels_are_refused_naming_the_images(tmp_path, suffix, value):
    path = save_tensors(tmp_path / f"x{suffix}", images=with_bad_pixels(value))
    with pytest.raises(DataError) as error:
        load_images(str(path), limit=1)  # the whole file is checked, whatever the limit
    assert str(error.value) == (
        f"{path}: 2 of 8 images hold NaN or infinite pixels (indices 2, 5); repair or drop them"
    )
    with pytest.raises(DataError, match="indices 2, 5"):
        load_images(str(path), input_range=(0, 1))


@pytest.mark.parametrize(
    "images,message",
    [
        (np.full((0, 8, 8), 128, np.uint8), "has shape (0, 8, 8), which holds no pixels"),
        (np.zeros((4, 0, 8, 8), np.float32), "which holds no pixels"),
        (
            np.full((8, 8), 128, np.uint8),
            "is 2-D (8, 8): one greyscale image or 8 flattened ones? save one image as (1, H, W)",
        ),
        (np.zeros(64, np.uint8), "has shape (64,); images must be"),
        (np.full((1, 2, 1, 8, 8), 128, np.uint8), "has shape (1, 2, 1, 8, 8)"),
        (np.full((28, 28, 3), 128, np.uint8), "if it is one H x W x C image, save it as (1, 28, 28, 3)"),
        (np.array([["a", "b"]]), "holds <U1 values, not numbers"),
        (np.zeros((1, 4, 4), np.complex64), "complex64 values, not numbers"),
        # alpha channels: an outside audit found (N, H, W, 4) read as 28 channels of 28 x 4 pixels, and (N, 4, H, W)
        # averaged to grey with the alpha counted as a colour
        (np.full((2, 28, 28, 4), 128, np.uint8), "holds 4-channel images (RGBA?); ganinv reads 1 (grey) or 3 (RGB)"),
        (np.full((2, 4, 28, 28), 128, np.uint8), "holds 4-channel images (RGBA?)"),
        (np.full((2, 28, 28, 2), 128, np.uint8), "holds 2-channel images (grey and alpha?)"),
        (np.zeros((2, 5, 8, 8), np.float32), "holds 5-channel images;"),
    ],
)
def test_unusable_arrays_are_refused(tmp_path, images, message):
    path = save_tensors(tmp_path / "x.npz", images=images)
    with pytest.raises(DataError, match="x.npz") as error:
        load_images(str(path))
    assert message in str(error.value)


def test_object_arrays_are_never_unpickled(tmp_path):
    path = tmp_path / "x.npz"
    np.savez(path, images=np.array([np.zeros((4, 4)), "evil"], dtype=object))  # savez pickles object arrays
    with pytest.raises(DataError, match="arrays of Python objects, which ganinv never unpickles"):
        load_images(str(path))


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def write_truncated(path: Path, keep: float) -> Path:
    save_tensors(path, images=np.full((4, 8, 8), 128, np.uint8))
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


@pytest.mark.parametrize(
    "make,message",
    [
        (lambda p: write_truncated(p / "x.safetensors", 0.5), "cannot read {} as safetensors"),
        (lambda p: write_truncated(p / "x.safetensors", 0.01), "cannot read {} as safetensors"),
        (lambda p: write(p / "x.safetensors", b""), "cannot read {} as safetensors"),
        (lambda p: write(p / "x.safetensors", b"\xff" * 8 + b"{}"), "as safetensors"),
        (lambda p: write_truncated(p / "x.npz", 0.5), "{} is damaged or not an .npz archive"),
        (lambda p: write(p / "x.npz", b""), "{} is damaged or not an .npz archive"),
        (lambda p: write(p / "x.npz", b"PK\x03\x04 not really"), "is damaged or not an .npz"),
        (lambda p: write(p / "x.npz", b"just text"), "is a text file beginning 'just text', not an .npz archive"),
        (lambda p: write(p / "x.npz", b"\x00\x01 binary"), "is damaged or not an .npz"),
    ],
)
def test_damaged_tensor_files_are_one_clear_error(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(DataError) as error:
        load_images(str(path))
    assert message.format(path) in str(error.value) and "again" in str(error.value)


def test_square_tiny_images_and_string_labels(tmp_path):
    """(N, 4, 4) is N square images, not one H x W x C image; string labels are named as labels (an outside audit)."""
    images = load_images(str(save_tensors(tmp_path / "a.npz", images=np.full((50, 4, 4), 128, np.uint8)))).images
    assert images.shape == (50, 1, 4, 4)
    path = save_tensors(tmp_path / "b.npz", images=np.full((3, 8, 8), 128, np.uint8), labels=np.array(["a", "b", "c"]))
    with pytest.raises(DataError, match="save the labels as class indices"):
        load_images(str(path))


@pytest.mark.parametrize("name", ["x.npy", "x.npz"])  # an .npy array, also when saved under an .npz name
def test_a_single_numpy_array_is_the_images(tmp_path, name):
    path = tmp_path / name
    with open(path, "wb") as fh:
        np.save(fh, np.full((2, 8, 8), 255, np.uint8))
    loaded = load_images(str(path))
    assert loaded.images.shape == (2, 1, 8, 8) and bool((loaded.images == 1).all()) and loaded.labels is None


@pytest.mark.parametrize(
    "labels,message",
    [
        (np.arange(3), "'labels' has shape (3,) but there are 4 images"),
        (np.zeros((4, 2), np.int64), "'labels' has shape (4, 2)"),
        (np.array([0.0, 1.5, 2.0, 3.0]), "non-integer values"),
        (np.array([0, -1, 2, 3]), "must be class indices"),
        # an outside audit: cast to int64, 1e20 and 2**64 - 1 became negative labels in silence
        (np.array([1e20, 1.0, 2.0, 3.0]), "must be class indices 0, 1, ... (found float64 values in [1, 1e+20])"),
        (np.array([2**64 - 1, 1, 2, 3], np.uint64), "must be class indices 0, 1, ... (found uint64 values in [1, 1.84"),
        (np.array([2**40, 1, 2, 3]), "(found int64 values in [1, 1.09951e+12])"),
    ],
)
def test_labels_that_do_not_fit_the_images_are_refused(tmp_path, labels, message):
    path = save_tensors(tmp_path / "x.npz", images=np.full((4, 8, 8), 128, np.uint8), labels=labels)
    with pytest.raises(DataError) as error:
        load_images(str(path))
    assert message in str(error.value)


def test_whole_number_float_labels_are_read_as_classes(tmp_path):
    path = save_tensors(tmp_path / "x.npz", images=np.full((3, 8, 8), 128, np.uint8), labels=np.array([2.0, 0.0, 1.0]))
    assert load_images(str(path)).labels.tolist() == [2, 0, 1]


# ---- special files ---------------------------------------------------------------------------------------
def refused_without_blocking(source: str, fifo: Path) -> DataError:
    """load_images(source) must refuse at once; if it opened the FIFO, a writer frees it and the test fails."""

    def free_reader():
        with open(fifo, "wb"):
            pass

    rescue = threading.Timer(5, free_reader)
    rescue.daemon = True
    rescue.start()
    try:
        with pytest.raises(DataError) as error:
            load_images(source)
    finally:
        rescue.cancel()
    return error.value


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this platform")
@pytest.mark.parametrize("name", ["images.npz", "images.safetensors", "a.png"])
def test_a_fifo_is_refused_not_read(tmp_path, name):
    fifo = tmp_path / name
    os.mkfifo(fifo)
    assert str(refused_without_blocking(str(fifo), fifo)) == (
        f"{fifo} is a FIFO (named pipe); ganinv reads images only from regular files and folders: give one of those"
    )


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this platform")
def test_a_fifo_inside_an_image_folder_is_refused(tmp_path):
    Image.new("L", (8, 8)).save(tmp_path / "a.png")
    os.mkfifo(tmp_path / "b.png")
    assert "b.png is a FIFO (named pipe)" in str(refused_without_blocking(str(tmp_path), tmp_path / "b.png"))


@pytest.mark.skipif(not os.path.exists("/dev/null"), reason="no /dev/null")
def test_a_device_is_refused():
    with pytest.raises(DataError, match="/dev/null is a character device; ganinv reads images only from regular"):
        load_images("/dev/null")


# ---- image files ------------------------------------------------------------------------------------------
def test_sixteen_bit_pngs_keep_their_sixteen_bits(tmp_path):
    values = np.array([[0, 1000], [40000, 65535]], dtype=np.uint16)
    Image.fromarray(values).save(tmp_path / "a.png")
    data = load_images(str(tmp_path / "a.png"))
    expected = torch.from_numpy(values / 32767.5 - 1).float()
    torch.testing.assert_close(data.images[0, 0], expected, atol=1e-6, rtol=0)
    assert data.notes == []


def test_palette_bilevel_and_opaque_rgba_images_read_as_their_colours(tmp_path):
    palette = Image.new("P", (4, 4))
    palette.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    palette.putpixel((1, 1), 1)
    palette.save(tmp_path / "p.png")
    Image.new("1", (4, 4), 1).save(tmp_path / "b.png")
    Image.new("RGBA", (4, 4), (0, 255, 0, 255)).save(tmp_path / "o.png")
    p, b, o = (load_images(str(tmp_path / f"{name}.png")) for name in "pbo")
    assert p.images.shape == (1, 3, 4, 4) and p.images[0, :, 1, 1].tolist() == [1, -1, -1]
    assert p.images[0, :, 0, 0].tolist() == [-1, -1, -1]
    assert b.images.shape == (1, 1, 4, 4) and b.images.eq(1).all()
    assert o.images[0, :, 0, 0].tolist() == [-1, 1, -1] and unblank(o.notes) == p.notes == unblank(b.notes) == []


def test_transparent_pixels_are_composited_onto_black_and_said(tmp_path):
    array = np.full((2, 2, 4), 128, np.uint8)
    array[..., :3] = 255
    array[..., 3] = [[255, 0], [51, 255]]
    Image.fromarray(array, "RGBA").save(tmp_path / "t.png")
    data = load_images(str(tmp_path / "t.png"))
    torch.testing.assert_close(data.images[0, 0], torch.tensor([[1, -1], [51 / 127.5 - 1, 1]]))
    assert len(data.notes) == 1 and "composited onto black" in data.notes[0]


def test_float_images_are_ranged_like_tensors(tmp_path):
    Image.fromarray(np.full((4, 4), 0.25, np.float32), "F").save(tmp_path / "f.tif")
    data = load_images(str(tmp_path / "f.tif"))
    torch.testing.assert_close(data.images, torch.full((1, 1, 4, 4), -0.5))
    assert "--input-range -1,1" in data.notes[0]


@pytest.mark.parametrize(
    "make",
    [
        lambda p: (p / "a.png").write_bytes(b"\x89PNG not an image"),  # text is named as text (stand_ins)
        lambda p: (p / "a.png").write_bytes(b""),
        lambda p: (
            Image.new("RGB", (32, 32), (1, 2, 3)).save(p / "a.png"),
            (p / "a.png").write_bytes((p / "a.png").read_bytes()[:60]),
        ),
    ],
)
def test_damaged_image_files_are_one_clear_error(tmp_path, make):
    make(tmp_path)
    for source in (tmp_path / "a.png", tmp_path):
        with pytest.raises(DataError, match=f"cannot read image {tmp_path / 'a.png'}: .*complete image file"):
            load_images(str(source))


def test_huge_images_are_refused_before_decoding(tmp_path, monkeypatch):
    monkeypatch.setattr(ganinv.images, "MAX_IMAGE_PIXELS", 100)
    Image.new("L", (20, 10)).save(tmp_path / "big.png")
    with pytest.raises(DataError, match=r"big.png is 20 x 10 pixels, more than ganinv reads \(100 pixels\)"):
        load_images(str(tmp_path / "big.png"))


def test_a_photo_too_large_to_decode_whole_is_read_at_a_jpeg_scale_and_said(tmp_path, monkeypatch):
    monkeypatch.setattr(ganinv.images, "MAX_IMAGE_PIXELS", 1000)
    ramp = np.broadcast_to(np.linspace(0, 255, 80, dtype=np.float32), (60, 80)).astype(np.uint8)  # (H, W)
    Image.fromarray(ramp).save(tmp_path / "photo.jpg", quality=95)  # 80 x 60: 4800 pixels; at 1/4, 20 x 15
    data = load_images(str(tmp_path / "photo.jpg"))
    assert data.images.shape == (1, 1, 15, 20)
    whole = torch.from_numpy(ramp.astype(np.float32) / 127.5 - 1)[None, None]
    expected = torch.nn.functional.interpolate(whole, size=(15, 20), mode="area")
    assert (data.images - expected).abs().max() < 0.05  # the decoder's own downscale: the same picture
    assert unblank(data.notes) == [
        f"{tmp_path / 'photo.jpg'} is 80 x 60 pixels, more than ganinv decodes whole (1000 pixels): read at 1/4 "
        "scale (20 x 15) by the JPEG decoder"
    ]
    photo = Image.fromarray(ramp)  # review 37a: a camera's JPEG with an embedded preview opens as MPO
    photo.save(tmp_path / "camera.jpg", format="MPO", save_all=True, append_images=[photo.resize((8, 6))])
    assert load_images(str(tmp_path / "camera.jpg")).images.shape == (1, 1, 15, 20)
    monkeypatch.setattr(ganinv.images, "MAX_IMAGE_PIXELS", 50)  # still too large at 1/8 (10 x 8)
    with pytest.raises(DataError, match=r"photo.jpg is 80 x 60 pixels, more than ganinv reads \(50 pixels\)"):
        load_images(str(tmp_path / "photo.jpg"))


def test_a_folder_of_mixed_sizes_and_modes_is_resized_to_the_common_size_and_said(tmp_path):
    Image.new("L", (8, 8), 255).save(tmp_path / "a.png")
    Image.new("RGB", (8, 8), (255, 0, 0)).save(tmp_path / "b.png")
    Image.new("L", (12, 10), 0).save(tmp_path / "c.png")
    (tmp_path / ".DS_Store").write_bytes(b"\0\0")
    (tmp_path / "._a.png").write_bytes(b"\0\0")  # macOS metadata, not an image
    data = load_images(str(tmp_path))
    assert data.images.shape == (3, 3, 8, 8) and data.images[0].eq(1).all()
    torch.testing.assert_close(data.images[2], torch.full((3, 8, 8), -1.0))  # resized: equal up to rounding
    assert data.images[1, :, 0, 0].tolist() == [1, -1, -1]
    assert unblank(data.notes) == [
        f"2 of 3 images are greyscale among colour ones (e.g. {tmp_path / 'a.png'}): read as colour images with three "
        "equal channels",
        f"1 of 3 images differ from the most common size 8 x 8 (e.g. {tmp_path / 'c.png'} is "
        "12 x 10); they were resized to it; 1 of them have another aspect ratio and were stretched, not cropped",
    ]


def test_empty_idx_files_are_one_clear_error(tmp_path):
    fake_idx_dataset(tmp_path)
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(b"")
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte.gz"):
        load_images("mnist", root=tmp_path)
    with gzip.open(tmp_path / "t10k-images-idx3-ubyte.gz", "wb") as fh:
        fh.write(b"\0\0")
    with pytest.raises(DataError, match="is not an IDX file"):
        load_images("mnist", root=tmp_path)


def test_idx_images_and_labels_must_agree(tmp_path):
    fake_idx_dataset(tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.arange(5))
    with pytest.raises(DataError, match="are not N images with N labels"):
        load_images("mnist", root=tmp_path)


# ---- fit_to_shape -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "images,message",
    [
        (torch.full((2, 1, 4, 4), 0.5).index_fill_(0, torch.tensor([1]), float("nan")), "indices 1"),
        (torch.full((1, 1, 4, 4), 255.0), r"values in \[255, 255\], not \[-1, 1\]"),
        (torch.zeros(0, 1, 4, 4), "expected a batch of images"),
    ],
)
def test_fit_to_shape_refuses_what_it_would_have_clamped(images, message):
    with pytest.raises(DataError, match=message):
        fit_to_shape(images, (1, 4, 4))


def test_fit_to_shape_keeps_values_within_range_without_clamping_them():
    x = torch.linspace(-1, 1, 2 * 3 * 6 * 6).reshape(2, 3, 6, 6)
    y, warning = fit_to_shape(x, (3, 6, 6))
    assert warning is None and torch.equal(y, x)
    y, warning = fit_to_shape(x, (3, 3, 3))  # antialiased bilinear: no overshoot, nothing clamped
    assert "clamped" not in warning and y.min() >= -1 and y.max() <= 1


# ---- JSON ----------------------------------------------------------------------------------------------------
def test_json_refuses_non_finite_numbers_naming_them(tmp_path):
    with pytest.raises(GaninvError, match=r"encoder.psnr is not a finite number, which JSON cannot hold"):
        write_json(tmp_path / "metrics.json", {"n": 3, "encoder": {"psnr": float("nan")}})
    assert list(tmp_path.iterdir()) == []  # nothing written, no temporary left
    with pytest.raises(GaninvError, match=r"stats\[1\] is not a finite"):
        json_text({"stats": [1.0, float("-inf")]})
    assert json.loads(json_text({"a": [1.5, None]})) == {"a": [1.5, None]}


# ---- the CLI -----------------------------------------------------------------------------------------------
BUILTIN_INVERTER = Path(ganinv.__file__).parent / "builtin" / "mnist" / "inverter"


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def assert_one_error_line(result, *texts):
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and all(text in errors[0] for text in texts), result.stderr


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_cli_invert_refuses_non_finite_pixels_in_one_line(tmp_path, value):
    path = save_tensors(tmp_path / "x.npz", images=with_bad_pixels(value))
    result = invoke("invert", "--inverter", BUILTIN_INVERTER, path, "--out", tmp_path / "out", "--device", "cpu")
    assert_one_error_line(result, str(path), "2 of 8 images hold NaN or infinite pixels (indices 2, 5)")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "args,texts",
    [
        (["--input-range", "1,0"], ["--input-range takes", "LO < HI, both within +-1e+30"]),
        (["--input-range", "0,1"], ["values lie outside the declared input range [0, 1]"]),
        ([], ["int64 values in [0, 255]", "--input-range"]),
    ],
)
def test_cli_features_input_range(tmp_path, args, texts):
    path = save_tensors(tmp_path / "x.npz", images=(RAMP * 255).astype(np.int64))
    result = invoke("features", "--raw-pixels", path, "--out", tmp_path / "f.safetensors", *args)
    assert_one_error_line(result, *texts)
    assert not (tmp_path / "f.safetensors").exists()


def test_cli_features_with_a_declared_range_reads_the_values(tmp_path):
    path = save_tensors(tmp_path / "x.npz", images=(RAMP * 255).astype(np.int64), labels=np.array([0, 1]))
    result = invoke("features", "--raw-pixels", path, "--out", tmp_path / "f.npz", "--input-range", "0,255")
    assert result.exit_code == 0, result.output
    with np.load(tmp_path / "f.npz") as saved:
        torch.testing.assert_close(
            torch.from_numpy(saved["features"][1]).float(),
            torch.from_numpy((RAMP[1] * 255).astype(np.int64) / 127.5 - 1).float().flatten(),
        )


# ---- what an outside audit read wrongly without a word ------------------------------------------------------
def test_one_image_saved_channels_first_is_not_read_as_greyscale_images(tmp_path):
    """(3, H, W) is one RGB image as torch or PIL conversions lay it out, or three greyscale ones: refused."""
    np.save(tmp_path / "one.npy", np.full((3, 8, 8), 128, np.uint8))
    with pytest.raises(DataError, match=r"either 3 greyscale images or one 3-channel image.*\(1, 3, 8, 8\)"):
        load_images(str(tmp_path / "one.npy"))
    np.save(tmp_path / "five.npy", np.full((5, 8, 8), 128, np.uint8))
    assert load_images(str(tmp_path / "five.npy")).images.shape == (5, 1, 8, 8)


def test_an_array_whose_both_ends_could_be_channels_is_read_the_square_way_or_refused(tmp_path):
    """(N, 3, 32, 3) was read channels-first as 32 x 3 images (then stretched to the generator's size with a mere
    warning). When both axis 1 and the last axis could hold channels, the reading with square images is taken
    ((N, 4, 4, 3): 4 x 4 RGB, channels-last), and with neither square the array is refused."""
    pixels = np.random.default_rng(0).integers(0, 256, (2, 4, 4, 3), dtype=np.uint8)
    np.save(tmp_path / "nhwc.npy", pixels)
    read = load_images(str(tmp_path / "nhwc.npy")).images
    torch.testing.assert_close(read, torch.from_numpy(pixels).permute(0, 3, 1, 2).float() / 127.5 - 1)
    np.save(tmp_path / "nchw.npy", pixels.transpose(0, 3, 1, 2).copy())  # (2, 3, 4, 4)
    torch.testing.assert_close(load_images(str(tmp_path / "nchw.npy")).images, read)
    np.save(tmp_path / "odd.npy", np.zeros((2, 3, 32, 3), np.uint8))
    with pytest.raises(
        DataError, match=r"reads as 3-channel 3 x 32 \(width x height\) images or as 3-channel 32 x 3 images"
    ):
        load_images(str(tmp_path / "odd.npy"))


def test_big_endian_arrays_read_as_their_values(tmp_path):
    """'>f4' and '>u2' arrays (MATLAB, network byte order) ended in an internal error (audit 6)."""
    pixels = np.random.default_rng(0).random((2, 8, 8)).astype(np.float32)
    np.save(tmp_path / "native.npy", pixels)
    np.save(tmp_path / "big.npy", pixels.astype(">f4"))
    torch.testing.assert_close(
        load_images(str(tmp_path / "big.npy")).images, load_images(str(tmp_path / "native.npy")).images
    )
    np.savez(tmp_path / "big16.npz", images=(pixels * 60000).astype(">u2"), labels=np.array([1, 0], dtype=">i8"))
    read = load_images(str(tmp_path / "big16.npz"))
    assert read.labels.tolist() == [1, 0] and float(read.images.max()) > 0.5


def test_an_array_file_whose_header_asks_for_gigabytes_is_refused_before_reading(tmp_path):
    """A 3 MB .npz inflating to 3 GB (then a 12 GB float copy) ran out of memory with an internal error; a header
    that claims petabytes was answered with 'lower --batch-size'. The header's shape is checked first."""
    import io
    import zipfile

    stream = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        stream, {"descr": "|u1", "fortran_order": False, "shape": (100_000, 3, 1024, 1024)}
    )
    (tmp_path / "huge.npy").write_bytes(stream.getvalue())  # a header, and no data
    with zipfile.ZipFile(tmp_path / "huge.npz", "w") as archive:
        archive.writestr("images.npy", stream.getvalue())
    for name in ("huge.npy", "huge.npz"):
        with pytest.raises(
            DataError, match=r"of shape \(100000, 3, 1024, 1024\) \(uint8\) holds 314,572,800,000 values"
        ):
            load_images(str(tmp_path / name))


def test_ten_and_twelve_bit_data_in_a_sixteen_bit_png_is_said_to_be(tmp_path):
    """10- or 12-bit data saved in 16 bits reads as all but black in [0, 65535]: the note says so, naming the
    ranges to declare (audit 6: silent)."""
    Image.fromarray(np.array([[0, 300], [800, 1022]], dtype=np.uint16)).save(tmp_path / "tenbit.png")
    read = load_images(str(tmp_path / "tenbit.png"))
    assert any("12 bits or fewer" in note and "--input-range 0,1023" in note for note in read.notes), read.notes
    declared = load_images(str(tmp_path / "tenbit.png"), input_range=(0, 1023))
    assert declared.notes == [] and abs(float(declared.images.max()) - (2 * 1022 / 1023 - 1)) < 1e-6
    Image.fromarray(np.array([[0, 300], [800, 40000]], dtype=np.uint16)).save(tmp_path / "full.png")
    assert load_images(str(tmp_path / "full.png")).notes == []


def test_a_sixteen_bit_pgm_reads_in_its_header_range(tmp_path):
    """A PGM whose header says a maximum above 255 is 16-bit data (PIL rescales it to [0, 65535]); it was refused as
    int32 values of no known range (audit 21d: the file's format was read after exif_transpose, whose copy has none)."""
    values = np.array([[0, 1000], [2000, 4095]])
    (tmp_path / "twelve.pgm").write_bytes(b"P5\n2 2\n4095\n" + values.astype(">u2").tobytes())
    read = load_images(str(tmp_path / "twelve.pgm"))
    expected = torch.from_numpy(values / 4095 * 2 - 1).float()[None, None]
    assert torch.allclose(read.images, expected, atol=1e-4), read.images


def test_transparent_bright_pixels_do_not_make_sixteen_bit_data_read_as_twelve_bit(tmp_path):
    """The 12-bit note read the values after transparent ones were composited onto black: a 16-bit PNG whose only
    bright value is its transparent one was said to be 10- or 12-bit data (audit 21a F7)."""
    Image.fromarray(np.array([[0, 3000], [40000, 1000]], dtype=np.uint16)).save(tmp_path / "a.png", transparency=40000)
    read = load_images(str(tmp_path / "a.png"))
    assert not any("12 bits" in note for note in read.notes), read.notes
    assert any("composited onto black" in note for note in read.notes), read.notes
    assert abs(float(read.images.max()) - (2 * 3000 / 65535 - 1)) < 1e-6


def test_a_loose_image_beside_class_folders_is_refused(tmp_path):
    """A stray preview.png beside class folders replaced the whole labelled set with one image."""
    for label in ("0", "1"):
        (tmp_path / label).mkdir()
        Image.new("L", (8, 8), 50).save(tmp_path / label / "a.png")
    Image.new("L", (8, 8), 50).save(tmp_path / "preview.png")
    with pytest.raises(DataError, match=r"both loose images \(preview.png\) and folders of images \(0, 1\)"):
        load_images(str(tmp_path))
    (tmp_path / "preview.png").unlink()
    assert load_images(str(tmp_path)).labels.tolist() == [0, 1]


def test_a_sixteen_bit_png_of_eight_bit_values_does_not_say_its_range(tmp_path):
    """uint8 data saved as a 16-bit PNG read as near-black in [0, 65535]: like a uint16 tensor, it must be declared."""
    Image.fromarray(np.array([[0, 100], [200, 255]], dtype=np.uint16)).save(tmp_path / "a.png")
    with pytest.raises(DataError, match=r"uint16 values in \[0, 255\] have no known pixel range"):
        load_images(str(tmp_path / "a.png"))
    declared = load_images(str(tmp_path / "a.png"), input_range=(0, 255))
    assert float(declared.images.max()) == 1.0


def test_keras_and_torchvision_label_names_are_read(tmp_path):
    images = np.full((4, 8, 8), 128, np.uint8)
    np.savez(tmp_path / "keras.npz", x=images, y=np.array([0, 1, 2, 1]))
    np.savez(tmp_path / "tv.npz", data=images, targets=np.array([2, 1, 0, 0]))
    assert load_images(str(tmp_path / "keras.npz")).labels.tolist() == [0, 1, 2, 1]
    assert load_images(str(tmp_path / "tv.npz")).labels.tolist() == [2, 1, 0, 0]


def test_uint8_images_of_zeros_and_ones_must_declare_their_range(tmp_path):
    """Binary masks saved as uint8 read as near-black [0, 255] images, and loglik rated them far above real digits."""
    masks = (np.arange(4 * 8 * 8).reshape(4, 8, 8) % 2).astype(np.uint8)
    np.savez(tmp_path / "masks.npz", images=masks, labels=np.arange(4))
    with pytest.raises(DataError, match=r"uint8 values all in \[0, 1\].*--input-range 0,1"):
        load_images(str(tmp_path / "masks.npz"))
    declared = load_images(str(tmp_path / "masks.npz"), input_range=(0, 1))
    assert float(declared.images.min()) == -1.0 and float(declared.images.max()) == 1.0


def test_an_eight_bit_png_of_zeros_and_ones_must_declare_its_range_but_a_black_one_need_not(tmp_path):
    """The same 0/1 mask as an 8-bit greyscale PNG was read as an all but black [0, 255] image (audit 5)."""
    Image.fromarray(np.array([[0, 1], [1, 0]], dtype=np.uint8), mode="L").save(tmp_path / "mask.png")
    with pytest.raises(DataError, match=r"uint8 values all in \[0, 1\].*--input-range 0,1"):
        load_images(str(tmp_path / "mask.png"))
    assert float(load_images(str(tmp_path / "mask.png"), input_range=(0, 1)).images.max()) == 1.0
    Image.fromarray(np.zeros((2, 2), dtype=np.uint8), mode="L").save(tmp_path / "black.png")
    assert float(load_images(str(tmp_path / "black.png")).images.max()) == -1.0  # black: nothing to declare


def test_mixed_sizes_go_straight_to_the_generators_size(tmp_path):
    """Images already of the generator's size were shrunk to the folder's most common size and blown back up, and
    their latents lost (audit 9: latent error 0.93 against 0.048)."""
    rng = np.random.default_rng(0)
    exact = rng.integers(0, 256, (16, 16), dtype=np.uint8)
    Image.fromarray(exact).save(tmp_path / "a_exact.png")
    for i in range(3):
        Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8)).save(tmp_path / f"b_small{i}.png")
    Image.fromarray(rng.integers(0, 256, (8, 12), dtype=np.uint8)).save(tmp_path / "c_wide.png")
    by_majority = load_images(str(tmp_path))
    assert by_majority.images.shape[2:] == (8, 8)  # no generator in sight: the most common size, as before
    data = load_images(str(tmp_path), size=(16, 16))
    assert data.images.shape == (5, 1, 16, 16)
    torch.testing.assert_close(data.images[0, 0], torch.from_numpy(exact).float() / 127.5 - 1)  # untouched
    assert any(
        "differ from the size the model takes 16 x 16" in n and "1 of them have another aspect ratio" in n
        for n in data.notes
    )


def test_invert_sends_mixed_sizes_straight_to_the_generators_size(tmp_path):
    from safetensors.torch import load_file

    rng = np.random.default_rng(1)
    (tmp_path / "alone").mkdir()
    (tmp_path / "mixed").mkdir()
    exact = rng.integers(0, 256, (28, 28), dtype=np.uint8)
    for folder in ("alone", "mixed"):
        Image.fromarray(exact).save(tmp_path / folder / "a.png")
    for i in range(3):
        Image.fromarray(rng.integers(0, 256, (14, 14), dtype=np.uint8)).save(tmp_path / "mixed" / f"b{i}.png")
    latents = {}
    for folder in ("alone", "mixed"):
        out = tmp_path / f"out-{folder}"
        args = ["invert", "--inverter", "builtin:mnist", str(tmp_path / folder), "--out", str(out), "--device", "cpu"]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        latents[folder] = load_file(str(out / "latents.safetensors"))["z"][0]
    torch.testing.assert_close(latents["mixed"], latents["alone"], atol=1e-5, rtol=0)
    from safetensors import safe_open

    with safe_open(str(tmp_path / "out-mixed" / "latents.safetensors"), "pt") as fh:  # which row is which file
        names = json.loads(fh.metadata()["names"])
    assert [Path(n).name for n in names] == ["a.png", "b0.png", "b1.png", "b2.png"]


@pytest.mark.parametrize("suffix", [".npy", ".npz"])
def test_an_array_whose_header_promises_values_it_lacks_is_damaged(tmp_path, suffix):
    """Audit 15: a 192-byte .npy claiming 2**30 float64 values got "out of memory, lower --batch-size" under a memory
    limit; the values the header declares are compared with the bytes that follow it, before anything is read."""
    import io
    import zipfile

    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (2**20, 28, 28)})
    path = tmp_path / f"lie{suffix}"
    if suffix == ".npy":
        path.write_bytes(header.getvalue() + b"\0" * 64)
    else:
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("images.npy", header.getvalue() + b"\0" * 64)
    with pytest.raises(DataError, match=r"declares 822,083,584 values of float64 but holds 64 bytes of them"):
        load_images(str(path))


def test_greyscale_images_among_colour_ones_are_said_to_be_read_as_colour(tmp_path):
    """Audit 17b F7: `features --raw-pixels` of a folder with one grey and one RGB image wrote 3-channel pixels for
    both, nothing said (against a generator the same conversion was announced)."""
    Image.new("L", (8, 8), 200).save(tmp_path / "grey.png")
    Image.new("RGB", (8, 8), (10, 20, 30)).save(tmp_path / "rgb.png")
    data = load_images(str(tmp_path))
    assert data.images.shape == (2, 3, 8, 8)
    assert any("1 of 2 images are greyscale among colour ones (e.g. " in n and "grey.png" in n for n in data.notes)
    Image.new("RGB", (8, 8), (10, 20, 30)).save(tmp_path / "grey.png")
    assert not any("greyscale" in n for n in load_images(str(tmp_path)).notes)


def test_long_double_images_and_labels_are_read_as_float64(tmp_path):
    """float128 (numpy's long double) has no torch type: an .npy of such images, or such labels, ended in an internal
    error (an outside audit)."""
    np.save(tmp_path / "f128.npy", RAMP.astype(np.longdouble))
    loaded = load_images(str(tmp_path / "f128.npy"))
    assert torch.allclose(loaded.images[:, 0], torch.from_numpy(RAMP * 2 - 1).float())
    images = np.full((3, 8, 8), 128, np.uint8)
    path = save_tensors(tmp_path / "x.npz", images=images, labels=np.array([2, 0, 1], np.longdouble))
    assert load_images(str(path)).labels.tolist() == [2, 0, 1]
    with pytest.warns(UserWarning, match=r"in \[0, 1\]"):
        encoded = ganinv.data.as_model_images(RAMP.astype(np.longdouble), (1, 8, 8))
    assert encoded.dtype == torch.float32 and encoded.shape == (2, 1, 8, 8)


@pytest.mark.parametrize(
    "arguments,message",
    [
        ({"limit": -1}, "limit must be a whole number of images, 1 or more (or None for all), got -1"),
        ({"limit": 0}, "got 0"),
        ({"limit": True}, "got True"),
        ({"limit": 2.5}, "got 2.5"),
        ({"limit": "3"}, "got '3'"),
        ({"size": (0, 0)}, "size must be (H, W), two whole numbers of pixels, 1 or more (or None), got (0, 0)"),
        ({"size": (-5, 28)}, "got (-5, 28)"),
        ({"size": 28}, "got 28"),
        ({"size": (28, 28.7)}, "got (28, 28.7)"),
    ],
)
def test_load_images_refuses_a_limit_or_size_that_is_no_count(tmp_path, arguments, message):
    """An outside audit: limit=-1 dropped the last image, limit=0 gave none, limit=True one; bad sizes were raw
    TypeError, ZeroDivisionError or RuntimeError, and 28.7 was cut to 28."""
    np.save(tmp_path / "x.npy", np.full((5, 8, 8), 128, np.uint8))
    with pytest.raises(DataError) as error:
        load_images(str(tmp_path / "x.npy"), **arguments)
    assert message in str(error.value)
    assert len(load_images(str(tmp_path / "x.npy"), limit=np.int64(2), size=[8, 8])) == 2


def test_arrays_a_tensor_file_holds_beside_the_read_ones_are_named(tmp_path):
    """`images` beside Keras's `y_train` gave images without labels and no word (an outside audit)."""
    images = (np.arange(320) % 251).astype(np.uint8).reshape(5, 8, 8)  # not blank: that would be said too
    path = save_tensors(tmp_path / "x.npz", images=images, y_train=np.arange(5))
    loaded = load_images(str(path))
    assert loaded.labels is None and loaded.source_notes == [
        f"{path}: the array 'y_train' was not read; ganinv read the images from 'images' and found no labels (it "
        "takes the first of 'labels', 'y', 'targets'): save the labels as 'labels'"
    ]
    path = save_tensors(tmp_path / "y.safetensors", images=images, labels=np.arange(5), y=np.zeros(5, np.int64))
    assert (
        "'y' was not read; ganinv read the images from 'images' and the labels from 'labels'"
        in (load_images(str(path)).source_notes[0])
    )
    assert load_images(str(save_tensors(tmp_path / "z.npz", images=images, labels=np.arange(5)))).source_notes == []


def test_ganinvs_own_samples_file_is_not_told_to_rename_its_labels(tmp_path):
    """Audit 30b 7b: `invert` of a `sample --latents-out` file (images beside the latents z, c, d) warned "found no
    labels ...: save the labels as 'labels'", advice for ganinv's own file, and kept the sentence in metrics.json's
    `images_converted`, a key on how the images were converted. The latents are the file's, not labels: nothing is
    said; another file's arrays left unread are warned, but not as a conversion of its images."""
    runner = CliRunner()
    own = tmp_path / "s.safetensors"
    result = runner.invoke(cli, ["sample", "-n", "12", "--out", str(tmp_path / "s.png"), "--latents-out", str(own)])
    assert result.exit_code == 0, result.output
    out = tmp_path / "inv"
    result = runner.invoke(cli, ["invert", "--inverter", "builtin:mnist", str(own), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "not read" not in result.stderr and "save the labels" not in result.output, result.output
    assert json.loads((out / "metrics.json").read_text())["images_converted"] is None
    read = load_images(str(own))
    assert len(read) == 12 and read.source_notes == [] and not any("not read" in note for note in read.notes)
    from safetensors import safe_open

    with safe_open(str(own), "pt") as handle:  # one written before the "format" was: known by its metadata
        tensors = {k: handle.get_tensor(k) for k in handle.keys()}
        metadata = {k: v for k, v in (handle.metadata() or {}).items() if k != "format"}
    save_file(tensors, str(tmp_path / "old.safetensors"), metadata=metadata)
    assert load_images(str(tmp_path / "old.safetensors")).source_notes == []

    foreign = save_tensors(tmp_path / "f.safetensors", images=tensors["images"].numpy(), z=tensors["z"].numpy())
    out = tmp_path / "inv_foreign"
    result = runner.invoke(cli, ["invert", "--inverter", "builtin:mnist", str(foreign), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Warning: " + f"{foreign}: the array 'z' was not read;" in result.stderr, result.stderr
    said = json.loads((out / "metrics.json").read_text())
    assert said["images_converted"] is None and said["images_notes"].startswith(f"{foreign}: the array 'z' was not")


def test_what_a_folder_holds_beside_its_images_is_no_conversion(tmp_path):
    """Audit 43b F6: an empty class folder's note was kept in `images_converted`, as if the pixels had been changed;
    it is said in `images_notes`, the key for what reading said besides conversions, in invert's and loglik's JSON."""
    from PIL import Image

    folder = tmp_path / "digits"
    for label in ("a", "b"):
        (folder / label).mkdir(parents=True)
        for i in range(2):
            Image.fromarray(np.full((28, 28), 60 * i + 40 * (label == "b"), np.uint8)).save(folder / label / f"{i}.png")
    (folder / "empty").mkdir()
    runner = CliRunner()
    out = tmp_path / "inv"
    result = runner.invoke(cli, ["invert", "--inverter", "builtin:mnist", str(folder), "--out", str(out)])
    assert result.exit_code == 0, result.output
    said = json.loads((out / "metrics.json").read_text())
    assert said["images_converted"] is None and "hold no images ganinv reads" in said["images_notes"]
    args = ["loglik", "--inverter", "builtin:mnist", str(folder), "--k", "1", "--out", str(tmp_path / "ll.jsonl")]
    result = runner.invoke(cli, [*args, "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["images_converted"] is None and "hold no images ganinv reads" in summary["images_notes"]


def test_invert_and_loglik_keep_the_class_names_of_their_labels(tmp_path):
    """Class folders 1, 10, 2 sort as strings, so label 1 is folder "10": `features` kept the names, while invert's
    reconstructions and loglik's lines held bare indices (an outside audit)."""
    from safetensors import safe_open

    for i, name in enumerate(("1", "10", "2")):
        (tmp_path / "cls" / name).mkdir(parents=True)
        Image.fromarray(np.full((28, 28), 80 * i, np.uint8)).save(tmp_path / "cls" / name / "0.png")
    model = ["--inverter", BUILTIN_INVERTER, "--device", "cpu"]
    result = invoke("invert", *model, tmp_path / "cls", "--out", tmp_path / "inv")
    assert result.exit_code == 0, result.output
    with safe_open(str(tmp_path / "inv" / "reconstructions.safetensors"), framework="pt") as fh:
        assert json.loads(fh.metadata()["classes"]) == ["1", "10", "2"] and fh.get_tensor("labels").tolist() == [
            0,
            1,
            2,
        ]
        # audit 36b: each row named, as the latents' are, so that the file alone joins back to the inputs
        assert json.loads(fh.metadata()["names"]) == [str(tmp_path / "cls" / n / "0.png") for n in ("1", "10", "2")]
    result = invoke("loglik", *model, tmp_path / "cls", "--k", 1, "--quiet", "--out", tmp_path / "ll.jsonl")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in (tmp_path / "ll.jsonl").read_text().splitlines()]
    assert [(line["label"], line["class"]) for line in lines] == [(0, "1"), (1, "10"), (2, "2")]


def test_idx_files_are_unpacked_by_their_content_not_their_suffix(tmp_path):
    """Raw IDX bytes under the .gz name ("Not a gzipped file") and gzip bytes without it ("not an unsigned-byte IDX
    file") were both called damaged, though both held the original data (an outside audit)."""
    images, labels = fake_idx_dataset(tmp_path / "plain_named_gz")
    for path in (tmp_path / "plain_named_gz").iterdir():
        path.write_bytes(gzip.decompress(path.read_bytes()))
    assert load_images("mnist", root=tmp_path / "plain_named_gz").labels.tolist() == labels.tolist()
    fake_idx_dataset(tmp_path / "gz_named_plain")
    for path in (tmp_path / "gz_named_plain").iterdir():
        path.rename(path.with_suffix(""))
    assert load_images("mnist", root=tmp_path / "gz_named_plain").labels.tolist() == labels.tolist()


def test_kaggles_spelling_of_the_idx_files_is_read(tmp_path):
    """Kaggle's MNIST holds `t10k-images.idx3-ubyte`, each also inside a folder of the dashed name: the hint for the
    file sent the user to --root, which then could not find it (an outside audit)."""
    images, labels = fake_idx_dataset(tmp_path / "kaggle")
    for path in list((tmp_path / "kaggle").iterdir()):
        raw = gzip.decompress(path.read_bytes())
        path.unlink()
        dashed = path.name.removesuffix(".gz")
        (tmp_path / "kaggle" / re.sub(r"-(idx[13]-ubyte)$", r".\1", dashed)).write_bytes(raw)
        (tmp_path / "kaggle" / dashed).mkdir()
        (tmp_path / "kaggle" / dashed / dashed).write_bytes(raw)
    result = invoke(
        "features", "--raw-pixels", tmp_path / "kaggle" / "t10k-images.idx3-ubyte", "--out", tmp_path / "f.npz"
    )
    assert result.exit_code != 0 and f"give mnist (or fashion-mnist) --root {tmp_path / 'kaggle'}" in result.stderr
    loaded = load_images("mnist", root=tmp_path / "kaggle")
    assert loaded.labels.tolist() == labels.tolist() and loaded.images.shape == (6, 1, 28, 28)
    for path in (tmp_path / "kaggle").iterdir():
        if path.is_dir():
            shutil.rmtree(path)
    assert load_images("mnist", root=tmp_path / "kaggle", split="train").labels.tolist() == labels.tolist()


def test_a_folder_named_as_a_dataset_is_offered_as_images(tmp_path, monkeypatch):
    """`invert mnist` with a folder ./mnist of PNGs asked for --root, and with --root . found no IDX files: neither
    said how to read the folder (an outside audit)."""
    (tmp_path / "mnist").mkdir()
    Image.new("L", (8, 8), 9).save(tmp_path / "mnist" / "a.png")
    monkeypatch.chdir(tmp_path)
    for root in (None, "."):
        with pytest.raises(DataError, match=r"or \./mnist to read the folder mnist here as images$"):
            load_images("mnist", root=root)
    assert len(load_images("./mnist")) == 1


def test_labels_in_one_column_are_one_label_per_image(tmp_path):
    """Keras's and CIFAR's y_train are (N, 1): refused with "there are N images; save one label per image", which they
    are (an outside audit)."""
    path = save_tensors(
        tmp_path / "x.npz", images=np.full((4, 8, 8), 128, np.uint8), labels=np.array([[2], [0], [1], [1]])
    )
    assert load_images(str(path)).labels.tolist() == [2, 0, 1, 1]


def test_a_transparent_colour_is_read_alike_however_the_png_is_stored(tmp_path):
    """A bar marked transparent (tRNS) read as black in RGB and palette PNGs, but as itself, with no word, in 8- and
    16-bit greyscale ones (an outside audit). Every storage now reads alike: a transparent colour goes onto black,
    but white, which stays white as a viewer shows it (onto black, dark-on-white became a dark picture
    with light rims: audit 26a F1)."""
    bar = np.full((8, 8), 128, np.uint8)  # grey around the bar
    bar[2:6, 3:5] = 255
    Image.fromarray(bar).save(tmp_path / "grey.png", transparency=255)
    Image.fromarray(bar.astype(np.uint16) * 257).save(tmp_path / "grey16.png", transparency=65535)
    Image.fromarray(np.stack([bar] * 3, -1)).save(tmp_path / "rgb.png", transparency=(255, 255, 255))
    Image.fromarray(np.stack([bar] * 3, -1)).quantize(4).save(tmp_path / "palette.png", transparency=0)
    white = Image.open(tmp_path / "palette.png")
    assert white.getpalette()[:3] == [255, 255, 255], "the palette's entry 0 is the bar's white"
    for name in ("grey.png", "grey16.png", "rgb.png", "palette.png"):
        loaded = load_images(str(tmp_path / name))
        assert float(loaded.images[0, :, 3, 3].mean()) == 1.0, name  # the bar, white
        assert loaded.notes[:1] == [
            f"{tmp_path / name} marks white as its transparent colour: those pixels were kept white, as a viewer "
            "shows them on a page (other transparent colours are read as an alpha channel is; save it without a "
            "transparent colour to choose)"
        ], name
        palette = ["1 of 1 images store greys through a colour palette"] if name == "palette.png" else []
        assert [note.partition(" (e.g.")[0] for note in loaded.notes[1:]] == palette, name
    dark = bar.copy()
    dark[2:6, 3:5] = 40  # a dark bar marked transparent
    Image.fromarray(dark).save(tmp_path / "grey_dark.png", transparency=40)
    Image.fromarray(np.stack([dark] * 3, -1)).save(tmp_path / "rgb_dark.png", transparency=(40, 40, 40))
    for name in ("grey_dark.png", "rgb_dark.png"):
        loaded = load_images(str(tmp_path / name))
        assert float(loaded.images[0, :, 3, 3].mean()) == -1.0, name  # onto black
        assert loaded.notes == [
            f"{tmp_path / name} has transparent pixels; they were composited onto black (save it "
            "without an alpha channel or transparent colour to choose another background)"
        ], name
    Image.fromarray(bar).save(tmp_path / "opaque.png", transparency=7)  # no pixel has the transparent value
    assert load_images(str(tmp_path / "opaque.png")).notes == []


def test_mvae_features_and_eval_resize_only_images_not_of_the_models_size(tmp_path):
    """Two 8x8 files among three 16x16 ones went up to 16 and back down to 8 in `mvae features` and `mvae eval`
    (pixels off by up to 0.6; an outside audit): the model's size is the one files are resized to."""
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "train.npz", images=rng.integers(0, 256, (8, 8, 8), dtype=np.uint8))
    fit = ["mvae", "fit", "--data", tmp_path / "train.npz", "--components", 2, "--latent-dim", 2, "--s-dim", 4]
    fit += ["--width", 4, "--hidden", 8, "--steps", 1, "--batch-size", 4, "--out", tmp_path / "m", "--quiet"]
    assert invoke(*fit, "--device", "cpu").exit_code == 0
    (tmp_path / "mixed").mkdir()
    for i, side in enumerate((8, 8, 16, 16, 16)):
        Image.fromarray(rng.integers(0, 256, (side, side), dtype=np.uint8)).save(tmp_path / "mixed" / f"{i}.png")
    for command in (["features", "--out", tmp_path / "f.safetensors"], ["eval"]):
        result = invoke(
            "mvae", command[0], "--mvae", tmp_path / "m", tmp_path / "mixed", *command[1:], "--device", "cpu"
        )
        assert result.exit_code == 0, result.output
        assert "3 of 5 images differ from the size the model takes 8 x 8" in result.stderr, result.stderr
        assert "images converted to the shape the model takes" not in result.stderr, result.stderr


def test_upper_case_tensor_suffixes_are_read_and_an_unused_root_is_said(tmp_path):
    """A.NPY and B.NPZ were "unknown file type" while .PNG was read; --root with a folder or file was ignored with no
    word, where --split is said to be (an outside audit)."""
    np.save(tmp_path / "a.npy", np.full((5, 8, 8), 128, np.uint8))
    (tmp_path / "a.npy").rename(tmp_path / "A.NPY")
    with open(tmp_path / "B.NPZ", "wb") as fh:  # numpy adds .npz to a name without it, as it sees case
        np.savez(fh, images=np.full((4, 8, 8), 128, np.uint8), labels=np.arange(4))
    assert len(load_images(str(tmp_path / "A.NPY"))) == 5 and len(load_images(str(tmp_path / "B.NPZ"))) == 4
    result = invoke("features", "--raw-pixels", tmp_path / "B.NPZ", "--root", tmp_path, "--out", tmp_path / "f.npz")
    assert result.exit_code == 0, result.output
    assert f"Warning: --root {tmp_path} is ignored: {tmp_path / 'B.NPZ'} is not a dataset" in result.stderr


def test_limit_decodes_only_the_first_files_of_a_folder(tmp_path):
    """--limit 16 on a folder decoded every file, and a damaged one past the first N failed the command (an outside
    audit)."""
    for name in ("a", "b"):
        (tmp_path / "flat").mkdir(exist_ok=True)
        Image.new("L", (8, 8), 9).save(tmp_path / "flat" / f"{name}.png")
        (tmp_path / "classes" / name).mkdir(parents=True)
        Image.new("L", (8, 8), 9).save(tmp_path / "classes" / name / "0.png")
    (tmp_path / "flat" / "z.png").write_bytes(b"not a png")
    (tmp_path / "classes" / "b" / "z.png").write_bytes(b"not a png")
    assert load_images(str(tmp_path / "flat"), limit=2).names == [
        str(tmp_path / "flat" / n) for n in ("a.png", "b.png")
    ]
    limited = load_images(str(tmp_path / "classes"), limit=2)
    assert limited.labels.tolist() == [0, 1] and limited.classes == ["a", "b"]
    with pytest.raises(DataError, match="z.png"):
        load_images(str(tmp_path / "flat"))


def test_one_class_folder_is_said_to_be_one_class(tmp_path):
    """one/images/*.png is read as one class, as ImageFolder reads it, and features said "with labels" (all 0) with no
    note (an outside audit)."""
    (tmp_path / "one" / "images").mkdir(parents=True)
    Image.new("L", (8, 8), 9).save(tmp_path / "one" / "images" / "0.png")
    loaded = load_images(str(tmp_path / "one"))
    assert loaded.labels.tolist() == [0] and unblank(loaded.source_notes) == [
        f"{tmp_path / 'one'} holds one folder of images, images, read as one class (label 0 for every image); give "
        f"{tmp_path / 'one' / 'images'} to read its images alone (labelled only by a metadata file of its own)"
    ]


def test_a_palette_image_of_grey_values_among_greyscale_ones_leaves_the_set_greyscale(tmp_path):
    """One palette PNG (equal channels) in a folder of greyscale ones made the whole set colour, and `train` then
    built a 3-channel generator (audit 23b); a true colour image still makes it colour."""
    for i in range(3):
        Image.new("L", (8, 8), 40 * i).save(tmp_path / f"{i}.png")
    Image.new("L", (8, 8), 200).convert("P").save(tmp_path / "palette.png")
    read = load_images(str(tmp_path))
    assert read.images.shape == (4, 1, 8, 8)
    assert any("stored as colour" in note and "three equal channels" in note for note in read.notes), read.notes
    Image.new("RGB", (8, 8), (200, 10, 10)).save(tmp_path / "red.png")
    assert load_images(str(tmp_path)).images.shape == (5, 3, 8, 8)


# ---- audit 26a: the images users bring ----------------------------------------------------------------------------
def npy(path: Path, array: np.ndarray) -> Path:
    """A real .npy file."""
    np.save(path, array)
    return path


def digit() -> np.ndarray:
    """A tiny anti-aliased stroke, uint8 (8, 8): ink 255, edges in between, background 0."""
    ink = np.zeros((8, 8), np.uint8)
    ink[1:7, 3] = 255
    ink[1:7, 4] = 128
    ink[6, 2:6] = 200
    return ink


def test_ink_kept_in_the_alpha_channel_reads_as_the_picture_a_viewer_shows(tmp_path):
    """Black ink on a transparent background (RGBA, LA) and dark-on-white with white as the transparent colour were
    composited onto black: 16 blank images, or dark rims, scored in silence (audit 26a F1). The dark visible pixels
    now go onto white, as a viewer shows them, so they read as the opaque dark-on-white picture does (whose
    polarity the commands then judge); light ink still goes onto black."""
    ink = digit()
    Image.fromarray(255 - ink).save(tmp_path / "opaque_dark.png")
    Image.fromarray(ink).save(tmp_path / "opaque_light.png")
    zeros = np.zeros_like(ink)
    Image.fromarray(np.dstack([zeros] * 3 + [ink]), "RGBA").save(tmp_path / "rgba_black.png")
    Image.merge("LA", [Image.fromarray(zeros), Image.fromarray(ink)]).save(tmp_path / "la_black.png")
    Image.fromarray(np.dstack([zeros + 255] * 3 + [ink]), "RGBA").save(tmp_path / "rgba_white.png")
    dark = load_images(str(tmp_path / "opaque_dark.png")).images[0, 0]
    light = load_images(str(tmp_path / "opaque_light.png")).images[0, 0]
    for name, like, background in (
        ("rgba_black", dark, "white"),
        ("la_black", dark, "white"),
        ("rgba_white", light, "black"),
    ):
        read = load_images(str(tmp_path / f"{name}.png"))
        torch.testing.assert_close(read.images[0, 0], like, atol=1 / 127.5, rtol=0, msg=name)
        assert read.images.shape[1] == 1 or bool((read.images[0] == read.images[0, :1]).all()), name
        assert len(read.notes) == 1 and f"composited onto {background}, as every" in (read.notes[0]), (name, read.notes)


def test_blank_images_are_named_in_a_note(tmp_path):
    """Images that read as one value in every pixel (a picture kept only in the alpha channel came out so) went on to
    be scored with no word (audit 26a F1): said, with how many, which and why it matters."""
    images = np.stack([digit(), np.full((8, 8), 90, np.uint8), digit(), 255 - digit(), digit().T])
    read = load_images(str(npy(tmp_path / "x.npy", images)))
    assert read.source_notes == [
        f"1 of 5 images of {tmp_path / 'x.npy'} are blank, one value in every pixel (e.g. index 1): they hold no "
        "picture, so every figure on them (errors, features, clusters, likelihoods) describes blank images; check how "
        "they were saved (a picture kept only in the alpha channel?) or drop them"
    ]
    Image.fromarray(np.zeros((8, 8, 4), np.uint8), "RGBA").save(tmp_path / "clear.png")  # nothing visible at all
    clear = load_images(str(tmp_path / "clear.png"))
    assert "composited onto black (save it" in clear.notes[0], clear.notes
    assert clear.source_notes[0].startswith(f"all 1 images of {tmp_path / 'clear.png'} are blank"), clear.source_notes
    assert load_images(str(npy(tmp_path / "y.npy", images[[0, 2, 3, 4, 0]]))).source_notes == []


@pytest.mark.parametrize("shape", [(5, 1, 64), (5, 1, 1, 64), (5, 3, 1, 64), (5, 64, 1, 1)])
def test_images_one_pixel_high_are_refused_as_flattened_ones(tmp_path, shape):
    """(N, 1, 784) and (N, 1, 1, 784) were read as 1 x 784 strips squeezed to 28 x 28, said only as "(1, 784) -> (28,
    28) pixels" (audit 26a F2); they are N flattened images, as the refused (N, 784) is."""
    path = npy(tmp_path / "flat.npy", (np.arange(np.prod(shape)).reshape(shape) % 256).astype(np.uint8))
    with pytest.raises(DataError) as refused:
        load_images(str(path))
    pixels = "64 x 1" if shape[-1] == 64 else "1 x 64"  # (N, 64, 1, 1) is channels-last: 64 x 1 images
    example = "reshape(5, 3, 8, 8)" if shape[1] == 3 else "reshape(5, 8, 8)"
    assert f"reads as 5 images of {pixels} pixels (width x height): 5 flattened images?" in str(refused.value), str(
        refused.value
    )
    assert f"save N images as (N, H, W) or (N, C, H, W), e.g. {example}" in str(refused.value), str(refused.value)
    result = CliRunner().invoke(cli, ["features", "--raw-pixels", str(path), "--out", str(tmp_path / "f.npz")])
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert result.exit_code == 2 and len(errors) == 1 and "Traceback" not in result.output, result.output


def test_arrays_of_another_aspect_ratio_are_said_to_be_stretched(tmp_path):
    """The same 8 x 12 images as PNG files were said "stretched, not cropped", as an .npy only "(8, 12) -> (8, 8)
    pixels" (audit 26a F3)."""
    wide = np.stack([np.tile(digit(), (1, 2))[:, :12]] * 2)  # (2, 8, 12)
    read = load_images(str(npy(tmp_path / "wide.npy", wide)))
    x, warning = fit_to_shape(read.images, (1, 8, 8))
    assert x.shape == (2, 1, 8, 8)
    assert warning == (
        "images converted to the shape the model takes: 12 x 8 -> 8 x 8 pixels (another aspect ratio: stretched, not "
        "cropped)"
    )
    square = load_images(str(npy(tmp_path / "big.npy", np.kron(wide[:, :, :8], np.ones((2, 2), np.uint8)))))
    assert (
        fit_to_shape(square.images, (1, 8, 8))[1]
        == "images converted to the shape the model takes: 16 x 16 -> 8 x 8 pixels"
    )


def test_probe_given_images_says_what_they_are_and_what_to_give(tmp_path):
    """`probe --train images.npy` said "header too large; is it complete?", as if a features file were damaged
    (audit 26a F4)."""
    np.save(tmp_path / "u8.npy", np.stack([digit()] * 3))
    Image.fromarray(digit()).save(tmp_path / "one.png")
    for name, what in (("u8.npy", "a numpy array (.npy) of shape (3, 8, 8)"), ("one.png", "an image file")):
        result = CliRunner().invoke(cli, ["probe", "--train", str(tmp_path / name), "--test", str(tmp_path / name)])
        errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
        assert result.exit_code == 2 and len(errors) == 1, result.output
        assert f"{tmp_path / name} is {what}, not a features file" in errors[0], errors[0]
        assert "is it complete" not in errors[0] and "ganinv features --inverter INVERTER" in errors[0]


def test_a_folder_of_array_files_is_refused_naming_them(tmp_path):
    """A folder of one .npy per image was told "holds no images ...; put image files in it", its .npy files unnamed
    (audit 26a F5): they are named, with how to stack them into the one array file ganinv reads."""
    (tmp_path / "arrays").mkdir()
    for i in range(4):
        np.save(tmp_path / "arrays" / f"{i:02d}.npy", digit())
    with pytest.raises(DataError) as refused:
        load_images(str(tmp_path / "arrays"))
    said = str(refused.value)
    assert "holds 4 array file(s) (00.npy, 01.npy, 02.npy, ...)" in said and "stack them into one" in said, said
    assert "numpy.save('images.npy', numpy.stack(" in said
    for label in ("a", "b"):
        (tmp_path / "classes" / label).mkdir(parents=True)
        np.save(tmp_path / "classes" / label / "0.npy", digit())
    with pytest.raises(DataError, match=r"they hold 2 array file\(s\) \(0.npy, 0.npy\).*labels=") as refused:
        load_images(str(tmp_path / "classes"))


def test_colour_becomes_grey_by_luminance_as_image_libraries_convert_it(tmp_path):
    """Colour into a greyscale generator was the channels' plain mean: green ink at a third of its brightness, where
    PIL, torchvision and OpenCV give 0.587 (audit 26a F6). ITU-R 601-2 luminance, and said."""
    rgb = np.zeros((2, 3, 3), np.uint8)
    rgb[0, 0], rgb[0, 1], rgb[0, 2] = (255, 0, 0), (0, 255, 0), (0, 0, 255)
    rgb[1] = (200, 100, 50)
    Image.fromarray(rgb).save(tmp_path / "c.png")
    x, warning = fit_to_shape(load_images(str(tmp_path / "c.png")).images, (1, 2, 3))
    grey = (x[0, 0].double() + 1) * 127.5
    expected = torch.from_numpy(rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114]))
    torch.testing.assert_close(grey, expected, atol=1e-3, rtol=0)
    pil = torch.from_numpy(np.asarray(Image.open(tmp_path / "c.png").convert("L")).astype(np.float64))
    assert float((grey - pil).abs().max()) <= 0.5 + 1e-3  # PIL rounds to whole levels
    assert (
        warning
        == "images converted to the shape the model takes: 3 -> 1 channels (luminance: 0.299 R + 0.587 G + 0.114 B)"
    )


def test_transparent_padding_around_an_opaque_picture_stays_black(tmp_path):
    """Decided from the visible pixels' brightness, the padding of a white-on-black digit went white, and faint
    tRNS digits flipped polarity (a review of audit 26a's fix): only a picture kept in the alpha channel alone (one
    colour under every visible pixel) goes onto white."""
    ink = digit()
    rgba = np.zeros((12, 12, 4), np.uint8)
    rgba[2:10, 2:10, :3] = ink[..., None]
    rgba[2:10, 2:10, 3] = 255  # an opaque digit, white on black, in 2 pixels of transparent padding
    Image.fromarray(rgba, "RGBA").save(tmp_path / "padded.png")
    read = load_images(str(tmp_path / "padded.png"))
    assert float(read.images[0, :, 0, 0].max()) == -1.0 and "composited onto black (save it" in read.notes[0]


def test_a_folder_of_large_images_is_resized_as_it_is_read_and_its_inflation_bounded(tmp_path, monkeypatch):
    """Audit 32a F6: every image was decoded at full size and kept until all were read: 25 PNGs of 58 KB (4096 x
    4096, one colour) took 6 GB. Given the generator's size, each is resized as it is read; kept at their own sizes
    (`train`, `mvae fit`), pixels that inflate far beyond their files are refused, a set as large as its files is not
    (review 33a: a cap on values refused 22,000 64 x 64 images)."""
    from ganinv.data import array_files, image_files

    for k in range(3):
        Image.new("RGB", (64, 48), (40 * k, 30, 200)).save(tmp_path / f"img{k}.png")  # one colour: ~100 bytes each
    monkeypatch.setattr(array_files, "INFLATION_FREE", 1)  # a file's bound: a folder of sparse drawings inflating
    assert len(load_images(str(tmp_path))) == 3  # 250x to 882 MB was refused as a bomb by it (audit 55b)
    monkeypatch.setattr(image_files, "FOLDER_PIXELS_FREE", 3 * 3 * 8 * 8 * 4)  # three 8 x 8 images, not one 64 x 48
    data = load_images(str(tmp_path), size=(8, 8))
    assert data.images.shape == (3, 3, 8, 8)
    assert any(
        "3 of 3 images differ from the size the model takes 8 x 8 (e.g." in note and "is 64 x 48" in note
        for note in data.notes
    ), data.notes
    with pytest.raises(
        DataError, match=r"the 3 images inflate from 0\.0 MiB of files to 0 MiB of float32 pixels by \S*img0"
    ):
        load_images(str(tmp_path))
    noisy = tmp_path / "noisy"
    noisy.mkdir()
    rng = np.random.default_rng(0)
    for k in range(3):  # as large as their files: kept at their own size whatever their number
        Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(noisy / f"img{k}.png")
    assert load_images(str(noisy)).images.shape == (3, 3, 48, 64)


def test_compressed_pixels_that_inflate_far_are_refused_before_they_are_read(tmp_path, monkeypatch):
    """Audit 34a F4/F5: an IDX .gz of 1 MB asked for 16 GB with no ratio check (SECURITY.md said it had one), and a
    267 KB .npz of uint8 pixels inflated to 250 MiB, under the free size, then 1 GB as float32. Pixels inflate far
    from 16 MiB on; a binarised MNIST (26x) is read (review 35a)."""
    from ganinv.data import array_files, idx_datasets

    for module in (array_files, idx_datasets):  # 32 KiB: these tiny bombs stand for the real ones
        monkeypatch.setattr(module, "PIXELS_FREE", 2**15)
    bomb = np.zeros((64, 32, 32), dtype=np.uint8)  # 64 KiB of pixels, a few hundred bytes packed
    (tmp_path / "idx").mkdir()
    write_idx(tmp_path / "idx" / "t10k-images-idx3-ubyte.gz", bomb)
    write_idx(tmp_path / "idx" / "t10k-labels-idx1-ubyte.gz", np.zeros(64))
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte\.gz inflates from 0\.0 MiB to 0 MiB"):
        load_images("mnist", root=tmp_path / "idx", split="test")
    np.savez_compressed(tmp_path / "bomb.npz", images=bomb)
    with pytest.raises(DataError, match=r"bomb\.npz inflates from"):
        load_images(str(tmp_path / "bomb.npz"))
    noisy = np.random.default_rng(0).integers(0, 256, (64, 32, 32), dtype=np.uint8)  # as large as its file
    np.savez_compressed(tmp_path / "noisy.npz", images=noisy)
    assert load_images(str(tmp_path / "noisy.npz")).images.shape == (64, 1, 32, 32)


def test_a_16_bit_white_is_zero_tiff_reads_as_a_viewer_shows_it(tmp_path):
    """PIL inverts 8-bit WhiteIsZero TIFFs (PhotometricInterpretation 0, scanners' and medical exports' greyscale) but
    not 16-bit ones, which read inverted in silence (an outside audit). Float ones have no range to invert in:
    refused."""
    from PIL import TiffImagePlugin

    white_is_zero = TiffImagePlugin.ImageFileDirectory_v2()
    white_is_zero[262] = 0
    ink = digit().astype(np.uint16) * 257  # (H, W) in [0, 65535], light on dark
    Image.fromarray(ink).save(tmp_path / "black_is_zero.tif")
    Image.fromarray(65535 - ink).save(tmp_path / "white_is_zero.tif", tiffinfo=white_is_zero)
    upright = load_images(str(tmp_path / "black_is_zero.tif")).images
    torch.testing.assert_close(load_images(str(tmp_path / "white_is_zero.tif")).images, upright)
    Image.fromarray(ink.astype(np.float32) / 65535).save(tmp_path / "floats.tif", tiffinfo=white_is_zero)
    with pytest.raises(DataError, match="stores floats as WhiteIsZero"):
        load_images(str(tmp_path / "floats.tif"))


def test_a_dark_drawing_in_the_alpha_channel_goes_onto_white_whatever_its_colours(tmp_path):
    """Two dark pens, or black ink whose half-transparent rims carry the white it was drawn on, went onto black as
    pictures of more than one colour, and their ink vanished (an outside audit): every mostly opaque pixel dark
    decides it. A light picture with dark parts still goes onto black."""
    ink = digit()
    zeros = np.zeros_like(ink)
    pens = np.dstack([zeros, zeros, np.where(ink > 128, 139, 0).astype(np.uint8), ink])  # black and dark blue
    rims = np.dstack([(255 - ink.astype(np.int32)).astype(np.uint8)] * 3 + [ink])  # soft edges mixed with white
    light = np.dstack([np.where(ink > 200, 255, 30).astype(np.uint8)] * 3 + [np.full_like(ink, 255)])
    light[:2, :, 3] = 0  # a white-on-black digit with a transparent band: not a drawing kept in the alpha channel
    big = np.kron(ink, np.ones((4, 4), np.uint8))  # (32, 32): a picture's region is wide, a stroke is not
    red = np.dstack([big, 0 * big, 0 * big, np.full_like(big, 255)])  # dark by luminance, on its own black ground
    red[:2, :, 3] = 0  # inside a transparent border (a review: framed in white)
    faint = np.dstack([zeros] * 3 + [(ink * 0.45).astype(np.uint8)])  # a pencil: no pixel over half opaque (a review)
    faded = np.dstack([big // 3] * 3 + [np.full_like(big, 128)])  # a dark picture faded to half: one opacity
    hard = np.dstack([zeros, zeros, np.where(ink > 200, 139, 0), np.where(ink > 60, 255, 0)]).astype(np.uint8)
    feathered = red.copy()  # its own dark ground inside a soft border (a review): a filled region, not strokes
    feathered[2, :, 3], feathered[:, 0, 3], feathered[:, -1, 3] = 128, 128, 128
    for name, array, background in (
        ("pens", pens, "white"),
        ("rims", rims, "white"),
        ("faint", faint, "white"),
        ("light", light, "black"),
        ("red", red, "black"),
        ("faded", faded, "black"),
        ("hard", hard, "white"),  # two pens, hard-edged strokes (a review)
        ("feathered", feathered, "black"),
    ):
        Image.fromarray(array, "RGBA").save(tmp_path / f"{name}.png")
        # quantized with an alpha table, as pngquant and TinyPNG save it (an outside audit: never read as a drawing)
        Image.open(tmp_path / f"{name}.png").quantize(64, Image.Quantize.FASTOCTREE).save(tmp_path / f"p{name}.png")
        assert isinstance(Image.open(tmp_path / f"p{name}.png").info["transparency"], bytes)
        kinds = [name, f"p{name}"]
        if name in ("pens", "hard", "red", "light"):  # one transparent index, as GIFs and 1-bit-alpha PNGs mark it
            keyed = array[..., :3].copy()  # (a review: such a dark drawing went onto black)
            keyed[array[..., 3] < 128] = (1, 2, 3)  # a colour of its own for the transparent pixels
            colours, indices = np.unique(keyed.reshape(-1, 3), axis=0, return_inverse=True)  # (P, 3), (H * W,)
            paletted = Image.fromarray(indices.reshape(keyed.shape[:2]).astype(np.uint8), "P")
            paletted.putpalette(colours.astype(np.uint8).flatten().tolist())
            index = int(np.flatnonzero((colours == (1, 2, 3)).all(axis=1))[0])
            for suffix in ("png", "gif"):
                paletted.save(tmp_path / f"k{name}.{suffix}", transparency=index)
                kinds.append(f"k{name}.{suffix}")
        for kept in kinds:
            path = tmp_path / (kept if "." in kept else f"{kept}.png")
            read = load_images(str(path))
            assert f"composited onto {background}" in read.notes[0], (kept, read.notes)
            corner = float(read.images[0, 0, 0, 0])
            assert corner == (1.0 if background == "white" else -1.0), (kept, corner)


def test_a_limit_converts_only_the_images_it_keeps_and_reads_their_range_from_all(tmp_path):
    """An array of 400k images was converted whole for `--limit 10` (2.6 GB: an outside audit, 55b); the first
    images alone (dim, max 0.9) must still read on the scale the whole array has ([0, 255] floats)."""
    from ganinv.data.value_ranges import to_unit_range

    stored = np.zeros((6, 4, 4), np.float32)
    stored[:2] = 0.9
    stored[2:] = 200.0
    np.save(tmp_path / "a.npy", stored)
    limited, whole = load_images(str(tmp_path / "a.npy"), limit=2), load_images(str(tmp_path / "a.npy"))
    assert len(limited) == 2 and torch.equal(limited.images, whole.images[:2])
    assert float(limited.images.max()) == pytest.approx(0.9 / 127.5 - 1)
    x, _ = to_unit_range(torch.from_numpy(stored), "a", (0.0, 255.0), keep=3)
    assert tuple(x.shape) == (3, 4, 4)


def test_float_image_files_of_one_folder_are_read_on_one_scale(tmp_path):
    """Float TIFFs of 8-bit values: a dim one (max 0.9) was read as [0, 1], 255x brighter than the rest (55b)."""
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray((rng.random((4, 4)) * 255).astype(np.float32), "F").save(tmp_path / f"{i}.tif")
    Image.fromarray(np.full((4, 4), 0.9, np.float32), "F").save(tmp_path / "3.tif")
    data = load_images(str(tmp_path))
    assert float(data.images[3].max()) == pytest.approx(0.9 / 127.5 - 1)
    assert any(
        "read alone on different scales (3 as [0, 255]" in note and "all are read in [0, 255]" in note
        for note in data.notes
    ), data.notes
    # a [-1, 1] file among [0, 1] ones sets the scale too, and is said (a review, 56a: it had been silent)
    (tmp_path / "mixed").mkdir()
    for i in range(3):
        Image.fromarray(rng.random((4, 4)).astype(np.float32), "F").save(tmp_path / "mixed" / f"{i}.tif")
    Image.fromarray(np.linspace(-1, 1, 16, dtype=np.float32).reshape(4, 4), "F").save(tmp_path / "mixed" / "t.tif")
    mixed = load_images(str(tmp_path / "mixed"))
    said = " ".join(mixed.notes)
    assert "3 as [0, 1]" in said and "1 as [-1, 1]" in said and "all are read in [0, 1], as most are" in said, said
    assert float(mixed.images[0].min()) < -0.5  # a [0, 1] file is read as [0, 1], not [-1, 1] (there: min > 0)


def test_a_black_sixteen_bit_png_among_sixteen_bit_ones_reads_in_their_range(tmp_path):
    """A black 16-bit frame says no range alone and refused the whole folder (55b); alone, it still must."""
    Image.fromarray(np.array([[0, 40000], [65535, 9]], dtype=np.uint16)).save(tmp_path / "a.png")
    Image.fromarray(np.zeros((2, 2), dtype=np.uint16)).save(tmp_path / "b.png")
    data = load_images(str(tmp_path))
    assert data.images[1].eq(-1).all() and float(data.images[0].max()) == 1.0
    assert any("b.png holds uint16 values" in note and "[0, 65535]" in note for note in data.notes)
    with pytest.raises(DataError, match=r"uint16 values in \[0, 0\] have no known pixel range"):
        load_images(str(tmp_path / "b.png"))


def test_a_limit_that_keeps_only_the_first_classes_of_a_folder_says_so(tmp_path):
    for label in "abc":
        (tmp_path / label).mkdir()
        for i in range(3):
            Image.fromarray(np.arange(16, dtype=np.uint8).reshape(4, 4) * (i + 1), "L").save(
                tmp_path / label / f"{i}.png"
            )
    data = load_images(str(tmp_path), limit=4)
    assert data.labels.tolist() == [0, 0, 0, 1]
    assert any(
        "keeps the first 4 of the 9 images" in note and "2 of its 3 classes (a, b)" in note
        for note in data.source_notes
    )
    assert not any("limit" in note for note in load_images(str(tmp_path), limit=9).source_notes)


def test_images_stacked_along_the_last_axis_are_refused_with_the_fix(tmp_path):
    """(H, W, N), MATLAB's layout, was read as H images of row slices across every digit (an outside audit, 55b)."""
    np.save(tmp_path / "hwn.npy", np.zeros((8, 8, 5), np.uint8) + np.arange(5, dtype=np.uint8) * 50)
    with pytest.raises(DataError, match=r"or 5 images 8 x 8 stacked along the last axis.*numpy.moveaxis\(x, -1, 0\)"):
        load_images(str(tmp_path / "hwn.npy"))
    np.save(tmp_path / "nhw.npy", np.moveaxis(np.load(tmp_path / "hwn.npy"), -1, 0))
    assert load_images(str(tmp_path / "nhw.npy")).images.shape == (5, 1, 8, 8)
    # with one label per image of the last axis, the stack is named too, not the labels blamed (a review, 56a)
    np.savez(tmp_path / "hwn.npz", images=np.load(tmp_path / "hwn.npy"), labels=np.arange(5))
    with pytest.raises(DataError, match=r"stacked along the last axis"):
        load_images(str(tmp_path / "hwn.npz"))
    np.savez(tmp_path / "nhw.npz", images=np.zeros((8, 8, 5), np.uint8) + 9, labels=np.arange(8))  # 8 images 8 x 5
    assert load_images(str(tmp_path / "nhw.npz")).images.shape == (8, 1, 8, 5)


def test_a_folder_of_grey_palette_images_is_read_as_greyscale(tmp_path):
    """Grey digits saved as palette PNGs (pngquant, GIF exports) were read as colour: `train` made an RGB generator of
    them, `features --raw-pixels` 3x the columns (an outside audit, 55b). RGB files of equal channels stay colour."""
    ramp = np.arange(64, dtype=np.uint8).reshape(8, 8) * 4
    for i in range(2):
        Image.fromarray(ramp // (i + 1), "L").convert("P").save(tmp_path / f"{i}.png")
    data = load_images(str(tmp_path))
    assert data.images.shape == (2, 1, 8, 8) and any(
        "store greys through a colour palette" in note for note in data.notes
    )
    torch.testing.assert_close(data.images[0, 0], torch.from_numpy(ramp).float() / 127.5 - 1)
    (tmp_path / "rgb").mkdir()
    Image.fromarray(ramp, "L").convert("RGB").save(tmp_path / "rgb" / "a.png")
    assert load_images(str(tmp_path / "rgb")).images.shape == (1, 3, 8, 8)


def test_a_labels_file_beside_a_folders_images_is_said_not_to_be_read(tmp_path):
    """`labels.npy` or `labels.csv` beside the images was ignored with no word but "no labels" (audit 55b)."""
    for i in range(2):
        Image.fromarray(np.arange(16, dtype=np.uint8).reshape(4, 4) * (i + 3), "L").save(tmp_path / f"{i}.png")
    assert not any("labels" in note for note in load_images(str(tmp_path)).source_notes)
    np.save(tmp_path / "labels.npy", np.array([0, 1]))
    data = load_images(str(tmp_path))
    assert data.labels is None and any(
        "labels.npy is not read as the images' labels" in note and "class folders" in note for note in data.source_notes
    )


def test_a_declared_range_that_overrides_a_files_own_is_said(tmp_path):
    """`--input-range 0,65535` for a folder of 16-bit PNGs turned its 8-bit ones near-black in silence (audit 55b)."""
    Image.fromarray(np.array([[0, 40000], [65535, 9]], dtype=np.uint16)).save(tmp_path / "a.png")
    Image.fromarray(np.array([[0, 255], [128, 9]], dtype=np.uint8), "L").save(tmp_path / "b.png")
    data = load_images(str(tmp_path), input_range=(0, 65535))
    assert float(data.images[1].max()) < -0.99  # the user's word, as documented
    assert any("b.png's format says its values lie in [0, 255]; read in the declared" in note for note in data.notes)


def run_advice(line: str, cwd: Path) -> None:
    """Run a `python -c "..."` line a refusal gave, as the user would paste it."""
    assert line.startswith('python -c "') and line.endswith('"'), line
    subprocess.run([sys.executable, "-c", line[len('python -c "') : -1]], cwd=cwd, check=True)


def test_downloaded_dataset_files_are_named_with_the_line_that_converts_them(tmp_path):
    """An outside audit (57c): Kaggle's CSV, Keras's mnist.npz, KMNIST's arr_0 files, Hugging Face parquet, archives
    and CIFAR's pickled batches were "unknown file type" or "no 'images' array" with no way on. Each is named with
    one line, and the lines given for the CSV and Keras files make files that read as the same digits."""
    rng = np.random.default_rng(0)
    digits = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)
    labels = np.arange(5) % 10
    rows = np.concatenate([labels[:, None], digits.reshape(5, -1)], axis=1)
    header = "label," + ",".join(f"pixel{i}" for i in range(784))
    np.savetxt(tmp_path / "mnist_test.csv", rows, fmt="%d", delimiter=",", header=header, comments="")
    np.savez(tmp_path / "mnist.npz", x_train=digits[:3], y_train=labels[:3], x_test=digits, y_test=labels)
    for name in ("mnist_test.csv", "mnist.npz"):
        with pytest.raises(DataError) as refused:
            load_images(str(tmp_path / name))
        line = re.search(r'python -c "[^"]*"', str(refused.value)).group(0)
        (tmp_path / name.split(".")[0]).mkdir()
        run_advice(line, tmp_path / name.split(".")[0])
        converted = next((tmp_path / name.split(".")[0]).glob("*.npz"))
        read = load_images(str(converted))
        assert torch.equal(read.images, load_images(str(save_tensors(tmp_path / "ref.npz", images=digits))).images)
        assert read.labels.tolist() == labels.tolist(), name
    np.savez(tmp_path / "kmnist-test-labels.npz", labels)  # numpy's own name, arr_0
    with pytest.raises(DataError, match=r"its one array \(arr_0, 5 numbers\) looks like labels, not images"):
        load_images(str(tmp_path / "kmnist-test-labels.npz"))
    (tmp_path / "cifar-10-batches-py").mkdir()
    marker = tmp_path / "unpickled"

    class Canary:  # creates the marker file when unpickled
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (tmp_path / "cifar-10-batches-py" / "data_batch_1").write_bytes(pickle.dumps([Canary()] * 50, protocol=2))
    (tmp_path / "cifar-10-batches-py" / "batches.meta").write_bytes(pickle.dumps({b"label_names": []}, protocol=2))
    for source in ("cifar-10-batches-py", "cifar-10-batches-py/data_batch_1"):  # the data, not batches.meta
        with pytest.raises(DataError, match=r"data_batch_1(, \.\.\.)?: it is a Python pickle .* never unpickles"):
            load_images(str(tmp_path / source))
    assert not marker.exists()
    for name, said in (
        ("test-00000-of-00001.parquet", "a Hugging Face datasets parquet file is not read; convert it"),
        ("mnist_png.tar.gz", "an archive is not read: extract it (tar -xzf "),
        ("mnist_png.zip", "an archive is not read: extract it (unzip "),
        ("test_32x32.mat", "a MATLAB file is not read; load it with scipy.io.loadmat("),
    ):
        (tmp_path / name).write_bytes(b"\1" * 600)
        with pytest.raises(DataError, match=re.escape(said)):
            load_images(str(tmp_path / name))


def test_torchvision_and_emnist_folders_are_sent_where_they_are_read(tmp_path):
    """An outside audit (57c): torchvision's `MNIST/processed` was called a folder of IDX files and sent to a --root
    that could not read it; `MNIST/` itself was told to numpy.load its .pt pickles; EMNIST's folder was sent to
    `mnist --root`, which reads MNIST's four names only; `mnist --root MNIST` did not look in MNIST/raw."""
    images, _ = fake_idx_dataset(tmp_path / "MNIST" / "raw")
    (tmp_path / "MNIST" / "processed").mkdir()
    torch.save(
        (torch.zeros(2, 28, 28, dtype=torch.uint8), torch.zeros(2)), tmp_path / "MNIST" / "processed" / "test.pt"
    )
    with pytest.raises(DataError, match=re.escape("torchvision's dataset folder, whose raw/ holds MNIST-format IDX")):
        load_images(str(tmp_path / "MNIST"))
    with pytest.raises(DataError, match=re.escape("test.pt: it is torchvision's processed copy of a dataset; give ")):
        load_images(str(tmp_path / "MNIST" / "processed"))
    assert load_images("mnist", root=tmp_path / "MNIST").images.shape == (6, 1, 28, 28)  # as the advice says
    emnist = tmp_path / "gzip"
    emnist.mkdir()
    write_idx(emnist / "emnist-digits-test-images-idx3-ubyte.gz", images)
    write_idx(emnist / "emnist-digits-test-labels-idx1-ubyte.gz", np.arange(6))
    with pytest.raises(DataError, match="give one images file itself \\(e.g. .*emnist-digits-test-images-idx3"):
        load_images(str(emnist))
    assert load_images(str(emnist / "emnist-digits-test-images-idx3-ubyte.gz")).images.shape == (6, 1, 28, 28)


def test_an_imagefolder_metadata_file_labels_its_images(tmp_path):
    """An outside audit (57c): a Hugging Face `imagefolder` folder, flat images with `metadata.csv` or
    `metadata.jsonl` giving each `file_name` its `label`, was read without labels, in silence. Its label column is
    read; a file that does not label exactly the folder's images is said, naming what does not match, and not read."""
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (4, 8, 8), dtype=np.uint8)
    for kind in ("csv", "jsonl", "names"):
        folder = tmp_path / kind
        folder.mkdir()
        for i in (3, 1, 0, 2):
            Image.fromarray(pixels[i]).save(folder / f"{i:05d}.png")
        rows = [
            {"file_name": f"{i:05d}.png", "label": ["cat", "dog"][i % 2] if kind == "names" else 7 - i}
            for i in (2, 0, 3, 1)
        ]
        if kind == "jsonl":
            (folder / "metadata.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
        else:
            text = "file_name,label\n" + "".join(f"{r['file_name']},{r['label']}\n" for r in rows)
            (folder / "metadata.csv").write_text(text)
        data = load_images(str(folder))
        expected_images = torch.from_numpy(pixels / 127.5 - 1).float()  # in file order, 0 to 3
        torch.testing.assert_close(data.images[:, 0], expected_images, atol=1e-6, rtol=0)
        expected = [0, 1, 0, 1] if kind == "names" else [7, 6, 5, 4]
        assert data.labels.tolist() == expected, kind
        assert data.classes == (["cat", "dog"] if kind == "names" else [])
        assert any("labels read from" in note and "label column" in note for note in data.source_notes)
    (tmp_path / "csv" / "00004.png").write_bytes((tmp_path / "csv" / "00000.png").read_bytes())  # a row short
    partly = load_images(str(tmp_path / "csv"))  # said, and read without labels (a command may need none: 58a)
    assert partly.labels is None and len(partly) == 5
    said = [note for note in partly.source_notes if "does not label exactly" in note]
    assert len(said) == 1 and "1 image(s) have no row (e.g. 00004" in said[0] and "read without them" in said[0]
    (tmp_path / "csv" / "metadata.csv").write_text("file_name,caption\n00000.png,a digit\n")  # no label column
    assert load_images(str(tmp_path / "csv")).labels is None


def test_refusals_name_the_array_read_one_hot_labels_and_a_saved_error_page(tmp_path):
    """An outside audit (57c): Keras's `y` was called 'labels' in its refusal, one-hot labels were "not one label per
    image" with no way on, and a 403 page saved as an IDX .gz was "not an unsigned-byte IDX file"."""
    images = np.zeros((4, 8, 8), np.uint8)
    np.savez(tmp_path / "xy.npz", x=images, y=np.arange(10))
    with pytest.raises(DataError, match=r"'y' has shape \(10,\) but there are 4 images"):
        load_images(str(tmp_path / "xy.npz"))
    np.savez(tmp_path / "onehot.npz", images=images, labels=np.eye(3)[[0, 2, 1, 1]])
    with pytest.raises(DataError, match=r"'labels' is one-hot, shape \(4, 3\); .*labels=labels.argmax\(1\)"):
        load_images(str(tmp_path / "onehot.npz"))
    fake_idx_dataset(tmp_path / "download")
    page = b"<html><head><title>403 Forbidden</title></head><body>Forbidden</body></html>\n"
    (tmp_path / "download" / "t10k-images-idx3-ubyte.gz").write_bytes(page)  # what wget saves of a refusal
    with pytest.raises(DataError, match="is an HTML page .*'403 Forbidden'"):
        load_images("mnist", root=tmp_path / "download")


def test_a_class_folder_per_class_with_one_images_folder_inside_is_read_without_a_note(tmp_path):
    """Tiny ImageNet keeps each class's images in `train/<wnid>/images/`: it was told to give one class's folder, as
    if `images` were the classes (an outside audit, 57c)."""
    for wnid in ("n01443537", "n01629819"):
        (tmp_path / "train" / wnid / "images").mkdir(parents=True)
        Image.new("L", (8, 8), 70).save(tmp_path / "train" / wnid / "images" / f"{wnid}_0.JPEG")
        (tmp_path / "train" / wnid / f"{wnid}_boxes.txt").write_text("0 0 8 8\n")
    data = load_images(str(tmp_path / "train"))
    assert data.classes == ["n01443537", "n01629819"]
    assert not [note for note in data.source_notes if "one level down" in note], data.source_notes
