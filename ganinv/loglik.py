"""Log-likelihoods of images under a generator, through its inverter (docs/algorithms.md §3; SS-AVL Proposition 3).

The model is the generator with its priors and the Gaussian observation model of docs/algorithms.md §2:
`u = (z, c, d)`, `z, c ~ N(0, I)`, `d ~ Cat(1/K)`, `x | u ~ N(G(u), sigma_x^2 I)` on the [-1, 1]
scale, `D = C*H*W` pixels. The inverter's posterior `q(z|x) q(c|x) q(d|x)` is the proposal.

For each image, `S = max(ks)` samples `(z_i, c_i) ~ q(z, c | x)` are drawn. The categorical code
is summed over its `K` values when `K <= max_enumerate`, otherwise one `d_i ~ q(d | x)` is drawn
per sample. Then:

- `elbo`, SS-AVL Eq. 18: `E_q[log p(x | u) + log p(u) - log q(u | x)]`, the mean over the `S`
  samples, exact in `d` when it is enumerated. The KL terms of `z` and `c` are estimated with the
  same samples, so the estimate is exact (zero variance) when `q` is the true posterior.
- `iw[k]`, docs/algorithms.md §3 (**beyond**): `logsumexp_{i<=k} log w_i - log k` on the first `k`
  samples. With `d` enumerated, `w_i = sum_d p(x | z_i, c_i, d) p(d) p(z_i) p(c_i) / q(z_i, c_i | x)`:
  `d` is summed out exactly, `q(d|x)` drops out, and `IW_1 >= ELBO` already. With `d` sampled,
  `w_i = p(x, u_i) / q(u_i | x)` and `IW_1 = ELBO` in expectation. Either way
  `IW_k <= IW_2k <= log p(x)` in expectation, tending to `log p(x)`.
- `surrogate`, SS-AVL Table 4, labelled as such: `-E_q[SSE on [0, 1]] - KL`, KL in closed form.
- `mse_sum`: SSE on [0, 1] of `G(posterior mean)`, the papers' MSE unit.
"""

from __future__ import annotations

import math
import numbers
import warnings
from dataclasses import dataclass
from typing import Any, Optional, Sequence, TypeVar

import torch
import torch.nn.functional as F
from torch import Tensor
from tqdm import tqdm

from ganinv.data import as_model_images
from ganinv.dreaming import SIGMA_X_RANGE, DreamingConfig
from ganinv.errors import (
    ArgumentError,
    ConfigError,
    DataError,
    SpecMismatchError,
    indices_text,
    require_bool,
    require_instance,
    require_torch_generator,
    require_whole,
)
from ganinv.inverter import Inverter
from ganinv.polarity import warn_if_inverted
from ganinv.spec import Latents
from ganinv.tuned_inference import tuned_transposed_convolutions

LOG_2PI = math.log(2 * math.pi)
# generator images per call: on a 2-core CPU 256 ran 10-20% faster than 512 and 60% faster than 1024
# (the activations stay in cache); a GPU wants more (--chunk-size)
CHUNK_SIZE = 256
MAX_ENUMERATE = 16  # sum d exactly up to this many categories, sample it above
MEMORY_BUDGET = 2 * 1024**3  # bytes of Monte Carlo terms held at once: batches shrink to fit, or k is refused
_Nats = TypeVar("_Nats", Tensor, float)  # bits_per_dim answers in the type it is given


