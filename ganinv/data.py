"""Real images from local files, never downloaded: datasets for benchmarks, `invert`, `train`.

`load_images(source)` understands:
- `mnist`, `fashion-mnist` (with `root`: a folder holding the original IDX `.gz` files,
  e.g. `data/mnist`, or torchvision's `root/MNIST/raw/` layout);
- a folder of images (class subfolders, `ImageFolder`-style, give labels; names starting with
  a dot are skipped);
- image files; an `.npz` or `.safetensors` tensor file (`images`, optional `labels`) or an `.npy` array, the images
  (N, H, W) greyscale, (N, C, H, W), or (N, H, W, C) with C = 1 or 3. Other shapes are refused:
  a 2-D array could be one image or N flattened ones, so one image must be saved as (1, H, W), and images one pixel
  high or wide, (N, 1, 784) or (N, 1, 1, 784), are N flattened ones: refused alike. A folder holds image files; array
  files in it are named, to be stacked into one.

Images come back as float tensors (N, C, H, W) in [-1, 1], with labels when known. The range of
the stored values is decided from evidence, or declared with `input_range=(LO, HI)`
(`--input-range LO,HI`), which then must hold every value:
- 8-bit data (uint8, IDX files, 8-bit images): [0, 255] (uint8 tensors all in [0, 1], and 8-bit greyscale
  images of 0s and 1s, refused: binary masks or black images?); 16-bit PNGs: [0, 65535]
  (refused, like uint16 tensors, when no value exceeds 255);
- uint16 tensors: [0, 65535] with a note (refused when no value exceeds 255: 8 or 16 bits?);
  other integer tensors: refused, as nothing says what their maximum means;
- floats: [-1, 1] when they lie there and some are negative; [0, 1] when they lie there and
  none is negative (a [-1, 1] image with no negative pixel is implausible; a note says so);
  [0, 255] when they lie there and some exceed 2; otherwise refused, naming the values seen.
NaN or infinite pixels are refused, naming the images; blank images (one value in every pixel) are said. Only regular
files and folders are read.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import logging
import math
import os
import re
import stat
import struct
import warnings
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ganinv.errors import DataError
from ganinv.images import LUMINANCE, TWELVE_BIT_MAX, read_image
from ganinv.stand_ins import named_as_stand_in

logger = logging.getLogger("ganinv")

IDX_FILES = {
    ("train", "images"): "train-images-idx3-ubyte",
    ("train", "labels"): "train-labels-idx1-ubyte",
    ("test", "images"): "t10k-images-idx3-ubyte",
    ("test", "labels"): "t10k-labels-idx1-ubyte",
}
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
PUBLISHED_SIZES = {"train": 60000, "test": 10000}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
# Netpbm, JPEG's other names and Targa, which PIL reads as well: left out of a folder with no word (an outside audit)
IMAGE_SUFFIXES |= {".pbm", ".pgm", ".ppm", ".pnm", ".jfif", ".jpe", ".tga"}
# PIL's plug-ins that only recognise a format and need a handler of the user's to decode it: no images to mention
PIL_STUB_SUFFIXES = {".bufr", ".grib", ".h5", ".hdf", ".fit", ".fits"}
TENSOR_SUFFIXES = {".npz", ".npy", ".safetensors"}
IMAGE_KEYS = ("images", "x", "data")
LABEL_KEYS = ("labels", "y", "targets")  # beside them: ganinv's name, Keras's (x, y), torchvision's (data, targets)
OVERSHOOT = 1e-3  # on the [-1, 1] scale: rounding beyond a range's ends that is clamped, not refused
UNIT_UNDERSHOOT = 0.05  # floats in [-0.05, 1]: [0, 1] images whose resampling or noise dipped below 0, not [-1, 1] ones
CHANNELS = (1, 3)
ASPECT_TOLERANCE = 0.01  # width / height differing by more: a resize stretches the picture (said)
EXACT_IN_FLOAT32 = {torch.bool, torch.uint8, torch.int8, torch.int16, torch.uint16, torch.float32}

ValueRange = tuple[float, float]


@dataclass
class ImageSet:
    images: torch.Tensor  # (N, C, H, W) float in [-1, 1]
    labels: Optional[torch.Tensor] = None  # (N,) int64
    names: list[str] = field(default_factory=list)  # file names, where the input has them
    classes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was assumed or changed while reading

    def __len__(self) -> int:
        return self.images.shape[0]

    def subset(self, n: Optional[int]) -> "ImageSet":
        if n is None or n >= len(self):
            return self
        return ImageSet(
            self.images[:n], None if self.labels is None else self.labels[:n], self.names[:n], self.classes, self.notes
        )


# ---- value ranges ---------------------------------------------------------------------------------
def parse_input_range(text: str) -> ValueRange:
    """`"0,255"` -> (0.0, 255.0); LO < HI, both finite."""
    try:
        return check_range([float(part) for part in text.split(",")])
    except (ValueError, DataError):
        raise DataError(
            f"--input-range takes LO,HI with LO < HI, both within +-{RANGE_LIMIT:g} (e.g. 0,1 or 0,255 or -1,1), "
            f"got {text!r}"
        ) from None


# Bound on a declared pixel range's ends: far beyond any stored pixel type (65535, 2**32), and small enough that
# scaling to [-1, 1] stays finite (a range of +-1e308 turned every pixel into NaN).
RANGE_LIMIT = 1e30


def check_range(value_range: Sequence[float]) -> ValueRange:
    if len(value_range) != 2:
        raise DataError(f"an input range is (LO, HI), got {value_range!r}; give two numbers, e.g. (0, 255)")
    lo, hi = (float(v) for v in value_range)
    usable = max(abs(lo), abs(hi)) <= RANGE_LIMIT and lo < hi and np.isfinite(2 / (hi - lo))  # NaN fails too
    if not usable:
        raise DataError(
            f"an input range needs LO < HI, both within +-{RANGE_LIMIT:g} (e.g. 0,1 or 0,255 or -1,1), "
            f"got {lo:g},{hi:g}"
        )
    return lo, hi


def _format_range(value_range: ValueRange) -> str:
    return f"[{value_range[0]:g}, {value_range[1]:g}]"


def check_finite_images(x: torch.Tensor, source: str = "the images") -> None:
    """Refuse NaN or infinite pixels in x (N, ...), naming the first few images that hold them."""
    bad = (~torch.isfinite(x)).flatten(1).any(dim=1).nonzero().flatten().tolist()
    if bad and x.shape[0] == 1:
        raise DataError(f"{source} holds NaN or infinite pixels; repair the image or drop it")
    if bad:
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise DataError(
            f"{source}: {len(bad)} of {x.shape[0]} images hold NaN or infinite pixels (indices "
            f"{', '.join(str(i) for i in bad[:5])}{more}); repair or drop them"
        )


def detect_range(x: torch.Tensor, source: str) -> tuple[ValueRange, Optional[str]]:
    """The range of stored pixel values `x` (finite), from the dtype and the values; a note when it is a guess."""
    if x.dtype == torch.uint8:
        if x.numel() and int(x.max()) <= 1:  # 0/1 masks stored as bytes: as [0, 255] they are all but black
            raise DataError(
                f"{source}: uint8 values all in [0, 1]: binary images (0 and 1), or 8-bit images that are black? "
                "declare the range with --input-range 0,1 (binary) or --input-range 0,255"
            )
        return (0.0, 255.0), None
    if x.dtype == torch.bool:  # masks: which side is the ink is the one thing a bool cannot say
        return (0.0, 1.0), (
            f"reading {source} as binary images: False black, True white; if True marks the background, invert them "
            "(~x) first"
        )
    lo: float
    hi: float
    if not x.is_floating_point():
        lo, hi = int(x.to(torch.int64).min()), int(x.to(torch.int64).max())
        if x.dtype == torch.uint16 and hi > 255:
            fewer_bits = " (12 bits or fewer: 10- or 12-bit data? e.g. 0,4095)" if hi <= TWELVE_BIT_MAX else ""
            return (0.0, 65535.0), (
                f"reading {source} as 16-bit pixels in [0, 65535] (uint16 values in "
                f"[{lo}, {hi}]); declare --input-range LO,HI if they use another range{fewer_bits}"
            )
        raise DataError(
            f"{source}: {str(x.dtype).removeprefix('torch.')} values in [{lo}, {hi}] have no "
            "known pixel range; declare it with --input-range LO,HI (e.g. 0,255 or 0,65535) "
            "or save the images as uint8"
        )
    lo, hi = float(x.min()), float(x.max())
    slack = OVERSHOOT / 2  # on a range of width 2
    overshoot = (lo < 0 or hi > 1 + slack) and -UNIT_UNDERSHOOT <= lo and hi <= 1 + UNIT_UNDERSHOOT
    if overshoot:  # [0, 1] resampled (bicubic) or noised: an outside audit's pixel at -0.0006 made [0, 1] images read
        # as [-1, 1] in silence, reconstruction error 5x
        return (0.0, 1.0), (
            f"reading {source} as images in [0, 1] with the values a little outside it clamped: they lie in "
            f"[{lo:g}, {hi:g}] (resampling overshoot?); if they are [-1, 1] images, declare --input-range -1,1"
            + (", if 8-bit values of a nearly black image, --input-range 0,255" if hi > 1 + slack else "")
        )
    if lo >= -1 - slack and hi <= 1 + slack and lo < 0:
        return (-1.0, 1.0), None if lo <= -0.5 else (
            f"reading {source} as images in [-1, 1], though no value is near -1 (they lie in [{lo:g}, {hi:g}]); if "
            "they are [0, 1] images that overshoot below 0, clamp them to [0, 1] first"
        )
    if lo >= -slack and hi <= 1 + slack:
        return (0.0, 1.0), (
            f"reading {source} as images in [0, 1]: its values lie in [{lo:g}, {hi:g}], none "
            "negative; if they are [-1, 1] images, declare --input-range -1,1"
        )
    if lo >= -slack * 255 and 2 < hi <= 255 * (1 + slack):  # up to 2: [0, 1] overshot, or a black 8-bit image?
        # floats above 2 are 8-bit values as floats, most likely: said, as the [0, 1] reading is (a float image in
        # [0, 100], a lightness, would read as a dark one in silence)
        return (0.0, 255.0), (
            f"reading {source} as 8-bit values in [0, 255]: its float values lie in [{lo:g}, {hi:g}]; declare "
            "--input-range LO,HI if they use another range"
        )
    raise DataError(
        f"{source}: values in [{lo:g}, {hi:g}] fit none of the pixel ranges [-1, 1], [0, 1], "
        "[0, 255]; declare their range with --input-range LO,HI, or rescale them"
    )


def to_unit_range(
    x: torch.Tensor, source: str, known: Optional[ValueRange] = None, declared: Optional[ValueRange] = None
) -> tuple[torch.Tensor, Optional[str]]:
    """Stored pixel values x (N, ...) -> float32 in [-1, 1], with a note when the range was assumed.

    `declared` (the user's) wins over `known` (the file format's), which wins over the values.
    """
    if x.is_floating_point() and x.dtype != torch.float64:
        x = x.float()  # float16, bfloat16: min/max/isfinite in float32
    if x.is_floating_point():
        check_finite_images(x, source)
    note = None
    if declared is not None:
        value_range = declared
        _check_within(x, source, value_range)
    elif known is not None:  # the file's own range; its notes (e.g. 12 bits in 16) are read_image's
        value_range = known
    else:
        value_range, note = detect_range(x, source)
    lo, hi = value_range
    exact = torch.float32 if x.dtype in EXACT_IN_FLOAT32 else torch.float64
    scaled = (x.to(exact) - lo) * (2 / (hi - lo)) - 1
    return scaled.float().clamp_(-1, 1), note  # values were checked: clamping removes only rounding


def _check_within(x: torch.Tensor, source: str, value_range: ValueRange) -> None:
    lo, hi = value_range
    slack = OVERSHOOT / 2 * (hi - lo)
    values = x if x.is_floating_point() else x.to(torch.float64)
    outside = int(((values < lo - slack) | (values > hi + slack)).sum())
    if outside:
        raise DataError(
            f"{source}: {outside} of {values.numel()} values lie outside the declared input range "
            f"{_format_range(value_range)} (seen [{float(values.min()):g}, {float(values.max()):g}]); "
            "declare the range the file uses with --input-range LO,HI"
        )


# ---- files ---------------------------------------------------------------------------------------------
def _file_kind(mode: int) -> str:
    for test, kind in (
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return kind
    return "not a regular file"


def _stat(path: Path) -> os.stat_result:
    """os.stat (following links), refusing anything but a regular file or a folder before it is opened."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}; check that it exists and is readable") from None
    if not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):
        raise DataError(
            f"{path} is {_file_kind(info.st_mode)}; ganinv reads images only from regular files "
            "and folders: give one of those"
        )
    return info


