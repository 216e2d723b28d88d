"""The generator contract as data: `GeneratorSpec` and `Latents` (docs/algorithms.md §1).

Whatever a generator's origin, ganinv sees it through a spec: the size of its noise
vector `z`, of its continuous codes `c`, of its categorical code `d`, how its native
latent is distributed and shaped, and what range its images come out in. The spec is
saved as JSON with every artifact, so an inverter always knows the latent space it was
fitted to.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any, Literal, Optional

import torch

from ganinv.atomic import parse_json

Prior = Literal["normal", "uniform", "truncated_normal"]
PRIORS = ("normal", "uniform", "truncated_normal")


@dataclass(frozen=True)
class GeneratorSpec:
    nz: int  # size of the noise vector z (always present)
    image_shape: tuple[int, int, int]  # (C, H, W) of the images G produces
    nc: int = 0  # continuous codes c, prior N(0, I) after standardisation
    n_classes: int = 0  # K, categories of the categorical code d (0: no d)
    native_prior: Prior = "normal"  # how the native generator's z is distributed
    # "uniform": U(a, b); "truncated_normal": N(0, 1) truncated to [a, b] (BigGAN: (-2, 2)); unused for "normal"
    native_prior_range: tuple[float, float] = (-1.0, 1.0)
    native_prior_scale: float = 1.0  # the native z is this times a draw of the prior (BigGAN's truncation)
    native_latent_shape: Optional[tuple[int, ...]] = None  # e.g. (nz, 1, 1); None means (nz,)
    native_output_range: tuple[float, float] = (-1.0, 1.0)  # e.g. (0, 1) or (0, 255)
    differentiable_codes: bool = True  # False: d enters through integer labels only
    # "bgr": the generator draws blue, green, red (trained on OpenCV's images); its images are turned to RGB
    native_channel_order: str = "rgb"

    def __post_init__(self) -> None:
        for name in ("nz", "nc", "n_classes"):  # a config.json is data: "62" or 62.5 is no size (an outside audit)
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"spec field {name} must be a whole number, got {value!r}")
        for name in ("image_shape", "native_latent_shape"):
            value = getattr(self, name)
            if value is not None and (
                not isinstance(value, (list, tuple))
                or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value)
            ):
                raise ValueError(f"spec field {name} must be a list of positive whole numbers, got {value!r}")
        for name in ("native_prior_range", "native_output_range"):  # "05" would be iterated into (0, 5)
            value = getattr(self, name)
            if not isinstance(value, (list, tuple)) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in value
            ):
                raise ValueError(f"spec field {name} must be a list of two numbers, got {value!r}")
        if not isinstance(self.differentiable_codes, bool):  # a truthy "false" was kept (an outside audit)
            raise ValueError(
                f"spec field differentiable_codes must be true or false, got {self.differentiable_codes!r}"
            )
        # JSON gives lists; keep tuples so specs compare and hash.
        object.__setattr__(self, "image_shape", tuple(int(v) for v in self.image_shape))
        object.__setattr__(self, "native_prior_range", tuple(float(v) for v in self.native_prior_range))
        object.__setattr__(self, "native_output_range", tuple(float(v) for v in self.native_output_range))
        if self.native_latent_shape is not None:
            object.__setattr__(self, "native_latent_shape", tuple(int(v) for v in self.native_latent_shape))
        if self.nz < 1 or self.nc < 0 or self.n_classes < 0 or self.n_classes == 1:
            raise ValueError(f"invalid latent sizes nz={self.nz} nc={self.nc} n_classes={self.n_classes}")
        # a spec file is data: an 18-byte sidecar's nz of 1e8 was drawn (9 GB) before the net refused it (an outside
        # audit); these bounds are far above any generator's
        for name, value, most in (
            ("nz", self.nz, MAX_LATENT),
            ("nc", self.nc, MAX_LATENT),
            ("n_classes", self.n_classes, MAX_LATENT),
            ("image_shape", math.prod(self.image_shape), MAX_IMAGE_VALUES),
        ):
            if value > most:
                raise ValueError(f"spec field {name} holds {value:,} values, more than any generator's ({most:,})")
        conflict = latent_shape_conflict(self.nz, self.native_latent_shape)
        if conflict:  # z (N, nz) is reshaped to (N, *native_latent_shape): it failed later, generically (audit 30b 7e)
            raise ValueError(conflict)
        if len(self.image_shape) != 3:
            raise ValueError(f"image_shape must be (C, H, W), got {self.image_shape}")
        object.__setattr__(self, "native_prior_scale", float(self.native_prior_scale))
        if self.native_prior not in PRIORS:
            raise ValueError(f"native_prior must be one of {', '.join(PRIORS)}, got {self.native_prior!r}")
        lo, hi = self.native_prior_range
        if self.native_prior != "normal" and not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ValueError(f"native_prior_range must be finite bounds lo < hi, got {self.native_prior_range}")
        out_lo, out_hi = self.native_output_range if len(self.native_output_range) == 2 else (math.nan, math.nan)
        if not (math.isfinite(out_lo) and math.isfinite(out_hi) and out_lo < out_hi):
            raise ValueError(
                f"native_output_range must be two finite bounds lo < hi, got {self.native_output_range} (e.g. 0,1 for "
                "a Sigmoid generator, -1,1 for a Tanh one)"
            )
        if self.native_channel_order not in ("rgb", "bgr") or (
            self.native_channel_order == "bgr" and self.image_shape[0] != 3
        ):
            raise ValueError(
                f"native_channel_order must be rgb or bgr (bgr for 3-channel images), got {self.native_channel_order!r}"
            )
        if not (math.isfinite(self.native_prior_scale) and self.native_prior_scale > 0):
            raise ValueError(f"native_prior_scale must be a positive number, got {self.native_prior_scale}")

    @property
    def has_codes(self) -> bool:
        return self.nc > 0 or self.n_classes > 0

    @property
    def image_dim(self) -> int:
        c, h, w = self.image_shape
        return c * h * w

    def replace(self, **changes: Any) -> "GeneratorSpec":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "GeneratorSpec":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown generator spec fields {unknown}; known: {sorted(known)}")
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text: str) -> "GeneratorSpec":
        return cls.from_dict(parse_json(text))


MAX_LATENT = 1 << 20  # values of z, c or d: a latent noise map of 4 x 512 x 512
MAX_IMAGE_VALUES = 1 << 26  # values of one image: 4 x 4096 x 4096


def latent_shape_conflict(nz: Any, shape: Any) -> Optional[str]:
    """Why nz and the native latent shape disagree (the shape must hold nz values: z (N, nz) is reshaped to it), or
    None: `--nz 8 --latent-shape 4,1,1` failed only when the generator ran, with "check --nz and --latent-shape"."""
    if nz is None or not shape:
        return None
    size = math.prod(int(v) for v in shape)
    if size == int(nz):
        return None
    text = ",".join(str(int(v)) for v in shape)
    return (
        f"nz {nz} and latent shape {text} disagree: that shape holds {size} values, not {nz}; give a latent shape "
        "that holds nz values (e.g. --latent-shape nz,1,1)"
    )


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


@dataclass
class Latents:
    """The inputs `u = (z, c, d)` of a generator, in ganinv's standardised space.

    `z` (N, nz) and `c` (N, nc) are standard normal; `d` (N, K) is a one-hot or a relaxed
    (soft) one-hot vector. Absent parts are None.
    """

    z: torch.Tensor  # (N, nz)
    c: Optional[torch.Tensor] = None  # (N, nc)
    d: Optional[torch.Tensor] = None  # (N, K)
    _names: tuple[str, ...] = field(default=("z", "c", "d"), init=False, repr=False)

    def __len__(self) -> int:
        return self.z.shape[0]

    def parts(self) -> dict[str, torch.Tensor]:
        return {k: getattr(self, k) for k in self._names if getattr(self, k) is not None}

    def map(self, fn) -> "Latents":
        parts: dict[str, Any] = {
            k: (fn(v) if v is not None else None) for k, v in ((n, getattr(self, n)) for n in self._names)
        }
        return Latents(**parts)

    def to(self, *args, **kwargs) -> "Latents":
        return self.map(lambda t: t.to(*args, **kwargs))

    def detach(self) -> "Latents":
        return self.map(lambda t: t.detach())

    def __getitem__(self, index) -> "Latents":
        return self.map(lambda t: t[index])

    @staticmethod
    def cat(items: list["Latents"]) -> "Latents":
        first = items[0]
        parts: dict[str, Any] = {
            n: (torch.cat([getattr(i, n) for i in items]) if getattr(first, n) is not None else None)
            for n in first._names
        }
        return Latents(**parts)

    def flat(self) -> torch.Tensor:
        """All parts side by side, (N, nz + nc + K)."""
        return torch.cat(list(self.parts().values()), dim=1)
