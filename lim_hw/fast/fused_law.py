"""Fused numba kernels of the fast model under the thermal / image-force FN law (docs/device.md s.6-8).

The same physics and segment sequence as :mod:`lim_hw.fast.fused` (steps at mid-edge around a
flat top shifted by ``kappa V_p``, free decay elsewhere), but every segment's drop is the exact
u-space step of :func:`lim_hw.device.trajectory.law_drop_V`, the algorithm of the numpy path:

- ``Q`` (``u1 = u0 + Q/k2``) solves ``Q + ln J(Q) = ln x``, ``x = k1 dt exp(-k2/V)``,
  ``J(Q) = int_0^min(Q, 40) exp(-q) g(u1 - q/k2) dq``, ``g = 1/R`` the law's inverse rate factor
  (:func:`lim_hw.device.fn_law.ln_rate_factor_u`);
- start: the classic step ``log1p(x)``, then ``g`` frozen at its midpoint, ``log1p(x / g_mid)``;
- Newton ``Q <- Q - (Q + ln J - ln x) J / g(u1)`` until every cell's step is below
  ``2e-7 Q`` (error ~2e-14), ``J`` by Gauss-Legendre panels of width <= 2 with 2/3/5/8 nodes;
- drop ``V Q / (k2 u0 + Q)`` (no cancellation);
- under the thermal-only law (the default card's), a sub-block whose steps are all small
  (``Q <= 0.05``) and below the thermal guard takes :func:`_seg_series` instead: the Taylor
  series of ``exp(r) g`` from one ``sin``/``cos`` per cell and Newton on a polynomial
  (docs/fast-model.md s.2b), the same equation to ~1e-16.

Panels, nodes and the stopping test are chosen per block of :data:`lim_hw.fast.fused.BLOCK`
cells (the numpy path: per array), so results do not depend on the chunk size or threads. The
loops run over the cells of a block innermost (one pass per Newton step and quadrature node,
intermediates in a per-chunk scratch array of ``NS_ROWS x BLOCK``), so LLVM vectorises them with
the branch-free ``exp``, ``log``, ``sin`` of :mod:`lim_hw.fast.fmath`. Agreement with the numpy
path is ~1e-14 relative (tests/test_fast_law_kernel.py).
"""

from __future__ import annotations

import math

import numpy as np

from ..device.fn_law import CKT_GUARD
from ..device.trajectory import _NEWTON_MAX, _NEWTON_RTOL, _PANEL, _Q_TAIL, _gl
from .fmath import cos_0_pi, exp_neg, exp_signed, log1p, log_pos, sin_0_pi
from .fused import (_AMP, _IK2M, _IK2P, _K1M, _K1P, _K2M, _K2P, _OPTS, _OQB, _OQW, _QW, _VM, _VP, BLOCK, N_ROWS,
                    STORED_ROWS, _lane_sum, _load_amp, _pulse_block_sums, _store_pulse)
from numba import njit  # noqa: E402  (after fused: lim_hw.fast._numba_env first)

__all__ = ["NS_ROWS", "law_kind", "scratch", "free_update_law", "pulse_update_law"]

_X_GUARD = math.pi * CKT_GUARD
_PI = math.pi
# scratch rows: a segment's input (V, k1, k2, 1/k2) and output (drop), the pulse's other half and
# intermediates, and the Newton state of one segment (u0, ln x, Q, its start, quadrature sum, u1, h)
(_XV, _XK1, _XK2, _XIK2, _XD, _SV, _SVO, _SK1O, _SK2O, _SIK2O, _SDV, _SVH, _SV2, _DN, _DP, _DF, _DQ, _QO,
 _RU0, _RLNX, _RQ, _RQ0, _RJ, _RU1, _RH) = range(25)
