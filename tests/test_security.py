"""No file ganinv reads (an artifact, a recipe, a run's config.json, a benchmark) chooses code for it to run.

Each attack names `os:mkdir` as the generator, with the marker folder as its argument: if ganinv ever
ran the code, the marker would exist. The user's own word (typing the source, or --trust-remote-code
for this one command) is the only thing that lets code run.
"""

import enum
import functools
import io
import json
import re
import shutil
from collections import OrderedDict

import pytest
import torch
import zoo
from click.testing import CliRunner
from safetensors.torch import save_file

from ganinv import safe_pickle
from ganinv.cli.main import cli
from ganinv.errors import ConfigError, UnsafeFileError
from ganinv.inverter import Inverter
from ganinv.mvae.model import MVAE
from ganinv.sources import load_generator
from ganinv.spec import GeneratorSpec

SPEC = GeneratorSpec(nz=4, image_shape=(1, 16, 16))


def hostile_ref(marker) -> dict:
    return {"source": "os:mkdir", "arch": None, "options": {"path": str(marker)}, "meta": {}}


@pytest.fixture
def marker(tmp_path):
    path = tmp_path / "code-ran"
    yield path
    assert not path.exists(), "code named by a file was executed"


@pytest.fixture
def images(tmp_path):
    path = tmp_path / "images.safetensors"
    save_file({"images": torch.rand(3, 1, 16, 16) * 2 - 1}, str(path))
    return path


def hostile_inverter(folder, marker):
    """An inverter artifact (JSON + safetensors, no pickle) whose generator reference is `os:mkdir(marker)`."""
    Inverter(spec=SPEC.to_dict(), generator_ref=hostile_ref(marker), width=8, hidden=32).save_pretrained(folder)
    assert not (folder / "generator").exists()
    return folder


