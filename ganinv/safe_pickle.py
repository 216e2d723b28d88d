"""Read torch checkpoints whose non-tensor objects are plain data, without running code from the file.

`torch.load(weights_only=True)` refuses any class it does not know, so a checkpoint that
pickled a config object (`{'config': <Config>, 'netG': ..., 'avgG': ...}`) or an
`argparse.Namespace` beside its state dicts cannot be read, and the full unpickler would
import and run whatever the file names. `load` sits between the two:

- tensors, storages, dtypes, `OrderedDict`, `torch.Size` and the other globals torch's own
  weights-only loader allows are rebuilt as usual (plus numpy scalars and arrays);
- `pathlib` paths become their pure flavour and `datetime` values are built by the standard
  constructors, each only from plain arguments (`_standard_values`);
- any other class is never imported: it becomes an inert `Record` type of the same name, and
  an object pickled as "make an instance, then set its state" (how plain objects pickle)
  becomes a `Record` holding that state (`fields(record)` gives it as a dict), as does an
  Enum member of a module outside the standard library (`enum_member`);
- calling anything else while unpickling (`os.system`, `builtins.eval`, a `__reduce__` that
  returns a function, a class constructor with arguments) raises `RefusedPickle` before it
  runs.

Works for both the torch zip format and the legacy (pre-1.6) format: torch's own loader
does the file handling and storage reading, with this module's unpickler in place of
Python's. A whole pickled `nn.Module` loads as a tree of records; `module_state_dict`
collects its parameters and buffers.
"""

from __future__ import annotations

import _compat_pickle
import dataclasses
import datetime
import functools
import math
import operator
import os
import pickle
import stat
import sys
import types
import zipfile
from collections import Counter, OrderedDict
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath
from typing import Any, ClassVar, Optional, TypeGuard, cast

import torch


class RefusedPickle(pickle.UnpicklingError):
    """The pickle asked to call something that is not a known-safe constructor."""

    def __init__(self, name: str):
        super().__init__(f"the pickle calls {name} while loading")
        self.name = name


class RecordType(type):
    """The type of a stand-in class: calling it (a pickled constructor call) is refused, but for an Enum member's
    `Class(value)`, which makes a record of the value (`enum_member`)."""

    origin: str  # "module.Class" as named in the pickle, on each record class

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if not kwargs and enum_member(cls.origin, args):
            return cast("type[Record]", cls).__new__(cast("type[Record]", cls), *args)
        raise RefusedPickle(cls.origin)

    def __repr__(cls) -> str:
        return f"<record type {cls.origin}>"


class Record(metaclass=RecordType):
    """An instance of a class that was not imported: only the state the pickle gave it."""

    origin: ClassVar[str] = "record"  # "module.Class" as named in the pickle

    def __new__(cls, *args: Any, **kwargs: Any) -> "Record":
        record = object.__new__(cls)
        if args or kwargs:
            record.__dict__["_new_args"] = (args, kwargs)
        return record

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple) and len(state) == 2 and all(s is None or isinstance(s, dict) for s in state):
            state = {**(state[0] or {}), **(state[1] or {})}  # (__dict__, slots)
        if isinstance(state, dict):
            self.__dict__.update(state)
        else:
            self.__dict__["_state"] = state

    def __setitem__(self, key: Any, value: Any) -> None:
        """The items of a pickled dict subclass (Lightning's AttributeDict of hyperparameters), kept as a dict."""
        self.__dict__.setdefault("_items", {})[key] = value

    def __repr__(self) -> str:
        return f"<record {type(self).origin} {sorted(map(str, self.__dict__))}>"


PLAIN_VALUES = (int, float, str, bytes, bool, type(None))


def enum_member(origin: str, args: tuple[Any, ...]) -> bool:
    """Whether a call of an unimported class reads as an Enum member, which pickles as `Class(value)` (a Lightning
    checkpoint's hyper_parameters hold them; importing the class would run its module): a CapWords name outside the
    standard library, called with one plain value. It becomes a record holding that value, never called. A function
    (`module.run`), or a standard-library name (`os.system`, `subprocess.Popen`, `builtins.eval`), is still refused."""
    module, _, name = origin.rpartition(".")
    top = module.split(".")[0]
    return (
        name[:1].isupper() and top not in sys.stdlib_module_names and len(args) == 1 and type(args[0]) in PLAIN_VALUES
    )


