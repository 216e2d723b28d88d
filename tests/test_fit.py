"""`ganinv fit`: the run folder, exact resume, atomic saves, DDP with two gloo processes, CLI errors."""

import dataclasses
import hashlib
import json
import os
import shutil
import socket
import warnings
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
from click.testing import CliRunner
from edited_runs import name_unrecorded_folder

from ganinv import architectures
from ganinv.cli.main import cli
from ganinv.errors import GaninvError
from ganinv.fit import FitConfig, fit
from ganinv.generator import Generator
from ganinv.inverter import Inverter
from ganinv.runs import Run
from ganinv.sources import save_generator

TINY_OPTIONS = {"nz": 4, "nc": 1, "n_classes": 3, "resolution": 16, "width": 8}  # the `ssavl` G(z, c, d)


def tiny_generator(folder: Path) -> Path:
    """A seeded 16x16 generator with z, c and d, saved in ganinv's own layout."""
    torch.manual_seed(0)
    built, options = architectures.build_generator_net("ssavl", TINY_OPTIONS)
    generator = Generator(
        built.net,
        built.spec,
        source=str(folder),
        meta={"architecture": "ssavl", "options": architectures.options_to_dict(options)},
    )
    save_generator(generator, folder)
    return folder


@pytest.fixture(scope="module")
def generator_dir(tmp_path_factory) -> Path:
    return tiny_generator(tmp_path_factory.mktemp("gen") / "tiny")


def tiny_config(generator_dir: Path, **changes) -> FitConfig:
    values = dict(
        generator=str(generator_dir),
        steps=12,
        batch_size=16,
        width=8,
        hidden=32,
        log_every=4,
        eval_every=6,
        checkpoint_every=4,
        keep_checkpoints=2,
        eval_samples=64,
        device="cpu",
    )
    return FitConfig(**{**values, **changes})


def weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return Run(run_dir).load_checkpoint()["inverter"]


def test_fit_writes_the_run_folder(tmp_path, generator_dir):
    result = fit(tiny_config(generator_dir), tmp_path / "run", quiet=True)
    run = tmp_path / "run"
    config = json.loads((run / "config.json").read_text())
    assert config["fit"]["steps"] == 12 and config["fit"]["dreaming"]["sigma_x"] == 0.1
    assert config["generator"]["source"] == str(generator_dir)
    assert len(config["generator"]["meta"]["weights_sha256"]) == 64 and config["generator"]["spec"]["n_classes"] == 3
    assert [p.name for p in Run(run).checkpoints()] == ["step-000008.pt", "step-000012.pt"]  # the last 2 kept
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "total" in r] == [4, 8, 12]
    assert {"rec_z", "kl_z", "rec_u", "kl_d", "kl_c", "mi", "train_mse", "samples_per_s"} <= set(records[0])
    assert (run / "samples" / "step-000006-generated.png").is_file()
    evaluation = json.loads((run / "eval.json").read_text())
    generated = evaluation["generated"]
    assert generated["n"] == 64 and len(generated["z_variance_recovered_per_dim"]) == 4
    assert len(generated["z_variance_recovered_by_direction"]) == 4 and "z_variance_recovered_weighted" in generated
    assert 0 <= generated["d_accuracy"] <= 1 and generated["mse_per_pixel"] > 0
    # the artifact is self-contained (generator/ inside) and reconstructs like the trained inverter
    assert (run / "inverter" / "generator" / "model.safetensors").is_file()
    loaded = Inverter.load(str(run))
    x = loaded.generator.sample(5, generator=torch.Generator().manual_seed(3))[1]
    with torch.no_grad():
        assert torch.allclose(loaded.reconstruct(x), result.inverter.eval().reconstruct(x), atol=1e-6)


