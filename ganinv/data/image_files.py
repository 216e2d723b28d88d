"""Image files and folders of them (class subfolders give labels, `ImageFolder`-style): read, resized to one
size (a stretch said), and what a folder holds besides images named.
"""

from __future__ import annotations

import functools
import gzip
import os
from collections import Counter
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ganinv.data.array_files import TENSOR_SUFFIXES, inflates_too_far
from ganinv.data.conversions import conversion_hint, folder_conversion_hint
from ganinv.data.idx_datasets import MNIST_STEMS, is_idx
from ganinv.data.image_set import ImageSet
from ganinv.data.metadata_labels import metadata_labels
from ganinv.data.paths import _is_dir, _is_gzip, _stat
from ganinv.data.value_ranges import ValueRange, check_finite_images, detect_range, to_unit_range, value_span
from ganinv.errors import DataError
from ganinv.images import read_image

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


# Netpbm, JPEG's other names and Targa, which PIL reads as well: left out of a folder with no word (an outside audit)
IMAGE_SUFFIXES |= {".pbm", ".pgm", ".ppm", ".pnm", ".jfif", ".jpe", ".tga"}


# PIL's plug-ins that only recognise a format and need a handler of the user's to decode it: no images to mention
PIL_STUB_SUFFIXES = {".bufr", ".grib", ".h5", ".hdf", ".fit", ".fits"}


# Pixels a folder's images may hold at any ratio to their files' size: sparse drawings, 20,000 1-bit 105 x 105 PNGs
# (Omniglot's), inflate 250x to 882 MB, and were refused as a decompression bomb (an outside audit, 55b); one image
# file is bounded on its own (ganinv.images), and a folder's pixels by the arrays' MAX_ARRAY_VALUES. 1 GiB: the
# images are stacked into one tensor at the end, a second copy (at 2 GiB, 30 sparse 4096-px PNGs met the memory
# limit raw: a review, 56a)
FOLDER_PIXELS_FREE = 2**30


ASPECT_TOLERANCE = 0.01  # width / height differing by more: a resize stretches the picture (said)


