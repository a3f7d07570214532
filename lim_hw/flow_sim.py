"""The flow's ngspice runs: retries for stepped-over pulse edges, and arrays as column blocks.

:func:`simulate_resolving_edges` runs one testbench and re-runs it with a smaller
maximum step if ngspice stepped over a pulse edge. :func:`simulate_blocks` runs
a ``rows x cols`` array as exact column blocks (:mod:`lim_hw.netlist.blocks`),
``jobs`` at a time (each block is its own ngspice process, so threads suffice),
and accounts each block's updates as soon as it finishes; the whole array's
table is :func:`lim_hw.energy.combine.combine_block_updates` of the blocks'.
"""

from __future__ import annotations

import dataclasses
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from .device.card import Card
from .energy.updates import Waveforms, account_updates, missed_edges
from .errors import LimHwError
from .netlist.blocks import column_blocks
from .netlist.render import render
from .netlist.spec import Testbench
from .sim import ConvergenceError, SimResult, SimulationError, simulate

#: Maximum-step factors tried in turn when ngspice steps over a pulse edge or gives up
#: with "timestep too small" (both happen at pulse edges when tmax is large).
EDGE_RETRY_FACTORS = (1.0, 1.0 / 3.0, 1.0 / 10.0, 1.0 / 30.0)


def simulate_resolving_edges(card: Card, table: pd.DataFrame, tb: Testbench, engine: str,
                             progress: Callable[[float], None] | None = None,
                             check: Callable[[SimResult, Testbench], list[str]] | None = None
                             ) -> tuple[SimResult, Testbench, str]:
    """Run ngspice; re-run with a smaller maximum step until the run resolves every edge and passes ``check``.

    ngspice's breakpoint handling occasionally skips a source edge at long times
    (no time point at the edge, so the drive and its energy are unresolved), and a
    coarse step can break a self-check (``check`` returns the failures of
    :func:`lim_hw.energy.checks.check_failures`: closures, tracking, retention).
    The maximum step is cut by the factors of :data:`EDGE_RETRY_FACTORS` while
    ``[simulation] refine`` is true and no ``max_step_s`` is set; a run that still
    fails is an error naming the failed check, never a silently wrong result.
    Returns the result, the testbench actually run (its ``tmax_s``) and its deck.
    """
    base = tb.tmax_s
    retry = card.simulation.refine and not card.simulation.max_step_s  # a user-set max step is kept
    failures: list[str] = []
    missed = np.array([])
    for factor in EDGE_RETRY_FACTORS if retry else (1.0,):
        tb_try = dataclasses.replace(tb, tmax_s=base * factor)
        deck = render(tb_try)
        try:
            sim = simulate(deck, tb_try.saves, engine=engine, timeout_s=card.simulation.timeout_s,
                           progress=progress)
        except ConvergenceError:
            if not retry or factor == EDGE_RETRY_FACTORS[-1]:
                raise
            continue
        missed = missed_edges(card, table, sim.time_s)
        if missed.size:
            failures = []
            continue
        failures = check(sim, tb_try) if check is not None else []
        if not failures:
            return sim, tb_try, deck
    if failures:
        how = (f"after {len(EDGE_RETRY_FACTORS) - 1} refinements down to a maximum step of {tb_try.tmax_s:.3g} s"
               if retry else f"with the maximum step at {tb_try.tmax_s:.3g} s and refinement off")
        raise SimulationError(f"self-check failed {how}: {failures[0]}"
                              + (f" (and {len(failures) - 1} more)" if len(failures) > 1 else "")
                              + " -- hint: set [simulation] refine = true, a smaller max_step_s, or relax the "
                              "tolerance in [simulation] if the card asks for more than ngspice can give")
    raise SimulationError(
        f"ngspice stepped over {missed.size} pulse edge(s) (first at t = {missed[0]:.9g} s) with the "
        f"maximum step at {tb_try.tmax_s:.3g} s -- hint: set a smaller [simulation] max_step_s, "
        "lengthen [programming] rise_s, or shorten the run")


def nominal_cells(card: Card, tb: Testbench) -> bool:
    """True when every cell of ``tb`` has the card's device (no per-cell mismatch).

    Only then is the tracking error a check of the simulation: with mismatch the pulses,
    synthesised for the nominal device, move other charges by design (a sweep measures that).
    """
    from .netlist.spec import Instance, device_params

    nominal = dict(device_params(card.device))
    return all(dict(e.params) == nominal for e in tb.elements if isinstance(e, Instance) and e.subckt == "fndam_cell")


