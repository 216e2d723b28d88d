"""Array files of images: `.npz`, `.npy` and `.safetensors` (`images`, optional `labels`), their shapes
read as (N, H, W), (N, C, H, W) or (N, H, W, C), their headers checked before anything is inflated.
"""

from __future__ import annotations

import math
import zipfile
import zlib
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch

from ganinv.data.conversions import npz_keys_hint
from ganinv.data.image_set import ImageSet
from ganinv.data.value_ranges import ValueRange, to_unit_range
from ganinv.errors import DataError
from ganinv.stand_ins import named_as_stand_in

TENSOR_SUFFIXES = {".npz", ".npy", ".safetensors"}


IMAGE_KEYS = ("images", "x", "data")


LABEL_KEYS = ("labels", "y", "targets")  # beside them: ganinv's name, Keras's (x, y), torchvision's (data, targets)


CHANNELS = (1, 3)


# Values an array file may hold: 2**30 (4 GiB as float32, e.g. 200,000 RGB images of 64 x 64). A header is read
# before its data: a 3 MB .npz whose arrays inflate to gigabytes is refused before anything is allocated.
MAX_ARRAY_VALUES = 1 << 30


# What a compressed file may inflate to: at most float64 arrays of MAX_ARRAY_VALUES, and beyond INFLATION_FREE bytes
# at most MAX_INFLATION times its own size (images and features compress 2-10x; a decompression bomb, 1000x).
INFLATION_FREE = 256 * 2**20


MAX_INFLATION = 100


# Pixels (uint8, 4x as float32 images) inflate far from this size on: 267 KB of an .npz inflated to 250 MiB, and a
# 1 MB IDX .gz asked for 16 GB, under INFLATION_FREE (an outside audit); a binarised MNIST .npz packs 26x (a review)
PIXELS_FREE = 16 * 2**20


def inflates_too_far(stored: int, inflated: int, free: Optional[int] = None) -> bool:
    """Whether `stored` bytes that inflate to `inflated` are a decompression bomb (or more than ganinv reads); below
    `free` bytes (default INFLATION_FREE), any ratio is taken."""
    free = INFLATION_FREE if free is None else free
    return inflated > MAX_ARRAY_VALUES * 8 or (inflated > free and inflated > MAX_INFLATION * stored)


def check_inflation(path: Path, inflated: int, free: Optional[int] = None) -> None:
    """Refuse a compressed file whose contents would inflate to more than ganinv reads, before they are read."""
    stored = path.stat().st_size
    if inflates_too_far(stored, inflated, free):
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
            check_inflation(path, inflated, PIXELS_FREE)
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
    if not array.flags.writeable:  # np.frombuffer's: torch warned of undefined behaviour from inside ganinv
        array = array.copy()
    return np.ascontiguousarray(array)


def _to_nchw(
    x: torch.Tensor, path: Path, key: str, labelled: bool = False, count: Optional[int] = None
) -> torch.Tensor:
    """(N, H, W), (N, C, H, W) or (N, H, W, C) -> (N, C, H, W); anything ambiguous is refused. `labelled`: labels
    came with the images (one per image, checked later), so a first axis of 3 or 4 counts images; `count`: how many
    labels (as many as a stack's last axis: images stacked along it)."""
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
        stacked_last = not labelled or (count == shape[2] and count != shape[0])  # labels count the last axis (56a)
        if shape[0] == shape[1] != shape[2] and stacked_last:  # MATLAB's and scipy.io.loadmat's (H, W, N) stacks
            # were read as H images of row slices across all the digits (an outside audit, 55b)
            raise DataError(
                f"{path}: {key!r} of shape {shape} is either {shape[0]} images {shape[2]} pixels wide or "
                f"{shape[2]} images {shape[0]} x {shape[1]} stacked along the last axis (MATLAB's layout); save the "
                f"latter as (N, H, W): numpy.moveaxis(x, -1, 0), the former as (N, 1, H, W): x[:, None]"
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
                f"{path}: {key!r} of shape {shape} reads as {shape[1]}-channel {shape[3]} x {shape[2]} "
                f"(width x height) images or as {shape[3]}-channel {shape[2]} x {shape[1]} images stored "
                "channels-last; save them as (N, C, H, W) or (N, H, W, C) with square images, or resize them first"
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
        f"{path}: {key!r} of shape {shape} reads as {n} images of {w} x {h} pixels (width x height): {n} flattened "
        "images? "
        f"save N images as (N, H, W) or (N, C, H, W){example}"
    )


