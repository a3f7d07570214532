"""``--engine fast`` for a sky130 card: the synthesis model per cell, energies per pulse from ngspice.

What it computes (per update, per cell, vectorised over the cells): the oxide voltage
through every window and rest with the closed form of the extracted cell
(:class:`lim_hw.tech.sky130.synthesis.PulseModel`: rest C_T, programming C_T, measured
step kappa_ls and width offset), so the transitions, the tunnelling dissipation and the
final voltages follow the device and lim-hw's per-cell oxide/area mismatch.

What it cannot model, and takes from ngspice instead: the driver, level-shifter, logic,
tunnelling-supply and read energies are the per-pulse figures that the calibration
window measured in ngspice at the card's corner (the same for every update: the
leakage over a window of another width is not rescaled, ~1e-3 of the driver energy here);
no waveforms, no PDK mismatch (the ``_mm`` corners need ngspice), no energy or charge balance
(their columns are NaN: the transitions and the floating-gate steps are one quantity here).
"""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np
import pandas as pd

from ...constants import kT_J
from ...device.barrier import effective_barrier_J
from ...device.card import Card
from ...device.precision import precision_columns
from ...fast.model import FastResult
from .energy import BREAKDOWN, SKY130_UPDATE_COLUMNS
from .synthesis import PulseModel, fg_model


def _cell_models(card: Card, model: PulseModel, C_T_pulse_F: float, tox: np.ndarray, area: np.ndarray
                 ) -> list[PulseModel]:
    out = []
    for t, a in zip(tox, area):
        c = dataclasses.replace(card, device=dataclasses.replace(card.device, tox_m=float(t), area_m2=float(a)))
        init = fg_model(c, model.initial.C_T_F) if model.initial is not None else None
        out.append(dataclasses.replace(model, rest=fg_model(c, model.rest.C_T_F), pulse=fg_model(c, C_T_pulse_F),
                                       initial=init))
    return out


