"""Telling the user, before they wonder, that something takes long: a line while a slow step runs, and a warning
when a training's steps add up to hours (an outside audit: 1-6 minutes of silence while a 64-256 px generator's
architecture was read, and a CPU `fit` of 8-17 hours at 64-128 px that nothing announced)."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Iterator, Optional

# INFO lines on stderr, shown by the CLI unless --quiet (ganinv.cli.main.show_library_log)
status_log = logging.getLogger("ganinv.status")

SLOW_AFTER_S = 10.0  # a step that ends sooner is not announced at all
PROGRESS_EVERY_S = 30.0  # between the progress lines of a slow loop of known length
LONG_TRAINING_S = 3600.0  # a training projected past an hour is announced once, with what makes it shorter


@contextlib.contextmanager
def said_if_slow(what: str, after_s: Optional[float] = None) -> Iterator[None]:
    """Say `what` is under way once it has taken `after_s` seconds (default SLOW_AFTER_S), and how long it took
    when it ends. Nothing is said about a step that ends sooner, so fast cases (tests, small nets) stay quiet.
    """
    after_s = SLOW_AFTER_S if after_s is None else after_s
    start = time.perf_counter()
    timer = threading.Timer(after_s, lambda: status_log.info(f"{what} ..."))
    timer.daemon = True
    timer.start()
    try:
        yield
    except BaseException:  # an error or Ctrl-C: the step did not get done, and must not be said to have
        timer.cancel()
        elapsed = time.perf_counter() - start
        if elapsed >= after_s:
            status_log.info(f"{what}: stopped after {elapsed:.0f} s")
        raise
    timer.cancel()
    elapsed = time.perf_counter() - start
    if elapsed >= after_s:
        status_log.info(f"{what}: done in {elapsed:.0f} s")


class CountedProgress:
    """A line at most every `every_s` seconds, once `after_s` have passed, for a loop of `total` known parts: how many
    are done and, at the pace so far, about how long the rest takes (an outside audit: reading a 128-px DCGAN's
    architecture took 6.5 minutes with a start line and an end line only)."""

    def __init__(
        self,
        what: str,
        total: int,
        after_s: Optional[float] = None,
        every_s: Optional[float] = None,
        verb: str = "scored",
    ):
        self.what, self.total, self.verb = what, total, verb
        self.after_s = SLOW_AFTER_S if after_s is None else after_s
        self.every_s = PROGRESS_EVERY_S if every_s is None else every_s
        self.start = time.perf_counter()
        self.said: Optional[float] = None

    def done(self, count: int) -> None:
        """`count` of the `total` parts are done."""
        now = time.perf_counter()
        elapsed = now - self.start
        if (
            not 0 < count < self.total
            or elapsed < self.after_s
            or (self.said is not None and now - self.said < self.every_s)
        ):
            return
        self.said = now
        left = elapsed / count * (self.total - count)
        rest = f"{left:.0f} s" if left < 3600 else f"{left / 3600:.1f} hours"  # not 2442069 s (a review, 54a)
        status_log.info(
            f"{self.what}: {count} of {self.total} {self.verb} in {elapsed:.0f} s, about {rest} more at this pace"
        )


def projected_time_warning(
    seconds_per_step: float, remaining_steps: int, device_type: str, checkpoint_every: Optional[int] = None
) -> Optional[str]:
    """The warning for a training whose remaining steps take more than an hour at the measured pace, else None;
    `checkpoint_every`: how often the run saves what --resume continues from (a kill before the first checkpoint
    loses everything, which the warning had not said: an outside audit, 51b)."""
    total = seconds_per_step * remaining_steps
    if total < LONG_TRAINING_S:
        return None
    hours = total / 3600
    where = "on the CPU" if device_type == "cpu" else f"on {device_type}"
    gpu = ", or a GPU (--device cuda)" if device_type == "cpu" else ""
    faster = f"fewer --steps, a smaller --batch-size{gpu}"
    return (
        f"at {seconds_per_step:.3g} s per step {where}, the remaining {remaining_steps} steps take about "
        f"{hours:.1f} hours, evaluations aside; {faster} make it shorter, and a stopped run continues with --resume"
        + checkpoints_said(seconds_per_step, remaining_steps, checkpoint_every)
    )


def checkpoints_said(seconds_per_step: float, remaining_steps: int, checkpoint_every: Optional[int]) -> str:
    """How often the checkpoints --resume continues from come, in the warning's words: "about every 0 minutes", and an
    interval past the run's end, had been said (a review, 52a)."""
    if not checkpoint_every:
        return ""
    if checkpoint_every >= remaining_steps:
        return (
            f" once it has a checkpoint, and it saves none before its end (--checkpoint-every N saves one every N "
            f"steps; now {checkpoint_every})"
        )
    seconds = seconds_per_step * checkpoint_every
    pace = f"{seconds / 60:.0f} minutes" if seconds >= 90 else f"{seconds:.0f} s"
    return f" from its last checkpoint (one every {checkpoint_every} steps, about every {pace})"


class Pace:
    """Times the first steps of a training loop, after the first (which pays for lazy set-up), and gives the
    projected-time warning once."""

    def __init__(
        self,
        first_step: int,
        last_step: int,
        device_type: str,
        measured_steps: int = 3,
        checkpoint_every: Optional[int] = None,
    ):
        self.first_step, self.last_step, self.device_type = first_step, last_step, device_type
        self.checkpoint_every = checkpoint_every
        self.measured_steps = measured_steps
        self.started: Optional[float] = None

    def warning_after(self, step: int) -> Optional[str]:
        """Call after each step; returns the warning (at most once) when it is due."""
        if step == self.first_step:
            self.started = time.perf_counter()
        elif self.started is not None and step == self.first_step + self.measured_steps:
            seconds_per_step = (time.perf_counter() - self.started) / self.measured_steps
            self.started = None
            return projected_time_warning(
                seconds_per_step, self.last_step - step, self.device_type, self.checkpoint_every
            )
        return None
