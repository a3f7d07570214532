"""Run a suite's cases (in parallel), extract their metrics, check or rewrite the baseline.

::

    suite = load_suite("tests/regression/suite.toml")
    report = check_suite(suite)                 # simulate, compare with suite.baseline_dir
    print(format_table(report)); report.ok
    update_baseline(suite)                      # simulate, rewrite the baseline, list the changes

Each case is one :func:`lim_hw.flow.run_flow` in a worker process of the sweep
executor (:func:`lim_hw.sweep.executors.make_executor`, ``kind="local"``; one
worker runs in this process); the worker returns only numbers and messages (no
DataFrames cross the process boundary).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

from .. import __version__
from ..errors import InputError, LimHwError, one_line
from ..report.names import vector_column
from ..sim.rawfile import read_raw
from ..flow import run_flow  # at import time, so the executor's fork server preloads it for every worker
from .baseline import Baseline, Change, changes, check_baseline_target, read_baseline, round_value, write_baseline
from .compare import Report, compare, within_tolerance
from .suite import AGGREGATES, CaseSpec, MetricSpec, Suite

#: Most samples of a waveform a decay fit uses (log-spaced in time; real samples, no interpolation).
FIT_MAX_POINTS = 500


class MetricError(Exception):
    """A metric could not be computed from a case's results (message: what and why)."""


@dataclass
class CaseOutcome:
    """What one case produced: metric name -> rounded value or error message; provenance; wall time."""

    case: str
    values: dict[str, float | str] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    wall_s: float = 0.0


# ----------------------------------------------------------------- executor
def _make_executor(workers: int):
    """The sweep executor: ``with ... as ex: for i, result, error in ex.map_unordered(fn, items)``.

    ``workers == 1`` runs the cases in this process (easiest to debug).
    """
    from ..sweep.executors import make_executor

    return make_executor(kind="local", workers=workers)


# ----------------------------------------------------------------- one case (runs in a worker)
def run_case(job: tuple[CaseSpec, str] | tuple[CaseSpec, str, bool]) -> CaseOutcome:
    """Simulate one case into ``out_dir`` and extract its metrics. Never raises for a failed simulation.

    ``job`` is ``(case, out_dir)`` or ``(case, out_dir, plots)``: PNG plots and report.html per case
    only when ``plots`` (default False).
    """
    case, out_dir = job[0], job[1]
    plots = bool(job[2]) if len(job) > 2 else False
    t0 = time.perf_counter()
    outcome = CaseOutcome(case.name)
    try:
        res = run_flow(case.card, out_dir, engine=case.engine, kind=case.kind, array=case.array, progress=False,
                       write_waveforms=case.needs_waveforms, plots=plots)
    except LimHwError as exc:
        outcome.error = one_line(exc)
    except Exception as exc:  # noqa: BLE001 - a crash of the flow is a regression, not a crash of regress
        outcome.error = f"{type(exc).__name__}: {one_line(exc)} ({_where(exc)})"
    else:
        outcome.provenance = case_provenance(case, res.summary, Path(out_dir) / "netlist.cir")
        sources = _Sources(res.summary, res.updates, Path(out_dir), case)
        for m in case.metrics:
            try:
                outcome.values[m.name] = round_value(extract_metric(m, sources))
            except MetricError as exc:
                outcome.values[m.name] = str(exc)
            except Exception as exc:  # noqa: BLE001 - one bad metric must not hide the others
                outcome.values[m.name] = f"{type(exc).__name__}: {one_line(exc)} ({_where(exc)})"
    outcome.wall_s = time.perf_counter() - t0
    return outcome


def _where(exc: BaseException) -> str:
    tb = traceback.extract_tb(exc.__traceback__)
    return f"{Path(tb[-1].filename).name}:{tb[-1].lineno}" if tb else "?"


