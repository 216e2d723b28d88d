"""Features of images for downstream classifiers (docs/algorithms.md §4; MVAE Sec. V-F).

The features of an image are the encoder means: `mu_z`, then `mu_c` and `softmax(logits_d)`
when the generator has codes (`Posterior.features()`), one row per image. Raw pixels can be
written in the same format, as the baseline any learned feature must beat.

A `FeatureSet` keeps the labels and file names of its images where the input had them, and
a `layout` naming its column blocks in order (`{"z": 64, "c": 2, "d": 10}` or
`{"pixels": 784}`), so `part("d")` finds the code posterior for cluster accuracy. Files are
safetensors (`features`, `labels`; names, layout and provenance in the header) or `.npz`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import sys
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from tqdm import tqdm

from ganinv.atomic import atomic_path, parse_json
from ganinv.data import (
    IMAGE_SUFFIXES,
    OVERSHOOT,
    ImageSet,
    check_array_headers,
    check_label_range,
    one_column_flattened,
    torch_ready,
)
from ganinv.errors import DataError
from ganinv.inverter import Inverter
from ganinv.mvae.model import MVAE
from ganinv.polarity import warn_if_inverted

logger = logging.getLogger("ganinv")

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
                return self.features[:, start : start + width]
            start += width
        raise KeyError(name)


@torch.no_grad()
def inverter_features(
    inverter: Inverter | MVAE, images: ImageSet, *, batch_size: int = 256, progress: bool = True
) -> FeatureSet:
    """Encoder means of every image, batched on the inverter's device (docs/algorithms.md §4); for an MVAE,
    every component's mu_i.

    The images must already have the generator's shape (`ganinv.data.fit_to_shape`).
    """
    x = images.images  # (N, C, H, W) in [-1, 1]
    image_shape, layout = tuple(inverter.image_shape), inverter.feature_layout()  # the model says its layout
    if len(images) == 0:
        raise DataError("no images to encode")
    if tuple(x.shape[1:]) != image_shape:
        raise DataError(
            f"images of shape {tuple(x.shape[1:])} do not fit the inverter's "
            f"{image_shape}; convert them with ganinv.data.fit_to_shape"
        )
    lo, hi = float(x.min()), float(x.max())  # one pass each over the images, not two
    if not x.is_floating_point() or lo < -1 - OVERSHOOT or hi > 1 + OVERSHOOT:
        shown = f"{str(x.dtype).removeprefix('torch.')} values in [{lo:g}, {hi:g}]"
        raise DataError(  # an ImageSet built by hand from [0, 255] or uint8 pixels gave other features in silence
            f"the ImageSet holds {shown}, not floats in [-1, 1]: build it with ganinv.data.load_images, or convert a "
            "tensor with ganinv.data.as_model_images, which read the range"
        )
    warn_if_inverted(inverter, x)
    device = inverter.device
    rows = []
    with tqdm(total=len(images), unit="img", desc="features", file=sys.stderr, disable=not progress) as bar:
        for start in range(0, len(images), batch_size):
            batch = x[start : start + batch_size].to(device, non_blocking=True)
            encode = inverter.encode_model_images  # Inverter and MVAE: images already read into [-1, 1]
            rows.append(encode(batch).features().float())  # (B, F), stays on the device
            bar.update(batch.shape[0])
    return FeatureSet(torch.cat(rows).cpu(), images.labels, list(images.names), layout, list(images.classes))


def pixel_features(images: ImageSet) -> FeatureSet:
    """Raw pixels in [-1, 1] as features, (N, C*H*W): the baseline."""
    if len(images) == 0:
        raise DataError("no images to take pixels from; give at least one image")
    x = images.images.flatten(1).float()
    return FeatureSet(x, images.labels, list(images.names), {"pixels": x.shape[1]}, list(images.classes))


# ---- files -----------------------------------------------------------------------------------
FEATURE_SUFFIXES = (".safetensors", ".npz")  # the two formats save_features writes


def save_features(features: FeatureSet, path: str | Path) -> Path:
    """Write safetensors, or `.npz` when `path` ends in `.npz`; atomically."""
    path = Path(path)
    header = {
        "format": FORMAT,
        "layout": features.layout,
        "names": features.names,
        "classes": features.classes,
        "meta": features.meta,
    }  # the HEADER_KEYS
    with atomic_path(path) as tmp:
        if path.suffix == ".npz":
            arrays: dict[str, Any] = {"features": features.features.numpy(), "header": np.array(json.dumps(header))}
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


def _not_features(path: Path) -> Optional[str]:
    """What an image file or .npy array given as features is, by its suffix or numpy's magic bytes; None for anything
    else. An image array was answered "header too large; is it complete?", as if a features file were damaged (an
    outside audit)."""
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return "an image file"
    readers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
    with open(path, "rb") as fh:
        if fh.read(6) != b"\x93NUMPY":
            return None
        fh.seek(0)
        try:
            shape = readers[np.lib.format.read_magic(fh)](fh)[0]
        except (ValueError, KeyError, OSError):  # a damaged or unknown header: the shape goes unsaid
            return "a numpy array (.npy)"
    return f"a numpy array (.npy) of shape {tuple(shape)}"


def load_features(path: str | Path) -> FeatureSet:
    """Read a file written by `save_features` (or any safetensors/npz with a `features` array).

    Refuses, naming the file: a file that cannot be parsed, no 2-D `features` array, no rows,
    NaN or infinite features, labels that are not one whole number per row, and a layout whose
    blocks do not add up to the columns.
    """
    if not str(path).strip():  # Path("") is the current folder, which has no name to suggest a file beside
        raise DataError("the features file's path is empty; give a file written by `ganinv features ... --out FILE`")
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path} does not exist; write one with `ganinv features ... --out {path}`")
    # the file is the user's (images, perhaps): never suggest writing over it
    write_hint = f"write one with `ganinv features ... --out {path.with_name(path.stem + '-features.safetensors')}`"
    if not path.is_file():
        raise DataError(
            f"{path} is not a regular file (a folder, FIFO or device); give a features file, or {write_hint}"
        )
    foreign = _not_features(path)
    if foreign:
        raise DataError(
            f"{path} is {foreign}, not a features file (the .safetensors or .npz that `ganinv features` writes); if it "
            f"holds images, write their features with `ganinv features --inverter INVERTER {path} --out "
            f"{path.with_name(path.stem + '-features.safetensors')}` (with their labels: class folders, or an .npz "
            "of images=... and labels=...)"
        )
    try:
        if path.suffix == ".npz":
            check_array_headers(path)  # a few MB that would inflate to gigabytes are refused unread
            with np.load(path, allow_pickle=False) as data:
                tensors = {key: torch.from_numpy(torch_ready(data[key])) for key in data.files if key != "header"}
                header = parse_json(str(data["header"])) if "header" in data.files else {}
        else:
            tensors = load_file(str(path))
            with safe_open(str(path), framework="pt") as fh:
                header = {key: parse_json(value) for key, value in (fh.metadata() or {}).items() if key in HEADER_KEYS}
    except (OSError, ValueError, TypeError, zipfile.BadZipFile, SafetensorError) as exc:  # corrupt or foreign
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(
            f"cannot read features from {path} ({reason}); is it complete? {write_hint[0].upper() + write_hint[1:]}"
        ) from None
    if not isinstance(header, dict):
        header = {}
    if "features" not in tensors or tensors["features"].dim() != 2:
        found = {key: tuple(t.shape) for key, t in tensors.items()}
        raise DataError(f"{path} has no 2-D 'features' array (rows x columns; found {found}); {write_hint}")
    if not (tensors["features"].is_floating_point() or tensors["features"].dtype in INTEGER_DTYPES):
        raise DataError(f"{path}: 'features' holds {tensors['features'].dtype} values, not numbers; {write_hint}")
    features = tensors["features"].float()
    if features.shape[0] == 0:
        raise DataError(f"{path} holds no rows; extract features of at least one image ({write_hint})")
    bad_rows = (~torch.isfinite(features)).any(dim=1).nonzero().flatten()
    if len(bad_rows):
        raise DataError(
            f"{path}: {len(bad_rows)} row(s) hold NaN or infinite features (first: row "
            f"{bad_rows[0].item()}); extract them again from finite images, or drop those rows"
        )
    labels = _checked_labels(tensors.get("labels"), features.shape[0], path)
    layout = header.get("layout") or {"features": features.shape[1]}
    if (
        not isinstance(layout, dict)
        or not all(isinstance(w, int) and w > 0 for w in layout.values())
        or sum(layout.values()) != features.shape[1]
    ):
        raise DataError(
            f"{path}: its layout {layout} does not describe its {features.shape[1]} feature columns; {write_hint}"
        )
    names = header.get("names", [])
    classes = header.get("classes", []) if isinstance(header.get("classes"), list) else []
    check_classes(labels, classes, path)
    return FeatureSet(
        features,
        labels,
        names if isinstance(names, list) else [],
        layout,
        classes,
        header.get("meta", {}) if isinstance(header.get("meta"), dict) else {},
    )


def check_classes(labels: Optional[torch.Tensor], classes: list, path: Path) -> None:
    """A file that names its classes: each label must index one, and each name must be one class."""
    if not classes:
        return
    twice = sorted(name for name, count in Counter(map(str, classes)).items() if count > 1)
    if twice:
        raise DataError(f"{path}: its class names repeat ({', '.join(twice)}); extract the features again")
    if labels is not None and len(labels) and (int(labels.min()) < 0 or int(labels.max()) >= len(classes)):
        raise DataError(
            f"{path}: labels run from {int(labels.min())} to {int(labels.max())} but it names {len(classes)} classes "
            f"(labels 0 to {len(classes) - 1}); extract the features again"
        )


INTEGER_DTYPES = (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64, torch.bool)


def _checked_labels(labels: Optional[torch.Tensor], rows: int, path: Path) -> Optional[torch.Tensor]:
    """One whole-number label per row, as int64 (N,); None stays None."""
    if labels is None:
        return None
    labels = one_column_flattened(labels, rows)
    if labels.dim() != 1 or labels.shape[0] != rows:
        raise DataError(
            f"{path}: 'labels' has shape {tuple(labels.shape)} for {rows} feature rows; it needs one "
            "label per row: extract features and labels together with `ganinv features`"
        )
    if labels.is_floating_point():
        if not torch.isfinite(labels).all() or not torch.equal(labels, labels.round()):
            raise DataError(
                f"{path}: 'labels' holds fractional or non-finite values; labels must be whole class "
                "numbers (0, 1, 2, ...)"
            )
    elif labels.dtype not in INTEGER_DTYPES:
        raise DataError(f"{path}: 'labels' holds {labels.dtype} values; labels must be whole class numbers")
    check_label_range(labels, path)  # negative ones were taken, and 1e20 wrapped to a negative one (an outside audit)
    return labels.long()


def model_sha256(model: torch.nn.Module) -> str:
    """A fingerprint of a model's weights: features from two models are columns with different meanings."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def extraction_remedy(train: FeatureSet, test: FeatureSet) -> str:
    """How to make two feature sets comparable: raw pixels of two image shapes were told to use "the same inverter",
    where none was used (an outside audit, 57c)."""
    if "pixels" in train.layout and "pixels" in test.layout:
        return (
            "raw pixels of images of two shapes (grey and colour, or two sizes): extract both from images of one "
            "shape, or both with one inverter (which converts both to its generator's shape)"
        )
    return "extract both with the same inverter"


