"""Energy per update of a sky130 run, broken down by supply, with its conservation check.

On top of the ideal flow's columns (:data:`lim_hw.energy.updates.UPDATE_COLUMNS`, with
``E_supply_J`` = drawn from every update supply: tunnelling, driver, level shifter, logic
inputs), per programmed cell and update window:

- ``E_drv_J`` drawn from the driver rails, split into ``E_drv_sc_J`` (short-circuit: the
  rail current that flows straight through the pull-down, ``V int min(i_p, i_n) dt``,
  including the off-device leakage) and ``E_drv_dyn_J`` (the rest: charging the control gate);
- ``E_ls_J`` level-shifter rails, ``E_logic_J`` the 1.8 V logic inputs,
  ``E_tun_supply_J`` the tunnelling supply (drawn), ``E_tunnel_J`` the tunnelling dissipation;
- ``E_diss_drv_J``, ``E_diss_ls_J``: what the driver and level shifter absorb (their rails and
  input ports minus their output port, from 0 V sense sources);
- ``E_read_J`` drawn from the read rails per read (its own window after the update),
  ``I_read_A`` the readout drain current in the middle of the read (the weight);
- the ideal flow's self-check columns (lim_hw.energy.checks), with the sky130 terms:
  ``E_resistor_J`` = what the driver and level shifter absorb (the drive chain's dissipation),
  ``dE_cap_J`` = the change of the energy stored in the cells' capacitances (node voltages and
  the extracted C_k), ``energy_closure`` = (net energy of all sources - tunnelling dissipation
  of every cell - E_resistor - dE_cap) / (|E_tunnel| + E_resistor + |dE_cap|): it checks what
  the sense points cannot, that the energy entering the cells through their ports is their
  tunnelling dissipation plus their stored change; ``charge_closure`` (sensed FN charge against
  C_k x the node-voltage changes) comes from :func:`lim_hw.energy.updates.account_updates`; on
  the ``_mm`` corners it is NaN (not checked): ngspice draws every cell's capacitances there.

Every energy term has a ``ratio_<term>_to_bound`` column (the LIM bound of the update).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...device.card import Card
from ...energy.integrate import delivered_power_W, windowed_integrals
from ...energy.updates import ACCOUNT_COLUMNS, Waveforms, account_updates
from .cell import Sky130Testbench
from .extract import Sky130Design

BREAKDOWN = ("E_drv_J", "E_drv_dyn_J", "E_drv_sc_J", "E_ls_J", "E_logic_J", "E_tun_supply_J", "E_diss_drv_J",
             "E_diss_ls_J", "E_read_J")
SKY130_UPDATE_COLUMNS = (ACCOUNT_COLUMNS + ("w_s",) + BREAKDOWN + ("I_read_A",)
                         + tuple(f"ratio_{c[2:-2]}_to_bound" for c in BREAKDOWN))


def _win(t, y, a, b, positive=False) -> np.ndarray:
    if len(a) == 0:
        return np.zeros(0)
    return windowed_integrals(t, y, a, b, positive=positive)


def account(card: Card, table: pd.DataFrame, tb: Sky130Testbench, wf: Waveforms, design: Sky130Design
            ) -> pd.DataFrame:
    """Per-update table (:data:`SKY130_UPDATE_COLUMNS`) of a sky130 run."""
    windows = np.array(tb.windows, dtype=float).reshape(-1, 2)
    w = np.asarray(tb.widths_s, dtype=float)
    base = account_updates(card, table, tb, wf, windows=windows, t_mid=windows[:, 0] + 0.5 * w)
    t = wf.time_s
    a, b = windows[:, 0], windows[:, 1]
    n = len(table)
    cells = np.maximum(base["n_cells_programmed"].to_numpy(dtype=float), 1.0)
    sums = {k: np.zeros(n) for k in ("drv", "drv_sc", "ls", "logic", "tun", "diss_drv", "diss_ls", "net", "cg_port")}
    for _, d in tb.drivers:
        p_drv = delivered_power_W(wf[d["v"]], wf[d["i"]])
        sums["drv"] += _win(t, p_drv, a, b, positive=True)
        i_p = np.maximum(-wf[d["i"]], 0.0)
        i_n = np.maximum(wf[d["i_n"]], 0.0)
        sums["drv_sc"] += _win(t, wf[d["v"]] * np.minimum(i_p, i_n), a, b)
        p_ls = delivered_power_W(wf[d["ls_v"]], wf[d["ls_i"]])
        sums["ls"] += _win(t, p_ls, a, b, positive=True)
        p_in = delivered_power_W(wf[d["in"][0]], wf[d["in"][1]]) + delivered_power_W(wf[d["inb"][0]], wf[d["inb"][1]])
        for v, i in (d["in"], d["inb"]):
            sums["logic"] += _win(t, delivered_power_W(wf[v], wf[i]), a, b, positive=True)
        p_x = wf[d["x_v"]] * wf[d["x_i"]]        # into the driver input (from the level shifter)
        p_cg = wf[d["cg_v"]] * wf[d["cg_i"]]     # out of the driver into the control gate
        sums["diss_drv"] += _win(t, p_drv + p_x - p_cg, a, b)
        sums["diss_ls"] += _win(t, p_ls + p_in - p_x, a, b)
        sums["cg_port"] += _win(t, p_cg, a, b)
    rows = sorted({s.name for s in tb.supplies if s.name.startswith("vtun")})
    drawn = np.zeros(n)
    net_upd = np.zeros(n)
    for s in tb.supplies + tb.read_supplies:
        p = delivered_power_W(wf[s.v], wf[s.i])
        sums["net"] += _win(t, p, a, b)
        if s in tb.supplies:
            drawn += _win(t, p, a, b, positive=True)
            net_upd += _win(t, p, a, b)
        if s.name in rows:
            sums["tun"] += _win(t, p, a, b, positive=True)
    E_tun_all = np.zeros(n)
    for probe in tb.probes:  # every cell's tunnelling dissipation enters the balance, pulsed or not
        E_tun_all += _win(t, wf[probe.current] * wf.v_ox(probe), a, b)
    stored = _stored_energy(tb, wf, design, b) - _stored_energy(tb, wf, design, a)
    E_R = sums["diss_drv"] + sums["diss_ls"]
    out = base.copy()
    out["w_s"] = w
    out["E_supply_J"] = drawn / cells
    out["E_net_J"] = net_upd / cells
    out["E_recovered_J"] = out["E_supply_J"] - out["E_net_J"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["eta_recovery"] = np.where(out["E_supply_J"] > 0, out["E_recovered_J"] / out["E_supply_J"], np.nan)
        bound = out["E_bound_J"].to_numpy()
        for name, col in (("ratio_supply_to_bound", "E_supply_J"), ("ratio_net_to_bound", "E_net_J")):
            out[name] = np.where(bound > 0, out[col] / bound, np.nan)
        scale = np.abs(E_tun_all) + np.abs(E_R) + np.abs(stored)
        out["energy_closure"] = np.where(scale > 0, (sums["net"] - E_tun_all - E_R - stored)
                                         / np.where(scale > 0, scale, 1.0), 0.0)
    if card.technology.mismatch:  # ngspice drew every cell's capacitances: the nominal C_k do not balance them
        out["charge_closure"] = np.nan
    out["E_resistor_J"] = E_R / cells
    out["dE_cap_J"] = stored / cells
    out["E_drv_J"] = sums["drv"] / cells
    out["E_drv_sc_J"] = sums["drv_sc"] / cells
    out["E_drv_dyn_J"] = out["E_drv_J"] - out["E_drv_sc_J"]
    out["E_ls_J"] = sums["ls"] / cells
    out["E_logic_J"] = sums["logic"] / cells
    out["E_tun_supply_J"] = sums["tun"] / cells
    out["E_diss_drv_J"] = sums["diss_drv"] / cells
    out["E_diss_ls_J"] = sums["diss_ls"] / cells
    out["E_read_J"], out["I_read_A"] = _reads(tb, wf, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        for c in BREAKDOWN:
            out[f"ratio_{c[2:-2]}_to_bound"] = np.where(bound > 0, out[c] / bound, np.nan)
    return out[list(SKY130_UPDATE_COLUMNS)]


def _stored_energy(tb: Sky130Testbench, wf: Waveforms, design: Sky130Design, t: np.ndarray) -> np.ndarray:
    """Energy (J) in the cells' capacitances at times ``t``: sum 1/2 C_k (v_fg - v_k)^2 over terminals.

    Uses the incremental capacitances extracted at rest (exact to first order in the
    small change of the floating-gate voltage over a window, which starts and ends at rest).
    """
    rest = design.rest
    total = np.zeros(len(t))
    if len(t) == 0:
        return total
    for r, c, h, _inst, fg, cg, tun in tb.cells:
        vfg = np.interp(t, wf.time_s, wf[f"v({fg})"])
        terms = {"cg": f"v({cg})", "tun": f"v({tun})", "rs": "v(rs)", "rd": "v(rd)"}
        for key, vec in terms.items():
            vk = np.interp(t, wf.time_s, wf[vec])
            total += 0.5 * rest.C_k_F[key] * (vfg - vk) ** 2
        total += 0.5 * rest.C_gnd_F * vfg ** 2
    return total


def _reads(tb: Sky130Testbench, wf: Waveforms, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Energy drawn from the read rails per read and per cell, and the mean drain current mid-read."""
    if not tb.read_windows:
        return np.full(n, np.nan), np.full(n, np.nan)
    rw = np.array(tb.read_windows, dtype=float).reshape(-1, 2)
    a, b = rw[:, 0], rw[:, 1]
    E = np.zeros(len(rw))
    for s in tb.read_supplies:
        E += windowed_integrals(wf.time_s, delivered_power_W(wf[s.v], wf[s.i]), a, b, positive=True)
    mid = a + tb.rise_s + 0.5 * tb.read_width_s
    I = np.interp(mid, wf.time_s, wf["i(vrd)"])  # drain current flows into the read-drain source
    cells = max(len(tb.cells), 1)
    return E / cells, I / cells
