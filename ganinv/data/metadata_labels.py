"""Labels of a flat image folder from a Hugging Face `imagefolder` metadata file (`metadata.csv` / `metadata.jsonl`).

`datasets`' imagefolder layout labels a flat folder of images with a metadata file beside them: a row per image, its
`file_name` and its columns (`label` among them). Such a folder's labels were dropped with no word, and `probe` then
said "no labels" (an outside audit, 57c). The file is data: its `label` column is read as labels, nothing else of
it is used, and a file that does not label exactly the folder's images is said, naming what does not match, and not
read (the images are then read without labels: a command that needs none had been refused by a review, 58a).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Optional

from ganinv.data.array_files import MAX_LABEL
from ganinv.errors import DataError

METADATA_FILES = ("metadata.csv", "metadata.jsonl")
LABEL_COLUMNS = ("label", "labels")  # the column datasets' ClassLabel examples name
MAX_METADATA_BYTES = 256 * 2**20  # a row per image: far beyond the folders ganinv reads (1 GiB of pixels)


def metadata_file(folder: Path) -> Optional[Path]:
    found = [folder / name for name in METADATA_FILES if (folder / name).is_file()]
    if len(found) > 1:
        raise DataError(
            f"{folder} holds both {found[0].name} and {found[1].name} (keep the one that labels the images)"
        )
    return found[0] if found else None


def read_rows(path: Path) -> list[dict]:
    if path.stat().st_size > MAX_METADATA_BYTES:
        raise DataError(f"{path} is larger than {MAX_METADATA_BYTES >> 20} MB, more than a row per image; check it")
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            if path.suffix == ".csv":
                return list(csv.DictReader(fh))
            return [json.loads(line) for line in fh if line.strip()]
    except (UnicodeDecodeError, json.JSONDecodeError, csv.Error, ValueError) as exc:
        raise DataError(f"{path} is not a readable {path.suffix[1:]} metadata file ({exc})") from None


def metadata_labels(folder: Path, files: list[Path]) -> Optional[tuple[list[int], list[str], str]]:
    """(a label per file, the class names (none for indices), a note) from the folder's metadata file's label
    column; None where the folder has no metadata file or its file no label column."""
    path = metadata_file(folder)
    if path is None:
        return None
    rows = read_rows(path)
    if not rows or not all(isinstance(row, dict) for row in rows):
        raise DataError(f"{path} holds no rows of file_name and columns")
    column = next((c for c in LABEL_COLUMNS if c in rows[0]), None)
    if column is None:
        return None
    if "file_name" not in rows[0]:
        raise DataError(f"{path} has a {column} column but no file_name column; name each row's image in file_name")
    by_name: dict[str, object] = {}
    for row in rows:
        name = str(Path(str(row.get("file_name", ""))))  # "./a.png" and "a.png" alike
        if name in by_name:
            raise DataError(f"{path} names {name} twice; give each image one row")
        by_name[name] = row.get(column)
    names = [str(p.relative_to(folder)) for p in files]
    unlabelled = [n for n in names if n not in by_name]
    missing = sorted(set(by_name) - set(names))
    if unlabelled or missing:
        said = [f"{len(unlabelled)} image(s) have no row (e.g. {unlabelled[0]})"] if unlabelled else []
        said += [f"{len(missing)} row(s) name no image ganinv reads here (e.g. {missing[0]})"] if missing else []
        raise DataError(
            f"{path} does not label exactly the images of {folder}: {'; '.join(said)} (give every image one row)"
        )
    values = [by_name[n] for n in names]
    if all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values) or all(
        isinstance(v, str) and v.isdigit() for v in values
    ):
        labels = [int(v) for v in values]  # type: ignore[call-overload]
        if max(labels) > MAX_LABEL:
            raise DataError(f"{path}'s {column} column holds {max(labels)}; give each image its class index, 0, 1, ...")
        classes: list[str] = []  # class indices, as an .npz's labels are
    elif all(isinstance(v, str) and v for v in values):
        classes = sorted({str(v) for v in values})
        index = {name: i for i, name in enumerate(classes)}
        labels = [index[str(v)] for v in values]
    else:
        shown = next(v for v in values if not (isinstance(v, str) and v))
        raise DataError(
            f"{path}'s {column} column holds {shown!r}; give each image a class: an index 0, 1, ... or a name"
        )
    count = len(classes) or len(set(labels))
    note = f"labels read from {path}'s {column} column (Hugging Face imagefolder metadata): {count} classes"
    return labels, classes, note
