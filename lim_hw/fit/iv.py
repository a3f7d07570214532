"""Fit Fowler-Nordheim I-V data: ``I = a V^2 exp(-b/V)`` two ways, and map (a, b) to the device.

With ``a = area A / t_ox^2`` (A/V^2) and ``b = B t_ox`` (V) (theory.md s.4):

1. **FN-plot linear regression**: ``ln(I/V^2) = ln a - b (1/V)`` is a straight
   line in ``1/V``; ordinary least squares (weighted by ``I/sigma_A`` when
   ``sigma_A`` is given) gives ``ln a`` (intercept) and ``-b`` (slope) with the
   usual ``s^2 (X^T W X)^-1`` covariance.
2. **Weighted nonlinear least squares** on the current itself, parameters
   ``(ln a, b)``: residuals ``(I_fit - I)/sigma_A``, or ``I_fit/I - 1`` (a relative
   error model, the right one for multiplicative noise) when no ``sigma_A`` is
   given. This is the primary result; the regression is reported alongside it.

Mapping (``unknowns``):

- ``"barrier"`` (default): t_ox and area from the base card, so
  ``A = a t_ox^2/area`` and ``B = b/t_ox``; since ``A B ∝ sqrt(phi_B/m*)`` and
  ``B^2 ∝ m* phi_B^3`` both the barrier height and the effective mass follow:
  ``phi_B = ((3 h^2 A B / (sqrt(2) q^2 m0))^2 * 9 q^2 h^2 B^2 / (128 pi^2))^(1/4)``,
  ``m* = phi_B / (3 h^2 A B / (sqrt(2) q^2 m0))^2``.
- ``"geometry"``: phi_B and m* from the base card, so ``t_ox = b/B`` and
  ``area = a t_ox^2/A``.

An I-V curve gives two numbers, so two of (t_ox, area, phi_B, m*) must come from
elsewhere.

FN law (docs/device.md s.6-7, docs/fitting.md "Temperature"): with a thermal or
image-force base card the model is ``I = a V^2 exp(-b/V) R(V)`` with the law's factor
``R`` at each point's temperature (a ``T_K`` column, else the base card's ``T_K``):
``c kT = (3/2) (kT/(q phi_B)) b/V`` with ``phi_B`` the barrier being fitted
(``"barrier"``: from ``a`` and ``b``) or the base card's (``"geometry"``). The FN-plot
regression stays the classic straight line (it starts the NLS).
"""

from __future__ import annotations

import math

import numpy as np

from ..constants import h_Js, m0_kg, q_C
from ..device.fn import M_EFF_DEFAULT, PHI_B_DEFAULT_EV, fn_coefficients
from ..device.fn_law import FNLaw, ln_rate_factor_u, trajectory_constants
from ..errors import InputError
from .data import check_iv
from .report import FitResult, bootstrap_residuals, derive, goodness, make_params, nls

__all__ = ["fn_iv_model_A", "fit_iv", "fn_plot_regression", "barrier_from_AB", "UNKNOWNS"]

UNKNOWNS = ("barrier", "geometry")
PARAM_NAMES = ("ln_a", "b_V")
_LN_R0 = math.log(3.0 * h_Js**2 / (math.sqrt(2.0) * q_C**2 * m0_kg))
_LN_Y0 = math.log(9.0 * q_C**2 * h_Js**2 / (128.0 * math.pi**2))


def fn_iv_model_A(V: np.ndarray, ln_a: float, b_V: float) -> np.ndarray:
    """``I = a V^2 exp(-b/V)`` (A) with ``a = exp(ln_a)`` (A/V^2), ``b`` (V)."""
    V = np.asarray(V, dtype=float)
    return np.exp(ln_a + 2.0 * np.log(V) - b_V / V)


def _ln_phi_m(lnA: float, lnB: float) -> tuple[float, float]:
    """(ln phi_B [J], ln m* [kg]) from ln A, ln B (see module docstring)."""
    lnR = _LN_R0 + lnA + lnB                    # R = sqrt(phi/m*)
    lnY = _LN_Y0 + 2.0 * lnB                    # Y = m* phi^3
    ln_phi = (2.0 * lnR + lnY) / 4.0
    return ln_phi, ln_phi - 2.0 * lnR


