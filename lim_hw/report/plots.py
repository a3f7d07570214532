"""PNG plots of a simulated training run (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ..constants import kT_J  # noqa: E402


def _save(fig, path: Path) -> Path:
    # Fixed margins: tight_layout measured every tick label and cost ~0.2 s a figure.
    fig.subplots_adjust(left=0.12, right=0.97, bottom=0.13, top=0.91)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_floating_gate(time_s: np.ndarray, traces: dict[str, np.ndarray], updates: pd.DataFrame,
                       path: Path, closed_form: np.ndarray | None = None) -> Path:
    """Floating-gate voltage(s) over time, with update times marked (and the closed form if given)."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, v in traces.items():
        ax.plot(time_s, v, label=label, lw=1.2)
    if closed_form is not None:
        ax.plot(time_s, closed_form, "k--", lw=0.8, label="closed form (no updates)")
    if len(updates):
        ax.vlines(updates["t_s"], 0, 1, transform=ax.get_xaxis_transform(), color="0.85", lw=0.5, zorder=0)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("floating-gate voltage (V)")
    ax.set_title("Floating-gate trajectory (ngspice)")
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_barrier(updates: pd.DataFrame, T_K: float, path: Path) -> Path:
    """Device effective barrier during each pulse vs the LIM target barrier E0_n (in kT)."""
    fig, ax = plt.subplots(figsize=(7, 4))
    kT = kT_J(T_K)
    ax.plot(updates["n"], updates["E0_J"] / kT, "o-", label="LIM target barrier E0_n (Eq. 4)")
    ax.plot(updates["n"], updates["E_eff_J"] / kT, "s-", label="device effective barrier during pulse")
    ax.set_xscale("log")
    ax.set_xlabel("update n")
    ax.set_ylabel("barrier (kT)")
    ax.set_title("Barrier profile: device vs LIM schedule")
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_energy(updates: pd.DataFrame, path: Path) -> Path:
    """Energy per update (drawn, net, tunnelling) vs the LIM bound and Landauer, log axis."""
    fig, ax = plt.subplots(figsize=(7, 4))
    n = updates["n"]
    ax.semilogy(n, updates["E_supply_J"], "o-", label="supply energy drawn (no recovery)")
    ax.semilogy(n, updates["E_net_J"].clip(lower=1e-30), "^-", label="net energy (perfect recovery)")
    ax.semilogy(n, updates["E_tunnel_J"], "s-", label="tunnelling dissipation")
    ax.semilogy(n, updates["E_bound_J"], "k--", label="LIM bound N (E0 + |dE|)")
    ax.semilogy(n, updates["E_landauer_J"], "k:", label="Landauer bits kT ln 2")
    ax.set_xlabel("update n")
    ax.set_ylabel("energy per update (J)")
    ax.set_title("Energy per weight update vs the LIM bound")
    ax.legend(fontsize=7)
    return _save(fig, path)
