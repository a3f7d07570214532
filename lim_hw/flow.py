"""The end-to-end flow: card -> synthesis -> netlist -> ngspice -> energy per update -> report.

:func:`run_flow` is what ``lim-hw simulate`` and ``lim-hw run`` call. Its output
directory is built in a temporary sibling and moved into place only when
everything succeeded, so a failed run leaves no partial results.
"""

from __future__ import annotations

import dataclasses
import importlib
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
from tqdm import tqdm

from .device.card import Card, card_to_dict, card_to_toml
from .device.floating_gate import fn_closed_form_V
from .energy.updates import Waveforms, account_updates, missed_edges, summarize_updates
from .netlist.generate import NetlistArtifacts, check_simulable, generate
from .netlist.render import render
from .netlist.spec import Testbench
from .outputs import (atomic_directory, write_columns_csv_atomic, write_csv_atomic, write_json_atomic,
                      write_text_atomic)
from .provenance import csv_header_comment, versions
from .report.names import vector_column
from .sim import ConvergenceError, SimulationError, simulate

OUTPUT_FILES = ("updates.csv", "summary.json", "waveforms.csv", "synthesis.csv", "netlist.cir",
                "card.toml", "fg_voltage.png", "barrier.png", "energy.png", "report.html")


@dataclass
class FlowResult:
    """What a flow run produced (also on disk in ``out_dir``)."""

    out_dir: Path
    updates: pd.DataFrame
    summary: dict[str, Any]
    synthesis: pd.DataFrame
    files: list[str] = field(default_factory=list)


def run_flow(card: Card, out_dir: Path | str, engine: str | None = None, kind: str = "cell",
             array: tuple[int, int] | None = None, progress: bool = True,
             write_waveforms: bool = True, artifacts: NetlistArtifacts | None = None) -> FlowResult:
    """Simulate ``card`` and write the results into ``out_dir`` (replaced if it exists).

    ``artifacts``: a prepared testbench (e.g. with per-cell mismatch or a column
    offset, built with :func:`lim_hw.netlist.spec.array_testbench`) to simulate
    instead of the one ``kind``/``array`` would generate.
    """
    engine = engine or card.simulation.engine
    if engine == "fast":
        from .fast.flow import run_fast_flow  # the vectorised model: same outputs, no waveforms

        return run_fast_flow(card, Path(out_dir), kind=kind, array=array, progress=progress)
    bar = tqdm(total=4, desc=f"lim-hw {card.name}", unit="step", disable=not progress, file=sys.stderr,
               leave=False)
    bar.set_postfix_str("synthesis + netlist")
    clock = _Clock()
    if artifacts is not None:
        check_simulable(artifacts.card)
    art = artifacts if artifacts is not None else generate(card, kind, array)
    tb = art.testbench
    bar.update()
    bar.set_postfix_str(f"ngspice ({engine})")
    # Import the plotting stack (~0.3 s) while ngspice runs: the wait releases the GIL.
    preload = threading.Thread(target=importlib.import_module, args=("lim_hw.report.plots",), daemon=True)
    clock.lap("synthesis_netlist_s")
    preload.start()
    with tqdm(total=tb.tstop_s, desc="  ngspice", unit="s sim", disable=not progress, file=sys.stderr,
              leave=False, bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.4g}/{total:.4g} s simulated "
                                      "[{elapsed}<{remaining}]") as sim_bar:
        def advance(t_s: float) -> None:
            sim_bar.update(max(min(t_s, tb.tstop_s) - sim_bar.n, 0.0))

        sim, tb, deck = _simulate_resolving_edges(card, art.table, tb, engine,
                                                  advance if progress else None)
    clock.lap("simulate_s")
    preload.join()
    bar.update()
    bar.set_postfix_str("energy accounting")
    wf = Waveforms(sim.time_s, sim.vectors)
    updates = account_updates(card, art.table, tb, wf)
    clock.lap("energy_accounting_s")
    summary: dict[str, Any] = {
        "card": card.name, "testbench": tb.kind if array is None else f"array {array[0]}x{array[1]}",
        "engine": engine, **summarize_updates(updates),
    }
    if card.n_updates == 0:
        summary.update(retention_check(card, wf, tb))
    summary["provenance"] = {
        **versions(), "ngspice": sim.ngspice_version, "netlist_sha256": sim.netlist_sha256,
        "options": dict(tb.options), "tran": {"tstep_s": tb.tstep_s, "tstop_s": tb.tstop_s,
                                              "tmax_s": tb.tmax_s},
        "simulation_wall_s": sim.wall_s, "n_timepoints": int(sim.time_s.size),
    }
    summary["card_values"] = card_to_dict(card)
    bar.update()
    bar.set_postfix_str("report")
    summary["timing_s"] = clock.laps  # outputs time is added below, in summary.json too
    with atomic_directory(out_dir) as tmp:
        files = _write_outputs(tmp, card, art, deck, updates, summary, wf, write_waveforms, clock)
    bar.update()
    bar.close()
    return FlowResult(Path(out_dir), updates, summary, art.table, files)


