"""A registered architecture built from a state dict: the config's words read as ganinv's options, the weights
checked for evidence (a layer of one value throughout is no trained layer), and, where the weights do not
store it, the architecture identified from the BatchNorm running statistics (docs/algorithms.md §1).
"""

from __future__ import annotations

import dataclasses
import math
import reprlib
import warnings
from typing import Any, Mapping, Optional

import torch

from ganinv import architectures, config_words, foreign_layouts
from ganinv.errors import (
    ArchitectureError,
    GaninvError,
    first_line,
)
from ganinv.sources.common import jsonable
from ganinv.weight_files import (
    AUTHOR_MISFIT,
    early_batches,
    layers_of,
    unusual_tensor,
)
from ganinv.weight_parametrizations import fold_parametrizations


def mixin_options(
    config: dict[str, Any], arch: Optional[str], config_label: str = "the config", settled: frozenset[str] = frozenset()
) -> tuple[dict[str, Any], list[str]]:
    """(options, unread fields) of a foreign config for `arch`: other codebases' names mapped by the adapter's
    `aliases` and `config_words.FIELDS`, their words read as ganinv's. Under ganinv's own option name (or an alias)
    a word it does not know is refused (`config_words.option_value`); under another codebase's name an unknown word
    or a non-string is unread, and one that differs from the own name's value is dropped for it, both named, never
    refused (an outside audit, 25a: `normalization: spectral` and `norm: batch` beside `normalization: none` were
    refused where they loaded exactly before). Two own fields naming one option with different values are refused
    naming both: the one written last won, in silence (an outside audit). A null value says nothing: unread. The
    options the user `settled` (--option, --prior) win over the config's fields of them, which are not read."""
    if arch is None:
        return {}, sorted(config)
    architecture = architectures.get(arch)
    fields = {f.name for f in dataclasses.fields(architecture.Options)}
    given: dict[str, Any] = {}
    read_from: dict[str, str] = {}
    ignored = []
    own: list[tuple[str, str]] = []  # (field, option) under ganinv's own names and the adapter's aliases
    foreign_fields: list[tuple[str, str]] = []  # under other codebases' names (`config_words.FIELDS`)
    for key, value in config.items():
        name = config_words.option_name(key, architecture.aliases)
        if name not in fields or value is None:
            if key != "architecture":
                ignored.append(key)
        elif name not in settled:
            (foreign_fields if config_words.foreign(key, architecture.aliases, fields) else own).append((key, name))
    for key, name in own + foreign_fields:  # ganinv's own names (and aliases) first: a foreign one gives way to them
        is_foreign = (key, name) in foreign_fields
        if is_foreign:
            value = config_words.foreign_value(name, config[key])
        else:
            value = config_words.option_value(name, key, config[key], config_label)
        if value is None:
            ignored.append(key)
            continue
        if name in given and jsonable(given[name]) != jsonable(value):
            first = read_from[name]
            if is_foreign and (first, name) in own:
                ignored.append(key)
                continue
            raise ArchitectureError(
                f"{config_label} gives {name} twice, as {first}={jsonable(config[first])!r} and "
                f"{key}={jsonable(config[key])!r}: fix the config, keeping the generator's"
            )
        given[name], read_from[name] = value, key
    order = list(config)
    return given, sorted(ignored, key=order.index)


def refuse_non_finite(given: Mapping[str, Any], config_label: str) -> None:
    """A config's option given as Infinity, NaN or 1e400 (JSON readers take all three) is refused naming it: it
    reached the adapters' arithmetic as an internal OverflowError (an outside audit)."""
    for key, value in given.items():
        values = value if isinstance(value, (list, tuple)) else [value]
        if any(isinstance(v, float) and not math.isfinite(v) for v in values):
            raise ArchitectureError(f"{config_label}: {key}={value!r} is not a finite number; fix the config")