def record_type(module: str, name: str) -> RecordType:
    return RecordType(
        name,
        (Record,),
        {"origin": f"{module}.{name}", "__module__": __name__, "__qualname__": f"Record[{module}.{name}]"},
    )


def is_record(obj: Any) -> TypeGuard[Record]:
    return isinstance(obj, Record)


def origin(obj: Any) -> str:
    """'module.Class' of a record, as the pickle named it."""
    return type(obj).origin


def fields(record: Record) -> dict[str, Any]:
    """A record's state as a dict (the attributes the original object had)."""
    return {k: v for k, v in record.__dict__.items() if k not in ("_new_args", "_state", "_items")}


def items(record: Record) -> dict[Any, Any]:
    """The items of a record of a dict subclass (empty for other records)."""
    return record.__dict__.get("_items", {})


def _safe_reconstructor(cls: Any, base: Any, state: Any) -> Any:
    """copyreg._reconstructor (how protocols 0 and 1 pickle plain objects), for record types only."""
    if isinstance(cls, RecordType) and base is object and state is None:
        record_class = cast("type[Record]", cls)  # every RecordType is Record or a subclass of it
        return record_class.__new__(record_class)
    raise RefusedPickle(f"copyreg._reconstructor({getattr(cls, '__name__', cls)})")


def _numpy_globals() -> dict[str, Any]:
    """numpy scalars and arrays (a checkpoint's `best_acc: np.float64`), by the names numpy 1 and 2 pickle."""
    try:
        import numpy
    except ImportError:
        return {}
    # numpy 2 has _core; numpy 1 only core (the installed numpy's stubs know one of them)
    multiarray = numpy._core.multiarray if hasattr(numpy, "_core") else numpy.core.multiarray  # type: ignore[attr-defined]
    found: dict[str, Any] = {"numpy.dtype": numpy.dtype, "numpy.ndarray": numpy.ndarray}
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        found[f"{module}.scalar"] = multiarray.scalar
        found[f"{module}._reconstruct"] = multiarray._reconstruct
    for name in ("float64", "float32", "float16", "int64", "int32", "int16", "int8", "uint8", "bool_"):
        found[f"numpy.dtypes.{type(numpy.dtype(name)).__name__}"] = type(numpy.dtype(name))
    return found


# Standard-library values a Lightning checkpoint's `hyper_parameters` hold (save_hyperparameters() keeps a script's
# arguments as given): a `type=Path` argument pickles as `pathlib.PosixPath(*parts)`, a start time as
# `datetime.datetime(state, tz)`. They are data, and were refused as code (an outside audit). Each name is bound to a
# builder that calls the standard constructor only after checking that every argument is plain data.
PATH_FLAVOURS = {
    "Path": PurePath,
    "PurePath": PurePath,
    "PosixPath": PurePosixPath,
    "PurePosixPath": PurePosixPath,
    "WindowsPath": PureWindowsPath,
    "PureWindowsPath": PureWindowsPath,
}
DATETIME_ARGUMENTS = (int, float, str, bytes, type(None), datetime.timezone, datetime.timedelta)


def checked_builder(name: str, build: Any, arguments: tuple[type, ...]) -> Any:
    """`build`, called by the pickle only with arguments of exactly these types (else refused as calling `name`)."""

    def checked(*args: Any) -> Any:
        wrong = [type(a).__name__ for a in args if type(a) not in arguments]
        if wrong:
            raise RefusedPickle(f"{name} with an argument of type {wrong[0]}")
        return build(*args)

    checked.__qualname__ = checked.__name__ = name
    return checked


