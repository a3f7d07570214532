"""ngspice replay of a window of training updates on one differential synapse (both halves).

Shared by the linear classifier (:func:`lim_hw.codesign.train.ngspice_check_training`)
and the MLP (:func:`lim_hw.codesign.mlp_check.ngspice_check_mlp`). Each half is
one cell testbench of ``card`` with its own mismatched ``tox``/``area``, started
at the end of the previous update window from the oxide voltage the model had
there (:func:`lim_hw.codesign.ngspice_check.ngspice_window`: the decay is
autonomous, so the shifted run equals the full one) and given exactly the
pulses training gave it; the closed-form model replays the same window
deterministically. The card carries the technology: a card of another
technology (e.g. sky130, once its cell testbench exists) replays on it unchanged.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..constants import q_C
from ..device.card import Card
from .ngspice_check import ngspice_window
from .pulse_model import CellModel, PulseTiming, natural_drop_V, pulse_eval

__all__ = ["replay_synapse"]


def replay_synapse(card: Card, cells: dict[str, tuple[float, float]], win: pd.DataFrame, Q_unit: float,
                   engine: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Replay ``win`` (trace rows: ``n, t_s, t_prev_s, V_ox_{p,m}_prev_V, half, V_p_V, grad, eps``).

    ``cells``: ``{"p": (tox_m, area_m2), "m": (...)}``. Returns per-update rows
    (model vs ngspice: transitions, floating-gate step, weight change, drawn and
    tunnelling energy) and, per half, the oxide voltage at the end of the window.
    """
    dev = card.device
    timing = PulseTiming.from_card(card)
    window = float(timing.window_s)
    rows: list[dict[str, Any]] = []
    end_checks: dict[str, Any] = {}
    for hname, sign in (("p", 1.0), ("m", -1.0)):
        tox, area = cells[hname]
        ccard = card.with_updates(device={"tox_m": float(tox), "area_m2": float(area)})
        cell = CellModel.from_card(ccard)
        t_start = float(win["t_prev_s"].iloc[0])
        V_start = float(win[f"V_ox_{hname}_prev_V"].iloc[0])
        V, t_prev = V_start, t_start
        model_rows = []
        for rec in win.itertuples(index=False):
            V = float(V - natural_drop_V(V, rec.t_s - t_prev, cell.k1_per_s, cell.k2_V, cell.law_scales))
            vp = rec.V_p_V if rec.half == hname else 0.0
            ev = pulse_eval(cell, timing, V, vp)
            if vp > 0:
                model_rows.append({"n": int(rec.n), "t_s": rec.t_s, "V_p_V": vp, "V_before": V,
                                   "N": float(ev.N_sim), "E_drawn": float(ev.E_drawn_J),
                                   "E_tunnel": float(ev.E_tunnel_J), "grad": rec.grad, "eps": rec.eps})
            V = float(ev.V_after_V)
            t_prev = rec.t_s + window
        if not model_rows:
            continue
        mr = pd.DataFrame(model_rows)
        tab = pd.DataFrame({
            "n": mr["n"], "t_s": mr["t_s"], "eps": mr["eps"], "grad": np.abs(mr["grad"]),
            "R_target_per_s": mr["N"] / card.programming.pulse_width_s, "E0_J": 0.0, "dE_J": 0.0,
            "feasible": True, "N_target": mr["N"], "V_p_V": mr["V_p_V"], "ramp_s": card.programming.rise_s,
            "V_ox_before_V": mr["V_before"], "V_ox_peak_V": np.nan, "V_ox_after_V": np.nan, "N_natural": np.nan,
            "dV_fg_pred_V": mr["N"] * q_C / dev.C_T_F, "half": "p"})
        upd, _tab, sim, _c2 = ngspice_window(ccard, tab, V_start, t_start, engine=engine)
        for m_, u_ in zip(mr.itertuples(index=False), upd.itertuples(index=False)):
            rows.append({"n": m_.n, "half": hname, "V_p_V": m_.V_p_V, "N_model": m_.N, "N_ngspice": u_.N_sim,
                         "dV_fg_model_V": m_.N * q_C / dev.C_T_F, "dV_fg_ngspice_V": u_.N_sim * q_C / dev.C_T_F,
                         "dw_model": sign * m_.N / Q_unit, "dw_ngspice": sign * u_.N_sim / Q_unit,
                         "E_drawn_model_J": m_.E_drawn, "E_drawn_ngspice_J": u_.E_supply_J,
                         "E_tunnel_model_J": m_.E_tunnel, "E_tunnel_ngspice_J": u_.E_tunnel_J})
        t_end_rel = float(sim.time_s[-1])
        V_end_model = float(V - natural_drop_V(V, t_start + t_end_rel - t_prev, cell.k1_per_s, cell.k2_V, cell.law_scales))
        V_end_ng = float(sim.vectors["v(tun)"][-1] - sim.vectors["v(fg)"][-1])
        end_checks[hname] = {"V_ox_end_model_V": V_end_model, "V_ox_end_ngspice_V": V_end_ng,
                             "diff_V": V_end_ng - V_end_model, "ngspice_wall_s": sim.wall_s,
                             "n_timepoints": int(sim.time_s.size)}
    return rows, end_checks
