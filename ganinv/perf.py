"""Performance against the machine's own limits: what `ganinv perf` measures, as pure functions.

Every measure returns a JSON-able dict that records the machine (`machine_info`) and the
intra-op thread count it ran with. Rates are compared with what the same process can do:

- `measure_machine`: the dense matmul rate (fp32 1024x1024 on the CPU; fp32 4096 and bf16
  8192 on CUDA), the yardstick of every ratio below.
- `measure_fit`: samples/s of one dreaming step (`dreaming_step`: ganinv.dreaming.dreaming_loss
  on the encoders of ganinv.inverter, as `ganinv fit` runs it), its FLOPs counted with
  torch.utils.flop_counter, achieved FLOP/s and their ratio to the matmul rate.
- `measure_reference`: time to a held-out quality of `ganinv.fit.fit` against the plain loop in
  `benchmarks/reference_fit.py` (a source checkout's file), as a ratio.
- `measure_loglik`: images/s of ganinv.loglik.log_likelihood at each k against its arithmetic bound.
- `measure_invert`: per-image time of encoder inversion, encoder + refine and optimisation alone.
- `measure_scaling`: time per step and peak memory against batch size, image size (DCGANs with
  random weights, `random_dcgan`) and the MVAE's component count.

Timings use untrained (seeded, random) encoders: the cost of a step does not depend on the weights.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import logging
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Sequence, cast

import torch
from torch import Tensor
from torch.utils.flop_counter import FlopCounterMode

from ganinv import architectures
from ganinv.augment import AugmentConfig
from ganinv.data import MODEL_SPACE
from ganinv.errors import GaninvError
from ganinv.fit import FitConfig, dreaming_step
from ganinv.generator import Generator
from ganinv.inverter import Inverter
from ganinv.runs import seed_everything

log = logging.getLogger("ganinv")

REPO = Path(__file__).resolve().parents[1]
REFERENCE_LOOP = REPO / "benchmarks" / "reference_fit.py"
VARIANTS = ("fp32", "bf16", "compile")  # compile: torch.compile of the encoders under bf16 autocast (fit --compile)
# Datasheet dense bf16 peaks (TFLOP/s, no sparsity), matched by name: context for the measured matmul rate.
DATASHEET_BF16_TFLOPS = (("H100 PCIe", 756.0), ("H100", 989.0), ("H200", 989.0), ("A100", 312.0))
MIB = 2**20
UNIT = MODEL_SPACE  # the images ganinv itself made or read: no range to detect


# ---- the machine -------------------------------------------------------------------------------
def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info(device: torch.device) -> dict[str, Any]:
    """CPU model, cores, intra-op threads, torch version, the GPU (when `device` is one) and its TF32 flags."""
    info: dict[str, Any] = {
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "torch": torch.__version__,
        "device": str(device),
        "gpu": None,
    }
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        info.update(
            gpu=name,
            gpu_count=torch.cuda.device_count(),
            cuda=torch.version.cuda,
            tf32_matmul=torch.backends.cuda.matmul.allow_tf32,
            tf32_cudnn=torch.backends.cudnn.allow_tf32,
            datasheet_bf16_dense_tflops=next((v for key, v in DATASHEET_BF16_TFLOPS if key in name), None),
        )
    return info


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_calls(
    fn: Callable[[], Any], device: torch.device, min_seconds: float = 1.0, min_calls: int = 3, warmup: int = 1
) -> list[float]:
    """Seconds of each call of `fn` after `warmup` calls, until `min_calls` and `min_seconds` are both reached."""
    for _ in range(warmup):
        fn()
    synchronize(device)
    times: list[float] = []
    while len(times) < min_calls or sum(times) < min_seconds:
        start = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return times


def matmul_rate(
    device: torch.device, dtype: torch.dtype = torch.float32, size: int = 1024, min_seconds: float = 1.0
) -> dict[str, Any]:
    """GFLOP/s of a dense (size x size) @ (size x size) product: the median call, and the best."""
    rng = torch.Generator(device=device).manual_seed(0)
    a = torch.randn(size, size, generator=rng, device=device).to(dtype)
    b = torch.randn(size, size, generator=rng, device=device).to(dtype)
    out = torch.empty(size, size, device=device, dtype=dtype)
    times = time_calls(lambda: torch.mm(a, b, out=out), device, min_seconds, warmup=2)
    flops = 2 * size**3
    return {
        "dtype": str(dtype).removeprefix("torch."),
        "size": size,
        "calls": len(times),
        "gflops": flops / statistics.median(times) / 1e9,
        "gflops_best": flops / min(times) / 1e9,
    }


def matmul_rates(device: torch.device, min_seconds: float = 1.0) -> dict[str, dict[str, Any]]:
    """fp32 1024 on the CPU; fp32 4096 and bf16 8192 on CUDA (sizes large enough to fill the card)."""
    if device.type != "cuda":
        return {"fp32": matmul_rate(device, torch.float32, 1024, min_seconds)}
    return {
        "fp32": matmul_rate(device, torch.float32, 4096, min_seconds),
        "bf16": matmul_rate(device, torch.bfloat16, 8192, min_seconds),
    }


def measure_machine(device: torch.device, min_seconds: float = 1.0) -> dict[str, Any]:
    return {"measure": "machine", "machine": machine_info(device), "matmul": matmul_rates(device, min_seconds)}


# ---- generators for timing ---------------------------------------------------------------------
def random_dcgan(
    resolution: int,
    nz: int = 100,
    width: int = 64,
    channels: int = 3,
    seed: int = 0,
    device: Optional[torch.device] = None,
) -> Generator:
    """A DCGAN (the pytorch/examples layout, built by the `dcgan` adapter) with seeded random weights.

    RES x RES images; width 64 and nz 100 are pytorch/examples' own (128 pixels add a stage of 1024).
    For timing only: its images are noise.
    """
    torch.manual_seed(seed)
    options = {"resolution": resolution, "nz": nz, "width": width, "channels": channels}
    built, opts = architectures.build_generator_net("dcgan", options)
    generator = Generator(
        built.net,
        built.spec,
        source=f"random DCGAN {resolution}x{resolution}",
        meta={"architecture": "dcgan", "options": architectures.options_to_dict(opts)},
    )
    return generator.to(device) if device is not None else generator


# ---- FLOPs -------------------------------------------------------------------------------------
def count_flops(fn: Callable[[], Any]) -> int:
    """FLOPs of the matrix products and convolutions (forward and backward) that `fn` runs."""
    counter = FlopCounterMode(display=False)
    with counter:
        fn()
    return int(counter.get_total_flops())


# ---- the dreaming step -------------------------------------------------------------------------
class DreamingSetup:
    """What `ganinv fit` builds around its loop: encoders sized to the generator, Adam, the latent sampler."""

    def __init__(self, generator: Generator, config: FitConfig, device: torch.device, compile: bool = False):
        seed_everything(config.seed)  # as ganinv.fit: also flushes subnormal floats, which slow CPU convolutions
        self.generator, self.config, self.step_count = generator.to(device), config, 0
        self.inverter = Inverter.for_generator(generator, width=config.width, hidden=config.hidden).to(device)
        self.optimizer = torch.optim.Adam(self.inverter.parameters(), lr=config.lr)
        seed_everything(config.seed)
        self.sampler = torch.Generator(device=device).manual_seed(config.seed + 1)
        # compiling a Module gives an OptimizedModule, a Module (torch types the result as a plain callable)
        self.model = cast(torch.nn.Module, torch.compile(self.inverter)) if compile else self.inverter

    def step(self, autocast: contextlib.AbstractContextManager) -> None:
        """The next step of the schedule (1, 2, ..., config.steps, then 1 again)."""
        self.step_count += 1
        dreaming_step(
            self.generator,
            self.inverter,
            self.model,
            self.optimizer,
            self.sampler,
            self.config,
            (self.step_count - 1) % self.config.steps + 1,
            autocast,
        )


def fit_config(
    batch_size: int,
    augment: Optional[float] = None,
    seed: int = 0,
    width: int = 64,
    hidden: int = 512,
    steps: int = 1000,
) -> FitConfig:
    """`ganinv fit`'s defaults, but for the batch size, encoder size and perturbed-dream fraction."""
    augment_config = AugmentConfig() if augment is None else AugmentConfig(probability=augment)
    return FitConfig(batch_size=batch_size, augment=augment_config, seed=seed, width=width, hidden=hidden, steps=steps)


