"""Log-likelihood bounds of a generator's own samples and of real images.

    uv run python examples/loglik_of_samples.py

Uses the built-in generator's shipped encoders (ganinv/builtin/mnist/inverter).
"""

import importlib.resources

import torch

from ganinv.data import load_images
from ganinv.inverter import Inverter
from ganinv.loglik import log_likelihood

artifact = importlib.resources.files("ganinv") / "builtin" / "mnist" / "inverter"
inverter = Inverter.load(str(artifact))
_, samples = inverter.generator.sample(8, generator=torch.Generator().manual_seed(0))
real = load_images("mnist", root="../shared/data/mnist", limit=8).images

for name, images in (("generated", samples), ("real MNIST", real)):
    ll = log_likelihood(inverter, images, ks=(1, 16), sigma_x=0.3, generator=torch.Generator().manual_seed(0))
    print(name, ll.summary())