# the series step of the thermal-only law (:func:`_seg_series`) reuses the Newton rows above (named for
# what it keeps there: x, sin x0, cos x0, 1/x0) and adds H', x0 and the coefficient rows c_0 .. c_N
_RX, _RSIN, _RCOS, _RIX0 = _RLNX, _RQ0, _RJ, _RU1
_RHP, _RX0 = 25, 26
_RC0 = 27
#: Most terms of the series step (beyond, or beyond :data:`_SER_Q_MAX`, the Newton path runs).
SER_NMAX = 24
# a block-shaped stack of N_ROWS rows of SUB doubles: the pulse's results (:func:`_store_pulse`) go here
# first, then row by row into the block (one loop per row: a loop that reads the scratch and writes
# fifteen block rows is not vectorised, and cost 29 of the kernel's 79 ns per synapse-update)
_RY = _RC0 + SER_NMAX + 1
#: Rows of the per-chunk scratch array of the law kernels (:func:`scratch`).
NS_ROWS = _RY + N_ROWS
#: Cells per sub-block: the law kernels run a block in sub-blocks (panels, nodes and the Newton stop
#: are chosen per sub-block), so the scratch (NS_ROWS x SUB doubles, 148 KB) stays in the core's L2 cache.
SUB = 256
#: Below this step (``Q``) the midpoint-frozen start is already exact to < 1e-15 relative (its error is
#: ``|d ln g / dr| Q^2 / 12`` with ``|d ln g / dr| < 1`` below the thermal guard): no Newton step.
_Q_GUESS_EXACT = 1e-7
_NODES = (2, 3, 5, 8)
_TAU = np.zeros((4, 8))
_WGT = np.zeros((4, 8))
for _k, _n in enumerate(_NODES):
    _TAU[_k, :_n], _WGT[_k, :_n] = _gl(_n)


#: Steps ``Q`` up to this take the series path (thermal-only law); beyond, the Newton path is faster
#: (a sub-block of 256 cells at Q ~ 0.1: 26 ns per cell by series, 20 ns by Newton + Gauss-Legendre).
_SER_Q_MAX = 0.05
#: Below this step the quadratic start is exact to ``Q^2 / 6 < 2e-16`` relative: no Newton step.
_SER_Q_GUESS_EXACT = 3e-8
#: ``_SER_QLIM[N]``: the largest ``(1 + beta) Q`` for which the terms after ``c_N`` sum to below 1e-17 of
#: ``H``: ``|c_n| <= (1 + beta)^n / n!`` (every derivative of sinc is at most 1 in size), and ``c_0`` and
#: ``H / Q`` are at least ``sinc(pi CKT_GUARD) > 1/20`` below the guard, so the remainder is at most
#: ``400 ((1 + beta) Q)^(N+1) / (N+2)!`` of ``H`` times 2 for the tail (``(1 + beta) Q <= (N+3)/2``).
_SER_QLIM = np.array([min((1e-17 * math.factorial(n + 2) / 800.0) ** (1.0 / (n + 1)), 0.5 * (n + 3))
                      for n in range(SER_NMAX + 1)])


def scratch() -> np.ndarray:
    """The per-chunk scratch array of the law kernels (``NS_ROWS x SUB`` doubles)."""
    return np.zeros(NS_ROWS * SUB)


def law_kind(sigma: float, beta: float) -> int:
    """``1`` thermal, ``2`` image force, ``3`` both (``sigma``, ``beta``: :attr:`lim_hw.device.fn_law.FNLaw.scales`)."""
    return (1 if sigma != 0.0 else 0) | (2 if beta != 0.0 else 0)


@njit(inline="always", **_OPTS)
def _g(u, k2, s, f1, thermal, image):
    """``g = 1/R(u)`` (:func:`lim_hw.device.trajectory._g`): ``sin(x)/x`` for the thermal-only law."""
    if image:
        f = f1 / u
        lf = log_pos(f)
        t = 1.0 + f / 9.0 - f * lf / 18.0
        lnR = k2 * f1 * (1.0 - lf / 6.0) - 2.0 * log_pos(t)
        if thermal:
            x = min(_PI * s * t * u, _X_GUARD)
            lnR += log_pos(x / sin_0_pi(x))
        return exp_signed(-lnR)
    x = min(_PI * s * u, _X_GUARD)
    return sin_0_pi(x) / x


