"""What a transposed-convolution generator's state dict does not store, identified from its BatchNorm
running statistics (`convt`): the geometry (`convt_geometry`), the activation between stages, the BatchNorm eps,
where the label and InfoGAN codes enter and their prior, and the last layer; then the options an Architecture
(`dcgan`, `wgan_gp`) builds its net from, with what was decided and what was assumed.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from itertools import permutations, product
from typing import Any, Callable, Iterable, Mapping, Optional, cast

import torch
from torch import nn

from ganinv.architectures import DECISIONS, AmbiguousWeightsError, Architecture, decision, load_weights
from ganinv.errors import ArchitectureError
from ganinv.weight_files import state_dict_sha256

# Image sides tried when none is given: the first tier that some geometry reaches, in this order.
from .convt import ConvTNet, ConvTOptions, UpStage, complete, joined_inputs
from .convt_geometry import code_probe, geometry_candidates, geometry_flag, probe_batch, show_steps
from .convt_layout import Layout, first_input_width, read_layout
from .statedict import (
    DECIDED_RATIO,
    MAX_CODES,
    NO_LINEAR_VIEW,
    POOR_FIT,
    POOR_FIT_SAID,
    PRIOR_FLAGS,
    PRIOR_PROBES,
    Candidate,
    Property,
    activation_and_eps,
    bn_discrepancy,
    cached_search,
    check_statistics_informative,
    codes_beside,
    early_batches,
    fmt,
    identify,
    initial_statistics,
    input_means,
    label_fits,
    label_order,
    label_use,
    no_normalisation,
    normalise_as_in_training,
    one_hot_run,
    onehot_condition,
    option_flag,
    prior_decision,
    prior_mean,
    prior_probe,
    prior_scale_check,
    probe_inputs,
    running_statistics,
    unnamed_label,
    unread_inputs,
    visible_epsilons,
)


@dataclass
class KnownGeometry:
    """A public generator whose geometry and last activation are not in its weights, recognised by what is."""

    source: str  # where it comes from
    match: dict[str, Any]  # option values read from the weights that identify it
    options: dict[str, Any]  # what the weights cannot tell


ACTIVATIONS = ("relu", "leaky_relu", "none")  # between stages, most common first


EPSILONS = (1e-5, 0.8)  # BatchNorm eps: PyTorch's default, and PyTorch-GAN's BatchNorm2d(n, 0.8)


def infer_options(
    architecture, state_dict: Mapping[str, torch.Tensor], given: dict[str, Any], known: tuple[KnownGeometry, ...] = ()
) -> dict[str, Any]:
    """Options from the weights (given values win), the rest identified from BatchNorm statistics, with decisions."""
    layout = read_layout(state_dict)
    read = layout.option_values()
    decisions: list[dict[str, Any]] = []
    if read.get("condition") == "multiply":  # used, or held unused: read as the weights' own options
        label, decisions = multiplied_label(architecture.name, layout, given)
        read.update(label)
    elif read.get("n_classes") and "condition" not in given:
        decisions.append(
            decision(
                "condition",
                read["condition"],
                "weights: the label embedding is concatenated to z (narrower than the first layer's input)",
                f"--option condition={read['condition']}",
            )
        )
    values = {**read, **given}
    if given.get("n_classes") and not layout.embed and "condition" not in given:  # no embedding: d itself enters
        values["condition"] = "onehot"
        decisions.append(onehot_condition())
    for geometry in known:
        if all(read.get(k) == v for k, v in geometry.match.items()):
            values = {**read, **geometry.options, **given}
            decisions += [
                decision(k, v, f"weights: {describe_match(geometry)}", f"--option {k}={fmt(v)}")
                for k, v in geometry.options.items()
                if k not in given
            ]
            # as good as given from here on: the search assumed the activation again, and warned the user to doubt
            # what the recognition settled (an outside audit: caogang's gan_mnist, relu "from weights" and "assumed")
            given = {**geometry.options, **given}
    if "nz" not in given:  # the first layer takes z, the one-hot d (not embedded) and the codes c
        onehot = int(values.get("n_classes", 0)) if values.get("condition") == "onehot" else 0
        values["nz"] = read["nz"] - onehot - int(values.get("nc", 0))
    opts = Architecture.make_options(architecture, values)  # typed, geometry left as given
    placed = place_label(architecture.name, layout, opts, given)
    if placed is not None:  # where the label sits, from the first BatchNorm's input means: as good as given
        given = {**given, **placed["options"]}
        values.update(placed["options"])
        decisions.append(placed["decision"])
        opts = Architecture.make_options(architecture, values)
    n = len(opts.widths)
    normed = bool(layout.norms)
    properties = activation_and_eps(
        given,
        values,
        ACTIVATIONS,
        EPSILONS,
        normed,
        "ReLU between stages (DCGAN)",
        "BatchNorm eps 1e-5 (PyTorch default)",
        visible_epsilons(state_dict),
    ) + input_order(opts, given)
    if layout.head is not None and "head_layout" not in given and normed:
        properties.append(
            Property(
                "head_layout",
                ("chw", "hwc"),
                "view(N, C, S, S) after the Linear head (PyTorch)",
                option_flag("head_layout"),
                usual=("chw",),
            )
        )
    if layout.head is not None and layout.head_norm is None and "head_activated" not in given and normed:
        # after a head BatchNorm the activation is the rule (a review, 54a: searching it doubled every such load)
        properties.append(
            Property(
                "head_activated",
                (True, False),
                "the hidden activation after the Linear head (DCGAN, WGAN-GP)",
                option_flag("head_activated"),
                usual=(True,),
            )
        )
    properties += stage_kinds(layout, given)
    decisions += unread_square_stages(layout, given)
    undecided = [prop.name for prop in properties if prop.values is not None and len(prop.values) > 1]
    if (
        not undecided
        and "activation" in values
        and ("norm_eps" in values or not normed)
        and opts.strides
        and opts.paddings
    ):
        # everything given (a ganinv folder, the user, a pickled module's layers): only the prior (and the output
        # activation, if not given) is left
        decisions += [] if "output" in values else [assumed_output(opts.output)]
        return {**values, DECISIONS: decisions + check_against_statistics(architecture, values, layout, given)}
    check_statistics_informative(
        state_dict,
        f"{architecture.name} generator",
        "--option strides=... --option paddings=... --option activation=relu --option norm_eps=1e-5",
    )
    prior, read_inputs = first_norm_inputs(architecture.name, layout, opts, given)
    decisions += read_inputs
    if prior is not None and "prior" not in given:  # the search probes with it; decided and announced at the end
        values["prior"] = prior
        opts = dataclasses.replace(opts, prior=prior)
    elif "prior" not in given and normed:
        # no BatchNorm sees z through one linear map before the search (a Linear head without its own BatchNorm): the
        # prior is searched with the rest. Probed with N(0, I) alone, a U(-1, 1) Udacity dcgan-svhn net (no activation
        # after its head) read best as another net, at 28 px (an outside audit); announced at the end, as ever
        # N(0, I) and U(-1, 1): U(0, 1) is then read on the net chosen, as every prior is (check_against_statistics)
        properties.append(
            Property("prior", ("normal", "uniform"), "N(0, I) latents", lambda v: f"--prior {PRIOR_FLAGS[v['prior']]}")
        )
    if not (opts.strides and opts.paddings):
        n_scored = sum(1 for i in range(n) if normed and i < n - 1)
        properties += [
            Property(
                "geometry",
                None,
                "the most usual strides and paddings",
                geometry_flag,
                lambda v: show_steps(v["geometry"]),
            ),
            Property(
                "output_geometry",
                None,
                (
                    "no statistic sees the stages after the last BatchNorm; taken the most usual strides and "
                    f"paddings that reach the side given (resolution={opts.resolution}: --option or a config), a "
                    "larger stride or a crop where no usual ones do"
                    if "resolution" in values
                    else "no statistic sees the stages after the last BatchNorm; taken the most usual strides and "
                    "paddings that reach a usual image side (28, 32, 64, 48, 96; then 128, ...), which may be half "
                    "the author's side where their last stage up-samples in an unusual way"
                ),
                lambda v: (
                    f"--option resolution=SIDE (the author's image side), or {geometry_flag(v)} with the last "
                    "stages changed"
                ),
                lambda v: show_steps(v["output_geometry"], n_scored),
                scored=False,
            ),
        ]
    # a partial geometry is searched within: each part given needs one entry per stage
    for name in ("strides", "paddings", "output_paddings"):
        entries = getattr(opts, name)
        if entries and len(entries) != n:
            raise ArchitectureError(
                f"{name}={','.join(map(str, entries))} has {len(entries)} entries but there are {n} stages; "
                "give one per stage"
            )
    given_steps = [
        tuple(part[i] if i < len(part) else None for part in (opts.strides, opts.paddings, opts.output_paddings))
        for i in range(n)
    ]
    target = opts.resolution if "resolution" in values else None
    converted = layout.canonical_state_dict()

    def score(combo: dict[str, Any], bound: float) -> list[Candidate]:
        trial = dataclasses.replace(opts, strides=(1,) * n, paddings=(0,) * n, output_paddings=(0,) * n, **combo)
        net = ConvTNet(trial)
        load_weights(net, converted, architecture.name, trial)
        net.eval()
        if opts.strides and opts.paddings:  # geometry given: score it as it stands
            steps = tuple(zip(opts.strides, opts.paddings, opts.output_paddings or (0,) * n))
            found = geometry_candidates(net, [tuple(s) for s in steps], complete(opts).resolution, bound=bound)
            return [Candidate({}, c.misfits, c.rank) for c in found]
        # a Conv2d stage runs at stride 1 (ConvAsTransposed), so only the geometries with stride 1 there are its
        conv2d = trial.conv2d_stages
        steps_given = [(1, g[1], 0) if i in conv2d else g for i, g in enumerate(given_steps)]
        return geometry_candidates(net, steps_given, target, bound=bound)

    # The search depends on the weights and the options, not on the options' class; with the layers read from the
    # weights, the resolution only through `target`.
    searched_options = {
        **dataclasses.asdict(opts),
        "resolution": target if opts.widths and opts.kernels else opts.resolution,
    }
    searched = cached_search(
        (state_dict_sha256(converted), repr(sorted(searched_options.items())), tuple(given_steps), target),
        properties,
        score,
        True,
    )
    chosen, found = identify(searched, properties, f"{architecture.name} generator", early_batches(state_dict))
    values.update({k: v for k, v in chosen.items() if k in SEARCHED_OPTIONS})
    if "prior" in chosen:  # announced by check_against_statistics, on the net chosen
        values["prior"] = chosen["prior"]
        found = [d for d in found if d["property"] != "prior"]
    if "steps" in chosen:
        steps = chosen["steps"]
        values.update(
            strides=tuple(s for s, _, _ in steps),
            paddings=tuple(p for _, p, _ in steps),
            output_paddings=tuple(op for _, _, op in steps),
        )
    values["resolution"] = complete(architecture.make_options(values)).resolution
    if "conv2d_stages" in chosen:
        values["conv2d_stages"] = chosen["conv2d_stages"]
    if "output" not in values:
        found.append(assumed_output(opts.output))
    found += last_layer_kind(layout, values)
    values[DECISIONS] = decisions + found + check_against_statistics(architecture, values, layout, given)
    return values


def multiplied_label(
    name: str, layout: Layout, given: Mapping[str, Any]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(options, decisions) for a label embedding as wide as the first layer's input: the user's `condition`, or
    n_classes=0 (the embedding held unused); else whether it multiplies z (acgan) or is never used (sgan), by the
    first BatchNorm, where one sees the inputs through one linear map (`label_use`)."""
    embedding = layout.modules[cast(str, layout.embed)]["weight"]  # (K, nz)
    unused = {"n_classes": 0, "unused_embedding": int(embedding.shape[0])}
    if int(given.get("n_classes", 1)) == 0:
        return unused, []
    if "condition" in given:
        return {}, []
    first = first_linear_map(layout)
    initial = initial_statistics(layout.canonical_state_dict())
    fits = label_fits(first[0], first[1], embedding) if first is not None and not initial else None
    why = (
        "the BatchNorm statistics are the initial ones"
        if initial
        else NO_LINEAR_VIEW.removesuffix(", so nothing shows")
    )
    used, said = label_use(name, fits, why, int(given.get("n_classes", 0)))
    return {} if used else unused, [said]