def test_the_artifact_loads_from_a_hub_cache_offline(tmp_path, generator_dir, monkeypatch):
    result = fit(tiny_config(generator_dir, steps=2), tmp_path / "run", quiet=True)
    artifact = tmp_path / "run" / "inverter"
    # lay the artifact out as the real huggingface_hub client caches a repo, then read it back offline
    repo = tmp_path / "hf-cache" / "models--someone--tiny-inverter"
    sha = "0123456789abcdef0123456789abcdef01234567"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(sha)
    (repo / "blobs").mkdir()
    for file in sorted(p for p in artifact.rglob("*") if p.is_file()):  # snapshot files link to blobs/, as cached
        name = file.relative_to(artifact)
        blob = repo / "blobs" / hashlib.sha256(file.read_bytes()).hexdigest()
        shutil.copyfile(file, blob)
        (repo / "snapshots" / sha / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / "snapshots" / sha / name).symlink_to(os.path.relpath(blob, (repo / "snapshots" / sha / name).parent))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # by its Hub id, and by the snapshot folder's path, which `hf download` prints (it had been refused as a link out)
    for source in ("hub:someone/tiny-inverter", str(repo / "snapshots" / sha)):
        loaded = Inverter.load(source)
        assert loaded.generator.source.endswith("generator")  # the copy carried in the artifact, not the original
        x = loaded.generator.sample(4, generator=torch.Generator().manual_seed(0))[1]
        with torch.no_grad():
            assert torch.allclose(loaded.reconstruct(x), result.inverter.eval().reconstruct(x), atol=1e-6)
    with pytest.raises(GaninvError, match="not in the local Hugging Face cache"):
        Inverter.load("hub:someone/not-cached")


def test_a_hub_artifact_may_not_name_a_local_generator(tmp_path, generator_dir, monkeypatch):
    """Audit 14: a Hub artifact without a bundled generator named a path (relative to the user's working folder,
    or absolute) as its generator, and ganinv read that local file: a stranger chose which of the user's files."""
    fit(tiny_config(generator_dir, steps=2), tmp_path / "run", quiet=True)
    artifact = tmp_path / "run" / "inverter"
    shutil.rmtree(artifact / "generator")  # the reference alone, as a stranger's artifact may hold it: a local path
    config = json.loads((artifact / "config.json").read_text())
    config["generator_ref"]["source"] = str(generator_dir.resolve())
    (artifact / "config.json").write_text(json.dumps(config))
    sha = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hf-cache" / "models--someone--tiny-inverter"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(sha)
    shutil.copytree(artifact, repo / "snapshots" / sha)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert Inverter.load(str(artifact)).generator.spec.nz > 0  # a local artifact's own reference: the user's file
    with pytest.raises(GaninvError, match="names a local generator .*; give the generator with --generator"):
        Inverter.load("hub:someone/tiny-inverter").generator


def test_an_artifact_whose_bundled_generator_was_deleted_asks_for_it(tmp_path, generator_dir, monkeypatch):
    """The record of a bundled generator is its file name only; without the copy, the user is told what to give."""
    fit(tiny_config(generator_dir, steps=2), tmp_path / "run", quiet=True)
    artifact = tmp_path / "run" / "inverter"
    shutil.rmtree(artifact / "generator")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(
        GaninvError, match=r"fitted on the generator tiny \(weights sha256 \w{12}\), which is not bundled"
    ):
        Inverter.load(str(artifact)).generator
    assert Inverter.load(str(artifact), generator=str(generator_dir)).generator.spec.nz > 0


@pytest.mark.parametrize("where", ["local", "hub"])
def test_an_artifacts_bundled_generator_may_not_link_out_of_it(tmp_path, generator_dir, monkeypatch, where):
    """Audit 15: a bundled generator/model.safetensors linking to another file (the user's private weights) was read,
    and, re-saved and pushed, published."""
    fit(tiny_config(generator_dir, steps=2), tmp_path / "run", quiet=True)
    artifact = tmp_path / "run" / "inverter"
    secret = tmp_path / "secret.safetensors"
    shutil.move(artifact / "generator" / "model.safetensors", secret)
    if where == "hub":
        sha = "0123456789abcdef0123456789abcdef01234567"
        repo = tmp_path / "hf-cache" / "models--someone--tiny-inverter"
        (repo / "refs").mkdir(parents=True)
        (repo / "refs" / "main").write_text(sha)
        shutil.copytree(artifact, repo / "snapshots" / sha)
        artifact = repo / "snapshots" / sha
        monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    (artifact / "generator" / "model.safetensors").symlink_to(secret)
    source = "hub:someone/tiny-inverter" if where == "hub" else str(artifact)
    with pytest.raises(GaninvError, match="is a link out of the inverter artifact"):
        Inverter.load(source).generator
    with pytest.raises(GaninvError, match="is a link out of the inverter artifact"):
        Inverter.load(source).save_pretrained(tmp_path / "resaved")
    assert not (tmp_path / "resaved" / "generator" / "model.safetensors").exists()


