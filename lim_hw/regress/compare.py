"""Compare observed metrics with a baseline under the tolerance rule.

The rule (for every metric, with ``diff = |observed - baseline|``)::

    pass  <=>  diff <= abs_tol  OR  diff <= rel_tol * |baseline|

An unset tolerance never passes a metric on its own; both limits are inclusive
(a difference exactly at the limit passes). Observed values are rounded to 12
significant digits before the comparison, as the baseline stores them, so a
run compared with the baseline it just wrote shows a difference of exactly 0.
Special values: NaN matches only NaN, an infinity only the same infinity.
A relative tolerance on a baseline of 0 only accepts an exact 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from .baseline import Baseline
from .suite import MetricSpec, Suite

PASS, FAIL, ERROR = "pass", "fail", "error"


def allowed_difference(baseline: float, abs_tol: float | None = None, rel_tol: float | None = None) -> float:
    """The largest ``|observed - baseline|`` that passes: ``max(abs_tol, rel_tol * |baseline|)``.

    ``-inf`` when neither tolerance is given (nothing passes, not even an exact match).
    """
    limits = []
    if abs_tol is not None:
        limits.append(float(abs_tol))
    if rel_tol is not None:
        limits.append(float(rel_tol) * abs(float(baseline)))
    return max(limits) if limits else -math.inf


def within_tolerance(observed: float, baseline: float, abs_tol: float | None = None,
                     rel_tol: float | None = None) -> bool:
    """``|observed - baseline| <= abs_tol`` or ``<= rel_tol * |baseline|`` (inclusive; see module doc)."""
    observed, baseline = float(observed), float(baseline)
    if math.isnan(observed) or math.isnan(baseline):
        return math.isnan(observed) and math.isnan(baseline)
    if math.isinf(observed) or math.isinf(baseline):
        return observed == baseline
    diff = abs(observed - baseline)
    return (abs_tol is not None and diff <= abs_tol) or (rel_tol is not None and diff <= rel_tol * abs(baseline))


@dataclass(frozen=True)
class MetricResult:
    """Outcome of one metric: ``status`` is ``pass``, ``fail`` (out of tolerance) or ``error``."""

    case: str
    metric: str
    status: str
    observed: float | None = None
    baseline: float | None = None
    diff: float | None = None
    allowed: float | None = None
    tolerance: str = ""
    message: str = ""

    @property
    def passed(self) -> bool:
        return self.status == PASS


@dataclass
class Report:
    """All metric outcomes of one regression run, plus the simulator versions on both sides."""

    suite: str
    results: list[MetricResult]
    ngspice: str = ""
    baseline_ngspice: str = ""
    case_wall_s: dict[str, float] = field(default_factory=dict)
    case_notes: dict[str, str] = field(default_factory=dict)

    @property
    def n_passed(self) -> int:
        return sum(r.status == PASS for r in self.results)

    @property
    def n_failed(self) -> int:
        return sum(r.status == FAIL for r in self.results)

    @property
    def n_errors(self) -> int:
        return sum(r.status == ERROR for r in self.results)

    @property
    def ok(self) -> bool:
        return all(r.passed for r in self.results)


def compare(suite: Suite, observed: Mapping[tuple[str, str], float | str], baseline: Baseline,
            provenance: Mapping[str, Mapping[str, Any]] | None = None,
            case_errors: Mapping[str, str] | None = None) -> Report:
    """Check every metric of ``suite``.

    ``observed`` maps ``(case, metric)`` to a number, or to a message when the
    metric could not be computed; ``case_errors`` maps a case to the reason it
    did not run. ``provenance`` (per case: ngspice, options, netlist_sha256, ...)
    is compared with the baseline's to annotate failures.
    """
    provenance = provenance or {}
    case_errors = case_errors or {}
    results: list[MetricResult] = []
    notes: dict[str, str] = {}
    for case in suite.cases:
        note = provenance_note(provenance.get(case.name, {}), baseline.case_provenance(case.name))
        if note:
            notes[case.name] = note
        for m in case.metrics:
            results.append(_one(case.name, m, observed, baseline, case_errors.get(case.name), note))
    here = _first(p.get("ngspice") for p in provenance.values())
    return Report(suite.name, results, ngspice=here or "", baseline_ngspice=str(baseline.provenance.get("ngspice", "")),
                  case_notes=notes)


def _one(case: str, m: MetricSpec, observed: Mapping[tuple[str, str], float | str], baseline: Baseline,
         case_error: str | None, note: str) -> MetricResult:
    key = (case, m.name)
    tol = m.tolerance_text()
    base = baseline.values.get(key)
    suffix = f" [{note}]" if note else ""
    if case_error is not None:
        return MetricResult(case, m.name, ERROR, baseline=base, tolerance=tol,
                            message=f"case did not run: {case_error}{suffix}")
    obs = observed.get(key)
    if obs is None:
        return MetricResult(case, m.name, ERROR, baseline=base, tolerance=tol, message="not computed")
    if isinstance(obs, str):
        return MetricResult(case, m.name, ERROR, baseline=base, tolerance=tol, message=f"{obs}{suffix}")
    if base is None:
        return MetricResult(case, m.name, ERROR, observed=obs, tolerance=tol,
                            message="not in the baseline; add it with --update-baseline")
    allowed = allowed_difference(base, m.abs_tol, m.rel_tol)
    diff = abs(obs - base) if math.isfinite(obs) and math.isfinite(base) else math.nan
    if within_tolerance(obs, base, m.abs_tol, m.rel_tol):
        return MetricResult(case, m.name, PASS, obs, base, diff, allowed, tol)
    msg = (f"observed {obs:.12g}, baseline {base:.12g}: |diff| {diff:.6g} exceeds the allowed "
           f"{allowed:.6g} ({tol}){suffix}")
    return MetricResult(case, m.name, FAIL, obs, base, diff, allowed, tol, msg)


def provenance_note(here: Mapping[str, Any], base: Mapping[str, Any]) -> str:
    """What differs between the simulator set-up of this run and the baseline's ("" if nothing)."""
    parts = []
    if here.get("ngspice") and base.get("ngspice") and here["ngspice"] != base["ngspice"]:
        parts.append(f"ngspice differs: baseline {base['ngspice']}, here {here['ngspice']}")
    ho, bo = here.get("options") or {}, base.get("options") or {}
    if ho and bo and ho != bo:
        keys = sorted(set(ho) | set(bo), key=str)
        diffs = [f"{k} {bo.get(k, '-')} -> {ho.get(k, '-')}" for k in keys if ho.get(k) != bo.get(k)]
        parts.append("options differ: " + ", ".join(diffs))
    # The portable deck digest: netlist_sha256 hashes the absolute library path of the checkout
    # that ran, so it differed on every fresh clone and told nothing.
    if here.get("deck_sha256") and base.get("deck_sha256") and here["deck_sha256"] != base["deck_sha256"]:
        parts.append("netlist differs from the baseline's")
    return "; ".join(parts)