def run(args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    return result, errors


@pytest.mark.parametrize(
    "command",
    [
        ["invert", "--inverter", "{art}", "{img}", "--out", "{tmp}/out"],
        ["loglik", "--inverter", "{art}", "{img}", "--k", "1"],
    ],
)
def test_an_artifact_cannot_name_a_callable(tmp_path, marker, images, command):
    art = hostile_inverter(tmp_path / "inverter", marker)
    result, errors = run([a.format(art=art, img=images, tmp=tmp_path) for a in command])
    assert result.exit_code == 2 and len(errors) == 1, result.output
    assert "'os:mkdir' is named by the inverter artifact" in errors[0] and "--trust-remote-code" in errors[0]
    assert "Traceback" not in result.output
    with pytest.raises(UnsafeFileError):  # the Python API holds the same line
        Inverter.load(str(art)).generator


@pytest.mark.parametrize("flag", ["false", "0", 1, None])
def test_a_trust_flag_that_is_not_a_bool_is_refused(tmp_path, marker, flag):
    """Audit 19a: `trust_remote_code="false"` (read from an environment variable, argparse or YAML) is truthy, and
    was taken as trust: the callable an artifact named ran. Only True grants it; anything but a bool is refused."""
    art = hostile_inverter(tmp_path / "inverter", marker)
    with pytest.raises(ConfigError, match="trust_remote_code must be True or False"):
        Inverter.load(str(art), trust_remote_code=flag).generator
    with pytest.raises(ConfigError, match="trust_remote_code must be True or False"):
        Inverter.from_pretrained(str(art), trust_remote_code=flag).generator
    with pytest.raises(ConfigError, match="trust_remote_code must be True or False"):
        load_generator("os:getcwd", trust_remote_code=flag)


def test_a_hub_artifact_cannot_name_a_callable(tmp_path, marker, images, monkeypatch):
    art = hostile_inverter(tmp_path / "inverter", marker)
    cache = tmp_path / "hf-cache"
    zoo.cache_repo(cache, "attacker/inverter", {n: art / n for n in ("config.json", "model.safetensors")})
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    result, errors = run(["invert", "--inverter", "hub:attacker/inverter", images, "--out", tmp_path / "out"])
    assert result.exit_code == 2 and len(errors) == 1 and "'os:mkdir' is named by" in errors[0], result.output
    assert not (tmp_path / "out").exists()


def test_a_hub_artifact_cannot_carry_a_pickle_that_runs(tmp_path, marker, images, monkeypatch):
    """The bundled generator/ of an artifact is read as data: a pickle in it never runs code."""
    art = hostile_inverter(tmp_path / "inverter", marker)
    (art / "generator").mkdir()
    (art / "generator" / "config.json").write_text(
        json.dumps({"format": "ganinv-generator", "architecture": "dcgan", "options": {}, "spec": SPEC.to_dict()})
    )
    torch.save({"main.0.weight": zoo.Marker(str(marker))}, art / "generator" / "pytorch_model.bin")
    result, errors = run(["invert", "--inverter", art, images, "--out", tmp_path / "out"])
    assert result.exit_code == 2 and len(errors) == 1 and "Traceback" not in result.output, result.output


def test_commands_that_need_only_the_encoders_never_load_the_generator(tmp_path, marker, images):
    art = hostile_inverter(tmp_path / "inverter", marker)
    result, _ = run(["features", "--inverter", art, images, "--out", tmp_path / "f.safetensors"])
    assert result.exit_code == 0, result.output


def test_an_mvae_artifact_cannot_name_a_callable(tmp_path, marker, images):
    model = MVAE(
        image_shape=[1, 16, 16],
        n_components=2,
        latent_dim=2,
        s_dim=4,
        width=4,
        hidden=8,
        spec=SPEC.to_dict(),
        generator_ref=hostile_ref(marker),
    )
    model.save_pretrained(tmp_path / "mvae")
    with pytest.raises(UnsafeFileError, match="'os:mkdir' is named by the MVAE artifact"):
        MVAE.load(str(tmp_path / "mvae")).generator


def test_the_user_names_the_code_or_trusts_the_artifact(tmp_path, images):
    """The legitimate route: a generator that is code runs when the user names it or trusts the artifact."""
    art = tmp_path / "inverter"
    Inverter.for_generator(zoo.linear_generator(), width=8, hidden=32).save_pretrained(art)
    refused, _ = run(["invert", "--inverter", art, images, "--out", tmp_path / "a"])
    named, _ = run(["invert", "--inverter", art, images, "--out", tmp_path / "b", "-g", "zoo:linear_generator"])
    trusted, _ = run(["invert", "--inverter", art, images, "--out", tmp_path / "c", "--trust-remote-code"])
    assert refused.exit_code == 2 and named.exit_code == 0 and trusted.exit_code == 0, named.output + trusted.output


def test_a_recipe_cannot_name_a_callable_or_grant_trust(tmp_path, marker):
    recipe = tmp_path / "fit.toml"
    recipe.write_text(f'generator = "os:mkdir"\nsteps = 2\n[options]\npath = "{marker}"\n')
    result, errors = run(["fit", "--recipe", recipe, "--out", tmp_path / "run"])
    assert result.exit_code == 2 and len(errors) == 1 and "'os:mkdir' is named by the recipe" in errors[0]
    assert not (tmp_path / "run").exists() or not any((tmp_path / "run").iterdir())
    recipe.write_text(f'generator = "os:mkdir"\ntrust_remote_code = true\n[options]\npath = "{marker}"\n')
    result, errors = run(["fit", "--recipe", recipe, "--out", tmp_path / "run2"])
    assert result.exit_code == 2 and len(errors) == 1 and "only the command line can grant it" in errors[0]


def test_resume_does_not_reapply_trust_or_a_rewritten_source(tmp_path, marker):
    run_dir = tmp_path / "run"
    result, _ = run(
        [
            "fit",
            "-g",
            "zoo:linear_generator",
            "--trust-remote-code",
            "--steps",
            "2",
            "--eval-every",
            "1",
            "--width",
            "4",
            "--hidden",
            "8",
            "--quiet",
            "--out",
            run_dir,
        ]
    )
    assert result.exit_code == 0, result.output
    config = json.loads((run_dir / "config.json").read_text())
    assert "trust_remote_code" not in config["fit"]  # never saved, so never re-applied
    config["fit"].update(generator="os:mkdir", options={"path": str(marker)}, trust_remote_code=True)
    (run_dir / "config.json").write_text(json.dumps(config))
    result, errors = run(["fit", "--out", run_dir, "--resume", "--steps", "3"])
    assert result.exit_code == 2 and len(errors) == 1 and "'os:mkdir' is named by the run's" in errors[0]


def test_a_benchmark_recipe_cannot_run_code_even_when_its_stage_asks_for_trust(tmp_path, marker):
    recipe = tmp_path / "bench.toml"
    recipe.write_text(
        '[[stages]]\nname = "attack"\n'
        f'run = ["sample", "-g", "os:mkdir", "--option", "path={marker}", "--trust-remote-code", '
        f'"--out", "{{out}}/grid.png"]\n'
    )
    result, errors = run(["bench", recipe, "--out", tmp_path / "bench"])
    assert result.exit_code == 2 and any("'os:mkdir' is named by the benchmark recipe" in e for e in errors)
    # the way out it names is bench's own flag: a stage's --generator is no flag the user can type (an outside audit)
    assert any("only with `ganinv bench --trust-remote-code`" in e for e in errors), errors


def test_a_benchmark_stage_cannot_grant_trust_to_a_nested_benchmark(tmp_path, marker):
    """A stage that runs `bench INNER --trust-remote-code` asks for trust the user never typed (an outside audit ran
    code this way: the inner benchmark's own flag replaced the outer, untrusted context)."""
    inner = tmp_path / "inner.toml"
    inner.write_text(
        '[[stages]]\nname = "attack"\n'
        f'run = ["sample", "-g", "os:mkdir", "--option", "path={marker}", "--out", "{{out}}/grid.png"]\n'
    )
    outer = tmp_path / "outer.toml"
    outer.write_text(
        f'[[stages]]\nname = "nested"\nrun = ["bench", "{inner}", "--trust-remote-code", "--out", "{{out}}/inner"]\n'
    )
    result, errors = run(["bench", outer, "--out", tmp_path / "bench"])
    assert result.exit_code == 2 and any("'os:mkdir' is named by the benchmark recipe" in e for e in errors), errors
    assert str(outer) in " ".join(errors)  # the outermost file is the one that chose


def test_a_benchmark_stage_cannot_aim_a_nested_benchmark_outside_the_folder(tmp_path):
    """The user's --set may send a stage's --out anywhere; an outside audit (7) had a stage run
    `bench INNER --set dest=/elsewhere`, and the inner benchmark took that --set as the user's and wrote outside."""
    victim = tmp_path / "precious.png"
    inner = tmp_path / "inner.toml"
    inner.write_text(
        '[vars]\ndest = "{out}/s.png"\n[[stages]]\nname = "s"\n'
        'run = ["sample", "-g", "builtin:mnist", "-n", "2", "--out", "{dest}"]\n'
    )
    outer = tmp_path / "outer.toml"
    outer.write_text(
        f'[[stages]]\nname = "nested"\nrun = ["bench", "{inner}", "--out", "{{out}}/inner", "--set", "dest={victim}"]\n'
    )
    result, errors = run(["bench", outer, "--out", tmp_path / "bench"])
    assert result.exit_code == 2 and any("outside the benchmark folder" in e for e in errors), result.output
    assert not victim.exists()
    typed, _ = run(["bench", inner, "--out", tmp_path / "b2", "--set", f"dest={victim}"])
    assert typed.exit_code == 0 and victim.is_file()  # typed by the user: theirs to choose


def test_trusting_a_benchmark_is_the_users_flag(tmp_path):
    recipe = tmp_path / "bench.toml"
    recipe.write_text(
        '[[stages]]\nname = "sample"\n'
        'run = ["sample", "-g", "zoo:linear_generator", "-n", "4", "--out", "{out}/g.png"]\n'
    )
    refused, _ = run(["bench", recipe, "--out", tmp_path / "b1"])
    trusted, _ = run(["bench", recipe, "--out", tmp_path / "b2", "--trust-remote-code"])
    assert refused.exit_code == 2 and trusted.exit_code == 0, trusted.output
    assert (tmp_path / "b2" / "g.png").is_file()


def test_a_benchmark_recipe_writes_only_inside_its_folder(tmp_path):
    """A recipe is a file: an outside audit had a stage overwrite a file outside --out (any file the user owns)."""
    victim = tmp_path / "precious.png"
    victim.write_bytes(b"mine")
    recipe = tmp_path / "bench.toml"
    recipe.write_text(
        f'[vars]\nplace = "{tmp_path}/elsewhere.png"\n[[stages]]\nname = "overwrite"\n'
        f'run = ["sample", "-g", "builtin:mnist", "-n", "4", "--out", "{victim}"]\n'
    )
    result, errors = run(["bench", recipe, "--out", tmp_path / "b"])
    assert result.exit_code == 2 and len(errors) == 1 and "outside the benchmark folder" in errors[0], result.output
    assert victim.read_bytes() == b"mine" and not (tmp_path / "b").exists()
    recipe.write_text(
        '[vars]\nplace = "{out}/x.png"\n[[stages]]\nname = "placed"\n'
        'run = ["sample", "-g", "builtin:mnist", "-n", "4", "--out", "{place}"]\n'
    )
    result, _ = run(["bench", recipe, "--out", tmp_path / "c", "--set", f"place={tmp_path}/typed.png"])
    assert result.exit_code == 0 and (tmp_path / "typed.png").is_file(), result.output  # the user's own --set
    recipe.write_text('[[stages]]\nname = "publish"\nrun = ["fit", "--steps", "1", "--push-to-hub", "me/x"]\n')
    result, errors = run(["bench", recipe, "--out", tmp_path / "d"])
    assert result.exit_code == 2 and "publishes to the Hub" in errors[0]
    # every option that names a place to write, and a run's default folder, are checked too
    recipe.write_text(
        '[[stages]]\nname = "latents"\nrun = ["sample", "-g", "builtin:mnist", "-n", "4", "--out", "{out}/g.png", '
        f'"--latents-out", "{tmp_path}/precious.safetensors"]\n'
    )
    result, errors = run(["bench", recipe, "--out", tmp_path / "e"])
    assert result.exit_code == 2 and "precious.safetensors, outside the benchmark folder" in errors[0], result.output
    recipe.write_text('[[stages]]\nname = "default"\nrun = ["fit", "--steps", "1"]\n')
    result, errors = run(["bench", recipe, "--out", tmp_path / "f"])
    assert result.exit_code == 2 and "runs `fit --steps` without --out" in errors[0], result.output


def test_a_benchmark_cannot_write_over_an_input_the_user_set(tmp_path):
    """Audit 14: the user's --set names an input (`--set generator=weights.safetensors`, the README's own pattern);
    a recipe that writes to `{generator}` replaced the user's weights with sampled latents, exit 0, no word. Only the
    recipe's outputs (variables whose own value lies inside --out) may be moved by --set, and never over a file."""
    victim = tmp_path / "victim.safetensors"
    victim.write_bytes(b"weights")
    recipe = tmp_path / "bench.toml"
    writes = '"--latents-out", "{generator}"]\n'
    recipe.write_text(
        '[vars]\ngenerator = "builtin:mnist"\n[[stages]]\nname = "s"\n'
        'run = ["sample", "-g", "builtin:mnist", "-n", "4", "--out", "{out}/g.png", ' + writes
    )
    result, errors = run(["bench", recipe, "--out", tmp_path / "b", "--set", f"generator={victim}"])
    assert result.exit_code == 2 and "outside the benchmark folder" in errors[0], result.output
    assert victim.read_bytes() == b"weights"
    recipe.write_text(  # an output by its own value: --set may move it, but not over an existing file
        '[vars]\ngenerator = "{out}/z.safetensors"\n[[stages]]\nname = "s"\n'
        'run = ["sample", "-g", "builtin:mnist", "-n", "4", "--out", "{out}/g.png", ' + writes
    )
    result, errors = run(["bench", recipe, "--out", tmp_path / "c", "--set", f"generator={victim}"])
    assert result.exit_code == 2 and f"would write over {victim}, which exists" in errors[0], result.output
    assert victim.read_bytes() == b"weights"
    moved, _ = run(["bench", recipe, "--out", tmp_path / "d", "--set", f"generator={tmp_path / 'new.safetensors'}"])
    assert moved.exit_code == 0 and (tmp_path / "new.safetensors").is_file(), moved.output


def test_a_typed_callable_runs(tmp_path):
    """What the user types is theirs to run: the command line names the code."""
    result, _ = run(["sample", "-g", "zoo:linear_generator", "-n", "4", "--out", tmp_path / "g.png"])
    assert result.exit_code == 0 and (tmp_path / "g.png").is_file(), result.output
    shutil.rmtree(tmp_path, ignore_errors=True)


@pytest.mark.parametrize("name", ["generator.pkl", "model_final_MNIST", "G.pkl"])
def test_a_pickle_of_any_name_is_read_as_data(tmp_path, marker, name):
    """torch.save files named `.pkl` or without a suffix are read by their contents (audit 10a): through the same
    reader as `.pth`, so a pickle that would call code is refused, never run."""
    torch.save({"netG": {"main.0.weight": zoo.Marker(str(marker))}}, tmp_path / name)
    result, errors = run(["inspect", tmp_path / name])
    assert result.exit_code == 2 and len(errors) == 1 and "Traceback" not in result.output, result.output
    assert "while unpickling" in errors[0] or "--trust-remote-code" in errors[0], errors[0]


def test_a_pickle_cannot_set_the_state_of_an_allowed_function(tmp_path):
    """Audit 11b: the restricted unpickler limited which names a pickle looks up, not what BUILD sets on them: a
    170-byte file set `torch._utils._rebuild_tensor_v2.__defaults__`, and every tensor loaded later in the process
    (weights-only loads too) came out negated. BUILD now applies only to objects the pickle made."""
    import pickle
    import struct

    from torch.serialization import MAGIC_NUMBER, PROTOCOL_VERSION

    def text(value: str) -> bytes:
        return b"X" + struct.pack("<I", len(value)) + value.encode()

    # GLOBAL _rebuild_tensor_v2; BUILD (None, {"__defaults__": ({"neg": True},)}); then an empty dict as the result
    poison = (
        b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\nN}"
        + text("__defaults__")
        + b"}"
        + text("neg")
        + b"\x88s\x85s\x86b0}."
    )
    legacy = [MAGIC_NUMBER, PROTOCOL_VERSION, {"protocol_version": PROTOCOL_VERSION, "little_endian": True}]
    path = tmp_path / "poison.pkl"
    path.write_bytes(b"".join(pickle.dumps(part, protocol=2) for part in legacy) + poison + pickle.dumps([]))
    defaults = torch._utils._rebuild_tensor_v2.__defaults__
    result, errors = run(["inspect", path])
    assert result.exit_code == 2 and len(errors) == 1 and "setattr on _rebuild_tensor_v2" in errors[0], result.output
    assert torch._utils._rebuild_tensor_v2.__defaults__ == defaults
    clean = torch.arange(3.0)
    torch.save(clean, tmp_path / "clean.pt")
    assert torch.equal(torch.load(tmp_path / "clean.pt", weights_only=True), clean)