def load_image_files(
    paths: list[Path],
    labels: Optional[list[int]] = None,
    classes=(),
    input_range: Optional[ValueRange] = None,
    size: Optional[Sequence[int]] = None,
) -> ImageSet:
    """Image files -> one ImageSet; images of other sizes than `size` (H, W), the generator's where a command knows
    it, else the most common one, are resized to it (once: an image already of that size is never touched)."""
    images: list[torch.Tensor] = []  # (C, H, W) each
    names: list[str] = []
    notes: list[str] = []
    shapes: list[tuple[int, int]] = []  # (h, w) of each file, before any resize
    alike: dict[str, list[str]] = {}  # a note about one file, its path taken out -> every file it is about
    refused: list[str] = []  # every file that cannot be read, so that one run names them all
    wanted = (int(size[0]), int(size[1])) if size is not None else None
    stored = held = 0  # bytes of the files read so far, and of the float32 pixels kept from them
    # files whose format does not say their range (float or 32-bit TIFFs, 16-bit PNGs of no value above 255, 0/1
    # masks): read as stored, their range decided with the rest of the folder's, not file by file (_decide_together)
    undecided: list[tuple[int, Path, torch.Tensor]] = []  # (index in images, path, stored values (1, C, H, W))
    formats: dict[torch.dtype, set[ValueRange]] = {}  # the ranges the other files' formats gave, by stored type
    for path in paths:
        try:
            _stat(path)
            pixels, known, image_notes = read_image(path, range_declared=input_range is not None)  # (H, W, C)
            values = torch.from_numpy(np.array(pixels)).permute(2, 0, 1)[None]  # a writable copy, (1, C, H, W)
            pending = known is None and input_range is None
            if pending:
                if values.is_floating_point():
                    check_finite_images(values, str(path))
                undecided.append((len(images), path, values))
                x, note = values, None  # resized once it is converted
            else:
                if known is not None:
                    formats.setdefault(values.dtype, set()).add(known)
                x, note = to_unit_range(values, str(path), known, input_range)
                note = note or overridden_range_note(path, known, input_range)
        except DataError as exc:
            refused.append(str(exc))
            continue
        shapes.append((int(x.shape[2]), int(x.shape[3])))
        # resized as it is read: kept whole until all were read, 25 PNGs of 58 KB at 4096 x 4096 took 6 GB (an
        # outside audit)
        if not pending and wanted is not None and shapes[-1] != wanted:
            x = _resize(x[0], wanted)[None]
        images.append(x[0])  # (C, H, W)
        names.append(str(path))
        stored, held = stored + _stat(path).st_size, held + 4 * images[-1].numel()
        if inflates_too_far(stored, held, FOLDER_PIXELS_FREE):  # large images in small files, kept at their own
            # sizes, add up; a set as large as its files, or resized as it is read, is not capped (22,000 64 x 64
            # images were: a review)
            raise DataError(
                f"the {len(paths)} images inflate from {stored / 2**20:.1f} MiB of files to {held / 2**20:.0f} MiB "
                f"of float32 pixels by {path}, more than ganinv holds of images this small on disk; resize them "
                "first, or give fewer (--limit N); a command given a generator resizes each to its size as it reads it"
            )
        for said in image_notes + ([note] if note else []):
            alike.setdefault(said.replace(str(path), "{image}"), []).append(str(path))
    if len(refused) == 1:
        raise DataError(refused[0])
    if refused:
        raise DataError(
            f"{len(refused)} of {len(paths)} image files cannot be read; repair or remove them: "
            + "; ".join(refused[:3])
            + (f"; and {len(refused) - 3} more" if len(refused) > 3 else "")
        )
    for i, x, note in _decide_together(undecided, formats, len(paths)):
        images[i] = _resize(x, wanted) if wanted is not None and tuple(x.shape[1:]) != wanted else x
        if note:
            notes.append(note)
    for template, about in alike.items():  # one note for many files said alike, not one line per file
        said = template.replace("{image}", about[0])
        notes.append(said if len(about) == 1 else f"{len(about)} of {len(paths)} images, e.g. {said}")
    channels = max(x.shape[0] for x in images)
    grey = [names[i] for i, x in enumerate(images) if x.shape[0] < channels]
    stored_as_colour = [i for i, x in enumerate(images) if x.shape[0] == 3]
    if (
        stored_as_colour
        and all(bool((images[i] == images[i][:1]).all()) for i in stored_as_colour)
        and (grey or all(_palette_stored(names[i]) for i in stored_as_colour))
    ):
        # a palette or RGBA file among greyscale ones, its channels equal: the set is greyscale, and was read (and
        # trained on) as colour (an outside audit); so is a folder of only such files, grey digits in palette PNGs or
        # GIFs, which `train` and `mvae fit` made RGB models of (an outside audit, 55b)
        example = names[stored_as_colour[0]]
        notes.append(
            f"{len(stored_as_colour)} of {len(paths)} images are stored as colour (e.g. {example}) with three equal "
            "channels: read as greyscale, as the rest are"
            if grey
            else f"{len(stored_as_colour)} of {len(paths)} images store greys through a colour palette (e.g. "
            f"{example}): read as greyscale (one channel)"
        )
        images = [x[:1] if x.shape[0] == 3 else x for x in images]
        channels, grey = 1, []
    if grey:  # said: the generator's channels may then convert them all back, but raw pixels keep them so
        notes.append(
            f"{len(grey)} of {len(paths)} images are greyscale among colour ones (e.g. {grey[0]}): read as colour "
            "images with three equal channels"
        )
    images = [x.expand(channels, -1, -1) if x.shape[0] < channels else x for x in images]  # grey -> RGB
    sizes = Counter(shapes)  # (H, W) of each file
    target = "the size the model takes" if wanted is not None else "the most common size"  # a generator's or MVAE's
    size = wanted if wanted is not None else sizes.most_common(1)[0][0]  # ties: the first
    odd = [i for i, shape in enumerate(shapes) if shape != size]
    if odd:
        # width x height, as every image tool and the decoder's note say it (H x W had made a landscape photo
        # a portrait one: an outside audit)
        example = f"e.g. {names[odd[0]]} is {shapes[odd[0]][1]} x {shapes[odd[0]][0]}"
        stretched = sum(is_stretched(shapes[i], size) for i in odd)
        shape_note = (
            f"; {stretched} of them have another aspect ratio and were stretched, not cropped" if stretched else ""
        )
        notes.append(
            f"{len(odd)} of {len(images)} images differ from {target} {size[1]} x {size[0]} "
            f"({example}); they were resized to it{shape_note}"
        )
        images = [_resize(x, size) if tuple(x.shape[1:]) != size else x for x in images]
    y = torch.tensor(labels, dtype=torch.int64) if labels is not None else None
    return ImageSet(torch.stack(images).contiguous(), y, names, list(classes), notes)  # (N, C, H, W)


