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
logging ("Unsupported Ngspice version 39"). It runs in a fresh private 0700
directory (also its ``HOME``) holding lim-hw's own empty ``.spiceinit``: libngspice
sources ``./.spiceinit`` if there is one and otherwise the passwd home's
``~/.spiceinit``, so it reads neither a planted file nor the user's. The worker
exits (removing that directory) when its parent dies, even by SIGKILL.
``$NGSPICE_LIBRARY_PATH`` (PySpice's own variable) selects the library file.
"""

from __future__ import annotations

import atexit
import os
import pickle
import re
import select
import shutil
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
#: The worker's own ./.spiceinit (libngspice then skips ~/.spiceinit); settings belong in the deck.
SPICEINIT = "* lim-hw: empty on purpose, so that libngspice reads no other .spiceinit\n"
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
        # A fresh private 0700 directory: the worker's cwd and HOME. It holds lim-hw's own
        # (empty) .spiceinit, so libngspice, which sources ./.spiceinit if present and else
        # the passwd home's ~/.spiceinit (not $HOME), reads neither a planted nor a user file.
        self.home = tempfile.mkdtemp(prefix="lim_hw_shared_")
        try:
            with open(os.path.join(self.home, ".spiceinit"), "w", encoding="ascii") as fh:
                fh.write(SPICEINIT)
            env = dict(os.environ, HOME=self.home, LIM_HW_PARENT_PID=str(os.getpid()),
                       LIM_HW_WORKER_DIR=self.home)
            # The worker imports what this process imports (source checkouts, user site).
            env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p) for p in sys.path if p)
            self.proc = subprocess.Popen([sys.executable, "-c", _WORKER_CODE],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.DEVNULL, env=env, cwd=self.home,
                                         start_new_session=True)
        except BaseException:
            shutil.rmtree(self.home, ignore_errors=True)
            raise
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
        shutil.rmtree(self.home, ignore_errors=True)
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


def kill_worker_now() -> None:
    """Kill this process's worker at once, without the lock (signal-handler safe; termination)."""
    worker = _worker
    if worker is not None and worker.owner_pid == os.getpid():
        try:
            os.killpg(worker.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        shutil.rmtree(worker.home, ignore_errors=True)

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


def _watch_parent() -> None:
    """In the worker: when the parent process dies (even by SIGKILL), remove the private dir and exit."""
    try:
        parent = int(os.environ.get("LIM_HW_PARENT_PID", "0"))
    except ValueError:
        parent = 0

    def watch() -> None:
        wait_for_exit(parent)
        _remove_home()
        os._exit(1)

    if parent > 0:
        threading.Thread(target=watch, name="lim-hw-parent-watch", daemon=True).start()


def _remove_home() -> None:
    """In the worker: remove its private directory (the parent made it for this worker)."""
    home = os.environ.get("LIM_HW_WORKER_DIR", "")
    if home and os.path.basename(home).startswith("lim_hw_shared_"):
        shutil.rmtree(home, ignore_errors=True)


def wait_for_exit(pid: int) -> None:
    """Block until process ``pid`` has exited (Linux pidfd; else polling every 0.2 s)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    except (AttributeError, OSError):
        fd = None
    if fd is not None:
        select.select([fd], [], [])
        os.close(fd)
        return
    while True:  # pragma: no cover - kernels before 5.3
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        except PermissionError:
            pass
        time.sleep(0.2)


def _worker_main() -> None:
    """Serve simulation requests on stdin/stdout until end of file."""
    _watch_parent()
    try:
        _serve()
    finally:
        _remove_home()


def _serve() -> None:
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
