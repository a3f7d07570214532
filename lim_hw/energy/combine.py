"""Whole-array per-update energies recombined from exact column blocks.

Each block's ``updates.csv`` holds per-programmed-cell means; the array's are
the means weighted by each block's programmed cells. Supply energy adds up
exactly because every block carries its own copy of the ideal pulse driver and
row sources, which deliver only that block's currents
(:mod:`lim_hw.netlist.blocks`).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..constants import k_B_J_per_K, q_C
from ..device.precision import precision_columns
from ..errors import InputError
from .updates import ACCOUNT_COLUMNS

#: Columns identical in every block (the schedule and the bound), taken from the first block.
SHARED = ("n", "t_s", "eps", "R_target_per_s", "E0_J", "N_target", "V_p_V", "E_bound_J", "E_landauer_J")
#: Extra columns of a technology that are the same in every block (the pulse width).
SHARED_EXTRA = ("w_s",)
#: Per-programmed-cell means, recombined weighted by the programmed cells of each block.
PER_CELL = ("E_eff_J", "N_sim", "E_supply_J", "E_net_J", "E_tunnel_J", "E_resistor_J", "dE_cap_J", "N_window")
#: Closures: the worst block's value per update (each block closes its own balance).
WORST = ("energy_closure", "charge_closure")


def combine_block_updates(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Whole-array per-update table from the blocks' tables (columns :data:`ACCOUNT_COLUMNS`)."""
    if not frames:
        raise InputError("no blocks to combine")
    first = frames[0]
    for f in frames[1:]:
        if len(f) != len(first) or not np.array_equal(f["n"].to_numpy(), first["n"].to_numpy()):
            raise InputError("the blocks have different updates; they must come from the same card")
    w = np.array([f["n_cells_programmed"].to_numpy(dtype=float) for f in frames])  # blocks x updates
    total = w.sum(axis=0)
    out = pd.DataFrame({c: first[c] for c in SHARED})
    for c in PER_CELL:
        vals = np.array([f[c].to_numpy(dtype=float) for f in frames])
        out[c] = np.where(total > 0, (vals * w).sum(axis=0) / np.where(total > 0, total, 1), np.nan)
    for c in WORST:
        vals = np.array([f[c].to_numpy(dtype=float) for f in frames])
        out[c] = vals[np.nanargmax(np.abs(np.nan_to_num(vals, nan=0.0)), axis=0), np.arange(vals.shape[1])]
    out["n_cells_programmed"] = total.astype(int)
    out["tracking_error"] = np.where(out["N_target"] > 0, out["N_sim"] / out["N_target"] - 1.0, np.nan)
    out["E_recovered_J"] = out["E_supply_J"] - out["E_net_J"]
    out["eta_recovery"] = np.where(out["E_supply_J"] > 0, out["E_recovered_J"] / out["E_supply_J"], np.nan)
    for name, col in (("ratio_supply_to_bound", "E_supply_J"), ("ratio_net_to_bound", "E_net_J"),
                      ("ratio_tunnel_to_bound", "E_tunnel_J")):
        out[name] = [a / b if b > 0 else math.nan for a, b in zip(out[col], out["E_bound_J"])]
    # precision (docs/device.md s.10) from the recombined window counts; C_T and T read back from the
    # first block's columns (sigma_shot = (q/C_T) sqrt(N_window), sigma_kTC = sqrt(kT/C_T))
    with np.errstate(divide="ignore", invalid="ignore"):
        unit = np.nanmedian(first["sigma_shot_V"].to_numpy(float) / np.sqrt(first["N_window"].to_numpy(float)))
    if np.isfinite(unit) and unit > 0:
        C_T = q_C / unit
        T = float(first["sigma_kTC_V"].iloc[0]) ** 2 * C_T / k_B_J_per_K
        for k, v in precision_columns(out["N_target"], out["N_window"], C_T, T).items():
            out[k] = v
    else:
        for k in ("sigma_shot_V", "sigma_kTC_V", "precision_bits", "precision_bits_shot"):
            out[k] = first[k]
    extra = [c for c in first.columns if c not in ACCOUNT_COLUMNS]  # a technology's own columns (sky130)
    for c in extra:
        if c in SHARED_EXTRA:
            out[c] = first[c].to_numpy()
        elif c.startswith("E_") or c == "I_read_A":
            vals = np.array([f[c].to_numpy(dtype=float) for f in frames])
            out[c] = np.where(total > 0, (vals * w).sum(axis=0) / np.where(total > 0, total, 1), np.nan)
    for c in extra:
        if c.startswith("ratio_") and c.endswith("_to_bound") and f"E_{c[6:-9]}_J" in out:
            out[c] = [a / b if b > 0 else math.nan for a, b in zip(out[f"E_{c[6:-9]}_J"], out["E_bound_J"])]
    return out[list(ACCOUNT_COLUMNS) + extra]