#: Maximum-step factors tried in turn when ngspice steps over a pulse edge or gives up
#: with "timestep too small" (both happen at pulse edges when tmax is large).
EDGE_RETRY_FACTORS = (1.0, 1.0 / 3.0, 1.0 / 10.0, 1.0 / 30.0)


def _simulate_resolving_edges(card: Card, table: pd.DataFrame, tb: Testbench, engine: str,
                              progress: Callable[[float], None] | None = None):
    """Run ngspice; if it stepped over a pulse edge, retry with a smaller maximum step.

    ngspice's breakpoint handling occasionally skips a source edge at long times
    (no time point at the edge, so the drive and its energy are unresolved).
    The check is :func:`~lim_hw.energy.updates.missed_edges`; a run that still
    misses edges after every retry is an error, never a silently wrong result.
    """
    base = tb.tmax_s
    retry = card.n_updates > 0 and not card.simulation.max_step_s  # a user-set max step is kept
    for factor in EDGE_RETRY_FACTORS if retry else (1.0,):
        tb_try = dataclasses.replace(tb, tmax_s=base * factor)
        deck = render(tb_try)
        try:
            sim = simulate(deck, tb_try.saves, engine=engine, timeout_s=card.simulation.timeout_s,
                           progress=progress)
        except ConvergenceError:
            if not retry or factor == EDGE_RETRY_FACTORS[-1]:
                raise
            continue
        missed = missed_edges(card, table, sim.time_s)
        if missed.size == 0:
            return sim, tb_try, deck
    raise SimulationError(
        f"ngspice stepped over {missed.size} pulse edge(s) (first at t = {missed[0]:.9g} s) with the "
        f"maximum step at {tb_try.tmax_s:.3g} s -- hint: set a smaller [simulation] max_step_s, "
        "lengthen [programming] rise_s, or shorten the run")


def retention_check(card: Card, wf: Waveforms, tb) -> dict[str, float]:
    """Largest relative deviation of the simulated oxide voltage from the closed form (t >= 1 s)."""
    d = card.device
    probe = tb.probes[0]
    mask = wf.time_s >= 1.0
    t = wf.time_s[mask]
    v_sim = wf.v_ox(probe)[mask]
    v_cf = fn_closed_form_V(t, d.tox_m, d.area_m2, d.C_T_F, d.V0_V, d.phi_B_eV, d.m_eff)
    rel = np.abs(v_sim / v_cf - 1.0)
    return {"retention_max_rel_error": float(rel.max()) if rel.size else float("nan"),
            "retention_V_ox_end_V": float(v_sim[-1]) if v_sim.size else float("nan"),
            "retention_V_ox_end_closed_form_V": float(v_cf[-1]) if v_cf.size else float("nan")}


class _Clock:
    """Wall-clock laps of the flow's stages (reported in summary.json as timing_s)."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._t = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = now - self._t
        self._t = now


def _write_outputs(out: Path, card: Card, art, deck: str, updates: pd.DataFrame,
                   summary: dict[str, Any], wf: Waveforms, write_waveforms: bool, clock: _Clock) -> list[str]:
    from .report import html as html_report  # matplotlib is imported only when a report is written
    from .report import plots

    tb = art.testbench
    write_csv_atomic(out / "updates.csv", updates)
    write_csv_atomic(out / "synthesis.csv", art.table)
    stamp = csv_header_comment().lstrip("# ").strip()
    write_text_atomic(out / "netlist.cir", deck.replace("\n", f"\n* {stamp}\n", 1) + ".end\n")
    card_toml = card_to_toml(card, header=f"device card of run '{card.name}' (lim-hw)\n{stamp}")
    write_text_atomic(out / "card.toml", card_toml)
    files = ["updates.csv", "summary.json", "synthesis.csv", "netlist.cir", "card.toml"]
    if write_waveforms:
        write_columns_csv_atomic(out / "waveforms.csv", {
            "time_s": wf.time_s, **{vector_column(k): v for k, v in wf.vectors.items()}})
        files.append("waveforms.csv")
    fg_traces = {f"V({p.fg[2:-1]})": wf[p.fg] for p in tb.probes[:4]}
    d = card.device
    closed = None
    if card.n_updates == 0:
        closed = d.V_tun_V - fn_closed_form_V(wf.time_s, d.tox_m, d.area_m2, d.C_T_F, d.V0_V,
                                              d.phi_B_eV, d.m_eff)
    images = {"Floating-gate voltage over time": plots.plot_floating_gate(
        wf.time_s, fg_traces, updates, out / "fg_voltage.png", closed).name}
    if not updates.empty:
        images["Effective barrier vs the LIM target barrier"] = plots.plot_barrier(
            updates, d.T_K, out / "barrier.png").name
        images["Energy per update vs the LIM bound"] = plots.plot_energy(updates, out / "energy.png").name
    files += list(images.values())
    clock.lap("waveforms_plots_s")
    write_json_atomic(out / "summary.json", summary)
    html_report.write_report(out, f"lim-hw run: {card.name}", summary, updates, images, files, card_toml)
    return files + ["report.html"]