def build_from_config(
    arch: Optional[str],
    config: Mapping[str, Any],
    options: dict[str, Any],
    state_dict: Mapping[str, torch.Tensor],
    where: str,
    config_label: str,
    spec: Optional[Mapping[str, Any]] = None,
    pickled: Optional[Mapping[str, Any]] = None,
    pickled_label: str = "",
):
    """`build_with_config_fields` with a foreign config read in ganinv's words (`config_words`): a nested generator
    block as the generator's fields, a field naming what no adapter builds refused where the net upsamples, a leaky
    ReLU as the slope it means, and the architectural fields left unread named in one warning, with the words of a
    checkpoint's `pickled` arguments (`checkpoint_words`, `pickled_label`), which are never applied."""
    config = config_words.generator_block(config)
    config, bare_leaky = config_words.read_leaky_activation(config, options)
    with warnings.catch_warnings(record=True) as said:  # said only if this net is taken
        warnings.simplefilter("always")
        found = build_with_config_fields(arch, config, options, state_dict, where, config_label, spec)
    built, opts, name, evidence = found
    config_words.refuse_unmodelled(config, config_label, name, opts)
    assumed = bare_leaky and config_words.settle_bare_leaky(getattr(opts, "activation", None), config_label, where)
    if not assumed:
        for warning in said:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    else:
        activation = {"activation": assumed["value"]}
        built, opts, name, evidence = build_with_config_fields(
            name, {**config, **activation}, options, state_dict, where, config_label, spec
        )
        built.decisions[:] = [d for d in built.decisions if d.get("property") != "activation"] + [assumed]
        architectures.warn_assumptions([assumed])
    settled = frozenset(options) | ({"prior"} if (spec or {}).get("native_prior") is not None else frozenset())
    pickled = {k: v for k, v in (pickled or {}).items() if config_words.option_name(k, {}) not in settled}
    say_config_words(config, evidence, name, opts, config_label, pickled, pickled_label)
    return built, opts, name, evidence


SAID_OPTIONS = ("activation", "norm", "norm_eps", "output", "prior", "image_layout", "head_layout")  # the usual words


def say_config_words(
    config: Mapping[str, Any],
    evidence: Mapping[str, Any],
    arch: str,
    opts: Any,
    config_label: str,
    pickled: Optional[Mapping[str, Any]] = None,
    pickled_label: str = "",
) -> None:
    """Say what of a config's words was not taken as its author meant: architectural fields left unread (they were
    recorded in the metadata alone, and the generic "assumed" line printed, an outside audit), a checkpoint's
    pickled words (the whole training module's arguments: the generator's or the discriminator's), and GELU's tanh
    approximation read as the exact GELU ganinv builds. The unread are said in one warning."""
    approximation = config_words.gelu_approximation(config, config_label)
    if approximation and getattr(opts, "activation", None) == "gelu":
        warnings.warn(approximation, stacklevel=3)
    unread = config_words.unread_architectural(config, list(evidence.get("ignored_config", [])))
    parts = []
    taken = evidence.get("config_options") or {}
    if "output" in taken:  # no statistic sees the last activation: a training script's word for the discriminator's
        # output, taken in silence, loaded a Tanh net 0.3 off (an outside audit, 55c)
        others = "|".join(v for v in dict.fromkeys(config_words.WORDS["output"].values()) if v != str(taken["output"]))
        parts.append(
            f"output {taken['output']}: from {config_label} (no statistic sees the last activation); if that field "
            f"is not this generator's (a training script's, the discriminator's), pass --option output={others}"
        )
    if unread:
        fields = {f.name for f in dataclasses.fields(architectures.get(arch).Options)}
        listed = ", ".join(f"{k}={reprlib.repr(jsonable(v))}" for k, v in unread.items())
        verb, subject = ("is", "it describes") if len(unread) == 1 else ("are", "they describe")
        said = ", ".join(o for o in SAID_OPTIONS if o in fields)
        parts.append(
            f"{config_label}'s {listed} {verb} not read by ganinv; if {subject} this generator, pass --option "
            f"KEY=VALUE ({arch}'s: {said})"
        )
        ranged = config_words.range_remedy(unread, "output" in fields)
        if ranged:
            parts.append(ranged)
    if pickled:
        listed = ", ".join(f"{k}={reprlib.repr(jsonable(v))}" for k, v in pickled.items())
        verb, subject = ("is", "it is") if len(pickled) == 1 else ("are", "they are")
        remedies = " ".join(dict.fromkeys(config_words.pickled_remedy(k, v) for k, v in pickled.items()))
        parts.append(
            f"{pickled_label}'s {listed} {verb} not read by ganinv: a training module's or script's arguments may "
            f"be the generator's or the discriminator's; if {subject} the generator's, pass {remedies}"
        )
    if parts:
        warnings.warn("; ".join(parts), stacklevel=3)


