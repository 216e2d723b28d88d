"""Reading checkpoint files as data: the one reader of weights files, and finding a generator's tensors in them.

- `read_weights`: safetensors, or a PyTorch pickle read with `torch.load(weights_only=True)`, else with
  ganinv's restricted unpickler (ganinv.safe_pickle: plain-data objects become inert records, nothing
  is imported or called), else, only with `trust_remote_code`, the full unpickler. Damaged, empty or
  truncated files are one clear error naming the file.
- `locate_state_dict`: the generator's state dict inside whatever was saved: `{"netG": ...}`,
  Lightning's `state_dict`, a whole GAN's dict (`G.`, `D.` prefixes), `module.`/`_orig_mod.`
  prefixes, averaging wrappers (ema_pytorch, AveragedModel), the moving-average copy preferred
  (announced), or the entry `#KEY` names.
- `checkpoint_hints`: what a checkpoint says beyond its tensors (a pickled module's layers, a known codebase's config).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import pickle
import re
import stat
import struct
import tarfile
import warnings
import zipfile
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional, Sequence

import torch
from safetensors.torch import load_file
from torch import nn

from ganinv import module_records, safe_pickle, trust
from ganinv.data import inflates_too_far
from ganinv.errors import SourceError, UnsafeFileError, first_line
from ganinv.lightning_callbacks import averaging_callbacks
from ganinv.module_records import Layer, layer_records
from ganinv.stand_ins import named_as_stand_in, stand_in

logger = logging.getLogger("ganinv")
# Entries of a checkpoint dict that hold the generator, most specific first.
GENERATOR_KEYS = (
    "generator",
    "netG",
    "net_G",
    "G",
    "gen",
    "g_ema",
    "G_ema",
    "model_G",
    "generator_state_dict",
    "netG_state_dict",
    "G_state_dict",
    "state_dict",
    "model_state_dict",
    "model",
)
# First key components of a whole GAN's state dict: the generator's, beside the critic's.
GENERATOR_PREFIXES = ("generator", "netG", "G", "gen", "g", "model_G")
CRITIC_PREFIXES = ("discriminator", "netD", "D", "disc", "d", "critic", "model_D")


def read_state_dict(path: Path, trust_remote_code: bool = False) -> dict[str, torch.Tensor]:
    return find_state_dict(read_weights(path, trust_remote_code), None, path)


def read_weights(path: Path, trust_remote_code: bool = False, where: Optional[str] = None) -> Any:
    """A weights file as stored: a safetensors file's tensors, or a torch checkpoint's objects (`read_pickle`).
    The one reader of weights files: an empty, truncated, corrupt or unreadable file is a SourceError naming it
    (`where`: a hub id instead of a cache path) and saying what to do."""
    where = where or str(path)
    if path.suffix != ".safetensors":
        return read_pickle(path, trust_remote_code, where)
    from safetensors import SafetensorError

    check_readable(path, where, "a safetensors file")
    check_tensor_count(path, where)
    try:
        return load_file(str(path))
    except (SafetensorError, ValueError, RuntimeError, OSError) as exc:  # header errors, short data, I/O
        raise damaged(path, where, "a safetensors file", exc) from None


MAX_TENSORS = 100_000  # tensors of one weights file: a generator has hundreds to a few thousand


EXPORT_MEMBERS = ("/models/model.json", "serialized_exported_program.json")  # what torch.export.save writes
MAX_HEADER_BYTES = 100_000_000  # the safetensors library's own bound on a header ("header too large")


def check_tensor_count(path: Path, where: str) -> None:
    """Refuse a safetensors file whose header lists more tensors than any generator has, before they are read: a
    69 MB header of a million empty tensors took 2.1 GB and 38 s (an outside audit)."""
    with open(path, "rb") as file:
        head = file.read(8)
        if len(head) < 8:
            return  # damaged or something else: the reader names it
        size = struct.unpack("<Q", head)[0]
        if size > path.stat().st_size:
            return  # damaged: safetensors says so
        if size > MAX_HEADER_BYTES:  # read whole to count, a sparse file's 2 GB header took 2.7 GB (audit 55c)
            raise SourceError(
                f"{where} declares a header of {size:,} bytes, more than safetensors reads ({MAX_HEADER_BYTES:,}); "
                "it is damaged or not a generator's weights file"
            )
        # at least one object per tensor: JSON escapes can spell a key ("\\u0064type"), never a brace (an outside
        # audit, 53a); braces inside names only make the count larger
        count = file.read(size).count(b"{") - 1
    if count > MAX_TENSORS:
        raise SourceError(
            f"{where} lists about {count:,} tensors, more than any generator's ({MAX_TENSORS:,}); it is not a "
            "generator's weights file"
        )


def check_regular(path: Path, where: str, kind: str) -> None:
    """Refuse what is no file (a FIFO or a device: opening it waits for a writer forever; a folder); a missing path
    is left to the reader's own message."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if not stat.S_ISREG(mode):
        raise SourceError(f"{where} is not a regular file (a FIFO, a device or a folder), not {kind}; give the file")


def check_readable(path: Path, where: str, kind: str) -> None:
    """Refuse an empty file, one that cannot be opened, or what is no file (a FIFO or device: opening it would wait
    for a writer forever), before a reader trips on it."""
    try:
        check_regular(path, where, kind)
        size = path.stat().st_size
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise SourceError(
            f"cannot open {where}: {exc.strerror or first_line(exc)}; check that the file exists "
            "and that you may read it"
        ) from None
    if size == 0:
        raise SourceError(f"{where} is empty (0 bytes), not {kind}; download it again or re-save it")
    found = stand_in(path)
    if found:
        raise SourceError(found.message(where, kind))


def damaged(path: Path, where: str, kind: str, exc: BaseException) -> SourceError:
    """The error for a weights file its reader rejects (one that opens: `check_readable` went first): truncated
    (an interrupted download or save) or corrupt."""
    said = named_as_stand_in(path, kind, where)
    if said:
        return SourceError(said)
    return SourceError(
        f"cannot read {where} as {kind} ({reason_of(exc)}): the file is truncated or corrupt "
        f"({path.stat().st_size} bytes), e.g. an interrupted download or save; download it again "
        "or re-save it"
    )


def reason_of(exc: BaseException) -> str:
    """A reader's failure in a few words: its first sentence, with the exception's type where the text is bare."""
    text = first_line(exc).split(". ")[0].rstrip(".")
    if len(text) < 12 and text != type(exc).__name__:  # e.g. a KeyError's bare "101"
        text = f"{type(exc).__name__}: {text}"
    return text[:160]


TRUNCATION_SIGNS = ("eof", "truncated", "central directory", "unpack requires", "corrupt")


