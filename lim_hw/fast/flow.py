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
from ..energy.checks import closure_summary
from ..energy.updates import ACCOUNT_COLUMNS, summarize_updates
from ..netlist.synthesis import synthesize
from ..outputs import atomic_directory, write_csv_atomic, write_json_atomic, write_text_atomic
from ..progress import show_progress
from ..provenance import csv_header_comment, versions
from ..tech import pdk_record, technology_for
from .model import simulate_fast


def run_fast_flow(card: Card, out_dir: Path | None, kind: str = "cell", array: tuple[int, int] | None = None,
                  progress: bool = True, plots: bool = True, table=None):
    """Run the fast model on ``card`` and write the flow's result files into ``out_dir``
    (``None``: in memory, nothing written; ``plots=False``: no PNG plots and no report.html;
    ``table``: a synthesis table already made; all as :func:`lim_hw.flow.run_flow`)."""
    from ..flow import FlowResult  # late: flow imports this module lazily

    progress = show_progress(progress)  # bars on a terminal only
    bar = tqdm(total=2, desc=f"lim-hw {card.name} (fast)", unit="step", disable=not progress,
               file=sys.stderr, leave=False)
    tech = technology_for(card)
    eff, table, res, updates, note = tech.fast(card, kind, array, table=table)
    bar.update()
    summary: dict[str, Any] = {
        "card": card.name, "testbench": kind if array is None else f"array {array[0]}x{array[1]}",
        "engine": "fast", **summarize_updates(updates),
    }
    if card.n_updates > 0:
        from ..theory.bound_statement import bound_statement

        summary["bound"] = bound_statement(eff, updates)
    if res.info.get("stochastic"):
        summary["stochastic"] = {"seed": res.info["seed"], "N_sim_std_median": float(updates["N_sim_std"].median()),
                                 "N_sim_std_over_sqrt_N_window_median": float(
                                     (updates["N_sim_std"] / np.sqrt(updates["N_window"])).median())}
    if card.n_updates == 0:
        from ..device.floating_gate import device_voltage_V

        v_cf = float(device_voltage_V(eff.device, res.t_end_s))
        v_end = float(np.max(np.abs(res.V_ox_final_V / v_cf - 1.0)))
        summary.update({"retention_max_rel_error": v_end, "retention_V_ox_end_V": float(res.V_ox_final_V[0]),
                        "retention_V_ox_end_closed_form_V": v_cf})
    summary["self_check"] = {**closure_summary(card, updates), "passed": True, "note": note}
    prov = tech.provenance(card)
    if prov:  # a technology other than the ideal one: what it is and what the fast engine took from ngspice
        summary["technology"] = {**prov, "fast_engine": res.info}
    summary["provenance"] = {**versions(), **({"pdk": rec} if (rec := pdk_record(card)) else {}),
                             "fast_model": {k: v for k, v in res.info.items() if isinstance(v, (int, float, str, bool))}}
    summary["card_values"] = card_to_dict(card)
    summary["device_derived"] = device_derived(eff.device)
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


def ideal_fast(card: Card, kind: str = "cell", array: tuple[int, int] | None = None, table=None):
    """The ideal technology's fast run: ``(card, table, FastResult, updates with closures, self-check note)``
    (``table``: the synthesis table when the caller has it)."""
    from ..device.validity import check_bound_representable, check_physical
    from ..netlist.spec import _tran

    cells = array[0] if array is not None else 1
    check_physical(card, _tran(card)[2], cells_per_line=cells)  # the same checks and step as ngspice
    table = synthesize(card) if table is None else table
    check_bound_representable(card, table)
    shape: Any = tuple(array) if array is not None else 1
    cell = array is None and kind == "cell"
    if cell:
        table = table.assign(half="p")  # a cell is a cell: pulse only the + half of the model's synapse
    res = simulate_fast(card, table, n_synapses=shape)
    if cell:
        res = _drop_unpulsed_half(card, res, table)
    # the flow's columns; in the stochastic mode also the spread of the step over the programmed cells
    # (Poisson electrons: docs/device.md s.10)
    spread = ["N_sim_std", "N_sim_min", "N_sim_max"] if res.info.get("stochastic") else []
    updates = _with_closures(card, res.updates, cells)[list(ACCOUNT_COLUMNS) + spread]
    from ..energy.checks import check_failures

    failures = check_failures(card, updates)
    if failures:
        from ..errors import LimHwError
        raise LimHwError(f"self-check failed (fast engine): {failures[0]}")
    return card, table, res, updates, ("fast engine: energy_closure is the RC identity drawn = E_R + C V^2/2 per "
                                       "pulse with E_R integrated numerically; no charge closure (the model's N_sim "
                                       "and floating-gate step are one quantity)")


