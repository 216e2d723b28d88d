"""`GeneratorReference`: artifacts of models that use a frozen generator without owning its weights.

The `Inverter` and the `MVAE` atop a generator both keep a *reference* (`generator_ref`: the
source string, the architecture and options it was loaded with, its provenance) rather than a
submodule, so their state dicts hold only what they learned. The generator is loaded on first
use, follows the model's `.to(...)`, and must have the spec the model was trained for.

Saving and loading go through `huggingface_hub.PyTorchModelHubMixin`'s hooks:
`_save_pretrained` writes the weights as safetensors and, when the generator has a registered
architecture, a copy of it in `generator/` (so `push_to_hub` uploads a self-contained artifact);
`_from_pretrained` reads a local folder or a Hub snapshot of just the artifact's files, strictly.
`save_pretrained` replaces the target folder atomically.

An artifact is data: the generator it names is loaded with that artifact as its origin, so a
source that is code (`module:callable`, a program, a full pickle) is refused unless the user
names it (`generator=`, the CLI's `--generator`) or passes `trust_remote_code` (ganinv.trust).
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
import re
import shutil
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Mapping, Optional, Union

import torch

from ganinv import hub, trust
from ganinv.architectures import READ_BEFORE_DECIDED, shown
from ganinv.atomic import parse_json, read_text
from ganinv.errors import (
    ConfigError,
    GaninvError,
    SourceError,
    SpecMismatchError,
    UnsafeFileError,
    first_line,
    out_of_resources,
)
from ganinv.generator import Generator
from ganinv.spec import GeneratorSpec
from ganinv.weight_files import TENSORS_KEY, state_dict_sha256, tensors_sha256

if TYPE_CHECKING:  # what the mixin is placed beside: the type checker reads its `self` as such a model
    from huggingface_hub import PyTorchModelHubMixin

    class _Model(torch.nn.Module, PyTorchModelHubMixin):
        pass
else:
    _Model = object

WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "config.json"
GENERATOR_DIR = "generator"  # the bundled copy of the generator, in ganinv's generator layout
ARTIFACT_FILES = [CONFIG_NAME, WEIGHTS_NAME, "README.md", f"{GENERATOR_DIR}/*"]  # all a Hub download fetches
# what a save may replace: its own files, and what the Hub client writes beside them (every repo's .gitattributes,
# the .cache/huggingface/ of a `hf download --local-dir` copy)
SAVED_NAMES = frozenset({CONFIG_NAME, WEIGHTS_NAME, "README.md", GENERATOR_DIR, ".gitattributes", ".cache"})
BUNDLED_SHA256 = "bundled_weights_sha256"  # generator_ref's record of generator/model.safetensors, as saved


# (run subfolder, the command that writes it, the options that take it): the two kinds of run with an artifact
OTHER_RUN_KINDS = (
    ("inverter", "`ganinv fit`", "--inverter (invert, features, loglik, cluster-accuracy)"),
    ("mvae", "`ganinv mvae fit`", "--mvae (ganinv mvae features, ganinv mvae eval)"),
)


class GeneratorReference(_Model):
    """Mixin placed before `nn.Module` and `PyTorchModelHubMixin` in a model's bases, for a model with attributes
    `spec` and `generator_ref`; its `__init__` calls `_init_generator_reference()`."""

    spec: Optional[GeneratorSpec]
    generator_ref: dict
    # set in `__dict__` by `_init_generator_reference` and the loaders
    _generator: Optional[Generator]
    _artifact_dir: Optional[Path]
    _hub_id: Optional[str]
    _trust_remote_code: bool
    _include_generator: Optional[bool]
    _publishing: bool
    run_subfolder: ClassVar[str]  # where a run folder keeps this kind of artifact, e.g. "inverter"
    artifact_noun: ClassVar[str]  # what messages call it, e.g. "inverter"
    fit_command: ClassVar[str]  # the command that makes one, e.g. "ganinv fit"

    def _init_generator_reference(self) -> None:
        # references, not submodules: none of these is in the state dict
        self.__dict__["_generator"] = None
        self.__dict__["_artifact_dir"] = None  # the folder it was loaded from (a bundled generator/ lives there)
        self.__dict__["_hub_id"] = None  # the hub id it was loaded from: its generator_ref may not name local files
        self.__dict__["_trust_remote_code"] = False  # the user's flag for the command that loaded it
        self.__dict__["_include_generator"] = None  # for the save in progress: None = when it can be saved
        self.__dict__["_publishing"] = False  # for the save in progress: a push_to_hub's

    # ---- the generator ------------------------------------------------------------------------
    def attach(self, generator: Generator):
        if self.spec is None:  # "trained for no generator; give the generator it was trained for" (an outside audit)
            raise SourceError(
                f"this {type(self).__name__} is standalone (its own decoder, trained on images): it takes no "
                "generator; drop --generator"
            )
        if generator.spec != self.spec:  # the fields that differ: two whole specs were 600 characters to compare
            given, expected = generator.spec.to_dict(), self.spec.to_dict()
            differ = [
                f"{k} {shown(given.get(k))} (trained for {shown(v)})" for k, v in expected.items() if given.get(k) != v
            ]
            raise SourceError(
                f"the generator {generator.source!r} is not one this {type(self).__name__} was trained for: its "
                f"{', '.join(differ)}; give the generator it was trained for"
            )
        self.__dict__["_generator"] = generator
        return self

    def _bundled_generator(self) -> Optional[Path]:
        folder = self._artifact_dir / GENERATOR_DIR if self._artifact_dir is not None else None
        if folder is not None and folder.is_symlink():  # a Hub snapshot links files, never this folder
            raise SourceError(
                f"{folder} is a symbolic link (to {os.readlink(folder)}): an artifact bundles its generator's own "
                "files; copy them into it, or name the generator with --generator"
            )
        if folder is None or self._artifact_dir is None or not (folder / CONFIG_NAME).is_file():
            return None
        # its files are its own: a Hub snapshot links them to the repo's blobs/, a local artifact holds copies; a link
        # out of either read (and, re-saved and pushed, published) a file the artifact's author chose (audit 15)
        root = artifact_root(self._artifact_dir)
        for path in (folder / name for name in (CONFIG_NAME, WEIGHTS_NAME, "pytorch_model.bin")):  # what is read
            if path.is_symlink() and not path.resolve().is_relative_to(root):
                raise SourceError(
                    f"{path} is a link out of the {self.artifact_noun} artifact (to {os.readlink(path)}): an artifact "
                    "bundles its generator's own files; copy them into it, or name the generator with --generator"
                )
        if not (folder / WEIGHTS_NAME).is_file():  # ganinv bundles model.safetensors, always: a FileNotFoundError
            from ganinv.sources.programs import is_program, program_kind  # had named the cache (an outside audit)

            held = [
                f"{p.name}, a {program_kind(p)} program (code)" if p.is_file() and is_program(p) else p.name
                for p in sorted(folder.iterdir())
                if p.name != CONFIG_NAME
            ][:3]
            raise SourceError(
                f"the {self.artifact_noun} artifact {self._hub_id or self._artifact_dir} bundles a {GENERATOR_DIR}/ "
                f"without {WEIGHTS_NAME} (it holds {', '.join(held) or 'no weights'}): it is incomplete or not "
                "ganinv's; give the generator it was fitted on with --generator"
            )
        return folder

    @property
    def generator(self) -> Generator:
        """The generator: the copy bundled in the artifact, else the recorded source, loaded on first use."""
        if self._generator is None:
            from ganinv.sources import load_generator

            where = (  # a Hub artifact by the id the user typed, not the cache's snapshot folder (an outside audit)
                f"the {self.artifact_noun} artifact {self._hub_id or self._artifact_dir}"
                if self._artifact_dir
                else f"this {self.artifact_noun}'s generator_ref"
            )
            bundled = self._bundled_generator()
            source: Optional[str]
            if bundled is not None:
                self._check_bundled_weights(bundled, where)
                source, ref = str(bundled), {}
            else:
                source, ref = self.generator_ref.get("source"), dict(self.generator_ref)
                meta = ref.get("meta") or {}
                if "model_class" in meta and "model_class" not in (ref.get("options") or {}):
                    # loaded through the user's own class: reload it the same way (still code: ganinv.trust)
                    ref["options"] = {
                        **(ref.get("options") or {}),
                        "model_class": meta["model_class"],
                        "model_kwargs": meta.get("model_kwargs") or {},
                    }
            if not source:
                raise SourceError(
                    f"this {type(self).__name__} names no generator (its generator_ref has no source); give the "
                    "generator it was fitted on with --generator (in Python: .attach(generator))"
                )
            if self._hub_id and bundled is None and is_local_source(source):  # callables: ganinv.trust decides
                raise SourceError(  # a stranger's artifact would choose which of the user's files to read
                    f"the {self.artifact_noun} artifact {self._hub_id} names a local generator "
                    f"({source}), which only its author's machine has; give the generator with --generator"
                )
            recorded = ref.get("meta") or {}
            if bundled is None and is_local_source(source) and not Path(source).exists():
                fitted_on = recorded.get("weights_sha256")
                raise SourceError(  # e.g. a bundled copy deleted: the record names the file only (its path is private)
                    f"{where} was fitted on the generator {source}"
                    + (f" (weights sha256 {fitted_on[:12]})" if fitted_on else "")
                    + ", which is not bundled in it and not found from here; give the generator with --generator"
                )
            fitted = with_fitted_readings(ref)
            refuse_a_path_to_read(fitted, where)
            generator = load_generator(
                # the commit and file it was fitted on, not the branch's head or a choice among the cached files
                hub.pinned(source, recorded.get("revision"), (recorded.get("hub") or {}).get("file")),
                arch=ref.get("arch"),
                options=fitted,
                device=self.device,
                trust_remote_code=self._trust_remote_code,
                origin=where,
            )
            fitted_on, found = recorded.get("weights_sha256"), generator.meta.get("weights_sha256")
            if fitted_on and found and fitted_on != found:
                raise SourceError(
                    f"{where} was fitted on the generator {source} with weights sha256 {fitted_on[:12]}, but {source} "
                    f"now holds {found[:12]}: the file was replaced since; give the original with --generator, or "
                    "fit again"
                )
            self.attach(generator)
            return generator
        return self._generator

    def _check_bundled_weights(self, bundled: Path, where: str) -> None:
        """Refuse a bundled generator whose weights are not the ones the artifact was saved with (its sha256 in
        generator_ref, where an artifact records it)."""
        from ganinv.sources import file_sha256

        saved = self.generator_ref.get(BUNDLED_SHA256)
        if not isinstance(saved, str):
            return
        found = file_sha256(bundled / WEIGHTS_NAME)
        if found != saved:
            raise SourceError(
                f"{where} bundles a generator whose weights (sha256 {found[:12]}) are not the ones it was saved with "
                f"(sha256 {saved[:12]}): its {GENERATOR_DIR}/ was replaced since, and the encoders were fitted to "
                f"another generator; restore it, give the generator it was fitted on with --generator, or fit again"
            )

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def _apply(self, fn, *args, **kwargs):
        out = super()._apply(fn, *args, **kwargs)
        if self._generator is not None:  # the generator follows the model's device, never its dtype: .double() or
            self._generator.to(self.device)  # .to(bfloat16) rounded a user's own module for good (an outside audit)
        return out

    # ---- saving (PyTorchModelHubMixin hooks) ---------------------------------------------------
    def save_pretrained(
        self,
        save_directory: Union[str, Path],
        *,
        include_generator: Optional[bool] = None,
        repo_id: Optional[str] = None,
        push_to_hub: bool = False,
        **kwargs: Any,
    ) -> Optional[str]:
        """Write config.json + model.safetensors (+ generator/), replacing `save_directory` atomically.

        `include_generator`: None bundles the generator when it has a registered architecture; True requires
        it; False never. With `push_to_hub=True` the repo defaults to the folder's name (the mixin's rule).
        """
        from ganinv.atomic import atomic_dir

        target = Path(save_directory)
        self.__dict__["_include_generator"] = include_generator
        try:
            with atomic_dir(target, replaces=SAVED_NAMES) as tmp:
                super().save_pretrained(tmp, **kwargs)
                if self._publishing or (tmp / GENERATOR_DIR).is_dir():
                    name_local_generator_by_file_name(tmp)
        finally:
            self.__dict__["_include_generator"] = None
        if push_to_hub:
            return self.push_to_hub(repo_id or target.name, **kwargs)
        return None

    def push_to_hub(self, repo_id: str, **kwargs: Any) -> str:
        """The mixin's upload of what `save_pretrained` writes, naming a local generator by its file name only."""
        self.__dict__["_publishing"] = True
        try:
            return super().push_to_hub(repo_id, **kwargs)
        finally:
            self.__dict__["_publishing"] = False

    def _save_pretrained(self, save_directory: Path) -> None:
        from safetensors.torch import save_model

        save_model(self, str(save_directory / WEIGHTS_NAME))
        include, bundled = self._include_generator, self._bundled_generator()
        if include is False:
            return
        if self._generator is None and bundled is not None:  # loaded from an artifact, generator not used yet
            # a copy replaced since is refused, not saved under a new record of its sha256 (a review)
            self._check_bundled_weights(bundled, f"the {self.artifact_noun} artifact {self._artifact_dir}")
            copy_bundled_generator(bundled, save_directory / GENERATOR_DIR)
        elif self._generator is not None and self._generator.meta.get("architecture") not in (None, "opaque"):
            from ganinv.sources import save_generator

            save_generator(self._generator, save_directory / GENERATOR_DIR)
        elif include:
            raise SourceError(
                f"cannot bundle the generator in the {type(self).__name__} artifact: only generators "
                "of a registered architecture can be saved (programs and callables are referenced)"
            )
        else:
            return
        self._write_config_with_bundled_sha256(save_directory)

    def _write_config_with_bundled_sha256(self, save_directory: Path) -> None:
        """config.json with the sha256 of the bundled generator's weights in its generator_ref, so that a load reads
        the copy the artifact was saved with: a generator/ replaced since (another run's copied in, a Hub repo's
        updated alone) was used in silence (an outside audit). Written here, in the hook: the mixin keeps a
        config.json its `_save_pretrained` wrote, and writes its own config otherwise."""
        from ganinv.sources import file_sha256

        config = dict(getattr(self, "_hub_mixin_config", None) or {})
        if "generator_ref" not in config:
            return
        sha = file_sha256(save_directory / GENERATOR_DIR / WEIGHTS_NAME)
        config["generator_ref"] = {**(config["generator_ref"] or {}), BUNDLED_SHA256: sha}
        (save_directory / CONFIG_NAME).write_text(json.dumps(config, sort_keys=True, indent=2))

    # ---- loading (PyTorchModelHubMixin hooks) --------------------------------------------------
    @classmethod
    def _from_pretrained(
        cls,
        *,
        model_id: str,
        revision: Optional[str],
        cache_dir: Optional[Union[str, Path]],
        force_download: bool,
        local_files_only: bool,
        token: Optional[Union[str, bool]],
        map_location: str = "cpu",
        strict: bool = True,
        trust_remote_code: bool = False,
        label: Optional[str] = None,
        **model_kwargs: Any,
    ):
        """`label`: how messages name the artifact (the `hub:` id the user typed, not a cache folder)."""
        from safetensors import SafetensorError
        from safetensors.torch import load_model

        if os.path.isdir(model_id):
            folder = Path(model_id)
        else:  # a Hub id: just the artifact's files, listed once (ganinv.hub; offline: the cache)
            from ganinv import hub

            folder = hub.snapshot(model_id, revision, ARTIFACT_FILES, needed=(CONFIG_NAME, WEIGHTS_NAME))
        label = label or model_id
        weights = folder / WEIGHTS_NAME
        try:
            with torch.device("meta"):  # sized by the config, but nothing allocated until the weights agree
                model = cls(**model_kwargs)
        except TypeError as exc:  # a run folder's config.json, or another artifact's (an outside audit, 53c)
            raise SourceError(
                f"{label}'s config.json is not an {cls.artifact_noun}'s ({first_line(exc)}); give the folder "
                f"`ganinv` saved the {cls.artifact_noun} in, or load a run folder with {cls.__name__}.load(RUN)"
            ) from None
        _check_weights_fit(model, weights, label, cls.artifact_noun)
        model = model.to_empty(device=map_location)
        try:
            load_model(model, str(weights), strict=strict, device=str(map_location))
        except (SafetensorError, RuntimeError, OSError) as exc:
            raise SourceError(
                f"cannot load an {cls.artifact_noun} from {label}: its weights do not fit its "
                f"config.json ({first_line(exc)}); the artifact is damaged, save or download it "
                "again"
            ) from None
        _check_finite(model, label, cls.artifact_noun)
        model.__dict__["_artifact_dir"] = folder
        from_hub = not os.path.isdir(model_id) or label.startswith("hub:")  # load() passes a hub id's snapshot
        model.__dict__["_hub_id"] = label if from_hub else None
        model.__dict__["_trust_remote_code"] = trust.check_flag(trust_remote_code)
        return model.eval()

    @classmethod
    def load(
        cls,
        source: str,
        device: Optional[Union[str, torch.device]] = None,
        *,
        generator: Optional[Union[str, Generator]] = None,
        trust_remote_code: bool = False,
    ):
        """From an artifact folder, a run folder (its `run_subfolder`), a Hub id (`hub:owner/name[@rev]`), or
        `builtin:NAME`, the one shipped with a built-in generator.

        `generator` replaces the generator the artifact names (a source string the user typed, or a
        loaded Generator); it must have the spec the model was trained for.
        """
        from ganinv.sources import source_text

        name = cls.artifact_noun
        source = source_text(source, name)
        trust.check_flag(trust_remote_code)
        if isinstance(generator, os.PathLike):
            generator = os.fspath(generator)
        if generator is not None and not isinstance(generator, (str, Generator)):
            raise ConfigError(
                f"generator= takes a source string or a loaded Generator, got {type(generator).__name__} {generator!r}"
            )
        if device is not None:  # a device this machine has, refused as the CLI refuses it ("gpu", "meta")
            from ganinv.devices import resolve_device

            device = resolve_device(device)
        path = Path(source)
        if path.is_dir():
            if (path / cls.run_subfolder / CONFIG_NAME).is_file():
                path = path / cls.run_subfolder
        elif source.startswith("builtin:"):
            from ganinv.sources import BUILTIN_DIR, builtin_names

            builtin = source.removeprefix("builtin:")
            path = BUILTIN_DIR / builtin / cls.run_subfolder
            if builtin not in builtin_names() or not path.is_dir():
                shipped = [n for n in builtin_names() if (BUILTIN_DIR / n / cls.run_subfolder).is_dir()]
                raise SourceError(
                    f"no {name} is shipped for {source}; built-ins with one: {', '.join(shipped) or 'none'} "
                    "(fit your own and give its folder)"
                )
        elif source.startswith("hub:") or (
            source.count("/") == 1 and not source.startswith(("/", ".", "~")) and not path.parent.is_dir()
        ):  # owner/name, unless owner is a local folder (a mistyped run path is not a Hub id)
            from ganinv import hub

            repo, _, revision = source.removeprefix("hub:").partition("@")
            try:
                path = hub.snapshot(repo, revision or None, ARTIFACT_FILES, needed=(CONFIG_NAME, WEIGHTS_NAME))
            except SourceError as exc:
                if source.startswith("hub:"):
                    raise
                # a mistyped run folder read as owner/name said only "hub:runs/apii is not in the cache"
                raise SourceError(f"{source} is no folder here, and read as a Hub repo id: {exc}") from None
            source = hub.PREFIX + source.removeprefix("hub:")  # a bare owner/name read as a folder of its own: its
            # snapshot's links to blobs/ were "links out of the artifact", named by the cache folder
        else:
            what = "is a file, not a folder" if path.exists() else "does not exist"
            raise SourceError(
                f"{source} {what}; give an {name}: a run folder, an artifact folder or a Hub repo id (hub:owner/name)"
            )
        if path.is_dir() and not (path / cls.run_subfolder).is_dir():
            _refuse_a_run_being_written(path, source, name)
        other = next((o for o in OTHER_RUN_KINDS if o[0] != cls.run_subfolder and (path / o[0]).is_dir()), None)
        if (path / "checkpoints").is_dir() and not (path / cls.run_subfolder).is_dir() and other is not None:
            raise SourceError(  # a finished run of the other kind: `--resume` would change nothing (an outside audit)
                f"{source} is a finished {other[1]} run (it holds {other[0]}/), not one with an {name}; give it to "
                f"{other[2]}, or give an {name}: a `{cls.fit_command}` run folder, an artifact folder or a Hub repo"
            )
        if (path / "checkpoints").is_dir() and not (path / cls.run_subfolder).is_dir():
            raise SourceError(
                f"{source} is a run that has not finished (checkpoints, but no {cls.run_subfolder}/ yet); finish it "
                f"with `{_run_command(path, cls.fit_command)} --resume --out {source}`, or give a finished run"
            )
        if not (path / CONFIG_NAME).is_file():
            raise SourceError(
                f"{source} holds no {name} (no config.json); give a finished run folder, an "
                "artifact folder or a Hub repo of one"
            )
        config = _check_config(path / CONFIG_NAME, source, name, cls.run_subfolder)
        unread = sorted(set(config) - set(_init_fields(cls)))
        if unread:  # a hand edit's misspelt sigma_x fell back to the default in silence (an outside audit)
            warnings.warn(
                f"the config.json of {source} holds {', '.join(map(repr, unread[:6]))}, which no {name} takes: not "
                f"read (misspelt? an {name} takes {', '.join(_init_fields(cls))})",
                stacklevel=2,
            )
        try:
            model = cls.from_pretrained(str(path), strict=True, trust_remote_code=trust_remote_code, label=source)
        except SourceError:
            raise
        except Exception as exc:  # the Hub client's errors, and configs that do not build a model
            if out_of_resources(exc):  # a memory limit is no damage: "download it again" sent users astray (51a)
                raise
            raise SourceError(_load_error(source, name, exc)) from None
        if generator is not None:
            given_in_python = isinstance(generator, Generator)
            if isinstance(generator, str):
                from ganinv.sources import load_generator

                # the user named it: when it is the recorded source, with the options it was fitted with, which
                # are the artifact's data (a model_class among them needs the user's word, ganinv.trust)
                recorded = model.generator_ref.get("source")
                same = (
                    generator == recorded
                    or (  # recorded by its file name only (name_local_generator_by_file_name)
                        isinstance(recorded, str) and "/" not in recorded and Path(generator).name == recorded
                    )
                    or _same_file(generator, recorded)  # ./g.ts for g.ts: its fitted options kept (a review)
                    or _holds_the_fitted_weights(generator, model.generator_ref)
                )
                ref = model.generator_ref if same else {}
                fitted = with_fitted_readings(ref)
                refuse_a_path_to_read(fitted, f"the {name} {source}")
                forced = {} if ref.get("options") else _program_spec(generator, model.spec)
                try:
                    generator = load_generator(
                        generator,
                        arch=ref.get("arch"),
                        options={**forced, **(fitted or {})} if forced else fitted,
                        trust_remote_code=trust_remote_code,
                        options_origin=f"the {name} {source}'s {CONFIG_NAME}" if fitted else None,  # the record's word
                    )
                except GaninvError as exc:  # the inverter's spec given to a program: its n_classes blamed on the user
                    spec = model.spec
                    if forced and spec is not None:
                        raise SourceError(
                            f"{generator} does not run as the generator the {name} {source} was fitted for (nz "
                            f"{spec.nz}, codes {spec.nc}, classes {spec.n_classes}, images "
                            f"{shown(spec.image_shape)}): {_diagnosis(first_line(exc))}; give the generator it was "
                            f"fitted on{FIT_ONE_FOR_IT}"
                        ) from None
                    said = first_line(exc)
                    if _diagnosis(said) == said or isinstance(exc, UnsafeFileError):
                        raise
                    raise type(exc)(
                        f"{_diagnosis(said)}; give the generator it was fitted on{FIT_ONE_FOR_IT}"
                    ) from None
            model.attach(generator)  # its spec against the one trained for, first
            if given_in_python:  # then probed as fit(generator=G) probes one (an outside audit, 41a)
                try:
                    generator.probe()
                except SpecMismatchError as exc:
                    exc.args = (f"the generator given with generator= ({generator.source or 'of no source'}): {exc}",)
                    raise
            _warn_if_another_generator(model, generator, source)
        if device is not None:
            model.to(device)
        return model


