"""`wgan_gp`: the WGAN-GP generator of Gulrajani et al. (Improved Training of Wasserstein GANs).

A Linear layer maps `z` (and a class label) to a small feature map, then transposed
convolutions upsample it to the image: with the defaults (32 pixels, DIM = width = 64),
128 -> 256x4x4 -> 128x8x8 -> 64x16x16 -> 3x32x32, BatchNorm and ReLU between, Tanh last.

- Class-conditional: `n_classes=K` with a label embedding (a soft one-hot d enters as
  `d @ embedding.weight`, so codes stay differentiable) or `condition=onehot` (d is
  concatenated to z).
- Public PyTorch ports load under their own key names (see `convt_layout.py`): caogang/wgan-gp
  `gan_mnist.py` (kernels 5, 5, 8, a crop to 7x7, Sigmoid: recognised from its weights) and
  `gan_cifar10.py` (BatchNorm1d on the Linear output, 2x2 stride-2 convolutions).
- `head=none`: WGAN-GP code that uses the DCGAN generator (caogang `gan_64x64.py`, and the
  real MNIST checkpoint in `shared/generators/mnist-wgangp`: kernels 3, 4, 3, 4 with
  strides and paddings read off its BatchNorm statistics) loads with `--arch wgan_gp`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import torch

from ganinv.architectures import Architecture, Built, register

from . import convt, convt_identify, convt_layout
from .statedict import PriorFromSpec

KNOWN = (
    convt_identify.KnownGeometry(
        source="caogang/wgan-gp gan_mnist.py",
        match={"head": "linear", "kernels": (5, 5, 8), "norm": "none", "head_norm": "none", "channels": 1},
        options={
            "strides": (1, 1, 2),
            "paddings": (0, 0, 0),
            "crops": (7, 0, 0),
            "output": "sigmoid",
            "activation": "relu",
        },
    ),
)


@dataclass
class WGANGPOptions(convt.ConvTOptions):
    nz: int = 128  # noise size
    resolution: int = 32  # image side (28, 32, 64, 128)
    head: str = "linear"  # "linear": Linear to (head_channels, head_size, head_size); "none": z as (nz, 1, 1)
    bias: bool = True  # the hidden transposed convolutions have a bias
    last_bias: bool = True  # the last one has a bias


@register
class WGANGP(PriorFromSpec, Architecture):
    name = "wgan_gp"
    Options = WGANGPOptions
    summary = "WGAN-GP (Gulrajani et al.): Linear to a small map, ConvTranspose2d stages; conditional optional"
    aliases = {
        "DIM": "width",
        "dim": "width",
        "latent_dim": "nz",
        "z_dim": "nz",
        "nc": "channels",
        "img_channels": "channels",
        "num_classes": "n_classes",
        "img_size": "resolution",
        "image_size": "resolution",
        "embed_size": "embed_dim",
        "num_channels": "channels",
        "hidden_size": "width",
    }

    def build(self, options: WGANGPOptions) -> Built:
        net = convt.ConvTNet(options)
        return Built(net, net.spec())

    def make_options(self, values: Mapping[str, Any]) -> convt.ConvTOptions:
        return convt.complete(super().make_options(values))  # geometry resolved: saved configs reload as built

    def infer_options(self, state_dict: Mapping[str, torch.Tensor], given: dict[str, Any]) -> dict[str, Any]:
        layout = convt_layout.read_layout(state_dict)
        convt_layout.check_last_bias(layout, given)
        width = convt_layout.hidden_width(layout, given)  # before the search: a config that disagrees fails fast
        values = {**convt_identify.infer_options(self, state_dict, given, KNOWN), **width}
        convt_identify.check_resolution(self, values, given)
        return values

    def convert_state_dict(self, state_dict: dict[str, torch.Tensor], options: Any) -> dict[str, torch.Tensor]:
        return convt_layout.read_layout(state_dict).canonical_state_dict()
