"""Bad inputs to every command: one line `Error: ...`, exit code 2, no traceback, nothing left behind.

Each case runs one `ganinv` command in this process (click's CliRunner, stderr apart) on tiny
seeded artifacts, and checks that:
- it exits with code 2 (click's usage errors exit 2 too);
- stderr holds exactly one line starting with `Error:`, naming the input (`mention`) and, for
  ganinv's own errors, saying what to do; no `Traceback` anywhere;
- nothing is left behind: the working folder (outputs go there) and the folder of inputs hold
  exactly the files they held before, so a retry cannot trip on a half-made output;
- where a case names a `retry`, the same command with good input into the same `--out` then works;
- a FIFO given as an input is refused without being read (a watchdog unblocks a reader that
  waits on it, and the case fails).
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import struct
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import pytest
import torch
import zoo
from click.testing import CliRunner
from PIL import Image
from safetensors.torch import save_file
from torch import nn

from ganinv import architectures
from ganinv.cli.main import cli
from ganinv.features import FeatureSet, save_features
from ganinv.generator import Generator
from ganinv.inverter import Inverter
from ganinv.sources import save_generator

# what a message says to do: a verb of advice (checked for ganinv's own errors, not click's usage errors)
ADVICE = re.compile(
    r"\b(give|use|choose|pass|check|run|drop|set|extract|convert|write|remove|fix|lower|raise|add|"
    r"save|delete|refit|retrain|try|make|resume|point|select|rename|unset|download|log in|"
    r"start|keep|train|fit|reduce|provide|declare|need|needs|expected|expects|must|instead|only)\b"
    r"|e\.g\.",
    re.I,
)
FIFO_WAIT_S = 4.0
PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_.]+)\}")


# ---- the inputs ----------------------------------------------------------------------------------------
class FixedBatch(nn.Module):
    """A TorchScript program that ignores the batch size: always one 1x8x8 image."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.zeros(1, 1, 8, 8) + z[:1].sum() * 0


