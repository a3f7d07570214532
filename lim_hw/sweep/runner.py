"""Run a sweep: plan points, simulate the missing ones on an executor, stream results, tabulate.

:func:`run_sweep` is what ``lim-hw sweep`` calls. Each point is one isolated
simulation (:func:`run_point`, run in a worker process): it writes its run
directory ``DIR/points/<key16>/`` and returns one row of numbers. Its key is
the sha256 of the rendered deck (library path left out), the card TOML and
the circuit library (:func:`point_key`), so resuming skips exactly the points
already in ``DIR/points.jsonl``, whatever their index or completion order.

A point fails on its own: an invalid card or an impossible synthesis (found
while planning, in this process) and any exception or timeout in the worker
(found while running) become a failed row with its error; a worker that dies
is reported by the executor. None of these stop the sweep.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import itertools
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

import pandas as pd
from tqdm import tqdm

from ..device.card import Card, card_to_toml
from ..errors import InputError, LimHwError, one_line
from ..netlist.render import CIRCUITS_DIR
from ..netlist.spec import Testbench
from ..tech import pdk_records, technology_for
from ..outputs import write_csv_atomic, write_json_atomic, write_text_atomic
from ..progress import show_progress
from ..provenance import versions
from .executors import Executor, make_executor
from .spec import Mismatch, Point, SweepSpec
from .store import POINTS_DIR, TABLE, SweepStore, point_dirname

KEY_VERSION = "lim-hw sweep point v1"
#: Synthesis tables made while planning are handed to the workers (no second synthesis per
#: point) up to this many bytes in all, so a 10,000-point sweep of long schedules stays small.
TABLE_BUDGET_BYTES = 64 * 2**20


@dataclass(frozen=True)
class PointTask:
    """Everything a worker needs to run one point (picklable plain data)."""

    key: str
    analysis: str                      # "flow" or "bound"
    card: Card
    kind: str = "cell"                 # "cell", "synapse" or "array"
    array: tuple[int, int] | None = None
    col_offset: int = 0
    mismatch: Mismatch | None = None
    out_dir: str = ""
    write_waveforms: bool = False
    plots: bool = False                # per-point PNG plots and report.html
    table: pd.DataFrame | None = field(default=None, compare=False, repr=False)  # made while planning


@dataclass
class RunOutcome:
    """What :func:`run_tasks` did: records by key, points run now, the signal that stopped it."""

    records: dict[str, dict[str, Any]]
    n_run: int
    interrupted: int | None = None


@dataclass
class SweepResult:
    """A finished (or interrupted) sweep; the table is also in ``DIR/sweep.csv`` when complete."""

    out_dir: Path
    table: pd.DataFrame
    n_points: int
    n_ok: int
    n_failed: int
    n_missing: int
    n_run: int
    wall_s: float
    interrupted: int | None = None
    files: list[str] = field(default_factory=list)
    executor: str = ""

    @property
    def complete(self) -> bool:
        return self.n_missing == 0


# --- keys and testbenches -------------------------------------------------------------

def library_digest(files: tuple | None = None) -> str:
    """sha256 over the circuit library files (names and contents); default: the ideal library."""
    return _library_digest(tuple(sorted(CIRCUITS_DIR.glob("*.lib"))) if files is None else tuple(files))


@functools.lru_cache(maxsize=4)
def _library_digest(files: tuple) -> str:
    h = hashlib.sha256()
    for path in files:
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def point_key(analysis: str, card: Card, deck: str = "") -> str:
    """Content hash of a point: sha256 of the deck text (if any), the card TOML and the library."""
    h = hashlib.sha256()
    for part in (KEY_VERSION, f"analysis={analysis}", deck, card_to_toml(card),
                 library_digest(technology_for(card).library_files()) if deck else ""):
        h.update(part.encode("utf-8") + b"\n\0")
    return h.hexdigest()


def point_testbench(card: Card, table: pd.DataFrame, kind: str, array: tuple[int, int] | None,
                    mismatch: Mismatch | None = None, col_offset: int = 0) -> Testbench:
    """The testbench of a point: run_flow's, with per-cell mismatch and column offset applied (its technology's)."""
    return technology_for(card).point_testbench(card, table, kind, array, mismatch, col_offset)


def plan_task(card: Card, analysis: str, points_dir: Path, kind: str = "cell",
              array: tuple[int, int] | None = None, mismatch: Mismatch | None = None, col_offset: int = 0,
              write_waveforms: bool = False, table: pd.DataFrame | None = None, plots: bool = False) -> PointTask:
    """Synthesise and render a point to find its key. Raises InputError (e.g. synthesis impossible)."""
    if analysis == "bound":
        key = point_key("bound", card)
    else:
        tech = technology_for(card)
        table = tech.table_for(card, kind, array, mismatch) if table is None else table
        tb = point_testbench(card, table, kind, array, mismatch, col_offset)
        key = point_key("flow", card, tech.key_deck(tb, table))
    return PointTask(key=key, analysis=analysis, card=card, kind=kind, array=array, col_offset=col_offset,
                     mismatch=mismatch, out_dir=str(Path(points_dir) / point_dirname(key)),
                     write_waveforms=write_waveforms, plots=plots, table=table)


# --- the worker side --------------------------------------------------------------------

def run_point(task: PointTask) -> dict[str, Any]:
    """Run one point in this process; never raises for a point's own failure.

    Returns a record: ``key``, ``status`` ("ok"/"failed"), ``error`` (one line),
    ``metrics`` (flat numbers from the point's summary), ``wall_s``, ``pid``.
    """
    t0 = time.perf_counter()
    try:
        if task.analysis == "bound":
            metrics = _bound_point(task)
        else:
            metrics = _flow_point(task)
        status, error = "ok", ""
    except Exception as exc:  # one point's failure is data, not a crash
        status, error, metrics = "failed", error_text(exc), {}
    return {"key": task.key, "status": status, "error": error, "metrics": metrics,
            "wall_s": time.perf_counter() - t0, "pid": os.getpid()}


def error_text(exc: BaseException) -> str:
    """``Type: one-line message`` of an exception."""
    return f"{type(exc).__name__}: {one_line(exc)}"


def _numbers(summary: Mapping[str, Any]) -> dict[str, float | int]:
    return {k: v for k, v in summary.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)}


def _flow_point(task: PointTask) -> dict[str, float | int]:
    res = flow_with_testbench(task)
    out = _numbers(res.summary)
    if task.mismatch:
        rows = [{"row": r, "col": c, "half": h, **v} for (r, c, h), v in sorted(task.mismatch.items())]
        write_csv_atomic(Path(task.out_dir) / "mismatch.csv", pd.DataFrame(rows), provenance=False)
    return out


def flow_with_testbench(task: PointTask):
    """:func:`lim_hw.flow.run_flow` on the point's testbench (mismatch, column offset) -> FlowResult.

    Points with mismatch or a column offset pass their own testbench to run_flow
    (``artifacts=``), so the outputs are exactly run_flow's. (The retention check
    of a retention card compares with the nominal closed form.)
    """
    from .. import flow
    from ..netlist.generate import NetlistArtifacts

    card = task.card
    kind = "cell" if task.kind == "array" else task.kind
    array = task.array if task.kind == "array" else None
    if not task.mismatch and task.col_offset == 0:
        return flow.run_flow(card, task.out_dir, kind=kind, array=array, progress=False,
                             write_waveforms=task.write_waveforms, plots=task.plots, table=task.table)
    if card.simulation.engine == "fast":
        raise InputError("the fast engine has no per-cell mismatch or column blocks; use engine batch or shared")
    table = task.table if task.table is not None else technology_for(card).table_for(
        card, kind, array, task.mismatch)
    art = NetlistArtifacts(card, table, point_testbench(card, table, task.kind, task.array, task.mismatch,
                                                        task.col_offset))
    return flow.run_flow(card, task.out_dir, kind=kind, array=array, progress=False,
                         write_waveforms=task.write_waveforms, artifacts=art, plots=task.plots)


def _bound_point(task: PointTask) -> dict[str, float | int]:
    from ..theory import bound_table, bound_totals

    card = task.card
    dev = card.device
    df = bound_table(card.schedule, dev.R_max_per_s, dev.T_K)
    df["N_target"] = df["R_per_s"] * card.programming.pulse_width_s
    df["E_bound_J"] = df["N_target"] * df["E_diss_J"]
    metrics: dict[str, float | int] = {"n_updates": int(len(df))}
    if len(df):
        metrics.update({"E_bound_total_J": float(df["E_bound_J"].sum()),
                        "E_bound_median_J": float(df["E_bound_J"].median()),
                        "E0_median_J": float(df["E0_J"].median())})
    metrics.update(_numbers(bound_totals(df, dev.T_K)))
    os.makedirs(task.out_dir, exist_ok=True)
    write_csv_atomic(Path(task.out_dir) / "bound.csv", df, provenance=False)
    return metrics


# --- the parent side --------------------------------------------------------------------

def worker_probe(_item: Any) -> int:
    """A trivial item (the worker's pid): run first so a pool that cannot work is found before any point."""
    return os.getpid()


def caller_error(exc: BaseException) -> bool:
    """True for a failure caused by the calling program, not by a point: its items or function
    cannot be pickled, or a worker cannot import them (e.g. they live in an unguarded script)."""
    import pickle

    text = str(exc).lower()
    return (isinstance(exc, (pickle.PicklingError, ModuleNotFoundError))
            or (isinstance(exc, (TypeError, AttributeError)) and ("pickle" in text or "can't get attribute" in text)))


_GUARD_HINT = ("a script that runs sweeps or an executor must put that code under `if __name__ == \"__main__\":` "
               "(every worker process re-imports the script), and the function and items must be picklable "
               "top-level objects; nothing was recorded, so the fixed script reruns every point")


def check_workers(executor: Executor) -> None:
    """Run :func:`worker_probe` on ``executor``; raise :class:`InputError` if its workers cannot run it."""
    for _i, _result, error in executor.map_unordered(worker_probe, [None]):
        if error is not None:
            raise InputError(f"the worker processes could not run even a trivial item ({error_text(error)}); "
                             + _GUARD_HINT)

def run_tasks(tasks: Iterable[PointTask], store: SweepStore, executor: Executor, *, progress: bool = True,
              desc: str = "sweep", retry_failed: bool = False, handle_signals: bool = False,
              total: int | None = None) -> RunOutcome:
    """Run the tasks whose key has no record yet; append each record to the store as it arrives.

    ``tasks`` may be a lazy iterable (a sweep plans its points while the first ones run): a task is
    read when a worker slot is free, and one whose key was seen already (this run) or is recorded
    (unless ``retry_failed`` and it failed) is skipped. ``total``: the number of tasks for the
    progress bar when ``tasks`` has no length.

    With ``handle_signals`` (main thread only), SIGINT/SIGTERM stop the run
    cleanly: nothing new starts, running points are abandoned (not recorded),
    finished points stay; a second signal raises KeyboardInterrupt.

    Failures caused by the caller are never recorded (a rerun after the fix runs
    those points): the executor is probed with a trivial item first
    (:func:`check_workers`: e.g. a script without a ``__main__`` guard breaks every
    worker), and an item that cannot be pickled or imported in a worker
    (:func:`caller_error`) raises :class:`InputError` once the others are done.
    """
    progress = show_progress(progress)  # bars on a terminal only
    sized = hasattr(tasks, "__len__")
    if sized:
        total = len({t.key for t in tasks})  # type: ignore[union-attr]
    counts = {"ok": 0, "failed": 0}
    bar = tqdm(total=total, desc=desc, unit="pt", file=sys.stderr, disable=not progress, dynamic_ncols=True,
               smoothing=0.1)

    def postfix() -> None:
        remaining = f" remaining={bar.total - counts['ok'] - counts['failed']}" if bar.total is not None else ""
        bar.set_postfix_str(f"done={counts['ok']} failed={counts['failed']}{remaining}", refresh=False)

    seen: set[str] = set()
    sent: list[PointTask] = []   # the tasks handed to the executor, by their index there

    def todo() -> Iterable[PointTask]:
        for t in tasks:
            if t.key in seen:   # the same point twice: run once
                if not sized and bar.total:
                    bar.total -= 1
                continue
            seen.add(t.key)
            rec = store.records.get(t.key)
            if rec is not None and not (retry_failed and rec.get("status") != "ok"):
                counts["ok" if rec.get("status") == "ok" else "failed"] += 1
                postfix()
                bar.update()
                continue
            sent.append(t)
            yield t

    postfix()
    interrupted: list[int] = []

    def on_signal(signum: int, frame: Any) -> None:
        if interrupted:
            raise KeyboardInterrupt
        interrupted.append(signum)
        executor.stop()

    old: dict[int, Any] = {}
    if handle_signals and threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            old[sig] = signal.signal(sig, on_signal)
    n_run = 0
    not_sent: list[BaseException] = []
    try:
        items = todo()
        first = next(items, None)
        if first is not None:
            check_workers(executor)
            items = itertools.chain([first], items)
        for i, result, error in executor.map_unordered(run_point, items if first is not None else ()):
            task = sent[i]
            if interrupted and (error is not None or result.get("status") != "ok"):
                continue  # may be an artefact of the interruption (e.g. a worker hit by Ctrl-C): rerun later
            if error is not None and caller_error(error):
                not_sent.append(error)  # the caller's fault, not the point's: not a result
                continue
            if error is not None:
                result = {"key": task.key, "status": "failed", "error": error_text(error), "metrics": {},
                          "wall_s": None, "pid": None}
            result["dir"] = _relative_dir(task, store)
            store.append(result)
            n_run += 1
            counts["ok" if result["status"] == "ok" else "failed"] += 1
            postfix()
            bar.update()
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
        bar.close()
    if interrupted or executor.stopped:
        executor.close()  # stop what is still running; the executor restarts on its next use
        executor.clear_stop()
    if not_sent:
        raise InputError(f"{len(not_sent)} point(s) could not be sent to a worker ({error_text(not_sent[0])}); "
                         + _GUARD_HINT)
    return RunOutcome(store.records, n_run, interrupted[0] if interrupted else None)


def _relative_dir(task: PointTask, store: SweepStore) -> str:
    try:
        return str(Path(task.out_dir).relative_to(store.dir))
    except ValueError:
        return task.out_dir


def plan_sweep(spec: SweepSpec, points_dir: Path, points: Iterable[Point] | None = None
               ) -> list[tuple[Point, PointTask | None, str]]:
    """``(point, task, planning_error)`` for every point (task None when planning failed)."""
    return list(iter_plan(spec, points_dir, points))


def iter_plan(spec: SweepSpec, points_dir: Path, points: Iterable[Point] | None = None
              ) -> Iterator[tuple[Point, PointTask | None, str]]:
    """:func:`plan_sweep` one point at a time (a sweep runs the first points while it plans the rest)."""
    held = 0
    tables: dict[int, tuple[Card, pd.DataFrame | None, str]] = {}   # by card (held: its id stays its own)
    for p in (spec.points() if points is None else points):
        if p.error or p.card is None:
            yield p, None, p.error or "InputError: no card"
            continue
        table = None
        if spec.analysis == "flow":
            cid = id(p.card)
            if cid not in tables:
                try:
                    tables[cid] = (p.card, technology_for(p.card).table_for(p.card, spec.testbench, spec.array,
                                                                             p.mismatch), "")
                except LimHwError as exc:
                    tables[cid] = (p.card, None, error_text(exc))
            _card, table, err = tables[cid]
            if table is None:
                yield p, None, err
                continue
        try:
            task = plan_task(p.card, spec.analysis, points_dir, spec.testbench, spec.array, p.mismatch,
                             write_waveforms=spec.write_waveforms, table=table, plots=spec.point_plots)
        except LimHwError as exc:
            yield p, None, error_text(exc)
            continue
        if task.table is not None:   # keep the planned tables for the workers within a memory budget
            held += int(task.table.memory_usage(index=True).sum())
            if held > TABLE_BUDGET_BYTES:
                task = dataclasses.replace(task, table=None)   # the worker synthesises it again
        yield p, task, ""


def sweep_table(plan: Sequence[tuple[Point, PointTask | None, str]],
                records: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """One row per point, sorted by index: status, error, axis values, metrics, key, dir."""
    rows = []
    metric_cols: dict[str, None] = {}
    for p, task, err in sorted(plan, key=lambda x: x[0].index):
        row: dict[str, Any] = {"index": p.index}
        rec = records.get(task.key) if task is not None else None
        if task is None:
            row.update(status="failed", error=err)
        elif rec is None:
            row.update(status="missing", error="")
        else:
            row.update(status=rec["status"], error=rec.get("error", ""))
        row.update(p.axis_values())
        metrics = dict(rec.get("metrics", {})) if rec else {}
        metric_cols.update(dict.fromkeys(metrics))
        row["_metrics"] = metrics
        row["key"] = task.key if task is not None else ""
        row["dir"] = (rec.get("dir", "") if rec else "") if task is not None else ""
        rows.append(row)
    for row in rows:
        metrics = row.pop("_metrics")
        for c in metric_cols:
            row[c] = metrics.get(c, float("nan"))
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    front = [c for c in df.columns if c not in metric_cols and c not in ("key", "dir")]
    return df[front + list(metric_cols) + ["key", "dir"]]


def run_sweep(spec: SweepSpec, out_dir: str | Path, executor: str | Executor = "local",
              workers: int | None = None, scheduler: str | None = None, resume: bool = False,
              retry_failed: bool = False, progress: bool = True, handle_signals: bool = False) -> SweepResult:
    """Run ``spec`` into ``out_dir`` (see the module docstring and docs/sweeps.md).

    ``executor`` is a kind (``"local"``/``"dask"``, with ``workers``/``scheduler``)
    or an executor object from :func:`make_executor` (used, not closed).
    Without ``resume`` the directory must not hold a sweep already.
    """
    t0 = time.perf_counter()
    from ..output_paths import check_output_dir, ensure_result_dir

    out_dir = check_output_dir(out_dir, "sweep", "sweep directory", create_parents=True, probe=False)
    if (out_dir / "points.jsonl").exists() and not resume:
        raise InputError(f"{out_dir} already holds a sweep; pass --resume to continue it or choose "
                         "another output directory")
    planner = iter_plan(spec, out_dir / POINTS_DIR)
    plan: list[tuple[Point, PointTask | None, str]] = []

    def planned() -> Iterator[PointTask]:  # read by the executor as worker slots free up
        for entry in planner:
            plan.append(entry)
            if entry[1] is not None:
                yield entry[1]

    own = not isinstance(executor, Executor)
    ex = make_executor(executor, workers, scheduler) if own else executor
    try:
        ex.start()  # before the directory exists: a scheduler that cannot be reached is bad input
        ensure_result_dir(out_dir, "sweep", "sweep directory")
        with SweepStore(out_dir, resume=resume) as store:
            for stale in (out_dir / TABLE, *out_dir.glob("plot_*.png")):
                stale.unlink(missing_ok=True)
            write_text_atomic(out_dir / "sweep.toml", spec.text or "# sweep built in Python (no sweep file)\n")
            write_text_atomic(out_dir / "base_card.toml",
                              card_to_toml(spec.base, header=f"base card of sweep '{spec.name}' ({spec.base_ref})"))
            outcome = run_tasks(planned(), store, ex, progress=progress, desc=f"sweep {spec.name}",
                                retry_failed=retry_failed, handle_signals=handle_signals, total=spec.n_points)
            plan.extend(planner)   # the points not planned when the run stopped early (interrupted)
            tasks = [t for _, t, _ in plan if t is not None]
            table = sweep_table(plan, outcome.records)
            counts = table["status"].value_counts().to_dict() if not table.empty else {}
            n_ok, n_failed, n_missing = (int(counts.get(k, 0)) for k in ("ok", "failed", "missing"))
            files = ["points.jsonl", "sweep.json", "sweep.toml", "base_card.toml"]
            if n_missing == 0:
                write_csv_atomic(out_dir / TABLE, table, provenance=False)
                files.append(TABLE)
                from .plots import plot_sweep

                files += plot_sweep(table, spec, out_dir)
            wall = time.perf_counter() - t0
            write_json_atomic(out_dir / "sweep.json", {
                "name": spec.name, "base_card": spec.base_ref, "analysis": spec.analysis,
                "testbench": spec.testbench if spec.array is None else f"array {spec.array[0]}x{spec.array[1]}",
                "axes": [a.key for a in spec.grid], "montecarlo": None if spec.montecarlo is None else {
                    "n": spec.montecarlo.n, "seed": spec.montecarlo.seed,
                    "params": {d.param: {"dist": d.dist, **dict(d.args)} for d in spec.montecarlo.dists}},
                "n_points": len(plan), "n_unique": len({t.key for t in tasks}), "n_ok": n_ok,
                "n_failed": n_failed, "n_missing": n_missing, "complete": n_missing == 0,
                "n_run_this_time": outcome.n_run, "interrupted_by": outcome.interrupted,
                "executor": ex.describe(), "wall_s": wall, "versions": versions(),
                **({"pdk": recs} if (recs := pdk_records(p.card for p, _, _ in plan)) else {}),
            })
            described = ex.describe()
    finally:
        if own:
            ex.close()
    return SweepResult(out_dir, table, len(plan), n_ok, n_failed, n_missing, outcome.n_run, wall,
                       outcome.interrupted, files, described)
