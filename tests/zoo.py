"""Test material for the generator tests: tiny generators laid out like public GAN code, and files as tools write them.

Each module reproduces the *state dict layout* (key names, layer order, bias and BatchNorm
placement, geometry, last activation) of a public implementation, at toy widths. Their
BatchNorm running statistics are calibrated by forward passes in training mode, as
training would leave them, so geometry inference has real statistics to read.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from torch import nn
from torch.nn import functional as F

from ganinv.spec import Latents


def convt_block(c_in, c_out, k, s, p, bias=False):
    return nn.Sequential(nn.ConvTranspose2d(c_in, c_out, k, s, p, bias=bias), nn.BatchNorm2d(c_out), nn.ReLU())


class ExamplesDCGAN(nn.Module):
    """pytorch/examples dcgan/main.py (and the PyTorch DCGAN tutorial): `main.N`, no bias, 4x4 kernels."""

    def __init__(self, nz=8, ngf=4, nc=3):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 4, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
            nn.Tanh(),
        )

    def forward(self, z):  # (N, nz, 1, 1) -> (N, nc, 32, 32)
        return self.main(z)


class PerssonWGANGP(nn.Module):
    """Aladdin Persson's WGAN-GP / DCGAN tutorial: `net.i.0` blocks without bias, a final ConvT with bias."""

    def __init__(self, nz=8, features=2, nc=1):
        super().__init__()
        self.net = nn.Sequential(
            convt_block(nz, features * 8, 4, 1, 0),
            convt_block(features * 8, features * 4, 4, 2, 1),
            convt_block(features * 4, features * 2, 4, 2, 1),
            nn.ConvTranspose2d(features * 2, nc, 4, 2, 1),
            nn.Tanh(),
        )

    def forward(self, z):
        return self.net(z)


class RyhanWGANGP(nn.Module):
    """The layout of shared/generators/mnist-wgangp: `gen.<stage>.<layer>`, kernels 3,4,3,4, strides 2,1,2,2."""

    def __init__(self, nz=8, widths=(16, 8, 4)):
        super().__init__()
        a, b, c = widths
        self.gen = nn.Sequential(
            convt_block(nz, a, 3, 2, 0, True),
            convt_block(a, b, 4, 1, 0, True),
            convt_block(b, c, 3, 2, 0, True),
            nn.Sequential(nn.ConvTranspose2d(c, 1, 4, 2, 0), nn.Tanh()),
        )

    def forward(self, z):  # 1 -> 3 -> 6 -> 13 -> 28
        return self.gen(z)


class ZnxlwmDCGAN(nn.Module):
    """znxlwm/pytorch-MNIST-CelebA-GAN-CGAN DCGAN: attributes `deconvN` / `deconvN_bn`, with bias."""

    def __init__(self, nz=8, d=4):
        super().__init__()
        self.deconv1 = nn.ConvTranspose2d(nz, d * 4, 4, 1, 0)
        self.deconv1_bn = nn.BatchNorm2d(d * 4)
        self.deconv2 = nn.ConvTranspose2d(d * 4, d * 2, 4, 2, 1)
        self.deconv2_bn = nn.BatchNorm2d(d * 2)
        self.deconv3 = nn.ConvTranspose2d(d * 2, d, 4, 2, 1)
        self.deconv3_bn = nn.BatchNorm2d(d)
        self.deconv4 = nn.ConvTranspose2d(d, 1, 4, 2, 1)

    def forward(self, z):
        x = F.relu(self.deconv1_bn(self.deconv1(z)))
        x = F.relu(self.deconv2_bn(self.deconv2(x)))
        x = F.relu(self.deconv3_bn(self.deconv3(x)))
        return torch.tanh(self.deconv4(x))


class NatsuDCGAN(nn.Module):
    """Natsu6767/DCGAN-PyTorch: `tconvN` / `bnN`, no bias (keys sort bn* before tconv*: order from channels)."""

    def __init__(self, nz=8, ngf=4, nc=3):
        super().__init__()
        self.tconv1 = nn.ConvTranspose2d(nz, ngf * 4, 4, 1, 0, bias=False)
        self.bn1 = nn.BatchNorm2d(ngf * 4)
        self.tconv2 = nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(ngf * 2)
        self.tconv3 = nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(ngf)
        self.tconv4 = nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False)

    def forward(self, z):
        x = F.relu(self.bn1(self.tconv1(z)))
        x = F.relu(self.bn2(self.tconv2(x)))
        x = F.relu(self.bn3(self.tconv3(x)))
        return torch.tanh(self.tconv4(x))