def _is_dir(path: Path) -> bool:
    return stat.S_ISDIR(_stat(path).st_mode)


# ---- IDX datasets ------------------------------------------------------------------------------------
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
            return head + dims + fh.read(values + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"cannot read {path}: {exc}; replace it with the original file") from None


def _is_gzip(path: Path) -> bool:
    """Whether a file is gzip-compressed, by its magic bytes, not its suffix: raw IDX bytes under the .gz name (a
    download stored decompressed) and gzip bytes without it both hold the original data, and were called damaged (an
    outside audit)."""
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def read_idx(path: Path) -> np.ndarray:
    """The IDX format of MNIST-like datasets (gzip or raw)."""
    data = _idx_bytes(path)
    if len(data) < 4:
        raise DataError(f"{path} is not an IDX file (only {len(data)} bytes); replace it with the original file")
    zero, dtype_code, ndim = data[0:2], data[2], data[3]
    if zero != b"\x00\x00" or dtype_code != 0x08:
        raise DataError(f"{path} is not an unsigned-byte IDX file; replace it with the original file")
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
    candidates = [root, root / DATASET_DIRS[name] / "raw", root / name]
    for folder in candidates:
        found = _idx_names(folder, stem)[:2]
        if len(found) == 2 and _idx_bytes(found[0]) != _idx_bytes(found[1]):
            raise DataError(
                f"{folder} holds both {found[0].name} and {found[1].name}, and they differ; remove the one that is "
                "not the original"
            )
        if found:
            return found[0]
    raise DataError(
        f"no {stem}[.gz] under {root} (looked in {', '.join(str(c) for c in candidates)}); "
        f"pass --root pointing at the folder with the original {name} files"
    )


