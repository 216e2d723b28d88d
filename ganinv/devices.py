"""Devices: which torch device a run uses, refused clearly when this machine does not have it.

One place for the rule: the default is CUDA when available, else the CPU; an unknown name, a
backend this machine (or this torch build) lacks, or an index out of range is one `GaninvError`
that lists the devices available. The CLI checks `--device` with it while reading the options;
`fit`, `train`, `mvae fit` and `runs.setup_distributed` resolve their configs' device with it.
"""

from __future__ import annotations

from typing import Optional

from ganinv.errors import GaninvError


def available_devices() -> list[str]:
    """The devices this machine can run on: cpu, cuda:0..N-1, mps."""
    import torch

    devices = ["cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count() if torch.cuda.is_available() else 0)]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append("mps")
    return devices


def resolve_device(name: Optional[str]):
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