@njit(inline="always", **_OPTS)
def _node_row(qmax):
    """Row of ``_TAU``/``_WGT`` for a panel of width ``qmax`` (:func:`lim_hw.device.trajectory._nodes_for`)."""
    return 0 if qmax <= 1e-3 else 1 if qmax <= 0.05 else 2 if qmax <= 0.5 else 3


@njit(inline="always", **_OPTS)
def _seg_series(sc, m, dt, sigma):
    """The thermal-only law's step by a power series (docs/fast-model.md s.2b): row ``_XD`` as
    :func:`_seg_body`, or ``False`` (rows untouched but scratch) where the series does not apply.

    With ``r = k2 (u - u0)`` the rate factor is ``g = sinc(x0 + beta r)``, ``x0 = pi s u0``,
    ``beta = pi sigma``, so ``exp(r) g = Im(exp(i x0) exp((1 + i beta) r)) / (x0 + beta r) =
    sum c_n r^n`` with ``x0 c_n + beta c_{n-1} = Im(exp(i x0) (1 + i beta)^n / n!)`` (an entire
    function; the recursion divides errors by ``x0 / beta = k2 u0 >> 1`` per term). Then
    ``H(Q) = sum c_n Q^(n+1) / (n+1)`` and ``H' = sum c_n Q^n`` are polynomials: Newton on
    ``H(Q) = x`` from the quadratic root needs no transcendental function per step. Applies when
    every cell's step is at most ``_SER_Q_MAX`` and stays below the thermal guard; ``N`` terms by
    the a-priori bound :data:`_SER_QLIM` (remainder < 1e-17); the same stopping test as the Newton path.
    """
    B = SUB
    beta = _PI * sigma
    for i in range(m):                   # no reduction in this loop: LLVM vectorises it
        k2 = sc[_XK2 * B + i]
        u0 = 1.0 / sc[_XV * B + i]
        x = sc[_XK1 * B + i] * dt * exp_neg(k2 * u0)
        x0 = beta * k2 * u0
        xc = min(x0, _PI)
        S = sin_0_pi(xc)
        C = cos_0_pi(xc)
        ix0 = 1.0 / x0
        c0 = S * ix0
        c1 = ((S + beta * C) - beta * c0) * ix0
        d = max(c0 * c0 + 2.0 * c1 * min(x, 1e6), c0 * c0)
        sc[_RU0 * B + i] = u0
        sc[_RX * B + i] = x
        sc[_RSIN * B + i] = S
        sc[_RCOS * B + i] = C
        sc[_RIX0 * B + i] = ix0
        sc[_RX0 * B + i] = x0
        sc[_RQ * B + i] = 2.0 * x / (c0 + math.sqrt(d)) if x <= 1e6 else _SER_Q_MAX + 1.0
        sc[_RC0 * B + i] = c0
    qmax = 0.0
    xmax = 0.0
    for i in range(m):
        qmax = max(qmax, sc[_RQ * B + i])
        xmax = max(xmax, sc[_RX0 * B + i])
    if not (qmax <= _SER_Q_MAX and xmax + beta * qmax <= _X_GUARD):
        return False
    N = 2
    while N < SER_NMAX and _SER_QLIM[N] < qmax * (1.0 + beta):
        N += 1
    if _SER_QLIM[N] < qmax * (1.0 + beta):
        return False
    done = qmax <= _SER_Q_GUESS_EXACT    # the start is exact: no coefficient beyond c_1 is needed
    pr, pim = 1.0, 0.0                   # (1 + i beta)^n / n!, the same for every cell
    for n in range(1, 0 if done else N + 1):
        pr, pim = (pr - beta * pim) / n, (pim + beta * pr) / n
        for i in range(m):
            w = sc[_RSIN * B + i] * pr + sc[_RCOS * B + i] * pim
            sc[(_RC0 + n) * B + i] = (w - beta * sc[(_RC0 + n - 1) * B + i]) * sc[_RIX0 * B + i]
    for _ in range(0 if done else _NEWTON_MAX):
        for i in range(m):
            cN = sc[(_RC0 + N) * B + i]
            sc[_RH * B + i] = cN / (N + 1)
            sc[_RHP * B + i] = cN
        for n in range(N - 1, -1, -1):
            inv = 1.0 / (n + 1)
            for i in range(m):
                Q = sc[_RQ * B + i]
                cn = sc[(_RC0 + n) * B + i]
                sc[_RH * B + i] = sc[_RH * B + i] * Q + cn * inv
                sc[_RHP * B + i] = sc[_RHP * B + i] * Q + cn
        bad = 0
        for i in range(m):
            Q = sc[_RQ * B + i]
            step = (sc[_RH * B + i] * Q - sc[_RX * B + i]) / sc[_RHP * B + i]
            Qn = Q - step if Q - step > 0.0 else 0.5 * Q
            bad += 0 if abs(Qn - Q) <= _NEWTON_RTOL * Qn else 1
            sc[_RQ * B + i] = Qn
        if bad == 0:
            done = True
            break
    if not done:
        return False
    qmax = 0.0                           # the bound and the guard hold for the final steps too
    for i in range(m):
        qmax = max(qmax, sc[_RQ * B + i])
    if not (_SER_QLIM[N] >= qmax * (1.0 + beta) and xmax + beta * qmax <= _X_GUARD):
        return False
    for i in range(m):
        Q = sc[_RQ * B + i]
        sc[_XD * B + i] = sc[_XV * B + i] * Q / (sc[_XK2 * B + i] * sc[_RU0 * B + i] + Q)
    return True


