"""ganinv: data-free inference models for pretrained GAN generators.

    import ganinv
    G = ganinv.load_generator("builtin:mnist")              # any source: hub:owner/name, a file, ...
    result = ganinv.fit(ganinv.FitConfig(generator="builtin:mnist", steps=2000), "runs/quickstart")
    inverter = ganinv.Inverter.load("runs/quickstart")
    posterior = inverter.encode(images)                     # (B, C, H, W): uint8, [0, 255], [0, 1] or [-1, 1]
    bounds = ganinv.log_likelihood(inverter, images, ks=(1, 16, 256))

The names below are the public API; they are imported on first use, so `import ganinv` is
cheap (the command line starts without loading torch until a command needs it).
"""

from __future__ import annotations

import importlib
import sys
import types
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("ganinv")
except PackageNotFoundError:  # run from a source tree that is not installed
    __version__ = "0.0.0"

_EXPORTS = {
    "load_generator": "ganinv.sources",
    "save_generator": "ganinv.sources",
    "Generator": "ganinv.generator",
    "GeneratorSpec": "ganinv.spec",
    "Latents": "ganinv.spec",
    "Inverter": "ganinv.inverter",
    "Posterior": "ganinv.inverter",
    "fit": "ganinv.fit",
    "FitConfig": "ganinv.fit",
    "DreamingConfig": "ganinv.dreaming",
    "invert": "ganinv.invert",
    "log_likelihood": "ganinv.loglik",
    "load_images": "ganinv.data",
    "MVAE": "ganinv.mvae.model",
    "GaninvError": "ganinv.errors",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


class _Package(types.ModuleType):
    """`ganinv.fit` and `ganinv.invert` are functions, though modules of the same names exist: importing
    those modules (`from ganinv.fit import FitConfig`) must not replace the functions on the package."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _FUNCTIONS_OVER_MODULES and isinstance(value, types.ModuleType):
            return  # the module stays reachable as sys.modules["ganinv." + name]
        super().__setattr__(name, value)


_FUNCTIONS_OVER_MODULES = {"fit", "invert"}
sys.modules[__name__].__class__ = _Package


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'ganinv' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return __all__
