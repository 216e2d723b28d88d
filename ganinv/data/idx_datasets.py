"""MNIST and Fashion-MNIST from their original IDX files (`.gz` or not, torchvision's `MNIST/raw/` layout too),
told apart by the published labels' hashes, since the two share names, sizes and format.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import struct
import zlib
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from ganinv.data.array_files import MAX_ARRAY_VALUES, PIXELS_FREE, check_inflation
from ganinv.data.conversions import keras_split_line
from ganinv.data.image_set import ImageSet
from ganinv.data.paths import _is_gzip, _stat
from ganinv.data.value_ranges import ValueRange, to_unit_range
from ganinv.errors import DataError
from ganinv.stand_ins import named_as_stand_in

IDX_FILES = {
    ("train", "images"): "train-images-idx3-ubyte",
    ("train", "labels"): "train-labels-idx1-ubyte",
    ("test", "images"): "t10k-images-idx3-ubyte",
    ("test", "labels"): "t10k-labels-idx1-ubyte",
}

# the names' stems, `t10k-images`: MNIST's and Fashion-MNIST's files in any spelling (Kaggle's `t10k-images.idx3-ubyte`)
MNIST_STEMS = tuple(name.rpartition("-idx")[0] for name in IDX_FILES.values())


DATASET_DIRS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}  # torchvision's folder names


DATASET_TITLES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}


# sha256 of the published label files' labels (the bytes after the IDX header): what tells MNIST from Fashion-MNIST,
# whose files have the same names, sizes and format
PUBLISHED_LABELS = {
    "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13": ("mnist", "train"),
    "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5": ("mnist", "test"),
    "657fbd221bfc9f4198cc14b5619cc33ec57c58dd0e47af4d99d6650759e869a7": ("fashion-mnist", "train"),
    "3d0e6c6ea990b53b6f8f500a41cac93881d981b315f84578b7d915342ade01e9": ("fashion-mnist", "test"),
}


# sha256 of the published image files' pixels (after the header): the images are checked too, as the labels are (an
# outside audit, 57c: Fashion-MNIST's images beside MNIST's labels, same names, were read as digits in silence)
PUBLISHED_IMAGES = {
    "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757": ("mnist", "train"),
    "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161": ("mnist", "test"),
    "2e487a6c89124f78f2d7521542223cafe96f7123c3ca13d447772ac6ecbb3012": ("fashion-mnist", "train"),
    "c867c93ff95360594e8ec3287995350b824dd110b11595c0e13d5423f621867a": ("fashion-mnist", "test"),
}


PUBLISHED_SIZES = {"train": 60000, "test": 10000}


def _idx_bytes(path: Path) -> bytes:
    """An IDX file's bytes, unpacked when it is gzip: its header, then at most the values it says and one byte more
    (which `read_idx` reports as extra), so that a small .gz inflating to gigabytes is never read whole."""
    _stat(path)
    try:
        with (gzip.open if _is_gzip(path) else open)(path, "rb") as fh:
            head = fh.read(4)
            if len(head) < 4 or head[:3] != b"\x00\x00\x08":  # not unsigned-byte IDX: read_idx says so
                return head
            dims = fh.read(4 * head[3])
            if len(dims) < 4 * head[3]:
                return head + dims
            values = int(np.prod(struct.unpack(">" + "I" * head[3], dims), dtype=np.float64))
            if values > MAX_ARRAY_VALUES:
                raise DataError(
                    f"{path}: its header says {values:,} values, more than ganinv reads from one file "
                    f"({MAX_ARRAY_VALUES:,}); replace it with the original file"
                )
            if _is_gzip(path):  # 1 MB of gzip asked for 16 GB, refused only by the count (an outside audit)
                check_inflation(path, values, PIXELS_FREE)
            return head + dims + fh.read(values + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"cannot read {path}: {exc}; replace it with the original file") from None


def read_idx(path: Path) -> np.ndarray:
    """The IDX format of MNIST-like datasets (gzip or raw)."""
    data = _idx_bytes(path)
    if len(data) < 4:
        raise DataError(f"{path} is not an IDX file (only {len(data)} bytes); replace it with the original file")
    zero, dtype_code, ndim = data[0:2], data[2], data[3]
    if zero != b"\x00\x00" or dtype_code != 0x08:  # a saved error page is named as one (an outside audit, 57c)
        raise DataError(
            named_as_stand_in(path, "an IDX file")
            or f"{path} is not an unsigned-byte IDX file; replace it with the original file"
        )
    if len(data) < 4 + 4 * ndim:
        raise DataError(f"{path} is truncated inside its header; replace it with the original file")
    shape = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    array = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if array.size != int(np.prod(shape)):
        state = "is truncated" if array.size < int(np.prod(shape)) else "holds more than its header says"
        raise DataError(
            f"{path} {state}: header says {shape}, found {array.size} values; replace it with the original file"
        )
    return array.reshape(shape)


def _idx_names(folder: Path, stem: str) -> list[Path]:
    """The files of one IDX stem in a folder: `t10k-images-idx3-ubyte[.gz]`, or as Kaggle's copy spells it,
    `t10k-images.idx3-ubyte`, which it also puts inside a folder of the dashed name (an outside audit was sent round
    in a circle between the two)."""
    kaggle = re.sub(r"-(idx[13]-ubyte)$", r".\1", stem)
    found = []
    for spelled in dict.fromkeys((stem, kaggle)):
        for path in (folder / (spelled + ".gz"), folder / spelled):
            if path.is_dir():  # Kaggle's t10k-images-idx3-ubyte/t10k-images-idx3-ubyte
                found += [inner for inner in (path / path.name, path / kaggle) if inner.is_file()][:1]
            elif path.exists():
                found.append(path)
    return found


def _find_idx(root: Path, name: str, stem: str) -> Path:
    split = "test" if stem.startswith("t10k") else "train"
    # the files, torchvision's layout under its root or inside its dataset folder (MNIST/raw: an audit, 57c), a folder
    candidates = [root, root / DATASET_DIRS[name] / "raw", root / "raw", root / name]
    for folder in candidates:
        found = _idx_names(folder, stem)[:2]
        if len(found) == 2 and _idx_bytes(found[0]) != _idx_bytes(found[1]):
            damaged = [why for why in map(_damage, found) if why]
            raise DataError(
                f"{folder} holds both {found[0].name} and {found[1].name}, and they differ"
                + (  # an interrupted extraction beside its .gz: which one was not said (an outside audit, 57c)
                    f": {damaged[0]}; remove it" if len(damaged) == 1 else "; remove the one that is not the original"
                )
            )
        if found:
            return found[0]
    keras = root / "mnist.npz"  # where Keras keeps MNIST (~/.keras/datasets): it had been "no t10k-images" (57c)
    raise DataError(
        f"no {stem}[.gz] under {root} (looked in {', '.join(str(c) for c in candidates)}); "
        f"pass --root pointing at the folder with the original {name} files"
        + (
            f"; {keras} is Keras's copy of MNIST: convert a split, {keras_split_line(keras, split)}"
            if keras.is_file()
            else ""
        )
    )


def _damage(path: Path) -> str:
    """What is wrong with an IDX file by its own header ("" when it reads whole)."""
    try:
        read_idx(path)
    except DataError as exc:
        return str(exc).split("; replace it")[0]
    return ""


def load_idx_dataset(
    name: str,
    root: str | Path,
    split: str = "test",
    input_range: Optional[ValueRange] = None,
    limit: Optional[int] = None,
) -> ImageSet:
    """MNIST's or Fashion-MNIST's split from its original files under `root`; only the first `limit` converted."""
    if name not in DATASET_DIRS:
        raise DataError(f"unknown dataset {name!r}; give one of {', '.join(DATASET_DIRS)}")
    if split not in ("train", "test"):
        raise DataError(f"split must be 'train' or 'test', got {split!r}")
    root = Path(root)
    images_path = _find_idx(root, name, IDX_FILES[(split, "images")])
    labels_path = _find_idx(root, name, IDX_FILES[(split, "labels")])
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels) or len(images) == 0:
        raise DataError(
            f"{images_path} {images.shape} and {labels_path} {labels.shape} are not N images "
            "with N labels; replace them with the original files"
        )
    if labels.size and int(labels.max()) > 9:
        raise DataError(
            f"{labels_path} holds label {int(labels.max())}, but {name} has 10 classes (0-9); replace it with the "
            "original file"
        )
    notes = check_published(name, split, labels, labels_path)
    notes += check_published_images(name, split, images, images_path, labels_path, published(labels, PUBLISHED_LABELS))
    x, _ = to_unit_range(
        torch.from_numpy(images.copy()).unsqueeze(1), str(images_path), (0.0, 255.0), input_range, keep=limit
    )  # (N, 1, 28, 28)
    y = torch.from_numpy(labels[:limit].astype(np.int64))
    return ImageSet(x, y, [], [str(i) for i in range(10)], notes=notes)


def is_idx(path: Path) -> bool:
    """Whether a file (gzip or not) starts as an unsigned-byte IDX file does, by its magic bytes, whatever its name."""
    try:
        with (gzip.open if _is_gzip(path) else open)(path, "rb") as fh:
            head = fh.read(4)
    except (OSError, EOFError, zlib.error):
        return False
    return len(head) == 4 and head[:3] == b"\x00\x00\x08" and head[3] in (1, 3)


def load_idx_images(path: Path, input_range: Optional[ValueRange] = None, limit: Optional[int] = None) -> ImageSet:
    """One IDX file of images (N, H, W) by any name, as EMNIST, KMNIST, QMNIST and re-exports name theirs; their
    labels, a file of their own, are not read (an outside audit: such a file was sent to --root, which reads MNIST's
    four names only)."""
    images = read_idx(path)
    if images.ndim != 3 or len(images) == 0:
        what = "labels (one number per image)" if images.ndim == 1 else f"an array of shape {images.shape}"
        raise DataError(f"{path} is an IDX file of {what}, not of images (N, H, W); give the images file")
    notes = []
    if path.name.lower().startswith("emnist"):  # NIST stores every EMNIST glyph transposed (EMNIST's readme)
        images = images.transpose(0, 2, 1)
        notes.append(
            f"{path} is EMNIST's by its name, whose images are stored transposed: read upright (transposed back); "
            "a file already upright is read as stored under a name that does not start with 'emnist'"
        )
    x, _ = to_unit_range(torch.from_numpy(images.copy()).unsqueeze(1), str(path), (0.0, 255.0), input_range, keep=limit)
    return ImageSet(x, None, [], [], notes)  # (N, 1, H, W)


def published(values: np.ndarray, hashes: dict[str, tuple[str, str]]) -> Optional[tuple[str, str]]:
    """(dataset, split) whose published file holds exactly these values, if any."""
    return hashes.get(hashlib.sha256(np.ascontiguousarray(values).data).hexdigest())  # hashed in place, not copied


def refuse_another_published(
    found: Optional[tuple[str, str]], name: str, split: str, path: Path, what: str, beside: str = ""
) -> None:
    """Refuse a file of another published dataset (or split) than the `name` `split` it is read as."""
    if found is not None and found != (name, split):
        raise DataError(
            f"{path} holds {DATASET_TITLES[found[0]]}'s {found[1]} {what}, not {DATASET_TITLES[name]}'s {split} "
            f"{what}: give --root the folder of {DATASET_TITLES[name]}'s files"
            + (f", or name the dataset {found[0]}{beside}" if found[0] != name else "")
        )


def check_published_images(
    name: str,
    split: str,
    images: np.ndarray,
    images_path: Path,
    labels_path: Path,
    labels_published: Optional[tuple[str, str]],
) -> list[str]:
    """Refuse another published dataset's (or split's) images read as `name`'s; note images that are not the
    published ones beside labels that are. Returns the notes."""
    found = published(images, PUBLISHED_IMAGES)
    refuse_another_published(found, name, split, images_path, "images", " (with its own labels file)")
    if found is None and labels_published == (name, split):
        return [
            f"{images_path} holds {len(images)} images, as many as {DATASET_TITLES[name]}'s {split} split, but not "
            f"its published ones, beside its published labels ({labels_path}): read as they are (a modified copy?)"
        ]
    return []


def check_published(name: str, split: str, labels: np.ndarray, labels_path: Path) -> list[str]:
    """Refuse another published dataset's (or split's) labels read as `name`'s; note a full-size set that is not
    the published one. Returns the notes."""
    found = published(labels, PUBLISHED_LABELS)
    refuse_another_published(found, name, split, labels_path, "labels")
    if found is None and len(labels) == PUBLISHED_SIZES[split]:
        return [
            f"{labels_path} holds {len(labels)} labels, as many as {DATASET_TITLES[name]}'s {split} split, but not "
            f"its published ones: read as {name} (another dataset in its format, such as KMNIST?)"
        ]
    return []
