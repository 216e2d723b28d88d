"""Real images from local files, never downloaded: datasets for benchmarks, `invert`, `train`.

`load_images(source)` understands:
- `mnist`, `fashion-mnist` (with `root`: a folder holding the original IDX `.gz` files,
  e.g. `data/mnist`, or torchvision's `root/MNIST/raw/` layout);
- a folder of images (class subfolders, `ImageFolder`-style, give labels);
- image files; an `.npz` or `.safetensors` tensor file (`images`, optional `labels`).

Images come back as float tensors (N, C, H, W) in [-1, 1], with labels when known.
"""

from __future__ import annotations

import gzip
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F

from ganinv.errors import DataError

IDX_FILES = {
    ("train", "images"): "train-images-idx3-ubyte", ("train", "labels"): "train-labels-idx1-ubyte",
    ("test", "images"): "t10k-images-idx3-ubyte", ("test", "labels"): "t10k-labels-idx1-ubyte",
}
DATASET_DIRS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}  # torchvision's folder names
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


@dataclass
class ImageSet:
    images: torch.Tensor  # (N, C, H, W) float in [-1, 1]
    labels: Optional[torch.Tensor] = None  # (N,) int64
    names: list[str] = field(default_factory=list)  # file names, where the input has them
    classes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return self.images.shape[0]

    def subset(self, n: Optional[int]) -> "ImageSet":
        if n is None or n >= len(self):
            return self
        return ImageSet(self.images[:n], None if self.labels is None else self.labels[:n],
                        self.names[:n], self.classes)