def build_with_config_fields(
    arch: Optional[str],
    config: Mapping[str, Any],
    options: dict[str, Any],
    state_dict: Mapping[str, torch.Tensor],
    where: str,
    config_label: str,
    spec: Optional[Mapping[str, Any]] = None,
):
    """(built, options, architecture, evidence) with a config's fields as evidence.

    The config's fields that an architecture knows (its own option names, or other codebases'
    names through its `aliases`) are options for it, with the weights: the first architecture
    they build is taken. Otherwise the weights alone decide (`build_any`), and if they fit an
    architecture the config has fields for, the two disagree: an error naming both. The user's
    --option values win over the config; `spec` holds the spec fields the user gave (--prior, ...).
    Spectral-norm and weight-norm layers are read as the weights they compute (`weight_parametrizations`).
    """
    state_dict = fold_parametrizations(state_dict, where)
    check_evidence(state_dict, where)
    named = config.get("architecture")
    arch = arch or (named if isinstance(named, str) and named in architectures.names() else None)
    candidates = [arch] if arch else [n for n in architectures.names() if n != "opaque"]
    evidence: dict[str, tuple[dict[str, Any], list[str], Exception]] = {}
    settled = frozenset(options) | ({"prior"} if (spec or {}).get("native_prior") is not None else frozenset())
    for name in candidates if config else []:
        try:
            given, ignored = mixin_options(dict(config), name, config_label, settled)
        except ArchitectureError:
            continue  # this family's reading of the config is refused, and said below if the weights are its
        refuse_non_finite(given, config_label)
        given = {k: v for k, v in given.items() if k not in options}
        if not given:
            continue
        with warnings.catch_warnings(record=True) as said_with_config:  # said only if the config's net is taken
            warnings.simplefilter("always")
            try:
                built, opts = architectures.build_generator_net(name, {**given, **options}, state_dict, spec)
            except GaninvError as exc:
                evidence[name] = (given, ignored, exc)
                continue
        check_config_against_statistics(name, given, options, state_dict, spec, built, where, config_label)
        check_side_given(name, options, state_dict, spec, built, where)
        for said in said_with_config:
            warnings.warn_explicit(said.message, said.category, said.filename, said.lineno)
        return built, opts, name, {"config_options": jsonable(given), "ignored_config": ignored}
    with warnings.catch_warnings(record=True) as assumptions:  # said only if the weights alone are taken
        warnings.simplefilter("always")
        built, opts, arch = build_any(arch, options, state_dict, where, spec)
    check_side_given(arch, options, state_dict, spec, built, where)
    if arch not in evidence:
        for said in assumptions:
            warnings.warn_explicit(said.message, said.category, said.filename, said.lineno)
        return (
            built,
            opts,
            arch,
            {"ignored_config": mixin_options(dict(config), arch, config_label, settled)[1]} if config else {},
        )
    given, _, error = evidence[arch]
    from_weights = architectures.options_to_dict(opts)
    unread = architectures.get(arch).unread_options
    differ = [
        f"{k}={jsonable(v)!r} where the weights have {from_weights[k]!r}"
        for k, v in given.items()
        if k in from_weights and k not in unread and jsonable(v) != from_weights[k]
    ]
    raise ArchitectureError(
        f"{config_label} disagrees with the weights {where}: "
        + ("; ".join(differ) if differ else f"with its {jsonable(given)}, {first_line(error)}")
        + f". Fix it, or choose with --option KEY=VALUE (the weights alone give {arch} "
        f"with {', '.join(f'{k}={from_weights[k]}' for k in given if k in from_weights and k not in unread)})"
    )