def _inert_partial(func: Any, *args: Any, **kwargs: Any) -> "Record":
    """`functools.partial(f, ...)` as a record holding `f` and its arguments, never callable: Lightning keeps an
    optimizer given as a partial (`partial(torch.optim.Adam, lr=2e-4)`) in `hyper_parameters`, and the whole file
    was refused as code (an outside audit). Its state (func, args, keywords, dict) is set on the record by BUILD."""
    kind = cast("type[Record]", record_type("functools", "partial"))
    record = kind.__new__(kind)
    record.__dict__.update(func=func, args=args, keywords=kwargs)
    return record


def _standard_values() -> dict[str, Any]:
    """A path as its pure (string-only) flavour, whatever system it was saved on, never one that reads the disk (by
    pathlib's names, and Python 3.13's `pathlib._local`); dates, times, durations and fixed time zones as themselves."""
    found = {}
    for module in ("pathlib", "pathlib._local"):
        for name, flavour in PATH_FLAVOURS.items():
            found[f"{module}.{name}"] = checked_builder(f"pathlib.{name}", flavour, (str,))
    for kind in (datetime.datetime, datetime.date, datetime.time, datetime.timedelta, datetime.timezone):
        found[f"datetime.{kind.__name__}"] = checked_builder(f"datetime.{kind.__name__}", kind, DATETIME_ARGUMENTS)
    return found


_ALLOWED: Optional[dict[str, Any]] = None


def allowed_globals() -> dict[str, Any]:
    """What may be looked up by name: torch's weights-only allowlist, numpy data, a few builtins."""
    global _ALLOWED
    if _ALLOWED is None:
        from torch import _weights_only_unpickler

        allowed = dict(_weights_only_unpickler._get_allowed_globals())
        allowed.update(_numpy_globals())
        allowed.update(_standard_values())
        allowed.update(
            {
                "builtins.frozenset": frozenset,
                "builtins.slice": slice,
                "builtins.range": range,
                "builtins.object": object,
                "copyreg._reconstructor": _safe_reconstructor,
                "functools.partial": _inert_partial,
                "torch._utils._rebuild_parameter": torch._utils._rebuild_parameter,
            }
        )
        _ALLOWED = allowed
    return _ALLOWED


def _buildable(target: Any) -> bool:
    """An object whose state a pickle may set: one it made (a record, a tensor, an instance of an allowed class),
    never a class, a function or a module."""
    if isinstance(target, (type, types.FunctionType, types.BuiltinFunctionType, types.MethodType, types.ModuleType)):
        return False
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(target, numpy.dtype):  # arrays of every dtype pickle one and set its state:
        return target is not numpy.dtype(target.str)  # a copy the pickle made, never numpy's shared instance
    kind = type(target)
    made = kind in (torch.Tensor, torch.nn.Parameter, OrderedDict) or kind in _allowed_types()
    return isinstance(target, Record) or made


@functools.cache
def _allowed_types() -> frozenset[type]:
    """The allowed globals that are classes: their instances are objects a pickle makes (once per process)."""
    return frozenset(value for value in allowed_globals().values() if isinstance(value, type))