def read_idx(path: Path) -> np.ndarray:
    """The IDX format of MNIST-like datasets (gzip or raw)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        data = fh.read()
    zero, dtype_code, ndim = data[0:2], data[2], data[3]
    if zero != b"\x00\x00" or dtype_code != 0x08:
        raise DataError(f"{path} is not an unsigned-byte IDX file")
    shape = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    array = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if array.size != int(np.prod(shape)):
        raise DataError(f"{path} is truncated: header says {shape}, found {array.size} values")
    return array.reshape(shape)


def _find_idx(root: Path, name: str, stem: str) -> Path:
    candidates = [root, root / DATASET_DIRS[name] / "raw", root / name]
    for folder in candidates:
        for suffix in (".gz", ""):
            path = folder / (stem + suffix)
            if path.is_file():
                return path
    raise DataError(f"no {stem}[.gz] under {root} (looked in {', '.join(str(c) for c in candidates)}); "
                    f"pass --root pointing at the folder with the original {name} files")


def load_idx_dataset(name: str, root: str | Path, split: str = "test") -> ImageSet:
    if name not in DATASET_DIRS:
        raise DataError(f"unknown dataset {name!r}; known: {', '.join(DATASET_DIRS)}")
    if split not in ("train", "test"):
        raise DataError(f"split must be 'train' or 'test', got {split!r}")
    root = Path(root)
    images = read_idx(_find_idx(root, name, IDX_FILES[(split, "images")]))
    labels = read_idx(_find_idx(root, name, IDX_FILES[(split, "labels")]))
    x = torch.from_numpy(images.copy()).float().div_(127.5).sub_(1.0).unsqueeze(1)  # (N, 1, 28, 28)
    return ImageSet(x, torch.from_numpy(labels.astype(np.int64)), [], [str(i) for i in range(10)])


def load_image_files(paths: list[Path], labels: Optional[list[int]] = None, classes=()) -> ImageSet:
    from PIL import Image

    arrays, names = [], []
    for path in paths:
        try:
            with Image.open(path) as im:
                arrays.append(np.asarray(im.convert("RGB" if im.mode not in ("L", "I;16", "1") else "L")))
        except OSError as exc:
            raise DataError(f"cannot read image {path}: {exc}") from None
        names.append(str(path))
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        h, w = arrays[0].shape[:2]
        arrays = [np.asarray(_pil_resize(a, (w, h))) for a in arrays]
    stack = np.stack([a if a.ndim == 3 else a[..., None] for a in arrays])  # (N, H, W, C)
    x = torch.from_numpy(stack).permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)
    y = torch.tensor(labels, dtype=torch.int64) if labels is not None else None
    return ImageSet(x, y, names, list(classes))


def _pil_resize(array: np.ndarray, size: tuple[int, int]):
    from PIL import Image

    return Image.fromarray(array).resize(size, Image.BILINEAR)


def load_image_folder(folder: Path) -> ImageSet:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    subdirs = sorted(p for p in folder.iterdir() if p.is_dir())
    if files or not subdirs:
        if not files:
            raise DataError(f"{folder} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        return load_image_files(files)
    paths, labels, classes = [], [], []
    for index, sub in enumerate(subdirs):
        sub_files = sorted(p for p in sub.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        classes.append(sub.name)
        paths += sub_files
        labels += [index] * len(sub_files)
    if not paths:
        raise DataError(f"{folder} has class folders but no images in them")
    return load_image_files(paths, labels, classes)


def load_tensor_file(path: Path) -> ImageSet:
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as data:
            tensors = {k: torch.from_numpy(data[k]) for k in data.files}
    else:
        from safetensors.torch import load_file

        tensors = load_file(str(path))
    key = next((k for k in ("images", "x", "data") if k in tensors), None)
    if key is None:
        raise DataError(f"{path} has no 'images' array (found {sorted(tensors)})")
    x = tensors[key]
    if x.dtype == torch.uint8:
        x = x.float().div(127.5).sub(1.0)
    x = x.float()
    if x.dim() == 3:
        x = x.unsqueeze(1)
    if x.dim() == 4 and x.shape[-1] in (1, 3) and x.shape[1] not in (1, 3):
        x = x.permute(0, 3, 1, 2)  # NHWC -> NCHW
    labels = tensors.get("labels")
    return ImageSet(x.contiguous(), None if labels is None else labels.long(), [], [])


def load_images(source: str, root: Optional[str | Path] = None, split: str = "test",
                limit: Optional[int] = None) -> ImageSet:
    """Read images from any supported source (see the module docstring)."""
    if source in DATASET_DIRS:
        if root is None:
            raise DataError(f"dataset {source!r} needs --root, the folder with its original files "
                            "(nothing is downloaded)")
        return load_idx_dataset(source, root, split).subset(limit)
    path = Path(source)
    if not path.exists():
        raise DataError(f"{source} does not exist; give an image folder, image file, .npz/.safetensors file, "
                        f"or one of {', '.join(DATASET_DIRS)} with --root")
    if path.is_dir():
        result = load_image_folder(path)
    elif path.suffix in (".npz", ".safetensors"):
        result = load_tensor_file(path)
    elif path.suffix.lower() in IMAGE_SUFFIXES:
        result = load_image_files([path])
    else:
        raise DataError(f"cannot read {path}: unknown file type {path.suffix!r}")
    return result.subset(limit)


def fit_to_shape(images: torch.Tensor, shape: tuple[int, int, int]) -> tuple[torch.Tensor, Optional[str]]:
    """Resize and convert channels to a generator's (C, H, W); returns a warning when it had to."""
    c, h, w = shape
    x, changes = images, []
    if x.shape[1] != c:
        if c == 1:
            x = x.mean(dim=1, keepdim=True)
        elif x.shape[1] == 1:
            x = x.expand(-1, c, -1, -1)
        else:
            raise DataError(f"cannot convert {x.shape[1]}-channel images to {c} channels")
        changes.append(f"{images.shape[1]} -> {c} channels")
    if tuple(x.shape[2:]) != (h, w):
        x = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False, antialias=True)
        changes.append(f"{tuple(images.shape[2:])} -> {(h, w)} pixels")
    warning = f"images converted to the generator's shape: {', '.join(changes)}" if changes else None
    return x.clamp(-1, 1).contiguous(), warning
