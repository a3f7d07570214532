"""Stored baselines: plain text files meant to be read in a code-review diff.

A baseline is a folder with two files:

``metrics.csv``
    header ``case,metric,value``, then one metric per line, sorted by case and
    metric, values written with ``%.12g`` (``nan``, ``inf`` as such). No
    comment line, so a regenerated baseline differs only where a number did.
``provenance.json``
    the ngspice version, lim-hw version, and per case the card, testbench,
    ngspice version, ``.options``, ``.tran`` settings and netlist hash of the
    run that produced the numbers (sorted keys, 2-space indent).

A missing or corrupt file raises :class:`~lim_hw.errors.InputError` naming the
file, the line and the fix.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ..errors import InputError, one_line
from ..outputs import write_text_atomic

METRICS_FILE = "metrics.csv"
PROVENANCE_FILE = "provenance.json"
FORMAT = "lim-hw regression baseline v1"
HEADER = ("case", "metric", "value")

Key = tuple[str, str]  # (case, metric)


def format_value(value: float) -> str:
    """The fixed text form of a metric value: ``%.12g`` (``nan``, ``inf``, ``-inf``)."""
    return f"{float(value):.12g}"


def round_value(value: float) -> float:
    """``value`` rounded the way the baseline stores it (12 significant digits)."""
    return float(format_value(value))


@dataclass
class Baseline:
    """Stored metric values keyed by ``(case, metric)``, and the provenance of the run."""

    values: dict[Key, float] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def case_provenance(self, case: str) -> dict[str, Any]:
        return dict(self.provenance.get("cases", {}).get(case, {}))


def metrics_text(values: Mapping[Key, float]) -> str:
    """The text of ``metrics.csv`` for ``values`` (sorted, ``%.12g``)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(HEADER)
    for (case, metric) in sorted(values):
        w.writerow((case, metric, format_value(values[(case, metric)])))
    return buf.getvalue()


def provenance_text(provenance: Mapping[str, Any]) -> str:
    return json.dumps({"format": FORMAT, **provenance}, indent=2, sort_keys=True, allow_nan=False) + "\n"


def check_baseline_target(directory: str | Path) -> None:
    """Refuse a baseline folder whose files lim-hw did not write (never destroy data).

    ``--update-baseline`` replaces ``metrics.csv`` and ``provenance.json`` only
    where they are absent or recognisably a lim-hw baseline (the metrics header
    line, the provenance ``format`` key); anything else at those names is a
    user's file and the run stops before simulating.
    """
    directory = Path(directory)
    fix = "choose another --baseline folder or move the file away"
    if os.path.lexists(directory) and not directory.is_dir():
        raise InputError(f"--baseline {directory} exists and is not a folder; {fix}")
    mpath, ppath = directory / METRICS_FILE, directory / PROVENANCE_FILE
    for path in (mpath, ppath):
        if os.path.lexists(path) and (path.is_symlink() or not path.is_file()):
            raise InputError(f"{path} exists and is not a regular file; {fix}")
    if mpath.exists():
        try:
            with mpath.open(encoding="utf-8", newline="") as f:
                first = f.readline(200).rstrip("\r\n")
        except (OSError, UnicodeDecodeError):
            first = None
        if first != ",".join(HEADER):
            raise InputError(f"{mpath} is not a lim-hw baseline (its first line is not {','.join(HEADER)}); "
                             f"lim-hw will not overwrite it: {fix}")
    if ppath.exists():
        try:
            ours = json.loads(ppath.read_text(encoding="utf-8")).get("format") == FORMAT
        except (OSError, UnicodeDecodeError, ValueError, AttributeError):
            ours = False
        if not ours:
            raise InputError(f"{ppath} is not a lim-hw baseline provenance (no format {FORMAT!r}); "
                             f"lim-hw will not overwrite it: {fix}")


def write_baseline(directory: str | Path, values: Mapping[Key, float], provenance: Mapping[str, Any]) -> Path:
    """Write ``metrics.csv`` and ``provenance.json`` into ``directory`` (each atomically)."""
    directory = Path(directory)
    check_baseline_target(directory)
    write_text_atomic(directory / METRICS_FILE, metrics_text(values))
    write_text_atomic(directory / PROVENANCE_FILE, provenance_text(provenance))
    return directory