def test_resume_after_a_kill_ends_with_identical_weights(tmp_path, generator_dir, monkeypatch):
    config = tiny_config(generator_dir)
    fit(config, tmp_path / "straight", quiet=True)

    save = Run.save_checkpoint

    def killed_after_step_8(self, step, state):
        path = save(self, step, state)
        if step == 8:
            raise KeyboardInterrupt  # as if Ctrl-C came right after the checkpoint
        return path

    monkeypatch.setattr(Run, "save_checkpoint", killed_after_step_8)
    with pytest.raises(KeyboardInterrupt):
        fit(config, tmp_path / "resumed", quiet=True)
    monkeypatch.setattr(Run, "save_checkpoint", save)
    assert Run(tmp_path / "resumed").latest_checkpoint().name == "step-000008.pt"
    fit(config, tmp_path / "resumed", resume=True, quiet=True)

    straight, resumed = weights(tmp_path / "straight"), weights(tmp_path / "resumed")
    assert all(torch.equal(straight[k], resumed[k]) for k in straight)
    steps = [json.loads(line)["step"] for line in (tmp_path / "resumed" / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(steps)  # records after the checkpoint were dropped, not repeated


def test_a_kill_during_a_checkpoint_save_leaves_the_previous_one(tmp_path, monkeypatch):
    run = Run(tmp_path / "run", keep_checkpoints=5)
    run.save_checkpoint(1, {"w": torch.ones(3)})
    real_save = torch.save

    def dies_half_way(obj, path, *args, **kwargs):
        Path(path).write_bytes(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", dies_half_way)
    with pytest.raises(KeyboardInterrupt):
        run.save_checkpoint(2, {"w": torch.zeros(3)})
    monkeypatch.setattr(torch, "save", real_save)
    assert [p.name for p in run.checkpoints()] == ["step-000001.pt"]
    assert torch.equal(run.load_checkpoint()["w"], torch.ones(3))
    assert not list(run.checkpoint_dir.glob(".*tmp"))  # no temporary file left behind


def test_a_kill_during_an_artifact_save_leaves_the_previous_one(tmp_path, generator_dir, monkeypatch):
    from ganinv.sources import load_generator

    inverter = Inverter.for_generator(load_generator(str(generator_dir)), width=8, hidden=32)
    inverter.save_pretrained(tmp_path / "artifact")
    before = (tmp_path / "artifact" / "model.safetensors").read_bytes()
    with torch.no_grad():
        for p in inverter.parameters():
            p.add_(1.0)

    def dies(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("ganinv.sources.save_generator", dies)
    with pytest.raises(KeyboardInterrupt):
        inverter.save_pretrained(tmp_path / "artifact", include_generator=True)
    assert (tmp_path / "artifact" / "model.safetensors").read_bytes() == before
    assert Inverter.load(str(tmp_path / "artifact")).spec == inverter.spec


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank: int, world_size: int, port: int, generator_dir: str, out: str) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world_size), LOCAL_RANK=str(rank)
    )
    torch.set_num_threads(1)
    result = fit(tiny_config(Path(generator_dir), steps=8), out, quiet=True)
    torch.save(result.inverter.state_dict(), Path(out).parent / f"rank{rank}.pt")


def test_ddp_with_two_gloo_processes_keeps_ranks_in_sync(tmp_path, generator_dir):
    out = tmp_path / "run"
    # fork: the workers inherit the imported modules instead of importing torch again (seconds, not a minute)
    mp.start_processes(_ddp_worker, args=(2, _free_port(), str(generator_dir), str(out)), nprocs=2, start_method="fork")
    rank0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    rank1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert all(torch.equal(rank0[k], rank1[k]) for k in rank0)
    checkpoint = Run(out).load_checkpoint()
    assert all(torch.equal(rank0[k], checkpoint["inverter"][k]) for k in rank0)
    samplers = [state["sampler"] for state in checkpoint["rng"]]
    assert len(samplers) == 2 and not torch.equal(*samplers)  # each rank dreams its own samples
    assert json.loads((out / "config.json").read_text())["world_size"] == 2


# ---- the command line ------------------------------------------------------------------------------
def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


TINY_FLAGS = (
    "--width",
    8,
    "--hidden",
    32,
    "--batch-size",
    8,
    "--eval-every",
    3,
    "--log-every",
    3,
    "--checkpoint-every",
    3,
    "--device",
    "cpu",
    "--quiet",
)


def test_a_spec_file_is_recorded_as_its_fields_so_a_run_survives_its_move(tmp_path, generator_dir):
    """Audit 17b F2: `fit --spec FILE` recorded FILE's absolute path in the run and the shared artifact; once the file
    moved, `--resume` failed for good ("spec file ... does not exist"), and giving it again was refused."""
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"native_prior_scale": 1.0}))
    run = tmp_path / "run"
    args = ("fit", "-g", generator_dir, "--spec", spec, "--steps", 2, "--out", run, *TINY_FLAGS)
    assert invoke(*args).exit_code == 0
    recorded = (run / "config.json").read_text() + (run / "inverter" / "config.json").read_text()
    assert str(spec) not in recorded and "spec.native_prior_scale" in recorded
    moved = spec.rename(tmp_path / "moved.json")
    result = invoke("fit", "--out", run, "--resume", "--steps", 3, "--quiet")
    assert result.exit_code == 0, result.output
    result = invoke("fit", "--out", run, "--resume", "--steps", 4, "--spec", moved, "--quiet")
    assert result.exit_code == 0, result.output
    moved.write_text(json.dumps({"native_prior_scale": 2.0}))  # another field value: named (audit 18)
    result = invoke("fit", "--out", run, "--resume", "--steps", 5, "--spec", moved, "--quiet")
    assert result.exit_code == 2 and "(spec.native_prior_scale: the run's '1.0', given '2.0')" in result.output


