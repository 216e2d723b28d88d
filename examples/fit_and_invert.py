"""Fit a data-free inverter for a generator, then invert real images with it.

    uv run python examples/fit_and_invert.py --steps 200 --out runs/example-fit

Uses the built-in MNIST generator and the MNIST test images in ../shared/data/mnist.
"""

import argparse

from ganinv.data import load_images
from ganinv.dreaming import DreamingConfig
from ganinv.fit import FitConfig, fit
from ganinv.images import save_side_by_side
from ganinv.inverter import Inverter
from ganinv.invert import invert

parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, default=200)
parser.add_argument("--out", default="runs/example-fit")
parser.add_argument("--root", default="../shared/data/mnist")
args = parser.parse_args()

config = FitConfig(generator="builtin:mnist", steps=args.steps, eval_every=args.steps,
                   dreaming=DreamingConfig(sigma_x=0.1, lambda_z=0.0))
fit(config, args.out, quiet=True)

inverter = Inverter.load(args.out)  # the run folder's inverter/ artifact
real = load_images("mnist", root=args.root, split="test", limit=32).images  # (32, 1, 28, 28) in [-1, 1]
result = invert(inverter, real, refine_steps=50)
print({k: v for k, v in result.metrics.items() if k != "n"})
save_side_by_side([real, result.reconstructions], f"{args.out}/example-inversion.png")
print(f"wrote {args.out}/example-inversion.png")
