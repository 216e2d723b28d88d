"""Features of images for downstream classifiers (SPEC section 4; MVAE Sec. V-F).

The features of an image are the encoder means: `mu_z`, then `mu_c` and `softmax(logits_d)`
when the generator has codes (`Posterior.features()`), one row per image. Raw pixels can be
written in the same format, as the baseline any learned feature must beat.

A `FeatureSet` keeps the labels and file names of its images where the input had them, and
a `layout` naming its column blocks in order (`{"z": 64, "c": 2, "d": 10}` or
`{"pixels": 784}`), so `part("d")` finds the code posterior for cluster accuracy. Files are
safetensors (`features`, `labels`; names, layout and provenance in the header) or `.npz`.
"""

from __future__ import annotations

import json
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from tqdm import tqdm

from ganinv.atomic import atomic_path
from ganinv.data import ImageSet
from ganinv.errors import DataError
from ganinv.inverter import Inverter
from ganinv.mvae.model import MVAE
from ganinv.spec import GeneratorSpec

FORMAT = "ganinv-features"
HEADER_KEYS = ("format", "layout", "names", "classes", "meta")  # JSON values beside the arrays


@dataclass
class FeatureSet:
    features: torch.Tensor  # (N, F) float32
    labels: Optional[torch.Tensor] = None  # (N,) int64
    names: list[str] = field(default_factory=list)  # file names, where the images had them
    layout: dict[str, int] = field(default_factory=dict)  # column blocks in order, e.g. {"z": 64, "d": 10}
    classes: list[str] = field(default_factory=list)  # class names, label i is classes[i]
    meta: dict = field(default_factory=dict)  # provenance: inverter, images, split

    def __len__(self) -> int:
        return self.features.shape[0]

    def part(self, name: str) -> torch.Tensor:
        """The columns of one block of the layout, (N, width)."""
        start = 0
        for block, width in self.layout.items():
            if block == name:
                return self.features[:, start:start + width]
            start += width
        raise KeyError(name)


def feature_layout(spec: GeneratorSpec) -> dict[str, int]:
    """The column blocks of `Posterior.features()`: z, then c and d when present."""
    sizes = {"z": spec.nz, "c": spec.nc, "d": spec.n_classes}
    return {name: size for name, size in sizes.items() if size}


@torch.no_grad()
def inverter_features(inverter: Inverter | MVAE, images: ImageSet, *, batch_size: int = 256,
                      progress: bool = True) -> FeatureSet:
    """Encoder means of every image, batched on the inverter's device (SPEC section 4); for an MVAE,
    every component's mu_i.

    The images must already have the generator's shape (`ganinv.data.fit_to_shape`).
    """
    x = images.images  # (N, C, H, W) in [-1, 1]
    if isinstance(inverter, MVAE):
        image_shape, layout = inverter.image_shape, inverter.feature_layout()
    else:
        image_shape, layout = inverter.spec.image_shape, feature_layout(inverter.spec)
    if len(images) == 0:
        raise DataError("no images to encode")
    if tuple(x.shape[1:]) != image_shape:
        raise DataError(f"images of shape {tuple(x.shape[1:])} do not fit the inverter's "
                        f"{image_shape}; convert them with ganinv.data.fit_to_shape")
    device = inverter.device
    rows = []
    with tqdm(total=len(images), unit="img", desc="features", file=sys.stderr, disable=not progress) as bar:
        for start in range(0, len(images), batch_size):
            batch = x[start:start + batch_size].to(device, non_blocking=True)
            rows.append(inverter.encode(batch).features().float())  # (B, F), stays on the device
            bar.update(batch.shape[0])
    return FeatureSet(torch.cat(rows).cpu(), images.labels, list(images.names), layout, list(images.classes))


def pixel_features(images: ImageSet) -> FeatureSet:
    """Raw pixels in [-1, 1] as features, (N, C*H*W): the baseline."""
    x = images.images.flatten(1).float()
    return FeatureSet(x, images.labels, list(images.names), {"pixels": x.shape[1]}, list(images.classes))


# ---- files -----------------------------------------------------------------------------------
def save_features(features: FeatureSet, path: str | Path) -> Path:
    """Write safetensors, or `.npz` when `path` ends in `.npz`; atomically."""
    path = Path(path)
    header = {"format": FORMAT, "layout": features.layout, "names": features.names,
              "classes": features.classes, "meta": features.meta}  # the HEADER_KEYS
    with atomic_path(path) as tmp:
        if path.suffix == ".npz":
            arrays = {"features": features.features.numpy(), "header": np.array(json.dumps(header))}
            if features.labels is not None:
                arrays["labels"] = features.labels.numpy()
            with open(tmp, "wb") as fh:
                np.savez(fh, **arrays)
        else:
            tensors = {"features": features.features.contiguous()}
            if features.labels is not None:
                tensors["labels"] = features.labels.contiguous()
            save_file(tensors, str(tmp), metadata={key: json.dumps(value) for key, value in header.items()})
    return path


def load_features(path: str | Path) -> FeatureSet:
    """Read a file written by `save_features` (or any safetensors/npz with a `features` array)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} does not exist; write one with `ganinv features ... --out {path}`")
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as data:
                tensors = {key: torch.from_numpy(data[key]) for key in data.files if key != "header"}
                header = json.loads(str(data["header"])) if "header" in data.files else {}
        else:
            tensors = load_file(str(path))
            with safe_open(str(path), framework="pt") as fh:
                header = {key: json.loads(value) for key, value in (fh.metadata() or {}).items() if key in HEADER_KEYS}
    except (OSError, ValueError, zipfile.BadZipFile, SafetensorError) as exc:  # a corrupt or foreign file
        raise DataError(f"cannot read features from {path}: {str(exc).splitlines()[0]}") from None
    if "features" not in tensors or tensors["features"].dim() != 2:
        raise DataError(f"{path} has no 2-D 'features' array (found {sorted(tensors)})")
    features = tensors["features"].float()
    labels = tensors.get("labels")
    return FeatureSet(features, None if labels is None else labels.long(), header.get("names", []),
                      header.get("layout") or {"features": features.shape[1]}, header.get("classes", []),
                      header.get("meta", {}))
