"""`Inverter`: the encoders of a generator plus a reference to that generator.

The artifact ganinv fits and every downstream command consumes. Saved and loaded with
`huggingface_hub.PyTorchModelHubMixin` (`config.json` + `model.safetensors`, push to the
Hub for free). The generator is *referenced* (its source string, spec and weights hash),
not copied, unless `save_pretrained(..., include_generator=True)` stores it beside the
encoders in `generator/` so the artifact is self-contained.
"""

from __future__ import annotations

import contextlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import nn

from ganinv.encoders import CodeEncoder, LatentEncoder
from ganinv.errors import SourceError
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


class Inverter(GeneratorReference, nn.Module, PyTorchModelHubMixin, library_name="ganinv", tags=["ganinv", "gan-inversion"]):
    def __init__(self, *, spec: dict, generator_ref: Optional[dict] = None, width: int = 64, hidden: int = 512):
        super().__init__()
        self.spec = GeneratorSpec.from_dict(spec)
        self.generator_ref = dict(generator_ref or {})  # {"source": ..., "meta": {...}}
        self.latent_encoder = LatentEncoder(self.spec.image_shape, self.spec.nz, width, hidden)  # q_xi(z|x)
        self.code_encoder = (CodeEncoder(self.spec.image_shape, self.spec.n_classes, self.spec.nc, width, hidden)
                             if self.spec.has_codes else None)  # q_omega(d, c | x)
        self._init_generator_reference()
        self._artifact_dir: Optional[Path] = None

    @classmethod
    def for_generator(cls, generator: Generator, width: int = 64, hidden: int = 512, *, arch: Optional[str] = None,
                      options: Optional[dict] = None) -> "Inverter":
        """Encoders sized to `generator`; `arch` and `options` are what it was loaded with, kept to reload it."""
        ref = {"source": generator.source, "arch": arch, "options": dict(options or {}), "meta": generator.meta}
        inverter = cls(spec=generator.spec.to_dict(), generator_ref=ref, width=width, hidden=hidden)
        inverter.attach(generator)
        return inverter

    # ---- the generator it inverts (ganinv.generator_reference) ----------------------------------
    def _generator_source(self) -> tuple[Optional[str], dict]:
        """The copy saved in the artifact's `generator/` when there is one, else the recorded source."""
        local = self._artifact_dir / "generator" if self._artifact_dir is not None else None
        if local is not None and local.is_dir():
            return str(local), {}
        return super()._generator_source()

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

    # ---- artifacts -------------------------------------------------------------------------
    def save_pretrained(self, save_directory, *, include_generator: bool = False, **kwargs: Any):
        """Write config.json + model.safetensors (and `generator/` when asked), atomically."""
        from ganinv.atomic import atomic_dir
        from ganinv.sources import save_generator

        target = Path(save_directory)
        with atomic_dir(target) as tmp:
            super().save_pretrained(tmp, **kwargs)
            if include_generator:
                save_generator(self.generator, tmp / "generator")
        return None

    @classmethod
    def load(cls, source: str, device: Optional[str | torch.device] = None) -> "Inverter":
        """From an artifact folder, a run folder (its `inverter/`), or a hub id (`hub:owner/name[@revision]`
        or `owner/name`): the encoders, and the generator when the artifact carries it in `generator/`."""
        path = Path(source)
        if not path.is_dir():
            if not source.startswith("hub:") and (source.startswith(("/", ".", "~")) or source.count("/") != 1):
                raise SourceError(f"{source} does not exist; give a run folder, an artifact folder or a Hub repo id")
            path = cls._download(source)
        if (path / "inverter" / "config.json").is_file():
            path = path / "inverter"
        config = path / "config.json"
        if not config.is_file() or "spec" not in json.loads(config.read_text()):
            raise SourceError(f"{path} holds no inverter artifact (a run folder whose fit has not finished "
                              "writes inverter/ at its end); give a finished run folder or an artifact folder")
        with contextlib.redirect_stdout(sys.stderr):  # the mixin prints progress on stdout
            inverter = cls.from_pretrained(str(path), strict=True)
        inverter._artifact_dir = path
        inverter.eval()
        if device is not None:
            inverter.to(device)
        return inverter

    @staticmethod
    def _download(source: str) -> Path:
        """The artifact's files in a Hub repo, through the local cache (HF_HUB_OFFLINE honoured)."""
        from ganinv.sources import hub_file

        repo, _, revision = source.removeprefix("hub:").partition("@")
        config = hub_file(repo, "config.json", revision)
        hub_file(repo, "model.safetensors", revision)
        if hub_file(repo, "generator/config.json", revision, optional=True) is not None:
            hub_file(repo, "generator/model.safetensors", revision)
        return config.parent
