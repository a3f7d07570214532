"""Closed-form checks of Performance Walls (Chakrabartty & Cauwenberghs, ISCAS 2023) Eqs. 1-7.

Every reference value is computed independently here (math module, the
exponential form of the equations as printed, or high-precision decimal arithmetic),
not by calling the function under test.
"""

from __future__ import annotations

import math
from decimal import Decimal, getcontext

import numpy as np
import pytest

from lim_hw.constants import k_B_J_per_K
from lim_hw.errors import InputError
from lim_hw.theory import lim

KT300 = k_B_J_per_K * 300.0
R_MAX = 1e6


def _ln_tanh_decimal(x: float) -> float:
    """ln(tanh x) in decimal arithmetic with 700 digits (enough for x = 1e-300)."""
    getcontext().prec = 700
    d = Decimal(x)
    e = (-2 * d).exp()
    return float(((1 - e) / (1 + e)).ln())


@pytest.mark.parametrize("x", [1e-300, 1e-12, 1e-8, 1e-3, 0.1, 0.4999, 0.5, 1.0, 5.0, 20.0, 30.0])
def test_log_tanh_matches_high_precision_reference(x):
    # relative tolerance 1e-14 across 300 decades (plain log(tanh) gives 0 at x = 20, 30)
    assert lim.log_tanh(x) == pytest.approx(_ln_tanh_decimal(x), rel=1e-14)


def test_eq1_equilibrium_rate():
    # E0 = kT ln 2 halves the rate; E0 = 0 gives R_max; 10 kT gives R_max e^-10
    assert lim.equilibrium_rate_per_s(KT300 * math.log(2), R_MAX) == pytest.approx(R_MAX / 2, rel=1e-14)
    assert lim.equilibrium_rate_per_s(0.0, R_MAX) == R_MAX
    assert lim.equilibrium_rate_per_s(10 * KT300, R_MAX) == pytest.approx(R_MAX * math.exp(-10), rel=1e-14)
    # temperature enters through kT: 10 kT at 77 K
    kT77 = k_B_J_per_K * 77.0
    assert lim.equilibrium_rate_per_s(10 * kT77, R_MAX, 77.0) == pytest.approx(R_MAX * math.exp(-10), rel=1e-14)


@pytest.mark.parametrize("E0_kT,eps,g", [(0.0, 0.5, 1.0), (3.0, 0.1, 0.7), (20.0, 2.0, 1.3), (1.0, 1e-3, 1.0)])
def test_eq3_update_rate_printed_exponential_form(E0_kT, eps, g):
    dE = -KT300 * eps * g * g
    a = math.exp(-dE / KT300)
    expected = R_MAX * math.exp(-E0_kT) * (a - 1) / (a + 1)          # Eq. 3 as printed
    got = lim.update_rate_per_s(E0_kT * KT300, R_MAX, eps, g)
    assert got == pytest.approx(expected, rel=1e-12)
    assert lim.update_rate_from_dE_per_s(E0_kT * KT300, R_MAX, dE) == pytest.approx(expected, rel=1e-12)
    # 0 <= R <= R0 (Eq. 1)
    assert 0 <= got <= lim.equilibrium_rate_per_s(E0_kT * KT300, R_MAX)


@pytest.mark.parametrize("R,eps,g", [(1e3, 0.5, 1.0), (10.0, 0.1, 0.7), (1e-3, 2.0, 1.3), (2e5, 1.0, 1.0)])
def test_eq4_barrier_printed_exponential_form(R, eps, g):
    a = math.exp(eps * g * g)                        # exp(-dE/kT)
    expected = KT300 * math.log(R_MAX / R * (a - 1) / (a + 1))   # Eq. 4 as printed
    assert lim.barrier_height_J(R, R_MAX, eps, g) == pytest.approx(expected, rel=1e-12)
    dE = -KT300 * eps * g * g
    assert lim.barrier_height_from_dE_J(R, R_MAX, dE) == pytest.approx(expected, rel=1e-12)


