"""`Generator`: the one view of a pretrained generator the rest of ganinv uses (docs/algorithms.md §1).

An adapter hands over a *native* module, called as `net(z_native, c, d)`, and its spec.
`Generator` wraps it so that, whatever the native conventions:
- latents are standard normal: a `U(a, b)` native prior is reached as `a + (b-a) Phi(z)`, a
  normal truncated to `[a, b]` as `Phi^-1(Phi(a) + (Phi(b)-Phi(a)) Phi(z))`, times `native_prior_scale`;
  `z` is reshaped to the native latent shape (e.g. `(nz, 1, 1)`);
- images are `(N, C, H, W)` in `[-1, 1]`;
- parameters are frozen (no grad) and every call runs in eval mode (the module's own modes restored after it),
  but the output is differentiable in the latents.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import numbers
import sys
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Optional

import torch
from torch import nn

from ganinv.errors import ArgumentError, SpecMismatchError, first_line, require_torch_generator, require_whole
from ganinv.spec import GeneratorSpec, Latents

NO_GRADIENT = (
    "the generator's images carry no gradient to its latents (a forward under torch.no_grad() or inference_mode, a "
    ".detach(), integer images, or images chosen among fixed ones by an argmax or an index of the latents)"
)
NO_GRADIENT_REMEDY = "return float images computed with autograd on"
ZERO_GRADIENT = (
    "the generator's images do not change under small moves of its latents: their gradient is exactly 0 at every "
    "probe latent (a step function inside, such as sign, round or floor, or outputs saturated everywhere)"
)
NONFINITE_GRADIENT_CAUSE = "(a sqrt or log at 0 inside, often behind torch.where)"
NONFINITE_GRADIENT = (
    f"the generator's gradient to its latents is not finite at some probe latents, though its images are "
    f"{NONFINITE_GRADIENT_CAUSE}"
)
COLLAPSED = "the generator makes the same image for every probe latent, so there is nothing of the latents to learn"


class GradientError(SpecMismatchError):
    """The generator's gradient to its latents cannot be followed (not finite where its images are)."""


class ProbeWarning(UserWarning):
    """What the load-time probe saw that a user should know (a collapsed generator, dark images under [-1, 1]). Its
    own category, so that the CLI shows it: issued from inside the probe, whose torch.no_grad() wrapper Python names
    as the caller, a plain UserWarning was attributed to torch and hidden (an outside audit)."""


# Set by the command line: what a generator's own code prints (a user's module, factory or program) goes to stderr,
# so that stdout holds the command's results only (`inspect --json` of a generator that printed did not parse: an
# outside audit, 49a). In Python, left as the user's process has it.
PRINTS_TO_STDERR = False


def users_prints() -> contextlib.AbstractContextManager:
    """Where the generator's own code prints, while it runs: stderr on the command line (PRINTS_TO_STDERR)."""
    return contextlib.redirect_stdout(sys.stderr) if PRINTS_TO_STDERR else contextlib.nullcontext()


