"""Fit results, their statistics, and the fit report (report.json, report.md, fit.png).

Shared by the three fit models (:mod:`decay`, :mod:`iv`, :mod:`pulse`):

- :func:`nls` runs ``scipy.optimize.least_squares`` (trust-region reflective,
  ``x_scale="jac"``) and returns the covariance ``s^2 (J^T J)^-1`` computed from
  the Jacobian at the solution through an SVD, with ``s^2 = sum(r_w^2)/dof``
  (``r_w`` are the weighted residuals). Confidence intervals are Wald intervals
  ``p +- t_{0.975, dof} * stderr`` (Student t with the residual degrees of freedom).
- :func:`propagate` carries the covariance to derived quantities by the delta
  method (numerical gradient).
- :func:`bootstrap_residuals` is the optional residual bootstrap (fixed design:
  the fitted curve plus resampled, leverage-inflated weighted residuals, refitted
  from the estimate); it gives bootstrap standard errors and percentile intervals.
- :class:`FitResult` holds everything; :func:`render_report` turns it into the
  three report files in memory, :func:`write_report` writes them atomically.

Plots use matplotlib's Agg canvas directly (no global backend switch).
"""

from __future__ import annotations

import io
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
from scipy import optimize, stats

from ..errors import InputError
from ..outputs import atomic_directory, write_csv_atomic
from ..provenance import versions

__all__ = ["Param", "FitResult", "NLSOutcome", "nls", "propagate", "bootstrap_residuals",
           "make_params", "derive", "goodness", "t_quantile", "render_report", "write_report", "plot_png"]


# --------------------------------------------------------------------------- #
# result types
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class Param:
    """One estimated quantity: value, standard error and 95 % interval (same unit as value)."""

    name: str
    value: float
    stderr: float
    ci95: tuple[float, float]
    unit: str = ""
    description: str = ""
    boot_stderr: float | None = None
    boot_ci95: tuple[float, float] | None = None

    def covers(self, true_value: float) -> bool:
        """Whether ``true_value`` lies inside the 95 % confidence interval."""
        return bool(self.ci95[0] <= true_value <= self.ci95[1])

    def to_dict(self) -> dict[str, Any]:
        d = {"name": self.name, "value": self.value, "stderr": self.stderr,
             "ci95": list(self.ci95), "unit": self.unit, "description": self.description}
        if self.boot_stderr is not None:
            d["bootstrap_stderr"] = self.boot_stderr
            d["bootstrap_ci95"] = list(self.boot_ci95) if self.boot_ci95 else None
        return d


@dataclass
class FitResult:
    """Everything one fit produced.

    ``params`` are the quantities actually fitted (in the fit's own, well-scaled
    coordinates, e.g. ``ln_k1``); ``derived`` are functions of them (``tox_m``,
    ...), with delta-method uncertainties. ``stats`` holds the goodness of fit
    (``n_points``, ``n_params``, ``dof``, ``ssr``, ``rms_residual``, ``chi2``,
    ``chi2_per_dof``, ``sigma``, ``sigma_source``, ``residual_unit``).
    ``card_updates`` are the ``[device]`` keys this fit determines.
    ``plot`` holds the arrays for fit.png. ``extra`` holds model-specific
    material (a second fit, a schedule table, the ngspice refinement log).
    """

    model: str
    method: str
    params: list[Param]
    derived: list[Param]
    covariance: np.ndarray
    stats: dict[str, Any]
    card_updates: dict[str, float]
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    plot: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, Any] = field(default_factory=dict)   # name -> DataFrame written as CSV
    source: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Param:
        """``result["tox_m"]``: a fitted or derived quantity by name."""
        for p in (*self.params, *self.derived):
            if p.name == name:
                return p
        raise KeyError(name)

    @property
    def values(self) -> dict[str, float]:
        return {p.name: p.value for p in (*self.params, *self.derived)}

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "method": self.method,
            "source": self.source,
            "parameters": [p.to_dict() for p in self.params],
            "derived": [p.to_dict() for p in self.derived],
            "covariance": {"names": [p.name for p in self.params],
                           "matrix": np.asarray(self.covariance).tolist()},
            "statistics": self.stats,
            "card_updates": self.card_updates,
            "notes": self.notes,
            "warnings": self.warnings,
            "extra": _plain(self.extra),
            "versions": versions(),
        }