def test_gradient_and_dissipated_energy():
    # dE = -kT eps g^2 (Eqs. 5-6); E_diss = E0 + |dE| (Sec. III)
    assert lim.gradient_energy_J(0.25, 2.0) == pytest.approx(-KT300 * 1.0, rel=1e-15)
    assert lim.dissipated_energy_J(3e-21, -1e-21) == pytest.approx(4e-21, rel=1e-15)
    assert lim.landauer_J() == pytest.approx(2.8712e-21, rel=1e-4)


def test_round_trip_R_E0_R_exact_to_1e_12_even_for_tiny_eps():
    eps = np.logspace(-8, 0.5, 200)
    R = R_MAX * eps ** 1.5 * 0.3
    for g in (1.0, 0.2):
        E0 = lim.barrier_height_J(R, R_MAX, eps, g)
        R2 = lim.update_rate_per_s(E0, R_MAX, eps, g)
        assert np.max(np.abs(R2 / R - 1)) < 1e-12
    # eps = 1e-8 exactly, with the independent check E0 = kT ln(R_max/R * tanh(eps/2))
    E0 = lim.barrier_height_J(1e-9, R_MAX, 1e-8)
    assert E0 == pytest.approx(KT300 * (math.log(R_MAX / 1e-9) + math.log(math.tanh(5e-9))), rel=1e-13)
    assert lim.update_rate_per_s(E0, R_MAX, 1e-8) == pytest.approx(1e-9, rel=1e-12)


def test_large_n_asymptote():
    # eps = 1/n, g = 1, R = R_max eps^(1+alpha): E0 ~ kT (alpha ln n - ln 2).
    # Exact difference is kT [ln tanh(y) - ln y] with y = 1/(2n), = -kT/(12 n^2) + O(n^-4).
    alpha = 0.5
    for n in (1e2, 1e4, 1e6):
        eps = 1.0 / n
        exact = lim.barrier_height_J(R_MAX * eps ** (1 + alpha), R_MAX, eps)
        asym = lim.asymptotic_barrier_J(n, alpha)
        assert asym == pytest.approx(KT300 * (alpha * math.log(n) - math.log(2)), rel=1e-14)
        # stated tolerance: relative error below 1e-3 by n = 1e6 (it is ~1e-13)
        if n == 1e6:
            assert abs(exact / asym - 1) < 1e-3
        # and the correction term itself, to 1e-3 relative
        assert (exact - asym) / KT300 == pytest.approx(-1.0 / (12 * n * n), rel=1e-3)


def test_feasibility_boundary_and_clamp():
    eps = np.array([1e-6, 1e-3, 0.1, 1.0])
    R_edge = R_MAX * np.tanh(eps / 2)          # R_max tanh(eps g^2 / 2)
    # exactly on the boundary: E0 -> 0 (within 1e-12 kT) and feasible
    E0, feas, R_ach = lim.feasible_barrier(R_edge, R_MAX, eps)
    assert np.all(np.abs(E0) < 1e-12 * KT300)
    # above the boundary: clamped at 0, infeasible, achieved rate = boundary rate
    E0, feas, R_ach = lim.feasible_barrier(R_edge * 1.5, R_MAX, eps)
    assert np.all(E0 == 0) and not feas.any()
    np.testing.assert_allclose(R_ach, R_edge, rtol=1e-15)
    # the raw Eq. 4 value there is -kT ln 1.5
    np.testing.assert_allclose(lim.barrier_height_J(R_edge * 1.5, R_MAX, eps), -KT300 * math.log(1.5), rtol=1e-10)
    # below: feasible, target rate kept, E0 = kT ln 2 for half the boundary rate
    E0, feas, R_ach = lim.feasible_barrier(R_edge / 2, R_MAX, eps)
    assert feas.all()
    np.testing.assert_allclose(E0, KT300 * math.log(2), rtol=1e-12)
    np.testing.assert_allclose(R_ach, R_edge / 2, rtol=0)
    assert lim.max_feasible_rate_per_s(R_MAX, 0.1) == pytest.approx(R_MAX * math.tanh(0.05), rel=1e-15)