def test_cli_fit_recipe_flags_and_resume(tmp_path, generator_dir):
    recipe = tmp_path / "recipe.toml"
    recipe.write_text(f'generator = "{generator_dir}"\nsteps = 100\n[dreaming]\nsigma_x = 0.3\nbeta = 0.5\n')
    run = tmp_path / "run"
    result = invoke("fit", "--recipe", recipe, "--steps", 3, "--beta", 2.0, "--out", run, "--json", *TINY_FLAGS)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["run"] == str(run) and "generated" in summary
    config = json.loads((run / "config.json").read_text())["fit"]
    assert config["steps"] == 3 and config["dreaming"]["sigma_x"] == 0.3 and config["dreaming"]["beta"] == 2.0
    # --resume may extend the run, not change it
    result = invoke("fit", "--out", run, "--resume", "--steps", 6, "--quiet")
    assert result.exit_code == 0, result.output
    assert Run(run).latest_checkpoint().name == "step-000006.pt"
    result = invoke("fit", "--out", run, "--resume", "--lr", 0.1)
    assert result.exit_code != 0 and "drop --lr (the run's: 0.001)" in result.output, result.output
    # the interrupted command again with --resume added (audit 17b F6): its options are the run's, no change
    result = invoke("fit", "--out", run, "--resume", "--steps", 6, "--beta", 2.0, "--quiet", *TINY_FLAGS)
    assert result.exit_code == 0, result.output
    # nor report the 6-step weights as a 4-step run's
    before = (run / "metrics.jsonl").read_text()
    result = invoke("fit", "--out", run, "--resume", "--steps", 4, "--quiet")
    assert result.exit_code != 0 and "checkpointed at step 6, past --steps 4" in result.output
    assert (run / "metrics.jsonl").read_text() == before
    config_path = run / "config.json"  # said before the generator is loaded (minutes for a large one)
    recorded = json.loads(config_path.read_text())
    config_path.write_text(json.dumps({**recorded, "fit": {**recorded["fit"], "generator": str(run / "gone")}}))
    result = invoke("fit", "--out", run, "--resume", "--steps", 4, "--quiet")
    assert result.exit_code != 0 and "checkpointed at step 6, past --steps 4" in result.output, result.output