def autocast_for(variant: str, device: torch.device) -> contextlib.AbstractContextManager:
    if variant in ("bf16", "compile"):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def time_steps(step: Callable[[], None], device: torch.device, steps: int, warmup: int) -> float:
    """Seconds per step over `steps` consecutive steps (one sync at the end), after `warmup` steps."""
    for _ in range(warmup):
        step()
    synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    synchronize(device)
    return (time.perf_counter() - start) / steps


def measure_fit(
    generator: Generator,
    device: torch.device,
    batch_size: int = 64,
    steps: int = 20,
    variants: Optional[Sequence[str]] = None,
    augment: Optional[float] = None,
    seed: int = 0,
    width: int = 64,
    hidden: int = 512,
    min_seconds: float = 1.0,
) -> dict[str, Any]:
    """Dreaming-step throughput of each variant, its counted FLOPs and their ratio to the matmul rate."""
    variants = list(variants or (VARIANTS if device.type == "cuda" else ("fp32",)))
    if device.type != "cuda" and set(variants) - {"fp32"}:
        raise GaninvError(
            f"variants {', '.join(sorted(set(variants) - {'fp32'}))} need a CUDA device; "
            "on the CPU measure --variant fp32"
        )
    config = fit_config(batch_size, augment, seed, width, hidden)
    counted = DreamingSetup(generator, config, device)
    counted.step(contextlib.nullcontext())  # warm-up, so the counted step is a steady one
    flops = count_flops(functools.partial(counted.step, contextlib.nullcontext()))
    del counted  # free it before the timed runs
    rates = matmul_rates(device, min_seconds)
    out: dict[str, Any] = {
        "measure": "fit",
        "machine": machine_info(device),
        "generator": generator.source,
        "image_shape": list(generator.spec.image_shape),
        "batch_size": batch_size,
        "steps": steps,
        "augment": config.augment.probability,
        "encoder_width": width,
        "encoder_hidden": hidden,
        "flops_per_step": flops,
        "gflop_per_step": flops / 1e9,
        "matmul": rates,
        "variants": {},
    }
    for variant in variants:
        print(f"[perf] fit {variant}: {steps} steps of batch {batch_size}", file=sys.stderr)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        try:
            setup = DreamingSetup(generator, config, device, compile=variant == "compile")
            autocast = autocast_for(variant, device)
            seconds = time_steps(
                functools.partial(setup.step, autocast), device, steps, warmup=5 if variant == "compile" else 2
            )
        except GaninvError:
            raise
        except Exception as exc:  # e.g. torch.compile or memory on a new machine: the other variants still count
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            out["variants"][variant] = {"error": f"{type(exc).__name__}: {message}"}
            log.warning("perf: the %s variant failed: %s", variant, out["variants"][variant]["error"])
            continue
        yardstick = rates["bf16" if variant != "fp32" else "fp32"]
        achieved = flops / seconds / 1e9
        result = {
            "seconds_per_step": seconds,
            "samples_per_s": batch_size / seconds,
            "achieved_gflops": achieved,
            "matmul_gflops": yardstick["gflops"],
            "matmul_dtype": yardstick["dtype"],
            "ratio_to_matmul": achieved / yardstick["gflops"],
        }
        if device.type == "cuda":
            result["peak_memory_mib"] = torch.cuda.max_memory_allocated(device) / MIB
            peak = out["machine"].get("datasheet_bf16_dense_tflops")
            if peak and variant != "fp32":
                result["ratio_to_datasheet_bf16"] = achieved / (peak * 1e3)
        out["variants"][variant] = result
        del setup  # free it before the next variant
        if device.type == "cuda":
            torch.cuda.empty_cache()
    return out


