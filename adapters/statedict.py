"""Reading foreign state dicts, and identifying what they do not store from their BatchNorm statistics.

Shared by every adapter that loads other codebases' checkpoints:

- `group_modules`, `kind_of`, `natural_key`, `rename_modules`: tensors grouped by module
  prefix, what kind of layer each prefix is, and the renaming into an adapter's own keys.
- `identify`: a state dict stores shapes, not strides, paddings, activations, BatchNorm eps or
  how a label enters. A BatchNorm's running statistics are the batch statistics the net saw in
  training, and they depend on everything before the layer that feeds it (its geometry, the
  activation before it, the eps of the BatchNorm before that). So every candidate net is run
  on a probe batch and scored by how far its batch statistics are from the running ones; the
  best one is taken when it wins by a clear margin, the user is asked to choose when it does
  not, and a property that changes no statistic is taken by convention and reported as assumed.
  Combinations are scored one after another, and one whose partial misfit already exceeds
  that of every candidate `identify` could pick stops early (`search(..., bounded=True)`).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional, Sequence, cast

import torch
from torch import nn

from ganinv.architectures import AmbiguousWeightsError, decision, load_weights
from ganinv.errors import ArchitectureError
from ganinv.generator import native_from_standard
from ganinv.status import CountedProgress
from ganinv.weight_files import layers_of

# The runner-up's misfit must be at least this many times the winner's for the statistics to decide.
MIN_RATIO = 1.5
# The worst BatchNorm misfit of a net that is the author's, on the probe batch: under 0.012 for every generator tried
# (trained ones, EMA copies, the public layouts of tests/zoo.py); a wrong stride, activation, prior or input gives
# 0.03 to 100.
POOR_FIT = 0.05
# how a net built despite misfitting its statistics by more is announced, before the causes each adapter suspects
POOR_FIT_SAID = (
    "assumed: the net as built, though its BatchNorm statistics fit poorly (a net that is the author's misfits "
    f"under {POOR_FIT:g}"
)
# Below this margin the statistics still pick the best fit, but the pick is announced with the rival's flag: the
# margins of authors' nets (1.8-2.2 for some label orders) overlap those of wrong picks (1.6-2.5) when the
# statistics are blurred by what a state dict does not record (Dropout; a checkpoint saved early in training,
# whose running averages lag its weights).
DECIDED_RATIO = 3.0
# Two candidates whose misfits differ by less than this (relative) changed no statistic: a tie.
TIE = 1e-9


# ---- layers of a foreign state dict --------------------------------------------------------------


group_modules = layers_of  # {"main.0.weight": w} -> {"main.0": {"weight": w}}, in order


def kind_of(prefix: str, tensors: Mapping[str, torch.Tensor]) -> str:
    """ "norm", "conv" (any 4-D weight), "linear", "embedding" (a bias-free 2-D weight named like one) or "unknown"."""
    weight = tensors.get("weight")
    if "running_mean" in tensors:
        if weight is None or "bias" not in tensors:
            raise ArchitectureError(
                f"BatchNorm {prefix} has running statistics but no weight and bias (affine=False), which ganinv's "
                "adapters do not build; load the file into the generator's own class with --model-class MODULE:CLASS"
            )
        return "norm"
    if weight is None:
        return "unknown"
    if weight.dim() == 4:
        return "conv"
    if weight.dim() == 2:
        label_like = any(word in prefix.lower() for word in ("emb", "label", "class"))
        return "embedding" if label_like and "bias" not in tensors else "linear"
    return "unknown"


def natural_key(prefix: str) -> list:
    """ "main.10" after "main.9": digit runs compare as numbers."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", prefix)]


def rename_modules(
    modules: Mapping[str, Mapping[str, torch.Tensor]], names: Mapping[str, str]
) -> dict[str, torch.Tensor]:
    """A state dict with module `prefix` renamed `names[prefix]`; BatchNorm counters added where missing."""
    out: dict[str, torch.Tensor] = {}
    for prefix, name in names.items():
        tensors = dict(modules[prefix])
        if "running_mean" in tensors:  # checkpoints older than PyTorch 0.4 lack the counter
            tensors.setdefault("num_batches_tracked", torch.tensor(0, dtype=torch.long))
        out.update({f"{name}.{k}": v for k, v in tensors.items()})
    return out


def describe_tensors(modules: Mapping[str, Mapping[str, torch.Tensor]], prefixes: Sequence[str]) -> str:
    """ "main.5.weight (3, 3, 3), extra.w (2,)": the tensors an error is about, by name and shape."""
    return ", ".join(
        f"{f'{p}.' if p else ''}{name} {tuple(t.shape)}" for p in prefixes for name, t in modules[p].items()
    )  # a top-level tensor without a stray dot


# ---- the BatchNorm evidence -----------------------------------------------------------------------


def running_statistics(tensors: Mapping[str, torch.Tensor]) -> nn.modules.batchnorm._BatchNorm:
    """A BatchNorm holding a layer's running statistics (all `bn_discrepancy` reads)."""
    norm = nn.BatchNorm1d(tensors["running_mean"].shape[0])
    norm.load_state_dict({k: tensors[k].float() for k in ("running_mean", "running_var")}, strict=False)
    return norm


def bn_discrepancy(y: torch.Tensor, norm: nn.modules.batchnorm._BatchNorm) -> float:
    """Symmetric KL between per-channel Gaussians: batch statistics of y (N, C, ...) vs the running statistics."""
    return bn_fit(y, norm, normalize=False)[0]


def bn_misfit(mean: torch.Tensor, var: torch.Tensor, norm: nn.modules.batchnorm._BatchNorm) -> float:
    """Symmetric KL between per-channel Gaussians with batch statistics (mean, var) (C,) and the running ones."""
    assert norm.running_mean is not None and norm.running_var is not None, "a BatchNorm that tracks running stats"
    run_var, var = norm.running_var + 1e-5, var + 1e-5
    gap = (mean - norm.running_mean) ** 2
    return float((0.5 * ((var + gap) / run_var + (run_var + gap) / var) - 1).mean())


def bn_fit(
    y: torch.Tensor, norm: nn.modules.batchnorm._BatchNorm, normalize: bool = True
) -> tuple[float, Optional[torch.Tensor]]:
    """(`bn_discrepancy` of y, y normalised by its own batch statistics as in training), sharing one pass over y."""
    dims = [0] + list(range(2, y.dim()))
    shape = [1, -1] + [1] * (y.dim() - 2)
    mean = y.mean(dim=dims)  # (C,)
    centered = y - mean.view(shape)
    var = centered.square().mean(dim=dims)  # (C,) biased, as BatchNorm normalises in training
    misfit = bn_misfit(mean, var, norm)
    if not normalize:
        return misfit, None
    scale = torch.rsqrt(var + norm.eps)
    if norm.weight is not None:
        scale = scale * norm.weight
    if norm.bias is None:
        return misfit, centered * scale.view(shape)
    return misfit, torch.addcmul(norm.bias.view(shape), centered, scale.view(shape))