def load_idx_dataset(
    name: str, root: str | Path, split: str = "test", input_range: Optional[ValueRange] = None
) -> ImageSet:
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
    x, _ = to_unit_range(
        torch.from_numpy(images.copy()).unsqueeze(1), str(images_path), (0.0, 255.0), input_range
    )  # (N, 1, 28, 28)
    return ImageSet(x, torch.from_numpy(labels.astype(np.int64)), [], [str(i) for i in range(10)], notes=notes)


def check_published(name: str, split: str, labels: np.ndarray, labels_path: Path) -> list[str]:
    """Refuse another published dataset's (or split's) labels read as `name`'s; note a full-size set that is not
    the published one. Returns the notes."""
    found = PUBLISHED_LABELS.get(hashlib.sha256(labels.tobytes()).hexdigest())
    if found is not None and found != (name, split):
        raise DataError(
            f"{labels_path} holds {DATASET_TITLES[found[0]]}'s {found[1]} labels, not {DATASET_TITLES[name]}'s "
            f"{split} labels: give --root the folder of {DATASET_TITLES[name]}'s files"
            + (f", or name the dataset {found[0]}" if found[0] != name else "")
        )
    if found is None and len(labels) == PUBLISHED_SIZES[split]:
        return [
            f"{labels_path} holds {len(labels)} labels, as many as {DATASET_TITLES[name]}'s {split} split, but not "
            f"its published ones: read as {name} (another dataset in its format, such as KMNIST?)"
        ]
    return []


# ---- image files and folders ------------------------------------------------------------------------
def load_image_files(
    paths: list[Path],
    labels: Optional[list[int]] = None,
    classes=(),
    input_range: Optional[ValueRange] = None,
    size: Optional[Sequence[int]] = None,
) -> ImageSet:
    """Image files -> one ImageSet; images of other sizes than `size` (H, W), the generator's where a command knows
    it, else the most common one, are resized to it (once: an image already of that size is never touched)."""
    images, names, notes = [], [], []
    alike: dict[str, list[str]] = {}  # a note about one file, its path taken out -> every file it is about
    refused: list[str] = []  # every file that cannot be read, so that one run names them all
    for path in paths:
        try:
            _stat(path)
            pixels, known, image_notes = read_image(path, range_declared=input_range is not None)  # (H, W, C)
            x, note = to_unit_range(
                torch.from_numpy(np.array(pixels)).permute(2, 0, 1)[None],  # a writable copy
                str(path),
                known,
                input_range,
            )
        except DataError as exc:
            refused.append(str(exc))
            continue
        images.append(x[0])  # (C, H, W)
        names.append(str(path))
        for said in image_notes + ([note] if note else []):
            alike.setdefault(said.replace(str(path), "{image}"), []).append(str(path))
    if len(refused) == 1:
        raise DataError(refused[0])
    if refused:
        raise DataError(
            f"{len(refused)} of {len(paths)} image files cannot be read; repair or remove them: "
            + "; ".join(refused[:3])
            + (f"; and {len(refused) - 3} more" if len(refused) > 3 else "")
        )
    for template, about in alike.items():  # one note for many files said alike, not one line per file
        said = template.replace("{image}", about[0])
        notes.append(said if len(about) == 1 else f"{len(about)} of {len(paths)} images, e.g. {said}")
    channels = max(x.shape[0] for x in images)
    grey = [names[i] for i, x in enumerate(images) if x.shape[0] < channels]
    stored_as_colour = [i for i, x in enumerate(images) if x.shape[0] == 3]
    if grey and all(bool((images[i] == images[i][:1]).all()) for i in stored_as_colour):
        # a palette or RGBA file among greyscale ones, its channels equal: the set is greyscale, and was read (and
        # trained on) as colour (an outside audit)
        notes.append(
            f"{len(stored_as_colour)} of {len(paths)} images are stored as colour (e.g. {names[stored_as_colour[0]]}) "
            "with three equal channels: read as greyscale, as the rest are"
        )
        images = [x[:1] if x.shape[0] == 3 else x for x in images]
        channels, grey = 1, []
    if grey:  # said: the generator's channels may then convert them all back, but raw pixels keep them so
        notes.append(
            f"{len(grey)} of {len(paths)} images are greyscale among colour ones (e.g. {grey[0]}): read as colour "
            "images with three equal channels"
        )
    images = [x.expand(channels, -1, -1) if x.shape[0] < channels else x for x in images]  # grey -> RGB
    sizes = Counter((int(x.shape[1]), int(x.shape[2])) for x in images)  # (H, W) of each (C, H, W)
    target = "the generator's size" if size is not None else "the most common size"
    size = (int(size[0]), int(size[1])) if size is not None else sizes.most_common(1)[0][0]  # ties: the first
    odd = [i for i, x in enumerate(images) if tuple(x.shape[1:]) != size]
    if odd:
        example = f"e.g. {names[odd[0]]} is {images[odd[0]].shape[1]} x {images[odd[0]].shape[2]}"
        stretched = sum(is_stretched(tuple(images[i].shape[1:]), size) for i in odd)
        shape_note = (
            f"; {stretched} of them have another aspect ratio and were stretched, not cropped" if stretched else ""
        )
        notes.append(
            f"{len(odd)} of {len(images)} images differ from {target} {size[0]} x {size[1]} "
            f"({example}); they were resized to it{shape_note}"
        )
        images = [_resize(x, size) if tuple(x.shape[1:]) != size else x for x in images]
    y = torch.tensor(labels, dtype=torch.int64) if labels is not None else None
    return ImageSet(torch.stack(images).contiguous(), y, names, list(classes), notes)  # (N, C, H, W)


def is_stretched(shape: Sequence[int], size: Sequence[int]) -> bool:
    """Whether resizing (h, w) to (H, W) changes the aspect ratio, which a resize stretches and does not crop."""
    return abs(shape[1] / shape[0] - size[1] / size[0]) > ASPECT_TOLERANCE