def overridden_range_note(path: Path, known: Optional[ValueRange], declared: Optional[ValueRange]) -> Optional[str]:
    """A note where a declared range wider than a file's own (its format's) is applied to it: a folder's 8-bit PNGs
    turned near-black under the 16-bit range declared for the rest (an outside audit, 55b). A narrower one, 10-bit
    data in a 16-bit PNG, is what declaring is for."""
    if known is None or declared is None or declared[1] - declared[0] <= known[1] - known[0]:
        return None
    return (
        f"{path}'s format says its values lie in [{known[0]:g}, {known[1]:g}]; read in the declared input range "
        f"[{declared[0]:g}, {declared[1]:g}], as the user's word wins"
    )


def _decide_together(
    undecided: list[tuple[int, Path, torch.Tensor]], formats: dict[torch.dtype, set[ValueRange]], count: int
) -> list[tuple[int, torch.Tensor, Optional[str]]]:
    """The files whose format does not say their range, in [-1, 1]: (index, image (C, H, W), note). One range for
    each stored type: the one the folder's other files of that type have by their format (a black frame among
    16-bit PNGs), else the values' own (`_values_reading`). Decided file by file, a dim frame among float TIFFs of
    8-bit values was read 255x brighter than its neighbours (an outside audit, 55b)."""
    results: list[tuple[int, torch.Tensor, Optional[str]]] = []
    for dtype in dict.fromkeys(values.dtype for _, _, values in undecided):
        group = [(i, path, values) for i, path, values in undecided if values.dtype == dtype]
        first, kind = group[0][1], str(dtype).removeprefix("torch.")
        source = str(first) if len(group) == 1 else f"{len(group)} of {count} images (e.g. {first})"
        siblings = formats.get(dtype, set())
        if len(siblings) == 1:  # the folder's other files of this type say it
            value_range = next(iter(siblings))
            note: Optional[str] = (
                f"{source} {'holds' if len(group) == 1 else 'hold'} {kind} values that do not say their range "
                f"alone: read in [{value_range[0]:g}, "
                f"{value_range[1]:g}], as the folder's other {kind} images are; declare --input-range LO,HI if not"
            )
        else:
            value_range, note = _values_reading(group, dtype, source, kind)
        for i, path, values in group:
            x, _ = to_unit_range(values, str(path), value_range)
            results.append((i, x[0], note if i == group[0][0] else None))
    return results


def _values_reading(
    group: list[tuple[int, Path, torch.Tensor]], dtype: torch.dtype, source: str, kind: str
) -> tuple[ValueRange, Optional[str]]:
    """(range, note) of files of one stored type from their values: the reading most of them have alone, else that of
    all their values together, as an array's is; files that read alone on different scales are said (one [-1, 1] file
    had set its [0, 1] neighbours' scale in silence: a review, 56a)."""
    spans = [value_span(values) for _, _, values in group]  # the values' extremes stand in for them
    summary = torch.tensor([v for span in spans for v in span], dtype=torch.float64).to(dtype)
    value_range, note = detect_range(summary, source)
    split = _scales_alone(group, spans, dtype)
    if len(split) < 2:
        return value_range, note
    counts = sorted((len(paths) for paths in split.values()), reverse=True)
    most = counts[0] > counts[1]
    if most:
        value_range = max(split, key=lambda r: len(split[r]))
    readings = "; ".join(f"{len(paths)} as [{r[0]:g}, {r[1]:g}] (e.g. {paths[0]})" for r, paths in split.items())
    return value_range, (
        f"the {kind} images of this folder read alone on different scales ({readings}): all are read in "
        f"[{value_range[0]:g}, {value_range[1]:g}], "
        + ("as most are" if most else "the reading of all their values together")
        + ", values beyond it clamped; declare --input-range LO,HI if that is not their range, or save them alike"
    )


