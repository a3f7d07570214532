"""Batch engine (the default): one ``ngspice -b`` subprocess per simulation.

The deck goes into a fresh temporary directory (inside ``workdir`` when given), with
a control block that saves only the requested vectors, runs, and writes them to a
binary raw file, which :mod:`lim_hw.sim.rawfile` reads with numpy. The directory is
removed afterwards, whatever happens. A crash or hang takes down only that
subprocess; runs in parallel threads or processes do not share anything.

ngspice is looked up on every call: ``$LIM_HW_NGSPICE`` (a path or a command name)
if set, else ``ngspice`` on ``PATH``. ``HOME`` is pointed at the temporary directory
so a user's ``~/.spiceinit`` cannot change the results.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from .control import batch_control
from .errors import (INSTALL_HINT, NgspiceNotFoundError, RawFileError, SimulationError,
                     SimulationTimeoutError, clean_log, error_from_log)
from .rawfile import read_raw
from .types import EngineRun

ENV_BINARY = "LIM_HW_NGSPICE"
_DECK, _RAW, _LOG = "deck.cir", "out.raw", "ngspice.log"


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


def binary_version(exe: str) -> str:
    """Version of the ngspice binary at ``exe`` (e.g. ``"ngspice-39"``), cached per file."""
    try:
        mtime = os.stat(exe).st_mtime_ns
    except OSError:
        mtime = 0
    return _binary_version(exe, mtime)


@functools.lru_cache(maxsize=8)
def _binary_version(exe: str, _mtime_ns: int) -> str:
    try:
        out = subprocess.run([exe, "-v"], capture_output=True, text=True, timeout=20,
                             stdin=subprocess.DEVNULL).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    m = re.search(r"(ngspice-[0-9][\w.+-]*)", out)
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


def _read_log(path: Path) -> str:
    try:
        return clean_log(path.read_bytes().decode("utf-8", errors="replace"))
    except FileNotFoundError:
        return ""


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
    """Simulate ``netlist`` with ``ngspice -b``; return the requested vectors."""
    exe = find_ngspice()
    with tempfile.TemporaryDirectory(prefix="lim_hw_sim_", dir=workdir) as tmp_name:
        tmp = Path(tmp_name)
        deck = netlist if netlist.endswith("\n") else netlist + "\n"
        (tmp / _DECK).write_text(deck + batch_control(vectors, _RAW), encoding="utf-8")
        env = dict(os.environ, HOME=tmp_name)
        with open(tmp / _LOG, "wb") as log_file:
            try:
                proc = subprocess.Popen([exe, "-b", _DECK], cwd=tmp, env=env,
                                        stdin=subprocess.DEVNULL, stdout=log_file,
                                        stderr=subprocess.STDOUT, start_new_session=True)
            except OSError as exc:
                raise NgspiceNotFoundError(f"cannot start {exe}: {exc} -- hint: "
                                           f"{INSTALL_HINT}") from None
            try:
                version = binary_version(exe)  # `ngspice -v` (cached) runs while the simulation does
                returncode = _wait(proc, timeout_s, tmp / _LOG, progress)
            except subprocess.TimeoutExpired:
                _kill_group(proc)
                log = _read_log(tmp / _LOG)
                lines = [s for s in log.splitlines() if s.strip()]
                last = lines[-1].strip() if lines else "(no output)"
                raise SimulationTimeoutError(
                    f"ngspice did not finish within timeout_s={timeout_s:g} s and was killed; "
                    f"last log line: {last} -- hint: raise timeout_s, shorten the .tran stop "
                    "time or enlarge its step/tmax", log=log, line=last) from None
            except BaseException:  # KeyboardInterrupt etc.: never leave ngspice running
                _kill_group(proc)
                raise
        log = _read_log(tmp / _LOG)
        err = error_from_log(log, returncode)
        if err is not None:
            raise err
        try:
            plot = read_raw(tmp / _RAW)
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


def run_script(deck: str, raw_files: Sequence[str], *, timeout_s: float, workdir: Path | None = None,
               defines: Sequence[str] = ()) -> tuple[list, str, str]:
    """Run a complete deck that carries its own ``.control`` block; read the raw files it writes.

    For multi-analysis scripts (several ``tran``/``ac`` runs with ``alter`` in between,
    as the sky130 technology uses). The deck runs in a fresh temporary directory like
    :func:`run`; ``raw_files`` are the plain file names its ``write`` commands use there.
    ``defines`` are ngspice ``-D`` variables set before the deck is read (e.g.
    ``ngbehavior=hsa``), never a ``.spiceinit``. Returns ``(plots, log, ngspice_version)``
    with one :class:`lim_hw.sim.rawfile.RawPlot` per raw file and the log as ngspice wrote it
    (progress lines included, so that printed results they share a line with survive);
    errors as :func:`run`.
    """
    exe = find_ngspice()
    args = [exe, "-b"]
    for d in defines:
        if not re.fullmatch(r"[a-z_][a-z0-9_]*(=[a-z0-9_.]+)?", d):
            raise SimulationError(f"invalid ngspice define {d!r}")
        args += ["-D", d]
    for name in raw_files:
        if not re.fullmatch(r"[a-z0-9_]+\.raw", name):
            raise SimulationError(f"invalid raw file name {name!r}")
    with tempfile.TemporaryDirectory(prefix="lim_hw_sim_", dir=workdir) as tmp_name:
        tmp = Path(tmp_name)
        (tmp / _DECK).write_text(deck if deck.endswith("\n") else deck + "\n", encoding="utf-8")
        env = dict(os.environ, HOME=tmp_name)
        with open(tmp / _LOG, "wb") as log_file:
            try:
                proc = subprocess.Popen([*args, _DECK], cwd=tmp, env=env, stdin=subprocess.DEVNULL,
                                        stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
            except OSError as exc:
                raise NgspiceNotFoundError(f"cannot start {exe}: {exc} -- hint: {INSTALL_HINT}") from None
            try:
                version = binary_version(exe)
                returncode = _wait(proc, timeout_s, tmp / _LOG, None)
            except subprocess.TimeoutExpired:
                _kill_group(proc)
                log = _read_log(tmp / _LOG)
                lines = [s for s in log.splitlines() if s.strip()]
                last = lines[-1].strip() if lines else "(no output)"
                raise SimulationTimeoutError(
                    f"ngspice did not finish within timeout_s={timeout_s:g} s and was killed; last log line: "
                    f"{last} -- hint: raise [simulation] timeout_s or run fewer updates", log=log, line=last) from None
            except BaseException:
                _kill_group(proc)
                raise
        try:  # the uncleaned text: progress lines may share a line with printed results
            raw_log = (tmp / _LOG).read_bytes().decode("utf-8", errors="replace")
        except FileNotFoundError:
            raw_log = ""
        log = clean_log(raw_log)
        err = error_from_log(log, returncode)
        if err is not None:
            raise err
        plots = []
        for name in raw_files:
            try:
                plots.append(read_raw(tmp / name))
            except RawFileError as exc:
                exc.log = log
                raise
    return plots, raw_log, version
