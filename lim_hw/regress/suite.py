"""Regression suites: which reference designs to simulate and which metrics to check.

A suite is a TOML file (docs/regression.md)::

    [suite]
    name = "reference designs"
    baseline = "baseline"            # folder of the stored baseline, relative to this file

    [defaults]                       # tolerances for metrics that give none
    rel_tol = 1e-3

    [[case]]
    name = "cell"
    card = "cards/cell.toml"         # relative to this file, or "default"
    kind = "cell"                    # "cell" (default) or "synapse"
    # array = "2x2"                  # an array testbench instead (ROWSxCOLS)

      [[case.metric]]
      summary = "E_supply_median_J"  # a key of summary.json (dots reach into tables)
      rel_tol = 1e-3

      [[case.metric]]
      updates = "V_p_V"              # a column of updates.csv ...
      n = [1, 5]                     # ... at these updates, or agg = "min|max|median|sum|mean"

      [[case.metric]]
      waveform = "V_fg_V"            # a vector of waveforms.raw by its column name, linearly interpolated
      t_s = [999.0, 1049.0]
      abs_tol = 1e-4

      [[case.metric]]
      fit = "tox_m"                  # a parameter fitted to the case's waveforms (model = "decay":
      rel_tol = 1e-4                 # V_tun_V - V_fg_V of a retention run, lim_hw.fit.fit_decay)

Every metric is checked with ``|observed - baseline| <= abs_tol`` OR
``|observed - baseline| <= rel_tol * |baseline|`` (:mod:`lim_hw.regress.compare`).
Loading validates everything and loads every card, so a bad suite fails before
any simulation with one :class:`~lim_hw.errors.InputError` line.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from ..device.card import Card, default_card, load_card
from ..errors import InputError, one_line
from ..tomlfile import read_toml

SOURCES = ("summary", "updates", "waveform", "fit")
AGGREGATES = ("min", "max", "median", "sum", "mean")
KINDS = ("cell", "synapse")
ENGINES = ("batch", "shared", "fast")

#: Fit models a ``fit = "..."`` metric can use: ``decay`` fits ``V_ox = V_tun_V - V_fg_V`` of the
#: case's waveforms (t >= 1 s) with :func:`lim_hw.fit.fit_decay` (``tox_m``, ``area_m2``, ``V0_V``, ...).
FIT_MODELS = ("decay",)

_NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")
_ARRAY_RE = re.compile(r"\s*(\d{1,4})\s*[xX]\s*(\d{1,4})\s*")
_TOP_KEYS = ("suite", "defaults", "case")
_SUITE_KEYS = ("name", "baseline")
_TOL_KEYS = ("abs_tol", "rel_tol")
_CASE_KEYS = ("name", "card", "kind", "array", "engine", "metric")
_METRIC_KEYS = SOURCES + ("n", "agg", "t_s", "model", "name") + _TOL_KEYS


@dataclass(frozen=True)
class MetricSpec:
    """One number to check: where it comes from, and its tolerance.

    ``source`` is ``summary`` (``key`` a summary.json key, dotted for nested
    tables), ``updates`` (``key`` an updates.csv column at update ``n`` or
    aggregated by ``agg``), ``waveform`` (``key`` a waveforms.raw vector, named as a waveforms.csv column, at
    time ``t_s``, linear interpolation) or ``fit`` (``key`` a parameter of the
    ``model`` fit, e.g. ``tox_m`` of the ``decay`` fit of the retention trace).
    ``abs_tol`` is in the metric's unit; ``rel_tol`` is a fraction of |baseline|.
    """

    name: str
    source: str
    key: str
    n: int | None = None
    agg: str | None = None
    t_s: float | None = None
    abs_tol: float | None = None
    rel_tol: float | None = None
    model: str | None = None

    def tolerance_text(self) -> str:
        """``abs 1e-4``, ``rel 0.001`` or ``abs 1e-4 | rel 0.001``."""
        parts = []
        if self.abs_tol is not None:
            parts.append(f"abs {self.abs_tol:g}")
        if self.rel_tol is not None:
            parts.append(f"rel {self.rel_tol:g}")
        return " | ".join(parts)


@dataclass(frozen=True)
class CaseSpec:
    """One reference design: a card, its testbench and the metrics to check."""

    name: str
    card: Card
    card_ref: str
    kind: str = "cell"
    array: tuple[int, int] | None = None
    engine: str | None = None
    metrics: tuple[MetricSpec, ...] = ()

    @property
    def testbench(self) -> str:
        """``cell``, ``synapse`` or ``array RxC`` (as in summary.json)."""
        return self.kind if self.array is None else f"array {self.array[0]}x{self.array[1]}"

    @property
    def needs_waveforms(self) -> bool:
        return any(m.source in ("waveform", "fit") for m in self.metrics)


@dataclass(frozen=True)
class Suite:
    """A parsed, validated suite file."""

    path: Path
    name: str
    baseline_dir: Path
    cases: tuple[CaseSpec, ...]

    @property
    def n_metrics(self) -> int:
        return sum(len(c.metrics) for c in self.cases)

    def case(self, name: str) -> CaseSpec:
        for c in self.cases:
            if c.name == name:
                return c
        raise KeyError(name)


def load_suite(path: str | Path) -> Suite:
    """Read and validate a suite TOML file (and every card it names)."""
    path = Path(path)
    data, _ = read_toml(path, "suite")
    return suite_from_dict(data, path)


def suite_from_dict(data: Mapping[str, Any], path: Path) -> Suite:
    """Build a :class:`Suite` from parsed TOML; ``path`` anchors relative card and baseline paths."""
    where = str(path)
    _only(data, _TOP_KEYS, where, "top-level key")
    head = _table(data.get("suite", {}), f"{where}: [suite]")
    _only(head, _SUITE_KEYS, f"{where}: [suite]", "key")
    name = _string(head.get("name", path.stem), f"{where}: [suite] name")
    baseline = _string(head.get("baseline", "baseline"), f"{where}: [suite] baseline")
    defaults = _table(data.get("defaults", {}), f"{where}: [defaults]")
    _only(defaults, _TOL_KEYS, f"{where}: [defaults]", "key")
    default_tols = {k: _tol(defaults[k], f"{where}: [defaults] {k}") for k in _TOL_KEYS if k in defaults}
    raw_cases = data.get("case")
    if not isinstance(raw_cases, list) or not raw_cases:
        raise InputError(f"{where} has no [[case]] tables; add at least one case with a card and metrics")
    cases = []
    for i, raw in enumerate(raw_cases, start=1):
        cases.append(_case(raw, i, path, default_tols))
    names = [c.name for c in cases]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise InputError(f"{where}: case name(s) {', '.join(dup)} used more than once; give every case its own name")
    return Suite(path=path, name=name, baseline_dir=(path.parent / baseline), cases=tuple(cases))


# ----------------------------------------------------------------- cases and metrics
def _case(raw: Any, i: int, path: Path, default_tols: dict[str, float]) -> CaseSpec:
    where = f"{path}: case #{i}"
    raw = _table(raw, where)
    _only(raw, _CASE_KEYS, where, "key")
    if "name" not in raw:
        raise InputError(f"{where} has no name; add name = \"...\" (letters, digits, _ . -)")
    name = _ident(raw["name"], f"{where} name")
    where = f"{path}: case '{name}'"
    if "card" not in raw:
        raise InputError(f"{where} has no card; add card = \"cards/x.toml\" (relative to the suite) or \"default\"")
    card_ref = _string(raw["card"], f"{where} card")
    card = default_card() if card_ref == "default" else _load_card(path.parent / card_ref, where)
    kind = raw.get("kind", "cell")
    if kind not in KINDS:
        raise InputError(f"{where} kind = {kind!r} is not one of {', '.join(KINDS)}")
    array = _array(raw["array"], f"{where} array") if "array" in raw else None
    if array is not None and kind != "cell":
        raise InputError(f"{where} sets both kind = {kind!r} and array; an array has its own testbench, "
                         "drop one of them")
    engine = raw.get("engine")
    if engine is not None and engine not in ENGINES:
        raise InputError(f"{where} engine = {engine!r} is not one of {', '.join(ENGINES)}")
    raw_metrics = raw.get("metric")
    if not isinstance(raw_metrics, list) or not raw_metrics:
        raise InputError(f"{where} has no [[case.metric]] tables; add the metrics to check")
    metrics: list[MetricSpec] = []
    for j, m in enumerate(raw_metrics, start=1):
        metrics.extend(_metrics(m, f"{where} metric #{j}", default_tols))
    ids = [m.name for m in metrics]
    dup = sorted({n for n in ids if ids.count(n) > 1})
    if dup:
        raise InputError(f"{where} checks {', '.join(dup)} more than once; remove the duplicate or give it a name")
    return CaseSpec(name=name, card=card, card_ref=card_ref, kind=kind, array=array, engine=engine,
                    metrics=tuple(metrics))


def _metrics(raw: Any, where: str, default_tols: dict[str, float]) -> list[MetricSpec]:
    """One ``[[case.metric]]`` table -> one metric per ``n`` / ``t_s`` value."""
    raw = _table(raw, where)
    _only(raw, _METRIC_KEYS, where, "key")
    given = [s for s in SOURCES if s in raw]
    if len(given) != 1:
        choices = ", ".join(f"{s} = '...'" for s in SOURCES)
        raise InputError(f"{where} must name exactly one of {choices}; it names {', '.join(given) or 'none'}")
    source = given[0]
    key = _string(raw[source], f"{where} {source}")
    tols = {k: _tol(raw[k], f"{where} {k}") for k in _TOL_KEYS if k in raw}
    if not tols:
        tols = dict(default_tols)
    if not tols:
        raise InputError(f"{where} ({source} {key}) has no tolerance; give abs_tol and/or rel_tol "
                         "(or set them in [defaults])")
    allowed = {"summary": (), "fit": ("model",), "updates": ("n", "agg"), "waveform": ("t_s",)}[source]
    extra = [k for k in ("n", "agg", "t_s", "model") if k in raw and k not in allowed]
    if extra:
        raise InputError(f"{where}: {', '.join(extra)} does not apply to a {source} metric; remove it")
    selectors: list[dict[str, Any]] = [{}]
    if source == "fit":
        model = raw.get("model", "decay")
        if model not in FIT_MODELS:
            raise InputError(f"{where} model = {model!r} is not one of {', '.join(FIT_MODELS)}")
        _check_fit_available(where)
        selectors = [{"model": model}]
    if source == "updates":
        if ("n" in raw) == ("agg" in raw):
            raise InputError(f"{where} (updates {key}) needs exactly one row selector: n = 3 (or a list) "
                             f"or agg = one of {', '.join(AGGREGATES)}")
        if "agg" in raw:
            if raw["agg"] not in AGGREGATES:
                raise InputError(f"{where} agg = {raw['agg']!r} is not one of {', '.join(AGGREGATES)}")
            selectors = [{"agg": raw["agg"]}]
        else:
            selectors = [{"n": _update_index(v, f"{where} n")} for v in _listify(raw["n"])]
    elif source == "waveform":
        if "t_s" not in raw:
            raise InputError(f"{where} (waveform {key}) needs t_s = time in s (or a list of times)")
        selectors = [{"t_s": _time(v, f"{where} t_s")} for v in _listify(raw["t_s"])]
    if not selectors:
        raise InputError(f"{where}: the list of {'n' if source == 'updates' else 't_s'} values is empty")
    name = raw.get("name")
    if name is not None:
        name = _string(name, f"{where} name")
        if len(selectors) > 1:
            raise InputError(f"{where} sets a name but expands to {len(selectors)} metrics; "
                             "drop the name or give a single n / t_s")
        _check_metric_name(name, f"{where} name")
    out = []
    for sel in selectors:
        mid = name or metric_id(source, key, **sel)
        out.append(MetricSpec(name=mid, source=source, key=key, **sel, **tols))
    return out


def metric_id(source: str, key: str, n: int | None = None, agg: str | None = None,
              t_s: float | None = None, model: str | None = None) -> str:
    """Stable metric name used in baselines and reports.

    ``summary:E_supply_median_J``, ``updates:V_p_V[n=3]``, ``updates:E_supply_J[max]``,
    ``waveform:V_fg_V@t=1060``, ``fit:decay.tox_m``.
    """
    if source == "updates":
        return f"updates:{key}[n={n}]" if n is not None else f"updates:{key}[{agg}]"
    if source == "waveform":
        return f"waveform:{key}@t={t_s:.12g}"
    if source == "fit":
        return f"fit:{model or 'decay'}.{key}"
    return f"{source}:{key}"


def _check_fit_available(where: str) -> None:
    try:
        from ..fit import fit_decay  # noqa: F401
    except ImportError as exc:
        raise InputError(f"{where} is a fit metric, but the fitting stage is not available ({one_line(exc)}); "
                         "remove the metric or install a lim-hw with lim_hw.fit") from None


def _check_metric_name(name: str, where: str) -> None:
    if not name or any(c in name for c in ',"\n\r') or name != name.strip():
        raise InputError(f"{where} = {name!r} must be non-empty, without commas, quotes, newlines or "
                         "surrounding spaces")


# ----------------------------------------------------------------- small validators
def _load_card(path: Path, where: str) -> Card:
    if not path.is_file():
        raise InputError(f"{where}: card {path} not found; give a path relative to the suite file or \"default\"")
    try:
        return load_card(path)
    except InputError as exc:
        raise InputError(f"{where}: {one_line(exc)}") from None


def _only(d: Mapping[str, Any], allowed: tuple[str, ...], where: str, what: str) -> None:
    unknown = [k for k in d if k not in allowed]
    if unknown:
        raise InputError(f"{where}: unknown {what}(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(allowed)}")


def _table(v: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(v, Mapping):
        raise InputError(f"{where} must be a TOML table, got {type(v).__name__}")
    return v


def _string(v: Any, where: str) -> str:
    if not isinstance(v, str) or not v:
        raise InputError(f"{where} must be a non-empty string, got {v!r}")
    return v


def _ident(v: Any, where: str) -> str:
    v = _string(v, where)
    if not _NAME_RE.fullmatch(v):
        raise InputError(f"{where} = {v!r} may only use letters, digits, _ . - (not starting with . or -)")
    return v


def _number(v: Any, where: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise InputError(f"{where} must be a number, got {v!r}")
    v = float(v)
    if not math.isfinite(v):
        raise InputError(f"{where} is {v}; give a finite number")
    return v


def _tol(v: Any, where: str) -> float:
    v = _number(v, where)
    if v < 0:
        raise InputError(f"{where} = {v:g} must be >= 0")
    return v


def _time(v: Any, where: str) -> float:
    v = _number(v, where)
    if v < 0:
        raise InputError(f"{where} = {v:g} s must be >= 0")
    return v


def _update_index(v: Any, where: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise InputError(f"{where} = {v!r} must be an update number >= 1 (integer)")
    return v


def _listify(v: Any) -> list[Any]:
    return list(v) if isinstance(v, list) else [v]


def _array(v: Any, where: str) -> tuple[int, int]:
    if isinstance(v, list) and len(v) == 2 and all(isinstance(x, int) and not isinstance(x, bool) for x in v):
        rows, cols = v
    elif isinstance(v, str) and _ARRAY_RE.fullmatch(v):
        m = _ARRAY_RE.fullmatch(v)
        rows, cols = int(m.group(1)), int(m.group(2))
    else:
        raise InputError(f"{where} = {v!r} is not ROWSxCOLS; write e.g. array = \"2x2\"")
    if rows < 1 or cols < 1:
        raise InputError(f"{where} = {v!r} needs at least one row and one column")
    return rows, cols