def _scales_alone(
    group: list[tuple[int, Path, torch.Tensor]], spans: list[tuple[float, float]], dtype: torch.dtype
) -> dict[ValueRange, list[Path]]:
    """The range each file would be read in alone -> the files; files no range fits alone are left out."""
    readings: dict[ValueRange, list[Path]] = {}
    for (_, path, _), span in zip(group, spans):
        try:
            alone, _ = detect_range(torch.tensor(span, dtype=torch.float64).to(dtype), str(path))
        except DataError:
            continue
        readings.setdefault(alone, []).append(path)
    return readings


def _palette_stored(name: str) -> bool:
    """Whether an image file stores its pixels through a palette (PNG mode P, GIF): colour only by its format, where
    a file of RGB mode is colour by the author's choice (read as it is stored)."""
    from PIL import Image

    try:
        with Image.open(name) as im:  # the header alone
            return im.mode in ("P", "PA")
    except (OSError, ValueError):
        return False


def is_stretched(shape: Sequence[int], size: Sequence[int]) -> bool:
    """Whether resizing (h, w) to (H, W) changes the aspect ratio, which a resize stretches and does not crop."""
    return abs(shape[1] / shape[0] - size[1] / size[0]) > ASPECT_TOLERANCE


def _resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(C, h, w) in [-1, 1] -> (C, H, W), bilinear with antialiasing (weights >= 0: stays in range)."""
    resized = F.interpolate(x[None], size=size, mode="bilinear", align_corners=False, antialias=True)[0]
    return resized.clamp(-1, 1)


SKIPPED_FOLDERS = {"__MACOSX"}  # what macOS's zip adds beside the data (`._name` resource forks)


def dataset_file_hint(path: Path) -> Optional[str]:
    """What to do with a dataset file that is not an image file: MNIST's IDX files (by their magic bytes, gzip or
    not), torchvision's processed `.pt`, and the downloads of `conversions`. None for anything else."""
    try:
        with (gzip.open if _is_gzip(path) else open)(path, "rb") as fh:
            head = fh.read(4)
    except (OSError, EOFError, gzip.BadGzipFile):
        head = b""
    if len(head) == 4 and head[:3] == b"\x00\x00\x08" and head[3] in (1, 3):
        return (
            f"it is an MNIST-format IDX file ({'labels' if head[3] == 1 else 'images'}): give mnist (or fashion-mnist) "
            f"--root {path.parent}, the folder holding the four files"
        )
    if path.suffix == ".pt" and path.parent.name == "processed":
        return (
            f"it is torchvision's processed copy of a dataset; give mnist (or fashion-mnist) --root "
            f"{path.parent.parent}, whose raw/ folder holds the original IDX files"
        )
    if path.suffix.lower() in (".pt", ".pth"):  # "unknown file type '.pt'" named no way on (an outside audit)
        return (
            "a PyTorch pickle is not read as images (a pickle can hold code, and its layout varies); save the tensor "
            "as an array file: numpy.save('images.npy', torch.load(FILE, weights_only=True).numpy()), (N, H, W) or "
            "(N, C, H, W), and give that"
        )
    return conversion_hint(path)


