"""lim_hw.fast.energy: closed-form driver and bias energies (docs/fast-model.md s.3)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad

from lim_hw.device.card import default_card
from lim_hw.errors import InputError
from lim_hw.fast import (bias_edge_energy_J, drive_constants, driver_energy_per_pulse_J,
                         effective_drive_capacitance_F, fn_charge_energy_J, ramp_dissipation_factor,
                         ramp_dissipation_J)


def _numeric_ramp_energies(C, V, T, R):
    """Integrate the RC response to a linear ramp: (resistor energy, energy delivered by the source)."""
    tau = R * C

    def i_ramp(t):           # current during the ramp
        return C * V / T * (1 - np.exp(-t / tau))

    lag = V * tau / T * (1 - np.exp(-T / tau))   # source minus capacitor voltage at t = T

    def i_tail(s):           # after the ramp
        return lag / R * np.exp(-s / tau)

    E_R = quad(lambda t: R * i_ramp(t) ** 2, 0, T, epsabs=0, epsrel=1e-13, limit=200)[0] \
        + quad(lambda s: R * i_tail(s) ** 2, 0, 60 * tau, epsabs=0, epsrel=1e-13, limit=200)[0]
    E_src = quad(lambda t: V * t / T * i_ramp(t), 0, T, epsabs=0, epsrel=1e-13, limit=200)[0] \
        + quad(lambda s: V * i_tail(s), 0, 60 * tau, epsabs=0, epsrel=1e-13, limit=200)[0]
    return E_R, E_src


@pytest.mark.filterwarnings("ignore::scipy.integrate.IntegrationWarning")
@pytest.mark.parametrize("x", [1e-6, 1e-3, 0.04, 0.06, 0.4, 1.0, 7.0, 300.0])
def test_ramp_dissipation_against_numerical_integration(x):
    C, V, R = 25e-15, 1.7, 1e5
    T = x * R * C
    E_R, E_src = _numeric_ramp_energies(C, V, T, R)
    assert ramp_dissipation_J(C, V, T, R) == pytest.approx(E_R, rel=1e-9)
    # rising edge: the source delivers the stored energy plus the dissipation
    assert E_src == pytest.approx(C * V**2 / 2 + E_R, rel=1e-9)


def test_ramp_factor_limits_and_continuity():
    assert ramp_dissipation_factor(0.0) == 0.5
    x = np.array([0.05 * (1 - 1e-12), 0.05])
    r = ramp_dissipation_factor(x)
    assert abs(r[0] - r[1]) < 1e-14
    assert ramp_dissipation_factor(1e4) == pytest.approx(1e-4 * (1 - 1e-4), rel=1e-12)
    xs = np.logspace(-6, 4, 200)
    rs = ramp_dissipation_factor(xs)
    assert np.all(np.diff(rs) < 0) and np.all(rs > 0) and np.all(rs <= 0.5)
    with pytest.raises(InputError):
        ramp_dissipation_factor(-1.0)


def test_driver_energy_per_pulse():
    card = default_card()
    C = effective_drive_capacitance_F(card.device)
    assert C == pytest.approx(25e-15)
    # a step: drawn = net = C V^2
    d, n = driver_energy_per_pulse_J(C, 2.0, 1e-18, 1e5)
    assert d == pytest.approx(C * 4.0, rel=1e-9) and n == pytest.approx(C * 4.0, rel=1e-9)
    # a slow ramp: drawn -> C V^2 / 2, net -> 2 C V^2 tau/T
    d, n = driver_energy_per_pulse_J(C, 2.0, 1e-3, 1e5)
    tau = 1e5 * C
    assert d == pytest.approx(C * 2.0, rel=1e-5) and n == pytest.approx(2 * C * 4.0 * tau / 1e-3, rel=1e-5)
    # shared line: same per-cell energy for a step, longer tau
    d4, n4 = driver_energy_per_pulse_J(C, np.array([1.0, 2.0]), 1e-9, 1e5, cells_per_line=4)
    rho = ramp_dissipation_factor(1e-9 / (4 * tau))
    np.testing.assert_allclose(d4, C * np.array([1.0, 4.0]) * (0.5 + rho))
    with pytest.raises(InputError):
        driver_energy_per_pulse_J(C, 1.0, 1e-9, 1e5, cells_per_line=0)


def test_bias_and_charge_terms():
    dev = default_card().device
    assert bias_edge_energy_J(dev, 1.5) == pytest.approx(10.0 * 2e-15 * 0.5 * 1.5)
    Q = 7e-18
    assert fn_charge_energy_J(dev, Q) == pytest.approx(10.0 * 0.98 * Q)
    assert fn_charge_energy_J(dev, Q, 2.0, Q) == pytest.approx(10.0 * 0.98 * Q + 0.5 * 2.0 * Q)


def test_drive_constants():
    card = default_card()
    dc = drive_constants(card, cells_per_line=2)
    assert dc.tau_s == pytest.approx(2 * 1e5 * 25e-15)
    assert dc.rho == pytest.approx(float(ramp_dissipation_factor(1e-9 / dc.tau_s)))
    assert dc.a_drawn_J_per_V2 == pytest.approx(dc.C_eff_F * (0.5 + dc.rho))
    assert dc.a_net_J_per_V2 == pytest.approx(2 * dc.rho * dc.C_eff_F)
    with pytest.raises(InputError):
        drive_constants(card, cells_per_line=0)
