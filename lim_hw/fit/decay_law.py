"""Fit retention traces under the thermal / image-force FN law, at one or several temperatures.

With the thermal factor (docs/device.md s.6) the decay is no longer the closed form
``k2 / ln(k1 t + k0)``; the model is the exact trajectory of
:func:`lim_hw.device.trajectory.law_drop_V` (docs/device.md s.8),

    V_j(t) = V0_j - drop(V0_j, k1 t; k2, s_j, f1),     s_j = (3/2) k2 k T_j / (q phi_B),

one trace ``j`` per temperature ``T_j`` (rows grouped by a ``T_K`` column; each trace
starts at its own ``t = 0`` with its own ``V0_j``). Parameters: ``ln k0_j = k2/V0_j``
per trace, ``ln k1`` and ``k2`` shared (the same device), and, when the traces span at
least two temperatures and the law is thermal, the barrier ``phi_B_eV``.

Identifiability (docs/fitting.md, "Temperature"): ``k2 = B t_ox`` fixes
``sqrt(m*) phi_B^1.5 t_ox`` and the thermal scale ``s = (3/2) k2 kT/(q phi_B)`` fixes
``phi_B`` once ``k2`` is known, because ``k2/s = 2 q phi_B / (3 kT)`` -- so traces at
two or more temperatures determine ``phi_B``; ``k1 k2 = A B^2 area/C_T`` then gives
``area/C_T`` (m* cancels). ``m*`` and ``t_ox`` still enter only as ``sqrt(m*) t_ox``
(without image force exactly; with it, only through the weak field dependence of
``f``), so ``t_ox`` is reported for the base card's ``m_eff`` and ``m_eff`` is not fitted.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from ..constants import k_B_J_per_K, q_C
from ..device.fn import fn_coefficients
from ..device.fn_law import EPS0_F_PER_M, EPS_R_IMAGE, FNLaw
from ..device.trajectory import law_drop_V
from ..errors import InputError
from .decay import _fit_core, decay_start
from .report import FitResult, bootstrap_residuals, derive, goodness, make_params, nls

__all__ = ["LawDecayModel", "fit_decay_law", "group_traces"]


def group_traces(t: np.ndarray, T_K: np.ndarray | None) -> list[np.ndarray]:
    """Row indices of each trace: rows of equal ``T_K`` in file order (one trace if no column)."""
    if T_K is None:
        return [np.arange(t.size)]
    out = []
    for T in dict.fromkeys(T_K.tolist()):
        out.append(np.flatnonzero(T_K == T))
    return out


class LawDecayModel:
    """The trajectory model of one device at the traces' temperatures (see the module docstring)."""

    def __init__(self, law: FNLaw, temps_K: Sequence[float], fit_phi: bool):
        self.law, self.temps, self.fit_phi = law, [float(T) for T in temps_K], fit_phi
        self.m = len(self.temps)
        self.names = tuple([f"ln_k0_{j + 1}" if self.m > 1 else "ln_k0" for j in range(self.m)]
                           + ["ln_k1", "k2_V"] + (["phi_B_eV"] if fit_phi else []))

    def phi(self, p: np.ndarray) -> float:
        return float(p[-1]) if self.fit_phi else self.law.phi_B_eV

    def consts(self, p: np.ndarray, j: int) -> tuple[float, float]:
        """``(s_V, f1_per_V)`` of trace ``j`` for parameters ``p``."""
        k2, phi = float(p[self.m + 1]), self.phi(p)
        s = 1.5 * k2 * (k_B_J_per_K * self.temps[j] / q_C) / phi if self.law.thermal else 0.0
        f1 = 0.0
        if self.law.image_force:
            _, B = fn_coefficients(phi, self.law.m_eff)
            f1 = q_C * float(B) / (4.0 * math.pi * EPS0_F_PER_M * EPS_R_IMAGE * phi**2 * k2)
        return s, f1

    def V(self, t: np.ndarray, p: np.ndarray, j: int) -> np.ndarray:
        """Oxide voltage of trace ``j`` at times ``t`` (V)."""
        k2 = float(p[self.m + 1])
        V0 = k2 / float(p[j])
        s, f1 = self.consts(p, j)
        return V0 - law_drop_V(V0, math.exp(float(p[self.m])) * np.asarray(t, dtype=float), k2, s, f1,
                               thermal=self.law.thermal, image_force=self.law.image_force)


