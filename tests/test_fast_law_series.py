"""The thermal-only law's series step (lim_hw.fast.fused_law._seg_series) against the numpy reference.

The reference is :func:`lim_hw.device.trajectory.law_drop_V` (Newton on a Gauss-Legendre integral,
tested against solve_ivp and the exact Ei time in tests/test_trajectory*.py). Held-out cases: steps
``Q`` from 1e-14 to ~1 (the series range and beyond it), thermal arguments ``x0 = pi s u0`` from 0.05
up to the guard ``0.95 pi``, per-cell ``k2`` spread (mismatch), and sub-blocks where the series must
hand over to the Newton path.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from lim_hw.device.fn_law import CKT_GUARD
from lim_hw.device.trajectory import law_drop_V
from lim_hw.fast import fused_law as FL

SUB = FL.SUB


def _scratch(V, k1dt, k2):
    sc = FL.scratch()
    m = len(V)
    for row, val in ((FL._XV, V), (FL._XK1, k1dt), (FL._XK2, k2), (FL._XIK2, 1.0 / k2)):
        sc[row * SUB:row * SUB + m] = val
    return sc


def _case(rng, m, log10_Q, x0_lo, x0_hi, k2_spread=0.02):
    """Cells with steps Q ~ 10**log10_Q (about), thermal arguments x0 in [x0_lo, x0_hi]."""
    V = rng.uniform(7.5, 8.5, m)
    k2 = 260.0 * (1.0 + k2_spread * rng.standard_normal(m))
    z0 = k2 / V
    x0 = rng.uniform(x0_lo, x0_hi)
    sigma = x0 / (math.pi * float(np.mean(z0)))        # one law constant for the block, as in a run
    Q = 10.0 ** (log10_Q + 0.2 * rng.standard_normal(m))
    k1dt = np.expm1(Q) * np.exp(z0)                    # x = k1 dt e^{-z0} ~ e^Q - 1 (g ~ 1)
    return V, k1dt, k2, sigma


@pytest.mark.parametrize("log10_Q", [-14, -9, -7.5, -6, -4, -3, -2.3])
@pytest.mark.parametrize("x0_range", [(0.05, 0.5), (0.5, 2.0), (2.0, 0.78 * math.pi)])
def test_series_step_matches_reference(log10_Q, x0_range):
    rng = np.random.default_rng(int(1000 * (log10_Q + 20) + 10 * x0_range[0]))
    V, k1dt, k2, sigma = _case(rng, SUB, log10_Q, *x0_range)
    assert np.max(math.pi * sigma * (k2 / V)) < 0.99 * math.pi * CKT_GUARD   # below the guard
    sc = _scratch(V, k1dt, k2)
    path = FL._seg_T(sc, SUB, 1.0, sigma, 0.0)
    got = sc[FL._XD * SUB:FL._XD * SUB + SUB]
    ref = law_drop_V(V, k1dt, k2, sigma * k2, 0.0, thermal=True, image_force=False)
    assert path == -1                                      # the series path ran (Q <= 0.05)
    assert np.all(ref > 0)
    np.testing.assert_allclose(got, ref, rtol=1e-13, atol=0)


@pytest.mark.parametrize("log10_Q", [-0.5, 0.0, 1.0])
def test_large_steps_take_the_newton_path(log10_Q):
    """Beyond the series range the sub-block runs the Newton path, with the same result."""
    rng = np.random.default_rng(7)
    V, k1dt, k2, sigma = _case(rng, 100, log10_Q, 0.3, 1.5)
    sc = _scratch(V, k1dt, k2)
    path = FL._seg_T(sc, 100, 1.0, sigma, 0.0)
    ref = law_drop_V(V, k1dt, k2, sigma * k2, 0.0, thermal=True, image_force=False)
    assert path >= 1
    np.testing.assert_allclose(sc[FL._XD * SUB:FL._XD * SUB + 100], ref, rtol=1e-12, atol=0)


def test_one_large_step_sends_its_sub_block_to_newton_and_keeps_accuracy():
    rng = np.random.default_rng(8)
    V, k1dt, k2, sigma = _case(rng, SUB, -4, 0.3, 1.5)
    k1dt[17] *= 1e4                                        # one cell with Q ~ 1
    sc = _scratch(V, k1dt, k2)
    assert FL._seg_T(sc, SUB, 1.0, sigma, 0.0) >= 1
    ref = law_drop_V(V, k1dt, k2, sigma * k2, 0.0, thermal=True, image_force=False)
    np.testing.assert_allclose(sc[FL._XD * SUB:FL._XD * SUB + SUB], ref, rtol=1e-12, atol=0)


def test_near_the_guard_the_newton_path_runs():
    """Where a step would end beyond the thermal guard (g is clamped there), the series is not used."""
    rng = np.random.default_rng(9)
    V, k1dt, k2, _ = _case(rng, 64, -2, 1.0, 1.0, k2_spread=0.0)
    sigma = 0.9499 * math.pi / (math.pi * float(np.min(k2 / V)))   # x0 just below the guard
    sc = _scratch(V, k1dt, k2)
    assert FL._seg_T(sc, 64, 1.0, sigma, 0.0) >= 0
    ref = law_drop_V(V, k1dt, k2, sigma * k2, 0.0, thermal=True, image_force=False)
    np.testing.assert_allclose(sc[FL._XD * SUB:FL._XD * SUB + 64], ref, rtol=1e-12, atol=0)


@pytest.mark.parametrize("k1dt", [1e-300, 1e-200])
def test_underflowed_and_subnormal_steps(k1dt):
    """x = k1 dt e^-260 is 0 (1e-300) or subnormal (1e-200): the drop is the reference's (0 or subnormal)."""
    V, k2 = np.full(8, 1.0), np.full(8, 260.0)
    sc = _scratch(V, np.full(8, k1dt), k2)
    assert FL._seg_T(sc, 8, 1.0, 0.002, 0.0) == -1
    ref = law_drop_V(V, np.full(8, k1dt), k2, 0.002 * k2, 0.0, thermal=True, image_force=False)
    got = sc[FL._XD * SUB:FL._XD * SUB + 8]
    assert np.all(got >= 0) and np.all((got == 0) == (ref == 0))
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=0)    # subnormals carry few digits


def test_qlim_table_is_the_stated_bound():
    """_SER_QLIM[N] = (1e-17 (N+2)! / 800)^(1/(N+1)) (capped at (N+3)/2), recomputed by hand for N = 5."""
    assert FL._SER_QLIM[5] == pytest.approx((1e-17 * 5040 / 800.0) ** (1 / 6), rel=1e-14)
    assert np.all(np.diff(FL._SER_QLIM) > 0)
    assert FL._SER_QLIM[-1] > FL._SER_Q_MAX * 1.1          # N <= SER_NMAX covers the whole series range
