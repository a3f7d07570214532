"""The end-to-end flow: card -> synthesis -> netlist -> ngspice -> energy per update -> report.

:func:`run_flow` is what ``lim-hw simulate`` and ``lim-hw run`` call. Its output
directory is built in a temporary sibling and moved into place only when
everything succeeded, so a failed run leaves no partial results.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from .device.card import Card, card_to_dict, card_to_toml, device_derived
from .device.floating_gate import device_voltage_V
from .energy.combine import combine_block_updates
from .energy.checks import closure_summary
from .energy.updates import Waveforms, summarize_updates
from .flow_sim import EDGE_RETRY_FACTORS, BlockRun, simulate_blocks
from .netlist.blocks import block_columns, check_columns_independent, column_blocks
from .netlist.generate import NetlistArtifacts
from .netlist.spec import Testbench
from .netlist.validate import spice_title
from .outputs import (atomic_directory, write_columns_csv_atomic, write_csv_atomic, write_json_atomic,
                      write_text_atomic)
from .limits import check_run_size
from .progress import show_progress
from .provenance import csv_header_comment, versions
from .report.names import vector_column
from .sim import netlist_sha256
from .sim.rawfile import write_raw
from .tech import pdk_record, technology_for

OUTPUT_FILES = ("updates.csv", "summary.json", "waveforms.raw", "synthesis.csv", "netlist.cir",
                "card.toml", "energy.png", "update_zoom.png", "fg_voltage.png", "barrier.png", "report.html")


@dataclass
class FlowResult:
    """What a flow run produced (also on disk in ``out_dir``, unless it ran in memory).

    ``waveforms``: the simulated vectors by ngspice name (``result.waveforms["v(fg)"]``;
    for an array in column blocks, the first block's), None for the fast engine.
    """

    out_dir: Path | None
    updates: pd.DataFrame
    summary: dict[str, Any]
    synthesis: pd.DataFrame
    files: list[str] = field(default_factory=list)
    waveforms: Waveforms | None = None


def run_flow(card: Card, out_dir: Path | str | None, engine: str | None = None, kind: str = "cell",
             array: tuple[int, int] | None = None, progress: bool = True,
             write_waveforms: bool = True, artifacts: NetlistArtifacts | None = None,
             jobs: int | None = None, waveforms_csv: bool = False, plots: bool = True,
             ideal_reference: bool = True, table: pd.DataFrame | None = None,
             shot_noise_check: int = 0) -> FlowResult:
    """Simulate ``card`` and write the results into ``out_dir`` (replaced if it exists).

    ``out_dir=None`` runs in memory: nothing is written and the result holds the
    tables, the summary and the waveforms. ``plots=False`` skips the PNG plots and
    report.html (and matplotlib's import): what sweeps and regression suites want per
    point; the numbers and the other files are the same.

    ``artifacts``: a prepared testbench (e.g. with per-cell mismatch or a column
    offset, built with :func:`lim_hw.netlist.spec.array_testbench`) to simulate
    instead of the one ``kind``/``array`` would generate. An ``array`` with more
    than ``[simulation] array_block_synapses`` synapses runs as exact column blocks
    (:mod:`lim_hw.netlist.blocks`), ``jobs`` ngspice processes at a time (default:
    one per CPU); ``netlist.cir`` is still the whole array.

    Waveforms (every saved vector, ngspice names) go to ``waveforms.raw``, ngspice's
    binary raw format (no text formatting, so it costs ~10 ms where a CSV of the same
    run costs about half the simulation time); ``waveforms_csv`` adds ``waveforms.csv``
    (SI-unit column names); ``write_waveforms=False`` writes neither.

    The card's technology (``[technology] pdk``, :mod:`lim_hw.tech`) builds, runs and
    accounts the testbench. A card of another technology than ``ideal`` (e.g. sky130)
    also runs its ideal twin (:func:`lim_hw.tech.compare.ideal_reference_card`) into
    ``ideal/`` when a report is written, with ``compare.csv``/``compare.png`` and a report
    section (``ideal_reference=False``: not).

    ``table``: the card's synthesis table when the caller already has it (a sweep
    plans every point), so it is not synthesised again.
    ``shot_noise_check = M`` (ngspice engines) also simulates update 1's window with the
    junction's transient shot noise for seeds 1..M (:mod:`lim_hw.netlist.shot`) and writes
    the statistics into summary.json ``shot_noise_ngspice``.
    """
    progress = show_progress(progress)  # bars on a terminal only
    engine = engine or card.simulation.engine
    check_run_size(card.n_updates, engine, array)
    if card.programming.decrease == "injection" and engine == "fast":
        from .errors import InputError

        raise InputError("[programming] decrease = \"injection\" runs in the ngspice engines (batch, shared); "
                         "the fast model has no injector")
    if card.simulation.stochastic and engine != "fast":
        from .errors import InputError

        raise InputError("[simulation] stochastic (Poisson electrons) runs in the fast engine only: ngspice makes no "
                         "device shot noise in .tran (docs/device.md s.10); use --engine fast")
    tech = technology_for(card)
    tech.check(card, engine, kind, array)
    if shot_noise_check and card.technology.pdk != "ideal":
        from .errors import InputError

        raise InputError(f"--shot-noise-check simulates the ideal junction's shot noise; a {card.technology.pdk} "
                         "card cannot use it (run the ideal twin of the card, [technology] pdk = \"ideal\")")
    if engine == "fast":
        from .fast.flow import run_fast_flow  # the vectorised model: same outputs, no waveforms

        return run_fast_flow(card, None if out_dir is None else Path(out_dir), kind=kind, array=array,
                             progress=progress, plots=plots, table=table)
    bar = tqdm(total=4, desc=f"lim-hw {card.name}", unit="step", disable=not progress, file=sys.stderr,
               leave=False)
    bar.set_postfix_str("synthesis + netlist")
    clock = _Clock()
    if artifacts is not None:
        tech.check(artifacts.card, engine, kind, array)
    art = artifacts if artifacts is not None else tech.generate(card, kind, array, table=table)
    block_cols = None
    if array is not None and artifacts is None:
        block_cols = block_columns(array[0], array[1], card.simulation.array_block_synapses)
        if block_cols >= array[1]:
            block_cols = None
        else:
            check_columns_independent(art.testbench)
    bar.update()
    bar.set_postfix_str(f"ngspice ({engine})")
    # Import the plotting stack (~0.3 s) while ngspice runs: the wait releases the GIL. Not a daemon:
    # if the simulation fails, interpreter shutdown waits for the import instead of aborting inside it.
    draw = plots and out_dir is not None
    preload = threading.Thread(target=importlib.import_module, args=("lim_hw.report.figures",), daemon=False)
    clock.lap("synthesis_netlist_s")
    if draw:
        preload.start()
    if block_cols is None:
        tb, deck, wf, sim_info, table, checked = _simulate_whole(tech, card, art, engine, progress)
        art = dataclasses.replace(art, table=table)  # the table that ran (sky130: after its closed loop)
        clock.lap("simulate_s")
        if checked is not None:  # the self-check accounted the run: its table, its time moved to accounting
            updates, accounting_s = checked
            clock.move("simulate_s", "energy_accounting_s", accounting_s)
        else:
            updates = tech.account(card, art.table, tb, wf)
        block_runs: list[BlockRun] = []
    else:
        block_runs = _simulate_in_blocks(card, art, array, block_cols, engine, jobs, write_waveforms, progress)
        clock.lap("simulate_s")  # each block is accounted as it finishes (inside this lap)
        tb, wf = block_runs[0].testbench, block_runs[0].waveforms
        deck = tech.deck(art)
        updates = combine_block_updates([r.updates for r in block_runs])
        sim_info = {"ngspice": block_runs[0].ngspice_version, "netlist_sha256": netlist_sha256(deck),
                    "simulation_wall_s": sum(r.sim_wall_s for r in block_runs),
                    "n_timepoints": max(r.n_timepoints for r in block_runs),
                    "blocks": [r.provenance() for r in block_runs]}
    if draw:
        preload.join()
    bar.update()
    bar.set_postfix_str("energy accounting")
    clock.lap("energy_accounting_s")
    summary: dict[str, Any] = {
        "card": card.name, "testbench": tb.kind if array is None else f"array {array[0]}x{array[1]}",
        "engine": engine, **summarize_updates(updates),
    }
    if block_runs:
        summary["array_blocks"] = {"blocks": len(block_runs), "block_cols": block_cols,
                                   "array_block_synapses": card.simulation.array_block_synapses}
    if card.n_updates == 0:
        summary.update(retention_check(art.card, wf, tb))
    base_tmax = art.testbench.tmax_s
    summary["self_check"] = {**closure_summary(art.card, updates, _refinements(base_tmax, tb.tmax_s)),
                             "passed": True, "tracking_checked": tech.nominal(card, art.testbench)}
    prov = tech.provenance(card, tb)
    if prov:  # a technology other than the ideal library: PDK, corner, extracted cell, closed loop
        summary["technology"] = {**prov, **sim_info.pop("technology", {})}
    if card.n_updates > 0:
        from .theory.bound_statement import bound_statement, injection_summary

        summary["bound"] = bound_statement(art.card, updates, art.table["half"])
        if card.programming.decrease == "injection":
            summary["injection"] = injection_summary(card, updates, art.table)
    if shot_noise_check and card.n_updates > 0:
        from .netlist.shot import shot_noise_summary

        summary["shot_noise_ngspice"] = shot_noise_summary(card, art.table, int(shot_noise_check))
    summary["provenance"] = {
        **versions(), **sim_info, **({"pdk": prov_pdk} if (prov_pdk := pdk_record(card)) else {}),
        "options": dict(tb.options),
        "tran": {"tstep_s": tb.tstep_s, "tstop_s": tb.tstop_s, "tmax_s": tb.tmax_s},
    }
    summary["card_values"] = card_to_dict(card)
    summary["device_derived"] = device_derived(art.card.device)
    bar.update()
    bar.set_postfix_str("report")
    summary["timing_s"] = clock.laps  # outputs time is added below, in summary.json too
    files: list[str] = []
    if out_dir is not None:
        with atomic_directory(out_dir) as tmp:
            sections = _ideal_reference(tech, art.card, tmp, kind, array, updates, summary) \
                if prov and draw and ideal_reference else []
            files = _write_outputs(tech, tmp, card, art, tb, updates, summary, wf,
                                   ("raw", "csv") if waveforms_csv else ("raw",) if write_waveforms else (),
                                   clock, block_runs, draw, sections)
    bar.update()
    bar.close()
    return FlowResult(None if out_dir is None else Path(out_dir), updates, summary, art.table, files, wf)


def _simulate_whole(tech, card: Card, art: NetlistArtifacts, engine: str, progress: bool
                    ) -> tuple[Testbench, str, Waveforms, dict[str, Any], pd.DataFrame,
                               tuple[pd.DataFrame, float] | None]:
    """One ngspice run of the whole testbench (by its technology), with a progress bar of simulated time;
    the last item is ``(updates, accounting seconds)`` when the technology's self-check accounted the run."""
    tb = art.testbench
    with tqdm(total=tb.tstop_s, desc="  ngspice", unit="s sim", disable=not progress, file=sys.stderr,
              leave=False, bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.4g}/{total:.4g} s simulated "
                                      "[{elapsed}<{remaining}]") as sim_bar:
        def advance(t_s: float) -> None:
            sim_bar.update(max(min(t_s, tb.tstop_s) - sim_bar.n, 0.0))

        run = tech.simulate(card, art, engine, advance if progress else None, retention=retention_check)
    sim, tb, deck = run.sim, run.testbench, run.deck
    info = {"ngspice": sim.ngspice_version, "netlist_sha256": sim.netlist_sha256,
            "simulation_wall_s": sim.wall_s, "n_timepoints": int(sim.time_s.size)}
    if run.iterations or run.info:
        info["technology"] = {**({"closed_loop": list(run.iterations)} if run.iterations else {}), **(run.info or {})}
    checked = (run.updates, run.accounting_s) if run.updates is not None else None
    return tb, deck, Waveforms(sim.time_s, sim.vectors), info, run.table, checked