# ---- time to a held-out quality: ganinv fit against the plain reference loop -------------------
def load_reference_loop():
    """benchmarks/reference_fit.py of the source checkout (not part of the installed package)."""
    # a source checkout holds pyproject.toml beside ganinv/: installed, parents[1] is site-packages, where another
    # distribution could own a benchmarks/reference_fit.py (an outside audit)
    if not (REFERENCE_LOOP.is_file() and (REPO / "pyproject.toml").is_file()):
        raise GaninvError(
            f"--measure reference needs {REFERENCE_LOOP}, which ships with the source checkout "
            "only; run it from a clone of the ganinv repository"
        )
    spec = importlib.util.spec_from_file_location("ganinv_reference_fit", REFERENCE_LOOP)
    assert spec is not None and spec.loader is not None, "a .py file has a source loader"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def first_below(history: list[dict[str, Any]], threshold: float) -> Optional[dict[str, Any]]:
    return next((h for h in history if h["mse_per_pixel"] < threshold), None)


def measure_reference(
    generator: Generator,
    device: torch.device,
    steps: int = 1000,
    threshold: float = 0.02,
    eval_every: int = 100,
    eval_samples: int = 1000,
    batch_size: int = 64,
    augment: Optional[float] = None,
    seed: int = 0,
    width: int = 64,
    hidden: int = 512,
) -> dict[str, Any]:
    """Training seconds each side needs until its held-out generated-sample MSE per pixel is below `threshold`.

    Both evaluate the same held-out samples (those `ganinv fit` draws) every `eval_every` steps; the
    time to the threshold is counted at the first evaluation below it, without the evaluations'
    own time. ganinv: `ganinv.fit.fit` (all its defaults but these arguments); its seconds per step
    are the median of the intervals its metrics.jsonl records (an interval that holds an evaluation
    is slower, the median leaves it out). The reference: its own clock around each step, run after
    the fit in the same process, with subnormal floats flushed to zero as the fit ran (ganinv.runs.seed_everything).
    """
    from ganinv.evaluation import held_out_samples
    from ganinv.fit import EVAL_SEED_OFFSET, fit

    reference = load_reference_loop()
    generator = generator.to(device)
    config = fit_config(batch_size, augment, seed, width, hidden, steps)
    config = FitConfig.from_dict(
        {
            **config.to_dict(),
            "eval_every": eval_every,
            "eval_samples": eval_samples,
            "log_every": max(1, eval_every // 5),
            "checkpoint_every": steps,
            "device": str(device),
            "generator": generator.source,
        }
    )
    print(f"[perf] reference: ganinv fit, {steps} steps", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="ganinv-perf-") as tmp:
        fit(config, Path(tmp) / "run", quiet=True, generator=generator)
        records = [json.loads(line) for line in (Path(tmp) / "run" / "metrics.jsonl").read_text().splitlines()]
    rates = [r["samples_per_s"] for r in records if "samples_per_s" in r]
    ganinv_step = batch_size / statistics.median(rates)
    ganinv_history = [
        {
            "step": r["step"],
            "train_seconds": r["step"] * ganinv_step,
            "mse_per_pixel": r["eval"]["generated"]["mse_per_pixel"],
        }
        for r in records
        if "eval" in r
    ]

    print(f"[perf] reference: plain loop, {steps} steps", file=sys.stderr)
    _, held_out = held_out_samples(generator, eval_samples, seed=seed + EVAL_SEED_OFFSET)  # the images fit evaluates
    torch.set_flush_denormal(True)  # as the fit ran: ganinv.fit gives the caller's setting back when it returns
    plain = reference.train(
        generator, held_out, steps, batch_size=batch_size, eval_every=eval_every, seed=seed, width=width, hidden=hidden
    )
    mine, theirs = first_below(ganinv_history, threshold), first_below(plain["history"], threshold)
    out: dict[str, Any] = {
        "measure": "reference",
        "machine": machine_info(device),
        "generator": generator.source,
        "steps": steps,
        "batch_size": batch_size,
        "threshold_mse_per_pixel": threshold,
        "eval_every": eval_every,
        "eval_samples": eval_samples,
        "augment": config.augment.probability,
        "ganinv_bf16_autocast": config.amp and device.type == "cuda",  # the reference loop is always fp32
        "mean_image_baseline_mse_per_pixel": next(
            (r["eval"]["generated"]["mean_image_baseline"] or {}).get("mse_per_pixel")  # None: under ten images
            for r in records
            if "eval" in r
        ),
        "ganinv": {
            "seconds_per_step": ganinv_step,
            "samples_per_s": batch_size / ganinv_step,
            "final_mse_per_pixel": ganinv_history[-1]["mse_per_pixel"],
            "steps_to_threshold": mine and mine["step"],
            "seconds_to_threshold": mine and mine["train_seconds"],
            "history": ganinv_history,
        },
        "reference": {
            "seconds_per_step": plain["seconds_per_step"],
            "samples_per_s": plain["samples_per_s"],
            "final_mse_per_pixel": plain["history"][-1]["mse_per_pixel"],
            "steps_to_threshold": theirs and theirs["step"],
            "seconds_to_threshold": theirs and theirs["train_seconds"],
            "history": [{k: h[k] for k in ("step", "train_seconds", "mse_per_pixel")} for h in plain["history"]],
        },
        "throughput_ratio": (batch_size / ganinv_step) / plain["samples_per_s"],
        "speedup_to_threshold": None,
    }
    if mine and theirs:
        out["speedup_to_threshold"] = theirs["train_seconds"] / mine["train_seconds"]  # > 1: ganinv gets there first
    else:
        missing = " and ".join(name for name, hit in (("ganinv", mine), ("the reference loop", theirs)) if not hit)
        out["note"] = (
            f"{missing} did not reach MSE {threshold:g} per pixel in {steps} steps; no speedup. Give more "
            "--steps or a higher --threshold"
        )
        log.warning(out["note"])
    return out


# ---- log-likelihood throughput against its arithmetic bound ------------------------------------
def measure_loglik(
    generator: Generator,
    device: torch.device,
    ks: Sequence[int] = (1, 16, 256),
    min_seconds: float = 2.0,
    max_images: int = 64,
    batch_size: int = 64,
    seed: int = 0,
    width: int = 64,
    hidden: int = 512,
    inverter: Optional[Inverter] = None,
) -> dict[str, Any]:
    """images/s of `log_likelihood` at each k (alone), against `matmul rate / FLOPs per image`; with a
    categorical code, the bounds' spread with d summed or sampled (`compare_d_sampling`).

    FLOPs per image = k x J x (generator forward FLOPs per image) + encoder FLOPs per image, J the
    number of values of d enumerated (K when K <= ganinv.loglik.MAX_ENUMERATE, else 1). The FLOPs
    counted on one image's whole call (which also decodes the posterior mean) are given beside.
    """
    from ganinv.loglik import MAX_ENUMERATE, log_likelihood

    generator = generator.to(device)
    torch.manual_seed(seed)
    inverter_from = "fitted" if inverter is not None else "untrained"
    if inverter is None:  # an untrained one times the same arithmetic
        inverter = Inverter.for_generator(generator, width=width, hidden=hidden).to(device).eval()
    rng = torch.Generator(device=device).manual_seed(seed)
    _, images = generator.sample(max_images, generator=rng)  # (N, C, H, W)
    probe = images[:8]
    with torch.inference_mode():
        generator_flops = count_flops(lambda: generator.decode(generator.sample_latents(8, generator=rng))) / 8
        encoder_flops = count_flops(lambda: inverter.encode_model_images(probe)) / probe.shape[0]
    K = generator.spec.n_classes
    enumerated = K if 0 < K <= MAX_ENUMERATE else 1
    rates = matmul_rates(device, min_seconds)
    yardstick = rates["fp32"]["gflops"] * 1e9
    out: dict[str, Any] = {
        "measure": "loglik",
        "machine": machine_info(device),
        "generator": generator.source,
        "image_shape": list(generator.spec.image_shape),
        "inverter": inverter_from,
        "n_classes": K,
        "d_values_enumerated": enumerated,
        "generator_flops_per_image": generator_flops,
        "encoder_flops_per_image": encoder_flops,
        "matmul": rates,
        "k": {},
    }
    for k in ks:
        one = images[:1]
        log_likelihood(inverter, one, ks=(k,), generator=rng, input_range=UNIT)  # the first call picks routes too
        start = time.perf_counter()
        counted = count_flops(
            lambda: log_likelihood(inverter, one, ks=(k,), generator=rng, input_range=UNIT)  # noqa: B023
        )
        per_image = time.perf_counter() - start
        n = max(1, min(max_images, math.ceil(min_seconds / max(per_image, 1e-6))))
        print(f"[perf] loglik k={k}: {n} images", file=sys.stderr)
        # steady state: the first call with these shapes also picks the transposed convolutions' route
        log_likelihood(inverter, images[:n], ks=(k,), batch_size=batch_size, generator=rng, input_range=UNIT)
        synchronize(device)
        start = time.perf_counter()
        log_likelihood(inverter, images[:n], ks=(k,), batch_size=batch_size, generator=rng, input_range=UNIT)
        synchronize(device)
        seconds = time.perf_counter() - start
        flops = k * enumerated * generator_flops + encoder_flops
        bound = yardstick / flops
        out["k"][str(k)] = {
            "images": n,
            "seconds": seconds,
            "images_per_s": n / seconds,
            "flops_per_image": flops,
            "counted_flops_per_image": counted,
            "bound_images_per_s": bound,
            "ratio_to_bound": n / seconds / bound,
        }
    if K:
        out["d_sampled_vs_enumerated"] = compare_d_sampling(inverter, images[:16], k=16, seed=seed)
    return out


def compare_d_sampling(inverter: Inverter, images: Tensor, k: int = 16, repeats: int = 4, seed: int = 0) -> dict:
    """Summing the categorical code d over its K values against drawing one d per sample from q(d|x)
    (`loglik --max-enumerate 0`): time per image and the spread of the bounds over `repeats` independent
    draws (per-image standard deviation across repeats, averaged over the images)."""
    from ganinv.loglik import log_likelihood

    out: dict[str, Any] = {"k": k, "images": images.shape[0], "repeats": repeats}
    for name, max_enumerate in (("enumerated", inverter.spec.n_classes), ("sampled", 0)):
        elbo, iw, seconds = [], [], 0.0
        for r in range(repeats + 1):  # the first call is the warm-up
            rng = torch.Generator(device=inverter.device).manual_seed(seed + r)
            start = time.perf_counter()
            result = log_likelihood(
                inverter, images, ks=(k,), max_enumerate=max_enumerate, generator=rng, input_range=UNIT
            )
            if r:
                seconds += time.perf_counter() - start
                elbo.append(result.elbo)
                iw.append(result.iw[k])
        out[name] = {
            "images_per_s": repeats * images.shape[0] / seconds,
            "elbo_mean": torch.stack(elbo).mean().item(),
            "elbo_sd_over_draws": torch.stack(elbo).std(dim=0).mean().item(),
            f"iw_{k}_mean": torch.stack(iw).mean().item(),
            f"iw_{k}_sd_over_draws": torch.stack(iw).std(dim=0).mean().item(),
        }
    return out


# ---- inversion times ---------------------------------------------------------------------------
def measure_invert(
    generator: Generator,
    device: torch.device,
    n_images: int = 16,
    refine_steps: int = 100,
    optimise_steps: int = 500,
    min_seconds: float = 1.0,
    seed: int = 0,
    width: int = 64,
    hidden: int = 512,
) -> dict[str, Any]:
    """Per-image seconds of ganinv.invert: the encoder alone, encoder + `refine_steps`, `optimise_steps` from z = 0.

    All `n_images` generated images go through in one batch, so per-image times fall as the batch grows.
    """
    from ganinv.invert import invert

    generator = generator.to(device)
    torch.manual_seed(seed)
    inverter = Inverter.for_generator(generator, width=width, hidden=hidden).to(device).eval()
    _, images = generator.sample(n_images, generator=torch.Generator(device=device).manual_seed(seed))
    images = images.cpu()
    out: dict[str, Any] = {
        "measure": "invert",
        "machine": machine_info(device),
        "generator": generator.source,
        "image_shape": list(generator.spec.image_shape),
        "images": n_images,
        "methods": {},
    }
    runs: dict[str, dict[str, Any]] = {
        "encoder": dict(refine_steps=0, min_seconds=min_seconds, warmup=1),
        "encoder_refine": dict(refine_steps=refine_steps, start="encoder", min_seconds=0, warmup=0),
        "optimisation": dict(refine_steps=optimise_steps, start="zero", min_seconds=0, warmup=0),
    }
    for name, run in runs.items():
        steps, warmup, seconds_wanted = run.pop("refine_steps"), run.pop("warmup"), run.pop("min_seconds")
        print(f"[perf] invert {name}: {n_images} images, {steps} steps", file=sys.stderr)
        times = time_calls(
            lambda: invert(inverter, images, refine_steps=steps, batch_size=n_images, input_range=UNIT, **run),  # noqa: B023
            device,
            seconds_wanted,
            min_calls=1,
            warmup=warmup,
        )  # time_calls calls it in this iteration
        seconds = statistics.median(times)
        out["methods"][name] = {
            "steps": steps,
            "seconds_per_image": seconds / n_images,
            "ms_per_image": 1e3 * seconds / n_images,
            "calls": len(times),
        }
    return out


# ---- scaling -----------------------------------------------------------------------------------
def current_rss_bytes() -> Optional[int]:
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


class RssPeak:
    """The largest resident set seen while the block runs, sampled every few milliseconds from /proc (the
    process-wide ru_maxrss is useless here: its peak is often the imports and loading, before the steps)."""

    def __init__(self, interval: float = 0.002):
        self.interval, self.peak = interval, current_rss_bytes() or 0
        self._stop = threading.Event()

    def _poll(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, current_rss_bytes() or 0)

    def __enter__(self) -> "RssPeak":
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, current_rss_bytes() or 0)


