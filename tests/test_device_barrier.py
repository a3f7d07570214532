"""Tests for lim_hw.device.barrier: E_eff(V) = kT ln(R_max / R_FN(V)) and its inverse (theory.md s.7)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.constants import e as q
from scipy.constants import k as k_B
from scipy.optimize import brentq
from scipy.special import lambertw

from lim_hw.device.barrier import effective_barrier_J, voltage_for_barrier_V, voltage_for_rate_V
from lim_hw.device.fn import fn_coefficients, fn_transition_rate_per_s
from lim_hw.errors import InputError

TOX, AREA, R_MAX = 12e-9, 1e-12, 1e9
V_GRID = np.array([0.2, 0.5, 1.0, 3.0, 5.0, 7.0, 8.0, 9.5, 12.0, 20.0, 40.0])


def test_barrier_matches_direct_formula():
    V = np.array([5.0, 8.0, 11.0])
    R_fn = fn_transition_rate_per_s(V, TOX, AREA)
    for T in (300.0, 77.0):
        E = effective_barrier_J(V, R_MAX, TOX, AREA, T_K=T)
        np.testing.assert_allclose(E, k_B * T * np.log(R_MAX / R_fn), rtol=1e-13)
    # a higher voltage lowers the barrier
    E = effective_barrier_J(V, R_MAX, TOX, AREA)
    assert np.all(np.diff(E) < 0)


def test_barrier_edges():
    assert effective_barrier_J(0.0, R_MAX, TOX, AREA) == math.inf
    assert effective_barrier_J(-2.0, R_MAX, TOX, AREA) == math.inf
    # finite where the current itself underflows a float
    assert fn_transition_rate_per_s(0.2, TOX, AREA) == 0.0
    assert math.isfinite(effective_barrier_J(0.2, R_MAX, TOX, AREA))
    # negative (returned, not clamped) where R_FN > R_max
    assert effective_barrier_J(40.0, 1.0, TOX, AREA) < 0


def test_round_trip_V_to_barrier_to_V():
    for T in (300.0, 4.0):
        E = effective_barrier_J(V_GRID, R_MAX, TOX, AREA, T_K=T)
        V_back = voltage_for_barrier_V(E, R_MAX, TOX, AREA, T_K=T)
        np.testing.assert_allclose(V_back, V_GRID, rtol=1e-12)


def test_round_trip_barrier_to_V_to_barrier():
    kT = k_B * 300.0
    E = kT * np.array([-50.0, -1.0, 0.0, 0.5, 5.0, 30.0, 100.0, 300.0])
    V = voltage_for_barrier_V(E, R_MAX, TOX, AREA)
    E_back = effective_barrier_J(V, R_MAX, TOX, AREA)
    # relative to the scale ln(R_max) kT ~ 21 kT the rounding of ln R is 1e-15
    np.testing.assert_allclose(E_back, E, rtol=1e-12, atol=1e-12 * kT)


def test_rate_inverse_vs_brentq_and_lambertw():
    A, B = fn_coefficients()
    k2 = B * TOX
    R = np.array([1e-200, 1e-30, 1e-3, 1.0, 1e3, 1e9, 1e15, 1e40])
    V = voltage_for_rate_V(R, TOX, AREA)

    def g(y, lnR):  # ln R_FN(V) - ln R with y = ln V (brentq in ln V spans 33 decades)
        return math.log(AREA * A / q) + 2 * (y - math.log(TOX)) - k2 * math.exp(-y) - lnR

    for Ri, Vi in zip(R, V):
        y = brentq(g, math.log(1e-3), math.log(1e30), args=(math.log(Ri),), xtol=1e-300,
                   rtol=4 * np.finfo(float).eps, maxiter=500)
        Vb = math.exp(y)
        assert Vi == pytest.approx(Vb, rel=1e-12)
        # closed form V = k2 / (2 W(exp(Lz)))
        Lz = (math.log(AREA * A / (q * TOX**2)) - math.log(Ri)) / 2 + math.log(k2 / 2)
        w = lambertw(math.exp(Lz)).real
        assert Vi == pytest.approx(k2 / (2 * w), rel=1e-12)
    assert np.all(np.diff(V) > 0)
    # forward rate where it does not underflow
    ok = R >= 1e-30
    np.testing.assert_allclose(fn_transition_rate_per_s(V[ok], TOX, AREA), R[ok], rtol=1e-12)


def test_rate_inverse_extremes_and_broadcast():
    V = voltage_for_rate_V(np.array([1e-300, 1e300]), TOX, AREA)
    assert np.all(np.isfinite(V)) and np.all(V > 0)
    Vb = voltage_for_rate_V(np.array([[1.0], [1e3]]), np.array([8e-9, 12e-9, 14e-9]), AREA)
    assert Vb.shape == (2, 3)
    assert Vb[1, 1] == pytest.approx(voltage_for_rate_V(1e3, TOX, AREA), rel=1e-15)
    assert isinstance(voltage_for_rate_V(1.0, TOX, AREA), float)


def test_bad_input_raises():
    with pytest.raises(InputError):
        voltage_for_rate_V(0.0, TOX, AREA)
    with pytest.raises(InputError):
        voltage_for_barrier_V(np.nan, R_MAX, TOX, AREA)
    with pytest.raises(InputError):
        voltage_for_barrier_V(1e300, R_MAX, TOX, AREA)  # E/kT overflows a float
    with pytest.raises(InputError):
        effective_barrier_J(8.0, R_MAX, TOX, AREA, T_K=0.0)
