"""Other codebases' config words, read as ganinv's options (`sources.build_from_config`, `sources.mixin_options`).

A foreign config (a PyTorchModelHubMixin `config.json`, a checkpoint's Lightning `hyper_parameters` or pickled
`argparse.Namespace`) often says in its author's words what ganinv otherwise assumes. An outside audit (24b) saw
`final_activation: sigmoid`, `z_distribution: uniform`, `data_format: channels_last` and a nested `generator` block
dropped while only the generic "assumed" line was printed (images 0.24-0.73 off); ganinv's own words in other
spellings (`ReLU`, `swish`, `batchnorm`) reported as contradicting the weights; and `"prior": "gaussian"` an
internal KeyError. This module is the one place that maps those words:

- `FIELDS`: other codebases' names of ganinv's options whose value is a word (the adapters' `aliases` map sizes);
- `option_value`: a word as ganinv's (any case, usual synonyms); under ganinv's own option name (or an adapter's
  alias) one ganinv does not know is refused, naming it;
- `foreign_value`: the same under another codebase's name (`FIELDS`), where an unknown word or a non-string is left
  unread and named, never refused: `normalization: spectral` (a weight parametrization ganinv folds), `[0.5, 0.5,
  0.5]` (input normalization) and `z_distribution: truncated_normal` loaded exactly before (an outside audit, 25a);
- `generator_block`: a nested `generator` (`G`, `netG`, `model.generator`) block read as the generator's fields;
- `refuse_unmodelled`: a field naming an upsampling no adapter builds (bilinear) is refused where the weights are
  read as an upsampling architecture, naming --model-class; beside any other it is named as unread;
- `unread_architectural`: what is left unread but looks architectural, for the caller to name in one warning;
- `pickled_remedy`: a checkpoint's pickled arguments (Lightning `hyper_parameters`, an `args` Namespace) are the
  whole training module's, the discriminator's included: their words are named with the option to pass, never
  applied (an outside audit, 25a: a discriminator's `final_activation: sigmoid` built a Tanh generator 0.30 off).

A leaky ReLU in a config means *a* leaky ReLU: PyTorch's default slope is 0.01, DCGAN's 0.2, Keras's 0.3, and many
authors pick 0.1. ganinv's option of that name means slope 0.2, so the word taken as the option built a net that was
not the author's, in silence (an outside audit: images 0.22-0.25 off for slopes 0.1 and 0.3, which the BatchNorm
statistics identify exactly from the weights alone). So:

- a slope the config gives (`negative_slope`, `leak`, ...) makes the option `leaky_relu:SLOPE`;
- a bare word leaves the slope to the statistics, which must then find a leaky ReLU. They cannot tell 0.01 from
  relu (the probe's noise is larger than the difference), so a net they read as relu takes PyTorch's default 0.01,
  said as an assumption; any other activation they find contradicts the config and is refused.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Optional

from ganinv import architectures
from ganinv.errors import ArchitectureError

# ---- field names -------------------------------------------------------------------------------------------------

# ganinv's option -> other codebases' field names for it (an adapter's own `aliases` are read first)
FIELDS: dict[str, tuple[str, ...]] = {
    "output": ("final_activation", "out_activation", "output_activation", "last_activation"),
    "prior": ("z_distribution", "latent_distribution", "noise_distribution"),
    # Keras's word for the image layout; not a bare `channels_last: true`, which in PyTorch scripts is the memory
    # format (timm's --channels-last), no layout of the values at all
    "image_layout": ("data_format",),
    "norm": ("normalization", "normalisation", "norm_type", "norm_layer"),
    "norm_eps": ("bn_eps", "batchnorm_eps", "batch_norm_eps", "bn_epsilon", "norm_epsilon"),
    "upsample": ("upsample_mode", "upsampling", "upsampling_mode", "upsample_type"),
}
FIELD_OPTIONS = {field: option for option, fields in FIELDS.items() for field in fields}
UPSAMPLE_FIELDS = ("upsample", "upsample_mode", "upsampling", "upsampling_mode", "upsample_type")
GENERATOR_BLOCKS = ("generator", "G", "netG", "model.generator")  # a config's block of the generator's own fields

# ---- words -------------------------------------------------------------------------------------------------------

LEAKY_WORDS = frozenset({"leaky_relu", "leakyrelu", "lrelu", "leaky"})  # spellings of other codebases' configs
SLOPE_FIELDS = ("negative_slope", "leaky_relu_slope", "lrelu_slope", "relu_slope", "leak", "leakiness", "slope")
PYTORCH_DEFAULT_SLOPE = "leaky_relu:0.01"
# GELU's tanh approximation (transformers' names): ganinv's gelu is nn.GELU(), the exact erf form; they differ by
# up to 5e-4 per activation, which is said where the word is read
GELU_TANH_WORDS = frozenset({"gelu_new", "gelu_pytorch_tanh", "gelu_fast", "gelu_tanh"})
NONE_WORDS = {"none": "none", "identity": "none", "linear": "none"}
WORDS: dict[str, dict[str, str]] = {  # option -> {normalised word: ganinv's value}
    "activation": {
        "relu": "relu",
        **dict.fromkeys(LEAKY_WORDS, "leaky_relu"),
        "gelu": "gelu",
        **dict.fromkeys(GELU_TANH_WORDS, "gelu"),
        "silu": "silu",
        "swish": "silu",
        "elu": "elu",
        "mish": "mish",
        "selu": "selu",
        "tanh": "tanh",
        "sigmoid": "sigmoid",
        **NONE_WORDS,
    },
    "output": {"tanh": "tanh", "sigmoid": "sigmoid", **NONE_WORDS},
    # nn.Upsample's modes that an adapter builds (the upsample+conv layout); for a doubling, nearest-exact is nearest
    "upsample": {"nearest": "nearest", "nearest_exact": "nearest", "bilinear": "bilinear", "bicubic": "bicubic"},
    "norm": {
        **dict.fromkeys(("batch", "batchnorm", "batch_norm", "bn", "batchnorm1d", "batchnorm2d"), "batch"),
        **dict.fromkeys(("instance", "instancenorm", "instance_norm", "in", "instancenorm2d"), "instance"),
        **dict.fromkeys(("layer", "layernorm", "layer_norm", "ln"), "layer"),
        **dict.fromkeys(("group", "groupnorm", "group_norm", "gn"), "group"),
        "none": "none",
        "identity": "none",
    },
    "prior": {
        **dict.fromkeys(("normal", "gaussian", "randn", "standard_normal", "std_normal"), "normal"),
        "uniform": "uniform",  # ganinv's word: U(-1, 1); the BatchNorm statistics check it where one sees z
        **dict.fromkeys(("uniform01", "uniform_01", "uniform_0_1", "rand"), "uniform01"),
    },
    "image_layout": {
        **dict.fromkeys(("hwc", "channels_last", "nhwc"), "hwc"),
        **dict.fromkeys(("chw", "channels_first", "nchw"), "chw"),
    },
}
ACCEPTED = {  # what to say where a word is not in WORDS
    "activation": "ganinv's are relu, leaky_relu[:SLOPE], gelu, silu, elu, mish, selu, tanh and none (any case, usual "
    "synonyms): fix the config, choose with --option activation=NAME, or load the generator with --model-class "
    "(its own class)",
    "output": "ganinv builds tanh, sigmoid or none (identity, linear) last: fix the config, choose with --option "
    "output=NAME, or load the generator with --model-class (its own class)",
    "norm": "ganinv reads batch (batchnorm, bn, BatchNorm2d) and none: fix the config, or choose with --option "
    "norm=NAME",
    "prior": "accepted: normal (gaussian, randn), uniform (U(-1, 1)), uniform01 (U(0, 1), torch.rand): fix the "
    "config, or give the prior with --prior normal|uniform:-1,1|uniform:0,1",
    "image_layout": "accepted: channels_last (hwc) or channels_first (chw): fix the config, or choose with --option "
    "image_layout=hwc|chw",
    "upsample": "ganinv builds nearest, bilinear and bicubic upsampling (and bilinear_align_corners): fix the "
    "config, choose with --option upsample=NAME, "
    "or load the generator with --model-class (its own class)",
}
KIND = {
    "activation": "activation",
    "output": "output activation",
    "norm": "norm",
    "prior": "latent prior",
    "upsample": "upsampling",
}
# the architectures whose nets upsample (nearest) before convolutions: only there is a bilinear word the generator's
UPSAMPLING_ARCHITECTURES = frozenset({"upconv", "biggan", "lightweight_gan"})
NEAREST_WORDS = frozenset({"nearest", "nearest_exact"})  # what every upsampling adapter builds
UNMODELLED_UPSAMPLING = frozenset(
    {"bilinear", "bicubic", "linear", "trilinear", "area", "pixel_shuffle", "pixelshuffle"}
)

# what makes an unread field look architectural, and what makes it another part's (a folder, the discriminator's)
ARCHITECTURAL_TOKENS = frozenset(
    {"activation", "act", "nonlinearity", "norm", "normalization", "normalisation", "bn", "eps", "epsilon"}
    | {"upsample", "upsampling", "interpolation", "output", "prior", "distribution", "layout"}
)
OTHER_PART_TOKENS = frozenset({"dir", "path", "file", "folder", "url", "name", "d", "disc", "dis", "critic", "netd"})


def word(value: Any) -> str:
    """A config's word as the tables spell it: lower case, `_` for `-` and spaces, no `nn.` module path or `()`."""
    text = str(value).strip().lower().rpartition("nn.")[2].removesuffix("()")
    return re.sub(r"[-\s]+", "_", text)