def run_configuration(point: dict[str, Any]) -> dict[str, Any]:
    """Seconds per step and memory of one scaling point: a dreaming step, or an MVAE step (`components`).

    `point`: kind ("dreaming" or "mvae"), batch_size, steps, device, seed, width, hidden, components,
    and the generator: random_dcgan (a resolution) or source, arch, options, trust_remote_code, origin.
    """
    from ganinv.sources import load_generator

    device = torch.device(point["device"])
    if point.get("threads"):
        torch.set_num_threads(point["threads"])
    if point.get("random_dcgan"):
        generator = random_dcgan(
            point["random_dcgan"], seed=point["seed"], device=device, **point.get("dcgan_options", {})
        )
    else:
        generator = load_generator(
            point["source"],
            arch=point.get("arch"),
            options=point.get("options") or {},
            device=device,
            trust_remote_code=point.get("trust_remote_code", False),
            origin=point.get("origin"),
        )
    config = fit_config(point["batch_size"], seed=point["seed"], width=point["width"], hidden=point["hidden"])
    if point["kind"] == "mvae":
        step = mvae_step_function(generator, point["components"], point["batch_size"], device, point["seed"])
    else:
        setup = DreamingSetup(generator, config, device)
        step = lambda: setup.step(contextlib.nullcontext())  # noqa: E731
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    baseline = current_rss_bytes()
    with RssPeak() as rss:
        seconds = time_steps(step, device, point["steps"], warmup=1)
    result = {
        "seconds_per_step": seconds,
        "samples_per_s": point["batch_size"] / seconds,
        "image_shape": list(generator.spec.image_shape),
    }
    if device.type == "cuda":
        result["peak_memory_mib"] = torch.cuda.max_memory_allocated(device) / MIB
    else:
        result["peak_rss_mib"] = rss.peak / MIB
        result["rss_before_steps_mib"] = None if baseline is None else baseline / MIB
        result["rss_added_by_steps_mib"] = None if baseline is None else (rss.peak - baseline) / MIB
    return result


