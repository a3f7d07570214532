"""A design's exact pulses re-simulated in ngspice, compared with the closed-form model per update.

:func:`design_card` and :func:`design_table` turn a :class:`~lim_hw.codesign.schedule.Design`
into a card and a synthesis table for :func:`lim_hw.netlist.generate.generate`;
:func:`ngspice_window` simulates a window of updates on one cell (also used by
:mod:`lim_hw.codesign.train`); :func:`ngspice_check_design` compares energy and
transitions per update with :func:`lim_hw.codesign.schedule.evaluate_design`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from ..constants import q_C
from ..device.card import Card
from ..errors import InputError
from .pulse_model import CellModel, natural_drop_V, pulse_eval
from .schedule import Design, evaluate_design, run_schedule, schedule_targets

__all__ = ["design_card", "design_table", "CHECK_COLUMNS", "ngspice_window", "ngspice_check_design"]


# =============================================================================== ngspice check
def design_card(card: Card, design: Design) -> Card:
    """``card`` with the design's pulse shape, width and ramp time (amplitudes live in :func:`design_table`)."""
    return card.with_updates(programming={"shape": design.shape, "pulse_width_s": float(design.width_s),
                                          "rise_s": float(design.rise_s)})


def design_table(card: Card, design: Design, targets: pd.DataFrame | None = None) -> pd.DataFrame:
    """A synthesis table (columns of :data:`lim_hw.netlist.synthesis.SYNTHESIS_COLUMNS`) for the design.

    Pass it to :func:`lim_hw.netlist.generate.generate` (``table=``) to simulate
    exactly these pulses in ngspice.
    """
    from ..netlist.synthesis import SYNTHESIS_COLUMNS

    tg = schedule_targets(card) if targets is None else targets
    cell = CellModel.from_card(card)
    res = run_schedule(cell, design.timing(), card.device.V0_V, tg["t_s"].to_numpy(), design.V_p_V)
    pe = pulse_eval(cell, design.timing(), res.V_before_V, design.V_p_V)
    df = pd.DataFrame({
        "n": tg["n"].to_numpy(), "t_s": tg["t_s"].to_numpy(), "eps": tg["eps"].to_numpy(),
        "grad": tg["grad"].to_numpy(), "R_target_per_s": tg["R_per_s"].to_numpy(), "E0_J": tg["E0_J"].to_numpy(),
        "dE_J": tg["dE_J"].to_numpy(), "feasible": tg["feasible"].to_numpy(), "N_target": tg["N_target"].to_numpy(),
        "V_p_V": np.asarray(design.V_p_V, float), "ramp_s": float(design.rise_s),
        "V_ox_before_V": res.V_before_V, "V_ox_peak_V": res.V_peak_V, "V_ox_after_V": pe.V_after_V,
        "N_natural": pe.N_natural, "dV_fg_pred_V": res.N_sim * q_C / card.device.C_T_F, "half": "p",
    })
    return df[list(SYNTHESIS_COLUMNS)]


CHECK_COLUMNS = ("n", "V_p_V", "N_model", "N_ngspice", "rel_N", "E_drawn_model_J", "E_drawn_ngspice_J",
                 "rel_drawn", "E_net_model_J", "E_net_ngspice_J", "E_tunnel_model_J", "E_tunnel_ngspice_J",
                 "rel_tunnel")


def ngspice_window(card: Card, table: pd.DataFrame, V_ox_at_start_V: float, t_start_s: float,
                   resolve_ramps: bool = True, engine: str | None = None, timeout_s: float | None = None,
                   points_per_ramp: int = 50):
    """Simulate the updates of ``table`` on one cell of ``card`` in ngspice, starting at ``t_start_s``.

    The FN-DAM decay is autonomous, so a run that starts at ``t_start_s`` from
    the oxide voltage the cell has then is the same as the full run from t = 0;
    shifting the origin keeps the transient short. With ``resolve_ramps`` and
    ramped edges a dummy 0 V PWL source (through 1 MOhm to ground: no current,
    no energy) puts a corner every ``rise_s / points_per_ramp`` on every edge,
    which forces ngspice to take time points there: its default step control
    takes only a handful of steps on a slow ramp (the local-truncation-error
    check does not see the curvature of the FN current, whose charge is a tiny
    part of the node charge) and then misestimates the tunnelling charge of a
    ramp by 10-20 % when the ramp carries most of it.
    Returns ``(updates DataFrame of account_updates, table shifted, SimResult, card used)``.
    """
    from ..energy.updates import Waveforms, account_updates, missed_edges
    from ..netlist.generate import generate
    from ..netlist.render import render
    from ..netlist.spec import Resistor, VSource
    from ..sim import SimulationError, simulate

    t_first = float(table["t_s"].iloc[0])
    if not 0 <= t_start_s < t_first:
        raise InputError("the ngspice window must start before its first update")
    p = card.programming
    tab = table.copy()
    tab["t_s"] = tab["t_s"] - t_start_s
    span = float(tab["t_s"].iloc[-1]) + p.period_s
    c2 = card.with_updates(device={"V0_V": float(V_ox_at_start_V)},
                           programming={"first_update_s": float(tab["t_s"].iloc[0])},
                           schedule={"n_updates": len(tab)} if card.schedule.kind != "table" else {},
                           simulation={"duration_s": span})
    art = generate(c2, "cell", table=tab)
    tb = art.testbench
    if resolve_ramps and p.shape == "ramped" and p.rise_s >= 1e-6:
        k = np.linspace(0.0, p.rise_s, int(points_per_ramp) + 1)
        starts = np.concatenate([tab["t_s"].to_numpy(), tab["t_s"].to_numpy() + p.rise_s + p.pulse_width_s])
        times = np.unique(np.concatenate([[0.0], (starts[:, None] + k[None, :]).ravel(), [span]]))
        times = times[(times >= 0) & (times <= span)]
        pwl = tuple((float(t), 0.0) for t in times)
        tb = dataclasses.replace(tb, elements=tb.elements + (VSource("vbrk", "brk", "0", pwl=pwl),
                                                             Resistor("rbrk", "brk", "0", 1e6)))
    eng = engine or (c2.simulation.engine if c2.simulation.engine != "fast" else "batch")
    base = tb.tmax_s
    for factor in (1.0, 1.0 / 3.0, 1.0 / 9.0, 1.0 / 27.0):   # as lim_hw.flow: retry if an edge was stepped over
        tb_try = dataclasses.replace(tb, tmax_s=base * factor)
        sim = simulate(render(tb_try), tb_try.saves, engine=eng, timeout_s=timeout_s or c2.simulation.timeout_s)
        missed = missed_edges(c2, tab, sim.time_s)
        if missed.size == 0:
            break
    else:
        raise SimulationError(f"ngspice stepped over {missed.size} pulse edge(s) (first at t = {missed[0]:.9g} s "
                              "after the window start) in the co-design check; lengthen rise_s")
    upd = account_updates(c2, tab, tb_try, Waveforms(sim.time_s, sim.vectors))
    return upd, tab, sim, c2


