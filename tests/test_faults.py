"""Fault tests with real processes: signals and kills leave no process, no temporary file, no planted command.

Each test starts the real ``lim-hw`` console script in its own session with a
marker in its environment (inherited by ngspice, the shared-engine worker, the
fork server, the pool workers and the resource tracker) and ``TMPDIR`` pointed
at a fresh test directory, waits (polling /proc) until ngspice runs, then sends
SIGTERM or SIGKILL. It asserts that no marked process survives, that ``TMPDIR``
is empty again, that a reader of the child's pipes gets end of file, and that
no partial result appears.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

LIM_HW = str(Path(sys.executable).with_name("lim-hw"))
MARK = "LIM_HW_FAULT_TEST"
#: A retention run of 1e6 steps (minutes of ngspice; almost nothing to plan), still going
#: when the signal arrives.
LONG_CARD = """[schedule]
n_updates = 0
[simulation]
duration_s = 100.0
max_step_s = 1e-4
"""
SWEEP = """[sweep]
name = "faults"
card = "long.toml"
analysis = "flow"
[grid]
"device.tox_m" = [11.8e-9, 12e-9, 12.2e-9, 12.4e-9]
"""

pytestmark = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc")


def marked(marker: str) -> dict[int, str]:
    """pid -> command name of every live process whose environment carries ``marker``."""
    needle = f"{MARK}={marker}".encode()
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            env = Path(f"/proc/{entry}/environ").read_bytes()
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if needle in env.split(b"\0") and stat.split(") ")[-1][:1] != "Z":
            out[int(entry)] = Path(f"/proc/{entry}/comm").read_text().strip()
    return out


def wait_for(predicate, timeout_s: float, what: str) -> None:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def start(args: list[str], tmp_path: Path) -> tuple[subprocess.Popen, str, Path]:
    marker = uuid.uuid4().hex
    tmpdir = tmp_path / "tmpdir"  # short: the fork server's AF_UNIX socket lives in TMPDIR (108-byte limit)
    tmpdir.mkdir()
    env = dict(os.environ, TMPDIR=str(tmpdir), **{MARK: marker})
    proc = subprocess.Popen([LIM_HW, *args], cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    return proc, marker, tmpdir


def running_ngspice(marker: str, proc: subprocess.Popen, need: int = 1):
    def check() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"lim-hw ended early: {proc.communicate()}")
        names = list(marked(marker).values())
        return names.count("ngspice") >= need or (need == 1 and any(n.startswith("python") for n in names[1:])
                                                 and _shared(marker))
    return check


def _shared(marker: str) -> bool:
    """The shared engine: a worker whose libngspice is loaded (its maps name libngspice)."""
    for pid, name in marked(marker).items():
        try:
            if "libngspice" in Path(f"/proc/{pid}/maps").read_text():
                return True
        except OSError:
            pass
    return False


def assert_clean(proc: subprocess.Popen, marker: str, tmpdir: Path, timeout_s: float = 15.0) -> tuple[str, str]:
    try:
        out, err = proc.communicate(timeout=timeout_s)  # end of file on both pipes
    except subprocess.TimeoutExpired:
        proc.kill()  # a failing test leaves no process behind either
        proc.communicate()
        raise
    wait_for(lambda: not marked(marker), timeout_s, f"marked processes to exit: {marked(marker)}")
    assert sorted(p.name for p in tmpdir.iterdir()) == []
    return out.decode(errors="replace"), err.decode(errors="replace")


@pytest.fixture
def tmp_path():
    """A short private folder under /tmp (pytest's tmp_path can be too deep for an AF_UNIX socket)."""
    import shutil
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="lhf-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def long_card(tmp_path: Path) -> Path:
    card = tmp_path / "long.toml"
    card.write_text(LONG_CARD)
    return card


@pytest.mark.parametrize("engine", ["batch", "shared"])
def test_sigterm_of_simulate_kills_ngspice_and_leaves_nothing(tmp_path, long_card, engine):
    proc, marker, tmpdir = start(["simulate", "long.toml", "-o", "out", "--quiet", "--engine", engine], tmp_path)
    wait_for(running_ngspice(marker, proc), 60, "ngspice to run")
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _, err = assert_clean(proc, marker, tmpdir)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert time.monotonic() - t0 < 10  # did not wait for the ~12 s simulation
    assert "terminated by SIGTERM" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.toml", "tmpdir"]


@pytest.mark.parametrize("engine", ["batch", "shared"])
def test_sigkill_of_simulate_leaves_no_orphan(tmp_path, long_card, engine):
    proc, marker, tmpdir = start(["simulate", "long.toml", "-o", "out", "--quiet", "--engine", engine], tmp_path)
    wait_for(running_ngspice(marker, proc), 60, "ngspice to run")
    proc.kill()
    assert_clean(proc, marker, tmpdir)
    assert proc.returncode == -signal.SIGKILL
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.toml", "tmpdir"]


def test_sighup_of_simulate_is_a_clean_stop(tmp_path, long_card):
    proc, marker, tmpdir = start(["simulate", "long.toml", "-o", "out", "--quiet"], tmp_path)
    wait_for(running_ngspice(marker, proc), 60, "ngspice to run")
    proc.send_signal(signal.SIGHUP)
    assert_clean(proc, marker, tmpdir)
    assert proc.returncode == 128 + signal.SIGHUP


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_signal_to_sweep_leaves_no_worker_forkserver_or_tracker(tmp_path, long_card, sig):
    (tmp_path / "s.toml").write_text(SWEEP)
    proc, marker, tmpdir = start(["sweep", "s.toml", "-o", "sw", "--workers", "2", "--quiet"], tmp_path)
    wait_for(running_ngspice(marker, proc, need=2), 90, "two ngspice runs in the pool")
    assert len(marked(marker)) >= 5  # lim-hw, fork server, resource tracker, 2 workers (+ ngspice)
    proc.send_signal(sig)
    _, err = assert_clean(proc, marker, tmpdir, timeout_s=20)
    if sig == signal.SIGTERM:
        assert proc.returncode == 128 + signal.SIGTERM, err
        assert "rerun with --resume" in err
    else:
        assert proc.returncode == -signal.SIGKILL
    points = tmp_path / "sw" / "points"
    assert not [p for p in points.iterdir() if p.name.startswith(".")]  # no half-written point left


def test_planted_spiceinit_is_never_run(tmp_path):
    """A .spiceinit in $TMPDIR, in $HOME and in the cwd runs `shell touch`: neither engine may run it."""
    tmpdir, home, work = tmp_path / "tmpdir", tmp_path / "home", tmp_path / "work"
    for d in (tmpdir, home, work):
        d.mkdir()
        (d / ".spiceinit").write_text(f"* planted\nshell touch {tmp_path}/PLANTED_{d.name}\n")
    env = dict(os.environ, TMPDIR=str(tmpdir), HOME=str(home))
    card = work / "c.toml"
    card.write_text("[schedule]\nn_updates = 0\n[simulation]\nduration_s = 10.0\n")
    for engine in ("batch", "shared"):
        r = subprocess.run([LIM_HW, "simulate", "c.toml", "-o", f"out_{engine}", "--quiet", "--engine", engine],
                           cwd=work, env=env, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        assert (work / f"out_{engine}" / "summary.json").exists()
    # the control experiment: ngspice itself does run a .spiceinit in its cwd, so the plant is live
    deck = work / "d.cir"
    deck.write_text("* t\nv1 a 0 1\nr1 a 0 1k\n.tran 1n 10n\n.end\n")
    subprocess.run(["ngspice", "-b", str(deck)], cwd=tmpdir, env=env, capture_output=True, timeout=60)
    assert sorted(p.name for p in tmp_path.glob("PLANTED_*")) == ["PLANTED_tmpdir"]
    assert sorted(p.name for p in tmpdir.iterdir()) == [".spiceinit"]  # nothing left behind either
