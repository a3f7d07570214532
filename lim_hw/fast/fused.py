"""Fused numba kernels of the fast array model: one update of a chunk of synapses in one pass.

The same closed forms as :mod:`lim_hw.fast.kernels` (theory.md s.5; docs/fast-model.md s.2),
evaluated element by element with every intermediate in registers: free decay as the
cancellation-free drop ``V L / (u + L)``, ``L = log1p(k1 dt e^{-u})``, ``u = k2/V``;
a rectangular pulse as steps at mid-edge around a flat top shifted by ``kappa V_p``.
The loops inline :mod:`lim_hw.fast.fmath` so LLVM vectorises them; there are no
full-size temporaries (the per-block scratch is 9 x 4096 doubles).

Per-update sums are formed per block of ``B`` synapses (:data:`lim_hw.fast.chunk.BLOCK_SYNAPSES`)
in a fixed order (8 interleaved partial sums, then added pairwise), so totals are
bit-identical for any chunk size or thread count. The kernels release the GIL.

Every ``k1 dt`` product is formed where the segment's starting oxide voltage ``V`` (and
``u = k2/V``) is already in a register, so a per-cell, per-step rate factor ``f(V)``
(e.g. an FN temperature factor) would be one more inlined evaluation per segment.
"""

from __future__ import annotations

import numpy as np

from . import _numba_env  # noqa: F401  (before numba: 512-bit vectors on AVX-512 CPUs)
from numba import njit  # noqa: E402

from .fmath import SMALL_X, exp_neg, log1p, log1p_small

__all__ = ["BLOCK", "N_ROWS", "free_update", "pulse_update", "pack_state", "state_row", "window_is_small"]

# block sums (same indices as lim_hw.fast.chunk)
_CNT, _SB, _SB2, _QW, _ET, _ETB, _SVP, _SVP2, _SVPQ, _SVPK, _SDF, _SQP = range(12)   # as lim_hw.fast.chunk
_LANES = 8
#: Synapses per block (= lim_hw.fast.chunk.BLOCK_SYNAPSES). A chunk's state is one flat array of
#: blocks; each block holds N_ROWS rows of BLOCK doubles at fixed offsets, so LLVM sees that the
#: rows a loop reads and writes never overlap (separate arrays would need runtime alias checks,
#: and with ~20 of them it does not vectorise at all).
BLOCK = 4096
_VP, _VM, _K1P, _K2P, _K1M, _K2M, _IK2P, _IK2M, _AMP = range(9)        # state rows (_IK2 = 1/k2)
_OQW, _OQB, _OFM, _OBZ, _OB2, _OET, _OEB, _OVH, _ODF, _OVP, _OV2, _OVQ, _OQP = range(9, 22)   # per-update terms
N_ROWS = 22
_OPTS = dict(nogil=True, cache=True, error_model="numpy", boundscheck=False, fastmath={"contract"})


@njit(inline="always", **_OPTS)
def _drop(V: float, L: float, u: float) -> float:
    """Free-decay drop ``V L / (u + L)`` (``L = log1p(k1 dt e^{-u})``, ``u = k2/V``)."""
    return V * L / (u + L)


@njit(inline="always", **_OPTS)
def _seg(V: float, x: float, u: float, ik2: float, small: bool) -> float:
    """Drop of ``V`` over a segment with ``x = k1 dt e^{-u}``: ``V L / (u + L)``, ``L = log1p(x)``.

    ``small`` (a constant at every call site, so LLVM keeps one branch): every ``x`` is at most
    SMALL_X and ``L/u`` at most SMALL_X, so ``L`` is a short series and ``1/(u + L) = (1/u) / (1 + y)``
    with ``y = L/u = L V / k2`` expands to ``y^4`` (truncation < 2^-65): no division.
    """
    if small:
        L = log1p_small(x)
        y = L * V * ik2
        return V * y * (1.0 - y * (1.0 - y * (1.0 - y * (1.0 - y))))
    L = log1p(x)
    return V * L / (u + L)


