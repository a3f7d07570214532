"""Reading and checking measurement tables for the fits (CSV with a header; units in the names).

Columns (extra columns are ignored; lines starting with ``#`` are comments):

=========  ===================================  ==================================
model      required                             optional
=========  ===================================  ==================================
decay      ``time_s`` and ``V_ox_V``            ``sigma_V`` (1-sigma noise of V)
           (or ``V_fg_V``: then V_ox = V_tun -  ``V_tun_V`` (per row; else the
           V_fg)                                base card's ``V_tun_V``);
                                                ``T_K``: one trace per temperature
                                                (rows of one T_K form a trace, its
                                                time from its own start)
iv         ``voltage_V``, ``current_A``          ``sigma_A``
pulse      ``t_pulse_s``, ``dV_V``               ``sigma_V``
=========  ===================================  ==================================

Every problem raises :class:`lim_hw.errors.InputError` with one line naming the
file, the column and the data row (1-based, header and comment lines not
counted) and the fix: unreadable file, missing column, non-numeric or NaN
value, non-monotonic time, negative or zero current, fewer than
:data:`MIN_POINTS` points, constant data.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = ["MIN_POINTS", "MODELS", "REQUIRED", "FitData", "read_fit_csv", "check_decay", "check_iv",
           "check_pulse"]

#: Fewest data points any fit accepts.
MIN_POINTS = 5
MODELS = ("decay", "iv", "pulse")
#: Required columns per model (tuples list alternatives).
REQUIRED: dict[str, tuple[tuple[str, ...], ...]] = {
    "decay": (("time_s",), ("V_ox_V", "V_fg_V")),
    "iv": (("voltage_V",), ("current_A",)),
    "pulse": (("t_pulse_s",), ("dV_V",)),
}


@dataclass(frozen=True)
class FitData:
    """A checked table. ``columns`` uses canonical names: decay ``time_s, V_ox_V[, sigma_V]``;
    iv ``voltage_V, current_A[, sigma_A]``; pulse ``t_pulse_s, dV_V[, sigma_V]``."""

    model: str
    columns: dict[str, np.ndarray]
    path: str = "<array>"
    sha256: str = ""
    n_rows: int = 0
    header: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def source(self) -> dict:
        return {"path": self.path, "sha256": self.sha256, "n_rows": self.n_rows,
                "columns": list(self.header), "notes": list(self.notes)}


def _where(path: str) -> str:
    return f"in {path}" if path != "<array>" else "in the data"


def _numeric(df: pd.DataFrame, col: str, path: str) -> np.ndarray:
    raw = df[col]
    num = pd.to_numeric(raw, errors="coerce")
    bad = num.isna() | ~np.isfinite(num.to_numpy(dtype=float, na_value=np.nan))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        val = raw.iloc[i]
        what = "missing or NaN" if (pd.isna(val) or str(val).strip().lower() in ("nan", "")) else \
            f"not a finite number ({str(val).strip()!r})"
        raise InputError(f"column {col} {_where(path)} is {what} at data row {i + 1}; "
                         "fix or remove that row")
    return num.to_numpy(dtype=float)


#: Canonical (x, y, sigma) column names per model, as in :class:`FitData`.
_COLUMNS: dict[str, tuple[str, str, str]] = {
    "decay": ("time_s", "V_ox_V", "sigma_V"),
    "iv": ("voltage_V", "current_A", "sigma_A"),
    "pulse": ("t_pulse_s", "dV_V", "sigma_V"),
}


def _read_columns(df: pd.DataFrame, model: str, path: str, notes: list[str],
                  read_y: Callable[[], np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """The checked canonical columns of ``model`` (x, y, then sigma if the file has it) read from ``df``.

    ``read_y`` reads the y column instead of the canonical one (decay: V_ox
    from V_fg); the checker's notes are appended to ``notes``.
    """
    x_name, y_name, s_name = _COLUMNS[model]
    x = _numeric(df, x_name, path)
    y = read_y() if read_y is not None else _numeric(df, y_name, path)
    sigma = _numeric(df, s_name, path) if s_name in df.columns else None
    if model == "decay":
        x, y, sigma = check_decay(x, y, sigma, path=path)
    else:
        x, y, sigma, more = (check_iv if model == "iv" else check_pulse)(x, y, sigma, path=path)
        notes += more
    cols = {x_name: x, y_name: y}
    if sigma is not None:
        cols[s_name] = sigma
    return cols


def _read_traces(df: pd.DataFrame, path: str, notes: list[str], read_y) -> dict[str, np.ndarray]:
    """Decay data with a ``T_K`` column: each temperature's rows are one trace, checked on their own."""
    T = _numeric(df, "T_K", path)
    if np.any(T < 1.0) or np.any(T > 1000.0):
        i = int(np.flatnonzero((T < 1.0) | (T > 1000.0))[0])
        raise InputError(f"column T_K in {path} is {T[i]:g} K at data row {i + 1}; give the absolute "
                         "temperature in kelvin (1 .. 1000 K)")
    t = _numeric(df, "time_s", path)
    V = read_y()
    sigma = _numeric(df, "sigma_V", path) if "sigma_V" in df.columns else None
    for T_j in dict.fromkeys(T.tolist()):
        g = np.flatnonzero(T == T_j)
        if np.any(np.diff(g) != 1):
            raise InputError(f"the rows of the trace at T_K = {T_j:g} K in {path} are not contiguous; "
                             "write each temperature's trace as one block of rows")
        check_decay(t[g], V[g], None if sigma is None else sigma[g], path=f"{path} (trace at {T_j:g} K)")
    notes.append(f"{len(set(T.tolist()))} trace(s) at T_K = " + ", ".join(f"{x:g}" for x in dict.fromkeys(T.tolist()))
                 + " K")
    cols = {"time_s": t, "V_ox_V": V, "T_K": T}
    if sigma is not None:
        cols["sigma_V"] = sigma
    return cols


