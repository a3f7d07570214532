"""Pulse-width synthesis for the sky130 cell: the schedule's update as the width of a full-rail pulse.

Why width, not amplitude (docs/pdk.md): the driver's output rests at its rail ``V_drv_V``
and is pulled to ground for the pulse, so a programmable rail would move the control
gate -- and the floating gate -- every time the rail changes between updates. At a fixed
rail the floating gate sees only the pulses, and the programming strength of update n is
its width, which a 1.8 V logic block sets digitally.

The model (theory.md s.5 restarted, as the ideal synthesis): at rest the oxide voltage
decays by the closed form with the rest capacitance C_T; the falling edge raises it by
``kappa_ls V_drv`` (the large-signal step ngspice measured); during the pulse it decays with
the capacitance of the programming operating point; the tunnelled charge Q lowers it by
Q / C_T at rest after the rising edge. The pulse lasts ``w + dw`` where ``dw`` is the
effective-width offset of the level shifter and driver (measured). Widths are found by
Brent's method so the predicted transitions beyond natural decay equal ``N_n = R_n tau``
(``tau = pulse_width_s`` of the card, as in the ideal flow); ngspice then checks them and
:func:`correct_widths` closes the loop.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...constants import q_C
from ...device.card import Card
from ...errors import InputError
from ...netlist.rootfind import brent_root
from ...netlist.synthesis import SYNTHESIS_COLUMNS, FGModel
from ...tech.spec import TechnologySpec
from ...theory.table import bound_table
from .cell import SEG_LEAD_S, window_length_s

SKY130_COLUMNS = SYNTHESIS_COLUMNS + ("w_s",)


def fg_model(card: Card, C_T_F: float) -> FGModel:
    """The closed-form decay law of ``card``'s junction with total capacitance ``C_T_F``."""
    plain = dataclasses.replace(card, device=dataclasses.replace(card.device, C_T_F=C_T_F, C_c_F=0.0, C_j_F=0.0),
                                technology=TechnologySpec())
    return FGModel.from_card(plain)


@dataclass(frozen=True)
class PulseModel:
    """One programming window of the sky130 cell (see the module docstring)."""

    rest: FGModel
    pulse: FGModel
    kappa_ls: float
    V_drv_V: float
    dw_s: float
    window_s: float   # update window minus the logic width: 2 edges + settling (s)
    initial: FGModel | None = None  # the free decay before the first update (mean C_T over it)

    def window(self, V_before: float, w_s: float) -> tuple[float, float, float, float]:
        """(N_window, N_natural, V_end, V_peak) of a pulse of logic width ``w_s`` from ``V_before`` (V).

        The accounting window lasts ``w_s + window_s``; the oxide voltage is raised for
        ``w_s + dw_s`` of it.
        """
        L = w_s + self.window_s
        w_eff = min(max(w_s + self.dw_s, 0.0), L) if w_s > 0 else 0.0
        Q_nat = self.rest.C_T_F * float(self.rest.drop_V(V_before, L))
        if w_eff <= 0:
            V_end = V_before - float(self.rest.drop_V(V_before, L))
            return Q_nat / q_C, Q_nat / q_C, V_end, V_before
        V_hi = V_before + self.kappa_ls * self.V_drv_V
        Q_p = self.pulse.C_T_F * float(self.pulse.drop_V(V_hi, w_eff))
        V_after = V_before - Q_p / self.rest.C_T_F
        drop_post = float(self.rest.drop_V(V_after, L - w_eff))
        Q = Q_p + self.rest.C_T_F * drop_post
        return Q / q_C, Q_nat / q_C, V_after - drop_post, V_hi

    def n_window(self, V_before: float):
        return lambda w: self.window(V_before, w)[0]


def pulse_model(card: Card, C_T_F: float, C_T_pulse_F: float, kappa_ls: float, dw_s: float,
                C_T_initial_F: float = 0.0) -> PulseModel:
    """The window model of ``card`` with the measured capacitances, step and width offset."""
    upd_end, _, _ = window_length_s(card, 0.0, False)
    return PulseModel(fg_model(card, C_T_F), fg_model(card, C_T_pulse_F), kappa_ls, card.technology.V_drv_V,
                      dw_s, upd_end - SEG_LEAD_S, fg_model(card, C_T_initial_F) if C_T_initial_F else None)


