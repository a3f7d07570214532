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
            from ...netlist.spec import array_testbench
            from ...netlist.synthesis import synthesize
            table = synthesize(card) if table is None else table
            rows, cols = array or (1, 1)
            return NetlistArtifacts(card, table, array_testbench(card, table, rows, cols, mismatch=mismatch,
                                                                 col_offset=col_offset))
        return generate(card, kind, array, table=table)

    def simulate(self, card: Card, art: NetlistArtifacts, engine: str, progress=None) -> TechRun:
        from ...flow_sim import simulate_resolving_edges
        sim, tb, deck = simulate_resolving_edges(card, art.table, art.testbench, engine, progress)
        return TechRun(sim, tb, deck, art.table)

    def account(self, card: Card, table: pd.DataFrame, tb, wf: Waveforms) -> pd.DataFrame:
        return account_updates(card, table, tb, wf)

    def deck(self, art: NetlistArtifacts) -> str:
        return render(art.testbench)

    def provenance(self, card: Card) -> dict[str, Any]:
        return {"pdk": "ideal"}


IDEAL = IdealTechnology()