def case_provenance(case: CaseSpec, summary: Mapping[str, Any], deck: Path | None = None) -> dict[str, Any]:
    """The simulator set-up of a case run, as stored in the baseline's provenance.json.

    ``deck_sha256`` (:func:`lim_hw.netlist.render.portable_sha256` of the run's netlist.cir)
    is the same in every checkout, so a difference from the baseline's means the circuit
    changed; ``netlist_sha256`` hashes the deck as simulated, with this checkout's library path.
    """
    from ..netlist.render import portable_sha256

    prov = summary.get("provenance", {}) or {}
    digest = portable_sha256(deck.read_text(encoding="utf-8")) if deck is not None and deck.is_file() else ""
    return {"card": case.card_ref, "testbench": case.testbench, "engine": summary.get("engine", case.engine),
            "ngspice": prov.get("ngspice", ""), "lim_hw": prov.get("lim_hw", __version__),
            "options": prov.get("options", {}), "tran": prov.get("tran", {}),
            "netlist_sha256": prov.get("netlist_sha256", ""), "deck_sha256": digest}


class _Sources:
    """Lazy access to a case's summary, updates, waveforms and fitted parameters."""

    def __init__(self, summary: Mapping[str, Any], updates: pd.DataFrame, out_dir: Path,
                 case: CaseSpec | None = None) -> None:
        self.summary, self.updates, self.out_dir, self.case = summary, updates, out_dir, case
        self._wave: pd.DataFrame | None = None
        self._fit: dict[str, Any] = {}

    def waveforms(self) -> pd.DataFrame:
        if self._wave is None:
            path = self.out_dir / "waveforms.raw"
            if not path.is_file():
                raise MetricError("no waveforms.raw (the engine of this case writes none)")
            plot = read_raw(path)
            self._wave = pd.DataFrame({"time_s": plot.data[0], **{vector_column(n): col for n, col in
                                                                  zip(plot.names[1:], plot.data[1:])}})
        return self._wave

    def fitted(self, model: str) -> Mapping[str, float]:
        """Parameters of the ``model`` fit (fitted and derived, by name), computed once per case."""
        if model not in self._fit:
            try:
                self._fit[model] = decay_fit(self.waveforms(), self.case)
            except MetricError as exc:
                self._fit[model] = exc
            except Exception as exc:  # noqa: BLE001 - reported on each fit metric
                self._fit[model] = MetricError(f"{model} fit failed: {one_line(exc)}")
        got = self._fit[model]
        if isinstance(got, MetricError):
            raise got
        return got


def decay_fit(wf: pd.DataFrame, case: CaseSpec) -> dict[str, float]:
    """Fit ``V_ox = V_tun_V - V_fg_V`` (t >= 1 s) with :func:`lim_hw.fit.fit_decay`; all parameters by name.

    At most :data:`FIT_MAX_POINTS` samples, log-spaced in time, are used; the
    device constants (phi_B, m_eff, C_T) and the FN law (thermal factor at T_K,
    image force: :func:`lim_hw.fit.fit_decay_law`) are the case card's.
    """
    from ..fit import fit_decay, fit_decay_law

    missing = [c for c in ("V_tun_V", "V_fg_V") if c not in wf.columns]
    if missing:
        raise MetricError(f"the decay fit needs waveforms {', '.join(missing)} (a cell testbench); "
                          f"columns: {', '.join(c for c in wf.columns if c != 'time_s')}")
    t = wf["time_s"].to_numpy(float)
    keep = t >= 1.0
    t, v = t[keep], (wf["V_tun_V"] - wf["V_fg_V"]).to_numpy(float)[keep]
    if t.size < 10:
        raise MetricError(f"the decay fit needs a retention trace beyond 1 s; this case has {t.size} samples there")
    idx = np.unique(np.searchsorted(t, np.geomspace(t[0], t[-1], FIT_MAX_POINTS)).clip(0, t.size - 1))
    d = case.card.device
    if d.law.is_classic:
        res = fit_decay(t[idx], v[idx], phi_B_eV=d.phi_B_eV, m_eff=d.m_eff, C_T_F=d.C_T_F)
    else:
        res = fit_decay_law(t[idx], v[idx], law=d.law, C_T_F=d.C_T_F)
    return {p.name: float(p.value) for p in (*res.params, *res.derived)}