def _labels(labels, count: int, path: Path, key: str = "labels") -> Optional[torch.Tensor]:
    """The labels array `key` as class indices (N,); refused, naming the array read (Keras's `y` had been called
    'labels': an outside audit, 57c), where it is not one class index per image."""
    if labels is None:
        return None
    labels = _as_tensor(labels, path, key)
    labels = one_column_flattened(labels, count)
    if labels.dim() == 2 and labels.shape[0] == count and one_hot(labels):  # Keras's to_categorical (57c)
        raise DataError(
            f"{path}: {key!r} is one-hot, shape {tuple(labels.shape)}; save each image's class index: "
            f"labels={key}.argmax(1)"
        )
    if labels.dim() != 1 or labels.shape[0] != count:
        raise DataError(
            f"{path}: {key!r} has shape {tuple(labels.shape)} but there are {count} images; save one label per image"
        )
    if labels.is_floating_point():
        if not bool(torch.isfinite(labels).all()) or not bool((labels == labels.round()).all()):
            raise DataError(f"{path}: 'labels' holds non-integer values; save class indices 0, 1, ... as labels")
    if labels.dtype == torch.bool:
        raise DataError(f"{path}: 'labels' must be class indices 0, 1, ... (found {labels.dtype} values)")
    check_label_range(labels, path)
    return labels.to(torch.int64)


def one_hot(labels: torch.Tensor) -> bool:
    """Whether (N, K) labels hold one 1 and K - 1 zeros in every row."""
    values = labels.to(torch.float64)
    return bool(((values == 0) | (values == 1)).all()) and bool((values.sum(1) == 1).all())


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


def load_tensor_file(path: Path, input_range: Optional[ValueRange] = None, limit: Optional[int] = None) -> ImageSet:
    """The images (and labels) of an .npz/.npy/.safetensors file; `limit`: only the first `limit` are converted."""
    tensors = _read_npz(path) if path.suffix.lower() in (".npz", ".npy") else _read_safetensors(path)
    key = next((k for k in IMAGE_KEYS if k in tensors), None)
    if key is None:
        raise DataError(
            f"{path} has no 'images' array (found {sorted(tensors)}); "
            + (
                npz_keys_hint(path, {k: tuple(tensors[k].shape) for k in sorted(tensors)})
                or "save the images under the name 'images'"
            )
        )
    label_key = next((k for k in LABEL_KEYS if k in tensors), None)
    stored_labels = tensors[label_key] if label_key is not None else None
    count = None if stored_labels is None else len(stored_labels)
    x = _to_nchw(_as_tensor(tensors[key], path, key), path, key, labelled=stored_labels is not None, count=count)
    labels = _labels(stored_labels, x.shape[0], path, label_key or "labels")
    x, note = to_unit_range(x, str(path), None, input_range, keep=limit)
    labels = None if labels is None else labels[:limit]
    notes = [note] if note else []
    unread = sorted(set(tensors) - {key, label_key})
    said = []
    # `images` beside Keras's `y_train` lost its labels with no word (an outside audit); ganinv's own samples file
    # holds the latents of its images, z, c and d, which are no labels to rename (audit 30b 7b): nothing to say
    if unread and not written_by_sample(path, key, unread):
        said.append(
            f"{path}: {'the array' if len(unread) == 1 else 'the arrays'} {', '.join(map(repr, unread))} "
            f"{'was' if len(unread) == 1 else 'were'} not read; ganinv read the images from {key!r} "
            + (f"and the labels from {label_key!r}" if label_key is not None else "and found no labels")
            + f" (it takes the first of {', '.join(map(repr, LABEL_KEYS))}): save the labels as 'labels'"
        )
    return ImageSet(x.contiguous(), labels, [], [], notes, said)


SAMPLES_FORMAT = "ganinv-samples"  # `ganinv sample --latents-out`'s metadata "format"
SAMPLES_METADATA = ("source", "seed", "spec", "perturbed")  # what it wrote before it wrote a format
LATENT_KEYS = ("z", "c", "d")  # the latents beside its images


def written_by_sample(path: Path, key: str, unread: list[str]) -> bool:
    """Whether `path` is a `ganinv sample --latents-out` file, by its metadata: its images under 'images' and the
    latents z (c, d) of the generator beside them."""
    if path.suffix.lower() != ".safetensors" or key != "images" or not set(unread) <= set(LATENT_KEYS):
        return False
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), "pt") as handle:
            metadata = handle.metadata() or {}
    except (SafetensorError, OSError, ValueError, RuntimeError):  # read already; gone since: not known as ganinv's
        return False
    return metadata.get("format") == SAMPLES_FORMAT or set(SAMPLES_METADATA) <= set(metadata)
