"""Energy per weight update from simulated waveforms, beside the LIM bound (theory.md s.8).

For update n the window is ``[t_n, t_n + pulse_width + 2 rise + settle]``
(``settle`` = 20 driver time constants, so the control gate has returned).
Per *programmed cell* (a cell whose half is pulsed in that update):

- ``N_sim``: transitions beyond natural decay, (integral of the sensed FN
  current, exponential between time points) / q minus the closed-form natural-decay charge over the same window
  from the simulated oxide voltage at the window start;
- ``E_supply_J``: energy drawn from every source (integral of the positive part
  of delivered power: no recovery), divided by the number of programmed cells;
- ``E_net_J``: net delivered energy (perfect recovery by ideal sources);
- ``E_recovered_J = E_supply - E_net``: what the sources took back on falling
  edges (recoverable only with adiabatic/resonant drive); ``eta_recovery`` its share;
- ``E_tunnel_J``: integral of I_FN * V_ox over the window (dissipated by
  tunnelling electrons; the floor no driver can recover);
- ``E_bound_J = N_target (E0 + |dE|)`` (Performance Walls Sec. III, per
  transition, theory.md s.8) and ``E_landauer_J = precision_bits kT ln 2``;
- ratios of supply, net and tunnelling energy to the bound;
- discrete electrons (docs/device.md s.10): ``N_window`` (electrons through the
  junction in the window), the shot-noise and kT/C spreads of the step and the
  precision ``precision_bits = log2(step / sqrt(sigma_shot^2 + kT/C_T))``
  (:mod:`lim_hw.device.precision`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..constants import kT_J, q_C
from ..device.barrier import effective_barrier_J
from ..device.card import Card
from ..device.precision import PRECISION_COLUMNS, precision_columns, precision_summary
from ..netlist.spec import Testbench, TunnelProbe
from ..netlist.synthesis import FGModel, pulse_window_s
from .edges import drive_corners_s, drive_voltage_V, loglin_resample, rc_line_current_A, supply_integrals, supply_model
from .integrate import windowed_integrals

UPDATE_COLUMNS = ("n", "t_s", "eps", "R_target_per_s", "E0_J", "E_eff_J", "N_target", "N_sim",
                  "tracking_error", "V_p_V", "E_supply_J", "E_net_J", "E_recovered_J", "eta_recovery",
                  "E_tunnel_J", "E_bound_J", "E_landauer_J", "ratio_supply_to_bound",
                  "ratio_net_to_bound", "ratio_tunnel_to_bound", "n_cells_programmed", *PRECISION_COLUMNS)

#: Columns of the self-checks (docs/flow.md, "Self-checks"): per programmed cell, the resistive
#: dissipation and the change of stored capacitor energy in the window, and the two closures:
#: ``energy_closure = (E_net - E_tunnel - E_resistor - dE_cap) / (|E_tunnel| + E_resistor + |dE_cap|)`` and
#: ``charge_closure = (integral of I_FN - change of floating-gate charge) / (N_target q)``.
CLOSURE_COLUMNS = ("E_resistor_J", "dE_cap_J", "energy_closure", "charge_closure")
#: Columns of updates.csv: the per-update results and the self-check columns.
ACCOUNT_COLUMNS = UPDATE_COLUMNS + CLOSURE_COLUMNS


@dataclass(frozen=True)
class Waveforms:
    """Time and named vectors, as returned by :func:`lim_hw.sim.simulate` (or loaded from CSV)."""

    time_s: np.ndarray
    vectors: dict[str, np.ndarray]

    def __getitem__(self, name: str) -> np.ndarray:
        return self.vectors[name]

    def at(self, name: str, t_s: float) -> float:
        return float(np.interp(t_s, self.time_s, self.vectors[name]))

    def v_ox(self, probe: TunnelProbe) -> np.ndarray:
        return self.vectors[probe.tun] - self.vectors[probe.fg]


def settle_s(card: Card) -> float:
    """Time after the falling edge for the driver RC to settle: 20 R_drv C_c (s)."""
    return 20.0 * card.programming.R_drv_ohm * card.device.C_c_F


def update_windows(card: Card, table: pd.DataFrame) -> list[tuple[float, float]]:
    """``(t_a, t_b)`` of every update window (s)."""
    length = pulse_window_s(card) + settle_s(card)
    return [(float(t), float(t) + length) for t in table["t_s"]]


def edge_times(card: Card, table: pd.DataFrame) -> np.ndarray:
    """Start times (s) of every programming edge: each pulse's falling and rising edge."""
    prog = card.programming
    t = table["t_s"].to_numpy(dtype=float)[table["V_p_V"].to_numpy(dtype=float) > 0]
    return np.sort(np.concatenate([t, t + prog.rise_s + prog.pulse_width_s]))