def _resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(C, h, w) in [-1, 1] -> (C, H, W), bilinear with antialiasing (weights >= 0: stays in range)."""
    resized = F.interpolate(x[None], size=size, mode="bilinear", align_corners=False, antialias=True)[0]
    return resized.clamp(-1, 1)


SKIPPED_FOLDERS = {"__MACOSX"}  # what macOS's zip adds beside the data (`._name` resource forks)


def dataset_file_hint(path: Path) -> Optional[str]:
    """What to do with a dataset file that is not an image file: MNIST's IDX files (by their magic bytes, gzip or
    not), torchvision's processed `.pt`, a CSV of pixels (Kaggle's MNIST). None for anything else."""
    try:
        with (gzip.open if _is_gzip(path) else open)(path, "rb") as fh:
            head = fh.read(4)
    except (OSError, EOFError, gzip.BadGzipFile):
        head = b""
    if len(head) == 4 and head[:3] == b"\x00\x00\x08" and head[3] in (1, 3):
        return (
            f"it is an MNIST-format IDX file ({'labels' if head[3] == 1 else 'images'}): give mnist (or fashion-mnist) "
            f"--root {path.parent}, the folder holding the four files"
        )
    if path.suffix == ".pt" and path.parent.name == "processed":
        return (
            f"it is torchvision's processed copy of a dataset; give mnist (or fashion-mnist) --root "
            f"{path.parent.parent}, whose raw/ folder holds the original IDX files"
        )
    if path.suffix.lower() == ".csv":
        return (
            "a CSV of pixels is not read (its layout, label column and range vary); convert it to an .npz with "
            "`images` (N, H, W) uint8 and, if it has them, `labels` (N,)"
        )
    return None


def array_files_hint(entries: list[Path], classes: bool = False) -> Optional[str]:
    """What to do with array files in a folder of no images (`classes`: in its class folders): ganinv reads one array
    file of N images, not a folder of them (a folder of one .npy per image was told to "put image files in it", its
    .npy files unnamed: an outside audit). None where there are none."""
    arrays = sorted(p for p in entries if p.suffix.lower() in TENSOR_SUFFIXES | {".pt", ".pth"} and p.is_file())
    if not arrays:
        return None
    named = ", ".join(p.name for p in arrays[:3]) + (", ..." if len(arrays) > 3 else "")
    return (
        f"{'they hold' if classes else 'it holds'} {len(arrays)} array file(s) ({named}), and ganinv reads the images "
        "of one array file, not a folder of them: stack them into one (N, H, W) or (N, C, H, W) array, e.g. "
        "numpy.save('images.npy', numpy.stack([numpy.load(f) for f in sorted(files)])), and give that file"
        + (" (an .npz with images=... and labels=..., the class of each)" if classes else "")
    )


def no_images_hint(folder: Path) -> str:
    """What to do with a folder that holds no image files: MNIST's IDX files there, array files, or only hidden
    images."""
    idx = [p for p in sorted(folder.iterdir()) if p.is_file() and "IDX" in (dataset_file_hint(p) or "")]
    if idx:
        return f"it holds MNIST-format IDX files ({idx[0].name}, ...): give mnist (or fashion-mnist) --root {folder}"
    arrays = array_files_hint([p for p in folder.iterdir() if not _skipped(p.name)])
    if arrays:
        return arrays
    hidden = sorted(p.name for p in folder.iterdir() if p.name.startswith(".") and p.suffix.lower() in IMAGE_SUFFIXES)
    if hidden:
        return f"names starting with a dot ({', '.join(hidden[:3])}) are skipped as system files: rename them"
    return "put image files in it or give another source"


def _skipped(name: str) -> bool:
    """Dot names (`.DS_Store`, `._00.png`, `.git`) and archivers' folders are not data."""
    return name.startswith(".") or name in SKIPPED_FOLDERS


def _walk(folder: Path, root: Optional[Path] = None) -> list[Path]:
    """Everything under `folder`, following linked folders as torchvision's ImageFolder does (Path.rglob does not,
    before Python 3.13: an outside audit's linked sub-folder of a class folder was left out with no word); skipped
    names are not entered, and a folder reached again through a link loop is walked once. A link to a folder
    inside `root` (the folder of classes) or above it is not followed: its images are another class's, or every
    class's (an outside review: `0/parent -> ..` read class 1's images again, labelled 0)."""
    found: list[Path] = []
    walked: set[str] = set()
    real_root = os.path.realpath(root or folder)

    def elsewhere(top: str, name: str) -> bool:  # a link that leaves the tree of classes, not one back into it
        path = os.path.join(top, name)
        if not os.path.islink(path):
            return True
        real = os.path.realpath(path)
        return not (Path(real).is_relative_to(real_root) or Path(real_root).is_relative_to(real))

    for top, dirs, files in os.walk(folder, followlinks=True):
        real = os.path.realpath(top)
        if real in walked:
            dirs[:] = []
            continue
        walked.add(real)
        dirs[:] = [name for name in dirs if not _skipped(name) and elsewhere(top, name)]
        found += [Path(top, name) for name in dirs + files if not _skipped(name)]
    return found


@functools.lru_cache(maxsize=1)
def pil_suffixes() -> frozenset[str]:
    """The suffixes of every format PIL can open (lower case, with the dot); read once, not per class folder."""
    from PIL import Image  # imported here, as in ganinv.images: PIL's import is time every command's start would pay

    Image.init()
    opened = {ext for ext, fmt in Image.registered_extensions().items() if fmt in Image.OPEN}
    return frozenset(opened - PIL_STUB_SUFFIXES)


def _image_entries(
    folder: Path, recursive: bool, unread: Optional[list[Path]] = None, root: Optional[Path] = None
) -> list[Path]:
    """Image files in a folder (sorted, skipped names and whatever lies in skipped folders left out); a special
    file with an image suffix is refused. Files of other formats PIL opens are added to `unread`, to be named."""
    found = []
    entries = _walk(folder, root) if recursive else [p for p in folder.iterdir() if not _skipped(p.name)]
    other_images = pil_suffixes() - IMAGE_SUFFIXES if unread is not None else set()
    for path in sorted(entries):
        suffix = path.suffix.lower()
        if unread is not None and suffix in other_images and path.is_file():
            unread.append(path)
        if suffix not in IMAGE_SUFFIXES:
            continue
        if not _is_dir(path):
            found.append(path)
    return found


def unread_note(unread: list[Path], where: Path) -> str:
    """Files of image formats ganinv does not read, by suffix and count, and what to do."""
    suffixes = sorted({path.suffix.lower() for path in unread})
    return (
        f"{len(unread)} file(s) of {where} with suffixes {', '.join(suffixes)} (e.g. {unread[0]}) were not read: "
        f"ganinv reads {', '.join(sorted(IMAGE_SUFFIXES))}; convert them to PNG to include them"
    )