@njit(inline="always", **_OPTS)
def _seg_body(sc, m, dt, sigma, beta, thermal, image):
    """Row ``_XD`` = drop of row ``_XV`` over ``dt`` under the law (cells' ``k1``, ``k2``, ``1/k2`` in rows
    ``_XK1``, ``_XK2``, ``_XIK2``); returns the number of Newton steps (-1: the series step of the
    thermal-only law, :func:`_seg_series`). Every row offset is a constant,
    so LLVM sees that the rows never overlap and vectorises the loops."""
    B = SUB
    if thermal and not image:
        if _seg_series(sc, m, dt, sigma):
            return -1                                                   # the series path ran
    for i in range(m):
        V = sc[_XV * B + i]
        k2 = sc[_XK2 * B + i]
        c = sc[_XK1 * B + i] * dt
        u0 = 1.0 / V
        lnx = log_pos(c) - k2 * u0
        x = c * exp_neg(k2 * u0)
        Q = log1p(x)                                                        # the classic step ...
        Q = log1p(x / _g(u0 + 0.5 * Q / k2, k2, sigma * k2, beta / k2, thermal, image))   # ... g at midpoint
        tiny = not (Q > 1e-300)                                             # an underflowed step is done
        sc[_RQ0 * B + i] = Q
        sc[_RQ * B + i] = 1.0 if tiny else Q
        sc[_RLNX * B + i] = 0.0 if tiny else lnx
        sc[_RU0 * B + i] = u0
    qmax = 0.0
    for i in range(m):
        qmax = max(qmax, sc[_RQ * B + i])
    steps = 0
    for _ in range(_NEWTON_MAX if qmax > _Q_GUESS_EXACT else 0):
        steps += 1
        qmax = 0.0
        for i in range(m):
            qmax = max(qmax, min(sc[_RQ * B + i], _Q_TAIL))
        P = max(1, math.ceil(qmax / _PANEL))
        nr = _node_row(qmax / P)
        for i in range(m):
            Qs = sc[_RQ * B + i]
            sc[_RU1 * B + i] = sc[_RU0 * B + i] + Qs / sc[_XK2 * B + i]
            sc[_RH * B + i] = min(Qs, _Q_TAIL) / P
            sc[_RJ * B + i] = 0.0
        for p in range(P):
            for j in range(_NODES[nr]):
                tj, wj = _TAU[nr, j], _WGT[nr, j]
                for i in range(m):
                    k2, ik2 = sc[_XK2 * B + i], sc[_XIK2 * B + i]
                    q = sc[_RH * B + i] * (p + tj)
                    sc[_RJ * B + i] += wj * exp_neg(q) * _g(sc[_RU1 * B + i] - q * ik2, k2, sigma * k2, beta * ik2,
                                                            thermal, image)
        bad = 0
        for i in range(m):
            Qs = sc[_RQ * B + i]
            k2 = sc[_XK2 * B + i]
            J = sc[_RJ * B + i] * sc[_RH * B + i]
            step = (Qs + log_pos(J) - sc[_RLNX * B + i]) * J / _g(sc[_RU1 * B + i], k2, sigma * k2, beta / k2,
                                                                   thermal, image)
            Qn = Qs - step if Qs - step > 0.0 else 0.5 * Qs
            bad += 0 if abs(Qn - Qs) <= _NEWTON_RTOL * Qn else 1
            sc[_RQ * B + i] = Qn
        if bad == 0:
            break
    for i in range(m):
        Q0 = sc[_RQ0 * B + i]
        Qi = sc[_RQ * B + i]
        Q = Q0 if not (Q0 > 1e-300) else Qi
        sc[_XD * B + i] = sc[_XV * B + i] * Q / (sc[_XK2 * B + i] * sc[_RU0 * B + i] + Q)
    return steps


