"""Devices: which torch device a run uses, refused clearly when this machine does not have it.

One place for the rule: the default is CUDA when available, else the CPU; an unknown name, a
backend this machine (or this torch build) lacks, or an index out of range is one `GaninvError`
that lists the devices available. The CLI checks `--device` with it while reading the options;
`fit`, `train`, `mvae fit` and `runs.setup_distributed` resolve their configs' device with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from ganinv.errors import GaninvError

if TYPE_CHECKING:  # torch is imported when a device is resolved: the CLI starts without it
    import torch


def available_devices() -> list[str]:
    """The devices this machine can run on: cpu, cuda:0..N-1, mps."""
    import torch

    devices = ["cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count() if torch.cuda.is_available() else 0)]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append("mps")
    return devices


def resolve_device(name: Optional[str | torch.device]):
    """`--device` as a torch.device that exists here (default: cuda when available, else cpu).

    An unknown device string, a backend this machine lacks (CUDA, MPS) or an index out of range
    raises a `GaninvError` that lists the devices available.
    """
    import torch

    if name is None or (isinstance(name, str) and not name.strip()):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if isinstance(name, torch.device):
        device = name
    else:
        try:
            device = torch.device(str(name).strip())
        except (RuntimeError, ValueError):
            device = None
    available = available_devices()
    if device is None:
        problem = "is not a device name"
    elif device.type == "cuda" and not torch.cuda.is_available():
        problem = "needs CUDA, which this machine (or this torch build) lacks"
    elif device.type == "mps" and "mps" not in available:
        problem = "needs Apple MPS, which this machine lacks"
    elif device.type not in ("cpu", "cuda", "mps"):
        problem = "is not supported by ganinv"
    elif device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        problem = f"is out of range: this machine has {torch.cuda.device_count()} CUDA device(s)"
    elif device.type != "cuda" and device.index not in (None, 0):
        problem = f"is out of range: there is one {device.type} device"
    else:
        return device
    raise GaninvError(f"--device {name!r} {problem}; choose one of {', '.join(available)}")


def default_cpu_threads(window: float = 0.2) -> int:
    """Intra-op threads for a CPU run: the cores that are free now.

    Measured on a 2-core machine (`recipes/bench-perf.toml`): a fit ran at 293 samples/s on 1 thread and 516 on 2
    when alone, but 287 and 160 while another process kept one core busy: threads that share a core with a busy
    process wait for each other at every operation. So ganinv takes the cores minus those busy now: the busy share
    of the machine over `window` seconds (/proc/stat), rounded; elsewhere the 1-minute load average, which also
    counts work that has just ended. At least one. `OMP_NUM_THREADS` or `GANINV_THREADS` override it.
    """
    import os

    cores = os.cpu_count() or 1
    busy = busy_cores(window)
    if busy is None:
        try:
            busy = os.getloadavg()[0]
        except (AttributeError, OSError):  # not on every platform
            return cores
    return max(1, min(cores, cores - round(busy)))


def busy_cores(window: float) -> Optional[float]:
    """How many cores other processes keep busy, from two reads of /proc/stat `window` seconds apart (None: no
    /proc). This process waits in between, so the busy time is theirs."""
    import os
    import time

    def read() -> Optional[tuple[int, int]]:
        try:
            with open("/proc/stat") as fh:
                values = [int(v) for v in fh.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
        return sum(values) - idle, sum(values)

    first = read()
    time.sleep(window)
    second = read()
    if first is None or second is None or second[1] == first[1]:
        return None
    return (os.cpu_count() or 1) * (second[0] - first[0]) / (second[1] - first[1])


def set_cpu_threads() -> Optional[int]:
    """Apply `GANINV_THREADS`, else `default_cpu_threads()` unless `OMP_NUM_THREADS` is set; returns what was set."""
    import os

    import torch

    given = os.environ.get("GANINV_THREADS") or None  # empty: unset, as OMP_NUM_THREADS is read
    if given is None and os.environ.get("OMP_NUM_THREADS"):
        return None  # the user's (or the launcher's) choice, which torch already follows
    try:
        threads = int(given) if given is not None else default_cpu_threads()
    except ValueError:
        raise GaninvError(f"GANINV_THREADS must be a whole number of threads, got {given!r}") from None
    if threads < 1:
        raise GaninvError(f"GANINV_THREADS must be at least 1, got {threads}")
    torch.set_num_threads(threads)
    return threads
