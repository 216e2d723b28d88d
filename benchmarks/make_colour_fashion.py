"""Colour Fashion-MNIST at 32x32: the RGB training set of the benchmark's RGB generator.

No real RGB dataset is available on this machine, so this one is derived, and says so: each
Fashion-MNIST item is padded to 32x32 and painted, its intensity `a` mixing a random foreground
colour `f` over a random background colour `b` (`x = (1 - a) b + a f`, colours seeded per image).
The RGB generator trained on it (`recipes/rgb-fashion.toml`) has learned structure, unlike random
weights, while nothing here stands for real photographs.

    python benchmarks/make_colour_fashion.py PATH/fashion-mnist runs/colour-fashion.npz [--split train]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
import torch.nn.functional as F

from ganinv.data import load_images


def colour(items: torch.Tensor, seed: int = 0) -> np.ndarray:
    """items (N, 1, 28, 28) in [-1, 1] -> (N, 32, 32, 3) uint8."""
    rng = torch.Generator().manual_seed(seed)
    n = items.shape[0]
    a = F.pad((items + 1) / 2, (2, 2, 2, 2))  # (N, 1, 32, 32) in [0, 1], background 0
    foreground = 0.35 + 0.65 * torch.rand(n, 3, 1, 1, generator=rng)  # bright enough to see the item
    background = 0.45 * torch.rand(n, 3, 1, 1, generator=rng)
    x = (1 - a) * background + a * foreground  # (N, 3, 32, 32)
    return (x.permute(0, 2, 3, 1) * 255).round().clamp(0, 255).to(torch.uint8).numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", help="folder with the Fashion-MNIST IDX files")
    parser.add_argument("out", help=".npz file to write (images NHWC uint8, labels)")
    parser.add_argument("--split", default="train", choices=("train", "test"))
    args = parser.parse_args()
    data = load_images("fashion-mnist", root=args.root, split=args.split)
    np.savez(args.out, images=colour(data.images, seed=0 if args.split == "train" else 1), labels=data.labels.numpy())
    print(f"{args.out}: {data.images.shape[0]} images of 32x32x3")


if __name__ == "__main__":
    main()
