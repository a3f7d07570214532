"""Executors: run one picklable function over many items, yielding results as they complete.

One interface for every backend::

    with make_executor("local", workers=2) as ex:
        for index, result, error in ex.map_unordered(fn, items):
            ...

``fn`` must be a picklable top-level function of one argument. ``items`` is a
sequence or any iterable, read lazily: an item is taken only when a worker slot
(of the ``2 * workers`` window) is free, so a generator that prepares items (e.g. a
sweep planning its points) overlaps with the items already running. ``index`` is
the item's position in ``items``; exactly one of ``result`` / ``error`` is
meaningful (``error`` is the exception the item raised, or
:class:`WorkerCrashedError` when the process running it died). One failing
item never stops the others.

Kinds:

- ``"local"``: a :class:`concurrent.futures.ProcessPoolExecutor` with
  ``workers`` processes (default: the usable cores), started by forkserver.
  A worker that dies breaks the pool; the pool is rebuilt and the items that
  were in flight are rerun one at a time, so only the item that kills its
  worker is reported (as :class:`WorkerCrashedError`). ``workers=1`` runs
  items in this process (no isolation; easiest to debug).
- ``"dask"``: a :class:`distributed.Client` connected to ``scheduler``
  (``tcp://HOST:PORT``) or, without one, to an in-process
  ``LocalCluster(n_workers=workers, threads_per_worker=1, processes=True)``.
  Dask retries a task whose worker died and reports ``KilledWorker`` after
  ``distributed.scheduler.allowed-failures`` attempts.

:meth:`Executor.stop` (safe to call from a signal handler) makes
``map_unordered`` return early; leaving the ``with`` block then abandons the
items still running (their processes are stopped). At most ``2 * workers``
items are submitted at a time, so memory does not grow with the number of items.
"""

from __future__ import annotations

import collections
import logging
import multiprocessing as mp
import multiprocessing.util
import os
import signal
import threading
import time
from concurrent.futures import FIRST_COMPLETED, CancelledError, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Iterable, Iterator

from ..errors import InputError

KINDS = ("local", "dask")

Result = tuple[int, Any, "BaseException | None"]


class WorkerCrashedError(RuntimeError):
    """The process running an item died (killed, out of memory, or a crash in native code)."""


def default_workers() -> int:
    """Usable CPU cores of this process."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def make_executor(kind: str = "local", workers: int | None = None, scheduler: str | None = None) -> "Executor":
    """An executor of ``kind`` (``"local"`` or ``"dask"``); use it as a context manager.

    ``workers``: processes (local) or LocalCluster workers (dask); default the usable cores.
    ``scheduler``: a dask scheduler address ``tcp://HOST:PORT`` (dask only); default an
    in-process LocalCluster. Bad arguments raise :class:`InputError`.
    """
    if kind not in KINDS:
        raise InputError(f"unknown executor {kind!r}; use one of {', '.join(KINDS)}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise InputError(f"workers must be a positive integer, got {workers!r}")
    if scheduler is not None:
        if kind != "dask":
            raise InputError("a scheduler address needs the dask executor; add --executor dask")
        if not isinstance(scheduler, str) or "://" not in scheduler or scheduler.strip() != scheduler:
            raise InputError(f"scheduler address {scheduler!r} is not like tcp://HOST:PORT")
    if kind == "local":
        return LocalExecutor(workers)
    return DaskExecutor(workers, scheduler)


class Executor:
    """Base class: context manager, :meth:`map_unordered`, :meth:`stop`, :meth:`close`."""

    kind = "base"
    #: Modules every worker imports before its first item (the flow and its plotting stack),
    #: so that the first points do not pay for the imports.
    preload = ("lim_hw.sweep.executors", "lim_hw.flow", "lim_hw.report.plots", "lim_hw.report.html")

    def __init__(self, workers: int | None) -> None:
        self.workers = workers or default_workers()
        self._stop = threading.Event()

    def __enter__(self) -> "Executor":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Start the backend (done by ``with``; ``map_unordered`` starts it if needed)."""

    def close(self) -> None:
        """Stop the backend; items still running are abandoned."""

    def stop(self) -> None:
        """Ask ``map_unordered`` to return soon (signal-handler safe); nothing new is started."""
        self._stop.set()

    def clear_stop(self) -> None:
        """Forget an earlier :meth:`stop` (the next ``map_unordered`` runs normally)."""
        self._stop.clear()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def describe(self) -> str:
        return f"{self.kind} ({self.workers} worker{'s' if self.workers != 1 else ''})"

    def map_unordered(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Result]:
        raise NotImplementedError