def missed_edges(card: Card, table: pd.DataFrame, time_s: np.ndarray) -> np.ndarray:
    """Edge start times at which the simulator placed no time point (within rise_s / 100).

    ngspice normally lands exactly on every source breakpoint; when it steps over
    an edge instead, the drive and its energy are not resolved and the window's
    numbers would be wrong, so the flow checks this before accounting.
    """
    edges = edge_times(card, table)
    if edges.size == 0:
        return edges
    idx = np.clip(np.searchsorted(time_s, edges), 1, time_s.size - 1)
    nearest = np.minimum(np.abs(time_s[idx] - edges), np.abs(time_s[idx - 1] - edges))
    return edges[nearest > card.programming.rise_s / 100.0]


def account_updates(card: Card, table: pd.DataFrame, tb: Testbench, wf: Waveforms,
                    windows: np.ndarray | None = None, t_mid: np.ndarray | None = None) -> pd.DataFrame:
    """Per-update energy table (columns :data:`ACCOUNT_COLUMNS`: results and self-check columns).

    Every integral over all windows is taken at once with
    :func:`~lim_hw.energy.integrate.windowed_integrals` (O(samples + windows) per
    signal), so arrays with thousands of cells stay cheap to account. ``windows``
    (``(t_a, t_b)`` per update) and ``t_mid`` (where the effective barrier is read)
    default to :func:`update_windows` and the middle of the flat top; a technology
    whose pulses differ per update (sky130: pulse width) passes its own.
    """
    dev, prog = card.device, card.programming
    model = FGModel.from_card(card)
    kT = kT_J(dev.T_K)
    if windows is None:
        windows = np.array(update_windows(card, table), dtype=float).reshape(-1, 2)
    windows = np.asarray(windows, dtype=float).reshape(-1, 2)
    t_a, t_b = windows[:, 0], windows[:, 1]
    if t_mid is None:
        t_mid = t_a + prog.rise_s + prog.pulse_width_s / 2
    halves = table["half"].to_numpy()
    n_upd = len(table)
    # per-cell quantities for every window, averaged over the cells programmed in that update
    sums = {k: np.zeros(n_upd) for k in ("N_sim", "E_tunnel", "E_eff", "N_window")}
    counts = np.zeros(n_upd)
    counts_eff = np.zeros(n_upd)
    if n_upd:
        for probe in tb.probes:
            sel = halves == probe.half
            if not sel.any():
                continue
            Q = windowed_integrals(wf.time_s, wf[probe.current], t_a[sel], t_b[sel], log_mean=True)
            if probe.kind == "injection":   # injected electrons (docs/device.md s.11): no natural background;
                # E_tunnel is the injector's dissipation: its channel (int V_ds I_ch) and the injected current
                sums["N_sim"][sel] += Q / q_C
                sums["N_window"][sel] += Q / q_C
                sums["E_tunnel"][sel] += _injector_dissipation_J(tb, probe, wf, t_a[sel], t_b[sel])
                counts[sel] += 1
                continue
            v_ox = wf.v_ox(probe)
            V_a = np.interp(t_a[sel], wf.time_s, v_ox)
            N_nat = probe.C_T_F * model.drop_V(V_a, t_b[sel] - t_a[sel]) / q_C
            sums["N_sim"][sel] += Q / q_C - N_nat
            sums["N_window"][sel] += Q / q_C
            sums["E_tunnel"][sel] += windowed_integrals(wf.time_s, wf[probe.current] * v_ox, t_a[sel], t_b[sel],
                                                        log_mean=True)
            V_mid = np.interp(t_mid[sel], wf.time_s, v_ox)
            sums["E_eff"][sel] += effective_barrier_J(V_mid, dev.R_max_per_s, dev.tox_m, dev.area_m2,
                                                      dev.phi_B_eV, dev.m_eff, dev.T_K, thermal=dev.law.thermal,
                                                      image_force=dev.image_force)
            counts[sel] += 1
            counts_eff[sel] += 1
    drawn = np.zeros(n_upd)
    net = np.zeros(n_upd)
    E_R = np.zeros(n_upd)
    dE_cap = np.zeros(n_upd)
    dQ_fg = np.zeros(n_upd)
    Q_fn = np.zeros(n_upd)
    if n_upd:
        grid, rc = _drive_grid(tb, wf, windows)
        for s in tb.supplies:
            v = drive_voltage_V(s.drive, grid) if s.drive else np.interp(grid, wf.time_s, wf[s.v])
            r = sum((k * rc[name] for name, k in s.rc_terms), np.zeros_like(grid))
            fns = [(loglin_resample(wf.time_s, wf[c], grid), k) for c, k in s.fn_terms]
            model = supply_model(grid, v, r, fns, s.tau_s)
            d_s, n_s, r_s = supply_integrals(model, t_a, t_b, s.R_ohm, s.lines)
            drawn += d_s
            net += n_s
            E_R += r_s
        injected = {p.fg: p for p in tb.probes if p.kind == "injection"}   # gate -> its injector
        for probe in tb.probes:  # stored energy and charge of every cell (all cells, pulsed or not)
            if probe.kind != "fn":
                continue
            e_a, q_a = _cell_state(probe, wf, dev, t_a)
            e_b, q_b = _cell_state(probe, wf, dev, t_b)
            dE_cap += e_b - e_a
            sel = halves == probe.half
            if probe.fg in injected:       # an injection update changes this gate: tunnelling out, injection in
                sel = sel | (halves == "i")
            dQ_fg[sel] += (q_b - q_a)[sel]
            Q_fn[sel] += windowed_integrals(wf.time_s, wf[probe.current], t_a[sel], t_b[sel], log_mean=True)
        # the tunnelling energy of every cell enters the balance, pulsed or not; an injector dissipates its
        # channel energy (int V_ds I_ch, the injector supply's load) and the injected current (int V_fg I_inj)
        E_tun_all = np.zeros(n_upd)
        for probe in tb.probes:
            if probe.kind == "fn":
                E_tun_all += windowed_integrals(wf.time_s, wf[probe.current] * wf.v_ox(probe), t_a, t_b, log_mean=True)
                continue
            sel = halves == "i"
            Q_fn[sel] -= windowed_integrals(wf.time_s, wf[probe.current], t_a[sel], t_b[sel], log_mean=True)
            E_tun_all += _injector_dissipation_J(tb, probe, wf, t_a, t_b)
    else:
        E_tun_all = np.zeros(0)
    cells = np.maximum(counts, 1)
    N_sim = sums["N_sim"] / cells
    E_tun = sums["E_tunnel"] / cells
    E_eff = np.where(counts_eff > 0, sums["E_eff"] / np.maximum(counts_eff, 1), math.nan)
    E_supply, E_net = drawn / cells, net / cells
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.abs(E_tun_all) + np.abs(E_R) + np.abs(dE_cap)
        energy_closure = np.where(scale > 0, (net - E_tun_all - E_R - dE_cap) / np.where(scale > 0, scale, 1.0), 0.0)
        q_scale = np.maximum(table["N_target"].to_numpy(dtype=float) * q_C * np.maximum(counts, 1), q_C)
        charge_closure = (Q_fn - dQ_fg) / q_scale
    N_target = table["N_target"].to_numpy(dtype=float)
    E_bound = N_target * (table["E0_J"].to_numpy(dtype=float) + np.abs(table["dE_J"].to_numpy(dtype=float)))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = pd.DataFrame({
            "n": table["n"].to_numpy(dtype=int), "t_s": t_a, "eps": table["eps"].to_numpy(dtype=float),
            "R_target_per_s": table["R_target_per_s"].to_numpy(dtype=float),
            "E0_J": table["E0_J"].to_numpy(dtype=float), "E_eff_J": E_eff, "N_target": N_target,
            "N_sim": N_sim, "tracking_error": np.where(N_target > 0, N_sim / N_target - 1.0, math.nan),
            "V_p_V": table["V_p_V"].to_numpy(dtype=float), "E_supply_J": E_supply, "E_net_J": E_net,
            "E_recovered_J": E_supply - E_net,
            "eta_recovery": np.where(E_supply > 0, (E_supply - E_net) / E_supply, math.nan),
            "E_tunnel_J": E_tun, "E_bound_J": E_bound,
            "E_landauer_J": np.full(n_upd, prog.precision_bits * kT * math.log(2.0)),
            "ratio_supply_to_bound": np.where(E_bound > 0, E_supply / E_bound, math.nan),
            "ratio_net_to_bound": np.where(E_bound > 0, E_net / E_bound, math.nan),
            "ratio_tunnel_to_bound": np.where(E_bound > 0, E_tun / E_bound, math.nan),
            "n_cells_programmed": counts.astype(int),
            "E_resistor_J": E_R / cells, "dE_cap_J": dE_cap / cells,
            "energy_closure": energy_closure, "charge_closure": charge_closure,
            **precision_columns(N_target, sums["N_window"] / cells, dev.C_T_F, dev.T_K),
        }, columns=list(ACCOUNT_COLUMNS))
    return out