class Generator(nn.Module):
    def __init__(
        self,
        net: nn.Module,
        spec: GeneratorSpec,
        source: str = "",
        meta: Optional[dict] = None,
        trainable: bool = False,
    ):
        super().__init__()
        if not isinstance(net, nn.Module):  # a function or a dict failed later, as raw AttributeErrors (audit 41a)
            kind = "a function" if callable(net) else f"a {type(net).__name__}"
            raise ArgumentError(f"Generator(net, spec): net is {kind}, not a torch.nn.Module; wrap it in a module")
        if not isinstance(spec, GeneratorSpec):
            raise ArgumentError(
                f"Generator(net, spec): spec is a {type(spec).__name__}, not a GeneratorSpec; give "
                "GeneratorSpec(nz=..., image_shape=(C, H, W), ...)"
                + (" (GeneratorSpec(**it))" if isinstance(spec, dict) else "")
            )
        self.net = net
        self.spec = spec
        self.source = source  # the string it was loaded from, e.g. "hub:owner/name@rev"
        self.meta = dict(meta or {})  # provenance: architecture, options, weights hash
        # False (every loaded generator): frozen, parameters without gradient, always in eval mode.
        # True: the wake phase's G, which learns and has the usual train/eval modes.
        self.trainable = trainable
        self.differentiable: Optional[bool] = None  # found by the probe: whether images carry gradients to latents
        # found by the probe: why a fit or refinement through G could learn nothing (images that ignore the latents,
        # a gradient of 0 or not finite), or None; they stopped with a metric "not a finite number" (an outside audit)
        self.gradient_problem: Optional[str] = None
        if not trainable:
            self.freeze()

    def freeze(self) -> "Generator":
        """Parameters without gradient, for good: a fit backpropagates through G to its latents only (gradients of
        G's weights would cost time and land in the module's .grad). The module's modes are set per call instead."""
        for parameter in self.net.parameters():  # one by one: a ScriptModule refuses requires_grad_ on itself
            parameter.requires_grad_(False)
        self.training = False
        return self

    def train(self, mode: bool = True) -> "Generator":
        if self.trainable:
            return super().train(mode)
        self.training = False  # a frozen generator runs every call in eval mode (`_contract_modes`), whatever is asked
        return self

    def _contract_modes(self) -> contextlib.AbstractContextManager:
        """The modes of the module for one call (`modes_for_call`); a trainable generator keeps its own."""
        if self.trainable:
            return contextlib.nullcontext()
        return modes_for_call(self.net, batch_statistics=self.meta.get("batchnorm") == "train")

    @property
    def device(self) -> torch.device:
        for t in list(self.net.parameters()) + list(self.net.buffers()):
            return t.device
        return torch.device("cpu")

    @property
    def dtype(self) -> torch.dtype:
        for t in self.net.parameters():
            return t.dtype
        return torch.float32

    # ---- latents -------------------------------------------------------------------
    def sample_latents(
        self, n: int, generator: Optional[torch.Generator] = None, device: Optional[torch.device] = None
    ) -> Latents:
        """Draw `n` latents from the standardised priors: z, c ~ N(0, I), d ~ Cat(1/K) one-hot."""
        n = require_whole(n, "n")  # -1 and 2.5 ended in torch's own errors (an outside audit, 53c)
        device = device if device is not None else self.device
        # the contract's float32 whatever the module's dtype: in_module_dtype feeds a float64 or bfloat16 module its
        # own, and its images come back in the latents' (drawn in its dtype, they came back float64 and a fit's
        # float32 encoders failed on them: an outside audit)
        dtype = torch.float32
        require_torch_generator(generator)
        gen_device = generator.device if generator is not None else device
        z = torch.randn(n, self.spec.nz, generator=generator, device=gen_device).to(device, dtype)
        c = d = None
        if self.spec.nc:
            c = torch.randn(n, self.spec.nc, generator=generator, device=gen_device).to(device, dtype)
        if self.spec.n_classes:
            labels = torch.randint(self.spec.n_classes, (n,), generator=generator, device=gen_device).to(device)
            d = nn.functional.one_hot(labels, self.spec.n_classes).to(dtype)
        return Latents(z=z, c=c, d=d)

    def to_native_z(self, z: torch.Tensor) -> torch.Tensor:
        spec = self.spec
        z = native_from_standard(z, spec.native_prior, spec.native_prior_range, spec.native_prior_scale)
        if spec.native_latent_shape is not None:
            z = z.reshape(z.shape[0], *spec.native_latent_shape)
        return z

    # ---- images --------------------------------------------------------------------
    def forward(
        self, z: torch.Tensor, c: Optional[torch.Tensor] = None, d: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        if isinstance(z, torch.Tensor) and z.dim() > 2 and math.prod(z.shape[1:]) == self.spec.nz:
            z = z.flatten(1)  # (N, nz, 1, 1), as DCGAN code holds its noise: the same latents
        self._check_latents(z, c, d)
        given = z.dtype
        z, c, d = in_module_dtype(self.net, z, c, d)  # a float64 module: its images come back in the latents' dtype
        if self.differentiable is False and z.requires_grad:  # a backward through it would fail, unexplained
            self.require_gradients("this computation")
        with self._contract_modes(), users_prints():
            x = self.net(self.to_native_z(z), c, d)  # (B, C, H, W), native range
        if isinstance(x, torch.Tensor) and x.device != z.device:  # an internal error later (an outside audit, 49a)
            raise SpecMismatchError(
                f"the generator{' ' + self.source if self.source else ''} returns images on device {x.device} for "
                f"latents on {z.device}; "
                "its code must return them on its input's device (a .to() or .cpu() in its forward?)"
            )
        if isinstance(x, torch.Tensor) and x.is_floating_point() and given.is_floating_point and x.dtype != given:
            x = x.to(given)  # images in the latents' dtype: ganinv's (float32), or a float64 encoder's
        lo, hi = self.spec.native_output_range
        if (lo, hi) != (-1.0, 1.0):
            x = (x - lo) * (2.0 / (hi - lo)) - 1.0
        if self.meta.get("clamp_output"):  # a little beyond the range given (probe): the contract's [-1, 1]
            x = x.clamp(-1, 1)
        if self.spec.native_channel_order == "bgr":
            x = x.flip(1)  # (B, C, H, W): B, G, R -> R, G, B
        return x

    def _check_latents(self, z: Any, c: Any, d: Any) -> None:
        """Standardised latents of this spec, or a ValueError naming the part that is missing or mis-sized (an outside
        audit: `G(z)` on a generator with codes, labels for `d`, numpy latents were raw torch errors)."""
        spec = self.spec
        parts = (("z", z, spec.nz, True), ("c", c, spec.nc, spec.nc > 0), ("d", d, spec.n_classes, spec.n_classes > 0))
        rows = z.shape[0] if isinstance(z, torch.Tensor) and z.dim() else None
        for name, value, size, wanted in parts:
            if not wanted and value is None:
                continue
            ok = isinstance(value, torch.Tensor) and wanted and value.dim() == 2 and value.shape[1] == size
            if not ok or value.shape[0] != rows or not value.is_floating_point():
                call = "G(z" + (", c" if spec.nc else "") + (", d" if spec.n_classes else "") + ")"  # said only here
                shapes = f"z (N, {spec.nz})" + (f", c (N, {spec.nc})" if spec.nc else "")
                shapes += f", d (N, {spec.n_classes}) one-hot" if spec.n_classes else ""
                got = f"{type(value).__name__}" if not isinstance(value, torch.Tensor) else f"{tuple(value.shape)}"
                raise ValueError(
                    f"this generator is called as {call} with float tensors {shapes}; {name} is {got}"
                    + (f" {str(value.dtype).removeprefix('torch.')}" if isinstance(value, torch.Tensor) else "")
                    + " (G.decode(latents) takes the Latents that G.sample_latents draws)"
                )
        # latents on the meta device were torch's own "not on the expected device meta" (41a); looked at only where
        # some are, as this runs at every call, and only for a module with weights (without, it runs anywhere: 42a)
        on_meta = [name for name, v in (("z", z), ("c", c), ("d", d)) if isinstance(v, torch.Tensor) and v.is_meta]
        if on_meta and any(True for _ in itertools.chain(self.net.parameters(), self.net.buffers())):
            if self.device.type != "meta":
                raise ValueError(
                    f"{on_meta[0]} is on the meta device and the generator on {self.device}: give latents on its "
                    "device (z.to(G.device))"
                )
        # NaN latents gave NaN images without a word; latents that carry gradients come from an encoder or an
        # optimisation, whose loss check says what went non-finite (a fit's own message names the generator). On an
        # accelerator the check would stall the device at every call (a host sync): there it is the loss's too.
        for name, value in (("z", z), ("c", c), ("d", d)):
            if value is None or value.requires_grad or value.device.type != "cpu":
                continue
            if not bool(torch.isfinite(value).all()):
                bad = int((~torch.isfinite(value)).sum())
                raise ValueError(f"{name} holds {bad} NaN or infinite value(s); latents must be finite")

    def decode(self, latents: Latents) -> torch.Tensor:
        """Images in [-1, 1] for standardised latents, (N, C, H, W)."""
        if not isinstance(latents, Latents):  # a tuple was a raw AttributeError (an outside audit, 41a)
            raise ArgumentError(
                f"G.decode takes the Latents that G.sample_latents draws, not a {type(latents).__name__}; call "
                "G(z, c, d) with tensors"
            )
        return self(latents.z, latents.c, latents.d)

    def sample(
        self, n: int, generator: Optional[torch.Generator] = None, batch_size: int = 256
    ) -> tuple[Latents, torch.Tensor]:
        for name, value in (("n", n), ("batch_size", batch_size)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
        n, batch_size = int(n), int(batch_size)
        try:
            latents = self.sample_latents(n, generator=generator)
            with torch.no_grad():
                images = torch.cat([self.decode(latents[i : i + batch_size]) for i in range(0, n, batch_size)])
        except (MemoryError, RuntimeError) as exc:  # G.sample(10**12) was torch's allocator error (an outside audit)
            if not isinstance(exc, MemoryError) and "alloc" not in str(exc) and "out of memory" not in str(exc):
                raise
            raise MemoryError(
                f"G.sample(n={n}) holds all {n} images at once and they do not fit in memory; draw fewer, or decode "
                "them batch by batch: G.decode(G.sample_latents(k, generator=...)) for each batch of k"
            ) from exc
        return latents, images

    # ---- the load-time probe ---------------------------------------------------------
    @torch.no_grad()
    def probe(self, n: int = 8, seed: int = 0, tolerance: float = 1e-3) -> torch.Tensor:
        """Generate a probe batch and check it against the spec; raise a clear error if not."""
        spec = self.spec
        latents = self.sample_latents(n, generator=torch.Generator(device=self.device).manual_seed(seed))
        try:
            x = self.decode(latents)
        except Exception as exc:  # shape errors inside the native module
            calls = isinstance(exc, TypeError) and "positional argument" in str(exc)
            fixed = self._fixed_batch(n) if self.meta.get("architecture") == "opaque" else None
            tables = embedding_rows(self.net) if spec.n_classes and "index out of range" in str(exc) else []
            if tables and min(tables) < spec.n_classes:  # told "a fixed batch size" when 2 labels fell below R
                which = (
                    f"its label embedding's {tables[0]} rows; give --option n_classes={tables[0]}"
                    if len(tables) == 1  # several: which one the labels index is not known here (review 42a)
                    else f"one of its embeddings (of {', '.join(map(str, tables))} rows); give --option n_classes=K, "
                    "the rows of its label table"
                )
                raise SpecMismatchError(
                    f"the generator failed on a probe batch of {n} latents ({first_line(exc)}): labels up to "
                    f"{spec.n_classes - 1} index past {which}"
                ) from exc
            if fixed:
                raise SpecMismatchError(
                    f"the generator failed on a probe batch of {n} latents ({first_line(exc)}) but runs on "
                    f"{fixed.said}; pass --option batch_size={fixed.size}"
                    + ("" if fixed.exact else ", and ganinv checks whether an image depends on its place in a batch")
                ) from exc
            labels = spec.n_classes and "Long" in str(exc)  # integer labels into an embedding, given a one-hot
            raise SpecMismatchError(
                f"the generator failed on a probe batch of latents z{tuple(latents.z.shape[1:])}"
                f" (native shape {spec.native_latent_shape or (spec.nz,)}): {first_line(exc)}; "
                + (
                    "a generator module is called as module(z, c, d), c and d None where the spec has no codes: "
                    "give its forward c=None and d=None"
                    if calls
                    else "its module is called as module(z, c, d) with d a one-hot float (N, K): a module that embeds "
                    "integer labels takes d.argmax(1)"
                    if labels
                    else "check --nz and --latent-shape (e.g. --latent-shape nz,1,1), and for a generator that takes "
                    "class labels --option n_classes=K"
                )
            ) from exc
        if not isinstance(x, torch.Tensor):
            raise SpecMismatchError(
                f"the generator returned a {type(x).__name__}, not a tensor of images (N, C, H, W); wrap it so that "
                "forward returns the images alone (a module:callable of yours)"
            )
        if x.dim() != 4:
            # the spec already holds that shape (a callable's own): --image-shape would change nothing (an audit)
            stated = x.dim() == 3 and tuple(spec.image_shape) == (1, *x.shape[1:])
            raise SpecMismatchError(
                f"the generator returned a tensor of shape {tuple(x.shape)}, not images (N, C, H, W) of shape "
                f"{tuple(spec.image_shape)}; "
                + (
                    "make its forward return them so: x.unsqueeze(1), greyscale images with their channel"
                    if stated
                    else f"make it return them so, or {image_shape_advice(x)}"
                )
            )
        self._check_batch(x.shape[0], n)
        try:  # a program may be fixed to the probe's batch size by chance
            fewer = self.decode(latents[:3])
        except Exception as exc:
            hint = f": it takes a fixed batch size; pass --option batch_size={n} if it is {n}"
            raise SpecMismatchError(
                f"the generator works on a batch of {n} latents but fails on 3 ({first_line(exc)})"
                + (hint if self.meta.get("architecture") == "opaque" else "")
            ) from exc
        self._check_batch(fewer.shape[0] if isinstance(fewer, torch.Tensor) and fewer.dim() else -1, 3)
        if x.shape[-1] in IMAGE_CHANNELS and x.shape[1] not in IMAGE_CHANNELS:
            raise SpecMismatchError(
                f"the generator returns images of shape {tuple(x.shape[1:])}: channels last, (H, W, C); ganinv "
                "takes (C, H, W): wrap it so that it returns x.permute(0, 3, 1, 2) (a module:callable of yours)"
            )
        if tuple(x.shape[1:]) != spec.image_shape:
            c, h, w = x.shape[1:]
            raise SpecMismatchError(
                f"the generator makes images of shape {tuple(x.shape[1:])} but the spec "
                f"declares {spec.image_shape}; pass --image-shape {c},{h},{w}"
            )
        if not torch.isfinite(x).all():  # "weights corrupt or latent size wrong" missed a log or a division inside
            bad = int((~torch.isfinite(x).flatten(1).all(dim=1)).sum())
            raise SpecMismatchError(
                f"the generator makes NaN or infinite values for {bad} of {n} probe latents drawn from its prior: "
                "its weights may be damaged, the latent size or prior wrong, or its code may take a log, a square "
                "root or a division where those latents make it undefined; check the generator"
            )
        # the checks below compare images on the scale they come in: float32 round-off of images in [0, 65535] is
        # far above 1e-3, and read as batch statistics it named --option bn=train (an outside audit)
        same = tolerance * max(1.0, float(x.abs().max()))  # two images equal within this
        again = self.decode(latents)
        moved = float((again - x).abs().max())
        alone = float((fewer - x[:3]).abs().max())
        if moved <= same and alone > same and self.meta.get("batchnorm") == "eval":
            raise SpecMismatchError(  # bn=eval, which a traced graph ignores: not bn=train's advice again (a loop)
                f"with --option bn=eval the generator's images still depend on the other latents of the batch (the "
                f"same latents in a batch of 3 and of {n} differ by up to {alone:.3g}): its BatchNorm mode is fixed "
                "inside the program (traced or exported in training mode), which no option changes; trace or export "
                "it again from the module in eval mode, or accept it as it is with --option bn=train"
            )
        if moved <= same and alone > same and self.meta.get("batchnorm") != "train":
            raise SpecMismatchError(  # the same latents twice agree: BatchNorm by batch statistics (audit 17)
                f"the generator's images depend on the other latents of the batch: the same latents in a batch of 3 "
                f"and of {n} gave images differing by up to {alone:.3g} (BatchNorm normalising by the batch: a module "
                "left in training mode, or a program traced or exported in training mode); ganinv inverts a fixed "
                "G(z): put the module in eval mode (and trace or export it so); if it normalises by the batch by "
                "design (track_running_stats=False, or a codebase that samples so), --option bn=train accepts it"
            )
        if moved <= same and alone > same:  # bn=train, the user's choice: still said (an outside audit)
            warnings.warn(
                f"with --option bn=train each image depends on the other latents of its batch (the same latents in a "
                f"batch of 3 and of {n} gave images differing by up to {alone:.3g}): a latent gives another image in "
                "another batch, and an image another reconstruction beside other images, so figures change with "
                "the batch size; bn=eval (the stored statistics) makes G(z) a fixed function"
                + (
                    " where the program can switch (one traced or exported in training mode cannot: trace or export "
                    "it again in eval mode)"
                    if self.meta.get("architecture") == "opaque"
                    else ""
                ),
                ProbeWarning,
                stacklevel=2,
            )
        if moved > same:
            raise SpecMismatchError(
                f"the generator is not a function of its latents: the same latents gave images differing by up to "
                f"{moved:.3g} (noise drawn inside forward, dropout or another layer left in training mode, or a "
                "program exported or traced in training mode); ganinv inverts a fixed G(z): put the module in eval "
                "mode (and export it so), or make its noise an input"
            )
        order = torch.arange(n - 1, -1, -1, device=latents.z.device)
        reordered = float((self.decode(latents[order])[order] - x).abs().max())
        if reordered > same:  # passed both checks above: its rows 0-2 are rows 0-2 in both (an outside audit)
            raise SpecMismatchError(
                f"the generator's images depend on each latent's place in the batch: the same latents in reverse "
                f"order gave images differing by up to {reordered:.3g} (noise drawn from a stream seeded anew at "
                "every call?); ganinv inverts a fixed G(z): make its noise an input, or draw none"
            )
        self.gradient_problem = None
        if n > 1 and float((x - x[:1]).abs().max()) <= same:  # loaded in silence, then a fit's metrics
            self.gradient_problem = COLLAPSED
            warnings.warn(  # went non-finite, saying "check the inputs" (an outside audit)
                f"the generator makes the same image for all {n} probe latents: a collapsed generator, or one that "
                "ignores its latents (a wrong --latent-shape, or --option inputs); an inverter can learn nothing of it",
                ProbeWarning,
                stacklevel=2,
            )
        else:  # (images that ignore the latents carry no gradient to them either: said above, as what they are)
            self._check_differentiable(latents)
        lo_seen, hi_seen = float(x.min()), float(x.max())
        given = bool(self.meta.get("output_range_given"))
        if n >= 4 and self.gradient_problem != COLLAPSED:
            self._check_range_used(lo_seen, hi_seen)
        overshoot = max(-1 - lo_seen, hi_seen - 1)
        if given and tolerance < overshoot <= 2 * BARELY_BEYOND:  # an unbounded last layer near the range it learned
            self.meta["clamp_output"] = True  # (a linear net of [0, 1] data, given 0,1, was refused: an outside audit)
            native = self._native_range_seen(lo_seen, hi_seen)
            warnings.warn(
                f"generated values span [{native[0]:.3g}, {native[1]:.3g}] natively, a little beyond the output range "
                f"{spec.native_output_range} given (an unbounded last layer?): they are clamped to it",
                ProbeWarning,
                stacklevel=2,
            )
            x = x.clamp(-1, 1)
            lo_seen, hi_seen = float(x.min()), float(x.max())
        if lo_seen < -1 - tolerance or hi_seen > 1 + tolerance:
            native = self._native_range_seen(lo_seen, hi_seen)
            guess = _guess_range(*native)
            assumed = _assumed_output(self.meta, spec.native_output_range)
            raise SpecMismatchError(
                f"generated values span [{native[0]:.3g}, {native[1]:.3g}] natively, outside the declared output "
                f"range {spec.native_output_range}; "
                + (
                    assumed or f"pass --output-range {guess}"
                    if assumed or guess
                    # a range read off a few probe images shifted and shrank every image (an outside audit)
                    else "the generator's output is not bounded (no final Tanh or Sigmoid?): if it was trained on "
                    "data in a known range, pass that range with --output-range LO,HI (e.g. 0,255); else load it "
                    "through a module:callable of yours that returns its output clamped to the range of its "
                    "training data (x.clamp(-1, 1)), which ganinv's contract needs"
                )
            )
        read = any(d.get("property") == "output_range" for d in self.meta.get("decisions") or [])  # a probe's own
        # (values all near 0, such as 1e-8 * tanh, are no [0, 1] images: they were told --output-range 0,1, an audit)
        if (
            spec.native_output_range == (-1.0, 1.0)
            and lo_seen >= -BARELY_BEYOND
            and hi_seen > 0.1
            and n >= 4
            and not (given or read)
        ):
            # Looks like a [0, 1] generator declared as [-1, 1]: nothing is ever negative
            if hi_seen > 0.5 and lo_seen >= -tolerance:
                raise SpecMismatchError(
                    f"generated values span [{lo_seen:.3g}, {hi_seen:.3g}], never negative, but the spec declares "
                    "[-1, 1]; pass --output-range 0,1 if the generator ends in a sigmoid"
                )
            # or only a little: a linear last layer trained on [0, 1] data dips below 0 (read as [-1, 1] in silence,
            # its black was mid-grey: an outside audit); so may a Tanh net's bright images, hence said, not refused
            below = "never negative" if lo_seen >= -tolerance else f"never below {-BARELY_BEYOND:g}"
            warnings.warn(
                f"generated values span [{lo_seen:.3g}, {hi_seen:.3g}], {below}, under the declared range [-1, 1], "
                "whose images usually reach far below 0: if the generator ends in a sigmoid or was trained on [0, 1] "
                "data, pass --output-range 0,1",
                ProbeWarning,
                stacklevel=2,
            )
        return x

    def _check_differentiable(self, latents: Latents) -> None:
        """Whether the images carry gradients to the latents, as a fit (which backpropagates through G) and refinement
        (which steps along them) need; said where they do not, and refused by `require_gradients`. A forward under
        torch.no_grad(), a .detach() or integer images loaded, then the fit stopped on an internal error (an outside
        audit); refused at load, they could not even be sampled (a later audit). Not checkable in inference mode."""
        if torch.is_inference_mode_enabled():
            return
        self.differentiable = None  # found again (the module may have changed since an earlier probe)
        with torch.enable_grad():
            z = latents.z.detach().clone().requires_grad_(True)
            x = self(z, latents.c, latents.d)
            self.differentiable = bool(x.requires_grad)
            if self.differentiable:  # one vector-Jacobian product: what a fit's and a refinement's steps follow
                u = torch.randn(x.shape, generator=torch.Generator().manual_seed(0)).to(x.device, x.dtype)
                (grad,) = torch.autograd.grad((x * u).sum(), z, allow_unused=True)
                if grad is None or not bool(grad.any()):  # sign(), round(): zero everywhere (an outside audit)
                    self.gradient_problem = ZERO_GRADIENT
                elif not bool(grad.isfinite().all()):  # NaN gradients stopped a fit on an internal linalg error
                    self.gradient_problem = NONFINITE_GRADIENT
        if not self.differentiable:
            warnings.warn(
                f"{NO_GRADIENT}; it can be sampled, but fitting an inverter and refining latents backpropagate "
                f"through it: {NO_GRADIENT_REMEDY}",
                ProbeWarning,
                stacklevel=3,
            )
        elif self.gradient_problem is not None:
            warnings.warn(
                f"{self.gradient_problem}; it can be sampled, but fitting an inverter and refining latents follow "
                "that gradient",
                ProbeWarning,
                stacklevel=3,
            )

    def require_gradients(self, purpose: str) -> None:
        """Refuse, naming `purpose`, a generator the probe found without gradients to its latents, or whose gradients
        teach nothing (`gradient_problem`)."""
        if self.differentiable is False:
            raise SpecMismatchError(
                f"{purpose} backpropagates through the generator, but {NO_GRADIENT}; {NO_GRADIENT_REMEDY}"
            )
        if self.gradient_problem is not None:
            raise SpecMismatchError(
                f"{purpose} learns from the generator's images as its latents move, but {self.gradient_problem}; "
                "give a generator whose images follow its latents smoothly"
            )

    def _fixed_batch(self, failed: int) -> Optional[BatchLimit]:
        """The batch size among the usual ones on which a program that fails on a batch of `failed` runs (traced
        with a fixed one: `z.view(16, ...)` inside); None where none runs, or where the latents it runs on fail
        again as a batch of `failed`: then what they hold decided it, not their number (labels beyond an
        embedding's rows, which two random labels may miss: an outside audit, 41a)."""

        def runs(n: int, repeated_to: Optional[int] = None) -> bool:
            latents = self.sample_latents(n, generator=torch.Generator(device=self.device).manual_seed(0))
            if repeated_to is not None:
                latents = latents[torch.arange(repeated_to, device=latents.z.device) % n]
            try:
                self.decode(latents)
            except Exception:
                return False
            return True

        return batch_limit(runs, failed)

    def _check_batch(self, returned: int, given: int) -> None:
        """One image per latent: a generator that ignores the batch size cannot be inverted or sampled."""
        if returned == given:
            return
        fixed = (
            f"if it is a program made for batches of exactly {returned}, pass --option batch_size={returned}, else "
            if self.meta.get("architecture") == "opaque" and returned > 0
            else ""
        )
        raise SpecMismatchError(
            f"the generator returned {returned} image(s) for a batch of {given} latents: it "
            f"ignores the batch size, so images cannot be matched to their latents; {fixed}"
            "re-export it so that it makes one image per latent (e.g. a dynamic batch dimension)"
        )

    def _check_range_used(self, lo_seen: float, hi_seen: float) -> None:
        """A declared output range the images barely use: a [0, 1] or [-1, 1] generator declared `0,255` (the
        commonest slip) made every image black, said at most as "a little beyond" the range and clamped (an outside
        audit, 41a), so it is refused, naming the usual range that holds the values. (Images within the middle half
        of their range, a codebase's x - 0.5, are not said: untrained and early nets' images look so too.)"""
        spec = self.spec
        lo, hi = self._native_range_seen(lo_seen, hi_seen)
        a, b = spec.native_output_range
        usual = _guess_range(lo, hi)
        if (
            usual
            and hi - lo < RANGE_BARELY_USED * (b - a)
            and 4 * (USUAL_RANGES[usual][1] - USUAL_RANGES[usual][0]) < b - a
        ):
            said = (
                f"generated values span [{lo:.3g}, {hi:.3g}] natively, {100 * (hi - lo) / (b - a):.2g}% of the "
                f"declared output range {spec.native_output_range}, so every image would come out one flat grey"
            )
            if (a, b) in USUAL_RANGES.values():  # 0,255 for a [0, 1] net: the slip of 8-bit pixels
                raise SpecMismatchError(f"{said}; pass --output-range {usual}, the usual range that holds them")
            warnings.warn(  # 0,65535: faint 16-bit images may be so (a review, 42a), taken on the user's word
                f"{said}; if the generator's range is {usual}, pass --output-range {usual}",
                ProbeWarning,
                stacklevel=3,
            )

    def _native_range_seen(self, lo: float, hi: float) -> tuple[float, float]:
        a, b = self.spec.native_output_range
        return (a + (lo + 1) * (b - a) / 2, a + (hi + 1) * (b - a) / 2)

    def extra_repr(self) -> str:
        return f"source={self.source!r}, spec={self.spec}"


def embedding_rows(net: Any) -> list[int]:
    """Rows of each embedding table in a generator's module, a TorchScript one's too (its classes, where one embeds
    labels; a codebook or a position table's size otherwise)."""
    rows = []
    for module in net.modules() if isinstance(net, nn.Module) else ():
        weight = getattr(module, "weight", None)
        embedding = isinstance(module, nn.Embedding) or getattr(module, "original_name", "") == "Embedding"
        if embedding and isinstance(weight, torch.Tensor):
            rows.append(int(weight.shape[0]))
    return rows


# on the [-1, 1] scale: a probe's values this far beyond a range's end are a little beyond it (an unbounded last
# layer); 0.05 is 2.5% of the range, as the data's [0, 1] images that resampling dipped below 0 (ganinv.data)
BARELY_BEYOND = 0.05
IMAGE_CHANNELS = (1, 3, 4)  # grey, RGB, RGBA: what an image's channel axis holds


@contextlib.contextmanager
def modes_for_call(net: nn.Module, batch_statistics: bool = False) -> Iterator[None]:
    """For one call of a frozen generator's module: every layer in eval mode (BatchNorm by its running statistics,
    dropout off); with `batch_statistics` (`--option bn=train`) BatchNorm by each batch's statistics, as generators
    whose code never calls eval() sample, its stored statistics untouched. The module's own modes are restored after
    the call: set once at load, a user's module put back in training mode later ran with batch statistics and
    overwrote its running statistics, in silence, and kept ganinv's modes in the user's own training (an outside
    audit)."""
    modes = [(module, module.training) for module in net.modules() if hasattr(module, "training")]  # not frozen ones
    tracking = [(m, m.track_running_stats) for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    # through train(), not the flags alone: a module's own train() may do more (swap in its averaged weights: a later
    # audit); an exported program's, which refuses train(), is its ProgramNet's (adapters/opaque.py)
    net.train(False)
    if batch_statistics:
        for norm, _ in tracking:
            norm.training = True
            norm.track_running_stats = False  # normalise by the batch, never update the buffers
    try:
        yield
    finally:
        net.train(modes[0][1])  # the module's own train() again, then each layer's flag as it was
        for module, training in modes:
            module.training = training
        for norm, tracked in tracking:
            norm.track_running_stats = tracked


def reshapes_to(out: torch.Tensor, image_shape: tuple[int, ...]) -> bool:
    """Whether a flat (N, C*H*W) output, or a grey (N, H, W) one, is the images (N, C, H, W) of `image_shape` (a
    (N, H, W, C) colour output has the same size, but its layout is the user's to fix, not a reshape's)."""
    if out.dim() == 2:
        return int(out.shape[1]) == math.prod(image_shape)
    return len(image_shape) == 3 and image_shape[0] == 1 and tuple(out.shape[1:]) == tuple(image_shape[1:])


def square_image_shapes(size: int) -> list[tuple[int, int, int]]:
    """The (C, H, W) of square grey or colour images that `size` flat values make: 784 -> [(1, 28, 28)]."""
    return [(c, side, side) for c in (1, 3) if size % c == 0 and (side := math.isqrt(size // c)) ** 2 * c == size]


def image_shape_advice(out: torch.Tensor) -> str:
    """How to name the images in a program's output that is not (N, C, H, W)."""
    if out.dim() == 3:  # (N, H, W): greyscale images without their channel
        return f"if they are greyscale images, give --image-shape 1,{out.shape[1]},{out.shape[2]}"
    if out.dim() == 2:
        size = int(out.shape[1])
        fits = [",".join(map(str, shape)) for shape in square_image_shapes(size)]
        examples = f": e.g. {' or '.join(fits)}" if fits else ""
        return f"if they are flat images, give --image-shape C,H,W ({size} values{examples})"
    return "give --image-shape C,H,W where it holds C*H*W values per image"


@dataclass(frozen=True)
class BatchLimit:
    """The batches a program runs on: exactly `size` latents (traced with a fixed batch), or up to `size` (a buffer
    or noise table of `size` rows inside)."""

    size: int
    exact: bool

    @property
    def said(self) -> str:
        if self.exact:
            return f"a batch of exactly {self.size}: it takes a fixed batch size"
        return (
            f"batches of up to {self.size}: it holds something sized for {self.size} latents (a buffer, a table of "
            "noise), by which each image may depend on its place in the batch"
        )


def batch_limit(runs: Callable[..., bool], failed: int) -> Optional[BatchLimit]:
    """The batches a program that fails on a batch of `failed` latents runs on, by `runs(n)` (whether it runs on n
    latents) and `runs(n, repeated_to=m)` (on those n latents repeated to m); None where it runs on none of the
    usual sizes, or where those latents fail again repeated: then what they hold decided it, not their number.
    A program traced at 4 with a 4-row buffer inside ran on 1 and was told "a batch of exactly 1", which hid the
    batch-position dependence a batch of 4 shows (an outside audit, 57b): a program that also runs on one more
    latent has no fixed batch, but a largest one."""
    for n in FIXED_BATCHES:
        if not runs(n):
            continue
        if runs(n, repeated_to=failed):
            return None
        if not runs(n + 1):
            return BatchLimit(n, exact=True)
        largest = next((m for m in range(failed - 1, n + 1, -1) if runs(m)), n + 1)
        return BatchLimit(largest, exact=False)
    return None


FIXED_BATCHES = (
    1,
    8,
    16,
    32,
    64,
    100,
    128,
    25,
    36,
    49,
    256,
    2,
    4,
)  # the batch sizes programs are traced with, commonly


def in_module_dtype(
    module: nn.Module, z: torch.Tensor, c: Optional[torch.Tensor], d: Optional[torch.Tensor]
) -> tuple[torch.Tensor, Optional[torch.Tensor], Optional[torch.Tensor]]:
    """The latents and codes in the dtype of `module`'s first float weight (a float64 module fails on float32 inputs,
    a float32 one on the float64 latents of an encoder the user made float64: an outside audit); unchanged where it
    has none, and integer codes (labels) always."""
    weight = next((t for t in module.parameters() if t.is_floating_point()), None)
    if weight is None or weight.dtype == z.dtype:
        return z, c, d
    dtype = weight.dtype
    c = c.to(dtype) if c is not None and c.is_floating_point() else c
    d = d.to(dtype) if d is not None and d.is_floating_point() else d
    return z.to(dtype) if z.is_floating_point() else z, c, d


def native_from_standard(z: torch.Tensor, prior: str, bounds: tuple[float, float], scale: float) -> torch.Tensor:
    """Standard-normal latents mapped to a native prior (family, bounds, scale): the contract's one map, which the
    weight readers' probes draw through too."""
    if prior == "uniform":
        lo, hi = bounds
        z = lo + (hi - lo) * torch.special.ndtr(z)
    elif prior == "truncated_normal":
        z = truncated_normal_from_standard(z, *bounds)
    return z * scale if scale != 1.0 else z


def truncated_normal_from_standard(z: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
    """N(0, 1) truncated to [lo, hi] from standard normal `z`, exactly: Phi^-1(Phi(lo) + (Phi(hi) - Phi(lo)) Phi(z)).

    Monotone and differentiable. Each side works with the small tail probability it needs
    (z <= 0 from below, z > 0 from above through the survival function), so values near the
    bounds and gradients stay finite and accurate even for |z| of 8 or more. Computed in
    float64 where the device has it.
    """

    def phi(x: float) -> float:  # the normal CDF, accurate in both tails
        return 0.5 * math.erfc(-x / math.sqrt(2.0))

    work = z.double() if z.device.type != "mps" else z.float()
    positive, zero = work > 0, torch.zeros_like(work)
    mass = phi(hi) - phi(lo)
    below = torch.special.ndtri(phi(lo) + mass * torch.special.ndtr(torch.where(positive, zero, work)))
    above = -torch.special.ndtri(phi(-hi) + mass * torch.special.ndtr(-torch.where(positive, work, zero)))
    return torch.where(positive, above, below).clamp(lo, hi).to(z.dtype)


def _assumed_output(meta: Mapping[str, Any], declared: tuple[float, float]) -> Optional[str]:
    """The remedy where (0, 1), a final Sigmoid's range, is declared (a spec file, --output-range) and ganinv only
    assumed another last activation: the Tanh assumed of a Sigmoid net made values below 0, and the error blamed an
    unbounded output, suggesting --output-range and a clamp, neither of which helps (an outside audit)."""
    if tuple(declared) != (0.0, 1.0):
        return None
    for said in meta.get("decisions") or []:
        assumed = str(said.get("source", "")).startswith("assumed")
        if said.get("property") == "output" and assumed and said.get("value") != "sigmoid":
            return (
                f"ganinv assumed {said.get('value')} as the last activation (nothing in the weights shows it), where "
                "(0, 1) is a final Sigmoid's range: if the generator ends in a Sigmoid, pass --option output=sigmoid"
            )
    return None


def _guess_range(lo: float, hi: float) -> Optional[str]:
    """A usual output range that holds what a probe saw, or None: the min and max of a few images is none."""
    if lo >= -1e-3 and hi <= 1 + 1e-3:
        return "0,1"
    if -1 - 1e-3 <= lo < -0.5 and hi <= 1 + 1e-3:  # a Tanh generator's (41a), not a [0, 1] one dipping below 0 (42a)
        return "-1,1"
    if lo >= -1e-3 and hi <= 255.5:
        return "0,255"
    return None


USUAL_RANGES = {"0,1": (0.0, 1.0), "-1,1": (-1.0, 1.0), "0,255": (0.0, 255.0)}  # as --output-range spells them
RANGE_BARELY_USED = 0.05  # of the declared range's width: a probe's values within less are no images of that range
