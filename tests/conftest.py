"""Shared test set-up: slow tests run only with GANINV_SLOW=1; single-threaded torch for speed on small CPUs."""

import os
from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)
os.environ.setdefault("GANINV_THREADS", "1")  # the CLI's own choice (ganinv.devices.set_cpu_threads) agrees


def pytest_collection_modifyitems(config, items):
    if os.environ.get("GANINV_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow; run with GANINV_SLOW=1")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


# The read-only folder of real data and generators that sits beside the repository (`../shared`).
SHARED = Path(os.environ.get("GANINV_SHARED", Path(__file__).resolve().parents[2] / "shared"))


@pytest.fixture
def shared_dir():
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent")
    return SHARED


@pytest.fixture(scope="session")
def test_device():
    """The device of tests that take one: GANINV_TEST_DEVICE (e.g. cuda), else cpu."""
    return torch.device(os.environ.get("GANINV_TEST_DEVICE", "cpu"))


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """A local Hub endpoint (tests/hub_server.py) for the real client, online, with a cache of its own."""
    from hub_server import HubServer

    with HubServer() as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        yield server