def labels_in_train_terms(train: FeatureSet, test: FeatureSet) -> torch.Tensor:
    """The test labels as indices of the train classes, refusing what a classifier trained on `train` cannot be scored
    on: features of another model or layout, classes named differently, labels the train features never show."""
    assert train.labels is not None and test.labels is not None, "labelled features"
    if list(train.layout.items()) != list(test.layout.items()) and train.layout and test.layout:  # order matters
        raise DataError(
            f"the train features are {train.layout}, the test features {test.layout}; {extraction_remedy(train, test)}"
        )
    models = [f.meta.get("model_sha256") for f in (train, test)]
    if all(models) and models[0] != models[1]:
        raise DataError(
            f"the train features come from {train.meta.get('inverter') or train.meta.get('mvae')} and the test "
            f"features from {test.meta.get('inverter') or test.meta.get('mvae')}, models with different weights "
            "(their columns mean different things); extract both with the same inverter"
        )
    labels = test.labels
    if bool(train.classes) != bool(test.classes):
        labels = _labels_where_one_side_names_classes(train, test)
    if train.classes and test.classes and train.classes != test.classes:
        unknown = sorted(set(test.classes) - set(train.classes))
        if unknown:
            raise DataError(
                f"the test classes {unknown} are not among the train classes {train.classes}; a classifier trained on "
                "them cannot predict those: use the same class folders for both"
            )
        labels = torch.tensor([train.classes.index(test.classes[i]) for i in test.labels.tolist()], dtype=torch.int64)
    unseen = sorted(set(labels.tolist()) - set(train.labels.tolist()))
    if unseen:
        raise DataError(
            f"test labels {unseen[:10]} never occur in the train features, so no classifier can predict them; "
            "train on features that hold every class (a larger --limit, or the same classes)"
        )
    return labels


