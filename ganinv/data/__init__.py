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

import logging
import os
import re
import warnings
from pathlib import Path
from typing import Any, Optional, Sequence, cast

import numpy as np
import torch
import torch.nn.functional as F

from ganinv.data.array_files import (
    TENSOR_SUFFIXES,
    check_array_headers,
    check_label_range,
    inflates_too_far,
    load_tensor_file,
    one_column_flattened,
    torch_ready,
)
from ganinv.data.idx_datasets import DATASET_DIRS, MNIST_STEMS, _idx_bytes, is_idx, load_idx_dataset, load_idx_images
from ganinv.data.image_files import IMAGE_SUFFIXES, dataset_file_hint, is_stretched, load_image_files, load_image_folder
from ganinv.data.image_set import ImageSet
from ganinv.data.paths import _is_dir
from ganinv.data.value_ranges import (
    OVERSHOOT,
    ValueRange,
    check_finite_images,
    check_range,
    detect_range,
    parse_input_range,
    to_unit_range,
)
from ganinv.errors import DataError
from ganinv.images import LUMINANCE
from ganinv.status import said_if_slow

logger = logging.getLogger("ganinv")


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
    what was assumed or changed are logged as warnings and kept in `ImageSet.notes`; what the source held beside
    the images read, and images that came out blank, in `ImageSet.source_notes` (warned too).
    """
    declared = check_range(input_range) if input_range is not None else None
    check_limit_and_size(limit, size)
    if not isinstance(source, (str, os.PathLike)):
        raise DataError(
            f"load_images reads files and datasets by name, not a {type(source).__name__}; images already in memory go "
            "straight to Inverter.encode, ganinv.invert or ganinv.log_likelihood (see ganinv.data.as_model_images)"
        )
    source = str(source)
    if source.strip() in ("", "-"):  # an unset variable read the current folder; `-` a folder of an earlier run's
        said = "is empty (an unset variable?)" if not source.strip() else "- names standard input: ganinv reads files"
        raise DataError(  # results named `-` (an outside audit, 53c)
            f"the images' source {said}; give an image folder, image file, .npz/.npy/.safetensors file, or a dataset"
            + ("" if not source.strip() else " (./- for a folder named -)")
        )
    if source in DATASET_DIRS:
        # a folder of the user's named mnist/ is read as the dataset: said, with how to read it as images
        kind = "folder" if os.path.isdir(source) else "file"
        here = f", or ./{source} to read the {kind} {source} here as images" if os.path.exists(source) else ""
        if root is None:
            raise DataError(
                f"dataset {source!r} needs --root, the folder with its original files (nothing is downloaded){here}"
            )
        try:
            result = load_idx_dataset(source, root, split, declared, limit)
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
            with said_if_slow(f"reading the images of {source}"):  # 60000 files: 30 silent seconds (an audit, 51b)
                result = load_image_folder(path, declared, size, limit)
        elif path.suffix.lower() in TENSOR_SUFFIXES:  # A.NPY was an "unknown file type" (an outside audit)
            result = load_tensor_file(path, declared, limit)
        elif path.suffix.lower() in IMAGE_SUFFIXES:
            result = load_image_files([path], input_range=declared, size=size)
        elif is_idx(path) and not path.name.startswith(MNIST_STEMS):
            result = load_idx_images(path, declared, limit)  # EMNIST's, KMNIST's: MNIST's own four are read with --root
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
        result.source_notes.append(blank)
    for note in [*result.source_notes, *result.notes]:
        logger.warning(note)
    return result


def described_source(source: str, split: str) -> str:
    """Where a command's images came from, as its result records them: a dataset with its split, so that a figure
    says whether it is on validation (train) or test images (an outside audit: `invert`'s did not)."""
    return f"{source} {split}" if source in DATASET_DIRS else source


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
    """Resize and convert channels to a model's (C, H, W) (a generator's, an MVAE's); returns a warning when it had to.

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
            f"the images hold values in [{lo:g}, {hi:g}], not [-1, 1]; read files with ganinv.data.load_images, "
            "and convert images in memory with ganinv.data.as_model_images(x, (C, H, W) of x), which read their range"
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
        # width x height, as the image-folder notes say it
        changes.append(f"{images.shape[3]} x {images.shape[2]} -> {w} x {h} pixels{stretched}")
    beyond = float((x.abs() - 1).clamp_min(0).max()) if x.numel() else 0.0
    if beyond > OVERSHOOT:
        changes.append(f"values beyond [-1, 1] by up to {beyond:.3g} clamped")
    warning = f"images converted to the shape the model takes: {', '.join(changes)}" if changes else None
    return x.clamp(-1, 1).contiguous(), warning


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
    `input_range="model"` takes float values as they are. One image (C, H, W), (H, W, C) or grey (H, W), a grey
    batch (N, H, W) and channels-last (N, H, W, C) are taken where their shape says so. NaN or infinite pixels, and
    values in no pixel range, are refused; so are other sizes, naming the code that converts them (`fit_to_shape`
    of the images read at their own shape): nothing is resized unasked.
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
        if int(x.shape[0]) in (3, 4):  # ToTensor's one RGB(A) image was read as 3 grey ones (an outside audit)
            n = int(x.shape[0])
            raise DataError(
                f"{source} have shape {tuple(images.shape)}: either {n} greyscale images or one {n}-channel image; "
                f"for {n} greyscale images give x[:, None], of shape ({n}, 1, {h}, {w}); for one "
                + ("colour image: " if n == 3 else "RGBA image, its alpha dropped: ")
                + _colour_image_code("x", (h, w), (c, h, w))
            )
        x = x.unsqueeze(1)  # a grey batch without its channel axis
    elif x.dim() == 4 and tuple(x.shape[1:]) == (h, w, c) and tuple(x.shape[1:]) != (c, h, w):
        x = x.permute(0, 3, 1, 2)  # channels-last
    elif x.dim() == 2 and c == 1 and tuple(x.shape) == (h, w):
        x = x[None, None]  # one grey image, as x_test[0] is (an outside audit: its remedy refused it too)
    elif x.dim() == 3 and tuple(x.shape) == (h, w, c):
        x = x.permute(2, 0, 1).unsqueeze(0)  # one channels-last image
    if x.dim() != 4 or tuple(x.shape[1:]) != (c, h, w):
        wanted = f"(N, {c}, {h}, {w})"
        raise DataError(f"{source} have shape {tuple(images.shape)}, not {wanted}{_resize_recipe(x, c, h, w)}")
    if x.shape[0] == 0:
        raise DataError(f"{source} hold no image; give at least one")
    if hasattr(input_range, "tolist") and not isinstance(input_range, str):  # a numpy array or tensor of two ends
        input_range = tuple(cast(Any, input_range).tolist())  # (np.array([0, 255]) == "model" has no truth value)
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


def _resize_recipe(x: torch.Tensor, c: int, h: int, w: int, name: str = "x") -> str:
    """How to bring images of another size or channel count to (c, h, w), in code that runs: read their range at
    their own shape, then resize (the advice named fit_to_shape, which refused images not yet in [-1, 1], and
    sent them to load_images, which takes no arrays: an outside audit). A grey or colour image with an alpha (2 or 4
    channels, channels-last too) has the alpha dropped first: fit_to_shape refused the code named (audit 36b)."""
    if x.dim() == 4:
        last = int(x.shape[-1]) in (1, 2, 3, 4) and int(x.shape[1]) not in (1, 2, 3, 4)
        channels = int(x.shape[-1] if last else x.shape[1])
        sides = tuple(int(v) for v in (x.shape[1:3] if last else x.shape[2:]))
        kept = {2: 1, 4: 3}.get(channels, channels)
        own = (kept, *sides)
        picked = name if kept == channels else f"{name}[..., :{kept}]" if last else f"{name}[:, :{kept}]"
        alpha = "" if kept == channels else f" with their alpha dropped ({channels} channels: grey or RGB and alpha?)"
    elif x.dim() == 3 and int(x.shape[-1]) in (3, 4) and int(x.shape[0]) not in (1, 3, 4):  # one channels-last
        own, picked = (3, *(int(v) for v in x.shape[:2])), f"{name}[None, ..., :3]"  # image (a grey batch of 32
        alpha = " with its alpha dropped" if int(x.shape[-1]) == 4 else ""  # images 3 px wide: review 37a)
    elif x.dim() == 3:  # a grey batch, given its channel axis: (3 | 4, H, W) alone is ambiguous (as_model_images)
        own, picked, alpha = (1, *(int(v) for v in x.shape[1:])), f"{name}[:, None]", ""
    else:
        return "; give a batch (N, C, H, W) of images"
    colour = ""
    if x.dim() == 3 and int(x.shape[0]) in (3, 4):  # or one colour image, channels first: both readings named
        sides = tuple(int(v) for v in x.shape[1:])
        colour = f"; or, if it is one {int(x.shape[0])}-channel image: " + _colour_image_code(name, sides, (c, h, w))
    return (
        f"; read them at their own shape {own}{alpha}, then resize or convert their channels: "
        f"ganinv.data.fit_to_shape(ganinv.data.as_model_images({picked}, {own}), ({c}, {h}, {w}))[0]{colour}"
    )


def _colour_image_code(name: str, sides: Sequence[int], shape: Sequence[int]) -> str:
    """The code that reads one colour image `name` (3 or 4, H, W) of `sides` (H, W), its alpha dropped, and converts it
    to `shape` (C, H, W): what both readings of a (3 | 4, H, W) array name for the colour one."""
    h, w = (int(v) for v in sides)
    c, th, tw = (int(v) for v in shape)
    return (
        f"ganinv.data.fit_to_shape(ganinv.data.as_model_images({name}[None, :3], (3, {h}, {w})), ({c}, {th}, {tw}))[0]"
    )


def _in_api_words(text: str) -> str:
    """The range rule's messages name the command line's flag; in Python, the keyword argument."""
    text = re.sub(r"--input-range (-?[\w.]+),(-?[\w.]+)", r"input_range=(\1, \2)", text)
    return text.replace("declare the range the file uses", "declare the range")


__all__ = [  # what other modules and tests import from `ganinv.data`
    "DATASET_DIRS",
    "IMAGE_SUFFIXES",
    "ImageSet",
    "MODEL_SPACE",
    "OVERSHOOT",
    "ValueRange",
    "_idx_bytes",
    "as_model_images",
    "check_array_headers",
    "check_label_range",
    "detect_range",
    "fit_to_shape",
    "inflates_too_far",
    "load_images",
    "one_column_flattened",
    "parse_input_range",
    "torch_ready",
]