def with_fitted_readings(ref: dict[str, Any]) -> Optional[dict[str, Any]]:
    """The options of an artifact's generator reference, plus those that make the generator read as it was when the
    artifact was fitted: an option left to ganinv ("auto") as it was decided then (from a probe of the images, which
    another device or ganinv version may decide otherwise), and one ganinv did not decide then (READ_BEFORE_DECIDED).
    Another reading of the same weights decodes every latent to another image, so an inverter paired with it gave
    other reconstructions in silence (an outside review). Only options the user's own leave open are pinned."""
    given = ref.get("options")
    meta = ref.get("meta")
    if isinstance(meta, dict) and meta.get("model_class") and isinstance(meta.get("labels"), str):
        taken = given if isinstance(given, dict) else {}  # the form a --model-class probe gave its labels in
        return given if "labels" in taken else {**taken, "labels": meta["labels"]}
    if not isinstance(meta, dict) or not isinstance(meta.get("options"), dict):
        return given
    taken = given if isinstance(given, dict) else {}
    options, pinned = meta["options"], {}
    readable = _readings_of(meta.get("architecture"))
    for d in meta.get("decisions") or []:
        prop, value = (d.get("property"), d.get("value")) if isinstance(d, dict) else (None, None)
        if prop in readable and options.get(prop) == "auto" and prop not in taken and isinstance(value, str):
            pinned[prop] = value
    for prop, value in READ_BEFORE_DECIDED.get(str(meta.get("architecture")), {}).items():
        if prop not in options and prop not in taken:
            pinned[prop] = value
    return {**taken, **pinned} if pinned else given