def option_name(key: str, aliases: Mapping[str, str]) -> str:
    """The option a config field names: the adapter's alias, else a common spelling of a word option, else itself."""
    return aliases.get(key) or FIELD_OPTIONS.get(key, key)


def option_value(option: str, field: str, value: Any, label: str) -> Any:
    """A config's value of `option` (its field `field`) in ganinv's words; a word ganinv does not know is refused
    naming it (it was reported as contradicting the weights, or an internal KeyError)."""
    table = WORDS.get(option)
    if table is None:
        return value  # a size or a number, checked by the adapter
    family, colon, slope = str(value).partition(":")
    if option == "activation" and word(family) in LEAKY_WORDS and colon:
        return f"leaky_relu:{slope.strip()}"  # the slope is checked by the adapter
    found = known_word(table, value)
    if found is None:
        raise ArchitectureError(
            f"unknown {KIND.get(option, option)} word {value!r} in {label}'s {field}; {ACCEPTED[option]}"
        )
    return found


def foreign(key: str, aliases: Mapping[str, str], fields: Any) -> bool:
    """Whether `key` is another codebase's name of an option (`FIELDS`), not ganinv's own nor the adapter's alias."""
    return key in FIELD_OPTIONS and key not in aliases and key not in fields


def foreign_value(option: str, value: Any) -> Any:
    """A foreign-named field's value in ganinv's words, or None where it is not a word ganinv knows (or not a
    string): such a field is left unread and named, not refused (`normalization: [0.5, 0.5, 0.5]` is the input's)."""
    table = WORDS.get(option)
    if table is None:
        return value if is_number(value) else None
    return known_word(table, value) if isinstance(value, str) else None


