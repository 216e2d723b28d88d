"""Notes on slow steps and the projected-time warning of long trainings (ganinv.status)."""

import logging
import re
import time

import pytest
import torch
import zoo
from click.testing import CliRunner

from ganinv import status
from ganinv.cli.main import cli


def test_a_step_that_ends_soon_says_nothing(caplog):
    with caplog.at_level(logging.INFO, logger="ganinv.status"):
        with status.said_if_slow("reading", after_s=5.0):
            pass
    assert caplog.records == []


def test_a_slow_step_is_said_while_it_runs_and_when_it_ends(caplog):
    with caplog.at_level(logging.INFO, logger="ganinv.status"):
        with status.said_if_slow("reading the weights", after_s=0.05):
            deadline = time.monotonic() + 10
            while not caplog.records and time.monotonic() < deadline:  # the note comes from a timer thread
                time.sleep(0.01)
            said_while_running = [r.getMessage() for r in caplog.records]
    assert said_while_running == ["reading the weights ..."]
    assert caplog.records[-1].getMessage().startswith("reading the weights: done in")


def test_a_training_of_hours_is_announced_with_what_makes_it_shorter():
    text = status.projected_time_warning(6.0, 4996, "cpu")
    assert text is not None
    assert "8.3 hours" in text and "4996 steps" in text
    assert "--steps" in text and "--device cuda" in text and "--resume" in text
    assert "--device cuda" not in (status.projected_time_warning(6.0, 4996, "cuda") or "")


def test_a_training_under_an_hour_is_not_announced():
    assert status.projected_time_warning(0.4, 5000, "cpu") is None  # 33 minutes


def test_pace_measures_the_steps_after_the_first(monkeypatch):
    clock = iter([100.0, 100.0 + 3 * 7.2])  # the first step's end, then three steps of 7.2 s later
    monkeypatch.setattr(status.time, "perf_counter", lambda: next(clock))
    pace = status.Pace(first_step=11, last_step=5000, device_type="cpu")
    said = [pace.warning_after(step) for step in range(11, 20)]
    assert [i for i, text in enumerate(said) if text] == [3]  # once, after steps 12-14 were timed
    assert "7.2 s per step" in said[3] and "4986 steps" in said[3]


@pytest.mark.parametrize("quiet", [False, True])
def test_the_cli_says_a_slow_load_unless_quiet(quiet, tmp_path, monkeypatch):
    case = zoo.case("pytorch-examples-dcgan")
    torch.save(case.build().state_dict(), tmp_path / "netG.pth")
    monkeypatch.setattr(status, "SLOW_AFTER_S", 0.0)  # every step counts as slow
    args = ["fit", "-g", tmp_path / "netG.pth", "--steps", 1, "--batch-size", 4, "--out", tmp_path / "run"]
    result = CliRunner().invoke(cli, [str(a) for a in args + (["--quiet"] if quiet else [])])
    assert result.exit_code == 0, result.output
    said = [line for line in result.stderr.splitlines() if line.startswith("reading the dcgan generator's")]
    if quiet:
        assert said == []
    else:  # when it ends (and while it runs, but that line races the load on a timer thread); one load
        done = [line for line in said if ": done in" in line]
        assert len(done) == 1 and re.fullmatch(r".*weights \(0\.\d+M values\): done in \d+ s", done[0])


def test_fit_announces_its_projected_time_once(tmp_path, monkeypatch):
    monkeypatch.setattr(status, "LONG_TRAINING_S", 0.0)  # every training counts as long
    args = ["fit", "-g", "builtin:mnist", "--steps", 6, "--batch-size", 4, "--out", tmp_path / "run", "--quiet"]
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    said = [line for line in result.stderr.splitlines() if "s per step on the CPU" in line]
    assert len(said) == 1 and said[0].startswith("Warning: at ") and "the remaining 2 steps" in said[0]