class RestrictedUnpickler(pickle._Unpickler):
    """`find_class` never imports: known-safe globals, else a record type that refuses to be called. `BUILD` (set an
    object's state) applies only to objects the pickle made: records, tensors, and instances of the allowed classes,
    as in torch's weights-only unpickler, never to an allowed function or class itself (an outside audit negated
    every tensor loaded later in the process by setting `torch._utils._rebuild_tensor_v2.__defaults__`). The
    Python implementation of pickle's machine, whose opcodes can be overridden."""

    dispatch = dict(pickle._Unpickler.dispatch)

    def load_build(self) -> None:
        machine = cast(Any, self)  # the pure-Python machine's stack and opcodes are not in typeshed
        target = machine.stack[-2]
        if not _buildable(target):
            raise RefusedPickle(f"setattr on {getattr(target, '__qualname__', type(target).__name__)}")
        cast(Any, pickle._Unpickler).load_build(self)

    dispatch[pickle.BUILD[0]] = load_build  # type: ignore[assignment]  # the table holds the base class's methods

    def load_reduce(self) -> None:
        machine = cast(Any, self)
        self.count(machine.stack[-2], machine.stack[-1])
        cast(Any, pickle._Unpickler).load_reduce(self)

    dispatch[pickle.REDUCE[0]] = load_reduce  # type: ignore[assignment]

    def load_newobj(self) -> None:
        machine = cast(Any, self)
        self.count(machine.stack[-2], machine.stack[-1])
        cast(Any, pickle._Unpickler).load_newobj(self)

    dispatch[pickle.NEWOBJ[0]] = load_newobj  # type: ignore[assignment]

    def load_newobj_ex(self) -> None:  # protocol 4's NEWOBJ with keyword arguments: unbounded once (an outside audit)
        machine = cast(Any, self)
        self.count(machine.stack[-3], machine.stack[-2])
        cast(Any, pickle._Unpickler).load_newobj_ex(self)

    dispatch[pickle.NEWOBJ_EX[0]] = load_newobj_ex  # type: ignore[assignment]

    def _instantiate(self, klass: Any, args: Any) -> None:  # INST and OBJ
        self.count(klass, args)
        cast(Any, pickle._Unpickler)._instantiate(self, klass, args)

    def count(self, func: Any, args: Any) -> None:
        """`check_size` of one call, and of every sized call of this pickle together: each under the bound, a
        thousand of them in a 20 KB file still took gigabytes (an outside audit)."""
        built = self.__dict__.get("_built", 0) + check_size(func, args)
        self.__dict__["_built"] = built
        if built > LARGEST_COUNT:
            raise OversizedPickle("its sized constructors together", built)

    def find_class(self, module: str, name: str) -> Any:
        module, name = python3_names(module, name)
        key = f"{module}.{name}"
        allowed = allowed_globals()
        if key in allowed:
            return allowed[key]
        return record_type(module, name)


def python3_names(module: str, name: str) -> tuple[str, str]:
    """(module, name) as Python 3 names them: protocol 2 writes `__builtin__`, and `xrange` for range."""
    if (module, name) in _compat_pickle.NAME_MAPPING:
        module, name = _compat_pickle.NAME_MAPPING[(module, name)]
    return _compat_pickle.IMPORT_MAPPING.get(module, module), name


def global_name(module: str, name: str) -> str:
    """ "module.name" as `RestrictedUnpickler.find_class` looks it up."""
    return ".".join(python3_names(module, name))


def _load_one(file: Any, **kwargs: Any) -> Any:
    return RestrictedUnpickler(file, **kwargs).load()


# What torch.load takes as `pickle_module`: the legacy format reads several pickles with `load`.
PICKLE_MODULE = types.SimpleNamespace(
    __name__=__name__, Unpickler=RestrictedUnpickler, load=_load_one, UnpicklingError=pickle.UnpicklingError
)


def load(path: str | Path) -> Any:
    """The checkpoint's objects with tensors on the CPU; raises `RefusedPickle` if it would run code."""
    if is_torchscript(path):  # torch.load(weights_only=False) hands these to torch.jit.load: code runs
        raise RefusedPickle("torch.jit.load (it is a TorchScript program)")
    return torch.load(path, map_location="cpu", weights_only=False, pickle_module=PICKLE_MODULE)


