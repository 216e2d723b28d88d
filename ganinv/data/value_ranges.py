"""The range of stored pixel values, decided from evidence or declared (`--input-range LO,HI`), and the
conversion to [0, 1]: 8-bit, 16-bit, [0, 1], [-1, 1] and [0, 255] floats; NaN and infinite pixels refused.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch

from ganinv.errors import DataError
from ganinv.images import TWELVE_BIT_MAX

OVERSHOOT = 1e-3  # on the [-1, 1] scale: rounding beyond a range's ends that is clamped, not refused


UNIT_UNDERSHOOT = 0.05  # floats in [-0.05, 1]: [0, 1] images whose resampling or noise dipped below 0, not [-1, 1] ones


# Floats reaching above 1 by this much, and below 0 by as much: [0, 1] images a bicubic or Lanczos resampling overshot
# at sharp edges (MNIST digits resized to 32 x 32: [-0.17, 1.2]); no other range holds values above 1 and under 2,
# and they were refused, the range the error then advised shifting every pixel (an outside audit, 55b)
RESAMPLING_OVERSHOOT = 0.3


EXACT_IN_FLOAT32 = {torch.bool, torch.uint8, torch.int8, torch.int16, torch.uint16, torch.float32}


ValueRange = tuple[float, float]


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
        lo, hi = (int(v) for v in value_span(x))
        if x.dtype == torch.uint16 and hi > 255:
            fewer_bits = " (12 bits or fewer: 10- or 12-bit data? e.g. 0,4095)" if hi <= TWELVE_BIT_MAX else ""
            return (0.0, 65535.0), (
                f"reading {source} as 16-bit pixels in [0, 65535] (uint16 values in "
                f"[{lo}, {hi}]); declare --input-range LO,HI if they use another range{fewer_bits}"
            )
        # signed values (a CT scan's 16 bits: an outside audit) fit neither 0,255 nor 0,65535: their own span is offered
        example = f"{lo},{hi}, the values' own span" if lo < 0 else "0,255 or 0,65535"
        raise DataError(
            f"{source}: {str(x.dtype).removeprefix('torch.')} values in [{lo}, {hi}] have no "
            f"known pixel range; declare it with --input-range LO,HI (e.g. {example}) "
            "or save the images as uint8"
        )
    lo, hi = float(x.min()), float(x.max())
    slack = OVERSHOOT / 2  # on a range of width 2
    overshoot = (lo < 0 or hi > 1 + slack) and -UNIT_UNDERSHOOT <= lo and hi <= 1 + UNIT_UNDERSHOOT
    # both sides, as a resampling's ringing does: [0, 1.1] alone may be a black image's 8-bit values
    overshoot = overshoot or (1 + slack < hi <= 1 + RESAMPLING_OVERSHOOT and -RESAMPLING_OVERSHOOT <= lo < -slack)
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
    x: torch.Tensor,
    source: str,
    known: Optional[ValueRange] = None,
    declared: Optional[ValueRange] = None,
    keep: Optional[int] = None,
) -> tuple[torch.Tensor, Optional[str]]:
    """Stored pixel values x (N, ...) -> float32 in [-1, 1], with a note when the range was assumed.

    `declared` (the user's) wins over `known` (the file format's), which wins over the values. `keep`: only the first
    `keep` images are converted, the range still read from all, so that `--limit N` gives the same N images' values
    with or without it (an array of 400k images converted whole for 10 of them took 2.6 GB: an outside audit, 55b).
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
    scaled = (x[:keep].to(exact) - lo) * (2 / (hi - lo)) - 1
    return scaled.float().clamp_(-1, 1), note  # values were checked: clamping removes only rounding


def _check_within(x: torch.Tensor, source: str, value_range: ValueRange) -> None:
    lo, hi = value_range
    slack = OVERSHOOT / 2 * (hi - lo)
    seen_lo, seen_hi = value_span(x)
    if lo - slack <= seen_lo and seen_hi <= hi + slack:
        return
    values = x if x.is_floating_point() else x.to(torch.float64)
    outside = int(((values < lo - slack) | (values > hi + slack)).sum())
    if outside:
        raise DataError(
            f"{source}: {outside} of {values.numel()} values lie outside the declared input range "
            f"{_format_range(value_range)} (seen [{seen_lo:g}, {seen_hi:g}]); "
            "declare the range the file uses with --input-range LO,HI"
        )


SPAN_CHUNK = 1 << 22  # values widened to 64 bits at a time: 32 MiB, where the whole array widened cost 8x its size


def value_span(x: torch.Tensor) -> tuple[float, float]:
    """(min, max) of x's values, any dtype (uint16 and uint32 have no min in torch), widened a chunk of images at a
    time; split along the first axis, an array read channels-last (a permuted view) is not copied whole to flatten."""
    if x.dim() == 0:
        x = x[None]
    rows = max(1, SPAN_CHUNK // max(1, x[0].numel()))
    wide = torch.float64 if x.is_floating_point() else torch.int64
    spans = [(chunk.to(wide).min(), chunk.to(wide).max()) for chunk in x.split(rows)]
    return float(min(lo for lo, _ in spans)), float(max(hi for _, hi in spans))