def _class_numbers(classes: list) -> Optional[list[int]]:
    """Class names that are all whole numbers written plainly ("3", "7": digit folders) as those numbers, else None."""
    numbers = [int(name) if re.fullmatch(r"[0-9]{1,10}", str(name)) else None for name in classes]
    if None in numbers or len(set(numbers)) < len(numbers):  # "1" and "01" would be one class: no reading
        return None  # (zero-padded folders, 00/ 01/, are read as their numbers: an outside review)
    return [n for n in numbers if n is not None]


def _labels_where_one_side_names_classes(train: FeatureSet, test: FeatureSet) -> torch.Tensor:
    """The test labels in train terms when only one file names its classes: its labels are indices of those names,
    the other's are bare numbers. Compared as they are, test folders 3/ and 7/ (indices 0, 1) were scored as digits
    0 and 1 (an outside audit: 0% accuracy, no word). Names that are whole numbers are read as those numbers, with a
    warning where that changes a label; other names cannot be matched to bare numbers and are refused."""
    assert train.labels is not None and test.labels is not None, "labelled features"
    named, bare = ("test", "train") if test.classes else ("train", "test")
    classes = test.classes or train.classes
    numbers = _class_numbers(classes)
    listed = ", ".join(map(str, classes[:5])) + (", ..." if len(classes) > 5 else "")
    if numbers is None:
        raise DataError(
            f"the {named} features name their classes ({listed}) and label rows by their index, while the {bare} "
            f"features' labels are bare numbers with no class names, so which number is which class is unknown; "
            "extract both from class folders with the same names, or both from tensor files whose labels mean the same"
        )
    if named == "test":
        labels = torch.tensor([numbers[i] for i in test.labels.tolist()], dtype=torch.int64)
    else:
        index = {number: i for i, number in enumerate(numbers)}
        unknown = sorted(set(test.labels.tolist()) - set(index))
        if unknown:
            raise DataError(
                f"the test labels {unknown[:10]} are bare numbers that name none of the train classes ({listed}); "
                "extract both from class folders with the same names, or both from tensor files"
            )
        labels = torch.tensor([index[v] for v in test.labels.tolist()], dtype=torch.int64)
    if numbers != list(range(len(numbers))):  # by name and by index the labels differ: say which reading was taken
        pairs = ", ".join(f"{name!r} as {number}" for name, number in list(zip(classes, numbers))[:5])
        logger.warning(
            f"the {named} features name their classes ({listed}), the {bare} features' labels are bare numbers: "
            f"read the {named} class names as those numbers ({pairs}{', ...' if len(classes) > 5 else ''}); if the "
            f"{bare} labels mean something else, extract both from class folders"
        )
    return labels


def rows_shared_with_train(train: FeatureSet, test: FeatureSet) -> int:
    """How many test rows are train rows too (the same features: the same image through the same encoder). A probe
    scored on its own training rows measured memory, not features (an outside audit: kNN 100% with k = 1, rc 0, no
    word). File names are no evidence: train/0/1.png and test/0/1.png are different digits."""
    train_rows = {row.tobytes() for row in train.features.numpy()}
    return sum(row.tobytes() in train_rows for row in test.features.numpy())