def window_is_small(k1_max: float, k2_min: float, V_max: float, dt_max: float) -> bool:
    """Whether every segment of at most ``dt_max`` starting at an oxide voltage <= ``V_max`` has
    ``x = k1 dt e^{-k2/V} <= SMALL_X`` and ``L/u <= SMALL_X`` (bounds over all cells of the run)."""
    u_min = k2_min / V_max
    x = k1_max * dt_max * np.exp(-u_min)
    return bool(x <= SMALL_X and x <= SMALL_X * u_min)


@njit(**_OPTS)
def _lane_sum(x: np.ndarray, r: int, n: int) -> float:
    """Sum of ``x[r*BLOCK : r*BLOCK + n]`` in a fixed order: 8 interleaved partial sums, added pairwise."""
    p = np.zeros(_LANES)
    o = r * BLOCK
    full = n - n % _LANES
    for i in range(0, full, _LANES):
        for j in range(_LANES):
            p[j] += x[o + i + j]
    for i in range(full, n):
        p[i - full] += x[o + i]
    return ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]))


def pack_state(C: int, rows: dict[int, np.ndarray]) -> np.ndarray:
    """A chunk's state in the block layout: ``rows`` maps a state row (``_VP``...) to ``(C,)`` values."""
    nb = -(-C // BLOCK)
    st = np.zeros((nb, N_ROWS, BLOCK))
    for r, x in rows.items():
        flat = np.zeros(nb * BLOCK)
        flat[:C] = x
        st[:, r, :] = flat.reshape(nb, BLOCK)
    return st.reshape(-1)


def state_row(st: np.ndarray, C: int, r: int) -> np.ndarray:
    """Row ``r`` of every block of a chunk's state, as ``(C,)`` values (a copy)."""
    return st.reshape(-1, N_ROWS, BLOCK)[:, r, :].reshape(-1)[:C].copy()


@njit(inline="always", **_OPTS)
def _free_half(b, rv, rk1, rk2, rik2, rq, m, W, G, small):
    """Free decay of row ``rv`` over ``G`` (in place); row ``rq`` = window charge / C_T (V)."""
    for i in range(m):
        v = b[rv * BLOCK + i]
        u = b[rk2 * BLOCK + i] / v
        e = exp_neg(u)
        k1 = b[rk1 * BLOCK + i]
        b[rq * BLOCK + i] = _seg(v, k1 * W * e, u, b[rik2 * BLOCK + i], small)
        b[rv * BLOCK + i] = v - _drop(v, log1p(k1 * G * e), u)


@njit(inline="always", **_OPTS)
def _free_update(st, C, W, G, acc, b0, n, small):
    for j0 in range(0, C, BLOCK):
        m = min(BLOCK, C - j0)
        b = st[(j0 // BLOCK) * N_ROWS * BLOCK:(j0 // BLOCK + 1) * N_ROWS * BLOCK]
        _free_half(b, _VP, _K1P, _K2P, _IK2P, _OQW, m, W, G, small)
        _free_half(b, _VM, _K1M, _K2M, _IK2M, _OQB, m, W, G, small)
        blk = b0 + j0 // BLOCK
        acc[_QW, blk, n] += _lane_sum(b, _OQW, m)
        acc[_QW, blk, n] += _lane_sum(b, _OQB, m)


@njit(**_OPTS)
def _free_update_small(st, C, W, G, acc, b0, n):
    _free_update(st, C, W, G, acc, b0, n, True)


@njit(**_OPTS)
def _free_update_full(st, C, W, G, acc, b0, n):
    _free_update(st, C, W, G, acc, b0, n, False)


def free_update(st, C, W, G, acc, b0, n, small):
    """No pulse in this update: both halves decay over the period ``G``; window charge into ``acc``.

    ``st``: the chunk's state (:func:`pack_state`), updated in place; ``acc[_QW, b0 + j, n]``
    gets the window (``W``) charge / C_T of block ``j``; ``small``: :func:`window_is_small` for
    ``W`` (each variant is compiled only when a run needs it).
    """
    (_free_update_small if small else _free_update_full)(st, C, W, G, acc, b0, n)


@njit(inline="always", **_OPTS)
def _pulse_body(b, m, kappa, half, flat, W, G, ref, small):
    """One block of :func:`pulse_update`: state rows in place, per-synapse terms into the output rows.

    ``small``: the window-scale segments that start at the state's oxide voltage (natural window
    charge, both half-edges, the other half's window charge) take the division-free series.
    """
    tail = G - W + half
    for i in range(m):
        a = b[_AMP * BLOCK + i]
        pos = a >= 0.0
        vp = abs(a)
        dV = kappa * vp
        fm = 1.0 if a != 0.0 else 0.0
        vpi, vmi = b[_VP * BLOCK + i], b[_VM * BLOCK + i]
        k1pi, k2pi, k1mi, k2mi = b[_K1P * BLOCK + i], b[_K2P * BLOCK + i], b[_K1M * BLOCK + i], b[_K2M * BLOCK + i]
        ik2pi, ik2mi = b[_IK2P * BLOCK + i], b[_IK2M * BLOCK + i]
        V = vpi if pos else vmi
        k1 = k1pi if pos else k1mi
        k2 = k2pi if pos else k2mi
        ik2 = ik2pi if pos else ik2mi
        Vo = vmi if pos else vpi
        k1o = k1mi if pos else k1pi
        k2o = k2mi if pos else k2pi
        ik2o = ik2mi if pos else ik2pi
        # pulsed half: natural window charge, rising half-edge, flat top, falling half-edge, gap
        u = k2 / V
        e = exp_neg(u)
        dn = _seg(V, k1 * W * e, u, ik2, small)
        dp = _seg(V, k1 * half * e, u, ik2, small)
        Vq = V - dp
        Vh = Vq + dV
        u = k2 / Vh
        df = _drop(Vh, log1p(k1 * flat * exp_neg(u)), u)
        V2 = Vq - df
        u = k2 / V2
        e = exp_neg(u)
        dq = _seg(V2, k1 * half * e, u, ik2, small)
        dg = _drop(V2, log1p(k1 * tail * e), u)
        qw = dp + df + dq
        bz = qw - dn
        et = qw * (V - 0.5 * qw) + df * dV
        eb = et - dn * (V - 0.5 * dn)
        Vn = V2 - dg
        # the other half: free decay over the period
        u = k2o / Vo
        e = exp_neg(u)
        qo = _seg(Vo, k1o * W * e, u, ik2o, small)
        Von = Vo - _drop(Vo, log1p(k1o * G * e), u)
        _store_pulse(b, i, pos, vp, fm, Vn, Von, qw, qo, bz, et, eb, Vh, df, ref)


@njit(inline="always", **_OPTS)
def _store_pulse(b, i, pos, vp, fm, Vn, Von, qw, qo, bz, et, eb, Vh, df, ref, base=0, stride=BLOCK):
    """Element ``i`` of a block after its pulse: new state voltages and the per-update terms.

    Row ``r`` is at ``b[base + r * stride:]`` (a block: ``0, BLOCK``; the law kernels write a
    block-shaped stack of rows of their scratch, see :mod:`lim_hw.fast.fused_law`)."""
    b[base + _VP * stride + i] = Vn if pos else Von
    b[base + _VM * stride + i] = Von if pos else Vn
    bzm = bz * fm
    t = (bzm - ref) * fm
    b[base + _OQW * stride + i] = qw
    b[base + _OQB * stride + i] = qo
    b[base + _OFM * stride + i] = fm
    b[base + _OBZ * stride + i] = bzm
    b[base + _OB2 * stride + i] = t * t
    b[base + _OET * stride + i] = et * fm
    b[base + _OEB * stride + i] = eb * fm
    b[base + _OVH * stride + i] = Vh * fm
    b[base + _ODF * stride + i] = df * fm
    b[base + _OVP * stride + i] = vp
    b[base + _OV2 * stride + i] = vp * vp
    b[base + _OVQ * stride + i] = vp * (df * fm)
    b[base + _OQP * stride + i] = qw * fm


#: The block rows :func:`_store_pulse` writes.
STORED_ROWS = (_VP, _VM, _OQW, _OQB, _OFM, _OBZ, _OB2, _OET, _OEB, _OVH, _ODF, _OVP, _OV2, _OVQ, _OQP)


@njit(inline="always", **_OPTS)
def _pulse_block_sums(b, m, j0, blk, n, acc, dv_row, per_cell, lo, hi):
    """After a block's pulse body: its extreme steps (returned as ``(lo, hi)``), per-cell steps, block sums."""
    for i in range(m):
        if b[_OFM * BLOCK + i] != 0.0:
            lo = min(lo, b[_OBZ * BLOCK + i])
            hi = max(hi, b[_OBZ * BLOCK + i])
    if per_cell:
        for i in range(m):
            pos = b[_AMP * BLOCK + i] >= 0.0
            z = b[_OBZ * BLOCK + i]
            dv_row[2 * (j0 + i)] = z if pos else 0.0
            dv_row[2 * (j0 + i) + 1] = 0.0 if pos else z
    for q, r in ((_QW, _OQW), (_CNT, _OFM), (_SB, _OBZ), (_SB2, _OB2), (_ET, _OET), (_ETB, _OEB),
                 (_SVPK, _OVH), (_SDF, _ODF), (_SVP, _OVP), (_SVP2, _OV2), (_SVPQ, _OVQ), (_QW, _OQB),
                 (_SQP, _OQP)):
        acc[q, blk, n] += _lane_sum(b, r, m)
    return lo, hi


@njit(inline="always", **_OPTS)
def _load_amp(st, amp, j0, m):
    """Block ``j0 // BLOCK`` of the chunk state ``st`` (a view), with the amplitudes of its synapses loaded."""
    b = st[(j0 // BLOCK) * N_ROWS * BLOCK:(j0 // BLOCK + 1) * N_ROWS * BLOCK]
    for i in range(m):
        b[_AMP * BLOCK + i] = amp[j0 + i]
    return b


@njit(inline="always", **_OPTS)
def _pulse_update(st, C, amp, kappa, rise, flat, W, G, ref, acc, b0, n, mins, maxs, ci, dv_row, small):
    per_cell = dv_row.shape[0] == 2 * C
    lo, hi = np.inf, -np.inf
    for j0 in range(0, C, BLOCK):
        m = min(BLOCK, C - j0)
        b = _load_amp(st, amp, j0, m)
        _pulse_body(b, m, kappa, 0.5 * rise, flat, W, G, ref, small)
        lo, hi = _pulse_block_sums(b, m, j0, b0 + j0 // BLOCK, n, acc, dv_row, per_cell, lo, hi)
    if lo <= hi:
        mins[ci, n] = lo
        maxs[ci, n] = hi


@njit(**_OPTS)
def _pulse_update_small(st, C, amp, kappa, rise, flat, W, G, ref, acc, b0, n, mins, maxs, ci, dv_row):
    _pulse_update(st, C, amp, kappa, rise, flat, W, G, ref, acc, b0, n, mins, maxs, ci, dv_row, True)


@njit(**_OPTS)
def _pulse_update_full(st, C, amp, kappa, rise, flat, W, G, ref, acc, b0, n, mins, maxs, ci, dv_row):
    _pulse_update(st, C, amp, kappa, rise, flat, W, G, ref, acc, b0, n, mins, maxs, ci, dv_row, False)


def pulse_update(st, C, amp, kappa, rise, flat, W, G, ref, acc, b0, n, mins, maxs, ci, dv_row, small):
    """One update with a rectangular pulse on one half of every synapse of the chunk ``st`` (in place).

    ``amp[c]`` (V): ``> 0`` pulses the + half with ``V_p = amp``, ``< 0`` the - half with
    ``V_p = -amp``, ``0`` pulses the + half with a zero shift and counts it as not programmed.
    Steps at mid-edge (``rise/2``), flat top of ``flat`` shifted by ``kappa V_p``, then decay
    to the next window start ``G`` after this one; the other half decays freely. Block sums
    go to ``acc[:, b0 + j, n]``; the extreme steps of the programmed cells to
    ``mins[ci, n]``/``maxs[ci, n]``; with ``dv_row.size == 2 C`` each cell's step beyond natural
    decay goes to ``dv_row`` (cell ``2c`` + half, ``2c + 1`` - half; 0 for cells not pulsed).
    ``small``: :func:`window_is_small` for ``W`` over all cells of the run (so the choice, and the
    results, do not depend on the chunk); each variant is compiled only when a run needs it.
    """
    (_pulse_update_small if small else _pulse_update_full)(st, C, amp, kappa, rise, flat, W, G, ref, acc, b0, n,
                                                            mins, maxs, ci, dv_row)