# Options that choose code to run or a file to read: the user's word alone (ganinv.trust), never pinned from a record
NEVER_PINNED = frozenset({"model_class", "model_kwargs", "spec"})


def _readings_of(architecture: Any) -> frozenset[str]:
    """The options of a registered `architecture` that a fit's decisions may pin: its own Options' fields, less
    NEVER_PINNED. A record's decisions are data: any property name in them was pinned, `model_class` and `spec`
    among them, and an artifact ran code or read a file of its choosing (an outside audit)."""
    from ganinv import architectures

    if not isinstance(architecture, str) or architecture not in architectures.names():
        return frozenset()
    return frozenset(f.name for f in dataclasses.fields(architectures.get(architecture).Options)) - NEVER_PINNED


def _same_file(given: str, recorded: Any) -> bool:
    """Whether two local paths name one existing file, however spelt."""
    if not isinstance(recorded, str) or ":" in given or ":" in recorded:
        return False
    try:
        return Path(given).is_file() and Path(recorded).is_file() and Path(given).samefile(recorded)
    except OSError:
        return False


# Flags that set how a generator is read: `fit`'s and `sample`'s, not those of the commands that read one with an
# artifact (invert, features, loglik, ...), whose errors named them all the same (an outside audit)
GENERATOR_FLAGS = (
    "--arch",
    "--nz",
    "--latent-shape",
    "--image-shape",
    "--output-range",
    "--prior",
    "--spec",
    "--option",
)
ADVICE = re.compile(r": (?=(?:give|pass|check|choose|say) )")  # a colon before advice ends a clause too
FIT_ONE_FOR_IT = (
    " (a generator's own options, such as --arch, --nz, --latent-shape or --option, are given where an inverter is "
    "fitted: ganinv fit -g GENERATOR with them)"
)


