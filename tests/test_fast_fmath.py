"""lim_hw.fast.fmath: the vectorisable exp, log, log1p and sin of the fused kernels against numpy, in ulps."""

from __future__ import annotations

import numba
import numpy as np

from lim_hw.fast.fmath import SMALL_X, exp_neg, exp_signed, log1p, log1p_small, log_pos, sin_0_pi, cos_0_pi


@numba.njit
def _map(kind, x):
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        v = x[i]
        out[i] = (exp_neg(v) if kind == 0 else log1p(v) if kind == 1 else log1p_small(v) if kind == 2
                  else exp_signed(v) if kind == 3 else log_pos(v) if kind == 4 else sin_0_pi(v) if kind == 5 else cos_0_pi(v))
    return out


def _ulps(got, ref):
    nz = ref != 0
    assert np.all(got[~nz] == 0)
    return np.max(np.abs(got[nz] - ref[nz]) / np.spacing(np.abs(ref[nz])))


def test_exp_neg_within_one_ulp_down_to_subnormals():
    rng = np.random.default_rng(0)
    u = np.concatenate([rng.random(50_000), 10 ** rng.uniform(-20, 2.9, 100_000), rng.uniform(700, 760, 50_000),
                        [0.0, 1e-300, 708.4, 744.9, 745.0, 1e300]])
    got, ref = _map(0, u), np.exp(-u)
    normal = ref > np.finfo(float).tiny
    assert _ulps(got[normal], ref[normal]) <= 1.0                  # measured: 1
    assert np.max(np.abs(got[~normal] - ref[~normal])) <= 5e-324  # subnormal range: one unit of the last place


def test_log1p_within_one_ulp():
    rng = np.random.default_rng(1)
    x = np.concatenate([10 ** rng.uniform(-320, 8, 100_000), rng.random(50_000), -rng.uniform(0, 0.28, 20_000),
                        [0.0, 1.0, 2.0 ** -53, 1e300, np.sqrt(2) - 1, np.sqrt(0.5) - 1]])
    assert _ulps(_map(1, x), np.log1p(x)) <= 1.0                   # measured: 1
    small = np.concatenate([10 ** rng.uniform(-320, np.log10(SMALL_X), 100_000), rng.uniform(-SMALL_X, SMALL_X, 100_000)])
    assert _ulps(_map(2, small), np.log1p(small)) <= 1.0           # measured: 1


def test_law_functions_within_two_ulps():
    """exp_signed, log_pos, sin_0_pi (the thermal / image-force law kernels) over their whole ranges."""
    rng = np.random.default_rng(2)
    z = np.concatenate([rng.uniform(-700, 700, 100_000), rng.uniform(-1, 1, 100_000), [0.0, 1e-300, -1e-300]])
    assert _ulps(_map(3, z), np.exp(z)) <= 1.0                 # measured: 1
    y = np.concatenate([10 ** rng.uniform(-300, 300, 100_000), rng.uniform(0.5, 2, 100_000), [1.0, 2.0]])
    ly = _map(4, y)
    assert ly[-2] == 0.0
    assert _ulps(ly[:-2], np.log(y[:-2])) <= 1.0                   # measured: 1
    x = np.concatenate([rng.uniform(0, np.pi, 100_000), 10 ** rng.uniform(-300, 0, 50_000),
                        np.pi - 10 ** rng.uniform(-8, 0, 50_000), [0.0, 0.95 * np.pi]])
    assert _ulps(_map(5, x), np.sin(x)) <= 2.0                 # measured: 2 (near pi, where sin is tiny)


def test_cos_0_pi_within_two_ulps_and_one_ulp_of_one_absolute():
    """cos_0_pi (the thermal law's series step) over [0, pi]: <= 2 ulps where |cos| > 1e-3, and
    within 2^-52 (an ulp of 1) absolute everywhere (the series step needs it only absolutely)."""
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.uniform(0, np.pi, 200_000), 10 ** rng.uniform(-300, 0, 50_000),
                        np.pi / 2 + rng.uniform(-1e-3, 1e-3, 50_000), [0.0, np.pi / 2, 0.95 * np.pi, np.pi]])
    got, ref = _map(6, x), np.cos(x)
    assert np.max(np.abs(got - ref)) <= 2.0 ** -52          # one ulp of 1
    big = np.abs(ref) > 1e-3
    assert _ulps(got[big], ref[big]) <= 2.0
