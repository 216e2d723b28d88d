"""Pictures: image grids and originals beside their reconstructions, saved atomically as PNG."""

from __future__ import annotations

import os

import torch
from torchvision.utils import save_image

from ganinv.atomic import atomic_path


def save_grid(images: torch.Tensor, path: str | os.PathLike, nrow: int = 8) -> None:
    """images: (N, C, H, W) in [-1, 1] -> a PNG grid with `nrow` images per row."""
    with atomic_path(path) as tmp:
        save_image(images.detach().float().cpu() * 0.5 + 0.5, tmp, nrow=nrow, padding=2, format="png")


def save_side_by_side(columns: list[torch.Tensor], path: str | os.PathLike, groups_per_row: int = 8) -> None:
    """Each image followed by its counterparts (e.g. original, reconstruction, refined), `groups_per_row` groups a row.

    columns: tensors (N, C, H, W) in [-1, 1], the same N.
    """
    groups = torch.stack([c.detach().cpu() for c in columns], dim=1).flatten(0, 1)  # (N * len(columns), C, H, W)
    save_grid(groups, path, nrow=len(columns) * groups_per_row)