def barrier_from_AB(A_A_per_V2: float, B_V_per_m: float) -> tuple[float, float]:
    """``(phi_B_eV, m_eff)`` whose FN coefficients are A and B (inverse of ``fn_coefficients``)."""
    ln_phi, ln_m = _ln_phi_m(math.log(A_A_per_V2), math.log(B_V_per_m))
    return math.exp(ln_phi) / q_C, math.exp(ln_m) / m0_kg


def fn_plot_regression(V: np.ndarray, I: np.ndarray, sigma_A: np.ndarray | None = None):
    """Linear regression of ``ln(I/V^2)`` on ``1/V``: returns ``(p=(ln_a, b), cov, dof, residuals_y)``."""
    x = 1.0 / V
    y = np.log(I / V**2)
    w = np.ones_like(y) if sigma_A is None else I / sigma_A        # 1/sigma of ln I
    X = np.column_stack([np.ones_like(x), x])
    Xw, yw = X * w[:, None], y * w
    coef, *_ = np.linalg.lstsq(Xw, yw, rcond=None)
    r = yw - Xw @ coef
    dof = len(y) - 2
    s2 = float(r @ r) / dof
    cov_c = s2 * np.linalg.inv(Xw.T @ Xw)
    # (ln a, b) = (c0, -c1)
    T = np.diag([1.0, -1.0])
    return np.array([coef[0], -coef[1]]), T @ cov_c @ T, dof, y - X @ coef


def _specs(unknowns: str, tox_m: float, area_m2: float, phi_B_eV: float, m_eff: float):
    specs = [
        ("a_A_per_V2", "A/V^2", "a = area A / t_ox^2", True, lambda p: p[0]),
    ]
    if unknowns == "barrier":
        ln_tox, ln_area = math.log(tox_m), math.log(area_m2)
        lnA = lambda p: p[0] + 2 * ln_tox - ln_area          # noqa: E731
        lnB = lambda p: math.log(p[1]) - ln_tox              # noqa: E731
        specs += [
            ("A_A_per_V2", "A/V^2", f"A = a t_ox^2/area (t_ox = {tox_m:g} m, area = {area_m2:g} m^2)", True, lnA),
            ("B_V_per_m", "V/m", "B = b / t_ox", True, lnB),
            ("phi_B_eV", "eV", "barrier height from A and B", True,
             lambda p: _ln_phi_m(lnA(p), lnB(p))[0] - math.log(q_C)),
            ("m_eff", "m0", "effective mass from A and B", True,
             lambda p: _ln_phi_m(lnA(p), lnB(p))[1] - math.log(m0_kg)),
        ]
    else:
        A0, B0 = fn_coefficients(phi_B_eV, m_eff)
        specs += [
            ("tox_m", "m", f"b / B (phi_B = {phi_B_eV:g} eV, m_eff = {m_eff:g})", False, lambda p: p[1] / B0),
            ("area_m2", "m^2", "a t_ox^2 / A", True,
             lambda p: p[0] + 2 * math.log(p[1] / B0) - math.log(A0)),
        ]
    return specs


def _law_factor(law: FNLaw | None, unknowns: str, tox_m: float, area_m2: float, T_K):
    """``R(V, p)``: the FN law's factor on ``a V^2 exp(-b/V)`` (``None`` for the classic law)."""
    if law is None or law.is_classic:
        return None
    T = np.asarray(law.T_K if T_K is None else T_K, dtype=float) if law.thermal else None

    def phi_of(p):
        if unknowns == "barrier":
            return barrier_from_AB(math.exp(p[0]) * tox_m**2 / area_m2, p[1] / tox_m)[0]
        return law.phi_B_eV

    def tox_of(p, phi):
        if unknowns == "barrier":
            return tox_m
        return p[1] / float(fn_coefficients(phi, law.m_eff)[1])

    def R(V, p):
        phi = phi_of(p)
        s, f1 = trajectory_constants(phi, tox_of(p, phi), p[1], 1.0 if law.thermal else None, law.image_force,
                                     law.eps_r_image)
        s = s * T if law.thermal else 0.0          # s is proportional to T (computed per kelvin)
        return np.exp(ln_rate_factor_u(1.0 / V, p[1], s, f1, law.thermal, law.image_force))
    return R


