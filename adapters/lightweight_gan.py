"""`lightweight_gan`: the generator of lucidrains' lightweight-gan, as trained in the HugGAN sprint.

The FastGAN generator (Liu et al., "Towards faster and stabilized GAN training", ICLR 2021) as
implemented by `lucidrains/lightweight-gan` and copied into `huggingface/community-events`
(`huggan/pytorch/lightweight_gan`), whose checkpoints fill the Hugging Face Hub:

- `z` (latent_dim) as `(latent_dim, 1, 1)` -> ConvTranspose2d to 4x4 (2 x latent_dim channels) ->
  BatchNorm -> GLU, then unit-normalised along the channels;
- one layer per doubling: [linear attention, pre-normed, residual] -> nearest x2 upsampling ->
  [3x3 blur when trained with `antialias`] -> 3x3 conv -> BatchNorm -> GLU;
- skip-layer excitation: the output of the layer at 8, 16, 32 or 64 pixels gates (sigmoid,
  per channel) the output of the layer three doublings later, through a global-context block
  (or a DCT "frequency channel attention" block with `freq_chan_attn`);
- `out_conv`, a 3x3 conv to 3 channels (1 `greyscale`, 4 `transparent`), and no activation.

The project samples images as `G(z).clamp(0, 1)` with `z ~ N(0, I)`; this module clamps the
same way by default (`clamp`), so images here are the images the project saves, in [0, 1]
(the spec's native output range). Clamping stops gradients at saturated pixels; with
`--option clamp=false` the raw output is used, and the load-time probe refuses it if it leaves
[0, 1] (pass `--output-range` then).

The state dict is the project's own (`initial_conv.*`, `layers.<i>.<j>.*`, `out_conv.*`). A
whole checkpoint (`{'GAN': {G.*, GE.*, D.*, D_aug.*}}`) holds two generators: `GE`, the
moving average the project itself samples from, is taken when present, and the choice logged.
Everything is read from the tensors: latent size, widths, the image size (one layer per
doubling from 4 pixels), attention resolutions, the kind of excitation, blur, channels. A
`config.json` of trainer arguments is evidence: values that disagree with the weights are an
error naming both.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Optional, cast

import torch
from torch import nn
from torch.nn import functional as F

from ganinv.architectures import DECISIONS, TRUE_WORDS, Architecture, Built, decision, register
from ganinv.errors import ArchitectureError
from ganinv.spec import GeneratorSpec

log = logging.getLogger("ganinv")

# Prefixes of the generators in a whole LightweightGAN state dict, preferred first.
GENERATOR_PREFIXES = (("GE.", "the moving-average generator GE"), ("G.", "the raw generator G (no GE found)"))
# Skip-layer excitation: the layer at 2**r pixels gates the layer that outputs 2**(r+4) pixels (the project's sle_map).
SLE_FROM_RES = (3, 4, 5, 6)
ATTENTION_HEADS, ATTENTION_DIM_HEAD = 8, 64  # fixed in the project (LinearAttention defaults)


@dataclass
class LightweightGANOptions:
    latent_dim: int = 256
    image_size: int = 256  # a power of two >= 8: one layer per doubling from 4 pixels
    widths: tuple[int, ...] = ()  # output channels of every layer; () = from fmap_max and fmap_inverse_coef
    fmap_max: int = 512  # None or 0: latent_dim, as in the project
    fmap_inverse_coef: int = 12  # a layer at 2**r pixels has min(2**(coef - r), fmap_max) channels
    transparent: bool = False  # 4 output channels
    greyscale: bool = False  # 1 output channel
    attn_res_layers: tuple[int, ...] = ()  # input sides of the layers with linear attention, e.g. 32,64
    freq_chan_attn: bool = False  # excitation by DCT frequency channel attention instead of global context
    antialias: bool = False  # a [1, 2, 1] blur after each upsampling
    attn_heads: int = ATTENTION_HEADS
    attn_dim_head: int = ATTENTION_DIM_HEAD
    clamp: bool = True  # clamp images to [0, 1], as the project's sampler does


# ---- the native module ----------------------------------------------------------------------


class Blur(nn.Module):
    """Normalised separable [1, 2, 1] blur with reflected borders (kornia's filter2d, as the project uses)."""

    f: torch.Tensor  # buffer (3,)

    def __init__(self):
        super().__init__()
        self.register_buffer("f", torch.tensor([1.0, 2.0, 1.0]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kernel = self.f[None, :] * self.f[:, None]  # (3, 3)
        kernel = (kernel / kernel.abs().sum()).to(x.dtype)
        channels = x.shape[1]
        x = F.pad(x, (1, 1, 1, 1), mode="reflect")
        return F.conv2d(x, kernel.expand(channels, 1, 3, 3), groups=channels)


class GlobalContextGate(nn.Module):
    """Excitation from softmax-attention pooling: (B, C, H, W) -> (B, C_out, 1, 1) in (0, 1)."""

    def __init__(self, chan_in: int, chan_out: int):
        super().__init__()
        self.to_k = nn.Conv2d(chan_in, 1, 1)
        hidden = max(3, chan_out // 2)
        self.net = nn.Sequential(
            nn.Conv2d(chan_in, hidden, 1), nn.LeakyReLU(0.1), nn.Conv2d(hidden, chan_out, 1), nn.Sigmoid()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = self.to_k(x).flatten(2).softmax(dim=-1)  # (B, 1, HW)
        pooled = torch.einsum("bin,bcn->bci", weights, x.flatten(2)).unsqueeze(-1)  # (B, C, 1, 1)
        return self.net(pooled)


class FrequencyGate(nn.Module):
    """Excitation from fixed DCT pooling (the `dct_weights` buffer comes with the weights)."""

    dct_weights: torch.Tensor  # buffer (1, C, W, W)

    def __init__(self, chan_in: int, chan_out: int, width: int):
        super().__init__()
        self.register_buffer("dct_weights", torch.zeros(1, chan_in, width, width))
        hidden = max(3, chan_out // 4)
        self.net = nn.Sequential(
            nn.Conv2d(chan_in, hidden, 1), nn.LeakyReLU(0.1), nn.Conv2d(hidden, chan_out, 1), nn.Sigmoid()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = (x * self.dct_weights).sum(dim=(2, 3), keepdim=True)  # (B, C, 1, 1)
        return self.net(pooled)


class ChannelNorm(nn.Module):
    """Normalise each pixel across channels, then scale `g` and shift `b`."""

    def __init__(self, dim: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.g = nn.Parameter(torch.ones(1, dim, 1, 1))
        self.b = nn.Parameter(torch.zeros(1, dim, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        var, mean = torch.var_mean(x, dim=1, unbiased=False, keepdim=True)
        return (x - mean) / (var + self.eps).sqrt() * self.g + self.b


class DepthwiseSeparable(nn.Module):
    def __init__(self, dim_in: int, dim_out: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(dim_in, dim_in, 3, padding=1, groups=dim_in, bias=False),
            nn.Conv2d(dim_in, dim_out, 1, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class LinearAttention(nn.Module):
    """Softmax-kernel linear attention over the pixels of a feature map."""

    def __init__(self, dim: int, heads: int, dim_head: int):
        super().__init__()
        self.heads, self.scale = heads, dim_head**-0.5
        inner = heads * dim_head
        self.to_q = nn.Conv2d(dim, inner, 1, bias=False)
        self.to_kv = DepthwiseSeparable(dim, inner * 2)
        self.to_out = nn.Conv2d(inner, dim, 1)

    def forward(self, fmap: torch.Tensor) -> torch.Tensor:
        b, _, h, w = fmap.shape
        q = self.to_q(fmap)
        k, v = self.to_kv(fmap).chunk(2, dim=1)

        def by_head(t: torch.Tensor) -> torch.Tensor:  # (B, heads*c, H, W) -> (B*heads, HW, c)
            return t.reshape(b * self.heads, -1, h * w).transpose(1, 2)

        q, k, v = by_head(q), by_head(k), by_head(v)
        q = q.softmax(dim=-1) * self.scale
        k = k.softmax(dim=-2)
        context = torch.einsum("bnd,bne->bde", k, v)  # (B*heads, c, c)
        out = torch.einsum("bnd,bde->bne", q, context)  # (B*heads, HW, c)
        out = out.transpose(1, 2).reshape(b, -1, h, w)  # (B, heads*c, H, W)
        return self.to_out(F.gelu(out))


class PreNormAttention(nn.Module):
    def __init__(self, dim: int, heads: int, dim_head: int):
        super().__init__()
        self.fn = LinearAttention(dim, heads, dim_head)
        self.norm = ChannelNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(self.norm(x))


class LightweightGANNet(nn.Module):
    def __init__(self, o: LightweightGANOptions):
        super().__init__()
        self.o = o
        widths = layer_widths(o)
        n_layers = len(widths)
        self.initial_conv = nn.Sequential(
            nn.ConvTranspose2d(o.latent_dim, o.latent_dim * 2, 4), nn.BatchNorm2d(o.latent_dim * 2), nn.GLU(dim=1)
        )
        chans_in = (o.latent_dim, *widths[:-1])
        self.sle_targets = {i: i + 3 for i in sle_layers(n_layers)}  # layer i's gate multiplies layer i+3's output
        self.layers = nn.ModuleList()
        for i, (c_in, c_out) in enumerate(zip(chans_in, widths)):
            up = nn.Sequential(
                nn.Upsample(scale_factor=2),
                Blur() if o.antialias else nn.Identity(),
                nn.Conv2d(c_in, c_out * 2, 3, padding=1),
                nn.BatchNorm2d(c_out * 2),
                nn.GLU(dim=1),
            )
            gate = None
            if i in self.sle_targets:
                target = widths[self.sle_targets[i]]
                gate = (
                    FrequencyGate(c_out, target, 2 ** (i + 3)) if o.freq_chan_attn else GlobalContextGate(c_out, target)
                )
            attn = PreNormAttention(c_in, o.attn_heads, o.attn_dim_head) if 2 ** (i + 2) in o.attn_res_layers else None
            # None slots keep the project's indices (ModuleList takes them at run time; its stub wants modules)
            self.layers.append(nn.ModuleList([up, gate, attn]))  # type: ignore[list-item]
        self.out_conv = nn.Conv2d(widths[-1], image_channels(o), 3, padding=1)

    def forward(
        self, z: torch.Tensor, c: Optional[torch.Tensor] = None, d: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        x = self.initial_conv(z.reshape(z.shape[0], -1, 1, 1))  # (B, latent, 4, 4)
        x = F.normalize(x, dim=1)
        gates: dict[int, torch.Tensor] = {}
        layers = cast(Iterable[tuple[nn.Module, Optional[nn.Module], Optional[nn.Module]]], self.layers)
        for i, (up, gate, attn) in enumerate(layers):  # (up, gate or None, attention or None) per layer
            if attn is not None:
                x = attn(x) + x
            x = up(x)  # (B, C_i, 2**(i+3), 2**(i+3))
            if gate is not None:
                gates[self.sle_targets[i]] = gate(x)
            if i in gates:
                x = x * gates.pop(i)
        x = self.out_conv(x)
        return x.clamp(0.0, 1.0) if self.o.clamp else x

    def spec(self) -> GeneratorSpec:
        size = self.o.image_size
        return GeneratorSpec(
            nz=self.o.latent_dim, image_shape=(image_channels(self.o), size, size), native_output_range=(0.0, 1.0)
        )


def layer_widths(o: LightweightGANOptions) -> tuple[int, ...]:
    n_layers = image_layers(o.image_size)
    if o.widths:
        if len(o.widths) != n_layers:
            raise ArchitectureError(
                f"widths={','.join(map(str, o.widths))} has {len(o.widths)} entries but image_size "
                f"{o.image_size} needs {n_layers} layers (one per doubling from 4 pixels)"
            )
        return tuple(o.widths)
    # The project's rule; layers at 256 pixels and up (r >= 8) have 3 channels.
    fmap_max = o.fmap_max or o.latent_dim  # the project: fmap_max defaults to latent_dim
    return tuple(3 if r >= 8 else min(2 ** (o.fmap_inverse_coef - r), fmap_max) for r in range(2, n_layers + 2))


def image_layers(image_size: int) -> int:
    if image_size < 8 or image_size & (image_size - 1):
        raise ArchitectureError(f"lightweight_gan image_size must be a power of two >= 8, got {image_size}")
    return int(math.log2(image_size)) - 2


def sle_layers(n_layers: int) -> list[int]:
    """Indices of the layers with an excitation gate (the project keeps (r, r+4) with r+4 <= log2(image_size))."""
    return [r - 2 for r in SLE_FROM_RES if r + 4 <= n_layers + 2]


def image_channels(o: LightweightGANOptions) -> int:
    if o.transparent and o.greyscale:
        raise ArchitectureError("lightweight_gan: transparent and greyscale exclude each other; give at most one")
    return 4 if o.transparent else 1 if o.greyscale else 3


# ---- reading the weights ------------------------------------------------------------------


def generator_tensors(state_dict: Mapping[str, torch.Tensor], announce: bool = False) -> dict[str, torch.Tensor]:
    """The generator's own tensors: GE.* (else G.*) of a whole LightweightGAN state dict, or the dict itself."""
    for prefix, what in GENERATOR_PREFIXES:
        if f"{prefix}initial_conv.0.weight" in state_dict:
            if announce:
                log.info("lightweight_gan: using %s of the checkpoint", what)
            return {k[len(prefix) :]: v for k, v in state_dict.items() if k.startswith(prefix)}
    return dict(state_dict)


def read_options(sd: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    """Every option the tensors decide; an ArchitectureError for weights of another layout."""
    if "initial_conv.0.weight" not in sd or "out_conv.weight" not in sd:
        raise ArchitectureError("not a lightweight-gan generator (no initial_conv.0.weight / out_conv.weight)")
    first = sd["initial_conv.0.weight"]  # (latent, 2 latent, 4, 4)
    if first.dim() != 4 or tuple(first.shape[1:]) != (2 * first.shape[0], 4, 4):
        raise ArchitectureError(
            f"initial_conv.0.weight has shape {tuple(first.shape)}, not the "
            "(latent, 2 latent, 4, 4) of a lightweight-gan generator"
        )
    latent = first.shape[0]
    if any(re.match(r"layers\.\d+\.2\.fn\.to_lin_q\.", k) for k in sd) or "layers.0.0.0.net.0.weight" in sd:
        raise ArchitectureError(
            "these are weights of a later lightweight-gan release (pixel-shuffle upsampling, "
            "hybrid attention), which ganinv does not implement; only the layout of the "
            "HugGAN sprint (huggingface/community-events) is supported"
        )
    indices = sorted(int(m.group(1)) for k in sd if (m := re.fullmatch(r"layers\.(\d+)\.0\.2\.weight", k)))
    if not indices or indices != list(range(len(indices))):
        raise ArchitectureError("not a lightweight-gan generator (layers.<i>.0.2.weight missing or not numbered 0..n)")
    widths, c_in = [], latent
    for i in indices:
        w = sd[f"layers.{i}.0.2.weight"]  # (2 C_out, C_in, 3, 3)
        if w.dim() != 4 or w.shape[1] != c_in or w.shape[0] % 2 or tuple(w.shape[2:]) != (3, 3):
            raise ArchitectureError(f"layers.{i}.0.2.weight has shape {tuple(w.shape)}; expected (2 C, {c_in}, 3, 3)")
        c_in = w.shape[0] // 2
        widths.append(c_in)
    out = sd["out_conv.weight"]  # (channels, C_last, 3, 3)
    if out.shape[1] != widths[-1] or out.shape[0] not in (1, 3, 4):
        raise ArchitectureError(
            f"out_conv.weight has shape {tuple(out.shape)}; expected (1, 3 or 4, {widths[-1]}, 3, 3)"
        )
    n = len(widths)
    expected_gates = set(sle_layers(n))
    gates = {i for i in range(n) if f"layers.{i}.1.net.0.weight" in sd}
    if gates != expected_gates:
        raise ArchitectureError(
            f"excitation gates at layers {sorted(gates)}, but a lightweight-gan generator of "
            f"{2 ** (n + 2)} pixels has them at {sorted(expected_gates)}"
        )
    kinds = {("dct" if f"layers.{i}.1.dct_weights" in sd else "context") for i in gates}
    if len(kinds) > 1:
        raise ArchitectureError(
            "mixed excitation kinds (dct_weights on some layers only); not a lightweight-gan layout"
        )
    attention = [i for i in range(n) if f"layers.{i}.2.fn.to_q.weight" in sd]  # at input side 2**(i+2)
    values: dict[str, Any] = {
        "latent_dim": latent,
        "image_size": 2 ** (n + 2),
        "widths": tuple(widths),
        "transparent": out.shape[0] == 4,
        "greyscale": out.shape[0] == 1,
        "attn_res_layers": tuple(2 ** (i + 2) for i in attention),
        "freq_chan_attn": kinds == {"dct"},
        "antialias": "layers.0.0.1.f" in sd,
    }
    if attention:
        inner = sd[f"layers.{attention[0]}.2.fn.to_q.weight"].shape[0]
        if inner != ATTENTION_HEADS * ATTENTION_DIM_HEAD:
            values["attention_inner"] = inner
    return values


def check_agreement(read: Mapping[str, Any], given: Mapping[str, Any]) -> None:
    """Options given (by the user or a config.json) must say what the weights say, about what the net can have: the
    trainer's defaults (`attn_res_layers=[32]`, `freq_chan_attn=true`) build nothing in a net too small for them."""
    n_layers = len(read["widths"])
    attention_sides = {2 ** (i + 2) for i in range(n_layers)}  # layer i's input side
    for name, value in read.items():
        if name == "attention_inner" or name not in given:
            continue
        if name == "freq_chan_attn" and not sle_layers(n_layers):
            continue  # no excitation gate below 128 pixels: either kind builds the same net
        said = given[name]
        if isinstance(value, tuple):
            if isinstance(said, str):  # from the command line
                said = [v for v in said.replace(" ", "").strip("()[]").split(",") if v]
            if name == "attn_res_layers":
                said = tuple(sorted(int(v) for v in said if int(v) in attention_sides))
                value = tuple(sorted(value))
            else:
                said = tuple(int(v) for v in said)
        elif isinstance(value, bool):
            said = said if isinstance(said, bool) else str(said).lower() in TRUE_WORDS
        else:
            said = type(value)(said)
        if said != value:
            raise ArchitectureError(
                f"lightweight_gan: the options/config say {name}={given[name]!r} but the weights "
                f"have {name}={value!r}; fix or drop the option"
            )


@register
class LightweightGAN(Architecture):
    name = "lightweight_gan"
    Options = LightweightGANOptions
    channel_order = "rgb"  # its code base's loaders (PIL)
    reads_every_layer = True  # the keys name every block: attention, gates, blur
    unread_options = frozenset({"fmap_max", "fmap_inverse_coef"})  # the widths are read; these only make them
    summary = (
        "lucidrains' lightweight-gan (FastGAN) as in the HugGAN sprint: GLU up-blocks, skip-layer excitation, "
        "linear attention; output clamped to [0, 1]"
    )

    def build(self, options: LightweightGANOptions) -> Built:
        net = LightweightGANNet(options)
        return Built(net, net.spec())

    def infer_options(self, state_dict: Mapping[str, torch.Tensor], given: dict[str, Any]) -> dict[str, Any]:
        read = read_options(generator_tensors(state_dict, announce=True))
        inner = read.pop("attention_inner", None)
        if inner is not None and int(given.get("attn_heads", 0)) * int(given.get("attn_dim_head", 0)) != inner:
            raise ArchitectureError(
                f"lightweight_gan: the attention has {inner} inner channels, not the project's "
                f"{ATTENTION_HEADS} heads x {ATTENTION_DIM_HEAD}; give --option attn_heads=H "
                "--option attn_dim_head=D with H*D = " + str(inner)
            )
        check_agreement(read, given)
        widths = read["widths"]
        if "widths" not in given and ("fmap_max" in given or "fmap_inverse_coef" in given):  # a trainer config
            rule = layer_widths(self.make_options({**given, "image_size": read["image_size"]}))
            if rule != widths:
                raise ArchitectureError(
                    f"lightweight_gan: fmap_max/fmap_inverse_coef give layer widths "
                    f"{','.join(map(str, rule))} but the weights have {','.join(map(str, widths))}"
                )
        clamp = given.get("clamp", True)
        decisions = [
            decision(
                "clamp",
                clamp,
                "given" if "clamp" in given else "the project's sampler clamps images to [0, 1] (Trainer.generate_)",
                "--option clamp=false",
            ),
            decision(
                "attention",
                f"{ATTENTION_HEADS} heads of {ATTENTION_DIM_HEAD}",
                "the project's code (LinearAttention defaults)",
                "--option attn_heads=H --option attn_dim_head=D",
            ),
        ]
        return {**given, **read, DECISIONS: decisions[:1] + decisions[1:] * bool(read["attn_res_layers"])}

    def convert_state_dict(self, state_dict: dict[str, torch.Tensor], options: Any) -> dict[str, torch.Tensor]:
        return generator_tensors(state_dict)
