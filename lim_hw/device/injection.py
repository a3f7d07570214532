"""Hot-electron injection for bidirectional updates: the behavioural law of circuits/fn_injection.lib.

A pFET channel carrying ``I_s`` at drain drive ``V_ds`` injects the fraction
``beta exp(-V_inj / V_ds)`` of its carriers onto the floating gate (the behavioural
hot-electron law used for floating-gate circuits; docs/device.md s.11):

    I_inj = I_s beta exp(-V_inj / V_ds)   (electrons onto the gate: V_ox rises),
    I_ch  = I_s                            (channel current from the drive, V_ds > v_min).

A drive pulse rises linearly to ``V_ds`` in ``rise``, stays ``width`` and falls in
``rise``. Electrons injected (the edges exactly, with ``J(a) = int_0^1 exp(-a/x) dx
= exp(-a) - a E1(a)``, ``a = V_inj/V_ds``)::

    N = I_s beta (exp(-a) width + 2 rise J(a)) / q

and the energy the drive delivers to the channel::

    E_drive = I_s (V_ds width + rise (V_ds - v_min^2 / V_ds)).

lim-hw uses it when ``[programming] decrease = "injection"``: an update with a
negative gradient injects ``N_target`` electrons into the same gate that tunnelling
raises, instead of pulsing the other half of a differential pair.
"""

from __future__ import annotations

import math

from ..constants import q_C
from ..errors import InputError

__all__ = ["V_MIN_V", "injected_electrons", "injection_amplitude_V", "injector_drive_energy_J"]

#: Drive below which the injector is off (the library's ``vmin``).
V_MIN_V = 0.1


def _edge_integral(a: float) -> float:
    """``int_0^1 exp(-a/x) dx = exp(-a) - a E1(a)`` (a > 0)."""
    from scipy.special import exp1

    return math.exp(-a) - a * float(exp1(a))


def injected_electrons(V_ds_V: float, I_s_A: float, beta: float, V_inj_V: float, width_s: float,
                       rise_s: float) -> float:
    """Electrons a drive pulse of amplitude ``V_ds_V`` injects (see the module docstring)."""
    if V_ds_V <= V_MIN_V:
        return 0.0
    a = V_inj_V / V_ds_V
    # the edges below v_min contribute exp(-V_inj/v_min) ~ 0: the integral from x = 0 is exact to rounding
    return I_s_A * beta * (math.exp(-a) * width_s + 2.0 * rise_s * _edge_integral(a)) / q_C


def injection_amplitude_V(N_target: float, I_s_A: float, beta: float, V_inj_V: float, width_s: float,
                          rise_s: float, V_max_V: float = 20.0) -> float:
    """Drive amplitude (V) that injects ``N_target`` electrons (bisection on ln N, 1e-13 relative)."""
    if N_target <= 0:
        return 0.0

    def f(V: float) -> float:
        return math.log(max(injected_electrons(V, I_s_A, beta, V_inj_V, width_s, rise_s), 1e-300)) - math.log(N_target)

    if f(V_max_V) < 0:
        raise InputError(f"injecting {N_target:.3g} electrons needs a drive above {V_max_V:g} V; raise "
                         "[device] inj_I_s_A or inj_beta, lower inj_V_inj_V, or lengthen pulse_width_s")
    # start from the flat-top inverse and bracket it
    x = I_s_A * beta * (width_s + rise_s) / (q_C * N_target)
    V0 = V_inj_V / math.log(x) if x > 1.0 else V_max_V
    lo, hi = max(V_MIN_V * 1.0001, 0.5 * V0), min(V_max_V, 2.0 * V0)
    if f(lo) > 0:
        lo = V_MIN_V * 1.0001
    if f(hi) < 0:
        hi = V_max_V
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if f(mid) < 0:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-13 * hi:
            break
    return 0.5 * (lo + hi)


def injector_drive_energy_J(V_ds_V: float, I_s_A: float, width_s: float, rise_s: float) -> float:
    """Energy the drive delivers to the injector channel for one pulse (J; see the module docstring)."""
    if V_ds_V <= V_MIN_V:
        return 0.0
    return I_s_A * (V_ds_V * width_s + rise_s * (V_ds_V - V_MIN_V**2 / V_ds_V))