def unreadable_checkpoint(path: Path, where: str, exc: BaseException) -> SourceError:
    """The error for a file torch cannot read: truncated or corrupt where the failure says so (a zip archive
    without its end, data that stops early), else not a PyTorch checkpoint at all."""
    reason = reason_of(exc)
    said = named_as_stand_in(path, "a PyTorch checkpoint", where)
    if said:
        return SourceError(said)
    with open(path, "rb") as fh:
        start = fh.read(4)
    zip_start = start == b"PK\x03\x04"
    if start[:1] == b"\x80" and "magic number" in reason.lower():  # a pickle, but not torch.save's legacy layout
        return SourceError(
            f"{where} is a plain Python pickle (pickle.dump), not a torch.save file, which ganinv reads as data; "
            "re-save the weights with torch.save(model.state_dict(), ...) or as safetensors"
        )
    truncated = (
        isinstance(exc, (EOFError, struct.error))
        or (zip_start and not zipfile.is_zipfile(path))
        or any(sign in reason.lower() for sign in TRUNCATION_SIGNS)
    )
    if truncated:
        return damaged(path, where, "a PyTorch checkpoint", exc)
    if zip_start and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            members = archive.namelist()
        if members and all(m.endswith(".npy") for m in members):
            return SourceError(
                f"{where} is a NumPy archive (.npz of {', '.join(m[:-4] for m in members[:4])}"
                f"{', ...' if len(members) > 4 else ''}), not a PyTorch checkpoint; load it into the generator's "
                "module and save its state_dict with torch.save, or as safetensors"
            )
        if any(m.endswith(EXPORT_MEMBERS) for m in members):
            return SourceError(  # had been "damaged" (an outside audit, 53a)
                f"{where} is a torch.export program (code), not the state dict its name suggests; give the "
                "generator's weights (torch.save(model.state_dict(), ...) or safetensors), or, if you trust it, give "
                "it as the generator with --trust-remote-code"
            )
    return SourceError(
        f"cannot read {where} as a PyTorch checkpoint ({reason}); give a file saved with torch.save "
        "(a state dict) or a .safetensors file, or download it again if it is damaged"
    )


class PickledModuleWeights(dict):
    """The parameters and buffers of a whole pickled module, read as data; `origin` names its (unimported) class and
    `layers` are its leaf layers' records (ganinv.module_records), the author's own account of the net."""

    def __init__(self, tensors: dict[str, torch.Tensor], origin: str, layers: Optional[list[Layer]] = None):
        super().__init__(tensors)
        self.origin = origin
        self.layers = layers or []


def check_not_a_bomb(path: Path, where: str) -> None:
    """Refuse a zip checkpoint whose compressed records (torch.save stores its records uncompressed) would inflate far
    beyond the file, before torch reads them (an outside audit's 1.1 MB .pth inflated to 1.2 GB)."""
    if not zipfile.is_zipfile(path):
        return
    with zipfile.ZipFile(path) as archive:
        records = archive.infolist()
    inflated = sum(record.file_size for record in records if record.compress_type != zipfile.ZIP_STORED)
    if inflates_too_far(path.stat().st_size, inflated):
        raise SourceError(
            f"{where} inflates from {path.stat().st_size / 2**20:.1f} MiB to {inflated / 2**20:.0f} MiB of "
            "compressed records (torch.save writes none: a decompression bomb?); re-save the weights with torch.save"
        )


def is_tar_checkpoint(path: Path) -> bool:
    """A tar archive that torch.load would read by its legacy tar path (any file not starting as a zip does): a tar
    with a zip appended sent ganinv's scan to the zip while torch extracted the tar, a link in it to /dev/stdin or a
    FIFO waited for good (an outside audit)."""
    with open(path, "rb") as file:
        if file.read(4) == b"PK\x03\x04":
            return False
    try:
        return tarfile.is_tarfile(path)
    except OSError:
        return False


def read_pickle(path: Path, trust_remote_code: bool, where: Optional[str] = None) -> Any:
    """A torch checkpoint: `weights_only=True` first; then ganinv.safe_pickle, where objects of other classes
    (a config object, a namespace) become inert records and nothing is called; the full unpickler, which can
    run code, only when trusted. `where` names the file in messages (a hub id instead of a cache path)."""
    where = where or str(path)
    check_readable(path, where, "a PyTorch checkpoint")
    check_not_a_bomb(path, where)
    if is_tar_checkpoint(path):
        raise UnsafeFileError(
            f"{where} is a tar archive, the format of PyTorch's first releases, which torch.load reads by extracting "
            "its members to disk, links among them (one that leads to a FIFO, a device or a file of yours): not read. "
            "Load it in the PyTorch that wrote it and re-save it with torch.save, or as safetensors"
        )
    if not trust_remote_code and is_torchscript(path):  # reached where no program is taken (an artifact's generator/)
        raise UnsafeFileError(
            f"{where} is a TorchScript program (code), not the state dict its name suggests; give the generator's "
            "weights (torch.save(model.state_dict(), ...) or safetensors)"
        )
    if safe_pickle.sized_constructor(path) is None:  # else only this module's unpickler, which bounds the sizes
        try:
            return torch.load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError:
            pass  # objects besides tensors (or not a pickle at all): read them as records
        except Exception as exc:
            raise unreadable_checkpoint(path, where, exc) from None
    try:
        obj = safe_pickle.load(path)
    except safe_pickle.OversizedPickle as exc:
        raise UnsafeFileError(
            f"{where}: {exc} while it is read, more than a weights file holds; refused. Re-save the weights with "
            "torch.save(model.state_dict(), ...) or as safetensors"
        ) from None
    except safe_pickle.RefusedPickle as exc:
        if not trust_remote_code:
            raise UnsafeFileError(
                f"{where} calls {exc.name} while unpickling, which can run code; refused. Re-save "
                "it as a state_dict or safetensors, or pass --trust-remote-code if you trust its "
                "author"
            ) from None
    except Exception as exc:
        raise unreadable_checkpoint(path, where, exc) from None
    else:
        if not (safe_pickle.is_record(obj) and safe_pickle.module_state_dict(obj)):
            records = safe_pickle.records_in(obj)
            if records:
                logger.info("%s: read %s as plain data (not imported)", where, ", ".join(records))
            return obj
        if not trust_remote_code:  # a whole pickled module: its weights are data, its class is code
            logger.warning(
                "%s is a whole pickled module (%s): its weights are read as data, without importing its class, and "
                "the architecture is read from them%s",
                where,
                safe_pickle.origin(obj),
                ""
                if in_a_script(safe_pickle.origin(obj))
                else "; pass --trust-remote-code to run the class itself instead",
            )
            return PickledModuleWeights(
                safe_pickle.module_state_dict(obj), origin=safe_pickle.origin(obj), layers=layer_records(obj)
            )
    try:
        with trust.current_folder_importable():  # the pickle's classes, from where the user runs it
            return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:
        if "__main__" in str(exc):  # a training script's own class: no import finds it (an outside audit)
            raise SourceError(
                f"cannot unpickle {where}: its class was defined in the script that saved it (__main__), which no "
                "import finds; drop --trust-remote-code, and its weights are read as data"
            ) from None
        raise SourceError(
            f"cannot unpickle {where}: {first_line(exc)} (its classes must be importable: run from the folder that "
            "holds their module, or install it)"
        ) from None


# Entries holding a moving average of the generator's weights, which its authors sample from, are preferred. Their
# names join an averaging word to generator words in any order and case: g_ema, ema_G, netG_ema, avgG,
# averaged_generator, swa_generator, G_running, ema_model (lucidrains' ema_pytorch), lightweight-gan's GE, and Gs
# (G smoothed: ProGAN's and StyleGAN's, and their PyTorch ports').
EMA_WORDS = frozenset({"ema", "avg", "mavg", "average", "averaged", "swa", "running", "shadow", "polyak", "smoothed"})
GENERATOR_WORDS = frozenset({"g", "gen", "generator", "net", "model", "state", "dict"})
EMA_NAMES = frozenset({"GE", "Gs", "G_s"})
# A plain "ema" (or "averaged", ...) entry is the generator's average when it sits beside a generator entry.
ONLINE_WORDS = frozenset({"online"})  # ema_pytorch keeps the online model beside the average as online_model
# Scalars that averaging wrappers keep beside the weights (ema_pytorch's initted and step, AveragedModel's
# n_averaged, EMA classes' decay and update counts): bookkeeping, dropped where they sit beside the weights.
BOOKKEEPING_SCALARS = frozenset({"initted", "step", "n_averaged", "num_updates", "optimization_step", "decay"})
WRAPPER_PREFIXES = ("module", "_orig_mod", "state_dict")  # DataParallel, torch.compile, a flattened Lightning dict
SHADOW_PARAMS = "shadow_params"  # diffusers' EMAModel: the averaged parameters as a list, in parameters() order


