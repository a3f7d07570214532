"""The figures of one flow run, in the order the report shows them (caption -> PNG file name)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..device.card import Card
from ..energy.updates import Waveforms
from ..netlist.spec import Testbench
from . import plots, wave_plots

#: File names of the figures a run can have (which ones depend on the testbench and the updates).
FIGURE_FILES = ("energy.png", "update_zoom.png", "fg_voltage.png", "weight.png", "barrier.png")


def run_figures(out: Path, card: Card, table: pd.DataFrame, updates: pd.DataFrame,
                tb: Testbench | None = None, wf: Waveforms | None = None) -> dict[str, str]:
    """Write the run's PNG figures into ``out``; returns caption -> file name.

    Without waveforms (the fast engine) only the per-update figures are drawn.
    """
    out = Path(out)
    images: dict[str, str] = {}
    has_updates = not updates.empty
    if has_updates:
        images["Energy per update vs the LIM bound"] = plots.plot_energy(updates, out / "energy.png").name
    if wf is not None and tb is not None and tb.probes:
        if has_updates:
            images["One update zoomed in: drive, floating gate, tunnelling current"] = wave_plots.plot_update_zoom(
                card, table, tb, wf, out / "update_zoom.png", updates=updates).name
        images["Floating gate between pulses vs the closed form"] = wave_plots.plot_fg_between_pulses(
            card, table, tb, wf, out / "fg_voltage.png").name
        weight = wave_plots.plot_weight(card, table, tb, wf, out / "weight.png")
        if weight is not None:
            images["Weight w = V(fg+) - V(fg-) of every synapse"] = weight.name
    if has_updates:
        images["Effective barrier vs the LIM target barrier"] = plots.plot_barrier(
            updates, card.device.T_K, out / "barrier.png").name
    return images