def _deflated_zeros(archive, name: str, size: int) -> None:
    """A member of `size` zero bytes, deflated (about 1000x): what a decompression bomb holds."""
    import zipfile

    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED
    with archive.open(info, "w", force_zip64=True) as member:
        chunk = bytes(2**20)
        for _ in range(size // len(chunk)):
            member.write(chunk)


def test_decompression_bombs_are_refused_before_they_inflate(tmp_path):
    """Audit 11b: a 1.1 MB .pth of deflated records reached 1.85 GB of memory, a features .npz 4 GB, a 5 MB IDX .gz
    3.1 GB, and an .npz member named without `.npy` skipped the header check."""
    import gzip
    import io
    import struct
    import zipfile

    import numpy as np

    from ganinv.data import _idx_bytes, load_images
    from ganinv.errors import DataError, SourceError
    from ganinv.features import load_features
    from ganinv.sources import load_generator

    with zipfile.ZipFile(tmp_path / "bomb.pth", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bomb/data.pkl", b"\x80\x02}q\x00.")
        _deflated_zeros(archive, "bomb/data/0", 300 * 2**20)
    with pytest.raises(SourceError, match="inflates from 0.3 MiB to 300 MiB of compressed records"):
        load_generator(str(tmp_path / "bomb.pth"))

    with zipfile.ZipFile(tmp_path / "features.npz", "w", zipfile.ZIP_DEFLATED) as archive:
        _deflated_zeros(archive, "features.npy", 300 * 2**20)
    with pytest.raises(DataError, match="a decompression bomb"):
        load_features(tmp_path / "features.npz")

    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "|u1", "fortran_order": False, "shape": (1500000, 1, 32, 32)}
    )
    with zipfile.ZipFile(tmp_path / "images.npz", "w") as archive:
        archive.writestr("images", header.getvalue() + bytes(1000))  # no `.npy`: numpy reads it still
    with pytest.raises(DataError, match="holds 1,536,000,000 values, more than ganinv reads"):
        load_images(str(tmp_path / "images.npz"))

    with gzip.open(tmp_path / "t10k-images-idx3-ubyte.gz", "wb") as fh:
        fh.write(b"\x00\x00\x08\x03" + struct.pack(">III", 10, 28, 28) + bytes(10 * 784 + 2**24))
    assert len(_idx_bytes(tmp_path / "t10k-images-idx3-ubyte.gz")) == 16 + 10 * 784 + 1  # the header's, one more
    np.savez(tmp_path / "deep.npz", features=np.zeros((2, 3), np.float32), header=np.array("[" * 100000))
    with pytest.raises(DataError, match="nested too deeply"):
        load_features(tmp_path / "deep.npz")