@pytest.mark.parametrize(
    "args,message",
    [
        (("--generator", "no/such/generator"), "Error: cannot resolve generator source"),
        (("--resume",), "Error: --resume needs --out"),
        (("--resume", "--out", "{tmp}/empty"), "holds no run to resume"),
        (("--recipe", "{tmp}/bad.toml"), "unknown fit option(s) ['stepz']"),
        (("--out", "{tmp}/taken"), "already holds a run"),
        (("--out", "{tmp}/mine"), "holds a config.json that is not a ganinv run's"),
        (("--out", "{tmp}/full"), "is not empty and holds no ganinv run"),
    ],
)
def test_cli_fit_errors_are_one_line(tmp_path, args, message):
    (tmp_path / "empty").mkdir()
    (tmp_path / "bad.toml").write_text("stepz = 3\n")
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "config.json").write_text('{"fit": {}}')
    (tmp_path / "taken" / "eval.json").write_text("{}")  # a finished run (a failed start may be retried)
    for name in ("mine", "full"):  # the user's folders: one with a config.json of its own
        (tmp_path / name / "samples").mkdir(parents=True)
        (tmp_path / name / "samples" / "favourite.png").write_bytes(b"png")
        (tmp_path / name / "metrics.jsonl").write_text('{"epoch": 1}\n')
    (tmp_path / "mine" / "config.json").write_text('{"nz": 8}')
    result = invoke("fit", *[a.format(tmp=tmp_path) for a in args])
    assert result.exit_code != 0
    assert message in result.output and "Traceback" not in result.output
    assert len([line for line in result.output.splitlines() if line.startswith("Error:")]) == 1
    for name in ("mine", "full"):  # an outside audit saw fit --out delete them, taking the folder for a failed start
        assert (tmp_path / name / "samples" / "favourite.png").read_bytes() == b"png"
        assert (tmp_path / name / "metrics.jsonl").read_text() == '{"epoch": 1}\n'
    assert (tmp_path / "mine" / "config.json").read_text() == '{"nz": 8}'


def test_divergence_advice_names_the_loss_weights_the_user_raised():
    from ganinv.dreaming import DreamingConfig
    from ganinv.fit import _divergence_advice

    plain = _divergence_advice(FitConfig(generator="builtin:mnist"))
    assert "--lr" in plain and "--sigma-x" in plain and "--beta" not in plain
    raised = _divergence_advice(FitConfig(generator="builtin:mnist", dreaming=DreamingConfig(beta=50.0, lambda_z=3.0)))
    assert "--beta nearer its default 1 (now 50)" in raised and "--lambda-z nearer its default 0 (now 3)" in raised


