"""`Inverter`: the encoders of a generator plus a reference to that generator.

The artifact ganinv fits and every downstream command consumes: `config.json` +
`model.safetensors`, and `generator/` (a copy of the generator, when it has a registered
architecture), saved, loaded and pushed to the Hub through `PyTorchModelHubMixin`'s hooks
(ganinv.generator_reference). Without `generator/` the generator is *referenced* by its
source string, spec and weights hash. `Inverter.load(source)` reads a run folder, an
artifact folder or `hub:owner/name[@revision]`.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import Any, Optional

import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import nn

from ganinv import losses
from ganinv.config_checks import MAX_HIDDEN, MAX_ITERATIONS, MAX_WIDTH
from ganinv.data import as_model_images
from ganinv.dreaming import SIGMA_X_RANGE
from ganinv.encoders import CodeEncoder, LatentEncoder
from ganinv.errors import ArgumentError, DataError, require_torch_generator
from ganinv.generator import Generator
from ganinv.generator_reference import GeneratorReference, users_module
from ganinv.iterative import RefinementEncoder, refine_passes
from ganinv.spec import GeneratorSpec, Latents
from ganinv.weight_files import TENSORS_KEY, state_dict_sha256, tensors_sha256


@dataclass
class Posterior:
    """The encoders' answer for a batch of images."""

    mu_z: torch.Tensor  # (B, nz)
    logvar_z: torch.Tensor  # (B, nz)
    logits_d: Optional[torch.Tensor] = None  # (B, K)
    mu_c: Optional[torch.Tensor] = None  # (B, nc)
    logvar_c: Optional[torch.Tensor] = None  # (B, nc)
    # every pass's (mu_z, logvar_z): the single pass, then each refinement pass (ganinv.iterative);
    # mu_z and logvar_z above are the last pass's
    passes: list[tuple[torch.Tensor, torch.Tensor]] = field(default_factory=list)

    def mean_latents(self) -> Latents:
        """The posterior means as latents: z = mu_z, c = mu_c, d = softmax(logits_d)."""
        d = self.logits_d.softmax(dim=1) if self.logits_d is not None else None
        return Latents(z=self.mu_z, c=self.mu_c, d=d)

    def kl(self) -> torch.Tensor:
        """KL(q(z, c, d | x) || p(z, c, d)) per image, (B,): the priors N(0, I), N(0, I), Cat(1/K)."""
        kl = losses.kl_normal_to_standard_each(self.mu_z, self.logvar_z)
        if self.mu_c is not None:
            assert self.logvar_c is not None, "mu_c comes with logvar_c"
            kl = kl + losses.kl_normal_to_standard_each(self.mu_c, self.logvar_c)
        if self.logits_d is not None:
            kl = kl + losses.kl_categorical_to_uniform_each(self.logits_d)
        return kl

    def sample(self, generator: Optional[torch.Generator] = None) -> Latents:
        """One draw of the latents from q: z and c reparameterised, d a one-hot draw of Cat(softmax(logits_d))."""
        require_torch_generator(generator)
        z = losses.reparameterize(self.mu_z, self.logvar_z, generator)
        c = None
        if self.mu_c is not None:
            assert self.logvar_c is not None, "mu_c comes with logvar_c"
            c = losses.reparameterize(self.mu_c, self.logvar_c, generator)
        d = None
        if self.logits_d is not None:
            classes = torch.multinomial(self.logits_d.float().softmax(dim=1), 1, generator=generator).squeeze(1)
            d = torch.nn.functional.one_hot(classes, self.logits_d.shape[1]).to(self.mu_z.dtype)
        return Latents(z=z, c=c, d=d)

    def mode(self) -> Latents:
        """The most likely latents: z = mu_z, c = mu_c, d the one-hot of argmax logits_d."""
        d = None
        if self.logits_d is not None:
            d = torch.nn.functional.one_hot(self.logits_d.argmax(dim=1), self.logits_d.shape[1]).to(self.mu_z.dtype)
        return Latents(z=self.mu_z, c=self.mu_c, d=d)

    def features(self) -> torch.Tensor:
        """docs/algorithms.md §4: mu_z, then mu_c and softmax(logits_d) when present, (B, F)."""
        return self.mean_latents().flat()