def test_numpy_data_beside_the_weights_still_loads_but_numpys_shared_dtypes_stay_untouched(tmp_path):
    """Review of the BUILD rule (audit 12): arrays of every dtype (np.random.get_state()'s uint32, structured, str)
    pickle a dtype and set its state, and must still load; a pickle that fetches numpy's shared dtype instead of a
    copy (`dtype('u4', False, False)`) and sets its state is refused."""
    import pickle

    import numpy as np

    from ganinv.safe_pickle import RefusedPickle, RestrictedUnpickler

    case = zoo.case("pytorch-examples-dcgan")
    state = {"netG": case.build().state_dict(), "rng": np.random.get_state(), "names": np.array(["a", "bc"])}
    torch.save(state, tmp_path / "ckpt.pt", _use_new_zipfile_serialization=False)
    result, errors = run(["inspect", tmp_path / "ckpt.pt"])
    assert result.exit_code == 0, result.output

    class SharedDtype:
        def __reduce__(self):
            return np.dtype, ("u4", False, False), (3, ">", None, None, None, -1, -1, 0)

    with pytest.raises(RefusedPickle, match="setattr on"):
        RestrictedUnpickler(io.BytesIO(pickle.dumps(SharedDtype(), protocol=2))).load()
    assert np.dtype("u4").byteorder == "="


@pytest.mark.parametrize("legacy", [False, True])
def test_a_pickle_that_asks_for_a_huge_object_is_refused_before_it_is_built(tmp_path, legacy):
    """Audit 14: `set(range(10**9))` or `bytearray(3 * 10**9)` in a 22 KB .pth took the loads to 5.2 and 3.6 GB
    before refusing the file; the opcodes are read first now, nothing built."""
    import struct
    import zipfile

    def global_(module, name):
        return b"c" + module.encode() + b"\n" + name.encode() + b"\n"

    count = b"\x8a\x08" + struct.pack("<q", 10**9)  # LONG1, 8 bytes
    payload = b"\x80\x02" + global_("builtins", "set") + b"(" + global_("builtins", "range") + b"(" + count + b"tRtR."
    path = tmp_path / "g.pth"
    torch.save({"w": torch.zeros(2)}, path, _use_new_zipfile_serialization=not legacy)
    if legacy:
        path.write_bytes(payload)  # a bare pickle: read as the legacy format's first pickle
    else:
        with zipfile.ZipFile(path) as source:
            records = [(info, source.read(info.filename)) for info in source.infolist()]
        with zipfile.ZipFile(path, "w") as archive:
            for info, data in records:
                archive.writestr(info, payload if info.filename.endswith("data.pkl") else data)
    result, errors = run(["inspect", path])
    assert result.exit_code == 2 and len(errors) == 1, result.output
    assert "its pickle asks builtins.range for 1,000,000,000 elements" in errors[0], errors[0]


@pytest.mark.parametrize("name", ["/tmp", "../../..", "mnist/../../builtin/mnist", ""])
def test_builtin_takes_a_name_never_a_path(tmp_path, name):
    """Audit 15: `builtin:/abs/path` and `builtin:../..` loaded any local generator folder, so a Hub artifact whose
    generator_ref said so chose which of the user's files to read."""
    from ganinv.errors import SourceError
    from ganinv.sources import load_generator, save_generator

    folder = save_generator(load_generator("builtin:mnist"), tmp_path / "secret")
    with pytest.raises(SourceError, match="no built-in generator"):
        load_generator(f"builtin:{folder if name == '/tmp' else name}")


def test_a_benchmark_writes_only_into_a_new_folder_or_its_own(tmp_path):
    """Audit 15: `bench --out` into a user's folder (typed, or a nested bench's `--out {root}` with the user's
    `--set root=DATA`) replaced their bench.md; a `features --npz` stage wrote FEATS.npz over theirs where the check
    looked at FEATS.safetensors."""
    recipe = tmp_path / "bench.toml"
    recipe.write_text(
        '[[stages]]\nname = "s"\nrun = ["sample", "-g", "builtin:mnist", "-n", "2", "--out", "{out}/g.png"]\n'
    )
    data = tmp_path / "data"
    data.mkdir()
    (data / "bench.md").write_text("mine")
    result, errors = run(["bench", recipe, "--out", data])
    assert result.exit_code == 2 and "not an earlier `ganinv bench`'s" in errors[0], result.output
    assert (data / "bench.md").read_text() == "mine"
    first, _ = run(["bench", recipe, "--out", tmp_path / "b"])
    again, _ = run(["bench", recipe, "--out", tmp_path / "b"])  # its own folder: a rerun goes in
    assert first.exit_code == 0 and again.exit_code == 0, again.output
    nested = tmp_path / "nested.toml"
    nested.write_text(
        f'[vars]\nroot = "{{out}}/data"\n[[stages]]\nname = "n"\nrun = ["bench", "{recipe}", "--out", "{{root}}"]\n'
    )
    result, errors = run(["bench", nested, "--out", tmp_path / "c", "--set", f"root={data}"])
    assert result.exit_code == 2 and f"would write over {data}, which exists" in errors[0], result.output
    (tmp_path / "mywork.npz").write_bytes(b"mine")
    features = tmp_path / "features.toml"
    features.write_text(
        '[vars]\nfeats = "{out}/f.safetensors"\n[[stages]]\nname = "f"\n'
        'run = ["features", "--inverter", "builtin:mnist", "mnist", "--out", "{feats}", "--npz"]\n'
    )
    result, errors = run(
        ["bench", features, "--out", tmp_path / "d", "--set", f"feats={tmp_path / 'mywork.safetensors'}"]
    )
    assert result.exit_code == 2 and "mywork.npz, which exists" in errors[0], result.output
    assert (tmp_path / "mywork.npz").read_bytes() == b"mine"


class Reduce:
    """Pickles as `func(*args)`."""

    def __init__(self, func, args):
        self.func, self.args = func, args

    def __reduce__(self):
        return (self.func, self.args)


def huge_pickles(tmp_path):
    """Audit 15's ways around a scan of integer literals: the count as a tensor or a numpy integer, `set` over a
    zero-stride view, the constructor's name from the memo, the INST opcode, a legacy tensor constructor."""
    import struct
    import zipfile

    import numpy as np

    big = 3 * 10**9
    count = b"\x8a\x08" + struct.pack("<q", big)  # LONG1, 8 bytes
    raw = {
        "memo.pth": b"\x80\x04\x8c\x08builtins\x94\x8c\x09bytearray\x94\x8c\x01x\x8c\x01y00h\x00h\x01\x93"
        + count
        + b"\x85R.",
        "inst.pth": b"(" + count + b"ibuiltins\nbytearray\n.",
        "legacy.pth": b"\x80\x02ctorch\nByteTensor\n(" + count + b"tR.",
    }
    paths = []
    for name, payload in raw.items():
        torch.save({"w": torch.zeros(2)}, tmp_path / name)
        with zipfile.ZipFile(tmp_path / name) as source:
            records = [(info, source.read(info.filename)) for info in source.infolist()]
        with zipfile.ZipFile(tmp_path / name, "w") as archive:
            for info, data in records:
                archive.writestr(info, payload if info.filename.endswith("data.pkl") else data)
        paths.append(tmp_path / name)
    for name, obj in {
        "tensor.pth": Reduce(bytearray, (torch.tensor(big),)),
        "numpy.pth": Reduce(bytearray, (np.int64(big),)),
        "expand.pth": Reduce(set, (torch.zeros(1, dtype=torch.uint8).expand(10**9),)),
    }.items():
        torch.save(obj, tmp_path / name)
        paths.append(tmp_path / name)
    return paths


