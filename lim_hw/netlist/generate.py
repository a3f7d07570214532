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

    def file_text(self, library: Path | str = LIBRARY_FILE) -> str:
        """Stand-alone deck with .save and .end."""
        return render_file(self.testbench, library)


def generate(card: Card, kind: str = "cell", array: tuple[int, int] | None = None,
             table: pd.DataFrame | None = None) -> NetlistArtifacts:
    """Synthesise the programming pulses of ``card`` and build its testbench."""
    table = synthesize(card) if table is None else table
    return NetlistArtifacts(card, table, build_testbench(card, table, kind, array))
