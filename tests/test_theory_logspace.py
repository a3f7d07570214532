"""The LIM bound in log space down to eps ~ 1e-300 (issue 14): a hand series to 1e-12 relative."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from lim_hw.constants import kT_J
from lim_hw.theory.lim import feasible_barrier_log, log_tanh_half_drive
from lim_hw.theory.schedules import ScheduleSpec
from lim_hw.theory.table import bound_table


def _series_E0_kT(eps: float, alpha: float) -> float:
    """Constant schedule, g = 1: E0/kT = -(1+alpha) ln eps + ln tanh(eps/2), with
    ln tanh x = ln x - x^2/3 + 7 x^4/90 (x = eps/2; the next term is O(x^6))."""
    x = eps / 2.0
    return -(1.0 + alpha) * math.log(eps) + math.log(x) - x * x / 3.0 + 7.0 * x ** 4 / 90.0


@pytest.mark.parametrize("eps", [1e-300, 1e-200, 1e-100, 1e-30, 1e-12, 1e-6, 1e-3])
def test_constant_schedule_barrier_matches_series(eps):
    spec = ScheduleSpec(kind="constant", eps0=eps, n_updates=2, alpha=0.5)
    df = bound_table(spec, 1e6, 300.0)
    expected = _series_E0_kT(eps, 0.5)
    np.testing.assert_allclose(df["E0_kT"], expected, rtol=1e-12)
    assert np.isfinite(df["E0_J"]).all() and df["feasible"].all()


def test_log_tanh_half_drive_matches_direct_where_both_are_exact():
    eps = np.array([1e-7, 1e-5, 1e-3, 0.1, 1.0, 5.0])
    np.testing.assert_allclose(log_tanh_half_drive(eps, 0.7), np.log(np.tanh(0.5 * eps * 0.49)), rtol=1e-13)


def test_feasible_barrier_log_at_1e_300():
    E0, feasible, _ = feasible_barrier_log(math.log(1e6) + 1.5 * math.log(1e-300), 1e6, 1e-300, 1.0, 300.0)
    assert feasible and E0 / kT_J(300.0) == pytest.approx(344.695, abs=1e-3)


def test_bound_cli_eps0_1e_300():
    proc = subprocess.run([sys.executable, "-m", "lim_hw", "bound", "--kind", "constant", "--eps0", "1e-300",
                           "--n-updates", "2"], capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    assert "344.7" in proc.stdout
