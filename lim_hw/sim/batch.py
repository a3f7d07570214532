"""Batch engine (the default): one ``ngspice -b`` subprocess per simulation.

The deck gets a control block that saves only the requested vectors, runs, and
writes them to a binary raw file, which :mod:`lim_hw.sim.rawfile` reads with numpy.
Deck, log and raw file are unlinked temporary files (see :func:`run`), so nothing
is left on disk whatever happens. A crash or hang takes down only that
subprocess; runs in parallel threads or processes do not share anything.

ngspice is looked up on every call: ``$LIM_HW_NGSPICE`` (a path or a command name)
if set, else ``ngspice`` on ``PATH``. It runs with ``-n`` (no ``.spiceinit`` is
read, neither ``./.spiceinit`` nor ``~/.spiceinit``) in a private empty directory
that is also its ``HOME``, in its own process group, and dies with this process
(parent-death signal); :func:`kill_all` stops every run on termination.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .control import batch_control
from .errors import (INSTALL_HINT, NgspiceNotFoundError, RawFileError, SimulationError,
                     SimulationTimeoutError, clean_log, error_from_log)
from .rawfile import read_raw
from .types import EngineRun

ENV_BINARY = "LIM_HW_NGSPICE"
_RAW = "out.raw"
#: Longest wait for ``ngspice -v`` when no simulation budget applies (provenance of result files).
PROBE_TIMEOUT_S = 20.0
#: A log larger than twice this is kept as its first and last LOG_KEEP_BYTES.
LOG_KEEP_BYTES = 1 << 20
_VERSIONS: dict[tuple[str, int], str] = {}
_RUNNING: set[int] = set()          # process groups of the ngspice runs in flight
_TERMINATING = threading.Event()
_PR_SET_PDEATHSIG = 1


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` giving the child SIGKILL when this process dies (Linux prctl), else None."""
    prctl = _prctl()
    if prctl is None:
        return None
    parent = os.getpid()

    def preexec() -> None:  # runs in the child between fork and exec: keep it minimal
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


@functools.lru_cache(maxsize=1)
def _prctl() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # pragma: no cover - no libc prctl
        return None


def _fd_path(fh: Any) -> str | None:
    """``/proc/self/fd/N`` of an open file (the same path in a child that inherits fd N), or None."""
    path = f"/proc/self/fd/{fh.fileno()}"
    return path if os.path.exists(path) else None


# ngspice 39 copies $HOME into a fixed buffer: a HOME of ~500 bytes aborts it ("buffer overflow
# detected"; measured: 400 bytes run, 500 abort). A long $TMPDIR makes the private directory that
# long; then HOME is "/" (with -n nothing is read from it) and only the working directory is private.
_HOME_MAX_BYTES = 255


def _home_env(home: str) -> str:
    """The HOME for ngspice: the private directory, or ``/`` where its path is too long for ngspice."""
    return home if len(os.fsencode(home)) <= _HOME_MAX_BYTES else os.path.sep


def _start(exe: str, deck_f: Any, log_f: Any, raw_f: Any, workdir: Path | None, *, keep_dir: bool,
           stack: contextlib.ExitStack) -> subprocess.Popen:
    """Start ngspice on the deck (stdin) in a private directory; register its process group."""
    if _TERMINATING.is_set():
        raise SimulationError("ngspice was not started: lim-hw is terminating")
    home = tempfile.mkdtemp(prefix="lim_hw_home_", dir=workdir)
    try:  # a signal may land anywhere in here: the directory goes in every case (`finally`), and an
        # ngspice whose Popen was interrupted dies with this process (parent-death signal)
        try:
            proc = subprocess.Popen([exe, "-n", "-b"], cwd=home, env=dict(os.environ, HOME=_home_env(home)),
                                    stdin=deck_f, stdout=log_f, stderr=subprocess.STDOUT,
                                    pass_fds=(raw_f.fileno(),), start_new_session=True,
                                    preexec_fn=die_with_parent())
        except OSError as exc:
            raise NgspiceNotFoundError(f"cannot start {exe}: {exc} -- hint: {INSTALL_HINT}") from None
        _RUNNING.add(proc.pid)
    finally:
        if not keep_dir:  # ngspice writes nothing there: remove it now, so no later kill leaves it behind
            shutil.rmtree(home, ignore_errors=True)
    if keep_dir:  # no /proc: ngspice writes the raw file into its directory
        stack.cwd = home
        stack.callback(shutil.rmtree, home, True)
    return proc


