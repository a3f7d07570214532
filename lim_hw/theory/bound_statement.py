"""What the LIM bound of a run means: what sets N, energy per electron, Landauer, the FN-DAM floor.

The bound compared with a run is ``E_bound_n = N_n (E0_n + |dE_n|)`` (Performance
Walls Sec. III, docs/theory.md s.10) with ``N_n = R_n tau = R_max eps_n^(1+alpha) tau``
transitions: its normalisation is set by two free choices of the card, ``R_max_per_s``
and the pulse width ``tau``; doubling either doubles N and the bound. Per transition
the bound is ``E0 + |dE|`` (a few kT), while every electron that tunnels through the
FN-DAM oxide dissipates ``q V_ox`` (260-310 kT at 6.5-8 V): that is the FN-DAM floor,
``N q V_ox`` per update, and it lies ~1000x above the bound whatever the driver does.
The Landauer reference is ``bits kT ln 2`` for the card's ``precision_bits`` and for the
precision an update actually reaches (``precision_bits`` of docs/device.md s.10, floored
at 0). :func:`bound_statement` returns these as the ``bound`` block of summary.json.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..constants import kT_J, q_C

__all__ = ["bound_statement", "headline_lines", "injection_summary"]


def _median(x: Any) -> float:
    a = np.asarray(x, dtype=float)
    a = a[np.isfinite(a)]
    return float(np.median(a)) if a.size else float("nan")


def bound_statement(card: Any, updates: pd.DataFrame, halves: Any = None) -> dict[str, Any]:
    """The ``bound`` block of summary.json for a run's per-update table (docs/theory.md s.10).

    ``halves`` (the synthesis table's ``half`` column) marks injection updates (``"i"``), which
    are left out of the energy per tunnelling electron (docs/device.md s.11 reports them).
    """
    dev, prog, sch = card.device, card.programming, card.schedule
    kT = kT_J(dev.T_K)
    if updates.empty:
        return {}
    N = updates["N_target"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_e = updates["E_bound_J"].to_numpy(dtype=float) / N          # E0 + |dE| per transition
    inj = np.zeros(N.shape, dtype=bool) if halves is None else np.asarray(halves) == "i"
    with np.errstate(divide="ignore", invalid="ignore"):
        e_tun = updates["E_tunnel_J"].to_numpy(dtype=float) / updates["N_window"].to_numpy(dtype=float)
    if halves is not None:
        e_tun = np.where(np.asarray(halves) == "i", np.nan, e_tun)
    qV = _median(e_tun)                                  # measured energy per tunnelling electron = q <V_ox>
    floor = N * qV
    bits = _median(updates.get("precision_bits", pd.Series([math.nan])))
    out = {
        "N_set_by": {
            "formula": "N_n = R_n tau = R_max eps_n^(1+alpha) tau (transitions per update)",
            "R_max_per_s": dev.R_max_per_s, "pulse_width_s": prog.pulse_width_s, "alpha": sch.alpha,
            "N_target_min": float(N.min()), "N_target_max": float(N.max()),
            "note": "R_max and the pulse width are free choices of the card: the bound scales with both",
        },
        "bound_per_electron_J": _median(per_e), "bound_per_electron_kT": _median(per_e) / kT,
        "q_V_ox_per_electron_J": qV, "q_V_ox_per_electron_kT": qV / kT,
        "V_ox_tunnelling_V": qV / q_C,
        "floor_over_bound_per_electron": qV / _median(per_e),
        "fn_dam_floor_median_J": _median(floor),
        "bound_median_J": _median(updates["E_bound_J"]),
        "landauer_card_precision_J": float(prog.precision_bits * kT * math.log(2.0)),
        "card_precision_bits": float(prog.precision_bits),
        "achieved_precision_bits_median": bits,
        "landauer_achieved_precision_J": float(max(bits, 0.0) * kT * math.log(2.0)) if math.isfinite(bits) else None,
    }
    out["statement"] = (
        f"N is set by R_max = {dev.R_max_per_s:g}/s and the pulse width {prog.pulse_width_s:g} s "
        f"({N.min():.3g}-{N.max():.3g} electrons per update): the bound scales with both. Per electron the bound "
        f"is {out['bound_per_electron_kT']:.3g} kT, while each tunnelling electron dissipates q V_ox = "
        f"{out['q_V_ox_per_electron_kT']:.0f} kT ({out['V_ox_tunnelling_V']:.2f} V): the FN-DAM floor N q V_ox "
        f"is {out['floor_over_bound_per_electron']:.0f}x the bound, whatever the driver. Landauer: "
        f"{out['landauer_card_precision_J']:.3g} J for the card's {prog.precision_bits:g} bits; one update reaches "
        f"{bits:.2f} bits (shot and kT/C noise).")
    return out


def headline_lines(bound: dict[str, Any]) -> list[str]:
    """The terminal lines of the bound statement (``lim-hw simulate``)."""
    if not bound:
        return []
    ns = bound["N_set_by"]
    return [
        f"what sets N: R_max {ns['R_max_per_s']:g}/s x pulse width {ns['pulse_width_s']:g} s "
        f"({ns['N_target_min']:.3g}-{ns['N_target_max']:.3g} electrons/update; the bound scales with both)",
        f"per electron: bound {bound['bound_per_electron_kT']:.3g} kT vs q V_ox {bound['q_V_ox_per_electron_kT']:.0f} kT "
        f"-> the FN-DAM floor N q V_ox is {bound['floor_over_bound_per_electron']:.0f}x the bound",
        f"Landauer {bound['landauer_card_precision_J']:.3g} J ({bound['card_precision_bits']:g} bits); one update "
        f"reaches {bound['achieved_precision_bits_median']:.2f} bits (shot + kT/C)",
    ]


def injection_summary(card: Any, updates: pd.DataFrame, table: pd.DataFrame) -> dict[str, Any]:
    """The ``injection`` block of summary.json (``decrease = "injection"``; docs/device.md s.11)."""
    from ..device.injection import injector_drive_energy_J

    sel = table["half"].to_numpy() == "i"
    if not sel.any():
        return {"n_updates": 0}
    dev, prog = card.device, card.programming
    u = updates[sel]
    V_ds = table["V_p_V"].to_numpy(dtype=float)[sel]
    E_drive = np.array([injector_drive_energy_J(v, dev.inj_I_s_A, prog.pulse_width_s, prog.rise_s) for v in V_ds])
    N = u["N_sim"].to_numpy(dtype=float)
    eff = N * q_C / (dev.inj_I_s_A * (prog.pulse_width_s + prog.rise_s))
    kT = kT_J(dev.T_K)
    return {"n_updates": int(sel.sum()), "V_ds_median_V": _median(V_ds),
            "E_drive_closed_form_median_J": _median(E_drive), "E_supply_median_J": _median(u["E_supply_J"]),
            "energy_per_injected_electron_kT": _median(u["E_supply_J"].to_numpy(dtype=float) / N) / kT,
            "injection_efficiency_median": _median(eff),
            "tracking_error_max_abs": float(np.max(np.abs(u["tracking_error"]))),
            "note": "hot-electron injection (behavioural, I_inj = I_s beta exp(-V_inj/V_ds)): the channel current "
                    "I_s V_ds is the cost, ~1e5x a tunnelling update"}
