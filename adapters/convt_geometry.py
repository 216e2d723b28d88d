"""Strides, paddings and output paddings of a transposed-convolution generator (`convt`), which a state
dict does not store: the candidates that reach an image size, searched against the BatchNorm running statistics
(the batch statistics the net saw in training) on a probe batch.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, Iterable, Optional, cast

import torch
from torch import nn

from ganinv.errors import ArchitectureError

# Image sides tried when none is given: the first tier that some geometry reaches, in this order.
from .convt import ConvTNet, ConvTOptions, UpStage, out_size
from .statedict import Candidate, bn_discrepancy, bn_fit, bn_misfit, prior_probe, probe_inputs

# Image sides tried when none is given: the first tier that some geometry reaches, in this order.
PREFERRED_SIZES = ((28, 32, 64, 48, 96), (128, 16), (256, 512))  # 48, 96: STL-10 and anime-face DCGANs


Step = tuple[int, int, int]  # (stride, padding, output_padding) of one stage
# The odd sides a 'same'-padded stage without output padding makes on purpose: 7, which 28-px (MNIST) nets grow from
# (4 -> 7). Any other, 16 -> 31 in a 64-px net whose last stage pads back to 64, is unusual: usual, it read a TF-port
# net's op 1,1,1 as 1,1,0, "decided" at margin 3.7, 1.97 off (fuzzer 39a).
ODD_SIDES = frozenset({7})


def convention_cost(size: int, kernel: int, step: Step) -> int:
    """0 for the usual choice, a tie-breaker: a 1x1 map unpadded; else out = stride * in with no output padding, or an
    odd kernel 'same'-padded ((kernel - 1) // 2), as PyTorch code writes it (no output padding: 4 -> 7 in MNIST GANs)
    or as TF ports do (the output padding that makes out = stride * in). Counted unusual, TF's k5 s2 p2 op1 stages lost
    to 48-px readings that fit their statistics worse (audit 36a); counted usual alone, it beat PyTorch's k3 s2 p1
    4 -> 7, and 28-px nets loaded at 32 (review 37a)."""
    stride, padding, output_padding = step
    if size == 1:
        return int(padding > 0) + int(output_padding > 0)
    if kernel % 2 == 1 and padding == (kernel - 1) // 2 and output_padding in (0, stride - 1):
        out = out_size(size, kernel, *step)
        return int(out != size * stride and out not in ODD_SIDES)
    return int(out_size(size, kernel, *step) != size * stride) + int(output_padding > 0)


# Extra padding a stage after the last BatchNorm may take when the image side is given: a crop there (csinva's
# MNIST DCGAN ends in ConvTranspose2d(k1, s1, p2), 32 -> 28 px) is what no statistic sees; without it, a given
# `resolution=28` was forced into the BatchNorm'd stages, a reading the statistics ranked worse (an outside audit).
CROP_PADDING = 2


def max_padding(kernel: int, given: Optional[int], crop: bool = False) -> int:
    """The largest padding `candidate_steps` tries for a stage."""
    return given if given is not None else kernel // 2 + (CROP_PADDING if crop else 0)


def candidate_steps(size: int, kernel: int, given: tuple[Optional[int], ...], crop: bool = False) -> list[Step]:
    """Choices for one stage (within what the user gave), most conventional first; `crop`: paddings beyond the
    usual ones too (CROP_PADDING)."""
    paddings = range(max_padding(kernel, None, crop) + 1) if given[1] is None else (given[1],)  # given: as given
    if size == 1:  # from a 1x1 map the stride does nothing
        steps = [(given[0] or 1, p, 0) for p in paddings if kernel - 2 * p > 0]
    else:
        strides: tuple[int, ...] = (1, 2, 3) if kernel == 3 else (1, 2)  # k3 s3 with output padding: WGAN-GP ports
        if crop:  # a last stage up to the side the user gave: Lornatang's 96-px DCGAN ends in k5 s3 p1, 32 -> 96, and
            # without stride 3 `resolution=96` re-read the stages its statistics had decided (an outside audit, 51a)
            strides = (1, 2, 3) if kernel >= 3 else strides  # not 4: a k4 s4 stage is rarer than a config that errs
        steps = [
            (s, p, op)
            for s in (strides if given[0] is None else (given[0],))
            for p in paddings
            for op in (range(min(s, 2)) if given[2] is None else (given[2],))
            if out_size(size, kernel, s, p, op) > 0 and op < s
        ]
    steps = [step for step in steps if all(g is None or g == v for g, v in zip(given, step))]
    return sorted(steps, key=lambda t: (convention_cost(size, kernel, t), t[0] != 2, t[1], t[2]))


@torch.no_grad()
def geometry_candidates(
    net: ConvTNet,
    given: list[tuple[Optional[int], ...]],
    target: Optional[int],
    n_probe: int = 128,
    beam: int = 4,
    bound: float = float("inf"),
) -> list[Candidate]:
    """Geometries reaching `target` (or the first tier of usual sides some geometry reaches), with their misfits;
    none once every partial geometry misfits more than `bound` (see `statedict.search`)."""
    tiers = [(target,)] if target else PREFERRED_SIZES
    found: list[Candidate] = []
    for tier, goals in enumerate(tiers):
        try:
            reached = search_geometry(net, goals, given, n_probe, beam, bound, crop=bool(target))
        except NoGeometryError:
            continue
        found += [dataclasses.replace(c, rank=(c.rank[0], tier, c.rank[1])) for c in reached]
        # a later tier only where this one needs an unusual choice: a 128-px DCGAN reached 64 px through a stage
        # with an output padding (an outside audit), when its usual reading reaches 128
        if not reached or min(c.rank[0] for c in reached) == 0:
            return found
    if found:
        return found
    kernels = ",".join(str(stage.conv.kernel_size[0]) for stage in cast(Iterable[UpStage], net.stages))
    sides = " or ".join(str(side) for goals in tiers for side in goals)
    named = [
        f"{name}={','.join('?' if g[j] is None else str(g[j]) for g in given)}"
        for j, name in enumerate(("strides", "paddings", "output_paddings"))
        if any(g[j] is not None for g in given)
    ]
    if named:
        raise ArchitectureError(
            f"no strides/paddings make kernels {kernels} reach a side of {sides} with the given {' '.join(named)} "
            "(from --option or the recipe's [options]): give the ones the generator was built with, or leave "
            "them out to infer them from the weights"
        )
    raise ArchitectureError(
        f"no strides/paddings make kernels {kernels} reach a side of {sides}; give --option resolution=SIDE or "
        "strides=... paddings=..."
    )


class NoGeometryError(ArchitectureError):
    """No (stride, padding, output_padding) per stage reaches the sides searched for (`geometry_candidates` says
    which sides it tried)."""


def search_geometry(
    net: ConvTNet,
    goals: tuple[int, ...],
    given: list[tuple[Optional[int], ...]],
    n_probe: int,
    beam: int,
    bound: float = float("inf"),
    crop: bool = False,
) -> list[Candidate]:
    """Beam search, stage by stage, over (stride, padding, output_padding) reaching one of `goals`; `crop`: the
    stages after the last BatchNorm may crop (CROP_PADDING), for a side the user gave.

    Every feasible choice is applied to the probe activations and its misfit taken at the
    BatchNorm that follows; the `beam` best partial geometries go on. Stages after the last
    BatchNorm change no statistic: they are ranked by convention, then by the order of `goals`.
    Nothing is returned once the best partial misfit exceeds `bound`.
    """
    o = net.o
    stages = list(cast(Iterable[UpStage], net.stages))
    kernels = [stage.conv.kernel_size[0] for stage in stages]
    scored = [any(isinstance(later.norm, nn.BatchNorm2d) for later in stages[i:]) for i in range(len(kernels))]
    # the most pixels stage i can take off a map: 2p - k + 1 at stride 1 (1 for the usual paddings; a given padding
    # or a crop takes more: k1 p2 takes 32 to 28, which a bound of 1 per stage had ruled out, an outside audit)
    shrinks = [
        max(1, 2 * max_padding(k, g[1], crop and not scored[i]) - k + 1) for i, (k, g) in enumerate(zip(kernels, given))
    ]

    @functools.lru_cache(maxsize=None)
    def feasible(i: int, size: int) -> bool:  # can stages i.. turn `size` into one of the goals?
        if i == len(kernels):
            return size in goals
        if not any(o.crops[i:]) and size > max(goals) + sum(shrinks[i:]):  # no stage shrinks a map by more
            return False
        return any(
            feasible(i + 1, cropped(out_size(size, kernels[i], *step), o.crops[i]))
            for step in candidate_steps(size, kernels[i], given[i], crop and not scored[i])
        )

    def stage_cost(i: int, size: int, step: Step, steps: tuple[Step, ...]) -> int:
        """`convention_cost`, but for a stage after the last BatchNorm, which no statistic sees, its up-sampling
        siblings' step (same kernel, stride above 1; TF's 'same' padding is k3 s2 p1 op1) costs nothing: with
        output padding counted unusual there, 'same'-padded nets ended in a stage of stride 1 or 3, at half the
        side (an outside audit)."""
        siblings = {s for j, s in enumerate(steps) if kernels[j] == kernels[i] and s[0] > 1}
        if scored[i]:
            return convention_cost(size, kernels[i], step) + mixes_conventions(step, siblings)
        if not siblings:  # the up-sampling step of the stages before it, with its own kernel, is as usual: the
            # Coursera course's k3 s2 p0 stages end in k4 s2 p0 (31 -> 64), read as k4 s1 p1 (31 -> 32, audit 49b)
            others = {s for s in steps if s[0] > 1}
            return 0 if step in others else convention_cost(size, kernels[i], step)
        return 0 if step in siblings else 1 + convention_cost(size, kernels[i], step)

    def mixes_conventions(step: Step, siblings: set[Step]) -> int:
        """1 where an up-sampling stage's output padding differs from its siblings' with the same stride and padding:
        a net is written in one convention (PyTorch's or TF's 'same'), and with Dropout blurring the statistics a mix
        of the two read a 96-px TF port at 48 px (review 37a)."""
        return int(step[0] > 1 and any(s[:2] == step[:2] and s[2] != step[2] for s in siblings))

    z, d, c = probe_batch(o, n_probe)
    start = net.head_output(z, d, c)
    head_misfit: tuple[float, ...] = ()
    if net.head is not None and net.head_norm is not None:  # a head norm comes with a head
        found: list[float] = []
        h = net.head(net.through_trunk(net.first_input(z, d, c), found))
        on_map = isinstance(net.head_norm, nn.BatchNorm2d)
        head_misfit = (*found, bn_discrepancy(net.first_map(h) if on_map else h, net.head_norm))
    # (misfits, convention, steps, the next stage's input or None, side); a grown one holds how to make that input
    beams: list[tuple[tuple[float, ...], int, tuple, Any, int]] = [(head_misfit, 0, (), start, start.shape[-1])]
    for i, stage in enumerate(stages):
        grown: list[tuple[tuple[float, ...], int, tuple, Any, int]] = []
        for misfits, convention, steps, x, size in beams:
            if x is not None:  # large maps: fewer samples give enough values per channel, and cost less
                x = x[: max(32, -(-32768 // size**2))]
            unpadded: dict[int, UnpaddedOutput] = {}  # one transposed convolution per stride serves every padding
            for step in candidate_steps(size, kernels[i], given[i], crop and not scored[i]):
                side = cropped(out_size(size, kernels[i], *step), o.crops[i])
                if not feasible(i + 1, side):
                    continue
                made: Optional[tuple[UnpaddedOutput, Step, int]] = None
                misfit: tuple[float, ...] = ()
                if scored[i]:  # every scored stage ends in a BatchNorm
                    assert isinstance(stage.norm, nn.BatchNorm2d)
                    if step[0] not in unpadded:
                        unpadded[step[0]] = UnpaddedOutput(
                            nn.functional.conv_transpose2d(x, stage.conv.weight, stride=step[0])
                        )
                    made = (unpadded[step[0]], step, out_size(size, kernels[i], *step))
                    misfit = (unpadded[step[0]].misfit(step[1], side, stage.conv.bias, stage.norm),)
                grown.append(
                    (
                        misfits + misfit,
                        convention + stage_cost(i, size, step, steps),
                        steps + (step,),
                        made,
                        side,
                    )
                )
        if not grown:
            raise NoGeometryError()
        last = i == len(kernels) - 1
        grown.sort(key=lambda g: (sum(g[0]), g[1], goals.index(g[4]) if last else 0))
        if sum(grown[0][0]) > bound:  # misfits only add up: nothing here can be picked
            return []
        # the best conventional partial geometry goes on too: unusual ones that fit alike by the probe's noise
        # crowded the usual 128-px reading out of the beam (an outside audit)
        usual = next((g for g in grown[beam:] if g[1] == 0), None) if not last else None
        beams = grown if last else grown[:beam] + ([usual] if usual and all(g[1] for g in grown[:beam]) else [])
        if not last and scored[i + 1]:  # only the partial geometries that go on need their activations
            beams = [(m, c, st, stage_output(stage, *made), side) for m, c, st, made, side in beams]
    n_scored = sum(scored)
    return [
        Candidate(
            {"steps": steps, "geometry": steps[:n_scored], "output_geometry": steps[n_scored:]},
            misfits,
            (convention, goals.index(side)),
            unusual_stages(net, start.shape[-1], steps[:n_scored]),
        )
        for misfits, convention, steps, _, side in beams
    ]


def unusual_stages(net: ConvTNet, size: int, steps: tuple[Step, ...]) -> int:
    """How many of the first stages make an unusual choice, from a map of side `size`."""
    count = 0
    for stage, step in zip(cast(Iterable[UpStage], net.stages), steps):
        kernel = stage.conv.kernel_size[0]
        count += convention_cost(size, kernel, step) > 0
        size = cropped(out_size(size, kernel, *step), stage.crop)
    return count


class UnpaddedOutput:
    """A transposed convolution's output without padding or bias, (N, C, S, S), and its per-pixel sums.

    Padding p crops p rows and columns from each border of it; output padding adds rows and
    columns at the far end that no input reaches (bias only). So the batch statistics of every
    padding come from sums over one window of the same maps, without another convolution.
    """

    def __init__(self, y: torch.Tensor):
        self.y = y
        self.count = y.shape[0]
        pad = (1, 0, 1, 0)  # a zero row and column first: window sums from differences of cumulative sums
        self.sums = nn.functional.pad(y.sum(0).double(), pad).cumsum(1).cumsum(2)  # (C, S+1, S+1)
        self.squares = nn.functional.pad(y.square().sum(0).double(), pad).cumsum(1).cumsum(2)

    def window(self, table: torch.Tensor, padding: int, side: int) -> torch.Tensor:
        """Per-channel sum over rows and columns padding .. padding + side (zeros past the end): (C,)."""
        end = min(padding + side, table.shape[-1] - 1)
        return table[:, end, end] - table[:, padding, end] - table[:, end, padding] + table[:, padding, padding]

    def misfit(self, padding: int, side: int, bias: Optional[torch.Tensor], norm: nn.BatchNorm2d) -> float:
        """`bn_discrepancy` of the padded output cropped to `side`, from the window sums."""
        n = self.count * side * side
        mean = self.window(self.sums, padding, side) / n
        var = (self.window(self.squares, padding, side) / n - mean**2).clamp_min(0)
        mean = mean.float() + bias if bias is not None else mean.float()
        return bn_misfit(mean, var.float(), norm)


def stage_output(stage: UpStage, unpadded: UnpaddedOutput, step: Step, side: int) -> torch.Tensor:
    """What a stage with this step gives the next one: padded, cropped, batch-normalised as in training, activated."""
    _, padding, _ = step
    y = unpadded.y[:, :, padding : padding + side, padding : padding + side]
    extra = side - y.shape[-1]
    if extra > 0:
        y = nn.functional.pad(y, (0, extra, 0, extra))
    y = y + stage.conv.bias.view(1, -1, 1, 1) if stage.conv.bias is not None else y
    y = y[:, :, : stage.crop, : stage.crop] if stage.crop else y  # (N, C, H, W) before the BatchNorm
    assert isinstance(stage.norm, nn.BatchNorm2d), "only stages that end in a BatchNorm are scored"
    return stage.act(bn_fit(y, stage.norm)[1])


def cropped(size: int, crop: int) -> int:
    return min(size, crop) if crop else size


def geometry_flag(values: dict[str, Any]) -> str:
    steps = values["steps"]
    flags = (
        f"--option strides={','.join(str(s[0]) for s in steps)} --option paddings={','.join(str(s[1]) for s in steps)}"
    )
    if any(s[2] for s in steps):
        flags += f" --option output_paddings={','.join(str(s[2]) for s in steps)}"
    return flags


def probe_batch(o: ConvTOptions, n: int) -> tuple[torch.Tensor, Optional[torch.Tensor], Optional[torch.Tensor]]:
    """The probe batch under options `o`: z drawn from its prior, one-hot labels cycling over the classes, codes."""
    z = prior_probe(o.prior)(n, o.nz, torch.Generator().manual_seed(0))  # N(0, I): the draw of probe_inputs
    return z, probe_inputs(o.nz, o.n_classes, n)[1], code_probe(o.nc, n)


def code_probe(nc: int, n: int) -> Optional[torch.Tensor]:
    """The probe batch's continuous codes, the contract's N(0, I) (mapped to the native prior by the net), or None."""
    return torch.randn(n, nc, generator=torch.Generator().manual_seed(1)) if nc else None


def show_steps(steps: tuple[Step, ...], first: int = 0) -> str:
    """ "stages 2-3: strides 2,2 paddings 1,1" (output paddings when any)."""
    text = (
        f"stages {first + 1}-{first + len(steps)}: " if len(steps) > 1 else f"stage {first + 1}: "
    ) + f"strides {','.join(str(s[0]) for s in steps)} paddings {','.join(str(s[1]) for s in steps)}"
    if any(s[2] for s in steps):
        text += f" output_paddings {','.join(str(s[2]) for s in steps)}"
    return text