def test_resume_refuses_an_edited_config_or_another_generator(tmp_path, monkeypatch):
    """An outside audit resumed a run whose config.json was edited (another generator, lr, sigma_x) and one copied
    elsewhere whose relative generator path now named another file: both continued and mislabelled the result."""
    import shutil

    monkeypatch.chdir(tmp_path)
    tiny_generator(tmp_path / "gen")
    result = invoke("fit", "-g", "gen", "--steps", 3, "--out", "run", *TINY_FLAGS)
    assert result.exit_code == 0, result.output
    shutil.copytree("run", "edited")
    config = json.loads(Path("edited/config.json").read_text())
    config["fit"]["lr"] = 0.5
    Path("edited/config.json").write_text(json.dumps(config))
    result = invoke("fit", "--resume", "--out", "edited", "--steps", 6, "--quiet")
    assert result.exit_code != 0 and "config.json was edited after step-000003.pt" in result.output
    config["fit"]["lr"] = "fast"  # a value no command accepts is the file's, not a recipe's (audit 9, F6d)
    Path("edited/config.json").write_text(json.dumps(config))
    result = invoke("fit", "--resume", "--out", "edited", "--steps", 6, "--quiet")
    assert result.exit_code != 0 and "edited/config.json holds a value" in result.output, result.output
    assert "--lr (recipe key lr) must be" in result.output and "Traceback" not in result.output
    config["fit"]["lr"] = json.loads(Path("run/config.json").read_text())["fit"]["lr"]
    config["fit"]["generator"] = "builtin:mnist"  # another generator named in the file: the edit is said (audit 10b)
    Path("edited/config.json").write_text(json.dumps(config))
    result = invoke("fit", "--resume", "--out", "edited", "--steps", 6, "--quiet")
    assert result.exit_code != 0 and "config.json was edited after step-000003.pt" in result.output, result.output
    # the same relative path, another generator: the weights' fingerprint differs
    (tmp_path / "elsewhere").mkdir()
    shutil.copytree("run", "elsewhere/run")
    monkeypatch.chdir(tmp_path / "elsewhere")
    torch.manual_seed(1)
    built, options = architectures.build_generator_net("ssavl", TINY_OPTIONS)
    other = Generator(built.net, built.spec, source="gen", meta={"architecture": "ssavl", "options": options.__dict__})
    save_generator(other, Path("gen"))
    result = invoke("fit", "--resume", "--out", "run", "--steps", 6, "--quiet")
    assert result.exit_code != 0 and "the generator of run differs from what the run started with" in result.output
    monkeypatch.chdir(tmp_path)  # where it started: it resumes
    result = invoke("fit", "--resume", "--out", "run", "--steps", 6, "--quiet")
    assert result.exit_code == 0, result.output
    # the run's generator typed again, spelled another way (audit 18): the same file, so no change
    for spelling in ("./gen", str(tmp_path / "gen"), "gen/"):
        result = invoke("fit", "-g", spelling, "--resume", "--out", "run", "--steps", 7, "--quiet")
        assert result.exit_code == 0, (spelling, result.output)
    result = invoke("fit", "-g", "elsewhere/gen", "--resume", "--out", "run", "--steps", 7, "--quiet")
    assert result.exit_code != 0 and "continues the run's own generator 'gen'" in result.output, result.output


def test_an_encoder_worse_than_the_mean_image_is_announced():
    from ganinv.fit import warn_if_worse_than_the_mean

    worse = {"generated": {"sse_per_image": 17.6, "mean_image_baseline": {"sse_per_image": 11.3}}}
    with pytest.warns(UserWarning, match=r"reconstruct generated images worse than their mean image does \(SSE 17.6"):
        warn_if_worse_than_the_mean(worse)
    better = {"generated": {"sse_per_image": 5.0, "mean_image_baseline": {"sse_per_image": 11.3}}, "step": 3}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_if_worse_than_the_mean(better)


def test_eval_real_images_of_the_generators_size_are_never_resized(tmp_path, generator_dir, caplog):
    """Audit 21a: in a folder mixing 16x16 and 8x8 images, `fit --eval-real` resized the 16x16 ones to the folder's
    most common side, 8, and back up to the generator's 16 (pixels off by up to 0.6); they are read as they are.
    Audit 36b: read twice (fingerprint, then evaluation), the resize was said twice."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    (tmp_path / "mixed").mkdir()
    for i, side in enumerate((16, 16, 8, 8, 8)):
        Image.fromarray(rng.integers(0, 256, (side, side), dtype=np.uint8)).save(tmp_path / "mixed" / f"{i}.png")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit(tiny_config(generator_dir, steps=2, eval_every=2, eval_real=str(tmp_path / "mixed")), tmp_path / "r")
    said = [str(w.message) for w in caught]
    assert not any("converted to the shape the model takes" in line for line in said), said
    resized = [r.getMessage() for r in caplog.records if "differ from the size the model takes" in r.getMessage()]
    assert len(resized) == 1, resized


def test_a_generator_that_makes_nan_for_some_latents_stops_the_fit_saying_so(tmp_path):
    """Audit 21c: a program making NaN for a few latents (which the load's probe of 8 may miss) ended the fit in an
    internal error, the encoder's NaN posterior refused as latents; the README promises an error that says so."""
    config = tiny_config(Path("unused"), generator="zoo:nan_for_some_latents", steps=8, batch_size=64, width=4)
    with pytest.raises(GaninvError, match="the generator itself makes NaN or infinite images for"):
        fit(config, tmp_path / "run", quiet=True)


def test_a_float64_generator_is_fitted_on_float32_images(tmp_path):
    """Audit 21c: latents were drawn in the module's dtype, so a float64 (or bfloat16) program's images came back
    float64 and the fit's float32 encoders failed on them (an internal error)."""
    from ganinv.sources import load_generator

    _, images = load_generator("zoo:float64_generator").sample(3)
    assert images.dtype == torch.float32
    fit(
        tiny_config(Path("unused"), generator="zoo:float64_generator", steps=2, eval_every=2),
        tmp_path / "r",
        quiet=True,
    )


def test_a_spec_file_among_the_options_is_recorded_as_its_fields(tmp_path, generator_dir):
    """Audit 21d: once artifacts could not name a spec file to read (audit 21b), a run fitted with --option
    spec=FILE recorded that path in its inverter and could not be inverted with; the fields are recorded instead."""
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"native_output_range": [-1, 1]}))
    config = tiny_config(generator_dir, steps=2, eval_every=2, options={"spec": str(spec)})
    fit(config, tmp_path / "run", quiet=True)
    inverter = Inverter.load(str(tmp_path / "run" / "inverter"))
    assert inverter.generator_ref["options"] == {"spec.native_output_range": [-1, 1]}
    assert inverter.generator.spec.native_output_range == (-1.0, 1.0)
    recorded = json.loads((tmp_path / "run" / "config.json").read_text())["fit"]["options"]
    assert recorded == {"spec.native_output_range": [-1, 1]}  # the run's record names no file its resume would read
    fit(dataclasses.replace(config, steps=4), tmp_path / "run", resume=True, quiet=True)  # the run's own options


