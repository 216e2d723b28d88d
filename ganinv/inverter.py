"""`Inverter`: the encoders of a generator plus a reference to that generator.

The artifact ganinv fits and every downstream command consumes: `config.json` +
`model.safetensors`, and `generator/` (a copy of the generator, when it has a registered
architecture), saved, loaded and pushed to the Hub through `PyTorchModelHubMixin`'s hooks
(ganinv.generator_reference). Without `generator/` the generator is *referenced* by its
source string, spec and weights hash. `Inverter.load(source)` reads a run folder, an
artifact folder or `hub:owner/name[@revision]`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import nn

from ganinv.encoders import CodeEncoder, LatentEncoder
from ganinv.generator import Generator
from ganinv.generator_reference import GeneratorReference
from ganinv.spec import GeneratorSpec, Latents


@dataclass
class Posterior:
    """The encoders' answer for a batch of images."""

    mu_z: torch.Tensor  # (B, nz)
    logvar_z: torch.Tensor  # (B, nz)
    logits_d: Optional[torch.Tensor] = None  # (B, K)
    mu_c: Optional[torch.Tensor] = None  # (B, nc)
    logvar_c: Optional[torch.Tensor] = None  # (B, nc)

    def mean_latents(self) -> Latents:
        """The posterior means as latents: z = mu_z, c = mu_c, d = softmax(logits_d)."""
        d = self.logits_d.softmax(dim=1) if self.logits_d is not None else None
        return Latents(z=self.mu_z, c=self.mu_c, d=d)

    def features(self) -> torch.Tensor:
        """SPEC section 4: mu_z, then mu_c and softmax(logits_d) when present, (B, F)."""
        return self.mean_latents().flat()


class Inverter(GeneratorReference, nn.Module, PyTorchModelHubMixin, library_name="ganinv",
               tags=["ganinv", "gan-inversion"]):
    run_subfolder = "inverter"  # a fit's run folder keeps the artifact here
    artifact_noun = "inverter"

    def __init__(self, *, spec: dict, generator_ref: Optional[dict] = None, width: int = 64, hidden: int = 512):
        super().__init__()
        self.spec = GeneratorSpec.from_dict(spec)
        self.generator_ref = dict(generator_ref or {})  # {"source": ..., "meta": {...}}
        self.latent_encoder = LatentEncoder(self.spec.image_shape, self.spec.nz, width, hidden)  # q_xi(z|x)
        self.code_encoder = (CodeEncoder(self.spec.image_shape, self.spec.n_classes, self.spec.nc, width, hidden)
                             if self.spec.has_codes else None)  # q_omega(d, c | x)
        self._init_generator_reference()

    @classmethod
    def for_generator(cls, generator: Generator, width: int = 64, hidden: int = 512, *, arch: Optional[str] = None,
                      options: Optional[dict] = None) -> "Inverter":
        """Encoders sized to `generator`; `arch` and `options` are what it was loaded with, kept to reload it."""
        ref = {"source": generator.source, "arch": arch, "options": dict(options or {}), "meta": generator.meta}
        inverter = cls(spec=generator.spec.to_dict(), generator_ref=ref, width=width, hidden=hidden)
        inverter.attach(generator)
        return inverter

    # ---- inference -----------------------------------------------------------------------
    def encode(self, x: torch.Tensor) -> Posterior:
        """x: (B, C, H, W) in [-1, 1] -> the posterior parameters."""
        mu_z, logvar_z = self.latent_encoder(x)
        if self.code_encoder is None:
            return Posterior(mu_z, logvar_z)
        logits_d, mu_c, logvar_c = self.code_encoder(x)
        return Posterior(mu_z, logvar_z, logits_d, mu_c, logvar_c)

    def forward(self, x: torch.Tensor) -> Posterior:
        return self.encode(x)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """G(posterior mean): (B, C, H, W) in [-1, 1]."""
        return self.generator.decode(self.encode(x).mean_latents())