def name_words(name: str) -> list[str]:
    """`netG_ema` -> [net, g, ema]; `avgG` -> [avg, g]; `ema_model` -> [ema, model] (lower case)."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", str(name)).replace("_", " ").replace("-", " ")
    return [w.lower() for w in spaced.split()]


def is_ema_name(name: str, plain: bool = True) -> bool:
    """A name for a moving-average generator. `plain`: a bare averaging word ("ema") counts too (only beside a
    generator entry is that the generator's average)."""
    if name in EMA_NAMES:
        return True
    words = name_words(name)
    averaging = [w for w in words if w in EMA_WORDS]
    rest = [w for w in words if w not in EMA_WORDS]
    if not averaging or any(w not in GENERATOR_WORDS for w in rest):
        return False
    return plain or bool(rest)


PYTORCH_GAN_ZOO_CONFIG = "models.utils.config.BaseConfig"
# its loss decides the last activation; looked up with whatever the pickle holds there
PYTORCH_GAN_ZOO_OUTPUT: dict[Any, str] = {"WGANGP": "none", "DCGAN": "tanh", "MSE": "tanh"}


def quiet_state_dict(path: Path, where: str) -> dict[str, torch.Tensor]:
    """The generator's tensors in a weights file, read without its announcements (for a comparison: the file that
    is loaded makes them when it is read)."""
    with quietly():
        return locate_state_dict(read_weights(path, where=where), None, where)[0]


@contextlib.contextmanager
def quietly() -> Iterator[None]:
    """Reading weights without their announcements (warnings, the `ganinv` logger's lines): for a look at a file that
    is not the one loaded, or not yet."""
    with warnings.catch_warnings(), logger_held(logger.name, logging.ERROR):
        warnings.simplefilter("ignore")
        yield


@contextlib.contextmanager
def logger_held(name: str, level: int) -> Iterator[None]:
    """The records of logger `name` below `level` held back for a call (its level restored after)."""
    held = logging.getLogger(name)
    before = held.level
    held.setLevel(level)
    try:
        yield
    finally:
        held.setLevel(before)


def tensor_difference(first: Mapping[str, torch.Tensor], second: Mapping[str, torch.Tensor]) -> Optional[str]:
    """How two state dicts differ, in a few words (names, a shape, a tensor whose values differ), or None where
    they hold the same tensors: one model saved in two formats (a half-precision copy at its precision)."""
    if set(first) != set(second):
        only = sorted(set(first) ^ set(second))
        return f"{len(only)} tensor names in one only, e.g. {only[0]!r}"
    for name in sorted(first):
        x, y = first[name], second[name]
        if x.shape != y.shape:
            return f"{name!r} is {tuple(x.shape)} in one, {tuple(y.shape)} in the other"
        if x.dtype.is_floating_point and y.dtype.is_floating_point and x.dtype != y.dtype:
            coarser = max(torch.finfo(x.dtype).eps, torch.finfo(y.dtype).eps)  # one rounding of the finer copy
            x, y = x.float(), y.float()
            tolerance = coarser * (1 + float(x.abs().max()))
            if float((x - y).abs().max()) > tolerance:
                return f"{name!r} differs"
        elif not torch.equal(x, y):
            return f"{name!r} differs"
    return None


def find_state_dict(obj: Any, key: Optional[str], path: Path | str) -> dict[str, torch.Tensor]:
    """The generator's tensors in a checkpoint (see `locate_state_dict`)."""
    return locate_state_dict(obj, key, str(path))[0]


def locate_state_dict(obj: Any, key: Optional[str], where: str) -> tuple[dict[str, torch.Tensor], str]:
    """(the generator's tensors, the entry they came from: "" for the whole file, "netG", "GAN.GE", ...).

    `key` picks an entry: a top-level name, or a dotted path through nested dicts that may end in a
    key prefix of a flat state dict (`GAN.GE`). Without it: a moving-average generator entry if
    there is one (announced), else a generator-named entry, else the only entry holding tensors.
    """
    trail = []
    whole = obj
    if key is not None:
        obj = select_entry(obj, key, where)
        trail.append(key)
    state_dict, chosen = generator_tensors(obj, where)
    entry = ".".join(map(str, trail + chosen))
    if key is not None and state_dict and not statistics_of(state_dict):  # a callback's average of parameters only
        state_dict, statistics = borrow_statistics(whole, state_dict, entry, where)
        if statistics is not None:
            announce_borrowed_statistics(where, entry, statistics)
    if key is None and not any(is_ema_name(str(p)) for p in chosen):  # an average taken is announced already
        average, said = callback_average(whole, state_dict, entry, where)
        if average is not None:
            return average
        announce_other_copies(whole, state_dict, entry, where, said)
    return state_dict, entry


def callback_average(
    whole: Any, taken: Mapping[str, torch.Tensor], entry: str, where: str
) -> tuple[Optional[tuple[dict[str, torch.Tensor], str]], list[str]]:
    """((tensors, entry) or None, the callbacks said never averaged): the generator's average kept by a Lightning
    weight-averaging callback (`lightning_callbacks`), preferred to `taken` as any average is, and announced. It must
    hold the generator `taken` is (its parameters' names and shapes), or `taken` must be the critic's alone (the
    model's state dict kept the discriminator only) and the average be named as the generator's. An average of
    parameters alone takes `taken`'s statistics; one whose own record says it was never taken is said, not taken,
    and a second average is named beside the first (a review, 40a)."""
    critic_only = bool(taken) and all(critic_part(f"{entry}.{k}") for k in taken)
    taken_lone = lone_generator_prefix(taken)  # a Lightning module's only net (`generator.`), on either side or both
    taken, online = without_prefix(taken, taken_lone), ".".join(p for p in (entry, taken_lone[:-1]) if p) or None
    buffers = statistics_of(taken)  # once: per key, 20,000 empty tensors took minutes (an outside audit, 53a)
    parameters = {k: t.shape for k, t in taken.items() if k not in buffers}
    found: list[tuple[str, dict[str, torch.Tensor], bool]] = []  # (entry, tensors, the same generator as `taken`)
    said = []
    for path, state in averaging_callbacks(whole):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # what is found inside is announced below, as one average
            try:
                average, inner = generator_tensors(state, where)
            except SourceError:
                continue
        lone = lone_wrapper_prefix(average)
        average, name = without_prefix(average, lone), ".".join([path, *inner] + ([lone[:-1]] if lone else []))
        never = next(filter(None, map(never_averaged, [state, *state.values()])), None)
        online_copy = any(set(name_words(part)) & ONLINE_WORDS for part in inner)  # ema_pytorch's online_model
        if never or online_copy:
            average_entry = path if online_copy else name  # the #ENTRY that takes it anyway
            announce_never_averaged(
                where, average_entry, never or "it holds the online model", online or "the generator"
            )
            said.append(path)
            continue
        same = {k: t.shape for k, t in average.items() if k in parameters} == parameters and set(average) <= set(taken)
        named = any(p in GENERATOR_PREFIXES or "generator" in name_words(p) for p in name.split("."))
        if same or (critic_only and named and not critic_part(name + ".")):
            found.append((name, average, same))
    if not found:
        return None, said
    name, average, same = found[0]
    others = (
        [online or "its top-level tensors"] if same else [f"{entry or 'its top-level tensors'} (the critic's alone)"]
    )
    others += [f"{other} (another average)" for other, _, _ in found[1:]]
    statistics = None
    if same and statistics_of(taken) and not statistics_of(average):
        average, statistics = {k: average.get(k, t) for k, t in taken.items()}, online or "its top-level tensors"
    announce_ema(where, name, others, statistics, online if same else None)
    return (average, name), said


def lone_wrapper_prefix(state_dict: Mapping[str, Any]) -> str:
    """`generator.`, or an average's own name (ema_pytorch's `ema_model.`), where every key starts with it, else ""."""
    lone = lone_prefix(state_dict)
    return f"{lone}." if lone in GENERATOR_PREFIXES or (lone and is_ema_name(lone)) else ""


def without_prefix(state_dict: Mapping[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix) :]: t for k, t in state_dict.items()}


