"""One picture of an inversion benchmark: the images given, then each method's reconstructions, a row each.

    python benchmarks/inversion_grid.py docs/invert-fashion.png --images fashion-mnist --root PATH/fashion-mnist \
        --row runs/inv-fashion/test-single --row runs/inv-fashion/test-iterative --row runs/inv-fashion/test-refine-100

Each --row is a folder written by `ganinv invert --out` (its reconstructions.safetensors, in the order of the
images); the first --count images are shown, the originals on top.
"""

from __future__ import annotations

import argparse

import torch
from safetensors.torch import load_file

from ganinv.data import load_images
from ganinv.images import save_grid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="PNG file to write")
    parser.add_argument("--images", required=True, help="the image source given to `ganinv invert`")
    parser.add_argument("--root", default=None, help="dataset folder, for mnist / fashion-mnist")
    parser.add_argument("--split", default="test", choices=("train", "test"), help="as given to `ganinv invert`")
    parser.add_argument("--row", action="append", required=True, help="a `ganinv invert --out` folder, repeatable")
    parser.add_argument("--count", type=int, default=12, help="images per row")
    args = parser.parse_args()
    originals = load_images(args.images, root=args.root, split=args.split, limit=args.count).images  # (N, C, H, W)
    rows = [originals]
    for folder in args.row:
        reconstructions = load_file(f"{folder}/reconstructions.safetensors")["images"][: args.count]
        rows.append(reconstructions.expand(-1, originals.shape[1], -1, -1))
    save_grid(torch.cat(rows), args.out, nrow=args.count)
    print(args.out)


if __name__ == "__main__":
    main()