def _drive_grid(tb: Testbench, wf: Waveforms, windows: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The accounting grid (ngspice's time points, every edge corner, the window ends) and the exact RC
    current of every driver on it (:func:`lim_hw.energy.edges.rc_line_current_A`)."""
    corners = [drive_corners_s(s.drive) for s in tb.supplies if s.drive]
    grid = np.unique(np.concatenate([wf.time_s, windows.ravel(), *corners]))
    grid = grid[(grid >= wf.time_s[0]) & (grid <= wf.time_s[-1])]
    rc = {s.name: rc_line_current_A(s.drive, s.tau_s, s.C_line_F * s.lines, grid) for s in tb.supplies if s.drive}
    return grid, rc


def _injector_dissipation_J(tb: Testbench, probe: TunnelProbe, wf: Waveforms, t_a: np.ndarray,
                            t_b: np.ndarray) -> np.ndarray:
    """Energy an injector dissipates per window (J): its channel, ``int V_ds I_ch dt`` (the load of its
    supply, ``fn_terms``), and the injected current at the gate, ``int V_fg I_inj dt`` (docs/device.md s.11)."""
    out = windowed_integrals(wf.time_s, wf[probe.current] * wf[probe.fg], t_a, t_b)
    for s in tb.supplies:
        for vec, k in s.fn_terms:
            if vec.startswith(f"i(v.{probe.cell}."):
                out = out + k * windowed_integrals(wf.time_s, wf[vec] * wf[s.v], t_a, t_b)
    return out


def _cell_state(probe: TunnelProbe, wf: Waveforms, dev, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stored energy of a cell's three capacitors (J) and the floating-gate charge (C) at times ``t``.

    ``E = C_c (V_cg - V_fg)^2/2 + C_j (V_tun - V_fg)^2/2 + C_fg V_fg^2/2``;
    ``Q_fg = C_c (V_fg - V_cg) + C_j (V_fg - V_tun) + C_fg V_fg`` (KCL: only the FN current changes it).
    """
    fg = np.interp(t, wf.time_s, wf[probe.fg])
    tun = np.interp(t, wf.time_s, wf[probe.tun])
    cg = np.interp(t, wf.time_s, wf[probe.cg]) if probe.cg else np.zeros_like(fg)
    C_c = probe.C_c_F
    C_j = probe.C_j_F
    C_fg = probe.C_T_F - C_c - C_j
    energy = 0.5 * (C_c * (cg - fg) ** 2 + C_j * (tun - fg) ** 2 + C_fg * fg ** 2)
    charge = C_c * (fg - cg) + C_j * (fg - tun) + C_fg * fg
    return energy, charge


def summarize_updates(updates: pd.DataFrame) -> dict[str, float | int]:
    """Totals, medians and the schedule tracking error of a per-update table."""
    if updates.empty:
        return {"n_updates": 0}
    err = updates["tracking_error"].abs()
    return {
        "n_updates": int(len(updates)),
        "E_supply_total_J": float(updates["E_supply_J"].sum()),
        "E_net_total_J": float(updates["E_net_J"].sum()),
        "E_tunnel_total_J": float(updates["E_tunnel_J"].sum()),
        "E_bound_total_J": float(updates["E_bound_J"].sum()),
        "E_supply_median_J": float(updates["E_supply_J"].median()),
        "E_net_median_J": float(updates["E_net_J"].median()),
        "E_tunnel_median_J": float(updates["E_tunnel_J"].median()),
        "E_bound_median_J": float(updates["E_bound_J"].median()),
        "ratio_supply_to_bound_median": float(updates["ratio_supply_to_bound"].median()),
        "ratio_net_to_bound_median": float(updates["ratio_net_to_bound"].median()),
        "ratio_tunnel_to_bound_median": float(updates["ratio_tunnel_to_bound"].median()),
        "eta_recovery_median": float(updates["eta_recovery"].median()),
        "tracking_error_max_abs": float(err.max()),
        "tracking_error_rms": float(np.sqrt(np.mean(updates["tracking_error"] ** 2))),
        **(precision_summary(updates) if "precision_bits" in updates else {}),
    }