def _diagnosis(message: str) -> str:
    """A load error's message without the clauses of its remedy that name flags only `fit` and `sample` take: its
    clauses at the outer level (separated by "; ", ". ", or ": " before advice; never inside parentheses, where a
    message's misfits and fallbacks sit) less those that name such a flag (an outside review: the first cut dropped a
    lag diagnosis and its --model-class remedy, which these commands take)."""
    cuts, depth = [0], 0
    for i, char in enumerate(message):
        depth += {"(": 1, "[": 1, ")": -1, "]": -1}.get(char, 0)
        sentence = message.startswith(". ", i) and not message[:i].endswith(("..", "e.g", "i.e"))
        if depth == 0 and (message.startswith("; ", i) or sentence or ADVICE.match(message, i)):
            cuts.append(i)
    cuts.append(len(message))
    clauses = [message[a:b] for a, b in zip(cuts, cuts[1:])]  # each but the first opens with its separator
    kept = [c for c in clauses if not any(flag in c for flag in GENERATOR_FLAGS)]
    if len(kept) == len(clauses) or not kept:
        return message
    first = kept[0]
    return (first[2:] if first[:2] in ("; ", ". ", ": ") else first) + "".join(kept[1:])


def _holds_the_fitted_weights(given: str, ref: Mapping[str, Any]) -> bool:
    """Whether a local file given holds the very weights the artifact was fitted on (their sha256 recorded): a copy or
    a move of the recorded file, read with the options it was fitted with. They were dropped, and a copy of a
    Sigmoid generator fitted with --option output=sigmoid was refused, or read with another activation and used in
    silence (an outside audit)."""
    from ganinv.sources import file_sha256

    meta = ref.get("meta")
    recorded = meta.get("weights_sha256") if isinstance(meta, dict) else None
    if not isinstance(recorded, str) or ":" in given or not Path(given).is_file():
        return False
    try:
        return file_sha256(given) == recorded
    except OSError:
        return False


