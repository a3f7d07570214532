"""One call from a card to a testbench, its deck text and its synthesis table."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..device.card import Card
from ..errors import InputError
from .render import LIBRARY_FILE, render, render_file
from .spec import Testbench, build_testbench
from .synthesis import synthesize

_ARRAY_RE = re.compile(r"([1-9][0-9]{0,3})x([1-9][0-9]{0,3})")


def parse_array(text: str | None) -> tuple[int, int] | None:
    """Parse ``ROWSxCOLS`` (e.g. ``4x4``); None passes through."""
    if text is None:
        return None
    m = _ARRAY_RE.fullmatch(str(text).strip().lower())
    if not m:
        raise InputError(f"--array {text!r} is not ROWSxCOLS; write e.g. --array 4x4 (1..9999 each)")
    return int(m.group(1)), int(m.group(2))


@dataclass(frozen=True)
class NetlistArtifacts:
    """A generated testbench with its synthesis table and deck text."""

    card: Card
    table: pd.DataFrame
    testbench: Testbench

    def deck(self, library: Path | str = LIBRARY_FILE) -> str:
        """Deck for the simulation engines (no .control, no .end)."""
        return render(self.testbench, library)

    def windows(self) -> list[tuple[int, str, float, float]]:
        """``(n, half, t_start_s, t_end_s)`` of every update window: the energy accounting's own
        (:func:`lim_hw.energy.updates.update_windows`), so the deck measures what updates.csv reports."""
        from ..energy.updates import update_windows  # the one definition of a window

        return [(int(n), str(h), a, b) for n, h, (a, b) in
                zip(self.table["n"], self.table["half"], update_windows(self.card, self.table))]

    def file_text(self, library: Path | str = LIBRARY_FILE, stamp: str = "",
                  testbench: Testbench | None = None) -> str:
        """Stand-alone deck with .save, the self-check .meas lines and .end (``testbench``: e.g. the
        one a run used after a smaller maximum step, default this one)."""
        return render_file(testbench or self.testbench, library, self.windows(), stamp)


#: Shortest pulse edge, relative to the end of the run, that ngspice 39 resolves reliably:
#: 1 ns edges work to ~6000 s and fail by ~2e4 s ("timestep too small", time ulp ~ 4e-12 s).
MIN_RISE_PER_STOP = 1.5e-13


def check_simulable(card: Card) -> None:
    """Refuse pulse edges too short for ngspice at the run's time scale (InputError).

    A limit of the simulator, not of the card: the fast engine has no such limit.
    """
    min_rise = MIN_RISE_PER_STOP * card.stop_time_s
    if card.n_updates > 0 and card.programming.rise_s < min_rise:
        raise InputError(
            f"[programming] rise_s = {card.programming.rise_s:g} s is too short for ngspice in a run ending "
            f"at {card.stop_time_s:g} s: its double-precision time cannot resolve the edges there "
            f"(timestep too small); use rise_s >= {min_rise:.2g} s (and raise R_drv_ohm to keep edges "
            "fast against the driver RC), shorten the run, or use --engine fast")


def generate(card: Card, kind: str = "cell", array: tuple[int, int] | None = None,
             table: pd.DataFrame | None = None) -> NetlistArtifacts:
    """Synthesise the programming pulses of ``card`` and build its ngspice testbench."""
    check_simulable(card)
    from ..device.validity import check_bound_representable, check_physical

    check_physical(card, cells_per_line=array[0] if array is not None else 1)
    table = synthesize(card) if table is None else table
    check_bound_representable(card, table)
    tb = build_testbench(card, table, kind, array)
    check_physical(card, tb.tmax_s, cells_per_line=array[0] if array is not None else 1)
    return NetlistArtifacts(card, table, tb)