def entry_meta(entry: str) -> dict[str, Any]:
    if not entry:
        return {}
    parts = entry.split(".")
    return {"entry": entry, "ema": any(is_ema_name(p) for p in parts)}


def as_mapping(obj: Any) -> Any:
    """Modules (real or pickled records of them) as their state dicts; anything else unchanged."""
    if isinstance(obj, nn.Module):
        return obj.state_dict()
    if safe_pickle.is_record(obj):
        return safe_pickle.module_state_dict(obj) or safe_pickle.items(obj) or obj
    return obj


def holds_tensors(obj: Any, depth: int = 0) -> bool:
    obj = as_mapping(obj)
    if isinstance(obj, torch.Tensor):
        return True
    return isinstance(obj, Mapping) and depth < 4 and any(holds_tensors(v, depth + 1) for v in obj.values())


def select_entry(obj: Any, key: str, where: str) -> Any:
    obj = as_mapping(obj)
    if isinstance(obj, Mapping) and key in obj:
        return obj[key]
    if isinstance(obj, Mapping) and any(not isinstance(k, str) and str(k) == key for k in obj):  # {0: ..., 1: ...}
        return obj[next(k for k in obj if not isinstance(k, str) and str(k) == key)]
    parts = key.split(".")
    if isinstance(obj, Mapping):
        for i in range(len(parts) - 1, 0, -1):  # the longest head that is an entry
            head = ".".join(parts[:i])
            if head in obj:
                return select_entry(obj[head], ".".join(parts[i:]), where)
        prefix = key + "."
        sub = {k[len(prefix) :]: v for k, v in obj.items() if isinstance(k, str) and k.startswith(prefix)}
        if sub:
            return sub
        # an entry of the one container that holds it: `#generator` of a Lightning checkpoint is its
        # `state_dict.generator`, which is how the moving average's note names the online weights (an outside audit)
        holders = [name for name, value in obj.items() if holds_entry(as_mapping(value), key)]
        if len(holders) == 1:
            return select_entry(obj[holders[0]], key, where)
        if len(holders) > 1:  # "has no entry" had been said, false, without the ways that work (a review, 52a)
            raise SourceError(
                f"{where} has {key!r} in {len(holders)} entries; name one whole: "
                + " or ".join(f"{where}#{holder}.{key}" for holder in holders[:4])
            )
    entries = list(dict.fromkeys(str(k).split(".")[0] for k in obj)) if isinstance(obj, Mapping) else []
    raise SourceError(f"{where} has no entry {key!r}; its entries: {', '.join(entries[:10]) or 'none'}")


def holds_entry(obj: Any, key: str) -> bool:
    """Whether `obj` is a mapping with an entry `key` or flat keys under `key.`."""
    return isinstance(obj, Mapping) and (key in obj or any(isinstance(k, str) and k.startswith(key + ".") for k in obj))


OPTIMIZER_STATE = {"state", "param_groups"}  # what torch.optim.Optimizer.state_dict() holds


