"""Learning-rate and update-rate schedules for the LIM bound.

A schedule gives, for every update ``n = 1 .. N``, the learning rate ``eps_n``,
the gradient magnitude ``g_n`` and the target update rate ``R_n`` (1/s).

Learning-rate schedules (``n`` starts at 1, and every analytic kind starts at
``eps_1 = eps0``):

- ``inverse``:      ``eps_n = eps0 / (1 + (n - 1)/n0)``  (the O(1/n) schedule of
  Fig. 3b of Performance Walls, Chakrabartty & Cauwenberghs, ISCAS 2023);
- ``power``:        ``eps_n = eps0 * n**(-p)``;
- ``exponential``:  ``eps_n = eps0 * gamma**(n - 1)`` -- we use ``n - 1`` so that
  ``eps_1 = eps0`` as for the other kinds (the design note writes
  ``gamma**n``; the two differ by the constant factor ``gamma``);
- ``constant``:     ``eps_n = eps0``;
- ``table``:        read from a CSV with a header and columns ``n, eps`` and
  optional ``R_per_s`` and ``grad``.

Update-rate schedule (Sec. III of Performance Walls): ``R_n = R_max *
eps_n**(1 + alpha)`` with ``0 < alpha < 1``, unless a table gives ``R_per_s``.

The time budget of a schedule is ``sum_n 1/R_n`` (seconds). The Robbins-Monro
conditions (``sum eps_n = inf``, ``sum eps_n**2 < inf``) are reported
analytically per kind by :func:`robbins_monro`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from ..errors import InputError

if TYPE_CHECKING:   # pandas is imported where a table is read or built (start-up of `lim-hw bound`)
    import pandas as pd

KINDS = ("inverse", "power", "exponential", "constant", "table")

_FLOAT_FIELDS = ("eps0", "n0", "p", "gamma", "alpha", "grad")

__all__ = ["KINDS", "ScheduleSpec", "update_rate_schedule_per_s", "time_budget_s",
           "robbins_monro", "read_schedule_table", "eps_at"]


def _check_number(key: str, value: Any, *, integer: bool = False) -> float | int:
    """Type check one numeric value from a mapping; return it as float (or int)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        kind = "an integer" if integer else "a number"
        raise InputError(f"schedule key '{key}' must be {kind}, got {value!r} "
                         f"({type(value).__name__}); write it as a plain number")
    try:
        v = float(value)
    except OverflowError:  # an integer of hundreds of digits
        raise InputError(f"schedule key '{key}' is an integer too large for a float; give a realistic "
                         "value") from None
    if not math.isfinite(v):
        raise InputError(f"schedule key '{key}' is {value!r}; give a finite number")
    if integer:
        if not v.is_integer():
            raise InputError(f"schedule key '{key}' must be a whole number, got {value!r}; "
                             f"round it to an integer")
        return int(v)
    return v


