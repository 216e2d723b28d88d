"""The run folder shared by `fit`, `train` and the MVAE trainer, and the set-up around a training loop.

```
RUN/
  config.json            every resolved option, the generator reference (source, weights hash, spec)
  checkpoints/step-000500.pt   model, optimiser and RNG states (tensors only: loaded with weights_only=True), with
                               the sha256 of its tensors, checked when it is loaded
  metrics.jsonl          one JSON record per logging interval
  samples/               PNG grids
  eval.json              final evaluation
  inverter/              the artifact (config.json + model.safetensors [+ generator/])
```
Every file is written atomically (`ganinv.atomic`): a kill during a save leaves the previous good one. A process
that writes a run holds an advisory lock on its folder (`flock`, let go by the system when the process ends, so a
killed run leaves nothing a retry trips on): a second run or resume into the same --out is refused.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
import random
import re
import shutil
import warnings
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional

import numpy as np
import torch
import torch.distributed as dist

from ganinv.atomic import (
    atomic_path,
    json_text,
    parse_json,
    read_text,
    remove_stale_temporaries,
    write_json,
)
from ganinv.config_checks import RUN_KINDS, plain
from ganinv.devices import resolve_device
from ganinv.errors import RunError, first_line
from ganinv.safe_pickle import is_torchscript
from ganinv.weight_files import state_dict_sha256

CHECKPOINT_PATTERN = re.compile(r"step-(\d+)\.pt$")
FINISHED = ("eval.json", "inverter", "generator", "mvae")  # what a run writes when it ends


def differing_fields(was: Mapping[str, Any], now: Mapping[str, Any], prefix: str = "") -> list[str]:
    """The fields of two records that differ, each as "PREFIXname (the run's X, given Y)", sorted by name."""
    names = sorted(k for k in set(was) | set(now) if was.get(k) != now.get(k))
    return [f"{prefix}{k} (the run's {json.dumps(was.get(k))}, given {json.dumps(now.get(k))})" for k in names]


class Run:
    """A run folder: create it (or reopen it to resume), then checkpoints, metrics and pictures."""

    def __init__(self, folder: str | os.PathLike, keep_checkpoints: int = 3, writer: bool = True):
        self.folder = Path(folder)
        if os.path.lexists(self.folder) and not self.folder.is_dir():  # a bare FileExistsError from mkdir before
            raise RunError(f"{self.folder} exists and is not a folder; give a folder for the run (a new one)")
        self.keep_checkpoints = keep_checkpoints  # older numbered checkpoints are deleted
        self.writer = writer  # False on the ranks of a torchrun launch that do not write the folder
        self.config: dict[str, Any] = {}  # as created or reopened; its hash goes into every checkpoint
        self._unlock: Optional[weakref.finalize] = None

    # ---- the lock -------------------------------------------------------------------------------
    def lock(self) -> None:
        """Hold the folder's lock until `release()` (or until this object or the process is gone); refuse a folder
        another process holds. No-op where the system has no `flock` (Windows) and on non-writing ranks."""
        if self._unlock is not None or not self.writer:
            return
        try:
            import fcntl
        except ImportError:  # Windows: no advisory locks on folders
            return
        fd = os.open(self.folder, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise RunError(
                f"another process is writing a run in {self.folder} (a fit, train or mvae fit still running, or its "
                "--resume); wait for it to end, or choose another --out"
            ) from None
        self._unlock = weakref.finalize(self, os.close, fd)

    def release(self) -> None:
        if self._unlock is not None:
            self._unlock()
            self._unlock = None

    @property
    def checkpoint_dir(self) -> Path:
        return self.folder / "checkpoints"

    @property
    def metrics_path(self) -> Path:
        return self.folder / "metrics.jsonl"

    # ---- opening ----------------------------------------------------------------------------
    def check_new(self) -> None:
        """Refuse to start a run in a folder that already holds one (a start that failed before its first
        checkpoint holds nothing to resume, and a new run may take its place), or that holds anything else: a
        folder that is not empty and not a ganinv run is the user's, and nothing in it is ours to replace."""
        if not self.folder.is_dir():
            return
        if (self.folder / "config.json").exists():
            if not self.holds_run_config():
                raise RunError(
                    f"{self.folder} holds a config.json that is not a ganinv run's; choose a new or empty folder "
                    "for --out"
                )
            if self._unlock is None:  # a run another process is still writing is said as such, before any work
                self.lock()
                self.release()
            if not self.failed_start():
                raise RunError(
                    f"{self.folder} already holds a run; pass --resume (in Python, resume=True) to continue it, or "
                    "choose another --out"
                )
        elif any(self.folder.iterdir()):
            raise RunError(
                f"{self.folder} is not empty and holds no ganinv run; choose a new or empty folder for --out"
            )

    def holds_run_config(self) -> bool:
        """Its config.json is one a ganinv run wrote: a JSON object naming the kind of run."""
        try:
            config = parse_json(read_text(self.folder / "config.json"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return False
        return isinstance(config, dict) and any(kind in config for kind in RUN_KINDS)

    def failed_start(self) -> bool:
        """A run folder whose run stopped before its first checkpoint and wrote no result."""
        return self.latest_checkpoint() is None and not any((self.folder / name).exists() for name in FINISHED)

    def create(self, config: dict[str, Any]) -> "Run":
        """Start a new run: write its config.json (over what a failed start left)."""
        self.check_new()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.lock()
        try:
            self.check_new()  # again, under the lock: another process may have started a run here meanwhile
            self.check_no_links()
        except BaseException:
            self.release()
            raise
        for name in ("metrics.jsonl", "samples"):  # a failed start's records: not this run's
            path = self.folder / name
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
        self.remove_stale_temporaries()
        write_json(self.folder / "config.json", config)
        self.config = parse_json(json_text(config))  # as a resume will read it back
        return self

    def check_no_links(self) -> None:
        """Refuse symbolic links among the run's files: a run writes, prunes and reads only what it made inside its
        folder (an outside audit linked `checkpoints/` elsewhere: a resume wrote there and deleted the files it
        took for its old checkpoints)."""
        inside = [self.folder / name for name in sorted(os.listdir(self.folder))]
        for sub in (self.checkpoint_dir, self.folder / "samples"):
            if sub.is_dir() and not sub.is_symlink():
                inside += [sub / name for name in sorted(os.listdir(sub))]
        linked = [path for path in inside if path.is_symlink()]
        if linked:
            more = f" (and {len(linked) - 1} more)" if len(linked) > 1 else ""
            raise RunError(
                f"{linked[0]} is a symbolic link (to {os.readlink(linked[0])}){more}; a run folder holds only the "
                "files its run wrote: put the files themselves there, or choose another --out"
            )

    def remove_stale_temporaries(self) -> None:
        """What saves killed mid-way left in the run folder (ganinv.atomic)."""
        for folder in (self.folder, self.checkpoint_dir):
            remove_stale_temporaries(folder)

    def reopen(self) -> dict[str, Any]:
        """The config of the run being resumed (the folder locked); refuse a folder without one or without
        checkpoints."""
        config_path = self.folder / "config.json"
        if not config_path.is_file():
            raise RunError(
                f"{self.folder} holds no run to resume (no config.json); drop --resume (resume=False) to start one"
            )
        self.lock()  # before anything is read: a run still writing here changes it
        try:
            self.check_no_links()
            if self.latest_checkpoint() is None:
                raise RunError(
                    f"{self.folder} has no checkpoint yet, so there is nothing to resume; drop --resume "
                    "(resume=False) to start the run over in the same folder"
                )
            try:
                config = parse_json(read_text(config_path))
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise RunError(
                    f"{config_path} is not valid JSON ({exc}); the run cannot be resumed: restore the file "
                    "or start a new run with another --out"
                ) from None
            if not isinstance(config, dict):
                raise RunError(f"{config_path} does not hold a run's options; restore it or start a new run")
        except BaseException:
            self.release()  # the error's traceback may keep this object alive: a retry must find the folder free
            raise
        self.remove_stale_temporaries()
        self.config = config
        return config

    def hub_commit(self) -> Optional[str]:
        """The Hub commit the run's generator was read from (its config, as created or reopened), else None."""
        generator = self.config.get("generator")
        hub = generator.get("meta", {}).get("hub", {}) if isinstance(generator, dict) else {}
        commit = hub.get("commit") if isinstance(hub, dict) else None
        return commit if isinstance(commit, str) else None

    def refuse_unrecorded(self, names: list[str]) -> None:
        """On resume, before any is read: refuse inputs the run's config.json names but records no fingerprint of. A
        run ganinv starts records each: an edited config.json could name any folder's images for the run's pictures
        (an outside audit), and read first, such a folder had been listed in the error (another)."""
        recorded = self.config.get("inputs") or {}
        unrecorded = [name for name in names if name not in recorded]
        if unrecorded:
            raise RunError(
                f"the config.json of {self.folder} records no fingerprint of its {' and its '.join(unrecorded)}, which "
                "every run ganinv starts records (an edited or older run?); resume only such runs, or start a new run"
            )

    def check_same_inputs(
        self, inputs: Mapping[str, Optional[str]], generator: Optional[Mapping[str, Any]] = None
    ) -> None:
        """On resume: refuse inputs (a generator's weights, a dataset) whose fingerprints differ from those the run
        recorded when it started, e.g. a relative path resumed from another folder, or a file replaced since.

        A generator given in Python (`fit(..., generator=G)`) comes with "generator_state", the sha256 of its weights
        as they are now (`state_sha256`), and `generator`, its record ({"source", "spec"}): the file it was loaded
        from says nothing of what was done to it since (an outside audit resumed on the unchanged file of a generator
        fine-tuned before the fit), and a spec of another output range gives other images from the same weights."""
        self.refuse_unrecorded([name for name, sha in inputs.items() if sha and name != "generator_state"])
        recorded = self.config.get("inputs") or {}
        changed = [name for name, sha in inputs.items() if sha and recorded.get(name) and recorded[name] != sha]
        respecified = self._spec_changes(generator)
        if (changed or respecified) and self.latest_checkpoint() is not None:
            self.load_checkpoint()  # an edited config.json (another generator named in it) is said as such
        if "generator_state" in inputs and (changed or respecified):
            raise RunError(self._other_generator(inputs, changed, respecified, generator))
        reread = respecified + self._reading_changes(generator)
        if reread and not changed:  # the same weights read as another generator: a config beside them says otherwise
            raise RunError(
                f"the generator given for {self.folder} holds the run's weights but loads as another generator: "
                f"{'; '.join(reread)} (a config or spec beside the weights that differs?); resume with the generator "
                "the run started with, as it was then, or start a new run"
            )
        if changed:
            verb = "differs" if len(changed) == 1 else "differ"
            raise RunError(
                f"the {' and the '.join(changed)} of {self.folder} {verb} from what the run started with (sha256 "
                f"{', '.join(str(inputs[n])[:12] for n in changed)} against "
                f"{', '.join(str(recorded[n])[:12] for n in changed)} in its config.json): a relative path resumed "
                "from another folder, or a file replaced since? resume from where it started, or start a new run"
            )

    def _reading_changes(self, generator: Optional[Mapping[str, Any]]) -> list[str]:
        """The architecture options (as the generator's metadata records them) that differ from the run's record,
        each as "option name (the run's X, given Y)": an outside review resumed, from another folder with `-g PATH`,
        on the run's weights file beside a config.json that made its output a Sigmoid."""
        run_generator = self.config.get("generator")
        was = (run_generator.get("meta") or {}) if isinstance(run_generator, dict) else {}
        now = plain((generator or {}).get("meta") or {})
        if not was or not now:
            return []
        differ = differing_fields({"architecture": was.get("architecture")}, {"architecture": now.get("architecture")})
        was_options, now_options = was.get("options") or {}, now.get("options") or {}
        if isinstance(was_options, dict) and isinstance(now_options, dict):
            differ += differing_fields(was_options, now_options, "option ")
        return differ

    def _spec_changes(self, generator: Optional[Mapping[str, Any]]) -> list[str]:
        """The fields of `generator["spec"]` that differ from the spec the run recorded, each as "name (the run's
        X, given Y)"; none where either is missing."""
        run_generator = self.config.get("generator")
        was = run_generator.get("spec") if isinstance(run_generator, dict) else None
        if generator is None or not isinstance(was, dict):
            return []
        return differing_fields(was, plain(generator["spec"]))  # as config.json reads back: tuples as lists

    def _other_generator(
        self,
        inputs: Mapping[str, Optional[str]],
        changed: list[str],
        respecified: list[str],
        generator: Optional[Mapping[str, Any]],
    ) -> str:
        """The refusal of a generator given in Python that is not the one the run was fitted on, naming what
        differs: its weights, the file it was loaded from, its spec (its source alone is said, never refused)."""
        recorded = self.config.get("inputs") or {}
        differ = []
        if "generator_state" in changed:
            differ.append(
                f"its weights (sha256 {str(inputs['generator_state'])[:12]} against "
                f"{str(recorded['generator_state'])[:12]} in the run's config.json)"
            )
        if "generator" in changed:
            differ.append(
                f"the file it was loaded from (sha256 {str(inputs['generator'])[:12]} against "
                f"{str(recorded['generator'])[:12]})"
            )
        if respecified:
            differ.append("its spec: " + ", ".join(respecified))
        run_generator = self.config.get("generator")
        was = run_generator.get("source") if isinstance(run_generator, dict) else None
        now = generator.get("source") if generator is not None else None
        sources = f"; the run's generator came from {was!r}, this one from {now!r}" if was != now else ""
        return (
            f"the generator given with generator= is not the one {self.folder} was fitted on: "
            f"{'; '.join(differ)}{sources}; pass the generator the run was fitted on, as it was then, or start a new "
            "run"
        )

    # ---- checkpoints ------------------------------------------------------------------------
    def checkpoints(self) -> list[Path]:
        found = [
            (int(m.group(1)), p)
            for p in self.checkpoint_dir.glob("step-*.pt")
            if (m := CHECKPOINT_PATTERN.search(p.name))
        ]  # (step, path)
        return [p for _, p in sorted(found, key=lambda step_path: step_path[0])]

    def latest_checkpoint(self) -> Optional[Path]:
        found = self.checkpoints()
        return found[-1] if found else None

    def check_resume_steps(self, steps: int) -> None:
        """`check_resume_step` from the latest checkpoint's name, before anything is loaded (an outside audit saw a
        128-px `fit --resume` refuse a too-small --steps only after minutes of loading its generator)."""
        latest = self.latest_checkpoint()
        match = CHECKPOINT_PATTERN.search(latest.name) if latest is not None else None
        if match:
            check_resume_step(self, int(match.group(1)), steps)

    def save_checkpoint(self, step: int, state: dict[str, Any]) -> Path:
        """Write `checkpoints/step-NNNNNN.pt` atomically, then drop all but the last few."""
        path = self.checkpoint_dir / f"step-{step:06d}.pt"
        state = {**state, "config_sha256": config_sha256(self.config)} if self.config else state
        state = {**state, TENSORS_SHA256: tensors_sha256(state)}
        with atomic_path(path) as tmp:
            torch.save(state, tmp)
        for old in self.checkpoints()[: -self.keep_checkpoints]:
            old.unlink(missing_ok=True)
        return path

    def load_checkpoint(self, path: Optional[Path] = None, map_location: Any = "cpu") -> dict[str, Any]:
        path = path or self.latest_checkpoint()
        if path is None:
            raise RunError(f"{self.folder} has no checkpoint")
        if not path.is_file():  # a FIFO or device would block the read forever
            raise RunError(f"{path} is not a regular file; delete it to resume from the checkpoint before")
        if is_torchscript(path):  # torch.load would warn that it dispatches to torch.jit.load, then refuse
            raise RunError(
                f"{path} is a TorchScript program, not a checkpoint ganinv wrote; delete it to resume from the one "
                "before"
            )
        try:
            state = torch.load(path, map_location=map_location, weights_only=True)  # never unpickles code
        except pickle.UnpicklingError as exc:  # objects that are no tensors: "damaged" misled (an outside audit)
            raise RunError(
                f"{path} holds objects a checkpoint ganinv wrote never does ({first_line(exc).split('. ')[0]}); it "
                "was not written by ganinv, or was replaced: delete it to resume from the one before"
            ) from None
        except Exception as exc:
            reason = first_line(exc).split(". ")[0]  # torch's zip reader adds a paragraph on other causes
            raise RunError(
                f"cannot read checkpoint {path} (damaged or cut short: {reason}); delete it to resume from the one "
                "before"
            ) from None
        recorded = state.get("config_sha256") if isinstance(state, dict) else None
        if recorded and self.config and recorded not in config_fingerprints(self.config):
            raise RunError(
                f"{self.folder}/config.json was edited after {path.name} was written (a resumed run continues with "
                "the options it started with; only --steps and --device may change): restore it, or start a new run"
            )
        # torch's zip reader checks no CRC: an outside audit resumed from a checkpoint with 64 bytes flipped to a
        # wrong inverter, exit 0. A checkpoint of an older ganinv has no record and is read as before.
        kept = state.get(TENSORS_SHA256) if isinstance(state, dict) else None
        if kept is not None and kept != tensors_sha256(state):
            raise RunError(
                f"{path} is damaged: its tensors are not those it was written with (their sha256 differs from the one "
                "it records); delete it to resume from the one before"
            )
        return state

    def record_steps(self, kind: str, steps: int, schedules: str = "") -> None:
        """On resume with another --steps: record it in config.json, so that a later plain --resume continues to it,
        and say, when `schedules` (e.g. "learning-rate and temperature schedules") follow the total steps, that they
        now span the new total: the weights will be those of neither run (an outside audit saw it go unsaid)."""
        options = self.config.get(kind)
        was = options.get("steps") if isinstance(options, dict) else None
        if not isinstance(options, dict) or was == steps:
            return
        if schedules:
            warnings.warn(
                f"{self.folder} was started for {was} steps and now continues to {steps}: its {schedules} now span "
                f"{steps} steps from here on, so the weights will match neither a run of {was} steps nor one of "
                f"{steps}",
                UserWarning,
                stacklevel=3,
            )
        if not self.writer:
            return
        # the steps it had go on record too: checkpoints of older ganinv versions fingerprint config.json with them
        earlier = self.config.get(EARLIER_STEPS)
        earlier = [*earlier, was] if isinstance(earlier, list) else [was]
        self.config = {**self.config, kind: {**options, "steps": steps}, EARLIER_STEPS: earlier}
        write_json(self.folder / "config.json", self.config)

    # ---- metrics and pictures -----------------------------------------------------------------
    def log_metrics(self, record: dict[str, Any]) -> None:
        line = json_text(record) + "\n"  # refuses NaN before anything is written
        try:
            with open(self.metrics_path, "a") as fh:
                fh.write(line)
        except OSError as exc:  # a full disk: the machine's one line names the file (a resume drops a cut line)
            if exc.filename is None:
                exc.filename = str(self.metrics_path)
            raise

    def truncate_metrics(self, step: int) -> None:
        """On resume: forget records written after the checkpoint we continue from (and a line cut by a kill)."""
        if not self.metrics_path.is_file():
            return
        # line by line, each bounded: a sparse file of 2 GB (944 KB on disk) took 4.7 GB read whole (an outside audit)
        with (
            atomic_path(self.metrics_path) as tmp,
            open(self.metrics_path, encoding="utf-8", errors="replace") as records,
            open(tmp, "w", encoding="utf-8") as kept,
        ):
            for line in bounded_lines(records, MAX_RECORD_CHARS):
                try:
                    record = parse_json(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(record, dict) and record.get("step", 0) <= step:
                    kept.write(line.rstrip("\n") + "\n")

    def save_json(self, name: str, data: Any) -> None:
        write_json(self.folder / name, data)


# ---- randomness ---------------------------------------------------------------------------------
@contextlib.contextmanager
def global_state_kept() -> Iterator[None]:
    """Leave the caller's process as it was: `fit`, `train` and `train_mvae` seed torch's, numpy's and random's
    global streams and flush subnormal floats (`seed_everything`), which a library call must not leave behind (an
    outside audit: after `fit()` the caller's numpy and random streams were those of a fresh `seed(0)`, and subnormal
    floats stayed flushed to zero for the rest of the process). The run's own streams are in its checkpoints."""
    flushing = flushes_denormals()
    torch_state, numpy_state, random_state = torch.get_rng_state(), np.random.get_state(), random.getstate()
    cuda_state = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    try:
        yield
    finally:
        torch.set_rng_state(torch_state)
        if cuda_state is not None:
            torch.cuda.set_rng_state_all(cuda_state)
        np.random.set_state(numpy_state)
        random.setstate(random_state)
        torch.set_flush_denormal(flushing)


def flushes_denormals() -> bool:
    """Whether subnormal floats are flushed to zero now (`torch.set_flush_denormal` has no getter): 1e-40 is subnormal
    in float32, and a multiplication by one keeps it unless they are."""
    return bool(torch.tensor([1e-40], dtype=torch.float32) * 1.0 == 0)


def seed_everything(seed: int) -> None:
    """Seed every random stream, and flush subnormal floats to zero: on CPU they make convolutions
    several times slower, and perturbed or nearly-saturated images produce them (a 4x slower fit)."""
    torch.set_flush_denormal(True)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device


def rng_state(sampler: torch.Generator) -> dict[str, Any]:
    """Every random stream a training step reads: torch's global CPU and CUDA ones and the latent sampler."""
    state: dict[str, Any] = {"torch": torch.get_rng_state(), "sampler": sampler.get_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any], sampler: torch.Generator) -> None:
    torch.set_rng_state(state["torch"])
    sampler.set_state(state["sampler"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# ---- devices and processes ------------------------------------------------------------------------
@dataclass
class Distributed:
    """This process's place in a `torchrun` launch (rank 0 of 1 when run plainly)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def gather(self, obj: Any) -> list[Any]:
        """Every rank's `obj`, in rank order (just `[obj]` without DDP)."""
        if not self.enabled:
            return [obj]
        out: list[Any] = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()


def setup_distributed(device_name: Optional[str] = None) -> tuple[Distributed, torch.device]:
    """Pick the device (default: CUDA when present) and join the process group that `torchrun`
    describes in the environment, if any (gloo on CPU, NCCL on CUDA).

    Returns the rank information and this process's device (`cuda:LOCAL_RANK` on GPUs).
    """
    device = resolve_device(device_name)
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return Distributed(), device
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Distributed(rank, world_size, local_rank), device


def teardown_distributed() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def checkpoint_mismatch(run: Run, exc: BaseException) -> str:
    """What to say when the last checkpoint does not fit the model the run's config.json builds."""
    return (
        f"the checkpoint of {run.folder} does not fit the model its config.json describes ({first_line(exc)}); was "
        "config.json edited? restore it, or start a new run"
    )


def check_resume_step(run: Run, step: int, steps: int) -> None:
    """Refuse to resume a run whose last checkpoint is already past the --steps asked for: it would only evaluate
    the later weights and report them as the shorter run's."""
    if step > steps:
        raise RunError(
            f"{run.folder} was checkpointed at step {step}, past --steps {steps}; give --steps {step} or more to "
            "continue it, or start a new run in another folder"
        )


EARLIER_STEPS = "earlier_steps"  # config.json: the --steps a run had before a resume changed them


MAX_RECORD_CHARS = 1 << 20  # one metrics record is a few hundred characters


def bounded_lines(stream: Any, largest: int) -> Iterator[str]:
    """The lines of a text stream, those longer than `largest` characters skipped unread (they are no records)."""
    while True:
        line = stream.readline(largest)
        if not line:
            return
        if len(line) < largest or line.endswith("\n"):
            yield line
            continue
        while line and not line.endswith("\n"):  # the rest of an overlong line, in bounded chunks
            line = stream.readline(largest)


def config_sha256(config: dict[str, Any]) -> str:
    """A fingerprint of a run's config.json as read back: a checkpoint records it, so an edit is caught on resume.
    The steps are left out: a resume may change them, and records the new ones (`Run.record_steps`)."""
    kept = {
        key: {k: v for k, v in value.items() if k != "steps"} if key in RUN_KINDS and isinstance(value, dict) else value
        for key, value in config.items()
        if key != EARLIER_STEPS
    }
    return hashlib.sha256(json.dumps(kept, sort_keys=True).encode()).hexdigest()


def config_fingerprints(config: dict[str, Any]) -> set[str]:
    """The fingerprints a checkpoint of this run may record: `config_sha256`, and the whole config.json, with each
    of the steps the run has had, that older ganinv versions recorded."""
    plain_config = {key: value for key, value in config.items() if key != EARLIER_STEPS}
    found = {config_sha256(config), hashlib.sha256(json.dumps(plain_config, sort_keys=True).encode()).hexdigest()}
    earlier = config.get(EARLIER_STEPS)
    for steps in earlier if isinstance(earlier, list) else []:
        then = {
            key: {**value, "steps": steps} if key in RUN_KINDS and isinstance(value, dict) else value
            for key, value in plain_config.items()
        }
        found.add(hashlib.sha256(json.dumps(then, sort_keys=True).encode()).hexdigest())
    return found


TENSORS_SHA256 = "tensors_sha256"  # a checkpoint's key: the fingerprint of every tensor in it


def tensors_sha256(state: Any) -> str:
    """A fingerprint of the tensors of a checkpoint's state (the weights, the optimiser's moments, the random
    streams: nearly all its bytes) and where each sits, the record `TENSORS_SHA256` left out."""
    digest = hashlib.sha256()

    def add(where: str, value: Any) -> None:
        if isinstance(value, torch.Tensor):
            data = value.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
            digest.update(f"{where}:{value.dtype}:{tuple(value.shape)}:".encode() + data)
        elif isinstance(value, dict):
            for key in sorted(value, key=str):
                if key != TENSORS_SHA256:
                    add(f"{where}.{key}", value[key])
        elif isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                add(f"{where}[{i}]", item)

    add("", state)
    return digest.hexdigest()


def state_sha256(module: torch.nn.Module) -> str:
    """A fingerprint of a module's weights as they are now, recorded by a fit for its generator: the sha256 of the
    file a generator was loaded from says nothing of what was done to it since."""
    return state_dict_sha256(module.state_dict())


def tensor_sha256(tensor: torch.Tensor) -> str:
    """A fingerprint of a dataset held as one tensor (its bytes), recorded by runs that train on it."""
    return hashlib.sha256(
        tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
    ).hexdigest()