def array_files_hint(entries: list[Path], classes: bool = False) -> Optional[str]:
    """What to do with array files in a folder of no images (`classes`: in its class folders): ganinv reads one array
    file of N images, not a folder of them (a folder of one .npy per image was told to "put image files in it", its
    .npy files unnamed: an outside audit). None where there are none."""
    arrays = sorted(p for p in entries if p.suffix.lower() in TENSOR_SUFFIXES | {".pt", ".pth"} and p.is_file())
    if not arrays:
        return None
    named = ", ".join(p.name for p in arrays[:3]) + (", ..." if len(arrays) > 3 else "")
    return (
        f"{'they hold' if classes else 'it holds'} {len(arrays)} array file(s) ({named}), and ganinv reads the images "
        "of one array file, not a folder of them: stack them into one (N, H, W) or (N, C, H, W) array, e.g. "
        "numpy.save('images.npy', numpy.stack([numpy.load(f) for f in sorted(files)])), and give that file"
        + (" (an .npz with images=... and labels=..., the class of each)" if classes else "")
    )


def idx_folder_hint(folder: Path, idx: list[Path]) -> str:
    """IDX files in a folder: MNIST's or Fashion-MNIST's four names are a dataset `--root`; other names (EMNIST's,
    KMNIST's) are read one file at a time (EMNIST's folder had been sent to `mnist --root`, which then failed: 57c)."""
    if any(p.name.startswith(MNIST_STEMS) for p in idx):
        return f"it holds MNIST-format IDX files ({idx[0].name}, ...): give mnist (or fashion-mnist) --root {folder}"
    images = [p for p in idx if "-images-" in p.name or "images" in p.name] or idx
    return (
        f"it holds IDX files by other names than MNIST's ({', '.join(p.name for p in idx[:3])}"
        f"{', ...' if len(idx) > 3 else ''}): give one images file itself (e.g. {images[0]}), read as its images "
        "without labels (mnist --root reads MNIST's and Fashion-MNIST's four files only)"
    )


def no_images_hint(folder: Path) -> str:
    """What to do with a folder that holds no image files: MNIST's IDX files there, array files, or only hidden
    images."""
    files = [p for p in sorted(folder.iterdir()) if p.is_file()]
    idx = [p for p in files if is_idx(p)]
    if idx:
        return idx_folder_hint(folder, idx)
    processed = [p for p in files if p.suffix == ".pt" and p.parent.name == "processed"]
    if processed:  # it had been called a folder of IDX files and sent to a --root that cannot read it (57c)
        return f"{processed[0].name}: {dataset_file_hint(processed[0])}"
    arrays = array_files_hint([p for p in folder.iterdir() if not _skipped(p.name)])
    if arrays:
        return arrays
    converted = folder_conversion_hint([p for p in files if not _skipped(p.name)])
    if converted:
        return converted
    hidden = sorted(p.name for p in folder.iterdir() if p.name.startswith(".") and p.suffix.lower() in IMAGE_SUFFIXES)
    if hidden:
        return f"names starting with a dot ({', '.join(hidden[:3])}) are skipped as system files: rename them"
    return "put image files in it or give another source"


def _skipped(name: str) -> bool:
    """Dot names (`.DS_Store`, `._00.png`, `.git`) and archivers' folders are not data."""
    return name.startswith(".") or name in SKIPPED_FOLDERS


def _walk(folder: Path, root: Optional[Path] = None, outside: Optional[list[Path]] = None) -> list[Path]:
    """Everything under `folder`; skipped names are not entered, and linked folders are not followed: one inside
    `root` (the folder of classes) or above it holds another class's images, or every class's (an outside review:
    `0/parent -> ..` read class 1's images again, labelled 0), and one that leads outside it makes ganinv read what
    the user never named (an outside audit: a shared dataset's `a/more -> /usr/share` put 4934 images of the machine
    into features labelled `a`). Links that lead outside are added to `outside`, to be named."""
    found: list[Path] = []
    real_root = Path(os.path.realpath(root or folder))
    try:
        for top, dirs, files in os.walk(folder):  # followlinks=False: a linked folder is listed, never entered
            for name in dirs + files:
                path = Path(top, name)
                if outside is not None and leaves(path, real_root):
                    outside.append(path)
            dirs[:] = [name for name in dirs if not _skipped(name) and not os.path.islink(os.path.join(top, name))]
            found += [Path(top, name) for name in dirs + files if not _skipped(name)]
    except RecursionError:  # os.walk recurses: 1,200 nested folders were an internal error (an outside audit)
        raise DataError(
            f"{folder} nests folders deeper than can be walked; give a folder of images or of classes"
        ) from None
    return found


