"""bound_table / bound_totals and the LIM_A / LIM_B totals (reconstruction of arXiv:2402.14878)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lim_hw.constants import k_B_J_per_K
from lim_hw.errors import InputError
from lim_hw.theory import ScheduleSpec
from lim_hw.theory.table import BOUND_COLUMNS, bound_table, bound_totals
from lim_hw.theory.totals import lim_a_table, lim_b_table, lim_table, lim_totals

KT = k_B_J_per_K * 300.0
R_MAX = 1e6


def _E0_kT_default(n: int) -> float:
    """Default schedule (eps = 0.5/n, alpha = 0.5, g = 1): E0/kT = 1.5 ln(2n) + ln tanh(1/(4n))."""
    return 1.5 * math.log(2 * n) + math.log(math.tanh(1 / (4 * n)))


def test_bound_table_default_schedule():
    df = bound_table(ScheduleSpec(), R_MAX)
    assert tuple(df.columns) == BOUND_COLUMNS
    assert len(df) == 20
    raw = np.array([_E0_kT_default(n) for n in range(1, 21)])
    # n = 1, 2 need a negative barrier (raw -0.367 kT and -0.0048 kT): infeasible, clamped
    assert list(np.nonzero(raw < 0)[0] + 1) == [1, 2]
    np.testing.assert_array_equal(df["feasible"].to_numpy(), raw >= 0)
    np.testing.assert_allclose(df["E0_kT"], np.maximum(raw, 0), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(df["E0_J"], KT * np.maximum(raw, 0), rtol=1e-12, atol=1e-35)
    eps = 0.5 / np.arange(1, 21)
    np.testing.assert_allclose(df["dE_J"], -KT * eps, rtol=1e-14)
    np.testing.assert_allclose(df["E_diss_J"], df["E0_J"] + KT * eps, rtol=1e-14)
    # achieved rate: target where feasible, R_max tanh(eps/2) where not
    exp_ach = np.where(raw >= 0, R_MAX * eps ** 1.5, R_MAX * np.tanh(eps / 2))
    np.testing.assert_allclose(df["R_achieved_per_s"], exp_ach, rtol=1e-14)


def test_bound_totals():
    df = bound_table(ScheduleSpec(n_updates=50), R_MAX)
    tot = bound_totals(df)
    raw = np.array([_E0_kT_default(n) for n in range(1, 51)])
    eps = 0.5 / np.arange(1, 51)
    assert tot["n_updates"] == 50 and tot["n_infeasible"] == 2 and tot["first_feasible_n"] == 3
    assert tot["E0_total_J"] == pytest.approx(KT * np.maximum(raw, 0).sum(), rel=1e-12)
    assert tot["dE_total_J"] == pytest.approx(KT * eps.sum(), rel=1e-12)
    assert tot["E_diss_total_kT"] == pytest.approx(np.maximum(raw, 0).sum() + eps.sum(), rel=1e-12)
    assert tot["E0_final_kT"] == pytest.approx(raw[-1], rel=1e-12)
    assert tot["time_budget_s"] == pytest.approx(np.sum(1 / (R_MAX * eps ** 1.5)), rel=1e-12)
    assert tot["time_budget_achieved_s"] > tot["time_budget_s"]     # infeasible steps run slower
    empty = bound_totals(bound_table(ScheduleSpec(n_updates=0), R_MAX))
    assert empty["n_updates"] == 0 and empty["E_diss_total_J"] == 0.0 and empty["first_feasible_n"] is None


def test_bound_table_rejects_bad_inputs():
    with pytest.raises(InputError):
        bound_table(ScheduleSpec(), -1.0)
    with pytest.raises(InputError):
        bound_table(ScheduleSpec(), R_MAX, T_K=float("nan"))
    with pytest.raises(InputError):
        bound_table({"kind": "inverse"}, R_MAX)


def test_lim_a_is_the_bound_table():
    s = ScheduleSpec(n_updates=30)
    a = lim_a_table(s, R_MAX)
    b = bound_table(s, R_MAX)
    for c in BOUND_COLUMNS:
        np.testing.assert_array_equal(a[c], b[c])
    assert (a["E_inj_J"] == 0).all()
    tot = lim_totals(s, R_MAX, variant="A", n_params=1e15)
    assert tot["E_diss_model_J"] == pytest.approx(1e15 * b["E_diss_J"].sum(), rel=1e-12)
    assert tot["reconstruction"] is True and tot["variant"] == "LIM_A"


def test_lim_b_injection_makes_steps_feasible():
    s = ScheduleSpec(n_updates=10)
    b = lim_b_table(s, R_MAX)
    assert b["feasible"].all()
    eps = 0.5 / np.arange(1, 11)
    # n = 1: least drive for E0 >= 0 is 2 kT artanh(R/R_max); the gradient gives kT eps
    need1 = 2 * KT * math.atanh(0.5 ** 1.5)
    assert b["E_inj_J"].iloc[0] == pytest.approx(need1 - KT * 0.5, rel=1e-9)
    assert b["E0_kT"].iloc[0] == pytest.approx(0.0, abs=1e-9)
    # feasible steps (n >= 3) get no injection and match LIM_A
    assert (b["E_inj_J"].iloc[2:] == 0).all()
    a = lim_a_table(s, R_MAX)
    np.testing.assert_allclose(b["E0_J"].iloc[2:], a["E0_J"].iloc[2:], rtol=1e-14)
    np.testing.assert_allclose(b["E_grad_J"], -KT * eps, rtol=1e-14)


def test_lim_b_floor_and_recovery():
    s = ScheduleSpec(n_updates=8)
    floor = 0.2
    b0 = lim_b_table(s, R_MAX, drive_floor_kT=floor, ensure_feasible=False, eta=0.0)
    eps = 0.5 / np.arange(1, 9)
    inj = np.maximum(0, floor - eps) * KT
    np.testing.assert_allclose(b0["E_inj_J"], inj, rtol=1e-12, atol=1e-40)
    np.testing.assert_allclose(-b0["dE_J"], KT * np.maximum(eps, floor), rtol=1e-12)
    # E0 from Eq. 4 with the total drive
    raw = 1.5 * np.log(1 / eps) + np.log(np.tanh(np.maximum(eps, floor) / 2))
    np.testing.assert_allclose(b0["E0_kT"], np.maximum(raw, 0), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(b0["E_diss_J"], b0["E0_J"] + KT * eps + inj, rtol=1e-12)
    b1 = lim_b_table(s, R_MAX, drive_floor_kT=floor, ensure_feasible=False, eta=1.0)
    np.testing.assert_allclose(b1["E_diss_J"], b1["E0_J"] + KT * eps, rtol=1e-12)
    np.testing.assert_allclose(b1["E_recovered_J"], inj, rtol=1e-12, atol=1e-40)
    tot = lim_totals(s, R_MAX, variant="B", n_params=10.0, drive_floor_kT=floor, eta=0.5,
                     ensure_feasible=False)
    assert tot["E_inj_total_J"] == pytest.approx(inj.sum(), rel=1e-12)
    assert tot["E_recovered_total_J"] == pytest.approx(0.5 * inj.sum(), rel=1e-12)
    assert tot["E_diss_model_J"] == pytest.approx(10 * tot["E_diss_total_J"], rel=1e-15)


def test_lim_variant_errors():
    s = ScheduleSpec()
    with pytest.raises(InputError):
        lim_table(s, R_MAX, variant="C")
    with pytest.raises(InputError):
        lim_table(s, R_MAX, variant="A", eta=0.5)
    with pytest.raises(InputError):
        lim_b_table(s, R_MAX, eta=1.5)
    with pytest.raises(InputError):
        lim_b_table(s, R_MAX, drive_floor_kT=float("nan"))