WEIGHT_NAMES = ("weight", "weight_orig", "weight_bar")  # layer weights, spectral-normalised ones too


LEARNED_NAMES = (*WEIGHT_NAMES, "bias", "running_mean", "running_var")  # floating point in every trained layer


def refuse_unusual_tensor(key: str, tensor: torch.Tensor, where: str) -> None:
    """Refuse what no saved weight is, before anything computes on it (`weight_files.unusual_tensor`)."""
    said = unusual_tensor(key, tensor, where)
    if said:
        raise ArchitectureError(said)


def check_evidence(state_dict: Mapping[str, torch.Tensor], where: str) -> None:
    """Refuse a layer weight whose values are all equal (all zero, say): no trained layer has one, so it is a
    damaged or replaced tensor, and its shape must not be read as the architecture's (a kernel size, a width)."""
    for key, tensor in state_dict.items():
        if isinstance(tensor, torch.Tensor):
            refuse_unusual_tensor(key, tensor, where)
            if key.rpartition(".")[2] in LEARNED_NAMES and not tensor.is_floating_point():
                raise ArchitectureError(
                    f"{where}: {key} {tuple(tensor.shape)} holds {tensor.dtype} values, which no trained layer "
                    "does: the tensor was cast or replaced; re-save the float weights of the trained model"
                )
        if (
            key.rpartition(".")[2] not in WEIGHT_NAMES
            or not isinstance(tensor, torch.Tensor)
            or not tensor.is_floating_point()
            or tensor.dim() < 2
            or tensor.numel() < 2
        ):
            continue
        flat = tensor.reshape(-1)
        if flat[0] != flat[1] or not bool((flat == flat[0]).all()):
            continue
        raise ArchitectureError(
            f"{where}: {key} {tuple(tensor.shape)} holds one value ({float(flat[0]):g}) "
            "throughout, which no trained layer does: the tensor is damaged or was replaced, and "
            "its shape is no evidence of the architecture; download the file again or re-save it "
            "from the trained model"
        )


# A config whose options make the net misfit its statistics more than an author's net does (AUTHOR_MISFIT), and
# DECIDED_RATIO times what the weights' own reading does, contradicts the weights: an activation, eps or stride the
# statistics rule out.


DECIDED_RATIO = 3.0


SIZE_OPTIONS = frozenset({"resolution", "strides", "paddings", "output_paddings", "kernels"})  # set the image side


def statistics_misfit(built: architectures.Built) -> Optional[float]:
    """The worst BatchNorm misfit of a built net, where its adapter measured it."""
    return next((float(d["misfit"]) for d in built.decisions if "misfit" in d), None)


