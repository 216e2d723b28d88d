"""`pkg.module:callable`: the user's Python code, which returns `(module, spec)`, a bare module or a
`Generator`; its `--option`s split between how ganinv calls the module and the callable's own keywords.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import inspect
import itertools
import math
import os
import re
import typing
import warnings
from pathlib import Path
from typing import Any, Mapping, Optional

from torch import nn

from ganinv import trust
from ganinv.architectures import FALSE_WORDS, TRUE_WORDS, AssumptionWarning
from ganinv.config_checks import INT_LIMIT
from ganinv.errors import GaninvError, SourceError
from ganinv.generator import Generator, users_prints
from ganinv.sources.common import Request
from ganinv.sources.programs import wrap_program
from ganinv.sources.spec_overrides import with_overrides
from ganinv.spec import GeneratorSpec
from ganinv.weight_files import (
    state_dict_sha256,
)

# what a weights or program file's name ends in: after the colon, it is a file's name, not a callable's (`netG:ep5.pth`)
FILE_NAME_ENDINGS = (".safetensors", ".pt", ".pth", ".bin", ".ckpt", ".tar", ".pkl", ".pt2", ".ts", ".torchscript")


def check_callable_form(source: str) -> None:
    """Refuse, before anything is imported, a `module:callable` that is no such thing: a missing file whose name holds
    a colon (`model:v2.pth` imported `model.py` of the current folder: an outside audit), a file's path before the
    colon (`./gens.py:make` was an internal error), or no dotted names."""
    module_name, _, attr = source.partition(":")
    if not module_name.strip() or not attr.strip():  # `-g :make` was an internal error (an outside audit)
        raise SourceError(f"{source!r} names no {'module' if attr else 'callable'}: give module:callable")
    if names_a_file(attr):
        raise SourceError(
            f"cannot resolve generator source {source!r}: no such file or folder (a name with ':' that is no file is "
            "read as module:callable, and this one names a file); check the path"
        )
    path = Path(module_name)
    if path.suffix == ".py" or os.sep in module_name or module_name.startswith("."):  # a file's path (an audit)
        raise SourceError(
            f"cannot import {source!r}: {module_name} is a file's path, not a module's name; run from its folder "
            f"and give {path.stem}:{attr} (or put {path.parent or '.'} on PYTHONPATH)"
        )
    if not dotted_names(module_name, attr):
        raise SourceError(
            f"cannot resolve generator source {source!r}: no such file or folder, and no module:callable (dotted "
            "Python names, e.g. mypkg.models:make_generator)"
        )


def names_a_file(attr: str) -> bool:
    """Whether what follows a colon is a file's name or path (`netG:ep5.pth`), not a callable's."""
    return attr.lower().endswith(FILE_NAME_ENDINGS) or os.sep in attr


def dotted_names(module_name: str, attr: str) -> bool:
    """Whether `module:attr` is made of Python names (`mypkg.models:make`, `mod:obj.attr`)."""
    return all(part.isidentifier() for part in (*module_name.split("."), *attr.split(".")))


def names_a_callable(source: str) -> bool:
    """Whether `source`, the name of a file here, could also mean a `module:callable` whose module can be imported
    (the folder it runs from, or an installed one); looked up, not imported. A file `mypkg.gens:make` had been loaded
    in place of the callable in silence (an outside audit, 49a)."""
    module_name, colon, attr = source.partition(":")
    if not colon or names_a_file(attr) or not dotted_names(module_name, attr):
        return False  # `json:netG.pth` names a file, as check_callable_form reads it (a review, 52a)
    top = module_name.split(".")[0]
    try:
        return trust.holds_module(os.getcwd(), top) or importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):  # a module imported without a spec (`__main__`): it exists
        return True


def load_callable(source: str, request: Request) -> Generator:
    check_callable_form(source)
    trust.require_chosen(
        f"the Python callable {source!r}", request.origin, request.trust_remote_code, f"--generator {source}"
    )
    module_name, _, attr = source.partition(":")
    if request.arch:  # ignored in silence before (an outside audit, 41a), as a program's and --model-class's are not
        raise SourceError(
            f"{source} is a Python callable, which builds the generator itself; drop --arch {request.arch}"
        )
    try:
        with trust.current_folder_importable(module_name):
            fn = importlib.import_module(module_name)
            for name in attr.split("."):  # `mod:obj.attr`, as setuptools' entry points name one
                fn = getattr(fn, name)
    except (ImportError, AttributeError) as exc:
        raise SourceError(f"cannot import {source!r} ({exc}); give an importable module:callable") from None
    if not callable(fn):
        raise SourceError(f"{source} is {type(fn).__name__!r}, not a callable: name the function or class")
    if isinstance(fn, Generator):  # a Generator made at import: itself
        return with_overrides(fn, request.overrides)
    if isinstance(fn, nn.Module):  # a module made at import: called as a program, not as its own factory (its
        # forward() had been called with no argument, and the error blamed the user's code: an outside audit, 57b)
        check_returned_module(fn, source)
        meta = {"callable": source, "weights_sha256": state_dict_sha256(fn.state_dict())}
        return wrap_program(fn, request, meta, {})
    factory_options, program_options, unsaid = split_callable_options(fn, request.options)
    factory_options = typed_options(fn, factory_options, source)
    result = call_users_code(fn, factory_options, source)
    if isinstance(result, nn.Module) and not isinstance(result, Generator):  # a bare module: called as a program
        check_returned_module(result, source)
        meta = {"callable": source, "weights_sha256": state_dict_sha256(result.state_dict())}  # weights of no file
        return wrap_program(result, dataclasses.replace(request, options=program_options), meta, {})
    if unsaid:  # options only a bare module's call would take, dropped in silence (an outside audit)
        raise SourceError(
            f"{source} does not take the options {sorted(unsaid)}, and returns its generator with a spec, which says "
            "how it is called: give them to it as parameters, or put them in the GeneratorSpec it returns"
        )
    if isinstance(result, Generator):
        return with_overrides(result, request.overrides)
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], GeneratorSpec):
        net, spec = result
        check_returned_module(net, source)
        meta = {"callable": source, "weights_sha256": state_dict_sha256(net.state_dict())}
        return with_overrides(Generator(net, spec, source=source, meta=meta), request.overrides)
    check_returned_module(result, source)  # names a function or a class
    raise SourceError(f"{source} must return (module, GeneratorSpec), a module, or a ganinv Generator")


def call_users_code(fn: Any, options: dict[str, Any], source: str) -> Any:
    """`fn(**options)`, where an error of the user's own code is theirs: it had been "a bug in ganinv" (a
    RuntimeError of load_state_dict, a KeyError), or "does not take the options" for any TypeError (an outside
    audit, 41a). Options its signature does not take are said as such; ganinv's own errors pass as they are."""
    signature = signature_of(fn)
    try:
        if signature is not None:  # else (a builtin) the call says
            signature.bind(**options)
    except TypeError as exc:
        if not options and "missing" in str(exc):  # a forward of z named in place of its module (57b)
            raise SourceError(
                f"{source} cannot be called with no arguments ({exc}): a module:callable is called once, with the "
                "--option values as keywords, and returns the generator (a module, (module, GeneratorSpec) or a ganinv "
                "Generator); a function of z is a forward: name the module, or a function or class that makes it"
            ) from None
        raise SourceError(f"{source} does not take the options {sorted(options)}: {exc}") from None
    try:
        with users_prints():
            return fn(**options)
    except GaninvError:
        raise
    except SystemExit as exc:  # ended ganinv with its code and no word (an outside audit, 49a)
        raise SourceError(
            f"{source} called sys.exit({exc.code!r}) while building the generator; the exit is in that callable's "
            "code: a generator factory returns its module"
        ) from None
    except Exception as exc:
        text = str(exc).split("Exception raised from")[0]  # torch's C++ frames follow its message (review 42a)
        said = "; ".join(line.strip() for line in text.splitlines() if line.strip()) or "(no message)"
        raise SourceError(
            f"{source} raised {type(exc).__name__}: {said[:800].rstrip('.')}. The error is in that callable's code "
            "(GANINV_DEBUG=1 shows its traceback)"
        ) from exc