def _simulate_in_blocks(card: Card, art: NetlistArtifacts, array: tuple[int, int], block_cols: int, engine: str,
                        jobs: int | None, keep_waveforms: bool, progress: bool) -> list[BlockRun]:
    """The array as column blocks, with a progress bar of finished blocks."""
    rows, cols = array
    n_blocks = len(column_blocks(cols, block_cols))
    with tqdm(total=n_blocks, desc=f"  ngspice, {rows}x{block_cols} blocks", unit="block", disable=not progress,
              file=sys.stderr, leave=False) as block_bar:
        return simulate_blocks(card, art.table, rows, cols, block_cols, engine, jobs=jobs or os.cpu_count() or 1,
                               keep_waveforms=keep_waveforms, done=lambda _run: block_bar.update(),
                               tech=technology_for(card))


def _refinements(base_tmax_s: float, tmax_s: float) -> int:
    """How many refinement steps (EDGE_RETRY_FACTORS) the run that was kept took."""
    ratios = [abs(tmax_s / base_tmax_s - f) for f in EDGE_RETRY_FACTORS] if base_tmax_s > 0 else [0.0]
    return int(np.argmin(ratios))


def retention_check(card: Card, wf: Waveforms, tb) -> dict[str, float]:
    """Largest relative deviation of the simulated oxide voltage from the Python model (t >= 1 s).

    The model is the closed form for the classic law, else the exact trajectory of the
    card's FN law (docs/device.md s.8); the keys keep their historical ``closed_form`` name.
    """
    probe = tb.probes[0]
    mask = wf.time_s >= 1.0
    t = wf.time_s[mask]
    v_sim = wf.v_ox(probe)[mask]
    v_cf = device_voltage_V(card.device, t)
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
        self.laps[name] = self.laps.get(name, 0.0) + now - self._t
        self._t = now

    def move(self, src: str, dst: str, seconds: float) -> None:
        """Count ``seconds`` of lap ``src`` under ``dst`` (work of one stage done inside another's lap)."""
        seconds = min(max(seconds, 0.0), self.laps.get(src, 0.0))
        self.laps[src] = self.laps.get(src, 0.0) - seconds
        self.laps[dst] = self.laps.get(dst, 0.0) + seconds