@njit(**_OPTS)
def _seg_T(sc, m, dt, sigma, beta):
    return _seg_body(sc, m, dt, sigma, beta, True, False)


@njit(**_OPTS)
def _seg_I(sc, m, dt, sigma, beta):
    return _seg_body(sc, m, dt, sigma, beta, False, True)


@njit(**_OPTS)
def _seg_TI(sc, m, dt, sigma, beta):
    return _seg_body(sc, m, dt, sigma, beta, True, True)


@njit(inline="always", **_OPTS)
def _seg(sc, m, dt, sigma, beta, thermal, image):
    """:func:`_seg_body` compiled once per law (a call per block and segment, not inlined)."""
    if thermal and image:
        _seg_TI(sc, m, dt, sigma, beta)
    elif image:
        _seg_I(sc, m, dt, sigma, beta)
    else:
        _seg_T(sc, m, dt, sigma, beta)


@njit(inline="always", **_OPTS)
def _free_update(st, sc, C, W, G, acc, b0, n, sigma, beta, thermal, image):
    B = BLOCK
    for j0 in range(0, C, B):
        m = min(B, C - j0)
        b = st[(j0 // B) * N_ROWS * B:(j0 // B + 1) * N_ROWS * B]
        for rv, rk1, rk2, rik2, rq in ((_VP, _K1P, _K2P, _IK2P, _OQW), (_VM, _K1M, _K2M, _IK2M, _OQB)):
            for o in range(0, m, SUB):
                ms = min(SUB, m - o)
                for i in range(ms):
                    sc[_XV * SUB + i] = b[rv * BLOCK + o + i]
                    sc[_XK1 * SUB + i] = b[rk1 * BLOCK + o + i]
                    sc[_XK2 * SUB + i] = b[rk2 * BLOCK + o + i]
                    sc[_XIK2 * SUB + i] = b[rik2 * BLOCK + o + i]
                _seg(sc, ms, W, sigma, beta, thermal, image)
                for i in range(ms):
                    b[rq * BLOCK + o + i] = sc[_XD * SUB + i]
                _seg(sc, ms, G, sigma, beta, thermal, image)
                for i in range(ms):
                    b[rv * BLOCK + o + i] = sc[_XV * SUB + i] - sc[_XD * SUB + i]
        blk = b0 + j0 // B
        acc[_QW, blk, n] += _lane_sum(b, _OQW, m)
        acc[_QW, blk, n] += _lane_sum(b, _OQB, m)


@njit(inline="always", **_OPTS)
def _pulse_body(b, sc, m, kappa, half, flat, W, G, ref, sigma, beta, thermal, image):
    """One block of :func:`pulse_update_law` (the segments of :func:`lim_hw.fast.fused._pulse_body`)."""
    for o in range(0, m, SUB):             # sub-blocks of SUB cells: the scratch stays in L1/L2
        ms = min(SUB, m - o)
        for i in range(ms):        # the pulsed half ("a >= 0": +) into the segment rows, the other aside
            a = b[_AMP * BLOCK + o + i]
            pos = a >= 0.0
            vp, vm = b[_VP * BLOCK + o + i], b[_VM * BLOCK + o + i]      # both loaded, then selected:
            k1p, k1m = b[_K1P * BLOCK + o + i], b[_K1M * BLOCK + o + i]  # a load under a condition
            k2p, k2m = b[_K2P * BLOCK + o + i], b[_K2M * BLOCK + o + i]  # keeps LLVM from vectorising
            i2p, i2m = b[_IK2P * BLOCK + o + i], b[_IK2M * BLOCK + o + i]
            sc[_XV * SUB + i] = vp if pos else vm
            sc[_XK1 * SUB + i] = k1p if pos else k1m
            sc[_XK2 * SUB + i] = k2p if pos else k2m
            sc[_XIK2 * SUB + i] = i2p if pos else i2m
            sc[_SVO * SUB + i] = vm if pos else vp
            sc[_SK1O * SUB + i] = k1m if pos else k1p
            sc[_SK2O * SUB + i] = k2m if pos else k2p
            sc[_SIK2O * SUB + i] = i2m if pos else i2p
            sc[_SDV * SUB + i] = kappa * abs(a)
        for i in range(ms):
            sc[_SV * SUB + i] = sc[_XV * SUB + i]
        _seg(sc, ms, W, sigma, beta, thermal, image)          # natural window charge
        for i in range(ms):
            sc[_DN * SUB + i] = sc[_XD * SUB + i]
        _seg(sc, ms, half, sigma, beta, thermal, image)       # rising half-edge
        for i in range(ms):
            sc[_DP * SUB + i] = sc[_XD * SUB + i]
            sc[_SVH * SUB + i] = (sc[_SV * SUB + i] - sc[_XD * SUB + i]) + sc[_SDV * SUB + i]
            sc[_XV * SUB + i] = sc[_SVH * SUB + i]
        _seg(sc, ms, flat, sigma, beta, thermal, image)       # flat top
        for i in range(ms):
            sc[_DF * SUB + i] = sc[_XD * SUB + i]
            sc[_XV * SUB + i] = (sc[_SV * SUB + i] - sc[_DP * SUB + i]) - sc[_XD * SUB + i]
        _seg(sc, ms, half, sigma, beta, thermal, image)       # falling half-edge
        for i in range(ms):
            sc[_DQ * SUB + i] = sc[_XD * SUB + i]
        _seg(sc, ms, G - W + half, sigma, beta, thermal, image)   # gap to the next window
        for i in range(ms):
            sc[_SV2 * SUB + i] = sc[_XV * SUB + i] - sc[_XD * SUB + i]   # the pulsed half at the next window
            sc[_XV * SUB + i] = sc[_SVO * SUB + i]
            sc[_XK1 * SUB + i] = sc[_SK1O * SUB + i]
            sc[_XK2 * SUB + i] = sc[_SK2O * SUB + i]
            sc[_XIK2 * SUB + i] = sc[_SIK2O * SUB + i]
        _seg(sc, ms, W, sigma, beta, thermal, image)          # the other half: window charge ...
        for i in range(ms):
            sc[_QO * SUB + i] = sc[_XD * SUB + i]
        _seg(sc, ms, G, sigma, beta, thermal, image)          # ... and its decay over the period
        for i in range(ms):
            a = b[_AMP * BLOCK + o + i]
            dV = sc[_SDV * SUB + i]
            V = sc[_SV * SUB + i]
            dn, dp, df, dq = sc[_DN * SUB + i], sc[_DP * SUB + i], sc[_DF * SUB + i], sc[_DQ * SUB + i]
            qw = dp + df + dq
            et = qw * (V - 0.5 * qw) + df * dV
            _store_pulse(sc, i, a >= 0.0, abs(a), 1.0 if a != 0.0 else 0.0, sc[_SV2 * SUB + i],
                         sc[_SVO * SUB + i] - sc[_XD * SUB + i], qw, sc[_QO * SUB + i], qw - dn, et,
                         et - dn * (V - 0.5 * dn), sc[_SVH * SUB + i], df, ref, _RY * SUB, SUB)
        for r in STORED_ROWS:
            for i in range(ms):
                b[r * BLOCK + o + i] = sc[_RY * SUB + r * SUB + i]


@njit(inline="always", **_OPTS)
def _pulse_update(st, sc, C, amp, kappa, rise, flat, W, G, ref, acc, b0, n, mins, maxs, ci, dv_row,
                  sigma, beta, thermal, image):
    per_cell = dv_row.shape[0] == 2 * C
    lo, hi = np.inf, -np.inf
    for j0 in range(0, C, BLOCK):
        m = min(BLOCK, C - j0)
        b = _load_amp(st, amp, j0, m)
        _pulse_body(b, sc, m, kappa, 0.5 * rise, flat, W, G, ref, sigma, beta, thermal, image)
        lo, hi = _pulse_block_sums(b, m, j0, b0 + j0 // BLOCK, n, acc, dv_row, per_cell, lo, hi)
    if lo <= hi:
        mins[ci, n] = lo
        maxs[ci, n] = hi


# one compiled variant per law (each only when a run needs it)
@njit(**_OPTS)
def _free_T(st, sc, C, W, G, acc, b0, n, sigma, beta):
    _free_update(st, sc, C, W, G, acc, b0, n, sigma, beta, True, False)


@njit(**_OPTS)
def _free_I(st, sc, C, W, G, acc, b0, n, sigma, beta):
    _free_update(st, sc, C, W, G, acc, b0, n, sigma, beta, False, True)


@njit(**_OPTS)
def _free_TI(st, sc, C, W, G, acc, b0, n, sigma, beta):
    _free_update(st, sc, C, W, G, acc, b0, n, sigma, beta, True, True)


@njit(**_OPTS)
def _pulse_T(st, sc, C, amp, kappa, rise, flat, W, G, ref, acc, b0, n, mins, maxs, ci, dv_row, sigma, beta):
    _pulse_update(st, sc, C, amp, kappa, rise, flat, W, G, ref, acc, b0, n, mins, maxs, ci, dv_row, sigma, beta,
                  True, False)


@njit(**_OPTS)
def _pulse_I(st, sc, C, amp, kappa, rise, flat, W, G, ref, acc, b0, n, mins, maxs, ci, dv_row, sigma, beta):
    _pulse_update(st, sc, C, amp, kappa, rise, flat, W, G, ref, acc, b0, n, mins, maxs, ci, dv_row, sigma, beta,
                  False, True)


@njit(**_OPTS)
def _pulse_TI(st, sc, C, amp, kappa, rise, flat, W, G, ref, acc, b0, n, mins, maxs, ci, dv_row, sigma, beta):
    _pulse_update(st, sc, C, amp, kappa, rise, flat, W, G, ref, acc, b0, n, mins, maxs, ci, dv_row, sigma, beta,
                  True, True)


_FREE = {1: _free_T, 2: _free_I, 3: _free_TI}
_PULSE = {1: _pulse_T, 2: _pulse_I, 3: _pulse_TI}


def free_update_law(st, sc, C, W, G, acc, b0, n, scales):
    """:func:`lim_hw.fast.fused.free_update` under the law ``scales = (sigma, beta)``
    (:attr:`lim_hw.device.fn_law.FNLaw.scales`); ``sc``: :func:`scratch`."""
    sigma, beta = scales
    _FREE[law_kind(sigma, beta)](st, sc, C, W, G, acc, b0, n, sigma, beta)


def pulse_update_law(st, sc, C, amp, kappa, rise, flat, W, G, ref, acc, b0, n, mins, maxs, ci, dv_row, scales):
    """:func:`lim_hw.fast.fused.pulse_update` under the law ``scales = (sigma, beta)``; ``sc``: :func:`scratch`."""
    sigma, beta = scales
    _PULSE[law_kind(sigma, beta)](st, sc, C, amp, kappa, rise, flat, W, G, ref, acc, b0, n, mins, maxs, ci, dv_row,
                                  sigma, beta)