def test_a_pickle_asking_for_a_huge_object_is_refused_at_the_call_however_it_counts(tmp_path):
    """Each was refused only after 2.7 GB (or killed by the memory limit); the arguments are checked at the call."""
    for path in huge_pickles(tmp_path):
        result, errors = run(["inspect", path])
        assert result.exit_code == 2 and len(errors) == 1, (path.name, result.output)
        assert "elements while it is read, more than a weights file holds" in errors[0], (path.name, errors[0])


def as_newobj_ex(path):
    """Rewrite a torch.save of `Reduce(cls, args)` (protocol 4) to build it by NEWOBJ_EX, `cls.__new__(cls, *args)`."""
    import zipfile

    with zipfile.ZipFile(path) as source:
        records = [(info, source.read(info.filename)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w") as archive:
        for info, data in records:
            if info.filename.endswith("data.pkl"):
                assert data.endswith(b"R\x94."), data[-8:]
                data = data[: -len(b"R\x94.")] + b"}\x92\x94."  # EMPTY_DICT (no keyword arguments), NEWOBJ_EX
            archive.writestr(info, data)


def test_calls_around_the_size_check_are_refused_or_counted(tmp_path):
    """Audit 32a F3: a 1 KB file took 2.6-3.5 GB through calls the size check did not see: `bytearray(3e9)` inside
    torch's `_rebuild_from_type_v2` (which calls what it is given), protocol 4's NEWOBJ_EX, a frozenset of 3 million
    items of a zero-stride tensor (each item a tensor object, under the element bound), and many calls each under it."""
    view = torch.zeros(1).expand(3 * 10**6)
    cases = {
        "rebuild.pth": (
            Reduce(torch._tensor._rebuild_from_type_v2, (bytearray, bytearray, (3 * 10**9,), {})),
            "calls torch._tensor._rebuild_from_type_v2 of bytearray while unpickling",
        ),
        "items.pth": (Reduce(frozenset, (view,)), "asks frozenset (a tensor's items) for 3,000,000 elements"),
        "newobj_ex.pth": (Reduce(frozenset, (view,)), "asks frozenset (a tensor's items) for 3,000,000 elements"),
        "many.pth": ([Reduce(bytearray, (10**6,)) for _ in range(12)], "asks its sized constructors together for"),
        # review 33a: OrderedDict, which every state dict names (called without arguments), over a tensor's rows
        "rows.pth": (
            Reduce(OrderedDict, (torch.zeros(1, 1).expand(10**6, 2),)),
            "asks OrderedDict (a tensor's items) for 2,000,000 elements",
        ),
    }
    for name, (obj, message) in cases.items():
        torch.save(obj, tmp_path / name, pickle_protocol=4)
        if name == "newobj_ex.pth":
            as_newobj_ex(tmp_path / name)
        result, errors = run(["inspect", tmp_path / name])
        assert result.exit_code == 2 and len(errors) == 1 and message in errors[0], (name, result.output)
    ok = tmp_path / "fine.pth"  # a real checkpoint's few sized calls stay under the file's bound
    state = zoo.case("pytorch-examples-dcgan").build().state_dict()
    torch.save({"w": state, "tags": {"a", "b"}}, ok)
    assert isinstance(safe_pickle.load(ok)["tags"], set)
    for protocol in (2, 4):  # a plain state dict (OrderedDict(), protocol 4's frames) still goes to torch's loader
        torch.save({"netG": state, "netD": state}, tmp_path / f"plain{protocol}.pth", pickle_protocol=protocol)
        assert safe_pickle.sized_constructor(tmp_path / f"plain{protocol}.pth") is None


@pytest.mark.parametrize(
    "tensor, message",
    [
        (lambda: torch.zeros(1).expand(100000, 100000, 4, 4), "shows 160,000,000,000 values from a storage of 1"),
        (lambda: torch.zeros(16, 8, 4, 4).to_sparse(), "is a torch.sparse_coo tensor, not dense weights"),
        (lambda: torch.empty(16, 8, 4, 4, device="meta"), "holds no values (a meta tensor)"),
        (  # audit 17a F5: an internal error in the geometry search
            lambda: torch.quantize_per_tensor(torch.randn(8, 16, 4, 4), 0.01, 0, torch.qint8),
            "is a quantized tensor (torch.qint8)",
        ),
        (lambda: torch.randn(8, 16, 4, 4) + 0.5j, "holds complex values"),  # audit 17a F9: cast to real, with a warning
        (lambda: (10 * torch.randn(8, 16, 4, 4)).long(), "holds torch.int64 values, which no trained layer does"),
    ],
)
def test_weights_no_saved_net_has_are_refused_before_anything_computes_on_them(tmp_path, tensor, message):
    """Audit 15: a zero-stride view took 2.7 GB to compare (or an internal error, 160 GB); sparse and meta tensors
    ended in internal errors."""
    state = zoo.case("pytorch-examples-dcgan").build().state_dict()
    state["main.0.weight"] = tensor()
    torch.save(state, tmp_path / "g.pth")
    result, errors = run(["inspect", tmp_path / "g.pth"])
    assert result.exit_code == 2 and len(errors) == 1 and message in errors[0], result.output


def test_a_torchscript_program_bundled_as_weights_is_named_as_a_program(tmp_path, marker, images):
    """Audit 15: a TorchScript archive as an artifact's generator/pytorch_model.bin was refused with torch's own
    "Cannot use weights_only=True with TorchScript archives"; it is said to be a program, as a typed one is."""
    art = hostile_inverter(tmp_path / "inverter", marker)
    (art / "generator").mkdir()
    (art / "generator" / "config.json").write_text(
        json.dumps({"format": "ganinv-generator", "architecture": "dcgan", "options": {}, "spec": SPEC.to_dict()})
    )
    torch.jit.script(torch.nn.Linear(2, 2)).save(str(art / "generator" / "pytorch_model.bin"))
    result, errors = run(["invert", "--inverter", art, images, "--out", tmp_path / "out"])
    assert result.exit_code == 2 and len(errors) == 1, result.output
    assert "pytorch_model.bin, a TorchScript program (code)" in errors[0], errors[0]


class _ProgramWithAMarker(torch.nn.Module):
    """A TorchScript program whose `__setstate__` creates a file at load: evidence that its code ran."""

    def __init__(self, marker: str):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(784, 4))
        self.marker = marker

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(z @ self.w.t()).view(-1, 1, 28, 28)

    @torch.jit.export
    def __getstate__(self) -> tuple[torch.Tensor, str, bool]:
        return (self.w, self.marker, self.training)

    @torch.jit.export
    def __setstate__(self, state: tuple[torch.Tensor, str, bool]) -> None:
        self.w, self.marker = state[0], state[1]
        created = torch.from_file(self.marker, shared=True, size=1, dtype=torch.uint8)
        self.training = state[2] or created.numel() < 0


def _hide_constants_from_pythons_zipfile(program: bytes) -> bytes:
    """The archive again, with a second central directory after the first, in which `constants.pkl` is renamed.
    torch's zip reader follows the end record's offset to the first directory; Python's zipfile reads the one just
    before the end record (taking the offset as a shift of prepended data), so the two see different archives."""
    import struct

    end = program.rfind(b"PK\x05\x06")
    *_, directory_size, directory_at, _ = struct.unpack("<IHHHHIIH", program[end : end + 22])
    directory = program[directory_at : directory_at + directory_size]
    renamed, shift, at = bytearray(), len(directory), 0
    while at < len(directory):  # central directory headers: 46 bytes, then name, extra, comment
        name_length, extra_length, comment_length = struct.unpack("<HHH", directory[at + 28 : at + 34])
        header = bytearray(directory[at : at + 46 + name_length + extra_length + comment_length])
        offset = struct.unpack("<I", header[42:46])[0]
        header[42:46] = struct.pack("<I", (offset - shift) % 2**32)  # Python adds the shift back
        if header[46 : 46 + name_length].endswith(b"/constants.pkl"):
            header[46 + name_length - 1] = ord("X")
        renamed += header
        at += len(header)
    records = struct.unpack("<H", program[end + 10 : end + 12])[0]
    tail = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, records, records, len(renamed), directory_at, 0)
    return program[: directory_at + directory_size] + bytes(renamed) + tail