class Inverter(
    GeneratorReference, nn.Module, PyTorchModelHubMixin, library_name="ganinv", tags=["ganinv", "gan-inversion"]
):
    run_subfolder = "inverter"  # a fit's run folder keeps the artifact here
    artifact_noun = "inverter"
    fit_command = "ganinv fit"  # the command that makes one, for messages
    spec: GeneratorSpec  # an inverter is always for a generator

    def __init__(
        self,
        *,
        spec: dict,
        generator_ref: Optional[dict] = None,
        width: int = 64,
        hidden: int = 512,
        iterations: int = 0,
        sigma_x: Optional[float] = None,
    ):
        super().__init__()
        if sigma_x is not None:  # a config.json is data: a sigma that is no number in range is refused here
            low, high = SIGMA_X_RANGE
            if isinstance(sigma_x, bool) or not isinstance(sigma_x, (int, float)) or not low <= sigma_x <= high:
                raise ArgumentError(f"sigma_x must be a number in [{low:g}, {high:g}], got {sigma_x!r}")
        # a config.json is data: bounded as `fit` bounds them (an outside audit: a Hub artifact's iterations of 10**7
        # kept `invert` of two images running for good)
        for name, value, low, high in (
            ("width", width, 1, MAX_WIDTH),
            ("hidden", hidden, 1, MAX_HIDDEN),
            ("iterations", iterations, 0, MAX_ITERATIONS),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ArgumentError(f"{name} must be a whole number in [{low}, {high}], got {value!r}")
        self.spec = GeneratorSpec.from_dict(spec)
        if generator_ref is not None and not isinstance(generator_ref, dict):  # a config.json is data
            raise ArgumentError(
                f"generator_ref must be a JSON object (source, arch, options, meta), got {generator_ref!r}"
            )
        self.generator_ref = dict(generator_ref or {})  # {"source": ..., "meta": {...}}
        self.latent_encoder = LatentEncoder(self.spec.image_shape, self.spec.nz, width, hidden)  # q_xi(z|x)
        self.code_encoder = (
            CodeEncoder(self.spec.image_shape, self.spec.n_classes, self.spec.nc, width, hidden)
            if self.spec.has_codes
            else None
        )  # q_omega(d, c | x)
        self.iterations = int(iterations)  # refinement passes after the single pass (ganinv.iterative)
        self.refiner = (
            RefinementEncoder(self.spec.image_shape, self.spec.nz, width, hidden) if self.iterations else None
        )
        self.sigma_x = sigma_x  # the observation std the encoders were fitted with (the default of loglik)
        self._init_generator_reference()

    @classmethod
    def for_generator(
        cls,
        generator: Generator,
        width: int = 64,
        hidden: int = 512,
        *,
        arch: Optional[str] = None,
        options: Optional[dict] = None,
        iterations: int = 0,
        sigma_x: Optional[float] = None,
    ) -> "Inverter":
        """Encoders sized to `generator`; `arch` and `options` are what it was loaded with, kept to reload it."""
        from ganinv.sources import options_to_record  # (sources reads artifacts: imported where it is used)

        meta = dict(generator.meta)
        if "weights_sha256" not in meta:  # one given in Python: its weights as they are, to say another one later
            meta["state_sha256"] = state_dict_sha256(generator.net.state_dict())  # (an outside audit, 41a)
        # its tensors whatever their container, to tell the same weights given later as a file, code or a program
        if tensors := tensors_sha256(users_module(generator).state_dict()):  # none: nothing but the file to go by
            meta[TENSORS_KEY] = tensors
        ref = {"source": generator.source, "arch": arch, "options": options_to_record(options), "meta": meta}
        inverter = cls(
            spec=generator.spec.to_dict(),
            generator_ref=ref,
            width=width,
            hidden=hidden,
            iterations=iterations,
            sigma_x=sigma_x,
        )
        inverter.attach(generator)
        return inverter

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return self.spec.image_shape  # (C, H, W)

    def feature_layout(self) -> dict[str, int]:
        """The column blocks of `Posterior.features()`: z, then c and d when present."""
        sizes = {"z": self.spec.nz, "c": self.spec.nc, "d": self.spec.n_classes}
        return {name: size for name, size in sizes.items() if size}

    # ---- inference -----------------------------------------------------------------------
    def encode(
        self, x: Any, iterations: Optional[int] = None, *, input_range: Optional[tuple[float, float] | str] = None
    ) -> Posterior:
        """Images -> the posterior, after `iterations` refinement passes (default: as many as it was trained with;
        0: the single pass alone, which needs no generator).

        `x`: a tensor or array of the generator's image shape, (B, C, H, W), one (C, H, W) or channels-last, read
        by the command line's rule (`ganinv.data.as_model_images`): uint8 as [0, 255]; floats as [-1, 1], or
        [0, 1] with a warning, or [0, 255]; `input_range=(lo, hi)` declares the range. NaN pixels are refused, and
        images that look inverted against the generator's (dark digits on white) are warned about, as `invert` does,
        where the generator is at hand (loaded already, or by the refinement passes): it is never loaded for that
        check alone. The images are read as data: no gradient flows back to `x`."""
        x = as_model_images(x, self.spec.image_shape, input_range)
        weight = next(self.parameters())
        posterior = self.encode_model_images(x.to(weight.device), iterations)
        if self.__dict__.get("_generator") is not None:  # the command line warned, the API did not (an outside
            # audit); loading it here would draw from the random stream, or fetch it from the Hub (a review)
            from ganinv.polarity import warn_if_inverted  # it draws samples through ganinv.evaluation, which imports us

            warn_if_inverted(self, x)
        return posterior

    def encode_model_images(self, x: torch.Tensor, iterations: Optional[int] = None) -> Posterior:
        """`encode` for images already (B, C, H, W) in [-1, 1] on the inverter's device (ganinv's own loops), in
        the inverter's dtype (float32 images for an inverter made float64 or bfloat16: an outside audit)."""
        if not x.is_floating_point():  # uint8 pixels were encoded as values up to 255, in silence (an outside audit)
            raise DataError(
                f"encode_model_images takes float images in [-1, 1], not {str(x.dtype).removeprefix('torch.')}; "
                "give raw pixels to Inverter.encode, which reads their range"
            )
        n = self.passes(iterations)
        x = x.to(next(self.parameters()).dtype)
        return self(x, self.generator if n and self.refiner is not None else None, iterations=n)

    def passes(self, iterations: Optional[int]) -> int:
        """The refinement passes asked for: a whole number >= 0 (default: as many as trained), and none for a
        single-pass inverter (an outside audit: `iterations=1000` ran one pass in silence; the CLI refused it)."""
        n = self.iterations if iterations is None else iterations
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
            raise ArgumentError(f"iterations must be a whole number >= 0, got {n!r}")
        if n and self.refiner is None:
            raise ArgumentError(
                f"this inverter is single-pass (fitted with iterations 0): it has no refinement passes to run; drop "
                f"iterations={n}, or fit one with iterations >= 1"
            )
        return int(n)

    def forward(
        self, x: torch.Tensor, generator=None, codes: Optional[Latents] = None, iterations: Optional[int] = None
    ) -> Posterior:
        """The single pass, then, given `generator(z, c, d)` and a refiner, the refinement passes, decoding with
        `codes` (default: the posterior's own means). One call, so DistributedDataParallel sees every weight."""
        mu_z, logvar_z = self.latent_encoder(x)
        post = Posterior(mu_z, logvar_z, passes=[(mu_z, logvar_z)])
        if self.code_encoder is not None:
            post.logits_d, post.mu_c, post.logvar_c = self.code_encoder(x)
        n = self.iterations if iterations is None else iterations
        if generator is None or self.refiner is None or n == 0:
            return post
        fixed = codes if codes is not None else post.mean_latents()
        c = fixed.c.detach() if fixed.c is not None else None
        d = fixed.d.detach() if fixed.d is not None else None
        post.passes += refine_passes(self.refiner, lambda w: generator(w, c, d), x, mu_z, n)
        post.mu_z, post.logvar_z = post.passes[-1]
        return post

    def reconstruct(self, x: Any, *, input_range: Optional[tuple[float, float] | str] = None) -> torch.Tensor:
        """G(posterior mean) of images read as `encode` reads them: (B, C, H, W) in [-1, 1]."""
        return self.generator.decode(self.encode(x, input_range=input_range).mean_latents())
