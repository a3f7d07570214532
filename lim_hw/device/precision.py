"""Discrete electrons and the precision of one update (docs/device.md s.10).

An update moves ``N_window`` electrons through the junction in its window
(``N_sim`` beyond natural decay plus the natural ones). Tunnelling events are
independent, so the count is Poisson: the step of the floating gate has the
shot-noise spread ``sigma_shot = (q / C_T) sqrt(N_window)``. Reading the gate adds
the thermal (kT/C) noise of its total capacitance, ``sigma_kTC = sqrt(kT / C_T)``
(204 uV on 100 fF at 300 K; one electron is 1.6 uV there). The precision an update
reaches is defined here as

    bits = log2( step / sqrt(sigma_shot^2 + kT / C_T) ),     step = N_target q / C_T (V),

(``precision_bits``; it is negative when one step is smaller than the noise), and
the shot-noise-only figure ``bits_shot = log2(N_target / sqrt(N_window))``
(``precision_bits_shot``, about ``0.5 log2 N``). ``FEW_ELECTRONS`` is the count below
which a target is flagged: a Poisson count of 3 moves none 5 % of the time and has a
58 % spread.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

from ..constants import k_B_J_per_K, q_C

__all__ = ["PRECISION_COLUMNS", "FEW_ELECTRONS", "precision_columns", "precision_summary"]

#: Columns added to updates.csv (both engines).
PRECISION_COLUMNS = ("N_window", "sigma_shot_V", "sigma_kTC_V", "precision_bits", "precision_bits_shot")
#: Targets below this many electrons per update are flagged in summary.json ``warnings``.
FEW_ELECTRONS = 3.0


def precision_columns(N_target: Any, N_window: Any, C_T_F: float, T_K: float) -> dict[str, np.ndarray]:
    """The :data:`PRECISION_COLUMNS` for per-update targets and window counts (arrays)."""
    Nt = np.asarray(N_target, dtype=float)
    Nw = np.maximum(np.asarray(N_window, dtype=float), 0.0)
    shot = q_C / C_T_F * np.sqrt(Nw)
    kTC = math.sqrt(k_B_J_per_K * T_K / C_T_F)
    step = Nt * q_C / C_T_F
    with np.errstate(divide="ignore", invalid="ignore"):
        bits = np.where(step > 0, np.log2(step / np.sqrt(shot**2 + kTC**2)), np.nan)
        bits_shot = np.where((Nt > 0) & (Nw > 0), np.log2(Nt / np.sqrt(Nw)), np.nan)
    return {"N_window": Nw, "sigma_shot_V": shot, "sigma_kTC_V": np.full(Nt.shape, kTC),
            "precision_bits": bits, "precision_bits_shot": bits_shot}


def precision_summary(updates: Mapping[str, Any]) -> dict[str, Any]:
    """Medians of the precision columns, the smallest target, and a warning for few-electron targets."""
    Nt = np.asarray(updates["N_target"], dtype=float)
    out: dict[str, Any] = {}
    if Nt.size == 0:
        return out
    for col in ("precision_bits", "precision_bits_shot"):
        v = np.asarray(updates[col], dtype=float)
        v = v[np.isfinite(v)]
        out[f"{col}_median"] = float(np.median(v)) if v.size else float("nan")
    out["electrons_per_update_min"] = float(np.min(Nt))
    out["electrons_per_update_median"] = float(np.median(Nt))
    few = int(np.count_nonzero(Nt < FEW_ELECTRONS))
    if few:
        p0 = math.exp(-float(np.min(Nt)))
        out["warnings"] = [f"{few} update(s) target fewer than {FEW_ELECTRONS:g} electrons (min {np.min(Nt):.3g}): "
                           f"shot noise dominates (a Poisson count of that mean moves none {100 * p0:.0f} % of the "
                           "time); raise the pulse width or R_max_per_s, or accept the precision_bits reported"]
    return out