def input_order(opts: ConvTOptions, given: Mapping[str, Any]) -> list[Property]:
    """Where the label vector and the codes enter beside z, and the codes' prior: what the statistics decide."""
    if not opts.nc:  # z and a label: before or after z
        return [] if "input_order" in given else label_order(opts, given, False, "the label vector after z")
    present = "".join(p for p in "zdc" if p != "d" or (opts.n_classes and opts.condition != "multiply"))
    orders = ["".join(p) + "".join(x for x in "zdc" if x not in present) for p in permutations(present)]
    return [
        Property(
            "input_order",
            (opts.input_order,) if "input_order" in given else orders,
            "cat(z, d, c) (InfoGAN)",
            option_flag("input_order"),
        ),
        Property(
            "code_prior",
            (opts.code_prior,) if "code_prior" in given else ("uniform", "normal"),
            "U(-1, 1) codes (InfoGAN)",
            option_flag("code_prior"),
            # N(0, 1) codes must fit 1.5x better to be taken, else InfoGAN's U(-1, 1) is announced: a few codes among
            # many inputs move the statistics less than the probe's noise (refused at 1.03x, an outside audit)
            usual=("uniform",),
        ),
    ]


def stage_kinds(layout: Layout, given: Mapping[str, Any]) -> list[Property]:
    """Which hidden stages with as many input as output channels are stride-1 Conv2d layers (WassersteinGAN's
    DCGAN_G `extra-layers`): the weight of `Conv2d(c, c, k)` has the shape of `ConvTranspose2d(c, c, k)`'s, but read
    as one it computes another map (images 1.98 off, an outside audit). The BatchNorm after the stage tells them
    apart; without one, the reading the key names give (`...:conv` among `...:convt`) is assumed, else the
    transposed one, and announced. Only odd kernels are candidates: a Conv2d between stages keeps the side with a
    3x3 (or 1x1, 5x5) kernel, while the transposed stages of these nets use even ones (4x4) against checkerboard
    artifacts; and the readings of the first three such stages only (2^3 searches at most)."""
    if "conv2d_stages" in given:
        return []
    square = square_stages(layout)
    if not square:
        return []
    named = tuple(i for i in square if names_a_conv2d(layout.convs[i], layout.convs))
    later = tuple(i for i in named if i not in square[:3])  # not searched: the names' kind (unread_square_stages)
    readings = [
        tuple(i for j, i in enumerate(square[:3]) if keep >> j & 1) + later for keep in range(2 ** min(len(square), 3))
    ]
    readings.sort(key=lambda r: r != named)  # the first reading is taken where no statistic tells
    convention = (
        f"Conv2d at stage {fmt(named)}, as the key names say ({', '.join(layout.convs[i] for i in named)} among "
        "transposed convolutions)"
        if named
        else "ConvTranspose2d, as the stages around them"
    )
    return [
        Property(
            "conv2d_stages",
            readings,
            convention,
            option_flag("conv2d_stages"),
            lambda v: fmt(v["conv2d_stages"]),
            tie_hint="a stride-1 layer of as many input as output channels reads as a Conv2d or a ConvTranspose2d",
        )
    ]


