"""Generator families, one file each; importing this package registers them all."""

from . import biggan, dcgan, lightweight_gan, mlp, opaque, ssavl, upconv, wgan_gp  # noqa: F401