def ngspice_check_design(card: Card, design: Design, targets: pd.DataFrame | None = None,
                         engine: str | None = None, timeout_s: float | None = None,
                         resolve_ramps: bool = True, lead_s: float = 1.0
                         ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Re-simulate the design's exact pulses in ngspice and compare energy and transitions per update.

    Uses the flow's own machinery (:func:`lim_hw.netlist.generate.generate`
    with the design's table on the card from :func:`design_card`,
    :func:`lim_hw.sim.simulate`, :func:`lim_hw.energy.updates.account_updates`),
    i.e. what :func:`lim_hw.flow.run_flow` does, but with the optimised
    amplitudes instead of re-synthesised ones, and from ``lead_s`` before the
    first update (see :func:`ngspice_window`). Returns (per-update table with
    columns :data:`CHECK_COLUMNS`, summary with the largest relative deviations).
    Net energy is listed but not compared: with slow ramps it is the small
    difference of large drawn and returned energies and ngspice's integration
    error dominates it.
    """
    tg = schedule_targets(card) if targets is None else targets
    dcard = design_card(card, design)
    table = design_table(card, design, tg)
    cell = CellModel.from_card(card)
    t1 = float(tg["t_s"].iloc[0])
    lead = min(lead_s, 0.5 * t1) if t1 > 0 else 0.0
    if lead <= 0:
        raise InputError("the first update must come after t = 0 to check a design in ngspice")
    V_start = float(card.device.V0_V - natural_drop_V(card.device.V0_V, t1 - lead, cell.k1_per_s, cell.k2_V, cell.law_scales))
    upd, _tab, sim, c2 = ngspice_window(dcard, table, V_start, t1 - lead, resolve_ramps, engine, timeout_s)
    ev = evaluate_design(card, design, tg)
    df = pd.DataFrame({
        "n": ev["n"], "V_p_V": ev["V_p_V"], "N_model": ev["N_sim"], "N_ngspice": upd["N_sim"].to_numpy(),
        "E_drawn_model_J": ev["E_drawn_J"], "E_drawn_ngspice_J": upd["E_supply_J"].to_numpy(),
        "E_net_model_J": ev["E_net_J"], "E_net_ngspice_J": upd["E_net_J"].to_numpy(),
        "E_tunnel_model_J": ev["E_tunnel_J"], "E_tunnel_ngspice_J": upd["E_tunnel_J"].to_numpy(),
    })
    df["rel_N"] = df["N_model"] / df["N_ngspice"] - 1.0
    df["rel_drawn"] = df["E_drawn_model_J"] / df["E_drawn_ngspice_J"] - 1.0
    df["rel_tunnel"] = df["E_tunnel_model_J"] / df["E_tunnel_ngspice_J"] - 1.0
    summary = {
        "design": design.label, "engine": sim.engine, "ngspice": sim.ngspice_version, "wall_s": sim.wall_s,
        "ramp_breakpoints": bool(resolve_ramps and dcard.programming.shape == "ramped"
                                 and dcard.programming.rise_s >= 1e-6), "t_start_s": t1 - lead,
        "n_timepoints": int(sim.time_s.size),
        "max_abs_rel_N": float(df["rel_N"].abs().max()),
        "max_abs_rel_drawn": float(df["rel_drawn"].abs().max()),
        "max_abs_rel_tunnel": float(df["rel_tunnel"].abs().max()),
        "mean_drawn_model_J": float(df["E_drawn_model_J"].mean()),
        "mean_drawn_ngspice_J": float(df["E_drawn_ngspice_J"].mean()),
        "mean_tunnel_model_J": float(df["E_tunnel_model_J"].mean()),
        "mean_tunnel_ngspice_J": float(df["E_tunnel_ngspice_J"].mean()),
    }
    return df[list(CHECK_COLUMNS)], summary