def _refuse_a_run_being_written(path: Path, source: str, name: str) -> None:
    """A run folder another process still writes (its lock held): its artifact comes at its end. It was "holds no
    inverter artifact ... only runs that make an inverter do", or "finish it with --resume", which the lock refuses
    (an outside audit)."""
    from ganinv.errors import RunError
    from ganinv.runs import Run

    if not ((path / CONFIG_NAME).is_file() or (path / "checkpoints").is_dir()):
        return
    run = Run(path)
    try:
        run.lock()
    except RunError:
        raise SourceError(
            f"{source} is a run that another process is still writing; its {name} is written at its end: wait for "
            "it to finish, then give it again"
        ) from None
    finally:
        run.release()


def _program_spec(source: str, spec: Any) -> dict[str, Any]:
    """For a TorchScript or torch.export file given in place of the recorded generator: the spec the model was
    fitted for, as the program's own spec where it states none (`invert`, `loglik`, `features` take no --nz)."""
    from ganinv.sources import is_program

    path = Path(source)
    if not path.is_file() or not is_program(path):
        return {}
    fields = ("nz", "native_latent_shape", "image_shape", "n_classes", "nc")
    return {f"spec.{name}": getattr(spec, name) for name in fields if getattr(spec, name, None) is not None}


def users_module(generator: Generator) -> torch.nn.Module:
    """The module the user's source made: the program a generator wraps (a TorchScript or exported program, a module
    a callable returned), else its net."""
    program = getattr(generator.net, "program", None)
    return program if isinstance(program, torch.nn.Module) else generator.net