def test_a_torchscript_program_hidden_from_pythons_zipfile_is_still_refused(tmp_path, images):
    """Audit 21b: an archive whose second central directory hid `constants.pkl` from Python's zipfile passed the
    TorchScript check; read as a checkpoint, torch.load handed it to torch.jit.load and its `__setstate__` ran
    (a Hub inverter artifact's generator/, a Hub generator repo, a netG.pth typed as weights)."""
    import zipfile

    from ganinv import safe_pickle

    marker = tmp_path / "ran"
    buffer = io.BytesIO()
    torch.jit.save(torch.jit.script(_ProgramWithAMarker(str(marker))), buffer)
    path = tmp_path / "netG.pth"
    path.write_bytes(_hide_constants_from_pythons_zipfile(buffer.getvalue()))
    assert not any(n.endswith("/constants.pkl") for n in zipfile.ZipFile(path).namelist())  # the disguise holds
    with pytest.raises(UnsafeFileError, match="TorchScript program"):
        load_generator(str(path))
    with pytest.raises(safe_pickle.RefusedPickle, match="TorchScript"):
        safe_pickle.load(path)
    result, errors = run(["inspect", "-g", str(path), "--nz", "4"])
    assert result.exit_code == 2 and len(errors) == 1 and "TorchScript program" in errors[0]
    assert not marker.exists()


def test_an_artifact_cannot_choose_a_file_to_read(tmp_path, images, monkeypatch):
    """Audit 21b: an artifact's `generator_ref.options` holding `"spec": PATH` made ganinv read that file of the
    user's (a Hub artifact included) and apply it; a FIFO there blocked ganinv for good."""
    private = tmp_path / "private.json"
    private.write_text(json.dumps({"native_output_range": [0, 1]}))
    ref = {"source": "builtin:mnist", "arch": None, "options": {"spec": str(private)}, "meta": {}}
    art = tmp_path / "inverter"
    Inverter(spec=SPEC.to_dict(), generator_ref=ref, width=8, hidden=32).save_pretrained(art)
    cache = tmp_path / "hf-cache"
    zoo.cache_repo(cache, "attacker/inverter", {n: art / n for n in ("config.json", "model.safetensors")})
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for source in (str(art), "hub:attacker/inverter"):
        result, errors = run(["invert", "--inverter", source, images, "--out", tmp_path / "out"])
        assert result.exit_code == 2 and len(errors) == 1, result.output
        assert "records options['spec']" in errors[0] and "never a path on this machine" in errors[0]
        assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("pinned", ["model_class", "spec"])
def test_a_records_decisions_cannot_pin_code_or_a_file_to_read(tmp_path, marker, monkeypatch, pinned):
    """Audit 32a F1/F2: the readings a fit decided ("auto" options, pinned on reload so the generator reads as it did)
    took any property name from the record's decisions: `model_class` ran `os:mkdir` when the user gave their own
    generator file with -g (the record named it), and `spec` read a file of the artifact's choosing."""
    case = zoo.case("pytorch-examples-dcgan")
    torch.manual_seed(0)
    save_file({k: v.contiguous() for k, v in case.build().state_dict().items()}, str(tmp_path / "gen.safetensors"))
    monkeypatch.chdir(tmp_path)
    spec = load_generator("gen.safetensors").spec
    picks = {
        "model_class": [("model_class", "os:mkdir"), ("model_kwargs", json.dumps({"path": str(marker)}))],
        "spec": [("spec", str(tmp_path / "no-such-spec.json"))],
    }[pinned]
    meta = {
        "options": {prop: "auto" for prop, _ in picks},
        "decisions": [{"property": p, "value": v} for p, v in picks],
    }
    for architecture in (None, "dcgan"):
        ref = {"source": "gen.safetensors", "arch": None, "options": {}, "meta": {**meta, "architecture": architecture}}
        art = tmp_path / f"inverter-{architecture}"
        Inverter(spec=spec.to_dict(), generator_ref=ref, width=8, hidden=32).save_pretrained(art)
        for generator in ("gen.safetensors", None):  # the user's own file, or the one the record names
            loaded = Inverter.load(str(art), generator=generator).generator
            assert loaded.spec == spec and "model_class" not in str(loaded.meta.get("options"))


def test_a_fifo_in_place_of_a_config_index_or_spec_is_refused_not_waited_on(tmp_path):
    """Audit 21b: a FIFO named config.json, spec.json or model.safetensors.index.json in a generator folder, or
    given as --spec, blocked ganinv forever (SECURITY.md: refused, not waited on)."""
    import os

    weights = zoo.case("pytorch-examples-dcgan").build().state_dict()
    for name in ("config.json", "spec.json", "model.safetensors.index.json"):
        folder = tmp_path / name.replace(".", "_")
        folder.mkdir()
        sharded = name.endswith("index.json")
        save_file(weights, str(folder / ("model-00001-of-00001.safetensors" if sharded else "generator.safetensors")))
        os.mkfifo(folder / name)
        result, errors = run(["inspect", "-g", folder])
        assert result.exit_code == 2 and len(errors) == 1, result.output
        assert f"{name} is not a regular file" in errors[0]
    result, errors = run(["inspect", "-g", "builtin:mnist", "--spec", tmp_path / "spec_json" / "spec.json"])
    assert result.exit_code == 2 and "is not a regular file" in errors[0]


def test_the_torchscript_check_leaves_a_damaged_file_to_its_reader(tmp_path):
    """Audit 21d: the check ran before a resume's error handling, and a checkpoint with a damaged zip directory
    (another disk's number, a record name that is no UTF-8) ended in an internal error where it had said "damaged or
    cut short"."""
    from ganinv import safe_pickle

    path = tmp_path / "step.pt"
    torch.save({"w": torch.zeros(2)}, path)
    data = bytearray(path.read_bytes())
    end = data.rfind(b"PK\x05\x06")
    data[end + 4 : end + 6] = (1).to_bytes(2, "little")  # "this is disk 1 of a multi-disk archive"
    path.write_bytes(bytes(data))
    assert safe_pickle.is_torchscript(path) is False
    torch.save({"w": torch.zeros(2)}, path)
    data = bytearray(path.read_bytes())
    entry = data.find(b"PK\x01\x02")
    data[entry + 8 : entry + 10] = (0x800).to_bytes(2, "little")  # names are UTF-8 (flag bit 11) ...
    data[entry + 46] = 0xFF  # ... and the first one is not: Python's zipfile raised UnicodeDecodeError
    path.write_bytes(bytes(data))
    assert safe_pickle.is_torchscript(path) is False


