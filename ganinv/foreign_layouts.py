"""Weights that no adapter reads, recognised only so that their refusal says what the file holds.

A file no adapter can read gets one error. When its keys are those of a known codebase that ganinv does not model
(StyleGAN, ajbrock's BigGAN, diffusers), or its first layer takes images rather than noise (a discriminator, a
classifier, an image-to-image generator), saying so is more use than listing every adapter's reason. Nothing here
loads anything: it only names.
"""

from __future__ import annotations

from typing import Mapping, Optional

import torch

# (substrings that must all appear among the keys, what such a file is)
KNOWN_LAYOUTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("style.", "convs.", "to_rgb"), "a StyleGAN2 generator in rosinality's layout (style., convs., to_rgbs.)"),
    (("mapping.", "synthesis."), "a StyleGAN2-ADA or StyleGAN3 generator in NVlabs' layout (mapping., synthesis.)"),
    (("shared.weight", ".u0"), "a BigGAN in ajbrock's BigGAN-PyTorch layout (a shared class embedding, u0 buffers)"),
    (("encoder.", "decoder.", "quant_conv"), "an autoencoder in diffusers' AutoencoderKL layout"),
    (("down_blocks.", "up_blocks."), "a diffusers UNet, the denoiser of a diffusion model, not a GAN generator"),
)
IMAGE_CHANNELS = (1, 3, 4)  # grey, RGB, RGBA
# Structures no adapter builds, named by the words their codebases give the layers (an outside audit: the ResNet
# WGAN-GP, SNGAN and SAGAN generators got the generic "cannot tell the architecture; pass --arch", which no --arch
# could satisfy, its reasons reading their convolutions as transposed ones)
SHORTCUT_WORDS = ("shortcut", "conv_sc", "skip_conv", "bypass", "resblock", "res_block", "residual", "resnet_")
# a shortcut convolution named by a whole layer name (torch_mimicry's SNGAN: block2.c_sc.weight, beside c1 and c2);
# not `sc` or `skip` alone, a learned scalar's or an MLP's names as often (review 37a)
SHORTCUT_LAYERS = ("c_sc", "conv_s")  # GAN_stability's resnet_i_j.conv_s (an outside audit, 53b)
# the two stacked convolutions of a block, as code bases name them
BLOCK_PAIRS = ((".conv1.", ".conv2."), (".conv_0.", ".conv_1."))
ATTENTION_WORDS = ("attn", "attention")
ATTENTION_PARTS = ("query", "gamma", "theta", "phi")


NOT_A_GENERATOR = "not a noise-to-image generator"


def recognise(state_dict: Mapping[str, torch.Tensor]) -> Optional[str]:
    """What the file holds, where its keys or first layer say it; None where they do not."""
    keys = list(state_dict)
    for needles, what in KNOWN_LAYOUTS:
        if all(any(needle in key for key in keys) for needle in needles):
            return what
    structure = unmodelled_structure(keys)
    if structure is not None:
        return structure
    first = next((t for t in state_dict.values() if isinstance(t, torch.Tensor) and t.dim() >= 2), None)
    if first is not None and first.dim() == 4 and int(first.shape[1]) in IMAGE_CHANNELS:
        # a Conv2d weight is (out, in, kH, kW): a first layer over 1, 3 or 4 channels reads images (a generator's
        # first layer takes the latent: a Linear, or a ConvTranspose2d whose weight is (nz, out, kH, kW))
        return (
            f"a network whose first layer convolves {int(first.shape[1])}-channel images: a discriminator, a "
            f"classifier, an encoder or an image-to-image generator (CycleGAN, pix2pix), {NOT_A_GENERATOR}"
        )
    return None


def unmodelled_structure(keys: list[str]) -> Optional[str]:
    """Self-attention or residual blocks, from the layers' names: a block with a shortcut convolution, or two or
    more blocks each of a `conv1` and a `conv2` (SNGAN's ports name no shortcut)."""
    lowered = [key.lower() for key in keys]
    if any(w in key for key in lowered for w in ATTENTION_WORDS) and any(
        p in key for key in lowered for p in ATTENTION_PARTS
    ):
        return "a generator with self-attention layers (SAGAN, BigGAN)"
    paired = set().union(
        *(
            {key.rpartition(first)[0] for key in lowered if first in key}
            & {key.rpartition(second)[0] for key in lowered if second in key}
            for first, second in BLOCK_PAIRS
        )
    )
    shortcut = any(w in key for key in lowered for w in SHORTCUT_WORDS) or any(
        f".{layer}.weight" in f".{key}" for key in lowered for layer in SHORTCUT_LAYERS
    )
    if shortcut or len(paired) >= 2:
        return (
            "a generator built of residual blocks (a shortcut beside stacked convolutions, as in the ResNet "
            "WGAN-GP, SNGAN and BigGAN generators)"
        )
    return None
