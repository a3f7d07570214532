"""Transient shot noise in ngspice: one update window with an FN-scaled noise current, over many seeds.

ngspice makes no device shot noise in ``.tran``; only independent sources with
TRNOISE/TRRANDOM are random. A current ``sqrt(q I_FN / tsn) n(t)`` beside the FN
junction, with ``n`` a unit Gaussian sampled every ``tsn`` and linear in between, is a
white current of one-sided density ``2 q I_FN``: the charge over a window ``W >> tsn``
has variance ``q Q_mean``, the Poisson variance of the electron count in its Gaussian
limit (docs/device.md s.10). circuits/fn_junction.lib's ``shot=1`` does this with an
internal TRNOISE source -- but ngspice 39 does not reproduce a TRNOISE realisation
from ``.options seed`` or ``setseed`` (two runs with seed 1 differ), so lim-hw's
check drives the same current from a PWL source of numpy-seeded samples
(``default_rng(seed)``): reproducible, and the same generator family as the fast
engine's stochastic mode.

TRNOISE puts a breakpoint every ``tsn`` for the whole run, so a full flow with noise
is not feasible: the default card (1200 s, 10 ms pulses, ``tsn = W/200``) would need
~2.4e7 time points (~1 h per cell at the measured 0.14 ms per point) instead of ~4e3.
:func:`shot_noise_window` therefore simulates one update window (from the synthesised
state at its start) per seed: ~0.2 s per seed. ``lim-hw simulate --shot-noise-check M``
runs it for update 1 and writes the statistics into summary.json (``shot_noise_ngspice``),
beside the Poisson expectation that the fast engine's stochastic mode draws from.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Iterable

import numpy as np
import pandas as pd

from ..constants import q_C
from ..device.card import Card
from ..errors import InputError
from .spec import cell_testbench
from .synthesis import pulse_window_s

__all__ = ["shot_noise_window", "shot_noise_summary"]

#: Noise samples per update window (``tsn = W / SAMPLES_PER_WINDOW``).
SAMPLES_PER_WINDOW = 200


def _window_testbench(card: Card, table: pd.DataFrame, n: int, tsn_s: float):
    """A cell testbench of update ``n`` alone: starts at its synthesised V_ox, pulse at 1 ms."""
    rec = table[table["n"] == n]
    if rec.empty:
        raise InputError(f"update {n} is not in the synthesis table (1..{len(table)})")
    rec = rec.iloc[0]
    t0 = 1e-3
    settle = 20.0 * card.programming.R_drv_ohm * card.device.C_c_F
    end = t0 + pulse_window_s(card) + settle
    win = card.with_updates(device={"V0_V": float(rec["V_ox_before_V"])}, schedule={"n_updates": 1},
                            programming={"first_update_s": t0}, simulation={"duration_s": end + 1e-3})
    tab = table[table["n"] == n].copy()
    tab["t_s"] = t0
    tab["half"] = "p"
    tb = cell_testbench(win, tab)
    return dataclasses.replace(tb, tmax_s=tsn_s), t0, end, rec


def shot_noise_window(card: Card, table: pd.DataFrame, n: int = 1, seeds: Iterable[int] = range(1, 25),
                      engine: str = "batch") -> pd.DataFrame:
    """Electrons through the junction in update ``n``'s window, one ngspice run per seed.

    The noise current ``sqrt(q I_FN / tsn) n(t)`` (``I_FN`` the junction's sensed current,
    ``n`` from ``numpy.random.default_rng(seed)``, ``tsn = W / SAMPLES_PER_WINDOW``) is
    sensed by its own 0 V source. Columns: ``seed``, ``N_window`` (charge of both
    currents over the window / q).
    """
    from ..energy.integrate import windowed_integrals
    from ..sim import simulate
    from .render import render
    from .validate import spice_number

    W = pulse_window_s(card)
    tsn = W / SAMPLES_PER_WINDOW
    tb, t0, end, _ = _window_testbench(card, table, n, tsn)
    base = render(tb)
    tk = np.arange(0.0, end + 2.0 * tsn, tsn)
    saves = (*tb.saves, "i(vshs)")
    rows = []
    for seed in seeds:
        nk = np.random.default_rng(int(seed)).standard_normal(tk.size)
        pwl = " ".join(f"{spice_number(float(a))} {spice_number(float(b))}" for a, b in zip(tk, nk))
        deck = base + (f"vnz nz 0 pwl({pwl})\nvshs tun tsh dc 0\n"
                       f"bsh tsh fg i = sqrt({spice_number(q_C)}*abs(i(v.x1.xj.vsns))/{spice_number(tsn)})*v(nz)\n")
        res = simulate(deck, saves, engine=engine, timeout_s=card.simulation.timeout_s)
        i_tot = res["i(v.x1.xj.vsns)"] + res["i(vshs)"]
        Q = windowed_integrals(res.time_s, i_tot, np.array([t0]), np.array([end]))[0]
        rows.append({"seed": int(seed), "N_window": Q / q_C})
    return pd.DataFrame(rows, columns=["seed", "N_window"])


def shot_noise_summary(card: Card, table: pd.DataFrame, n_seeds: int, n: int = 1) -> dict[str, Any]:
    """``shot_noise_window`` over seeds 1..n_seeds against the Poisson expectation (summary.json block)."""
    if n_seeds < 2:
        raise InputError(f"--shot-noise-check {n_seeds}: give at least 2 seeds (24 or more for a useful spread)")
    df = shot_noise_window(card, table, n, range(1, n_seeds + 1))
    rec = table[table["n"] == n].iloc[0]
    N_mean = float(rec["N_target"] + rec["N_natural"])
    N = df["N_window"].to_numpy()
    std = float(np.std(N, ddof=1))
    return {"update": n, "seeds": int(n_seeds), "samples_per_window": SAMPLES_PER_WINDOW,
            "N_window_mean": float(np.mean(N)), "N_window_std": std,
            "poisson_mean": N_mean, "poisson_std": math.sqrt(N_mean),
            "std_over_poisson": std / math.sqrt(N_mean),
            "note": "ngspice: a current sqrt(q I_FN/tsn) n(t) (density 2 q I_FN; n numpy-seeded, PWL) beside the "
                    "junction in one update window per seed; the fast engine's stochastic mode draws "
                    "Poisson(poisson_mean) for the same window"}
