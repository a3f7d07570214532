"""Floating-gate trajectory under the corrected FN law: exact, cancellation-free steps (docs/device.md s.8).

With ``u = 1/V`` the FN-DAM ODE ``C_T dV/dt = -I_FN(V)`` reads

    du/dt = (k1/k2) exp(-k2 u) R(u),

``R(u)`` the thermal / image-force factor of :mod:`lim_hw.device.fn_law`
(``R = 1``: the classic law, whose solution is ``exp(k2 u) = k1 t + k0``).
With ``g = 1/R`` a step of ``dt`` from ``u0`` ends at ``u1 = u0 + Q/k2`` where

    H(Q) = int_0^Q exp(r) g(u0 + r/k2) dr = x,     x = k1 dt exp(-k2 u0).

``g`` is smooth and varies slowly against ``exp(r)`` (its log-derivative in r is
~ -0.02 on the reference device), so ``H`` is evaluated as
``H = exp(Q) J(Q)``, ``J(Q) = int_0^Q exp(-q) g(u1 - q/k2) dq`` by Gauss-Legendre
quadrature (3, 5 or 8 nodes by the size of Q; panels of width <= 2 in q, truncated
at q = 40 where ``exp(-q)`` is below 1e-17), and ``Q`` solves ``Q + ln J(Q) = ln x``
by Newton's method (``d/dQ = g(u1)/J``), started from the classic closed form with
``g`` frozen at the midpoint. The drop ``V0 - V1 = V0 Q / (k2 u0 + Q)`` has no
cancellation, so a 1 ns edge is as accurate as a 1e7 s decay. For the classic law
the same code is the closed form ``Q = ln(1 + x)`` (no iteration).

Tested against ``solve_ivp`` and, for the thermal law, against the exact time
``t(u) = Im[Ei((k2 + i pi s) u)] / (pi s k1/k2)`` (docs/device.md s.8).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import numpy as np

from .fn_law import CKT_GUARD, ln_rate_factor_u

__all__ = ["law_drop_V", "law_drop_scalar_V", "law_time_s"]

_Q_TAIL = 40.0          # J(Q) = J(40) beyond: exp(-40) = 4e-18
_PANEL = 2.0            # widest panel in q for 8-node Gauss-Legendre
_NEWTON_MAX = 40
_NEWTON_RTOL = 2e-7     # relative error after a Newton step ~ (previous step)^2 / 2: ~2e-14
_X_GUARD = math.pi * CKT_GUARD


@lru_cache(maxsize=8)
def _gl(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on [0, 1]."""
    x, w = np.polynomial.legendre.leggauss(n)
    return (x + 1.0) / 2.0, w / 2.0


@lru_cache(maxsize=8)
def _gl_pairs(n: int) -> tuple[tuple[float, float], ...]:
    """:func:`_gl` as (node, weight) floats for the scalar path."""
    tau, w = _gl(n)
    return tuple(zip(tau.tolist(), w.tolist()))


def _nodes_for(Q_max: float) -> int:
    # n-point GL error on int_0^h exp(-q) G dq ~ h^(2n+1) (n!)^4 / ((2n+1) ((2n)!)^3), relative to h:
    # 2 nodes reach 3e-16 for h <= 1e-3, 3 nodes 1e-15 for h <= 0.05, 5 nodes for h <= 0.5, 8 for h <= 2.
    return 2 if Q_max <= 1e-3 else 3 if Q_max <= 0.05 else 5 if Q_max <= 0.5 else 8


def _g(u, k2, s, f1, thermal, image):
    """``g = 1/R(u)``; the thermal-only law needs no exp or log: ``g = sin(x)/x``."""
    if image:
        return np.exp(-ln_rate_factor_u(u, k2, s, f1, thermal, image))
    x = np.minimum(math.pi * s * u, _X_GUARD)
    return np.sin(x) / x


def _J(Q, u1, k2, s, f1, thermal, image):
    """``int_0^min(Q, 40) exp(-q) g(u1 - q/k2) dq`` (arrays)."""
    Qc = np.minimum(Q, _Q_TAIL)
    qmax = float(np.max(Qc)) if Qc.size else 0.0
    P = max(1, math.ceil(qmax / _PANEL))
    tau, w = _gl(_nodes_for(qmax / P))
    h = Qc / P
    out = np.zeros_like(Q)
    for p in range(P):
        for tj, wj in zip(tau, w):
            q = h * (p + tj)
            out += wj * np.exp(-q) * _g(u1 - q / k2, k2, s, f1, thermal, image)
    return out * h


def law_drop_V(V_start_V: Any, c: Any, k2_V: Any, s_V: Any = 0.0, f1_per_V: Any = 0.0, *,
               thermal: bool | None = None, image_force: bool | None = None) -> np.ndarray:
    """Drop of the oxide voltage (V) over a free decay with ``c = k1 dt`` (vectorised, exact).

    ``s_V``, ``f1_per_V``: the law's trajectory constants
    (:meth:`lim_hw.device.fn_law.FNLaw.trajectory_constants`); ``thermal`` /
    ``image_force`` default to "that constant is not all zero". 0 for ``V <= 0`` or ``c = 0``.
    """
    V, c = np.broadcast_arrays(np.asarray(V_start_V, dtype=float), np.asarray(c, dtype=float))
    k2, s, f1 = (np.asarray(a, dtype=float) for a in (k2_V, s_V, f1_per_V))
    if k2.ndim or s.ndim or f1.ndim:                 # per-cell constants: the same shape as V
        V, c, k2, s, f1 = np.broadcast_arrays(V, c, k2, s, f1)
    thermal = bool(np.any(s != 0)) if thermal is None else thermal
    image = bool(np.any(f1 != 0)) if image_force is None else image_force
    act = (V > 0) & (c > 0)
    every = bool(act.all())
    if not every:
        if not act.any():
            return np.zeros(V.shape)
        V, c = V[act], c[act]
        k2, s, f1 = (a[act] if a.ndim else a for a in (k2, s, f1))
    u0 = 1.0 / V
    with np.errstate(divide="ignore", under="ignore"):
        lnx = np.log(c) - k2 * u0
    if not (thermal or image):
        Q = np.logaddexp(0.0, lnx)
    else:
        Q = _newton(lnx, u0, k2, s, f1, thermal, image)
    drop = V * Q / (k2 * u0 + Q)
    if every:
        return drop
    out = np.zeros(act.shape)
    out[act] = drop
    return out


