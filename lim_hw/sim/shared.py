"""Shared-library engine: libngspice through PySpice's ``NgSpiceShared``, in a worker.

libngspice holds one simulator per process, is not thread safe, grows in memory
over many runs, and a fatal error in it can end the process that loaded it. So it
is never loaded into the caller's process. One worker subprocess per calling
process (a ``python -c`` running :func:`_worker_main`) loads it and serves requests one at a
time over its stdin/stdout (length-prefixed pickles); a module lock serialises
callers. The worker is started on first use and reused (no interpreter start and
library load per run), killed on a timeout, replaced after a crash, and recycled
after :data:`RECYCLE_AFTER` runs to bound memory growth. A plain subprocess (not
``multiprocessing``) also works inside daemonic pool workers (e.g. dask).

In the worker: the deck is loaded with ``ngSpice_Circ``; ``save`` commands keep
only the requested vectors; ``run``; each vector is evaluated with
``let lim_hw_vecK = <vector>`` and read with ``ngGet_Vec_Info``; then ``remcirc``
and ``destroy all`` free the circuit and its plots. The worker silences PySpice's
logging ("Unsupported Ngspice version 39") and sets ``HOME`` to a directory that
does not exist before loading libngspice, so ``~/.spiceinit`` is not read.
``$NGSPICE_LIBRARY_PATH`` (PySpice's own variable) selects the library file.
"""

from __future__ import annotations

import atexit
import os
import pickle
import re
import select
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from .control import save_commands
from .errors import (INSTALL_HINT, NgspiceNotFoundError, SimulationError,
                     SimulationTimeoutError, UnknownVectorError, error_from_log)
from .types import EngineRun

RECYCLE_AFTER = 200  # runs per worker before it is replaced (bounds memory growth)
_HEADER = struct.Struct("<Q")
_LOCK = threading.Lock()
_worker: _Worker | None = None
_WORKER_CODE = "from lim_hw.sim.shared import _worker_main; _worker_main()"


# --- framing (both sides) ------------------------------------------------------------

def _send(stream: BinaryIO, obj: Any) -> None:
    payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(payload)) + payload)
    stream.flush()


def _recv_blocking(stream: BinaryIO) -> Any:
    """Read one message; ``None`` on end of file."""
    head = stream.read(_HEADER.size)
    if len(head) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(head)
    return pickle.loads(stream.read(size))


class _WorkerGone(Exception):
    pass


class _Deadline(Exception):
    pass


def _read_exact(fd: int, n: int, deadline: float) -> bytes:
    chunks, got = [], 0
    while got < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise _Deadline
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            raise _Deadline
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            raise _WorkerGone
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


# --- parent side ---------------------------------------------------------------------

class _Worker:
    """A Python subprocess running :func:`_worker_main` (it holds libngspice)."""

    def __init__(self) -> None:
        env = dict(os.environ)
        # The worker imports what this process imports (source checkouts, user site).
        env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p) for p in sys.path if p)
        self.proc = subprocess.Popen([sys.executable, "-c", _WORKER_CODE],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, env=env,
                                     cwd=tempfile.gettempdir(),  # no ./.spiceinit from the caller
                                     start_new_session=True)
        self.owner_pid = os.getpid()  # a forked child must not talk to its parent's worker
        self.runs = 0

    def request(self, message: dict, deadline: float) -> dict:
        try:
            _send(self.proc.stdin, message)
        except (BrokenPipeError, OSError):
            raise _WorkerGone from None
        fd = self.proc.stdout.fileno()
        (size,) = _HEADER.unpack(_read_exact(fd, _HEADER.size, deadline))
        return pickle.loads(_read_exact(fd, size, deadline))

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self._reap()

    def close(self) -> None:
        """Ask the worker to exit (end of file on its stdin); kill it if it lingers."""
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self.kill()
        self._reap()

    def _reap(self) -> None:
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            pass
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass


