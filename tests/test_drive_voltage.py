"""The driver voltage of the exact edge accounting: the O(N log E) path equals summing every edge.

Independent reference: :func:`_drive_voltage_each_edge_V` adds every edge's clipped ramp at every
time (the definition). Random drivers in time order with rectangular (T = 0), ramped and touching
edges, zero-height edges skipped; overlapping edges take the general path.
"""

from __future__ import annotations

import numpy as np

from lim_hw.energy.edges import _drive_voltage_each_edge_V, drive_voltage_V


def test_fast_path_is_bit_identical_to_the_sum_over_edges():
    rng = np.random.default_rng(7)
    for _ in range(200):
        n = int(rng.integers(1, 50))
        starts = np.sort(rng.uniform(0.0, 100.0, n))
        gaps = np.diff(np.append(starts, 101.0))
        T = rng.uniform(0.0, 1.0, n) * gaps * rng.choice([0.0, 0.5, 1.0], n)   # rectangular, ramped, touching
        dv = rng.normal(0.0, 5.0, n) * (rng.random(n) > 0.1)
        drive = tuple(zip(starts.tolist(), dv.tolist(), T.tolist()))
        t = np.sort(np.concatenate([rng.uniform(-1.0, 102.0, 300), starts, starts + T]))
        assert np.array_equal(drive_voltage_V(drive, t), _drive_voltage_each_edge_V(drive, t))


def test_overlapping_edges_take_the_general_path():
    drive = ((0.0, 1.0, 2.0), (1.0, 2.0, 2.0))            # the second edge starts before the first ends
    t = np.array([-1.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0])
    expected = np.array([0.0, 0.25, 0.5, 1.25, 2.0, 2.5, 3.0, 3.0])  # by hand: 1*clip(t/2) + 2*clip((t-1)/2)
    assert np.allclose(drive_voltage_V(drive, t), expected, rtol=0, atol=1e-15)
    assert drive_voltage_V((), t).tolist() == [0.0] * len(t)
