"""Dataset files as they are downloaded that ganinv does not read, each named with the one line that converts it.

ganinv reads images from image files, folders, .npz/.npy/.safetensors arrays and IDX files. Other downloads (a Kaggle
CSV, Keras's `mnist.npz`, a Hugging Face parquet or arrow file, an archive, a MATLAB or HDF5 file, CIFAR's pickled
batches) were refused as "unknown file type" or "no 'images' array" with no way on (an outside audit, 57c). Each is
named here with a line that writes an .npz ganinv reads (`images` (N, H, W[, C]) and, where there are some,
`labels` (N,)). Nothing is read beyond a file's first bytes, and a pickle is never unpickled.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

PICKLE_MAGIC = b"\x80"  # a pickle of protocol 2 or later starts with PROTO (CIFAR's batches: protocol 2)
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"  # also MATLAB v7.3, after a 512-byte header
ARCHIVES = {".zip": "unzip {path}", ".tar": "tar -xf {path}", ".tgz": "tar -xzf {path}", ".tar.gz": "tar -xzf {path}"}


def python_line(code: str) -> str:
    return f'python -c "{code}"'


def npz_line(images: str, labels: Optional[str] = None, out: str = "images.npz") -> str:
    """The numpy.savez call that writes what ganinv reads."""
    return f"n.savez('{out}', images={images}" + (f", labels={labels})" if labels else ")")


def emnist_note(path: Path) -> str:
    return (
        "; EMNIST stores every glyph transposed: add .transpose(0, 2, 1) to the images"
        if path.name.lower().startswith("emnist")
        else ""
    )


def csv_hint(path: Path) -> str:
    """A CSV of pixels, a row per image (Kaggle's MNIST: `label,pixel0,...,pixel783`, with or without the header)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            first = fh.readline(1 << 20).strip().split(",")
    except OSError:
        first = []
    header = bool(first) and not first[0].strip().lstrip("-").replace(".", "", 1).isdigit()
    columns = len(first)
    side = math.isqrt(max(columns - 1, 0))
    if columns > 1 and side * side == columns - 1:  # a label, then the pixels of a square image
        read = f"a=n.loadtxt('{path}', delimiter=',', skiprows={int(header)}, dtype=n.uint8, ndmin=2); "
        line = python_line("import numpy as n; " + read + npz_line(f"a[:, 1:].reshape(-1, {side}, {side})", "a[:, 0]"))
        shape = f"a label, then {side}x{side} pixels, per row"
    elif math.isqrt(columns) ** 2 == columns and columns > 1:
        side = math.isqrt(columns)
        read = f"a=n.loadtxt('{path}', delimiter=',', skiprows={int(header)}, dtype=n.uint8, ndmin=2); "
        line = python_line("import numpy as n; " + read + npz_line(f"a.reshape(-1, {side}, {side})"))
        shape = f"{side}x{side} pixels per row, no label"
    else:
        return (
            "a CSV of pixels is not read (its layout, label column and range vary); convert it to an .npz with "
            "`images` (N, H, W) uint8 and, if it has them, `labels` (N,)"
        )
    return f"a CSV of pixels ({shape}) is not read; convert it: {line}{emnist_note(path)}"


def keras_split_line(path: Path, split: str, labelled: bool = True) -> str:
    """The line that writes one split of a Keras-layout .npz (x_train, y_train, x_test, y_test) as ganinv reads it."""
    labels = f"d['y_{split}']" if labelled else None
    return python_line(f"import numpy as n; d=n.load('{path}'); " + npz_line(f"d['x_{split}']", labels, f"{split}.npz"))


def npz_keys_hint(path: Path, shapes: dict[str, tuple[int, ...]]) -> Optional[str]:
    """An .npz of another library's names (`shapes`: its arrays' shapes by name): Keras's `mnist.npz` (x_train,
    y_train, x_test, y_test), KMNIST's `arr_0`."""
    if {"x_train", "x_test"} <= set(shapes):
        labelled = {"y_train", "y_test"} <= set(shapes)
        test, train = (keras_split_line(path, split, labelled) for split in ("test", "train"))
        return f"it holds a training and a test split (Keras's layout): write a file per split: {test} ({train})"
    if list(shapes) == ["arr_0"] and len(shapes["arr_0"]) == 1:  # KMNIST's *-labels.npz
        return (
            f"its one array (arr_0, {shapes['arr_0'][0]} numbers) looks like labels, not images: give the images "
            "file, named as ganinv reads it: python -c \"import numpy as n; n.savez('images.npz', "
            f"images=n.load('IMAGES.npz')['arr_0'], labels=n.load('{path}')['arr_0'])\""
        )
    if list(shapes) == ["arr_0"]:  # numpy.savez with no names: KMNIST's files, one array each
        line = python_line("import numpy as n; " + npz_line(f"n.load('{path}')['arr_0']"))
        return (
            f"its one array has no name (numpy.savez's arr_0): name it images: {line} (labels kept in a file of their "
            "own, as KMNIST's *-labels.npz, go in as labels=n.load('LABELS')['arr_0'])"
        )
    return None


def folder_conversion_hint(entries: list[Path]) -> Optional[str]:
    """The first downloaded dataset file among a folder's entries that `conversion_hint` names, and what to do."""
    hinted = [(path, hint) for path in entries[:10000] if path.is_file() and (hint := conversion_hint(path))]
    if not hinted:  # (a folder of a dataset's files, not of a million images: those are read, not hinted at)
        return None
    path, hint = max(hinted, key=lambda found: found[0].stat().st_size)  # the data, not CIFAR's batches.meta
    return f"it holds {path}{', ...' if len(hinted) > 1 else ''}: {hint}"


def conversion_hint(path: Path) -> Optional[str]:
    """What a downloaded dataset file ganinv does not read is, and the line that converts it; None if unknown."""
    suffix = ".tar.gz" if path.name.lower().endswith(".tar.gz") else path.suffix.lower()
    if suffix == ".csv":
        return csv_hint(path)
    if suffix in ARCHIVES:
        command = ARCHIVES[suffix].format(path=path)
        return f"an archive is not read: extract it ({command}) and give the folder of images"
    if suffix in (".parquet", ".arrow"):
        kind = "parquet" if suffix == ".parquet" else "arrow"
        code = (
            f"import datasets, numpy as n; d=datasets.load_dataset('{kind}', data_files='{path}')['train']; "
            + npz_line("n.stack([n.array(i) for i in d['image']])", "n.array(d['label'])")
        )
        return (
            f"a Hugging Face datasets {kind} file is not read; convert it (its image and label columns, as the "
            f"dataset names them): {python_line(code)}"
        )
    head = _head(path, 8)
    if suffix == ".mat":
        reader = "h5py.File('{path}')" if _head(path, 520)[512:520] == HDF5_MAGIC else "scipy.io.loadmat('{path}')"
        return (
            f"a MATLAB file is not read; load it with {reader.format(path=path)} and save its images (N, H, W[, C]) as "
            "numpy.savez('images.npz', images=..., labels=...) (SVHN's X is (H, W, C, N): numpy.moveaxis(X, -1, 0); "
            "its label 10 is the digit 0)"
        )
    if suffix in (".h5", ".hdf5") or head == HDF5_MAGIC:
        return (
            "an HDF5 file is not read; save its images dataset as an .npz: "
            + python_line(f"import h5py, numpy as n; f=h5py.File('{path}'); " + npz_line("f['NAME'][:]"))
            + " (NAME: the dataset holding the images; list them with list(f))"
        )
    if head[:1] == PICKLE_MAGIC:
        return (
            "it is a Python pickle (CIFAR's data_batch_*?), which ganinv never unpickles (a pickle can run code); if "
            "you trust the file, convert it in Python: "
            + python_line(
                f"import pickle, numpy as n; d=pickle.load(open('{path}', 'rb'), encoding='bytes'); "
                + npz_line("d[b'data'].reshape(-1, 3, 32, 32)", "n.array(d[b'labels'])")
            )
            + " (CIFAR-10's layout)"
        )
    return None


def _head(path: Path, size: int) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(size)
    except OSError:
        return b""