def shutdown_worker() -> None:
    """Stop the shared-engine worker of this process, if any (the next run starts one)."""
    global _worker
    with _LOCK:
        if _worker is not None and _worker.owner_pid == os.getpid():
            _worker.close()
        _worker = None


atexit.register(shutdown_worker)

_ERRORS = {"NgspiceNotFoundError": NgspiceNotFoundError,
           "UnknownVectorError": UnknownVectorError, "SimulationError": SimulationError}


def run(netlist: str, vectors: Sequence[str], *, timeout_s: float,
        workdir: Path | None = None) -> EngineRun:
    """Simulate ``netlist`` in the libngspice worker; return the requested vectors.

    ``timeout_s`` bounds the whole call (waiting for the lock, starting the worker,
    simulating). ``workdir`` is unused: this engine writes no files.
    """
    global _worker
    deadline = time.monotonic() + timeout_s
    if not _LOCK.acquire(timeout=timeout_s):
        raise SimulationTimeoutError(f"the shared engine stayed busy for timeout_s={timeout_s:g} s "
                                     "-- hint: use engine='batch' to run simulations in parallel")
    try:
        mine = _worker is not None and _worker.owner_pid == os.getpid()
        if mine and _worker.proc.poll() is not None:
            _worker.kill()  # died while idle (e.g. killed by the OOM killer): replace it
            _worker = None
        if _worker is None or _worker.owner_pid != os.getpid():
            try:
                _worker = _Worker()
            except OSError as exc:
                raise SimulationError(f"cannot start the shared-engine worker ({exc}) -- hint: "
                                      "use engine='batch'") from None
        worker = _worker
        try:
            resp = worker.request({"netlist": netlist, "vectors": list(vectors)}, deadline)
        except _Deadline:
            worker.kill()
            _worker = None
            raise SimulationTimeoutError(
                f"ngspice (shared engine) did not finish within timeout_s={timeout_s:g} s; the "
                "worker was killed -- hint: raise timeout_s, shorten the .tran stop time or "
                "enlarge its step/tmax") from None
        except _WorkerGone:
            worker.kill()
            _worker = None
            raise SimulationError(
                f"the libngspice worker exited unexpectedly (status {worker.proc.returncode}) -- "
                "hint: ngspice probably crashed on this deck; run it with engine='batch' to "
                "see its log") from None
        except BaseException:  # e.g. KeyboardInterrupt: a reply may still be on its way
            worker.kill()
            _worker = None
            raise
        worker.runs += 1
        if worker.runs >= RECYCLE_AFTER or resp.get("exited"):
            worker.close()
            _worker = None
    finally:
        _LOCK.release()

    log = resp.get("log", "")
    err = error_from_log(log)
    if err is not None:
        raise err
    if "error" in resp:
        kind, message = resp["error"]
        raise _ERRORS.get(kind, SimulationError)(message, log=log)
    return EngineRun(time_s=resp["time"], vectors=tuple(resp["vectors"]), log=log,
                     ngspice_version=resp["version"])


# --- worker side ---------------------------------------------------------------------

