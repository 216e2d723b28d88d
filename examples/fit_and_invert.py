"""Fit a data-free inverter for a generator, then invert real images with it.

    uv run python examples/fit_and_invert.py --root PATH/mnist --steps 200 --out runs/example-fit

Uses the built-in MNIST generator; `--root` is a folder with the original MNIST IDX files.
"""

import argparse

import ganinv
from ganinv.images import save_side_by_side

parser = argparse.ArgumentParser()
parser.add_argument("--root", required=True, help="folder with the original MNIST IDX files")
parser.add_argument("--steps", type=int, default=200, help="dreaming steps")
parser.add_argument("--out", default="runs/example-fit", help="run folder")
args = parser.parse_args()

config = ganinv.FitConfig(generator="builtin:mnist", steps=args.steps, eval_every=args.steps)
ganinv.fit(config, args.out, quiet=True)

inverter = ganinv.Inverter.load(args.out)  # the run folder's inverter/ artifact
real = ganinv.load_images("mnist", root=args.root, split="test", limit=32).images  # (32, 1, 28, 28) in [-1, 1]
result = ganinv.invert(inverter, real, refine_steps=50)
print({k: v for k, v in result.metrics.items() if k != "n"})
save_side_by_side([real, result.reconstructions], f"{args.out}/example-inversion.png")
print(f"wrote {args.out}/example-inversion.png")
