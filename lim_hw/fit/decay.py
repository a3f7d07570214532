"""Fit a retention (decay) trace to the FN-DAM closed form ``V(t) = k2 / ln(k1 t + k0)``.

The constants span ~20 orders of magnitude (k0 ~ 1e16, k1 ~ 1e13 1/s, k2 ~ 300 V
for the reference device), so the fit works in the coordinates
``p = (ln_k0, ln_k1, k2_V)`` and evaluates ``ln(k1 t + k0)`` as
``logaddexp(ln_k1 + ln t, ln_k0)``: no k is ever formed, nothing overflows.
The Jacobian is analytic.

Start values come from a variable projection on k2: for fixed k2,
``exp(k2/V) = k1 t + k0`` is *linear* in (k1, k0); a weighted linear solve
(weights from propagating the V noise through exp(k2/V), computed with a common
scale factor so nothing overflows) gives (k1, k0) for each k2 on a log grid, and
the k2 with the smallest residual in V starts the nonlinear fit.

Mapping to the device (theory.md s.5, docs/device.md s.3), for an assumed
barrier ``phi_B`` and effective mass ``m*``:
``tox = k2/B``, ``area/C_T = k1 k2 / (A B^2)``, ``V0 = k2 / ln k0``.
A trace never separates area from C_T, nor phi_B from m* (see :data:`NOTES`).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from ..device.fn import M_EFF_DEFAULT, PHI_B_DEFAULT_EV, fn_coefficients
from ..errors import InputError
from .data import check_decay
from .report import FitResult, bootstrap_residuals, derive, goodness, make_params, nls

__all__ = ["decay_model_V", "fit_decay", "decay_start", "NOTES"]

PARAM_NAMES = ("ln_k0", "ln_k1", "k2_V")

NOTES = [
    "A decay trace fixes only k0, k1, k2 (three numbers); the device has six (t_ox, area, C_T, V0, phi_B, m*).",
    "k2 = B t_ox fixes t_ox * phi_B^1.5 * sqrt(m*): t_ox is reported for the assumed phi_B and m_eff.",
    "k1 k2 = A B^2 area/C_T fixes phi_B^2 * area/C_T (m* cancels): area and C_T are never separable; "
    "area_m2 is the fitted ratio times C_T_F of the base card (C_T_F is not fitted).",
    "V0 = k2 / ln k0 is identified directly.",
    "phi_B and m* separate only if t_ox and area/C_T are known independently (layout and process).",
]


def decay_model_V(t_s: np.ndarray, ln_k0: float, ln_k1: float, k2_V: float) -> np.ndarray:
    """``k2 / ln(k1 t + k0)`` in log space (V); ``t_s >= 0``."""
    t = np.asarray(t_s, dtype=float)
    with np.errstate(divide="ignore"):
        L = np.logaddexp(ln_k1 + np.log(t), ln_k0)
    return k2_V / L


def _jac_V(t: np.ndarray, p: np.ndarray) -> np.ndarray:
    """dV/d(ln_k0, ln_k1, k2) at every t."""
    a, b, k2 = p
    with np.errstate(divide="ignore"):
        lt = np.log(t)
        L = np.logaddexp(b + lt, a)
        s0 = np.exp(a - L)                    # k0 / (k1 t + k0)
    g = -k2 / L**2
    return np.column_stack([g * s0, g * (1.0 - s0), 1.0 / L])


def decay_start(t: np.ndarray, V: np.ndarray, sigma: np.ndarray | None = None,
                n_grid: int = 240) -> list[np.ndarray]:
    """Candidate start vectors ``(ln_k0, ln_k1, k2)``, best first (variable projection on k2).

    For every k2 on a log grid the weighted linear fit of ``exp(k2/V) = k1 t + k0``
    is solved through its 2x2 normal equations, all k2 at once; rows are scaled
    by ``exp(-max k2/V)`` and the weights by their maximum, which leaves each
    solution unchanged and keeps every number finite.
    """
    sig = np.ones_like(V) if sigma is None else sigma
    u = 1.0 / V
    Vmax = float(np.max(V))
    k2 = np.geomspace(1.5 * Vmax, 3000.0 * Vmax, n_grid)
    k2 = k2[k2 * (float(np.max(u)) - float(np.min(u))) < 600.0]     # exp(k2/V) must span < a float
    if k2.size == 0:
        raise InputError("the trace does not follow V = k2/ln(k1 t + k0) (V_ox varies too much); check the data")
    e = k2[:, None] * u[None, :]
    m = e.max(axis=1, keepdims=True)
    y = np.exp(e - m)                                          # exp(k2/V) / exp(m)
    lw = -(e - m) - np.log(k2[:, None] * u * u * sig)          # ln(1/sigma of y)
    W = np.exp(2.0 * (lw - lw.max(axis=1, keepdims=True)))     # squared weights, scaled per row
    Stt, St, S1 = W @ (t * t), W @ t, W.sum(axis=1)
    bt, b1 = (W * y) @ t, (W * y).sum(axis=1)
    det = Stt * S1 - St * St
    with np.errstate(divide="ignore", invalid="ignore"):
        k1s = (S1 * bt - St * b1) / det
        k0s = (Stt * b1 - St * bt) / det
        ok = (k1s > 0) & (k0s > 0) & np.isfinite(k1s) & np.isfinite(k0s)
        ln_k1 = np.log(k1s) + m[:, 0]
        ln_k0 = np.log(k0s) + m[:, 0]
    ok &= ln_k0 > 0
    if not np.any(ok):
        raise InputError("the trace does not follow V = k2/ln(k1 t + k0) for any k2 (no decaying FN start "
                         "found); check that V_ox_V is the oxide voltage and that it decays")
    P = np.column_stack([ln_k0[ok], ln_k1[ok], k2[ok]])
    with np.errstate(divide="ignore"):
        L = np.logaddexp(P[:, 1:2] + np.log(t)[None, :], P[:, 0:1])
    r = (P[:, 2:3] / L - V[None, :]) / sig[None, :]
    cost = np.einsum("ij,ij->i", r, r)
    out: list[np.ndarray] = []
    for i in np.argsort(cost):
        p = P[i]
        if all(abs(math.log(p[2] / q[2])) > 0.15 for q in out):
            out.append(p)
        if len(out) == 3:
            break
    return out


def _fit_core(t: np.ndarray, V: np.ndarray, sig: np.ndarray, starts: Sequence[np.ndarray]):
    def resid(p):
        return (decay_model_V(t, *p) - V) / sig

    def jac(p):
        return _jac_V(t, p) / sig[:, None]

    best = None
    last_err: Exception | None = None
    for p0 in starts:          # the profile's best start nearly always wins; others are fallbacks
        try:
            out = nls(resid, p0, jac=jac, bounds=([1e-300, -np.inf, 1e-300], [np.inf, np.inf, np.inf]),
                      names=PARAM_NAMES)
        except InputError as exc:
            last_err = exc
            continue
        if best is None or out.residuals_w @ out.residuals_w < best.residuals_w @ best.residuals_w:
            best = out
        if best.success:
            break
    if best is None:
        raise last_err if last_err else InputError("the decay fit failed")
    return best


def _derived_fn(phi_B_eV: float, m_eff: float, C_T_F: float | None):
    A, B = fn_coefficients(phi_B_eV, m_eff)
    specs = [  # name, unit, description, log-normal?, function of p
        ("k1_per_s", "1/s", "k1 = exp(ln_k1)", True, lambda p: p[1]),
        ("k0", "", "k0 = exp(ln_k0) (inf if it overflows a float)", True, lambda p: p[0]),
        ("V0_V", "V", "initial oxide voltage k2 / ln k0", False, lambda p: p[2] / p[0]),
        ("t_knee_s", "s", "knee k0/k1", True, lambda p: p[0] - p[1]),
        ("tox_m", "m", f"k2 / B (phi_B = {phi_B_eV:g} eV, m_eff = {m_eff:g})", False, lambda p: p[2] / B),
        ("area_over_C_T_m2_per_F", "m^2/F", "k1 k2 / (A B^2)", True,
         lambda p: p[1] + math.log(p[2]) - math.log(A * B * B)),
    ]
    if C_T_F is not None:
        specs.append(("area_m2", "m^2", f"(area/C_T) x C_T_F = {C_T_F:g} F of the base card (C_T not fitted)",
                      True, lambda p: p[1] + math.log(p[2]) - math.log(A * B * B) + math.log(C_T_F)))
    return specs


def fit_decay(t_s, V_ox_V, sigma_V=None, *, phi_B_eV: float = PHI_B_DEFAULT_EV,
              m_eff: float = M_EFF_DEFAULT, C_T_F: float | None = None, n_bootstrap: int = 0,
              seed: int | None = 0, source: dict | None = None, notes: Sequence[str] = (),
              start: np.ndarray | None = None) -> FitResult:
    """Fit ``V_ox(t) = k2 / ln(k1 t + k0)`` by weighted nonlinear least squares.

    ``sigma_V`` (scalar or per point, V) weights the residuals and gives a
    chi^2; without it the points are weighted equally and the noise level is
    estimated from the residuals. Either way the covariance is
    ``s^2 (J^T J)^-1`` and the 95 % intervals are Wald intervals with Student-t
    quantiles. ``C_T_F`` (the base card's) turns the identifiable ``area/C_T``
    into ``area_m2``. ``n_bootstrap > 0`` adds a residual bootstrap (seeded).
    Returns a :class:`~lim_hw.fit.report.FitResult` whose ``card_updates`` are
    ``tox_m``, ``V0_V`` and (with ``C_T_F``) ``area_m2``.
    """
    t, V, sigma = check_decay(t_s, V_ox_V, sigma_V)
    sig = sigma if sigma is not None else np.ones_like(V)
    starts = [np.asarray(start, dtype=float)] if start is not None else decay_start(t, V, sigma)
    out = _fit_core(t, V, sig, starts)
    p = out.p
    boot = None
    extra: dict = {}
    if n_bootstrap and n_bootstrap > 0:
        y_fit = decay_model_V(t, *p)
        boot, failed = bootstrap_residuals(lambda y: _fit_core(t, y, sig, [p]).p, y_fit, sig,
                                           out.residuals_w, 3, n_bootstrap, seed)
        extra["bootstrap"] = {"n_requested": int(n_bootstrap), "n_ok": int(len(boot)),
                              "n_failed": int(failed), "seed": seed, "kind": "residual"}
    params = make_params(PARAM_NAMES, p, out.cov, out.dof, units=("", "", "V"),
                         descriptions=("ln k0 = k2/V0", "ln of k1 (k1 in 1/s)", "k2 = B t_ox"), boot=boot)
    derived = derive(_derived_fn(phi_B_eV, m_eff, C_T_F), p, out.cov, out.dof, boot)
    V_fit = decay_model_V(t, *p)
    res = V - V_fit
    st = goodness(res, out.residuals_w, sigma, 3, "V",
                  "sigma_V given with the data" if sigma is not None
                  else "no sigma_V given: noise estimated from the residuals")
    result = FitResult(
        model="decay",
        method="weighted nonlinear least squares (scipy least_squares, trf, x_scale=jac) on "
               "V = k2/ln(k1 t + k0) in coordinates (ln k0, ln k1, k2); covariance s^2 (J^T J)^-1",
        params=params, derived=derived, covariance=out.cov, stats=st, card_updates={},
        notes=list(notes) + NOTES + [f"phi_B = {phi_B_eV:g} eV and m_eff = {m_eff:g} assumed (base card)"],
        extra=extra, source=dict(source or {}),
    )
    vals = result.values
    result.card_updates = {"tox_m": vals["tox_m"], "V0_V": vals["V0_V"]}
    if C_T_F is not None:
        result.card_updates["area_m2"] = vals["area_m2"]
    _warn(result, t)
    tpos = t[t > 0]
    grid = np.geomspace(tpos.min(), t.max(), 400) if tpos.size else np.linspace(0, t.max(), 400)
    result.plot = {
        "x": t, "y": V, "residuals": res, "sigma": float(np.median(sigma)) if sigma is not None else None,
        "curves": [{"x": grid, "y": decay_model_V(grid, *p), "label": "fit k2/ln(k1 t + k0)"}],
        "x_label": "time (s)", "y_label": "V_ox (V)", "residual_label": "data - fit (V)",
        "xlog": bool(np.all(t > 0)), "title": "FN-DAM retention: data vs closed-form fit",
    }
    return result


def _warn(result: FitResult, t: np.ndarray) -> None:
    knee = result["t_knee_s"].value
    tpos = t[t > 0]
    if tpos.size and knee < tpos.min():
        result.warnings.append(f"all data lie after the knee k0/k1 = {knee:.3g} s: k0 (and V0) are weakly "
                               "constrained; add early points")
    if knee > t.max():
        result.warnings.append(f"all data lie before the knee k0/k1 = {knee:.3g} s: the trace is nearly "
                               "linear and k1, k2 are weakly constrained; measure longer")
    for prm in result.params:
        if prm.name != "ln_k1" and abs(prm.stderr) > 0.5 * abs(prm.value):
            result.warnings.append(f"{prm.name} is poorly determined (std. error {prm.stderr:.3g} vs value "
                                   f"{prm.value:.3g})")