def _warn_if_other_weights(model: Any, generator: Generator, source: str, recorded: Any) -> None:
    """`_warn_if_another_generator` for a recorded generator that cannot be loaded without its code: its fingerprints
    against the given one's. The tensors in their order (`tensors_sha256`) where both have them; else, for an
    inverter made before them, the file's or the state dict's sha256."""
    fitted_meta = model.generator_ref.get("meta") or {}
    fitted_on, found = fitted_meta.get("weights_sha256"), generator.meta.get("weights_sha256")
    tensors = tensors_sha256(users_module(generator).state_dict())
    same_kind = ("callable" in fitted_meta) == ("callable" in generator.meta)  # two files, or two codes
    recorded_tensors = fitted_meta.get(TENSORS_KEY)
    if recorded_tensors and tensors and tensors != recorded_tensors:  # other weights, in whatever container
        fitted_on, found = recorded_tensors, tensors
    elif recorded_tensors and tensors:
        # the same weights; the code is the same only where the file is (its bytes) or the same callable gives
        # them: a callable of the same tensors with another forward, a program saved again, traced or wrapped,
        # cannot be told apart from them (reviews: told "another generator", or nothing)
        same_code = (
            same_kind and fitted_on == found and ("callable" not in generator.meta or recorded == generator.source)
        )
        if not same_code:
            warnings.warn(
                f"the generator {generator.source} holds the weights the {model.artifact_noun} {source} was "
                f"fitted on (tensors sha256 {tensors[:12]}) in another file or code than {recorded}'s: ganinv "
                "cannot tell whether its code computes the same images; its latents and scores hold only if so",
                stacklevel=4,
            )
        return
    elif fitted_meta.get("state_sha256"):  # fitted on a generator given in Python: its weights as they were
        fitted_on, found = fitted_meta["state_sha256"], state_dict_sha256(generator.net.state_dict())
    elif fitted_on and found and not same_kind:
        # an inverter made before tensors_sha256: a code's weights are fingerprinted by their state dict, a
        # file's by its bytes, which never agree (a review: the same weights were called another generator)
        warnings.warn(
            f"the {model.artifact_noun} {source} was fitted on {recorded or 'a generator'}, and "
            f"{generator.source} is given in its place: one's weights are code and the other's a file, whose "
            "fingerprints ganinv cannot compare; its latents and scores hold only if they are the same weights",
            stacklevel=4,
        )
        return
    if fitted_on and found and fitted_on != found:
        shown_name = generator.source or "given in Python"
        now, named = ("now holds", "its") if recorded == generator.source else ("holds", f"{recorded or 'one'}'s")
        how = f"`{model.fit_command} -g {generator.source}`" if generator.source else "fit(config, out, generator=G)"
        warnings.warn(
            f"the generator {shown_name} {now} weights of sha256 {found[:12]}, but the "
            f"{model.artifact_noun} {source} was fitted on {named} weights of sha256 {fitted_on[:12]}: its "
            f"latents and scores are for the earlier generator; fit one for this one with {how}",
            stacklevel=4,
        )


