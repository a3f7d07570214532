"""The per-update table of the fast array model, from the accumulated block sums.

Turns the sums of :mod:`lim_hw.fast.chunk` into the columns of updates.csv
(:data:`FAST_UPDATE_COLUMNS`): transitions per programmed cell and their
spread, source energies from the closed forms of :mod:`lim_hw.fast.energy`,
tunnelling energy, the LIM bound and the ratios to it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..constants import kT_J, q_C
from ..device.barrier import effective_barrier_J
from ..device.card import Card
from ..device.precision import PRECISION_COLUMNS, precision_columns
from .chunk import _CNT, _ET, _ETB, _QW, _SB, _SB2, _SDF, _SQP, _SVP, _SVP2, _SVPK, _SVPQ
from .energy import DriveConstants

__all__ = ["FAST_UPDATE_COLUMNS"]

#: Columns of :attr:`FastResult.updates`: the names of updates.csv (lim_hw.energy.updates) first.
FAST_UPDATE_COLUMNS = (
    "n", "t_s", "eps", "R_target_per_s", "E0_J", "E_eff_J", "N_target", "N_sim", "tracking_error",
    "V_p_V", "E_supply_J", "E_net_J", "E_recovered_J", "eta_recovery", "E_tunnel_J", "E_bound_J",
    "E_landauer_J", "ratio_supply_to_bound", "ratio_net_to_bound", "ratio_tunnel_to_bound", "n_cells_programmed",
    *PRECISION_COLUMNS,
    # fast-model extras
    "N_sim_std", "N_sim_min", "N_sim_max", "dV_fg_V", "E_driver_J", "E_bias_J", "E_tunnel_beyond_J",
    "ratio_tunnel_beyond_to_bound",
)


def _assemble(card: Card, drive: DriveConstants, t_s: np.ndarray, tot: np.ndarray, mins: np.ndarray,
              maxs: np.ndarray, theory: dict[str, np.ndarray]) -> pd.DataFrame:
    dev = card.device
    C_T = dev.C_T_F
    U = t_s.shape[0]
    cnt = tot[_CNT]
    with np.errstate(invalid="ignore", divide="ignore"):
        per = np.where(cnt > 0, 1.0 / np.where(cnt > 0, cnt, 1.0), np.nan)
        mean_b = tot[_SB] * per
        var = np.maximum(tot[_SB2] * per - (mean_b - np.nan_to_num(theory["ref"])) ** 2, 0.0)
        var = np.where(cnt > 1, var * cnt / np.maximum(cnt - 1, 1), np.where(cnt == 1, 0.0, np.nan))
        to_N = C_T / q_C
        E_drv_drawn = drive.a_drawn_J_per_V2 * tot[_SVP2] + drive.kappa * C_T * tot[_SVPQ]
        E_drv_net = drive.a_net_J_per_V2 * tot[_SVP2] + drive.kappa * C_T * tot[_SVPQ]
        E_bias_drawn = drive.b_bias_J_per_V * tot[_SVP] + drive.c_bias_J_per_C * C_T * tot[_QW]
        E_bias_net = drive.c_bias_J_per_C * C_T * tot[_QW]
        E_supply = (E_drv_drawn + E_bias_drawn) * per
        E_net = (E_drv_net + E_bias_net) * per
        E_tun = C_T * tot[_ET] * per
        E_tun_b = C_T * tot[_ETB] * per
        N_sim = mean_b * to_N
        N_target = theory["N_target"]
        E_bound = N_target * (theory["E0_J"] + np.abs(theory["dE_J"]))
        V_mid = (tot[_SVPK] - 0.5 * tot[_SDF]) * per
        E_eff = np.full(U, np.nan)
        ok = np.isfinite(V_mid) & (V_mid > 0)
        if ok.any():
            E_eff[ok] = effective_barrier_J(V_mid[ok], dev.R_max_per_s, dev.tox_m, dev.area_m2,
                                            dev.phi_B_eV, dev.m_eff, dev.T_K, thermal=dev.law.thermal,
                                            image_force=dev.image_force)

        def ratio(a: np.ndarray) -> np.ndarray:
            return np.where(E_bound > 0, a / np.where(E_bound > 0, E_bound, 1.0), np.nan)

        cols = {
            "n": np.arange(1, U + 1), "t_s": t_s, "eps": theory["eps"], "R_target_per_s": theory["R_target_per_s"],
            "E0_J": theory["E0_J"], "E_eff_J": E_eff, "N_target": N_target, "N_sim": N_sim,
            "tracking_error": np.where(N_target > 0, N_sim / np.where(N_target > 0, N_target, 1.0) - 1.0, np.nan),
            "V_p_V": tot[_SVP] * per, "E_supply_J": E_supply, "E_net_J": E_net,
            "E_recovered_J": E_supply - E_net,
            "eta_recovery": np.where(E_supply > 0, (E_supply - E_net) / np.where(E_supply > 0, E_supply, 1.0), np.nan),
            "E_tunnel_J": E_tun, "E_bound_J": E_bound,
            "E_landauer_J": np.full(U, getattr(card.programming, "precision_bits", np.nan) * kT_J(dev.T_K)
                                    * math.log(2.0)),
            "ratio_supply_to_bound": ratio(E_supply), "ratio_net_to_bound": ratio(E_net),
            "ratio_tunnel_to_bound": ratio(E_tun), "n_cells_programmed": cnt.astype(np.int64),
            **precision_columns(N_target, tot[_SQP] * per * to_N, C_T, dev.T_K),
            "N_sim_std": np.sqrt(var) * to_N,
            "N_sim_min": np.where(cnt > 0, mins * to_N, np.nan), "N_sim_max": np.where(cnt > 0, maxs * to_N, np.nan),
            "dV_fg_V": mean_b, "E_driver_J": E_drv_drawn * per, "E_bias_J": E_bias_drawn * per,
            "E_tunnel_beyond_J": E_tun_b, "ratio_tunnel_beyond_to_bound": ratio(E_tun_b),
        }
    return pd.DataFrame(cols, columns=list(FAST_UPDATE_COLUMNS))