def _newton(lnx, u0, k2, s, f1, thermal, image):
    """``Q`` with ``Q + ln J(Q) = ln x``: Newton from the midpoint-frozen closed form (whole arrays)."""
    Q = np.logaddexp(0.0, lnx)                                   # the classic step (g = 1) ...
    gm = _g(u0 + 0.5 * Q / k2, k2, s, f1, thermal, image)
    Q = np.logaddexp(0.0, lnx - np.log(gm))                      # ... then g frozen at its midpoint
    tiny = Q <= 1e-300                                           # an underflowed step (Q ~ 0) is done
    if tiny.all():
        return Q
    Qs = np.where(tiny, 1.0, Q)                                  # a harmless stand-in while iterating
    lnxs = np.where(tiny, 0.0, lnx)
    for _ in range(_NEWTON_MAX):
        u1 = u0 + Qs / k2
        J = _J(Qs, u1, k2, s, f1, thermal, image)
        step = (Qs + np.log(J) - lnxs) * J / _g(u1, k2, s, f1, thermal, image)
        Qn = np.where(Qs - step > 0, Qs - step, 0.5 * Qs)
        done = np.all(np.abs(Qn - Qs) <= _NEWTON_RTOL * Qn)
        Qs = Qn
        if done:
            break
    return np.where(tiny, Q, Qs)


def law_drop_scalar_V(V: float, c: float, k2: float, s: float = 0.0, f1: float = 0.0) -> float:
    """:func:`law_drop_V` for one set of floats (``math`` path, ~10-20 us: the synthesis root finder)."""
    if not V > 0 or not c > 0:
        return 0.0
    u0 = 1.0 / V
    lnx = math.log(c) - k2 * u0
    thermal, image = s != 0.0, f1 != 0.0
    if not (thermal or image):
        Q = lnx + math.log1p(math.exp(-lnx)) if lnx > 0 else math.log1p(math.exp(lnx))
        return V * Q / (k2 * u0 + Q)

    ps = math.pi * s   # (pi s) u is what pi * s * u evaluates: the same floats

    def g(u: float) -> float:
        if not image:
            x = min(ps * u, _X_GUARD)
            return math.sin(x) / x
        return math.exp(-ln_rate_factor_u(u, k2, s, f1, thermal, image, xp=math))

    def softplus(z: float) -> float:
        return z + math.log1p(math.exp(-z)) if z > 0 else math.log1p(math.exp(z))

    Q = softplus(lnx)                                            # the classic step (g = 1) ...
    Q = softplus(lnx - math.log(g(u0 + 0.5 * Q / k2)))           # ... then g frozen at its midpoint
    for _ in range(_NEWTON_MAX if Q > 1e-300 else 0):     # an underflowed step (Q ~ 0) is done
        u1 = u0 + Q / k2
        Qc = min(Q, _Q_TAIL)
        P = max(1, math.ceil(Qc / _PANEL))
        pairs = _gl_pairs(_nodes_for(Qc / P))
        h = Qc / P
        J = 0.0
        for p in range(P):
            for tj, wj in pairs:
                q = h * (p + tj)
                if image:
                    J += wj * math.exp(-q) * g(u1 - q / k2)
                else:  # g inlined (the thermal law): this loop is most of the synthesis time
                    x = ps * (u1 - q / k2)
                    if x > _X_GUARD:
                        x = _X_GUARD
                    J += wj * math.exp(-q) * (math.sin(x) / x)
        J *= h
        step = (Q + math.log(J) - lnx) * J / g(u1)
        Qn = Q - step if Q - step > 0 else 0.5 * Q
        done = abs(Qn - Q) <= _NEWTON_RTOL * max(Qn, 1e-300)
        Q = Qn
        if done:
            break
    return V * Q / (k2 * u0 + Q)


def law_time_s(V_start_V: Any, V_end_V: Any, k1_per_s: Any, k2_V: Any, s_V: Any = 0.0, f1_per_V: Any = 0.0
               ) -> np.ndarray:
    """Time (s) to decay from ``V_start_V`` to ``V_end_V`` (``0 < V_end <= V_start``): ``exp(k2 u0) H(Q) / k1``.

    ``inf`` when it exceeds a float.
    """
    Vs, Ve, k1, k2, s, f1 = np.broadcast_arrays(*(np.asarray(a, dtype=float)
                                                  for a in (V_start_V, V_end_V, k1_per_s, k2_V, s_V, f1_per_V)))
    thermal, image = bool(np.any(s != 0)), bool(np.any(f1 != 0))
    u0, u1 = 1.0 / Vs, 1.0 / Ve
    Q = k2 * (u1 - u0)
    if thermal or image:
        lnH = Q + np.log(np.where(Q > 0, _J(Q, u1, k2, s, f1, thermal, image), 1.0))
        lnH = np.where(Q > 0, lnH, -np.inf)
    else:
        with np.errstate(divide="ignore"):
            lnH = np.log(-np.expm1(-Q)) + Q
    with np.errstate(over="ignore"):
        return np.exp(k2 * u0 + lnH - np.log(k1))
