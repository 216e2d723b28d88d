"""Audit 22b: the life of a run and of every file ganinv writes (stops between files, resumes, damaged checkpoints)."""

import errno
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from interrupts import stop_after_checkpoint
from safetensors.torch import load_file

from ganinv import architectures
from ganinv.atomic import atomic_path
from ganinv.cli.main import cli
from ganinv.generator import Generator
from ganinv.inverter import Inverter
from ganinv.runs import Run
from ganinv.sources import save_generator

TINY = ["--width", "8", "--hidden", "16", "--batch-size", "8", "--eval-every", "100", "--device", "cpu", "--quiet"]


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def error_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("Error:")]


@pytest.fixture(scope="module")
def gen(tmp_path_factory) -> Path:
    """A seeded 16x16 generator in ganinv's own layout."""
    torch.manual_seed(0)
    built, options = architectures.build_generator_net("ssavl", {"nz": 4, "nc": 1, "n_classes": 3, "resolution": 16})
    folder = tmp_path_factory.mktemp("gen") / "tiny"
    meta = {"architecture": "ssavl", "options": architectures.options_to_dict(options)}
    save_generator(Generator(built.net, built.spec, source=str(folder), meta=meta), folder)
    return folder


# ---- F1, F2: invert's outputs are one set ------------------------------------------------------------------------
def invert_args(tmp_path: Path, out: Path, limit: int) -> list:
    return [
        "invert",
        "--inverter",
        tmp_path / "inverter",
        tmp_path / "images.npz",
        "--limit",
        limit,
        "--out",
        out,
        "--device",
        "cpu",
        "--generator",
        "zoo:linear_generator",
    ]


def test_a_stopped_invert_leaves_the_earlier_result_whole_and_its_retry_runs(tmp_path, monkeypatch):
    import zoo

    Inverter.for_generator(zoo.linear_generator(), width=8, hidden=16).save_pretrained(tmp_path / "inverter")
    images = np.random.default_rng(0).random((6, 16, 16)).astype(np.float32)
    np.savez(tmp_path / "images.npz", images=images)
    out = tmp_path / "inv"
    assert invoke(*invert_args(tmp_path, out, 5)).exit_code == 0
    real = __import__("ganinv.images", fromlist=["x"]).save_side_by_side

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt  # between the latents and the grid

    monkeypatch.setattr("ganinv.images.save_side_by_side", stopped)
    assert invoke(*invert_args(tmp_path, out, 3)).exit_code == 130
    assert load_file(str(out / "latents.safetensors"))["z"].shape[0] == 5  # the earlier result, not a mix
    names = ["grid.png", "latents.safetensors", "metrics.json", "reconstructions.safetensors"]
    assert sorted(p.name for p in out.iterdir()) == names
    fresh = tmp_path / "fresh"
    assert invoke(*invert_args(tmp_path, fresh, 3)).exit_code == 130  # stopped before anything was complete
    monkeypatch.setattr("ganinv.images.save_side_by_side", real)
    (tmp_path / "stale").mkdir()
    (tmp_path / "stale" / ".latents.safetensors.ganinv-999999-abcdefgh.tmp").write_bytes(b"half")  # a killed save's
    for folder in (out, fresh, tmp_path / "stale"):
        retried = invoke(*invert_args(tmp_path, folder, 3))
        assert retried.exit_code == 0, retried.output
        assert load_file(str(folder / "latents.safetensors"))["z"].shape[0] == 3
        assert json.loads((folder / "metrics.json").read_text())["n"] == 3
    assert not [p for p in tmp_path.iterdir() if "ganinv" in p.name]  # no temporary left beside the folders