def leaves(path: Path, real_root: Path) -> bool:
    """Whether `path` is a link that leads outside `real_root` (the folder the user named)."""
    return path.is_symlink() and not leads_inside(path, real_root)


def leads_inside(path: Path, real_root: Path) -> bool:
    """Whether `path`, links resolved, lies in `real_root` (the folder the user named)."""
    return Path(os.path.realpath(path)).is_relative_to(real_root)


def outside_note(outside: list[Path], where: Path) -> str:
    """Links of a folder that lead outside it, by count, and what to do."""
    return (
        f"{len(outside)} link(s) in {where} lead outside it (e.g. {outside[0]} -> {os.path.realpath(outside[0])}): "
        "not read, as a folder names what ganinv reads; give their targets as sources of their own, or copy them in"
    )


@functools.lru_cache(maxsize=1)
def pil_suffixes() -> frozenset[str]:
    """The suffixes of every format PIL can open (lower case, with the dot); read once, not per class folder."""
    from PIL import Image  # imported here, as in ganinv.images: PIL's import is time every command's start would pay

    Image.init()
    opened = {ext for ext, fmt in Image.registered_extensions().items() if fmt in Image.OPEN}
    return frozenset(opened - PIL_STUB_SUFFIXES)


def _image_entries(
    folder: Path,
    recursive: bool,
    unread: Optional[list[Path]] = None,
    root: Optional[Path] = None,
    outside: Optional[list[Path]] = None,
) -> list[Path]:
    """Image files in a folder (sorted, skipped names and whatever lies in skipped folders left out); a special
    file with an image suffix is refused. Files of other formats PIL opens are added to `unread`, to be named, and
    links that lead outside the folder the user named (`root`, else `folder`) to `outside`: they are not read."""
    found = []
    real_root = Path(os.path.realpath(root or folder))
    entries = _walk(folder, root, outside) if recursive else [p for p in folder.iterdir() if not _skipped(p.name)]
    leaving = {p for p in entries if leaves(p, real_root)}
    if not recursive and outside is not None:  # _walk names those it meets
        outside += sorted(leaving)
    entries = [p for p in entries if p not in leaving]
    other_images = pil_suffixes() - IMAGE_SUFFIXES if unread is not None else set()
    for path in sorted(entries):
        suffix = path.suffix.lower()
        if unread is not None and suffix in other_images and path.is_file():
            unread.append(path)
        if suffix not in IMAGE_SUFFIXES:
            continue
        if not _is_dir(path):
            found.append(path)
    return found


# folder names of a dataset's splits: read as classes, they label each image by the split it lies in
SPLIT_NAMES = frozenset({"train", "training", "val", "valid", "validation", "test", "testing", "dev", "eval"})


def split_folder_notes(folder: Path, classes: list[str], paths: list[Path], labels: list[int]) -> list[str]:
    """What is said of class folders that look like a dataset's splits: folders whose images all lie in folders one
    level down (their classes?), and classes named as splits (ImageNet's train/<wnid>/ beside flat val/ and test/
    was read as three classes train, val, test, unsaid: an outside audit, 57c)."""
    inner: dict[str, set[str]] = {}  # class -> the folders its images lie in, one level down
    direct = set()  # classes with an image right in their folder
    for path, label in zip(paths, labels):
        if path.parent.parent == folder:
            direct.add(classes[label])
        else:
            inner.setdefault(classes[label], set()).add(path.relative_to(folder).parts[1])
    nested = [c for c in classes if c not in direct]
    if len({frozenset(inner[c]) for c in nested}) == 1 and len(inner[nested[0]]) == 1 and len(nested) > 1:
        nested = []  # each class keeps its images in a folder of one name (Tiny ImageNet's images/): no classes (57c)
    notes: list[str] = []
    if nested:
        first = sorted(inner[nested[0]])
        whose = "whose images lie" if len(nested) == len(classes) else f"and the images of {', '.join(nested[:5])} lie"
        notes.append(
            f"the classes of {folder} are its folders {', '.join(classes[:5])}{', ...' if len(classes) > 5 else ''}, "
            f"{whose} in folders {', '.join(first[:5])}{', ...' if len(first) > 5 else ''} one level down: if those "
            f"are the classes (a folder per split, as training/ and testing/), give {folder / nested[0]}"
        )
    splits = [c for c in classes if c.lower() in SPLIT_NAMES]
    if len(splits) >= 2 and len(nested) < len(classes):  # (all nested: said above)
        notes.append(
            f"the classes of {folder} are its folders {', '.join(classes[:5])}{', ...' if len(classes) > 5 else ''}, "
            f"named as a dataset's splits ({', '.join(splits)}): each image is labelled by the split it lies in; "
            f"give one split's folder (e.g. {folder / (nested or splits)[0]}) to read it alone, its folders as its "
            "classes"
        )
    return notes


