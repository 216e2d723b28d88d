"""`GeneratorReference`: for models that use a frozen generator without owning its weights.

The `Inverter` and the `MVAE` atop a generator both keep a *reference* (`generator_ref`: the
source string, the architecture and options it was loaded with, its provenance) rather than a
submodule, so their state dicts hold only what they learned. The generator is loaded on first
use, follows the model's `.to(...)`, and must have the spec the model was trained for.
"""

from __future__ import annotations

from typing import Optional

import torch

from ganinv.errors import SourceError
from ganinv.generator import Generator


class GeneratorReference:
    """Mixin for an `nn.Module` with attributes `spec` and `generator_ref`; call `_init_generator_reference()`."""

    spec: Optional[object]
    generator_ref: dict

    def _init_generator_reference(self) -> None:
        self.__dict__["_generator"] = None  # a reference, not a submodule: not in the state dict

    def attach(self, generator: Generator):
        if generator.spec != self.spec:
            expected = self.spec.to_dict() if self.spec is not None else "no generator"
            raise SourceError(f"the generator {generator.source!r} has spec {generator.spec.to_dict()}, but this "
                              f"{type(self).__name__} was trained for {expected}; give the generator it was trained for")
        self.__dict__["_generator"] = generator
        return self

    def _generator_source(self) -> tuple[Optional[str], dict]:
        """Where to load the generator from, and the reference (arch, options) to load it with."""
        return self.generator_ref.get("source"), self.generator_ref

    @property
    def generator(self) -> Generator:
        """The referenced generator, loaded on first use."""
        if self._generator is None:
            from ganinv.sources import load_generator

            source, ref = self._generator_source()
            if not source:
                raise SourceError(f"this {type(self).__name__} has no generator reference; "
                                  "attach one with .attach(generator)")
            self.attach(load_generator(source, arch=ref.get("arch"), options=ref.get("options"), device=self.device))
        return self._generator

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def _apply(self, fn, *args, **kwargs):
        out = super()._apply(fn, *args, **kwargs)
        if self._generator is not None:  # keep the generator beside the model
            self._generator._apply(fn, *args, **kwargs)
        return out