class TracedAtSixteen(nn.Module):
    """A program traced with a fixed batch: `z.view(16, ...)` inside, as `torch.jit.trace` of such code leaves it."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(z.view(16, 4, 1, 1).expand(16, 4, 8, 8)[:, :1])


def truncate(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def features_file(path: Path, features, labels=None, layout=None) -> Path:
    tensors = {"features": torch.as_tensor(features).contiguous()}
    if labels is not None:
        tensors["labels"] = torch.as_tensor(labels).contiguous()
    metadata = {"format": json.dumps("ganinv-features"), "layout": json.dumps(layout or {})}
    save_file(tensors, str(path), metadata=metadata)
    return path


def toml(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, str]:
    """Good and bad inputs, made once: {name: path}, used as `{name}` in the case arguments."""
    m = tmp_path_factory.mktemp("inputs")
    torch.manual_seed(0)
    built, options = architectures.build_generator_net(
        "ssavl", {"nz": 4, "nc": 1, "n_classes": 3, "resolution": 8, "width": 8}
    )
    generator = Generator(
        built.net,
        built.spec,
        source="tiny-ssavl",
        meta={"architecture": "ssavl", "options": architectures.options_to_dict(options)},
    )
    save_generator(generator, m / "gen")
    inverter = Inverter.for_generator(generator, width=8, hidden=16)
    inverter.save_pretrained(m / "inv", include_generator=True)

    # generators
    shutil.copytree(m / "gen", m / "gen_trunc")
    truncate(m / "gen_trunc" / "model.safetensors")
    shutil.copytree(m / "gen", m / "gen_badjson")
    (m / "gen_badjson" / "config.json").write_text("{not json")
    (m / "garbage.safetensors").write_bytes(os.urandom(300))
    shutil.copy(m / "gen" / "model.safetensors", m / "weights_trunc.safetensors")
    truncate(m / "weights_trunc.safetensors", 0.3)
    (m / "empty.pth").write_bytes(b"")
    (m / "notes.txt").write_text("not an image, not weights\n")
    (m / "empty_dir").mkdir()
    torch.jit.script(FixedBatch()).save(str(m / "fixed_batch.ts"))
    torch.jit.script(TracedAtSixteen()).save(str(m / "sixteen.ts"))
    (m / "nz8.json").write_text('{"nz": 8}')  # a --spec file whose nz disagrees with --latent-shape 4,1,1
    torch.save(nn.Linear(4, 64), m / "module_pickle.pth")  # a full pickle: needs --trust-remote-code
    lfs_pointer = "version https://git-lfs.github.com/spec/v1\noid sha256:" + "4d" * 32 + "\nsize 41337\n"
    (m / "lfs_pointer.pth").write_text(lfs_pointer)  # a clone without `git lfs pull`
    (m / "lfs_pointer.safetensors").write_text(lfs_pointer)
    sign_in = "\n  <!DOCTYPE html><html><head><title>Sign in \n to GitHub</title></head><body>denied</body></html>\n"
    (m / "web_page.pth").write_text(sign_in)  # `wget` of a login or 'blob' page
    (m / "web_page.safetensors").write_text(sign_in)
    (m / "error_reply.pth").write_text('{"error": "Repository Not Found"}\n')  # a server's error body
    (m / "web_page.png").write_text(sign_in)  # images fetched the same way
    (m / "web_page.npy").write_text(sign_in)
    (m / "error_reply.npz").write_text("404: Not Found")
    np.savez(m / "weights.npz", **{"main.0.weight": np.ones((4, 2, 4, 4), np.float32)})  # numpy's, not torch's
    (m / "drawing.png").write_text('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"></svg>\n')
    (m / "idx").mkdir()  # MNIST's own files given as the images (audit 17b F5)
    digits = np.zeros((2, 8, 8), np.uint8)
    header = struct.pack(">HBB", 0, 8, 3) + struct.pack(">III", 2, 8, 8)
    (m / "idx" / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(header + digits.tobytes()))
    (m / "pixels.csv").write_text("label,pixel0,pixel1\n1,0,255\n")
    torch.save(torch.zeros(2, 1, 8, 8), m / "tensor_images.pt")  # a tensor saved as PyTorch users keep one (audit 36b)
    (m / "hidden_only").mkdir()  # its one image hidden by a dot name (audit 17b F10)
    Image.fromarray(digits[0]).save(m / "hidden_only" / ".digit.png")

    # inverters
    for name in ("inv_trunc", "inv_badjson", "inv_misfit", "inv_listjson", "inv_nospec"):
        shutil.copytree(m / "inv", m / name)
    truncate(m / "inv_trunc" / "model.safetensors")
    (m / "inv_badjson" / "config.json").write_text("{'spec': oops")
    config = json.loads((m / "inv" / "config.json").read_text())
    config["spec"]["nz"] = 5  # the weights were trained for nz = 4
    (m / "inv_misfit" / "config.json").write_text(json.dumps(config))
    (m / "inv_listjson" / "config.json").write_text("[1, 2, 3]")
    (m / "inv_nospec" / "config.json").write_text(json.dumps({k: v for k, v in config.items() if k != "spec"}))
    for name, edit in (  # fields of the wrong type (audit 17b F4: torch's and Python's own messages)
        ("inv_width_text", {"width": "8"}),
        ("inv_nz_text", {"spec": {**config["spec"], "nz": "4"}}),
        ("inv_hidden_negative", {"hidden": -1}),
        ("inv_iterations_huge", {"iterations": 10**7}),
        ("inv_no_generator", {"generator_ref": {}}),
    ):
        shutil.copytree(m / "inv", m / name)
        original = json.loads((m / "inv" / "config.json").read_text())
        (m / name / "config.json").write_text(json.dumps({**original, **edit}))
        shutil.rmtree(m / name / "generator", ignore_errors=True)

    # images
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(12, 8, 8), dtype=np.uint8)
    np.savez(m / "images.npz", images=pixels, labels=np.arange(12) % 3)
    np.savez(m / "img_empty.npz", images=np.zeros((0, 8, 8), dtype=np.uint8))
    np.savez(m / "img_object.npz", images=np.array([pixels[0], "x"], dtype=object))
    np.savez(m / "img_2d.npz", images=pixels[0])
    np.savez(m / "img_5d.npz", images=pixels.reshape(2, 6, 1, 8, 8))
    np.savez(m / "img_strings.npz", images=np.array(["a", "b"]))
    np.savez(m / "img_labels_short.npz", images=pixels, labels=np.arange(5))
    np.savez(m / "img_nolabel_key.npz", pixels=pixels)
    nan_images = pixels.astype(np.float32) / 127.5 - 1
    nan_images[3, 2, 2] = np.nan
    np.savez(m / "img_nan.npz", images=nan_images)
    save_file({"images": torch.from_numpy(pixels)}, str(m / "img_trunc.safetensors"))
    truncate(m / "img_trunc.safetensors", 0.6)
    (m / "img_zero_byte.npz").write_bytes(b"")
    os.mkfifo(m / "fifo.png")
    os.mkfifo(m / "fifo.npz")
    os.mkfifo(m / "fifo.safetensors")
    (m / "folder_of_text").mkdir()
    (m / "folder_of_text" / "a.txt").write_text("x")
    (m / "pngs").mkdir()
    for i in range(2):
        Image.fromarray(pixels[i]).save(m / "pngs" / f"{i}.png")
    (m / "users_folder").mkdir()
    (m / "users_folder" / "metrics.json").write_text("my own metrics, not ganinv's\n")
    (m / "fifo_metrics").mkdir()
    os.mkfifo(m / "fifo_metrics" / "metrics.json")
    (m / "broken_png").mkdir()
    (m / "broken_png" / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(40))

    # features
    x = torch.from_numpy(pixels.reshape(12, -1).astype(np.float32) / 127.5 - 1)
    save_features(FeatureSet(x, torch.arange(12) % 3, layout={"pixels": 64}), m / "train.safetensors")
    save_features(FeatureSet(x[:6], torch.arange(6) % 3, layout={"pixels": 64}), m / "test.safetensors")
    shutil.copy(m / "train.safetensors", m / "f_trunc.safetensors")
    truncate(m / "f_trunc.safetensors", 0.5)
    x_nan = x.clone()
    x_nan[2, 5] = float("nan")
    features_file(m / "f_nan.safetensors", x_nan, torch.arange(12) % 3)
    x_inf = x.clone()
    x_inf[0, 0] = float("inf")
    features_file(m / "f_inf.safetensors", x_inf, torch.arange(12) % 3)
    features_file(m / "f_labels_short.safetensors", x, torch.arange(7) % 3)
    features_file(m / "f_labels_2d.safetensors", x, (torch.arange(24) % 3).reshape(12, 2))
    features_file(m / "f_nolabels.safetensors", x)
    features_file(m / "f_one_class.safetensors", x, torch.zeros(12, dtype=torch.int64))
    features_file(m / "f_empty.safetensors", torch.zeros(0, 64), torch.zeros(0, dtype=torch.int64))
    features_file(m / "f_1d.safetensors", x[:, 0], torch.arange(12) % 3)
    features_file(m / "f_labels_float.safetensors", x, torch.rand(12))
    d = torch.rand(12, 3).softmax(dim=1)
    features_file(
        m / "f_d_nan.safetensors",
        torch.cat([x[:, :4], d], 1).index_put_((torch.tensor([1]), torch.tensor([5])), torch.tensor(float("nan"))),
        torch.arange(12) % 3,
        {"z": 4, "d": 3},
    )
    features_file(
        m / "f_d_labels_short.safetensors", torch.cat([x[:, :4], d], 1), torch.arange(4) % 3, {"z": 4, "d": 3}
    )
    features_file(m / "f_d_empty.safetensors", torch.zeros(0, 7), torch.zeros(0, dtype=torch.int64), {"z": 4, "d": 3})
    features_file(m / "f_layout_lies.safetensors", x, torch.arange(12) % 3, {"z": 4, "d": 300})
    np.savez(m / "f_object.npz", features=np.array([1, "a"], dtype=object))

    # recipes and spec files
    toml(m / "bad.toml", "steps = [unclosed\n")
    toml(m / "fit_wrong_type.toml", 'steps = "ten"\n')
    toml(m / "fit_wrong_table.toml", "dreaming = 3\n")
    toml(m / "fit_nan_lr.toml", "lr = nan\n")
    toml(m / "fit_device.toml", 'device = "tpu"\n')
    toml(m / "train_device.toml", 'device = "cuda:7"\n')
    toml(m / "train_wrong_type.toml", 'batch_size = "many"\n')
    toml(m / "train_unknown_key.toml", "batchsize = 8\n")
    toml(m / "bench_run_string.toml", '[[stages]]\nname = "p"\nrun = "probe"\n')
    toml(m / "bench_no_stages.toml", 'title = "x"\n')
    toml(m / "bench_stage_key.toml", '[[stages]]\nname = "p"\nrun = ["probe"]\nretries = 3\n')
    toml(m / "bench_rows_type.toml", '[[stages]]\nname = "p"\nrun = ["inspect", "--list"]\n[report]\nrows = 5\n')
    toml(m / "bench_json_type.toml", '[[stages]]\nname = "p"\nrun = ["inspect", "--list"]\njson = "yes"\n')
    toml(m / "bench_name_type.toml", '[[stages]]\nname = 7\nrun = ["inspect", "--list"]\n')
    toml(m / "bench_run_items.toml", '[[stages]]\nname = "p"\nrun = ["inspect", 3]\n')
    toml(m / "bench_unknown_var.toml", '[[stages]]\nname = "p"\nrun = ["inspect", "{nowhere}"]\n')
    toml(m / "bench_bad_stage_cmd.toml", '[[stages]]\nname = "p"\nrun = ["no-such-command"]\n')
    toml(m / "bench_ok.toml", '[[stages]]\nname = "list"\nrun = ["inspect", "--list"]\n')
    toml(
        m / "bench_stage_fails.toml",
        '[[stages]]\nname = "p"\nrun = ["probe", "--train", "nowhere.safetensors", "--test", "nowhere.safetensors"]\n',
    )
    toml(m / "bench_same_names.toml", '[[stages]]\nname = "p"\nrun = ["inspect", "--list"]\n' * 2)
    toml(
        m / "bench_report_var.toml",
        '[[stages]]\nname = "p"\nrun = ["inspect", "--list"]\n[report]\ncolumns = ["{nowhere_else}"]\nrows = []\n',
    )
    toml(
        m / "bench_report_stage.toml",
        '[[stages]]\nname = "p"\nrun = ["inspect", "--list"]\n[report]\ncolumns = ["a"]\nrows = [["$q.x"]]\n',
    )
    toml(m / "bench_vars_type.toml", 'vars = 3\n[[stages]]\nname = "p"\nrun = ["inspect", "--list"]\n')
    (m / "spec_badjson.json").write_text("{nz: 4")
    (m / "spec_wrong_type.json").write_text(json.dumps({"nz": "four"}))
    (m / "spec_list.json").write_text("[4]")

    # a fit run (as `fit` leaves it after its first checkpoint) and an MVAE run
    from ganinv.fit import FitConfig

    fit_run = m / "fit_run"
    (fit_run / "checkpoints").mkdir(parents=True)
    (fit_run / "config.json").write_text(
        json.dumps(
            {
                "fit": FitConfig(generator=str(m / "gen")).to_dict(),
                "world_size": 1,
                "generator": {"source": str(m / "gen")},
            }
        )
    )
    torch.save({"step": 1}, fit_run / "checkpoints" / "step-000001.pt")
    result = CliRunner().invoke(
        cli,
        [
            "mvae",
            "fit",
            "--data",
            str(m / "images.npz"),
            "--components",
            "2",
            "--latent-dim",
            "2",
            "--s-dim",
            "4",
            "--width",
            "4",
            "--hidden",
            "8",
            "--steps",
            "2",
            "--batch-size",
            "4",
            "--out",
            str(m / "mvae"),
            "--quiet",
            "--device",
            "cpu",
        ],
    )
    assert result.exit_code == 0, result.output
    shutil.copytree(m / "mvae", m / "mvae_trunc")
    for weights in (m / "mvae_trunc").rglob("model.safetensors"):
        truncate(weights)
    zoo.cache_repo(m / "hub_cache", "someone/program", {"generator.pt": m / "fixed_batch.ts"})  # code, not weights
    stems: dict[str, int] = {}
    for p in m.iterdir():
        stems[p.stem] = stems.get(p.stem, 0) + 1
    names = {p.name: str(p) for p in m.iterdir()}  # `{images.npz}`, and `{images}` where the stem is unique
    names.update({p.stem: str(p) for p in m.iterdir() if stems[p.stem] == 1})
    return {**names, "m": str(m)}


# ---- the cases -----------------------------------------------------------------------------------------
@dataclass
class Case:
    args: list[str]  # `{name}`: an input; `{out}`: a new path in the working folder; `{file}`: a regular file there
    mention: tuple[str, ...] = ()  # text the Error line must hold (formatted like the args)
    code: int = 2
    usage: bool = False  # a click usage error: it names the option; no advice verb needed
    retry: Optional[list[str]] = None  # good arguments run afterwards; they must succeed
    leaves: tuple[str, ...] = ()  # paths a failure may leave (a retry into them must then work)
    early: bool = False  # refused before any work: the Error line is all there is on stderr (no progress)


def case(
    command: str,
    name: str,
    args: list[str],
    mention=(),
    *,
    owner: Optional[str] = None,
    usage=False,
    retry=None,
    code=2,
    leaves=(),
    early=None,
):
    marks = [pytest.mark.xfail(strict=True, reason=f"owner: {owner}")] if owner else []
    return pytest.param(
        command,
        Case(
            args,
            tuple([mention] if isinstance(mention, str) else mention),
            code,
            usage,
            retry,
            leaves,
            "regular file" in name if early is None else early,
        ),
        id=f"{command}:{name}",
        marks=marks,
    )


GEN = ["-g", "{gen}"]
INV = ["--inverter", "{inv}"]

CASES = [
    # ---- sample ----
    case("sample", "nonexistent generator", ["sample", "-g", "{m}/nowhere", "--out", "{out}.png"], "nowhere"),
    case("sample", "truncated weights folder", ["sample", "-g", "{gen_trunc}", "--out", "{out}.png"], "gen_trunc"),
    case("sample", "generator config not json", ["sample", "-g", "{gen_badjson}", "--out", "{out}.png"], "gen_badjson"),
    case(
        "sample",
        "garbage safetensors",
        ["sample", "-g", "{garbage}", "--arch", "dcgan", "--out", "{out}.png"],
        "garbage.safetensors",
    ),
    case(
        "sample",
        "truncated safetensors file",
        ["sample", "-g", "{weights_trunc}", "--arch", "ssavl", "--out", "{out}.png"],
        "weights_trunc",
    ),
    case("sample", "zero-byte pth", ["sample", "-g", "{empty.pth}", "--out", "{out}.png"], "empty.pth"),
    case("sample", "text file as generator", ["sample", "-g", "{notes.txt}", "--out", "{out}.png"], "notes.txt"),
    case("sample", "empty folder", ["sample", "-g", "{empty_dir}", "--out", "{out}.png"], "empty_dir"),
    case(
        "sample",
        "torchscript ignores the batch size",
        ["sample", "-g", "{fixed_batch}", "--nz", "4", "-n", "5", "--out", "{out}.png"],
        "batch",
    ),
    # audit 30b 7e: two sources of nz that disagree ran the program, which failed with "check --nz and --latent-shape"
    case(
        "sample",
        "nz disagrees with the latent shape",
        ["sample", "-g", "{sixteen}", "--nz", "8", "--latent-shape", "4,1,1", "--out", "{out}.png"],
        "--nz 8 and --latent-shape 4,1,1 disagree: that shape holds 4 values, not 8",
        usage=True,
    ),
    case(
        "sample",
        "spec file nz disagrees with the latent shape",
        ["sample", "-g", "{sixteen}", "--spec", "{nz8.json}", "--latent-shape", "4,1,1", "--out", "{out}.png"],
        "nz 8 and latent shape 4,1,1 disagree: that shape holds 4 values, not 8; give a latent shape that holds nz",
        early=True,
    ),
    case(
        "sample",
        "latent shape disagrees with a generator's nz",
        ["sample", *GEN, "--latent-shape", "8,1,1", "--out", "{out}.png"],
        "nz 4 and latent shape 8,1,1 disagree: that shape holds 8 values, not 4",
    ),
    case(
        "sample",
        "full pickle without trust",
        ["sample", "-g", "{module_pickle}", "--out", "{out}.png"],
        ("module_pickle", "--trust-remote-code"),
    ),
    case("sample", "hub path traversal", ["sample", "-g", "hub:../../etc", "--out", "{out}.png"], ("etc", "repo id")),
    case(
        "sample",
        "hub path traversal with a name",
        ["sample", "-g", "hub:owner/../../etc", "--out", "{out}.png"],
        ("etc", "repo id"),
    ),
    case("sample", "device tpu", ["sample", *GEN, "--device", "tpu", "--out", "{out}.png"], ("tpu", "cpu")),
    case("sample", "device cuda:7", ["sample", *GEN, "--device", "cuda:7", "--out", "{out}.png"], "cuda:7"),
    case("sample", "device cpu:99", ["sample", *GEN, "--device", "cpu:99", "--out", "{out}.png"], "cpu:99"),
    case("sample", "out under a regular file", ["sample", *GEN, "--out", "{file}/grid.png"], "{file}"),
    case("sample", "grid named as data", ["sample", *GEN, "--out", "{out}.npz"], ("out.npz", "*.png"), usage=True),
    case(
        "sample",
        "latents named as npz",
        ["sample", *GEN, "--out", "{out}.png", "--latents-out", "{out}.npz"],
        ("*.safetensors"),
        usage=True,
    ),
    case("sample", "out is a folder", ["sample", *GEN, "--out", "{empty_dir}"], "empty_dir", usage=True),
    case(
        "sample",
        "latents-out under a regular file",
        ["sample", *GEN, "--out", "{out}.png", "--latents-out", "{file}/z.safetensors"],
        "{file}",
    ),
    case(
        "sample", "option without =", ["sample", *GEN, "--option", "nz", "--out", "{out}.png"], "--option", usage=True
    ),
    case(
        "sample",
        "spec file not json",
        ["sample", *GEN, "--spec", "{spec_badjson}", "--out", "{out}.png"],
        "spec_badjson",
    ),
    case(
        "sample",
        "spec value of the wrong type",
        ["sample", *GEN, "--spec", "{spec_wrong_type}", "--out", "{out}.png"],
        "nz",
    ),
    case("sample", "spec file is a list", ["sample", *GEN, "--spec", "{spec_list}", "--out", "{out}.png"], "spec_list"),
    case(
        "sample", "out starts with a tilde", ["sample", *GEN, "--out", "~/{out}.png"], "give the full path", usage=True
    ),
    case(
        "invert",
        "refine class without refine",
        ["invert", *INV, "{images}", "--refine-class", "fixed", "--out", "{out}"],
        "needs --refine N",
        usage=True,
    ),
    case("sample", "empty out", ["sample", *GEN, "--out", ""], "is empty: name the file or folder", usage=True),
    case("sample", "empty latent shape", ["sample", *GEN, "--latent-shape", "", "--out", "{out}.png"], "is empty"),
    case("sample", "bad prior", ["sample", *GEN, "--prior", "cauchy", "--out", "{out}.png"], "cauchy", usage=True),
    case(
        "sample",
        "prior bounds not numbers",
        ["sample", *GEN, "--prior", "uniform:a,b", "--out", "{out}.png"],
        "two numbers LO,HI",
        usage=True,
    ),
    case("sample", "bad output range", ["sample", *GEN, "--output-range", "a,b", "--out", "{out}.png"], "a,b"),
    case("sample", "bad image shape", ["sample", *GEN, "--image-shape", "1,x,8", "--out", "{out}.png"], "1,x,8"),
    case("sample", "absurd sample count", ["sample", *GEN, "-n", "100000000000", "--out", "{out}.png"], "-n"),
    case("sample", "zero samples", ["sample", *GEN, "-n", "0", "--out", "{out}.png"], "--num", usage=True),
    case(
        "sample",
        "retry after a failed start",
        ["sample", "-g", "{gen_trunc}", "--out", "{out}/grid.png", "--latents-out", "{out}/z.safetensors"],
        "gen_trunc",
        retry=["sample", *GEN, "-n", "4", "--out", "{out}/grid.png", "--latents-out", "{out}/z.safetensors"],
    ),
    # ---- inspect ----
    case("inspect", "nonexistent source", ["inspect", "{m}/nowhere.safetensors"], "nowhere"),
    case("inspect", "truncated weights folder", ["inspect", "{gen_trunc}"], "gen_trunc"),
    case("inspect", "garbage safetensors", ["inspect", "{garbage}", "--arch", "dcgan"], "garbage"),
    case("inspect", "hub path traversal", ["inspect", "hub:../../etc"], ("etc", "repo id")),
    case("inspect", "device tpu", ["inspect", "{gen}", "--device", "tpu"], "tpu"),
    case("inspect", "full pickle without trust", ["inspect", "{module_pickle}"], "--trust-remote-code"),
    case(
        "inspect",
        "weights as a numpy archive",
        ["inspect", "{weights.npz}"],
        ("is a NumPy archive (.npz of main.0.weight)", "torch.save"),
    ),
    case("inspect", "torchscript ignores the batch size", ["inspect", "{fixed_batch}", "--nz", "4"], "batch"),
    case(  # audit 17a F6: "The following operation failed in the TorchScript interpreter.; check --nz"
        "inspect",
        "torchscript with a fixed batch inside",
        ["inspect", "{sixteen}", "--nz", "4"],
        ("is invalid for input of size", "--option batch_size=16"),
    ),
    case(
        "inspect",
        "torchscript with a fixed batch inside, image shape given",
        ["inspect", "{sixteen}", "--nz", "4", "--image-shape", "1,8,8"],
        ("is invalid for input of size", "--option batch_size=16"),
    ),
    case(
        "inspect", "git lfs pointer as weights", ["inspect", "{lfs_pointer.pth}"], ("lfs_pointer.pth", "git lfs pull")
    ),
    case("inspect", "git lfs pointer as safetensors", ["inspect", "{lfs_pointer.safetensors}"], "Git LFS pointer"),
    case("inspect", "html page as weights", ["inspect", "{web_page.pth}"], ("HTML page", "'Sign in to GitHub'", "Raw")),
    case("inspect", "html page as safetensors", ["inspect", "{web_page.safetensors}"], ("HTML page", "safetensors")),
    case("inspect", "error reply as weights", ["inspect", "{error_reply.pth}"], ("text file", "Repository Not Found")),
    case(
        "inspect", "hub repo holding a program", ["inspect", "hub:someone/program"], ("TorchScript", "--trust-remote")
    ),
    case("inspect", "probe batch beyond memory", ["inspect", "{gen}", "-n", "1000000000000"], ("-n", "or fewer")),
    case("inspect", "seed beyond numpy's", ["inspect", "{gen}", "--seed", str(2**64)], "--seed", usage=True),
    case("inspect", "unknown architecture", ["inspect", "{gen}", "--arch", "nosuch"], "nosuch"),
    # ---- invert ----
    case(
        "invert",
        "nonexistent inverter",
        ["invert", "--inverter", "{m}/nowhere", "{images}", "--out", "{out}"],
        "nowhere",
    ),
    case(
        "invert",
        "empty inverter folder",
        ["invert", "--inverter", "{empty_dir}", "{images}", "--out", "{out}"],
        "empty_dir",
    ),
    case(
        "invert",
        "inverter config not json",
        ["invert", "--inverter", "{inv_badjson}", "{images}", "--out", "{out}"],
        "inv_badjson",
    ),
    case(
        "invert",
        "inverter config is a list",
        ["invert", "--inverter", "{inv_listjson}", "{images}", "--out", "{out}"],
        "inv_listjson",
    ),
    case(
        "invert",
        "inverter weights truncated",
        ["invert", "--inverter", "{inv_trunc}", "{images}", "--out", "{out}"],
        "inv_trunc",
    ),
    case(
        "invert",
        "inverter width not a number",
        ["invert", "--inverter", "{inv_width_text}", "{images}", "--out", "{out}"],
        ("width must be a whole number in [1, 1024], got '8'", "save or download the artifact again"),
    ),
    case(
        "invert",
        "inverter nz not a number",
        ["invert", "--inverter", "{inv_nz_text}", "{images}", "--out", "{out}"],
        ("spec field nz must be a whole number, got '4'", "save or download the artifact again"),
    ),
    case(
        "invert",
        "inverter hidden negative",
        ["invert", "--inverter", "{inv_hidden_negative}", "{images}", "--out", "{out}"],
        "hidden must be a whole number in [1, 65536], got -1",
    ),
    case(  # audit 21b: an artifact's iterations of 10**7 kept invert running for good
        "invert",
        "inverter iterations beyond any fit",
        ["invert", "--inverter", "{inv_iterations_huge}", "{images}", "--out", "{out}"],
        "iterations must be a whole number in [0, 20], got 10000000",
    ),
    case(
        "invert",
        "inverter names no generator",
        ["invert", "--inverter", "{inv_no_generator}", "{images}", "--out", "{out}"],
        ("names no generator", "--generator"),
    ),
    case(
        "invert",
        "inverter spec no longer fits its weights",
        ["invert", "--inverter", "{inv_misfit}", "{images}", "--out", "{out}"],
        "inv_misfit",
    ),
    case(
        "invert",
        "hub path traversal",
        ["invert", "--inverter", "hub:../../etc", "{images}", "--out", "{out}"],
        ("etc", "repo id"),
    ),
    # an outside audit (53c): `--out -` made a folder named `-`, which `invert -` then read back as images
    case("invert", "out is a dash", ["invert", *INV, "{images}", "--out", "-"], "names standard output"),
    case("invert", "images are a dash", ["invert", *INV, "-", "--out", "{out}"], "names standard input"),
    case("invert", "images are empty", ["invert", *INV, "", "--out", "{out}"], "source is empty"),
    case("fit", "empty eval-real", ["fit", *GEN, "--eval-real", "", "--out", "{out}"], "is empty", usage=True),
    case("mvae fit", "empty eval-real", ["mvae", "fit", "--eval-real", "", "--out", "{out}"], "is empty", usage=True),
    case("perf", "empty out", ["perf", "--measure", "machine", "--seconds", "0.05", "--out", ""], "--out is empty"),
    case("invert", "nonexistent images", ["invert", *INV, "{m}/nowhere.npz", "--out", "{out}"], "nowhere"),
    case("invert", "empty image folder", ["invert", *INV, "{empty_dir}", "--out", "{out}"], "empty_dir"),
    case("invert", "folder of text files", ["invert", *INV, "{folder_of_text}", "--out", "{out}"], "folder_of_text"),
    case("invert", "broken png", ["invert", *INV, "{broken_png}", "--out", "{out}"], "a.png"),
    case(
        "invert",
        "an IDX file",
        ["invert", *INV, "{idx}/t10k-images-idx3-ubyte.gz", "--out", "{out}"],
        ("MNIST-format IDX file", "--root {idx}"),
    ),
    case("invert", "a folder of IDX files", ["invert", *INV, "{idx}", "--out", "{out}"], ("IDX files", "--root")),
    case("invert", "a csv of pixels", ["invert", *INV, "{pixels.csv}", "--out", "{out}"], ("CSV of pixels", ".npz")),
    case("invert", "a tensor .pt", ["invert", *INV, "{tensor_images}", "--out", "{out}"], ("numpy.save('images.npy'",)),
    case("invert", "hidden images only", ["invert", *INV, "{hidden_only}", "--out", "{out}"], (".digit.png", "rename")),
    case("invert", "html page as png", ["invert", *INV, "{web_page.png}", "--out", "{out}"], ("HTML page", "image")),
    case("invert", "html page as npy", ["invert", *INV, "{web_page.npy}", "--out", "{out}"], ("HTML page", ".npy")),
    case(
        "invert",
        "svg drawing as png",
        ["invert", *INV, "{drawing.png}", "--out", "{out}"],
        ("SVG", "convert it to a PNG"),
    ),
    case("invert", "error reply as npz", ["invert", *INV, "{error_reply.npz}", "--out", "{out}"], "'404: Not Found'"),
    case("invert", "zero-length images", ["invert", *INV, "{img_empty}", "--out", "{out}"], "img_empty"),
    case("invert", "object array", ["invert", *INV, "{img_object}", "--out", "{out}"], "img_object"),
    case("invert", "2-D array", ["invert", *INV, "{img_2d}", "--out", "{out}"], "img_2d"),
    case("invert", "5-D array", ["invert", *INV, "{img_5d}", "--out", "{out}"], "img_5d"),
    case("invert", "string array", ["invert", *INV, "{img_strings}", "--out", "{out}"], "img_strings"),
    case(
        "invert", "labels count differs", ["invert", *INV, "{img_labels_short}", "--out", "{out}"], "img_labels_short"
    ),
    case("invert", "nan pixels", ["invert", *INV, "{img_nan}", "--out", "{out}"], "img_nan"),
    case("invert", "truncated safetensors images", ["invert", *INV, "{img_trunc}", "--out", "{out}"], "img_trunc"),
    case("invert", "zero-byte npz", ["invert", *INV, "{img_zero_byte}", "--out", "{out}"], "img_zero_byte"),
    case("invert", "fifo as image", ["invert", *INV, "{fifo.png}", "--out", "{out}"], "fifo.png"),
    case("invert", "fifo as npz", ["invert", *INV, "{fifo.npz}", "--out", "{out}"], "fifo.npz"),
    case("invert", "text file as images", ["invert", *INV, "{notes.txt}", "--out", "{out}"], "notes.txt"),
    case("invert", "out under a regular file", ["invert", *INV, "{images}", "--out", "{file}/inv"], "{file}"),
    case("invert", "out is a regular file", ["invert", *INV, "{images}", "--out", "{file}"], "{file}", usage=True),
    case("invert", "device tpu", ["invert", *INV, "{images}", "--out", "{out}", "--device", "tpu"], "tpu"),
    case("invert", "device cuda:7", ["invert", *INV, "{images}", "--out", "{out}", "--device", "cuda:7"], "cuda"),
    case(
        "invert",
        "refine lr nan",
        ["invert", *INV, "{images}", "--out", "{out}", "--refine", "2", "--refine-lr", "nan"],
        "--refine-lr",
    ),
    case(
        "invert",
        "refine lr far beyond unit-scale latents",
        ["invert", *INV, "{images}", "--out", "{out}", "--refine", "2", "--refine-lr", "1e30"],
        "--refine-lr",
        usage=True,
    ),
    case(
        "invert",
        "input range too wide to scale",
        ["invert", *INV, "{images}", "--out", "{out}", "--input-range=-1e308,1e308"],
        "--input-range",
        usage=True,
    ),
    case(
        "invert",
        "refine lr negative",
        ["invert", *INV, "{images}", "--out", "{out}", "--refine", "2", "--refine-lr", "-1"],
        "--refine-lr",
        usage=True,
    ),
    case(
        "invert",
        "out holds a user's files of the same names",
        ["invert", *INV, "{images}", "--out", "{users_folder}"],
        ("users_folder", "metrics.json"),
    ),
    case(  # the check whether the folder is an earlier invert's read the FIFO and waited for a writer forever
        "invert",
        "out holds a FIFO named metrics.json",
        ["invert", *INV, "{images}", "--out", "{fifo_metrics}"],
        ("fifo_metrics/metrics.json", "not a regular file"),
    ),
    case(
        "invert",
        "out inside the images folder",
        ["invert", *INV, "{pngs}", "--out", "{pngs}/results"],
        ("inside the IMAGES folder"),
        retry=["invert", *INV, "{pngs}", "--out", "{out}"],
    ),
    case(
        "invert",
        "retry after bad images",
        ["invert", *INV, "{img_object}", "--out", "{out}"],
        "img_object",
        retry=["invert", *INV, "{images}", "--out", "{out}"],
    ),
    # ---- loglik ----
    case("loglik", "absurd k", ["loglik", *INV, "--generated", "2", "--k", "1000000000000"], "--k"),
    case("loglik", "absurd generated count", ["loglik", *INV, "--generated", "100000000000"], "--generated"),
    case(
        "loglik",
        "absurd fit-n",
        ["loglik", *INV, "--generated", "2", "--fit-sigma", "--fit-n", "100000000000"],
        "--fit-n",
    ),
    case("loglik", "k zero", ["loglik", *INV, "--generated", "2", "--k", "0"], "--k"),
    case("loglik", "sigma nan", ["loglik", *INV, "--generated", "2", "--sigma-x", "nan"], "--sigma-x"),
    case("loglik", "sigma inf", ["loglik", *INV, "--generated", "2", "--sigma-x", "inf"], "--sigma-x"),
    case(
        "loglik", "inverter weights truncated", ["loglik", "--inverter", "{inv_trunc}", "--generated", "2"], "inv_trunc"
    ),
    case("loglik", "inverter without spec", ["loglik", "--inverter", "{inv_nospec}", "--generated", "2"], "inv_nospec"),
    case("loglik", "device cuda:7", ["loglik", *INV, "--generated", "2", "--device", "cuda:7"], "cuda:7"),
    case("loglik", "zero-length images", ["loglik", *INV, "{img_empty}"], "img_empty"),
    case("loglik", "nan pixels", ["loglik", *INV, "{img_nan}"], "img_nan"),
    case("loglik", "fifo as images", ["loglik", *INV, "{fifo.safetensors}"], "fifo.safetensors"),
    case(
        "loglik",
        "out under a regular file",
        ["loglik", *INV, "--generated", "2", "--k", "2", "--out", "{file}/ll.jsonl"],
        "{file}",
    ),
    case(
        "loglik",
        "out is a folder",
        ["loglik", *INV, "--generated", "2", "--k", "2", "--out", "{empty_dir}"],
        "empty_dir",
        usage=True,
    ),
    # ---- features ----
    case(
        "features",
        "inverter weights truncated",
        ["features", "--inverter", "{inv_trunc}", "{images}", "--out", "{out}.safetensors"],
        "inv_trunc",
    ),
    case(
        "features",
        "inverter spec misfit",
        ["features", "--inverter", "{inv_misfit}", "{images}", "--out", "{out}.safetensors"],
        "inv_misfit",
    ),
    case(
        "features",
        "zero-length images",
        ["features", "--raw-pixels", "{img_empty}", "--out", "{out}.safetensors"],
        "img_empty",
    ),
    case("features", "nan pixels", ["features", "--raw-pixels", "{img_nan}", "--out", "{out}.safetensors"], "img_nan"),
    case(
        "sample",
        "normal prior with bounds",
        ["sample", *GEN, "--prior", "normal:0,1", "--out", "{out}.png"],
        "no bounds",
        usage=True,
    ),
    case(
        "features",
        "features named as text",
        ["features", "--raw-pixels", "{img_nan}", "--out", "{out}.txt"],
        ("out.txt", "*.safetensors or *.npz"),
        usage=True,
    ),
    case(
        "features",
        "object array",
        ["features", "--raw-pixels", "{img_object}", "--out", "{out}.safetensors"],
        "img_object",
    ),
    case(
        "features",
        "fifo as image",
        ["features", "--raw-pixels", "{fifo.png}", "--out", "{out}.safetensors"],
        "fifo.png",
    ),
    case("features", "2-D array", ["features", "--raw-pixels", "{img_2d}", "--out", "{out}.safetensors"], "img_2d"),
    case(
        "features",
        "hub path traversal",
        ["features", "--inverter", "hub:../../etc", "{images}", "--out", "{out}.safetensors"],
        ("etc", "repo id"),
    ),
    case(
        "features",
        "out under a regular file",
        ["features", "--raw-pixels", "{images}", "--out", "{file}/f.safetensors"],
        "{file}",
    ),
    case(
        "features",
        "out is a folder",
        ["features", "--raw-pixels", "{images}", "--out", "{empty_dir}"],
        "empty_dir",
        usage=True,
    ),
    case(
        "features", "device tpu", ["features", *INV, "{images}", "--out", "{out}.safetensors", "--device", "tpu"], "tpu"
    ),
    case(
        "features",
        "retry after a bad inverter",
        ["features", "--inverter", "{inv_trunc}", "{images}", "--out", "{out}/f.safetensors"],
        "inv_trunc",
        retry=["features", *INV, "{images}", "--out", "{out}/f.safetensors"],
    ),
    # ---- probe ----
    case("probe", "truncated features", ["probe", "--train", "{f_trunc}", "--test", "{test}"], "f_trunc"),
    case("probe", "garbage features", ["probe", "--train", "{garbage}", "--test", "{test}"], "garbage"),
    case("probe", "object array features", ["probe", "--train", "{f_object}", "--test", "{test}"], "f_object"),
    case("probe", "nan features", ["probe", "--train", "{f_nan}", "--test", "{test}"], "f_nan"),
    case("probe", "inf features", ["probe", "--train", "{test}", "--test", "{f_inf}"], "f_inf"),
    case(
        "probe", "label count differs", ["probe", "--train", "{f_labels_short}", "--test", "{test}"], "f_labels_short"
    ),
    case("probe", "2-D labels", ["probe", "--train", "{f_labels_2d}", "--test", "{test}"], "f_labels_2d"),
    case("probe", "fractional labels", ["probe", "--train", "{f_labels_float}", "--test", "{test}"], "f_labels_float"),
    case("probe", "no labels", ["probe", "--train", "{f_nolabels}", "--test", "{test}"], "f_nolabels"),
    case(
        "probe",
        "one class only",
        ["probe", "--train", "{f_one_class}", "--test", "{test}", "--classifiers", "linear"],
        "f_one_class",
    ),
    case("probe", "no rows", ["probe", "--train", "{f_empty}", "--test", "{test}"], "f_empty"),
    case("probe", "1-D features", ["probe", "--train", "{f_1d}", "--test", "{test}"], "f_1d"),
    case(
        "probe",
        "knn k larger than the training set",
        ["probe", "--train", "{test}", "--test", "{train}", "--classifiers", "knn", "--knn-k", "50"],
        "--knn-k",
    ),
    case("probe", "nonexistent test", ["probe", "--train", "{train}", "--test", "{m}/nowhere.safetensors"], "nowhere"),
    case("probe", "train is a folder", ["probe", "--train", "{empty_dir}", "--test", "{test}"], "empty_dir"),
    case(
        "probe", "fifo as features", ["probe", "--train", "{fifo.safetensors}", "--test", "{test}"], "fifo.safetensors"
    ),
    # ---- cluster-accuracy ----
    case("cluster-accuracy", "truncated features", ["cluster-accuracy", "--features", "{f_trunc}"], "f_trunc"),
    case("cluster-accuracy", "nan code posterior", ["cluster-accuracy", "--features", "{f_d_nan}"], "f_d_nan"),
    case(
        "cluster-accuracy",
        "label count differs",
        ["cluster-accuracy", "--features", "{f_d_labels_short}"],
        "f_d_labels_short",
    ),
    case("cluster-accuracy", "no rows", ["cluster-accuracy", "--features", "{f_d_empty}"], "f_d_empty"),
    case(
        "cluster-accuracy",
        "layout wider than the features",
        ["cluster-accuracy", "--features", "{f_layout_lies}"],
        "f_layout_lies",
    ),
    case(
        "cluster-accuracy",
        "inverter weights truncated",
        ["cluster-accuracy", "--inverter", "{inv_trunc}", "{images}"],
        "inv_trunc",
    ),
    case("cluster-accuracy", "zero-length images", ["cluster-accuracy", *INV, "{img_empty}"], "img_empty"),
    case("cluster-accuracy", "device cpu:99", ["cluster-accuracy", *INV, "{images}", "--device", "cpu:99"], "cpu:99"),
    # ---- bench ----
    case("bench", "recipe not toml", ["bench", "{bad.toml}", "--out", "{out}"], "bad.toml"),
    case("bench", "nonexistent recipe", ["bench", "{m}/nowhere.toml", "--out", "{out}"], "nowhere.toml", usage=True),
    case("bench", "no stages", ["bench", "{bench_no_stages}", "--out", "{out}"], "bench_no_stages"),
    case("bench", "run is a string", ["bench", "{bench_run_string}", "--out", "{out}"], "run"),
    case("bench", "run holds a number", ["bench", "{bench_run_items}", "--out", "{out}"], "run"),
    case("bench", "unknown stage key", ["bench", "{bench_stage_key}", "--out", "{out}"], "retries"),
    case("bench", "report rows not a list", ["bench", "{bench_rows_type}", "--out", "{out}"], "rows"),
    case("bench", "json flag not a boolean", ["bench", "{bench_json_type}", "--out", "{out}"], "json"),
    case("bench", "stage name not a string", ["bench", "{bench_name_type}", "--out", "{out}"], "name"),
    case("bench", "vars not a table", ["bench", "{bench_vars_type}", "--out", "{out}"], "vars"),
    case("bench", "unknown variable", ["bench", "{bench_unknown_var}", "--out", "{out}"], "nowhere"),
    case("bench", "two stages with one name", ["bench", "{bench_same_names}", "--out", "{out}"], "twice: p"),
    case("bench", "unknown variable in the report", ["bench", "{bench_report_var}", "--out", "{out}"], "nowhere_else"),
    case("bench", "report names no stage", ["bench", "{bench_report_stage}", "--out", "{out}"], "$q.x"),
    case(
        "bench", "unknown command in a stage", ["bench", "{bench_bad_stage_cmd}", "--out", "{out}"], "no-such-command"
    ),
    case("bench", "out under a regular file", ["bench", "{bench_ok}", "--out", "{file}/bench"], "{file}"),
    case("bench", "set without =", ["bench", "{bench_ok}", "--set", "x", "--out", "{out}"], "--set", usage=True),
    case(
        "bench",
        "a stage fails",
        ["bench", "{bench_stage_fails}", "--out", "{out}"],
        "nowhere.safetensors",
        leaves=("{out}",),
        retry=["bench", "{bench_ok}", "--out", "{out}"],
    ),
    # ---- fit ----
    case("fit", "device tpu", ["fit", *GEN, "--steps", "1", "--device", "tpu", "--out", "{out}"], "tpu"),
    case(
        "fit",
        "push target not a repo id",
        ["fit", *GEN, "--steps", "1", "--out", "{out}", "--push-to-hub", "a/b/c"],
        ("a/b/c", "owner/name"),
        early=True,
    ),
    case("fit", "truncated weights", ["fit", "-g", "{gen_trunc}", "--steps", "1", "--out", "{out}"], "gen_trunc"),
    case(
        "fit",
        "hub path traversal",
        ["fit", "-g", "hub:../../etc", "--steps", "1", "--out", "{out}"],
        ("etc", "repo id"),
    ),
    case("fit", "out under a regular file", ["fit", *GEN, "--steps", "1", "--out", "{file}/run"], "{file}"),
    case(
        "fit", "recipe not toml", ["fit", *GEN, "--recipe", "{bad.toml}", "--steps", "1", "--out", "{out}"], "bad.toml"
    ),
    case(
        "fit",
        "recipe value of the wrong type",
        ["fit", *GEN, "--recipe", "{fit_wrong_type}", "--out", "{out}"],
        "steps",
    ),
    case(
        "fit",
        "recipe table of the wrong type",
        ["fit", *GEN, "--recipe", "{fit_wrong_table}", "--steps", "1", "--out", "{out}"],
        "dreaming",
    ),
    case("fit", "recipe lr nan", ["fit", *GEN, "--recipe", "{fit_nan_lr}", "--steps", "1", "--out", "{out}"], "lr"),
    case(
        "fit", "recipe device tpu", ["fit", *GEN, "--recipe", "{fit_device}", "--steps", "1", "--out", "{out}"], "tpu"
    ),
    case("fit", "steps zero", ["fit", *GEN, "--steps", "0", "--out", "{out}"], "steps", usage=True),
    case("fit", "resume without a run", ["fit", "--resume", "--out", "{out}"], "{out}"),
    case(
        "fit",
        "torchscript ignores the batch size",
        ["fit", "-g", "{fixed_batch}", "--nz", "4", "--steps", "1", "--out", "{out}"],
        "batch",
    ),
    # ---- train ----
    case("train", "a fit run passed to --resume", ["train", "--resume", "--out", "{fit_run}"], "fit_run"),
    case(
        "train",
        "batch size zero",
        ["train", "--data", "{images}", "--batch-size", "0", "--steps", "1", "--out", "{out}"],
        "batch",
        usage=True,
    ),
    case("train", "nan images", ["train", "--data", "{img_nan}", "--steps", "1", "--out", "{out}"], "img_nan"),
    case(
        "train", "zero-length images", ["train", "--data", "{img_empty}", "--steps", "1", "--out", "{out}"], "img_empty"
    ),
    case(
        "train",
        "recipe value of the wrong type",
        ["train", "--data", "{images}", "--recipe", "{train_wrong_type}", "--steps", "1", "--out", "{out}"],
        "batch_size",
    ),
    case(
        "train",
        "recipe unknown key",
        ["train", "--data", "{images}", "--recipe", "{train_unknown_key}", "--steps", "1", "--out", "{out}"],
        "batchsize",
    ),
    case(
        "train",
        "recipe device cuda:7",
        ["train", "--data", "{images}", "--recipe", "{train_device}", "--steps", "1", "--out", "{out}"],
        "cuda:7",
    ),
    case(
        "train",
        "out under a regular file",
        ["train", "--data", "{images}", "--steps", "1", "--out", "{file}/run"],
        "{file}",
    ),
    case(
        "train",
        "device cpu:99",
        ["train", "--data", "{images}", "--steps", "1", "--device", "cpu:99", "--out", "{out}"],
        "cpu:99",
    ),
    # ---- mvae fit ----
    case("mvae fit", "2-D array", ["mvae", "fit", "--data", "{img_2d}", "--steps", "1", "--out", "{out}"], "img_2d"),
    case(
        "mvae fit",
        "object array",
        ["mvae", "fit", "--data", "{img_object}", "--steps", "1", "--out", "{out}"],
        "img_object",
    ),
    case(
        "mvae fit",
        "zero-length images",
        ["mvae", "fit", "--data", "{img_empty}", "--steps", "1", "--out", "{out}"],
        "img_empty",
    ),
    case(
        "mvae fit",
        "device tpu",
        ["mvae", "fit", "--data", "{images}", "--steps", "1", "--device", "tpu", "--out", "{out}"],
        "tpu",
    ),
    case(
        "mvae fit",
        "out under a regular file",
        ["mvae", "fit", "--data", "{images}", "--steps", "1", "--out", "{file}/run"],
        "{file}",
    ),
    case(
        "mvae fit",
        "truncated generator",
        ["mvae", "fit", "-g", "{gen_trunc}", "--steps", "1", "--out", "{out}"],
        "gen_trunc",
    ),
    case(
        "mvae fit",
        "batch size one",
        ["mvae", "fit", "--data", "{images}", "--batch-size", "1", "--out", "{out}"],
        "--batch-size",
        usage=True,
    ),
    case(
        "mvae fit",
        "retry after nan images",
        ["mvae", "fit", "--data", "{img_nan}", "--steps", "1", "--out", "{out}"],
        "img_nan",
        retry=[
            "mvae",
            "fit",
            "--data",
            "{images}",
            "--components",
            "2",
            "--latent-dim",
            "2",
            "--s-dim",
            "4",
            "--width",
            "4",
            "--hidden",
            "8",
            "--steps",
            "1",
            "--batch-size",
            "4",
            "--quiet",
            "--out",
            "{out}",
        ],
    ),
    # ---- mvae features ----
    case(
        "mvae features",
        "nonexistent run",
        ["mvae", "features", "--mvae", "{m}/nowhere", "{images}", "--out", "{out}.safetensors"],
        "nowhere",
    ),
    case(
        "mvae features",
        "truncated weights",
        ["mvae", "features", "--mvae", "{mvae_trunc}", "{images}", "--out", "{out}.safetensors"],
        "mvae_trunc",
    ),
    case(
        "mvae features",
        "an inverter instead",
        ["mvae", "features", "--mvae", "{inv}", "{images}", "--out", "{out}.safetensors"],
        "inv",
    ),
    case(
        "mvae features",
        "hub path traversal",
        ["mvae", "features", "--mvae", "hub:../../etc", "{images}", "--out", "{out}.safetensors"],
        ("etc", "repo id"),
    ),
    case(
        "mvae features",
        "zero-length images",
        ["mvae", "features", "--mvae", "{mvae}", "{img_empty}", "--out", "{out}.safetensors"],
        "img_empty",
    ),
    case(
        "mvae features",
        "out under a regular file",
        ["mvae", "features", "--mvae", "{mvae}", "{images}", "--out", "{file}/f.safetensors"],
        "{file}",
    ),
    case(
        "mvae features",
        "device tpu",
        ["mvae", "features", "--mvae", "{mvae}", "{images}", "--out", "{out}.safetensors", "--device", "tpu"],
        "tpu",
    ),
]


# ---- the check -----------------------------------------------------------------------------------------
def tree(*folders: Path) -> set[str]:
    """Every path under the folders (hidden files too), FIFOs and all."""
    return {str(p) for folder in folders for p in folder.rglob("*")}


class FifoWatchdog:
    """Unblocks a reader stuck on a FIFO after FIFO_WAIT_S (by opening and closing its write end), and says so."""

    def __init__(self, fifos: list[str]):
        self.fifos, self.unblocked = fifos, []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.watch, daemon=True)

    def watch(self) -> None:
        if self.done.wait(FIFO_WAIT_S):
            return
        while not self.done.is_set():
            for fifo in self.fifos:
                try:
                    fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)  # succeeds only while someone reads it
                except OSError:
                    continue
                self.unblocked.append(fifo)
                os.close(fd)
            time.sleep(0.1)

    def __enter__(self):
        if self.fifos:
            self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done.set()


def fill(text: str, values: dict[str, str]) -> str:
    """`{name}` -> values[name] (names may hold dots: `{empty.pth}`); other braces stay."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def invoke(args: list[str], hub_cache: str):
    env = {"HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": hub_cache, "GANINV_DEBUG": None, "OMP_NUM_THREADS": "1"}
    fifos = [a for a in args if os.path.exists(a) and Path(a).is_fifo()]
    with FifoWatchdog(fifos) as watchdog:
        result = CliRunner().invoke(cli, args, env=env)
    assert not watchdog.unblocked, f"read the FIFO {watchdog.unblocked}: it would have waited forever"
    return result