def _decay_V_ox(df: pd.DataFrame, column: str, path: str, V_tun_V: float | None,
                notes: list[str]) -> np.ndarray:
    """The oxide voltage of a retention trace: the ``V_ox_V`` column, or V_tun - ``V_fg_V``."""
    if column == "V_ox_V":
        V_ox = _numeric(df, "V_ox_V", path)
        if "V_fg_V" in df.columns:
            notes.append("both V_ox_V and V_fg_V given: V_ox_V used")
        return V_ox
    V_fg = _numeric(df, "V_fg_V", path)
    if "V_tun_V" in df.columns:
        V_tun = _numeric(df, "V_tun_V", path)
        notes.append("V_ox = V_tun_V - V_fg_V with V_tun_V from the data file")
    elif V_tun_V is not None:
        V_tun = np.full_like(V_fg, float(V_tun_V))
        notes.append(f"V_ox = V_tun - V_fg_V with V_tun = {float(V_tun_V):g} V from the base card")
    else:
        raise InputError(f"data file {path} gives V_fg_V but no V_tun_V; add a V_tun_V column or "
                         "give the tunnelling bias (base card [device] V_tun_V)")
    return V_tun - V_fg


def read_fit_csv(path: str | Path, model: str, *, V_tun_V: float | None = None) -> FitData:
    """Read and check a measurement CSV for ``model`` (``decay``, ``iv`` or ``pulse``).

    ``V_tun_V`` converts a ``V_fg_V`` column to the oxide voltage when the file
    has no ``V_tun_V`` column (the CLI passes the base card's value).
    """
    if model not in MODELS:
        raise InputError(f"unknown fit model {model!r}; use one of {', '.join(MODELS)}")
    from ..inputs import read_input_bytes
    from ..limits import MAX_CSV_BYTES, MAX_CSV_ROWS

    p = Path(path)
    blob = read_input_bytes(p, "data file", MAX_CSV_BYTES)  # regular files only, bounded
    rows = blob.count(b"\n")
    if rows > MAX_CSV_ROWS + 1000:  # header and comment lines allowed for
        raise InputError(f"data file {p} has about {rows} lines, more than the {MAX_CSV_ROWS}-row limit of a fit; "
                         "thin the data (every k-th point) first")
    try:
        text = blob.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"data file {p} is not UTF-8 text; save it as a CSV text file") from None
    try:
        df = pd.read_csv(io.StringIO(text), comment="#", skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise InputError(f"data file {p} has no header and no data; write a CSV with a header line "
                         f"({', '.join(a[0] for a in REQUIRED[model])})") from None
    except (pd.errors.ParserError, ValueError) as exc:
        msg = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise InputError(f"data file {p} is not a readable CSV ({msg}); fix the file") from None
    df.columns = [str(c).strip() for c in df.columns]
    header = tuple(df.columns)
    spath = str(p)
    chosen: list[str] = []
    for alternatives in REQUIRED[model]:
        found = [c for c in alternatives if c in df.columns]
        if not found:
            want = " or ".join(alternatives)
            raise InputError(f"data file {p} has no column {want} (needed for --model {model}); "
                             f"columns found: {', '.join(header) or 'none'}")
        chosen.append(found[0])
    if len(df) > MAX_CSV_ROWS:
        raise InputError(f"data file {p} has {len(df)} data rows, more than the {MAX_CSV_ROWS}-row limit of a fit; "
                         "thin the data (every k-th point) first")
    if len(df) < MIN_POINTS:
        raise InputError(f"data file {p} has only {len(df)} data rows; the {model} fit needs at least "
                         f"{MIN_POINTS}")
    notes: list[str] = []
    read_y = (lambda: _decay_V_ox(df, chosen[1], spath, V_tun_V, notes)) if model == "decay" else None
    if model == "decay" and "T_K" in df.columns:
        cols = _read_traces(df, spath, notes, read_y)
    else:
        cols = _read_columns(df, model, spath, notes, read_y)
    return FitData(model, cols, spath, hashlib.sha256(blob).hexdigest(), len(df), header, tuple(notes))


# --------------------------------------------------------------------------- #
# checks shared by the file reader and the array API
# --------------------------------------------------------------------------- #
def _arr(name: str, x, path: str) -> np.ndarray:
    try:
        a = np.asarray(x, dtype=float).ravel()
    except (TypeError, ValueError):
        raise InputError(f"{name} {_where(path)} must be numbers") from None
    bad = ~np.isfinite(a)
    if bad.any():
        raise InputError(f"{name} {_where(path)} is NaN or infinite at data row {int(np.flatnonzero(bad)[0]) + 1}; "
                         "fix or remove that row")
    return a


def _count(n: int, what: str, path: str) -> None:
    if n < MIN_POINTS:
        raise InputError(f"only {n} data points {_where(path)}; the {what} fit needs at least {MIN_POINTS}")


def _sigma(sigma, n: int, name: str, path: str) -> np.ndarray | None:
    if sigma is None:
        return None
    s = _arr(name, sigma, path)
    if s.size == 1:
        s = np.full(n, float(s[0]))
    if s.size != n:
        raise InputError(f"{name} {_where(path)} has {s.size} values for {n} points")
    if np.any(s <= 0):
        raise InputError(f"{name} {_where(path)} must be > 0 (a standard deviation); data row "
                         f"{int(np.flatnonzero(s <= 0)[0]) + 1} is {s[s <= 0][0]!r}")
    return s


def _increasing(name: str, t: np.ndarray, path: str) -> None:
    if np.any(t < 0):
        i = int(np.flatnonzero(t < 0)[0])
        raise InputError(f"{name} {_where(path)} is negative at data row {i + 1} ({t[i]:g} s); "
                         "times count from the moment the gate was set")
    d = np.diff(t)
    if np.any(d <= 0):
        i = int(np.flatnonzero(d <= 0)[0]) + 1
        raise InputError(f"{name} {_where(path)} is not strictly increasing at data row {i + 1} "
                         f"({t[i - 1]:g} s then {t[i]:g} s); sort the rows by time and remove duplicates")


def check_decay(t_s, V_ox_V, sigma_V=None, *, path: str = "<array>"):
    """Checked ``(t_s, V_ox_V, sigma_V)`` of a retention trace; InputError on degenerate data."""
    t = _arr("time_s", t_s, path)
    V = _arr("V_ox_V", V_ox_V, path)
    if t.size != V.size:
        raise InputError(f"time_s and V_ox_V {_where(path)} have different lengths ({t.size}, {V.size})")
    _count(t.size, "decay", path)
    _increasing("time_s", t, path)
    if np.any(V <= 0):
        i = int(np.flatnonzero(V <= 0)[0])
        raise InputError(f"V_ox_V {_where(path)} is {V[i]:g} V at data row {i + 1}; the oxide voltage of a "
                         "tunnelling gate is > 0 (check the sign convention V_ox = V_tun - V_fg)")
    if np.ptp(V) == 0:
        raise InputError(f"V_ox_V {_where(path)} is constant ({V[0]:g} V): there is no decay to fit")
    k = max(1, t.size // 5)
    if np.mean(V[-k:]) >= np.mean(V[:k]):
        raise InputError(f"V_ox_V {_where(path)} does not decrease over the trace (start ~{np.mean(V[:k]):.6g} V, "
                         f"end ~{np.mean(V[-k:]):.6g} V); a retention trace decays -- if the column is the "
                         "floating-gate voltage, name it V_fg_V")
    return t, V, _sigma(sigma_V, t.size, "sigma_V", path)


def check_iv(voltage_V, current_A, sigma_A=None, *, path: str = "<array>"):
    """Checked ``(V, I, sigma, notes)`` of an FN I-V curve, sorted by voltage."""
    V = _arr("voltage_V", voltage_V, path)
    I = _arr("current_A", current_A, path)
    if V.size != I.size:
        raise InputError(f"voltage_V and current_A {_where(path)} have different lengths ({V.size}, {I.size})")
    _count(V.size, "iv", path)
    if np.any(V <= 0):
        i = int(np.flatnonzero(V <= 0)[0])
        raise InputError(f"voltage_V {_where(path)} is {V[i]:g} V at data row {i + 1}; the FN fit needs the "
                         "positive oxide voltage of the tunnelling branch (use |V| of one polarity)")
    if np.any(I < 0):
        i = int(np.flatnonzero(I < 0)[0])
        raise InputError(f"current_A {_where(path)} is negative at data row {i + 1} ({I[i]:g} A); give the "
                         "magnitude of the tunnelling current of one polarity")
    if np.any(I == 0):
        i = int(np.flatnonzero(I == 0)[0])
        raise InputError(f"current_A {_where(path)} is 0 at data row {i + 1}; ln(I/V^2) is undefined -- "
                         "remove points below the instrument floor")
    if np.unique(V).size < 3:
        raise InputError(f"voltage_V {_where(path)} has fewer than 3 distinct values; sweep the voltage")
    if np.ptp(I) == 0:
        raise InputError(f"current_A {_where(path)} is constant ({I[0]:g} A): no FN dependence to fit")
    s = _sigma(sigma_A, V.size, "sigma_A", path)
    notes = []
    order = np.argsort(V, kind="stable")
    if np.any(np.diff(order) < 0):
        notes.append("rows sorted by voltage_V")
    return V[order], I[order], (s[order] if s is not None else None), notes


def check_pulse(t_pulse_s, dV_V, sigma_V=None, *, path: str = "<array>"):
    """Checked ``(t, dV, sigma, notes)`` of a programming-response table, dV made positive overall.

    Individual late steps may be zero or of the opposite sign (readout noise),
    up to a quarter of the points; more means mixed polarities: InputError.
    """
    t = _arr("t_pulse_s", t_pulse_s, path)
    d = _arr("dV_V", dV_V, path)
    if t.size != d.size:
        raise InputError(f"t_pulse_s and dV_V {_where(path)} have different lengths ({t.size}, {d.size})")
    _count(t.size, "pulse", path)
    _increasing("t_pulse_s", t, path)
    notes = []
    total = float(np.sum(d))
    if total == 0:
        raise InputError(f"dV_V {_where(path)} sums to 0: no net programming response to fit")
    if total < 0:
        d = -d
        notes.append("dV_V is negative overall: its magnitude is fitted")
    opposite = d <= 0
    if np.count_nonzero(opposite) > 0.25 * d.size or np.count_nonzero(~opposite) < MIN_POINTS:
        i = int(np.flatnonzero(opposite)[0])
        raise InputError(f"dV_V {_where(path)} changes sign (first at data row {i + 1}) for more than a quarter "
                         "of the pulses; fit the steps of one pulse polarity at a time")
    if np.any(opposite):
        notes.append(f"{int(np.count_nonzero(opposite))} step(s) of the opposite sign or zero kept "
                     "(readout noise on small late steps)")
    if np.ptp(d) == 0:
        raise InputError(f"dV_V {_where(path)} is constant ({d[0]:g} V): no time dependence to fit")
    return t, d, _sigma(sigma_V, t.size, "sigma_V", path), notes