def mvae_step_function(
    generator: Generator, components: int, batch_size: int, device: torch.device, seed: int
) -> Callable[[], None]:
    """One training step of an MVAE atop `generator` (ganinv.mvae.train's loop body: dream, mvae_loss, Adam)."""
    from ganinv.mvae.model import MVAE
    from ganinv.mvae.train import MVAEConfig, mvae_loss

    torch.manual_seed(seed)
    config = MVAEConfig(generator=generator.source, n_components=components, batch_size=batch_size, seed=seed)
    model = MVAE.for_generator(
        generator,
        n_components=components,
        latent_dim=config.latent_dim,
        width=config.width,
        hidden=config.hidden,
        dropout=config.dropout,
        p_init=config.p_init,
        temperature=config.temperature,
    ).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    sampler = torch.Generator(device=device).manual_seed(seed + 1)

    def step() -> None:
        model.train()
        latents = generator.sample_latents(batch_size, generator=sampler)
        with torch.no_grad():
            x = generator.decode(latents)  # (B, C, H, W)
        terms = mvae_loss(model, x, model(x), config, latents.flat())
        optimizer.zero_grad(set_to_none=True)
        terms.total.backward()
        optimizer.step()

    return step


# A child Python's first lines: `-m` and `-c` put the current folder first on sys.path, where a `torch.py` or `json.py`
# (a downloaded repo, a shared folder) would run in place of the installed one (an outside audit); -P, which leaves it
# out, is Python 3.11's
NO_CURRENT_FOLDER = "import sys\nif not getattr(sys.flags, 'safe_path', False):\n    del sys.path[0]\n"


