"""`ganinv perf` and ganinv.perf: FLOP counts, each measure on a tiny generator, the plain reference loop."""

import json
import math
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from ganinv import architectures, perf
from ganinv.cli.bench import cell, load_recipe
from ganinv.cli.main import cli
from ganinv.fit import FitConfig, fit
from ganinv.generator import Generator
from ganinv.inverter import Inverter
from ganinv.sources import save_generator

TINY_OPTIONS = {"nz": 4, "nc": 1, "n_classes": 3, "resolution": 16, "width": 8}  # the `ssavl` G(z, c, d)
TINY_ENCODERS = {"width": 8, "hidden": 32}
RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "bench-perf.toml"
MACHINE_KEYS = {"cpu", "cpu_count", "threads", "torch", "gpu", "device"}


def tiny_generator() -> Generator:
    torch.manual_seed(0)
    built, options = architectures.build_generator_net("ssavl", TINY_OPTIONS)
    return Generator(
        built.net,
        built.spec,
        source="tiny",
        meta={"architecture": "ssavl", "options": architectures.options_to_dict(options)},
    )


@pytest.fixture(scope="module")
def generator() -> Generator:
    return tiny_generator()


def step_flops(generator: Generator, batch_size: int) -> int:
    setup = perf.DreamingSetup(generator, perf.fit_config(batch_size, **TINY_ENCODERS), torch.device("cpu"))
    return perf.count_flops(lambda: setup.step(torch.autocast("cpu", enabled=False)))


def test_step_flops_are_positive_and_double_with_the_batch(generator):
    small, large = step_flops(generator, 4), step_flops(generator, 8)
    assert small > 0
    assert large == 2 * small


def test_the_timed_step_is_the_step_of_ganinv_fit(generator, tmp_path):
    config = perf.fit_config(4, steps=3, **TINY_ENCODERS)
    config = FitConfig.from_dict(
        {**config.to_dict(), "eval_every": 3, "checkpoint_every": 3, "eval_samples": 8, "device": "cpu"}
    )
    fitted = fit(config, tmp_path / "run", quiet=True, generator=generator).inverter
    setup = perf.DreamingSetup(generator, config, torch.device("cpu"))
    for _ in range(3):
        setup.step(torch.autocast("cpu", enabled=False))
    for (name, ours), theirs in zip(setup.inverter.state_dict().items(), fitted.state_dict().values()):
        torch.testing.assert_close(ours, theirs, rtol=0, atol=0, msg=name)


def test_the_dreaming_step_trains_the_encoders(generator):
    setup = perf.DreamingSetup(generator, perf.fit_config(4, **TINY_ENCODERS), torch.device("cpu"))
    before = [p.detach().clone() for p in setup.inverter.parameters()]
    setup.step(torch.autocast("cpu", enabled=False))
    assert all(not torch.equal(a, b) for a, b in zip(before, setup.inverter.parameters()))
    assert all(not p.requires_grad for p in generator.parameters())  # the generator stays frozen


@pytest.fixture(scope="module")
def results(generator, tmp_path_factory, test_device) -> dict:
    """Every measure once, on the tiny generator, with the sweeps and k of recipes/bench-perf.toml."""
    device = test_device
    folder = save_generator(generator, tmp_path_factory.mktemp("gen") / "tiny")
    fit = perf.measure_fit(generator, device, batch_size=4, steps=2, min_seconds=0.05, **TINY_ENCODERS)
    return {
        "device": device,
        "machine": perf.measure_machine(device, min_seconds=0.05),
        "fit": fit,
        "loglik": perf.measure_loglik(generator, device, min_seconds=0.01, max_images=2, **TINY_ENCODERS),
        "loglik-fitted": perf.measure_loglik(
            generator,
            device,
            min_seconds=0.01,
            max_images=2,
            inverter=Inverter.for_generator(generator, **TINY_ENCODERS).to(device).eval(),
        ),
        "invert": perf.measure_invert(
            generator, device, n_images=4, refine_steps=2, optimise_steps=3, min_seconds=0.01, **TINY_ENCODERS
        ),
        "scaling": perf.measure_scaling(
            {"source": str(folder)},
            device,
            batch_size=2,
            steps=1,
            isolate=False,
            dcgan_options={"nz": 4, "width": 4},
            **TINY_ENCODERS,
        ),
        "reference": perf.measure_reference(
            generator,
            device,
            steps=4,
            threshold=1.0,
            eval_every=2,
            eval_samples=8,
            batch_size=4,
            augment=0.0,
            **TINY_ENCODERS,
        ),
        **{
            name: fit for name in ("fit-1-thread", "fit-2-threads", "fit-1-thread-contended", "fit-2-threads-contended")
        },
    }


