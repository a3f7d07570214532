"""The figures of a sky130 run (caption -> PNG file name), beside the ideal flow's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ...device.card import Card


def sky130_figures(out: Path, card: Card, table: pd.DataFrame, updates: pd.DataFrame, tb=None, wf=None
                   ) -> dict[str, str]:
    """Energy per update, one update zoomed in (control gate, floating gate, FN current), the floating
    gates over the run and the barrier profile (``card``: the effective card, extracted device)."""
    from ...report import plots

    out = Path(out)
    images: dict[str, str] = {}
    if not updates.empty:
        images["Energy per update vs the LIM bound"] = plots.plot_energy(updates, out / "energy.png").name
    if wf is not None and tb is not None and tb.probes:
        if not updates.empty and tb.windows:
            images["One update zoomed in: control gate, floating gate, tunnelling current"] = \
                _zoom(tb, wf, updates, out / "update_zoom.png").name
        images["Floating gates over the run"] = _trajectory(tb, wf, updates, out / "fg_voltage.png").name
    if not updates.empty:
        images["Effective barrier vs the LIM target barrier"] = plots.plot_barrier(
            updates, card.device.T_K, out / "barrier.png").name
    return images


def _zoom(tb, wf, updates: pd.DataFrame, path: Path) -> Path:
    from ...report import plots

    t_a, t_b = tb.windows[0]
    probe = tb.probes[0]
    cg = next(d["cg"] for (c, h), d in tb.drivers if h == probe.half)
    sel = (wf.time_s >= t_a - 0.2 * (t_b - t_a)) & (wf.time_s <= t_b)
    x = (wf.time_s[sel] - t_a) * 1e6
    fig, (a1, a2) = plots.plt.subplots(2, 1, figsize=(7, 5), sharex=True)
    a1.plot(x, wf[cg][sel], lw=1.2, label=f"control gate {cg}")
    a1.plot(x, wf[probe.fg][sel], lw=1.2, label=f"floating gate {probe.fg}")
    a1.set_ylabel("V")
    a1.legend(fontsize=7)
    a1.set_title(f"Update 1: {updates['w_s'].iloc[0] * 1e6:.3g} us pulse at the driver rail (sky130)")
    a2.semilogy(x, np.maximum(wf[probe.current][sel], 1e-30), lw=1.2, label="FN current")
    a2.set_ylabel("A")
    a2.set_xlabel("time from the update (us)")
    a2.legend(fontsize=7)
    return plots.save(fig, path)


def _trajectory(tb, wf, updates: pd.DataFrame, path: Path) -> Path:
    from ...report import plots

    fig, ax = plots.plt.subplots(figsize=(7, 4))
    for p in tb.probes[:4]:
        ax.plot(wf.time_s, wf[p.fg], lw=1.0, label=p.fg)
    if len(updates):
        ax.vlines(updates["t_s"], 0, 1, transform=ax.get_xaxis_transform(), color="0.85", lw=0.5, zorder=0)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("floating-gate voltage (V)")
    ax.set_title("Floating gates (ngspice, sky130)")
    ax.legend(fontsize=7)
    return plots.save(fig, path)