@pytest.mark.parametrize("command,bad", CASES)
def test_bad_input_gives_one_clear_line(command, bad: Case, inputs, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a default output folder (runs/...) would land here, and be seen
    values = {**inputs, "out": str(tmp_path / "out"), "file": str(tmp_path / "afile")}
    (tmp_path / "afile").write_text("a regular file\n")
    args = [fill(a, values) for a in bad.args]
    before = tree(tmp_path, Path(inputs["m"]))

    result = invoke(args, inputs["hub_cache"])

    output = result.output + (result.stderr or "")
    assert "Traceback" not in output, output
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{type(result.exception).__name__}: {result.exception}\n{output}"
    )
    assert result.exit_code == bad.code, output
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    assert "internal error" not in errors[0] and "bug in ganinv" not in errors[0], "not recognised as bad input"
    for text in bad.mention:
        assert fill(text, values) in errors[0], errors[0]
    if bad.early and not bad.usage:
        assert result.stderr.strip() == errors[0], f"work done before the refusal:\n{result.stderr}"
    if not bad.usage:
        assert ADVICE.search(errors[0].split(":", 1)[1]), f"the message does not say what to do: {errors[0]}"
    allowed = {fill(path, values) for path in bad.leaves}
    left = sorted(
        path
        for path in tree(tmp_path, Path(inputs["m"])) - before
        if not any(path == a or path.startswith(a + os.sep) for a in allowed)
    )
    assert not left, f"left behind: {left}"

    if bad.retry is not None:
        again = invoke([fill(a, values) for a in bad.retry], inputs["hub_cache"])
        assert again.exit_code == 0, again.output