def _edge_resistor_energy_J(C_F: float, V_V: float, T_s: float, tau_s: float) -> float:
    """R integral of i^2 for one linear edge into a series RC, by quadrature of the current (independent of rho).

    i(t) = C (V/T) (1 - exp(-t/tau)) on the edge, then i(T) exp(-(t-T)/tau): the tail gives
    R i(T)^2 tau / 2 exactly; the edge is integrated with the trapezoid on 20001 points.
    """
    R = tau_s / C_F
    if T_s <= 0:
        return 0.5 * C_F * V_V * V_V
    t = np.linspace(0.0, T_s, 20001)
    i = C_F * V_V / T_s * -np.expm1(-t / tau_s)
    return float(R * np.trapezoid(i * i, t) + R * i[-1] ** 2 * tau_s / 2.0)


def _with_closures(card: Card, updates, cells_per_line: int):
    """The self-check columns of the fast engine (docs/flow.md, "Self-checks").

    ``E_resistor_J`` = 2 rho C_eff V_p^2 (both edges, the closed form); ``energy_closure`` checks the
    closed-form drawn drive energy C V^2 (1/2 + rho) against E_R (quadrature) + C V^2/2 per pulse;
    ``dE_cap_J`` and ``charge_closure`` are not available (NaN: not checked).
    """
    from .energy import drive_constants

    drive = drive_constants(card, cells_per_line)
    vp = updates["V_p_V"].to_numpy(dtype=float)
    C = drive.C_eff_F
    out = updates.copy()
    out["E_resistor_J"] = drive.a_net_J_per_V2 * vp * vp
    if C > 0 and drive.tau_s > 0:
        unit = _edge_resistor_energy_J(C, 1.0, card.programming.rise_s, drive.tau_s)  # per V^2
        drawn = drive.a_drawn_J_per_V2 * vp * vp
        with np.errstate(divide="ignore", invalid="ignore"):
            out["energy_closure"] = np.where(drawn > 0, (drawn - (unit + 0.5 * C) * vp * vp) / drawn, 0.0)
    else:
        out["energy_closure"] = 0.0
    out["dE_cap_J"] = np.nan
    out["charge_closure"] = np.nan
    return out


def _drop_unpulsed_half(card: Card, res, table):
    """Remove the - half of the model's synapse from a cell run (small and local: the kernels stay as they are).

    The model always simulates a synapse; the bias source's energy then includes the free-decay
    charge of the unpulsed half in every window, ``V_tun (1 - C_j/C_T) Q_m`` (~1.9e-18 J per
    update on the default card). Its decay is the closed form from V0 at t = 0, so Q_m per window
    is ``C_T (V(t_n) - V(t_n + W))``; subtract its energy from drawn and net energy.
    """
    import dataclasses

    from ..device.floating_gate import device_voltage_V
    from .energy import drive_constants

    d, prog = card.device, card.programming
    t = table["t_s"].to_numpy(dtype=float)
    W = prog.pulse_width_s + 2.0 * prog.rise_s
    V = lambda x: np.asarray(device_voltage_V(d, x))  # noqa: E731  (the card's FN law)
    E_m = drive_constants(card).c_bias_J_per_C * d.C_T_F * (V(t) - V(t + W))
    u = res.updates.copy()
    for col in ("E_supply_J", "E_net_J", "E_bias_J"):
        u[col] = u[col] - E_m
    u["E_recovered_J"] = u["E_supply_J"] - u["E_net_J"]
    with np.errstate(divide="ignore", invalid="ignore"):
        u["eta_recovery"] = np.where(u["E_supply_J"] > 0, u["E_recovered_J"] / u["E_supply_J"], np.nan)
        for name, col in (("ratio_supply_to_bound", "E_supply_J"), ("ratio_net_to_bound", "E_net_J")):
            u[name] = np.where(u["E_bound_J"] > 0, u[col] / u["E_bound_J"], np.nan)
    return dataclasses.replace(res, updates=u)