class UpdateCheck:
    """The self-check of a run (a callable ``check(sim, tb) -> failures``): account its updates and
    return :func:`~lim_hw.energy.checks.check_failures`.

    It keeps the accounting of the last run it checked (:meth:`updates_for`), so the flow does not
    account the run it keeps a second time: the same function of the same waveforms, testbench and
    table, so the same table.
    """

    def __init__(self, card: Card, table: pd.DataFrame, retention: Callable | None = None) -> None:
        self.card, self.table, self.retention = card, table, retention
        self._last: tuple[SimResult, Testbench, pd.DataFrame, float] | None = None

    def __call__(self, sim: SimResult, tb: Testbench) -> list[str]:
        from .energy.checks import check_failures

        card = self.card
        wf = Waveforms(sim.time_s, sim.vectors)
        ret = self.retention(card, wf, tb)["retention_max_rel_error"] \
            if self.retention and card.n_updates == 0 else None
        t0 = time.perf_counter()
        updates = account_updates(card, self.table, tb, wf)
        self._last = (sim, tb, updates, time.perf_counter() - t0)
        return check_failures(card, updates, ret, tracking=nominal_cells(card, tb))

    def updates_for(self, sim: SimResult, tb: Testbench) -> tuple[pd.DataFrame, float] | None:
        """``(updates, accounting seconds)`` of the run ``sim`` of ``tb`` if it was the last one checked, else None."""
        if self._last is None or self._last[0] is not sim or self._last[1] is not tb:
            return None
        return self._last[2], self._last[3]


def update_check(card: Card, table: pd.DataFrame, retention: Callable | None = None) -> UpdateCheck:
    """The self-check of a run (:class:`UpdateCheck`); ``retention(card, waveforms, testbench) -> dict``
    adds the retention check of a retention card."""
    return UpdateCheck(card, table, retention)


@dataclass
class BlockRun:
    """One column block of an array: what ran and its per-update energies.

    ``waveforms`` is kept only when asked for (every block's, or the first block's
    for the plots); otherwise it is dropped once the block is accounted.
    """

    col_offset: int
    cols: int
    testbench: Testbench
    sim_wall_s: float
    n_timepoints: int
    netlist_sha256: str
    ngspice_version: str
    updates: pd.DataFrame
    waveforms: Waveforms | None

    def provenance(self) -> dict:
        return {"col_offset": self.col_offset, "cols": self.cols, "tmax_s": self.testbench.tmax_s,
                "netlist_sha256": self.netlist_sha256, "n_timepoints": self.n_timepoints,
                "simulation_wall_s": self.sim_wall_s}


def simulate_blocks(card: Card, table: pd.DataFrame, rows: int, cols: int, block_cols: int, engine: str,
                    jobs: int = 1, keep_waveforms: bool = False,
                    done: Callable[[BlockRun], None] | None = None, tech=None) -> list[BlockRun]:
    """Simulate a ``rows x cols`` array as blocks of ``block_cols`` columns, ``jobs`` at a time.

    Blocks come back in column order; the first keeps its waveforms always
    (plots, retention check), the others when ``keep_waveforms``. ``done`` is
    called as each block finishes (progress). The first block that fails raises
    its error (a :class:`lim_hw.errors.LimHwError`) with the block's columns in the message;
    blocks not yet started are cancelled.
    """
    plan = column_blocks(cols, block_cols)

    if tech is None:
        from .tech import technology_named
        tech = technology_named("ideal")

    def one(index: int, c0: int, k: int) -> BlockRun:
        try:
            art = tech.generate(card, "cell", (rows, k), table=table, col_offset=c0)
            res = tech.simulate(card, art, engine)
        except LimHwError as exc:  # same error, its message prefixed with the block
            exc.args = (f"array block columns {c0}..{c0 + k - 1}: {exc.args[0] if exc.args else exc}",
                        *exc.args[1:])
            raise
        sim, tb = res.sim, res.testbench
        wf = Waveforms(sim.time_s, sim.vectors)
        updates = res.updates if res.updates is not None else tech.account(card, table, tb, wf)
        run = BlockRun(c0, k, tb, sim.wall_s, int(sim.time_s.size), sim.netlist_sha256, sim.ngspice_version,
                       updates, wf if keep_waveforms or index == 0 else None)
        if done is not None:
            done(run)
        return run

    workers = max(1, min(jobs, len(plan))) if engine == "batch" else 1  # libngspice: one at a time
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lim-hw-block") as pool:
        futures = [pool.submit(one, b, c0, k) for b, (c0, k) in enumerate(plan)]
        finished, _ = wait(futures, return_when=FIRST_EXCEPTION)
        failed = [f for f in futures if f in finished and f.exception() is not None]
        if failed:
            for f in futures:
                f.cancel()
            raise failed[0].exception()
        return [f.result() for f in futures]