def load_image_folder(
    folder: Path,
    input_range: Optional[ValueRange] = None,
    size: Optional[Sequence[int]] = None,
    limit: Optional[int] = None,
) -> ImageSet:
    """The images of a folder, or of its class folders; `limit`: only the first files (sorted) are decoded (`--limit
    16` on 60,000 files read them all, and a damaged file past the first 16 failed the command: an outside audit)."""
    unread: list[Path] = []  # files of image formats ganinv does not read, named in a note
    files = _image_entries(folder, recursive=False, unread=unread)
    subdirs = sorted(p for p in folder.iterdir() if not _skipped(p.name) and p.is_dir())
    if files and subdirs:
        holding = [sub.name for sub in subdirs if _image_entries(sub, recursive=True)]
        if holding:  # a stray preview beside class folders would otherwise replace the whole labelled set
            raise DataError(
                f"{folder} holds both loose images ({', '.join(f.name for f in files[:3])}"
                f"{', ...' if len(files) > 3 else ''}) and folders of images ({', '.join(holding[:5])}"
                f"{', ...' if len(holding) > 5 else ''}); ganinv reads a folder of images or one folder per class, "
                "not both: move the loose images out, or give the folder that holds only them"
            )
    if files or not subdirs:
        if not files:
            hint = unread_note(unread, folder) if unread else no_images_hint(folder)
            raise DataError(f"{folder} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))}); {hint}")
        result = load_image_files(files[:limit], input_range=input_range, size=size)
        result.notes[:0] = [unread_note(unread, folder)] if unread else []
        return result
    paths: list[Path] = []
    labels: list[int] = []
    classes: list[str] = []
    empty: list[str] = []
    for sub in subdirs:
        sub_files = _image_entries(sub, recursive=True, unread=unread, root=folder)
        if not sub_files:
            empty.append(sub.name)
            continue
        labels += [len(classes)] * len(sub_files)
        classes.append(sub.name)
        paths += sub_files
    if not paths:
        arrays = array_files_hint(_walk(folder), classes=True)
        raise DataError(
            f"{folder} has class folders but no images in them; "
            + (arrays or f"put image files ({', '.join(sorted(IMAGE_SUFFIXES))}) in them or give another source")
            + (f" ({unread_note(unread, folder)})" if unread else "")
        )
    notes = [unread_note(unread, folder)] if unread else []
    if empty:
        listed = ", ".join(empty[:5])
        notes.append(
            f"{len(empty)} folder(s) of {folder} hold no images ganinv reads and are not taken as classes (the "
            f"classes are numbered without them): {listed}"
        )
    if all(path.parent.parent != folder for path in paths):  # no image lies right in a class folder
        inner = sorted({path.relative_to(folder).parts[1] for path in paths})
        notes.append(
            f"the classes of {folder} are its folders {', '.join(classes[:5])}, whose images lie in folders "
            f"{', '.join(inner[:5])}{', ...' if len(inner) > 5 else ''} one level down: if those are the classes "
            f"(a folder per split, as training/ and testing/), give {folder / classes[0]}"
        )
    if len(classes) == 1:  # as torchvision's ImageFolder reads it, but labels that are all 0 can surprise
        notes.append(
            f"{folder} holds one folder of images, {classes[0]}, read as one class (label 0 for every image); give "
            f"{folder / classes[0]} to read its images without labels"
        )
    result = load_image_files(paths[:limit], labels[:limit], classes, input_range=input_range, size=size)
    result.notes[:0] = notes
    return result


# ---- tensor files ------------------------------------------------------------------------------------
# Values an array file may hold: 2**30 (4 GiB as float32, e.g. 200,000 RGB images of 64 x 64). A header is read
# before its data: a 3 MB .npz whose arrays inflate to gigabytes is refused before anything is allocated.
MAX_ARRAY_VALUES = 1 << 30


# What a compressed file may inflate to: at most float64 arrays of MAX_ARRAY_VALUES, and beyond INFLATION_FREE bytes
# at most MAX_INFLATION times its own size (images and features compress 2-10x; a decompression bomb, 1000x).
INFLATION_FREE = 256 * 2**20
MAX_INFLATION = 100


def inflates_too_far(stored: int, inflated: int) -> bool:
    """Whether `stored` bytes that inflate to `inflated` are a decompression bomb (or more than ganinv reads)."""
    return inflated > MAX_ARRAY_VALUES * 8 or (inflated > INFLATION_FREE and inflated > MAX_INFLATION * stored)


def check_inflation(path: Path, inflated: int) -> None:
    """Refuse a compressed file whose contents would inflate to more than ganinv reads, before they are read."""
    stored = path.stat().st_size
    if inflates_too_far(stored, inflated):
        raise DataError(
            f"{path} inflates from {stored / 2**20:.1f} MiB to {inflated / 2**20:.0f} MiB, more than ganinv reads "
            "from one file (a decompression bomb?); store the data uncompressed, or in several files"
        )


def check_array_headers(path: Path) -> None:
    """Refuse an .npy or .npz whose arrays, by their headers, hold more than MAX_ARRAY_VALUES values, or whose members
    inflate past what such arrays take (every member: numpy reads one named without `.npy` too), before anything is
    allocated."""

    def header(stream: Any, name: str, size: int) -> Optional[tuple[tuple[int, ...], np.dtype, int]]:
        try:
            version = np.lib.format.read_magic(stream)
        except ValueError:  # not an array: np.load gives its bytes, whose size the archive's listing bounds
            return None
        readers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
        if version not in readers:
            raise DataError(
                f"{path}: {name!r} is a version {version[0]}.{version[1]} .npy array, which ganinv does not read; "
                "save it with numpy.save or numpy.savez"
            )
        shape, _, dtype = readers[version](stream)
        return tuple(shape), dtype, size - stream.tell()  # the bytes left for the values

    shapes = {}
    if not zipfile.is_zipfile(path):  # an .npy (also one saved under an .npz name)
        with open(path, "rb") as npy:
            shapes["images"] = header(npy, "images", path.stat().st_size)
    else:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            inflated = sum(member.file_size for member in members)
            check_inflation(path, inflated)
            for member in members:
                name = member.filename.removesuffix(".npy")
                with archive.open(member) as stored:
                    shapes[name] = header(stored, name, member.file_size)
    for name, read in shapes.items():
        if read is None:
            continue
        shape, dtype, left = read
        values = int(np.prod(shape, dtype=np.float64)) if shape else 1
        if values > MAX_ARRAY_VALUES:
            raise DataError(
                f"{path}: {name!r} of shape {shape} ({dtype}) holds {values:,} values, more than ganinv reads from "
                f"one file ({MAX_ARRAY_VALUES:,}); split the images into several files, or pass fewer"
            )
        if dtype.itemsize and values * dtype.itemsize > left:  # an allocation for values that are not there
            raise DataError(
                f"{path}: {name!r} declares {values:,} values of {dtype} but holds {left:,} bytes of them: the "
                "file is cut short or damaged; save the images again with numpy.savez(path, images=...)"
            )


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    """An .npz archive (arrays by name), or an .npy file: its one array is the images (no labels)."""
    kind = "an .npy array" if path.suffix.lower() == ".npy" else "an .npz archive"
    damaged = f"{path} is damaged or not {kind}; save the images again with numpy.savez(path, images=...)"
    try:
        check_array_headers(path)
        data = np.load(path, allow_pickle=False)
        if isinstance(data, np.ndarray):  # a single array: the images
            return {"images": data}
        with data:
            return {key: data[key] for key in data.files}
    except ValueError as exc:
        if "Object arrays" in str(exc):
            raise DataError(
                f"{path} holds arrays of Python objects, which ganinv never unpickles; save the "
                "images as a numeric array with numpy.savez(path, images=...)"
            ) from None
        raise DataError(named_as_stand_in(path, kind) or f"{damaged} ({exc})") from None
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error, KeyError) as exc:
        raise DataError(named_as_stand_in(path, kind) or f"{damaged} ({exc})") from None