@dataclass
class Candidate:
    """One way to build the net: property values, misfit at each BatchNorm in forward order, convention rank."""

    values: dict[str, Any]
    misfits: tuple[float, ...]
    rank: tuple = ()  # lower = more conventional; decides between candidates the statistics cannot tell apart
    unusual: int = 0  # unusual choices (an output padding, a stage that does not scale by its stride)

    @property
    def penalised(self) -> float:
        """The misfit an unusual candidate must beat: it has to fit `MIN_RATIO` times better per unusual choice."""
        return self.total * MIN_RATIO**self.unusual

    @property
    def total(self) -> float:
        return sum(self.misfits)


@dataclass
class Property:
    """A property the weights do not store: its candidates (conventional first) and how to describe it."""

    name: str
    values: Optional[Sequence[Any]]  # None: the scorer enumerates them (geometry)
    convention: str  # why the first value is the default, e.g. "PyTorch default"
    flag: Callable[[dict], str]  # the option(s) selecting a candidate's value, e.g. "--option activation=relu"
    show: Optional[Callable[[dict], Any]] = None  # the value as recorded; default: values[name]
    scored: bool = True  # False: no statistic can see it (the stages after the last BatchNorm)
    # the values that are usual; any other counts as an unusual choice (Candidate.unusual). None: all are usual
    usual: Optional[Sequence[Any]] = None
    # values announced even when the statistics pick them, because something ganinv does not model would leave the
    # same statistics: value -> (why, what to do instead)
    caveats: Optional[Mapping[Any, tuple[str, str]]] = None
    tie_hint: str = ""  # what else may make two of its values fit alike, said when they do
    # values it may take that were not candidates (nothing could tell them), named when the pick is an assumption
    untried: Sequence[Any] = ()

    def shown(self, values: dict[str, Any]) -> Any:
        return self.show(values) if self.show else values[self.name]


def option_flag(name: str) -> Callable[[dict], str]:
    return lambda values: f"--option {name}={fmt(values[name])}"


def search(
    properties: Sequence[Property], score: Callable[..., list[Candidate]], bounded: bool = False
) -> list[Candidate]:
    """Every combination of the properties' values, scored (`score` may add candidates for more properties).

    `bounded`: `score(values, bound)` may stop, returning nothing, once every candidate it could
    still return misfits more than `bound` (misfits only add up along the net, so a partial sum
    is a lower bound). See `pruning_bound`: a combination that stops could be neither the best
    candidate nor any property's rival, so `identify` picks the same candidates and margins as
    from the full search.
    """
    candidates: list[Candidate] = []
    listed = [(p.name, p.values) for p in properties if p.values is not None]
    progress = CountedProgress(
        "candidate readings of the architecture", math.prod(len(choices) for _, choices in listed)
    )
    for rank, combo in enumerate(itertools.product(*(choices for _, choices in listed))):
        values = dict(zip((name for name, _ in listed), combo))
        unusual = sum(
            1 for p in properties if p.usual is not None and p.name in values and values[p.name] not in p.usual
        )
        scored = score(values, pruning_bound(candidates, properties, values)) if bounded else score(values)
        for c in scored:
            candidates.append(Candidate({**values, **c.values}, c.misfits, (c.rank, rank), c.unusual + unusual))
        progress.done(rank + 1)
    return candidates


_SEARCHES: "OrderedDict[tuple, list[Candidate]]" = OrderedDict()  # recent searches, by what decides them
_SEARCHES_KEPT = 16


def cached_search(
    key: tuple, properties: Sequence[Property], score: Callable[..., list[Candidate]], bounded: bool = False
) -> list[Candidate]:
    """`search`, remembered under `key` (which must hold everything the scores depend on, e.g. the weights'
    `state_dict_sha256` and the options): a state dict loaded again in the same process is not searched again."""
    key = (key, tuple((p.name, None if p.values is None else tuple(p.values)) for p in properties), bounded)
    if key in _SEARCHES:
        _SEARCHES.move_to_end(key)
        return list(_SEARCHES[key])
    candidates = search(properties, score, bounded)
    _SEARCHES[key] = list(candidates)
    while len(_SEARCHES) > _SEARCHES_KEPT:
        _SEARCHES.popitem(last=False)
    return candidates


def pruning_bound(candidates: list[Candidate], properties: Sequence[Property], values: dict[str, Any]) -> float:
    """The misfit above which no candidate with these property values can be picked by `identify`.

    Such a candidate could become the best, or the rival of a property it holds another value of
    than the best so far (any property its scorer chooses, such as the geometry). It is neither
    when it misfits more than the best and those rivals; with such a property still without a
    rival, nothing is ruled out. (A later, better best keeps the bound valid: for a property on
    which it differs from the old best, the old best is a rival that fits better than the bound.)
    """
    if not candidates:
        return float("inf")
    best, found = contests(candidates, properties)
    rivals = {c.prop.name: c.rival.penalised for c in found}
    bound = best.penalised
    for prop in properties:
        if prop.values is not None and (len(prop.values) <= 1 or values[prop.name] == best.values[prop.name]):
            continue  # given, or the best's value: these candidates are no rival for it
        if prop.name not in rivals:
            return float("inf")
        bound = max(bound, rivals[prop.name])
    return bound


def strip_common(a: tuple[float, ...], b: tuple[float, ...]) -> tuple[float, float]:
    """Misfits summed from the first BatchNorm where two candidates differ: what tells them apart."""
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return sum(a[n:]), sum(b[n:])


@dataclass
class Contest:
    """The best candidate against the best one with another value of `prop`."""

    prop: Property
    rival: Candidate
    ours: float  # misfits from the first BatchNorm where the two differ
    theirs: float

    @property
    def ratio(self) -> float:
        return self.theirs / self.ours if self.ours > 0 else float("inf")

    @property
    def tie(self) -> bool:  # no statistic tells the two apart
        return not self.prop.scored or abs(self.theirs - self.ours) <= TIE * (1 + abs(self.ours))