def _warn_if_another_generator(model: Any, generator: Generator, source: str) -> None:
    """A generator given in place of the recorded one must make the same images (an outside audit paired the MNIST
    inverter with the Fashion generator: same spec, rc 0, meaningless figures). Compared where the recorded one is
    data ganinv can load without running code: the copy bundled in the artifact, or a built-in."""
    from ganinv.sources import load_generator

    recorded = model.generator_ref.get("source")
    try:  # a swapped or incomplete copy is no yardstick: the generator given is then taken on the user's word, said
        bundled = model._bundled_generator()
        if bundled is not None:
            model._check_bundled_weights(bundled, f"the {model.artifact_noun} artifact {source}")
    except SourceError as exc:  # the advice to give one goes: one was given (a review)
        said = str(exc).removesuffix("; give the generator it was fitted on with --generator")
        warnings.warn(f"{said}. The generator given ({generator.source}) is taken as it is", stacklevel=3)
        return
    if bundled is not None:
        reference = str(bundled)
    elif isinstance(recorded, str) and recorded.startswith("builtin:"):
        reference = recorded
    else:  # not loadable without its code: the weights must be the ones recorded, however the source is spelled
        # (./g.ts, an absolute path, another file of the same spec, a published artifact's bare file name: only the
        # exact recorded string was compared, an outside audit)
        _warn_if_other_weights(model, generator, source, recorded)
        return
    if reference == generator.source:
        return
    with warnings.catch_warnings():  # the recorded generator's own assumptions were announced when it was fitted
        warnings.simplefilter("ignore")
        original = load_generator(reference, origin=f"the {model.artifact_noun} artifact {source}")  # its data
    latents = original.sample_latents(8, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        given = generator.decode(latents.to(generator.device)).cpu()
        difference = float((given - original.decode(latents)).abs().max())
    if difference > 1e-3:
        warnings.warn(
            f"the generator {generator.source!r} is not the one the {model.artifact_noun} {source} was fitted to "
            f"({recorded}; their images differ by up to {difference:.3g} on the same latents): its latents and "
            f"scores are for another generator; fit one for it with `{model.fit_command} -g {generator.source}`",
            stacklevel=3,
        )


def refuse_a_path_to_read(options: Any, where: str) -> None:
    """An artifact's recorded options name no file for ganinv to read: a Hub artifact's `spec` path made ganinv read
    and apply a file of the user's, or block on a FIFO (an outside audit). ganinv records a spec's fields instead."""
    if isinstance(options, dict) and "spec" in options:
        raise SourceError(
            f"{where} records options['spec'] = {str(options['spec'])!r}, a file to read; an artifact or run records "
            "a spec's fields (spec.FIELD), never a path on this machine: refused (give the generator with --generator "
            "and its spec flags)"
        )


def _check_weights_fit(model: torch.nn.Module, weights: Path, model_id: str, noun: str) -> None:
    """Compare the tensors the config implies with those the safetensors header lists, before reading any."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(weights), framework="pt") as handle:
            stored = {key: tuple(handle.get_slice(key).get_shape()) for key in handle.keys()}
            dtypes = {key: handle.get_slice(key).get_dtype() for key in handle.keys()}
    except (SafetensorError, OSError) as exc:
        raise SourceError(
            f"cannot load an {noun} from {model_id}: {weights.name} is not a readable safetensors "
            f"file ({first_line(exc)}); the artifact is damaged, save or download it again"
        ) from None
    from ganinv.architectures import describe_mismatch, shapes

    mismatch = describe_mismatch(shapes(model.state_dict()), stored)
    if mismatch:
        raise SourceError(
            f"cannot load an {noun} from {model_id}: its weights do not fit its config.json (shapes: "
            f"stored vs config): {mismatch}; the artifact is damaged or mixed up, save or download it "
            "again"
        )
    expected = {key: t.is_floating_point() for key, t in model.state_dict().items()}
    integral = [k for k, floating in expected.items() if floating and not dtypes.get(k, "F").startswith(("F", "BF"))]
    if integral:  # loaded cast to float without a word (an outside audit); no trained layer is stored so
        raise SourceError(
            f"cannot load an {noun} from {model_id}: {integral[0]} is stored as {dtypes[integral[0]]}, not as "
            "floating-point weights; the artifact is damaged or was replaced, save or download it again"
        )


def _check_finite(model: torch.nn.Module, model_id: str, noun: str) -> None:
    """Refuse NaN or infinite weights, named: they gave NaN features and MVAE figures with exit 0, or an error
    deep inside (an outside audit)."""
    for key, tensor in model.state_dict().items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            bad = int((~torch.isfinite(tensor)).sum())
            raise SourceError(
                f"cannot load an {noun} from {model_id}: {key} holds {bad} NaN or infinite value(s), which no "
                "trained model does; the artifact is damaged, save or download it again"
            )


def _run_command(folder: Path, default: str) -> str:
    """The command that made run `folder` (its config.json's key), else `default`."""
    from ganinv.config_checks import RUN_KINDS

    try:
        config = parse_json(read_text(folder / CONFIG_NAME))
    except (OSError, ValueError):
        return default
    held = [RUN_KINDS[k].strip("`") for k in RUN_KINDS if isinstance(config, dict) and k in config]
    return held[0] if held else default


def _init_fields(cls: type) -> list[str]:
    return list(inspect.signature(cls).parameters)


def _check_config(path: Path, source: str, name: str, subfolder: str) -> dict[str, Any]:
    """The artifact's config.json, refused where it is not one (damaged, a generator's, a run's) or has no weights."""
    from ganinv.weight_files import check_regular

    check_regular(path, f"the config.json of {source}", "a config")
    try:
        config = parse_json(read_text(path))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SourceError(
            f"the config.json of {source} is not valid JSON ({exc}); the {name} artifact is "
            "damaged: save or download it again"
        ) from None
    if isinstance(config, dict) and config.get("format") == "ganinv-generator":  # was "damaged: save it again"
        raise SourceError(
            f"{source} is a generator folder (ganinv's generator layout), not an {name}: give it with -g/--generator, "
            f"and as the {name} the run or artifact folder that holds it"
        )
    if isinstance(config, dict) and "spec" not in config and {"generator_ref", "width", "hidden"} & set(config):
        raise SourceError(
            f"the config.json of {source} has no spec field, which every {name} artifact records: the artifact is "
            "damaged or edited: save or download it again"
        )
    if not isinstance(config, dict) or "spec" not in config and "image_shape" not in config:
        from ganinv.config_checks import RUN_KINDS

        kinds = [RUN_KINDS[k] for k in RUN_KINDS if isinstance(config, dict) and k in config]
        what = f"a {kinds[0]} run folder" if kinds else "a run folder"
        raise SourceError(
            f"{source} holds no {name} artifact ({what}; a run writes {subfolder}/ at its end, and only runs that "
            f"make an {name} do); give a finished run folder of the right kind or an artifact folder"
        )
    weights = path.parent / WEIGHTS_NAME
    refuse_links_out(path.parent, (path, weights), source)
    if not weights.exists() and not weights.is_symlink():  # was "not a readable safetensors file ... damaged"
        pickles = sorted(p.name for p in path.parent.iterdir() if p.suffix in (".bin", ".pt", ".pth", ".ckpt", ".pkl"))
        held = (
            f" (it holds {', '.join(pickles[:3])}: pickles, which ganinv never reads for an {name})" if pickles else ""
        )
        raise SourceError(
            f"{source} has no {WEIGHTS_NAME}{held}; an {name} artifact is config.json and {WEIGHTS_NAME}, as "
            "save_pretrained and a fit's run folder write it: save it again so"
        )
    check_regular(weights, f"the weights of {source}", "a safetensors file")
    return config


def artifact_root(folder: Path) -> Path:
    """The folder an artifact's files may link into: the repo's models--owner--name/ for a Hub cache snapshot
    (snapshots/<commit>/ links its files to blobs/), whether named by its Hub id or by its path (the path `hf download`
    prints had its bundled generator refused as a link out: an outside audit); else the artifact's own folder."""
    folder = folder.resolve()
    if folder.parent.name == "snapshots" and folder.parent.parent.name.startswith("models--"):
        return folder.parent.parent
    return folder


def refuse_links_out(folder: Path, files: tuple[Path, ...], source: str) -> None:
    """An artifact's own files are its own: a Hub snapshot links them into its repo's blobs/, a local artifact holds
    them; a link out of either was followed for model.safetensors, while a linked generator/ was refused (an outside
    audit)."""
    root = artifact_root(folder)
    for file in files:
        if file.is_symlink() and not file.resolve().is_relative_to(root):
            raise SourceError(
                f"{file} is a link out of the artifact {source} (to {os.readlink(file)}): an artifact holds its own "
                "files; copy them into it"
            )


def _load_error(source: str, name: str, exc: Exception) -> str:
    """An artifact folder (its config.json and weights are there) that does not build: damaged, or edited."""
    return (
        f"cannot load an {name} from {source}: {first_line(exc)}; its config.json or weights are damaged or "
        "edited: save or download the artifact again"
    )


def is_local_source(source: str) -> bool:
    """A generator source that is a path on this machine (not a Hub id, a built-in or a module:callable)."""
    return not (source.startswith(("hub:", "builtin:")) or re.fullmatch(r"[\w.]+:[\w.]+", source))


def name_local_generator_by_file_name(folder: Path) -> None:
    """Reduce the local path an artifact's generator_ref records to the file's name (its sha256 stays in `meta`).

    Done where the path is not needed: the artifact bundles the generator (its copy is what loads), or it is being
    published (on the Hub a local path names nothing, and it told strangers the author's folders: alice's home, her
    project's name). A local artifact of a program keeps the path, which is how it finds the program again.
    """
    path = folder / CONFIG_NAME
    config = parse_json(read_text(path))
    ref = config.get("generator_ref") if isinstance(config, dict) else None
    if not isinstance(ref, dict):
        return
    source = ref.get("source")
    if isinstance(source, str) and is_local_source(source) and Path(source).name != source:
        config["generator_ref"] = {**ref, "source": Path(source).name}
        path.write_text(json.dumps(config, sort_keys=True, indent=2))


def copy_bundled_generator(source: Path, target: Path) -> None:
    """Copy an artifact's bundled generator: its config and weights, as their contents (a Hub snapshot links them to
    its blobs), nothing else the folder holds, and only what reads as those (an outside audit bundled a link to a
    secret beside them: re-saved, and pushed, the secret went with the artifact)."""
    from safetensors import SafetensorError, safe_open

    config, weights = source / CONFIG_NAME, source / WEIGHTS_NAME
    try:
        fields = parse_json(read_text(config))
        with safe_open(str(weights), framework="pt"):
            pass
    except (OSError, UnicodeDecodeError, ValueError, SafetensorError) as exc:
        raise SourceError(f"{source} does not hold a generator's config and weights ({first_line(exc)})") from None
    if not isinstance(fields, dict) or fields.get("format") != "ganinv-generator":
        raise SourceError(f"{config} is not a ganinv generator's config; the artifact cannot be saved again")
    target.mkdir(parents=True)
    for path in (config, weights):
        shutil.copyfile(path, target / path.name)