# --------------------------------------------------------------------------- #
# least squares, covariance, propagation, bootstrap
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class NLSOutcome:
    """What :func:`nls` returns: estimate, covariance, weighted residuals and Jacobian."""

    p: np.ndarray
    cov: np.ndarray
    s2: float
    dof: int
    residuals_w: np.ndarray
    jac: np.ndarray
    success: bool
    message: str


def nls(residual_w: Callable[[np.ndarray], np.ndarray], p0: Sequence[float], *,
        jac: Callable[[np.ndarray], np.ndarray] | str = "2-point",
        bounds: tuple[Sequence[float], Sequence[float]] | None = None,
        names: Sequence[str] = ()) -> NLSOutcome:
    """Minimise ``sum(residual_w(p)^2)`` and compute ``cov = s^2 (J^T J)^-1``.

    ``residual_w`` returns residuals already divided by their standard
    deviations (or by a common unknown scale). ``s^2 = sum(r_w^2) / dof``
    (dof = points - parameters), so the covariance does not assume the given
    sigmas are absolutely right. Raises :class:`InputError` when the data do not
    constrain every parameter (Jacobian numerically rank deficient).
    """
    p0 = np.asarray(p0, dtype=float)
    lo, hi = bounds if bounds is not None else (-np.inf, np.inf)
    res = optimize.least_squares(residual_w, p0, jac=jac, bounds=(lo, hi), method="trf",
                                 x_scale="jac", xtol=1e-14, ftol=1e-14, gtol=1e-14, max_nfev=2000)
    r = np.asarray(res.fun, dtype=float)
    J = np.asarray(res.jac, dtype=float)
    n, k = J.shape
    dof = n - k
    if dof <= 0:
        raise InputError(f"{n} data points cannot determine {k} parameters; give more points")
    s2 = float(r @ r) / dof
    cov = _inv_jtj(J, names) * s2
    return NLSOutcome(p=np.asarray(res.x, dtype=float), cov=cov, s2=s2, dof=dof, residuals_w=r,
                      jac=J, success=bool(res.success), message=str(res.message))