def known_word(table: Mapping[str, str], value: Any) -> Optional[str]:
    """ganinv's value for a config's word in one option's table (`WORDS`), or None where it is not one of them."""
    return table.get(word(value)) if isinstance(value, (str, bool)) else None


def words_of(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a checkpoint's pickled config (a script's arguments) that are word options in words ganinv
    knows, to be named (`pickled_remedy`), not applied: a script's `output` is as often a folder, which is no word
    and is left out, unsaid."""
    found = {}
    for key, value in fields.items():
        option = option_name(key, {})
        if key in UPSAMPLE_FIELDS and word(value) in UNMODELLED_UPSAMPLING:
            found[key] = value
        elif option in ("output", "prior", "image_layout") and isinstance(value, (str, bool)):
            if word(value) in WORDS[option]:
                found[key] = value
    return found


def generator_block(config: Mapping[str, Any]) -> dict[str, Any]:
    """The config with a nested generator block's fields read as the generator's, where the top level has none of
    them (`{"generator": {"output": "sigmoid"}}` was dropped, an outside audit); a block that repeats top-level
    fields is left unread (and named by `unread_architectural`)."""
    for path in GENERATOR_BLOCKS:
        block: Any = config
        for part in path.split("."):
            block = block.get(part) if isinstance(block, Mapping) else None
        if isinstance(block, Mapping) and block and not set(block) & set(config):
            top = path.partition(".")[0]
            return {**{k: v for k, v in config.items() if k != top}, **block}
    return dict(config)


def refuse_unmodelled(config: Mapping[str, Any], label: str, arch: str, options: Any = None) -> None:
    """A field naming an upsampling no adapter builds is refused where the weights are read as an architecture that
    upsamples (`UPSAMPLING_ARCHITECTURES`): a bilinear net loaded as nearest was only a statistics misfit warning,
    images 0.24 off (an outside audit). Beside a net with no upsampling (transposed convolutions) the field is not
    the generator's, and is named as unread (an outside audit, 25a: such a DCGAN was refused)."""
    if arch not in UPSAMPLING_ARCHITECTURES:
        return
    built = WORDS["upsample"] if hasattr(options, "upsample") else {}  # an adapter with the option read the field
    for field in UPSAMPLE_FIELDS:
        if field in config and word(config[field]) in UNMODELLED_UPSAMPLING and word(config[field]) not in built:
            raise ArchitectureError(
                f"{label}'s {field}={config[field]!r}: no ganinv adapter builds {word(config[field])} upsampling "
                f"(the weights read as {arch}, which upsamples nearest); load the generator with --model-class "
                "MODULE:CLASS (its own class), or delete the field if it is not this generator's"
            )


