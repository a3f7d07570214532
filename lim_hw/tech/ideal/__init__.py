"""The ``ideal`` technology: today's behavioural library (``circuits/*.lib``), the flow's reference.

Thin: every method is the function the flow called before technologies existed, so an
ideal card gives exactly the results it always gave.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ...device.card import Card
from ...energy.updates import Waveforms, account_updates
from ...netlist.generate import NetlistArtifacts, check_simulable, generate
from ...netlist.render import render
from .. import TechRun


class IdealTechnology:
    """Behavioural FN junction, ideal pulse driver through ``R_drv_ohm``, ideal sources."""

    name = "ideal"
    engines = ("batch", "shared", "fast")

    def resolve(self, card: Card) -> Card:
        return card

    def nominal_device(self, card: Card):
        return card.device

    def check(self, card: Card, engine: str, kind: str = "cell", array=None) -> None:
        check_simulable(card) if engine != "fast" else None

    def generate(self, card: Card, kind: str = "cell", array: tuple[int, int] | None = None,
                 table: pd.DataFrame | None = None, mismatch=None, col_offset: int = 0) -> NetlistArtifacts:
        if mismatch or col_offset:
            table = self.table_for(card) if table is None else table
            return NetlistArtifacts(card, table, self.point_testbench(card, table, "array" if array else kind,
                                                                      array, mismatch, col_offset))
        return generate(card, kind, array, table=table)

    def table_for(self, card: Card, kind: str = "cell", array=None, mismatch=None) -> pd.DataFrame:
        """The synthesis table a run of ``card`` uses."""
        from ...netlist.synthesis import synthesize
        return synthesize(card)

    def point_testbench(self, card: Card, table: pd.DataFrame, kind: str, array, mismatch=None,
                        col_offset: int = 0):
        """The testbench of a sweep point: run_flow's, with per-cell mismatch and column offset applied."""
        import dataclasses

        from ...errors import InputError
        from ...netlist.spec import Instance, array_testbench, build_testbench, device_params
        if kind == "array":
            rows, cols = array or (1, 1)
            return array_testbench(card, table, rows, cols, mismatch=mismatch, col_offset=col_offset)
        tb = build_testbench(card, table, kind)
        if not mismatch:
            return tb
        if kind != "cell":
            raise InputError("per-cell mismatch needs the cell or array testbench")
        over = mismatch.get((0, 0, "p"), {})
        elements = tuple(dataclasses.replace(e, params=device_params(card.device, **over))
                         if isinstance(e, Instance) and e.subckt == "fndam_cell" else e for e in tb.elements)
        return dataclasses.replace(tb, elements=elements)

    def key_deck(self, tb, table: pd.DataFrame) -> str:
        """The deck text a sweep point's key hashes (library paths left out)."""
        return render(tb, library="lim_hw.lib")

    def library_files(self) -> tuple:
        from ...netlist.render import CIRCUITS_DIR
        return tuple(sorted(CIRCUITS_DIR.glob("*.lib")))

    def simulate(self, card: Card, art: NetlistArtifacts, engine: str, progress=None, retention=None) -> TechRun:
        """ngspice with edge retries and the self-checks (``retention(card, wf, tb)``: the retention check)."""
        from ...flow_sim import simulate_resolving_edges, update_check
        check = update_check(card, art.table, retention)
        sim, tb, deck = simulate_resolving_edges(card, art.table, art.testbench, engine, progress, check=check)
        updates, accounting_s = check.updates_for(sim, tb) or (None, 0.0)  # the kept run, accounted once
        return TechRun(sim, tb, deck, art.table, updates=updates, accounting_s=accounting_s)

    def account(self, card: Card, table: pd.DataFrame, tb, wf: Waveforms) -> pd.DataFrame:
        return account_updates(card, table, tb, wf)

    def deck(self, art: NetlistArtifacts) -> str:
        return render(art.testbench)

    def fast(self, card: Card, kind: str = "cell", array=None, table: pd.DataFrame | None = None):
        """``--engine fast``: (card, table, FastResult, updates with closures, self-check note)."""
        from ...fast.flow import ideal_fast
        return ideal_fast(card, kind, array, table=table)

    def nominal(self, card: Card, tb) -> bool:
        """True when every cell has the card's device (only then is tracking a check of the run)."""
        from ...flow_sim import nominal_cells
        return nominal_cells(card, tb)

    def file_text(self, art: NetlistArtifacts, stamp: str, tb=None) -> str:
        """netlist.cir: the stand-alone deck with .save, the self-check .meas lines and .end."""
        return art.file_text(stamp=stamp, testbench=tb)

    def figures(self, out, card: Card, table: pd.DataFrame, updates: pd.DataFrame, tb=None, wf=None) -> dict:
        from ...report.figures import run_figures
        return run_figures(out, card, table, updates, tb, wf)

    def provenance(self, card: Card, tb=None) -> dict[str, Any] | None:
        """Nothing beyond the flow's own provenance (None: summary.json gets no ``technology`` table)."""
        return None


IDEAL = IdealTechnology()
