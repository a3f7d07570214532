"""Closed-form source energies of an FN-DAM programming pulse (docs/fast-model.md s.3).

A control-gate driver is a voltage source ``v_s(t)`` behind its output resistance
``R`` (``R_drv_ohm``). Seen from the control gate, a cell is the control
capacitor ``C_c`` in series with the rest of the floating-gate capacitance
(``C_j`` to the DC-biased tunnelling node and ``C_fg`` to ground, both AC
ground), so one cell loads the line with::

    C_eff = C_c (C_T - C_c) / C_T

and a line shared by ``n`` cells (an array column) is ``C = n C_eff`` with time
constant ``tau = R C``. The source swings by ``V_p`` with linear edges of
duration ``T`` (ngspice ``PULSE`` TR/TF; a "rectangular" pulse has fast edges,
a "ramped" one slow edges: the same formula covers both). For one edge,
solving ``tau v_c' = v_s - v_c`` and integrating ``R i^2`` until the line has
settled gives the resistor dissipation (derivation in docs/fast-model.md)::

    E_R = C V_p^2 rho(T/tau),   rho(x) = (1/x) (1 - (1 - exp(-x))/x)

``rho -> 1/2`` for a step (``T << tau``) and ``rho -> tau/T`` for a slow ramp
(adiabatic charging). Per pulse (rising and falling edge):

- energy *drawn* (positive part of the delivered power, no recovery):
  ``C V_p^2/2 + E_R`` (the falling edge only returns energy);
- *net* energy (an ideal bidirectional source that takes the stored energy
  back): ``2 E_R``.

For a step both equal ``C V_p^2``.

The tunnelling-bias source ``V_tun`` also moves charge on every pulse: the
floating gate follows the control gate by ``kappa V_p``, so the junction
capacitor ``C_j`` draws ``C_j kappa V_p`` from ``V_tun`` on the leading edge and
returns it on the trailing edge: drawn ``V_tun C_j kappa V_p``, net 0.
Tunnelling charge ``Q`` adds ``V_tun (1 - C_j/C_T) Q`` (bias source) and
``kappa V_p Q_driven`` (the driver, for charge moved while the gate is driven);
see :func:`fn_charge_energy_J`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ..device.card import Card, DeviceParams
from ..errors import InputError

__all__ = [
    "DriveConstants",
    "effective_drive_capacitance_F",
    "ramp_dissipation_factor",
    "ramp_dissipation_J",
    "driver_energy_per_pulse_J",
    "bias_edge_energy_J",
    "fn_charge_energy_J",
    "drive_constants",
]


def effective_drive_capacitance_F(dev: DeviceParams) -> float:
    """Capacitance one cell presents to its control-gate line: ``C_c (C_T - C_c) / C_T`` (F)."""
    return dev.C_c_F * (dev.C_T_F - dev.C_c_F) / dev.C_T_F


def ramp_dissipation_factor(T_over_tau: ArrayLike) -> float | np.ndarray:
    """``rho(x) = (1/x) (1 - (1 - exp(-x))/x)``: resistor energy of one linear edge in units of ``C V^2``.

    ``x = T/tau`` (edge duration over the RC time constant), ``x >= 0``;
    ``rho(0) = 1/2`` (step), ``rho(x) -> 1/x`` for slow ramps. Below ``x = 0.05`` the
    series ``sum_k (-x)^k / (k+2)!`` (9 terms, error < 1e-19) avoids cancellation.
    """
    x = np.asarray(T_over_tau, dtype=float)
    if not np.all(np.isfinite(x)) or np.any(x < 0):
        raise InputError("T_over_tau must be finite and >= 0 (edge time over driver RC time constant)")
    small = x < 0.05
    xs = np.where(small, 1.0, x)
    direct = (1.0 - (-np.expm1(-xs)) / xs) / xs
    series = np.zeros_like(x)
    for k in range(8, -1, -1):                 # Horner: sum_k (-x)^k / (k+2)!
        series = series * (-x) + 1.0 / math.factorial(k + 2)
    out = np.where(small, series, direct)
    return float(out) if out.ndim == 0 else out


def ramp_dissipation_J(C_F: ArrayLike, V_V: ArrayLike, T_s: ArrayLike, R_ohm: ArrayLike) -> float | np.ndarray:
    """Energy dissipated in ``R`` when a linear ramp of ``V_V`` over ``T_s`` charges ``C_F`` through it (J).

    ``E_R = C V^2 (tau/T) (1 - (tau/T) (1 - exp(-T/tau)))``, ``tau = R C``,
    counted until the capacitor has settled.
    """
    C = np.asarray(C_F, dtype=float)
    tau = np.asarray(R_ohm, dtype=float) * C
    rho = ramp_dissipation_factor(np.asarray(T_s, dtype=float) / tau)
    out = C * np.asarray(V_V, dtype=float) ** 2 * rho
    return float(out) if np.ndim(out) == 0 else out


def driver_energy_per_pulse_J(C_eff_F: float, V_p_V: ArrayLike, rise_s: float, R_drv_ohm: float,
                              cells_per_line: int = 1) -> tuple[float | np.ndarray, float | np.ndarray]:
    """``(drawn, net)`` driver energy per pulsed cell for one pulse of amplitude ``V_p_V`` (J).

    The line carries ``cells_per_line`` cells of ``C_eff_F`` each (time
    constant ``R_drv C_eff cells_per_line``); the energy is split evenly over
    them. drawn ``= C_eff V_p^2 (1/2 + rho)``, net ``= 2 rho C_eff V_p^2``.
    """
    if cells_per_line < 1:
        raise InputError(f"cells_per_line = {cells_per_line} must be >= 1")
    rho = ramp_dissipation_factor(rise_s / (R_drv_ohm * C_eff_F * cells_per_line))
    V2 = np.asarray(V_p_V, dtype=float) ** 2
    drawn = C_eff_F * V2 * (0.5 + rho)
    net = 2.0 * rho * C_eff_F * V2
    if np.ndim(drawn) == 0:
        return float(drawn), float(net)
    return drawn, net


def bias_edge_energy_J(dev: DeviceParams, V_p_V: ArrayLike) -> float | np.ndarray:
    """Energy drawn from the tunnelling bias on a pulse's leading edge: ``V_tun C_j kappa V_p`` (J); net 0."""
    out = dev.V_tun_V * dev.C_j_F * dev.kappa * np.asarray(V_p_V, dtype=float)
    return float(out) if np.ndim(out) == 0 else out


