"""Brain-scale projections (reconstruction of arXiv:2402.14878) and long-schedule sums."""

from __future__ import annotations

import math

import pytest

from lim_hw.constants import k_B_J_per_K
from lim_hw.errors import InputError
from lim_hw.theory import ScheduleSpec
from lim_hw.theory.projection import (bits_range, brain_scale_summary, brain_scale_table,
                                      compute_projection_J, conventional_projection_J,
                                      landauer_bit_J, long_schedule_sums, schedule_projection)

KT = k_B_J_per_K * 300.0


def test_landauer_per_bit():
    assert landauer_bit_J(300.0) == pytest.approx(2.87e-21, rel=2e-3)
    assert landauer_bit_J(300.0) == pytest.approx(1.380649e-23 * 300 * 0.6931471805599453, rel=1e-12)


def test_compute_projection_reproduces_paper_range():
    # 1e28 ops x 8..32 bits x kT ln 2 = 2.3e8 .. 9.2e8 J, inside the papers' 1e8 - 1e9 J
    lo = compute_projection_J(1e28, 8)
    hi = compute_projection_J(1e28, 32)
    assert lo == pytest.approx(2.2968e8, rel=1e-4) and hi == pytest.approx(9.1871e8, rel=1e-4)
    assert 1e8 < lo < hi < 1e9
    assert compute_projection_J(1e28, 8, E_bit_J=1e-20) == pytest.approx(8e8, rel=1e-15)


def test_conventional_projection():
    assert conventional_projection_J(1e28, 10.0) == pytest.approx(1e17, rel=1e-12)
    assert conventional_projection_J(1e28, 1.0) == pytest.approx(1e16, rel=1e-12)
    assert conventional_projection_J(1e28, 0.1) == pytest.approx(1e15, rel=1e-12)
    with pytest.raises(InputError):
        conventional_projection_J(1e28, -1.0)


def test_bits_range():
    assert bits_range(8, 32) == [8, 16, 32]
    assert bits_range(6, 20) == [6, 8, 16, 20]
    assert bits_range(8, 8) == [8]
    with pytest.raises(InputError):
        bits_range(32, 8)


@pytest.mark.parametrize("spec", [ScheduleSpec(n_updates=200_000),
                                  ScheduleSpec(kind="power", p=0.7, n_updates=200_000),
                                  ScheduleSpec(kind="constant", eps0=0.01, n_updates=200_000)])
def test_long_schedule_quadrature_matches_exact_sum(spec):
    exact = long_schedule_sums(spec, 1e6, n_exact=10 ** 6)
    quad = long_schedule_sums(spec, 1e6, n_exact=1000)
    assert exact["method"] == "exact" and quad["method"] == "exact+quadrature"
    for k in ("E0_total_J", "E_diss_total_J", "time_budget_s"):
        assert quad[k] == pytest.approx(exact[k], rel=1e-8)
    assert quad["dE_total_J"] == pytest.approx(exact["dE_total_J"], rel=1e-6)
    assert quad["n_infeasible"] == exact["n_infeasible"]


def test_schedule_projection_brain_scale():
    # default inverse schedule, 1e13 updates per parameter, 1e15 parameters.
    # Independent estimate: E0_n/kT ~ 0.5 ln n - 0.5 ln 2 (large n), so by Stirling
    # sum_n E0_n ~ kT [0.5 (N ln N - N) - 0.5 N ln 2]; the |dE| sum (kT eps0 H_N) and
    # the finite-n corrections are < 1e-9 relative.
    N = 1e13
    sp = schedule_projection(n_params=1e15, n_ops=1e28)
    assert sp["n_updates"] == N
    est = KT * (0.5 * (N * math.log(N) - N) - 0.5 * N * math.log(2))
    assert sp["E_diss_total_J"] == pytest.approx(est, rel=1e-9)
    assert sp["E_model_J"] == pytest.approx(1e15 * est, rel=1e-9)
    assert 1e8 < sp["E_model_J"] < 1e9          # 5.85e8 J: inside the papers' range too


def test_brain_scale_table_and_summary():
    df = brain_scale_table()
    s = brain_scale_summary(df)
    assert s["LIM_compute_min_J"] == pytest.approx(1e28 * 8 * KT * math.log(2), rel=1e-12)
    assert s["LIM_compute_max_J"] == pytest.approx(1e28 * 32 * KT * math.log(2), rel=1e-12)
    assert s["conventional_J"]["conventional: ops x 10 pJ/op"] == pytest.approx(1e17, rel=1e-12)
    gap = s["orders_of_magnitude_gap"]["conventional: ops x 10 pJ/op"]
    assert gap == pytest.approx([math.log10(1e17 / 9.1871e8), math.log10(1e17 / 2.2968e8)], rel=1e-4)
    land = df[df["estimate"].str.startswith("Landauer")]["E_J"].to_numpy()
    assert land == pytest.approx([2.2968e8, 4.5936e8, 9.1871e8], rel=1e-4)
    assert set(df.columns) == {"estimate", "bits", "count", "per_unit_J", "E_J", "ratio_to_LIM", "premise"}


def test_projection_states_its_premises_and_the_by_construction_equality():
    """Issue 15 item 5: every row says what is ASSUMED; the default LIM compute row equals Landauer by
    construction and says so; the schedule estimate is independent (~(alpha ln n - ln 2) kT per update)."""
    df = brain_scale_table()
    s = brain_scale_summary(df)
    lim = df[df["estimate"].str.startswith("LIM: ops")]
    assert lim["premise"].str.contains("BY CONSTRUCTION").all()
    assert s["LIM_compute_equals_Landauer"] and s["LIM_compute_equals_Landauer_by_construction"]
    assert all("ASSUMED" in p for p in df["premise"][~df["estimate"].str.startswith("Landauer")])
    # schedule estimate per update: Stirling mean of 0.5 ln n - 0.5 ln 2 over n <= 1e13 (hand: 14.12 kT)
    N = 1e13
    assert s["schedule_energy_per_update_kT"] == pytest.approx(0.5 * (math.log(N) - 1) - 0.5 * math.log(2), rel=1e-6)
    assert s["schedule_over_compute_min"] == pytest.approx(s["LIM_schedule_J"] / s["LIM_compute_min_J"], rel=1e-15)
    other = brain_scale_summary(brain_scale_table(E_bit_J=1e-19))
    assert not other["LIM_compute_equals_Landauer"] and not other["LIM_compute_equals_Landauer_by_construction"]
