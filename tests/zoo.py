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
            nn.ConvTranspose2d(nz, ngf * 4, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh())

    def forward(self, z):  # (N, nz, 1, 1) -> (N, nc, 32, 32)
        return self.main(z)


class PerssonWGANGP(nn.Module):
    """Aladdin Persson's WGAN-GP / DCGAN tutorial: `net.i.0` blocks without bias, a final ConvT with bias."""

    def __init__(self, nz=8, features=2, nc=1):
        super().__init__()
        self.net = nn.Sequential(convt_block(nz, features * 8, 4, 1, 0), convt_block(features * 8, features * 4, 4, 2, 1),
                                 convt_block(features * 4, features * 2, 4, 2, 1),
                                 nn.ConvTranspose2d(features * 2, nc, 4, 2, 1), nn.Tanh())

    def forward(self, z):
        return self.net(z)


class RyhanWGANGP(nn.Module):
    """The layout of shared/generators/mnist-wgangp: `gen.<stage>.<layer>`, kernels 3,4,3,4, strides 2,1,2,2."""

    def __init__(self, nz=8, widths=(16, 8, 4)):
        super().__init__()
        a, b, c = widths
        self.gen = nn.Sequential(convt_block(nz, a, 3, 2, 0, True), convt_block(a, b, 4, 1, 0, True),
                                 convt_block(b, c, 3, 2, 0, True), nn.Sequential(nn.ConvTranspose2d(c, 1, 4, 2, 0), nn.Tanh()))

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


class ArjovskyDCGAN(nn.Module):
    """martinarjovsky/WassersteinGAN models/dcgan.py DCGAN_G: `main.initial:8-16:convt`-style names."""

    def __init__(self, nz=8, cngf=16, nc=3):
        super().__init__()
        main = nn.Sequential()
        main.add_module(f"initial:{nz}-{cngf}:convt", nn.ConvTranspose2d(nz, cngf, 4, 1, 0, bias=False))
        main.add_module(f"initial:{cngf}:batchnorm", nn.BatchNorm2d(cngf))
        main.add_module(f"initial:{cngf}:relu", nn.ReLU(True))
        for _ in range(2):
            main.add_module(f"pyramid:{cngf}-{cngf // 2}:convt", nn.ConvTranspose2d(cngf, cngf // 2, 4, 2, 1, bias=False))
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
        self.block1 = nn.Sequential(nn.ConvTranspose2d(4 * dim, 2 * dim, 2, stride=2), nn.BatchNorm2d(2 * dim), nn.ReLU(True))
        self.block2 = nn.Sequential(nn.ConvTranspose2d(2 * dim, dim, 2, stride=2), nn.BatchNorm2d(dim), nn.ReLU(True))
        self.deconv_out = nn.ConvTranspose2d(dim, 3, 2, stride=2)

    def forward(self, z):
        x = self.preprocess(z).view(-1, 4 * self.dim, 4, 4)
        return torch.tanh(self.deconv_out(self.block2(self.block1(x)))).view(-1, 3, 32, 32)


class ConditionalDCGAN(nn.Module):
    """Conditional WGAN-GP (Persson's tutorial): `embed` of the label concatenated to z as channels."""

    def __init__(self, nz=8, n_classes=5, embed=3, features=2, nc=1):
        super().__init__()
        self.net = nn.Sequential(convt_block(nz + embed, features * 8, 4, 1, 0),
                                 convt_block(features * 8, features * 4, 4, 2, 1),
                                 convt_block(features * 4, features * 2, 4, 2, 1),
                                 nn.ConvTranspose2d(features * 2, nc, 4, 2, 1), nn.Tanh())
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
        self.model = nn.Sequential(*mlp_block(nz, hidden[0], normalize=False), *mlp_block(hidden[0], hidden[1]),
                                   *mlp_block(hidden[1], hidden[2]), nn.Linear(hidden[2], 28 * 28), nn.Tanh())

    def forward(self, z):
        return self.model(z).view(z.shape[0], *self.shape)


class PyTorchGANCGAN(nn.Module):
    """eriklindernoren/PyTorch-GAN cgan: `label_emb` (K x K) placed before z, then the MLP."""

    def __init__(self, nz=8, n_classes=4, hidden=(16, 32, 64)):
        super().__init__()
        self.label_emb = nn.Embedding(n_classes, n_classes)
        self.model = nn.Sequential(*mlp_block(nz + n_classes, hidden[0], normalize=False),
                                   *mlp_block(hidden[0], hidden[1]), *mlp_block(hidden[1], hidden[2]),
                                   nn.Linear(hidden[2], 28 * 28), nn.Tanh())

    def forward(self, z, labels):
        return self.model(torch.cat([self.label_emb(labels), z], -1)).view(z.shape[0], 1, 28, 28)


class PyTorchGANDCGAN(nn.Module):
    """eriklindernoren/PyTorch-GAN dcgan: `l1.0` Linear, `conv_blocks.N`: BatchNorm, Upsample+Conv2d blocks."""

    def __init__(self, nz=8, n_in=None, img_size=16, channels=1):
        super().__init__()
        self.init_size = img_size // 4
        self.l1 = nn.Sequential(nn.Linear(n_in or nz, 8 * self.init_size ** 2))
        self.conv_blocks = nn.Sequential(
            nn.BatchNorm2d(8), nn.Upsample(scale_factor=2), nn.Conv2d(8, 8, 3, stride=1, padding=1),
            nn.BatchNorm2d(8, 0.8), nn.LeakyReLU(0.2, inplace=True), nn.Upsample(scale_factor=2),
            nn.Conv2d(8, 4, 3, stride=1, padding=1), nn.BatchNorm2d(4, 0.8), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(4, channels, 3, stride=1, padding=1), nn.Tanh())

    def forward(self, z):
        out = self.l1(z)
        return self.conv_blocks(out.view(out.shape[0], 8, self.init_size, self.init_size))


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
    d = F.one_hot(torch.randint(case.n_classes, (n,), generator=rng), case.n_classes).float() if case.n_classes else None
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
    Case("caogang-gan-mnist", CaogangMNIST, "wgan_gp", image_shape=(1, 28, 28), z_4d=False, sigmoid=True),
    Case("caogang-gan-cifar10", CaogangCIFAR, "wgan_gp", z_4d=False),
    Case("conditional-dcgan", ConditionalDCGAN, "dcgan", image_shape=(1, 32, 32), n_classes=5),
    Case("pytorch-gan-wgan-gp-mlp", PyTorchGANMLP, "mlp", image_shape=(1, 28, 28), z_4d=False),
    Case("pytorch-gan-cgan", PyTorchGANCGAN, "mlp", image_shape=(1, 28, 28), z_4d=False, n_classes=4),
    Case("pytorch-gan-dcgan", PyTorchGANDCGAN, "upconv", image_shape=(1, 16, 16), z_4d=False),
    Case("pytorch-gan-acgan", PyTorchGANACGAN, "upconv", image_shape=(1, 16, 16), z_4d=False, n_classes=4),
    Case("pytorch-gan-infogan", PyTorchGANInfoGAN, "upconv", image_shape=(1, 16, 16), z_4d=False, n_classes=4, nc=2,
         options={"n_classes": "4", "nc": "2"}),
]


def case(name: str) -> Case:
    return next(c for c in CASES if c.name == name)


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