def test_the_corpus_covers_every_command():
    commands = {param.values[0] for param in CASES}
    assert commands == {
        "sample",
        "inspect",
        "fit",
        "invert",
        "train",
        "loglik",
        "features",
        "probe",
        "cluster-accuracy",
        "bench",
        "mvae fit",
        "mvae features",
        "perf",
    }
    assert len(CASES) >= 80


# ---- the helpers behind the errors ---------------------------------------------------------------------
def test_resolve_device_lists_the_devices_available():
    from ganinv.devices import available_devices, resolve_device
    from ganinv.errors import GaninvError

    assert resolve_device("cpu") == torch.device("cpu") and "cpu" in available_devices()
    for name in ("tpu", "cpu:1", "meta", "cuda:x"):
        with pytest.raises(GaninvError, match="choose one of cpu"):
            resolve_device(name)
    if not torch.cuda.is_available():
        with pytest.raises(GaninvError, match="needs CUDA"):
            resolve_device("cuda")


def test_check_writable_creates_nothing(tmp_path):
    from ganinv.outputs import OutputError, check_writable

    assert check_writable(tmp_path / "a" / "b" / "run", folder=True) == tmp_path / "a" / "b" / "run"
    assert check_writable(tmp_path / "new.png", folder=False) == tmp_path / "new.png"
    assert list(tmp_path.iterdir()) == []  # no folder made, no probe file left
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="is a file, not a folder"):
        check_writable(tmp_path / "file" / "deeper" / "run", folder=True)
    with pytest.raises(OutputError, match="is not a folder"):
        check_writable(tmp_path / "file", folder=True)
    with pytest.raises(OutputError, match="is a folder"):
        check_writable(tmp_path, folder=False)