def test_a_long_runs_metrics_log_is_read_on_resume_whatever_its_size(tmp_path):
    """metrics.jsonl grows with its run: resume reads it with no size cap, as configs are read with one (the cap would
    have stopped every resume of a run whose log outgrew 64 MiB)."""
    (tmp_path / "run").mkdir()
    run = Run(tmp_path / "run")
    for step in (10, 20, 30):
        run.log_metrics({"step": step, "loss": 1.0})
    with open(run.metrics_path, "r+b") as fh:  # a log larger than any config, sparse so as to cost no disk
        fh.truncate(65 * 2**20)
    run.truncate_metrics(20)
    assert [json.loads(line)["step"] for line in run.metrics_path.read_text().splitlines()] == [10, 20]


def test_a_resumed_run_reads_only_the_real_images_it_started_with(tmp_path, generator_dir):
    """Audit 34a F8: a shared run folder's config.json named `eval_real` (a private folder of the user's), and
    `fit --resume` copied those images into the run's pictures: nothing fingerprinted them. They are fingerprinted at
    the start, and a run whose config records no fingerprint of an input is not resumed."""
    import numpy as np
    from PIL import Image

    from ganinv.errors import RunError

    rng = np.random.default_rng(0)
    for name in ("mine", "private"):
        (tmp_path / name).mkdir()
        for i in range(3):
            Image.fromarray(rng.integers(0, 256, (16, 16), dtype=np.uint8)).save(tmp_path / name / f"{i}.png")
    config = tiny_config(generator_dir, steps=4, eval_every=2, eval_real=str(tmp_path / "mine"))
    fit(config, tmp_path / "run", quiet=True)
    run_config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert set(run_config["inputs"]) >= {"generator", "eval_real"}
    fit(dataclasses.replace(config, steps=6), tmp_path / "run", resume=True, quiet=True)  # the same images: resumed
    run = Run(tmp_path / "run")
    run.reopen()
    run.config["inputs"].pop("eval_real")  # as an edited config.json holds it (its checkpoints' hash recomputed)
    with pytest.raises(RunError, match="records no fingerprint of its eval_real"):
        run.check_same_inputs({"generator": run.config["inputs"]["generator"], "eval_real": "0" * 64}, None)
    # refused before the folder it names is read: read first, it had been listed in the error (an outside audit)
    run.release()
    name_unrecorded_folder(tmp_path / "run", "fit", "eval_real", tmp_path / "never-read")
    elsewhere = dataclasses.replace(config, steps=8, eval_real=str(tmp_path / "never-read"))
    with pytest.raises(RunError, match="records no fingerprint of its eval_real"):
        fit(elsewhere, tmp_path / "run", resume=True, quiet=True)