def find_ngspice() -> str:
    """Path of the ngspice binary to run (looked up now, never cached).

    Raises :class:`NgspiceNotFoundError` if ``$LIM_HW_NGSPICE`` is set but not an
    executable, or if there is no ``ngspice`` on ``PATH``.
    """
    override = os.environ.get(ENV_BINARY, "").strip()
    if override:
        exe = shutil.which(override)
        if exe is None:
            raise NgspiceNotFoundError(f"{ENV_BINARY}={override!r} is not an executable file "
                                       f"-- hint: fix or unset {ENV_BINARY}; {INSTALL_HINT}")
        return exe
    exe = shutil.which("ngspice")
    if exe is None:
        raise NgspiceNotFoundError(f"ngspice was not found on PATH -- hint: {INSTALL_HINT}, "
                                   f"or set {ENV_BINARY} to the ngspice binary")
    return exe


def binary_version(exe: str, timeout_s: float = PROBE_TIMEOUT_S) -> str:
    """Version of the ngspice binary at ``exe`` (e.g. ``"ngspice-39"``), cached per file.

    ``ngspice -n -v`` runs in its own process group with at most ``timeout_s``
    (the caller's remaining budget); on a timeout the group is killed and the
    answer is ``"unknown"`` (not cached). Output is decoded with errors="replace".
    """
    try:
        key = (exe, os.stat(exe).st_mtime_ns)
    except OSError:
        key = (exe, 0)
    if key in _VERSIONS:
        return _VERSIONS[key]
    version = probe_version(exe, timeout_s)
    if version != "unknown":
        _VERSIONS[key] = version
    return version