def test_an_output_file_replaces_only_an_earlier_result(tmp_path):
    """An outside audit: `sample --out s.png` replaced a text file of the user's named s.png in silence; a review then
    found any PNG, npz, safetensors or JSON-lines file of the user's replaced, and upper-case suffixes unchecked. An
    earlier result of ganinv's (or an empty file) is replaced; any other file is refused, untouched."""
    import numpy as np
    from PIL import Image
    from safetensors.torch import save_file

    from ganinv.cli.main import cli
    from ganinv.outputs import OutputError, check_writable

    np.savez(tmp_path / "mine.npz", x=np.zeros(2))
    save_file({"w": torch.zeros(2)}, str(tmp_path / "mine.safetensors"))
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "mine.png")
    (tmp_path / "mine.jsonl").write_text('{"id": 1}\n')
    (tmp_path / "MINE.PNG").write_text("my notes\n")
    for name in ("mine.npz", "mine.safetensors", "mine.png", "mine.jsonl", "MINE.PNG"):
        before = (tmp_path / name).read_bytes()
        with pytest.raises(OutputError, match=r"exists and is not a file ganinv wrote .* delete it first"):
            check_writable(tmp_path / name, folder=False)
        assert (tmp_path / name).read_bytes() == before
    (tmp_path / "empty.png").write_bytes(b"")
    assert check_writable(tmp_path / "empty.png", folder=False) == tmp_path / "empty.png"

    def twice(*args: str) -> None:  # an earlier result of the same command is replaced
        for _ in range(2):
            result = CliRunner().invoke(cli, list(args))
            assert result.exit_code == 0, result.output

    sample = ["sample", "-g", "builtin:mnist", "-n", "2"]
    twice(*sample, "--out", str(tmp_path / "s.png"), "--latents-out", str(tmp_path / "s.safetensors"))
    np.savez(tmp_path / "images.npz", images=np.arange(5 * 28 * 28).reshape(5, 28, 28).astype(np.uint8))
    for out in ("f.npz", "f.safetensors"):
        twice("features", "--raw-pixels", str(tmp_path / "images.npz"), "--out", str(tmp_path / out))
    twice("loglik", "--inverter", "builtin:mnist", "--generated", "2", "--k", "1", "--out", str(tmp_path / "l.jsonl"))
    refused = CliRunner().invoke(cli, [*sample, "--out", str(tmp_path / "MINE.PNG")])
    assert refused.exit_code == 2 and (tmp_path / "MINE.PNG").read_text() == "my notes\n", refused.output