def test_a_stopped_sample_never_leaves_a_new_grid_beside_the_old_latents(tmp_path, gen, monkeypatch):
    png, latents = tmp_path / "s.png", tmp_path / "s.safetensors"
    args = ["sample", "-g", gen, "-n", 4, "--out", png, "--latents-out", latents, "--device", "cpu"]
    assert invoke(*args, "--seed", 1).exit_code == 0
    old_png = png.read_bytes()

    def stopped(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr("ganinv.cli.sample.save_file", stopped)  # stopped before the latents are written
    assert invoke(*args, "--seed", 2).exit_code == 130
    assert png.read_bytes() == old_png and load_file(str(latents))["images"].shape[0] == 4  # the old pair, whole
    monkeypatch.undo()
    real_grid = __import__("ganinv.cli.sample", fromlist=["x"]).save_grid

    def grid_then_stop(*a, **k):
        real_grid(*a, **k)
        raise KeyboardInterrupt  # the new grid is in place, its latents not yet

    monkeypatch.setattr("ganinv.cli.sample.save_grid", grid_then_stop)
    assert invoke(*args, "--seed", 2).exit_code == 130
    assert png.read_bytes() != old_png and not latents.exists()  # a grid alone, never beside the old samples


# ---- F4: metrics after a resume ------------------------------------------------------------------------------------
def test_metrics_after_a_resume_divide_by_the_steps_summed(tmp_path, gen, monkeypatch):
    args = ["fit", "-g", gen, "--steps", 12, "--log-every", 4, "--checkpoint-every", 6, *TINY]
    assert invoke(*args, "--out", tmp_path / "straight").exit_code == 0
    stop_after_checkpoint(monkeypatch, 6)
    assert invoke(*args, "--out", tmp_path / "resumed").exit_code == 130
    monkeypatch.undo()
    assert invoke(*args, "--out", tmp_path / "resumed", "--resume").exit_code == 0

    def totals(run: Path) -> dict[int, float]:
        records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
        return {r["step"]: r["total"] for r in records if "total" in r}

    straight, resumed = totals(tmp_path / "straight"), totals(tmp_path / "resumed")
    assert resumed[12] == straight[12] and resumed[4] == straight[4]  # step 8 sums steps 7-8 only: not comparable


# ---- F5: --resume --steps N --------------------------------------------------------------------------------------
def test_resume_with_other_steps_says_the_schedules_change_and_records_them(tmp_path, gen):
    args = ["fit", "-g", gen, "--checkpoint-every", 3, "--log-every", 3, *TINY, "--out", tmp_path / "run"]
    assert invoke(*args, "--steps", 6).exit_code == 0
    same = invoke("fit", "--resume", "--out", tmp_path / "run", "--steps", 6, "--quiet")
    assert same.exit_code == 0 and "schedules" not in same.stderr  # unchanged steps: nothing said, nothing recorded
    extended = invoke("fit", "--resume", "--out", tmp_path / "run", "--steps", 9, "--quiet")
    assert extended.exit_code == 0, extended.output
    assert "learning-rate and temperature schedules now span 9 steps" in extended.stderr
    assert json.loads((tmp_path / "run" / "config.json").read_text())["fit"]["steps"] == 9
    again = invoke("fit", "--resume", "--out", tmp_path / "run", "--quiet")  # defaults to the recorded steps
    assert again.exit_code == 0, again.output


# ---- F7: a damaged checkpoint --------------------------------------------------------------------------------------
def test_a_checkpoint_with_flipped_bytes_is_refused_and_one_without_a_record_is_read(tmp_path, gen):
    out = tmp_path / "run"
    assert invoke("fit", "-g", gen, "--steps", 3, "--checkpoint-every", 3, *TINY, "--out", out).exit_code == 0
    path = Run(out).latest_checkpoint()
    state = torch.load(path, weights_only=True)
    largest = max(state["inverter"].values(), key=lambda t: t.numel())
    data = bytearray(path.read_bytes())
    at = data.find(largest.contiguous().numpy().tobytes()[:64])  # inside the weights, where torch checks nothing
    assert at > 0
    data[at : at + 64] = bytes(255 - b for b in data[at : at + 64])
    path.write_bytes(bytes(data))
    refused = invoke("fit", "--resume", "--out", out, "--quiet")
    assert refused.exit_code == 2 and len(error_lines(refused)) == 1, refused.output
    assert f"{path} is damaged" in refused.stderr and "delete it to resume from the one before" in refused.stderr
    del state["tensors_sha256"]  # as an older ganinv wrote it: read as before
    torch.save(state, path)
    assert invoke("fit", "--resume", "--out", out, "--quiet").exit_code == 0


# ---- F3: a bench stopped during a fit stage --------------------------------------------------------------------
def test_a_bench_rerun_resumes_its_stopped_fit_stage(tmp_path, gen, monkeypatch):
    run = ["fit", "-g", str(gen), "--steps", "6", "--checkpoint-every", "3", *TINY, "--out", "{out}/fit", "--json"]
    recipe = tmp_path / "bench.toml"
    recipe.write_text(
        f'title = "t"\n[[stages]]\nname = "fit"\nrun = {json.dumps(run)}\njson = true\n'
        'creates = "{out}/fit/inverter"\n'
        '[report]\ncolumns = ["SSE"]\nrows = [["$fit.generated.sse_per_image"]]\n'
    )
    stop_after_checkpoint(monkeypatch, 3)
    assert invoke("bench", recipe, "--out", tmp_path / "ben", "--quiet").exit_code != 0
    monkeypatch.undo()
    assert Run(tmp_path / "ben" / "fit").latest_checkpoint() is not None
    rerun = invoke("bench", recipe, "--out", tmp_path / "ben", "--quiet")
    assert rerun.exit_code == 0, rerun.output
    assert "holds an unfinished run" in rerun.stderr and "resuming it" in rerun.stderr
    assert (tmp_path / "ben" / "fit" / "inverter").is_dir()


# ---- F8: a full disk names the file ----------------------------------------------------------------------------
def test_a_full_disk_names_the_file_whatever_the_writer(tmp_path, monkeypatch):
    with pytest.raises(OSError) as caught, atomic_path(tmp_path / "f.npz"):
        raise OSError(errno.ENOSPC, "No space left on device")  # as numpy's savez and PIL raise it: no file
    assert caught.value.filename == str(tmp_path / "f.npz") and caught.value.errno == errno.ENOSPC
    run = Run(tmp_path / "run")
    run.folder.mkdir()

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("ganinv.runs.open", full, raising=False)
    with pytest.raises(OSError) as caught:
        run.log_metrics({"step": 1})
    assert caught.value.filename == str(run.metrics_path)


# ---- F9: Ctrl-C with the default --out ------------------------------------------------------------------------
def test_ctrl_c_of_a_fit_in_its_default_folder_names_it(tmp_path, gen, monkeypatch):
    monkeypatch.chdir(tmp_path)
    stop_after_checkpoint(monkeypatch, 3)
    result = invoke("fit", "-g", gen, "--steps", 6, "--checkpoint-every", 3, *TINY)
    assert result.exit_code == 130
    (folder,) = Path("runs").iterdir()
    assert f"continue with `ganinv fit --out {folder} --resume`" in result.stderr, result.stderr
    monkeypatch.undo()
    monkeypatch.chdir(tmp_path)
    assert invoke("fit", "--out", folder, "--resume", "--quiet").exit_code == 0


def test_ctrl_c_before_the_first_checkpoint_says_run_it_again(tmp_path, gen, monkeypatch):
    """It had said "a run resumes from its last checkpoint with --resume", and --resume then had nothing to continue
    (an outside audit)."""
    save = Run.save_checkpoint

    def stopped(self, step, state):  # Ctrl-C as the first checkpoint is about to be written
        raise KeyboardInterrupt

    monkeypatch.setattr(Run, "save_checkpoint", stopped)
    args = ("fit", "-g", gen, "--steps", 4, "--checkpoint-every", 2, "--out", tmp_path / "run", *TINY)
    result = invoke(*args)
    assert result.exit_code == 130
    assert "Interrupted before the run's first checkpoint; run the same command again" in result.stderr, result.stderr
    monkeypatch.setattr(Run, "save_checkpoint", save)
    assert invoke(*args).exit_code == 0


def test_ctrl_c_of_an_mvae_fit_names_the_command_that_continues_it(tmp_path, gen, monkeypatch):
    save = stop_after_checkpoint(monkeypatch, 2)
    out = tmp_path / "mvae"
    args = ["mvae", "fit", "-g", gen, "--components", 2, "--latent-dim", 2, "--width", 4, "--hidden", 8]
    args += ["--steps", 4, "--batch-size", 4, "--checkpoint-every", 2, "--out", out, "--quiet"]
    result = invoke(*args)
    assert result.exit_code == 130
    assert f"continue with `ganinv mvae fit --out {out} --resume`" in result.stderr, result.stderr
    monkeypatch.setattr(Run, "save_checkpoint", save)
    assert invoke("mvae", "fit", "--out", out, "--resume", "--quiet").exit_code == 0


# ---- F10: a relative -g resumed from another folder -------------------------------------------------------------
def test_a_relative_generator_resumed_elsewhere_says_where_its_name_comes_from(tmp_path, gen, monkeypatch):
    import shutil

    monkeypatch.chdir(tmp_path)
    shutil.copytree(gen, "g")
    assert invoke("fit", "-g", "g", "--steps", 3, "--checkpoint-every", 3, *TINY, "--out", "run").exit_code == 0
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    refused = invoke("fit", "--resume", "--out", "../run", "--steps", 4, "--quiet")
    assert refused.exit_code != 0 and len(error_lines(refused)) == 1, refused.output
    assert "config.json names its generator 'g', a path relative to the folder the run was started from" in (
        refused.stderr
    )
    assert "or give --generator with the path of that file from here" in refused.stderr


def reweighted_copy(gen: Path, to: Path) -> Path:
    """`gen` with one weight changed: the same architecture and spec, another generator."""
    import shutil

    from safetensors.torch import save_file

    shutil.copytree(gen, to)
    weights = next(to.glob("*.safetensors"))
    state = load_file(weights)
    name = next(k for k, v in state.items() if v.is_floating_point() and v.numel() > 1)
    state[name] = state[name] * 1.01
    save_file(state, weights)
    return to


@pytest.mark.parametrize("command", [["fit", *TINY], ["mvae", "fit", "--batch-size", "8", "--quiet"]])
def test_a_relative_generator_resumed_elsewhere_with_its_path_from_there(tmp_path, gen, monkeypatch, command):
    """`-g PATH` on --resume says where the run's relative generator is from another folder; the run's sha256 of the
    weights still refuses another generator given so."""
    import shutil

    monkeypatch.chdir(tmp_path)
    shutil.copytree(gen, "g")
    reweighted_copy(gen, tmp_path / "other")
    started = invoke(*command, "-g", "g", "--steps", 3, "--checkpoint-every", 3, "--out", "run")
    assert started.exit_code == 0, started.output
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    resume = [*command[: command.index("fit") + 1], "--resume", "--out", "../run", "--quiet"]
    other = invoke(*resume, "-g", "../other", "--steps", 4)
    assert other.exit_code != 0 and len(error_lines(other)) == 1, other.output
    assert "the generator of ../run differs from what the run started with" in other.stderr
    respecified = tmp_path / "respecified"  # the run's weights, with another spec beside them
    shutil.copytree(gen, respecified)
    config = json.loads((respecified / "config.json").read_text())
    config["spec"]["native_prior"] = "uniform"
    (respecified / "config.json").write_text(json.dumps(config))
    other_reading = invoke(*resume, "-g", "../respecified", "--steps", 4)
    assert other_reading.exit_code != 0 and len(error_lines(other_reading)) == 1, other_reading.output
    assert "holds the run's weights but loads as another generator: native_prior" in other_reading.stderr
    resumed = invoke(*resume, "-g", "../g", "--steps", 4)
    assert resumed.exit_code == 0, resumed.output
    assert "000004" in Run(tmp_path / "run").latest_checkpoint().name  # the final step's
    assert (
        json.loads((tmp_path / "run" / "config.json").read_text())["fit" if command[0] == "fit" else "mvae"][
            "generator"
        ]
        == "g"
    )  # the run's record stays as it started


# ---- F6: the interrupted command with --recipe, plus --resume -------------------------------------------------
def stopped_recipe_fit(tmp_path: Path, monkeypatch, recipe: Path, fields: str) -> list:
    """`fit --recipe RECIPE --batch-size 8 ...` (the recipe: `fields` and a tiny model), stopped after step 3 of 6;
    returns its arguments, to be given again with --resume."""
    recipe.write_text("steps = 6\nwidth = 8\nhidden = 16\n" + fields)  # before any [table] of `fields`
    args = ["fit", "--recipe", recipe, "--checkpoint-every", 3, "--batch-size", 8, "--device", "cpu", "--quiet"]
    args += ["--eval-every", 100, "--out", tmp_path / "run"]
    stop_after_checkpoint(monkeypatch, 3)
    assert invoke(*args).exit_code == 130
    monkeypatch.undo()
    return args


def test_resume_accepts_the_same_recipe_and_names_a_field_that_differs(tmp_path, gen, monkeypatch):
    recipe = tmp_path / "r.toml"
    args = stopped_recipe_fit(
        tmp_path, monkeypatch, recipe, f'generator = "{gen}"\nlr = 0.001\n[dreaming]\nbeta = 1.0\n'
    )
    other = tmp_path / "other.toml"
    other.write_text(recipe.read_text().replace("lr = 0.001", "lr = 0.01"))
    refused = invoke(*[other if a == recipe else a for a in args], "--resume")
    assert refused.exit_code != 0 and "lr (the run's 0.001, the recipe's 0.01)" in refused.stderr, refused.output
    resumed = invoke(*args, "--resume")
    assert resumed.exit_code == 0, resumed.output


def test_invert_into_a_dotted_path_or_a_mount_point(tmp_path, monkeypatch):
    """`--out inv/../inv` failed once the old folder was moved aside (the path then no longer resolved), leaving it
    hidden; a mount point cannot be moved aside at all (EBUSY): refused up front, naming a folder inside it (audit
    23a)."""
    import zoo

    Inverter.for_generator(zoo.linear_generator(), width=8, hidden=16).save_pretrained(tmp_path / "inverter")
    np.savez(tmp_path / "images.npz", images=np.random.default_rng(0).random((6, 16, 16)).astype(np.float32))
    out = tmp_path / "inv"
    assert invoke(*invert_args(tmp_path, out, 4)).exit_code == 0
    again = invoke(*invert_args(tmp_path, out / ".." / "inv", 2))
    assert again.exit_code == 0, again.output
    assert json.loads((out / "metrics.json").read_text())["n"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["images.npz", "inv", "inverter"]
    monkeypatch.setattr("os.path.ismount", lambda path: str(path) == str(out.resolve()))
    refused = invoke(*invert_args(tmp_path, out, 2))
    assert refused.exit_code != 0 and "is a mount point" in refused.stderr and "inverted" in refused.stderr


def test_resume_with_the_recipe_and_the_flags_that_overrode_it(tmp_path, gen, monkeypatch):
    """The interrupted command run again with --resume: a flag that overrode a recipe field when the run started
    (--batch-size 8 over the recipe's 16) made the recipe "differ" from the run (audit 23a)."""
    args = stopped_recipe_fit(tmp_path, monkeypatch, tmp_path / "r.toml", f'generator = "{gen}"\nbatch_size = 16\n')
    resumed = invoke(*args, "--resume")
    assert resumed.exit_code == 0, resumed.output


def test_a_resume_reads_the_metrics_record_by_record_and_bounded(tmp_path, monkeypatch):
    """Audit 34a F11: a sparse metrics.jsonl of 2 GB (944 KB on disk) took 4.7 GB on --resume, read whole."""
    from ganinv import runs

    monkeypatch.setattr(runs, "MAX_RECORD_CHARS", 64)
    run = runs.Run(tmp_path)
    records = ['{"step": 1, "loss": 2.0}', "x" * 1000, '{"step": 2}', "not json", '{"step": 3}', '{"step": 1}']
    run.metrics_path.write_text("\n".join(records) + "\n" + "\0" * 500)  # a line cut by a kill, and zeros
    run.truncate_metrics(2)
    assert run.metrics_path.read_text().splitlines() == ['{"step": 1, "loss": 2.0}', '{"step": 2}', '{"step": 1}']


def test_a_run_whose_record_names_a_spec_file_is_not_resumed(tmp_path, gen):
    """A run folder's config.json whose options name a spec file made `fit --resume` read it, and its errors named a
    file and flags the user never typed (an outside audit); a record holds a spec's fields, never a file to read."""
    run = tmp_path / "run"
    assert invoke("fit", "-g", gen, "--steps", 2, "--checkpoint-every", 2, "--out", run, *TINY).exit_code == 0
    (tmp_path / "spec.json").write_text('{"nz": 8}')
    config = json.loads((run / "config.json").read_text())
    config["fit"]["options"] = {"spec": str(tmp_path / "spec.json")}
    (run / "config.json").write_text(json.dumps(config))
    result = invoke("fit", "--resume", "--out", run, "--steps", 4, "--quiet")
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert result.exit_code == 2 and len(errors) == 1, result.output
    assert f"{run}/config.json records options['spec']" in errors[0] and "a file to read" in errors[0], errors[0]


def test_an_out_whose_name_the_file_system_takes_is_written(tmp_path):
    """A 250-character --out was refused as "File name too long", naming the temporary ganinv writes first, whose
    marks and pid made it longer than the file system takes (an outside audit, 49a)."""
    from click.testing import CliRunner

    from ganinv.cli.main import cli

    out = tmp_path / ("y" * 246 + ".png")
    result = CliRunner().invoke(cli, ["sample", "-n", "2", "--out", str(out)])
    assert result.exit_code == 0 and out.is_file(), result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]  # no temporary left