# ---- standard-library values and Enum members in a Lightning checkpoint's hyper_parameters -----------------------
class RunMode(enum.Enum):
    """An Enum of the author's script, as `save_hyperparameters()` keeps an argparse argument of its type."""

    TRAIN = "train"


def lightning_checkpoint(hyper_parameters: dict) -> tuple[dict, torch.nn.Module]:
    module = zoo.case("pytorch-examples-dcgan").build()
    state_dict = {f"generator.{k}": v for k, v in module.state_dict().items()}
    return {"state_dict": state_dict, "hyper_parameters": hyper_parameters, "epoch": 3}, module


def test_paths_dates_and_enum_members_in_lightning_hyper_parameters_are_read_as_data(tmp_path):
    """Audit 24a F4: a `type=Path` argument or a start time in the hyper_parameters made the whole checkpoint "calls
    pathlib.PosixPath while unpickling, which can run code", --trust-remote-code the only way out. A path is read as
    its pure (string-only) flavour, a date or duration by the standard constructor after its arguments are checked,
    and an Enum member of the author's module as a record of its value, never imported."""
    import datetime
    import pathlib

    hyper_parameters = {
        "latent_dim": 8,
        "data_dir": pathlib.PosixPath("/data/celeba"),
        "windows_dir": Reduce(pathlib.WindowsPath, ("C:\\", "runs")),  # as Windows pickles one
        "started": datetime.datetime(2023, 1, 2, 3, tzinfo=datetime.timezone(datetime.timedelta(hours=1), "CET")),
        "day": datetime.date(2023, 1, 2),
        "budget": datetime.timedelta(hours=5),
        "mode": RunMode.TRAIN,
        # audit 32a R1: an optimizer given as a partial (LightningCLI, Hydra's _partial_), never called
        "optimizer": functools.partial(torch.optim.Adam, lr=2e-4, betas=(0.5, 0.999)),
    }
    checkpoint, module = lightning_checkpoint(hyper_parameters)
    torch.save(checkpoint, tmp_path / "last.ckpt")
    read = safe_pickle.load(tmp_path / "last.ckpt")["hyper_parameters"]
    assert read["data_dir"] == pathlib.PurePosixPath("/data/celeba") and type(read["data_dir"]) is pathlib.PurePosixPath
    assert read["windows_dir"] == pathlib.PureWindowsPath("C:\\runs")
    assert read["started"] == hyper_parameters["started"] and read["budget"] == datetime.timedelta(hours=5)
    assert safe_pickle.origin(read["mode"]).endswith("RunMode") and read["mode"]._new_args == (("train",), {})
    partial = read["optimizer"]
    assert safe_pickle.origin(partial) == "functools.partial" and not callable(partial)
    assert partial._state[0].origin == "torch.optim.adam.Adam" and partial._state[2]["lr"] == 2e-4
    case = zoo.case("pytorch-examples-dcgan")
    g = load_generator(str(tmp_path / "last.ckpt"), options={"strides": "1,2,2,2", "paddings": "0,1,1,1"})
    latents = zoo.latents_for(case, 4)
    with torch.no_grad():
        torch.testing.assert_close(g.decode(latents), case.reference(module, latents), rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    "value, protocol, refused",
    [  # what a path, a date or an Enum member looks like, with what would run code or is not plain data
        ("path_of_bytes", 2, "pathlib.PosixPath with an argument of type bytes"),
        ("datetime_of_a_list", 2, "datetime.datetime with an argument of type list"),
        ("write_text", 2, "builtins.getattr"),
        ("write_text", 4, "pathlib.Path.write_text"),
        ("stdlib_class", 2, "subprocess.Popen"),
        ("function", 2, "torch.hub.load"),
    ],
)
def test_a_path_date_or_enum_lookalike_that_could_run_code_is_still_refused(tmp_path, marker, value, protocol, refused):
    """Only the standard constructors, only with plain data, and a record only for a class outside the standard
    library called with one plain value: a method (`pathlib.Path.write_text`), a standard-library class or a function
    called with a string, or a constructor given other objects, is refused as before."""
    import datetime
    import pathlib
    import subprocess

    payload = {
        "path_of_bytes": Reduce(pathlib.PosixPath, (str(marker).encode(),)),
        "datetime_of_a_list": Reduce(datetime.datetime, ([2023, 1, 1],)),
        "write_text": Reduce(pathlib.Path.write_text, (pathlib.PosixPath(marker), "ran")),
        "stdlib_class": Reduce(subprocess.Popen, (f"touch {marker}",)),
        "function": Reduce(torch.hub.load, (f"evil/{marker.name}",)),
    }[value]
    checkpoint, _ = lightning_checkpoint({"latent_dim": 8, "payload": payload})
    torch.save(checkpoint, tmp_path / "last.ckpt", pickle_protocol=protocol)
    with pytest.raises(safe_pickle.RefusedPickle, match=re.escape(refused)):
        safe_pickle.load(tmp_path / "last.ckpt")
    with pytest.raises(UnsafeFileError, match=f"calls {re.escape(refused)}.* while unpickling, which can run code"):
        load_generator(str(tmp_path / "last.ckpt"))


def test_the_current_folder_shadows_no_installed_module_after_the_code_the_user_typed_imports(tmp_path, monkeypatch):
    """Audit 32a F7: typing an installed class (`--model-class torch.nn:Linear`) or a callable put the folder the
    command ran from first on sys.path for good, and its `PIL/` ran in place of Pillow when the grid was written.
    The folder stays only where the user's code came from it, last (its sibling modules import later, in `__init__`
    or `forward`: review 33a), so no installed package is shadowed."""
    import sys

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    monkeypatch.delitem(sys.modules, "PIL", raising=False)
    (tmp_path / "PIL").mkdir()
    (tmp_path / "PIL" / "__init__.py").write_text(f"open({str(tmp_path / 'ran')!r}, 'w').close()\n")
    torch.save(torch.nn.Linear(4, 16).state_dict(), tmp_path / "lin.pth")
    options = {"model_class": "torch.nn:Linear", "model_kwargs": '{"in_features": 4, "out_features": 16}'}
    spec = {"spec.nz": "4", "spec.image_shape": "1,4,4", "spec.native_output_range": "-9,9"}
    load_generator("lin.pth", options={**options, **spec})
    assert str(tmp_path) not in sys.path  # nothing of the folder's was imported
    (tmp_path / "my_gens.py").write_text(
        "import torch\n\ndef make():\n    from my_nets import net  # a sibling, imported when called\n"
        "    return net()\n"
    )
    (tmp_path / "my_nets.py").write_text(
        "import torch\n\ndef net():\n    torch.manual_seed(0)\n"
        "    return torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.Tanh(), torch.nn.Unflatten(1, (1, 4, 4)))\n"
    )
    site = tmp_path / "site"  # an installed package whose own dependency the folder also has a file of (review 33a)
    site.mkdir()
    (site / "inst_gens.py").write_text("import inst_dep\n\ndef make():\n    return inst_dep.net()\n")
    (site / "inst_dep.py").write_text((tmp_path / "my_nets.py").read_text())
    (tmp_path / "inst_dep.py").write_text(f"open({str(tmp_path / 'ran')!r}, 'w').close()\n")
    monkeypatch.syspath_prepend(str(site))
    assert load_generator("inst_gens:make", options={"spec.nz": "4"}).spec.image_shape == (1, 4, 4)
    assert str(tmp_path) not in sys.path and not (tmp_path / "ran").exists()
    g = load_generator("my_gens:make", options={"spec.nz": "4"})
    assert g.spec.image_shape == (1, 4, 4) and sys.path[-1] == str(tmp_path)
    import PIL

    assert PIL.__file__ != str(tmp_path / "PIL" / "__init__.py") and not (tmp_path / "ran").exists()


