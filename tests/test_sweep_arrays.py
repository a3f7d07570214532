"""Arrays as column blocks: the split run equals the monolithic run; coupled columns are refused.

Measured with ngspice 39 on the 2x4 array below (3 updates, default card): tunnelling energy and
transitions per update agree to ~2e-9 relative; supply/net energies to ~3e-5 relative, because
ngspice picks a slightly different time grid for a smaller circuit and the driver's RC edges are
integrated on it (fg voltages agree to 1e-10 V). The tolerances below leave a factor 3-5 of margin.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from lim_hw.device.card import default_card
from lim_hw.errors import InputError
from lim_hw.netlist.generate import generate
from lim_hw.netlist.render import render
from lim_hw.netlist.spec import Resistor, array_testbench
from lim_hw.netlist.synthesis import synthesize
from lim_hw.netlist.blocks import check_columns_independent, column_blocks
from lim_hw.sweep.arrays import simulate_array_blocks
from lim_hw.sweep.executors import make_executor
from lim_hw.sweep.runner import point_testbench
from lim_hw.sweep.spec import Distribution, MonteCarlo, sample_mismatch

CARD = default_card().with_updates(schedule={"n_updates": 3})
TOL = {"E_supply_J": 1e-4, "E_net_J": 1e-4, "E_tunnel_J": 1e-8, "N_sim": 1e-8, "E_eff_J": 1e-9}


def test_block_split_equals_monolithic(tmp_path):
    rows, cols = 2, 4
    cells = [(r, c, h) for r in range(rows) for c in range(cols) for h in "pm"]
    mc = MonteCarlo(1, 7, (Distribution("tox_m", "normal", (("sigma_rel", 0.01),)),
                           Distribution("area_m2", "lognormal", (("sigma_ln", 0.05),))))
    mismatch = sample_mismatch(CARD, cells, mc, 0)
    with make_executor("local", workers=2) as ex:
        mono = simulate_array_blocks(CARD, rows, cols, cols, mismatch, tmp_path / "mono", ex)
        split = simulate_array_blocks(CARD, rows, cols, 2, mismatch, tmp_path / "split", ex)
    assert len(mono.blocks) == 1 and len(split.blocks) == 2
    assert list(split.blocks["col_offset"]) == [0, 2]
    a, b = mono.updates, split.updates
    assert (a["n_cells_programmed"] == 8).all() and (b["n_cells_programmed"] == 8).all()
    for col, tol in TOL.items():
        rel = np.max(np.abs(a[col].to_numpy() / b[col].to_numpy() - 1.0))
        assert rel < tol, (col, rel)
    assert np.array_equal(a["E_bound_J"], b["E_bound_J"])
    # the mismatch matters: a mismatch-free array tracks the schedule differently
    assert mono.summary["tracking_error_max_abs"] > 0
    # rerunning finds every block done
    again = simulate_array_blocks(CARD, rows, cols, 2, mismatch, tmp_path / "split", None)
    assert again.updates.equals(split.updates)


def test_block_testbench_without_mismatch_is_run_flows_array():
    table = synthesize(CARD)
    ours = point_testbench(CARD, table, "array", (2, 3))
    assert render(ours) == generate(CARD, array=(2, 3)).deck()
    block = point_testbench(CARD, table, "array", (2, 2), col_offset=4)
    assert "xr1c5m" in render(block) and "xr0c0p" not in render(block)


def test_column_blocks_and_coupled_columns():
    assert column_blocks(5, 2) == [(0, 2), (2, 2), (4, 1)]
    tb = array_testbench(CARD, synthesize(CARD), 2, 2)
    check_columns_independent(tb)
    coupled = dataclasses.replace(tb, elements=tb.elements + (Resistor("rleak", "fgp_0_0", "fgp_0_1", 1e15),))
    with pytest.raises(InputError, match="coupled"):
        check_columns_independent(coupled)
    with pytest.raises(InputError, match="outside"):
        simulate_array_blocks(CARD, 2, 2, 1, {(0, 2, "p"): {"tox_m": 12e-9}}, "unused")
