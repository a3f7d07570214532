"""Large arrays as independent column blocks, run as a sweep.

A ``rows x cols`` array is exactly ``cols / k`` arrays of ``rows x k``
(:mod:`lim_hw.netlist.blocks`; ``lim-hw simulate --array`` splits the same way in
one process). Here each block is a sweep point (own key, own directory,
resumable, on any executor, with its cells' mismatch); the per-update energies
of the whole array are recombined from the blocks' ``updates.csv`` by
:func:`lim_hw.energy.combine.combine_block_updates`. A testbench with coupling
between columns is refused (:func:`~lim_hw.netlist.blocks.check_columns_independent`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..device.card import Card
from ..energy.combine import combine_block_updates
from ..energy.updates import summarize_updates
from ..errors import InputError
from ..netlist.blocks import check_columns_independent, column_blocks
from ..netlist.spec import array_testbench
from ..netlist.synthesis import synthesize
from ..outputs import write_csv_atomic, write_json_atomic
from ..provenance import versions
from .executors import Executor, make_executor
from .runner import plan_task, run_tasks
from .spec import Mismatch
from .store import POINTS_DIR, SweepStore



@dataclass
class ArrayResult:
    """Recombined per-update table and summary of a block-split array (also on disk)."""

    out_dir: Path
    updates: pd.DataFrame
    summary: dict[str, Any]
    blocks: pd.DataFrame


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
    write_csv_atomic(out_dir / "blocks.csv", blocks_df, provenance=False)
    bad = blocks_df[blocks_df["status"] != "ok"]
    if not bad.empty:
        first = bad.iloc[0]
        raise InputError(f"block {first['block']} (columns {first['col_offset']}..) of the {rows}x{cols} array "
                         f"did not finish: {first['error'] or first['status']}")
    frames = [pd.read_csv(Path(t.out_dir) / "updates.csv", comment="#") for t in tasks]
    updates = combine_block_updates(frames)
    summary = {"card": card.name, "testbench": f"array {rows}x{cols}", "blocks": len(blocks),
               "block_cols": block_cols, **summarize_updates(updates), "versions": versions()}
    write_csv_atomic(out_dir / "updates.csv", updates, provenance=False)
    write_json_atomic(out_dir / "summary.json", summary)
    return ArrayResult(out_dir, updates, summary, blocks_df)