def is_torchscript(path: str | Path) -> bool:
    """A TorchScript archive, as torch.load decides it (a zip whose first bytes are a local header, holding
    `constants.pkl` in torch's own zip reader), or as Python's zipfile reads it. Python's view alone was not enough
    (an outside audit): an archive with a second central directory hid `constants.pkl` from it while torch's reader
    found it, and torch.load ran the program's `__setstate__` at load."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO: open() would wait forever; the reader refuses it
            return False
    except OSError:
        return False
    with open(path, "rb") as file:
        if file.read(4) == b"PK\x03\x04":  # torch.serialization's own test before it opens a zip
            try:
                if "constants.pkl" in torch._C.PyTorchFileReader(str(path)).get_all_records():
                    return True
            except Exception:  # torch cannot read it as a zip: it will not dispatch it either (a damaged file is
                pass  # its reader's to report: an outside review saw this check end a resume in an internal error)
    try:
        with zipfile.ZipFile(path) as archive:
            return any(name.endswith("/constants.pkl") for name in archive.namelist())
    except Exception:  # not a zip Python reads (BadZipFile, EOFError, ValueError on a damaged directory, ...)
        return False


def records_in(obj: Any, limit: int = 20) -> list[str]:
    """The record types found at the top levels of a loaded checkpoint (for messages and metadata)."""
    found: list[str] = []

    def visit(value: Any, depth: int) -> None:
        if len(found) >= limit or depth > 3:
            return
        if is_record(value):
            if origin(value) not in found:
                found.append(origin(value))
            return
        if isinstance(value, dict):
            for item in value.values():
                if not isinstance(item, torch.Tensor):
                    visit(item, depth + 1)
        elif isinstance(value, (list, tuple)):
            for item in value[:50]:
                visit(item, depth + 1)

    visit(obj, 0)
    return found


def module_state_dict(record: Record, prefix: str = "") -> dict[str, torch.Tensor]:
    """The parameters and buffers of a pickled `nn.Module` loaded as records (empty if it is not one)."""
    state = fields(record)
    out: dict[str, torch.Tensor] = {}
    for group in ("_parameters", "_buffers"):
        for name, value in (state.get(group) or {}).items():
            if isinstance(value, torch.Tensor):
                out[prefix + name] = value
    for name, child in (state.get("_modules") or {}).items():
        if is_record(child):
            out.update(module_state_dict(child, f"{prefix}{name}."))
    return out


# ---- sizes a pickle may ask for ---------------------------------------------------------------------------
# Allowed constructors that build an object as large as their arguments say: `bytearray(3_000_000_000)`,
# `set(range(10**9))` or `torch.FloatTensor(10**8, 10**8)` in a 2 KB file took outside audits' loads to 2.7-5.2 GB
# before any refusal, the count given as a literal, a 0-d tensor or a numpy integer. torch's weights-only pass
# allows them and cannot be hooked, so a file whose pickles name one (found from the opcodes, `sized_constructor`)
# is read by this module's unpickler alone, which checks the arguments at the call (`check_size`).
LARGEST_COUNT = 10_000_000  # elements; a constructor asked for more is refused
COUNTED = (bytearray, bytes, range)
# built from an iterable: a tensor of 10**9 elements viewed from one (zero strides); OrderedDict and torch.Size too,
# which every state dict names, called without arguments (a review: OrderedDict of a zero-stride tensor's rows)
FILLED = (set, frozenset, Counter, OrderedDict, torch.Size)
ITERATING_NAMES = frozenset({"collections.OrderedDict", "torch.Size"})  # sized calls only with arguments
# A tensor iterated into a set or Counter makes a Python tensor object of about 1 KB per element: 3 million of them,
# under LARGEST_COUNT, took 2.6 GB (an outside audit), so each counts as this many elements.
TENSOR_ITEM_COST = 100


@functools.cache
def legacy_tensor_types() -> dict[str, Any]:
    """torch.FloatTensor and the other legacy constructors in torch's allowlist, by name (once per process): called
    with sizes, they allocate."""
    return {k: v for k, v in allowed_globals().items() if k.endswith("Tensor") and k != "torch.Tensor"}


@functools.cache
def sized_names() -> frozenset[str]:
    """The globals whose call `check_size` bounds, as `global_name` gives them."""
    builtin = {f"builtins.{kind.__name__}" for kind in (*COUNTED, set, frozenset)}
    # _rebuild_from_type_v2 calls the function it is given: torch's own pass would call a sized one unbounded
    calls = {"collections.Counter", "torch._tensor._rebuild_from_type_v2", "numpy.ndarray"}
    calls |= {f"numpy.{core}.multiarray._reconstruct" for core in ("core", "_core")}
    return frozenset(builtin | calls | set(legacy_tensor_types()))


class OversizedPickle(pickle.UnpicklingError):
    """The pickle asked an allowed constructor for an object of more than LARGEST_COUNT elements."""

    def __init__(self, name: str, count: int):
        super().__init__(f"its pickle asks {name} for {count:,} elements")
        self.name, self.count = name, count


def _count(value: Any) -> Optional[int]:
    """An integer argument as the constructor will read it (ints, numpy integers, 0-d integer tensors), else None."""
    if isinstance(value, bool):
        return None
    try:
        return operator.index(value)
    except TypeError:
        return None


@functools.cache
def numpy_constructors() -> tuple[Any, ...]:
    """numpy.ndarray and multiarray._reconstruct among the allowed globals (once per process): called with a shape,
    they allocate it."""
    found = allowed_globals()
    return tuple(v for k, v in found.items() if k == "numpy.ndarray" or k.endswith("multiarray._reconstruct"))


@functools.cache
def storage_types() -> tuple[type, ...]:
    """torch.FloatStorage, torch.storage.UntypedStorage and the other storages in torch's allowlist (once per
    process): called with a size, they allocate it."""
    return tuple(v for k, v in allowed_globals().items() if k.endswith("Storage") and isinstance(v, type))


def is_rebuild_function(func: Any) -> bool:
    """One of torch's own tensor rebuilders (`torch._utils._rebuild_tensor_v2`, ...): what torch.save pickles."""
    return getattr(func, "__module__", None) == "torch._utils" and getattr(func, "__name__", "").startswith("_rebuild")


