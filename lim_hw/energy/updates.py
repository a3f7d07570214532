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
from .integrate import delivered_power_W, windowed_integrals

UPDATE_COLUMNS = ("n", "t_s", "eps", "R_target_per_s", "E0_J", "E_eff_J", "N_target", "N_sim",
                  "tracking_error", "V_p_V", "E_supply_J", "E_net_J", "E_recovered_J", "eta_recovery",
                  "E_tunnel_J", "E_bound_J", "E_landauer_J", "ratio_supply_to_bound",
                  "ratio_net_to_bound", "ratio_tunnel_to_bound", "n_cells_programmed", *PRECISION_COLUMNS)


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
        """Oxide voltage of a junction probe; the drive voltage of an injector probe (its ``fg`` is empty)."""
        if not probe.fg:
            return self.vectors[probe.tun]
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


def account_updates(card: Card, table: pd.DataFrame, tb: Testbench, wf: Waveforms) -> pd.DataFrame:
    """Per-update energy table (columns :data:`UPDATE_COLUMNS`).

    Every integral over all windows is taken at once with
    :func:`~lim_hw.energy.integrate.windowed_integrals` (O(samples + windows) per
    signal), so arrays with thousands of cells stay cheap to account.
    """
    dev, prog = card.device, card.programming
    model = FGModel.from_card(card)
    kT = kT_J(dev.T_K)
    windows = np.array(update_windows(card, table), dtype=float).reshape(-1, 2)
    t_a, t_b = windows[:, 0], windows[:, 1]
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
            v_ox = wf.v_ox(probe)
            V_a = np.interp(t_a[sel], wf.time_s, v_ox)
            Q = windowed_integrals(wf.time_s, wf[probe.current], t_a[sel], t_b[sel], log_mean=True)
            if probe.kind == "injection":   # injected electrons (docs/device.md s.11): no natural background;
                # E_tunnel is the energy they carried, int I_inj V_ds dt
                sums["N_sim"][sel] += Q / q_C
                sums["N_window"][sel] += Q / q_C
                sums["E_tunnel"][sel] += windowed_integrals(wf.time_s, wf[probe.current] * v_ox, t_a[sel],
                                                            t_b[sel], log_mean=True)
                counts[sel] += 1
                continue
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
    if n_upd:
        for s in tb.supplies:
            p = delivered_power_W(wf[s.v], wf[s.i])
            drawn += windowed_integrals(wf.time_s, p, t_a, t_b, positive=True)
            net += windowed_integrals(wf.time_s, p, t_a, t_b)
    cells = np.maximum(counts, 1)
    N_sim = sums["N_sim"] / cells
    E_tun = sums["E_tunnel"] / cells
    E_eff = np.where(counts_eff > 0, sums["E_eff"] / np.maximum(counts_eff, 1), math.nan)
    E_supply, E_net = drawn / cells, net / cells
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
            **precision_columns(N_target, sums["N_window"] / cells, dev.C_T_F, dev.T_K),
        }, columns=list(UPDATE_COLUMNS))
    return out


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