def extract_metric(m: MetricSpec, src: _Sources) -> float:
    """The value of metric ``m`` from a case's results; :class:`MetricError` if it cannot be computed."""
    if m.source == "summary":
        value: Any = src.summary
        for part in m.key.split("."):
            if not isinstance(value, Mapping) or part not in value:
                keys = sorted(k for k, v in src.summary.items() if _is_number(v))
                raise MetricError(f"no key {m.key!r} in summary.json; numeric keys: {', '.join(keys)}")
            value = value[part]
        return _number(value, f"summary {m.key}")
    if m.source == "updates":
        df = src.updates
        if m.key not in df.columns:
            raise MetricError(f"no column {m.key!r} in updates.csv; columns: {', '.join(map(str, df.columns))}")
        if df.empty:
            raise MetricError(f"updates.csv has no rows (a retention case?); {m.key} is undefined")
        col = pd.to_numeric(df[m.key], errors="coerce")
        if m.agg is not None:
            assert m.agg in AGGREGATES
            return _number(getattr(col, m.agg)(), f"updates {m.key} {m.agg}")
        rows = col[df["n"] == m.n]
        if rows.empty:
            raise MetricError(f"no update n={m.n} in updates.csv (n runs {int(df['n'].min())}..{int(df['n'].max())})")
        return _number(rows.iloc[0], f"updates {m.key} at n={m.n}")
    if m.source == "waveform":
        wf = src.waveforms()
        if m.key not in wf.columns or m.key == "time_s":
            cols = [c for c in wf.columns if c != "time_s"]
            raise MetricError(f"no vector {m.key!r} in waveforms.raw; vectors: {', '.join(cols)}")
        t = wf["time_s"].to_numpy(float)
        if not (t[0] <= m.t_s <= t[-1]):
            raise MetricError(f"t_s = {m.t_s:g} s is outside the simulated time {t[0]:g}..{t[-1]:g} s")
        return float(np.interp(m.t_s, t, wf[m.key].to_numpy(float)))
    if m.source == "fit":
        params = src.fitted(m.model or "decay")
        if m.key not in params:
            raise MetricError(f"no parameter {m.key!r} in the {m.model} fit; it has {', '.join(sorted(params))}")
        return _number(params[m.key], f"fit {m.key}")
    raise MetricError(f"unknown metric source {m.source!r}")  # pragma: no cover - suite.py validates


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def _number(v: Any, what: str) -> float:
    if v is None:
        return math.nan  # JSON null: a NaN the flow wrote
    if not _is_number(v):
        raise MetricError(f"{what} is {v!r}, not a number")
    return float(v)


# ----------------------------------------------------------------- the suite
def default_workers(n_cases: int) -> int:
    """One worker per case, at most the usable cores."""
    from ..sweep.executors import default_workers as cores

    return max(1, min(n_cases, cores()))


def run_cases(suite: Suite, workers: int | None = None, output_dir: str | Path | None = None,
              on_done: Callable[[CaseOutcome], None] | None = None, plots: bool = False) -> dict[str, CaseOutcome]:
    """Simulate every case (``workers`` processes; default one per case up to the CPU count).

    Case outputs go to ``output_dir/<case>/`` when given (kept), else to a temporary folder;
    ``plots`` adds each case's PNG plots and report.html there.
    """
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise InputError(f"workers = {workers!r} must be a whole number >= 1")
    workers = workers or default_workers(len(suite.cases))
    outcomes: dict[str, CaseOutcome] = {}
    with contextlib.ExitStack() as stack:
        if output_dir is None:
            root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lim-hw-regress-")))
        else:
            from ..output_paths import ensure_result_dir

            root = ensure_result_dir(output_dir, "regress")
        jobs = [(case, str(root / case.name), plots) for case in suite.cases]
        with _make_executor(min(workers, len(jobs))) as ex:
            for i, result, error in ex.map_unordered(run_case, jobs):
                case = suite.cases[i]
                if error is not None or result is None:
                    result = CaseOutcome(case.name, error=f"worker failed: {one_line(error) or type(error).__name__}")
                outcomes[case.name] = result
                if on_done is not None:
                    on_done(result)
    return {c.name: outcomes[c.name] for c in suite.cases}