def _waveform_files(wf: Waveforms, block_runs: list[BlockRun]) -> list[tuple[str, Waveforms]]:
    """``waveforms``, or one ``waveforms_c<first>-<last>`` per column block (own time axis); no suffix."""
    if not block_runs:
        return [("waveforms", wf)]
    return [(f"waveforms_c{r.col_offset}-{r.col_offset + r.cols - 1}", r.waveforms) for r in block_runs
            if r.waveforms is not None]


def _ideal_reference(tech, effective: Card, out: Path, kind: str, array, updates: pd.DataFrame,
                     summary: dict[str, Any]) -> list[tuple[str, str]]:
    """Run the ideal twin of a technology's card into ``out/ideal``; compare table, plot, report section."""
    from .tech.compare import compare_table, ideal_reference_card, plot_compare, report_section

    ref = run_flow(ideal_reference_card(effective), out / "ideal", kind=kind, array=array, progress=False,
                   write_waveforms=False)
    table = compare_table(tech.name, updates, ref.updates)
    write_csv_atomic(out / "compare.csv", table, provenance=False)
    plot_compare(table, tech.name, out / "compare.png")
    summary["ideal_reference"] = {k: ref.summary[k] for k in ("E_supply_median_J", "E_net_median_J",
                                                              "E_tunnel_median_J", "ratio_supply_to_bound_median",
                                                              "tracking_error_max_abs") if k in ref.summary}
    summary["ideal_reference"]["directory"] = "ideal"
    return [report_section(table, tech.name, "compare.png", summary.get("technology", {}).get("design", {}))]