# --option values typed on the command line are strings; a parameter whose default or annotation says bool, int or
# float gets them converted, as click converts its own flags: a factory's `use_ema=True` took the string "false" as
# true and loaded the other generator in silence, and `nz=16` took "32" into nn.Linear (an outside audit, 41a).
TYPE_NAMES = {"bool": bool, "int": int, "float": float}


def parameter_type(parameter: inspect.Parameter) -> Any:
    """bool, int or float where the parameter's annotation (also `Optional[int]`, `int | None`) says so, or, where it
    has none, its default does; else None (a `Union[int, str]` or `Any` takes the string: a review, 42a)."""
    annotation = parameter.annotation
    if isinstance(annotation, str):  # not evaluated (`signature(eval_str=True)` failed): read as text
        words = [w.strip() for w in re.sub(r"^(typing\.)?Optional\[(.*)\]$", r"\2 | None", annotation).split("|")]
        named = [TYPE_NAMES[w] for w in words if w in TYPE_NAMES]
        return named[0] if len(named) == 1 and all(w in TYPE_NAMES or w == "None" for w in words) else None
    if annotation in (bool, int, float):
        return annotation
    if annotation is not inspect.Parameter.empty:
        arguments = [a for a in typing.get_args(annotation) if a is not type(None)]
        return arguments[0] if len(arguments) == 1 and arguments[0] in (bool, int, float) else None
    default = parameter.default
    return type(default) if type(default) in (bool, int, float) else None


