"""The same card in two technologies, side by side: energy per update against the LIM bound.

A sky130 run also runs the ``ideal`` technology on the same card with the device the
sky130 cell really has (oxide from the model file, C_T, C_c, C_j extracted), so the
difference is the drivers: ideal sources through ``R_drv_ohm`` and amplitude synthesis
against a real level shifter and 5 V driver with pulse-width synthesis. ``compare.csv``
holds both per-update tables' energies; the report gets a section and ``compare.png``.
"""

from __future__ import annotations

import dataclasses
import html
from pathlib import Path

import pandas as pd

from ..device.card import Card
from .spec import TechnologySpec

COMPARE_COLUMNS = ("E_supply_J", "E_net_J", "E_tunnel_J", "tracking_error", "ratio_supply_to_bound")


def ideal_reference_card(effective: Card) -> Card:
    """The sky130 card's ideal twin: same schedule, programming and (extracted) device, ideal technology."""
    sim = dataclasses.replace(effective.simulation, engine="batch")
    return dataclasses.replace(effective, technology=TechnologySpec(), simulation=sim, name=f"{effective.name}-ideal")


def compare_table(pdk: str, tech_updates: pd.DataFrame, ideal_updates: pd.DataFrame) -> pd.DataFrame:
    """Per update: n, the bound, Landauer, and each energy column of both technologies."""
    out = pd.DataFrame({"n": tech_updates["n"].to_numpy(), "E_bound_J": tech_updates["E_bound_J"].to_numpy(),
                        "E_landauer_J": tech_updates["E_landauer_J"].to_numpy()})
    for col in COMPARE_COLUMNS:
        out[f"{col[:-2] if col.endswith('_J') else col}_ideal{'_J' if col.endswith('_J') else ''}"] = \
            ideal_updates[col].to_numpy()
        out[f"{col[:-2] if col.endswith('_J') else col}_{pdk}{'_J' if col.endswith('_J') else ''}"] = \
            tech_updates[col].to_numpy()
    return out


def plot_compare(table: pd.DataFrame, pdk: str, path: Path) -> Path:
    """Energy drawn per update in both technologies, the tunnelling floor, the bound and Landauer."""
    from ..report import plots  # matplotlib only when a report is written

    fig, ax = plots.plt.subplots(figsize=(7, 4))
    n = table["n"]
    ax.semilogy(n, table[f"E_supply_{pdk}_J"], "o-", label=f"{pdk}: energy drawn (driver, level shifter, logic, tun)")
    ax.semilogy(n, table["E_supply_ideal_J"], "^-", label="ideal: energy drawn (ideal source through R_drv)")
    ax.semilogy(n, table[f"E_tunnel_{pdk}_J"], "s-", label=f"{pdk}: tunnelling dissipation")
    ax.semilogy(n, table["E_bound_J"], "k--", label="LIM bound N (E0 + |dE|)")
    ax.semilogy(n, table["E_landauer_J"], "k:", label="Landauer bits kT ln 2")
    ax.set_xlabel("update n")
    ax.set_ylabel("energy per update (J)")
    ax.set_title(f"The same card: ideal vs {pdk}")
    ax.legend(fontsize=7)
    return plots.save(fig, path)


def report_section(table: pd.DataFrame, pdk: str, image: str, design: dict) -> tuple[str, str]:
    """(title, HTML) of the report section: medians, per-update table, the plot, the extracted cell."""
    med = {c: float(table[c].median()) for c in table.columns if c != "n"}
    rows = "".join(
        f"<tr><td>{html.escape(label)}</td><td>{med[f'E_supply_ideal_J']:.4g}</td><td>{med[f'E_supply_{pdk}_J']:.4g}</td></tr>"
        for label in ("energy drawn per update (J)",))
    rows += (f"<tr><td>tunnelling dissipation per update (J)</td><td>{med['E_tunnel_ideal_J']:.4g}</td>"
             f"<td>{med[f'E_tunnel_{pdk}_J']:.4g}</td></tr>"
             f"<tr><td>drawn / LIM bound</td><td>{med['ratio_supply_to_bound_ideal']:.4g}</td>"
             f"<td>{med[f'ratio_supply_to_bound_{pdk}']:.4g}</td></tr>"
             f"<tr><td>LIM bound per update (J)</td><td colspan=2>{med['E_bound_J']:.4g}</td></tr>"
             f"<tr><td>Landauer per update (J)</td><td colspan=2>{med['E_landauer_J']:.4g}</td></tr>")
    cell = ", ".join(f"{k} = {v:.4g}" for k, v in design.items() if isinstance(v, float))
    body = (f"<p>The same card simulated twice: the <b>ideal</b> technology (behavioural library, ideal pulse "
            f"source through R_drv, amplitude synthesis) and <b>{html.escape(pdk)}</b> (level shifter and 5 V driver "
            f"from the PDK's transistors, pulse-width synthesis), both with the device the {html.escape(pdk)} cell "
            f"has ({html.escape(cell)}). Medians over the updates:</p>"
            f"<table class='t'><tr><th></th><th>ideal</th><th>{html.escape(pdk)}</th></tr>{rows}</table>"
            f"<img src='{html.escape(image)}' alt='ideal vs {html.escape(pdk)}'>"
            + table.to_html(index=False, float_format=lambda x: f"{x:.4g}", border=0, classes="t"))
    return f"Ideal and {pdk} designs of the same card", body