def check_config_against_statistics(
    arch: str,
    given: dict[str, Any],
    options: dict[str, Any],
    state_dict: Mapping[str, torch.Tensor],
    spec: Optional[Mapping[str, Any]],
    built: architectures.Built,
    where: str,
    config_label: str,
) -> None:
    """A config is evidence, not an order: its options must not fit the weights' BatchNorm statistics clearly worse
    than the weights alone do (an outside audit: a Hub config's `activation: leaky_relu` on a ReLU net loaded with
    images off by 0.6, in silence)."""
    with_config = statistics_misfit(built)
    sizes = set(given) & SIZE_OPTIONS  # what no statistic sees: the stages after the last BatchNorm
    if (with_config is None or with_config <= AUTHOR_MISFIT) and not sizes:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            alone, alone_options = architectures.build_generator_net(arch, options, state_dict, spec)
        except GaninvError:
            return  # the weights alone do not make a net: the config is what decides
    from_weights = architectures.options_to_dict(alone_options)
    read = ", ".join(f"{k}={from_weights[k]}" for k in given if k in from_weights)
    if sizes and built.spec.image_shape != alone.spec.image_shape:
        side = alone.spec.image_shape[-1]
        warnings.warn(
            f"{config_label} makes {where} a generator of {built.spec.image_shape} images through geometry no "
            f"statistic sees (its {jsonable({k: given[k] for k in sorted(sizes)})}), where the weights alone, read "
            f"the usual way, give {alone.spec.image_shape}; if the config is wrong, pass --option resolution={side}",
            architectures.AssumptionWarning,
            stacklevel=4,
        )
    without = statistics_misfit(alone)
    if with_config is None or without is None or with_config <= AUTHOR_MISFIT or with_config < DECIDED_RATIO * without:
        return
    disagreement = (
        f"{config_label} and the BatchNorm statistics of the weights {where} disagree: with its "
        f"{jsonable(given)} the net misfits them by {with_config:.3g} at its worst layer, {with_config / without:.0f}x "
        f"the {without:.3g} of what the weights alone give ({read}); a net that is the author's misfits under "
        f"{AUTHOR_MISFIT:g}"
    )
    batches = early_batches(state_dict)
    if batches is not None and without > AUTHOR_MISFIT:  # statistics that lag the weights (none of their readings
        # fits as an author's net does) cannot overrule it: the pickled layers of a 30-batch checkpoint, exactly the
        # author's, were refused (an outside audit); exact ones of few batches (update_bn) still do (a review)
        warnings.warn(
            f"{disagreement}, but its BatchNorm layers count only {batches} training batches, so their running "
            f"averages lag the weights: {config_label} is taken; if it is wrong, choose with --option KEY=VALUE",
            architectures.AssumptionWarning,
            stacklevel=4,
        )
        return
    raise ArchitectureError(f"{disagreement}. Fix it, or choose with --option KEY=VALUE")


def check_side_given(
    arch: str,
    options: dict[str, Any],
    state_dict: Mapping[str, torch.Tensor],
    spec: Optional[Mapping[str, Any]],
    built: architectures.Built,
    where: str,
) -> None:
    """`--option resolution=SIDE` sets what no statistic sees, the stages after the last BatchNorm; where reaching it
    takes other readings of the stages the statistics decide, the net misfits them DECIDED_RATIO times worse than the
    weights' own reading: refused, as a config saying so is (an outside audit, 51a: 96 px, reached by re-reading a
    32-px net decided at margin 394, loaded 1.67 off its author's without a word). The geometry given in full
    (strides, paddings) is the user's own statement, and not read twice."""
    typed = statistics_misfit(built)
    if (
        "resolution" not in options
        or {"strides", "paddings"} <= set(options)
        or typed is None
        or typed <= AUTHOR_MISFIT
    ):
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            alone, _ = architectures.build_generator_net(
                arch, {k: v for k, v in options.items() if k != "resolution"}, state_dict, spec
            )
        except GaninvError:
            return  # no reading without the side: nothing to compare with
    without = statistics_misfit(alone)
    if without is None or typed < DECIDED_RATIO * without:
        return
    raise architectures.AmbiguousWeightsError(
        f"with --option resolution={options['resolution']} the net misfits the BatchNorm statistics of {where} by "
        f"{typed:.3g} at its worst layer, {typed / without:.0f}x the {without:.3g} of the weights' own reading "
        f"({alone.spec.image_shape[-1]} px): that side is reached only by reading anew the stages the statistics "
        "decide (a net that is the author's misfits under "
        f"{AUTHOR_MISFIT:g}); if it is the author's side, give the strides and paddings of every stage (--option "
        "strides=... --option paddings=...), or load it into its class with --model-class MODULE:CLASS"
    )


