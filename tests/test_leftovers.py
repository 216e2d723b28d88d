"""Nothing a failed or killed command leaves behind blocks the next one."""

import contextlib
import shutil
import subprocess
import sys
from fractions import Fraction

import pytest
import torch
from click.testing import CliRunner

from ganinv.atomic import atomic_dir, atomic_path, remove_stale_temporaries
from ganinv.cli.main import cli
from ganinv.runs import Run


@pytest.fixture(scope="module")
def dead_pid() -> int:
    """The pid of a process that has ended, as a killed save's would be."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def fit_args(out, *extra):
    return [
        "fit",
        "--steps",
        "2",
        "--eval-every",
        "2",
        "--checkpoint-every",
        "2",
        "--width",
        "4",
        "--hidden",
        "8",
        "--quiet",
        "--device",
        "cpu",
        "--out",
        str(out),
        *extra,
    ]


def test_a_start_that_failed_does_not_block_a_retry(tmp_path):
    out = tmp_path / "run"
    failed = CliRunner().invoke(cli, fit_args(out, "--eval-real", str(tmp_path / "missing")))
    assert failed.exit_code == 2 and "Traceback" not in failed.output
    resumed = CliRunner().invoke(cli, ["fit", "--out", str(out), "--resume"])
    # and it says how to go on (the real images are read before the run folder is made, to fingerprint them)
    assert resumed.exit_code == 2 and "holds no run to resume" in resumed.stderr and "drop --resume" in resumed.stderr
    retried = CliRunner().invoke(cli, fit_args(out))
    assert retried.exit_code == 0, retried.output
    assert (out / "inverter" / "model.safetensors").is_file()
    again = CliRunner().invoke(cli, fit_args(out))  # a finished run is protected
    assert again.exit_code == 2 and "already holds a run" in again.stderr


@contextlib.contextmanager
def folder_locked_elsewhere(folder):
    """Another process holding `folder`'s lock, as a run being written does, until the block ends (it is killed)."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDONLY); "
            "fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); time.sleep(120)",
            str(folder),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.skipif(sys.platform == "win32", reason="flock is POSIX")
def test_a_second_process_writing_the_same_run_is_refused_and_a_killed_one_does_not_block(tmp_path):
    """Two runs into one --out (the same command in two terminals, or a --resume while the run still goes) would
    interleave checkpoints and metrics with no sign. The writer holds the folder's lock; the system lets go of it
    when the writer is killed, so a retry then goes on."""
    out = tmp_path / "run"
    assert CliRunner().invoke(cli, fit_args(out)).exit_code == 0
    with folder_locked_elsewhere(out):
        before = sorted(p.name for p in (out / "checkpoints").iterdir())
        refused = CliRunner().invoke(cli, ["fit", "--resume", "--steps", "4", "--quiet", "--out", str(out)])
        errors = [line for line in refused.stderr.splitlines() if line.startswith("Error:")]
        assert refused.exit_code == 2 and len(errors) == 1 and "Traceback" not in refused.output, refused.output
        assert "another process is writing a run in" in errors[0] and "choose another --out" in errors[0]
        assert sorted(p.name for p in (out / "checkpoints").iterdir()) == before  # nothing written
        again = CliRunner().invoke(cli, fit_args(out))  # the same command in a second terminal (audit 10b)
        assert "another process is writing a run in" in again.stderr and "pass --resume" not in again.stderr, (
            again.stderr
        )
    resumed = CliRunner().invoke(cli, ["fit", "--resume", "--steps", "4", "--quiet", "--out", str(out)])
    assert resumed.exit_code == 0, resumed.output


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
def test_a_write_the_file_system_refuses_is_one_error_line_and_a_retry_goes_on(tmp_path):
    """torch's zip writer and safetensors report a full disk (here: a file size limit, which needs no root) as their
    own exceptions, not as OSError; it was an "internal error, RuntimeError: [enforce fail at inline_container.cc]"."""
    out = tmp_path / "run"
    limited = (
        "import resource, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
        "resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000)); "  # samples (43 kB) fit, the checkpoint not
        "from ganinv.cli.main import cli; cli(sys.argv[1:], prog_name='ganinv')"
    )
    failed = subprocess.run([sys.executable, "-c", limited, *fit_args(out)], capture_output=True, text=True)
    errors = [line for line in failed.stderr.splitlines() if line.startswith("Error:")]
    assert failed.returncode == 2 and len(errors) == 1 and "Traceback" not in failed.stderr, failed.stderr
    assert "internal error" not in errors[0] and "checkpoints" in errors[0] and "free space" in errors[0]
    assert not [p for p in out.rglob(".*") if p.name.endswith(".tmp")]  # no temporary left
    retried = CliRunner().invoke(cli, fit_args(out))
    assert retried.exit_code == 0, retried.output


