"""PNG plots of a simulated training run (matplotlib, Agg backend): per-update tables.

- :func:`plot_energy`: energy per update (drawn, net, tunnelling) against the LIM
  bound and Landauer, log axis in engineering units, integer update ticks.
- :func:`plot_barrier`: the device's effective barrier during each pulse against
  the LIM target barrier E0_n (Eq. 4), in kT.

The waveform plots (one update zoomed in, the floating gate between pulses, the
weight of synapses and arrays) are in :mod:`lim_hw.report.wave_plots`.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter  # noqa: E402

from ..constants import kT_J  # noqa: E402
from .units import eng, sci  # noqa: E402

#: One colour per quantity, the same in every plot of a run.
COLORS = {"supply": "#1f77b4", "net": "#ff7f0e", "tunnel": "#2ca02c", "bound": "black", "landauer": "0.45",
          "sim": "#1f77b4", "pred": "#d62728", "p": "#1f77b4", "m": "#9467bd", "drive": "#8c564b"}
DPI = 110


def save(fig, path: Path, bottom: float = 0.13, top: float = 0.90, left: float = 0.13, right: float = 0.97,
         hspace: float | None = None) -> Path:
    """Fixed margins (tight_layout measured every tick label and cost ~0.2 s a figure), PNG, close."""
    fig.subplots_adjust(left=left, right=right, bottom=bottom, top=top, hspace=hspace)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return Path(path)


def eng_axis(ax, unit: str, axis: str = "y", digits: int = 3) -> None:
    """Label the ticks of ``axis`` in engineering units (``46.0 fJ``, ``100 aJ``) instead of powers of ten."""
    fmt = FuncFormatter(lambda v, _pos: eng(v, unit, digits, trim=True) if v else "0")
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(fmt)
    if target.get_scale() == "log":
        target.set_major_locator(LogLocator(base=10, numticks=12))
        target.set_minor_formatter(NullFormatter())


def sci_axis(ax, axis: str = "y", digits: int = 2) -> None:
    """Label the ticks of a dimensionless ``axis`` as ``1.5×10⁶`` (no ``1e6`` offset above the axis)."""
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(
        FuncFormatter(lambda v, _pos: sci(v, digits) if v else "0"))


def integer_ticks(ax, axis: str = "x") -> None:
    """Whole-number ticks only (update counts)."""
    (ax.xaxis if axis == "x" else ax.yaxis).set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))


def plot_barrier(updates: pd.DataFrame, T_K: float, path: Path) -> Path:
    """Device effective barrier during each pulse vs the LIM target barrier E0_n (in kT)."""
    fig, ax = plt.subplots(figsize=(7, 4))
    kT = kT_J(T_K)
    ax.plot(updates["n"], updates["E0_J"] / kT, "o-", ms=4, color=COLORS["bound"],
            label="LIM target barrier E0_n (Eq. 4)")
    ax.plot(updates["n"], updates["E_eff_J"] / kT, "s-", ms=4, color=COLORS["supply"],
            label="device effective barrier during the pulse")
    if len(updates) and updates["n"].max() / max(updates["n"].min(), 1) > 20:
        ax.set_xscale("log")
    else:
        integer_ticks(ax)
    ax.set_xlabel("update n")
    ax.set_ylabel(f"barrier (kT, T = {T_K:.2f} K)")
    ax.set_title("Barrier profile: device vs LIM schedule")
    ax.grid(alpha=0.25)
    ax.legend(fontsize=8, frameon=False)
    return save(fig, path)


def plot_energy(updates: pd.DataFrame, path: Path) -> Path:
    """Energy per update (drawn, net, tunnelling) vs the LIM bound and Landauer, log axis.

    The legend sits below the axes so that no series is hidden behind it, and
    every series is drawn above the grid in its own colour and marker.
    """
    fig, ax = plt.subplots(figsize=(7, 4.4))
    n = updates["n"]
    series = [("E_supply_J", "o-", "supply", "drawn from the supplies (no recovery)"),
              ("E_net_J", "^-", "net", "net (perfect recovery)"),
              ("E_tunnel_J", "s-", "tunnel", "tunnelling dissipation (floor)"),
              ("E_bound_J", "--", "bound", "LIM bound N (E0 + |dE|)"),
              ("E_landauer_J", ":", "landauer", "Landauer: bits kT ln 2")]
    for col, style, color, label in series:
        y = updates[col].where(updates[col] > 0)  # a net energy <= 0 has no place on a log axis
        ax.semilogy(n, y, style, ms=4, lw=1.3, color=COLORS[color], label=label, zorder=3)
    ax.set_xlabel("update n")
    ax.set_ylabel("energy per update")
    eng_axis(ax, "J")
    if len(updates) and n.max() / max(n.min(), 1) > 50:
        ax.set_xscale("log")
    else:
        integer_ticks(ax)
    ax.grid(alpha=0.25, which="major", zorder=0)
    ratio = updates["ratio_supply_to_bound"].median() if len(updates) else float("nan")
    ax.set_title(f"Energy per weight update: drawn = {sci(ratio)} times the LIM bound (median)", fontsize=10)
    ax.legend(fontsize=8, ncol=2, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.14))
    return save(fig, path, bottom=0.27, top=0.92, left=0.14)