def _read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        said = named_as_stand_in(path, "a safetensors file")
        if said:
            raise DataError(said) from None
        raise DataError(
            f"cannot read {path} as safetensors ({str(exc).splitlines()[0] if str(exc) else exc!r}); "
            "the file is damaged or not a safetensors file: save it again"
        ) from None


def _as_tensor(array, path: Path, key: str) -> torch.Tensor:
    if isinstance(array, np.ndarray):
        if array.dtype.kind not in "biuf":
            what = "labels as class indices 0, 1, ..." if key == "labels" else "images as a numeric array"
            raise DataError(f"{path}: {key!r} holds {array.dtype} values, not numbers; save the {what}")
        return torch.from_numpy(torch_ready(array))
    if array.is_complex():
        raise DataError(f"{path}: {key!r} holds complex values; save real pixel values")
    return array


def torch_ready(array: np.ndarray) -> np.ndarray:
    """A numeric numpy array that torch.from_numpy takes: contiguous, native byte order (MATLAB and network byte
    order write '>f4'), and long double (float96/float128, which torch has no type for: an internal error in an outside
    audit) as float64, where values beyond its range become infinite and are refused as such."""
    if array.dtype.kind == "f" and array.dtype.itemsize > 8:
        array = array.astype(np.float64)
    if not array.dtype.isnative:
        array = array.astype(array.dtype.newbyteorder("="))
    return np.ascontiguousarray(array)


def _to_nchw(x: torch.Tensor, path: Path, key: str, labelled: bool = False) -> torch.Tensor:
    """(N, H, W), (N, C, H, W) or (N, H, W, C) -> (N, C, H, W); anything ambiguous is refused. `labelled`: labels
    came with the images (one per image, checked later), so a first axis of 3 or 4 counts images."""
    shape = tuple(x.shape)
    if x.dim() == 2:
        raise DataError(
            f"{path}: {key!r} is 2-D {shape}: one greyscale image or {shape[0]} flattened ones? "
            f"save one image as (1, H, W), N images as (N, H, W) or (N, C, H, W)"
        )
    if x.dim() not in (3, 4):
        raise DataError(f"{path}: {key!r} has shape {shape}; images must be (N, H, W), (N, C, H, W) or (N, H, W, C)")
    if 0 in shape:
        raise DataError(f"{path}: {key!r} has shape {shape}, which holds no pixels; give at least one image")
    if x.dim() == 3:
        if shape[-1] in (1, 3, 4) and shape[1] != shape[2]:  # (N, 4, 4) are square images, not one H x W x C
            raise DataError(
                f"{path}: {key!r} of shape {shape} reads as {shape[0]} images {shape[2]} pixels wide; "
                f"if it is one H x W x C image, save it as (1, {shape[0]}, {shape[1]}, {shape[2]})"
            )
        if shape[0] in (3, 4) and not labelled:  # how one RGB(A) image converted from torch or PIL is laid out
            raise DataError(
                f"{path}: {key!r} of shape {shape} is either {shape[0]} greyscale images or one {shape[0]}-channel "
                f"image; save one image as (1, {shape[0]}, {shape[1]}, {shape[2]}), or {shape[0]} greyscale images "
                f"as ({shape[0]}, 1, {shape[1]}, {shape[2]})"
            )
        return _not_strips(x.unsqueeze(1), shape, path, key)
    stored = (1, 2, 3, 4)  # grey, grey + alpha, RGB, RGBA
    if shape[1] in stored and shape[-1] in stored:  # both ends could be channels: the square reading wins
        first_square, last_square = shape[2] == shape[3], shape[1] == shape[2]
        if not first_square and not last_square:  # (N, 3, 32, 3): 32 x 3 images, or 3 x 32 ones channels-last?
            raise DataError(
                f"{path}: {key!r} of shape {shape} reads as {shape[1]}-channel {shape[2]} x {shape[3]} images or "
                f"as {shape[3]}-channel {shape[1]} x {shape[2]} images stored channels-last; save them as "
                "(N, C, H, W) or (N, H, W, C) with square images, or resize them first"
            )
        if last_square and not first_square:  # (N, 4, 4, 3): 4 x 4 RGB images, channels-last
            x = x.permute(0, 3, 1, 2)
    elif shape[-1] in stored:
        x = x.permute(0, 3, 1, 2)  # NHWC -> NCHW
    if x.shape[1] not in CHANNELS:
        what = {2: " (grey and alpha?)", 4: " (RGBA?)"}.get(x.shape[1], "")
        raise DataError(
            f"{path}: {key!r} of shape {shape} holds {x.shape[1]}-channel images{what}; ganinv reads 1 (grey) or 3 "
            "(RGB) channels: drop or composite the alpha and save (N, H, W), (N, 3, H, W) or (N, H, W, 3)"
        )
    return _not_strips(x, shape, path, key)


def _not_strips(x: torch.Tensor, shape: tuple[int, ...], path: Path, key: str) -> torch.Tensor:
    """x (N, C, H, W), refused when its images are one pixel high or wide: (N, 1, 784) and (N, 1, 1, 784) are N
    flattened images, as the 2-D (N, 784) is, and were read as 1 x 784 strips squeezed to 28 x 28 (an outside audit)."""
    n, c, h, w = x.shape
    if min(h, w) > 1 or max(h, w) == 1:
        return x
    side = math.isqrt(h * w)
    example = f", e.g. reshape({n}, {'' if c == 1 else f'{c}, '}{side}, {side})" if side * side == h * w else ""
    raise DataError(
        f"{path}: {key!r} of shape {shape} reads as {n} images of {h} x {w} pixels: {n} flattened images? "
        f"save N images as (N, H, W) or (N, C, H, W){example}"
    )


def _labels(labels, count: int, path: Path) -> Optional[torch.Tensor]:
    if labels is None:
        return None
    labels = _as_tensor(labels, path, "labels")
    labels = one_column_flattened(labels, count)
    if labels.dim() != 1 or labels.shape[0] != count:
        raise DataError(
            f"{path}: 'labels' has shape {tuple(labels.shape)} but there are {count} images; save one label per image"
        )
    if labels.is_floating_point():
        if not bool(torch.isfinite(labels).all()) or not bool((labels == labels.round()).all()):
            raise DataError(f"{path}: 'labels' holds non-integer values; save class indices 0, 1, ... as labels")
    if labels.dtype == torch.bool:
        raise DataError(f"{path}: 'labels' must be class indices 0, 1, ... (found {labels.dtype} values)")
    check_label_range(labels, path)
    return labels.to(torch.int64)


def one_column_flattened(labels: torch.Tensor, count: int) -> torch.Tensor:
    """Labels (N, 1), as Keras's and CIFAR's y_train hold them, as (N,): they are one label per image, and were
    refused with "save one label per image" (an outside audit)."""
    return labels[:, 0] if labels.dim() == 2 and tuple(labels.shape) == (count, 1) else labels


MAX_LABEL = 2**31 - 1  # far beyond any number of classes, and well inside int64


