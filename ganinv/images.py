"""Pictures: reading one image file as its stored pixel values, and saving grids as PNG, atomically.

`read_image` keeps what the file says about its values: 8-bit images are [0, 255], 16-bit PNGs, PGMs and TIFFs with a
value above 255 [0, 65535]; float or 32-bit integer images have no range in the file and get `None`, to be
decided from their values (`ganinv.data`). Transparent pixels are composited onto black, or onto white where
the visible pixels are mostly dark (ink kept in the alpha channel), and only the first frame of an animation is read;
both are reported in the notes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from ganinv.atomic import atomic_path
from ganinv.errors import DataError
from ganinv.stand_ins import named_as_stand_in

MAX_IMAGE_PIXELS = 4096 * 4096  # larger images are refused before they are decoded
SIXTEEN_BIT_MODES = {"I;16", "I;16L", "I;16B", "I;16N"}
TWELVE_BIT_MAX = 4095  # 16-bit pixels that never exceed it are likely 10- or 12-bit data (cameras, medical scans)
LUMINANCE = (0.299, 0.587, 0.114)  # ITU-R 601-2, as PIL's "L", torchvision's Grayscale and OpenCV weigh R, G, B


def read_image(path: Path, range_declared: bool = False) -> tuple[np.ndarray, Optional[tuple[float, float]], list[str]]:
    """One image file -> (pixels (H, W, C), the range of the stored values or None, notes); with `range_declared`
    (the user's --input-range), no note on the file's range."""
    from PIL import Image, ImageOps

    notes = []
    try:
        with Image.open(path) as im:
            width, height = im.size
            if width * height > MAX_IMAGE_PIXELS:
                raise DataError(
                    f"image {path} is {width} x {height} pixels, more than ganinv reads "
                    f"({MAX_IMAGE_PIXELS} pixels); downscale it first"
                )
            frames = getattr(im, "n_frames", 1)
            if frames > 1:
                notes.append(f"{path} has {frames} frames; only the first is read")
            im.load()
            file_format = im.format  # before exif_transpose, whose copy has no format
            im = ImageOps.exif_transpose(im)  # the orientation a viewer shows
            pixels, value_range, pixel_notes = _pixels(im, file_format, path, range_declared)
    except DataError:
        raise
    except Exception as exc:  # decoders raise many kinds of errors on malformed files
        said = named_as_stand_in(Path(path), "an image")
        if said:
            raise DataError(said) from None
        raise DataError(
            f"cannot read image {path}: {exc}; check that it is a complete image file or remove it"
        ) from None
    return pixels, value_range, notes + pixel_notes


def _pixels(
    im, file_format: Optional[str], path: Path, range_declared: bool
) -> tuple[np.ndarray, Optional[tuple[float, float]], list[str]]:
    """The decoded image -> (pixels (H, W, C), the range of its stored values or None, notes)."""
    mode = im.mode
    # a PNG holds at most 16 bits; PIL reads a PGM whose header says more than 255 as "I", rescaled to [0, 65535]
    if mode in SIXTEEN_BIT_MODES or (mode == "I" and file_format in ("PNG", "PPM")):
        stored = np.asarray(im).astype(np.uint16)[..., None]
        # 8-bit values cast to 16 bits (what cv2 or PIL write for a uint8 array saved as uint16) would read as
        # near-black in [0, 65535]: with no value above 255 the file does not say its range (data.detect_range)
        top = int(stored.max()) if stored.size else 0
        value_range = (0.0, 65535.0) if top > 255 else None
        notes = [_few_bits_note(path, top)] if 255 < top <= TWELVE_BIT_MAX and not range_declared else []
        white = 65535 if top > TWELVE_BIT_MAX else top  # a background a declared 10- or 12-bit range still holds
        pixels, note = _grey_transparency(stored, im, path, white)  # range and bits: the stored values', as stored
        return pixels, value_range, notes + ([note] if note else [])
    if mode in ("I", "F"):  # 32-bit integers or floats: nothing in the file says their range
        return np.asarray(im)[..., None], None, []
    if mode == "L":
        stored = np.asarray(im)[..., None]
        # a 0/1 mask saved as 8-bit greyscale reads as all but black in [0, 255]; holding just 0s and 1s, the
        # file does not say which it is (refused as a uint8 tensor of 0s and 1s is, data.detect_range)
        mask = stored.size and stored.max() == 1 and stored.min() == 0
        pixels, note = _grey_transparency(stored, im, path, 255)
        return pixels, (None if mask else (0.0, 255.0)), [note] if note else []
    if mode == "1":  # 1-bit: PIL maps it to 0 and 255
        return np.asarray(im.convert("L"))[..., None], (0.0, 255.0), []
    has_alpha = mode in ("LA", "La", "RGBA", "RGBa", "PA") or "transparency" in im.info
    if not has_alpha:
        return np.asarray(im.convert("RGB")), (0.0, 255.0), []
    grey = mode in ("LA", "La")
    array = np.asarray(im.convert("LA" if grey else "RGBA"))  # (H, W, 2 or 4)
    colour, alpha = array[..., :-1], array[..., -1:]
    if alpha.min() == 255:
        return np.ascontiguousarray(colour), (0.0, 255.0), []
    # The background is the one the visible pixels stand out against: black for light ink, white for dark ink, whose
    # picture only the alpha channel holds (black on transparent, as signature pads and canvases save it, was blank
    # on black: an outside audit). The ink's brightness: its luminance, each pixel weighed by how visible it is.
    opacity = alpha.astype(np.float32) / 255
    brightness = colour.astype(np.float32) @ np.array(LUMINANCE if colour.shape[-1] == 3 else (1.0,), np.float32)
    seen = float(opacity.sum())
    white = seen > 0 and float((brightness[..., None] * opacity).sum()) / seen < 255 / 2
    background = 255.0 if white else 0.0
    composited = np.round(colour * opacity + background * (1 - opacity)).astype(np.uint8)
    return composited, (0.0, 255.0), [_composited_note(path, white, seen > 0)]


def _few_bits_note(path: Path, top: int) -> str:
    """16-bit pixels that never exceed 4095 read as all but black in [0, 65535] (audit 6: silent)."""
    return (
        f"{path}: read as 16-bit pixels in [0, 65535], but no value exceeds {top} (12 bits or "
        "fewer): 10- or 12-bit data saved in 16 bits? then declare --input-range 0,1023 or 0,4095"
    )


def _composited_note(path: Path, white: bool, any_visible: bool = True) -> str:
    why = "its visible pixels are mostly dark" if white else "its visible pixels are mostly light"
    return (
        f"{path} has transparent pixels; they were composited onto {'white' if white else 'black'}, as "
        + (why if any_visible else "none of its pixels is visible")
        + " (save it without an alpha channel or transparent colour to choose another background)"
    )


def _grey_transparency(pixels: np.ndarray, im, path: Path, white: int) -> tuple[np.ndarray, Optional[str]]:
    """A greyscale PNG's transparent value (tRNS) composited as RGB and palette PNGs' transparency is: it was ignored,
    so the same picture read as opposite pixels depending on how the PNG was stored (an outside audit). `white`: the
    light background, for visible pixels that are mostly dark."""
    value = im.info.get("transparency")
    if not isinstance(value, int) or isinstance(value, bool) or not (pixels == value).any():
        return pixels, None
    transparent = pixels == value
    visible = pixels[~transparent]
    onto_white = visible.size > 0 and float(visible.mean()) < white / 2
    background = white if onto_white else 0
    note = _composited_note(path, onto_white, visible.size > 0)
    return np.where(transparent, background, pixels).astype(pixels.dtype), note


def save_grid(images: torch.Tensor, path: str | os.PathLike, nrow: int = 8) -> None:
    """images: (N, C, H, W) in [-1, 1] -> a PNG grid with `nrow` images per row."""
    from torchvision.utils import save_image  # imported here: torchvision's import (its models, torch._dynamo) is
    # seconds of every command's start, and only pictures need it

    with atomic_path(path) as tmp:
        save_image(images.detach().float().cpu() * 0.5 + 0.5, tmp, nrow=nrow, padding=2, format="png")


def save_side_by_side(columns: list[torch.Tensor], path: str | os.PathLike, groups_per_row: int = 8) -> None:
    """Each image followed by its counterparts (e.g. original, reconstruction, refined), `groups_per_row` groups a row.

    columns: tensors (N, C, H, W) in [-1, 1], the same N.
    """
    groups = torch.stack([c.detach().cpu() for c in columns], dim=1).flatten(0, 1)  # (N * len(columns), C, H, W)
    save_grid(groups, path, nrow=len(columns) * groups_per_row)