def contests(candidates: list[Candidate], properties: Sequence[Property]) -> tuple[Candidate, list[Contest]]:
    """(the best-fitting candidate, its contest for every property the search decided)."""
    best = min(candidates, key=lambda c: (c.penalised, c.rank))
    found = []
    for prop in properties:
        if prop.values is not None and len(prop.values) <= 1:
            continue  # given by the user: nothing decided
        rivals = [c for c in candidates if c.values[prop.name] != best.values[prop.name]]
        if rivals:
            rival = min(rivals, key=lambda c: (c.penalised, c.rank))
            found.append(Contest(prop, rival, *strip_common(best.misfits, rival.misfits)))
    return best, found


def identify(candidates: list[Candidate], properties: Sequence[Property], what: str) -> tuple[dict[str, Any], list]:
    """(chosen values, decisions): the best-fitting candidate, each property with its source and margin.

    The margin of a property is how many times worse the best candidate with another value of
    it fits, counting misfits from the first BatchNorm where the two differ.

    A property whose best alternative fits exactly as well changed no statistic: the
    conventional value is taken and recorded as assumed. One whose alternative fits less than
    `MIN_RATIO` times worse is ambiguous: refused, naming both candidates and their options.
    """
    if not candidates:
        raise ArchitectureError(f"no candidate {what} fits these weights")
    best, found = contests(candidates, properties)
    favoured = [c for c in found if strongly_favoured(c, best)]
    decisions = []
    for contest in found:
        prop, rival, ours, theirs, ratio = contest.prop, contest.rival, contest.ours, contest.theirs, contest.ratio
        if contest in favoured:
            # the penalty an unusual reading pays is on the whole net's misfit, which a poorly fitting layer before
            # the two differ dilutes: a Keras-default port's LeakyReLU(0.3), 20x better where it differs, was taken
            # as LeakyReLU(0.2) once its geometry was given, 1.1 off (an outside audit)
            raise AmbiguousWeightsError(
                f"the BatchNorm statistics of this {what} favour the unusual {prop.name} "
                f"{fmt(prop.shown(rival.values))} {1 / ratio:.3g}x over {fmt(prop.shown(best.values))} where the two "
                f"differ, but not over the whole net, as an unusual choice must; choose one: "
                f"{prop.flag(rival.values)} or {prop.flag(best.values)} (if neither is the author's net, load it "
                "into its class with --model-class MODULE:CLASS)"
            )
        flag = prop.flag(best.values)
        conventional = not prop.values or best.values[prop.name] == prop.values[0]
        if contest.tie:
            others = [fmt(v) for v in (prop.values or ()) if v != best.values[prop.name]]
            source = (
                f"assumed: {prop.convention}"
                if conventional
                else f"assumed: no statistic tells it from {' or '.join(others)}"
            )
            others += [fmt(v) for v in prop.untried]  # a SiLU MLP without BatchNorm was offered relu|none only
            flag = f"--option {prop.name}={'|'.join(others)}" if others else flag  # (an outside fuzzer)
        elif ratio < MIN_RATIO and rival.unusual > best.unusual:
            flag = prop.flag(rival.values)  # how to take the other reading
            runner_up = next_reading(candidates, prop, best, rival)
            if runner_up is not None:  # statistics this close rank the unusual readings loosely: name two
                flag = f"{flag} (or {prop.flag(runner_up.values)})"
            named = {best.values[prop.name], rival.values[prop.name]}
            named |= {runner_up.values[prop.name]} if runner_up is not None else set()
            if prop.values and prop.values[0] not in named:  # the usual reading is always named (an outside audit:
                # a ReLU DCGAN with Dropout read as no activation, the warning offering leaky_relu or elu only)
                flag = f"{flag}; the usual: {prop.flag({**best.values, prop.name: prop.values[0]})}"
            comparison = (
                f"{1 / ratio:.2f}x better where the two differ, but not {MIN_RATIO:g}x better over the whole net, "
                "as an unusual choice must"
                if ratio < 1
                else f"only {ratio:.2f}x worse"
            )
            source = (
                f"assumed: {prop.convention if conventional else 'the best-fitting usual choice'}; the unusual "
                f"{fmt(prop.shown(rival.values))} fits the BatchNorm statistics {comparison}"
            )
        else:
            if ratio < MIN_RATIO and max(best.misfits, default=0.0) > POOR_FIT:
                raise AmbiguousWeightsError(
                    f"the BatchNorm statistics of this {what} fit none of its readings well: the best misfits "
                    f"{max(best.misfits):.3g} (the author's net misfits under {POOR_FIT:g}), and {prop.name} "
                    f"{fmt(prop.shown(best.values))} and {fmt(prop.shown(rival.values))} fit about alike "
                    f"({prop.flag(best.values)} or {prop.flag(rival.values)} chooses one). Check the options given; "
                    "else is it a layer ganinv does not model (BatchNorm after the activation?), or inputs beside z "
                    "that the options do not give (a one-hot label, InfoGAN codes: --option n_classes=K --option "
                    "nc=N)? Then load it into its class with --model-class MODULE:CLASS"
                )
            if ratio < MIN_RATIO:
                raise AmbiguousWeightsError(
                    f"the BatchNorm statistics of this {what} cannot tell {prop.name} {fmt(prop.shown(best.values))} "
                    f"(misfit {ours:.3g}) from {fmt(prop.shown(rival.values))} (misfit {theirs:.3g}, only "
                    f"{ratio:.2f}x worse); choose one: {prop.flag(best.values)} or {prop.flag(rival.values)} (if "
                    "neither is the author's net, load it into its class with --model-class MODULE:CLASS)"
                    + (f"; {prop.tie_hint}" if prop.tie_hint else "")
                    + favoured_hint(favoured, contest)
                )
            source = f"batchnorm statistics, margin {ratio:.3g}" if ratio < 1e6 else "batchnorm statistics, margin >1e6"
            caveat = (prop.caveats or {}).get(best.values[prop.name])
            if caveat:
                source, flag = f"assumed: {caveat[0]} ({source})", caveat[1]
            elif best.unusual > rival.unusual == 0 and prop.name == "geometry":
                # Dropout between stages inflates the running variances the way a cropping padding does: a 32-px
                # DCGAN with Dropout(0.25) was "decided" at 28 px, margin 3-7 (an outside audit)
                source = (
                    f"assumed: the unusual reading that fits the statistics best ({source}), over the usual "
                    f"{fmt(prop.shown(rival.values))}; Dropout between stages, which a state dict does not record, "
                    "makes unusual readings fit better"
                )
                flag = prop.flag(rival.values)
            elif ratio < DECIDED_RATIO:
                source, flag = weak_margin(ratio, fmt(prop.shown(rival.values))), prop.flag(rival.values)
                runner_up = next_reading(candidates, prop, best, rival)
                if runner_up is not None:  # a LeakyReLU(0.1) net read as relu named only leaky_relu (0.2), 0.54 off
                    flag = f"{flag} (or {prop.flag(runner_up.values)})"  # (an outside fuzzer, case 279)
        decisions.append(decision(prop.name, prop.shown(best.values), source, flag))
    return best.values, decisions