def _fit_nls(V, I, sigma, p0, R=None):
    if R is not None:                                # FN law with a correction: numerical Jacobian
        def model(p):
            return fn_iv_model_A(V, *p) * R(V, p)

        def resid(p):
            return model(p) / I - 1.0 if sigma is None else (model(p) - I) / sigma
        return nls(resid, p0, jac="3-point", bounds=([-np.inf, 1e-300], [np.inf, np.inf]), names=PARAM_NAMES)
    if sigma is None:
        def resid(p):
            return fn_iv_model_A(V, *p) / I - 1.0

        def jac(p):
            m = fn_iv_model_A(V, *p) / I
            return np.column_stack([m, -m / V])
    else:
        def resid(p):
            return (fn_iv_model_A(V, *p) - I) / sigma

        def jac(p):
            m = fn_iv_model_A(V, *p) / sigma
            return np.column_stack([m, -m / V])
    return nls(resid, p0, jac=jac, bounds=([-np.inf, 1e-300], [np.inf, np.inf]), names=PARAM_NAMES)


def fit_iv(voltage_V, current_A, sigma_A=None, *, tox_m: float = 12e-9, area_m2: float = 1e-12,
           phi_B_eV: float = PHI_B_DEFAULT_EV, m_eff: float = M_EFF_DEFAULT, unknowns: str = "barrier",
           n_bootstrap: int = 0, seed: int | None = 0, source: dict | None = None,
           notes=(), law: FNLaw | None = None, T_K=None) -> FitResult:
    """Fit FN I-V data by FN-plot regression and by weighted NLS (primary); map to the device.

    ``unknowns="barrier"`` determines ``phi_B_eV`` and ``m_eff`` from the given
    ``tox_m`` and ``area_m2``; ``"geometry"`` determines ``tox_m`` and ``area_m2``
    from the given ``phi_B_eV`` and ``m_eff``. ``card_updates`` holds the two
    determined keys. ``law`` (the base card's FN law; ``None`` = classic) adds the
    thermal / image-force factor at ``T_K`` (per point, or the law's temperature).
    """
    if unknowns not in UNKNOWNS:
        raise InputError(f"unknowns = {unknowns!r} is not one of {', '.join(UNKNOWNS)}")
    V, I, sigma, more = check_iv(voltage_V, current_A, sigma_A)
    p_lin, cov_lin, dof_lin, res_lin = fn_plot_regression(V, I, sigma)
    if not p_lin[1] > 0:
        raise InputError(f"the FN plot ln(I/V^2) vs 1/V has a non-negative slope ({-p_lin[1]:.3g} V); "
                         "the current does not grow like FN tunnelling -- check the data and polarity")
    R = _law_factor(law, unknowns, tox_m, area_m2, None if T_K is None else np.asarray(T_K, dtype=float))
    out = _fit_nls(V, I, sigma, p_lin, R)
    p = out.p
    boot = None
    extra: dict = {}
    if n_bootstrap and n_bootstrap > 0:
        y_fit = fn_iv_model_A(V, *p) * (1.0 if R is None else R(V, p))
        scale = sigma if sigma is not None else y_fit
        boot, failed = bootstrap_residuals(lambda y: _fit_nls(V, y, sigma, p, R).p, y_fit, scale,
                                           out.residuals_w, 2, n_bootstrap, seed)
        extra["bootstrap"] = {"n_requested": int(n_bootstrap), "n_ok": int(len(boot)),
                              "n_failed": int(failed), "seed": seed, "kind": "residual"}
    specs = _specs(unknowns, tox_m, area_m2, phi_B_eV, m_eff)
    params = make_params(PARAM_NAMES, p, out.cov, out.dof, units=("", "V"),
                         descriptions=("ln of a = area A / t_ox^2 (a in A/V^2)", "b = B t_ox"), boot=boot)
    derived = derive(specs, p, out.cov, out.dof, boot)
    lin_params = make_params(PARAM_NAMES, p_lin, cov_lin, dof_lin)
    lin_derived = derive(specs, p_lin, cov_lin, dof_lin)
    I_fit = fn_iv_model_A(V, *p) * (1.0 if R is None else R(V, p))
    rel = I / I_fit - 1.0
    st = goodness(rel, out.residuals_w, sigma, 2, "relative (I - I_fit)/I_fit",
                  "sigma_A given with the data" if sigma is not None
                  else "no sigma_A given: relative error model, its size estimated from the residuals",
                  raw=I - I_fit)
    yy = 1.0 - np.sum(res_lin**2) / np.sum((np.log(I / V**2) - np.mean(np.log(I / V**2)))**2)
    extra["fn_plot_regression"] = {
        "method": "ordinary least squares of ln(I/V^2) on 1/V"
                  + (" weighted by I/sigma_A" if sigma is not None else ""),
        "r_squared": float(yy),
        "rms_residual_ln": float(np.sqrt(np.mean(res_lin**2))),
        "parameters": {q.name: {"value": q.value, "stderr": q.stderr, "ci95": list(q.ci95)}
                       for q in (*lin_params, *lin_derived)},
        "nls_minus_regression_over_stderr": {
            q.name: (q.value - r.value) / q.stderr if q.stderr > 0 else None
            for q, r in zip((*params, *derived), (*lin_params, *lin_derived))},
    }
    note_map = ("I-V data fix only a = area A/t_ox^2 and b = B t_ox: two of t_ox, area, phi_B, m* must be "
                "known. " + ("Here t_ox and area come from the base card and phi_B, m* are fitted."
                             if unknowns == "barrier" else
                             "Here phi_B and m* come from the base card and t_ox, area are fitted."))
    if R is not None:
        note_map += (f" FN law {law.name}: the model carries the law's factor at "
                     + ("the T_K column's temperatures" if T_K is not None else f"T = {law.T_K:g} K")
                     + " (phi_B of the thermal factor: " + ("the fitted one" if unknowns == "barrier"
                                                           else "the base card's") + ").")
    result = FitResult(
        model="iv",
        method="weighted nonlinear least squares on I = a V^2 exp(-b/V)" + (" R(V) (FN-law factor)" if R else "")
               + " in (ln a, b) (primary), and linear regression on the FN plot ln(I/V^2) vs 1/V (second method)",
        params=params, derived=derived, covariance=out.cov, stats=st, card_updates={},
        notes=list(notes) + more + [note_map], extra=extra, source=dict(source or {}),
    )
    vals = result.values
    keys = ("phi_B_eV", "m_eff") if unknowns == "barrier" else ("tox_m", "area_m2")
    result.card_updates = {k: vals[k] for k in keys}
    x = 1.0 / V
    grid = np.linspace(x.min(), x.max(), 200)
    R_plot = R if T_K is None or R is None else _law_factor(law, unknowns, tox_m, area_m2,
                                                            float(np.median(np.asarray(T_K, dtype=float))))
    result.plot = {
        "x": x, "y": np.log(I / V**2), "residuals": np.log(I / I_fit), "sigma": None,
        "curves": [{"x": grid, "y": p[0] - p[1] * grid + (0.0 if R_plot is None else np.log(R_plot(1.0 / grid, p))),
                    "label": "weighted NLS"},
                   {"x": grid, "y": p_lin[0] - p_lin[1] * grid, "label": "FN-plot regression", "style": "--"}],
        "x_label": "1/V (1/V)", "y_label": "ln(I/V^2)  (I in A, V in V)", "residual_label": "ln(I/I_fit)",
        "xlog": False, "title": "Fowler-Nordheim plot: data, NLS fit and linear regression",
    }
    return result
