"""The FN law's temperature and image-force corrections and the exact u-space trajectory (docs/device.md s.6-8).

Independent references: the Murphy-Good factor written out from scipy.constants (hand
formula with hbar), Forbes' v(f), t(f) at hand-computed points, ``solve_ivp`` of the ODE
``C_T dV/dt = -I_FN(V)`` with the current of lim_hw.device.fn (itself checked against
hand values), and for the thermal law the exact time ``t(u) = Im[Ei((k2 + i pi s) u)] /
(pi s k1/k2)`` from scipy.special.expi.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import constants as sc
from scipy.integrate import solve_ivp
from scipy.special import expi

from lim_hw.device.card import default_card
from lim_hw.device.floating_gate import (decay_drop_from_k_V, fg_dVdt_V_per_s, fg_voltage_V, fn_k_constants,
                                         time_to_reach_s)
from lim_hw.device.fn import fn_coefficients, fn_current_density_A_per_m2
from lim_hw.device.fn_law import FNLaw, ckT_field, forbes_t, forbes_v, thermal_factor
from lim_hw.device.trajectory import law_drop_scalar_V, law_drop_V
from lim_hw.errors import InputError

DEV = dict(tox_m=12e-9, area_m2=1e-12, C_T_F=100e-15)


def _hand_ckT(E: float, T: float = 300.0, phi_eV: float = 3.2, m_eff: float = 0.42) -> float:
    """c kT = kT * 2 sqrt(2 m* q phi_B) / (hbar q E) (Murphy & Good 1956), from scipy.constants."""
    return sc.k * T * 2 * math.sqrt(2 * m_eff * sc.m_e * sc.e * phi_eV) / (sc.hbar * sc.e * E)


@pytest.mark.parametrize("E, F_hand", [(8e8, 1.29), (5e8, 2.06)])
def test_thermal_factor_against_hand_calculation(E, F_hand):
    x = _hand_ckT(E)
    F = math.pi * x / math.sin(math.pi * x)
    assert F == pytest.approx(F_hand, abs=0.005)            # the figures
    _, B = fn_coefficients()
    assert ckT_field(FNLaw(T_K=300.0), E, B) == pytest.approx(x, rel=1e-12)   # (3/2)(kT/q phi)(B/E) identity
    J_T = fn_current_density_A_per_m2(E, T_K=300.0)
    assert J_T / fn_current_density_A_per_m2(E) == pytest.approx(F, rel=1e-12)


def test_thermal_factor_temperature_coefficient():
    # 0.2-0.6 %/K between 8 and 5 MV/cm at 300 K (measured here: 0.18 and 0.57 %/K)
    for E, lo, hi in ((8e8, 0.0015, 0.0025), (5e8, 0.005, 0.0065)):
        F = [thermal_factor(_hand_ckT(E, T)) for T in (299.5, 300.5)]
        slope = (F[1] - F[0]) / (0.5 * (F[0] + F[1]))
        assert lo < slope < hi


def test_thermal_factor_refuses_divergence_and_card_refuses_invalid_operating_point():
    with pytest.raises(InputError, match="diverges"):
        thermal_factor(1.0)
    assert thermal_factor(0.0) == 1.0
    # c kT at V0 = 3.9 V on the reference oxide is 0.94 > 0.8: refused with the fix named
    with pytest.raises(InputError, match="c kT"):
        default_card().with_updates(device={"V0_V": 3.9})
    default_card().with_updates(device={"V0_V": 3.9, "fn_model": "classic"})      # classic: no limit


def test_forbes_functions_hand_values():
    f = 0.065
    assert forbes_v(f) == pytest.approx(1 - f + f * math.log(f) / 6, rel=1e-15)
    assert forbes_v(f) == pytest.approx(0.905388, abs=1e-6)       # hand: 1 - 0.065 - 0.029612 (ln f = -2.73337)
    assert forbes_t(f) == pytest.approx(1.017093, abs=1e-6)       # hand: 1 + 0.007222 + 0.009870
    assert forbes_v(0.0) == 1.0 and forbes_t(0.0) == 1.0
    # Schottky lowering at 10 MV/cm with the optical permittivity 2.15: sqrt(qE/(4 pi eps)) = 0.818 V
    law = FNLaw(image_force=True)
    assert law.barrier_lowering_eV(1e9) == pytest.approx(math.sqrt(sc.e * 1e9 / (4 * math.pi * 2.15 * sc.epsilon_0)),
                                                         rel=1e-9)
    assert law.barrier_lowering_eV(1e9) == pytest.approx(0.818, abs=1e-3)


def test_image_force_current_density_hand_formula():
    E, phi = 9e8, 3.2
    A, B = fn_coefficients()
    f = sc.e * E / (4 * math.pi * sc.epsilon_0 * 2.15 * phi**2)
    v = 1 - f + f * math.log(f) / 6
    t = 1 + f / 9 - f * math.log(f) / 18
    J_hand = A * E**2 / t**2 * math.exp(-v * B / E)
    assert fn_current_density_A_per_m2(E, image_force=True) == pytest.approx(J_hand, rel=1e-12)
    x = _hand_ckT(E) * t
    assert fn_current_density_A_per_m2(E, T_K=300.0, image_force=True) == pytest.approx(
        J_hand * math.pi * x / math.sin(math.pi * x), rel=1e-12)


LAWS = [dict(T_K=300.0), dict(T_K=350.0), dict(image_force=True), dict(T_K=300.0, image_force=True)]


@pytest.mark.parametrize("law", LAWS, ids=["300K", "350K", "image", "300K+image"])
@pytest.mark.parametrize("V0, tox", [(8.0, 12e-9), (6.5, 10e-9)])
def test_trajectory_against_solve_ivp(law, V0, tox):
    dev = {**DEV, "tox_m": tox}
    t = np.array([1e-3, 1.0, 1e2, 1e4, 1e6, 1e7])

    def rhs(_t, y):
        return [fg_dVdt_V_per_s(y[0], **dev, **law)]

    sol = solve_ivp(rhs, (0.0, t[-1]), [V0], method="LSODA", rtol=1e-12, atol=1e-14, t_eval=t)
    V = fg_voltage_V(t, V0_V=V0, **dev, **law)
    np.testing.assert_allclose(V, sol.y[0], rtol=1e-10)
    # the inverse: time to reach each voltage
    np.testing.assert_allclose(time_to_reach_s(V0, V[2:], **dev, **law), t[2:], rtol=1e-8)


@pytest.mark.parametrize("T", [300.0, 350.0])
def test_thermal_trajectory_against_exact_ei_time(T):
    """t(u) = (1/c1) Im[Ei((k2 + i pi s) u)] / (pi s) exactly; large steps are free of cancellation."""
    k = fn_k_constants(V0_V=8.0, **DEV)
    k1, k2 = float(k.k1_per_s), float(k.k2_V)
    s, f1 = FNLaw(T_K=T).trajectory_constants(DEV["tox_m"], k2)
    z = k2 + 1j * math.pi * s
    for t in (1.0, 1e3, 1e5, 1e7, 1e9):
        u1 = 1.0 / (8.0 - float(law_drop_V(8.0, k1 * t, k2, s, f1)))
        t_ei = (expi(z * u1).imag - expi(z / 8.0).imag) / (math.pi * s) / (k1 / k2)
        assert t_ei == pytest.approx(t, rel=1e-10)


def test_small_steps_have_no_cancellation():
    """A 1 ns step: the drop equals rate x dt to first order (relative correction ~ rate' dt)."""
    k = fn_k_constants(V0_V=8.0, **DEV)
    k1, k2 = float(k.k1_per_s), float(k.k2_V)
    s, f1 = FNLaw(T_K=300.0).trajectory_constants(DEV["tox_m"], k2)
    rate = -fg_dVdt_V_per_s(8.0, **DEV, T_K=300.0)
    for dt in (1e-12, 1e-9, 1e-6):
        d = float(law_drop_V(8.0, k1 * dt, k2, s, f1))
        assert d == pytest.approx(rate * dt, rel=1e-9)


def test_scalar_and_vector_paths_agree_and_classic_limit_is_the_closed_form():
    rng = np.random.default_rng(3)
    V = rng.uniform(4.5, 11.0, 300)
    c = 10 ** rng.uniform(2, 22, 300)
    k2 = rng.uniform(250, 330, 300)
    s = 0.012 * k2
    vec = law_drop_V(V, c, k2, s, 0.0)
    sca = np.array([law_drop_scalar_V(*a) for a in zip(V, c, k2, s, np.zeros(300))])
    np.testing.assert_allclose(sca, vec, rtol=1e-13)
    f1 = 0.065 / 12.0 * np.ones(300)
    vec = law_drop_V(V, c, k2, s, f1)
    sca = np.array([law_drop_scalar_V(*a) for a in zip(V, c, k2, s, f1)])
    np.testing.assert_allclose(sca, vec, rtol=1e-13)
    # s = f1 = 0: exactly the cancellation-free closed form
    k1 = 2.42e13
    classic = decay_drop_from_k_V(V, c / k1, k1, k2)
    np.testing.assert_allclose(law_drop_V(V, c, k2, 0.0, 0.0), classic, rtol=1e-13)   # (c/k1) k1 rounding
    # non-conducting and zero-length steps
    assert law_drop_V(-1.0, 1e20, 300.0, 3.6, 0.0) == 0.0 and law_drop_scalar_V(8.0, 0.0, 300.0, 3.6) == 0.0
