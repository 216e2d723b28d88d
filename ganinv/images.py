"""Pictures: reading one image file as its stored pixel values, and saving grids as PNG, atomically.

`read_image` keeps what the file says about its values: 8-bit images are [0, 255], 16-bit PNGs, PGMs and TIFFs with a
value above 255 [0, 65535]; float or 32-bit integer images have no range in the file and get `None`, to be
decided from their values (`ganinv.data`). Transparent pixels are composited onto black, or onto white for dark ink
kept in the alpha channel (one dark colour under every visible pixel), and only the first frame of an animation is
read; both are reported in the notes.
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
                scale = _jpeg_scale(im)
                if scale is None:
                    raise DataError(
                        f"image {path} is {width} x {height} pixels, more than ganinv reads "
                        f"({MAX_IMAGE_PIXELS} pixels); downscale it first"
                    )
                # a camera's 24 or 48 MP photo: the JPEG decoder reads it at 1/2, 1/4 or 1/8 scale, never whole
                # (such photos were refused: an outside audit)
                im.draft(im.mode, (-(-width // scale), -(-height // scale)))
                notes.append(
                    f"{path} is {width} x {height} pixels, more than ganinv decodes whole ({MAX_IMAGE_PIXELS} pixels): "
                    f"read at 1/{scale} scale ({im.size[0]} x {im.size[1]}) by the JPEG decoder"
                )
            frames = getattr(im, "n_frames", 1)
            if frames > 1:
                notes.append(f"{path} has {frames} frames; only the first is read")
            im.load()
            file_format = im.format  # before exif_transpose, whose copy has no format
            inverted = white_is_zero(im)  # nor TIFF tags
            im = ImageOps.exif_transpose(im)  # the orientation a viewer shows
            pixels, value_range, pixel_notes = _pixels(im, file_format, path, range_declared, inverted)
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


JPEG_SCALES = (2, 4, 8)  # what a JPEG decoder can reduce by as it decodes (PIL's draft)


def _jpeg_scale(im) -> Optional[int]:
    """The least scale at which a JPEG too large to decode whole is decoded within MAX_IMAGE_PIXELS; None for
    another format, or one still too large at 1/8."""
    if im.format not in ("JPEG", "MPO"):  # MPO: a camera's JPEG with an embedded preview (review 37a)
        return None
    width, height = im.size
    for scale in JPEG_SCALES:
        if -(-width // scale) * -(-height // scale) <= MAX_IMAGE_PIXELS:
            return scale
    return None


def _pixels(
    im, file_format: Optional[str], path: Path, range_declared: bool, inverted: Optional[tuple[int, ...]] = None
) -> tuple[np.ndarray, Optional[tuple[float, float]], list[str]]:
    """The decoded image -> (pixels (H, W, C), the range of its stored values or None, notes); `inverted`: the bits
    per sample of a WhiteIsZero TIFF (`white_is_zero`)."""
    mode = im.mode
    # a PNG holds at most 16 bits; PIL reads a PGM whose header says more than 255 as "I", rescaled to [0, 65535]
    if mode in SIXTEEN_BIT_MODES or (mode == "I" and file_format in ("PNG", "PPM")):
        stored = np.asarray(im).astype(np.uint16)[..., None]
        if inverted:  # PIL inverts 8-bit WhiteIsZero TIFFs, not 16-bit ones: read dark-on-light, inverted (an audit)
            stored = (np.uint16(2 ** min(inverted[0], 16) - 1) - stored).astype(np.uint16)
        # 8-bit values cast to 16 bits (what cv2 or PIL write for a uint8 array saved as uint16) would read as
        # near-black in [0, 65535]: with no value above 255 the file does not say its range (data.detect_range)
        top = int(stored.max()) if stored.size else 0
        value_range = (0.0, 65535.0) if top > 255 else None
        notes = [_few_bits_note(path, top)] if 255 < top <= TWELVE_BIT_MAX and not range_declared else []
        pixels, note = _grey_transparency(stored, im, path)  # range and bits are the stored values', before compositing
        return pixels, value_range, notes + ([note] if note else [])
    if mode in ("I", "F"):  # 32-bit integers or floats: nothing in the file says their range
        if inverted:  # of no known range, no value is white: refused, not read inverted (an outside audit)
            raise DataError(
                f"{path} stores {'floats' if mode == 'F' else '32-bit integers'} as WhiteIsZero (the TIFF's "
                "PhotometricInterpretation 0: low values are white), which ganinv cannot invert without their range; "
                "save it as BlackIsZero (or 8/16-bit) pixels"
            )
        return np.asarray(im)[..., None], None, []
    if mode == "L":
        stored = np.asarray(im)[..., None]
        # a 0/1 mask saved as 8-bit greyscale reads as all but black in [0, 255]; holding just 0s and 1s, the
        # file does not say which it is (refused as a uint8 tensor of 0s and 1s is, data.detect_range)
        mask = stored.size and stored.max() == 1 and stored.min() == 0
        pixels, note = _grey_transparency(stored, im, path)
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
    # Transparent pixels go onto black, but for a picture kept in the alpha channel alone (one colour under every
    # visible pixel, as canvases and signature pads save ink): onto the background that colour stands out against
    # (black ink on transparent was 16 blank images: an outside audit). Per-image brightness is no evidence: it turned
    # transparent padding around a white-on-black digit into a white frame, and faint digits' polarity (a review).
    seen = colour[alpha[..., 0] > 0]  # (V, C): the colours of the visible pixels
    # one colour marked transparent (a PNG's tRNS colour, a GIF's or palette's transparent index), not an alpha
    # channel: white so marked is the page a dark picture was drawn on, kept white, as a viewer shows it
    channel = mode in ("LA", "La", "RGBA", "RGBa", "PA") or (mode == "P" and isinstance(im.info["transparency"], bytes))
    if not channel and _white_key(im):  # dark-on-white with white marked transparent went onto black: dark with
        return np.ascontiguousarray(colour), (0.0, 255.0), [_white_key_note(path)]  # light rims (an outside audit)
    # any other transparency is an alpha, one bit or more: a dark drawing kept in it goes onto white as its RGBA
    # original does (a quantized one went onto black, blank: an outside audit; with one transparent index: a review)
    one_colour = seen.size > 0 and bool((seen.max(axis=0).astype(int) - seen.min(axis=0) <= 2).all())
    white = seen.size > 0 and _dark_drawing(colour, alpha[..., 0], grey, one_colour)
    light = channel and one_colour and not white and float(seen.astype(np.float32).mean()) >= 255 / 2
    background = 255.0 if white else 0.0
    weight = alpha.astype(np.float32) / 255
    composited = np.round(colour * weight + background * (1 - weight)).astype(np.uint8)
    return composited, (0.0, 255.0), [_composited_note(path, True if white else (False if light else None))]


def _dark_drawing(colour: np.ndarray, alpha: np.ndarray, grey: bool, one_colour: bool) -> bool:
    """Dark ink whose picture the alpha channel holds: its inked pixels (alpha at least half the most opaque one's) all
    dark, and either one colour or strokes: at least a fifth of the inked pixels beside an uninked one. Two dark pens,
    rims mixed with the white they were drawn on, or a faint pencil went onto black and vanished (outside audits); a
    picture with its own dark ground inside a transparent border, hard or feathered (a red digit on black, a dim
    photo), fills its region, and is no drawing kept in the alpha channel (reviews)."""
    ink = alpha >= max(int(alpha.max()) // 2, 1)  # (H, W)
    inked = colour[ink].astype(np.float32)  # (V, C)
    luminance = inked[:, 0] if grey else inked @ np.array([0.299, 0.587, 0.114], np.float32)
    if not inked.size or not bool((luminance < 255 / 2).all()):
        return False
    if one_colour:
        return True
    padded = np.pad(ink, 1)  # outside the image counts as uninked
    inside = padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]  # all four neighbours inked
    edge = float((ink & ~inside).sum()) / float(ink.sum())
    return edge >= 0.2


def white_is_zero(im) -> Optional[tuple[int, ...]]:
    """The bits per sample of a TIFF whose PhotometricInterpretation (tag 262) is 0, WhiteIsZero (scanners' and medical
    exports' greyscale); None for any other image."""
    tags = getattr(im, "tag_v2", None)
    if tags is None or tags.get(262) != 0:
        return None
    bits = tags.get(258, (16,))
    return tuple(int(b) for b in bits) if isinstance(bits, tuple) else (int(bits),)


def _few_bits_note(path: Path, top: int) -> str:
    """16-bit pixels that never exceed 4095 read as all but black in [0, 65535] (audit 6: silent)."""
    return (
        f"{path}: read as 16-bit pixels in [0, 65535], but no value exceeds {top} (12 bits or "
        "fewer): 10- or 12-bit data saved in 16 bits? then declare --input-range 0,1023 or 0,4095"
    )


def _composited_note(path: Path, onto_white: Optional[bool] = None) -> str:
    """`onto_white`: None for the usual compositing onto black, else the ink-in-alpha decision."""
    how = "onto black"
    if onto_white is not None:
        how = (
            "onto white, as every inked pixel is dark (a drawing kept in the alpha channel)"
            if onto_white
            else "onto black, as every visible pixel is one light colour (a picture kept in the alpha channel)"
        )
    return (
        f"{path} has transparent pixels; they were composited {how} "
        "(save it without an alpha channel or transparent colour to choose another background)"
    )


def _white_key(im) -> bool:
    """Whether an image's one transparent colour (a PNG's tRNS, a GIF's transparent index) is white: the ground a dark
    picture is drawn on, kept so, as a viewer shows it on a page."""
    key = im.info.get("transparency")
    if im.mode == "P" and isinstance(key, int) and not isinstance(key, bool):
        palette = im.getpalette() or []
        key = tuple(palette[3 * key : 3 * key + 3])
    return isinstance(key, tuple) and len(key) == 3 and all(isinstance(v, int) and v >= 255 for v in key)


def _white_key_note(path: Path) -> str:
    return (
        f"{path} marks white as its transparent colour: those pixels were kept white, as a viewer shows them on a "
        "page (other transparent colours are read as an alpha channel is; save it without a transparent colour to "
        "choose)"
    )


def _grey_transparency(pixels: np.ndarray, im, path: Path) -> tuple[np.ndarray, Optional[str]]:
    """A greyscale PNG's transparent value (tRNS) composited as RGB and palette PNGs' transparent colour is (onto
    black, white kept white): it was ignored, so the same picture read as opposite pixels depending on how the PNG
    was stored (an outside audit)."""
    value = im.info.get("transparency")
    if not isinstance(value, int) or isinstance(value, bool) or not (pixels == value).any():
        return pixels, None
    if value == (65535 if pixels.dtype == np.uint16 else 255):
        return pixels, _white_key_note(path)
    return np.where(pixels == value, 0, pixels).astype(pixels.dtype), _composited_note(path)


def save_grid(images: torch.Tensor, path: str | os.PathLike, nrow: int = 8) -> None:
    """images: (N, C, H, W) in [-1, 1] -> a PNG grid with `nrow` images per row, marked as ganinv's (its "Software"
    text chunk: an earlier grid, which a rerun may replace, `ganinv.outputs`)."""
    # torchvision imported here: its import (its models, torch._dynamo) is seconds of every command's start, and only
    # pictures need it
    from PIL import Image, PngImagePlugin
    from torchvision.utils import make_grid

    from ganinv.outputs import MADE_BY

    grid = make_grid(images.detach().float().cpu() * 0.5 + 0.5, nrow=nrow, padding=2)  # (3, H', W') in [0, 1]
    pixels = grid.mul(255).add_(0.5).clamp_(0, 255).permute(1, 2, 0).to(torch.uint8).numpy()  # as save_image rounds
    marked = PngImagePlugin.PngInfo()
    marked.add_text("Software", MADE_BY)
    with atomic_path(path) as tmp:
        Image.fromarray(pixels).save(tmp, format="png", pnginfo=marked)


def save_side_by_side(columns: list[torch.Tensor], path: str | os.PathLike, groups_per_row: int = 8) -> None:
    """Each image followed by its counterparts (e.g. original, reconstruction, refined), `groups_per_row` groups a row.

    columns: tensors (N, C, H, W) in [-1, 1], the same N.
    """
    groups = torch.stack([c.detach().cpu() for c in columns], dim=1).flatten(0, 1)  # (N * len(columns), C, H, W)
    save_grid(groups, path, nrow=len(columns) * groups_per_row)