def strongly_favoured(contest: Contest, best: Candidate) -> bool:
    """Whether an unusual rival fits `DECIDED_RATIO` times better than the best where the two differ: evidence the
    whole-net penalty for unusual readings (`Candidate.penalised`) outweighed, not noise. Not for the geometry, whose
    unusual readings fit better where a net's Dropout or lagging statistics inflate the variances (real-size InfoGAN
    and WGAN-GP nets read right by the usual geometry were 3-5x worse there)."""
    return (
        contest.prop.name != "geometry"
        and not contest.tie
        and contest.rival.unusual > best.unusual
        and contest.theirs * DECIDED_RATIO <= contest.ours
        and contest.ours > 0
    )


def favoured_hint(favoured: list[Contest], refused: Contest) -> str:
    """For a refusal of one property, the unusual readings of others that the statistics favour strongly: the
    refused property was scored under the usual ones, and may be decided once they are given (an outside audit: a
    Keras-default port's geometry was refused, while its LeakyReLU(0.3) and eps 1e-3 given decided it)."""
    others = [c for c in favoured if c.prop.name != refused.prop.name]
    if not others:
        return ""
    flags = " ".join(c.prop.flag(c.rival.values) for c in others)
    return (
        f"; the statistics favour unusual readings of other properties ({flags}), under which it was not scored: "
        "give them too if they are the author's"
    )


def next_reading(candidates: list[Candidate], prop: Property, best: Candidate, rival: Candidate) -> Optional[Candidate]:
    """The best candidate with a third value of `prop`, where it fits within DECIDED_RATIO of the best: an outside
    audit's Keras port (LeakyReLU 0.3) was announced naming only mish, which fit a little better on its tiny net."""
    taken = (best.values[prop.name], rival.values[prop.name])
    others = [c for c in candidates if c.values[prop.name] not in taken]
    if not others:
        return None
    third = min(others, key=lambda c: (c.penalised, c.rank))
    return third if third.penalised <= best.penalised * DECIDED_RATIO else None


def weak_margin(ratio: float, rival: str) -> str:
    """The source of a pick the statistics favour by less than DECIDED_RATIO."""
    return (
        f"assumed: the best fit of the BatchNorm statistics, but {rival} fits only {ratio:.2f}x worse (a decision "
        f"needs {DECIDED_RATIO:g}x; Dropout, or a checkpoint saved early in training, blurs the statistics)"
    )


def fmt(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value)) or "none"  # an empty tuple option: --option conv2d_stages=none
    return str(value)


def probe_inputs(nz: int, n_classes: int, n: int, seed: int = 0) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
    """The probe batch: z ~ N(0, I) (N, nz) and one-hot labels cycling over the classes (N, K) or None."""
    z = torch.randn(n, nz, generator=torch.Generator().manual_seed(seed))
    d = torch.eye(n_classes)[torch.arange(n) % n_classes] if n_classes else None
    return z, d


# Negative slopes of LeakyReLU beside the usual relu (0) and leaky_relu (0.2): PyTorch's default 0.01, 0.1, and
# Keras's default 0.3. Each is an unusual choice: it must fit the statistics MIN_RATIO times better than relu or
# leaky_relu to be taken. Statistics cannot tell 0 from 0.01 (the probe batch's noise is larger than the
# difference), so a net with slope 0.01 loads as relu with that assumption announced; one with an untried slope
# (0.05) fits two neighbours alike and is refused, naming both.
UNUSUAL_SLOPES = ("leaky_relu:0.01", "leaky_relu:0.1", "leaky_relu:0.3")
# Smooth activations of newer generators: under BatchNorm statistics they pass for a leaky ReLU (an outside audit:
# GELU, CELU and Mish nets "decided" as leaky_relu at margins 4-9, one of them at another image size), so they are
# candidates themselves, unusual ones (taken only when they fit 1.5x better than the usual choices). A hidden Tanh
# (older nets) read as SiLU, images 1.06 off, so it is one too.
SMOOTH_ACTIVATIONS = ("gelu", "silu", "elu", "mish", "tanh")
# BatchNorm eps of other codebases: Keras's BatchNormalization (1e-3, every TF port) and 1e-4 (BigGAN, some ports).
# With only the adapters' usual two as candidates, an outside audit saw 1e-3 nets "decided" as 1e-5 at margin 1e4
# (the margin against 0.8), images 0.002-0.08 off; as unusual candidates they are taken only when they fit 1.5x
# better, and otherwise named beside the usual one.
UNUSUAL_EPSILONS = (1e-3, 1e-4)
EPS_VISIBLE = 0.005  # the least change of a BatchNorm's scale, sqrt((var + eps) / (var + 1e-5)) - 1, worth a candidate


def visible_epsilons(state_dict: Mapping[str, torch.Tensor]) -> tuple[float, ...]:
    """The unusual eps values that change the scale of a tenth of some layer's channels by EPS_VISIBLE or more: against
    larger running variances they change no image visibly, and the statistics cannot tell them from 1e-5 either
    (tested nets would announce a meaningless 1e-4)."""
    variances = [v.float().flatten() for k, v in state_dict.items() if k.endswith("running_var") and v.numel()]
    if not variances:
        return ()
    # Layer by layer: pooled, a wide head's large variances hid the small ones of the last stages, where 1e-3 moved
    # the images 0.011 (an outside fuzzer: "decided" as 1e-5 at margin 466, 1e-3 never tried).
    lows = [float(torch.quantile(v, 0.1)) for v in variances]
    return tuple(
        eps for eps in UNUSUAL_EPSILONS if any(((low + eps) / (low + 1e-5)) ** 0.5 - 1 >= EPS_VISIBLE for low in lows)
    )


# No nonlinearity between layers fits the statistics of a self-normalising activation too: SELU keeps BatchNorm's
# output at mean 0, variance 1, as the identity does. A generator without a nonlinearity is rare; SELU is not, nor is
# Dropout after a ReLU, whose training-mode scaling inflates the variances a ReLU would halve (an outside audit: a
# DCGAN with Dropout(0.5) after each ReLU read as `none`, 1.64 off, the usual ReLU not named).
LINEAR_CAVEAT = (
    "the BatchNorm statistics fit no nonlinearity between layers, as they would a self-normalising one (SELU), "
    "which ganinv does not model, or a ReLU followed by Dropout, which a state dict does not record",
    "--option activation=relu (a ReLU with Dropout; Dropout is off when sampling), or --model-class MODULE:CLASS "
    "(the author's own class)",
)