def _write_outputs(tech, out: Path, card: Card, art, tb: Testbench, updates: pd.DataFrame,
                   summary: dict[str, Any], wf: Waveforms, waveform_formats: tuple[str, ...], clock: _Clock,
                   block_runs: list[BlockRun], draw: bool = True, sections: list[tuple[str, str]] = ()) -> list[str]:

    write_csv_atomic(out / "updates.csv", updates, provenance=False)  # versions: summary.json
    write_csv_atomic(out / "synthesis.csv", art.table, provenance=False)
    stamp = csv_header_comment().lstrip("# ").strip()
    write_text_atomic(out / "netlist.cir", tech.file_text(art, stamp, None if block_runs else tb))
    card_toml = card_to_toml(card, header=f"device card of run '{card.name}' (lim-hw)\n{stamp}")
    write_text_atomic(out / "card.toml", card_toml)
    files = ["updates.csv", "summary.json", "synthesis.csv", "netlist.cir", "card.toml"]
    for stem, w in _waveform_files(wf, block_runs) if waveform_formats else ():
        if "raw" in waveform_formats:
            write_raw(out / f"{stem}.raw", w.time_s, w.vectors, title=spice_title(tb.title),
                      ngspice=str(summary["provenance"].get("ngspice", "ngspice")))
            files.append(f"{stem}.raw")
        if "csv" in waveform_formats:
            write_columns_csv_atomic(out / f"{stem}.csv", {
                "time_s": w.time_s, **{vector_column(k): v for k, v in w.vectors.items()}}, provenance=False)
            files.append(f"{stem}.csv")
    if not draw:
        clock.lap("waveforms_plots_s")
        write_json_atomic(out / "summary.json", summary)
        return files
    from .report import html as html_report  # matplotlib is imported only when a report is written

    images = tech.figures(out, art.card, art.table, updates, tb, wf)
    files += list(images.values())
    if sections:
        files += ["compare.csv", "compare.png", "ideal/report.html"]
    clock.lap("waveforms_plots_s")
    write_json_atomic(out / "summary.json", summary)
    html_report.write_report(out, f"lim-hw run: {card.name}", summary, updates, images, files, card_toml,
                             sections=sections)
    return files + ["report.html"]