@dataclass(frozen=True)
class ScheduleSpec:
    """A learning-rate / update-rate schedule (see the module docstring).

    Every value is validated on construction; bad values raise
    :class:`lim_hw.errors.InputError` with a one-line message naming the key.
    """

    kind: str = "inverse"
    n_updates: int = 20
    eps0: float = 0.5
    n0: float = 1.0
    p: float = 1.0
    gamma: float = 0.9
    alpha: float = 0.5
    grad: float = 1.0
    table_csv: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.kind, str) or self.kind not in KINDS:
            raise InputError(f"schedule kind {self.kind!r} is unknown; use one of {', '.join(KINDS)}")
        n = _check_number("n_updates", self.n_updates, integer=True)
        if n < 0:
            raise InputError(f"schedule key 'n_updates' is {n}; give 0 or a positive integer")
        object.__setattr__(self, "n_updates", n)
        for key in _FLOAT_FIELDS:
            object.__setattr__(self, key, _check_number(key, getattr(self, key)))
        for key in ("eps0", "n0", "p", "grad"):
            if getattr(self, key) <= 0:
                raise InputError(f"schedule key '{key}' is {getattr(self, key)!r}; it must be > 0")
        if not 0.0 < self.gamma < 1.0:
            raise InputError(f"schedule key 'gamma' is {self.gamma!r}; it must lie in (0, 1)")
        if not 0.0 < self.alpha < 1.0:
            raise InputError(f"schedule key 'alpha' is {self.alpha!r}; it must lie in (0, 1)")
        if self.table_csv is not None:
            if not isinstance(self.table_csv, (str, Path)):
                raise InputError(f"schedule key 'table_csv' must be a file path string, "
                                 f"got {type(self.table_csv).__name__}")
            object.__setattr__(self, "table_csv", str(self.table_csv))
        if self.kind == "table" and not self.table_csv:
            raise InputError("schedule kind 'table' needs 'table_csv'; give the path of a CSV "
                             "with columns n, eps (optional R_per_s, grad)")
        if self.kind == "table":
            # read and validate eagerly; the table's rows define the updates
            object.__setattr__(self, "n_updates", len(read_schedule_table(self.table_csv)))
        if self.kind != "table" and self.table_csv is not None:
            raise InputError(f"schedule key 'table_csv' is only used with kind = 'table' "
                             f"(kind is {self.kind!r}); remove it or set kind = 'table'")

    # ------------------------------------------------------------------ I/O
    @classmethod
    def from_dict(cls, d: Mapping[str, Any], base_dir: Path | None = None) -> "ScheduleSpec":
        """Build a spec from a mapping (e.g. a TOML ``[schedule]`` table).

        Unknown keys, wrong types, NaN/inf and out-of-range values raise
        :class:`InputError`. ``table_csv`` is resolved relative to ``base_dir``
        (when given and the path is relative) and read and validated eagerly;
        for ``kind = "table"`` the row count becomes ``n_updates`` (a given
        ``n_updates`` must match it; direct construction silently sets it).
        """
        if not isinstance(d, Mapping):
            raise InputError(f"schedule must be a table of key = value pairs, got {type(d).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise InputError(f"unknown schedule key(s) {', '.join(map(repr, unknown))}; "
                             f"allowed keys are {', '.join(sorted(known))}")
        kw: dict[str, Any] = {}
        for key, value in d.items():
            if key == "kind":
                if not isinstance(value, str):
                    raise InputError(f"schedule key 'kind' must be a string, got {value!r}; "
                                     f"use one of {', '.join(KINDS)}")
                kw[key] = value
            elif key == "table_csv":
                if value is None:
                    continue
                if not isinstance(value, (str, Path)):
                    raise InputError(f"schedule key 'table_csv' must be a file path string, got {value!r}")
                path = Path(value).expanduser()
                if base_dir is not None and not path.is_absolute():
                    path = Path(base_dir) / path
                kw[key] = str(path)
            elif key == "n_updates":
                kw[key] = _check_number(key, value, integer=True)
            else:
                kw[key] = _check_number(key, value)
        if kw.get("kind") == "table" and kw.get("table_csv"):
            table = read_schedule_table(kw["table_csv"])
            if "n_updates" in kw and kw["n_updates"] != len(table):
                raise InputError(f"schedule key 'n_updates' is {kw['n_updates']} but "
                                 f"{kw['table_csv']} has {len(table)} rows; drop n_updates or make them agree")
            kw["n_updates"] = len(table)
        return cls(**kw)

    def to_dict(self) -> dict:
        """Plain dict of the fields (``None`` values omitted); round-trips through :meth:`from_dict`."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}

    # ------------------------------------------------------------ schedules
    def _table(self) -> pd.DataFrame:
        return read_schedule_table(self.table_csv)  # type: ignore[arg-type]

    def eps(self) -> np.ndarray:
        """Learning rates ``eps_n`` for ``n = 1 .. n_updates`` (float array)."""
        if self.kind == "table":
            return self._table()["eps"].to_numpy(dtype=float)
        return eps_at(self, np.arange(1, self.n_updates + 1, dtype=float))

    def steps(self, R_max_per_s: float) -> pd.DataFrame:
        """Per-update schedule: columns ``n`` (int), ``eps``, ``grad``, ``R_per_s``.

        ``R_per_s = R_max * eps**(1 + alpha)`` unless a table gives ``R_per_s``;
        ``grad`` is the constant ``grad`` unless a table gives it.
        """
        import pandas as pd

        return pd.DataFrame(self.step_columns(R_max_per_s))

    def step_columns(self, R_max_per_s: float) -> dict[str, np.ndarray]:
        """The columns of :meth:`steps` as numpy arrays (no pandas)."""
        R_max = _check_number("R_max_per_s", R_max_per_s)
        if R_max <= 0:
            raise InputError(f"R_max_per_s is {R_max_per_s!r}; it must be a positive rate in 1/s")
        if self.kind == "table":
            t = self._table()
            n = t["n"].to_numpy(dtype=np.int64)
            eps = t["eps"].to_numpy(dtype=float)
            grad = t["grad"].to_numpy(dtype=float) if "grad" in t else np.full(len(t), self.grad)
            if "R_per_s" in t:
                R = t["R_per_s"].to_numpy(dtype=float)
            else:
                R = update_rate_schedule_per_s(eps, R_max, self.alpha)
        else:
            n = np.arange(1, self.n_updates + 1, dtype=np.int64)
            eps = self.eps()
            grad = np.full(n.shape, self.grad)
            R = update_rate_schedule_per_s(eps, R_max, self.alpha)
        return {"n": n, "eps": eps, "grad": grad, "R_per_s": R}

    def ln_rates(self, R_max_per_s: float) -> np.ndarray:
        """``ln R_n`` per update, in log space: ``ln R_max + (1 + alpha) ln eps_n`` (or ``ln`` of a table's
        ``R_per_s``), finite where ``R_n`` itself underflows (``eps ~ 1e-300``)."""
        R_max = _check_number("R_max_per_s", R_max_per_s)
        if R_max <= 0:
            raise InputError(f"R_max_per_s is {R_max_per_s!r}; it must be a positive rate in 1/s")
        if self.kind == "table":
            t = self._table()
            if "R_per_s" in t:
                return np.log(t["R_per_s"].to_numpy(dtype=float))
            eps = t["eps"].to_numpy(dtype=float)
        else:
            eps = self.eps()
        return np.log(R_max) + (1.0 + self.alpha) * np.log(eps)

    def time_budget_s(self, R_max_per_s: float) -> float:
        """Total time ``sum_n 1/R_n`` (s) the schedule needs."""
        return time_budget_s(self.steps(R_max_per_s)["R_per_s"].to_numpy())

    def robbins_monro(self) -> dict:
        """Analytic Robbins-Monro verdict for this schedule (see :func:`robbins_monro`)."""
        return robbins_monro(self)


def update_rate_schedule_per_s(eps: Any, R_max_per_s: float, alpha: float) -> np.ndarray:
    """``R_n = R_max * eps_n**(1 + alpha)`` (Sec. III of Performance Walls), 1/s."""
    eps = np.asarray(eps, dtype=float)
    return R_max_per_s * eps ** (1.0 + alpha)


def time_budget_s(R_per_s: Any) -> float:
    """Time budget ``sum_n 1/R_n`` in seconds (0 for an empty schedule)."""
    R = np.asarray(R_per_s, dtype=float)
    return float(np.sum(1.0 / R)) if R.size else 0.0


def robbins_monro(spec: ScheduleSpec) -> dict:
    """Robbins-Monro conditions for the *infinite* schedule of this kind.

    Returns ``{"sum_eps_diverges", "sum_eps2_converges", "satisfied", "note"}``
    (booleans, or ``None`` when undecidable, i.e. for a finite table):

    - inverse: ``sum 1/n`` diverges, ``sum 1/n^2`` converges -> satisfied;
    - power: diverges iff ``p <= 1``, squares converge iff ``p > 1/2`` ->
      satisfied iff ``1/2 < p <= 1``;
    - exponential: ``sum eps`` converges (geometric) -> not satisfied;
    - constant: ``sum eps^2`` diverges -> not satisfied.
    """
    if spec.kind == "inverse":
        div, conv, note = True, True, "eps ~ 1/n: harmonic sum diverges, sum of squares converges"
    elif spec.kind == "power":
        div, conv = spec.p <= 1.0, spec.p > 0.5
        note = "eps ~ n^-p: satisfied iff 1/2 < p <= 1"
    elif spec.kind == "exponential":
        div, conv, note = False, True, "geometric decay: sum eps converges (updates stop too early)"
    elif spec.kind == "constant":
        div, conv, note = True, False, "constant eps: sum eps^2 diverges (noise never averages out)"
    else:
        return {"sum_eps_diverges": None, "sum_eps2_converges": None, "satisfied": None,
                "note": "finite table: the asymptotic conditions cannot be decided"}
    return {"sum_eps_diverges": div, "sum_eps2_converges": conv, "satisfied": div and conv,
            "note": note}


def read_schedule_table(path: str | Path) -> pd.DataFrame:
    """Read and validate a schedule CSV (header; columns ``n, eps`` [, ``R_per_s``, ``grad``]).

    Lines starting with ``#`` are comments. ``n`` must be strictly increasing
    positive integers; ``eps`` and ``R_per_s`` finite and > 0; ``grad`` finite and
    non-zero (its sign is the direction of the update: < 0 lowers the weight; the
    bound uses g^2).
    """
    import io

    import pandas as pd

    from ..inputs import read_input_bytes
    from ..limits import MAX_CSV_BYTES

    path = Path(path)
    if not path.exists():
        raise InputError(f"schedule table {path} not found; check 'table_csv' (relative paths "
                         f"are resolved from the config file's folder)")
    blob = read_input_bytes(path, "schedule table", MAX_CSV_BYTES)  # regular files only, bounded
    try:
        t = pd.read_csv(io.BytesIO(blob), comment="#", skipinitialspace=True, encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        msg = " ".join(str(exc).split())
        raise InputError(f"cannot read schedule table {path} ({type(exc).__name__}: {msg}); "
                         f"give a readable CSV with header n,eps[,R_per_s,grad]") from None
    t.columns = [str(c).strip() for c in t.columns]
    allowed = {"n", "eps", "R_per_s", "grad"}
    extra = sorted(set(t.columns) - allowed)
    if extra:
        raise InputError(f"schedule table {path} has unknown column(s) {', '.join(map(repr, extra))}; "
                         f"allowed columns are n, eps, R_per_s, grad")
    for col in ("n", "eps"):
        if col not in t.columns:
            raise InputError(f"schedule table {path} has no '{col}' column; the header must name "
                             f"n and eps (optional R_per_s, grad)")
    if len(t) == 0:
        raise InputError(f"schedule table {path} has no rows; add at least one update")
    out = {}
    for col in t.columns:
        vals = pd.to_numeric(t[col], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(vals)
        if col == "grad":
            bad |= vals == 0
        elif col != "n":
            bad |= ~(vals > 0)
        if bad.any():
            i = int(np.argmax(bad))
            raise InputError(f"schedule table {path}: column '{col}' row {i + 1} is "
                             f"{t[col].iloc[i]!r}; give a finite number"
                             f"{'' if col == 'n' else ' != 0 (its sign is the direction)' if col == 'grad' else ' > 0'}")
        out[col] = vals
    n = out["n"]
    if not (np.all(n == np.round(n)) and n[0] >= 1 and np.all(np.diff(n) > 0)):
        raise InputError(f"schedule table {path}: column 'n' must be strictly increasing "
                         f"integers starting at >= 1")
    df = pd.DataFrame({c: out[c] for c in ("n", "eps", "R_per_s", "grad") if c in out})
    df["n"] = df["n"].astype(np.int64)
    return df


def eps_at(spec: ScheduleSpec, n: Any) -> np.ndarray:
    """The analytic learning-rate formula of ``spec`` at (possibly non-integer) ``n >= 1``.

    Used to sum very long schedules (projection.py) without enumerating every
    update. Not defined for ``kind = "table"``.
    """
    n = np.asarray(n, dtype=float)
    if spec.kind == "inverse":
        return spec.eps0 / (1.0 + (n - 1.0) / spec.n0)
    if spec.kind == "power":
        return spec.eps0 * n ** (-spec.p)
    if spec.kind == "exponential":
        return spec.eps0 * np.exp((n - 1.0) * math.log(spec.gamma))
    if spec.kind == "constant":
        return np.full(n.shape, spec.eps0)
    raise InputError("a 'table' schedule has no formula for arbitrary n; use an analytic kind "
                     "(inverse, power, exponential, constant)")