def build_any(
    arch: Optional[str],
    options: dict[str, Any],
    state_dict: Mapping[str, torch.Tensor],
    where: str,
    spec: Optional[Mapping[str, Any]] = None,
):
    """(built, options, architecture name): the given architecture, else the first registered one that fits."""
    if arch is not None:
        try:
            built, opts = architectures.build_generator_net(arch, options, state_dict, spec)
        except ArchitectureError as exc:  # a refusal of the --arch typed had named no way out (an outside audit)
            if "--model-class" in str(exc) or type(exc) is not ArchitectureError:
                raise
            raise ArchitectureError(
                f"{exc}; if --arch {arch} is not its architecture, drop it to let ganinv read the weights, or load "
                "them into the generator's own class with --model-class MODULE:CLASS"
            ) from None
        return built, opts, arch
    tried = []
    refusals: list[Exception] = []
    for name in architectures.names():
        if name == "opaque":
            continue
        try:
            built, opts = architectures.build_generator_net(name, options, state_dict, spec)
            return built, opts, name
        except architectures.AmbiguousWeightsError as exc:  # the layout is this one's; its details are not decided
            raise architectures.AmbiguousWeightsError(f"{where} ({name}): {exc}") from None
        except architectures.DamagedWeightsError as exc:  # the layout is this one's; its tensors disagree
            raise architectures.DamagedWeightsError(f"{where} ({name}): {exc}") from None
        except GaninvError as exc:
            tried.append(f"{name}: {exc}")
            refusals.append(exc)
    recognised = foreign_layouts.recognise(state_dict)
    if recognised is not None:
        raise ArchitectureError(
            f"{where} holds {recognised}, which no ganinv adapter reads; if it is the generator you mean, load it "
            "through code you trust: -g module:callable, a TorchScript or torch.export archive, or --model-class "
            "with its own class"
        )
    not_generators = [first_line(exc) for exc in refusals if isinstance(exc, architectures.NotAGeneratorError)]
    if not_generators:
        raise ArchitectureError(f"{where}: {not_generators[0]}")
    norms, slopes = statless_norms(state_dict), learned_slopes(state_dict)
    hint = (
        f" Its {', '.join(norms[:3])} hold a weight and a bias but no running statistics: InstanceNorm, "
        "GroupNorm or LayerNorm layers, or BatchNorm with track_running_stats=False (normalising by each batch even "
        "in eval mode), which no adapter models; load it with --model-class."
        if norms
        else ""
    ) + (
        f" Its {', '.join(slopes[:3])} hold one 1-D weight each and nothing else, as PReLU layers do (a learned "
        "negative slope), or a noise input's learned strength (FastGAN's, StyleGAN's NoiseInjection: an outside "
        "audit), which no adapter models; load it with --model-class."
        if slopes
        else ""
    )
    raise ArchitectureError(
        f"cannot tell the architecture of {where}; pass --arch "
        f"({', '.join(n for n in architectures.names() if n != 'opaque')}), or --model-class "
        f"with the generator's own class.{hint} Tried: " + " | ".join(tried)
    )


def learned_slopes(state_dict: Mapping[str, torch.Tensor]) -> list[str]:
    """Layers that hold a lone 1-D `weight` (one value, or one per channel) between 2-D or 4-D weights: PReLU's
    learned negative slopes, which no adapter reads (an outside audit saw them listed only as unknown tensors)."""
    layered = any(t.dim() in (2, 4) for t in state_dict.values())
    return [
        layer
        for layer, tensors in layers_of(state_dict).items()
        if layered and set(tensors) == {"weight"} and tensors["weight"].dim() == 1
    ]


def statless_norms(state_dict: Mapping[str, torch.Tensor]) -> list[str]:
    """Layers that hold only a 1-D weight and bias of one length, beside convolutions or Linear layers: normalisation
    layers without running statistics (InstanceNorm, GroupNorm with affine; LayerNorm in an MLP, which had been
    refused unnamed: an outside audit, 57a), which no adapter reads."""
    layers = layers_of(state_dict)
    convolutions = any(t.dim() in (2, 4) for t in state_dict.values())
    return [
        layer
        for layer, tensors in layers.items()
        if convolutions
        and set(tensors) == {"weight", "bias"}
        and tensors["weight"].dim() == 1
        and tensors["weight"].shape == tensors["bias"].shape
    ]