def signature_of(fn: Any) -> Optional[inspect.Signature]:
    """`fn`'s signature, its annotations evaluated where they can be (`from __future__ import annotations` keeps them
    as strings, `typing.Optional[int]` among them: a review, 42a); None where it has none to read."""
    try:
        return inspect.signature(fn, eval_str=True)
    except Exception:  # an annotation naming what its module cannot evaluate now
        try:
            return inspect.signature(fn)
        except (TypeError, ValueError):
            return None


def typed_options(fn: Any, options: dict[str, Any], source: str) -> dict[str, Any]:
    """The string values of `options` converted to the bool, int or float their parameters take (`parameter_type`);
    a value that is none of them is refused, naming it. Other values, and strings for other parameters, as given;
    a word that reads as a bool or a number is said where it reaches the callable as a string (through **kwargs,
    or a parameter of no type: `use_ema=false` would be truthy there, a review, 42a)."""
    signature = signature_of(fn)
    if signature is None:
        return options
    parameters = signature.parameters
    typed = dict(options)
    for name, value in options.items():
        if not isinstance(value, str):
            continue
        kind = parameter_type(parameters[name]) if name in parameters else None
        word = value.strip().lower()
        if kind is None:
            if word in TRUE_WORDS | FALSE_WORDS or re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?", word):
                warnings.warn(
                    f"--option {name}={value} reaches {source} as the string {value!r}: its parameter names no type "
                    "(bool, int or float, by an annotation or a default), and a string such as 'false' is true in "
                    f"Python; give the parameter one, or convert it in {source}",
                    AssumptionWarning,
                    stacklevel=4,
                )
            continue
        if kind is bool and word in TRUE_WORDS | FALSE_WORDS:
            typed[name] = word in TRUE_WORDS
            continue
        try:
            number = int(word) if kind is int else float(word)
            if kind is not bool and math.isfinite(number) and abs(number) <= INT_LIMIT:  # as flags are (42a)
                typed[name] = number
                continue
        except ValueError:
            pass
        expected = "true or false" if kind is bool else ("an integer" if kind is int else "a finite number")
        expected += " no larger than 2**62" if kind is not bool else ""
        raise SourceError(f"--option {name}={value}: {source}'s {name} takes {kind.__name__}; give {expected}")
    return typed


PROGRAM_OPTIONS = ("inputs", "n_classes", "nc", "batch_size", "image_layout")  # how ganinv calls a bare module (opaque)


def split_callable_options(
    fn: Any, options: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """--option values -> (the callable's keyword arguments; how ganinv calls a bare module it returns; the program
    options the callable does not take). The program options (PROGRAM_OPTIONS) reach ganinv's call of a bare module
    whether or not the callable also takes them: all went to the callable, so a module whose forward takes (z, labels)
    could not be told so (an outside audit). The callable gets those it names, and every option where it takes
    **kwargs."""
    program = {k: v for k, v in options.items() if k in PROGRAM_OPTIONS}
    try:
        parameters = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return dict(options), program, {}
    if any(p.kind == p.VAR_KEYWORD for p in parameters.values()):
        return dict(options), program, {}
    unsaid = {k: v for k, v in program.items() if k not in parameters}
    return {k: v for k, v in options.items() if k not in unsaid}, program, unsaid


def check_returned_module(net: Any, source: str) -> None:
    """What a callable returns as its generator is a module instance with weights: a function, a class or a module
    built on the meta device became internal errors (an outside audit)."""
    if isinstance(net, type):
        raise SourceError(f"{source} returns the class {net.__name__}, not a module: return an instance of it")
    if not isinstance(net, nn.Module):
        kind = "a function" if callable(net) else f"a {type(net).__name__}"
        raise SourceError(
            f"{source} returns {kind} as its generator, not a torch.nn.Module: wrap it in a module whose forward "
            "computes the images"
        )
    if any(t.is_meta for t in itertools.chain(net.parameters(), net.buffers())):
        raise SourceError(
            f"{source} returns a module whose weights are on the meta device (built without weights): load its "
            "weights into it first (load_state_dict(..., assign=True))"
        )
