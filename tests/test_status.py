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
from ganinv.spec import Latents


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


def test_a_slow_step_that_fails_is_not_said_to_be_done(caplog):
    """A refinement stopped by an error (or Ctrl-C) after a minute had been said to be "done in 59 s"."""
    with caplog.at_level(logging.INFO, logger="ganinv.status"):
        with pytest.raises(KeyboardInterrupt):
            with status.said_if_slow("refining", after_s=0.0):
                time.sleep(0.01)
                raise KeyboardInterrupt
    said = [r.getMessage() for r in caplog.records]
    assert said[-1].startswith("refining: stopped after") and not [s for s in said if "done" in s]


def test_a_training_of_hours_is_announced_with_what_makes_it_shorter():
    text = status.projected_time_warning(6.0, 4996, "cpu")
    assert text is not None
    assert "8.3 hours" in text and "4996 steps" in text
    assert "--steps" in text and "--device cuda" in text and "--resume" in text
    assert "--device cuda" not in (status.projected_time_warning(6.0, 4996, "cuda") or "")
    # how often it saves what --resume continues from: a kill before the first checkpoint loses it all (audit 51b)
    every = status.projected_time_warning(6.0, 4996, "cpu", checkpoint_every=500) or ""
    assert every.endswith(
        "continues with --resume from its last checkpoint (one every 500 steps, about every 50 minutes)"
    )
    assert status.projected_time_warning(6.0, 4996, "cpu", checkpoint_every=10).endswith("about every 60 s)")  # 52a
    past_the_end = status.projected_time_warning(6.0, 4996, "cpu", checkpoint_every=10000) or ""
    assert "once it has a checkpoint, and it saves none before its end (--checkpoint-every N" in past_the_end


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


def test_a_slow_loop_says_how_far_it_is_and_how_long_the_rest_takes(caplog, monkeypatch):
    clock = iter([100.0, 112.0, 115.0, 150.0, 160.0])  # start, then the ends of parts 1-4
    monkeypatch.setattr(status.time, "perf_counter", lambda: next(clock))
    progress = status.CountedProgress("readings", total=4, after_s=10.0, every_s=30.0)
    with caplog.at_level(logging.INFO, logger="ganinv.status"):
        for count in range(1, 5):
            progress.done(count)
    said = [r.getMessage() for r in caplog.records]
    # part 1 at 12 s (slow: said), part 2 within 30 s of that line (not said), part 3 at 50 s, the end not said
    assert said == [
        "readings: 1 of 4 scored in 12 s, about 36 s more at this pace",
        "readings: 3 of 4 scored in 50 s, about 17 s more at this pace",
    ]
    clock = iter([0.0, 100.0])  # past an hour, the rest is said in hours, not 2442069 s (a review, 54a)
    long = status.CountedProgress("refining", total=1000, after_s=10.0, every_s=30.0, verb="done")
    with caplog.at_level(logging.INFO, logger="ganinv.status"):
        long.done(1)
    assert caplog.records[-1].getMessage() == "refining: 1 of 1000 done in 100 s, about 27.8 hours more at this pace"


def test_a_slow_architecture_reading_says_its_progress_and_the_options_that_skip_it(tmp_path, monkeypatch, caplog):
    """The options it names, given, leave one reading to score and load the same generator (an outside audit: a
    128-px DCGAN read for 6.5 minutes with a start line and an end line only)."""
    from ganinv.adapters.statedict import identification

    from ganinv.sources import load_generator

    case = zoo.case("pytorch-examples-dcgan")
    torch.manual_seed(0)
    torch.save(case.build().state_dict(), tmp_path / "netG.pth")
    monkeypatch.setattr(status, "SLOW_AFTER_S", 0.0)  # every step counts as slow
    monkeypatch.setattr(status, "PROGRESS_EVERY_S", 0.0)
    monkeypatch.setattr(
        identification, "_SEARCHES", type(identification._SEARCHES)()
    )  # no earlier test's search remembered
    scored = []
    search = identification.search
    monkeypatch.setattr(identification, "search", lambda props, *a: scored.append(props) or search(props, *a))
    with caplog.at_level(logging.INFO, logger="ganinv.status"):
        read = load_generator(str(tmp_path / "netG.pth"))
    said = [r.getMessage() for r in caplog.records]
    assert any(
        re.fullmatch(r"candidate readings of the architecture: 1 of \d+ scored in .* at this pace", m) for m in said
    )
    hint = [m for m in said if m.startswith("to skip this reading next time, give what it decided: ")]
    assert len(hint) == 1
    # the last stage is assumed, and copying the line pins it: said so (an outside audit, 51a)
    caveat = hint[0].partition(" (of these, ")[2]
    assert "strides" in caveat and "assumed, not read from the weights" in caveat
    assert "output_geometry" not in caveat  # no flag of the line: its options are named (a review, 52a)
    options = dict(f.split("=", 1) for f in re.findall(r"--option (\S+)", hint[0]))
    assert {"strides", "paddings", "activation", "norm_eps"} <= set(options)
    scored.clear()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="ganinv.status"):
        given = load_generator(str(tmp_path / "netG.pth"), options=options)
    assert not [r for r in caplog.records if r.getMessage().startswith("to skip")]  # nothing decided, nothing named
    assert all(p.values is None or len(p.values) == 1 for props in scored for p in props)  # nothing left to choose
    z = torch.randn(3, read.spec.nz, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(given.decode(Latents(z)), read.decode(Latents(z)))


def test_fit_announces_its_projected_time_once(tmp_path, monkeypatch):
    monkeypatch.setattr(status, "LONG_TRAINING_S", 0.0)  # every training counts as long
    args = ["fit", "-g", "builtin:mnist", "--steps", 6, "--batch-size", 4, "--out", tmp_path / "run", "--quiet"]
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    said = [line for line in result.stderr.splitlines() if "s per step on the CPU" in line]
    assert len(said) == 1 and said[0].startswith("Warning: at ") and "the remaining 2 steps" in said[0]


def test_inverting_many_images_says_how_far_it_is(monkeypatch, caplog):
    """Encoding 60000 images took 80 silent seconds and refining 10000 eleven minutes with one line at the start (an
    outside audit, 51b): both say how many are done and about how long the rest takes."""
    from ganinv.invert import invert
    from ganinv.inverter import Inverter

    monkeypatch.setattr(status, "SLOW_AFTER_S", 0.0)  # every step counts as slow
    monkeypatch.setattr(status, "PROGRESS_EVERY_S", 0.0)
    inverter = Inverter.load("builtin:mnist")
    _, images = inverter.generator.sample(3, generator=torch.Generator().manual_seed(0))
    with caplog.at_level(logging.INFO, logger="ganinv.status"):
        invert(inverter, images, refine_steps=2, batch_size=1)
    said = [r.getMessage() for r in caplog.records]
    assert any(
        re.fullmatch(r"encoding 3 images: [12] of 3 done in \d+ s, about \d+ s more at this pace", m) for m in said
    )
    # refinement counts image-steps: one image's --refine 10**12 had said nothing (an outside audit, 53c)
    pace = r"refining the latents of 3 images: [1-5] of 6 image-steps done in \d+ s, about \d+ s more at this pace"
    assert any(re.fullmatch(pace, m) for m in said), said