class NatsuInfoGAN(nn.Module):
    """Natsu6767/InfoGAN-PyTorch `models/mnist_model.py`: cat(z, one-hot, U(-1, 1) codes) as (N, 74, 1, 1) through a
    1x1 transposed convolution, then k7 and two k4 stride 2 stages to 28 px, Sigmoid (small: 8 + 4 + 2 inputs)."""

    def __init__(self, nz=8, n_classes=4, nc=2, width=8):
        super().__init__()
        self.tconv1 = nn.ConvTranspose2d(nz + n_classes + nc, width * 4, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width * 4)
        self.tconv2 = nn.ConvTranspose2d(width * 4, width * 2, 7, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width * 2)
        self.tconv3 = nn.ConvTranspose2d(width * 2, width, 4, 2, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(width)
        self.tconv4 = nn.ConvTranspose2d(width, 1, 4, 2, padding=1, bias=False)

    def forward(self, z, d, c):  # the author concatenates in the training loop: cat(z, idx one-hot, con_c)
        x = torch.cat([z, d[:, :, None, None], c[:, :, None, None]], dim=1)
        x = F.relu(self.bn1(self.tconv1(x)))
        x = F.relu(self.bn2(self.tconv2(x)))
        x = F.relu(self.bn3(self.tconv3(x)))
        return torch.sigmoid(self.tconv4(x))


class InfoGANPaperMNIST(nn.Module):
    """The InfoGAN paper's MNIST generator (Chen et al. 2016, Table 1 of its appendix), as its PyTorch ports write it:
    cat(z, one-hot, U(-1, 1) codes) -> FC 1024 -> BN -> ReLU -> FC 7x7x128 -> BN -> ReLU -> 4x4 up-convolutions
    to 64 channels and the image, Sigmoid (small: 8 + 4 + 2 inputs, FC 32, 16x7x7)."""

    def __init__(self, nz=8, n_classes=4, nc=2, width=8):
        super().__init__()
        self.fc = nn.Sequential(
            nn.Linear(nz + n_classes + nc, width * 4),
            nn.BatchNorm1d(width * 4),
            nn.ReLU(),
            nn.Linear(width * 4, width * 2 * 7 * 7),
            nn.BatchNorm1d(width * 2 * 7 * 7),
            nn.ReLU(),
        )
        self.upconv = nn.Sequential(
            nn.ConvTranspose2d(width * 2, width, 4, 2, 1),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.ConvTranspose2d(width, 1, 4, 2, 1),
            nn.Sigmoid(),
        )
        self.width = width

    def forward(self, z, d, c):
        x = self.fc(torch.cat([z, d, c], dim=1))
        return self.upconv(x.view(-1, self.width * 2, 7, 7))


class ArjovskyDCGAN(nn.Module):
    """martinarjovsky/WassersteinGAN models/dcgan.py DCGAN_G: `main.initial:8-16:convt`-style names."""

    def __init__(self, nz=8, cngf=16, nc=3):
        super().__init__()
        main = nn.Sequential()
        main.add_module(f"initial:{nz}-{cngf}:convt", nn.ConvTranspose2d(nz, cngf, 4, 1, 0, bias=False))
        main.add_module(f"initial:{cngf}:batchnorm", nn.BatchNorm2d(cngf))
        main.add_module(f"initial:{cngf}:relu", nn.ReLU(True))
        for _ in range(2):
            main.add_module(
                f"pyramid:{cngf}-{cngf // 2}:convt", nn.ConvTranspose2d(cngf, cngf // 2, 4, 2, 1, bias=False)
            )
            main.add_module(f"pyramid:{cngf // 2}:batchnorm", nn.BatchNorm2d(cngf // 2))
            main.add_module(f"pyramid:{cngf // 2}:relu", nn.ReLU(True))
            cngf //= 2
        main.add_module(f"final:{cngf}-{nc}:convt", nn.ConvTranspose2d(cngf, nc, 4, 2, 1, bias=False))
        main.add_module(f"final:{nc}:tanh", nn.Tanh())
        self.main = main

    def forward(self, z):
        return self.main(z)


class CaogangMNIST(nn.Module):
    """caogang/wgan-gp gan_mnist.py: Linear to 4x4x4DIM, k5, crop to 7x7, k5, k8 stride 2, Sigmoid, flat output."""

    def __init__(self, nz=8, dim=4):
        super().__init__()
        self.dim = dim
        self.preprocess = nn.Sequential(nn.Linear(nz, 4 * 4 * 4 * dim), nn.ReLU(True))
        self.block1 = nn.Sequential(nn.ConvTranspose2d(4 * dim, 2 * dim, 5), nn.ReLU(True))
        self.block2 = nn.Sequential(nn.ConvTranspose2d(2 * dim, dim, 5), nn.ReLU(True))
        self.deconv_out = nn.ConvTranspose2d(dim, 1, 8, stride=2)

    def forward(self, z):
        x = self.preprocess(z).view(-1, 4 * self.dim, 4, 4)
        x = self.block1(x)[:, :, :7, :7]
        x = self.deconv_out(self.block2(x))
        return torch.sigmoid(x).view(-1, 784)


class CaogangCIFAR(nn.Module):
    """caogang/wgan-gp gan_cifar10.py: Linear + BatchNorm on the flat output, three 2x2 stride-2 ConvT."""

    def __init__(self, nz=8, dim=4):
        super().__init__()
        self.dim = dim
        self.preprocess = nn.Sequential(nn.Linear(nz, 4 * 4 * 4 * dim), nn.BatchNorm1d(4 * 4 * 4 * dim), nn.ReLU(True))
        self.block1 = nn.Sequential(
            nn.ConvTranspose2d(4 * dim, 2 * dim, 2, stride=2), nn.BatchNorm2d(2 * dim), nn.ReLU(True)
        )
        self.block2 = nn.Sequential(nn.ConvTranspose2d(2 * dim, dim, 2, stride=2), nn.BatchNorm2d(dim), nn.ReLU(True))
        self.deconv_out = nn.ConvTranspose2d(dim, 3, 2, stride=2)

    def forward(self, z):
        x = self.preprocess(z).view(-1, 4 * self.dim, 4, 4)
        return torch.tanh(self.deconv_out(self.block2(self.block1(x)))).view(-1, 3, 32, 32)


class ConditionalDCGAN(nn.Module):
    """Conditional WGAN-GP (Persson's tutorial): `embed` of the label concatenated to z as channels."""

    def __init__(self, nz=8, n_classes=5, embed=3, features=2, nc=1):
        super().__init__()
        self.net = nn.Sequential(
            convt_block(nz + embed, features * 8, 4, 1, 0),
            convt_block(features * 8, features * 4, 4, 2, 1),
            convt_block(features * 4, features * 2, 4, 2, 1),
            nn.ConvTranspose2d(features * 2, nc, 4, 2, 1),
            nn.Tanh(),
        )
        self.embed = nn.Embedding(n_classes, embed)

    def forward(self, z, labels):
        return self.net(torch.cat([z, self.embed(labels)[:, :, None, None]], dim=1))


def mlp_block(n_in, n_out, normalize=True):
    layers = [nn.Linear(n_in, n_out)]
    if normalize:
        layers.append(nn.BatchNorm1d(n_out, 0.8))  # sets eps=0.8, as the original does
    layers.append(nn.LeakyReLU(0.2, inplace=True))
    return layers


class PyTorchGANMLP(nn.Module):
    """eriklindernoren/PyTorch-GAN gan / wgan / wgan_gp: `model.N`, BatchNorm1d(n, 0.8) from the second layer."""

    def __init__(self, nz=8, hidden=(16, 32, 64), shape=(1, 28, 28)):
        super().__init__()
        self.shape = shape
        self.model = nn.Sequential(
            *mlp_block(nz, hidden[0], normalize=False),
            *mlp_block(hidden[0], hidden[1]),
            *mlp_block(hidden[1], hidden[2]),
            nn.Linear(hidden[2], 28 * 28),
            nn.Tanh(),
        )

    def forward(self, z):
        return self.model(z).view(z.shape[0], *self.shape)


class PyTorchGANCGAN(nn.Module):
    """eriklindernoren/PyTorch-GAN cgan: `label_emb` (K x K) placed before z, then the MLP."""

    def __init__(self, nz=8, n_classes=4, hidden=(16, 32, 64)):
        super().__init__()
        self.label_emb = nn.Embedding(n_classes, n_classes)
        self.model = nn.Sequential(
            *mlp_block(nz + n_classes, hidden[0], normalize=False),
            *mlp_block(hidden[0], hidden[1]),
            *mlp_block(hidden[1], hidden[2]),
            nn.Linear(hidden[2], 28 * 28),
            nn.Tanh(),
        )

    def forward(self, z, labels):
        return self.model(torch.cat([self.label_emb(labels), z], -1)).view(z.shape[0], 1, 28, 28)


class PyTorchGANDCGAN(nn.Module):
    """eriklindernoren/PyTorch-GAN dcgan: `l1.0` Linear, `conv_blocks.N`: BatchNorm, Upsample+Conv2d blocks."""

    def __init__(self, nz=8, n_in=None, img_size=16, channels=1, width=8):  # the author's width: 128
        super().__init__()
        self.init_size, self.width = img_size // 4, width
        self.l1 = nn.Sequential(nn.Linear(n_in or nz, width * self.init_size**2))
        self.conv_blocks = nn.Sequential(
            nn.BatchNorm2d(width),
            nn.Upsample(scale_factor=2),
            nn.Conv2d(width, width, 3, stride=1, padding=1),
            nn.BatchNorm2d(width, 0.8),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Upsample(scale_factor=2),
            nn.Conv2d(width, width // 2, 3, stride=1, padding=1),
            nn.BatchNorm2d(width // 2, 0.8),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(width // 2, channels, 3, stride=1, padding=1),
            nn.Tanh(),
        )

    def forward(self, z):
        out = self.l1(z)
        return self.conv_blocks(out.view(out.shape[0], self.width, self.init_size, self.init_size))


class PyTorchGANACGAN(PyTorchGANDCGAN):
    """PyTorch-GAN acgan: `label_emb` (K x nz) multiplies the noise."""

    def __init__(self, nz=8, n_classes=4):
        super().__init__(nz)
        self.label_emb = nn.Embedding(n_classes, nz)

    def forward(self, z, labels):
        return super().forward(torch.mul(self.label_emb(labels), z))


class PyTorchGANInfoGAN(PyTorchGANDCGAN):
    """PyTorch-GAN infogan: input cat(noise, one-hot label, code), codes drawn from U(-1, 1)."""

    def __init__(self, nz=8, n_classes=4, code_dim=2):
        super().__init__(nz, n_in=nz + n_classes + code_dim)

    def forward(self, z, onehot, code):
        return super().forward(torch.cat((z, onehot, code), -1))


@dataclass
class Case:
    name: str
    make: Callable[[], nn.Module]
    arch: str  # the ganinv architecture that should load it
    nz: int = 8
    image_shape: tuple[int, int, int] = (3, 32, 32)
    z_4d: bool = True  # the module takes z as (N, nz, 1, 1)
    n_classes: int = 0  # the module takes integer labels too
    sigmoid: bool = False  # the module's images are in [0, 1]
    nc: int = 0  # InfoGAN codes: the module takes (z, one-hot d, U(-1,1) code)
    options: dict = field(default_factory=dict)  # what loading needs beyond the weights

    def build(self, seed: int = 0) -> nn.Module:
        torch.manual_seed(seed)
        module = self.make()
        calibrate(module, self)
        return module

    def inputs(self, latents: Latents) -> tuple:
        z = latents.z[:, :, None, None] if self.z_4d else latents.z
        if self.nc:
            return z, latents.d, 2 * torch.special.ndtr(latents.c) - 1
        return (z, latents.d.argmax(1)) if self.n_classes else (z,)

    @torch.no_grad()
    def reference(self, module: nn.Module, latents: Latents) -> torch.Tensor:
        """The public module's images for ganinv's latents, in [-1, 1] and (N, C, H, W)."""
        x = module(*self.inputs(latents)).reshape(len(latents), *self.image_shape)
        return x * 2 - 1 if self.sigmoid else x


def latents_for(case: Case, n: int, seed: int = 1) -> Latents:
    rng = torch.Generator().manual_seed(seed)
    z = torch.randn(n, case.nz, generator=rng)
    d = (
        F.one_hot(torch.randint(case.n_classes, (n,), generator=rng), case.n_classes).float()
        if case.n_classes
        else None
    )
    c = torch.randn(n, case.nc, generator=rng) if case.nc else None
    return Latents(z=z, c=c, d=d)


@torch.no_grad()
def calibrate(module: nn.Module, case: Case, batches: int = 8, n: int = 64) -> None:
    """Leave the BatchNorm running statistics as training would: averages of training-mode batch statistics."""
    for m in module.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None  # cumulative average
    module.train()
    for i in range(batches):
        module(*case.inputs(latents_for(case, n, seed=100 + i)))
    for m in module.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.momentum = 0.1
    module.eval()


CASES = [
    Case("pytorch-examples-dcgan", ExamplesDCGAN, "dcgan"),
    Case("persson-wgan-gp", PerssonWGANGP, "dcgan", image_shape=(1, 32, 32)),
    Case("ryhan-wgan-gp", RyhanWGANGP, "dcgan", image_shape=(1, 28, 28)),
    Case("znxlwm-dcgan", ZnxlwmDCGAN, "dcgan", image_shape=(1, 32, 32)),
    Case("natsu-dcgan", NatsuDCGAN, "dcgan"),
    Case("arjovsky-dcgan", ArjovskyDCGAN, "dcgan"),
    Case(
        "natsu-infogan",
        NatsuInfoGAN,
        "dcgan",
        image_shape=(1, 28, 28),
        n_classes=4,
        nc=2,
        sigmoid=True,
        options={"n_classes": "4", "nc": "2", "output": "sigmoid"},
    ),
    Case(
        "infogan-paper-mnist",
        InfoGANPaperMNIST,
        "wgan_gp",
        image_shape=(1, 28, 28),
        z_4d=False,
        n_classes=4,
        nc=2,
        sigmoid=True,
        options={"n_classes": "4", "nc": "2", "output": "sigmoid"},
    ),
    Case("caogang-gan-mnist", CaogangMNIST, "wgan_gp", image_shape=(1, 28, 28), z_4d=False, sigmoid=True),
    Case("caogang-gan-cifar10", CaogangCIFAR, "wgan_gp", z_4d=False),
    Case("conditional-dcgan", ConditionalDCGAN, "dcgan", image_shape=(1, 32, 32), n_classes=5),
    Case("pytorch-gan-wgan-gp-mlp", PyTorchGANMLP, "mlp", image_shape=(1, 28, 28), z_4d=False),
    Case("pytorch-gan-cgan", PyTorchGANCGAN, "mlp", image_shape=(1, 28, 28), z_4d=False, n_classes=4),
    Case("pytorch-gan-dcgan", PyTorchGANDCGAN, "upconv", image_shape=(1, 16, 16), z_4d=False),
    Case("pytorch-gan-acgan", PyTorchGANACGAN, "upconv", image_shape=(1, 16, 16), z_4d=False, n_classes=4),
    Case(
        "pytorch-gan-infogan",
        PyTorchGANInfoGAN,
        "upconv",
        image_shape=(1, 16, 16),
        z_4d=False,
        n_classes=4,
        nc=2,
        options={"n_classes": "4", "nc": "2"},
    ),
]


def bilinear_pytorch_gan_dcgan() -> tuple[nn.Module, Case]:
    """(module, its case): PyTorch-GAN's dcgan layout upsampling bilinear, not nearest, its statistics as trained."""
    found = case("pytorch-gan-dcgan")
    torch.manual_seed(0)
    module = found.make()
    for layer in module.modules():
        if isinstance(layer, nn.Upsample):
            layer.mode = "bilinear"
    calibrate(module, found)
    return module, found


def case(name: str) -> Case:
    return next(c for c in CASES + IDENTIFIED if c.name == name)


# ---- files as other tools write them ------------------------------------------------------------------

HUB_SHA = "0123456789abcdef0123456789abcdef01234567"


def cache_repo(cache: Path, repo: str, files: dict[str, Path], sha: str = HUB_SHA) -> None:
    """Lay files out as the hub client caches them: models--owner--name/{refs/main, snapshots/<sha>/...}."""
    root = cache / f"models--{repo.replace('/', '--')}"
    (root / "refs").mkdir(parents=True, exist_ok=True)
    (root / "refs" / "main").write_text(sha)
    snapshot = root / "snapshots" / sha
    snapshot.mkdir(parents=True, exist_ok=True)
    for name, path in files.items():
        shutil.copy(path, snapshot / name)


class Marker:
    """Unpickling this would create a file: what a malicious checkpoint does."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


# ---- the two GAN families that dominate the Hub, at toy sizes --------------------------------------------
# Reference modules written from the projects' model code, with their state dict key names; the computations
# are spelled out independently of ganinv's adapters (explicit shifts, per-head loops) so that a shared mistake
# cannot hide.

import json  # noqa: E402
import math  # noqa: E402


class HugGANBlur(nn.Module):
    """kornia `filter2d(x, f f^T, normalized=True)` with reflected borders, as separable shifts."""

    def __init__(self):
        super().__init__()
        self.register_buffer("f", torch.tensor([1.0, 2.0, 1.0]))

    def forward(self, x):
        w = self.f / self.f.sum()
        p = F.pad(x, (1, 1, 1, 1), mode="reflect")
        rows = w[0] * p[:, :, :-2] + w[1] * p[:, :, 1:-1] + w[2] * p[:, :, 2:]
        return w[0] * rows[..., :-2] + w[1] * rows[..., 1:-1] + w[2] * rows[..., 2:]


class HugGANGlobalContext(nn.Module):
    def __init__(self, chan_in, chan_out):
        super().__init__()
        self.to_k = nn.Conv2d(chan_in, 1, 1)
        hidden = max(3, chan_out // 2)
        self.net = nn.Sequential(
            nn.Conv2d(chan_in, hidden, 1), nn.LeakyReLU(0.1), nn.Conv2d(hidden, chan_out, 1), nn.Sigmoid()
        )

    def forward(self, x):
        attn = self.to_k(x).flatten(2).softmax(dim=-1)  # (B, 1, HW)
        pooled = (x.flatten(2) * attn).sum(dim=-1)[..., None, None]  # (B, C, 1, 1)
        return self.net(pooled)


def huggan_dct_weights(width, channels):
    """The project's get_dct_weights with its 16 (u, v) frequencies."""
    freqs = list(zip([0] * 8 + list(range(8)), list(range(8)) + [0] * 8))
    weights = torch.zeros(1, channels, width, width)
    part = channels // len(freqs)

    def basis(i, freq):
        value = math.cos(math.pi * freq * (i + 0.5) / width) / math.sqrt(width)
        return value * (1 if freq == 0 else math.sqrt(2))

    for n, (u, v) in enumerate(freqs):
        for x in range(width):
            for y in range(width):
                weights[:, n * part : (n + 1) * part, x, y] = basis(x, u) * basis(y, v)
    return weights


class HugGANFCANet(nn.Module):
    def __init__(self, chan_in, chan_out, width):
        super().__init__()
        self.register_buffer("dct_weights", huggan_dct_weights(width, chan_in))
        hidden = max(3, chan_out // 4)
        self.net = nn.Sequential(
            nn.Conv2d(chan_in, hidden, 1), nn.LeakyReLU(0.1), nn.Conv2d(hidden, chan_out, 1), nn.Sigmoid()
        )

    def forward(self, x):
        return self.net((x * self.dct_weights).sum(dim=(-1, -2), keepdim=True))


class HugGANChanNorm(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.g = nn.Parameter(torch.ones(1, dim, 1, 1))
        self.b = nn.Parameter(torch.zeros(1, dim, 1, 1))

    def forward(self, x):
        mean = x.mean(dim=1, keepdim=True)
        var = ((x - mean) ** 2).mean(dim=1, keepdim=True)
        return (x - mean) / (var + 1e-5).sqrt() * self.g + self.b


class HugGANDepthWise(nn.Module):
    def __init__(self, dim_in, dim_out):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(dim_in, dim_in, 3, padding=1, groups=dim_in, bias=False),
            nn.Conv2d(dim_in, dim_out, 1, bias=False),
        )

    def forward(self, x):
        return self.net(x)


class HugGANLinearAttention(nn.Module):
    def __init__(self, dim, dim_head=64, heads=8):
        super().__init__()
        self.heads, self.dim_head = heads, dim_head
        self.to_q = nn.Conv2d(dim, dim_head * heads, 1, bias=False)
        self.to_kv = HugGANDepthWise(dim, dim_head * heads * 2)
        self.to_out = nn.Conv2d(dim_head * heads, dim, 1)

    def forward(self, fmap):
        q, kv = self.to_q(fmap), self.to_kv(fmap)
        k, v = kv[:, : kv.shape[1] // 2], kv[:, kv.shape[1] // 2 :]
        outs = []
        for h in range(self.heads):  # one head at a time: channels h*d .. (h+1)*d
            part = slice(h * self.dim_head, (h + 1) * self.dim_head)
            qh, kh, vh = (t[:, part].flatten(2) for t in (q, k, v))  # (B, d, HW)
            qh = qh.softmax(dim=1) * self.dim_head**-0.5
            kh = kh.softmax(dim=2)
            context = kh @ vh.transpose(1, 2)  # (B, d, d): sum over pixels of k_n v_n^T
            outs.append((context.transpose(1, 2) @ qh).reshape(fmap.shape[0], -1, *fmap.shape[2:]))
        return self.to_out(F.gelu(torch.cat(outs, dim=1)))


class HugGANPreNorm(nn.Module):
    def __init__(self, dim, fn):
        super().__init__()
        self.fn, self.norm = fn, HugGANChanNorm(dim)

    def forward(self, x):
        return self.fn(self.norm(x))


class HugGANGenerator(nn.Module):
    """huggan/pytorch/lightweight_gan Generator (community-events), keys `initial_conv.*`, `layers.<i>.<j>.*`."""

    def __init__(
        self,
        image_size=128,
        latent_dim=16,
        fmap_max=16,
        fmap_inverse_coef=8,
        transparent=False,
        greyscale=False,
        attn_res_layers=(8, 16),
        freq_chan_attn=False,
        antialias=False,
    ):
        super().__init__()
        resolution = int(math.log2(image_size))
        channels = 4 if transparent else 1 if greyscale else 3
        self.initial_conv = nn.Sequential(
            nn.ConvTranspose2d(latent_dim, latent_dim * 2, 4), nn.BatchNorm2d(latent_dim * 2), nn.GLU(dim=1)
        )
        n_layers = resolution - 2
        features = [latent_dim] + [
            3 if r >= 8 else min(2 ** (fmap_inverse_coef - r), fmap_max) for r in range(2, n_layers + 2)
        ]
        self.res_layers = range(2, n_layers + 2)
        res_to_features = dict(zip(self.res_layers, zip(features[:-1], features[1:])))
        self.sle_map = {a: b for a, b in ((3, 7), (4, 8), (5, 9), (6, 10)) if a <= resolution and b <= resolution}
        self.layers = nn.ModuleList()
        for res, (chan_in, chan_out) in res_to_features.items():
            attn = HugGANPreNorm(chan_in, HugGANLinearAttention(chan_in)) if 2**res in attn_res_layers else None
            sle = None
            if res in self.sle_map:
                sle_out = res_to_features[self.sle_map[res] - 1][-1]
                sle = (
                    HugGANFCANet(chan_out, sle_out, 2 ** (res + 1))
                    if freq_chan_attn
                    else HugGANGlobalContext(chan_out, sle_out)
                )
            up = nn.Sequential(
                nn.Upsample(scale_factor=2),
                HugGANBlur() if antialias else nn.Identity(),
                nn.Conv2d(chan_in, chan_out * 2, 3, padding=1),
                nn.BatchNorm2d(chan_out * 2),
                nn.GLU(dim=1),
            )
            self.layers.append(nn.ModuleList([up, sle, attn]))
        self.out_conv = nn.Conv2d(features[-1], channels, 3, padding=1)

    def forward(self, x):
        x = F.normalize(self.initial_conv(x[:, :, None, None]), dim=1)
        residuals = {}
        for res, (up, sle, attn) in zip(self.res_layers, self.layers):
            if attn is not None:
                x = attn(x) + x
            x = up(x)
            if sle is not None:
                residuals[self.sle_map[res]] = sle(x)
            if res + 1 in residuals:
                x = x * residuals[res + 1]
        return self.out_conv(x)


class HugGANDiscriminatorStandIn(nn.Module):
    """Not the project's discriminator: a few modules under its top-level names, so the checkpoint has D.* keys."""

    def __init__(self, channels=3):
        super().__init__()
        self.to_logits = nn.Sequential(nn.Conv2d(8, 8, 1), nn.LeakyReLU(0.1), nn.Conv2d(8, 1, 4))
        self.to_shape_disc_out = nn.Sequential(nn.Conv2d(channels, 8, 3, padding=1))


class HugGANAugWrapper(nn.Module):
    def __init__(self, D):
        super().__init__()
        self.D = D


class HugGANLightweightGAN(nn.Module):
    """The whole LightweightGAN whose state dict the sprint saved as {'GAN': ...}: G, D, GE (moving average), D_aug."""

    def __init__(self, seed=0, **kwargs):
        super().__init__()
        torch.manual_seed(seed)
        self.G = HugGANGenerator(**kwargs)
        self.D = HugGANDiscriminatorStandIn(self.G.out_conv.out_channels)
        self.GE = HugGANGenerator(**kwargs)
        self.D_aug = HugGANAugWrapper(self.D)
        for g in (self.G, self.GE):
            for m in g.modules():
                if type(m) in (nn.Conv2d, nn.Linear):
                    nn.init.kaiming_normal_(m.weight, a=0, mode="fan_in", nonlinearity="leaky_relu")
            with torch.no_grad():
                for name, p in g.named_parameters():
                    if name.endswith((".g", ".b", ".bias")):  # away from the identity
                        p.add_(0.2 * torch.randn_like(p))
                g.out_conv.weight.mul_(4.0)
                g.out_conv.bias.fill_(0.5)  # most pixels inside [0, 1], some clamped
            g.train()
            with torch.no_grad():
                for _ in range(2):  # BatchNorm statistics as training leaves them
                    g(torch.randn(8, g.initial_conv[0].in_channels))
            g.eval()

    def sample(self, z, moving_average=True):
        """The project's sampler: G(z).clamp(0, 1), from GE."""
        return (self.GE if moving_average else self.G)(z).clamp(0.0, 1.0)

    def huggan_config(self, **trainer_args):
        """config.json as the sprint's push_to_hub(config=...) wrote it."""
        g = self.G
        return {
            "latent_dim": g.initial_conv[0].in_channels,
            "image_size": 2 ** (len(g.layers) + 2),
            "optimizer": "adam",
            "fmap_max": 16,
            "fmap_inverse_coef": 8,
            "transparent": False,
            "greyscale": g.out_conv.out_channels == 1,
            "disc_output_size": 5,
            "attn_res_layers": [8, 16],
            "freq_chan_attn": False,
            "ttur_mult": 1.0,
            "lr": 2e-4,
            **trainer_args,
        }


class BigGANRefBatchNorm(nn.Module):
    """pytorch_pretrained_biggan BigGANBatchNorm: statistics for n_stats truncations, SN-linear scale/offset."""

    def __init__(self, num_features, cond_dim=None, n_stats=3, eps=1e-4, conditional=True):
        super().__init__()
        self.eps, self.conditional, self.step_size = eps, conditional, 1.0 / (n_stats - 1)
        self.register_buffer("running_means", torch.zeros(n_stats, num_features))
        self.register_buffer("running_vars", torch.ones(n_stats, num_features))
        if conditional:
            self.scale = nn.utils.spectral_norm(nn.Linear(cond_dim, num_features, bias=False), eps=eps)
            self.offset = nn.utils.spectral_norm(nn.Linear(cond_dim, num_features, bias=False), eps=eps)
        else:
            self.weight = nn.Parameter(torch.ones(num_features))
            self.bias = nn.Parameter(torch.zeros(num_features))

    def forward(self, x, truncation, cond=None):
        coef, start = math.modf(truncation / self.step_size)
        start = int(start)
        if coef != 0.0:
            mean = self.running_means[start] * coef + self.running_means[start + 1] * (1 - coef)
            var = self.running_vars[start] * coef + self.running_vars[start + 1] * (1 - coef)
        else:
            mean, var = self.running_means[start], self.running_vars[start]
        if not self.conditional:
            return F.batch_norm(x, mean, var, self.weight, self.bias, training=False, momentum=0.0, eps=self.eps)
        gain = 1 + self.scale(cond)[..., None, None]
        return (x - mean[None, :, None, None]) / torch.sqrt(var[None, :, None, None] + self.eps) * gain + self.offset(
            cond
        )[..., None, None]


def biggan_snconv(c_in, c_out, k, bias=True, eps=1e-4):
    return nn.utils.spectral_norm(nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=bias), eps=eps)


class BigGANRefBlock(nn.Module):
    def __init__(self, c_in, c_out, cond_dim, up, n_stats, eps):
        super().__init__()
        mid = c_in // 4
        self.up = up
        sizes = ((c_in, mid, 1), (mid, mid, 3), (mid, mid, 3), (mid, c_out, 1))
        for i, (a, b, k) in enumerate(sizes):
            setattr(self, f"bn_{i}", BigGANRefBatchNorm(a, cond_dim, n_stats, eps))
            setattr(self, f"conv_{i}", biggan_snconv(a, b, k, eps=eps))

    def forward(self, x, cond, truncation):
        h = self.conv_0(F.relu(self.bn_0(x, truncation, cond)))
        h = F.relu(self.bn_1(h, truncation, cond))
        if self.up:
            h = F.interpolate(h, scale_factor=2, mode="nearest")
        h = self.conv_1(h)
        h = self.conv_2(F.relu(self.bn_2(h, truncation, cond)))
        h = self.conv_3(F.relu(self.bn_3(h, truncation, cond)))
        if x.shape[1] != h.shape[1]:
            x = x[:, : x.shape[1] // 2]
        if self.up:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        return h + x


class BigGANRefAttention(nn.Module):
    def __init__(self, ch, eps):
        super().__init__()
        self.snconv1x1_theta = biggan_snconv(ch, ch // 8, 1, bias=False, eps=eps)
        self.snconv1x1_phi = biggan_snconv(ch, ch // 8, 1, bias=False, eps=eps)
        self.snconv1x1_g = biggan_snconv(ch, ch // 2, 1, bias=False, eps=eps)
        self.snconv1x1_o_conv = biggan_snconv(ch // 2, ch, 1, bias=False, eps=eps)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        _, ch, h, w = x.shape
        theta = self.snconv1x1_theta(x).view(-1, ch // 8, h * w)
        phi = F.max_pool2d(self.snconv1x1_phi(x), 2, 2).view(-1, ch // 8, h * w // 4)
        attn = torch.softmax(torch.bmm(theta.permute(0, 2, 1), phi), dim=-1)
        g = F.max_pool2d(self.snconv1x1_g(x), 2, 2).view(-1, ch // 2, h * w // 4)
        out = torch.bmm(g, attn.permute(0, 2, 1)).view(-1, ch // 2, h, w)
        return x + self.gamma * self.snconv1x1_o_conv(out)


class BigGANRefGenerator(nn.Module):
    def __init__(self, config):
        super().__init__()
        ch, cond_dim, eps = config["channel_width"], 2 * config["z_dim"], config["eps"]
        self.ch = ch
        self.gen_z = nn.utils.spectral_norm(nn.Linear(cond_dim, 4 * 4 * 16 * ch), eps=eps)
        layers = []
        for i, (up, m_in, m_out) in enumerate(config["layers"]):
            if i == config["attention_layer_position"]:
                layers.append(BigGANRefAttention(ch * m_in, eps))
            layers.append(BigGANRefBlock(ch * m_in, ch * m_out, cond_dim, up, config["n_stats"], eps))
        self.layers = nn.ModuleList(layers)
        self.bn = BigGANRefBatchNorm(ch, n_stats=config["n_stats"], eps=eps, conditional=False)
        self.conv_to_rgb = biggan_snconv(ch, ch, 3, eps=eps)

    def forward(self, cond, truncation):
        z = self.gen_z(cond).view(-1, 4, 4, 16 * self.ch).permute(0, 3, 1, 2).contiguous()
        for layer in self.layers:
            z = layer(z, cond, truncation) if isinstance(layer, BigGANRefBlock) else layer(z)
        z = self.conv_to_rgb(F.relu(self.bn(z, truncation)))
        return torch.tanh(z[:, :3])


BIGGAN_TOY_CONFIG = {
    "output_dim": 32,
    "z_dim": 8,
    "class_embed_dim": 8,
    "channel_width": 4,
    "num_classes": 5,
    "layers": [[False, 16, 8], [True, 8, 4], [False, 4, 4], [True, 4, 2], [False, 2, 1], [True, 1, 1]],
    "attention_layer_position": 2,
    "eps": 1e-4,
    "n_stats": 3,
}


class PretrainedBigGAN(nn.Module):
    """pytorch_pretrained_biggan.BigGAN at toy size: `embeddings` (one-hot -> z_dim) + `generator`."""

    def __init__(self, config=None, seed=0):
        super().__init__()
        self.config = dict(config or BIGGAN_TOY_CONFIG)
        torch.manual_seed(seed)
        self.embeddings = nn.Linear(self.config["num_classes"], self.config["z_dim"], bias=False)
        self.generator = BigGANRefGenerator(self.config)
        with torch.no_grad():
            for name, buffer in self.named_buffers():  # distinct statistics for every truncation value
                if name.endswith("running_means"):
                    buffer.copy_(0.3 * torch.randn_like(buffer))
                elif name.endswith("running_vars"):
                    buffer.copy_(0.5 + torch.rand_like(buffer))
            for module in self.modules():
                if isinstance(module, BigGANRefAttention):
                    module.gamma.fill_(0.7)
                if isinstance(module, BigGANRefBatchNorm) and not module.conditional:
                    module.weight.add_(0.2 * torch.randn_like(module.weight))
            self.train()  # a few power iterations, as the conversion script runs one, so u, v are not random
            cond = torch.randn(2, 2 * self.config["z_dim"])
            for _ in range(3):
                self.generator(cond, 1.0)
        self.eval()

    def forward(self, z, class_label, truncation):
        return self.generator(torch.cat((z, self.embeddings(class_label)), dim=1), truncation)

    def save_pretrained(self, folder: Path) -> Path:
        """pytorch_model.bin (torch.save of the state dict) and config.json (to_json_string: sorted, indented)."""
        folder.mkdir(parents=True, exist_ok=True)
        torch.save(self.state_dict(), folder / "pytorch_model.bin")
        (folder / "config.json").write_text(json.dumps(self.config, indent=2, sort_keys=True) + "\n")
        return folder


# ---- layouts that convention alone gets wrong: identified from evidence, or reported ------------------


class DCGAN28(nn.Module):
    """A DCGAN for 28x28: first kernel 7 (1 -> 7), then two kernel-4 stride-2 padding-1 stages (7 -> 14 -> 28)."""

    def __init__(self, nz=8, ngf=4, nc=1):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 2, 7, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
            nn.Tanh(),
        )

    def forward(self, z):
        return self.main(z)


class DCGAN64(nn.Module):
    """The pytorch/examples DCGAN at 64x64 (1 -> 4 -> 8 -> 16 -> 32 -> 64)."""

    def __init__(self, nz=8, ngf=4, nc=3):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 8),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
            nn.Tanh(),
        )

    def forward(self, z):
        return self.main(z)


class LeakyDCGAN(ExamplesDCGAN):
    """The pytorch/examples DCGAN with LeakyReLU(0.2) between stages (as many GAN tutorials write it)."""

    def __init__(self, nz=8, ngf=4, nc=3):
        super().__init__(nz, ngf, nc)
        for i, m in enumerate(self.main):
            if isinstance(m, nn.ReLU):
                self.main[i] = nn.LeakyReLU(0.2)


class ReLUMLP(nn.Module):
    """A fully connected generator with ReLU and no normalisation: nothing in its file tells ReLU from LeakyReLU."""

    def __init__(self, nz=8, hidden=(16, 32)):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(nz, hidden[0]),
            nn.ReLU(),
            nn.Linear(hidden[0], hidden[1]),
            nn.ReLU(),
            nn.Linear(hidden[1], 784),
            nn.Tanh(),
        )

    def forward(self, z):
        return self.net(z).view(-1, 1, 28, 28)


class MultiplyMLP(nn.Module):
    """A class-conditional MLP whose label embedding multiplies the noise: h = z * emb[label]."""

    def __init__(self, nz=8, n_classes=10, hidden=32):
        super().__init__()
        self.label_emb = nn.Embedding(n_classes, nz)
        self.model = nn.Sequential(nn.Linear(nz, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, 784), nn.Tanh())

    def forward(self, z, labels):
        return self.model(z * self.label_emb(labels)).view(-1, 1, 28, 28)


class MultiplyDCGAN(nn.Module):
    """A class-conditional DCGAN whose label embedding multiplies z before the first transposed convolution."""

    def __init__(self, nz=8, n_classes=4, ngf=4, nc=1):
        super().__init__()
        self.embed = nn.Embedding(n_classes, nz)
        self.main = ExamplesDCGAN(nz, ngf, nc).main

    def forward(self, z, labels):
        return self.main(z * self.embed(labels)[:, :, None, None])


class LabelFirstDCGAN(ConditionalDCGAN):
    """The conditional DCGAN with the label embedding placed before z in the concatenation."""

    def forward(self, z, labels):
        return self.net(torch.cat([self.embed(labels)[:, :, None, None], z], dim=1))


IDENTIFIED = [
    Case("dcgan-28", DCGAN28, "dcgan", image_shape=(1, 28, 28)),
    Case("dcgan-64", DCGAN64, "dcgan", image_shape=(3, 64, 64)),
    Case("leaky-dcgan", LeakyDCGAN, "dcgan"),
    Case("multiply-mlp", MultiplyMLP, "mlp", image_shape=(1, 28, 28), z_4d=False, n_classes=10),
    Case("multiply-dcgan", MultiplyDCGAN, "dcgan", image_shape=(1, 32, 32), n_classes=4),
    Case("label-first-dcgan", LabelFirstDCGAN, "dcgan", image_shape=(1, 32, 32), n_classes=5),
]
ASSUMED = {  # layout -> (the options that give the author's images, what is assumed without them)
    "relu-mlp": (Case("relu-mlp", ReLUMLP, "mlp", image_shape=(1, 28, 28), z_4d=False), {"activation": "relu"}),
}


# ---- generators as Hub projects published them -------------------------------------------------------

from collections import OrderedDict  # noqa: E402


class HugGANDCGAN(nn.Module):
    """huggingface/community-events HugGAN sprint DCGAN (modeling_dcgan.Generator): `model.N`, 64x64, no bias."""

    def __init__(self, num_channels=3, latent_dim=8, hidden_size=4):
        super().__init__()
        h = hidden_size
        self.model = nn.Sequential(
            nn.ConvTranspose2d(latent_dim, h * 8, 4, 1, 0, bias=False),
            nn.BatchNorm2d(h * 8),
            nn.ReLU(True),
            nn.ConvTranspose2d(h * 8, h * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(h * 4),
            nn.ReLU(True),
            nn.ConvTranspose2d(h * 4, h * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(h * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(h * 2, h, 4, 2, 1, bias=False),
            nn.BatchNorm2d(h),
            nn.ReLU(True),
            nn.ConvTranspose2d(h, num_channels, 4, 2, 1, bias=False),
            nn.Tanh(),
        )

    def forward(self, noise):  # (N, latent_dim, 1, 1) -> (N, C, 64, 64)
        return self.model(noise)


class GANZooGNet(nn.Module):
    """facebookresearch/pytorch_GAN_zoo DCGAN GNet: `formatLayer`, then `main.batchNorm0`, `main.convTransposeI`,
    `main.outlayer`; tanh with its DCGAN loss. Its models are never put in eval mode."""

    def __init__(self, nz=8, dim_g=4, depth=2, dim_output=3):
        super().__init__()
        width = dim_g * 2**depth
        self.formatLayer = nn.ConvTranspose2d(nz, width, 4, 1, 0, bias=False)
        layers = [("batchNorm0", nn.BatchNorm2d(width)), ("relu0", nn.ReLU(True))]
        for i in range(depth):
            layers += [
                (f"convTranspose{i + 1}", nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False)),
                (f"batchNorm{i + 1}", nn.BatchNorm2d(width // 2)),
                (f"relu{i + 1}", nn.ReLU(True)),
            ]
            width //= 2
        layers.append(("outlayer", nn.ConvTranspose2d(dim_g, dim_output, 4, 2, 1, bias=False)))
        self.main = nn.Sequential(OrderedDict(layers))

    def forward(self, z):
        return torch.tanh(self.main(self.formatLayer(z)))


def pickled_as(cls: type, module: str, qualname: str) -> type:
    """`cls` renamed so that a pickle names `module.qualname`, a module that does not exist here (as a
    checkpoint written by another codebase does): unpickling it would have to import that codebase."""
    cls.__module__, cls.__qualname__, cls.__name__ = module, qualname, qualname.rpartition(".")[2]
    return cls


def save_pickled_as(obj, path, modules: dict[str, type], legacy: bool = False) -> None:
    """torch.save with `modules` ({"models.utils.config": BaseConfig}) importable only while saving."""
    import sys
    import types

    added = []
    for name, cls in modules.items():
        parts = name.split(".")
        for i in range(1, len(parts) + 1):
            sub = ".".join(parts[:i])
            if sub not in sys.modules:
                sys.modules[sub] = types.ModuleType(sub)
                added.append(sub)
        setattr(sys.modules[name], cls.__name__, cls)
    try:
        torch.save(obj, path, _use_new_zipfile_serialization=not legacy)
    finally:
        for sub in added:
            del sys.modules[sub]


class Linear16(nn.Module):
    """A seeded linear generator z (4) -> 1x16x16, squashed by tanh: the smallest generator that is code."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 256)

    def forward(self, z, c=None, d=None):
        return torch.tanh(self.linear(z)).reshape(-1, 1, 16, 16)


def linear_generator():
    """Also the `module:callable` source `zoo:linear_generator`, so a saved inverter can name it."""
    from ganinv.generator import Generator
    from ganinv.spec import GeneratorSpec

    torch.manual_seed(0)
    return Generator(Linear16(), GeneratorSpec(nz=4, image_shape=(1, 16, 16)), source="zoo:linear_generator")


class TinyLinearGenerator(nn.Module):
    """z (4) -> a 1x8x8 image through one Linear layer and Tanh."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 64)

    def forward(self, z, c=None, d=None):
        return torch.tanh(self.lin(z)).view(-1, 1, 8, 8)


class NaNForSomeLatents(TinyLinearGenerator):
    """A generator that makes NaN images where z[:, 0] > 2 (about 2% of latents, none of the seeded probe's 8), as code
    with a domain error may."""

    def forward(self, z, c=None, d=None):
        x = super().forward(z)
        return torch.where((z[:, 0] > 2)[:, None, None, None], torch.full_like(x, float("nan")), x)


def nan_for_some_latents():
    """`zoo:nan_for_some_latents`, a module:callable source: (module, spec)."""
    from ganinv.spec import GeneratorSpec

    torch.manual_seed(0)
    return NaNForSomeLatents(), GeneratorSpec(nz=4, image_shape=(1, 8, 8))


def float64_generator():
    """`zoo:float64_generator`: a module in float64, as a program exported from a float64 model is."""
    from ganinv.spec import GeneratorSpec

    torch.manual_seed(0)
    return TinyLinearGenerator().double(), GeneratorSpec(nz=4, image_shape=(1, 8, 8))