def _start(model: LawDecayModel, t: np.ndarray, V: np.ndarray, sig: np.ndarray, groups) -> np.ndarray:
    """Start values: the classic closed-form fit of each trace, corrected to first order for the law.

    Near ``u0 = 1/V0``, ``ln F_T ~ (pi s u)^2 / 6`` with ``s = sigma k2``, so the apparent (classic)
    exponent is ``k2_c = k2 - (pi sigma k2)^2 u0 / 3`` (about 2 % below k2 on the reference
    device), and the apparent ``k1`` absorbs ``F_T(V0)``.
    """
    ln_k0, ln_k1, k2 = [], [], []
    phi = model.law.phi_B_eV
    for j, g in enumerate(groups):
        p_c = _fit_core(t[g], V[g], sig[g], decay_start(t[g], V[g], sig[g])).p
        a, b, k2c = (float(x) for x in p_c)
        V0 = k2c / a
        u0 = 1.0 / V0
        sig_T = 1.5 * (k_B_J_per_K * model.temps[j] / q_C) / phi if model.law.thermal else 0.0
        k2t = k2c / max(1.0 - (math.pi * sig_T) ** 2 * k2c * u0 / 3.0, 0.5)
        x = math.pi * sig_T * k2t * u0
        lnF = math.log(x / math.sin(x)) if x > 0 else 0.0
        ln_k0.append(k2t / V0)
        ln_k1.append(b - k2c * u0 + k2t * u0 - lnF)
        k2.append(k2t)
    p = list(ln_k0) + [float(np.mean(ln_k1)), float(np.mean(k2))]
    if model.fit_phi:
        p.append(phi)
    return np.array(p)


def fit_decay_law(t_s, V_ox_V, sigma_V=None, T_K=None, *, law: FNLaw, C_T_F: float | None = None,
                  n_bootstrap: int = 0, seed: int | None = 0, source: dict | None = None,
                  notes: Sequence[str] = (), start: np.ndarray | None = None) -> FitResult:
    """Fit retention traces (one per temperature in ``T_K``, or one at ``law.T_K``) under the FN law.

    ``phi_B_eV`` is fitted when the traces span two or more temperatures and the law is
    thermal; otherwise it is the law's (base card's). ``C_T_F`` turns ``area/C_T`` into
    ``area_m2``. ``card_updates``: ``tox_m``, ``V0_V`` (first trace), ``area_m2`` (with
    ``C_T_F``) and ``phi_B_eV`` (when fitted).
    """
    t = np.asarray(t_s, dtype=float)
    V = np.asarray(V_ox_V, dtype=float)
    Tk = None if T_K is None else np.asarray(T_K, dtype=float)
    groups = group_traces(t, Tk)
    temps = [float(Tk[g[0]]) for g in groups] if Tk is not None else [law.T_K if law.thermal else 300.0]
    fit_phi = law.thermal and len(set(temps)) >= 2
    model = LawDecayModel(law, temps, fit_phi)
    sig = np.ones_like(V) if sigma_V is None else np.broadcast_to(np.asarray(sigma_V, dtype=float), V.shape)
    p0 = _start(model, t, V, sig, groups) if start is None else np.asarray(start, dtype=float)

    def resid_for(y):
        def resid(p):
            out = np.empty_like(y)
            for j, g in enumerate(groups):
                out[g] = (model.V(t[g], p, j) - y[g]) / sig[g]
            return out
        return resid

    m = model.m
    lo = [1e-6] * m + [-np.inf, 1e-3] + ([0.3] if fit_phi else [])
    hi = [np.inf] * m + [np.inf, np.inf] + ([20.0] if fit_phi else [])

    def run(y, p_start):
        return nls(resid_for(y), np.clip(p_start, np.array(lo) + 1e-12, np.array(hi) - 1e-12), jac="3-point",
                   bounds=(lo, hi), names=model.names)

    out = run(V, p0)
    p = out.p
    boot, extra = None, {"fn_law": law.name, "temperatures_K": temps, "traces": len(groups),
                         "phi_B_fitted": fit_phi}
    y_fit = np.empty_like(V)
    for j, g in enumerate(groups):
        y_fit[g] = model.V(t[g], p, j)
    if n_bootstrap and n_bootstrap > 0:
        boot, failed = bootstrap_residuals(lambda y: run(y, p).p, y_fit, sig, out.residuals_w, len(p),
                                           n_bootstrap, seed)
        extra["bootstrap"] = {"n_requested": int(n_bootstrap), "n_ok": int(len(boot)), "n_failed": int(failed),
                              "seed": seed, "kind": "residual"}
    units = ("",) * m + ("", "V") + (("eV",) if fit_phi else ())
    descs = tuple(f"ln k0 = k2/V0 of the trace at {T:g} K" for T in temps) + (
        "ln of k1 (k1 in 1/s)", "k2 = B t_ox") + (("barrier height from the temperature dependence",)
                                                  if fit_phi else ())
    params = make_params(model.names, p, out.cov, out.dof, units=units, descriptions=descs, boot=boot)
    derived = derive(_derived_specs(model, C_T_F), p, out.cov, out.dof, boot)
    res = V - y_fit
    st = goodness(res, out.residuals_w, None if sigma_V is None else sig, len(p), "V",
                  "sigma_V given with the data" if sigma_V is not None
                  else "no sigma_V given: noise estimated from the residuals")
    phi_note = ("phi_B fitted from the temperature dependence of the thermal factor (k2/s = 2 q phi_B/(3 kT))"
                if fit_phi else f"phi_B = {law.phi_B_eV:g} eV assumed (base card)")
    result = FitResult(
        model="decay",
        method=f"weighted nonlinear least squares (scipy least_squares, trf) on the exact {law.name} FN-law "
               "trajectory (docs/device.md s.8) in (ln k0 per trace, ln k1, k2"
               + (", phi_B)" if fit_phi else ")") + "; covariance s^2 (J^T J)^-1",
        params=params, derived=derived, covariance=out.cov, stats=st, card_updates={},
        notes=list(notes) + [
            f"FN law {law.name}: " + (f"traces at {', '.join(f'{T:g}' for T in temps)} K" if Tk is not None
                                     else f"trace at T = {temps[0]:g} K (base card)"),
            phi_note,
            "m* and t_ox enter only as sqrt(m*) t_ox: t_ox is reported for the base card's "
            f"m_eff = {law.m_eff:g} (m_eff is not fitted)",
            "k1 k2 = A B^2 area/C_T fixes phi_B^2 area/C_T: area_m2 is the fitted ratio times C_T_F of the base card",
        ],
        extra=extra, source=dict(source or {}),
    )
    vals = result.values
    result.card_updates = {"tox_m": vals["tox_m"], "V0_V": vals["V0_V"]}
    if C_T_F is not None:
        result.card_updates["area_m2"] = vals["area_m2"]
    if fit_phi:
        result.card_updates["phi_B_eV"] = vals["phi_B_eV"]
    curves = []
    for j, g in enumerate(groups):
        tg = t[g]
        tpos = tg[tg > 0]
        grid = np.geomspace(tpos.min(), tg.max(), 300) if tpos.size else np.linspace(0, tg.max(), 300)
        curves.append({"x": grid, "y": model.V(grid, p, j), "label": f"fit, {temps[j]:g} K"})
    result.plot = {
        "x": t, "y": V, "residuals": res, "sigma": float(np.median(sig)) if sigma_V is not None else None,
        "curves": curves, "x_label": "time (s)", "y_label": "V_ox (V)", "residual_label": "data - fit (V)",
        "xlog": bool(np.all(t > 0)), "title": f"FN-DAM retention: data vs {law.name} FN-law fit",
    }
    return result


