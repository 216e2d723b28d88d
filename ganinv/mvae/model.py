"""MVAE: a mixture of K VAE components feeding one mix-decoder (docs/algorithms.md §5; MVAE Secs. III-IV, Fig. 1).

Component `i` is an encoder `E_i(x) -> (mu_i, logvar_i, a_i)` and a one-layer sub-decoder `t_i`.
A forward pass (docs/algorithms.md §5, steps 1-5):
    z_i = mu_i + sigma_i * eps                       (Eq. 25)
    w ~ Dir(a_1..a_K), implicit reparameterisation   (Eq. 26)
    m = component dropout mask (ganinv.mvae.dropout)
    b_i = m_i w_i / sum_j m_j w_j                    (Eq. 16)
    s = sum_i b_i t_i(z_i)                           (Eq. 17)
    x_hat = MixDec(s)

MixDec is either a small convolutional decoder of its own (standalone, the papers' experiments)
or a frozen ganinv `Generator` (the ganinv setting). Atop a generator, `s` is a vector of the
generator's flat latent `(z, c, d)` (`Latents.flat()`, size nz + nc + K): `z` and `c` in its
standardised space, `d` fed as given (a soft one-hot only approximately, unless `lambda_s` pulls
it to the true one-hot). The generator is referenced, not stored, as by `ganinv.inverter.Inverter`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional

import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import Tensor, nn
from torch.nn import functional as F

from ganinv.data import as_model_images
from ganinv.encoders import ConvTrunk, GaussianHead
from ganinv.generator import Generator
from ganinv.generator_reference import GeneratorReference
from ganinv.losses import reparameterize
from ganinv.mvae.dropout import ComponentDropout
from ganinv.spec import GeneratorSpec, Latents

A_MIN = 0.05  # floor of the Dirichlet concentrations: keeps rsample and lgamma well conditioned
EPS = 1e-8  # guards sum_j m_j w_j when every mask is (nearly) zero


class ComponentEncoder(nn.Module):
    """E_i(x) -> (mu_i, logvar_i, a_i): a Gaussian over z_i and the component's Dirichlet concentration a_i > 0."""

    def __init__(self, image_shape: tuple[int, int, int], latent_dim: int, width: int, hidden: int):
        super().__init__()
        self.trunk = ConvTrunk(image_shape, width, hidden)
        self.gaussian = GaussianHead(hidden, latent_dim)
        self.concentration = nn.Linear(hidden, 1)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        h = self.trunk(x)  # (B, hidden)
        mu, logvar = self.gaussian(h)  # (B, L) each
        a = F.softplus(self.concentration(h)).squeeze(1) + A_MIN  # (B,)
        return mu, logvar, a


class ConvMixDecoder(nn.Module):
    """The standalone mix-decoder p(x | s): a linear map to a 4x4-ish feature map, then (upsample, 3x3 conv)
    stages through the encoder's sizes in reverse (e.g. 4, 7, 14, 28), channels halving, a tanh output."""

    def __init__(self, s_dim: int, image_shape: tuple[int, int, int], width: int = 32):
        super().__init__()
        channels, height, width_px = image_shape
        sizes = [(height, width_px)]
        while max(sizes[-1]) > 4:
            sizes.append((math.ceil(sizes[-1][0] / 2), math.ceil(sizes[-1][1] / 2)))
        sizes.reverse()  # coarse to fine
        widths = [min(width * 2 ** (len(sizes) - 1 - i), width * 8) for i in range(len(sizes))]
        self.start = (widths[0], *sizes[0])
        self.fc = nn.Sequential(nn.Linear(s_dim, math.prod(self.start)), nn.ReLU())
        layers: list[nn.Module] = []
        for size, c_in, c_out in zip(sizes[1:], widths[:-1], widths[1:]):
            layers += [
                nn.Upsample(size=size, mode="nearest"),
                nn.Conv2d(c_in, c_out, 3, padding=1),
                nn.BatchNorm2d(c_out),
                nn.ReLU(),
            ]
        layers += [nn.Conv2d(widths[-1], channels, 3, padding=1), nn.Tanh()]
        self.body = nn.Sequential(*layers)

    def forward(self, s: Tensor) -> Tensor:
        return self.body(self.fc(s).view(s.shape[0], *self.start))  # (B, S) -> (B, C, H, W) in [-1, 1]


@dataclass
class MixturePosterior:
    """The K encoders' answer for a batch of images."""

    mu: Tensor  # (B, K, L)
    logvar: Tensor  # (B, K, L)
    a: Tensor  # (B, K) Dirichlet concentrations

    def features(self) -> Tensor:
        """docs/algorithms.md §4: every component's mu_i side by side, (B, K * L)."""
        return self.mu.flatten(1)

    def mean_weights(self) -> Tensor:
        """E[w] under Dir(a): a_i / a0, (B, K)."""
        return self.a / self.a.sum(dim=1, keepdim=True)