def simulate_fast_sky130(card: Card, table: pd.DataFrame, model: PulseModel, design, n_cells: int,
                         mismatch: dict[str, np.ndarray] | None = None) -> FastResult:
    """Per-update table (:data:`SKY130_UPDATE_COLUMNS`) of ``n_cells`` sky130 half-cells.

    Cell ``2s`` is the + half of synapse ``s`` (a lone cell: one + half). ``card`` is
    the effective card (extracted device values).
    """
    start = time.perf_counter()
    dev, prog = card.device, card.programming
    tox = np.full(n_cells, dev.tox_m) if not mismatch or "tox_m" not in mismatch else np.asarray(mismatch["tox_m"])
    area = np.full(n_cells, dev.area_m2) if not mismatch or "area_m2" not in mismatch else np.asarray(mismatch["area_m2"])
    # Cells with the same half, oxide and area follow the same trajectory: integrate each distinct
    # one once and weight it by how many cells share it (a nominal array of any size: two cells).
    half_m = np.arange(n_cells) % 2            # 0: the + half (cell 2s), 1: the - half
    keys, inverse, weight = np.unique(np.column_stack([half_m, tox, area]), axis=0, return_inverse=True,
                                      return_counts=True)
    inverse = inverse.ravel()
    u_tox, u_area = keys[:, 1], keys[:, 2]
    halves = np.where(keys[:, 0] == 0, "p", "m")
    models = _cell_models(card, model, design.pulse.C_T_F, u_tox, u_area)
    V = np.full(len(keys), dev.V0_V)
    t_prev = np.zeros(len(keys))
    cal = design.calibration.energy_J if design.calibration else {}
    n = len(table)
    N_sim, N_window, E_tun, E_eff, counts = (np.zeros(n) for _ in range(5))
    for k, rec in enumerate(table.itertuples(index=False)):
        t_n, w = float(rec.t_s), float(rec.w_s)
        for c, m in enumerate(models):
            decay = m.initial if (k == 0 and m.initial is not None) else m.rest  # as the synthesis
            V[c] -= float(decay.drop_V(V[c], t_n - t_prev[c]))
            pulsed = halves[c] == rec.half and w > 0
            N_win, N_nat, V_end, V_hi = m.window(V[c], w if pulsed else 0.0)
            if pulsed:
                N_sim[k] += weight[c] * (N_win - N_nat)
                N_window[k] += weight[c] * N_win
                E_tun[k] += weight[c] * _tunnel_energy(m, V[c], w)
                E_eff[k] += weight[c] * float(effective_barrier_J(V_hi, dev.R_max_per_s, u_tox[c], u_area[c],
                                                                  dev.phi_B_eV, dev.m_eff, dev.T_K))
                counts[k] += weight[c]
            V[c], t_prev[c] = V_end, t_n + w + m.window_s
    cells = np.maximum(counts, 1)
    N_target = table["N_target"].to_numpy(dtype=float)
    E_bound = N_target * (table["E0_J"].to_numpy(dtype=float) + np.abs(table["dE_J"].to_numpy(dtype=float)))
    per = {"E_drv_J": cal.get("drv", math.nan), "E_drv_sc_J": cal.get("drv_sc", math.nan),
           "E_ls_J": cal.get("ls", math.nan), "E_logic_J": cal.get("logic", math.nan),
           "E_tun_supply_J": cal.get("tun", math.nan), "E_read_J": cal.get("read", math.nan)}
    pulsed_any = counts > 0
    u = pd.DataFrame({"n": table["n"].to_numpy(dtype=int), "t_s": table["t_s"].to_numpy(dtype=float),
                      "eps": table["eps"].to_numpy(dtype=float),
                      "R_target_per_s": table["R_target_per_s"].to_numpy(dtype=float),
                      "E0_J": table["E0_J"].to_numpy(dtype=float),
                      "E_eff_J": np.where(pulsed_any, E_eff / cells, math.nan), "N_target": N_target,
                      "N_sim": N_sim / cells, "V_p_V": table["V_p_V"].to_numpy(dtype=float),
                      "E_tunnel_J": E_tun / cells, "E_bound_J": E_bound,
                      "E_landauer_J": np.full(n, prog.precision_bits * kT_J(dev.T_K) * math.log(2.0)),
                      "n_cells_programmed": counts.astype(int), "w_s": table["w_s"].to_numpy(dtype=float)})
    for col, val in per.items():
        u[col] = np.where(pulsed_any, val, 0.0)
    u["E_drv_dyn_J"] = u["E_drv_J"] - u["E_drv_sc_J"]
    u["E_diss_drv_J"] = math.nan
    u["E_diss_ls_J"] = math.nan
    u["E_supply_J"] = u["E_drv_J"] + u["E_ls_J"] + u["E_logic_J"] + u["E_tun_supply_J"]
    u["E_net_J"] = np.where(pulsed_any, cal.get("net", math.nan), 0.0)
    u["E_recovered_J"] = u["E_supply_J"] - u["E_net_J"]
    with np.errstate(divide="ignore", invalid="ignore"):
        u["eta_recovery"] = np.where(u["E_supply_J"] > 0, u["E_recovered_J"] / u["E_supply_J"], math.nan)
        u["tracking_error"] = np.where(N_target > 0, u["N_sim"] / N_target - 1.0, math.nan)
        for name, col in (("ratio_supply_to_bound", "E_supply_J"), ("ratio_net_to_bound", "E_net_J"),
                          ("ratio_tunnel_to_bound", "E_tunnel_J")):
            u[name] = np.where(E_bound > 0, u[col] / E_bound, math.nan)
        for c in BREAKDOWN:
            u[f"ratio_{c[2:-2]}_to_bound"] = np.where(E_bound > 0, u[c] / E_bound, math.nan)
    # precision of each update (docs/device.md s.10) from the window count, the rest C_T and T
    for col, val in precision_columns(N_target, N_window / cells, model.rest.C_T_F, dev.T_K).items():
        u[col] = val
    u["I_read_A"] = math.nan
    for col in ("E_resistor_J", "dE_cap_J", "energy_closure", "charge_closure"):  # no balance in the model
        u[col] = math.nan
    t_end = card.stop_time_s
    for c, m in enumerate(models):
        V[c] -= float(m.rest.drop_V(V[c], max(t_end - t_prev[c], 0.0)))
    info = {"wall_s": time.perf_counter() - start, "model": "sky130 closed form per distinct cell (numpy/Python; "
            "not the fused numba kernels)", "distinct_cells": int(len(keys)),
            "energies": "per pulse from the ngspice calibration window"}
    return FastResult(updates=u[list(SKY130_UPDATE_COLUMNS)], V_ox_final_V=V[inverse], shape=(n_cells,),
                      t_end_s=t_end, info=info)


def _tunnel_energy(m: PulseModel, V_before: float, w: float) -> float:
    """int I_FN V_ox dt over a window: C (V_start^2 - V_end^2) / 2 in each stretch of constant C."""
    L = w + m.window_s
    w_eff = min(max(w + m.dw_s, 0.0), L)
    V_hi = V_before + m.kappa_ls * m.V_drv_V
    d_p = float(m.pulse.drop_V(V_hi, w_eff))
    E = 0.5 * m.pulse.C_T_F * (V_hi ** 2 - (V_hi - d_p) ** 2)
    V_after = V_before - m.pulse.C_T_F * d_p / m.rest.C_T_F
    d_r = float(m.rest.drop_V(V_after, L - w_eff))
    return E + 0.5 * m.rest.C_T_F * (V_after ** 2 - (V_after - d_r) ** 2)