def _derived_specs(model: LawDecayModel, C_T_F: float | None):
    m, law = model.m, model.law

    def AB(p):
        A, B = fn_coefficients(model.phi(p), law.m_eff)
        return float(A), float(B)

    specs = [("k1_per_s", "1/s", "k1 = exp(ln_k1)", True, lambda p: p[m])]
    for j in range(m):
        name = "V0_V" if j == 0 else f"V0_V_{j + 1}"
        specs.append((name, "V", f"initial oxide voltage k2/ln k0 of the trace at {model.temps[j]:g} K", False,
                      lambda p, j=j: p[m + 1] / p[j]))
    specs += [
        ("tox_m", "m", f"k2 / B (m_eff = {law.m_eff:g})", False, lambda p: p[m + 1] / AB(p)[1]),
        ("area_over_C_T_m2_per_F", "m^2/F", "k1 k2 / (A B^2)", True,
         lambda p: p[m] + math.log(p[m + 1]) - math.log(AB(p)[0] * AB(p)[1] ** 2)),
    ]
    if C_T_F is not None:
        specs.append(("area_m2", "m^2", f"(area/C_T) x C_T_F = {C_T_F:g} F of the base card (C_T not fitted)",
                      True, lambda p: p[m] + math.log(p[m + 1]) - math.log(AB(p)[0] * AB(p)[1] ** 2)
                      + math.log(C_T_F)))
    return specs


def law_model_from_result(result: FitResult, law: FNLaw) -> LawDecayModel:
    """The model a :func:`fit_decay_law` result was fitted with (for the ngspice refinement)."""
    ex = result.extra
    return LawDecayModel(law, ex["temperatures_K"], bool(ex["phi_B_fitted"]))