def check_size(func: Any, args: Any) -> int:
    """Refuse a call of a sized constructor that would build more than LARGEST_COUNT elements; returns the elements
    it builds (0 for other calls). `torch._tensor._rebuild_from_type_v2(func, type, args, state)` calls `func(*args)`
    itself: it is checked as that call, and only torch's rebuilders may be that func (torch.save pickles no other;
    `bytearray(3e9)` through it was never bounded, an outside audit)."""
    args = tuple(args) if isinstance(args, (tuple, list)) else ()
    if func is torch._tensor._rebuild_from_type_v2:
        if len(args) < 3 or not is_rebuild_function(args[0]):
            inner = getattr(args[0], "__qualname__", type(args[0]).__name__) if args else "nothing"
            raise RefusedPickle(f"torch._tensor._rebuild_from_type_v2 of {inner}")
        return check_size(args[0], args[2])
    counts = [_count(a) for a in args]
    if func in COUNTED:
        if func is range:
            try:
                size = len(range(*cast(list[int], counts)))  # built lazily: its length alone
            except (TypeError, ValueError):  # not a range range() makes: its own error, when it is called
                size = 0
            except OverflowError:  # longer than sys.maxsize
                size = LARGEST_COUNT + 1
        else:
            size = max((abs(c) for c in counts if c is not None), default=0)
        if size > LARGEST_COUNT:
            raise OversizedPickle(f"builtins.{func.__name__}", size)
        return size
    if func in FILLED and args:
        source = args[0]
        tensor = isinstance(source, torch.Tensor)
        size = source.numel() if tensor else len(source) if hasattr(source, "__len__") else 0
        name = getattr(func, "__name__", "a container") + (" (a tensor's items)" if tensor else "")
        if size * (TENSOR_ITEM_COST if tensor else 1) > LARGEST_COUNT:
            raise OversizedPickle(name, size)
        return size * (TENSOR_ITEM_COST if tensor else 1)
    if func in numpy_constructors() and len(args) >= 2:  # ndarray(shape, dtype), _reconstruct(ndarray, shape, dtype)
        shape, dtype = (args[0], args[1]) if isinstance(func, type) else (args[1], args[2] if len(args) > 2 else None)
        if str(dtype) in ("O", "object", "b'O'"):  # pointers to Python objects, filled with None: no weights are
            raise RefusedPickle("numpy.ndarray of Python objects")
        dims = [_count(d) for d in (shape if isinstance(shape, (tuple, list)) else (shape,))]
        size = math.prod(abs(d) for d in dims if d is not None)
        if size > LARGEST_COUNT:  # an 208-byte file asked for 300 million (an outside audit); BUILD fills them from
            raise OversizedPickle("numpy.ndarray", size)  # the file's own bytes, which bound the real ones
        return size
    sized = func in legacy_tensor_types().values() or func in storage_types()
    if sized and counts and all(c is not None for c in counts):
        size = math.prod(abs(cast(int, c)) for c in counts)
        if size > LARGEST_COUNT:
            raise OversizedPickle(getattr(func, "__name__", "a legacy tensor constructor"), size)
        return size
    return 0