def test_a_tar_checkpoint_is_refused_before_torch_extracts_its_links(tmp_path):
    """Audit 32a F8: a tar archive (PyTorch's first format) whose `storages` member links to a FIFO, with a zip
    appended: ganinv's scan read the zip, torch.load the tar, extracted the link and waited on the FIFO for good (or
    showed a file's first bytes in its error). Refused before torch reads it; the file's own FIFO check never saw it."""
    import os
    import tarfile
    import zipfile

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    held = io.BytesIO()
    with tarfile.open(fileobj=held, mode="w", format=tarfile.PAX_FORMAT) as tar:
        link = tarfile.TarInfo("storages")
        link.type, link.linkname = tarfile.SYMTYPE, str(fifo)
        tar.addfile(link)
    appended = io.BytesIO()
    with zipfile.ZipFile(appended, "w") as archive:
        archive.writestr("a.pkl", b"\x80\x02cbuiltins\nbytearray\n.")
    (tmp_path / "netG.pth").write_bytes(held.getvalue() + appended.getvalue())
    result, errors = run(["inspect", "-g", tmp_path / "netG.pth"])
    assert result.exit_code == 2 and len(errors) == 1, result.output
    assert "is a tar archive, the format of PyTorch's first releases" in errors[0]


def test_the_users_module_is_found_in_the_folder_whatever_python_imports_it_from(tmp_path):
    """Review 35a: only `NAME.py` and `NAME/` were seen, so a sourceless `NAME.pyc` or an extension built in place
    (`NAME.cpython-311-x86_64-linux-gnu.so`) of the current folder was "No module named"."""
    import importlib.machinery

    from ganinv import trust

    (tmp_path / "pycmod.pyc").write_bytes(b"")
    (tmp_path / f"extmod{importlib.machinery.EXTENSION_SUFFIXES[0]}").write_bytes(b"")
    (tmp_path / "pkg").mkdir()
    for name in ("pycmod", "extmod:G", "pkg.mod"):
        assert trust.holds_module(str(tmp_path), name.split(":")[0]), name
    assert not trust.holds_module(str(tmp_path), "torch")


def test_the_legacy_formats_storage_keys_are_scanned_for_sized_calls_too(tmp_path):
    """An outside audit (53a): torch's legacy loader unpickles a fifth pickle, the storage keys, after the objects;
    unscanned, `torch.Size(bytearray(N))` there reached torch's weights-only pass, which cannot bound it."""
    import pickle
    import pickletools

    buffer = io.BytesIO()
    torch.save(zoo.case("pytorch-examples-dcgan").build().state_dict(), buffer, _use_new_zipfile_serialization=False)
    raw = buffer.getvalue()
    stream = io.BytesIO(raw)
    for _ in range(4):  # magic number, protocol, sys_info, the objects
        for opcode, _arg, _pos in pickletools.genops(stream):
            if opcode.name == "STOP":
                break
    start = stream.tell()
    keys = pickle.load(stream)
    end = stream.tell()

    def text(key: str) -> bytes:
        return b"X" + len(key).to_bytes(4, "little") + key.encode()

    # a dict iterates as the same keys; the first maps to a sized call
    sized = b"ctorch\nSize\ncbuiltins\nbytearray\nJ" + (40_000_000).to_bytes(4, "little") + b"\x85R\x85R"
    payload = b"\x80\x02}(" + text(keys[0]) + sized + b"".join(text(k) + b"N" for k in keys[1:]) + b"u."
    (tmp_path / "legacy.pth").write_bytes(raw[:start] + bytes(payload) + raw[end:])
    assert safe_pickle.sized_constructor(tmp_path / "legacy.pth") is not None
    result, errors = run(["inspect", tmp_path / "legacy.pth"])
    assert result.exit_code != 0 and "40,000,000 elements" in "\n".join(errors), result.output


def test_an_archive_whose_local_header_names_differ_is_scanned_as_torch_reads_it(tmp_path):
    """An outside audit (53a): a data.pkl whose local header spells its name another way, which torch's zip reader
    ignores and Python's zipfile refuses, ended `inspect` in an internal error. The scan reads what torch reads."""
    case = zoo.case("pytorch-examples-dcgan")
    torch.save(case.build().state_dict(), tmp_path / "base.pth")
    raw = bytearray((tmp_path / "base.pth").read_bytes())
    at = raw.find(b"PK\x03\x04")
    while at >= 0:
        size = int.from_bytes(raw[at + 26 : at + 28], "little")
        if bytes(raw[at + 30 : at + 30 + size]).endswith(b"/data.pkl"):
            raw[at + 30 + size - 8] = ord("D")  # .../Data.pkl in the local header alone
            break
        at = raw.find(b"PK\x03\x04", at + 4)
    (tmp_path / "renamed.pth").write_bytes(bytes(raw))
    result, errors = run(["inspect", tmp_path / "renamed.pth"])
    assert result.exit_code == 0 and "internal error" not in "\n".join(errors), result.output
    # a local header torch's reader cannot read either (its name length 60000): one line, the file named (54a)
    raw[at + 26 : at + 28] = (60000).to_bytes(2, "little")
    (tmp_path / "damaged.pth").write_bytes(bytes(raw))
    result, errors = run(["inspect", tmp_path / "damaged.pth"])
    assert result.exit_code == 2 and "internal error" not in "\n".join(errors), result.output
    assert "damaged.pth" in errors[-1], errors


def test_a_pickle_record_named_in_capitals_is_scanned_as_torch_finds_it(tmp_path):
    """An outside audit (53a): torch's zip reader finds `data.pkl` stored as `DATA.PKL`; the scan looked at names
    ending in `.pkl` alone, so a sized call there reached torch's weights-only pass unbounded."""
    import zipfile

    buffer = io.BytesIO()
    torch.save(zoo.case("pytorch-examples-dcgan").build().state_dict(), buffer)
    sized = b"ctorch\nSize\ncbuiltins\nbytearray\nJ" + (40_000_000).to_bytes(4, "little") + b"\x85R\x85R"
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as source:
        with zipfile.ZipFile(tmp_path / "capitals.pth", "w", zipfile.ZIP_STORED) as archive:
            for info in source.infolist():
                data = source.read(info.filename)
                if info.filename.endswith("/data.pkl"):
                    data = data[:-2] + b"X\x07\x00\x00\x00payload" + sized + b"u."  # one more entry in the dict
                    info.filename = info.filename.removesuffix("data.pkl") + "DATA.PKL"
                archive.writestr(info, data)
    assert safe_pickle.sized_constructor(tmp_path / "capitals.pth") == "torch.Size"
