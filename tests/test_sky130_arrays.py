"""sky130 beyond the lone cell: synapse, arrays as exact column blocks, the fast engine, sweeps with corners and mismatch.

Tolerances (docs/pdk.md): column blocks against the whole array 1e-6 in transitions and
tunnelling energy, 5e-4 in supply energies (the window tolerance on the edges); the fast
engine against ngspice 1e-3 in tunnelling energy and 1e-3 in driver energy per pulse.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from lim_hw.device.card import default_card
from lim_hw.flow import run_flow
from lim_hw.sweep.spec import pdk_seed, sweep_from_dict

CARD = default_card().with_updates(technology={"pdk": "sky130", "read": False}, schedule={"n_updates": 2})


@pytest.fixture(scope="module")
def nominal(tmp_path_factory):
    return run_flow(CARD, tmp_path_factory.mktemp("n") / "cell", progress=False, ideal_reference=False,
                    write_waveforms=False)


def test_synapse_tracks_and_conserves_energy(tmp_path):
    res = run_flow(CARD, tmp_path / "syn", kind="synapse", progress=False, ideal_reference=False)
    assert res.summary["testbench"] == "synapse"
    assert res.updates["tracking_error"].abs().max() <= 1e-3
    assert (res.updates["energy_closure"].abs() <= 1e-3).all()
    assert (res.updates["charge_closure"].abs() <= 3e-3).all()
    assert (res.updates["n_cells_programmed"] == 1).all()   # one half pulsed per update


def test_array_blocks_equal_the_whole_array(tmp_path):
    one = CARD.with_updates(schedule={"n_updates": 1})
    whole = run_flow(one.with_updates(simulation={"array_block_synapses": 0}), tmp_path / "w", array=(1, 2),
                     progress=False, ideal_reference=False, write_waveforms=False)
    blocks = run_flow(one.with_updates(simulation={"array_block_synapses": 1}), tmp_path / "b", array=(1, 2),
                      progress=False, ideal_reference=False, write_waveforms=False)
    assert blocks.summary["array_blocks"]["blocks"] == 2 and "array_blocks" not in whole.summary
    for col, rel in (("N_sim", 1e-6), ("E_tunnel_J", 1e-6), ("E_supply_J", 5e-4), ("E_drv_J", 5e-4),
                     ("E_ls_J", 5e-4)):
        np.testing.assert_allclose(blocks.updates[col], whole.updates[col], rtol=rel, err_msg=col)
    assert (whole.updates["n_cells_programmed"] == 2).all()


def test_fast_engine_against_ngspice(tmp_path, nominal):
    fast = run_flow(CARD, tmp_path / "fast", engine="fast", progress=False)
    f, n = fast.updates, nominal.updates
    assert fast.summary["engine"] == "fast" and "fast_engine" in fast.summary["technology"]
    assert fast.summary["provenance"]["pdk"] == nominal.summary["provenance"]["pdk"]
    assert fast.summary["provenance"]["pdk"]["corner"] == "tt"
    # an array in the fast engine: its identical cells are integrated once (docs/pdk.md), so per
    # programmed cell it is the lone cell, and 30 x 30 synapses program 900 cells per update
    arr = run_flow(CARD, None, engine="fast", array=(30, 30), progress=False)
    assert arr.summary["technology"]["fast_engine"]["distinct_cells"] == 2
    assert (arr.updates["n_cells_programmed"] == 900).all()
    for col in ("N_sim", "E_tunnel_J", "E_supply_J"):
        np.testing.assert_allclose(arr.updates[col], f[col], rtol=1e-12, err_msg=col)
    np.testing.assert_allclose(f["E_tunnel_J"], n["E_tunnel_J"], rtol=1e-3)
    np.testing.assert_allclose(f["E_drv_J"], n["E_drv_J"], rtol=1e-3)
    np.testing.assert_allclose(f["N_sim"], n["N_sim"], rtol=1e-3)
    np.testing.assert_allclose(f["w_s"], n["w_s"], rtol=1e-3)


def test_monte_carlo_seeds_are_their_own_stream_and_recorded():
    spec = sweep_from_dict({"sweep": {"testbench": "cell"}, "set": {"technology.pdk": "sky130",
                                                                     "technology.corner": "tt_mm"},
                            "montecarlo": {"n": 3, "seed": 5}})
    pts = spec.points()
    seeds = [p.card.technology.seed for p in pts]
    assert seeds == [pdk_seed(spec.montecarlo, s) for s in range(3)] and len(set(seeds)) == 3
    assert all(p.mismatch is None and p.axis_values()["mc.pdk_seed"] == p.card.technology.seed for p in pts)
    with pytest.raises(Exception, match="varies nothing"):
        sweep_from_dict({"sweep": {"testbench": "cell"}, "set": {"technology.pdk": "sky130"},
                         "montecarlo": {"n": 3, "seed": 5}})


def test_sweep_over_a_mismatch_corner_runs_in_ngspice(tmp_path):
    sweep = tmp_path / "mm.toml"
    sweep.write_text('[sweep]\nname = "mm"\ntestbench = "cell"\n[set]\n"technology.pdk" = "sky130"\n'
                     '"technology.read" = false\n"schedule.n_updates" = 1\n'
                     '[grid]\n"technology.corner" = ["ff_mm"]\n[montecarlo]\nn = 2\nseed = 3\n'
                     'area_m2 = {dist = "lognormal", sigma_ln = 0.02}\n')
    proc = subprocess.run([sys.executable, "-m", "lim_hw", "sweep", str(sweep), "-o", str(tmp_path / "out")],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=900)
    assert proc.returncode == 0, proc.stderr
    table = pd.read_csv(tmp_path / "out" / "sweep.csv", comment="#")
    assert list(table["status"]) == ["ok", "ok"]
    assert list(table["technology.corner"]) == ["ff_mm", "ff_mm"] and table["mc.pdk_seed"].nunique() == 2
    # the PDK mismatch moves the transitions away from the nominal design's target
    assert (table["tracking_error_max_abs"] > 1e-3).all()
    meta = json.loads((tmp_path / "out" / "sweep.json").read_text())   # PDK, version, corner and seeds
    assert sorted(r["seed"] for r in meta["pdk"]) == sorted(table["mc.pdk_seed"])
    assert {(r["pdk"], r["corner"], r["version"][:13]) for r in meta["pdk"]} == {("sky130", "ff_mm", "sky130 0.15.3")}


def test_corner_axis_plots_as_categories(tmp_path):
    """A sweep over technology.corner (strings) gets its summary plot (category ticks, no numeric offset);
    the values are the five-corner sweep of examples/sweeps/sky130_corners.toml measured on 2026-12-02."""
    from lim_hw.sweep.plots import plot_sweep

    spec = sweep_from_dict({"sweep": {"testbench": "cell"}, "set": {"technology.pdk": "sky130"},
                            "grid": {"technology.corner": ["tt", "ss", "ff"]}})
    table = pd.DataFrame({"status": ["ok"] * 3, "technology.corner": ["tt", "ss", "ff"],
                          "E_supply_median_J": [1.649e-12, 1.636e-12, 1.676e-12],
                          "E_bound_median_J": [5.17e-20] * 3, "ratio_supply_to_bound_median": [3.19e7, 3.16e7, 3.24e7]})
    assert plot_sweep(table, spec, tmp_path) == ["plot_technology.corner.png"]
    assert (tmp_path / "plot_technology.corner.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
