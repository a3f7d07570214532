"""Fit measured (or simulated) FN-DAM data and turn the result into a device card.

Three models (docs/fitting.md):

- ``decay``: a retention trace ``V_ox(t)`` -> ``k0, k1, k2`` of
  ``V = k2/ln(k1 t + k0)`` (:func:`fit_decay`) -> ``tox_m``, ``area_m2`` (the
  identifiable ratio area/C_T times the base card's C_T), ``V0_V``;
  optional ngspice-in-the-loop refinement (:func:`refine_decay_ngspice`).
- ``iv``: FN I-V data -> ``a, b`` of ``I = a V^2 exp(-b/V)`` by FN-plot
  regression and weighted NLS (:func:`fit_iv`) -> ``phi_B_eV, m_eff`` (given
  t_ox and area) or ``tox_m, area_m2`` (given phi_B and m*).
- ``pulse``: step per pulse vs time -> ``D0 (1 + t/t0)^-gamma`` and the effective
  learning-rate schedule eps(t) (:func:`fit_pulse`), plus ``area_m2`` from a
  replay of the pulse sequence.

Every fit returns a :class:`FitResult` (parameters with standard errors and 95 %
intervals from ``s^2 (J^T J)^-1``, optional residual bootstrap, chi^2/dof, RMS
residual, identifiability notes, ``card_updates``). :func:`fit_file` reads a CSV
and fits it; :func:`fitted_card` applies the result to a base card;
:func:`card_header` explains it in the card's header comment.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from ..device.card import Card, default_card
from ..errors import InputError
from ..provenance import versions
from .data import MIN_POINTS, MODELS, FitData, read_fit_csv
from .decay import decay_model_V, fit_decay
from .decay_law import fit_decay_law
from .insim import refine_decay_ngspice, retention_card, simulate_retention_V_ox
from .iv import fit_iv, fn_iv_model_A
from .pulse import eps_relative, fit_pulse, pulse_model_V
from .report import FitResult, Param, render_report, write_report

__all__ = [
    "MIN_POINTS", "MODELS", "FitData", "FitResult", "Param", "read_fit_csv", "fit_decay", "fit_iv", "fit_pulse",
    "decay_model_V", "fit_decay_law", "fn_iv_model_A", "pulse_model_V", "eps_relative", "refine_decay_ngspice",
    "retention_card", "simulate_retention_V_ox", "fit_data", "fit_file", "fitted_card", "card_header",
    "render_report", "write_report",
]


def fit_data(data: FitData, base_card: Card | None = None, *, n_bootstrap: int = 0, seed: int | None = 0,
             refine_ngspice: bool = False, iv_unknowns: str = "barrier", sigma: float | None = None,
             gamma_fixed: float | None = None) -> FitResult:
    """Fit a checked table (from :func:`read_fit_csv`) with its model; device constants from ``base_card``.

    ``sigma`` is the measurement noise when the table has no sigma column:
    volts for ``decay`` and ``pulse``, a fraction of the current for ``iv``.
    """
    base = base_card or default_card()
    dev = base.device
    c = data.columns
    if sigma is not None and not sigma > 0:
        raise InputError(f"--sigma must be > 0; got {sigma!r}")
    if refine_ngspice and data.model != "decay":
        raise InputError("--refine-ngspice works with --model decay only (it simulates a retention run)")
    src = data.source()
    notes = list(data.notes)
    if data.model == "decay":
        s = c.get("sigma_V", sigma)
        law, T_K = dev.law, c.get("T_K")
        if law.is_classic and T_K is None:
            res = fit_decay(c["time_s"], c["V_ox_V"], s, phi_B_eV=dev.phi_B_eV, m_eff=dev.m_eff, C_T_F=dev.C_T_F,
                            n_bootstrap=0 if refine_ngspice else n_bootstrap, seed=seed, source=src, notes=notes)
        else:   # thermal / image-force law, or traces at several temperatures (docs/fitting.md)
            res = fit_decay_law(c["time_s"], c["V_ox_V"], s, T_K, law=law, C_T_F=dev.C_T_F,
                                n_bootstrap=0 if refine_ngspice else n_bootstrap, seed=seed, source=src,
                                notes=notes)
        if refine_ngspice:
            res = refine_decay_ngspice(res, c["time_s"], c["V_ox_V"], s, base_card=base,
                                       n_bootstrap=n_bootstrap, seed=seed, T_K=T_K)
        return res
    if data.model == "iv":
        s = c.get("sigma_A")
        if s is None and sigma is not None:
            s = sigma * c["current_A"]
        return fit_iv(c["voltage_V"], c["current_A"], s, tox_m=dev.tox_m, area_m2=dev.area_m2,
                      phi_B_eV=dev.phi_B_eV, m_eff=dev.m_eff, unknowns=iv_unknowns, n_bootstrap=n_bootstrap,
                      seed=seed, source=src, notes=notes, law=dev.law)
    return fit_pulse(c["t_pulse_s"], c["dV_V"], c.get("sigma_V", sigma), base_card=base, gamma_fixed=gamma_fixed,
                     n_bootstrap=n_bootstrap, seed=seed, source=src, notes=notes)


def fit_file(path: str | Path, model: str, base_card: Card | None = None, **kwargs) -> FitResult:
    """Read ``path`` (CSV) and fit it with ``model``; see :func:`fit_data` for the options."""
    base = base_card or default_card()
    data = read_fit_csv(path, model, V_tun_V=base.device.V_tun_V)
    return fit_data(data, base, **kwargs)


def fitted_card(base_card: Card | None, result: FitResult, name: str | None = None) -> Card:
    """``base_card`` (default: the built-in card) with the fitted ``[device]`` keys replaced; validated."""
    base = base_card or default_card()
    try:
        card = base.with_updates(device=result.card_updates)
    except InputError as exc:
        raise InputError(f"the fitted values do not make a valid card ({exc}); check the data, the model "
                         "and the base card's assumed constants") from None
    if name:
        import dataclasses

        card = dataclasses.replace(card, name=name)
    return card


def card_header(result: FitResult, base_label: str = "built-in default card") -> str:
    """Header comment for a fitted card: what was fitted, from what, and what was assumed."""
    src = result.source
    st = result.stats
    lines = [
        f"lim-hw fit --model {result.model}: device card fitted to {src.get('path', 'data')}"
        + (f" (sha256 {src['sha256'][:16]})" if src.get("sha256") else ""),
        f"written {_dt.datetime.now(_dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}; base card: {base_label}",
        "fitted [device] keys (everything else is the base card's):",
    ]
    for k, v in result.card_updates.items():
        try:
            p = result[k]
            lines.append(f"  {k} = {v:.6g} (std. error {p.stderr:.3g}, 95 % CI [{p.ci95[0]:.6g}, {p.ci95[1]:.6g}])")
        except KeyError:
            lines.append(f"  {k} = {v:.6g}")
    if result.model == "decay":
        r = result["area_over_C_T_m2_per_F"]
        lines += [
            f"identifiability: a decay trace fixes only area/C_T = {r.value:.6g} m^2/F; C_T_F is NOT fitted:",
            "  it is kept from the base card and area_m2 = (area/C_T) x C_T_F. Change C_T_F and area_m2 together.",
            "  t_ox is k2/B for the base card's phi_B_eV and m_eff (a trace cannot separate them from t_ox).",
        ]
    elif result.model == "iv":
        lines.append("identifiability: I-V data fix a = area A/t_ox^2 and b = B t_ox only; the other two of "
                     "t_ox, area, phi_B, m_eff are the base card's.")
    else:
        lines.append("identifiability: the programming response fixes the knee and the pulse gain; area_m2 comes "
                     "from replaying the pulse sequence with the base card's t_ox, V0, C_T, C_c, phi_B, m_eff.")
        sch = result.extra.get("schedule", {})
        if sch:
            lines.append(f"effective learning rate: eps(t) ~ (1 + t/{sch['t0_s']:.4g} s)^-{sch['gamma']:.4g}")
    if "ngspice_refinement" in result.extra:
        ng = result.extra["ngspice_refinement"]
        lines.append(f"refined with ngspice in the loop ({ng['iterations']} iteration(s)); RMS data - ngspice "
                     f"{ng['rms_data_minus_sim_after_V']:.3g} V")
    if any(k in result.card_updates for k in ("area_m2", "tox_m")):
        lines.append("C_j_F: recomputed from the fitted geometry (eps_ox area/tox) unless the base card sets it "
                     "(then kept)")
    chi = st.get("chi2_per_dof")
    lines.append(f"fit: {st['n_points']} points, RMS residual {st['rms_residual']:.3g} {st['residual_unit']}"
                 + (f", chi^2/dof {chi:.3g}" if chi is not None else ""))
    lines.append("versions: " + " ".join(f"{k}={v}" for k, v in versions().items() if k != "platform"))
    return "\n".join(lines)
