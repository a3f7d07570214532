"""``lim-hw simulate --engine fast``: the flow's outputs from the vectorised array model.

Same files as the ngspice flow (updates.csv, summary.json, synthesis.csv,
card.toml, energy/barrier plots, report.html) except waveforms: the fast model
keeps per-update results, not time series.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from ..device.card import Card, card_to_dict, card_to_toml, device_derived
from ..energy.updates import UPDATE_COLUMNS, summarize_updates
from ..netlist.synthesis import synthesize
from ..outputs import atomic_directory, write_csv_atomic, write_json_atomic, write_text_atomic
from ..progress import show_progress
from ..provenance import csv_header_comment, versions
from .model import simulate_fast


def run_fast_flow(card: Card, out_dir: Path | None, kind: str = "cell", array: tuple[int, int] | None = None,
                  progress: bool = True, plots: bool = True):
    """Run the fast model on ``card`` and write the flow's result files into ``out_dir``
    (``None``: in memory, nothing written; ``plots=False``: no PNG plots and no report.html,
    as :func:`lim_hw.flow.run_flow`)."""
    from ..flow import FlowResult  # late: flow imports this module lazily

    progress = show_progress(progress)  # bars on a terminal only
    bar = tqdm(total=2, desc=f"lim-hw {card.name} (fast)", unit="step", disable=not progress,
               file=sys.stderr, leave=False)
    table = synthesize(card)
    shape: Any = tuple(array) if array is not None else 1
    res = simulate_fast(card, table, n_synapses=shape)
    bar.update()
    # the flow's columns; in the stochastic mode also the spread of the step over the programmed cells
    # (Poisson electrons: docs/device.md s.10)
    spread = ["N_sim_std", "N_sim_min", "N_sim_max"] if res.info.get("stochastic") else []
    updates = res.updates[list(UPDATE_COLUMNS) + spread]
    summary: dict[str, Any] = {
        "card": card.name, "testbench": kind if array is None else f"array {array[0]}x{array[1]}",
        "engine": "fast", **summarize_updates(updates),
    }
    if card.n_updates > 0:
        from ..theory.bound_statement import bound_statement

        summary["bound"] = bound_statement(card, updates)
    if res.info.get("stochastic"):
        summary["stochastic"] = {"seed": res.info["seed"], "N_sim_std_median": float(updates["N_sim_std"].median()),
                                 "N_sim_std_over_sqrt_N_window_median": float(
                                     (updates["N_sim_std"] / np.sqrt(updates["N_window"])).median())}
    if card.n_updates == 0:
        from ..device.floating_gate import device_voltage_V

        v_cf = float(device_voltage_V(card.device, res.t_end_s))
        v_end = float(np.max(np.abs(res.V_ox_final_V / v_cf - 1.0)))
        summary.update({"retention_max_rel_error": v_end, "retention_V_ox_end_V": float(res.V_ox_final_V[0]),
                        "retention_V_ox_end_closed_form_V": v_cf})
    summary["provenance"] = {**versions(), "fast_model": {k: v for k, v in res.info.items()
                                                         if isinstance(v, (int, float, str, bool))}}
    summary["card_values"] = card_to_dict(card)
    summary["device_derived"] = device_derived(card.device)
    files: list[str] = []
    if out_dir is not None:
        with atomic_directory(out_dir) as tmp:
            write_csv_atomic(tmp / "updates.csv", updates, provenance=False)  # versions: summary.json
            write_csv_atomic(tmp / "synthesis.csv", table, provenance=False)
            write_json_atomic(tmp / "summary.json", summary)
            stamp = csv_header_comment().lstrip("# ").strip()
            card_toml = card_to_toml(card, header=f"device card of run '{card.name}' (lim-hw, fast engine)\n{stamp}")
            write_text_atomic(tmp / "card.toml", card_toml)
            files = ["updates.csv", "summary.json", "synthesis.csv", "card.toml"]
            if plots:
                from ..report import html as html_report
                from ..report.figures import run_figures

                images = run_figures(tmp, card, table, updates)
                files += list(images.values())
                html_report.write_report(tmp, f"lim-hw run (fast engine): {card.name}", summary, updates, images,
                                         files, card_toml)
                files.append("report.html")
    bar.update()
    bar.close()
    return FlowResult(None if out_dir is None else Path(out_dir), updates, summary, table, files)
