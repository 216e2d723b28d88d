"""Identifying what a state dict does not store: every combination of candidate property values is scored by its
BatchNorm misfits, and the best taken when it wins by a clear margin (else the user is asked, or the pick is
announced as assumed)."""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional, Sequence

import torch
from torch import nn

from ganinv.architectures import AmbiguousWeightsError, decision, load_weights
from ganinv.errors import ArchitectureError
from ganinv.status import CountedProgress
from ganinv.weight_files import AUTHOR_MISFIT, early_batches

from .batchnorm import check_statistics_informative

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
# whose running averages lag its weights). 3x was not enough: an outside fuzzer (39a) found activations "decided"
# wrong at 3.05 and 3.17 on nets saved early in training, and right ones as low as 3.04.
DECIDED_RATIO = 4.0
# Where the weights look saved early in training (`ganinv.weight_files.early_batches`), a pick the
# statistics favour by less than this is an assumption: lagging averages gave a wrong activation 4.02-4.24x (an outside
# audit); no lag seen gave a wrong reading 100x.
EARLY_DECIDED_RATIO = 100.0
# ... and only where the statistics show the lag: the best reading misfits them by more than an author's net does
# (ganinv.weight_files.AUTHOR_MISFIT) at some layer (exact statistics of few batches do not: a review).
# A third reading is named beside a weak pick's rival where it fits within this of the best (`next_reading`); kept
# at 3x when DECIDED_RATIO rose to 4: the bounded search prunes such readings beyond the best's rivals, so a wider
# window named one the full search found and the bounded one had dropped.
THIRD_READING_RATIO = 3.0
# Two candidates whose misfits differ by less than this (relative) changed no statistic: a tie.
TIE = 1e-9


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
    # value -> values whose nets are so alike that statistics of a briefly trained net rank them loosely: named
    # beside it where it is named as a rival
    twins: Optional[Mapping[Any, Sequence[Any]]] = None
    # unusual values rarer still, counted as two unusual choices: they must fit MIN_RATIO better than the plain
    # unusual ones too (bilinear upsampling with aligned corners against bilinear: tiny nets' statistics tell them
    # apart by 1.45x, and, both merely unusual, that was a refusal where bilinear had loaded exactly: a review, 56a)
    rarer: Sequence[Any] = ()
    # what lies between or beyond its candidates, named where the pick is an assumption: a LeakyReLU(0.05) read as
    # 0.1 was told relu or 0.01, neither the author's; a Hardswish net, silu or mish, and never --model-class (57a)
    beyond: str = ""

    def shown(self, values: dict[str, Any]) -> Any:
        return self.show(values) if self.show else values[self.name]


def option_flag(name: str) -> Callable[[dict], str]:
    return lambda values: f"--option {name}={fmt(values[name])}"


