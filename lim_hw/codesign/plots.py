"""PNG plots of co-design results (matplotlib, Agg backend): training and schedule optimisation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

__all__ = ["plot_training", "plot_optimization"]


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def plot_training(history: pd.DataFrame, summary: dict[str, Any], path: Path) -> Path:
    """Accuracy over training beside cumulative energy per parameter (device, LIM bound, Landauer, digital)."""
    fig, (ax1, ax2, ax3) = plt.subplots(3, 1, figsize=(7.5, 10), sharex=True,
                                        gridspec_kw={"height_ratios": [1.0, 1.4, 0.8]})
    ev = history.dropna(subset=["acc_test"])
    ax1.plot(ev["n"], ev["acc_test"], "o-", ms=3, label="FN-DAM device model (test)")
    ax1.plot(ev["n"], ev["acc_train"], "-", lw=0.8, alpha=0.7, label="FN-DAM device model (train)")
    ax1.plot(ev["n"], ev["acc_test_software"], "--", label="float SGD, same schedule (test)")
    bayes = summary.get("final", {}).get("bayes_accuracy")
    if bayes is not None and np.isfinite(bayes):
        ax1.axhline(bayes, color="k", lw=0.8, ls=":", label=f"Bayes optimum {bayes:.3f}")
    ax1.set_ylabel("accuracy")
    ax1.set_ylim(max(0.0, float(ev["acc_test"].min()) - 0.05), 1.0)
    ax1.legend(fontsize=8, loc="lower right")
    ax1.set_title(f"On-device training: {summary.get('dataset', {}).get('kind', '')} data, "
                  f"{summary.get('n_parameters', '?')} weights in differential FN-DAM synapses")
    n = history["n"]
    curves = [("E_drawn_cum_J", "device: energy drawn (no recovery)", "-"),
              ("E_net_cum_J", "device: net (ideal recovery)", "-."),
              ("E_tunnel_cum_J", "device: tunnelling dissipation", "--"),
              ("E_conventional_cum_J", f"digital: {summary.get('conventional_update_J', 1e-11):.0e} J/update", ":"),
              ("E_landauer_cum_J", "Landauer: bits x kT ln 2 per update", ":"),
              ("E_bound_cum_J", "LIM bound N (E0 + |dE|) of the updates", "-")]
    for col, label, ls in curves:
        y = history[col].to_numpy(dtype=float)
        m = y > 0
        ax2.semilogy(n[m], y[m], ls, label=label)
    ax2.set_ylabel("cumulative energy per parameter (J)")
    lows = [float(history[c][history[c] > 0].min()) for c, _, _ in curves if (history[c] > 0).any()]
    if lows:
        ax2.set_ylim(bottom=min(lows) / 1e4)   # room for the legend below the curves
    ax2.legend(fontsize=7.5, loc="lower right", ncol=2)
    ax2.grid(True, which="major", alpha=0.3)
    eff = history["eps"] * history["eps_device_gain"]
    ax3.plot(n, eff, label="effective learning rate eps x device gain")
    ax3.plot(n, history["write_error_rms"], label="write error rms (mismatch)")
    ax3.set_xlabel("training step n (symlog)")
    ax3.set_xscale("symlog", linthresh=10.0)
    ax3.set_ylabel("rate / error")
    ax3.legend(fontsize=8)
    return _save(fig, path)


def plot_optimization(before: pd.DataFrame, after: pd.DataFrame, summary: dict[str, Any], path: Path,
                      check: pd.DataFrame | None = None) -> Path:
    """Energy per update before and after optimisation, the bound, and where the remaining energy goes."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 5.6), gridspec_kw={"width_ratios": [1.3, 1.0]})
    n = after["n"]
    ax1.semilogy(before["n"], before["E_drawn_J"], "o-", color="C0", label="card design: drawn")
    ax1.semilogy(before["n"], before["E_net_J"], "o--", color="C0", alpha=0.5, label="card design: net")
    ax1.semilogy(n, after["E_drawn_J"], "s-", color="C1", label="optimised: drawn")
    ax1.semilogy(n, after["E_net_J"], "s--", color="C1", alpha=0.6, label="optimised: net")
    ax1.semilogy(n, after["E_tunnel_J"], "^-", color="C2", label="optimised: tunnelling")
    ax1.semilogy(n, after["E_tunnel_floor_J"], ":", color="C2", label="N q V_ox (tunnelling floor)")
    ax1.semilogy(n, after["E_landauer_J"], ":", color="k", label="Landauer bits kT ln 2")
    ax1.semilogy(n, after["E_bound_J"], "-", color="C3", label="LIM bound N (E0 + |dE|)")
    if check is not None and not check.empty:
        ax1.semilogy(check["n"], check["E_drawn_ngspice_J"], "x", color="k", ms=7, label="optimised: ngspice drawn")
    ax1.set_xlabel("update n")
    ax1.set_ylabel("energy per update (J)")
    ax1.set_title(f"tracking tol {summary.get('tol', 0):g}, objective {summary.get('objective', '')}: "
                  f"gain {summary.get('gain_objective', float('nan')):.3g}x")
    ax1.legend(fontsize=7, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.13))
    parts = [("E_drv_cap_mean_J", "driver C V^2/2"), ("E_drv_res_mean_J", "driver R (edge)"),
             ("E_bias_cap_mean_J", "bias C_j edge"), ("E_bias_fn_mean_J", "bias: FN charge"),
             ("E_drv_fn_mean_J", "driver hold"), ("E_tunnel_mean_J", "tunnelling (dissipated)"),
             ("E_bound_mean_J", "LIM bound"), ("E_landauer_mean_J", "Landauer")]
    y = np.arange(len(parts))
    b = summary.get("baseline", {})
    a = summary.get("optimized", {})
    vb = [max(float(b.get(k, 0.0)), 1e-30) for k, _ in parts]
    va = [max(float(a.get(k, 0.0)), 1e-30) for k, _ in parts]
    ax2.barh(y + 0.2, vb, height=0.4, label="card design", color="C0")
    ax2.barh(y - 0.2, va, height=0.4, label="optimised", color="C1")
    ax2.set_xscale("log")
    ax2.set_yticks(y)
    ax2.set_yticklabels([lbl for _, lbl in parts], fontsize=8)
    ax2.invert_yaxis()
    lo = min(min(vb), min(va))
    ax2.set_xlim(left=max(lo / 3, 1e-24))
    ax2.set_xlabel("mean energy per update (J)")
    ax2.set_title("where the energy goes (drawn components)")
    ax2.legend(fontsize=8)
    return _save(fig, path)