class _Source:
    """``(index, item)`` pairs of an iterable, read one at a time, with a one-item look-ahead."""

    def __init__(self, items: Iterable[Any]) -> None:
        self._it = enumerate(items)
        self._ahead: list[tuple[int, Any]] = []
        self._done = False

    def more(self) -> bool:
        """True if another item follows (reads it ahead)."""
        if not self._ahead and not self._done:
            nxt = next(self._it, None)
            if nxt is None:
                self._done = True
            else:
                self._ahead.append(nxt)
        return bool(self._ahead)

    def take(self) -> tuple[int, Any] | None:
        """The next ``(index, item)``, or None when there is none."""
        return self._ahead.pop() if self.more() else None


# --- local process pool ---------------------------------------------------------------

_busy = False


class _Terminated(BaseException):
    """Raised inside a worker by SIGTERM so that cleanup handlers (e.g. killing ngspice) run."""


def _on_sigterm(signum: int, frame: Any) -> None:  # pragma: no cover - runs in workers
    if _busy:
        _kill_ngspice()
        raise _Terminated()
    os._exit(128 + signum)


def _worker_init(parent_pid: int | None = None, parent_tmp: str = "") -> None:  # pragma: no cover - runs in workers
    """Workers ignore SIGINT (the parent decides), die cleanly on SIGTERM and die with the parent.

    A worker's parent is the fork server, so the parent-death signal cannot name the
    caller: a thread waits for the caller ``parent_pid`` to exit (pidfd) and then
    SIGTERMs its own worker, which stops its ngspice and removes its temporary files
    (and the caller's multiprocessing directory ``parent_tmp``, which a SIGKILLed
    caller cannot remove).
    tqdm's default lock is a multiprocessing semaphore, which a terminated worker
    would leak (a resource_tracker warning at exit); workers show no bars, so a
    thread lock does.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_sigterm)
    if parent_pid:
        watch_parent(parent_pid, parent_tmp)
    try:
        from tqdm import tqdm

        tqdm.set_lock(threading.RLock())
    except ImportError:
        pass


def _kill_ngspice() -> None:  # pragma: no cover - runs in workers
    """Kill the ngspice runs of this process (other threads' too: an array point runs blocks in threads)."""
    import sys

    batch = sys.modules.get("lim_hw.sim.batch")
    if batch is not None:
        batch.kill_all()


def _die_with(parent_pid: int) -> bool:  # pragma: no cover - runs in dask workers
    """In a LocalCluster worker: exit (killing its ngspice) once ``parent_pid`` exits."""
    from ..sim.shared import wait_for_exit

    def watch() -> None:
        wait_for_exit(parent_pid)
        _kill_ngspice()
        os._exit(1)

    threading.Thread(target=watch, name="lim-hw-parent-watch", daemon=True).start()
    return True


def watch_parent(parent_pid: int, parent_tmp: str = "") -> None:  # pragma: no cover - runs in workers
    """Start a daemon thread that ends this process (SIGTERM, then exit) once ``parent_pid`` exits."""
    import shutil

    from ..sim.shared import wait_for_exit

    def watch() -> None:
        wait_for_exit(parent_pid)
        if os.path.basename(parent_tmp).startswith("pymp-"):  # the fork server's socket folder
            shutil.rmtree(parent_tmp, ignore_errors=True)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(10.0)  # cleanup in progress; never outlive it by much
        os._exit(128 + signal.SIGTERM)

    threading.Thread(target=watch, name="lim-hw-parent-watch", daemon=True).start()


def _call(fn: Callable[[Any], Any], item: Any) -> Any:  # pragma: no cover - runs in workers
    global _busy
    _busy = True
    try:
        return fn(item)
    except _Terminated:
        os._exit(128 + signal.SIGTERM)
    finally:
        _busy = False


def _context() -> mp.context.BaseContext:
    method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
    return mp.get_context(method)


class LocalExecutor(Executor):
    """Process pool on this machine (see the module docstring)."""

    kind = "local"

    def __init__(self, workers: int | None = None) -> None:
        super().__init__(workers)
        self._pool: ProcessPoolExecutor | None = None
        self._inflight = 0

    def _new_pool(self, fn: Callable[[Any], Any]) -> ProcessPoolExecutor:
        ctx = _context()
        if ctx.get_start_method() == "forkserver":
            mods = list(self.preload)
            if getattr(fn, "__module__", "__main__") not in ("__main__", None):
                mods.append(fn.__module__)
            ctx.set_forkserver_preload(mods)  # imported once by the fork server when it first starts
        return ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx, initializer=_worker_init,
                                   initargs=(os.getpid(), mp.util.get_temp_dir()))

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            _shutdown(pool, force=self._inflight > 0 or self.stopped)
        self._inflight = 0

    def map_unordered(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Result]:
        if self.workers == 1:
            yield from self._serial(fn, items)
            return
        source = _Source(items)
        suspects: collections.deque[tuple[int, Any]] = collections.deque()
        running: dict[Future, tuple[int, Any]] = {}
        window = 2 * self.workers
        broken = isolating = False
        while (running or suspects or source.more()) and not self.stopped:
            if not running:
                if broken or self._pool is None:
                    if self._pool is not None:
                        _shutdown(self._pool)
                    self._pool = self._new_pool(fn)
                    broken = False
                isolating = bool(suspects)
                if isolating:
                    i, item = suspects.popleft()
                    running[self._pool.submit(_call, fn, item)] = (i, item)
            if not broken and not isolating:  # each item is submitted as soon as it is read
                while len(running) < window and not self.stopped:
                    nxt = source.take()
                    if nxt is None:
                        break
                    running[self._pool.submit(_call, fn, nxt[1])] = nxt
            self._inflight = len(running)
            done, _ = wait(list(running), timeout=0.2, return_when=FIRST_COMPLETED)
            self._inflight = len(running) - len(done)
            for fut in done:
                i, item = running.pop(fut)
                try:
                    yield i, fut.result(), None
                except BrokenProcessPool:
                    broken = True
                    if isolating:
                        yield i, None, WorkerCrashedError(
                            "the worker process running this item died (killed, out of memory or a native "
                            "crash); run it alone to see why")
                    else:
                        suspects.append((i, item))
                except CancelledError as exc:  # pragma: no cover - only on shutdown
                    yield i, None, exc
                except Exception as exc:
                    yield i, None, exc

    def _serial(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Result]:
        for i, item in enumerate(items):
            if self.stopped:
                return
            try:
                result = fn(item)
            except Exception as exc:
                yield i, None, exc
            else:
                yield i, result, None