def fn_charge_energy_J(dev: DeviceParams, Q_C: ArrayLike, V_p_V: ArrayLike = 0.0,
                       Q_driven_C: ArrayLike = 0.0) -> float | np.ndarray:
    """Source energy that pays for tunnelling charge (J): ``V_tun (1 - C_j/C_T) Q + kappa V_p Q_driven``.

    ``Q_C`` is the charge through the junction in the window; ``Q_driven_C`` the
    part moved while the control gate was at ``-V_p`` (weighted by the
    fraction of the swing on the edges). Drawn and net alike (the sources
    deliver it with positive power).
    """
    out = (dev.V_tun_V * (1.0 - dev.C_j_F / dev.C_T_F) * np.asarray(Q_C, dtype=float)
           + dev.kappa * np.asarray(V_p_V, dtype=float) * np.asarray(Q_driven_C, dtype=float))
    return float(out) if np.ndim(out) == 0 else out


@dataclass(frozen=True)
class DriveConstants:
    """Per-run energy constants: per pulsed cell, ``drawn = a_drawn V_p^2 + b_bias V_p``, ``net = a_net V_p^2``.

    Plus the tunnelling-charge terms of :func:`fn_charge_energy_J`
    (``c_bias_per_C`` multiplies all junction charge in the window, ``kappa``
    times ``V_p Q_driven`` is the driver's share).
    """

    C_eff_F: float
    tau_s: float
    rho: float
    a_drawn_J_per_V2: float
    a_net_J_per_V2: float
    b_bias_J_per_V: float
    c_bias_J_per_C: float
    kappa: float
    cells_per_line: int


def drive_constants(card: Card, cells_per_line: int = 1) -> DriveConstants:
    """Energy constants of a card's driver and bias (see the module docstring)."""
    if cells_per_line < 1:
        raise InputError(f"cells_per_line = {cells_per_line} must be >= 1")
    dev, prog = card.device, card.programming
    C_eff = effective_drive_capacitance_F(dev)
    tau = prog.R_drv_ohm * C_eff * cells_per_line
    rho = float(ramp_dissipation_factor(prog.rise_s / tau)) if C_eff > 0 else 0.0
    return DriveConstants(
        C_eff_F=C_eff, tau_s=tau, rho=rho,
        a_drawn_J_per_V2=C_eff * (0.5 + rho), a_net_J_per_V2=2.0 * rho * C_eff,
        b_bias_J_per_V=dev.V_tun_V * dev.C_j_F * dev.kappa,
        c_bias_J_per_C=dev.V_tun_V * (1.0 - dev.C_j_F / dev.C_T_F),
        kappa=dev.kappa, cells_per_line=int(cells_per_line),
    )