def probe_version(exe: str, timeout_s: float) -> str:
    """Run ``exe -n -v`` (own session, parent-death signal) -> ``ngspice-NN`` or "unknown"."""
    if not timeout_s > 0 or _TERMINATING.is_set():
        return "unknown"
    try:  # -n: no .spiceinit; "/" as cwd: nothing to create, nothing to leave behind
        proc = subprocess.Popen([exe, "-n", "-v"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, cwd=os.path.sep, start_new_session=True,
                                preexec_fn=die_with_parent())
    except OSError:
        return "unknown"
    _RUNNING.add(proc.pid)
    try:
        out, _ = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        proc.communicate()
        return "unknown"
    except BaseException:
        _kill_group(proc)
        raise
    finally:
        _RUNNING.discard(proc.pid)
    m = re.search(r"(ngspice-[0-9][\w.+-]*)", out[:65536].decode("utf-8", errors="replace"))
    return m.group(1) if m else "unknown"


def _kill_group(proc: subprocess.Popen) -> None:
    """Kill the process group of ``proc`` (ngspice and anything it started) and reap it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:  # pragma: no cover - the kernel failed us
        pass


def kill_all() -> None:
    """Kill every ngspice this process runs and refuse to start new ones (signal-handler safe).

    For termination: threads waiting on their ngspice then see it exit.
    """
    _TERMINATING.set()
    for pid in list(_RUNNING):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)


def _read_log(path: Path | str) -> str:
    """The log (head and tail, at most 2 x LOG_KEEP_BYTES), progress lines dropped."""
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size <= 2 * LOG_KEEP_BYTES:
                data = fh.read()
            else:
                head = fh.read(LOG_KEEP_BYTES)
                fh.seek(size - LOG_KEEP_BYTES)
                data = head + f"\n[... {size - 2 * LOG_KEEP_BYTES} bytes of log left out ...]\n".encode() + fh.read()
    except FileNotFoundError:
        return ""
    return clean_log(data.decode("utf-8", errors="replace"))


_REFERENCE = re.compile(rb"Reference value\s*:\s*([-+0-9.eE]+)")


def _wait(proc: subprocess.Popen, timeout_s: float, log_path: Path,
          progress: Callable[[float], None] | None) -> int:
    """Wait for ngspice; with ``progress``, report the simulated time (s) it prints as it goes.

    The main thread blocks in ``proc.wait()`` and so returns the moment ngspice exits
    (``wait(timeout=...)`` polls with sleeps of up to 50 ms); a watchdog thread
    reports progress every 0.2 s and kills the process group at the deadline, which
    is then raised as :class:`subprocess.TimeoutExpired`.
    """
    offset = 0

    def report() -> None:
        nonlocal offset
        with open(log_path, "rb") as fh:
            fh.seek(offset)
            chunk = fh.read()
        found = _REFERENCE.findall(chunk)
        offset += max(chunk.rfind(b"\r"), chunk.rfind(b"\n"), -1) + 1
        if found:
            with contextlib.suppress(ValueError):
                progress(float(found[-1]))

    deadline = time.monotonic() + timeout_s
    exited, timed_out = threading.Event(), threading.Event()

    def watchdog() -> None:
        while True:
            left = deadline - time.monotonic()
            if exited.wait(min(0.2, left) if progress is not None else max(left, 0.0)):
                return
            if time.monotonic() >= deadline:
                timed_out.set()
                _kill_group(proc)
                return
            if progress is not None:
                report()

    watcher = threading.Thread(target=watchdog, name="lim-hw-ngspice-watchdog", daemon=True)
    watcher.start()
    try:
        code = proc.wait()
    finally:
        exited.set()
        watcher.join()
    if timed_out.is_set():
        raise subprocess.TimeoutExpired(proc.args, timeout_s)
    if progress is not None:
        report()  # the last values, also for runs shorter than one poll
    return code


def run(netlist: str, vectors: Sequence[str], *, timeout_s: float,
        workdir: Path | None = None, progress: Callable[[float], None] | None = None) -> EngineRun:
    """Simulate ``netlist`` with ``ngspice -n -b``; return the requested vectors.

    The deck, the log and the raw file are unlinked temporary files (in ``workdir``
    or the system temporary directory) that ngspice reads as stdin, writes as stdout
    and writes through ``/proc/self/fd/N``: nothing is left on disk whatever kills
    this process. ngspice runs in its own process group, in a private empty 0700
    working directory (also its ``HOME``, removed as soon as it started), with ``-n``
    (no ``.spiceinit``) and a parent-death signal.
    """
    deadline = time.monotonic() + timeout_s
    exe = find_ngspice()
    with contextlib.ExitStack() as stack:
        files = [stack.enter_context(tempfile.TemporaryFile(prefix="lim_hw_sim_", dir=workdir))
                 for _ in range(3)]
        deck_f, log_f, raw_f = files
        raw_name = _fd_path(raw_f)
        deck = netlist if netlist.endswith("\n") else netlist + "\n"
        deck_f.write((deck + batch_control(vectors, raw_name or _RAW)).encode("utf-8"))
        deck_f.seek(0)
        proc = _start(exe, deck_f, log_f, raw_f, workdir, keep_dir=raw_name is None, stack=stack)
        log_path = _fd_path(log_f) or log_f.name
        try:
            version = binary_version(exe, max(0.0, deadline - time.monotonic()))
            returncode = _wait(proc, max(0.0, deadline - time.monotonic()), log_path, progress)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            log = _read_log(log_path)
            lines = [s for s in log.splitlines() if s.strip()]
            last = lines[-1].strip() if lines else "(no output)"
            raise SimulationTimeoutError(
                f"ngspice did not finish within timeout_s={timeout_s:g} s and was killed; "
                f"last log line: {last} -- hint: raise timeout_s, shorten the .tran stop "
                "time or enlarge its step/tmax", log=log, line=last) from None
        except BaseException:  # KeyboardInterrupt, termination: never leave ngspice running
            _kill_group(proc)
            raise
        finally:
            _RUNNING.discard(proc.pid)
        log = _read_log(log_path)
        if _TERMINATING.is_set():
            raise SimulationError("ngspice was stopped: lim-hw is terminating", log=log)
        err = error_from_log(log, returncode)
        if err is not None:
            raise err
        try:
            plot = read_raw(raw_name) if raw_name else read_raw(Path(stack.cwd) / _RAW)
        except RawFileError as exc:
            exc.log = log
            raise
    if "transient" not in plot.plotname.lower() or plot.names[0] != "time":
        raise SimulationError(f"ngspice wrote a {plot.plotname!r} plot, not a transient -- "
                              "hint: the deck needs a .tran analysis", log=log)
    index = {name.lower(): k for k, name in enumerate(plot.names)}
    if all(v in index for v in vectors):
        data = plot.data[[index[v] for v in vectors]]  # by name ("write all" mode reorders them)
        return EngineRun(time_s=plot.data[0], vectors=tuple(data), log=log, ngspice_version=version)
    if len(plot.names) != len(vectors) + 1:
        raise RawFileError(f"ngspice wrote {len(plot.names) - 1} vectors, {len(vectors)} were "
                           "requested -- hint: read the ngspice log (exception attribute .log)",
                           log=log)
    return EngineRun(time_s=plot.data[0], vectors=tuple(plot.data[1:]), log=log,
                     ngspice_version=version)


def reset_termination() -> None:
    """Allow new runs again after :func:`kill_all` (the command that terminated has returned)."""
    _TERMINATING.clear()