def no_normalisation() -> dict[str, Any]:
    """The decision for a net whose file holds no normalisation layer: a parameter-free one would leave none."""
    return decision(
        "normalisation",
        "none",
        "assumed: none between layers, as the file holds none; a parameter-free one (InstanceNorm, GroupNorm or "
        "LayerNorm without affine) leaves nothing in a state dict",
        "--model-class MODULE:CLASS (the author's own class)",
    )


def activation_and_eps(
    given: Mapping[str, Any],
    values: Mapping[str, Any],
    activations: Sequence[str],
    epsilons: Sequence[float],
    normed: bool,
    activation_convention: str,
    eps_convention: str,
    unusual_epsilons: Sequence[float] = (),
) -> list[Property]:
    """What every normalised generator leaves to its statistics: the activation between layers (the usual
    `activations` and the unusual leaky slopes) and the BatchNorm eps (the usual `epsilons` and the
    `unusual_epsilons` that are visible, `visible_epsilons`). One candidate when the user gave it (and for eps, when
    nothing is normalised, so nothing can tell)."""
    candidates = tuple(activations) + UNUSUAL_SLOPES + SMOOTH_ACTIVATIONS if normed else tuple(activations)
    return [
        Property(
            "activation",
            (values["activation"],) if "activation" in given else candidates,
            activation_convention,
            option_flag("activation"),
            usual=tuple(activations),
            caveats={"none": LINEAR_CAVEAT},
            untried=() if normed or "activation" in given else UNUSUAL_SLOPES + SMOOTH_ACTIVATIONS,
        ),
        Property(
            "norm_eps",
            (
                (float(values.get("norm_eps", epsilons[0])),)
                if "norm_eps" in given or not normed
                else tuple(epsilons) + tuple(unusual_epsilons)
            ),
            eps_convention,
            option_flag("norm_eps"),
            usual=tuple(epsilons),
        ),
    ]


def label_order(options: Any, given: Mapping[str, Any], first_by_convention: bool, convention: str) -> list[Property]:
    """Whether a label vector goes before or after z, for generators that concatenate one (else nothing to decide)."""
    if not (options.n_classes and options.condition in ("embedding", "onehot")):
        return []
    order = (True, False) if first_by_convention else (False, True)
    return [
        Property(
            "condition_first",
            (bool(options.condition_first),) if "condition_first" in given else order,
            convention,
            option_flag("condition_first"),
            tie_hint="" if "nc" in given else "or InfoGAN's continuous codes lie beside the label: --option nc=N",
        )
    ]


def initial_statistics(state_dict: Mapping[str, torch.Tensor]) -> bool:
    """Every BatchNorm's running statistics are still the initial mean 0, variance 1 (a net never run in training
    mode, or an EMA copy whose buffers were never updated): they tell nothing."""
    means = [v for k, v in state_dict.items() if k.endswith("running_mean")]
    variances = [v for k, v in state_dict.items() if k.endswith("running_var")]
    return bool(means) and all(bool((m == 0).all()) for m in means) and all(bool((v == 1).all()) for v in variances)


def check_statistics_informative(state_dict: Mapping[str, torch.Tensor], what: str, options: str) -> None:
    """Refuse to identify anything from statistics that are still the initial ones, saying what to give instead."""
    if initial_statistics(state_dict):  # the layout is this adapter's; its details cannot be decided
        raise AmbiguousWeightsError(
            f"every BatchNorm of this {what} still holds its initial running statistics (mean 0, variance 1; an "
            "EMA copy whose buffers were never updated?), so they cannot tell what the weights do not store; load "
            f"the trained weights beside it (FILE#KEY, e.g. #g instead of #g_ema), or give {options}"
        )


def identify_from_statistics(
    base: Any,
    properties: Sequence[Property],
    make_net: Callable[[Any], nn.Module],
    misfits: Callable[[Any], tuple[float, ...]],
    weights: Mapping[str, torch.Tensor],
    arch: str,
    what: str,
) -> tuple[dict[str, Any], list]:
    """Build the net for every combination of the properties' candidates, load the weights, score its BatchNorm
    statistics on a probe batch, and identify the combination (see `identify` for the margin and refusals)."""
    if any(p.values is not None and len(p.values) > 1 for p in properties):
        check_statistics_informative(weights, what, "--option activation=... --option norm_eps=...")

    def score(combo: dict[str, Any]) -> list[Candidate]:
        opts = dataclasses.replace(base, **combo)
        net = make_net(opts)
        load_weights(net, weights, arch, opts)
        return [Candidate({}, misfits(net.eval()))]

    return identify(search(properties, score), properties, what)


def normalise_as_in_training(y: torch.Tensor, norm: nn.Module, misfits: list[float]) -> torch.Tensor:
    """At a BatchNorm: record how far the probe batch's statistics of `y` are from the layer's running ones, then
    normalise `y` by its own batch statistics, as training did. Any other layer passes `y` through."""
    if not isinstance(norm, nn.modules.batchnorm._BatchNorm):
        return y
    misfits.append(bn_discrepancy(y, norm))
    return nn.functional.batch_norm(y, None, None, norm.weight, norm.bias, True, 0.0, norm.eps)


PRIOR_PROBES = {  # how each native prior draws the probe batch's z
    "normal": lambda n, nz, g: torch.randn(n, nz, generator=g),
    "uniform": lambda n, nz, g: torch.rand(n, nz, generator=g) * 2 - 1,
    "uniform01": lambda n, nz, g: torch.rand(n, nz, generator=g),  # torch.rand latents, as some code samples them
}
PRIOR_SPECS = {
    "normal": ("normal", (-1.0, 1.0)),
    "uniform": ("uniform", (-1.0, 1.0)),
    "uniform01": ("uniform", (0.0, 1.0)),
}
PRIOR_FLAGS = {"normal": "normal", "uniform": "uniform:-1,1", "uniform01": "uniform:0,1"}  # --prior VALUE
# The first BatchNorm sees z through a linear map: it reads z's mean and variance, never its family. A prior none of
# the usual ones fits while the same family at another scale fits this many times better is refused, naming
# truncation and scale: a net trained on N(0, 1) truncated to [-2, 2] loaded as N(0, 1), 0.69 off (an outside audit).
PRIOR_FLOOR = 0.012  # the first BatchNorm misfit the author's own nets stay under (see POOR_FIT): no verdict below
# and the misfit the scale must explain: N(0, 1) truncated to [-2, 2] read as N(0, 1) leaves 0.033 (a variance 0.77
# of 1); the noise of statistics from one batch of 16 left 0.014 that a scale of 1.1 explained (its prior N(0, 1))
PRIOR_SCALE_GAIN = 0.02
# A latent scale beyond this is read as statistics that lag the weights before a prior's (truncation shrinks the
# variance; a prior twice N(0, I) is seen, five times is the lag of a checkpoint saved early in training)
PLAUSIBLE_PRIOR_SCALE = 2.5