def test_machine(results):
    result = results["machine"]
    assert MACHINE_KEYS <= set(result["machine"]) and result["machine"]["cpu"]
    assert result["matmul"]["fp32"]["size"] == (1024 if results["device"].type == "cpu" else 4096)
    assert result["matmul"]["fp32"]["gflops"] > 0


def test_fit(generator, results):
    result = results["fit"]
    assert MACHINE_KEYS <= set(result["machine"])
    assert result["flops_per_step"] == step_flops(generator, 4)
    fp32 = result["variants"]["fp32"]
    assert fp32["samples_per_s"] == pytest.approx(4 / fp32["seconds_per_step"])
    assert fp32["ratio_to_matmul"] == pytest.approx(fp32["achieved_gflops"] / fp32["matmul_gflops"])
    assert 0 < fp32["ratio_to_matmul"] < 1.5  # FLOPs at most about the machine's matmul rate


def test_fit_refuses_gpu_variants_on_the_cpu(generator):
    with pytest.raises(perf.GaninvError, match="need a CUDA device"):
        perf.measure_fit(generator, torch.device("cpu"), variants=["bf16"])


def test_loglik_bound_counts_every_enumerated_code(results):
    result = results["loglik"]
    assert MACHINE_KEYS <= set(result["machine"]) and list(result["k"]) == ["1", "16", "256"]
    assert result["d_values_enumerated"] == 3
    one, sixteen = result["k"]["1"], result["k"]["16"]
    per_generator_pass = result["generator_flops_per_image"]
    assert sixteen["flops_per_image"] - one["flops_per_image"] == pytest.approx(15 * 3 * per_generator_pass)
    # the whole call also decodes the posterior mean: one more generator pass
    assert sixteen["counted_flops_per_image"] == pytest.approx(
        sixteen["flops_per_image"] + per_generator_pass, rel=0.01
    )
    assert one["ratio_to_bound"] == pytest.approx(one["images_per_s"] / one["bound_images_per_s"])


def test_loglik_compares_summed_and_drawn_codes(results):
    result = results["loglik-fitted"]
    assert result["inverter"] == "fitted" and results["loglik"]["inverter"] == "untrained"
    comparison = result["d_sampled_vs_enumerated"]
    assert comparison["k"] == 16 and comparison["repeats"] == 4
    for route in ("enumerated", "sampled"):
        assert comparison[route]["images_per_s"] > 0
        assert comparison[route]["iw_16_sd_over_draws"] > 0  # independent draws differ
        assert math.isfinite(comparison[route]["iw_16_mean"])


def test_invert(results):
    result = results["invert"]
    assert MACHINE_KEYS <= set(result["machine"])
    assert set(result["methods"]) == {"encoder", "encoder_refine", "optimisation"}
    assert [m["steps"] for m in result["methods"].values()] == [0, 2, 3]
    assert all(m["seconds_per_image"] > 0 for m in result["methods"].values())


def test_scaling(results):
    result = results["scaling"]
    assert MACHINE_KEYS <= set(result["machine"])
    assert list(result["batch_size"]) == ["16", "64", "256"] and result["batch_size"]["64"]["batch_size"] == 64
    assert result["image_size"]["128"]["image_shape"] == [3, 128, 128]
    assert [p["components"] for p in result["mvae_components"].values()] == [2, 4, 8]
    memory = "peak_memory_mib" if results["device"].type == "cuda" else "peak_rss_mib"
    points = [p for sweep in ("batch_size", "image_size", "mvae_components") for p in result[sweep].values()]
    assert len(points) == 8 and all(p[memory] > 0 and p["seconds_per_step"] > 0 for p in points)


def test_reference_measure(results):
    result = results["reference"]
    assert MACHINE_KEYS <= set(result["machine"])
    assert [h["step"] for h in result["ganinv"]["history"]] == [2, 4]
    assert [h["step"] for h in result["reference"]["history"]] == [2, 4]
    assert result["ganinv"]["steps_to_threshold"] == result["reference"]["steps_to_threshold"] == 2  # MSE < 1 always
    assert result["speedup_to_threshold"] == pytest.approx(
        result["reference"]["seconds_to_threshold"] / result["ganinv"]["seconds_to_threshold"]
    )


def test_the_perf_recipe_finds_every_number_it_reports(results):
    recipe = load_recipe(RECIPE)
    assert {stage.name for stage in recipe.stages} == set(results) - {"device"}
    values = {**recipe.vars, "out": "runs/x"}
    for row in recipe.rows:
        for value in row[1:]:
            assert cell(value, results, values) != "n/a", value