def square_stages(layout: Layout) -> list[int]:
    """The hidden stages (the last one is `last_layer_kind`'s) whose odd-kernel weight has as many input as output
    channels: those that may be a stride-1 Conv2d."""
    weights = [layout.modules[p]["weight"] for p in layout.convs[:-1]]
    return [i for i, w in enumerate(weights) if w.shape[0] == w.shape[1] and w.shape[2] % 2 == 1]


def unread_square_stages(layout: Layout, given: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The square stages after the first three, which `stage_kinds` does not search: read as the key names say,
    else as ConvTranspose2d, and said so (a net with four or more stride-1 Conv2d extra layers was otherwise
    misread in silence)."""
    if "conv2d_stages" in given:
        return []
    square = square_stages(layout)
    if len(square) <= 3:
        return []
    kinds = [
        f"{i} {'Conv2d' if names_a_conv2d(layout.convs[i], layout.convs) else 'ConvTranspose2d'}" for i in square[3:]
    ]
    return [
        decision(
            "later_square_stages",
            ", ".join(kinds),
            "assumed: only the first three stages of as many input as output channels are read as Conv2d or "
            "ConvTranspose2d from the statistics; the later ones are taken as the key names say (`conv` among "
            "`convt`), else as transposed",
            f"--option conv2d_stages=I,J,... (every stage that is a Conv2d, numbered from 0; of {fmt(tuple(square))})",
        )
    ]


def names_a_conv2d(prefix: str, prefixes: list[str]) -> bool:
    """`main.extra-layers-0:4:conv` among `main.pyramid:8-4:convt`: the author's own names tell the two kinds."""

    def words(p: str) -> set[str]:
        return set(re.split(r"[^a-z0-9]+", p.lower()))

    transposed = ("convt", "deconv", "convtranspose", "convtranspose2d", "tconv", "upconv")
    return bool(words(prefix) & {"conv", "conv2d"}) and any(words(p) & set(transposed) for p in prefixes)


def last_layer_kind(layout: Layout, values: Mapping[str, Any]) -> list:
    """A last layer with as many input as output channels, at stride 1, has a weight of the same shape, and makes the
    same image sizes, as a ConvTranspose2d or a Conv2d (Conv2d(3, 3, 3, 1, 1) after the upsampling, a common
    refinement): no BatchNorm comes after it to tell, so the reading is announced (audit 5: images off by 1.8)."""
    weight = layout.modules[layout.convs[-1]]["weight"]  # (C_in, C_out, k, k) as a ConvTranspose2d
    last = len(layout.convs) - 1
    if weight.shape[0] != weight.shape[1] or tuple(values.get("strides") or (None,))[-1] != 1:
        return []
    if last in tuple(values.get("conv2d_stages") or ()):
        return []  # the user's, or a pickled module's records: a Conv2d
    return [
        decision(
            "last_layer",
            "ConvTranspose2d",
            f"assumed: a {weight.shape[0]} -> {weight.shape[1]} channel stride-1 last layer reads alike as a "
            "ConvTranspose2d or a Conv2d",
            f"--option conv2d_stages={last} if it is a Conv2d",
        )
    ]


def assumed_output(output: str) -> dict[str, Any]:
    return decision(
        "output",
        output,
        f"assumed: {output} on the last stage (no statistic sees it)",
        "--option output=tanh|sigmoid|none",
    )


# the options the search decides, beside the geometry
SEARCHED_OPTIONS = (
    "activation",
    "norm_eps",
    "condition_first",
    "input_order",
    "code_prior",
    "head_layout",
    "head_activated",
)
PROBE_INPUTS = 1024  # the first BatchNorm's probe batch: its noise, not the net's, must stay small


def check_against_statistics(architecture, values: dict[str, Any], layout: Layout, given: Mapping[str, Any]) -> list:
    """Two last questions for the BatchNorm statistics, once everything else is chosen (returns their decisions):

    - the native latent prior, from the first BatchNorm, which sees z through one linear layer: its running
      variance is that of z (1 for N(0, I), 1/3 for U(-1, 1)) times the weights'; sets `values["prior"]`;
    - whether the net, so built, fits the statistics at all: a layer or activation ganinv does not model (a
      LeakyReLU body behind a ReLU head) fits every candidate badly, and is announced rather than loaded silently.
    """
    if not layout.norms and layout.head_norm is None:  # nothing normalised: nothing to tell; N(0, I) is the default
        announced = [] if "activation" in given else [no_normalisation()]
        if not values.get("n_classes") and not values.get("nc") and not {"n_classes", "nc"} & set(given):
            announced.append(unread_inputs(first_input_width(layout), NO_LINEAR_VIEW))  # here alone, not also in
            # first_norm_inputs (said twice, an outside audit)
        if "prior" not in given:  # announced as the other families announce it (an outside audit's fuzzer: a net
            # trained on U(-1, 1) latents loaded 0.55 off, no prior in its decisions)
            values["prior"] = values.get("prior", "normal")
            announced.append(
                decision(
                    "prior",
                    "normal",
                    "assumed: N(0, I) latents (no BatchNorm sees z)",
                    "--prior uniform:-1,1 or --prior uniform:0,1",
                )
            )
        return announced
    weights = layout.canonical_state_dict()
    if initial_statistics(weights):
        said = "assumed: N(0, I) (the BatchNorm statistics are the initial ones)"
        return [] if "prior" in given else [decision("prior", "normal", said, "--prior uniform:-1,1")]
    opts = complete(architecture.make_options(values))
    net = ConvTNet(opts).eval()
    load_weights(net, weights, architecture.name, opts)
    d, c = probe_inputs(opts.nz, opts.n_classes, 512)[1], code_probe(opts.nc, 512)
    names = [values.get("prior", "normal")] if "prior" in given else list(PRIOR_PROBES)  # a prior given is checked
    misfits = {
        name: norm_misfits(net, prior_probe(name)(512, opts.nz, torch.Generator().manual_seed(0)), d, c)
        for name in names
    }
    decisions = []
    if "prior" not in given:
        first_prior_scale(architecture.name, layout, opts)  # where the search did not (all given)
        decisions.append(prior_decision({name: m[0] for name, m in misfits.items()}, values))
    fit = misfits[values.get("prior", "normal")]
    worst = max(range(len(fit)), key=lambda i: fit[i])
    said = (
        "batchnorm statistics"
        if fit[worst] <= POOR_FIT
        else POOR_FIT_SAID
        + (
            "; this far off, what was read from them, geometry and activation, is likely wrong too"
            if fit[worst] > 1
            else ""
        )
        + "): a layer or activation ganinv does not model (BatchNorm after the activation, or activations that differ "
        "by stage: load it with --model-class; Dropout between stages, which a state dict does not "
        "record, blurs the statistics: try the usual activation, --option activation=relu), running statistics "
        "that lag the weights (a checkpoint "
        "saved early in training, or BatchNorm momentum 0.01 as in Keras ports: give --option strides=... "
        "--option paddings=... --option activation=...), or a one-hot label and codes beside z (InfoGAN: --option "
        "n_classes=K --option nc=N)? check `ganinv sample`"
    )
    fitted = decision(
        "statistics",
        f"misfit {fit[worst]:.3g} at BatchNorm {worst + 1} of {len(fit)}",
        said,
        "--model-class MODULE:CLASS (the generator's own class)",
    )
    decisions.append({**fitted, "misfit": float(fit[worst])})  # what a config's options are weighed by (sources)
    return decisions


@torch.no_grad()
def first_prior_scale(name: str, layout: Layout, opts: ConvTOptions) -> None:
    """`prior_scale_check` at the first BatchNorm, for a net whose options were all given (no search read its inputs
    before), under the best of the usual priors."""
    first = first_linear_map(layout)
    embedding = layout.modules[layout.embed]["weight"] if layout.embed and opts.condition != "onehot" else None
    if first is None or joined_inputs(opts, embedding, *probe_batch(opts, 1)).shape[1] != first[2]:
        return
    linear, norm, _ = first
    _, d, c = probe_batch(opts, PROBE_INPUTS)

    def misfit(z: torch.Tensor) -> float:
        return min(bn_discrepancy(y, norm) for y in linear(joined_inputs(opts, embedding, z, d, c)))

    fits = {p: misfit(prior_probe(p)(PROBE_INPUTS, opts.nz, torch.Generator().manual_seed(0))) for p in PRIOR_PROBES}
    best = min(fits, key=lambda p: fits[p])
    scale_check(name, linear, norm, opts, embedding, best, fits[best])


def scale_check(
    name: str, linear: Callable, norm: Any, opts: ConvTOptions, embedding: Any, prior: str, misfit: float
) -> None:
    """`prior_scale_check` at the first BatchNorm (`linear` -> `norm`), with N(0, I) probes times a scale, under the
    inputs `opts` joins; not where a label embedding multiplies z, whose scale the statistics cannot tell from z's."""
    if opts.n_classes and opts.condition == "multiply":
        return
    z, d, c = probe_batch(dataclasses.replace(opts, prior="normal"), PROBE_INPUTS)
    prior_scale_check(
        name,
        lambda s: min(bn_discrepancy(y, norm) for y in linear(joined_inputs(opts, embedding, z * s, d, c))),
        prior,
        misfit,
    )


@torch.no_grad()
def first_norm_inputs(
    name: str, layout: Layout, opts: ConvTOptions, given: Mapping[str, Any]
) -> tuple[Optional[str], list[dict[str, Any]]]:
    """Read the first layer's inputs off the first BatchNorm, which sees them through one linear map, before the
    search. Returns the latent prior that fits it best, for the search to probe with (None where no BatchNorm sees
    the inputs so), and the decisions: a label given without InfoGAN's continuous codes is refused where codes
    beside it fit the statistics DECIDED_RATIO times better, taken as having none where latents alone fit that much
    better, and else announced as assumed (an outside audit read a Natsu6767 InfoGAN with its label 2 inputs off,
    images 1.4 apart, in silence; at its real sizes, 2 codes among 74 inputs move the statistics less than their
    noise)."""
    first = first_linear_map(layout)
    if first is None:  # where nothing is normalised, check_against_statistics says so
        normed = bool(layout.norms) or layout.head_norm is not None
        unlabelled = normed and not opts.n_classes and not opts.nc and not {"n_classes", "nc"} & set(given)
        return None, [unread_inputs(first_input_width(layout), NO_LINEAR_VIEW)] if unlabelled else []
    linear, norm, width = first
    embedding = layout.modules[layout.embed]["weight"] if layout.embed and opts.condition != "onehot" else None
    labelled = bool(opts.n_classes) and opts.condition != "multiply"
    free = opts.nz + opts.nc  # the inputs that are z or codes
    if joined_inputs(opts, embedding, *probe_batch(opts, 1)).shape[1] != width:  # options that contradict the
        return None, []  # weights: loading says so, naming both
    codes = range(min(MAX_CODES, free - 1) + 1) if labelled and "nc" not in given else (opts.nc,)
    fits: dict[tuple[int, str, str, str], float] = {}  # (nc, input order, code prior, prior) -> misfit
    for nc in codes:
        present = "".join(p for p in "zdc" if p == "z" or (p == "d" and labelled) or (p == "c" and nc))
        if "input_order" in given or (not nc and "condition_first" in given):
            orders: tuple[str, ...] = (opts.input_order or ("dzc" if opts.condition_first else "zdc"),)
        else:
            orders = tuple("".join(p) + "".join(x for x in "zdc" if x not in p) for p in permutations(present))
        code_priors = ("uniform", "normal") if nc and "code_prior" not in given else (opts.code_prior,)
        priors = (opts.prior,) if "prior" in given else tuple(PRIOR_PROBES)
        for order, code_prior, prior in product(orders, code_priors, priors):
            trial = dataclasses.replace(
                opts, nz=free - nc, nc=nc, input_order=order, code_prior=code_prior, prior=prior
            )
            z, d, c = probe_batch(trial, PROBE_INPUTS)
            fits[(nc, order, code_prior, prior)] = min(
                bn_discrepancy(y, norm) for y in linear(joined_inputs(trial, embedding, z, d, c))
            )
    best = min(fits, key=lambda key: fits[key])
    latents_alone = min((m for key, m in fits.items() if key[0] == opts.nc), default=float("inf"))
    if best[0] != opts.nc and fits[best] * DECIDED_RATIO < latents_alone:
        nc, order, code_prior, _ = best
        raise AmbiguousWeightsError(
            f"the first BatchNorm of this {name} generator fits {nc} continuous code(s) beside the label (InfoGAN's "
            f"cat of {', '.join(order)}, {code_prior} codes) {latents_alone / fits[best]:.3g}x better than latents "
            f"alone (misfit {fits[best]:.3g} against {latents_alone:.3g}): pass --option nc={nc} --option "
            f"input_order={order}" + (" --option code_prior=normal" if code_prior == "normal" else "")
        )
    best_latents = min((key for key in fits if key[0] == opts.nc), key=lambda key: fits[key])
    prior = best_latents[3]
    unlabelled = not labelled and not {"n_classes", "nc"} & set(given)
    # a one-hot label among the inputs first: its inputs are what misfit every prior, and the scaled prior named
    # for them sent the user the wrong way before the label's refusal (an outside audit)
    said = unnamed_label(name, linear, norm, width, prior_mean(prior)) if unlabelled else []
    if "prior" not in given:  # a variance no usual prior has (truncated, scaled) is refused, naming --prior
        nc, order, code_prior, _ = best_latents
        trial = dataclasses.replace(opts, nz=free - nc, nc=nc, input_order=order, code_prior=code_prior)
        scale_check(name, linear, norm, trial, embedding, prior, fits[best_latents])
    if unlabelled:
        return prior, said
    rival = min((key for key in fits if key[0] != opts.nc), key=lambda key: fits[key], default=None)
    if rival is None or fits[rival] >= latents_alone * DECIDED_RATIO:
        return prior, []
    nc, order, code_prior, _ = rival
    flag = f"--option nc={nc} --option input_order={order}"
    return prior, [
        decision(
            "nc",
            opts.nc,
            f"assumed: no continuous codes beside the label, though the first BatchNorm fits {nc} (InfoGAN's, cat of "
            f"{', '.join(order)}) about as well (misfit {fits[rival]:.3g} against {latents_alone:.3g})",
            flag + (" --option code_prior=normal" if code_prior == "normal" else ""),
        )
    ]


def place_label(name: str, layout: Layout, opts: ConvTOptions, given: Mapping[str, Any]) -> Optional[dict[str, Any]]:
    """Where a one-hot label given by `n_classes` sits among the first layer's inputs, read off the first
    BatchNorm's input means (`input_means`): the order of z, d and c that puts it there, as options with their
    decision; None where the means do not show it, or the order is given. A label between z and codes not given is
    refused naming them. At real sizes (z 62, 10 classes, 2 codes) the probes' misfits could not tell the orders
    apart (1.02x, refused one property at a time, an outside audit); the means put the label at inputs 63-72."""
    if not opts.n_classes or opts.condition != "onehot" or "input_order" in given or "condition_first" in given:
        return None
    first = first_linear_map(layout)
    means = input_means(*first) if first is not None else None
    found = one_hot_run(means, prior_mean(opts.prior), k=opts.n_classes) if means is not None else None
    if found is None or means is None:
        return None
    start, k = found
    after = len(means) - start - k
    said = f"the first BatchNorm's input means: inputs {start + 1}-{start + k} of {len(means)} are the one-hot label"
    if not opts.nc:
        codes = codes_beside(start, after)
        if codes is not None and "nc" not in given:
            nc, order = codes
            raise AmbiguousWeightsError(
                f"{said}, with {start} input(s) before it and {after} after: InfoGAN's codes beside it? pass "
                f"--option nc={nc} --option input_order={order}"
            )
        if start and after:
            return None
        first_label = start == 0
        return {
            "options": {"condition_first": first_label},
            "decision": decision("condition_first", first_label, said, f"--option condition_first={first_label}"),
        }
    sizes = {"z": opts.nz, "d": k, "c": opts.nc}
    orders = ["".join(p) for p in permutations("zdc") if sum(sizes[x] for x in p[: p.index("d")]) == start]
    if len(orders) != 1:
        return None
    return {
        "options": {"input_order": orders[0]},
        "decision": decision("input_order", orders[0], said, f"--option input_order={orders[0]}"),
    }


def first_linear_map(
    layout: Layout,
) -> Optional[tuple[Callable[[torch.Tensor], list[torch.Tensor]], nn.modules.batchnorm._BatchNorm, int]]:
    """(inputs (N, n_in) -> the first BatchNorm's inputs under each reading of the geometry, that BatchNorm, n_in)
    where one linear map lies between them: the first transposed convolution on the 1x1 input (its padding unknown:
    each crop of the k x k map), the first fully connected layer, or the Linear head; else None."""
    modules = layout.modules
    if layout.head is None and layout.norms:
        conv = {name: tensor.float() for name, tensor in modules[layout.convs[0]].items()}  # bf16 files: in float32
        stats = modules[layout.norms[0]]

        def crops(x: torch.Tensor) -> list[torch.Tensor]:
            y = nn.functional.conv_transpose2d(x[:, :, None, None], conv["weight"], conv.get("bias"))  # (N, C, k, k)
            k = y.shape[-1]
            return [y[:, :, p : k - p, p : k - p] for p in range(k // 2 + 1) if k - 2 * p > 0]

        return crops, running_statistics(stats), int(conv["weight"].shape[0])
    first = layout.trunk[0] if layout.trunk else layout.head
    stats_name = layout.trunk_norms[0] if layout.trunk_norms else layout.head_norm
    if first is None or stats_name is None:
        return None
    linear = {name: tensor.float() for name, tensor in modules[first].items()}
    if layout.head_norm_2d and not layout.trunk:  # per channel of the first map, under either reshape (chw, hwc)
        channels = int(modules[layout.convs[0]]["weight"].shape[0])

        def maps(x: torch.Tensor) -> list[torch.Tensor]:
            y = nn.functional.linear(x, linear["weight"], linear.get("bias"))  # (N, C0 * S0 * S0)
            return [y.view(len(y), channels, -1), y.view(len(y), -1, channels).transpose(1, 2)]  # (N, C0, S0 * S0)

        return maps, running_statistics(modules[stats_name]), int(linear["weight"].shape[1])
    return (
        lambda x: [nn.functional.linear(x, linear["weight"], linear.get("bias"))],
        running_statistics(modules[stats_name]),
        int(linear["weight"].shape[1]),
    )


@torch.no_grad()
def norm_misfits(
    net: ConvTNet, z: torch.Tensor, d: Optional[torch.Tensor], c: Optional[torch.Tensor] = None
) -> list[float]:
    """`bn_discrepancy` at every BatchNorm in forward order, each normalising by the batch's own statistics as in
    training (the head's first, when it has one)."""
    misfits: list[float] = []
    h = net.first_input(z, d, c)  # (N, nz + E + nc)
    if net.head is None:
        x = h[:, :, None, None]  # (N, nz + E + nc, 1, 1)
    else:
        h = net.head(net.through_trunk(h, misfits))
        if isinstance(net.head_norm, nn.BatchNorm2d):  # on the map
            x = net.head_act(normalise_as_in_training(net.first_map(h), net.head_norm, misfits))
        else:
            h = normalise_as_in_training(h, net.head_norm, misfits) if net.head_norm else h
            x = net.head_act(net.first_map(h))
    stages = list(cast(Iterable[UpStage], net.stages))
    normed = [i for i, stage in enumerate(stages) if isinstance(stage.norm, nn.BatchNorm2d)]
    for stage in stages[: normed[-1] + 1 if normed else 0]:  # the stages after the last BatchNorm change none
        x = x[: max(32, -(-32768 // x.shape[-1] ** 2))]  # large maps: fewer samples give enough values per channel
        y = stage.conv(x)  # (N, C, S, S)
        if stage.crop:
            y = y[:, :, : stage.crop, : stage.crop]
        x = stage.act(normalise_as_in_training(y, stage.norm, misfits))
    return misfits


def describe_match(geometry: KnownGeometry) -> str:
    return (
        f"{', '.join(f'{k} {fmt(v)}' for k, v in geometry.match.items() if k in ('kernels', 'head'))} "
        f"match {geometry.source}"
    )


def check_resolution(architecture, values: Mapping[str, Any], given: Mapping[str, Any]) -> None:
    """A given image side the net as built does not make (strides and paddings given beside it) is refused: it was
    dropped for the geometry's side in silence (an outside audit)."""
    if "resolution" not in given:
        return
    options = complete(architecture.make_options({k: v for k, v in values.items() if k != DECISIONS}))
    if options.resolution != int(given["resolution"]):
        raise ArchitectureError(
            f"resolution={given['resolution']} where the weights with strides {fmt(options.strides)} and paddings "
            f"{fmt(options.paddings)} make {options.resolution}-pixel images; drop one of them"
        )