def prior_parts(prior: str) -> tuple[str, tuple[float, float], float]:
    """(family, bounds, scale) of a `prior` option: a usual one (PRIOR_SPECS's names), or the user's own as
    `prior_option` writes it, e.g. "truncated_normal:-2,2" or "normal*0.5"."""
    if prior in PRIOR_SPECS:
        return PRIOR_SPECS[prior][0], PRIOR_SPECS[prior][1], 1.0
    try:
        body, _, scale = prior.partition("*")
        kind, _, bounds = body.partition(":")
        lo, hi = (float(b) for b in bounds.split(",")) if bounds else (-1.0, 1.0)
        parts = (kind, (lo, hi), float(scale) if scale else 1.0)
    except ValueError:
        parts = ("", (0.0, 0.0), 0.0)
    kind, (lo, hi), factor = parts
    if kind not in ("normal", "uniform", "truncated_normal") or not lo < hi or not factor > 0:
        raise ArchitectureError(
            f"prior must be one of {', '.join(PRIOR_SPECS)}, or FAMILY[:LO,HI][*SCALE] (e.g. truncated_normal:-2,2), "
            f"got {prior!r}"
        )
    return parts


def prior_option(kind: str, bounds: tuple[float, float], scale: float) -> str:
    """The `prior` option of a native prior: its usual name where it has one, else FAMILY[:LO,HI][*SCALE]."""
    for name, (native, native_bounds) in PRIOR_SPECS.items():
        if scale == 1.0 and kind == native and (native == "normal" or bounds == native_bounds):
            return name
    body = kind if kind == "normal" else "{}:{:g},{:g}".format(kind, *bounds)
    return body if scale == 1.0 else f"{body}*{scale:g}"


def prior_probe(prior: str) -> Callable[[int, int, torch.Generator], torch.Tensor]:
    """How the native prior `prior` draws the probe batch's z: as the generator maps its N(0, I) latents to it."""
    if prior in PRIOR_PROBES:
        return PRIOR_PROBES[prior]
    kind, bounds, scale = prior_parts(prior)

    def draw(n: int, nz: int, g: torch.Generator) -> torch.Tensor:
        return native_from_standard(torch.randn(n, nz, generator=g), kind, bounds, scale)

    return draw


def prior_mean(prior: str) -> float:
    """The mean of one coordinate of z under `prior` (where a one-hot label's inputs stand out from the latents')."""
    if prior in PRIOR_MEANS:
        return PRIOR_MEANS[prior]
    return float(prior_probe(prior)(4096, 1, torch.Generator().manual_seed(0)).mean())


def prior_from_spec(spec: Mapping[str, Any], any_prior: bool = False) -> dict[str, Any]:
    """The `prior` option that the user's --prior (spec fields native_prior, native_prior_range and
    native_prior_scale) names: the option is then the user's, not read from the BatchNorm statistics, and the probes
    draw from it. An architecture without `any_prior` takes only PRIOR_SPECS's priors at scale 1."""
    kind, scale = spec.get("native_prior"), float(spec.get("native_prior_scale") or 1.0)
    if not any_prior:  # these probe with the usual priors alone: the family and bounds name one, the scale is the
        scale = 1.0  # spec's
    if kind is None and scale == 1.0:
        return {}
    bounds = tuple(float(b) for b in spec.get("native_prior_range") or (-1.0, 1.0))
    prior = prior_option(str(kind or "normal"), (bounds[0], bounds[-1]), scale)
    if prior in PRIOR_SPECS or any_prior:
        return {"prior": prior}
    return {}  # another prior: the spec override sets it; the option stays what the statistics read


def prior_scale_check(name: str, misfit_at: Callable[[float], float], prior: str, misfit: float) -> None:
    """Refuse where the usual prior `prior`, the best (its first BatchNorm `misfit`), fits poorly and N(0, I) latents
    times some scale fit DECIDED_RATIO times better, by PRIOR_SCALE_GAIN at least: the statistics read z's variance,
    and it is no usual prior's, as a truncated or scaled prior's is not. `misfit_at(s)`: the first BatchNorm's misfit
    with N(0, I) probes times s."""
    if misfit <= PRIOR_FLOOR:
        return
    lo, hi = math.log(0.02), math.log(20.0)  # golden section over log s: the misfit has one minimum in the scale
    golden = (math.sqrt(5) - 1) / 2
    for _ in range(25):
        a, b = hi - golden * (hi - lo), lo + golden * (hi - lo)
        if misfit_at(math.exp(a)) < misfit_at(math.exp(b)):
            hi = b
        else:
            lo = a
    scale = math.exp((lo + hi) / 2)
    scaled = misfit_at(scale)
    if misfit < DECIDED_RATIO * scaled or misfit - scaled < PRIOR_SCALE_GAIN:
        return
    read = (
        f"the first BatchNorm of this {name} generator fits none of the usual latent priors (the best, "
        f"{PRIOR_FLAGS[prior]}, misfits {misfit:.3g}; the author's under {PRIOR_FLOOR:g}), but N(0, I) latents times "
        f"{scale:.2g} fit it {misfit / max(scaled, 1e-12):.3g}x better. "
    )
    lag = (
        "running statistics lag its weights (a checkpoint saved early in training, whose averages still hold their "
        "initial values): then no prior makes the author's net, and every other reading of the statistics is off too; "
        "load it with its own class (--model-class MODULE:CLASS) or a module:callable, or give a later checkpoint"
    )
    prior_flags = (
        f"pass the author's prior, --prior truncated_normal:LO,HI (e.g. -2,2), or --prior normal --option "
        f"spec.native_prior_scale={scale:.2g} (the statistics read the latents' variance, not which of these)"
    )
    if scale > PLAUSIBLE_PRIOR_SCALE:  # latents 4.9x N(0, I): the signature of lag, whose flag loaded a net with
        # no activation, 1.1 off the author's (an outside audit)
        raise AmbiguousWeightsError(
            f"{read}A scale so far above 1 is no truncated or scaled prior's: more likely its {lag}. Only if its "
            f"latents really were N(0, {scale:.2g}^2): --prior normal --option spec.native_prior_scale={scale:.2g}"
        )
    raise AmbiguousWeightsError(f"{read}Either its latents were truncated or scaled: {prior_flags}. Or its {lag}")