@dataclass
class MixtureSample:
    """One stochastic pass (docs/algorithms.md §5, steps 1-5)."""

    posterior: MixturePosterior
    z: Tensor  # (B, K, L) reparameterised latents
    w: Tensor  # (B, K) Dirichlet mixing weights
    m: Tensor  # (B, K) dropout masks
    b: Tensor  # (B, K) masked, renormalised weights
    s: Tensor  # (B, S) mixed latent
    x_hat: Tensor  # (B, C, H, W) reconstruction


def mixing_coefficients(w: Tensor, m: Tensor) -> Tensor:
    """b_i = m_i w_i / sum_j m_j w_j (MVAE Eq. 16), (B, K)."""
    masked = m * w
    return masked / masked.sum(dim=1, keepdim=True).clamp_min(EPS)


def split_latent(s: Tensor, spec: GeneratorSpec) -> Latents:
    """The inverse of `Latents.flat()`: (B, nz + nc + K) -> Latents(z, c, d)."""
    z, c, d = s.split([spec.nz, spec.nc, spec.n_classes], dim=1)
    return Latents(z=z, c=c if spec.nc else None, d=d if spec.n_classes else None)


MAX_COMPONENTS = 256  # the papers use 4-10; a config.json's count builds that many modules before any weight is read


def check_counts(n_components: Any, p_init: Any, temperature: Any) -> None:
    """A config.json is data: the component count, the dropout's initial rate and its temperature are checked before
    anything is built (an outside audit: 200000 components grew past 1.7 GB; a temperature of 0 or below loaded and
    changed the selection; p_init 5 gave "math domain error")."""

    def number(value: Any) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)

    if isinstance(n_components, bool) or not isinstance(n_components, int) or not 1 <= n_components <= MAX_COMPONENTS:
        raise ValueError(f"n_components must be an integer in [1, {MAX_COMPONENTS}], got {n_components!r}")
    if not number(p_init) or not 0 < p_init < 1:
        raise ValueError(f"p_init must be a number in (0, 1), got {p_init!r}")
    if not number(temperature) or not temperature > 0:
        raise ValueError(f"temperature must be a positive number, got {temperature!r}")


