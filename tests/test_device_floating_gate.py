"""Tests for lim_hw.device.floating_gate: the FN-DAM closed form against an ODE solve (theory.md s.5)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from lim_hw.device.fn import fn_coefficients, fn_current_A
from lim_hw.device.floating_gate import (
    FGConstants,
    closed_form_from_k,
    decay_charge_C,
    decay_voltage_after_V,
    device_from_k,
    fg_dVdt_V_per_s,
    fn_closed_form_V,
    fn_k_constants,
    time_to_reach_s,
    tunnel_energy_J,
)
from lim_hw.errors import InputError

REF = dict(tox_m=12e-9, area_m2=1e-12, C_T_F=100e-15)  # theory.md s.5 reference device
DEVICES = [  # (tox_m, area_m2, C_T_F, V0_V): t_ox 8-14 nm, varied area, C_T, V0
    (12e-9, 1e-12, 100e-15, 8.0),
    (8e-9, 1e-12, 100e-15, 6.0),
    (14e-9, 1e-11, 50e-15, 10.0),
    (10e-9, 5e-13, 200e-15, 7.0),
    (9e-9, 2e-12, 30e-15, 5.0),
]
T_EVAL = np.logspace(-3, 7, 41)


def _ode(tox, area, C_T, V0, method="LSODA", rtol=1e-10):
    """Integrate C_T dV/dt = -I_FN(V) together with Q = int I dt and W = int I V dt."""

    def rhs(t, y):
        I = fn_current_A(y[0], tox, area)
        return [-I / C_T, I, I * y[0]]

    sol = solve_ivp(rhs, (0.0, T_EVAL[-1]), [V0, 0.0, 0.0], method=method, t_eval=T_EVAL,
                    rtol=rtol, atol=[1e-14, 1e-40, 1e-40])
    assert sol.status == 0, sol.message
    return sol.y


def test_reference_constants_and_values():
    # theory.md s.5: k2 = 304.09 V, k1 = 2.422e13 1/s, k0 = 3.223e16 (4-5 significant figures;
    # 4-figure rounding alone allows 1.5e-4 relative, hence 2e-4 on k1, k0).
    k = fn_k_constants(V0_V=8.0, **REF)
    assert k.k2_V == pytest.approx(304.09, rel=1e-4)
    assert k.k1_per_s == pytest.approx(2.422e13, rel=2e-4)
    assert k.k0 == pytest.approx(3.223e16, rel=2e-4)
    assert k.ln_k0 == pytest.approx(k.k2_V / 8.0, rel=1e-15)
    assert k.V0_V == pytest.approx(8.0, rel=1e-15)
    V = fn_closed_form_V(np.array([1e3, 1e4, 1e5, 1e6, 1e7]), V0_V=8.0, **REF)
    np.testing.assert_allclose(V, [7.8838, 7.5733, 7.1815, 6.8129, 6.4789], rtol=1e-4)
    assert fn_closed_form_V(0.0, V0_V=8.0, **REF) == 8.0


def test_k_constants_hand_formulas():
    A, B = fn_coefficients()
    tox, area, C, V0 = 10e-9, 3e-12, 70e-15, 7.5
    k = fn_k_constants(tox, area, C, V0)
    assert k.k2_V == pytest.approx(B * tox, rel=1e-15)
    assert k.k1_per_s == pytest.approx(A * area * B / (C * tox), rel=1e-15)
    assert k.k0 == pytest.approx(math.exp(B * tox / V0), rel=1e-13)
    assert isinstance(k, FGConstants)


@pytest.mark.parametrize("dev", DEVICES)
def test_closed_form_matches_ode(dev):
    tox, area, C_T, V0 = dev
    V_ode, Q_ode, W_ode = _ode(*dev)
    V = fn_closed_form_V(T_EVAL, *dev)
    np.testing.assert_allclose(V, V_ode, rtol=1e-6)
    # the decay is visible over the window, so the comparison is not trivial
    assert V[-1] < 0.95 * V0
    # charge and tunnelling energy vs the integrals carried along with the ODE
    np.testing.assert_allclose(decay_charge_C(V0, T_EVAL, tox, area, C_T), Q_ode, rtol=1e-6)
    np.testing.assert_allclose(tunnel_energy_J(V0, T_EVAL, tox, area, C_T), W_ode, rtol=1e-6)


def test_closed_form_matches_radau_reference_device():
    V_ode = _ode(12e-9, 1e-12, 100e-15, 8.0, method="Radau")[0]
    np.testing.assert_allclose(fn_closed_form_V(T_EVAL, V0_V=8.0, **REF), V_ode, rtol=1e-6)


def test_restart_semigroup_and_closed_form_from_k():
    V0 = 8.0
    t1, t2 = 3e2, 4e5
    V1 = fn_closed_form_V(t1, V0_V=V0, **REF)
    V2 = fn_closed_form_V(t2, V0_V=V0, **REF)
    assert decay_voltage_after_V(V1, t2 - t1, **REF) == pytest.approx(V2, rel=1e-13)
    k = fn_k_constants(V0_V=V0, **REF)
    np.testing.assert_allclose(closed_form_from_k(T_EVAL, k.k0, k.k1_per_s, k.k2_V),
                               fn_closed_form_V(T_EVAL, V0_V=V0, **REF), rtol=1e-13)
    np.testing.assert_allclose(closed_form_from_k(T_EVAL, None, k.k1_per_s, k.k2_V, ln_k0=k.ln_k0),
                               k.V_at(T_EVAL), rtol=1e-15)


def test_slope_formula_and_ode_rhs():
    # theory.md s.5: |dV/dt| = (k1/k2) V^2 / (k1 t + k0); the RHS at V(t) must equal it.
    k = fn_k_constants(V0_V=8.0, **REF)
    t = np.array([0.0, 1e2, 1e4, 1e6])
    V = fn_closed_form_V(t, V0_V=8.0, **REF)
    slope = -(k.k1_per_s / k.k2_V) * V**2 / (k.k1_per_s * t + k.k0)
    np.testing.assert_allclose(fg_dVdt_V_per_s(V, **REF), slope, rtol=1e-12)
    assert fg_dVdt_V_per_s(-1.0, **REF) == 0.0


def test_short_pulse_charge_is_accurate():
    # for dt much shorter than the decay, Q -> I(V0) dt; no cancellation in C_T (V0 - V_end)
    V0, dt = 8.0, 1e-9
    Q = decay_charge_C(V0, dt, **REF)
    I0 = fn_current_A(V0, REF["tox_m"], REF["area_m2"])
    assert Q == pytest.approx(I0 * dt, rel=1e-9)
    assert tunnel_energy_J(V0, dt, **REF) == pytest.approx(I0 * V0 * dt, rel=1e-9)
    assert decay_charge_C(V0, 0.0, **REF) == 0.0


def test_energy_identity():
    # int I V dt = C_T (V0^2 - V^2)/2
    V0, dt = 9.0, 1e4
    V = decay_voltage_after_V(V0, dt, **REF)
    assert tunnel_energy_J(V0, dt, **REF) == pytest.approx(REF["C_T_F"] * (V0**2 - V**2) / 2, rel=1e-12)
    assert decay_charge_C(V0, dt, **REF) == pytest.approx(REF["C_T_F"] * (V0 - V), rel=1e-12)


def test_time_to_reach_inverts_closed_form():
    V0 = 8.0
    V = fn_closed_form_V(T_EVAL, V0_V=V0, **REF)
    t_back = time_to_reach_s(V0, V, **REF)
    # Before the knee (k0/k1 = 1331 s) V0 - V is tiny (1.6e-7 V at 1 ms), so the
    # inverse amplifies the 1e-15 rounding of V: ~1e-8 relative at 1 ms, 1e-13 after the knee.
    np.testing.assert_allclose(t_back, T_EVAL, rtol=5e-8)
    np.testing.assert_allclose(t_back[T_EVAL >= 1e4], T_EVAL[T_EVAL >= 1e4], rtol=1e-12)
    assert time_to_reach_s(V0, V0, **REF) == 0.0
    assert time_to_reach_s(V0, 0.1, **REF) == math.inf  # exp(3040) s: beyond a float
    with pytest.raises(InputError):
        time_to_reach_s(6.0, 7.0, **REF)


def test_small_V0_is_finite():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for V0 in (0.5, 0.3):
            k = fn_k_constants(V0_V=V0, **REF)
            assert math.isfinite(k.ln_k0)
            V = fn_closed_form_V(T_EVAL, V0_V=V0, **REF)
            assert np.all(np.isfinite(V)) and np.all(V <= V0) and np.all(V > 0.999999 * V0)
            Q = decay_charge_C(V0, 1e7, **REF)
            assert np.isfinite(Q) and Q >= 0
        assert fn_k_constants(V0_V=0.3, **REF).k0 == math.inf  # k2/V0 = 1014 > 709
        # at 0.5 V the current is constant over 1e7 s: Q = I(V0) * dt exactly enough
        I0 = fn_current_A(0.5, REF["tox_m"], REF["area_m2"])
        assert decay_charge_C(0.5, 1e7, **REF) == pytest.approx(I0 * 1e7, rel=1e-12)


def test_nonpositive_start_does_not_tunnel():
    np.testing.assert_array_equal(decay_voltage_after_V(np.array([-1.0, 0.0]), 1e3, **REF), [-1.0, 0.0])
    np.testing.assert_array_equal(decay_charge_C(np.array([-1.0, 0.0]), 1e3, **REF), [0.0, 0.0])


def test_broadcasting():
    V = fn_closed_form_V(T_EVAL[:, None], 12e-9, 1e-12, 100e-15, np.array([6.0, 8.0, 10.0]))
    assert V.shape == (T_EVAL.size, 3)
    np.testing.assert_allclose(V[:, 1], fn_closed_form_V(T_EVAL, V0_V=8.0, **REF), rtol=1e-15)
    k = fn_k_constants(np.array([10e-9, 12e-9]), 1e-12, 100e-15, 8.0)
    assert np.shape(k.k0) == (2,) and np.shape(k.k1_per_s) == (2,)
    assert isinstance(fn_closed_form_V(1.0, V0_V=8.0, **REF), float)


@pytest.mark.parametrize("phi,m", [(3.2, 0.42), (3.0, 0.5)])
def test_device_from_k_round_trip(phi, m):
    tox, area, C_T, V0 = 11e-9, 2.5e-12, 80e-15, 7.25
    k = fn_k_constants(tox, area, C_T, V0, phi, m)
    d = device_from_k(k.k1_per_s, k.k2_V, k.k0, phi_B_eV=phi, m_eff=m)
    assert d["tox_m"] == pytest.approx(tox, rel=1e-13)
    assert d["area_over_C_T_m2_per_F"] == pytest.approx(area / C_T, rel=1e-13)
    assert d["V0_V"] == pytest.approx(V0, rel=1e-13)
    d2 = device_from_k(k.k1_per_s, k.k2_V, ln_k0=k.ln_k0, phi_B_eV=phi, m_eff=m)
    assert d2["V0_V"] == pytest.approx(V0, rel=1e-15)


def test_non_identifiable_combinations_give_identical_traces():
    # area and C_T scaled together: same k's
    a = fn_k_constants(12e-9, 1e-12, 100e-15, 8.0)
    b = fn_k_constants(12e-9, 3e-12, 300e-15, 8.0)
    assert (a.k1_per_s, a.k2_V, a.ln_k0) == pytest.approx((b.k1_per_s, b.k2_V, b.ln_k0), rel=1e-14)
    # phi_B, m*, t_ox, area/C_T changed keeping tox phi^1.5 sqrt(m*) and phi^2 area/C_T fixed
    phi2, m2 = 2.8, 0.6
    tox2 = 12e-9 * (3.2**1.5 * math.sqrt(0.42)) / (phi2**1.5 * math.sqrt(m2))
    ratio2 = (1e-12 / 100e-15) * 3.2**2 / phi2**2
    c = fn_k_constants(tox2, ratio2 * 100e-15, 100e-15, 8.0, phi2, m2)
    assert (a.k1_per_s, a.k2_V, a.ln_k0) == pytest.approx((c.k1_per_s, c.k2_V, c.ln_k0), rel=1e-13)


def test_bad_input_raises():
    with pytest.raises(InputError):
        fn_closed_form_V(-1.0, V0_V=8.0, **REF)
    with pytest.raises(InputError):
        fn_k_constants(V0_V=0.0, **REF)
    with pytest.raises(InputError):
        fn_closed_form_V(1.0, 12e-9, 1e-12, 0.0, 8.0)
    with pytest.raises(InputError):
        closed_form_from_k(1.0, 1e16, 1e13, 300.0, ln_k0=37.0)
    with pytest.raises(InputError):
        closed_form_from_k(1.0, 0.5, 1e13, 300.0)
    with pytest.raises(InputError):
        device_from_k(1e13, 300.0)
    with pytest.raises(InputError):
        decay_voltage_after_V(np.nan, 1.0, **REF)


def test_scalar_decay_drop_equals_the_array_path():
    """decay_drop_from_k_V's math path for scalars gives the numpy path's numbers, bit for bit."""
    from lim_hw.device.floating_gate import decay_drop_from_k_V

    rng = np.random.default_rng(3)
    V = np.concatenate([rng.uniform(-1.0, 12.0, 2000), [0.0, 5.0]])
    dt = np.concatenate([10 ** rng.uniform(-12, 7, 2000), [1.0, 0.0]])
    k1, k2 = 2.422e13, 304.09
    by_array = decay_drop_from_k_V(V, dt, k1, k2)
    by_scalar = np.array([decay_drop_from_k_V(float(v), float(t), k1, k2) for v, t in zip(V, dt)])
    np.testing.assert_array_equal(by_scalar, by_array)