def _shutdown(pool: ProcessPoolExecutor, force: bool = True) -> None:
    """Idle pool: a normal shutdown. Else cancel queued items, SIGTERM the workers (they stop
    their ngspice) and SIGKILL stragglers."""
    if not force:
        pool.shutdown(wait=True, cancel_futures=True)
        return
    procs = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        if p.is_alive():
            p.terminate()
    deadline = time.monotonic() + 5.0
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic()))
        if p.is_alive():  # pragma: no cover - a worker ignoring SIGTERM
            p.kill()
            p.join(1.0)
    pool.shutdown(wait=True)  # the workers are gone: joins the pool's manager thread, frees its queues


# --- dask ----------------------------------------------------------------------------


#: Dask settings of the in-process LocalCluster: no statistical profiler (it samples the
#: worker thread every 10 ms) and no GIL monitor (every 1 ms): both compete with the points
#: for the CPU on a small machine.
LOCAL_CLUSTER_CONFIG = {"distributed.worker.profile.enabled": False,
                        "distributed.admin.system-monitor.gil.enabled": False}


def _import_modules(names: list[str]) -> list[str]:  # pragma: no cover - runs in dask workers
    """Import what can be imported of ``names`` (the preload list); return what could not."""
    import importlib

    missing = []
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing


class DaskExecutor(Executor):
    """dask.distributed: a remote scheduler or an in-process LocalCluster (see the module docstring)."""

    kind = "dask"
    connect_timeout_s = 10.0

    def __init__(self, workers: int | None = None, scheduler: str | None = None) -> None:
        super().__init__(workers)
        self.scheduler = scheduler
        self.client = None
        self.cluster = None

    def describe(self) -> str:
        if self.scheduler:
            return f"dask ({self.scheduler})"
        return f"dask LocalCluster ({self.workers} worker{'s' if self.workers != 1 else ''})"

    def start(self) -> None:
        if self.client is not None:
            return
        from distributed import Client, LocalCluster

        if self.scheduler:
            try:
                self.client = Client(self.scheduler, timeout=f"{self.connect_timeout_s}s")
            except (OSError, TimeoutError) as exc:
                raise InputError(f"cannot connect to the dask scheduler {self.scheduler}: {exc}; start one "
                                 "with `dask scheduler` or leave out --scheduler") from None
        else:
            import dask

            with dask.config.set(LOCAL_CLUSTER_CONFIG):  # the nannies pass it on to their workers
                self.cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                            dashboard_address=None, silence_logs=logging.ERROR)
            self.client = Client(self.cluster)
            self.client.run(_die_with, os.getpid())  # workers die with this process, even on SIGKILL
        try:
            self.client.run(_import_modules, list(self.preload))
        except Exception:  # pragma: no cover - e.g. remote workers without lim-hw: points will say so
            pass

    def close(self) -> None:
        client, cluster = self.client, self.cluster
        self.client = self.cluster = None
        if client is not None:
            try:
                client.close(timeout=10)
            except Exception:  # pragma: no cover - closing a half-dead cluster
                pass
        if cluster is not None:
            try:
                cluster.close(timeout=10)
            except Exception:  # pragma: no cover
                pass

    def map_unordered(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Result]:
        from distributed import as_completed

        self.start()
        window = 2 * max(self.workers, len(self.client.scheduler_info().get("workers", {})) or 1)
        source = _Source(items)
        index: dict[str, int] = {}
        live: dict[str, Any] = {}
        ac = as_completed()

        def submit() -> bool:
            nxt = source.take()
            if nxt is None:
                return False
            i, item = nxt
            fut = self.client.submit(fn, item, pure=False)
            index[fut.key] = i
            live[fut.key] = fut
            ac.add(fut)
            return True

        for _ in range(window):
            if not submit():
                break
        try:
            while not ac.is_empty() and not self.stopped:
                if not ac.has_ready():
                    time.sleep(0.01)
                    continue
                fut = next(ac)
                i = index.pop(fut.key)
                live.pop(fut.key, None)
                if not self.stopped:
                    submit()
                if fut.status == "finished":
                    result, error = fut.result(), None
                else:
                    result, error = None, fut.exception()
                    if error is None:  # pragma: no cover - cancelled
                        error = CancelledError(f"dask task {fut.key} was {fut.status}")
                fut.release()
                yield i, result, error
        finally:
            if live and self.client is not None:
                self.client.cancel(list(live.values()))