def check_label_range(labels: torch.Tensor, path: Path) -> None:
    """Refuse labels that are no class index: negative, or above MAX_LABEL. Checked before the cast to int64, which
    wrapped a float label 1e20 and a uint64 one 2**64 - 1 to negative numbers in silence (an outside audit)."""
    if not labels.numel():
        return
    values = labels.to(torch.float64)  # every label dtype, uint64 included, compares exactly enough here
    lo, hi = float(values.min()), float(values.max())
    if lo < 0 or hi > MAX_LABEL:
        raise DataError(
            f"{path}: 'labels' must be class indices 0, 1, ... (found {str(labels.dtype).removeprefix('torch.')} "
            f"values in [{lo:g}, {hi:g}]); save each image's class as its index, 0 to the number of classes - 1"
        )


def load_tensor_file(path: Path, input_range: Optional[ValueRange] = None) -> ImageSet:
    tensors = _read_npz(path) if path.suffix.lower() in (".npz", ".npy") else _read_safetensors(path)
    key = next((k for k in IMAGE_KEYS if k in tensors), None)
    if key is None:
        raise DataError(
            f"{path} has no 'images' array (found {sorted(tensors)}); save the images under the name 'images'"
        )
    label_key = next((k for k in LABEL_KEYS if k in tensors), None)
    stored_labels = tensors[label_key] if label_key is not None else None
    x = _to_nchw(_as_tensor(tensors[key], path, key), path, key, labelled=stored_labels is not None)
    labels = _labels(stored_labels, x.shape[0], path)
    x, note = to_unit_range(x, str(path), None, input_range)
    notes = [note] if note else []
    unread = sorted(set(tensors) - {key, label_key})
    if unread:  # `images` beside Keras's `y_train` lost its labels with no word (an outside audit)
        notes.append(
            f"{path}: {'the array' if len(unread) == 1 else 'the arrays'} {', '.join(map(repr, unread))} "
            f"{'was' if len(unread) == 1 else 'were'} not read; ganinv read the images from {key!r} "
            + (f"and the labels from {label_key!r}" if label_key is not None else "and found no labels")
            + f" (it takes the first of {', '.join(map(repr, LABEL_KEYS))}): save the labels as 'labels'"
        )
    return ImageSet(x.contiguous(), labels, [], [], notes)


# ---- any source ---------------------------------------------------------------------------------------
def load_images(
    source: str,
    root: Optional[str | Path] = None,
    split: str = "test",
    limit: Optional[int] = None,
    input_range: Optional[Sequence[float]] = None,
    size: Optional[Sequence[int]] = None,
) -> ImageSet:
    """Read images from any supported source (see the module docstring), in [-1, 1].

    `input_range`: (LO, HI) of the stored values, instead of deciding it from the data. `size`: the (H, W) that
    image files of several sizes are resized to (a command passes its generator's), else their most common one. Notes on
    what was assumed or changed are logged as warnings and kept in `ImageSet.notes`.
    """
    declared = check_range(input_range) if input_range is not None else None
    check_limit_and_size(limit, size)
    if not isinstance(source, (str, os.PathLike)):
        raise DataError(
            f"load_images reads files and datasets by name, not a {type(source).__name__}; images already in memory go "
            "straight to Inverter.encode, ganinv.invert or ganinv.log_likelihood (see ganinv.data.as_model_images)"
        )
    source = str(source)
    if source in DATASET_DIRS:
        # a folder of the user's named mnist/ is read as the dataset: said, with how to read it as images
        kind = "folder" if os.path.isdir(source) else "file"
        here = f", or ./{source} to read the {kind} {source} here as images" if os.path.exists(source) else ""
        if root is None:
            raise DataError(
                f"dataset {source!r} needs --root, the folder with its original files (nothing is downloaded){here}"
            )
        try:
            result = load_idx_dataset(source, root, split, declared)
        except DataError as exc:
            raise DataError(f"{exc}{here}") from None
    else:
        path = Path(source)
        if not os.path.exists(path):
            raise DataError(
                f"{source} does not exist; give an image folder, image file, .npz/.npy/.safetensors file, "
                f"or one of {', '.join(DATASET_DIRS)} with --root"
            )
        if _is_dir(path):
            result = load_image_folder(path, declared, size, limit)
        elif path.suffix.lower() in TENSOR_SUFFIXES:  # A.NPY was an "unknown file type" (an outside audit)
            result = load_tensor_file(path, declared)
        elif path.suffix.lower() in IMAGE_SUFFIXES:
            result = load_image_files([path], input_range=declared, size=size)
        else:
            raise DataError(
                f"cannot read {path}: "
                + (
                    dataset_file_hint(path)
                    or f"unknown file type {path.suffix!r}; give an image folder, image file or .npz/.npy/.safetensors "
                    "file"
                )
            )
    result = result.subset(limit)
    blank = blank_images_note(result, source)
    if blank:
        result.notes.append(blank)
    for note in result.notes:
        logger.warning(note)
    return result


def blank_images_note(images: ImageSet, source: str) -> Optional[str]:
    """A note naming the images that hold one value in every pixel: read from a picture kept only in the alpha
    channel, they were 16 black images that every command scored in silence (an outside audit). Said, not refused:
    flat images are still images, and small sets of them serve as test data."""
    x = images.images.flatten(1)
    blank = (x.amax(dim=1) == x.amin(dim=1)).nonzero().flatten().tolist() if x.numel() else []
    if not blank:
        return None
    example = images.names[blank[0]] if images.names else f"index {blank[0]}"
    many = f"all {len(blank)}" if len(blank) == len(images) else f"{len(blank)} of {len(images)}"
    return (
        f"{many} images of {source} are blank, one value in every pixel (e.g. {example}): "
        "they hold no picture, so every figure on them (errors, features, clusters, likelihoods) describes blank "
        "images; check how they were saved (a picture kept only in the alpha channel?) or drop them"
    )


