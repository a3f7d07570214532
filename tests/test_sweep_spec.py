"""Sweep files: strict validation, grid expansion, reproducible Monte Carlo, content keys (no ngspice)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from lim_hw.errors import InputError
from lim_hw.sweep.runner import plan_sweep
from lim_hw.sweep.spec import load_sweep, sweep_from_dict

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "sweeps"


def spec(**tables):
    return sweep_from_dict({"set": {"schedule.n_updates": 3}, **tables})


def test_grid_is_full_factorial_first_axis_slowest():
    s = spec(grid={"device.tox_m": [11.5e-9, 12e-9], "programming.R_drv_ohm": {"start": 1e4, "stop": 1e6,
                                                                                "num": 3, "log": True}})
    pts = s.points()
    assert s.n_points == 6 and [p.index for p in pts] == list(range(6))
    assert [dict(p.grid)["device.tox_m"] for p in pts] == [11.5e-9] * 3 + [12e-9] * 3
    assert np.allclose([dict(p.grid)["programming.R_drv_ohm"] for p in pts[:3]], [1e4, 1e5, 1e6])
    assert pts[4].card.device.tox_m == 12e-9 and pts[4].card.programming.R_drv_ohm == pytest.approx(1e5)
    assert all(p.card.n_updates == 3 for p in pts)


def test_nested_tables_and_string_axes():
    s = sweep_from_dict({"grid": {"programming": {"shape": ["rectangular", "ramped"]}}})
    assert [dict(p.grid)["programming.shape"] for p in s.points()] == ["rectangular", "ramped"]


@pytest.mark.parametrize("tables, words", [
    ({"grid": {"device.tox": [1e-9]}}, "not a card key"),
    ({"grid": {"tox_m": [1e-9]}}, "not a card key"),
    ({"grid": {"device.tox_m": []}}, "no values"),
    ({"grid": {"device.tox_m": [12e-9, math.nan]}}, "finite"),
    ({"grid": {"device.tox_m": [12e-9, 12e-9]}}, "repeats"),
    ({"grid": {"device.tox_m": 12e-9}}, "must be a list"),
    ({"grid": {"device.tox_m": [12]}}, "no valid card"),              # a typo in metres
    ({"grid": {"device.tox_m": {"start": 1, "stop": 2}}}, "num"),
    ({"set": {"device.V0_V": math.inf}}, "finite"),
    ({"set": {"device.nope": 1.0}}, "not a card key"),
    ({"sweep": {"colour": "red"}}, "unknown key 'colour'"),
    ({"extra": {}}, "unknown table 'extra'"),
    ({"sweep": {"analysis": "spice"}}, "analysis"),
    ({"sweep": {"testbench": "array"}}, "ROWSxCOLS"),
    ({"sweep": {"testbench": "array", "array": "2by2"}}, "ROWSxCOLS"),
    ({"montecarlo": {"n": 3, "tox_m": {"dist": "normal", "sigma_rel": 0.01}}}, "needs seed"),
    ({"montecarlo": {"n": 0, "seed": 1, "tox_m": {"dist": "normal", "sigma_rel": 0.01}}}, "n must be"),
    ({"montecarlo": {"n": 3, "seed": 1}}, "varies nothing"),
    ({"montecarlo": {"n": 3, "seed": 1, "C_T_F": {"dist": "normal", "sigma": 1e-15}}}, "unknown key 'C_T_F'"),
    ({"montecarlo": {"n": 3, "seed": 1, "tox_m": {"dist": "gauss", "sigma": 1e-10}}}, "dist = 'gauss'"),
    ({"montecarlo": {"n": 3, "seed": 1, "tox_m": {"dist": "normal"}}}, "exactly one of sigma"),
    ({"montecarlo": {"n": 3, "seed": 1, "tox_m": {"dist": "normal", "sigma": 1e-10, "sigma_rel": 0.1}}},
     "exactly one of sigma"),
    ({"montecarlo": {"n": 3, "seed": 1, "tox_m": {"dist": "normal", "sigma": math.nan}}}, "finite"),
    ({"montecarlo": {"n": 3, "seed": 1, "tox_m": {"dist": "normal", "sigma_rel": -0.1}}}, ">= 0"),
    ({"montecarlo": {"n": 3, "seed": 1, "tox_m": {"dist": "lognormal", "sigma": 0.1}}}, "unknown key 'sigma'"),
    ({"montecarlo": {"n": 3, "seed": 1, "tox_m": {"dist": "uniform", "low": 2e-9, "high": 1e-9}}}, "low < high"),
    ({"montecarlo": {"n": 3, "seed": 1, "tox_m": {"dist": "uniform", "half_width_rel": 1.5}}}, "< 1"),
    ({"sweep": {"testbench": "synapse"},
      "montecarlo": {"n": 3, "seed": 1, "tox_m": {"dist": "normal", "sigma_rel": 0.01}}}, "1x1"),
    ({"sweep": {"analysis": "bound"},
      "montecarlo": {"n": 3, "seed": 1, "tox_m": {"dist": "normal", "sigma_rel": 0.01}}}, "flow"),
])
def test_bad_sweeps_are_one_line_input_errors(tables, words):
    with pytest.raises(InputError) as exc:
        sweep_from_dict(tables)
    msg = str(exc.value)
    assert words in msg and "\n" not in msg


def test_malformed_and_missing_files(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[grid\n")
    with pytest.raises(InputError, match="malformed TOML"):
        load_sweep(bad)
    with pytest.raises(InputError, match="cannot read sweep file"):
        load_sweep(tmp_path / "missing.toml")
    rel = tmp_path / "rel.toml"
    rel.write_text('[sweep]\ncard = "nocard.toml"\n')
    with pytest.raises(InputError, match="cannot read card"):
        load_sweep(rel)


def test_card_path_is_relative_to_the_sweep_file(tmp_path):
    (tmp_path / "cards").mkdir()
    (tmp_path / "cards" / "thin.toml").write_text("[device]\ntox_m = 11e-9\n")
    f = tmp_path / "s.toml"
    f.write_text('[sweep]\ncard = "cards/thin.toml"\n[grid]\n"device.V0_V" = [7.5, 8.0]\n')
    s = load_sweep(f)
    assert s.name == "s" and s.base.device.tox_m == 11e-9 and s.n_points == 2


def test_invalid_combination_is_a_failed_point_not_an_input_error():
    # C_c + C_j > C_T only for the pair (C_T = 100 fF, C_c = 99 fF): one failed point, the others fine
    s = spec(grid={"device.C_T_F": [100e-15, 110e-15], "device.C_c_F": [50e-15, 99e-15]})
    errs = [p.error for p in s.points()]
    assert [bool(e) for e in errs] == [False, True, False, False]
    assert errs[1].startswith("InputError:") and "C_T_F" in errs[1]


def test_monte_carlo_is_reproducible_and_stream_per_sample():
    mc = {"n": 4, "seed": 7, "tox_m": {"dist": "normal", "sigma_rel": 0.02},
          "area_m2": {"dist": "lognormal", "sigma_ln": 0.1}}
    tb = {"testbench": "array", "array": "2x3"}
    a = spec(sweep=tb, montecarlo=mc).points()
    b = spec(sweep=tb, montecarlo=mc).points()
    assert [p.mismatch for p in a] == [p.mismatch for p in b]
    assert len(a[0].mismatch) == 12 and set(a[0].mismatch[(1, 2, "m")]) == {"tox_m", "area_m2"}
    # sample s does not depend on n nor on the other parameter
    fewer = spec(sweep=tb, montecarlo={**mc, "n": 2}).points()
    assert [p.mismatch for p in fewer] == [p.mismatch for p in a[:2]]
    only_tox = spec(sweep=tb, montecarlo={k: v for k, v in mc.items() if k != "area_m2"}).points()
    assert [{c: v["tox_m"] for c, v in p.mismatch.items()} for p in only_tox] == \
        [{c: v["tox_m"] for c, v in p.mismatch.items()} for p in a]
    other = spec(sweep=tb, montecarlo={**mc, "seed": 8}).points()
    assert other[0].mismatch != a[0].mismatch
    # statistics: normal with sigma_rel 2 % around the nominal 12 nm
    big = spec(montecarlo={"n": 2000, "seed": 1, "tox_m": {"dist": "normal", "sigma_rel": 0.02}}).points()
    tox = np.array([p.mismatch[(0, 0, "p")]["tox_m"] for p in big])
    assert abs(tox.mean() / 12e-9 - 1) < 0.003 and abs(tox.std() / 12e-9 / 0.02 - 1) < 0.08


def test_uniform_bounds_and_common_random_numbers_across_grid():
    s = spec(grid={"device.tox_m": [11e-9, 12e-9]},
             montecarlo={"n": 50, "seed": 3, "tox_m": {"dist": "uniform", "half_width_rel": 0.1}})
    pts = s.points()
    v11 = np.array([p.mismatch[(0, 0, "p")]["tox_m"] for p in pts[:50]])
    v12 = np.array([p.mismatch[(0, 0, "p")]["tox_m"] for p in pts[50:]])
    assert v11.min() >= 9.9e-9 and v11.max() <= 12.1e-9
    assert np.allclose(v11 / 11e-9, v12 / 12e-9)  # the same variates, scaled to each nominal


def test_keys_are_content_hashes(tmp_path):
    s = spec(grid={"device.tox_m": [12e-9, 12.5e-9, 12e-9 * 1.0000001]},
             montecarlo={"n": 2, "seed": 1, "tox_m": {"dist": "normal", "sigma_rel": 0.01}})
    plan = plan_sweep(s, tmp_path)
    keys = [t.key for _, t, _ in plan]
    assert len(set(keys)) == 6 and all(len(k) == 64 for k in keys)
    assert keys == [t.key for _, t, _ in plan_sweep(s, tmp_path / "elsewhere")]  # not path dependent
    # the same physics under another sweep layout gives the same keys
    s2 = spec(grid={"device.tox_m": [12.5e-9]},
              montecarlo={"n": 2, "seed": 1, "tox_m": {"dist": "normal", "sigma_rel": 0.01}})
    assert [t.key for _, t, _ in plan_sweep(s2, tmp_path)] == keys[2:4]


def test_example_sweep_loads():
    s = load_sweep(EXAMPLES / "tox_mismatch.toml")
    assert s.n_points == 48 and s.montecarlo.n == 8 and s.base.n_updates == 10
