"""Fit the programming response (weight step per pulse vs the pulse's time) and derive eps(t).

With the closed form ``exp(k2/V) = k1 t + k0`` the FN current at time t is
``C_T (k1/k2) V^2 / (k1 t + k0)``; a fixed control-gate pulse multiplies it by a
gain that depends only weakly (through V) on t, so the step it causes is, to
leading order, ``dV(t) ∝ 1/(k1 t + k0) = (1/k0) / (1 + t/t0)`` with the knee
``t0 = k0/k1`` (theory.md s.5): the device supplies a 1/t learning rate by itself.
The gain ``~ (1 + delta/V)^2 exp(k2 delta / (V (V + delta)))`` (delta = kappa V_p)
grows slowly as V decays, so measured steps fall a little slower than 1/t. The
fitted law is therefore

    dV(t) = D0 (1 + t/t0)^(-gamma),      parameters (ln D0, ln t0, gamma),

with gamma = 1 the ideal law (``gamma`` can be fixed). The device's effective
learning-rate schedule is ``eps(t)/eps(t_1) = ((1 + t/t0)/(1 + t_1/t0))^(-gamma)``;
for updates every ``period`` from ``t_1`` it is ``eps_n ∝ (1 + (n-1)/n0)^(-gamma)``
with ``n0 = (t0 + t_1)/period``: the ``inverse`` schedule of theory.md s.2 when
gamma = 1, a power law ``n^-gamma`` for large n otherwise.

Device mapping (:func:`fit_pulse_device`): the power law's t0 equals the knee
k0/k1 only when gamma = 1, so the area is not read off t0. Instead the pulse
sequence is replayed through the closed form (free decay between pulses, each
pulse as in :func:`lim_hw.netlist.synthesis.apply_pulse`, so every earlier
pulse's effect on V is included) with t_ox, V0, C_T, C_c, phi_B, m* and the
pulse shape of the base card, and ``(ln area, ln V_p)`` are fitted by least
squares. This needs the base card to describe the measured cell and pulses.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..constants import q_C
from ..device.card import Card
from ..errors import InputError
from .data import check_pulse
from .report import FitResult, bootstrap_residuals, derive, goodness, make_params, nls

__all__ = ["pulse_model_V", "fit_pulse", "eps_relative", "pulse_sequence_steps_V", "fit_pulse_device"]


def pulse_model_V(t_s: np.ndarray, ln_D0: float, ln_t0: float, gamma: float) -> np.ndarray:
    """``D0 (1 + t/t0)^-gamma`` (V)."""
    t = np.asarray(t_s, dtype=float)
    return np.exp(ln_D0 - gamma * np.log1p(t * math.exp(-ln_t0)))


def eps_relative(t_s: np.ndarray, t0_s: float, gamma: float, t_ref_s: float = 0.0) -> np.ndarray:
    """Effective learning rate relative to a pulse at ``t_ref_s``: ``((1+t/t0)/(1+t_ref/t0))^-gamma``."""
    t = np.asarray(t_s, dtype=float)
    return np.exp(-gamma * (np.log1p(t / t0_s) - math.log1p(t_ref_s / t0_s)))


def _start(t_all: np.ndarray, d_all: np.ndarray, gamma_fixed: float | None) -> list[np.ndarray]:
    keep = d_all > 0                      # log-space start from the positive steps only
    t, d = t_all[keep], d_all[keep]
    y = np.log(d)
    tpos = t[t > 0]
    lo = (tpos.min() if tpos.size else 1.0) / 100.0
    cands = []
    for ln_t0 in np.linspace(math.log(lo), math.log(t.max() * 100.0), 160):
        x = np.log1p(t * math.exp(-ln_t0))
        if gamma_fixed is None:
            X = np.column_stack([np.ones_like(x), -x])
            (lnD, g), *_ = np.linalg.lstsq(X, y, rcond=None)
        else:
            g = gamma_fixed
            lnD = float(np.mean(y + g * x))
        p = np.array([lnD, ln_t0, g])
        r = pulse_model_V(t_all, *p) - d_all
        cands.append((float(r @ r), p))
    cands.sort(key=lambda c: c[0])
    return [c[1] for c in cands[:3]]


def _fit(t, d, sig, starts, gamma_fixed):
    if gamma_fixed is None:
        def resid(p):
            return (pulse_model_V(t, *p) - d) / sig

        def jac(p):
            m = pulse_model_V(t, *p)
            x = np.log1p(t * math.exp(-p[1]))
            dx = -(t * math.exp(-p[1])) / (1 + t * math.exp(-p[1]))
            return np.column_stack([m, -p[2] * dx * m, -x * m]) / sig[:, None]
        names = ("ln_D0", "ln_t0", "gamma")
        lo, hi = [-np.inf, -np.inf, -10.0], [np.inf, np.inf, 10.0]
    else:
        g = float(gamma_fixed)

        def resid(p):
            return (pulse_model_V(t, p[0], p[1], g) - d) / sig

        def jac(p):
            m = pulse_model_V(t, p[0], p[1], g)
            dx = -(t * math.exp(-p[1])) / (1 + t * math.exp(-p[1]))
            return np.column_stack([m, -g * dx * m]) / sig[:, None]
        names = ("ln_D0", "ln_t0")
        lo, hi = [-np.inf, -np.inf], [np.inf, np.inf]
        starts = [s[:2] for s in starts]
    best, err = None, None
    for p0 in starts:
        p0 = np.clip(p0, np.array(lo) + 1e-9, np.array(hi) - 1e-9)
        try:
            out = nls(resid, p0, jac=jac, bounds=(lo, hi), names=names)
        except InputError as exc:
            err = exc
            continue
        if best is None or out.residuals_w @ out.residuals_w < best.residuals_w @ best.residuals_w:
            best = out
    if best is None:
        raise err if err else InputError("the programming-response fit failed")
    return best, names


def fit_pulse(t_pulse_s, dV_V, sigma_V=None, *, base_card: Card | None = None,
              gamma_fixed: float | None = None, n_bootstrap: int = 0, seed: int | None = 0,
              source: dict | None = None, notes=(), n_schedule: int | None = None) -> FitResult:
    """Fit ``dV(t) = D0 (1 + t/t0)^-gamma`` to the step of each pulse; derive eps(t).

    ``base_card`` supplies t_ox, V0, C_T, phi_B, m* for the area estimate from
    the knee and the programming timing for the per-update schedule table.
    ``gamma_fixed`` fixes the exponent (1.0 = the ideal 1/t law).
    """
    t, d, sigma, more = check_pulse(t_pulse_s, dV_V, sigma_V)
    sig = sigma if sigma is not None else np.ones_like(d)
    out, names = _fit(t, d, sig, _start(t, d, gamma_fixed), gamma_fixed)
    p = out.p
    full = lambda q: (q[0], q[1], q[2] if gamma_fixed is None else float(gamma_fixed))  # noqa: E731
    extra: dict = {}
    boot = None
    if n_bootstrap and n_bootstrap > 0:
        y_fit = pulse_model_V(t, *full(p))
        boot, failed = bootstrap_residuals(lambda y: _fit(t, y, sig, [np.array(full(p))], gamma_fixed)[0].p,
                                           y_fit, sig, out.residuals_w, len(p), n_bootstrap, seed)
        extra["bootstrap"] = {"n_requested": int(n_bootstrap), "n_ok": int(len(boot)),
                              "n_failed": int(failed), "seed": seed, "kind": "residual"}
    params = make_params(names, p, out.cov, out.dof, units=("", "", "")[:len(p)],
                         descriptions=("ln of D0 (V): step of a pulse at t = 0", "ln of t0 (s): knee",
                                       "decay exponent (1 = ideal 1/t law)")[:len(p)], boot=boot)
    specs = [("D0_V", "V", "step of a pulse at t = 0", True, lambda q: q[0]),
             ("t0_s", "s", "knee t0 (~ k0/k1 of the free decay)", True, lambda q: q[1])]
    card = base_card
    device_curve = None
    derived = derive(specs, p, out.cov, out.dof, boot)
    d_fit = pulse_model_V(t, *full(p))
    res = d - d_fit
    st = goodness(res, out.residuals_w, sigma, len(p), "V",
                  "sigma_V given with the data" if sigma is not None
                  else "no sigma_V given: noise estimated from the residuals")
    gamma = float(full(p)[2])
    t0 = math.exp(p[1])
    result = FitResult(
        model="pulse",
        method="weighted nonlinear least squares on dV = D0 (1 + t/t0)^-gamma in (ln D0, ln t0"
               + (", gamma)" if gamma_fixed is None else f") with gamma fixed at {gamma:g}"),
        params=params, derived=derived, covariance=out.cov, stats=st, card_updates={},
        notes=list(notes) + more + [
            "leading-order law: a fixed pulse moves the node by ~ 1/(k1 t + k0), i.e. gamma = 1 and t0 = k0/k1; "
            "the pulse gain grows slowly as V decays, so measured gamma is usually a little below 1",
            "the power law is phenomenological: its t0 is not the knee k0/k1 unless gamma = 1, so the device "
            "is fitted separately (device_fit): the pulse sequence replayed through the closed form with "
            "t_ox, V0, C_T_F, C_c_F, phi_B, m_eff and the pulse timing of the base card, unknowns area_m2 "
            "and the pulse amplitude V_p"],
        extra=extra, source=dict(source or {}),
    )
    if card is not None:
        try:
            dev_params, info = fit_pulse_device(t, d, sig, card, t0_guess_s=t0, sigma_given=sigma is not None)
        except InputError as exc:
            result.warnings.append(f"device fit skipped: {exc}")
        else:
            result.derived += dev_params
            result.extra["device_fit"] = info
            result.card_updates = {"area_m2": result["area_m2"].value}
            device_curve = {"x": t, "y": np.asarray(info["steps_fit_V"]), "style": "x",
                            "label": "device fit (closed-form replay of the pulses)"}
    sched, table = _schedule(t0, gamma, card, n_schedule)
    result.extra["schedule"] = sched
    result.tables["eps_schedule"] = table.assign(dV_pred_V=lambda df: math.exp(p[0]) * np.exp(
        -gamma * np.log1p(df["t_s"] / t0)))
    grid = np.geomspace(max(t[t > 0].min() if np.any(t > 0) else 1e-3, 1e-12), t.max(), 300)
    result.plot = {
        "x": t, "y": d, "residuals": res, "sigma": float(np.median(sigma)) if sigma is not None else None,
        "curves": [{"x": grid, "y": pulse_model_V(grid, *full(p)), "label": f"fit: D0 (1+t/t0)^-{gamma:.3g}"},
                   {"x": grid, "y": math.exp(p[0]) / (1 + grid / t0), "label": "ideal 1/t law (gamma = 1)",
                    "style": ":"}],
        "x_label": "time of the pulse (s)", "y_label": "step per pulse |dV| (V)",
        "residual_label": "data - fit (V)", "xlog": bool(np.all(t > 0)), "ylog": True,
        "title": "Programming response: step per pulse vs time",
    }
    if device_curve is not None:
        result.plot["curves"].append(device_curve)
    return result


def _schedule(t0: float, gamma: float, card: Card | None, n_schedule: int | None):
    if card is not None:
        prog = card.programming
        t1, period = prog.first_update_s, prog.period_s
        n = n_schedule or (card.n_updates if card.n_updates > 0 else 100)
    else:
        t1, period, n = 0.0, 1.0, n_schedule or 100
    nn = np.arange(1, n + 1)
    t_n = t1 + (nn - 1) * period
    eps = eps_relative(t_n, t0, gamma, t1)
    n0 = (t0 + t1) / period
    sched = {
        "definition": "eps(t)/eps(t_1) = ((1 + t/t0)/(1 + t_1/t0))^-gamma (step of a fixed pulse, relative)",
        "t0_s": t0, "gamma": gamma,
        "first_update_s": t1, "period_s": period,
        "equivalent_inverse_n0": n0,
        "per_update": f"eps_n/eps_1 = (1 + (n-1)/n0)^-gamma with n0 = (t0 + t_1)/period = {n0:.4g}",
        "asymptotic": f"eps_n ~ n^-{gamma:.3g} for n >> n0",
        "robbins_monro_sum_eps_diverges": bool(gamma <= 1.0),
        "robbins_monro_sum_eps2_converges": bool(gamma > 0.5),
        "eps_at_update": {int(k): float(eps[k - 1]) for k in (1, 2, 5, 10, 20, 50, 100) if k <= n},
    }
    table = pd.DataFrame({"n": nn, "t_s": t_n, "eps_rel": eps})
    return sched, table


def pulse_sequence_steps_V(card: Card, area_m2: float, V_p_V: float, t_pulse_s: np.ndarray) -> np.ndarray:
    """FG step beyond natural decay (V) of identical pulses of amplitude ``V_p_V`` at ``t_pulse_s``.

    The cell is the base card's with ``area_m2`` replaced; between pulses the
    gate decays freely (closed form); each pulse is
    :func:`lim_hw.netlist.synthesis.apply_pulse` (the same model as the pulse
    synthesis). Step = ``N_net q / C_T``.
    """
    from ..netlist.synthesis import FGModel, apply_pulse, pulse_window_s

    dev = card.device
    model = FGModel.from_card(card, area_m2=area_m2)     # the card's FN law (thermal, image force)
    window = pulse_window_s(card)
    V, t_prev = dev.V0_V, 0.0
    out = np.empty(len(t_pulse_s))
    for j, t in enumerate(t_pulse_s):
        V = V - float(model.drop_V(V, max(float(t) - t_prev, 0.0)))
        r = apply_pulse(model, card, V, V_p_V)
        out[j] = r.N_net * q_C / dev.C_T_F
        V, t_prev = r.V_after_V, float(t) + window
    return out


def fit_pulse_device(t: np.ndarray, d: np.ndarray, sig: np.ndarray, card: Card, *,
                     t0_guess_s: float | None = None, sigma_given: bool = False):
    """Fit ``(ln area_m2, ln V_p_V)`` by replaying the pulse sequence (see module docstring).

    Returns ``(params, info)``: Param records ``area_m2`` and ``V_p_V`` (95 %
    intervals from ``s^2 (J^T J)^-1``, log-space) and a dict for the report.
    """
    from ..device.fn import fn_coefficients
    from ..netlist.synthesis import pulse_window_s

    dev = card.device
    if dev.kappa <= 0:
        raise InputError("the base card has C_c_F = 0: a control-gate pulse cannot move the gate")
    window = pulse_window_s(card)
    if np.any(np.diff(t) <= window):
        raise InputError(f"pulses are closer than the base card's pulse window ({window:g} s); "
                         "set [programming] pulse_width_s/rise_s to the measured pulses")
    A, B = fn_coefficients(dev.phi_B_eV, dev.m_eff)
    ln_k0 = B * dev.tox_m / dev.V0_V
    if t0_guess_s is not None and t0_guess_s > 0:
        area0 = math.exp(ln_k0 - math.log(t0_guess_s)) * dev.C_T_F * dev.tox_m / (A * B)
    else:
        area0 = dev.area_m2
    area0 = float(np.clip(area0, 1e-18, 1e-6))

    def steps(q):
        with np.errstate(over="ignore", invalid="ignore"):
            return pulse_sequence_steps_V(card, math.exp(q[0]), math.exp(q[1]), t)

    def resid(q):
        r = (steps(q) - d) / sig
        return np.where(np.isfinite(r), r, 1e30)

    best = None
    for ln_a in (math.log(area0), math.log(dev.area_m2)):
        for ln_vp in np.log(np.geomspace(0.05, 40.0, 48)):
            r = resid(np.array([ln_a, ln_vp]))
            c = float(r @ r)
            if best is None or c < best[0]:
                best = (c, np.array([ln_a, ln_vp]))
    out = nls(resid, best[1], jac="3-point", bounds=([math.log(1e-20), math.log(1e-3)],
                                                      [math.log(1e-4), math.log(200.0)]),
              names=("ln_area", "ln_V_p"))
    specs = [("area_m2", "m^2", "device fit: junction area (t_ox, V0, C_T, kappa, phi_B, m* from the base card)",
              True, lambda q: q[0]),
             ("V_p_V", "V", "device fit: control-gate pulse amplitude", True, lambda q: q[1])]
    params = derive(specs, out.p, out.cov, out.dof)
    fit_steps = steps(out.p)
    info = {
        "method": "closed-form replay of the pulse sequence, least squares in (ln area, ln V_p)",
        "area_m2": params[0].value, "area_m2_ci95": list(params[0].ci95),
        "V_p_V": params[1].value, "V_p_V_ci95": list(params[1].ci95),
        "rms_residual_V": float(np.sqrt(np.mean((d - fit_steps) ** 2))),
        "steps_fit_V": [float(x) for x in fit_steps],
        "chi2_per_dof": (float(np.sum(((d - fit_steps) / sig) ** 2)) / out.dof) if sigma_given else None,
        "assumed_from_base_card": {"tox_m": dev.tox_m, "V0_V": dev.V0_V, "C_T_F": dev.C_T_F, "C_c_F": dev.C_c_F,
                                   "phi_B_eV": dev.phi_B_eV, "m_eff": dev.m_eff,
                                   "pulse_width_s": card.programming.pulse_width_s,
                                   "rise_s": card.programming.rise_s, "shape": card.programming.shape},
    }
    return params, info
