"""Exact column blocks of a synapse array.

In :func:`lim_hw.netlist.spec.array_testbench` every row's tunnelling line is
held by an ideal DC source and every column's control gate is fed through its
own ``R_drv`` from an ideal pulse driver. A node held by ideal sources passes
no signal, so the columns are electrically independent: a ``rows x cols``
array is exactly ``cols / k`` arrays of ``rows x k`` (built with
``array_testbench(..., col_offset=c0)``, which keeps the global cell names).
:func:`check_columns_independent` verifies that premise on a testbench (the
connected components of the circuit once ideal-source-held nodes are cut).

Why split at all: ngspice evaluates every FN junction's B-source expression
tree at every Newton iteration, and once the trees of all cells no longer fit
in the processor cache (between 128 and 512 cells here) the time per cell
doubles; blocks of at most ``[simulation] array_block_synapses`` synapses (64 in
the default card) keep the time linear in the number of cells (docs/benchmarks.md).
"""

from __future__ import annotations

import re

from ..errors import InputError
from .spec import VCVS, Instance, Resistor, Testbench, VSource

_CELL_RE = re.compile(r"xr(\d+)c(\d+)[pm]$")


def block_columns(rows: int, cols: int, block_synapses: int) -> int:
    """Columns per block so a block has at most ``block_synapses`` synapses (at least 1 column).

    ``block_synapses = 0`` means no splitting (all ``cols`` in one block).
    """
    if block_synapses <= 0:
        return cols
    return max(1, min(cols, block_synapses // rows))


def column_blocks(cols: int, block_cols: int) -> list[tuple[int, int]]:
    """``(col_offset, n_cols)`` of each block; the last block may be narrower."""
    if cols < 1 or block_cols < 1:
        raise InputError(f"cols = {cols} and block_cols = {block_cols} must be >= 1")
    return [(c0, min(block_cols, cols - c0)) for c0 in range(0, cols, block_cols)]


def check_columns_independent(tb: Testbench) -> None:
    """InputError unless no circuit path joins cells of different columns.

    Nodes tied to ground through ideal voltage sources (independent or VCVS) are
    fixed and cut the graph; resistors and subcircuit instances join their nodes;
    current sources carry a fixed current and join nothing.
    """
    held = {"0"}
    sources = [e for e in tb.elements if isinstance(e, (VSource, VCVS))]  # ideal voltage sources
    grew = True
    while grew:
        grew = False
        for s in sources:
            a, b = s.n_plus, s.n_minus
            if (a in held) != (b in held):
                held.add(b if a in held else a)
                grew = True
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def join(nodes) -> None:
        free = [n for n in nodes if n not in held]
        for n in free[1:]:
            parent[find(n)] = find(free[0])

    for e in tb.elements:
        if isinstance(e, Resistor):
            join((e.a, e.b))
        elif isinstance(e, Instance):
            join(e.nodes)
        elif isinstance(e, (VSource, VCVS)):
            join((e.n_plus, e.n_minus))  # a source between two free nodes couples them
    column_of: dict[str, int] = {}
    for e in tb.elements:
        m = _CELL_RE.match(e.name) if isinstance(e, Instance) else None
        if not m:
            continue
        col = int(m.group(2))
        for n in e.nodes:
            if n in held:
                continue
            root = find(n)
            if column_of.setdefault(root, col) != col:
                raise InputError(f"columns {column_of[root]} and {col} are coupled through node {n!r} (not held "
                                 "by an ideal source); simulate this array whole (block_cols = cols)")