def architectural(key: str) -> bool:
    """Whether a field's name is a word of what a generator computes (activation, norm, eps, upsampling, output,
    prior, layout), and not of a folder's or the discriminator's."""
    tokens = set(re.split(r"[^a-z0-9]+", re.sub(r"([a-z])([A-Z])", r"\1_\2", key).lower()))
    if key in GENERATOR_BLOCKS or key in FIELD_OPTIONS or key in UPSAMPLE_FIELDS:
        return True
    return bool(tokens & ARCHITECTURAL_TOKENS and not tokens & OTHER_PART_TOKENS)


def unread_architectural(config: Mapping[str, Any], ignored: list[str]) -> dict[str, Any]:
    """The unread fields (`ignored`) that look architectural: said, not dropped (an outside audit: a config's
    `final_activation: sigmoid` and `bn_eps` were recorded in the metadata alone). `upsample: nearest` is read:
    it is what the adapters build."""
    return {
        k: config[k]
        for k in ignored
        if k in config and architectural(k) and not (k in UPSAMPLE_FIELDS and word(config[k]) in NEAREST_WORDS)
    }


# the last activation whose range a config's unread `output_range: [0, 1]` states (an outside audit, 24b: named with
# --option KEY=VALUE alone); not applied: a net with no last activation may be trained on that range too
RANGE_ACTIVATIONS = {(0.0, 1.0): "sigmoid", (-1.0, 1.0): "tanh"}


