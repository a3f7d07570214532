"""Energy per weight update from simulated waveforms, beside the LIM bound (theory.md s.8).

For update n the window is ``[t_n, t_n + pulse_width + 2 rise + settle]``
(``settle`` = 20 driver time constants, so the control gate has returned).
Per *programmed cell* (a cell whose half is pulsed in that update):

- ``N_sim``: transitions beyond natural decay, (integral of the sensed FN
  current) / q minus the closed-form natural-decay charge over the same window
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
- ratios of supply, net and tunnelling energy to the bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..constants import kT_J, q_C
from ..device.barrier import effective_barrier_J
from ..device.card import Card
from ..netlist.spec import Testbench, TunnelProbe
from ..netlist.synthesis import FGModel, pulse_window_s
from .integrate import energy_delivered_J, integral

UPDATE_COLUMNS = ("n", "t_s", "eps", "R_target_per_s", "E0_J", "E_eff_J", "N_target", "N_sim",
                  "tracking_error", "V_p_V", "E_supply_J", "E_net_J", "E_recovered_J", "eta_recovery",
                  "E_tunnel_J", "E_bound_J", "E_landauer_J", "ratio_supply_to_bound",
                  "ratio_net_to_bound", "ratio_tunnel_to_bound", "n_cells_programmed")


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


def account_updates(card: Card, table: pd.DataFrame, tb: Testbench, wf: Waveforms) -> pd.DataFrame:
    """Per-update energy table (columns :data:`UPDATE_COLUMNS`)."""
    dev = card.device
    model = FGModel.from_card(card)
    kT = kT_J(dev.T_K)
    rows = []
    for (t_a, t_b), rec in zip(update_windows(card, table), table.itertuples(index=False)):
        cells = [p for p in tb.probes if p.half == rec.half]
        n_cells = max(len(cells), 1)
        N_sim, E_tun, E_eff = [], [], []
        for probe in cells:
            V_a = float(np.interp(t_a, wf.time_s, wf.v_ox(probe)))
            Q = integral(wf.time_s, wf[probe.current], t_a, t_b)
            N_nat = probe.C_T_F * float(model.drop_V(V_a, t_b - t_a)) / q_C
            N_sim.append(Q / q_C - N_nat)
            E_tun.append(integral(wf.time_s, wf[probe.current] * wf.v_ox(probe), t_a, t_b))
            t_mid = t_a + card.programming.rise_s + card.programming.pulse_width_s / 2
            V_mid = float(np.interp(t_mid, wf.time_s, wf.v_ox(probe)))
            E_eff.append(float(effective_barrier_J(V_mid, dev.R_max_per_s, dev.tox_m, dev.area_m2,
                                                   dev.phi_B_eV, dev.m_eff, dev.T_K)))
        drawn = net = 0.0
        for s in tb.supplies:
            d, n_ = energy_delivered_J(wf.time_s, wf[s.v], wf[s.i], t_a, t_b)
            drawn += d
            net += n_
        E_supply, E_net = drawn / n_cells, net / n_cells
        N_target = float(rec.N_target)
        E_bound = N_target * (float(rec.E0_J) + abs(float(rec.dE_J)))
        n_sim = float(np.mean(N_sim)) if N_sim else 0.0
        e_tun = float(np.mean(E_tun)) if E_tun else 0.0
        rows.append({
            "n": int(rec.n), "t_s": t_a, "eps": float(rec.eps), "R_target_per_s": float(rec.R_target_per_s),
            "E0_J": float(rec.E0_J), "E_eff_J": float(np.mean(E_eff)) if E_eff else math.nan,
            "N_target": N_target, "N_sim": n_sim,
            "tracking_error": n_sim / N_target - 1.0 if N_target > 0 else math.nan,
            "V_p_V": float(rec.V_p_V), "E_supply_J": E_supply, "E_net_J": E_net,
            "E_recovered_J": E_supply - E_net,
            "eta_recovery": (E_supply - E_net) / E_supply if E_supply > 0 else math.nan,
            "E_tunnel_J": e_tun, "E_bound_J": E_bound,
            "E_landauer_J": card.programming.precision_bits * kT * math.log(2.0),
            "ratio_supply_to_bound": _ratio(E_supply, E_bound), "ratio_net_to_bound": _ratio(E_net, E_bound),
            "ratio_tunnel_to_bound": _ratio(e_tun, E_bound), "n_cells_programmed": len(cells),
        })
    return pd.DataFrame(rows, columns=list(UPDATE_COLUMNS))


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else math.nan


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
    }
