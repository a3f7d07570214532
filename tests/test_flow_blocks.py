"""Arrays run as exact column blocks inside the flow (issue 8): same energies as one ngspice run."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lim_hw.device.card import Card, default_card, load_card
from lim_hw.errors import InputError
from lim_hw.flow import run_flow
from lim_hw.netlist.blocks import block_columns
from lim_hw.sim import SimulationTimeoutError
from lim_hw.sim.rawfile import read_raw

#: Independent ngspice runs choose their own time steps. Tunnelling and transitions agree
#: to ~5e-10; drawn/net energy integrate the driver's RC edges on each run's own grid
#: (3e-5 measured in tests/test_sweep_arrays.py), hence the looser tolerance there.
REL_TOL = {"N_sim": 1e-8, "E_tunnel_J": 1e-8, "E_supply_J": 1e-4, "E_net_J": 1e-4}


def _card(block_synapses: int, **sim) -> Card:
    return default_card().with_updates(schedule={"n_updates": 3},
                                       simulation={"array_block_synapses": block_synapses, **sim})


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("blocks")
    whole = run_flow(_card(0), tmp / "whole", array=(2, 4), progress=False)
    split = run_flow(_card(2), tmp / "split", array=(2, 4), progress=False, jobs=2)
    return whole, split


def test_block_columns_cover_the_limit():
    assert block_columns(2, 4, 0) == 4      # 0: no split
    assert block_columns(2, 4, 2) == 1
    assert block_columns(2, 4, 5) == 2      # floor(5 / 2 rows)
    assert block_columns(100, 4, 64) == 1   # a column taller than the limit is still one block


def test_blocks_reproduce_the_whole_array_energies(runs):
    whole, split = runs
    assert "array_blocks" not in whole.summary
    assert split.summary["array_blocks"] == {"blocks": 4, "block_cols": 1, "array_block_synapses": 2}
    a, b = whole.updates, split.updates
    assert (a["n_cells_programmed"] == b["n_cells_programmed"]).all()
    assert (b["n_cells_programmed"] == 8).all()  # one half of every synapse pulsed per update
    for col, rtol in REL_TOL.items():
        np.testing.assert_allclose(b[col], a[col], rtol=rtol, err_msg=col)


def test_block_outputs_name_every_block_and_keep_the_whole_netlist(runs):
    whole, split = runs
    out = split.out_dir
    assert sorted(p.name for p in out.glob("waveforms*")) == [f"waveforms_c{c}-{c}.raw" for c in range(4)]
    names = read_raw(out / "waveforms_c3-3.raw").names
    assert "v(fgm_1_3)" in names and "v(fgm_1_0)" not in names
    deck = (out / "netlist.cir").read_text()
    assert "xr1c3m" in deck and "xr0c0p" in deck  # the whole array, as designers use it
    prov = json.loads((out / "summary.json").read_text())["provenance"]
    assert [b["col_offset"] for b in prov["blocks"]] == [0, 1, 2, 3]


def test_block_size_is_validated(tmp_path):
    for bad in ("1.5", "-1", '"64"'):
        path = tmp_path / "card.toml"
        path.write_text(f"[simulation]\narray_block_synapses = {bad}\n")
        with pytest.raises(InputError, match="array_block_synapses"):
            load_card(path)


def test_a_failing_block_names_its_columns_and_leaves_no_output(tmp_path):
    with pytest.raises(SimulationTimeoutError, match=r"array block columns \d\.\.\d: ngspice did not finish"):
        run_flow(_card(2, timeout_s=1.0, max_step_s=1e-3), tmp_path / "out", array=(2, 4), progress=False)
    assert not (tmp_path / "out").exists()
