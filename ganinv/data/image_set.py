"""Images read from any source, as one value: (N, C, H, W) in [-1, 1], labels, names and what was said."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import torch


@dataclass
class ImageSet:
    images: torch.Tensor  # (N, C, H, W) float in [-1, 1]
    labels: Optional[torch.Tensor] = None  # (N,) int64
    names: list[str] = field(default_factory=list)  # file names, where the input has them
    classes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was assumed or changed in reading the pixels
    # what the source held beside the images read (an array file's other arrays, a folder's empty or skipped folders,
    # how its folders were taken as classes) and images that came out blank: warned like the notes, but no note on how
    # the pixels were read, so kept out of a command's `images_converted` (audits 30b 7b, 43b F6)
    source_notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return self.images.shape[0]

    def subset(self, n: Optional[int]) -> "ImageSet":
        if n is None or n >= len(self):
            return self
        return ImageSet(
            self.images[:n],
            None if self.labels is None else self.labels[:n],
            self.names[:n],
            self.classes,
            self.notes,
            self.source_notes,
        )