@dataclasses.dataclass(frozen=True)
class Global:
    """A global a pickle's opcodes pushed, by `global_name` (what `sized_constructor` follows through the memo)."""

    name: str


def all_text(values: list[Any]) -> bool:
    return len(values) == 2 and all(isinstance(v, str) for v in values)


def sized_constructor(path: str | Path) -> Optional[str]:
    """The first sized constructor the file's pickles name (by GLOBAL, STACK_GLOBAL, also from the memo, or INST),
    read from the opcodes alone (nothing is built); None where they name none. Reads a torch zip archive's `.pkl`
    records, or the legacy format's leading pickles."""
    import io
    import pickletools

    wanted = sized_names()
    memo_ops = {"BINPUT", "LONG_BINPUT", "PUT", "MEMOIZE"}
    get_ops = {"BINGET", "LONG_BINGET", "GET"}

    def scan(stream: Any, pickles: int) -> Optional[str]:
        for _ in range(pickles):
            pushed: list[Any] = []  # what the recent opcodes pushed: strings, Global(name), else None
            memo: dict[int, Any] = {}
            calling: Optional[str] = None  # an ITERATING_NAMES class just pushed: with arguments, a sized call
            marked = False  # ... and a MARK after it: MARK TUPLE is no argument either
            try:
                for opcode, arg, _pos in pickletools.genops(stream):
                    name = opcode.name
                    if name in ("FRAME", "PROTO"):  # no object: protocol 4 frames fall anywhere between opcodes
                        continue
                    if calling is not None and name not in memo_ops:
                        if name == "EMPTY_TUPLE" or (marked and name == "TUPLE"):
                            calling = None
                        elif name == "MARK" and not marked:
                            marked = True
                        else:
                            return calling
                    if name in ("GLOBAL", "INST") and isinstance(arg, str):
                        found = global_name(*arg.split(" ", 1))
                        if found in wanted or (name == "INST" and found in ITERATING_NAMES):
                            return found
                        pushed.append(Global(found))
                    elif name == "STACK_GLOBAL":
                        found = global_name(pushed[-2], pushed[-1]) if all_text(pushed[-2:]) else ""
                        if found in wanted:
                            return found
                        pushed.append(Global(found))
                    elif name in memo_ops:
                        memo[len(memo) if name == "MEMOIZE" else int(cast(int, arg))] = pushed[-1] if pushed else None
                    elif name in get_ops:
                        pushed.append(memo.get(int(cast(int, arg))))
                    else:
                        text = isinstance(arg, str) and ("UNICODE" in name or "STRING" in name)
                        pushed.append(arg if text else None)
                    last = pushed[-1] if pushed and name not in memo_ops else None
                    if isinstance(last, Global) and last.name in ITERATING_NAMES:
                        calling, marked = last.name, False
                    del pushed[:-4]
            except Exception:  # not (or no longer) a pickle: the legacy format's raw storage bytes
                break
        return None

    path = Path(path)
    with open(path, "rb") as stream:  # as torch.load decides: a zip only where the file starts as one
        starts_as_zip = stream.read(4) == b"PK\x03\x04"
    if starts_as_zip:
        # the records torch.load will read, through its own zip reader: Python's zipfile can see another archive
        # in the same bytes, and stopped at a local header's name that torch ignores (an outside audit, 53a)
        try:
            reader = torch._C.PyTorchFileReader(str(path))
            records = [name for name in reader.get_all_records() if name.lower().endswith(".pkl")]  # DATA.PKL too
            for name in records:
                found = scan(io.BytesIO(reader.get_record(name)), 1)
                if found:
                    return found
        except Exception:  # not an archive torch reads (a damaged record too: a review, 54a): torch.load says so
            return None
        return None
    with open(path, "rb") as stream:
        # legacy torch.save: magic number, protocol, sys_info, the objects, then the storage keys, the fifth pickle
        # torch's legacy loader unpickles (unscanned, it could ask for 2**31 elements: an outside audit, 53a)
        return scan(stream, 5)