def unread_note(unread: list[Path], where: Path) -> str:
    """Files of image formats ganinv does not read, by suffix and count, and what to do."""
    suffixes = sorted({path.suffix.lower() for path in unread})
    return (
        f"{len(unread)} file(s) of {where} with suffixes {', '.join(suffixes)} (e.g. {unread[0]}) were not read: "
        f"ganinv reads {', '.join(sorted(IMAGE_SUFFIXES))}; convert them to PNG to include them"
    )


LABEL_FILE_SUFFIXES = {*TENSOR_SUFFIXES, ".csv", ".txt", ".json", ".tsv"}


def labels_beside_note(folder: Path) -> list[str]:
    """A note naming a labels file beside a flat folder's images (`labels.npy`, `labels.csv`): the first way users
    try to give their images' labels, ignored with no word but "no labels" (an outside audit, 55b)."""
    found = sorted(
        p.name
        for p in folder.iterdir()
        if "label" in p.stem.lower() and p.suffix.lower() in LABEL_FILE_SUFFIXES and not _skipped(p.name)
    )
    if not found:
        return []
    return [
        f"{folder / found[0]} is not read as the images' labels: ganinv takes labels from class folders (one folder "
        "of images per class) or from an .npz/.safetensors file holding 'images' and 'labels'"
    ]


def left_out_notes(unread: list[Path], outside: list[Path], folder: Path) -> list[str]:
    """The notes about what a folder holds that was not read: other image formats, links that lead outside it."""
    return ([unread_note(unread, folder)] if unread else []) + ([outside_note(outside, folder)] if outside else [])