# ---- per-example log-densities (summed over the last dimension, no batch reduction) --------
def log_normal(x: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
    """log N(x; mu, diag(exp(logvar)))."""
    return -0.5 * ((x - mu).square() * (-logvar).exp() + logvar + LOG_2PI).sum(dim=-1)


def log_standard_normal(x: Tensor) -> Tensor:
    """log N(x; 0, I)."""
    return -0.5 * (x.square() + LOG_2PI).sum(dim=-1)


def bits_per_dim(nats: _Nats, image_dim: int) -> _Nats:
    """A log-density in nats on the [-1, 1] scale as bits per dimension on the 8-bit scale.

    `bpd = (-nats / D + log 127.5) / log 2`: each pixel's density times its 8-bit bin width
    (2/255) is the bin's probability, the usual convention of image density models
    (no dequantisation; lower is better).
    """
    return (-nats / image_dim + math.log(127.5)) / math.log(2)


# ---- results -----------------------------------------------------------------------------
@dataclass
class LogLikelihood:
    """Per-image values, (N,) float64 tensors on the CPU; bounds in nats."""

    elbo: Tensor  # SS-AVL Eq. 18, Monte Carlo mean over S samples
    elbo_se: Tensor  # its Monte Carlo standard error (nan when S = 1)
    iw: dict[int, Tensor]  # k -> IW_k
    surrogate: Tensor  # SS-AVL Table 4: -E_q[SSE on [0, 1]] - KL
    kl: Tensor  # KL(q(z, c, d | x) || p(z, c, d)), closed form
    mse_sum: Tensor  # SSE on [0, 1] of G(posterior mean)
    sigma_x: float  # observation std on the [-1, 1] scale
    image_dim: int  # D = C*H*W

    def __len__(self) -> int:
        return self.elbo.shape[0]

    def bounds(self) -> dict[str, Tensor]:
        """The lower bounds on log p(x): "elbo", "iw_1", "iw_16", ..."""
        return {"elbo": self.elbo, **{f"iw_{k}": v for k, v in self.iw.items()}}

    def columns(self) -> dict[str, Tensor]:
        return {**self.bounds(), "surrogate": self.surrogate, "kl": self.kl, "mse_sum": self.mse_sum}

    def summary(self) -> dict[str, dict[str, float]]:
        """Mean and standard error over images of every column; bits/dim of each bound's mean."""
        n = len(self)
        out: dict[str, dict[str, float]] = {}
        for name, values in self.columns().items():
            se = values.std().item() / math.sqrt(n) if n > 1 else float("nan")
            out[name] = {"mean": values.mean().item(), "se": se}
        for name in self.bounds():
            out[name]["bpd"] = bits_per_dim(out[name]["mean"], self.image_dim)
        return out


@dataclass
class _Samples:
    """The terms of the importance weights of a batch, before sigma_x enters.

    J = K when d is enumerated (column j is d = j), else 1.
    """

    sse: Tensor  # (B, S, J) ||x - G(u)||^2 on [-1, 1]
    log_ratio: Tensor  # (B, S, J) log p(u) - log q(u | x), but for q(d|x) when d is enumerated
    log_q_d: Tensor  # (B, 1, J) log q(d = j | x) when enumerated, else zeros (B, 1, 1)
    kl: Tensor  # (B,) closed-form KL of the whole posterior
    mean_latents: Latents  # the posterior means, whose image gives mse_sum (decoded only where needed)
    non_finite: Tensor  # (B,) how many of each image's S * J latents the generator made a NaN or infinite image of

    def expected_sse(self) -> Tensor:
        """E_q ||x - G(u)||^2 per image, (B,)."""
        return (self.log_q_d.exp() * self.sse).sum(dim=-1).mean(dim=1)


def _draw_samples(
    inverter: Inverter,
    x: Tensor,
    n_samples: int,
    max_enumerate: int,
    chunk_size: int,
    generator: Optional[torch.Generator],
) -> _Samples:
    """Encode x (B, C, H, W), draw S latents per image from q and decode them in chunks."""
    spec, net = inverter.spec, inverter.generator
    batch, S, K = x.shape[0], n_samples, spec.n_classes
    post = inverter.encode_model_images(x)
    rng_device = generator.device if generator is not None else x.device

    def gaussian(mu: Tensor, logvar: Tensor) -> tuple[Tensor, Tensor]:
        eps = torch.randn(batch, S, mu.shape[1], generator=generator, device=rng_device).to(x)
        u = mu[:, None] + (0.5 * logvar[:, None]).exp() * eps  # (B, S, n)
        return u, log_standard_normal(u) - log_normal(u, mu[:, None], logvar[:, None])  # (B, S, n), (B, S)

    z, log_ratio = gaussian(post.mu_z, post.logvar_z)
    kl = post.kl()  # (B,) the closed-form KL of the whole posterior (z, c, d) to the priors
    c = None
    if spec.nc:
        assert post.mu_c is not None and post.logvar_c is not None, "an inverter for codes c encodes them"
        c, log_ratio_c = gaussian(post.mu_c, post.logvar_c)
        log_ratio = log_ratio + log_ratio_c

    log_q_d = x.new_zeros(batch, 1, 1)
    labels = None  # (B, S, J) the value of d in each column
    if K:
        assert post.logits_d is not None, "an inverter for classes encodes d"
        log_q = post.logits_d.log_softmax(dim=1)  # (B, K)
        if K <= max_enumerate:
            labels = torch.arange(K, device=x.device).expand(batch, S, K)
            log_q_d = log_q[:, None, :]  # (B, 1, K)
            log_ratio = (log_ratio[..., None] - math.log(K)).expand(batch, S, K)  # (B, S, K)
        else:
            probs = log_q.exp().to(rng_device)
            drawn = torch.multinomial(probs, S, replacement=True, generator=generator).to(x.device)  # (B, S)
            log_ratio = log_ratio - math.log(K) - log_q.gather(1, drawn)
            labels = drawn[..., None]  # (B, S, 1)
    if log_ratio.dim() == 2:
        log_ratio = log_ratio[..., None]  # (B, S, 1)

    J = log_ratio.shape[2]
    rows_total = batch * S * J  # one generator image per (image, sample, value of d)
    z_flat = z.reshape(batch * S, -1)
    c_flat = c.reshape(batch * S, -1) if c is not None else None
    labels_flat = labels.reshape(-1) if labels is not None else None
    sse = x.new_empty(rows_total)
    non_finite = torch.zeros(rows_total, dtype=torch.bool, device=x.device)
    for start in range(0, rows_total, chunk_size):
        rows = torch.arange(start, min(start + chunk_size, rows_total), device=x.device)
        sample = rows // J  # index into (B * S)
        d = F.one_hot(labels_flat[rows], K).to(x) if labels_flat is not None else None
        x_hat = net(z_flat[sample], c_flat[sample] if c_flat is not None else None, d)  # (R, C, H, W)
        sse[rows] = (x[rows // (S * J)] - x_hat).flatten(1).square().sum(dim=1)
        # counted, not only seen in the bounds: one NaN image of S made the ELBO nan while IW_1 stayed a number
        non_finite[rows] = ~x_hat.flatten(1).isfinite().all(dim=1)
    non_finite_per_image = non_finite.reshape(batch, S * J).sum(dim=1)
    return _Samples(sse.reshape(batch, S, J), log_ratio, log_q_d, kl, post.mean_latents(), non_finite_per_image)


def check_generator_finite(non_finite: Tensor, latents_per_image: int, images: str, drawn_from: str) -> None:
    """Refuse, with one `SpecMismatchError`, bounds that the generator's NaN or infinite images made meaningless.

    `non_finite`: (N,) how many of each image's `latents_per_image` latents gave a non-finite image. A bound over
    such a latent is no number (NaN, or a finite IW_1 beside a NaN ELBO when the one draw it uses missed), so
    none is reported: the images are not at fault, the generator is.
    """
    bad_images = non_finite.nonzero().flatten().tolist()
    if not bad_images:
        return
    raise SpecMismatchError(
        f"the generator makes NaN or infinite images for {int(non_finite.sum())} of "
        f"{non_finite.numel() * latents_per_image} latents drawn from {drawn_from}, for {len(bad_images)} of "
        f"{non_finite.numel()} {images} ({indices_text(bad_images)}), so the bounds on log p(x) of those images are "
        "not numbers and none is reported; check the generator (its weights, or its code for the latents it cannot "
        "take, such as a log or a division)"
    )


def sample_finite(inverter: Inverter, n: int, generator: Optional[torch.Generator], purpose: str) -> Tensor:
    """`n` fresh images of the inverter's generator (N, C, H, W); `SpecMismatchError` where some are NaN or infinite,
    naming the generator (the image reader's message for that asks to repair or drop the user's own files)."""
    _, images = inverter.generator.sample(n, generator=generator)
    bad = int((~images.flatten(1).isfinite().all(dim=1)).sum())
    if bad:
        raise SpecMismatchError(
            f"the generator itself makes NaN or infinite images for {bad} of the {n} latents drawn from its prior "
            f"for {purpose}, and such images have no likelihood; check the generator (its weights, or its code for "
            "the latents it cannot take, such as a log or a division)"
        )
    return images


def _bounds(samples: _Samples, sigma_x: float, ks: Sequence[int], image_dim: int) -> dict[str, Tensor]:
    """ELBO (with its Monte Carlo s.e.) and IW_k for every k, (B,) each."""
    log_px = -samples.sse / (2 * sigma_x**2) - 0.5 * image_dim * math.log(2 * math.pi * sigma_x**2)
    log_joint = log_px + samples.log_ratio  # (B, S, J) log p(x, u) - log q(z, c | x) [- log q(d | x)]
    q_d = samples.log_q_d.exp()
    per_sample_elbo = (q_d * (log_joint - samples.log_q_d)).sum(dim=-1)  # (B, S), exact in d when enumerated
    S = per_sample_elbo.shape[1]
    elbo_se = per_sample_elbo.std(dim=1) / math.sqrt(S) if S > 1 else torch.full_like(per_sample_elbo[:, 0], math.nan)
    log_w = log_joint.logsumexp(dim=-1)  # (B, S), d summed out when enumerated
    out = {"elbo": per_sample_elbo.mean(dim=1), "elbo_se": elbo_se}
    for k in ks:
        out[f"iw_{k}"] = log_w[:, :k].logsumexp(dim=1) - math.log(k)
    return out


# ---- memory ------------------------------------------------------------------------------
def sample_bytes(inverter: Inverter, max_enumerate: int = MAX_ENUMERATE) -> int:
    """Bytes one Monte Carlo sample of one image holds in `_draw_samples` and `_bounds` (an estimate
    on the high side): noise, latents and log-densities of z and c, and per value of d the log-ratio,
    SSE, label and the bound terms."""
    spec = inverter.spec
    itemsize = next(inverter.parameters()).element_size()
    columns = spec.n_classes if 0 < spec.n_classes <= max_enumerate else 1  # J
    return itemsize * (5 * (spec.nz + spec.nc) + 8 * columns) + 16 * columns


def plan_batch(
    inverter: Inverter,
    ks: Sequence[int],
    batch_size: int,
    max_enumerate: int = MAX_ENUMERATE,
    memory_budget: int = MEMORY_BUDGET,
) -> int:
    """The images per batch that keep `max(ks)` samples each within `memory_budget` bytes.

    Returns `batch_size`, or fewer images (with a warning: the Monte Carlo draws then differ from
    those of `batch_size`) when that many would not fit. Raises `DataError` when one image alone
    would not fit, naming the largest k that does.
    """
    n_samples = max(ks)
    per_sample = sample_bytes(inverter, max_enumerate)
    if n_samples * per_sample > memory_budget:
        raise DataError(
            f"k = {n_samples} (--k) draws {n_samples} samples per image, about "
            f"{n_samples * per_sample / 2**30:.3g} GiB for a single image, more than the "
            f"{memory_budget / 2**30:.3g} GiB budget; use k up to {memory_budget // per_sample}"
        )
    fits = max(1, memory_budget // (n_samples * per_sample))
    if fits < batch_size:
        warnings.warn(
            f"k = {n_samples}: encoding {fits} images at a time instead of {batch_size} to stay within "
            f"{memory_budget / 2**30:.3g} GiB (the Monte Carlo draws depend on the batch size)",
            stacklevel=2,
        )
        return int(fits)
    return batch_size


# ---- the API -----------------------------------------------------------------------------
@torch.inference_mode()
def log_likelihood(
    inverter: Inverter,
    images: Tensor,
    *,
    ks: Sequence[int] = (1, 16, 256),
    sigma_x: Optional[float] = None,
    batch_size: int = 64,
    chunk_size: int = CHUNK_SIZE,
    max_enumerate: int = MAX_ENUMERATE,
    generator: Optional[torch.Generator] = None,
    progress: bool = False,
    input_range: Optional[tuple[float, float] | str] = None,
) -> LogLikelihood:
    """Bounds on log p(x) for images of the generator's shape (docs/algorithms.md §3), read as `Inverter.encode`
    reads them (`input_range=(lo, hi)` declares their range).

    `ks`: sample sizes of the importance-weighted bounds; `max(ks)` samples per image are drawn and
    IW_k uses the first k. `sigma_x`: the observation std on the [-1, 1] scale (default: the one the
    inverter was fitted with, else the dreaming default; see `fit_sigma`). `chunk_size`: images per generator
    call, which bounds the memory whatever k is. `generator`: the torch random generator of the Monte Carlo draws
    (seeded: reproducible for the same `batch_size`).
    """
    require_instance(inverter, Inverter, "inverter", "ganinv.Inverter.load(...)")
    progress = require_bool(progress, "progress")
    chunk_size = require_whole(chunk_size, "chunk_size", 1)  # 2.5, -1, True ran or met Python's own errors (53c)
    max_enumerate = require_whole(max_enumerate, "max_enumerate")
    spec = inverter.spec
    if sigma_x is None:
        sigma_x = inverter.sigma_x if inverter.sigma_x is not None else DreamingConfig.sigma_x
    ks = checked_ks(ks)
    require_torch_generator(generator)
    low, high = SIGMA_X_RANGE  # as fitting takes it: 1e-30 gave -inf bounds, 1e-200 "math domain error"
    if isinstance(sigma_x, bool) or not isinstance(sigma_x, (numbers.Real, torch.Tensor)):  # numpy's floats too
        raise ArgumentError(f"sigma_x must be a number, got {sigma_x!r}")
    if not math.isfinite(sigma_x) or not low <= sigma_x <= high:
        raise ArgumentError(f"sigma_x must be a finite number in [{low:g}, {high:g}], got {float(sigma_x):g}")
    if batch_size < 1 or chunk_size < 1:
        raise ArgumentError(f"need batch_size >= 1 and chunk_size >= 1, got {batch_size} and {chunk_size}")
    images = as_model_images(images, spec.image_shape, input_range)  # shape, range, NaN: one clear error
    warn_if_inverted(inverter.generator, images)
    batch_size = plan_batch(inverter, ks, batch_size, max_enumerate)
    device, dtype = inverter.device, next(inverter.parameters()).dtype
    columns: dict[str, list[Tensor]] = {}
    latents_per_image = 0  # S * J draws of q and the posterior mean
    with tuned_transposed_convolutions(inverter.generator):  # (loads the generator before the bar starts)
        for start in tqdm(range(0, images.shape[0], batch_size), desc="loglik", unit="batch", disable=not progress):
            x = images[start : start + batch_size].to(device, dtype)  # (B, C, H, W)
            samples = _draw_samples(inverter, x, ks[-1], max_enumerate, chunk_size, generator)
            values = _bounds(samples, sigma_x, ks, spec.image_dim)
            values["surrogate"] = -samples.expected_sse() / 4 - samples.kl  # SSE on [0, 1] = SSE on [-1, 1] / 4
            values["kl"] = samples.kl
            reconstruction = inverter.generator.decode(samples.mean_latents)  # (B, C, H, W)
            values["mse_sum"] = ((x - reconstruction) / 2).flatten(1).square().sum(dim=1)
            values["non_finite"] = samples.non_finite + ~reconstruction.flatten(1).isfinite().all(dim=1)
            latents_per_image = samples.sse[0].numel() + 1
            for name, value in values.items():
                columns.setdefault(name, []).append(value.double().cpu())
    col = {name: torch.cat(parts) for name, parts in columns.items()}
    # every image is scored before refusing, so that the count names all the images at fault
    check_generator_finite(
        col["non_finite"], latents_per_image, "images", "the inverter's posterior q (its draws and mean)"
    )
    return LogLikelihood(
        elbo=col["elbo"],
        elbo_se=col["elbo_se"],
        iw={k: col[f"iw_{k}"] for k in ks},
        surrogate=col["surrogate"],
        kl=col["kl"],
        mse_sum=col["mse_sum"],
        sigma_x=float(sigma_x),
        image_dim=spec.image_dim,
    )


def checked_ks(ks: Any) -> list[int]:
    """Sample sizes as whole numbers >= 1, sorted, once each: a string or 1.5 was int()ed in silence ("256" gave k = 2,
    5, 6; an outside audit); one number is taken as `(k,)`."""
    if hasattr(ks, "tolist") and not isinstance(ks, (str, bytes)):  # a numpy array or tensor of sample sizes
        ks = ks.tolist()
    if isinstance(ks, numbers.Integral) and not isinstance(ks, bool):
        ks = (ks,)
    if isinstance(ks, (str, bytes)) or not isinstance(ks, Sequence):
        raise ArgumentError(f"ks must be whole numbers >= 1, e.g. (1, 16, 256); got {ks!r}")
    whole = [k for k in ks if isinstance(k, numbers.Integral) and not isinstance(k, bool)]
    if not ks or len(whole) < len(ks) or min(whole) < 1:
        raise ArgumentError(f"need sample sizes k: whole numbers >= 1, e.g. (1, 16, 256); got {tuple(ks)!r}")
    return sorted(set(int(k) for k in whole))


@torch.inference_mode()
def fit_sigma(
    inverter: Inverter,
    n: int = 512,
    *,
    n_samples: int = 16,
    batch_size: int = 64,
    chunk_size: int = CHUNK_SIZE,
    max_enumerate: int = MAX_ENUMERATE,
    generator: Optional[torch.Generator] = None,
) -> float:
    """The sigma_x that maximises the mean ELBO (Eq. 18) on `n` fresh generated samples.

    The ELBO depends on sigma_x only through `-E_q[SSE] / (2 sigma^2) - (D/2) log(2 pi sigma^2)`,
    so the maximiser is closed form: `sigma^2 = mean over images of E_q[SSE] / D`, with the
    expectation estimated from `n_samples` draws of q per image.

    Raises `SpecMismatchError` where the generator makes NaN or infinite images (of its prior's latents or of q's),
    and `ConfigError` where the maximiser lies outside `SIGMA_X_RANGE`, which no bound can take.
    """
    images = sample_finite(inverter, n, generator, "--fit-sigma (fit_sigma's held-out samples)")
    total_sse = 0.0
    non_finite = []
    latents_per_image = 1
    with tuned_transposed_convolutions(inverter.generator):
        for start in range(0, n, batch_size):
            x = images[start : start + batch_size]
            samples = _draw_samples(inverter, x, n_samples, max_enumerate, chunk_size, generator)
            total_sse += samples.expected_sse().double().sum().item()
            non_finite.append(samples.non_finite.cpu())
            latents_per_image = samples.sse[0].numel()
    check_generator_finite(torch.cat(non_finite), latents_per_image, "generated samples", "the inverter's posterior q")
    sigma = math.sqrt(total_sse / (n * inverter.spec.image_dim))
    low, high = SIGMA_X_RANGE
    if not low <= sigma <= high:  # a 1e-8-scale generator fitted 2.5e-9, which log_likelihood refused as a bug
        side = (
            "below the smallest allowed, as the inverter reconstructs the generator's samples almost exactly (or "
            "the generator's images are tiny in scale)"
            if sigma < low
            else "above the largest allowed, as the inverter's reconstructions miss the generator's samples by far"
        )
        raise ConfigError(
            f"--fit-sigma: the sigma_x that maximises the ELBO on {n} generated samples is {sigma:.3g}, {side}; "
            f"sigma_x must lie in [{low:g}, {high:g}]: give --sigma-x (in Python, sigma_x=) instead, e.g. "
            f"{min(max(sigma, low), high):g}"
        )
    return sigma
