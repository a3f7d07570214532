"""Tests for lim_hw.device.fn: FN coefficients, current density, current (theory.md s.4)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import constants as sc

from lim_hw.device.fn import (
    fn_coefficients,
    fn_current_A,
    fn_current_density_A_per_m2,
    fn_transition_rate_per_s,
    ln_fn_current_A,
    oxide_field_V_per_m,
)
from lim_hw.errors import InputError


def _hand_AB(phi_eV: float, m_eff: float) -> tuple[float, float]:
    """A and B written out from scipy.constants, independently of lim_hw."""
    q, h, m0 = sc.e, sc.h, sc.m_e
    phi = phi_eV * q
    m = m_eff * m0
    A = q**3 * m0 / (8 * math.pi * h * m * phi)
    B = 8 * math.pi * math.sqrt(2 * m) * phi**1.5 / (3 * q * h)
    return A, B


def test_coefficients_match_theory_numbers():
    # theory.md s.4 quotes A = 1.147e-6 A/V^2, B = 2.534e10 V/m (4 significant figures).
    A, B = fn_coefficients()
    assert A == pytest.approx(1.147e-6, rel=1e-3)
    assert B == pytest.approx(2.534e10, rel=1e-3)


@pytest.mark.parametrize("phi_eV,m_eff", [(3.2, 0.42), (3.1, 0.5), (2.9, 0.3)])
def test_coefficients_match_hand_computation(phi_eV, m_eff):
    A, B = fn_coefficients(phi_eV, m_eff)
    A_h, B_h = _hand_AB(phi_eV, m_eff)
    assert A == pytest.approx(A_h, rel=1e-13)
    assert B == pytest.approx(B_h, rel=1e-13)


def test_coefficient_scaling_laws():
    # A ~ 1/(m* phi), B ~ sqrt(m*) phi^1.5
    A0, B0 = fn_coefficients(3.2, 0.42)
    A1, B1 = fn_coefficients(6.4, 0.84)
    assert A1 == pytest.approx(A0 / 4, rel=1e-14)
    assert B1 == pytest.approx(B0 * 2**1.5 * 2**0.5, rel=1e-14)


@pytest.mark.parametrize("E", [5e8, 2.0 / 3.0 * 1e9, 1e9])
def test_current_density_hand_values(E):
    A_h, B_h = _hand_AB(3.2, 0.42)
    J_h = A_h * E * E * math.exp(-B_h / E)
    assert fn_current_density_A_per_m2(E) == pytest.approx(J_h, rel=1e-13)


def test_current_density_literature_scale():
    # Sanity: SiO2 at 10 MV/cm carries ~1e-3 A/cm^2 (= 10 A/m^2) in the FN regime.
    J = fn_current_density_A_per_m2(1e9)
    assert 1.0 < J < 100.0
    # From the quoted 4-figure A, B: 1.147e-6 * 1e18 * exp(-25.34) = 11.34 A/m^2. The
    # rounding of B (+-5e6 V/m) moves exp(-B/E) by up to 0.5%, so allow 1%.
    assert J == pytest.approx(1.147e-6 * 1e18 * math.exp(-2.534e10 / 1e9), rel=1e-2)


def test_current_density_zero_for_nonpositive_and_small_fields():
    E = np.array([-1e9, 0.0, 1e3, 1e9])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no divide/underflow warnings leak out
        J = fn_current_density_A_per_m2(E)
    assert J[0] == 0.0 and J[1] == 0.0 and J[2] == 0.0
    assert J[3] > 0


def test_current_and_rate():
    tox, area = 12e-9, 1e-12
    V = np.array([6.0, 8.0, 10.0])
    E = oxide_field_V_per_m(V, tox)
    np.testing.assert_allclose(E, V / tox, rtol=1e-15)
    I = fn_current_A(V, tox, area)
    np.testing.assert_allclose(I, area * fn_current_density_A_per_m2(V / tox), rtol=1e-14)
    np.testing.assert_allclose(fn_transition_rate_per_s(V, tox, area), I / sc.e, rtol=1e-14)
    # hand value at 8 V on the reference device
    A_h, B_h = _hand_AB(3.2, 0.42)
    I8 = area * A_h * (8 / tox) ** 2 * math.exp(-B_h * tox / 8)
    assert fn_current_A(8.0, tox, area) == pytest.approx(I8, rel=1e-13)
    assert fn_current_A(-8.0, tox, area) == 0.0


def test_ln_current_matches_and_survives_underflow():
    tox, area = 12e-9, 1e-12
    V = np.array([4.0, 8.0, 12.0])
    np.testing.assert_allclose(ln_fn_current_A(V, tox, area), np.log(fn_current_A(V, tox, area)), rtol=1e-13)
    assert fn_current_A(0.2, tox, area) == 0.0  # exp(-1520) underflows
    lnI = ln_fn_current_A(0.2, tox, area)
    A_h, B_h = _hand_AB(3.2, 0.42)
    assert lnI == pytest.approx(math.log(area * A_h) + 2 * math.log(0.2 / tox) - B_h * tox / 0.2, rel=1e-13)
    assert ln_fn_current_A(0.0, tox, area) == -math.inf


def test_scalar_returns_float_and_broadcasting():
    assert isinstance(fn_current_A(8.0, 12e-9, 1e-12), float)
    I = fn_current_A(np.array([[7.0], [8.0]]), np.array([10e-9, 12e-9, 14e-9]), 1e-12)
    assert I.shape == (2, 3)
    assert I[1, 1] == pytest.approx(fn_current_A(8.0, 12e-9, 1e-12), rel=1e-15)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(V_ox_V=np.nan, tox_m=12e-9, area_m2=1e-12),
        dict(V_ox_V=8.0, tox_m=0.0, area_m2=1e-12),
        dict(V_ox_V=8.0, tox_m=12e-9, area_m2=-1e-12),
        dict(V_ox_V=8.0, tox_m=12e-9, area_m2=1e-12, phi_B_eV=0.0),
        dict(V_ox_V=8.0, tox_m=12e-9, area_m2=1e-12, m_eff=np.inf),
    ],
)
def test_bad_input_raises(kwargs):
    with pytest.raises(InputError):
        fn_current_A(**kwargs)