def python_command(code: str, *args: str) -> list[str]:
    """A command running `code` in a fresh Python without the current folder on its import path."""
    return [sys.executable, "-c", NO_CURRENT_FOLDER + code, *args]


def run_isolated(point: dict[str, Any]) -> dict[str, Any]:
    """`run_configuration` in a fresh Python process, so its peak RSS is this configuration's alone."""
    command = python_command("import runpy\nrunpy.run_module('ganinv.perf', run_name='__main__')", json.dumps(point))
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise GaninvError(
            f"the scaling point {point['label']} failed in its own process (exit {done.returncode}, "
            "its error is above); rerun with --no-isolate to see it in this process"
        )
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure_scaling(
    generator_point: dict[str, Any],
    device: torch.device,
    batch_sizes: Sequence[int] = (16, 64, 256),
    resolutions: Sequence[int] = (64, 128),
    components: Sequence[int] = (2, 4, 8),
    batch_size: int = 64,
    steps: int = 3,
    isolate: Optional[bool] = None,
    seed: int = 0,
    width: int = 64,
    hidden: int = 512,
    dcgan_options: Optional[dict[str, Any]] = None,
) -> dict[str, Any]:
    """Time per step and peak memory against batch size (dreaming step on the given generator), image size
    (dreaming step on `random_dcgan`s at `batch_size`) and MVAE component count (on the given generator).

    `generator_point`: how to load the given generator (source, arch, options, trust_remote_code, origin;
    or random_dcgan). On CUDA, memory is torch.cuda.max_memory_allocated; on the CPU (isolate, the
    default there) each point runs in a fresh process and reports its peak RSS.
    """
    isolate = device.type != "cuda" if isolate is None else isolate
    common = {
        "device": str(device),
        "steps": steps,
        "seed": seed,
        "width": width,
        "hidden": hidden,
        "threads": torch.get_num_threads(),
        "dcgan_options": dict(dcgan_options or {}),
    }
    sweeps = {
        "batch_size": {
            str(b): {**generator_point, "kind": "dreaming", "batch_size": b, "label": f"batch {b}"} for b in batch_sizes
        },
        "image_size": {
            str(r): {"kind": "dreaming", "random_dcgan": r, "batch_size": batch_size, "label": f"{r}x{r} DCGAN"}
            for r in resolutions
        },
        "mvae_components": {
            str(k): {
                **generator_point,
                "kind": "mvae",
                "components": k,
                "batch_size": batch_size,
                "label": f"MVAE K={k}",
            }
            for k in components
        },
    }
    if device.type == "cuda":
        memory = "torch.cuda.max_memory_allocated during the steps (models, optimiser state, activations)"
    elif isolate:
        memory = (
            "peak RSS during the steps (sampled from /proc every 2 ms) of a fresh process per configuration, which "
            "includes the Python interpreter and torch; rss_added_by_steps_mib is that peak minus the resident set "
            "after loading, before the steps (activations, gradients, optimiser state)"
        )
    else:
        memory = "peak RSS of this process so far (not per configuration: use isolation for that)"
    out: dict[str, Any] = {
        "measure": "scaling",
        "machine": machine_info(device),
        "generator": generator_point,
        "steps": steps,
        "batch_size": batch_size,
        "memory_method": memory,
        "isolated": isolate,
    }
    for sweep, points in sweeps.items():  # keyed by the swept value, e.g. out["batch_size"]["64"]
        out[sweep] = {}
        for key, point in points.items():
            point = {**common, **point}
            print(f"[perf] scaling {point['label']}", file=sys.stderr)
            result = run_isolated(point) if isolate else run_configuration(point)
            out[sweep][key] = {
                "label": point["label"],
                "batch_size": point["batch_size"],
                **{k: point[k] for k in ("random_dcgan", "components") if k in point},
                **result,
            }
    return out


# ---- a competing process -----------------------------------------------------------------------
SPIN = "import os\nparent = os.getppid()\nwhile os.getppid() == parent:\n    for _ in range(100000):\n        pass\n"


@contextlib.contextmanager
def busy_processes(count: int) -> Iterator[list[int]]:
    """`count` processes that spin on the CPU (each exits when this one is gone); stopped on exit."""
    spinners = [subprocess.Popen(python_command(SPIN)) for _ in range(count)]
    try:
        yield [p.pid for p in spinners]
    finally:
        for p in spinners:
            p.kill()
        for p in spinners:
            p.wait()


if __name__ == "__main__":  # one isolated scaling point (run_isolated): its JSON on the last line of stdout
    try:
        print(json.dumps(run_configuration(json.loads(sys.argv[1]))))
    except GaninvError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