def test_eps_to_zero_limit():
    # at fixed R, E0 -> -inf (needs ever-lower barrier ... i.e. infeasible) as eps -> 0;
    # with R = R_max eps^(1+alpha), E0/kT = ln(eps^-(1+alpha)) + ln tanh(eps/2) -> alpha ln(1/eps) - ln 2
    for eps in (1e-4, 1e-8):
        R = R_MAX * eps ** 1.5
        E0_kT = lim.barrier_height_J(R, R_MAX, eps) / KT300
        assert E0_kT == pytest.approx(0.5 * math.log(1 / eps) - math.log(2), abs=1e-7)
    assert lim.barrier_height_J(1.0, R_MAX, 1e-8) < 0      # fixed rate, vanishing drive: infeasible


def test_vectorised_equals_scalar_loop():
    rng = np.random.default_rng(0)
    R = 10 ** rng.uniform(-3, 5, 50)
    eps = 10 ** rng.uniform(-6, 0, 50)
    g = rng.uniform(0.1, 2, 50)
    E0v = lim.barrier_height_J(R, R_MAX, eps, g)
    assert isinstance(E0v, np.ndarray) and E0v.shape == (50,)
    E0s = np.array([lim.barrier_height_J(r, R_MAX, e, gg) for r, e, gg in zip(R, eps, g)])
    np.testing.assert_array_equal(E0v, E0s)
    Rv = lim.update_rate_per_s(np.abs(E0v), R_MAX, eps, g)
    Rs = np.array([lim.update_rate_per_s(abs(a), R_MAX, e, gg) for a, e, gg in zip(E0v, eps, g)])
    np.testing.assert_array_equal(Rv, Rs)
    Ef, ff, Rf = lim.feasible_barrier(R, R_MAX, eps, g)
    for i in range(50):
        e, f, r = lim.feasible_barrier(R[i], R_MAX, eps[i], g[i])
        assert (e, f, r) == (Ef[i], ff[i], Rf[i])
    assert isinstance(lim.barrier_height_J(1.0, R_MAX, 0.1), float)
    # broadcasting: a (3,1) column of rates against a row of eps
    out = lim.barrier_height_J(np.array([[1.0], [10.0], [100.0]]), R_MAX, np.array([0.1, 0.2]))
    assert out.shape == (3, 2)


def test_eq7_direction_erratum():
    # Eq. 7 as printed equals Eq. 4 at g = 1; for g^2 < 1 the exact barrier is LOWER
    # (tanh increasing), so the printed ">=" is wrong; for g^2 > 1 it holds.
    R, eps = 10.0, 0.2
    printed = KT300 * math.log(R_MAX / R * (math.exp(eps) - 1) / (math.exp(eps) + 1))
    assert lim.eq7_printed_bound_J(R, R_MAX, eps) == pytest.approx(printed, rel=1e-12)
    g = np.array([0.3, 0.7, 0.99, 1.0, 1.5])
    res = lim.eq7_direction(R, R_MAX, eps, g)
    exact = KT300 * np.log(R_MAX / R * np.tanh(eps * g ** 2 / 2))
    np.testing.assert_allclose(res["E0_exact_J"], exact, rtol=1e-12)
    assert list(res["printed_holds"]) == [False, False, False, True, True]
    assert list(res["corrected_holds"]) == [True, True, True, True, False]
    # size of the violation at g = 0.3: kT ln[tanh(0.009)/tanh(0.1)] ~ -2.41 kT
    assert (res["E0_exact_J"][0] - printed) / KT300 == pytest.approx(
        math.log(math.tanh(0.009) / math.tanh(0.1)), rel=1e-10)


@pytest.mark.parametrize("call", [
    lambda: lim.barrier_height_J(-1.0, R_MAX, 0.1),
    lambda: lim.barrier_height_J(1.0, R_MAX, 0.0),
    lambda: lim.barrier_height_J(1.0, float("nan"), 0.1),
    lambda: lim.barrier_height_J(1.0, R_MAX, 0.1, T_K=-3),
    lambda: lim.update_rate_per_s(np.array([1e-21, np.nan]), R_MAX, 0.1),
    lambda: lim.update_rate_from_dE_per_s(0.0, R_MAX, +1e-21),
    lambda: lim.feasible_barrier(0.0, R_MAX, 0.1),
])
def test_bad_inputs_raise_input_error(call):
    with pytest.raises(InputError):
        call()