def onehot_condition() -> dict[str, Any]:
    """The decision for a class count given for a file with no label embedding: the one-hot label itself enters."""
    return decision(
        "condition",
        "onehot",
        "weights: no label embedding, so the one-hot label is concatenated to z",
        "--option condition=onehot",
    )


class PriorFromSpec:
    """Mixin of the architectures with a `prior` option (PRIOR_SPECS's names): the user's --prior sets it. Where the
    Options class says `any_prior`, any prior the user gives (family, bounds, scale) is its option."""

    def options_from_spec(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        return prior_from_spec(spec, bool(getattr(getattr(self, "Options", None), "any_prior", False)))


def prior_decision(first_misfits: dict[str, float], values: dict[str, Any]):
    """The latent prior by the misfit, under each of PRIOR_PROBES, of the first BatchNorm, the one that sees z through
    a linear layer alone (its running mean and variance are those of z, e.g. 0 and 1 for N(0, I), 0 and 1/3 for
    U(-1, 1), 1/2 and 1/12 for U(0, 1), through the weights); sets `values["prior"]`."""
    best, other = sorted(first_misfits, key=lambda name: first_misfits[name])[:2]
    ratio = first_misfits[other] / first_misfits[best] if first_misfits[best] > 0 else float("inf")
    if ratio < MIN_RATIO:
        rival = best if best != "normal" else other
        values["prior"] = "normal"
        as_well = first_misfits["normal"] / first_misfits[rival] if first_misfits[rival] > 0 else 1.0
        return decision(
            "prior",
            "normal",
            f"assumed: N(0, I) latents; the first BatchNorm fits {PRIOR_FLAGS[rival]} {as_well:.2f}x as well",
            f"--prior {PRIOR_FLAGS[rival]}",
        )
    values["prior"] = best
    shown, flag = PRIOR_FLAGS[best], f"--prior {PRIOR_FLAGS[other]}"
    if ratio < DECIDED_RATIO:
        return decision("prior", shown, weak_margin(ratio, PRIOR_FLAGS[other]), flag)
    margin = f"{ratio:.3g}" if ratio < 1e6 else ">1e6"
    # the margin is over the usual priors: the statistics read z's mean and variance, not its family
    said = (
        f"batchnorm statistics, margin {margin} over {PRIOR_FLAGS[other]}; a truncated prior of its variance fits alike"
    )
    return decision("prior", shown, said, flag)


# ---- a one-hot label among the first layer's inputs, read off the first BatchNorm's running means -------------
MAX_CODES = 4  # continuous codes tried beside a one-hot label (InfoGAN: 2 on MNIST, up to 4 in its paper)

PRIOR_MEANS = {"normal": 0.0, "uniform": 0.0, "uniform01": 0.5}
SIGNIFICANT = 6.0  # standard errors by which "a one-hot label there" must fit the inputs' means better than "latents"


@torch.no_grad()  # the linear map may be a module's layer: a float() of a tensor requiring grad warns (torch)
def input_means(
    linear: Callable[[torch.Tensor], list[torch.Tensor]], norm: nn.modules.batchnorm._BatchNorm, width: int
) -> Optional[torch.Tensor]:
    """The means of the first layer's `width` inputs over the batches its BatchNorm saw. Each batch mean of y = A x + b
    is A (the batch's mean of x) + b, so the running mean is A m + b exactly, whatever the inputs' distribution: with
    more channels than inputs, m is a least-squares solve (the reading of the geometry with no residual). None with
    fewer channels than inputs."""
    basis = torch.cat([torch.zeros(1, width), torch.eye(width)])  # (1 + n, n): b, then b + each column of A
    best: Optional[tuple[float, torch.Tensor]] = None
    for y in linear(basis):  # one per reading of the geometry
        y = y.double().flatten(2).mean(2) if y.dim() > 2 else y.double()  # (1 + n, C): means over positions
        mean = cast(torch.Tensor, norm.running_mean)
        a, target = (y[1:] - y[0]).T, mean.double() - y[0]  # (C, n), (C,)
        if a.shape[0] <= a.shape[1]:
            continue
        means = torch.linalg.lstsq(a, target[:, None]).solution[:, 0]
        residual = float((target - a @ means).norm())
        if best is None or residual < best[0]:
            best = (residual, means)
    return None if best is None else best[1]


def one_hot_run(means: torch.Tensor, prior_mean: float, k: Optional[int] = None) -> Optional[tuple[int, int]]:
    """(start, K) of a run of K inputs whose means are a one-hot label's (1/K each) while the rest have the prior's,
    where that fits SIGNIFICANT standard errors better than latents alone; else None. The standard error is the
    spread of the other inputs' means (their median distance from the prior's mean): sampling noise of the batches.
    Measured outside the run: a label of 5 among 13 inputs inflated a median taken over all of them, and the label
    went unread (an outside audit's fuzzer)."""
    off = means - prior_mean
    n = len(means)
    best: Optional[tuple[float, int, int]] = None
    for size in (k,) if k else range(2, n // 2 + 1):
        if not 2 <= size < n:
            continue
        gains = off.square() - (means - 1 / size).square()  # (n,): each input's fit, label over latent
        window = gains.unfold(0, size, 1).sum(1)  # (n - size + 1,)
        start = int(window.argmax())
        rest = torch.cat([off[:start], off[start + size :]])
        scale = max(1.4826 * float(rest.abs().median()), 1e-6)
        score = float(window[start]) / scale**2
        run = means[start : start + size]
        label = abs(float(run.sum()) - 1) <= 0.25 and bool(((run > 0.5 / size) & (run < 2 / size)).all())
        if label and score >= SIGNIFICANT**2 and (best is None or score > best[0]):  # among runs that are labels: a
            # run one latent longer can score higher (a smaller noise scale) and fail as a label (an outside fuzzer)
            best = (score, start, size)
    return None if best is None else (best[1], best[2])


def refuse_unnamed_label(name: str, means: Optional[torch.Tensor], prior_mean: float) -> None:
    """Refuse an unconditional reading where a run of the first layer's inputs has the means of a one-hot label:
    loading the label as latent noise makes images the generator never makes (a real-size InfoGAN given no options
    loaded so, its statistics' misfit under the warning's bar)."""
    found = one_hot_run(means, prior_mean) if means is not None else None
    if means is None or found is None:
        return
    start, k = found
    run, after = means[start : start + k], len(means) - start - k
    flags = f"--option n_classes={k}"
    codes = codes_beside(start, after)
    if codes is not None:
        flags += f" --option nc={codes[0]} --option input_order={codes[1]}"
    elif not after:
        flags += " --option condition_first=False"
    elif not start:
        flags += " --option condition_first=True"
    raise AmbiguousWeightsError(
        f"the first BatchNorm of this {name} generator says its inputs {start + 1}-{start + k} (of {len(means)}) have "
        f"means {float(run.min()):.2f}-{float(run.max()):.2f}, summing to {float(run.sum()):.2f}, as a one-hot label "
        f"of {k} classes has, where the others have the latent prior's {prior_mean:g}: read as latent noise, they "
        f"would give images the generator never makes; pass {flags}"
    )


def unnamed_label(
    name: str,
    linear: Callable[[torch.Tensor], list[torch.Tensor]],
    norm: nn.modules.batchnorm._BatchNorm,
    width: int,
    prior_mean: Optional[float] = None,
) -> list[dict[str, Any]]:
    """For a generator read as taking latents alone: refuse it where the first BatchNorm's running means show a
    one-hot label among the `width` inputs of the first linear map (`refuse_unnamed_label`), and where that BatchNorm
    has too few channels to show it, announce that every input was read as noise. Shared by every family: an outside
    audit's fuzzer loaded labels as noise in silence in the fully connected and DCGAN families (1.5-1.7 off).
    `prior_mean`: the latents' mean under the prior read; None, before it is read: the nearest to the inputs' median."""
    means = input_means(linear, norm, width)
    if prior_mean is None and means is not None:  # before the prior is read: the one the inputs' median mean is near
        prior_mean = min(set(PRIOR_MEANS.values()), key=lambda m: abs(float(means.median()) - m))
    refuse_unnamed_label(name, means, prior_mean or 0.0)
    if means is not None:
        return []
    channels = len(cast(torch.Tensor, norm.running_mean))
    return [unread_inputs(width, f"the first BatchNorm has {channels} channels for {width} inputs, too few to show")]


def unread_inputs(width: int, why: str) -> dict[str, Any]:
    """The decision that all `width` inputs were read as latent noise where no statistic can show a one-hot label or
    codes among them (`why`, e.g. "no BatchNorm sees the inputs through one linear map, so nothing shows")."""
    return decision(
        "inputs",
        f"{width} latents",
        f"assumed: every input is latent noise; {why} whether some are a one-hot label or codes (InfoGAN's)",
        "--option n_classes=K (--option nc=N for codes)",
    )


NO_LINEAR_VIEW = "no BatchNorm sees the inputs through one linear map, so nothing shows"


def codes_beside(start: int, after: int) -> Optional[tuple[int, str]]:
    """(nc, input order) for a one-hot label with `start` inputs before it and `after` after: between z and InfoGAN's
    codes, the shorter side (at most MAX_CODES) is the codes; None for a label at either end or between long sides."""
    if not (start and after and min(start, after) <= MAX_CODES):
        return None
    return (after, "zdc") if after <= start else (start, "cdz")


# ---- a label embedding as wide as z: multiplying it (PyTorch-GAN acgan), or never used (PyTorch-GAN sgan) ----------
UNUSED_EMBEDDING = "some codebases define a label embedding they never use (PyTorch-GAN sgan's generator)"
Z_ALONE = "z alone (the embedding unused)"
MULTIPLIES = "multiplies z"


@torch.no_grad()
def label_fits(
    linear: Callable[[torch.Tensor], list[torch.Tensor]],
    norm: nn.modules.batchnorm._BatchNorm,
    embedding: torch.Tensor,
    n: int = 1024,
) -> tuple[float, float]:
    """(misfit of z times the label embedding (K, nz), misfit of z alone) at the first BatchNorm, which sees the
    inputs through the linear map alone; each at its best latent prior and reading of the map (the prior is read
    later, with the inputs settled). An embedding at its N(0, 1) init gives z * e about the variance of z: the two
    fit alike, and `label_use` says so."""
    k, nz = embedding.shape
    label = torch.eye(k)[torch.arange(n) % k] @ embedding.detach().float()  # (n, nz): the classes in turn
    draws = [draw(n, nz, torch.Generator().manual_seed(0)) for draw in PRIOR_PROBES.values()]
    times_label, alone = (
        min(bn_discrepancy(y, norm) for z in draws for y in linear(z * label if multiplied else z))
        for multiplied in (True, False)
    )
    return times_label, alone


def label_use(
    name: str, fits: Optional[tuple[float, float]], why_unseen: str, count_given: int
) -> tuple[bool, dict[str, Any]]:
    """(whether a label embedding as wide as z multiplies z, the decision) from `label_fits` (None where no statistic
    sees the inputs: `why_unseen` says why). PyTorch-GAN's sgan defines `label_emb` and never uses it: read as acgan's
    label multiplying z, it loaded 0.77 off in silence (an outside audit). The embedding is taken as unused only where
    z alone fits DECIDED_RATIO times better; else it multiplies z (why the file holds it), announced where the
    statistics do not decide it (an untrained acgan's fit z alone 1.2x better). `count_given` (a class count from the
    user or a config, which may be a discriminator's, as sgan's `num_classes`) against a clear unused is refused."""
    on, off = "--option condition=multiply", "--option n_classes=0"
    if fits is None:
        said = f"assumed: the label embedding multiplies z (PyTorch-GAN acgan); {why_unseen}, and {UNUSED_EMBEDDING}"
        return True, decision("label_embedding", MULTIPLIES, said, off)
    times_label, alone = fits
    ratio = max(fits) / min(fits) if min(fits) > 0 else float("inf")
    margin = f"{ratio:.3g}" if ratio < 1e6 else ">1e6"
    if ratio >= DECIDED_RATIO and alone < times_label:
        if count_given:
            raise ArchitectureError(
                f"n_classes={count_given} reads this {name} generator's label embedding as multiplying z, but its "
                f"first BatchNorm fits z alone {margin}x better: the generator never uses the embedding, as "
                "PyTorch-GAN sgan's never does (its num_classes is its discriminator's); drop n_classes (--option "
                f"n_classes=0), or pass {on} if the embedding does multiply z"
            )
        return False, decision("label_embedding", "unused", f"batchnorm statistics, margin {margin}", on)
    if ratio >= DECIDED_RATIO:
        return True, decision("label_embedding", MULTIPLIES, f"batchnorm statistics, margin {margin}", off)
    if times_label <= alone:
        said = weak_margin(ratio, Z_ALONE)
    else:
        said = (
            f"assumed: the label embedding multiplies z (PyTorch-GAN acgan), though {Z_ALONE} fits the first "
            f"BatchNorm {ratio:.2f}x better (a decision needs {DECIDED_RATIO:g}x)"
        )
    return True, decision("label_embedding", MULTIPLIES, f"{said}; {UNUSED_EMBEDDING}", off)
