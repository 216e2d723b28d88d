"""Run folders as an edited config.json leaves them: what a resume must refuse before it reads anything."""

import json
from pathlib import Path


def name_unrecorded_folder(run: Path, kind: str, field: str, folder: Path) -> None:
    """Make run's config.json name `folder` as its `field` (fit's eval_real, mvae fit's data) with no fingerprint of it
    among the run's inputs, as an edited or foreign config.json would."""
    edited = json.loads((run / "config.json").read_text())
    edited["inputs"].pop(field)
    edited[kind][field] = str(folder)
    (run / "config.json").write_text(json.dumps(edited))
