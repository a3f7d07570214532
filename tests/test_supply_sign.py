"""The positive-part probe of the supply integrals skips intervals whose power cannot change sign.

Independent reference: the model's power evaluated densely (2001 points per interval, the probe points
included) never takes both signs in an interval :func:`fixed_sign_intervals` marks; and
:func:`supply_integrals` gives bit-identical energies when every interval is probed (the path before).
Random models mix signs, zeros, tiny and huge values, flat and RC intervals, and a few non-finite values.
"""

from __future__ import annotations

import numpy as np

import lim_hw.energy.edges as edges
from lim_hw.energy.edges import IntervalModel, fixed_sign_intervals, supply_integrals


def _random_model(rng: np.random.Generator, n: int) -> IntervalModel:
    t = np.cumsum(rng.uniform(0.0, 1.0, n) * rng.choice([1e-9, 1e-3, 1.0], n))

    def values(scale: float) -> np.ndarray:
        x = rng.normal(0.0, scale, n) * 10.0 ** rng.uniform(-6, 3, n)
        x[rng.random(n) < 0.3] = 0.0
        sign = rng.choice([-1.0, 1.0, 0.0])   # often one sign for the whole trace, as in a flow
        return np.abs(x) * sign if sign else x

    v, r = values(5.0), values(1e-6)
    fp, fn = np.abs(values(1e-9)), np.abs(values(1e-9))
    fn[rng.random(n) < 0.5] = 0.0
    if rng.random() < 0.5:
        fn[:] = 0.0
    if rng.random() < 0.2:
        r[int(rng.integers(0, n))] = rng.choice([np.inf, -np.inf, np.nan])
    return IntervalModel(t, v, r, fp - fn, fp, fn, float(rng.choice([0.0, 1e-9, 1e-3])))


def test_marked_intervals_keep_one_sign_everywhere():
    rng = np.random.default_rng(3)
    u = np.unique(np.concatenate([np.linspace(0.0, 1.0, 1990),
                                  [0.0, 1e-6, 1e-4, 1e-3, 1e-2, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0]]))
    marked = 0
    for _ in range(300):
        model = _random_model(rng, int(rng.integers(2, 60)))
        sure = fixed_sign_intervals(model)
        k = np.flatnonzero(sure)
        if k.size:
            p = model.power_at(k, u)
            assert not np.any(np.any(p > 0, axis=1) & np.any(p < 0, axis=1))
        marked += k.size
    assert marked > 1000   # the test exercises the skip


def test_supply_integrals_are_bit_identical_to_probing_every_interval(monkeypatch):
    rng = np.random.default_rng(5)
    for _ in range(200):
        model = _random_model(rng, int(rng.integers(2, 80)))
        t = model.t
        a = np.sort(rng.uniform(t[0], t[-1], 6))
        b = np.minimum(a + rng.uniform(0.0, t[-1] - t[0], 6), t[-1])
        with np.errstate(all="ignore"):
            got = supply_integrals(model, a, b, R_ohm=50.0)
            with monkeypatch.context() as m:
                m.setattr(edges, "fixed_sign_intervals", lambda mdl: np.zeros(mdl.t.size - 1, dtype=bool))
                ref = supply_integrals(model, a, b, R_ohm=50.0)
        for x, y in zip(got, ref):
            assert np.array_equal(x, y, equal_nan=True)