def test_loglik_shrinks_the_batch_for_a_large_k_and_refuses_one_that_cannot_fit(inputs):
    from ganinv.errors import DataError
    from ganinv.loglik import plan_batch, sample_bytes

    inverter = Inverter.load(inputs["inv"])
    per_sample = sample_bytes(inverter)
    budget = 1000 * per_sample
    assert plan_batch(inverter, [1, 10], 64, memory_budget=budget) == 64
    with pytest.warns(UserWarning, match="encoding 4 images at a time instead of 64"):
        assert plan_batch(inverter, [250], 64, memory_budget=budget) == 4
    with pytest.raises(DataError, match="use k up to 1000"):
        plan_batch(inverter, [1001], 64, memory_budget=budget)


def test_values_an_outside_audit_turned_into_internal_errors(tmp_path):
    """Each was `internal error ... This is a bug in ganinv`: now one line that says what to do."""
    from click.testing import CliRunner

    from ganinv.cli.main import cli

    def one_error(args, text):
        result = CliRunner().invoke(cli, [str(a) for a in args])
        errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
        assert result.exit_code == 2 and len(errors) == 1 and "internal error" not in result.output, result.output
        assert text in errors[0], errors[0]

    one_error(["fit", "--sigma-x", "1e-200", "--steps", "2", "--out", tmp_path / "a"], "--sigma-x")
    one_error(
        ["loglik", "--inverter", "builtin:mnist", "--generated", "4", "--sigma-x", "1e300"],
        "is not in the range 0.0001<=x<=1000.0",  # fit's range, said at parse time as fit says it (an outside audit)
    )
    one_error(
        ["sample", "-g", "builtin:mnist", "--option", "nz=abc", "-n", "2", "--out", tmp_path / "s.png"],
        "option nz='abc' is not a number",
    )
    one_error(
        ["sample", "-g", "builtin:mnist", "--option", "nz=1000000000000", "-n", "2", "--out", tmp_path / "s.png"],
        "is out of range",
    )