def _whole_number(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_limit_and_size(limit: Any, size: Any) -> None:
    """load_images' `limit` and `size`, as the CLI's --limit is checked: a limit of -1 dropped the last image and 0
    gave no images, a size of (0, 0) was a ZeroDivisionError and (28, 28.7) was cut to 28 (an outside audit)."""
    if limit is not None and not (_whole_number(limit) and limit >= 1):
        raise DataError(f"limit must be a whole number of images, 1 or more (or None for all), got {limit!r}")
    if size is not None and not (
        isinstance(size, Sequence) and len(size) == 2 and all(_whole_number(v) and v >= 1 for v in size)
    ):
        raise DataError(f"size must be (H, W), two whole numbers of pixels, 1 or more (or None), got {size!r}")


def fit_to_shape(images: torch.Tensor, shape: tuple[int, int, int]) -> tuple[torch.Tensor, Optional[str]]:
    """Resize and convert channels to a generator's (C, H, W); returns a warning when it had to.

    The images must be finite and in [-1, 1] (`load_images` gives them so); resizing may overshoot
    the range by rounding, which is clamped, and a larger overshoot is reported in the warning.
    """
    c, h, w = shape
    if images.dim() != 4 or images.numel() == 0:
        raise DataError(f"expected a batch of images (N, C, H, W), got shape {tuple(images.shape)}")
    check_finite_images(images, "the images")
    lo, hi = float(images.min()), float(images.max())
    if lo < -1 - OVERSHOOT or hi > 1 + OVERSHOOT:
        raise DataError(
            f"the images hold values in [{lo:g}, {hi:g}], not [-1, 1]; read them with "
            "ganinv.data.load_images, which converts their range"
        )
    x, changes = images.float(), []
    if x.shape[1] != c:
        how = ""
        if c == 1 and x.shape[1] == 3:  # luminance, as every image library a user compares with converts colour; the
            # channels' plain mean read green ink at a third of its brightness (an outside audit)
            x = (x * x.new_tensor(LUMINANCE).view(1, 3, 1, 1)).sum(dim=1, keepdim=True)
            how = " (luminance: 0.299 R + 0.587 G + 0.114 B)"
        elif x.shape[1] == 1:  # its errors are summed over the copies: 3x a grey image's (an outside audit)
            x = x.expand(-1, c, -1, -1)
            how = f" (the grey copied into each: errors are summed over all {c}, {c}x the same image's in grey)"
        else:
            raise DataError(f"cannot convert {x.shape[1]}-channel images to {c} channels")
        changes.append(f"{images.shape[1]} -> {c} channels{how}")
    if tuple(x.shape[2:]) != (h, w):
        x = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False, antialias=True)
        stretched = " (another aspect ratio: stretched, not cropped)" if is_stretched(images.shape[2:], (h, w)) else ""
        changes.append(f"{tuple(images.shape[2:])} -> {(h, w)} pixels{stretched}")
    beyond = float((x.abs() - 1).clamp_min(0).max()) if x.numel() else 0.0
    if beyond > OVERSHOOT:
        changes.append(f"values beyond [-1, 1] by up to {beyond:.3g} clamped")
    warning = f"images converted to the generator's shape: {', '.join(changes)}" if changes else None
    return x.clamp(-1, 1).contiguous(), warning


# ---- images handed to the Python API ---------------------------------------------------------------------------
# `input_range=MODEL_SPACE`: the values are already the generator's own space ([-1, 1], and beyond it for a density
# such as noisy samples), in any float dtype: taken as they are (ganinv's own loops; exact tests in float64).
MODEL_SPACE = "model"


def as_model_images(
    images: Any,
    image_shape: Sequence[int],
    input_range: Optional[ValueRange | str] = None,
    source: str = "the images",
) -> torch.Tensor:
    """What a notebook holds -> float32 (N, C, H, W) in [-1, 1] of `image_shape`, by the command line's rule.

    A tensor or numpy array: uint8 is read as [0, 255]; floats by their values ([-1, 1]; [0, 1] with a warning, as
    torchvision's ToTensor gives them; [0, 255]); `input_range=(lo, hi)` declares the range instead, and
    `input_range="model"` takes float values as they are. One image (C, H, W), a grey batch (N, H, W) and
    channels-last (N, H, W, C) are taken where their shape says so. NaN or infinite pixels, and values in no pixel
    range, are refused; other sizes go through `fit_to_shape`.
    """
    if isinstance(images, np.ndarray):
        if images.dtype.kind not in "biuf":  # bool, integers, floats: complex, strings, objects are no pixels
            raise DataError(f"{source} are a numpy array of {images.dtype}, not pixel values; give numbers")
        images = torch.from_numpy(torch_ready(images))
    if not isinstance(images, torch.Tensor):
        raise DataError(
            f"{source} must be a torch tensor or numpy array (N, C, H, W), not {type(images).__name__}; read image "
            "files with ganinv.load_images"
        )
    if images.is_complex():
        raise DataError(f"{source} are complex numbers, not pixel values; give real ones")
    if images.device.type == "meta":  # shapes without values: torch's own error named nonzero()'s meta function
        raise DataError(f"{source} are on the meta device, which holds no values; give tensors on the cpu or cuda")
    c, h, w = (int(v) for v in image_shape)
    x = images.detach()
    if x.dim() == 3 and tuple(x.shape) == (c, h, w):
        x = x.unsqueeze(0)  # one image
    elif x.dim() == 3 and c == 1 and tuple(x.shape[1:]) == (h, w):
        x = x.unsqueeze(1)  # a grey batch without its channel axis
    elif x.dim() == 4 and tuple(x.shape[1:]) == (h, w, c) and tuple(x.shape[1:]) != (c, h, w):
        x = x.permute(0, 3, 1, 2)  # channels-last
    if x.dim() != 4 or tuple(x.shape[1:]) != (c, h, w):
        raise DataError(
            f"{source} have shape {tuple(images.shape)}, not (N, {c}, {h}, {w}); resize or convert their channels "
            "with ganinv.data.fit_to_shape after reading them into [-1, 1]"
        )
    if x.shape[0] == 0:
        raise DataError(f"{source} hold no image; give at least one")
    if input_range == MODEL_SPACE:
        if not x.is_floating_point():
            raise DataError(f"{source}: input_range='model' takes floats, not {str(x.dtype).removeprefix('torch.')}")
        check_finite_images(x, source)
        return x
    if isinstance(input_range, str):
        raise DataError(f"input_range must be (lo, hi) or {MODEL_SPACE!r}, got {input_range!r}")
    if input_range is not None:  # as --input-range is checked: NaN or infinite ends gave NaN or constant images
        try:
            input_range = check_range(input_range)
        except (TypeError, ValueError):
            raise DataError(
                f"input_range must be (lo, hi), two numbers, or {MODEL_SPACE!r}; got {input_range!r}"
            ) from None
    try:
        x, note = to_unit_range(x, source, declared=input_range)
    except DataError as exc:
        raise DataError(_in_api_words(str(exc))) from None
    if note:
        warnings.warn(_in_api_words(note), UserWarning, stacklevel=3)
    return x.contiguous()


def _in_api_words(text: str) -> str:
    """The range rule's messages name the command line's flag; in Python, the keyword argument."""
    text = re.sub(r"--input-range (-?[\w.]+),(-?[\w.]+)", r"input_range=(\1, \2)", text)
    return text.replace("declare the range the file uses", "declare the range")


# commands that read images by the range rule and take --input-range (README, "Images come from")
INPUT_RANGE_COMMANDS = "invert, features, loglik, cluster-accuracy, mvae features, mvae eval"


def without_input_range(text: str, command: str) -> str:
    """The range rule's message for a command without --input-range (`train --data`, `mvae fit --data`, `fit
    --eval-real`): its advice to declare a range ended in "No such option" (an outside audit). The advice is replaced by
    what the command does read."""
    at = text.find("--input-range")
    if at < 0:
        return text
    cut = max(text.rfind("; ", 0, at), text.rfind("? ", 0, at))
    return (
        text[: cut + 1 if cut >= 0 else at].rstrip()
        + f" `{command}` takes no --input-range: save the images as uint8 (0 to 255) or as floats in [0, 1] or "
        f"[-1, 1], which it reads as such ({INPUT_RANGE_COMMANDS} take --input-range)"
    )
