"""Running a sky130 deck: one ngspice process, one transient per segment, stitched in global time."""

from __future__ import annotations

import re
import time

import numpy as np
import pandas as pd

from ...device.card import Card
from ...sim import netlist_sha256
from ...sim.batch import run_script
from ...sim.types import SimResult
from .cell import Sky130Testbench
from .render import raw_name, render_deck


def _vector_name(raw_name_: str) -> str:
    """ngspice raw-file variable name -> the ``v(..)``/``i(..)`` form lim-hw asks for."""
    n = raw_name_.lower()
    if n.startswith(("v(", "i(", "@")):
        return n
    if n.endswith("#branch"):
        return f"i({n[:-7]})"
    return f"v({n})"


def simulate_testbench(card: Card, tb: Sky130Testbench, table: pd.DataFrame) -> tuple[SimResult, str]:
    """Run every segment of ``tb``; return the stitched waveforms (global time) and the deck."""
    start = time.perf_counter()
    deck = render_deck(tb, table)
    plots, log, version = run_script(deck, [raw_name(k) for k in range(len(tb.segments))],
                                     timeout_s=card.simulation.timeout_s, defines=tb.defines)
    times, cols = [], {v: [] for v in tb.saves}
    for seg, plot in zip(tb.segments, plots):
        names = {_vector_name(n): k for k, n in enumerate(plot.names)}
        times.append(seg.t0_s + plot.data[0])
        for v in tb.saves:
            key = v if v in names else re.sub(r"^v\((.*)\)$", r"\1", v)
            if key not in names:
                raise KeyError(f"ngspice did not write {v} (segment at {seg.t0_s:g} s)")
            cols[v].append(plot.data[names[key]])
    t = np.concatenate(times)
    vectors = {v: np.concatenate(c) for v, c in cols.items()}
    return SimResult(time_s=t, vectors=vectors, log=log, ngspice_version=version,
                     netlist_sha256=netlist_sha256(deck), engine="batch",
                     wall_s=time.perf_counter() - start), deck
