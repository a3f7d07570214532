"""``lim-hw run``: the default end-to-end flow on the built-in card (what ``make run`` calls)."""

from __future__ import annotations

import argparse
from pathlib import Path

from .simulate_cmd import add_flow_options, default_run


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="simulate the built-in default card into ./lim-hw-out/ and print the "
                                   "energy-vs-bound table",
                       description="Run the whole flow (synthesis, netlist, ngspice, energy accounting, "
                                   "report) on the built-in default device card.")
    add_flow_options(p, default_out=Path("lim-hw-out"))
    p.set_defaults(func=default_run)