def max_width_s(card: Card) -> float:
    """Longest logic pulse that leaves room for the read and settling before the next update (s)."""
    t = card.technology
    _, _, end0 = window_length_s(card, 0.0, t.read)
    return max(card.programming.period_s - end0 - 2e-6, 0.0)


def synthesize(card: Card, model: PulseModel, corrections: np.ndarray | None = None) -> pd.DataFrame:
    """Synthesis table (:data:`SKY130_COLUMNS`): one row per update, ``w_s`` the logic pulse width.

    ``corrections`` (s, one per update) are added to the widths the model finds (the
    closed loop of :func:`correct_widths`); the table's predictions then follow them.
    """
    dev, prog = card.device, card.programming
    theory = bound_table(card.schedule, dev.R_max_per_s, dev.T_K)
    w_max = max_width_s(card)
    rows = []
    V = dev.V0_V
    t_prev = 0.0
    for k, rec in enumerate(theory.itertuples(index=False)):
        n = int(rec.n)
        t_n = prog.update_start_s(n)
        decay = model.initial if (k == 0 and model.initial is not None) else model.rest
        V = V - float(decay.drop_V(V, t_n - t_prev))
        N_target = float(rec.R_per_s) * prog.pulse_width_s
        w = solve_width(model, V, N_target, w_max, card) if N_target > 0 else 0.0
        if corrections is not None and w > 0:
            w = min(max(w + float(corrections[k]), 0.0), w_max)
        N_win, N_nat, V_end, V_peak = model.window(V, w)
        rows.append({
            "n": n, "t_s": t_n, "eps": float(rec.eps), "grad": float(rec.grad),
            "R_target_per_s": float(rec.R_per_s), "E0_J": float(rec.E0_J), "dE_J": float(rec.dE_J),
            "feasible": bool(rec.feasible), "N_target": N_target, "V_p_V": card.technology.V_drv_V if w > 0 else 0.0,
            "ramp_s": prog.rise_s, "V_ox_before_V": V, "V_ox_peak_V": V_peak, "V_ox_after_V": V_end,
            "N_natural": N_nat, "dV_fg_pred_V": (N_win - N_nat) * q_C / model.rest.C_T_F,
            "half": "p" if rec.grad >= 0 else "m", "w_s": w,
        })
        V = V_end
        t_prev = t_n + w + model.window_s
    return pd.DataFrame(rows, columns=list(SKY130_COLUMNS))


def solve_width(model: PulseModel, V_before: float, N_target: float, w_max: float, card: Card) -> float:
    """Logic width (s) whose window moves ``N_target`` electrons beyond natural decay."""
    def f(w: float) -> float:
        n_win, n_nat, _, _ = model.window(V_before, w)
        return n_win - n_nat - N_target

    if f(w_max) < 0:
        t = card.technology
        raise InputError(
            f"the sky130 cell cannot move {N_target:.3g} electrons per update: even a {w_max:.3g} s pulse at "
            f"V_drv_V = {t.V_drv_V:g} V (oxide {V_before:.4g} V + {model.kappa_ls * t.V_drv_V:.3g} V) moves less; "
            "raise V_drv_V or the junction size W_tun_m/L_tun_m, lengthen period_s, or lower R_max_per_s or eps0")
    if f(0.0) >= 0:
        return 0.0
    return brent_root(f, 0.0, w_max, xtol=1e-15, rtol=1e-13, maxiter=200)


def correct_widths(table: pd.DataFrame, N_sim: np.ndarray, model: PulseModel, previous: np.ndarray | None
                   ) -> np.ndarray:
    """Width corrections (s) that cancel the tracking error ngspice measured (one Newton step per update).

    dN/dw at the programming operating point is the FN rate I(V_peak)/q; the correction
    is added to any earlier one.
    """
    prev = np.zeros(len(table)) if previous is None else np.asarray(previous, dtype=float)
    out = prev.copy()
    for k, rec in enumerate(table.itertuples(index=False)):
        if rec.w_s <= 0 or rec.N_target <= 0:
            continue
        rate = float(model.pulse.current_A(rec.V_ox_peak_V)) / q_C
        out[k] += (rec.N_target - N_sim[k]) / rate
    return out
