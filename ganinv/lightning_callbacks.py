"""The states of a Lightning checkpoint's weight-averaging callbacks, where an averaged generator may live.

Lightning saves each callback's `state_dict()` under `checkpoint["callbacks"][state_key]`, the state key being the
callback's class name, followed by its arguments where they tell two instances apart (`EMACallback{'decay': 0.999}`).
EMA callbacks keep their average there: a whole state dict of the LightningModule (`ema_state_dict`), or torch_ema's
list of `shadow_params` (read by `weight_files.shadow_lists`). An outside audit (39a) saw such an average named only
as "another copy" (images 0.57 from the average its authors sample from) or, as a list, not named at all.
"""

from __future__ import annotations

import re
from typing import Any, Iterator, Mapping

# Words of a callback's class name that say it keeps a moving average that its authors sample from (EMA,
# EMACallback, ExponentialMovingAverage, PolyakAveraging). Not Lightning's StochasticWeightAveraging: mid-training its
# average_model_state holds BatchNorm statistics that are only recomputed when training ends, so it stays "another
# copy", named with its #ENTRY.
AVERAGING_WORDS = frozenset({"ema", "exponential", "polyak", "shadow"})


def class_words(state_key: str) -> set[str]:
    """`EMACallback{'decay': 0.9}` -> {ema, callback}: the class name's words, acronyms kept whole."""
    name = re.split(r"[{(\[]", state_key, maxsplit=1)[0]
    return {w.lower() for w in re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+", name)}


def averaging_callbacks(checkpoint: Any) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(dotted path, state) of each weight-averaging callback's state in a Lightning checkpoint, in saved order."""
    callbacks = checkpoint.get("callbacks") if isinstance(checkpoint, Mapping) else None
    if not isinstance(callbacks, Mapping):
        return
    for key, state in callbacks.items():
        if isinstance(key, str) and isinstance(state, Mapping) and class_words(key) & AVERAGING_WORDS:
            yield f"callbacks.{key}", state