def range_remedy(unread: Mapping[str, Any], output_options: bool) -> Optional[str]:
    """What to pass where an unread field states the images' range (`output_range: [0, 1]`), or None."""
    for key, value in unread.items():
        if "range" not in key.lower() or not isinstance(value, (list, tuple)) or len(value) != 2:
            continue
        if not all(is_number(v) for v in value):
            continue
        lo, hi = (float(v) for v in value)
        activation = RANGE_ACTIVATIONS.get((lo, hi))
        if activation and output_options:
            return (
                f"{key}={list(value)} is a final {activation.capitalize()}'s range: if the generator ends in one, "
                f"pass --option output={activation} (one with no last activation trained on it: --option output=none "
                f"--output-range {lo:g},{hi:g})"
            )
        return f"{key}={list(value)} may be the images' range: if so, pass --output-range {lo:g},{hi:g}"
    return None


def pickled_remedy(key: str, value: Any) -> str:
    """What to pass where a checkpoint's pickled `key=value` (a word ganinv knows, `words_of`) is the generator's."""
    if key in UPSAMPLE_FIELDS:
        built = WORDS["upsample"].get(word(value))
        if built:
            return f"--option upsample={built} (the upsample+conv layout), else --model-class MODULE:CLASS"
        return "--model-class MODULE:CLASS (no ganinv adapter builds it)"
    option = option_name(key, {})
    if option == "prior":
        prior = WORDS[option][word(value)]
        return "--prior " + {"normal": "normal", "uniform": "uniform:-1,1"}.get(prior, "uniform:0,1")
    return f"--option {option}={WORDS[option][word(value)]}"


def gelu_approximation(config: Mapping[str, Any], label: str) -> Optional[str]:
    """What to say where a config names GELU's tanh approximation, which ganinv builds as the exact GELU."""
    value = config.get("activation")
    if not isinstance(value, str) or word(value) not in GELU_TANH_WORDS:
        return None
    return (
        f"{label} says activation={value!r}, GELU's tanh approximation; ganinv builds the exact (erf) GELU, which "
        "differs from it by up to 5e-4 per activation, so images differ slightly from the author's; for exact ones "
        "load the generator with --model-class (its own class)"
    )


# ---- the leaky ReLU's slope ----------------------------------------------------------------------------------------


def read_leaky_activation(config: Mapping[str, Any], options: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """(config, bare): a config's leaky ReLU as the option it means: `leaky_relu:SLOPE` with a slope field, else
    the word dropped (`bare`: the statistics choose the slope, `settle_bare_leaky` checks their choice). A
    `--option activation=...` of the user's wins over the config, as every option does."""
    config = dict(config)
    value = config.get("activation")
    if "activation" in options or not isinstance(value, str) or word(value) not in LEAKY_WORDS:
        return config, False
    slope = next((config[k] for k in SLOPE_FIELDS if is_number(config.get(k))), None)
    if slope is not None:
        config["activation"] = f"leaky_relu:{slope:g}"  # a slope outside [0, 1) is refused by the adapter, named
        return config, False
    del config["activation"]
    return config, True


def settle_bare_leaky(decided: Optional[str], config_label: str, where: str) -> Optional[dict[str, Any]]:
    """The assumed decision for a config's bare `leaky_relu` where the statistics read `decided`: None where they
    found a leaky ReLU themselves (or the architecture has no such option), PyTorch's default slope where they read
    relu; any other activation is refused."""
    if decided is None or decided.startswith("leaky_relu"):
        return None
    if decided == "relu":
        return architectures.decision(
            "activation",
            PYTORCH_DEFAULT_SLOPE,
            f"assumed: {config_label} says leaky_relu without a slope, and the BatchNorm statistics cannot tell "
            "PyTorch's default slope 0.01 from relu",
            "--option activation=leaky_relu:SLOPE",
        )
    raise ArchitectureError(
        f"{config_label} says the activation is a leaky ReLU, but the BatchNorm statistics of the weights {where} "
        f"fit {decided}, not a leaky ReLU of any usual slope: fix the config, or choose with --option "
        f"activation={decided} (or leaky_relu:SLOPE)"
    )


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