def observed_values(outcomes: Mapping[str, CaseOutcome]) -> dict[tuple[str, str], float | str]:
    return {(c, m): v for c, o in outcomes.items() for m, v in o.values.items()}


def check_suite(suite: Suite, baseline_dir: str | Path | None = None, workers: int | None = None,
                output_dir: str | Path | None = None,
                on_done: Callable[[CaseOutcome], None] | None = None, plots: bool = False) -> Report:
    """Simulate the suite and compare with the baseline (read first, so a bad one fails before simulating)."""
    baseline = read_baseline(baseline_dir or suite.baseline_dir)
    outcomes = run_cases(suite, workers, output_dir, on_done, plots)
    return compare_outcomes(suite, outcomes, baseline)


def compare_outcomes(suite: Suite, outcomes: Mapping[str, CaseOutcome], baseline: Baseline) -> Report:
    report = compare(suite, observed_values(outcomes), baseline,
                     provenance={c: o.provenance for c, o in outcomes.items()},
                     case_errors={c: o.error for c, o in outcomes.items() if o.error is not None})
    report.case_wall_s = {c: o.wall_s for c, o in outcomes.items()}
    if not report.ngspice:  # no case ran: name the simulator on PATH
        from ..provenance import ngspice_version

        report.ngspice = ngspice_version()
    return report


@dataclass
class UpdateResult:
    """Outcome of :func:`update_baseline`: per-metric changes, or the errors that stopped the write."""

    path: Path
    changes: list[Change]
    errors: list[str]
    written: bool

    def counts(self) -> dict[str, int]:
        out = {"changed": 0, "added": 0, "removed": 0, "unchanged": 0}
        for c in self.changes:
            out[c.kind] += 1
        return out


def update_baseline(suite: Suite, baseline_dir: str | Path | None = None, workers: int | None = None,
                    output_dir: str | Path | None = None,
                    on_done: Callable[[CaseOutcome], None] | None = None, plots: bool = False) -> UpdateResult:
    """Simulate the suite and rewrite its baseline; nothing is written if any metric cannot be computed.

    The previous baseline (if readable) is only used to list what changed; a corrupt
    one is replaced only if its files are recognisably lim-hw's
    (:func:`~lim_hw.regress.baseline.check_baseline_target`, checked before any case runs).
    """
    path = Path(baseline_dir or suite.baseline_dir)
    check_baseline_target(path)
    try:
        old = read_baseline(path).values
    except InputError:
        old = {}
    outcomes = run_cases(suite, workers, output_dir, on_done, plots)
    errors = [f"{c}: case did not run: {o.error}" for c, o in outcomes.items() if o.error is not None]
    errors += [f"{c} {m}: {v}" for (c, m), v in observed_values(outcomes).items() if isinstance(v, str)]
    new = {k: v for k, v in observed_values(outcomes).items() if not isinstance(v, str)}
    diff = [_annotate(suite, c) for c in changes(old, new)]
    if errors:
        return UpdateResult(path, diff, errors, written=False)
    cases = {c: o.provenance for c, o in outcomes.items()}
    ngspice = next((p["ngspice"] for p in cases.values() if p.get("ngspice")), "")
    write_baseline(path, new, {"suite": suite.name, "lim_hw": __version__, "ngspice": ngspice, "cases": cases})
    return UpdateResult(path, diff, [], written=True)


def _annotate(suite: Suite, change: Change) -> Change:
    """Mark a changed value that the suite's tolerance for it would have passed."""
    if change.kind != "changed":
        return change
    try:
        m = next(m for m in suite.case(change.case).metrics if m.name == change.metric)
    except (KeyError, StopIteration):
        return change
    return dataclasses.replace(change, within_tolerance=within_tolerance(change.new, change.old, m.abs_tol,
                                                                         m.rel_tol))
