"""Interrupting a run in-process at a chosen checkpoint, as a Ctrl-C right there would."""

from ganinv.runs import Run


def stop_after_checkpoint(monkeypatch, at: int):
    """Ctrl-C right after the checkpoint of step `at` is written; returns the real `Run.save_checkpoint`."""
    save = Run.save_checkpoint

    def stopped(self, step, state):
        path = save(self, step, state)
        if step == at:
            raise KeyboardInterrupt
        return path

    monkeypatch.setattr(Run, "save_checkpoint", stopped)
    return save