@pytest.mark.skipif(sys.platform == "win32", reason="SIGPIPE's exit status is POSIX")
def test_a_reader_of_stdout_that_went_away_ends_the_command_quietly():
    """Audit 39b: `ganinv loglik ... | head` said "Error: Broken pipe; check the path, its permissions and the free
    space". It exits as a program killed by SIGPIPE does (141), saying nothing."""
    script = "import sys; from ganinv.cli.main import cli; cli(sys.argv[1:], prog_name='ganinv')"
    args = ["loglik", "--inverter", "builtin:mnist", "--generated", "2", "--k", "1", "--quiet"]
    done = subprocess.Popen([sys.executable, "-c", script, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert done.stdout is not None and done.stderr is not None
    done.stdout.close()  # before the first line: the imports alone take longer
    said = done.stderr.read().decode()
    assert done.wait() == 141 and said == "", said


@pytest.mark.skipif(sys.platform == "win32", reason="poll is POSIX")
@pytest.mark.parametrize("closed", [True, False])
def test_only_stdouts_own_reader_gone_ends_a_command_silently(closed):
    """Review 40a: every BrokenPipeError ended the command silently (141), one on another stream too. Only a stdout
    pipe whose reader closed it reads as gone; otherwise it is one Error line."""
    script = "import sys; from ganinv.cli.main import stdout_reader_gone; sys.stderr.write(str(stdout_reader_gone()))"
    done = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert done.stdout is not None and done.stderr is not None
    if closed:
        done.stdout.close()
    said = done.stderr.read().decode()
    done.wait()
    assert said == str(closed)


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
@pytest.mark.parametrize("writer", ["torch", "safetensors"])
def test_atomic_path_reports_a_refused_write_as_an_os_error(tmp_path, writer):
    script = (
        "import resource, signal, sys, torch; from safetensors.torch import save_file; "
        "from ganinv.atomic import atomic_path; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
        "resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536)); tensors = {'w': torch.zeros(100_000)}\n"
        "try:\n"
        "    with atomic_path(sys.argv[1]) as tmp:\n"
        "        torch.save(tensors, tmp) if sys.argv[2] == 'torch' else save_file(tensors, str(tmp))\n"
        "except OSError as exc:\n"
        "    print(exc.errno, exc.filename)\n"
    )
    target = tmp_path / "weights"
    done = subprocess.run([sys.executable, "-c", script, str(target), writer], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    code, filename = done.stdout.split()
    assert int(code) > 0 and filename == str(target)
    assert list(tmp_path.iterdir()) == []  # neither the target nor a temporary


def test_the_next_run_removes_what_killed_saves_left(tmp_path, dead_pid):
    out = tmp_path / "run"
    assert CliRunner().invoke(cli, fit_args(out)).exit_code == 0
    stale = [
        out / f".inverter.ganinv-{dead_pid}-abcd1234.tmp",
        out / "checkpoints" / f".step-000002.pt.ganinv-{dead_pid}-x_y_z_12.tmp",
        out / f".inverter.ganinv-old-{dead_pid}",
        out / f".eval.json.ganinv-{dead_pid}-qwertyui.tmp",
    ]
    others = [  # what other programs and users name alike, without ganinv's mark: never touched (audit 15)
        out / f".cache.{dead_pid}.abcdefgh.tmp",
        out / f".thesis.tex.{dead_pid}.AbCdEfGh.tmp",
        out / ".zshrc.old-2023",
    ]
    for path in others:
        path.mkdir() if "cache" in path.name else path.write_text("theirs")
    for path in stale:
        path.mkdir() if "old" in path.name or "inverter" in path.name else path.write_text("partial")
    mine = out / "notes.txt"
    mine.write_text("the user's")
    resumed = CliRunner().invoke(cli, ["fit", "--out", str(out), "--resume", "--steps", "4", "--quiet"])
    assert resumed.exit_code == 0, resumed.output
    assert not any(path.exists() for path in stale) and mine.read_text() == "the user's"
    assert all(path.exists() for path in others) and not (out / "zshrc").exists()


def test_a_live_processes_temporaries_are_left_alone(tmp_path):
    live = tmp_path / f".model.safetensors.ganinv-{subprocess.os.getpid()}-abcdefgh.tmp"
    live.write_text("being written")
    assert remove_stale_temporaries(tmp_path) == [] and live.exists()


def test_a_folder_moved_aside_without_its_replacement_is_restored(tmp_path, dead_pid):
    """Killed between atomic_dir's two renames: the old copy is the only one, and comes back."""
    aside = tmp_path / f".artifact.ganinv-old-{dead_pid}"
    aside.mkdir()
    (aside / "config.json").write_text("{}")
    with atomic_path(tmp_path / "other.txt") as tmp:  # any later save in the folder tidies it
        tmp.write_text("x")
    assert (tmp_path / "artifact" / "config.json").read_text() == "{}" and not aside.exists()


def test_atomic_dir_replaces_and_leaves_no_temporary(tmp_path):
    for text in ("one", "two"):
        with atomic_dir(tmp_path / "artifact") as tmp:
            (tmp / "f").write_text(text)
    assert (tmp_path / "artifact" / "f").read_text() == "two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["artifact"]


def test_run_check_new_accepts_only_a_failed_start(tmp_path):
    run = Run(tmp_path / "r")
    run.create({"fit": {}})
    run.check_new()  # no checkpoint and no result: a failed start
    (tmp_path / "r" / "eval.json").write_text("{}")
    with pytest.raises(Exception, match=r"already holds a run; pass --resume \(in Python, resume=True\)"):
        run.check_new()


def test_cpu_threads_follow_the_free_cores_and_the_override(monkeypatch):
    import os

    import torch

    import ganinv.devices
    from ganinv.devices import default_cpu_threads, set_cpu_threads
    from ganinv.errors import GaninvError

    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    monkeypatch.setattr(ganinv.devices, "busy_cores", lambda window: 1.2)
    assert default_cpu_threads() == 3  # one core busy elsewhere
    monkeypatch.setattr(ganinv.devices, "busy_cores", lambda window: 9.0)
    assert default_cpu_threads() == 1
    monkeypatch.setattr(ganinv.devices, "busy_cores", lambda window: None)  # no /proc: the load average
    monkeypatch.setattr(os, "getloadavg", lambda: (2.2, 0.0, 0.0))
    assert default_cpu_threads() == 2
    before = torch.get_num_threads()
    try:
        monkeypatch.setenv("GANINV_THREADS", "2")
        assert set_cpu_threads() == 2 and torch.get_num_threads() == 2
        monkeypatch.setenv("GANINV_THREADS", "zero")
        with pytest.raises(GaninvError, match="GANINV_THREADS"):
            set_cpu_threads()
    finally:
        torch.set_num_threads(before)


def test_an_unfinished_run_given_as_an_inverter_names_the_resume(tmp_path):
    out = tmp_path / "run"
    (out / "checkpoints").mkdir(parents=True)
    (out / "config.json").write_text("{}")  # the run's own config, not an inverter's
    refused = CliRunner().invoke(cli, ["invert", "--inverter", str(out), "mnist", "--out", str(tmp_path / "o")])
    assert refused.exit_code == 2 and f"ganinv fit --resume --out {out}" in refused.stderr, refused.output


def test_a_mistyped_local_run_is_not_looked_up_on_the_hub(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    refused = CliRunner().invoke(cli, ["invert", "--inverter", "runs/reff", "mnist", "--out", "o"])
    assert refused.exit_code == 2 and "runs/reff does not exist" in refused.stderr, refused.output
    assert "cache" not in refused.stderr and "reached" not in refused.stderr


def test_a_run_or_inverter_folder_given_as_the_generator_names_its_generator(tmp_path):
    """`sample -g RUN` said the folder must hold config.json (it does); `-g RUN/inverter` listed every adapter's
    failure on encoder weights (audit 9)."""
    out = tmp_path / "run"
    assert CliRunner().invoke(cli, fit_args(out)).exit_code == 0
    for given in (out, out / "inverter"):
        refused = CliRunner().invoke(cli, ["sample", "-g", str(given), "-n", "2", "--out", str(tmp_path / "x.png")])
        assert refused.exit_code == 2 and f"its generator is {out / 'inverter' / 'generator'}" in refused.stderr, (
            refused.output
        )
    bundled = CliRunner().invoke(
        cli, ["sample", "-g", str(out / "inverter" / "generator"), "-n", "2", "--out", str(tmp_path / "x.png")]
    )
    assert bundled.exit_code == 0, bundled.output
    shutil.rmtree(out / "inverter" / "generator")  # as a program's run leaves it: named, not bundled (57b)
    for given in (out, out / "inverter"):
        refused = CliRunner().invoke(cli, ["sample", "-g", str(given), "-n", "2", "--out", str(tmp_path / "x.png")])
        assert refused.exit_code == 2 and "its generator was not bundled (a program" in refused.stderr, refused.output


def test_a_cut_short_checkpoint_is_one_short_sentence_and_the_retry_goes_on(tmp_path):
    """Audit 10b: a truncated checkpoint's error carried torch's whole paragraph on the zip reader's other causes."""
    out = tmp_path / "run"
    args = fit_args(out)
    args[args.index("--steps") + 1] = "4"  # one --steps: given twice, a one-value option is refused
    assert CliRunner().invoke(cli, args).exit_code == 0  # checkpoints at 2 and 4
    latest = sorted((out / "checkpoints").iterdir())[-1]
    latest.write_bytes(latest.read_bytes()[:2000])
    refused = CliRunner().invoke(cli, ["fit", "--resume", "--steps", "4", "--quiet", "--out", str(out)])
    errors = [line for line in refused.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and f"cannot read checkpoint {latest} (damaged or cut short: " in errors[0], refused.output
    assert len(errors[0]) < 400 and "delete it to resume from the one before" in errors[0]
    # audit 21b: a checkpoint replaced by a pickle of other objects, or by a TorchScript program, is said to be one,
    # not "damaged or cut short" (nothing in it runs either way)
    for replaced, said in (
        (lambda: torch.save({"model": Fraction(1, 2)}, latest), "holds objects a checkpoint ganinv wrote never does"),
        (lambda: torch.jit.save(torch.jit.script(torch.nn.Identity()), str(latest)), "is a TorchScript program"),
    ):
        replaced()
        refused = CliRunner().invoke(cli, ["fit", "--resume", "--steps", "4", "--quiet", "--out", str(out)])
        errors = [line for line in refused.stderr.splitlines() if line.startswith(("Error:", "Warning:"))]
        assert len(errors) == 1 and said in errors[0] and "delete it to resume" in errors[0], refused.output
    latest.unlink()
    assert CliRunner().invoke(cli, ["fit", "--resume", "--steps", "4", "--quiet", "--out", str(out)]).exit_code == 0
    assert (out / "inverter").is_dir()


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="symbolic links and FIFOs are POSIX")
def test_a_run_folder_with_links_is_refused_before_anything_is_written_or_deleted(tmp_path):
    """Audit 11b: a run folder whose `checkpoints/` linked elsewhere was resumed through the link: it wrote a
    checkpoint there and pruned the target's own files as old checkpoints. A FIFO checkpoint blocked forever."""
    import os

    out = tmp_path / "run"
    assert CliRunner().invoke(cli, fit_args(out)).exit_code == 0
    victim = tmp_path / "victim"
    os.rename(out / "checkpoints", victim)
    (victim / "step-000000.pt").write_text("precious")
    (out / "checkpoints").symlink_to(victim)
    before = sorted(os.listdir(victim))
    refused = CliRunner().invoke(cli, ["fit", "--resume", "--steps", "4", "--quiet", "--out", str(out)])
    assert refused.exit_code == 2 and "checkpoints is a symbolic link" in refused.stderr, refused.output
    assert sorted(os.listdir(victim)) == before and (victim / "step-000000.pt").read_text() == "precious"

    (out / "checkpoints").unlink()
    os.rename(victim, out / "checkpoints")
    (out / "checkpoints" / "step-000000.pt").unlink()
    os.mkfifo(out / "checkpoints" / "step-000009.pt")
    refused = CliRunner().invoke(cli, ["fit", "--resume", "--steps", "12", "--quiet", "--out", str(out)])
    assert refused.exit_code == 2 and "step-000009.pt is not a regular file" in refused.stderr, refused.output


@pytest.mark.skipif(sys.platform == "win32", reason="flock is POSIX")
def test_a_run_starting_in_another_process_is_said_before_any_work(tmp_path):
    """Audit 10c: a second fit into a folder whose run had not yet written a checkpoint loaded its generator (and
    printed its warnings) before being refused; the folder's lock is now tried first."""
    out = tmp_path / "run"
    out.mkdir()
    (out / "config.json").write_text('{"fit": {}}')  # a run started, before its first checkpoint
    with folder_locked_elsewhere(out):
        refused = CliRunner().invoke(cli, ["fit", "-g", str(tmp_path / "absent.pth"), "--out", str(out), "--quiet"])
        assert refused.exit_code == 2 and "another process is writing a run in" in refused.stderr, refused.output


def test_the_command_line_applies_ganinv_threads(tmp_path, monkeypatch):
    """GANINV_THREADS was never applied by a command (its check read click's invoked_subcommand before click set it),
    and `abc` passed in silence (an outside audit, 49a)."""
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        monkeypatch.setenv("GANINV_THREADS", "1")
        result = CliRunner().invoke(cli, ["sample", "-n", "1", "--out", str(tmp_path / "s.png")])
        assert result.exit_code == 0, result.output
        assert torch.get_num_threads() == 1
        monkeypatch.setenv("GANINV_THREADS", "abc")
        result = CliRunner().invoke(cli, ["sample", "-n", "1", "--out", str(tmp_path / "t.png")])
        assert result.exit_code != 0 and "GANINV_THREADS must be a whole number of threads" in result.output
        assert not (tmp_path / "t.png").exists()
    finally:
        torch.set_num_threads(before)


def test_a_bad_ganinv_threads_does_not_hide_help_or_usage_errors(monkeypatch):
    """A review (50a): once GANINV_THREADS was applied, `abc` refused `inspect --help` and hid "No such command"; an
    empty value is unset, as an empty OMP_NUM_THREADS is."""
    monkeypatch.setenv("GANINV_THREADS", "abc")
    assert "Usage: cli inspect" in CliRunner().invoke(cli, ["inspect", "--help"]).output
    assert "No such command 'nosuch'" in CliRunner().invoke(cli, ["nosuch"]).output
    monkeypatch.setenv("GANINV_THREADS", "")
    before = torch.get_num_threads()
    try:
        assert CliRunner().invoke(cli, ["inspect", "builtin:mnist"]).exit_code == 0
    finally:
        torch.set_num_threads(before)
