"""Large arrays as independent column blocks, run as a sweep.

In :func:`lim_hw.netlist.spec.array_testbench` every row's tunnelling line is
held by an ideal DC source and every column's control gate is fed through its
own ``R_drv`` from an ideal driver chain. A node held by ideal sources passes
no signal, so the columns are electrically independent: a ``rows x cols``
array is exactly ``cols / k`` arrays of ``rows x k`` (``col_offset`` keeps the
global cell names, and each block keeps its cells' mismatch). Each block is a
sweep point (own key, own directory, resumable); the per-update energies of
the whole array are recombined from the blocks' ``updates.csv``: sums over
blocks of (per-cell mean x programmed cells) / total programmed cells.

:func:`check_columns_independent` verifies the premise on the testbench
itself (connected components of the circuit once ideal-source-held nodes are
cut); a testbench with coupling between columns is refused.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..device.card import Card
from ..energy.updates import UPDATE_COLUMNS, summarize_updates
from ..errors import InputError
from ..netlist.spec import Instance, Resistor, Testbench, VSource, array_testbench
from ..netlist.synthesis import synthesize
from ..outputs import write_csv_atomic, write_json_atomic
from ..provenance import versions
from .executors import Executor, make_executor
from .runner import plan_task, run_tasks
from .spec import Mismatch
from .store import POINTS_DIR, SweepStore

#: Columns identical in every block (the schedule and the bound), taken from the first block.
SHARED = ("n", "t_s", "eps", "R_target_per_s", "E0_J", "N_target", "V_p_V", "E_bound_J", "E_landauer_J")
#: Per-programmed-cell means, recombined weighted by the programmed cells of each block.
PER_CELL = ("E_eff_J", "N_sim", "E_supply_J", "E_net_J", "E_tunnel_J")
_CELL_RE = re.compile(r"xr(\d+)c(\d+)[pm]$")


@dataclass
class ArrayResult:
    """Recombined per-update table and summary of a block-split array (also on disk)."""

    out_dir: Path
    updates: pd.DataFrame
    summary: dict[str, Any]
    blocks: pd.DataFrame


def column_blocks(cols: int, block_cols: int) -> list[tuple[int, int]]:
    """``(col_offset, n_cols)`` of each block; the last block may be narrower."""
    if cols < 1 or block_cols < 1:
        raise InputError(f"cols = {cols} and block_cols = {block_cols} must be >= 1")
    return [(c0, min(block_cols, cols - c0)) for c0 in range(0, cols, block_cols)]


def check_columns_independent(tb: Testbench) -> None:
    """InputError unless no circuit path joins cells of different columns.

    Nodes tied to ground through ideal voltage sources only are fixed and cut
    the graph; resistors and subcircuit instances join their nodes.
    """
    held = {"0"}
    sources = [e for e in tb.elements if isinstance(e, VSource)]
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
        elif isinstance(e, VSource):
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


def simulate_array_blocks(card: Card, rows: int, cols: int, block_cols: int, mismatch: Mismatch | None = None,
                          out_dir: str | Path = "array-blocks", executor: Executor | str | None = None,
                          progress: bool = False, resume: bool = True,
                          write_waveforms: bool = False) -> ArrayResult:
    """Simulate a ``rows x cols`` array as blocks of ``block_cols`` columns; recombine the energies.

    ``mismatch[(r, c, half)]`` (global column numbers) overrides ``tox_m``/``area_m2``
    per cell (see :func:`lim_hw.sweep.spec.sample_mismatch`). ``executor``: an
    executor object (used, not closed), a kind for :func:`make_executor`, or None
    (in this process). Blocks already in ``out_dir`` (same key) are reused when
    ``resume``. Writes ``out_dir/updates.csv`` (whole array), ``summary.json``,
    ``blocks.csv`` and ``points/<key16>/`` per block. ``block_cols = cols`` is the
    monolithic run. Raises InputError for bad sizes or coupled columns; a block
    that fails raises :class:`lim_hw.errors.LimHwError` naming it (after the others ran).
    """
    for name, v in (("rows", rows), ("cols", cols), ("block_cols", block_cols)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise InputError(f"{name} must be a positive integer, got {v!r}")
    mismatch = dict(mismatch or {})
    for (r, c, h) in mismatch:
        if not (0 <= r < rows and 0 <= c < cols and h in ("p", "m")):
            raise InputError(f"mismatch cell {(r, c, h)!r} is outside the {rows}x{cols} array")
    table = synthesize(card)
    check_columns_independent(array_testbench(card, table, min(rows, 2), min(cols, 2)))
    out_dir = Path(out_dir)
    tasks = []
    blocks = column_blocks(cols, block_cols)
    for c0, k in blocks:
        part = {cell: v for cell, v in mismatch.items() if c0 <= cell[1] < c0 + k}
        tasks.append(plan_task(card, "flow", out_dir / POINTS_DIR, kind="array", array=(rows, k),
                               mismatch=part or None, col_offset=c0, write_waveforms=write_waveforms,
                               table=table))
    own = not isinstance(executor, Executor)
    ex = make_executor(executor or "local", 1 if executor is None else None) if own else executor
    try:
        with SweepStore(out_dir, resume=resume) as store:
            outcome = run_tasks(tasks, store, ex, progress=progress, desc=f"array {rows}x{cols} blocks")
            records = outcome.records
    finally:
        if own:
            ex.close()
    rows_b = []
    for b, ((c0, k), t) in enumerate(zip(blocks, tasks)):
        rec = records.get(t.key, {})
        rows_b.append({"block": b, "col_offset": c0, "cols": k, "status": rec.get("status", "missing"),
                       "error": rec.get("error", ""), "wall_s": rec.get("wall_s"), "key": t.key,
                       "dir": rec.get("dir", "")})
    blocks_df = pd.DataFrame(rows_b)
    write_csv_atomic(out_dir / "blocks.csv", blocks_df)
    bad = blocks_df[blocks_df["status"] != "ok"]
    if not bad.empty:
        first = bad.iloc[0]
        raise InputError(f"block {first['block']} (columns {first['col_offset']}..) of the {rows}x{cols} array "
                         f"did not finish: {first['error'] or first['status']}")
    frames = [pd.read_csv(Path(t.out_dir) / "updates.csv", comment="#") for t in tasks]
    updates = combine_block_updates(frames)
    summary = {"card": card.name, "testbench": f"array {rows}x{cols}", "blocks": len(blocks),
               "block_cols": block_cols, **summarize_updates(updates), "versions": versions()}
    write_csv_atomic(out_dir / "updates.csv", updates)
    write_json_atomic(out_dir / "summary.json", summary)
    return ArrayResult(out_dir, updates, summary, blocks_df)


def combine_block_updates(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Whole-array per-update table from the blocks' tables (columns :data:`UPDATE_COLUMNS`)."""
    if not frames:
        raise InputError("no blocks to combine")
    first = frames[0]
    for f in frames[1:]:
        if len(f) != len(first) or not np.array_equal(f["n"].to_numpy(), first["n"].to_numpy()):
            raise InputError("the blocks have different updates; they must come from the same card")
    w = np.array([f["n_cells_programmed"].to_numpy(dtype=float) for f in frames])  # blocks x updates
    total = w.sum(axis=0)
    out = pd.DataFrame({c: first[c] for c in SHARED})
    for c in PER_CELL:
        vals = np.array([f[c].to_numpy(dtype=float) for f in frames])
        out[c] = np.where(total > 0, (vals * w).sum(axis=0) / np.where(total > 0, total, 1), np.nan)
    out["n_cells_programmed"] = total.astype(int)
    out["tracking_error"] = np.where(out["N_target"] > 0, out["N_sim"] / out["N_target"] - 1.0, np.nan)
    out["E_recovered_J"] = out["E_supply_J"] - out["E_net_J"]
    out["eta_recovery"] = np.where(out["E_supply_J"] > 0, out["E_recovered_J"] / out["E_supply_J"], np.nan)
    for name, col in (("ratio_supply_to_bound", "E_supply_J"), ("ratio_net_to_bound", "E_net_J"),
                      ("ratio_tunnel_to_bound", "E_tunnel_J")):
        out[name] = [a / b if b > 0 else math.nan for a, b in zip(out[col], out["E_bound_J"])]
    return out[list(UPDATE_COLUMNS)]