def test_commands_that_read_images_take_input_range(tmp_path, monkeypatch):
    """`train --data`, `mvae fit --data` and `fit --eval-real` took no --input-range and refused what the other
    commands read with it (an outside audit had seen them advise the flag they lacked). One flag now declares the
    range everywhere and reaches the reader; a resumed run keeps its own. (train and fit only read their images
    here, as the first thing they do with them: their runs take seconds.)"""
    from types import SimpleNamespace

    import ganinv.cli.fit
    import ganinv.train
    from ganinv.errors import ConfigError
    from ganinv.fit import real_eval_images

    mask = np.random.default_rng(0).integers(0, 2, (8, 28, 28), dtype=np.uint8)  # 0/1 in uint8: black, or [0, 1]?
    np.save(tmp_path / "mask.npy", mask)
    expected = torch.from_numpy(mask.astype(np.float32) * 2 - 1)[:, None]  # (N, 1, 28, 28) in [-1, 1]
    read = {}
    monkeypatch.setattr(
        ganinv.train,
        "train",
        lambda config, *a, **k: read.update(train=ganinv.train.load_training_data(config)[0].images),
    )
    shape = SimpleNamespace(spec=SimpleNamespace(image_shape=(1, 28, 28)))
    monkeypatch.setattr(
        ganinv.cli.fit, "run_fit", lambda config, *a, **k: read.update(fit=real_eval_images(config, shape))
    )
    for args in (
        ["train", "--data", tmp_path / "mask.npy", "--steps", "1"],
        ["fit", "--steps", "1", "--eval-real", tmp_path / "mask.npy"],
        ["mvae", "fit", "--data", tmp_path / "mask.npy", "--steps", "1", "--batch-size", "4", "--eval-limit", "4"],
    ):
        out = tmp_path / f"{args[0]}-{args[1]}"
        args = [str(a) for a in args] + ["--out", str(out)]
        refused = CliRunner().invoke(cli, args)
        errors = [line for line in refused.stderr.splitlines() if line.startswith("Error:")]
        assert refused.exit_code == 2 and len(errors) == 1, refused.output
        assert "declare the range with --input-range 0,1" in errors[0], errors[0]
        result = CliRunner().invoke(cli, args + ["--input-range", "0,1"])
        if args[0] != "mvae":  # the stand-ins end in errors of their own
            assert torch.equal(read[args[0]], expected), args
            continue
        assert result.exit_code == 0, result.output
        assert json.loads((out / "config.json").read_text())["mvae"]["input_range"] == [0.0, 1.0]
        again = CliRunner().invoke(cli, args + ["--resume", "--input-range", "0,255"])
        assert again.exit_code != 0 and "--input-range (the run's: [0.0, 1.0])" in again.output, again.output
    ignored = CliRunner().invoke(cli, ["fit", "--steps", "1", "--input-range", "0,1", "--out", str(tmp_path / "n")])
    assert "--input-range is ignored: it says the range of --eval-real's pixels" in ignored.stderr, ignored.output
    with pytest.raises(ConfigError, match=r"--input-range \(recipe key input_range\): an input range needs LO < HI"):
        ganinv.train.TrainConfig(input_range=(1, 0))