def generator_tensors(obj: Any, where: str) -> tuple[dict[str, torch.Tensor], list[str]]:
    obj = as_mapping(obj)
    if isinstance(obj, Mapping) and set(obj) == OPTIMIZER_STATE:  # "say which is the generator" invited a pick in it
        raise SourceError(
            f"{where}: what was read is an optimizer's state (state, param_groups), not a generator's weights; give "
            "the generator's file, or its entry after #"
        )
    if not isinstance(obj, Mapping):
        kind = safe_pickle.origin(obj) if safe_pickle.is_record(obj) else type(obj).__name__
        raise SourceError(f"{where} holds a {kind}, not a state dict")
    tensors = {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    nested = {k: v for k, v in obj.items() if holds_tensors(v) and not isinstance(v, torch.Tensor)}
    generator_named = [k for k in GENERATOR_KEYS if k in nested]
    ema = ema_entries(nested, beside_generator=bool(generator_named or tensors))  # tensors: a state dict's top level
    if tensors and not (generator_named or ema):  # a state dict; loose tensors beside a generator's entry
        return split_prefixes(tensors, where)  # (pytorch-gan-collections' `fixed_z`) are not one
    never = never_averaged(as_mapping(nested[ema[0]])) if ema else None
    if never and (generator_named or tensors):  # the average was never taken: the trained weights are the others
        online = generator_named[0] if generator_named else None
        announce_never_averaged(where, ema[0], never, online or "its top-level tensors")
        if online is None:
            return split_prefixes(tensors, where)
        ema = []
    for name in ema[:1] + generator_named[:1] + (list(nested) if len(nested) == 1 else []):
        state_dict, chosen = generator_tensors(nested[name], where)
        if name in ema and (len(nested) > 1 or tensors):
            others = [str(k) for k in nested if k != name] + (["its top-level tensors"] if tensors else [])
            online = next((g for g in generator_named if g != name), None)
            statistics = None
            if online is not None and parameters_only(state_dict, nested[online]):
                state_dict, statistics = borrow_statistics(obj, state_dict, name, where, online)
            announce_ema(where, name, others, statistics)
        if name not in ema:
            announce_unnamed_average(obj, name, where)
        return state_dict, [name] + chosen
    raise SourceError(
        f"{where} holds entries {', '.join(map(str, list(obj)[:10]))}; say which is the generator "
        f"with --generator '{where}#ENTRY'"
    )


def ema_entries(names: Any, beside_generator: bool) -> list[str]:
    """The moving-average generator's names among `names`, most specific first; a bare "ema" only beside a
    generator's entry."""
    found = [str(n) for n in names if is_ema_name(str(n), plain=False)]
    return found or ([str(n) for n in names if is_ema_name(str(n))] if beside_generator else [])


def shadow_lists(
    state: Mapping[str, Any], path: str, nested: bool = True
) -> Iterator[tuple[str, str, list[torch.Tensor]]]:
    """(holder's dotted path, key, tensors) of averaged parameters kept as a list without names, at the state's top
    or (`nested`) one entry down (a Lightning callback's `{"ema": {"shadow_params": [...]}}`): torch_ema's and
    diffusers' `shadow_params`, or any list whose key says it is an average (`ema_weights`, `averaged_params`; an
    outside audit, 40a). Not torch_ema's `collected_params`: the online weights it stored to restore."""
    below = [(f"{path}.{k}", v) for k, v in state.items() if isinstance(v, Mapping)] if nested else []
    for where, value in [(path, state)] + below:
        for key, shadow in value.items():
            said = key == SHADOW_PARAMS or bool(set(name_words(str(key))) & EMA_WORDS)
            if (
                said
                and isinstance(shadow, (list, tuple))
                and shadow
                and all(isinstance(t, torch.Tensor) for t in shadow)
            ):
                yield where, str(key), list(shadow)


def announce_unnamed_average(obj: Mapping[str, Any], name: str, where: str) -> None:
    """diffusers' EMAModel beside the generator (`{"generator": ..., "ema": {"shadow_params": [...]}}`) holds the
    averaged parameters as a list without names or BatchNorm buffers: the generator's entry is loaded, and said to
    be the online weights, not the average its authors sample from."""
    averages = [(str(k), v) for k, v in obj.items() if isinstance(v, Mapping) and is_ema_name(str(k))]
    averages += list(averaging_callbacks(obj))  # a Lightning callback's torch_ema state (an outside audit, 39a)
    beside = list(shadow_lists(obj, "", nested=False))  # {"generator": ..., "ema_params": [...]}
    for entry, key, _ in beside + [found for path, value in averages for found in shadow_lists(value, path)]:
        holder = f"{entry}.{key}" if entry else key
        warnings.warn(
            f"{where}: using {name}, the online weights: the moving average in {holder} is a list "
            "of tensors without names, which ganinv does not map onto layers; to sample as its authors do, save "
            f"the averaged model's state_dict (e.g. {entry or 'ema'}.copy_to(model.parameters()), then "
            "torch.save(model.state_dict(), ...)) and load that",
            stacklevel=4,
        )
        return


def announce_ema(
    where: str, name: str, others: list[str], statistics: Optional[str] = None, online: Optional[str] = None
) -> None:
    """`statistics`: the entry whose BatchNorm statistics complete an average of parameters only (`borrow_statistics`);
    its name is also how to take the online weights, as is `online`'s."""
    online = statistics or online
    borrowed = (
        f", with the BatchNorm statistics of {statistics} (it holds the parameters only, which its author's copy_to "
        "puts on that model)"
        if statistics is not None
        else ""
    )
    warnings.warn(
        f"{where}: using {name}, the moving average of the generator's weights (what its authors sample "
        f"from){borrowed}, not {', '.join(others[:4])}; for "
        + (f"the online weights, add #{online}" if online is not None else "another, add #ENTRY")
        + " to the source",
        stacklevel=4,
    )


def never_averaged(entries: Any) -> Optional[str]:
    """What an averaging wrapper's own bookkeeping says when its average was never taken (its weights are still the
    copy it started from): ema_pytorch's `initted` False, AveragedModel's `n_averaged` 0, an update count of 0.
    None when it says nothing of the kind."""
    if not isinstance(entries, Mapping):
        return None
    for name, never in (
        ("initted", "initted is False"),
        ("n_averaged", "n_averaged is 0"),
        ("num_updates", "num_updates is 0"),
    ):
        value = entries.get(name)
        if isinstance(value, torch.Tensor) and value.numel() == 1 and not bool(value.reshape(-1)[0]):
            return never
        if isinstance(value, (bool, int)) and not value:  # a callback's own count, kept as a Python number
            return never
    return None


def announce_never_averaged(where: str, average: str, never: str, taken: str) -> None:
    warnings.warn(
        f"{where}: using {taken}, not the moving average {average}: its own record says the average was never "
        f"taken ({never}), so it still holds the weights it started from; for it anyway, add #{average} to the source",
        stacklevel=4,
    )


CRITIC_WORDS = frozenset({"discriminator", "critic", "disc"})
BATCH_COUNTER = "num_batches_tracked"  # BatchNorm's count of training batches


# A checkpoint whose BatchNorm layers count fewer training batches than this was saved early in training: with
# PyTorch's momentum 0.1 its running averages still hold 0.9**N of their starting values (4% after 30 batches, 0.003%
# after 100) and follow weights that were changing fast, so the statistics can favour a wrong reading by 4x (an outside
# audit: a 30-step LynnHo checkpoint read as ELU, margin 4.02, 1.26 off the author's ReLU net).
EARLY_BATCHES = 100
MOMENTUM = 0.1  # PyTorch's BatchNorm default
# A net that is the author's misfits its BatchNorm statistics by under this at its worst layer (every generator tried;
# exact statistics of few batches, as torch.optim.swa_utils.update_bn leaves them, 0.00024); the early checkpoints of an
# outside audit misfit 0.0087-0.0174 at best, and a config that makes a net misfit more contradicts the weights.
AUTHOR_MISFIT = 0.006


def early_batches(state_dict: Mapping[str, torch.Tensor]) -> Optional[int]:
    """The training batches its BatchNorm layers count (`num_batches_tracked`, the fewest), where the weights look
    saved early in training: under EARLY_BATCHES, and every running variance still holds at least the share of its
    starting 1 that momentum 0.1 leaves after them (a cumulative average over a few batches, momentum None, is exact
    and holds none). None otherwise, and where no layer counts any (PyTorch < 0.4, ports from other frameworks)."""
    counts = [
        int(v)
        for k, v in state_dict.items()
        if k.endswith(BATCH_COUNTER) and isinstance(v, torch.Tensor) and v.numel() == 1 and int(v) > 0
    ]
    if not counts or min(counts) >= EARLY_BATCHES:
        return None
    batches = min(counts)
    variances = [v for k, v in state_dict.items() if k.endswith("running_var") and isinstance(v, torch.Tensor)]
    left = (1 - MOMENTUM) ** batches
    if not variances or any(bool((v.float() < left * (1 - 1e-3)).any()) for v in variances):
        return None
    return batches


def flat_tensors(obj: Any, prefix: str = "", depth: int = 0) -> dict[str, torch.Tensor]:
    """Every tensor of a checkpoint by its dotted path (`state_dict.generator.main.0.weight`), a few levels deep."""
    obj = as_mapping(obj)
    if isinstance(obj, torch.Tensor):
        return {prefix[:-1]: obj}
    if not isinstance(obj, Mapping) or depth > 6:
        return {}
    found: dict[str, torch.Tensor] = {}
    for key, value in obj.items():
        found.update(flat_tensors(value, f"{prefix}{key}.", depth + 1))
    return found


STATISTICS = ("running_mean", "running_var", BATCH_COUNTER)  # what BatchNorm keeps besides its parameters


def statistics_of(state_dict: Mapping[str, Any]) -> set[str]:
    """The BatchNorm running statistics among a state dict's keys."""
    return {k for k in state_dict if k.rpartition(".")[2] in STATISTICS}


def parameters_only(average: Mapping[str, torch.Tensor], beside: Any) -> bool:
    """An average kept as the generator's named parameters alone (a hand-written EMA's `{k: v.clone() for k, v in
    G.named_parameters()}`: no BatchNorm statistics), beside an entry `beside` whose tensors include them. Alone it
    was read as a net of InstanceNorm or GroupNorm layers, and refused as one (an outside audit)."""
    return bool(average) and not statistics_of(average) and bool(statistics_of(flat_tensors(beside)))


def critic_part(prefix: str) -> bool:
    """Whether a dotted prefix (`D.decoder.`) passes through a critic's entry."""
    return any(part in CRITIC_PREFIXES or set(name_words(part)) & CRITIC_WORDS for part in prefix.split(".")[:-1])


def statistics_donors(obj: Any, average: Mapping[str, torch.Tensor]) -> dict[str, dict[str, torch.Tensor]]:
    """The entries of a checkpoint (by dotted path; "" for its top level) holding a whole state dict of the generator
    a parameters-only average belongs to: the same parameter names and shapes, plus BatchNorm statistics."""
    flat = flat_tensors(obj)
    shapes = {k: tuple(t.shape) for k, t in average.items()}
    first = next(iter(average))
    donors: dict[str, dict[str, torch.Tensor]] = {}
    for path in flat:
        if path != first and not path.endswith("." + first):
            continue
        prefix = path[: len(path) - len(first)]
        if critic_part(prefix):
            continue
        whole = {k[len(prefix) :]: t for k, t in flat.items() if k.startswith(prefix)}
        statistics = statistics_of(whole)
        if statistics and {k: tuple(t.shape) for k, t in whole.items() if k not in statistics} == shapes:
            donors[prefix[:-1]] = whole
    return donors


def borrow_statistics(
    obj: Any, average: dict[str, torch.Tensor], entry: str, where: str, online: Optional[str] = None
) -> tuple[dict[str, torch.Tensor], Optional[str]]:
    """(a parameters-only average with the BatchNorm statistics of the whole generator beside it, that entry's name):
    what the author's EMA `copy_to(G.parameters())` samples from, the averaged parameters on the online model whose
    buffers stay. `online`: the generator's entry it must line up with, refused naming both where it does not.
    Without it, any whole copy in `obj` that lines up; the average unchanged and None where none does."""
    donors = statistics_donors(obj, average)
    if online is not None:
        donors = {k: v for k, v in donors.items() if k == online or k.startswith(online + ".")}
        if not donors:
            beside = flat_tensors(obj[online])
            kept = beside.keys() - statistics_of(beside)
            differs = tensor_difference(average, {k: v for k, v in beside.items() if k in kept})
            raise SourceError(
                f"{where}: the moving average {entry} holds the generator's parameters without their BatchNorm "
                f"statistics, and they do not line up with the parameters of {online} ({differs}), whose statistics "
                f"they would take; add #{online} to the source for the online weights, or re-save the average as the "
                "state_dict of the model it was copied onto"
            )
    if not donors:
        return average, None
    name, whole = next(iter(donors.items()))
    differing = [k for k, v in donors.items() if tensor_difference(statistics_only(v), statistics_only(whole))]
    if differing:
        raise SourceError(
            f"{where}: {entry} holds the generator's parameters without their BatchNorm statistics, and "
            f"{name or 'its top-level tensors'} and {differing[0] or 'its top-level tensors'} hold different "
            "statistics for them: nothing tells which go with it; re-save it as the state_dict of the model it was "
            "copied onto"
        )
    return {k: average.get(k, t) for k, t in whole.items()}, name or "its top-level tensors"


def statistics_only(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The BatchNorm statistics of a state dict that change images (not the batch counter)."""
    statistics = statistics_of(state_dict)
    return {k: v for k, v in state_dict.items() if k in statistics and not k.endswith(BATCH_COUNTER)}


def lone_generator_prefix(state_dict: Mapping[str, Any]) -> str:
    """`generator.` where every key starts with it (a Lightning module's only net, kept under its attribute's name),
    else ""."""
    lone = lone_prefix(state_dict)
    return f"{lone}." if lone in GENERATOR_PREFIXES else ""


def lone_prefix(state_dict: Mapping[str, Any]) -> str:
    """The first part of every key where all keys share it and go on after it (`generator` of `generator.fc.w`)."""
    firsts = {k.split(".", 1)[0] for k in state_dict}
    return next(iter(firsts)) if len(firsts) == 1 and all("." in k for k in state_dict) else ""


def announce_borrowed_statistics(where: str, entry: str, statistics: str) -> None:
    warnings.warn(
        f"{where}: {entry} holds the generator's parameters without their BatchNorm statistics (an average kept as "
        f"named parameters); using them with the statistics of {statistics}, as its author's copy_to puts them on "
        "that model",
        stacklevel=4,
    )


CURRENT_MODEL = "current_model_state"  # Lightning's WeightAveraging: the online weights beside the averaged state_dict


def announce_other_copies(
    obj: Any, state_dict: Mapping[str, torch.Tensor], entry: str, where: str, said: Sequence[str] = ()
) -> None:
    """Say which other entries of the checkpoint hold the same generator (every tensor name and shape) with other
    values (`netG_best` beside `netG`, `best_model` beside `model`, a weight-averaging callback's copy, an `ema` state
    dict beside top-level tensors): an outside audit saw one taken and the other never named (images 1.3 apart)."""
    if not state_dict or not all(map(plain_values, state_dict.values())):
        return  # nothing, or tensors that loading refuses
    statistics = statistics_of(state_dict)
    first = next((k for k in state_dict if k not in statistics), None)  # a parameter: a parameters-only copy has it
    if first is None:
        return
    lone = lone_generator_prefix(state_dict)  # a copy may be saved without it (an EMA callback's shadow)
    flat = flat_tensors(obj)
    others, partial = [], []
    for path in flat:
        if path != first[len(lone) :] and not path.endswith("." + first[len(lone) :]):
            continue
        prefix = path[: len(path) - len(first) + len(lone)]
        if sibling_average(prefix.split(".")[:-1], entry.split(".") if entry else []):
            continue  # an average beside what was taken: taken and announced, or announced as never taken
        if any(prefix.startswith(f"{callback}.") for callback in said):
            continue  # an average announced as never taken
        if critic_part(prefix):
            continue  # a part of the critic (BEGAN's D is an autoencoder whose decoder has G's layers)
        copy = {k: flat[prefix + k[len(lone) :]] for k in state_dict if prefix + k[len(lone) :] in flat}
        if len(copy) < len(state_dict) and set(state_dict) - set(copy) != statistics:
            continue  # neither a whole copy nor its parameters alone (a weight-averaging callback's shadow)
        if any(t.shape != state_dict[k].shape for k, t in copy.items()):
            continue
        if all(t is state_dict[k] for k, t in copy.items()) or not all(map(plain_values, copy.values())):
            continue  # the taken copy itself; or tensors that loading refuses (sparse, meta, zero-stride views)
        kept = [k for k in copy if not k.endswith(BATCH_COUNTER)]  # a counter changes no image
        if tensor_difference({k: state_dict[k] for k in kept}, {k: copy[k] for k in kept}):
            others.append(prefix[:-1] or "its top-level tensors")
            if len(copy) < len(state_dict):
                partial.append(others[-1])
    if not others:
        return
    if isinstance(obj, Mapping) and "averaging_state" in obj and all(o.startswith(CURRENT_MODEL) for o in others):
        warnings.warn(
            f"{where}: using {entry or 'its top-level tensors'}, the average that Lightning's WeightAveraging callback "
            f"saves as the model's weights (what its authors sample from), not {others[0]}, the online weights it "
            f"keeps beside it; for those, add #{others[0]} to the source",
            stacklevel=4,
        )
        return
    hint = [f"#{o}" for o in others if o != "its top-level tensors"]
    taken = entry or "its top-level tensors"
    shown = [f"{o} (parameters alone: with the BatchNorm statistics of {taken})" if o in partial else o for o in others]
    warnings.warn(
        f"{where}: using {taken}; {', '.join(shown[:3])} "
        f"{'holds' if len(others) == 1 else 'hold'} another copy of the same generator with other values (the best "
        "epoch's, an average, another run's?)"
        + (
            f"; for {'it' if len(hint) == 1 else 'one of them'}, add {' or '.join(hint[:3])} to the source"
            if hint
            else ""
        ),
        stacklevel=4,
    )


LARGEST_VIEW = 10_000_000  # elements a tensor may show beyond its storage's before anything computes on it


def unusual_tensor(key: str, tensor: torch.Tensor, where: str) -> Optional[str]:
    """Why `tensor` is no saved weight, or None: a sparse or meta tensor (an internal error once), a quantized or
    complex one, or a view of many more elements than its storage holds (zero strides: a 17 KB file showed 2e9 and
    took 2.7 GB to compare, an outside audit). Loading refuses it; comparisons leave it alone."""
    if tensor.layout != torch.strided:
        return f"{where}: {key} is a {tensor.layout} tensor, not dense weights; re-save it dense"
    if tensor.is_meta:
        return f"{where}: {key} holds no values (a meta tensor); save the weights after loading them"
    if tensor.is_quantized:
        return (
            f"{where}: {key} is a quantized tensor ({tensor.dtype}), which no adapter computes with; re-save the "
            "weights dequantized (tensor.dequantize(), or the float model's state_dict)"
        )
    if tensor.is_complex():
        return (
            f"{where}: {key} holds complex values ({tensor.dtype}), which no generator weight is; re-save the real "
            "weights of the trained model"
        )
    stored = tensor.untyped_storage().nbytes() // max(tensor.element_size(), 1)
    if tensor.numel() > max(stored, LARGEST_VIEW):
        return (
            f"{where}: {key} {tuple(tensor.shape)} shows {tensor.numel():,} values from a storage of {stored:,} (zero "
            "strides), which no saved weight does; re-save the weights with .contiguous()"
        )
    return None


def plain_values(tensor: Any) -> bool:
    """A tensor whose values can be compared at the cost of its storage: one loading would not refuse."""
    return unusual_tensor("", tensor, "") is None


def same_layers(state_dict: Mapping[str, torch.Tensor], first: str, second: str) -> bool:
    """Whether the keys under two prefixes of a flat state dict name the same tensors with the same shapes."""

    def under(prefix: str) -> dict[str, tuple[int, ...]]:
        return {k[len(prefix) + 1 :]: tuple(v.shape) for k, v in state_dict.items() if k.startswith(prefix + ".")}

    return under(first) == under(second) != {}


def sibling_average(path: list[str], chosen: list[str]) -> bool:
    """Whether `path` leaves the chosen entry's path at an averaging name: an entry the choice saw beside its own."""
    for i, part in enumerate(path):
        if i >= len(chosen) or part != chosen[i]:
            return i < len(chosen) and is_ema_name(part)
    return False


def split_prefixes(state_dict: dict[str, torch.Tensor], where: str = "") -> tuple[dict[str, torch.Tensor], list[str]]:
    """Drop DataParallel `module.`, torch.compile `_orig_mod.` and flattened Lightning `state_dict.` prefixes, and the
    bookkeeping scalars of averaging wrappers; in a whole GAN's flat dict keep the moving-average generator's keys
    (`GE.`, `g_ema.`, ema_pytorch's `ema_model.` beside `online_model.`) or else the generator's (`G.`, `netG.`),
    looking through one lone wrapper prefix (Lightning's `model.G.`, `model.G_ema.`, `model.D.`)."""
    chosen: list[str] = []
    while True:
        never = never_averaged(state_dict)
        state_dict = {k: v for k, v in state_dict.items() if not (k in BOOKKEEPING_SCALARS and v.dim() == 0)}
        firsts = {k.split(".", 1)[0] for k in state_dict}
        if len(firsts) == 1 and (firsts & set(WRAPPER_PREFIXES) or wraps_a_gan(state_dict)):
            if not firsts & set(WRAPPER_PREFIXES):
                chosen.append(next(iter(firsts)))  # a named wrapper: part of the entry a user would give
            state_dict = {k.split(".", 1)[1]: v for k, v in state_dict.items()}
            continue
        generator_first = [p for p in GENERATOR_PREFIXES if p in firsts]
        critic = firsts & set(CRITIC_PREFIXES)
        online = {p for p in firsts if set(name_words(p)) & ONLINE_WORDS}
        ema = ema_entries(sorted(firsts), beside_generator=bool(generator_first))
        trained = sorted(online) + generator_first
        if ema and never and trained:  # the average was never taken: the online weights are the trained ones
            prefix = trained[0]
            announce_never_averaged(where, ema[0], never, prefix)
        elif ema and (generator_first or critic or online):
            prefix = ema[0]
            announce_ema(where, prefix, sorted(firsts - {prefix}))
        elif generator_first and critic:
            prefix = generator_first[0]
        elif (
            generator_first
            and len(firsts) > 1
            and all(same_layers(state_dict, other, generator_first[0]) for other in firsts - {generator_first[0]})
        ):  # `netG.` beside `netG_best.`: the generator's name is taken, the other copy named (announce_other_copies)
            prefix = generator_first[0]
        else:
            return set_aside_saved_latents(state_dict, where), chosen
        chosen.append(prefix)
        state_dict = {k[len(prefix) + 1 :]: v for k, v in state_dict.items() if k.startswith(prefix + ".")}


def layers_of(state_dict: Mapping[str, torch.Tensor]) -> dict[str, dict[str, torch.Tensor]]:
    """{"main.0.weight": w, "main.1.running_mean": m} -> {"main.0": {"weight": w}, "main.1": {...}}, in order."""
    layers: dict[str, dict[str, torch.Tensor]] = {}
    for key, tensor in state_dict.items():
        layer, _, name = key.rpartition(".")
        layers.setdefault(layer, {})[name] = tensor
    return layers


SAVED_WORDS = {"fixed", "sample", "samples", "eval", "test", "val"}  # ... + a latent's word: latents saved for
LATENT_WORDS = {"z", "noise", "latent", "latents"}  # the same sample grids every epoch, not weights


def set_aside_saved_latents(state_dict: dict[str, torch.Tensor], where: str) -> dict[str, torch.Tensor]:
    """Leave aside a batch of latents the author registered on the generator itself (`self.register_buffer(
    "fixed_z", ...)` makes the fixed sample grid travel with `state_dict()`): a top-level tensor, outside every
    layer, of two or more dimensions, named for saved latents. An outside audit saw such a file refused as holding
    a tensor no adapter knows."""
    saved = [
        key
        for key, value in state_dict.items()
        if "." not in key
        and value.dim() >= 2
        and value.is_floating_point()
        and SAVED_WORDS & set(name_words(key))
        and LATENT_WORDS & set(name_words(key))
    ]
    if not saved or len(saved) == len(state_dict):
        return state_dict
    shown = ", ".join(f"{key} {tuple(state_dict[key].shape)}" for key in saved)
    warnings.warn(
        f"{where}: left aside {shown}: outside the generator's layers and named for saved latents, not weights",
        stacklevel=4,
    )
    return {k: v for k, v in state_dict.items() if k not in saved}


def wraps_a_gan(state_dict: Mapping[str, torch.Tensor]) -> bool:
    """Keys under one prefix whose next components name a generator beside a critic or its average
    (`model.G.*`, `model.D.*`): the prefix is a wrapper's attribute, not a layer of the generator."""
    seconds = {k.split(".")[1] for k in state_dict if k.count(".") >= 2}
    generator = any(p in seconds for p in GENERATOR_PREFIXES)
    return generator and bool(seconds & set(CRITIC_PREFIXES) or ema_entries(sorted(seconds), beside_generator=True))


def strip_prefixes(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return split_prefixes(state_dict)[0]


def checkpoint_hints(obj: Any, where: str) -> tuple[Optional[str], dict[str, Any]]:
    """(BatchNorm mode, config fields) that a checkpoint's pickled records state about its generator.

    - A whole pickled module: its own layer records (ganinv.module_records); see `unmodelled_layers`.
    - pytorch_GAN_zoo's `{'config': BaseConfig, 'netG', 'netD', 'avgG'}`: its models sample in training
      mode (they are never put in eval mode, so BatchNorm uses batch statistics), and its loss
      (`lossCriterion`) decides the last activation (WGANGP: none; DCGAN, MSE: tanh).
    """
    if isinstance(obj, PickledModuleWeights):
        return None, module_records.evidence(obj.layers).options
    if not isinstance(obj, Mapping):
        return None, {}
    config = obj.get("config")
    if safe_pickle.is_record(config) and safe_pickle.origin(config) == PYTORCH_GAN_ZOO_CONFIG and "netG" in obj:
        output = PYTORCH_GAN_ZOO_OUTPUT.get(safe_pickle.fields(config).get("lossCriterion"))
        return "train", ({"output": output} if output else {})
    hparams = lightning_hparams(obj)
    image_side = next((hparams[k] for k in LIGHTNING_SIDES if isinstance(hparams.get(k), int)), None)
    return None, ({"resolution": image_side} if image_side else {})


# A Lightning checkpoint's `hyper_parameters` are its author's __init__ arguments, under names of their choosing:
# only these few say something about the generator unambiguously (`width` and `channels` may mean the image's or a
# layer's, `hidden_size` anything). The image side is evidence for the geometry; the latent size is checked
# against the weights, which decide it.
LIGHTNING_SIDES = ("img_size", "image_size", "img_side", "resolution")
LIGHTNING_LATENTS = ("latent_dim", "nz", "z_dim", "noise_dim", "latent_size")


def lightning_hparams(obj: Any) -> dict[str, Any]:
    """The `hyper_parameters` of a PyTorch Lightning checkpoint (one level of nesting, `hparams`, flattened)."""
    if not (isinstance(obj, Mapping) and "state_dict" in obj and isinstance(obj.get("hyper_parameters"), Mapping)):
        return {}
    found = dict(obj["hyper_parameters"])
    for value in list(found.values()):
        if isinstance(value, Mapping):
            found.update({k: v for k, v in value.items() if k not in found})
    return {str(k): v for k, v in found.items() if isinstance(v, (int, float, str, bool)) and not isinstance(v, bool)}


def check_lightning_latent(obj: Any, nz: int, where: str) -> None:
    """Say where a Lightning checkpoint's `hyper_parameters` give another latent size than the weights take (an
    outside audit: `latent_dim: 100` over a generator taking 8 loaded in silence): the file may hold another model."""
    hparams = lightning_hparams(obj)
    for key in LIGHTNING_LATENTS:
        value = hparams.get(key)
        if isinstance(value, int) and value != nz:
            warnings.warn(
                f"{where}: its Lightning hyper_parameters say {key}={value}, but the generator's weights take {nz} "
                "latents (used); is it the checkpoint of another model?",
                stacklevel=3,
            )
            return


def unmodelled_layers(obj: Any, where: str) -> Optional[str]:
    """The refusal of a whole pickled module whose own layers include some no layer-reading adapter models (its
    weights in such an adapter's net would make other images); None for anything else. An adapter whose layout's
    keys name every computation (`Architecture.reads_every_layer`) needs no such account and may still read it."""
    if not isinstance(obj, PickledModuleWeights):
        return None
    found = module_records.evidence(obj.layers)
    if not found.unmodelled:
        return None
    run_it = (
        "load its weights into that class, saved in a module of its own, with --model-class MODULE:CLASS (it was "
        "defined in the script that saved it, __main__, which no import finds)"
        if in_a_script(obj.origin)
        else "pass --trust-remote-code to run its class (if you trust its author), or load its weights into that "
        "class with --model-class MODULE:CLASS"
    )
    return (
        f"{where} is a whole pickled {obj.origin} module whose own layers include {', '.join(found.unmodelled)}, "
        f"which ganinv's adapters do not model; {run_it}"
    )


def in_a_script(origin: str) -> bool:
    """Whether a pickled class (`module.Class`) was defined in the script that saved it: `__main__`, which
    --trust-remote-code cannot import."""
    return origin.startswith("__main__.")


def is_torch_checkpoint(path: Path) -> bool:
    """A torch.save file whatever its name (`generator.pkl`, `model_final_MNIST`): a zip archive, or a pickle
    (protocol 2 to 5, as torch.save's legacy format and pickle.dump write)."""
    try:
        with open(path, "rb") as file:
            head = file.read(4)
    except OSError:
        return False
    return head.startswith(b"PK\x03\x04") or (len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5)


is_torchscript = safe_pickle.is_torchscript  # TorchScript archives hold `constants.pkl`; torch.save zips do not


TENSORS_KEY = "ordered_tensors_sha256"  # the meta key of `tensors_sha256` (a first, unordered version had another)


def tensors_sha256(state_dict: Mapping[str, Any]) -> Optional[str]:
    """SHA-256 of a state dict's tensors, dtypes, shapes and bytes in their order, whatever their names: the same
    weights in another container (a module wrapped or traced to TorchScript, a DataParallel copy) agree, where the
    file's or the named state dict's sha256 differ (an outside audit: traced weights were called another generator);
    layers that trade places do not (a review). None where there are no tensors, which would fingerprint nothing."""
    parts = [state_dict_sha256({"": value}) for value in state_dict.values() if isinstance(value, torch.Tensor)]
    return hashlib.sha256("".join(parts).encode()).hexdigest() if parts else None


def state_dict_sha256(state_dict: Mapping[str, Any]) -> str:
    """SHA-256 of the names, dtypes, shapes and bytes of a state dict's tensors: the fingerprint of weights that
    have no file (a module a callable returns), and the key of a search remembered for the same weights. A module's
    state dict may hold more than tensors (`get_extra_state`'s record, a quantized layer's packed parameters): they
    are fingerprinted by their parts, or their repr (they were an internal error: an outside audit)."""
    h = hashlib.sha256()

    def add(where: str, value: Any) -> None:
        if isinstance(value, torch.Tensor):
            t = value.detach().cpu()
            t = (t.int_repr() if t.is_quantized else t).contiguous()
            h.update(f"{where}|{t.dtype}|{tuple(t.shape)}|".encode())
            h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
        elif isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                add(f"{where}[{i}]", item)
        elif isinstance(value, Mapping):
            for key in sorted(value, key=str):
                add(f"{where}.{key}", value[key])
        else:
            h.update(f"{where}|{value!r}|".encode())

    for name in sorted(state_dict):
        add(name, state_dict[name])
    return h.hexdigest()