def _first(items: Iterable[Any]) -> Any:
    for x in items:
        if x:
            return x
    return None


# ----------------------------------------------------------------- the printed table
def format_table(report: Report, failed_only: bool = False) -> str:
    """A fixed-width table: status, case, metric, observed, baseline, |diff|, allowed, tolerance."""
    head = ("status", "case", "metric", "observed", "baseline", "|diff|", "allowed", "tolerance")
    rows = []
    for r in report.results:
        if failed_only and r.passed:
            continue
        rows.append((r.status.upper(), r.case, r.metric, _num(r.observed, 8), _num(r.baseline, 8),
                     _num(r.diff, 3), _num(r.allowed, 3), r.tolerance))
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(row, widths)).rstrip() for row in (head, *rows)]
    for r in report.results:
        if not r.passed:
            lines.append(f"{r.status.upper()} {r.case} {r.metric}: {r.message}")
    return "\n".join(lines)


def summary_line(report: Report) -> str:
    n = len(report.results)
    versions = report.ngspice or "ngspice ?"
    if report.baseline_ngspice and report.ngspice and report.baseline_ngspice != report.ngspice:
        versions += f" (baseline made with {report.baseline_ngspice})"
    if report.ok:
        return f"regress {report.suite}: all {n} metrics passed ({versions})"
    return (f"regress {report.suite}: FAILED {report.n_failed + report.n_errors} of {n} metrics "
            f"({report.n_failed} out of tolerance, {report.n_errors} errors; {versions})")


def _num(v: float | None, digits: int) -> str:
    return "-" if v is None else f"{v:.{digits}g}"
