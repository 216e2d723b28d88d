"""`dcgan`: the transposed-convolution generator of Radford et al. (DCGAN), any public layout.

As in the PyTorch DCGAN example: `z` enters as `(nz, 1, 1)`, stages of ConvTranspose2d ->
BatchNorm2d -> ReLU, the last ConvTranspose2d ending in Tanh. With the defaults (64 pixels,
width 64): 100 -> 512x4x4 -> 256x8x8 -> 128x16x16 -> 64x32x32 -> 3x64x64.

State dicts saved by other codebases load under their own key names: sizes, kernels, bias
and BatchNorms are read from the tensors, strides and paddings from the BatchNorm running
statistics (see `convt_layout.py` and `convt_geometry.py`). Examples:
`--generator netG_epoch_24.pth --arch dcgan` (pytorch/examples `main.N`), or any hub repo
written by `PyTorchModelHubMixin` for such a module (`ngf`/`nc`-style init kwargs, or the HugGAN
sprint's `num_channels`/`latent_dim`/`hidden_size`): a config's sizes are evidence, and one that
disagrees with the weights is an error naming both.
"""

from __future__ import annotations

from typing import Any, Mapping

import torch

from ganinv.architectures import Architecture, Built, register
from ganinv.errors import ArchitectureError

from . import convt, convt_identify, convt_layout
from .statedict import PriorFromSpec


@register
class DCGAN(PriorFromSpec, Architecture):
    name = "dcgan"
    Options = convt.ConvTOptions
    summary = "DCGAN (Radford et al.): z as (nz,1,1), ConvTranspose2d+BatchNorm+ReLU stages, Tanh"
    aliases = {
        "ngf": "width",
        "nc": "channels",
        "latent_dim": "nz",
        "z_dim": "nz",
        "channels_noise": "nz",
        "channels_img": "channels",
        "img_channels": "channels",
        "image_size": "resolution",
        "img_size": "resolution",
        "isize": "resolution",
        "num_channels": "channels",
        "hidden_size": "width",
    }  # the HugGAN sprint DCGAN's mixin kwargs

    def build(self, options: convt.ConvTOptions) -> Built:
        if options.head != "none":
            raise ArchitectureError(
                "dcgan feeds z straight into a transposed convolution (head=none); "
                "use --arch wgan_gp for a generator with a Linear head"
            )
        net = convt.ConvTNet(options)
        return Built(net, net.spec())

    def make_options(self, values: Mapping[str, Any]) -> convt.ConvTOptions:
        return convt.complete(super().make_options(values))  # geometry resolved: saved configs reload as built

    def infer_options(self, state_dict: Mapping[str, torch.Tensor], given: dict[str, Any]) -> dict[str, Any]:
        layout = convt_layout.read_layout(state_dict)
        if layout.head is not None:
            raise ArchitectureError(
                "these weights start with a Linear layer, not a transposed convolution; load them with --arch wgan_gp"
            )
        convt_layout.check_last_bias(layout, given)
        width = convt_layout.hidden_width(layout, given)  # before the search: a config that disagrees fails fast
        values = {**convt_identify.infer_options(self, state_dict, given), **width}
        convt_identify.check_resolution(self, values, given)
        return values

    def convert_state_dict(self, state_dict: dict[str, torch.Tensor], options: Any) -> dict[str, torch.Tensor]:
        return convt_layout.read_layout(state_dict).canonical_state_dict()