def load_image_folder(
    folder: Path,
    input_range: Optional[ValueRange] = None,
    size: Optional[Sequence[int]] = None,
    limit: Optional[int] = None,
) -> ImageSet:
    """The images of a folder, or of its class folders; `limit`: only the first files (sorted) are decoded (`--limit
    16` on 60,000 files read them all, and a damaged file past the first 16 failed the command: an outside audit)."""
    unread: list[Path] = []  # files of image formats ganinv does not read, named in a note
    outside: list[Path] = []  # links that lead outside the folder: not read, named in a note
    files = _image_entries(folder, recursive=False, unread=unread, outside=outside)
    subdirs = sorted(p for p in folder.iterdir() if not _skipped(p.name) and p.is_dir())
    linked = [p for p in subdirs if not leads_inside(p, folder.resolve())]
    if linked:  # dropped, the classes after it were numbered anew in silence but for a note (a review)
        raise DataError(
            f"{linked[0]} is a link that leads outside {folder} (to {os.path.realpath(linked[0])}), and ganinv reads "
            "only what a folder holds; copy the class folders in, or give a folder that holds them all"
        )
    if files and subdirs:
        holding = [sub.name for sub in subdirs if _image_entries(sub, recursive=True)]
        if holding:  # a stray preview beside class folders would otherwise replace the whole labelled set
            raise DataError(
                f"{folder} holds both loose images ({', '.join(f.name for f in files[:3])}"
                f"{', ...' if len(files) > 3 else ''}) and folders of images ({', '.join(holding[:5])}"
                f"{', ...' if len(holding) > 5 else ''}); ganinv reads a folder of images or one folder per class, "
                "not both: move the loose images out, or give the folder that holds only them"
            )
    if files or not subdirs:
        if not files:
            hint = unread_note(unread, folder) if unread else no_images_hint(folder)
            hint = outside_note(outside, folder) if outside else hint
            raise DataError(f"{folder} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))}); {hint}")
        try:
            labelled = metadata_labels(folder, files)
        except DataError as exc:  # said, and the images read without labels (a review, 58a)
            result = load_image_files(files[:limit], input_range=input_range, size=size)
            result.source_notes[:0] = left_out_notes(unread, outside, folder) + [
                f"{exc}: not read as labels, and the images are read without them"
            ]
            return result
        if labelled is not None:
            indices, names, note = labelled
            result = load_image_files(files[:limit], indices[:limit], names, input_range=input_range, size=size)
            result.source_notes[:0] = left_out_notes(unread, outside, folder) + [note]
            return result
        result = load_image_files(files[:limit], input_range=input_range, size=size)
        result.source_notes[:0] = left_out_notes(unread, outside, folder) + labels_beside_note(folder)
        return result
    paths: list[Path] = []
    labels: list[int] = []
    classes: list[str] = []
    empty: list[str] = []
    for sub in subdirs:
        sub_files = _image_entries(sub, recursive=True, unread=unread, root=folder, outside=outside)
        if not sub_files:
            empty.append(sub.name)
            continue
        labels += [len(classes)] * len(sub_files)
        classes.append(sub.name)
        paths += sub_files
    if not paths:
        raw = folder / "raw"  # torchvision's dataset folder (raw/, processed/): sent to numpy.load its .pt files (57c)
        idx = [p for p in sorted(raw.iterdir()) if p.is_file() and is_idx(p)] if raw.is_dir() else []
        if idx and any(p.name.startswith(MNIST_STEMS) for p in idx):
            raise DataError(
                f"{folder} holds no images: it is torchvision's dataset folder, whose raw/ holds MNIST-format IDX "
                f"files ({idx[0].name}, ...): give mnist (or fashion-mnist) --root {folder}"
            )
        if idx:
            raise DataError(f"{folder} holds no images; in raw/ {idx_folder_hint(raw, idx)}")
        entries = _walk(folder)
        arrays = array_files_hint(entries, classes=True) or folder_conversion_hint(entries)
        raise DataError(
            f"{folder} has class folders but no images in them; "
            + (arrays or f"put image files ({', '.join(sorted(IMAGE_SUFFIXES))}) in them or give another source")
            + (f" ({unread_note(unread, folder)})" if unread else "")
        )
    notes = left_out_notes(unread, outside, folder)
    if empty:
        listed = ", ".join(empty[:5])
        notes.append(
            f"{len(empty)} folder(s) of {folder} hold no images ganinv reads and are not taken as classes (the "
            f"classes are numbered without them): {listed}"
        )
    notes += split_folder_notes(folder, classes, paths, labels)
    if len(classes) == 1:  # as torchvision's ImageFolder reads it, but labels that are all 0 can surprise
        notes.append(
            f"{folder} holds one folder of images, {classes[0]}, read as one class (label 0 for every image); give "
            f"{folder / classes[0]} to read its images alone (labelled only by a metadata file of its own)"
        )
    kept = len(set(labels[:limit]))
    if kept < len(classes):  # a sample of the first classes alone, unsaid, for `probe` and `cluster-accuracy` (55b)
        notes.append(
            f"a limit of {limit} keeps the first {limit} of the {len(paths)} images of {folder} in class-folder order: "
            f"{kept} of its {len(classes)} classes ({', '.join(classes[:kept][:5])}{', ...' if kept > 5 else ''}); "
            "for a sample of every class, give a folder that holds one"
        )
    result = load_image_files(paths[:limit], labels[:limit], classes, input_range=input_range, size=size)
    result.source_notes[:0] = notes
    return result