def _inv_jtj(J: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """``(J^T J)^-1`` by SVD; InputError if J is numerically rank deficient."""
    if not np.all(np.isfinite(J)):
        raise InputError("the fit Jacobian is not finite; the data are outside the model's range")
    # Column scaling keeps the condition test meaningful for parameters of different size.
    scale = np.linalg.norm(J, axis=0)
    if np.any(scale == 0):
        bad = [names[i] if i < len(names) else f"p{i}" for i in np.flatnonzero(scale == 0)]
        raise InputError(f"the data do not depend on {', '.join(bad)}; they cannot be fitted from this trace")
    Js = J / scale
    _, sv, vt = np.linalg.svd(Js, full_matrices=False)
    if sv[-1] <= sv[0] * 1e-10:
        raise InputError("the data do not constrain all fit parameters (singular Jacobian); "
                         "give data over a wider range (for a decay: on both sides of the knee t = k0/k1)")
    inv = (vt.T / sv**2) @ vt
    return inv / np.outer(scale, scale)


def t_quantile(dof: int, level: float = 0.95) -> float:
    """Two-sided Student-t quantile for a ``level`` interval."""
    return float(stats.t.ppf(0.5 + level / 2.0, dof))


def make_params(names: Sequence[str], values: Sequence[float], cov: np.ndarray, dof: int,
                units: Sequence[str] = (), descriptions: Sequence[str] = (),
                boot: np.ndarray | None = None) -> list[Param]:
    """Param records with Wald 95 % intervals (and bootstrap columns if ``boot`` samples given)."""
    tq = t_quantile(dof)
    out = []
    for i, name in enumerate(names):
        v = float(values[i])
        var = float(cov[i, i]) if cov is not None else float("nan")
        se = math.sqrt(var) if var >= 0 and math.isfinite(var) else float("nan")
        bse = bci = None
        if boot is not None and len(boot) > 1:
            col = boot[:, i]
            col = col[np.isfinite(col)]
            if len(col) > 1:
                bse = float(np.std(col, ddof=1))
                bci = (float(np.percentile(col, 2.5)), float(np.percentile(col, 97.5)))
        out.append(Param(name, v, se, (v - tq * se, v + tq * se),
                         units[i] if i < len(units) else "",
                         descriptions[i] if i < len(descriptions) else "", bse, bci))
    return out


def propagate(fn: Callable[[np.ndarray], np.ndarray], p: np.ndarray, cov: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    """Delta method: value ``fn(p)`` and covariance ``G cov G^T`` (central differences)."""
    p = np.asarray(p, dtype=float)
    f0 = np.atleast_1d(np.asarray(fn(p), dtype=float))
    G = np.empty((f0.size, p.size))
    for j in range(p.size):
        h = 1e-6 * max(abs(p[j]), 1e-3) if cov is None else \
            max(1e-4 * math.sqrt(max(cov[j, j], 0.0)), 1e-9 * max(abs(p[j]), 1e-12))
        dp = np.zeros_like(p)
        dp[j] = h
        G[:, j] = (np.atleast_1d(fn(p + dp)) - np.atleast_1d(fn(p - dp))) / (2 * h)
    return f0, G @ cov @ G.T


def bootstrap_residuals(refit: Callable[[np.ndarray], np.ndarray], y_fit: np.ndarray,
                        sigma: np.ndarray, residuals_w: np.ndarray, n_params: int,
                        n_boot: int, seed: int | None = 0) -> tuple[np.ndarray, int]:
    """Residual bootstrap: ``y* = y_fit + sigma * resample(r_w) * sqrt(n/dof)``; refit each.

    ``refit(y_star)`` returns the parameter vector (or raises). Returns
    ``(samples[n_ok, n_params], n_failed)``.
    """
    rng = np.random.default_rng(seed)
    n = len(y_fit)
    inflate = math.sqrt(n / max(n - n_params, 1))
    r = residuals_w - residuals_w.mean()
    out, failed = [], 0
    for _ in range(int(n_boot)):
        y_star = y_fit + sigma * rng.choice(r, size=n, replace=True) * inflate
        try:
            p = np.asarray(refit(y_star), dtype=float)
        except (InputError, ValueError, FloatingPointError, np.linalg.LinAlgError):
            failed += 1
            continue
        if np.all(np.isfinite(p)):
            out.append(p)
        else:
            failed += 1
    return (np.array(out) if out else np.empty((0, n_params))), failed


def goodness(residuals: np.ndarray, residuals_w: np.ndarray, sigma: np.ndarray | None,
             n_params: int, unit: str, sigma_source: str, raw: np.ndarray | None = None) -> dict[str, Any]:
    """Residual statistics: RMS, SSR, chi^2 (only with a measurement sigma), chi^2/dof.

    ``residuals`` are what is shown (in ``unit``); ``raw`` (default: the same)
    are the residuals in the unit of ``sigma`` used for chi^2.
    """
    n = len(residuals)
    dof = n - n_params
    out: dict[str, Any] = {
        "n_points": n, "n_params": n_params, "dof": dof,
        "ssr": float(residuals @ residuals), "rms_residual": float(np.sqrt(np.mean(residuals**2))),
        "max_abs_residual": float(np.max(np.abs(residuals))), "residual_unit": unit,
        "s_weighted": float(np.sqrt(residuals_w @ residuals_w / dof)),
        "sigma_source": sigma_source,
    }
    if sigma is not None:
        chi2 = float(np.sum(((residuals if raw is None else raw) / sigma) ** 2))
        out.update(chi2=chi2, chi2_per_dof=chi2 / dof,
                   chi2_p_value=float(stats.chi2.sf(chi2, dof)),
                   sigma=float(np.median(sigma)))
    else:
        out.update(chi2=None, chi2_per_dof=None, chi2_p_value=None, sigma=None)
    return out


#: A derived-quantity spec: (name, unit, description, log_normal, fn(p) -> value or ln value).
DerivedSpec = tuple[str, str, str, bool, Callable[[np.ndarray], float]]


def derive(specs: Sequence[DerivedSpec], p: np.ndarray, cov: np.ndarray, dof: int,
           boot: np.ndarray | None = None) -> list[Param]:
    """Derived quantities with delta-method errors (and bootstrap columns from ``boot`` samples).

    For a ``log_normal`` spec ``fn`` returns the *logarithm* of the quantity; its
    interval is computed in log space and exponentiated (so it stays positive and
    is right for quantities spanning decades), and its std. error is ``value * se(ln)``.
    """
    tq = t_quantile(dof)
    out = []
    for name, unit, desc, is_log, fn in specs:
        g, var = propagate(lambda q: np.array([fn(q)]), p, cov)
        g0, se = float(g[0]), math.sqrt(max(float(var[0, 0]), 0.0))
        bse = bci = None
        if boot is not None and len(boot) > 1:
            vals = np.array([fn(q) for q in boot], dtype=float)
            with np.errstate(over="ignore"):
                vals = np.exp(vals) if is_log else vals
            vals = vals[np.isfinite(vals)]
            if len(vals) > 1:
                bse = float(np.std(vals, ddof=1))
                bci = (float(np.percentile(vals, 2.5)), float(np.percentile(vals, 97.5)))
        if is_log:
            with np.errstate(over="ignore"):
                v = float(np.exp(g0))
                ci = (float(np.exp(g0 - tq * se)), float(np.exp(g0 + tq * se)))
            out.append(Param(name, v, v * se, ci, unit, desc, bse, bci))
        else:
            out.append(Param(name, g0, se, (g0 - tq * se, g0 + tq * se), unit, desc, bse, bci))
    return out


# --------------------------------------------------------------------------- #
# report rendering
# --------------------------------------------------------------------------- #
def plot_png(result: FitResult) -> bytes:
    """fit.png: data vs fit (top) and residuals (bottom), as PNG bytes (Agg canvas)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    pl = result.plot
    fig = Figure(figsize=(7.0, 6.0), dpi=110)
    FigureCanvasAgg(fig)
    ax1, ax2 = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [2.2, 1.0]})
    x, y = np.asarray(pl["x"]), np.asarray(pl["y"])
    ax1.plot(x, y, "o", ms=3.5, mfc="none", label=pl.get("data_label", "data"))
    for curve in pl.get("curves", []):
        ax1.plot(curve["x"], curve["y"], curve.get("style", "-"), lw=1.3, label=curve["label"])
    ax1.set_ylabel(pl["y_label"])
    ax1.legend(fontsize=8, loc="best")
    ax1.set_title(pl.get("title", result.model), fontsize=10)
    res = np.asarray(pl["residuals"])
    ax2.axhline(0.0, color="0.5", lw=0.8)
    ax2.plot(x, res, "o", ms=3.5)
    if pl.get("sigma") is not None:
        s = float(pl["sigma"])
        ax2.axhline(2 * s, color="0.7", ls="--", lw=0.8)
        ax2.axhline(-2 * s, color="0.7", ls="--", lw=0.8)
    ax2.set_ylabel(pl["residual_label"])
    ax2.set_xlabel(pl["x_label"])
    for ax in (ax1, ax2):
        if pl.get("xlog"):
            ax.set_xscale("log")
        ax.grid(True, alpha=0.3)
    if pl.get("ylog"):
        ax1.set_yscale("log")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _fmt(v: float | None) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    return f"{v:.6g}"


def render_markdown(result: FitResult) -> str:
    """report.md text."""
    L = [f"# lim-hw fit report: {result.model}", ""]
    src = result.source
    if src:
        L += [f"- data: `{src.get('path', '?')}` ({src.get('n_rows', '?')} rows, sha256 "
              f"`{str(src.get('sha256', ''))[:16]}...`), columns {', '.join(src.get('columns', []))}"]
    L += [f"- method: {result.method}", ""]
    has_boot = any(p.boot_stderr is not None for p in (*result.params, *result.derived))

    def table(ps: list[Param]) -> list[str]:
        head = "| quantity | value | std. error | 95 % CI | unit |"
        sep = "|---|---|---|---|---|"
        if has_boot:
            head = head + " bootstrap s.e. | bootstrap 95 % CI |"
            sep += "---|---|"
        rows = [head, sep]
        for p in ps:
            ci = f"[{_fmt(p.ci95[0])}, {_fmt(p.ci95[1])}]"
            row = f"| `{p.name}` | {_fmt(p.value)} | {_fmt(p.stderr)} | {ci} | {p.unit} |"
            if has_boot:
                bci = f"[{_fmt(p.boot_ci95[0])}, {_fmt(p.boot_ci95[1])}]" if p.boot_ci95 else "n/a"
                row += f" {_fmt(p.boot_stderr)} | {bci} |"
            rows.append(row)
        return rows

    L += ["## Fitted parameters", ""] + table(result.params) + [""]
    L += ["## Derived quantities", ""] + table(result.derived) + [""]
    s = result.stats
    L += ["## Goodness of fit", "",
          f"- points {s['n_points']}, parameters {s['n_params']}, degrees of freedom {s['dof']}",
          f"- RMS residual {_fmt(s['rms_residual'])} {s['residual_unit']}, "
          f"max |residual| {_fmt(s['max_abs_residual'])} {s['residual_unit']}",
          f"- weighted residual scale s = {_fmt(s['s_weighted'])} (covariance = s^2 (J^T J)^-1)"]
    if s.get("chi2_per_dof") is not None:
        L.append(f"- chi^2 = {_fmt(s['chi2'])}, chi^2/dof = {_fmt(s['chi2_per_dof'])} "
                 f"(p = {_fmt(s['chi2_p_value'])}) with sigma from {s['sigma_source']}")
    else:
        L.append(f"- chi^2/dof: not available ({s['sigma_source']})")
    if "bootstrap" in result.extra:
        b = result.extra["bootstrap"]
        L.append(f"- bootstrap: {b['n_ok']} of {b['n_requested']} residual-bootstrap refits succeeded "
                 f"(seed {b['seed']})")
    L.append("")
    for key, title in (("fn_plot_regression", "FN-plot linear regression (second method)"),
                       ("ngspice_refinement", "ngspice-in-the-loop refinement"),
                       ("schedule", "Effective learning-rate schedule")):
        if key in result.extra:
            L += [f"## {title}", ""] + _dict_lines(result.extra[key]) + [""]
    L += ["## Card updates ([device])", ""]
    L += [f"- `{k}` = {v!r}" for k, v in result.card_updates.items()] + [""]
    if result.notes:
        L += ["## Identifiability and assumptions", ""] + [f"- {n}" for n in result.notes] + [""]
    if result.warnings:
        L += ["## Warnings", ""] + [f"- {w}" for w in result.warnings] + [""]
    L += ["![data vs fit and residuals](fit.png)", "",
          "versions: " + ", ".join(f"{k}={v}" for k, v in versions().items()), ""]
    return "\n".join(L)


def _dict_lines(d: Any, indent: str = "") -> list[str]:
    out = []
    if isinstance(d, dict):
        for k, v in d.items():
            if isinstance(v, (dict, list)) and v and not _is_flat_list(v):
                out.append(f"{indent}- {k}:")
                out += _dict_lines(v, indent + "  ")
            else:
                out.append(f"{indent}- {k}: {_short(v)}")
    elif isinstance(d, list):
        for v in d:
            if isinstance(v, dict):
                out.append(f"{indent}- " + ", ".join(f"{k} {_short(x)}" for k, x in v.items()))
            else:
                out.append(f"{indent}- {_short(v)}")
    return out


def _is_flat_list(v: Any) -> bool:
    return isinstance(v, list) and all(not isinstance(x, (dict, list)) for x in v)


def _short(v: Any) -> str:
    if isinstance(v, float):
        return _fmt(v)
    if isinstance(v, list):
        return "[" + ", ".join(_short(x) for x in v) + "]"
    return str(v)


def _plain(obj: Any) -> Any:
    """JSON-friendly copy (numpy scalars/arrays to Python)."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return _plain(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def render_report(result: FitResult) -> dict[str, Any]:
    """The report files in memory: ``{"report.json": dict, "report.md": str, "fit.png": bytes, ...}``.

    Model tables (e.g. the pulse model's ``eps_schedule``) come as DataFrames
    under ``<name>.csv``.
    """
    files: dict[str, Any] = {"report.json": _plain(result.to_dict()),
                             "report.md": render_markdown(result),
                             "fit.png": plot_png(result)}
    for name, df in result.tables.items():
        files[f"{name}.csv"] = df
    return files


def write_report(files: dict[str, Any], directory: str | Path) -> Path:
    """Write rendered report files into ``directory`` atomically (all or nothing)."""
    import json

    directory = Path(directory)
    umask = os.umask(0)
    os.umask(umask)
    with atomic_directory(directory, kind="fit-report") as tmp:
        os.chmod(tmp, 0o777 & ~umask)
        for name, content in files.items():
            path = tmp / name
            if name.endswith(".json"):
                path.write_text(json.dumps(content, indent=2, allow_nan=False) + "\n", encoding="utf-8")
            elif name.endswith(".png"):
                path.write_bytes(content)
            elif name.endswith(".csv"):
                write_csv_atomic(path, content)
            else:
                path.write_text(content, encoding="utf-8")
    return directory
