"""A foreign config's word for the hidden activation, read as evidence (`sources.build_from_config`).

Other codebases' configs say `"activation": "leaky_relu"` and mean *a* leaky ReLU: PyTorch's default slope is
0.01, DCGAN's 0.2, Keras's 0.3, and many authors pick 0.1. ganinv's option of that name means slope 0.2, so the
word taken as the option built a net that was not the author's, in silence (an outside audit: images 0.22-0.25 off
for slopes 0.1 and 0.3, which the BatchNorm statistics identify exactly from the weights alone). So:

- a slope the config gives (`negative_slope`, `leak`, ...) makes the option `leaky_relu:SLOPE`;
- a bare word leaves the slope to the statistics, which must then find a leaky ReLU. They cannot tell 0.01 from
  relu (the probe's noise is larger than the difference), so a net they read as relu takes PyTorch's default 0.01,
  said as an assumption; any other activation they find contradicts the config and is refused.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

from ganinv import architectures
from ganinv.errors import ArchitectureError

LEAKY_WORDS = frozenset({"leaky_relu", "leakyrelu", "lrelu", "leaky"})  # spellings of other codebases' configs
SLOPE_FIELDS = ("negative_slope", "leaky_relu_slope", "lrelu_slope", "relu_slope", "leak", "leakiness", "slope")
PYTORCH_DEFAULT_SLOPE = "leaky_relu:0.01"


def read_leaky_activation(config: Mapping[str, Any], options: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """(config, bare): a config's leaky ReLU as the option it means: `leaky_relu:SLOPE` with a slope field, else
    the word dropped (`bare`: the statistics choose the slope, `settle_bare_leaky` checks their choice). A
    `--option activation=...` of the user's wins over the config, as every option does."""
    config = dict(config)
    word = config.get("activation")
    if "activation" in options or not isinstance(word, str) or word.lower().replace("-", "_") not in LEAKY_WORDS:
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
