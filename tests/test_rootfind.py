"""lim_hw.netlist.rootfind.brent_root against scipy.optimize.brentq (independent implementation)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import brentq

from lim_hw.netlist.rootfind import brent_root

FUNCTIONS = [
    (lambda x: x ** 3 - 2.0 * x - 5.0, 2.0, 3.0),          # Wallis' cubic, root 2.0945514815423265
    (lambda x: math.cos(x) - x, 0.0, 1.0),
    (lambda x: math.exp(x) - 1e6, 0.0, 40.0),
    (lambda x: x * x * math.exp(-300.0 / x) - 1e-9, 5.0, 40.0),  # FN-like: flat, then steep
    (lambda x: math.atan(x - 7.3), -100.0, 100.0),
]


@pytest.mark.parametrize("f,a,b", FUNCTIONS)
def test_matches_scipy_brentq(f, a, b):
    xtol = 1e-12
    mine, ref = brent_root(f, a, b, xtol=xtol), brentq(f, a, b, xtol=xtol)
    assert abs(mine - ref) <= 4 * (xtol + 8.9e-16 * abs(ref))


def test_random_monotone_functions_find_the_known_root():
    """Roots known exactly (f(x0) = 0); scipy's answer too wherever it converges (p < 1 can defeat it)."""
    rng = np.random.default_rng(7)
    for _ in range(300):
        k, x0, p = 10 ** rng.uniform(-3, 3), rng.uniform(0.1, 39.9), rng.uniform(0.3, 3.0)

        def f(x, k=k, x0=x0, p=p):
            return k * (math.copysign(abs(x - x0) ** p, x - x0))

        mine = brent_root(f, 0.0, 40.0, xtol=1e-12)
        assert abs(mine - x0) <= 4e-12 + 4e-15 * x0
        try:
            ref = brentq(f, 0.0, 40.0, xtol=1e-12)
        except RuntimeError:
            continue
        assert abs(mine - ref) <= 8e-12


def test_converges_on_a_triple_root_where_plain_brent_creeps():
    """scipy's brentq gives up after 100 iterations here; the forced bisection converges."""
    with pytest.raises(RuntimeError):
        brentq(lambda x: (x - 1e-3) ** 3, -1.0, 2.0, xtol=1e-12)
    assert abs(brent_root(lambda x: (x - 1e-3) ** 3, -1.0, 2.0, xtol=1e-12) - 1e-3) <= 4e-12


def test_endpoint_roots_and_bad_brackets():
    assert brent_root(lambda x: x, 0.0, 1.0) == 0.0
    assert brent_root(lambda x: x - 1.0, 0.0, 1.0) == 1.0
    with pytest.raises(ValueError, match="same sign"):
        brent_root(lambda x: x * x + 1.0, -1.0, 1.0)
    with pytest.raises(RuntimeError, match="no convergence"):
        brent_root(lambda x: (x - 0.3) ** 3, 0.0, 1.0, maxiter=3)