def read_baseline(directory: str | Path) -> Baseline:
    """Read a baseline folder; :class:`InputError` (one line, with the fix) if missing or corrupt."""
    directory = Path(directory)
    mpath = directory / METRICS_FILE
    ppath = directory / PROVENANCE_FILE
    fix = "regenerate it with lim-hw regress SUITE --update-baseline (or restore it from version control)"
    if not mpath.is_file():
        raise InputError(f"no baseline in {directory} ({METRICS_FILE} missing); create it with "
                         "lim-hw regress SUITE --update-baseline")
    try:
        text = mpath.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read baseline {mpath} ({one_line(exc)}); {fix}") from None
    values = _parse_metrics(text, mpath, fix)
    provenance: dict[str, Any] = {}
    if ppath.exists():
        try:
            provenance = json.loads(ppath.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"corrupt baseline {ppath} ({one_line(exc)}); {fix}") from None
        if not isinstance(provenance, dict) or not isinstance(provenance.get("cases", {}), dict):
            raise InputError(f"corrupt baseline {ppath} (not a JSON object with a 'cases' object); {fix}")
        if provenance.get("format", FORMAT) != FORMAT:
            raise InputError(f"baseline {ppath} has format {provenance.get('format')!r}, expected {FORMAT!r}; {fix}")
    return Baseline(values, provenance, directory)


def _parse_metrics(text: str, path: Path, fix: str) -> dict[Key, float]:
    rows = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(rows, None)
        if header is None or tuple(header) != HEADER:
            raise InputError(f"corrupt baseline {path}:1: header must be {','.join(HEADER)}, got "
                             f"{','.join(header or []) or 'nothing'}; {fix}")
        values: dict[Key, float] = {}
        for row in rows:
            line = rows.line_num
            if not row:
                continue
            if len(row) != 3 or not row[0] or not row[1]:
                raise InputError(f"corrupt baseline {path}:{line}: expected case,metric,value, got "
                                 f"{','.join(row)!r}; {fix}")
            case, metric, raw = row
            try:
                value = float(raw)
            except ValueError:
                raise InputError(f"corrupt baseline {path}:{line}: value {raw!r} of {case} {metric} is not a "
                                 f"number; {fix}") from None
            if (case, metric) in values:
                raise InputError(f"corrupt baseline {path}:{line}: {case} {metric} appears twice; {fix}")
            values[(case, metric)] = value
    except csv.Error as exc:
        raise InputError(f"corrupt baseline {path}:{rows.line_num}: {one_line(exc)}; {fix}") from None
    return values


# ----------------------------------------------------------------- what changed
@dataclass(frozen=True)
class Change:
    """One line of the ``--update-baseline`` report."""

    case: str
    metric: str
    old: float | None   # None: added
    new: float | None   # None: removed
    within_tolerance: bool | None = None  # a change the suite's tolerance would have passed

    @property
    def kind(self) -> str:
        if self.old is None:
            return "added"
        if self.new is None:
            return "removed"
        return "unchanged" if _same(self.old, self.new) else "changed"

    def text(self) -> str:
        old = "(new)" if self.old is None else format_value(self.old)
        new = "(removed)" if self.new is None else format_value(self.new)
        rel = ""
        if self.kind == "changed" and self.old != 0.0 and math.isfinite(self.old) and math.isfinite(self.new):
            rel = f"  ({(self.new - self.old) / abs(self.old):+.3g} rel)"
        if self.kind == "changed" and self.within_tolerance:
            rel += "  [within tolerance]"
        return f"{self.case}  {self.metric}  {old} -> {new}{rel}"


def changes(old: Mapping[Key, float], new: Mapping[Key, float]) -> list[Change]:
    """Per-metric old -> new comparison of two sets of baseline values (sorted)."""
    keys = sorted(set(old) | set(new))
    return [Change(c, m, old.get((c, m)), new.get((c, m))) for c, m in keys]


def _same(a: float, b: float) -> bool:
    return format_value(a) == format_value(b)