def unusual_choices(properties: Sequence[Property], values: Mapping[str, Any]) -> int:
    """How many unusual choices `values` make: one per property off its usual values, two for its rarer ones."""
    return sum(
        1 + (values[p.name] in p.rarer)
        for p in properties
        if p.usual is not None and p.name in values and values[p.name] not in p.usual
    )


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
        unusual = unusual_choices(properties, values)
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

    Such a candidate could become the best, the rival of a property it holds another value of than
    the best so far (any property its scorer chooses, such as the geometry), or a third reading
    named in the advice, within THIRD_READING_RATIO of the best (a bound of the best and rivals
    alone dropped it: the review 56a). With such a property still without a rival, nothing is ruled
    out. (A later, better best keeps the bound valid: for a property on which it differs from the
    old best, the old best is a rival that fits better than the bound.)
    """
    if not candidates:
        return float("inf")
    best, found = contests(candidates, properties)
    rivals = {c.prop.name: c.rival.penalised for c in found}
    bound = best.penalised * THIRD_READING_RATIO  # a third reading this close is named in the advice (next_reading)
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


def identify(
    candidates: list[Candidate], properties: Sequence[Property], what: str, batches: Optional[int] = None
) -> tuple[dict[str, Any], list]:
    """(chosen values, decisions): the best-fitting candidate, each property with its source and margin.

    The margin of a property is how many times worse the best candidate with another value of
    it fits, counting misfits from the first BatchNorm where the two differ.

    A property whose best alternative fits exactly as well changed no statistic: the
    conventional value is taken and recorded as assumed. One whose alternative fits less than
    `MIN_RATIO` times worse is ambiguous: refused, naming both candidates and their options.
    `batches`: the training batches of weights saved early in training (`early_batches`): every pick under
    EARLY_DECIDED_RATIO is then an assumption, announced with its rivals.
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
                else f"assumed: no statistic tells it from {fmt(prop.shown(rival.values))}"  # the one it ties with
            )
            others += [fmt(v) for v in prop.untried]  # a SiLU MLP without BatchNorm was offered relu|none only
            flag = f"--option {prop.name}={'|'.join(others)}" if others else flag  # (an outside fuzzer)
        elif ratio < MIN_RATIO and rival.unusual > best.unusual:
            flag = rivals_flag(candidates, prop, best, rival)  # how to take the other readings
            comparison = (
                f"{1 / ratio:.2f}x better where the two differ, but not {MIN_RATIO:g}x better over the whole net, "
                "as an unusual choice must"
                if ratio < 1
                else f"only {ratio:.2f}x worse"
            )
            source = (
                f"assumed: {prop.convention if conventional else 'the best fit of the more usual readings'}; the "
                "unusual "
                f"{fmt(prop.shown(rival.values))} fits the BatchNorm statistics {comparison}"
            )
        else:
            if ratio < MIN_RATIO and max(best.misfits, default=0.0) > POOR_FIT:
                # the likely causes first: the readings that "fit about alike" fit badly both, and following the
                # choice between them loaded a net at the wrong side (a Linear head without activation, audit 51a)
                raise AmbiguousWeightsError(
                    f"the BatchNorm statistics of this {what} fit none of its readings well: the best misfits "
                    f"{max(best.misfits):.3g} (the author's net misfits under {POOR_FIT:g}). Check the options given; "
                    "else is it a layer ganinv does not model (BatchNorm after the activation? a Linear head without "
                    "an activation?), or inputs beside z that the options do not give (a one-hot label, InfoGAN "
                    "codes: --option n_classes=K --option nc=N)? Then load it into its class with --model-class "
                    f"MODULE:CLASS. (Of the readings ganinv models, {prop.name} {fmt(prop.shown(best.values))} and "
                    f"{fmt(prop.shown(rival.values))} fit about alike, badly: {prop.flag(best.values)} or "
                    f"{prop.flag(rival.values)})"
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
            elif prop.name == "geometry" and best.unusual and (usual := best_usual(candidates, prop, best)):
                # Dropout between stages inflates the running variances the way a cropping padding does: a 32-px
                # DCGAN with Dropout(0.25) was "decided" at 28 px, margin 3-7 (an outside audit); lagging statistics
                # too, with another unusual reading the runner-up (28 px for a 32-px net, outside fuzzer 39a)
                source = (
                    f"assumed: the unusual reading that fits the statistics best ({source}), over the usual "
                    f"{fmt(prop.shown(usual.values))}; Dropout between stages, which a state dict does not record, "
                    "or a checkpoint saved early in training makes unusual readings fit better"
                )
                flag = prop.flag(usual.values)
            elif ratio < DECIDED_RATIO:
                source, flag = (
                    weak_margin(ratio, fmt(prop.shown(rival.values))),
                    rivals_flag(candidates, prop, best, rival),
                )
            elif batches is not None and ratio < EARLY_DECIDED_RATIO and max(best.misfits, default=0.0) > AUTHOR_MISFIT:
                source = (
                    f"assumed: the best fit of the BatchNorm statistics (margin {ratio:.3g}), but its BatchNorm "
                    f"layers count only {batches} training batches: the running averages of a checkpoint saved this "
                    "early lag its weights, and can favour a wrong reading"
                )
                flag = rivals_flag(candidates, prop, best, rival)
        decisions.append(decision(prop.name, prop.shown(best.values), source, flag))
    return best.values, decisions + stages_disagree(candidates, properties, best)


# A BatchNorm layer's statistics that favour another value of a per-net property this many times over the pick, where
# the pick misfits that layer as no author's net does (AUTHOR_MISFIT), while the whole net favours the pick: the
# stages disagree. Nets with ReLU after the first stage and LeakyReLU(0.2) after the others showed 8 and 19 at their
# last BatchNorm, and loaded 1.4 off with the whole-net misfit under POOR_FIT (an outside audit, 57a); 133 nets of
# one activation and eps throughout (the zoo's layouts, three seeds, and audits' nets) showed at most 3.04 (Hardswish,
# which no adapter builds) and 1.57 otherwise.
STAGES_DISAGREE_RATIO = 5.0
PER_STAGE_PROPERTIES = ("activation", "norm_eps")  # one value for every stage in every adapter


def stages_disagree(candidates: list[Candidate], properties: Sequence[Property], best: Candidate) -> list:
    """An assumption said where one BatchNorm's statistics favour another value of a per-stage property than the
    rest of the net does (`STAGES_DISAGREE_RATIO`): the author's stages may differ, which no adapter builds."""
    worst: Optional[tuple[float, Property, Candidate, int]] = None
    for prop in properties:
        if prop.name not in PER_STAGE_PROPERTIES or prop.values is None or len(prop.values) <= 1:
            continue
        for other in candidates:
            if other.values[prop.name] == best.values[prop.name]:
                continue
            if any(other.values.get(k) != v for k, v in best.values.items() if k != prop.name):
                continue  # differs elsewhere too: not this property's evidence
            for layer, (ours, theirs) in enumerate(zip(best.misfits, other.misfits)):
                if ours > AUTHOR_MISFIT and ours >= STAGES_DISAGREE_RATIO * theirs:
                    ratio = ours / theirs if theirs > 0 else float("inf")
                    if worst is None or ratio > worst[0]:
                        worst = (ratio, prop, other, layer)
    if worst is None:
        return []
    ratio, prop, other, layer = worst
    return [
        decision(
            "stages",
            f"one {prop.name} for every stage",
            f"assumed: the net's, though BatchNorm {layer + 1} of {len(best.misfits)} favours {prop.name} "
            f"{fmt(prop.shown(other.values))} {ratio:.3g}x over {fmt(prop.shown(best.values))}, which the rest of the "
            "net favours: the author's stages may differ (a ReLU first and LeakyReLU after, or an eps per layer), "
            "which ganinv does not build",
            "--model-class MODULE:CLASS (the generator's own class)",
        )
    ]


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


def best_usual(candidates: list[Candidate], prop: Property, best: Candidate) -> Optional[Candidate]:
    """The best-fitting candidate with no unusual choice and another value of `prop`, if any."""
    usual = [c for c in candidates if not c.unusual and c.values[prop.name] != best.values[prop.name]]
    return min(usual, key=lambda c: (c.penalised, c.rank)) if usual else None


def next_reading(candidates: list[Candidate], prop: Property, best: Candidate, rival: Candidate) -> Optional[Candidate]:
    """The best candidate with a third value of `prop`, where it fits within THIRD_READING_RATIO of the best: an outside
    audit's Keras port (LeakyReLU 0.3) was announced naming only mish, which fit a little better on its tiny net."""
    taken = (best.values[prop.name], rival.values[prop.name])
    others = [c for c in candidates if c.values[prop.name] not in taken]
    if not others:
        return None
    third = min(others, key=lambda c: (c.penalised, c.rank))
    return third if third.penalised <= best.penalised * THIRD_READING_RATIO else None


def rivals_flag(candidates: list[Candidate], prop: Property, best: Candidate, rival: Candidate) -> str:
    """The options of the other readings of a pick the statistics do not decide: the rival, a third one that fits
    nearly as well (statistics this close rank the unusual readings loosely: a LeakyReLU(0.1) net read as relu named
    only leaky_relu 0.2, 0.54 off, an outside fuzzer), the usual value (an early ReLU net read as ELU named only
    leaky_relu and none, never relu, an outside audit), and the values no statistic could score (StudioGAN's eps 1e-4,
    read as 1e-5, named only 1e-3, ten times further off: an outside audit)."""
    flag = prop.flag(rival.values)
    named = {best.values[prop.name], rival.values[prop.name]}
    runner_up = next_reading(candidates, prop, best, rival)
    if runner_up is not None:
        flag = f"{flag} (or {prop.flag(runner_up.values)})"
        named.add(runner_up.values[prop.name])
    shown = [best.values[prop.name], rival.values[prop.name]] + ([runner_up.values[prop.name]] if runner_up else [])
    twins = list(dict.fromkeys(t for v in shown for t in (prop.twins or {}).get(v, ()) if t not in named))
    if twins:  # a GELU net, SiLU named as the rival, was never told of GELU (an outside audit, 55a)
        flag = f"{flag} (or its near twin {' or '.join(prop.flag({**best.values, prop.name: t}) for t in twins)})"
        named.update(twins)
    if prop.values and prop.values[0] not in named:
        flag = f"{flag}; the usual: {prop.flag({**best.values, prop.name: prop.values[0]})}"
    unseen = [v for v in prop.untried if v not in named]
    if unseen:
        options = " or ".join(prop.flag({**best.values, prop.name: v}) for v in unseen)
        flag = f"{flag}; too close to tell by the statistics: {options}"
    return f"{flag}; {prop.beyond}" if prop.beyond else flag


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


def identify_from_statistics(
    base: Any,
    properties: Sequence[Property],
    make_net: Callable[[Any], nn.Module],
    misfits: Callable[[Any, float], Optional[tuple[float, ...]]],
    weights: Mapping[str, torch.Tensor],
    arch: str,
    what: str,
) -> tuple[dict[str, Any], list]:
    """Build the net for every combination of the properties' candidates, load the weights, score its BatchNorm
    statistics on a probe batch, and identify the combination (see `identify` for the margin and refusals).

    `misfits(net, bound)` may stop, returning None, once the misfits so far add up to more than `bound`: the search
    is then bounded (`search`), the same pick at a fraction of the probes (the upsample+conv net's four upsampling
    modes doubled its search: an outside audit, 55a)."""
    if any(p.values is not None and len(p.values) > 1 for p in properties):
        check_statistics_informative(weights, what, "--option activation=... --option norm_eps=...")

    def score(combo: dict[str, Any], bound: float = math.inf) -> list[Candidate]:
        opts = dataclasses.replace(base, **combo)
        net = make_net(opts)
        load_weights(net, weights, arch, opts)
        unusual = unusual_choices(properties, combo)
        found = misfits(net.eval(), bound / MIN_RATIO**unusual)  # the bound is on the penalised misfit
        return [] if found is None else [Candidate({}, found)]

    return identify(search(properties, score, bounded=True), properties, what, early_batches(weights))