def test_reference_loop_has_ganinvs_encoders_and_trains(generator):
    reference = perf.load_reference_loop()
    plain = reference.Encoders(generator.spec, **TINY_ENCODERS)
    ours = Inverter.for_generator(generator, **TINY_ENCODERS)
    assert sum(p.numel() for p in plain.parameters()) == sum(p.numel() for p in ours.parameters())
    _, held_out = generator.sample(8, generator=torch.Generator().manual_seed(0))
    result = reference.train(generator, held_out, steps=2, batch_size=4, eval_every=1, **TINY_ENCODERS)
    assert [h["step"] for h in result["history"]] == [1, 2]
    assert all(0 < h["mse_per_pixel"] < 1 for h in result["history"])
    assert result["history"][1]["train_seconds"] > result["history"][0]["train_seconds"] > 0


def test_cli_writes_the_same_json_it_prints(tmp_path):
    out = tmp_path / "machine.json"
    result = CliRunner().invoke(
        cli,
        ["perf", "--measure", "machine", "--seconds", "0.05", "--device", "cpu", "--threads", "1", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed == json.loads(out.read_text())
    assert printed["threads"] == 1 and printed["machine"]["threads"] == 1 and printed["contending_processes"] == 0


def test_cli_refuses_two_generators():
    result = CliRunner().invoke(cli, ["perf", "--measure", "fit", "-g", "x", "--random-dcgan", "64"])
    assert result.exit_code == 2 and "not both" in result.output


def test_busy_processes_spin_and_stop():
    with perf.busy_processes(1) as pids:
        assert len(pids) == 1
        with open(f"/proc/{pids[0]}/stat") as fh:
            # alive: running, scheduled out, or paging in (D, seen on a loaded machine); not a zombie or stopped
            assert fh.read().split()[2] in "RSD"
    with pytest.raises(FileNotFoundError):
        open(f"/proc/{pids[0]}/stat")


def test_a_child_python_imports_nothing_from_the_current_folder(tmp_path, monkeypatch):
    """Audit 32a F4: `perf --measure scaling` ran each point as `python -m ganinv.perf`, which puts the current folder
    first on the import path: a `torch.py` there (a downloaded repo's) ran, though the user typed no code."""
    ran = tmp_path / "ran"
    for name in ("torch", "json", "runpy", "numpy"):
        (tmp_path / f"{name}.py").write_text(f"open({str(ran)!r}, 'w').close()\nraise SystemExit(3)\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(perf.GaninvError, match="failed in its own process"):
        perf.run_isolated({"label": "a point that is not one"})  # the child imports ganinv.perf, then fails
    with perf.busy_processes(1):
        pass
    assert not ran.exists()


def test_the_reference_loop_is_run_from_a_source_checkout_only(tmp_path, monkeypatch):
    """Audit 32a (hardening): installed, parents[1] of ganinv/ is site-packages, where another distribution could own
    a benchmarks/reference_fit.py; it is run only beside the checkout's pyproject.toml."""
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "reference_fit.py").write_text(f"open({str(tmp_path / 'ran')!r}, 'w').close()\n")
    monkeypatch.setattr(perf, "REPO", tmp_path)
    monkeypatch.setattr(perf, "REFERENCE_LOOP", tmp_path / "benchmarks" / "reference_fit.py")
    with pytest.raises(perf.GaninvError, match="ships with the source checkout only"):
        perf.load_reference_loop()
    assert not (tmp_path / "ran").exists()
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'ganinv'\n")
    perf.load_reference_loop()
    assert (tmp_path / "ran").exists()


def test_a_recipe_cannot_start_thousands_of_busy_processes():
    """Audit 34a F6: `perf --contend N` was unbounded, and a bench recipe's stage chooses N."""
    result = CliRunner().invoke(cli, ["perf", "--measure", "machine", "--contend", "3000"])
    assert result.exit_code == 2 and "3000 is not in the range 0<=x<=64" in result.output, result.output


@pytest.mark.parametrize(
    "args,flag",
    [
        (["--variant", "bf16"], "--variant goes with --measure fit"),
        (["--k", "1,2"], "--k goes with --measure loglik"),
        (["--threshold", "5"], "--threshold goes with --measure reference"),
        (["--images", "3"], "--images goes with --measure invert or loglik"),
        (["--no-isolate"], "--isolate goes with --measure scaling"),
        (["--steps", "3"], "--steps goes with --measure fit or reference or scaling"),  # a review: left out
        (["-g", "builtin:mnist"], "--generator goes with --measure fit"),
    ],
)
def test_an_option_the_measure_does_not_read_is_refused(args, flag):
    """An outside audit: `perf --measure machine --variant bf16` (and --k, --threshold, --images) ran in silence, the
    result taken for what the option asked; only --inverter was refused."""
    result = CliRunner().invoke(cli, ["perf", "--measure", "machine", *args])
    assert result.exit_code == 2 and f"Error: {flag}" in result.stderr, result.output
