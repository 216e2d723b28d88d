"""Images from local files (ganinv/data.py): IDX datasets in both layouts, image folders, tensor files, resizing."""

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganinv.data import fit_to_shape, load_images
from ganinv.errors import DataError

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


def test_class_subfolders_give_labels_and_names(tmp_path):
    for label, colour in (("cat", 0), ("dog", 255)):
        (tmp_path / label).mkdir()
        for i in range(2):
            Image.new("RGB", (8, 8), (colour, colour, colour)).save(tmp_path / label / f"{i}.png")
    data = load_images(str(tmp_path))
    assert data.classes == ["cat", "dog"] and data.labels.tolist() == [0, 0, 1, 1]
    assert data.images.shape == (4, 3, 8, 8) and data.names[2].endswith("dog/0.png")
    assert data.images[:2].eq(-1).all() and data.images[2:].eq(1).all()


def test_a_flat_folder_has_names_but_no_labels(tmp_path):
    for i in range(3):
        Image.new("L", (10, 12), 128).save(tmp_path / f"{i}.png")
    data = load_images(str(tmp_path))
    assert data.labels is None and data.images.shape == (3, 1, 12, 10) and len(data.names) == 3


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
    assert y.shape == (2, 1, 16, 16) and "3 -> 1 channels" in warning and "(32, 32) -> (16, 16) pixels" in warning
    torch.testing.assert_close(y.mean(), x.mean(), atol=0.02, rtol=0)
    same, none = fit_to_shape(x, (3, 32, 32))
    assert none is None and torch.equal(same, x)
    grey = torch.zeros(1, 1, 4, 4)
    assert fit_to_shape(grey, (3, 4, 4))[0].shape == (1, 3, 4, 4)


@pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason="the shared MNIST files are not on this machine")
def test_the_real_mnist_test_split():
    data = load_images("mnist", root=SHARED_MNIST, split="test")
    assert data.images.shape == (10000, 1, 28, 28)
    assert data.labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]  # as the data README lists them
    assert abs((data.images.mean().item() + 1) * 127.5 - 33.791) < 0.01  # mean pixel value 33.791
