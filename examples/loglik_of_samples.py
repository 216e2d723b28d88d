"""Log-likelihood bounds of a generator's own samples and, optionally, of real images.

    uv run python examples/loglik_of_samples.py [--root PATH/mnist]

Uses the built-in generator's shipped encoders (ganinv/builtin/mnist/inverter), scored with the
observation std they were fitted with (recorded in the artifact).
"""

import argparse
import importlib.resources

import torch

import ganinv

parser = argparse.ArgumentParser()
parser.add_argument("--root", default=None, help="folder with the original MNIST IDX files, to score real digits too")
args = parser.parse_args()

artifact = importlib.resources.files("ganinv") / "builtin" / "mnist" / "inverter"
inverter = ganinv.Inverter.load(str(artifact))
_, samples = inverter.generator.sample(8, generator=torch.Generator().manual_seed(0))
sets = {"generated": samples}
if args.root:
    sets["real MNIST"] = ganinv.load_images("mnist", root=args.root, limit=8).images

for name, images in sets.items():
    bounds = ganinv.log_likelihood(
        inverter, images, ks=(1, 16), sigma_x=inverter.sigma_x, generator=torch.Generator().manual_seed(0)
    )
    print(name, bounds.summary())
