"""Self-checks of a run: energy and charge closures, tracking and retention against the card's tolerances.

Every run of the flow checks the numbers it reports (docs/flow.md, "Self-checks"):

- energy balance per update window: ``E_net = E_tunnel + E_resistor + dE_cap``
  (``energy_closure``, relative to ``|E_tunnel| + E_resistor + |dE_cap|``);
- charge balance per window: the integral of the sensed FN current equals the
  change of the floating-gate charge from the node voltages (``charge_closure``,
  relative to the target charge ``N_target q``);
- tracking: ``|N_sim / N_target - 1| <= tracking_tol``;
- retention cards: ``|V_ox / closed form - 1| <= retention_tol`` for ``t >= 1 s``;
- honesty of the table: finite energies, ``E_net <= E_supply`` and
  ``E_net >= E_tunnel + dE_cap`` within the energy tolerance.

:func:`check_failures` lists what fails (empty: the run is good);
:func:`closure_summary` is what summary.json records.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..device.card import Card


def check_failures(card: Card, updates: pd.DataFrame, retention_error: float | None = None,
                   tracking: bool = True, charge_floor_e: float = 0.0) -> list[str]:
    """One message per failed check (the first offending update named), empty when all pass.

    ``tracking=False`` skips the tracking check (cells with per-cell mismatch track by design
    differently; :func:`lim_hw.flow_sim.nominal_cells`); the closures are checked always.
    ``charge_floor_e`` (electrons, default 0: none) lets the charge balance of update n miss by
    ``max(charge_closure_tol, charge_floor_e / N_target)``: an absolute resolution of the
    simulator's charge, for cells whose step is a few electrons (the sky130 cell, docs/pdk.md).
    """
    sim = card.simulation
    out: list[str] = []
    if not updates.empty:
        def first(mask: np.ndarray, col: str, tol: float, what: str) -> None:
            if mask.any():
                k = int(np.argmax(mask))
                out.append(f"update {int(updates['n'].iloc[k])}: {what} {col} = {updates[col].iloc[k]:.3g} "
                           f"exceeds its tolerance {tol:g}")

        for col in ("E_supply_J", "E_net_J", "E_tunnel_J", "N_sim"):
            bad = ~np.isfinite(updates[col].to_numpy(dtype=float))
            if bad.any():
                k = int(np.argmax(bad))
                out.append(f"update {int(updates['n'].iloc[k])}: {col} is not finite")
        ec = np.abs(updates["energy_closure"].to_numpy(dtype=float))
        first(np.nan_to_num(ec, nan=0.0) > sim.energy_closure_tol, "energy_closure", sim.energy_closure_tol,
              "energy balance")
        qc = np.abs(updates["charge_closure"].to_numpy(dtype=float))  # NaN: not available (fast engine)
        if charge_floor_e > 0:
            with np.errstate(divide="ignore", invalid="ignore"):
                q_tol = np.maximum(sim.charge_closure_tol, charge_floor_e / updates["N_target"].to_numpy(dtype=float))
            bad = np.nan_to_num(qc, nan=0.0) > q_tol
            if bad.any():
                k = int(np.argmax(bad))
                out.append(f"update {int(updates['n'].iloc[k])}: charge balance charge_closure = {qc[k]:.3g} exceeds "
                           f"its tolerance {q_tol[k]:.3g} (max of {sim.charge_closure_tol:g} and "
                           f"{charge_floor_e:g} electrons / N_target)")
        else:
            first(np.nan_to_num(qc, nan=0.0) > sim.charge_closure_tol, "charge_closure", sim.charge_closure_tol,
                  "charge balance")
        tr = np.abs(updates["tracking_error"].to_numpy(dtype=float))
        if tracking:
            first(np.nan_to_num(tr, nan=0.0) > sim.tracking_tol, "tracking_error", sim.tracking_tol,
                  "schedule tracking")
        drawn = updates["E_supply_J"].to_numpy(dtype=float)
        net = updates["E_net_J"].to_numpy(dtype=float)
        floor = updates["E_tunnel_J"].to_numpy(dtype=float) + updates["dE_cap_J"].to_numpy(dtype=float)
        slack = sim.energy_closure_tol * (np.abs(updates["E_tunnel_J"]) + updates["E_resistor_J"]
                                          + np.abs(updates["dE_cap_J"].fillna(0.0))).to_numpy(dtype=float)
        floor = np.nan_to_num(floor, nan=0.0) + np.where(np.isnan(floor), updates["E_tunnel_J"].to_numpy(float), 0.0)
        above = net > drawn * (1 + 1e-9) + slack
        if above.any():
            k = int(np.argmax(above))
            out.append(f"update {int(updates['n'].iloc[k])}: net energy {net[k]:.3g} J exceeds the drawn energy "
                       f"{drawn[k]:.3g} J")
        below = net < floor - slack
        bound = updates["E_bound_J"].to_numpy(dtype=float)
        under = drawn < bound
        if under.any():
            k = int(np.argmax(under))
            out.append(f"update {int(updates['n'].iloc[k])}: drawn energy {drawn[k]:.3g} J is below the LIM bound "
                       f"{bound[k]:.3g} J: the bound does not hold for this device")
        if below.any():
            k = int(np.argmax(below))
            out.append(f"update {int(updates['n'].iloc[k])}: net energy {net[k]:.3g} J is below the tunnelling "
                       f"dissipation plus stored-energy change {floor[k]:.3g} J")
    if retention_error is not None and not (retention_error <= sim.retention_tol):
        out.append(f"retention: max |V_ox / closed form - 1| = {retention_error:.3g} exceeds its tolerance "
                   f"{sim.retention_tol:g}")
    return out


def closure_summary(card: Card, updates: pd.DataFrame, refinements: int = 0) -> dict[str, Any]:
    """The closures and tolerances recorded in summary.json (``self_check``)."""
    sim = card.simulation
    out: dict[str, Any] = {
        "tolerances": {"energy_closure": sim.energy_closure_tol, "charge_closure": sim.charge_closure_tol,
                       "tracking_error": sim.tracking_tol, "retention": sim.retention_tol},
        "refinements": int(refinements),
    }
    if updates.empty:
        return out

    def amax(col: str) -> float:
        a = np.abs(updates[col].to_numpy(dtype=float))
        return float(np.nanmax(a)) if a.size and np.isfinite(a).any() else math.nan

    net = float(updates["E_net_J"].sum())
    terms = float((updates["E_tunnel_J"] + updates["E_resistor_J"] + updates["dE_cap_J"]).sum())
    scale = float((updates["E_tunnel_J"].abs() + updates["E_resistor_J"].abs() + updates["dE_cap_J"].abs()).sum())
    out.update({
        "energy_closure_max_abs": amax("energy_closure"),
        "energy_closure_total": (net - terms) / scale if scale > 0 else 0.0,
        "charge_closure_max_abs": amax("charge_closure"),
        "E_resistor_total_J": float(updates["E_resistor_J"].sum()),
        "dE_cap_total_J": float(updates["dE_cap_J"].sum()),
    })
    return out
