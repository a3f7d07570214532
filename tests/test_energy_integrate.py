"""Energy integrals: pure numpy against closed forms, and an RC circuit through ngspice."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest
from scipy.integrate import trapezoid

from lim_hw.energy.integrate import (cumulative_integral, delivered_power_W, energy_delivered_J,
                                     integral, positive_integral, window_samples)
from lim_hw.errors import InputError

needs_ngspice = pytest.mark.skipif(shutil.which("ngspice") is None, reason="ngspice not installed")


def _nonuniform_grid(n: int, t_end: float, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.concatenate(([0.0], np.sort(rng.uniform(0.0, t_end, n)), [t_end]))


# --- pure numpy ----------------------------------------------------------------------

def test_sin_squared_on_nonuniform_grid():
    """int_0^pi sin^2 = pi/2; trapezoid error ~ h^2/12 * pi * max|f''| ~ 1e-6 at h ~ 1.6e-3."""
    t = _nonuniform_grid(4000, math.pi)
    assert integral(t, np.sin(t) ** 2) == pytest.approx(math.pi / 2, rel=1e-5)
    # A window off the samples: int_a^b sin^2 = (b - a)/2 - (sin 2b - sin 2a)/4.
    a, b = 0.3141, 2.2222
    exact = (b - a) / 2 - (math.sin(2 * b) - math.sin(2 * a)) / 4
    assert integral(t, np.sin(t) ** 2, a, b) == pytest.approx(exact, rel=1e-5)
    # positive part of sin on [0, 2 pi] is 2, the signed integral 0.
    t2 = _nonuniform_grid(4000, 2 * math.pi)
    assert positive_integral(t2, np.sin(t2)) == pytest.approx(2.0, rel=1e-5)
    assert integral(t2, np.sin(t2)) == pytest.approx(0.0, abs=1e-5)


def test_pwl_with_zero_crossing_is_exact_on_coarse_grid():
    """p: 0 -> 3 W over [0, 1] s, 3 -> -1 W over [1, 2] s (zero at t = 1.75), -1 -> 0 W
    over [2, 3] s. Positive area: 1.5 + 3 * 0.75 / 2 = 2.625 J; negative area:
    0.25 / 2 + 0.5 = 0.625 J; net 2.0 J. Exact on these four samples."""
    t = np.array([0.0, 1.0, 2.0, 3.0])
    p = np.array([0.0, 3.0, -1.0, 0.0])
    assert positive_integral(t, p) == pytest.approx(2.625, rel=1e-15)
    assert integral(t, p) == pytest.approx(2.0, rel=1e-15)
    # A window starting inside an interval: [0.5, 1.9]; p(0.5) = 1.5, p(1.9) = -0.6.
    # Positive: (1.5 + 3) / 2 * 0.5 + 3 * 0.75 / 2 = 2.25; negative: 0.6 * 0.15 / 2 = 0.045.
    assert positive_integral(t, p, 0.5, 1.9) == pytest.approx(2.25, rel=1e-14)
    assert integral(t, p, 0.5, 1.9) == pytest.approx(2.25 - 0.045, rel=1e-14)
    # The naive trapezoid of max(p, 0) would smear the crossing: (3 + 0) / 2 = 1.5 J.
    assert positive_integral(t, p, 1.0, 2.0) == pytest.approx(1.125, rel=1e-15)


def test_positive_and_negative_parts_add_up():
    """For any piecewise-linear y: int max(y,0) - int max(-y,0) = int y, and the parts are
    >= 0, on a random coarse grid with many sign changes and off-sample windows."""
    rng = np.random.default_rng(3)
    t = np.cumsum(rng.uniform(0.0, 1.0, 200))
    y = rng.normal(size=200)
    for a, b in [(None, None), (t[3] + 0.1, t[150] - 0.2)]:
        pos, neg = positive_integral(t, y, a, b), positive_integral(t, -y, a, b)
        assert pos > 0 and neg > 0
        assert pos - neg == pytest.approx(integral(t, y, a, b), rel=1e-12, abs=1e-12)
    # Splitting at the crossings never gives more than the naive trapezoid of max(y, 0).
    assert positive_integral(t, y) < trapezoid(np.maximum(y, 0), t)


def test_window_samples_and_cumulative():
    t = np.array([0.0, 1.0, 2.0, 4.0])
    y = np.array([0.0, 2.0, 2.0, 6.0])
    tw, yw = window_samples(t, y, 0.5, 3.0)
    np.testing.assert_array_equal(tw, [0.5, 1.0, 2.0, 3.0])
    np.testing.assert_array_equal(yw, [1.0, 2.0, 2.0, 4.0])
    tw, yw = window_samples(t, y, 1.0, 1.0)
    np.testing.assert_array_equal(tw, [1.0, 1.0])
    assert integral(t, y, 1.0, 1.0) == 0.0
    np.testing.assert_allclose(cumulative_integral(t, y), [0.0, 1.0, 3.0, 11.0])
    assert integral(t, y) == pytest.approx(11.0)


def test_sign_convention_and_energy_pair():
    """A source at 2 V with ngspice branch current -1 mA (delivering) for 1 s, then
    +0.5 mA (absorbing) for 1 s: drawn 2 mJ, net 2 mJ - 1 mJ = 1 mJ (step edges made
    with duplicate time points)."""
    t = np.array([0.0, 1.0, 1.0, 2.0])
    v = np.full(4, 2.0)
    i_branch = np.array([-1e-3, -1e-3, 0.5e-3, 0.5e-3])
    np.testing.assert_allclose(delivered_power_W(v, i_branch), [2e-3, 2e-3, -1e-3, -1e-3])
    drawn, net = energy_delivered_J(t, v, i_branch)
    assert drawn == pytest.approx(2e-3) and net == pytest.approx(1e-3)
    drawn, net = energy_delivered_J(t, v, i_branch, 0.5, 1.5)
    assert drawn == pytest.approx(1e-3) and net == pytest.approx(0.5e-3)


@pytest.mark.parametrize("args", [
    (np.array([0.0, 1.0]), np.array([1.0, 2.0, 3.0])),      # shape mismatch
    (np.array([0.0]), np.array([1.0])),                     # too short
    (np.array([0.0, 2.0, 1.0]), np.array([1.0, 1.0, 1.0])),  # time goes back
    (np.array([0.0, 1.0]), np.array([np.nan, 1.0])),        # NaN
])
def test_bad_inputs(args):
    with pytest.raises(InputError):
        integral(*args)


def test_window_outside_samples():
    t, y = np.array([1e-11, 1.0]), np.array([1.0, 1.0])
    with pytest.raises(InputError, match="uic"):
        integral(t, y, 0.0, 1.0)
    with pytest.raises(InputError, match="t_a <= t_b"):
        integral(t, y, 0.8, 0.2)


# --- through ngspice -----------------------------------------------------------------

R_OHM, C_F, V_V = 1e3, 1e-9, 2.0
TAU_S = R_OHM * C_F
E_CV2_J = C_F * V_V**2
T_EDGE0_S = 10e-9   # the pulse starts rising here
HOLD_S = 20 * TAU_S  # settles to exp(-20) ~ 2e-9


def _rc_pulse(ramp_s: float):
    """Drive 0 -> V (linear ramp ramp_s), hold, V -> 0 (ramp ramp_s), hold; R into C."""
    from lim_hw.sim import simulate

    t1, t2 = T_EDGE0_S, T_EDGE0_S + ramp_s
    t3, t4 = t2 + HOLD_S, t2 + HOLD_S + ramp_s
    deck = (f"* rc pulse, ramp {ramp_s:.3e} s\n"
            f"vdrv in 0 pwl(0 0 {t1:.9e} 0 {t2:.9e} {V_V} {t3:.9e} {V_V} {t4:.9e} 0)\n"
            f"r1 in out {R_OHM}\nc1 out 0 {C_F}\n"
            ".options reltol=1e-6 abstol=1e-15 vntol=1e-9 chgtol=1e-20\n"
            f".tran {TAU_S / 100:.6e} {t4 + HOLD_S:.9e} 0 {TAU_S / 100:.6e}\n")
    res = simulate(deck, ["v(in)", "i(vdrv)", "v(in,out)"])
    return res, t3


@needs_ngspice
def test_rc_step_supply_and_resistor_energy():
    """Step 0 -> V through R into C (ramp T = 1 ns << tau = 1 us), window until settled.

    The supply delivers E_s = int V_s i dt. Once V_s = V it moves the rest of the charge
    C V at voltage V; during the ramp it runs below V, which saves V^2 T / (6 R), so
    E_s = C V^2 (1 - T / (6 tau)) = C V^2 (1 - 1.7e-4). The capacitor stores C V^2 / 2,
    so the resistor dissipates E_R = C V^2 / 2 (1 - T / (3 tau)). Both within 0.1 % of
    C V^2 and C V^2 / 2, and within 1e-4 of the exact expressions. The source's
    delivered power is never negative, so drawn = net.
    """
    ramp = 1e-9
    res, t_fall = _rc_pulse(ramp)
    t, v, i = res.time_s, res["v(in)"], res["i(vdrv)"]
    drawn, net = energy_delivered_J(t, v, i, 0.0, t_fall)
    e_resistor = integral(t, res["v(in,out)"] * (-i), 0.0, t_fall)  # resistor current = -i(vdrv)
    assert drawn == pytest.approx(E_CV2_J, rel=1e-3)
    assert e_resistor == pytest.approx(E_CV2_J / 2, rel=1e-3)
    assert drawn == pytest.approx(E_CV2_J * (1 - ramp / (6 * TAU_S)), rel=1e-4)
    assert e_resistor == pytest.approx(E_CV2_J / 2 * (1 - ramp / (3 * TAU_S)), rel=1e-4)
    assert net == pytest.approx(drawn, rel=1e-9)


def _ramp_energies(ramp_s: float) -> tuple[float, float]:
    """Exact (drawn, net) for the pulse of a linear ramp of duration T through R into C.

    Rising ramp V_s = V t / T: i = (C V / T)(1 - exp(-t/tau)) >= 0; integrating V_s i
    over the ramp and then V * (charge still missing at t = T) over the hold gives
    E_up = C V^2 [1/2 + x - x^2 (1 - exp(-1/x))], x = tau / T.
    Falling ramp from V: i = -(C V / T)(1 - exp(-t/tau)) <= 0 while V_s > 0, then V_s = 0:
    E_down = -C V^2 [1/2 - x + x^2 (1 - exp(-1/x))]  (energy returned to the source).
    drawn = E_up (delivered power is >= 0 rising, <= 0 falling); net = E_up + E_down
          = C V^2 [2x - 2x^2 (1 - exp(-1/x))].
    Limits: fast edges (x -> inf): drawn -> C V^2 (1 - T/(6 tau)), net -> C V^2 (1 - T/(3 tau)):
    an abrupt edge recovers nothing, the stored C V^2/2 burns in R on the way down.
    Slow edges (x -> 0, adiabatic): drawn -> C V^2 / 2, net -> 2 C V^2 tau / T -> 0.
    """
    x = TAU_S / ramp_s
    tail = x * x * -math.expm1(-1 / x)
    up = E_CV2_J * (0.5 + x - tail)
    down = -E_CV2_J * (0.5 - x + tail)
    return up, up + down


@needs_ngspice
@pytest.mark.parametrize("ramp_s", [1e-9, 50 * TAU_S], ids=["fast-edges", "adiabatic"])
def test_pulse_drawn_vs_net(ramp_s):
    """Full pulse up and back down. Fast edges: drawn ~ net ~ C V^2 (no recovery
    possible). Slow ramps (T = 50 tau): drawn ~ C V^2/2 (= 0.5196 C V^2) and net ~ 0
    (= 0.0392 C V^2): the ideal source takes the stored energy back. Tolerances: drawn
    1e-4 relative; net 1e-4 C V^2 absolute (a small difference of large energies)."""
    res, _ = _rc_pulse(ramp_s)
    drawn, net = energy_delivered_J(res.time_s, res["v(in)"], res["i(vdrv)"])
    drawn_exact, net_exact = _ramp_energies(ramp_s)
    assert drawn == pytest.approx(drawn_exact, rel=1e-4)
    assert net == pytest.approx(net_exact, abs=1e-4 * E_CV2_J)
    if ramp_s < TAU_S:
        assert drawn == pytest.approx(E_CV2_J, rel=1e-3) and net == pytest.approx(E_CV2_J, rel=1e-3)
    else:
        assert drawn == pytest.approx(E_CV2_J / 2, rel=0.05) and abs(net) < 0.05 * E_CV2_J


def test_windowed_integrals_match_single_window_integrals():
    """The O(n) many-window integral equals the per-window one (1e-12 relative) for plain and positive parts."""
    from lim_hw.energy.integrate import integral, positive_integral, windowed_integrals

    rng = np.random.default_rng(7)
    t = np.cumsum(rng.uniform(1e-3, 1.0, 400))
    y = rng.normal(0.0, 1.0, t.size)
    a = np.sort(rng.uniform(t[0], t[-1], 30))
    b = np.minimum(a + rng.uniform(0.0, 40.0, a.size), t[-1])
    a[0], b[-1] = t[0], t[-1]
    got = windowed_integrals(t, y, a, b)
    got_pos = windowed_integrals(t, y, a, b, positive=True)
    for k in range(a.size):
        assert got[k] == pytest.approx(integral(t, y, a[k], b[k]), rel=1e-12, abs=1e-12)
        assert got_pos[k] == pytest.approx(positive_integral(t, y, a[k], b[k]), rel=1e-12, abs=1e-12)


def test_log_mean_integral_is_exact_for_exponentials():
    """On 5 sparse points, exp(t) integrates exactly with log_mean; the trapezoid is off by ~2 %."""
    from lim_hw.energy.integrate import windowed_integrals

    t = np.linspace(0.0, 2.0, 5)
    y = 3e-17 * np.exp(1.7 * t)
    exact = 3e-17 * (np.exp(3.4) - 1.0) / 1.7
    got = windowed_integrals(t, y, [0.0], [2.0], log_mean=True)[0]
    trap = windowed_integrals(t, y, [0.0], [2.0])[0]
    assert got == pytest.approx(exact, rel=1e-12)
    assert abs(trap / exact - 1.0) > 1e-2