class MVAE(GeneratorReference, nn.Module, PyTorchModelHubMixin, library_name="ganinv", tags=["ganinv", "mvae"]):
    run_subfolder = "mvae"  # `ganinv mvae fit` keeps the artifact here
    artifact_noun = "MVAE"
    fit_command = "ganinv mvae fit"  # the command that makes one, for messages
    kept: Tensor  # buffer (K,)

    def __init__(
        self,
        *,
        image_shape: list[int],
        n_components: int = 6,
        latent_dim: int = 16,
        s_dim: int = 32,
        width: int = 32,
        hidden: int = 256,
        dropout: str = "gs",
        per_component_p: bool = False,
        p_init: float = 0.1,
        temperature: float = 0.1,
        spec: Optional[dict] = None,
        generator_ref: Optional[dict] = None,
    ):
        super().__init__()
        check_counts(n_components, p_init, temperature)
        channels, height, width_px = (int(v) for v in image_shape)  # the encoders unpack it the same way
        self.image_shape = (channels, height, width_px)  # (C, H, W)
        self.n_components, self.latent_dim = n_components, latent_dim
        self.spec = GeneratorSpec.from_dict(spec) if spec is not None else None  # None: standalone
        if generator_ref is not None and not isinstance(generator_ref, dict):  # a config.json is data
            raise ValueError(
                f"generator_ref must be a JSON object (source, arch, options, meta), got {generator_ref!r}"
            )
        self.generator_ref = dict(generator_ref or {})  # {"source", "arch", "options", "meta"}
        if self.spec is not None and s_dim != self.spec.nz + self.spec.nc + self.spec.n_classes:
            raise ValueError(
                f"atop a generator s has its latent size {self.spec.nz + self.spec.nc + self.spec.n_classes}"
                f", not {s_dim}; build it with MVAE.for_generator"
            )
        self.encoders = nn.ModuleList(
            ComponentEncoder(self.image_shape, latent_dim, width, hidden) for _ in range(n_components)
        )
        self.sub_decoders = nn.ModuleList(nn.Linear(latent_dim, s_dim) for _ in range(n_components))  # t_i
        self.dropout = ComponentDropout(dropout, n_components, per_component_p, p_init, temperature)
        self.mix_decoder = ConvMixDecoder(s_dim, self.image_shape, width) if self.spec is None else None
        self.register_buffer("kept", torch.ones(n_components))  # 1 for the components kept by `select_components`
        self._init_generator_reference()

    @classmethod
    def for_generator(
        cls, generator: Generator, *, arch: Optional[str] = None, options: Optional[dict] = None, **kwargs: Any
    ) -> "MVAE":
        """An MVAE whose MixDec is the frozen `generator`; `arch` and `options` are kept to reload it."""
        spec = generator.spec
        from ganinv.sources import options_to_record  # (sources reads artifacts: imported where it is used)

        ref = {"source": generator.source, "arch": arch, "options": options_to_record(options), "meta": generator.meta}
        model = cls(
            image_shape=list(spec.image_shape),
            s_dim=spec.nz + spec.nc + spec.n_classes,
            spec=spec.to_dict(),
            generator_ref=ref,
            **kwargs,
        )
        return model.attach(generator)

    # ---- the generator, when MixDec is one (ganinv.generator_reference) -------------------------
    def attach(self, generator: Generator) -> "MVAE":
        return super().attach(generator.to(self.device))

    # ---- the mixture ----------------------------------------------------------------------------
    def encode(self, x: Any, *, input_range: Optional[tuple[float, float] | str] = None) -> MixturePosterior:
        """Images -> every component's (mu_i, logvar_i, a_i), the images read as `Inverter.encode` reads them
        (`ganinv.data.as_model_images`: uint8, [0, 255] or [0, 1] floats with a warning, NaN refused; an outside
        audit found [0, 255] floats and NaN encoded in silence); `input_range="model"` takes them as they are."""
        return self.encode_model_images(self.model_images(x, input_range))

    def model_images(self, x: Any, input_range: Optional[tuple[float, float] | str] = None) -> Tensor:
        """`x` as float (B, C, H, W) in [-1, 1] on the model's device and dtype."""
        weight = next(self.parameters())
        return as_model_images(x, self.image_shape, input_range, "the images").to(weight.device, weight.dtype)

    def encode_model_images(self, x: Tensor) -> MixturePosterior:
        """x: (B, C, H, W) in [-1, 1] -> every component's (mu_i, logvar_i, a_i)."""
        mus, logvars, concentrations = zip(*(encoder(x) for encoder in self.encoders))
        return MixturePosterior(
            torch.stack(mus, dim=1), torch.stack(logvars, dim=1), torch.stack(concentrations, dim=1)
        )

    def mix(self, z: Tensor, b: Tensor) -> Tensor:
        """s = sum_i b_i t_i(z_i) (MVAE Eq. 17); z: (B, K, L), b: (B, K) -> (B, S)."""
        s_i = torch.stack([t(z[:, i]) for i, t in enumerate(self.sub_decoders)], dim=1)  # (B, K, S)
        return (b.unsqueeze(2) * s_i).sum(dim=1)

    def decode(self, s: Tensor) -> Tensor:
        """x_hat = MixDec(s), (B, C, H, W) in [-1, 1]."""
        if self.mix_decoder is not None:
            return self.mix_decoder(s)
        assert self.spec is not None, "an MVAE without a mix-decoder is atop a generator"
        return self.generator.decode(split_latent(s, self.spec))

    def forward(self, x: Tensor) -> MixtureSample:
        """docs/algorithms.md §5, steps 1-5, with fresh noise for z, w and m."""
        posterior = self.encode_model_images(x)
        z = reparameterize(posterior.mu, posterior.logvar)  # (B, K, L)
        # unvalidated: concentrations are >= A_MIN by construction unless training diverged, and then the NaN must reach
        # the loss and its divergence check, not raise here (an option fuzzer: `--lr 1e12` was an internal error)
        w = torch.distributions.Dirichlet(posterior.a.float(), validate_args=False).rsample()  # (B, K)
        m = self.dropout.sample(x.shape[0], x.device)  # (B, K)
        b = mixing_coefficients(w, m)
        s = self.mix(z, b)
        return MixtureSample(posterior, z, w, m, b, s, self.decode(s))

    def reconstruct(
        self, x: Any, component: Optional[int] = None, *, input_range: Optional[tuple[float, float] | str] = None
    ) -> Tensor:
        """Deterministic reconstruction from the means: z_i = mu_i and b = E[w] over the kept components,
        or `b = e_component` to see what one component alone encodes (MVAE Figs. 2, 3). Images as `encode` reads
        them."""
        x = self.model_images(x, input_range)
        posterior = self.encode_model_images(x)
        if component is None:
            b = mixing_coefficients(posterior.mean_weights(), self.kept.expand_as(posterior.a))
        else:
            b = F.one_hot(torch.tensor(component, device=x.device), self.n_components).float().expand_as(posterior.a)
        return self.decode(self.mix(posterior.mu, b))

    @torch.no_grad()
    def select_components(self, n_draws: int = 1000, generator: Optional[torch.Generator] = None) -> dict[str, Any]:
        """docs/algorithms.md §5, step 7: a component is kept when its mask is above the threshold of its dropout kind
        in most of `n_draws` draws (at least one is kept). `selected_k` is the mean number above the threshold
        per draw, the paper's "Selected K" (MVAE Table VI)."""
        rates = self.dropout.keep_rates(n_draws, generator).to(self.kept.device)  # (K,)
        kept = rates >= 0.5
        if not kept.any():
            kept[rates.argmax()] = True
        self.kept.copy_(kept.float())
        return {
            "selected_k": round(rates.sum().item(), 3),
            "kept": kept.nonzero().flatten().tolist(),
            "keep_rates": [round(r, 3) for r in rates.tolist()],
            "p": [round(p, 4) for p in self.dropout.p().tolist()] if self.dropout.kind != "none" else [],
        }

    def feature_layout(self) -> dict[str, int]:
        """The column blocks of `MixturePosterior.features()`: z1, z2, ... of latent_dim each."""
        return {f"z{i + 1}": self.latent_dim for i in range(self.n_components)}