class _Simulator:
    """libngspice, loaded once in the worker process."""

    def __init__(self) -> None:
        import logging
        # Silences "Unsupported Ngspice version 39" and PySpice's echo of ngspice stderr.
        logging.getLogger("PySpice").setLevel(logging.CRITICAL + 10)
        os.environ["HOME"] = os.path.join(os.path.sep, "nonexistent", "lim_hw_no_home")
        from PySpice.Spice.NgSpice import Shared  # may raise ImportError / OSError

        self.ffi = Shared.ffi
        self.log: list[str] = []
        self.exited = False
        outer = self

        class _NgSpice(Shared.NgSpiceShared):
            def send_char(self, message, ngspice_id):
                prefix, _, content = message.partition(" ")
                outer.log.append(content if prefix in ("stdout", "stderr") else message)
                return 0

            @staticmethod
            def _exit(exit_status, immediate_unloading, quit_exit, ngspice_id, user_data):
                outer.exited = True
                return exit_status

        self.ng = _NgSpice(ngspice_id=0, send_data=False)
        self.lib = self.ng._ngspice_shared
        m = re.search(r"(ngspice-[0-9][\w.+-]*)", "\n".join(self.log))
        self.version = m.group(1) if m else "unknown"

    def command(self, text: str) -> None:
        self.lib.ngSpice_Command(text.encode("ascii"))

    def vector(self, name: str) -> np.ndarray | None:
        info = self.lib.ngGet_Vec_Info(name.encode("ascii"))
        if info == self.ffi.NULL or info.v_realdata == self.ffi.NULL:
            return None
        n = int(info.v_length)
        return np.frombuffer(self.ffi.buffer(info.v_realdata, n * 8), dtype=np.float64).copy()

    def simulate(self, netlist: str, vectors: list[str]) -> dict:
        self.log.clear()
        lines = [line for line in netlist.splitlines() if line.strip()] + [".end"]
        keep = [self.ffi.new("char[]", line.encode("utf-8")) for line in lines]
        self.lib.ngSpice_Circ(self.ffi.new("char *[]", keep + [self.ffi.NULL]))
        try:
            return self._run_loaded(vectors)
        finally:
            self.command("remcirc")
            self.command("destroy all")

    def _run_loaded(self, vectors: list[str]) -> dict:
        if error_from_log("\n".join(self.log)) is not None:
            return {"log": "\n".join(self.log)}
        for cmd in save_commands(vectors):
            self.command(cmd)
        self.command("run")
        log = "\n".join(self.log)
        if error_from_log(log) is not None:
            return {"log": log}
        plot = self.ffi.string(self.lib.ngSpice_CurPlot()).decode("ascii", errors="replace")
        time_s = self.vector(f"{plot}.time") if plot.startswith("tran") else None
        if time_s is None:
            return {"log": log, "error": ("SimulationError", f"ngspice made a {plot!r} plot, "
                                          "not a transient -- hint: the deck needs a .tran line")}
        out = []
        for k, name in enumerate(vectors):
            self.command(f"let lim_hw_vec{k} = {name}")
            values = self.vector(f"{plot}.lim_hw_vec{k}")
            if values is None or len(values) != len(time_s):
                got = ("nothing" if values is None
                       else f"{len(values)} points for {len(time_s)} times")
                log = "\n".join(self.log)
                return {"log": log, "error": ("UnknownVectorError", f"ngspice has no vector "
                        f"{name} (got {got}) -- hint: request only nodes, sources and device "
                        "parameters that exist in the netlist")}
            out.append(values)
        return {"log": "\n".join(self.log), "time": time_s, "vectors": out,
                "version": self.version}


def _worker_main() -> None:
    """Serve simulation requests on stdin/stdout until end of file."""
    requests = sys.stdin.buffer
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything libngspice prints must not corrupt the reply stream
    sys.stdout = sys.stderr
    try:
        sim: _Simulator | None = _Simulator()
        failure = ""
    except Exception as exc:  # ImportError (no PySpice) or OSError (no libngspice)
        sim, failure = None, f"{type(exc).__name__}: {exc}"
    while True:
        message = _recv_blocking(requests)
        if message is None:
            break
        if sim is None:
            _send(replies, {"log": "", "error": ("NgspiceNotFoundError", "the shared engine "
                  f"cannot load libngspice through PySpice ({failure}) -- hint: {INSTALL_HINT} "
                  "and PySpice (pip install PySpice), or set NGSPICE_LIBRARY_PATH to the "
                  "libngspice.so file")})
            continue
        try:
            reply = sim.simulate(message["netlist"], message["vectors"])
        except Exception as exc:  # keep serving; report the failure
            reply = {"log": "\n".join(sim.log), "error": ("SimulationError",
                     f"the shared engine failed: {type(exc).__name__}: {exc}")}
        reply["exited"] = sim.exited
        _send(replies, reply)
        if sim.exited:
            break
