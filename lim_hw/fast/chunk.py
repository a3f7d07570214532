"""One chunk of synapses through the whole schedule: the inner loop of :func:`lim_hw.fast.simulate_fast`.

:func:`_run_chunk` advances the cells of synapses ``s0:s1`` update by update
(table amplitudes, or per-synapse amplitudes gathered into pulsed/other slots)
and adds per-update sums into the accumulator per block of
:data:`BLOCK_SYNAPSES` synapses, so totals do not depend on chunking or threads.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..constants import q_C
from ..device.card import Card
from ..errors import InputError
from .kernels import (_blend, _block_lengths, _bsum, _decay, _free_into, _Gather, _rect_into, _Work, cell_k_constants,
                      cell_law, law_scales)
from .ramp import _ramp_into, _RampStats
from .stochastic import ShotNoise

__all__ = ["BLOCK_SYNAPSES"]

#: Synapses per summation block: per-update sums are formed per block, then added in block order.
BLOCK_SYNAPSES = 4096

# per-update block sums (index into the accumulator): count, sum beyond, sum (beyond - ref)^2,
# window charge (all cells), tunnelling energy, its part beyond natural, sum V_p, V_p^2, V_p q_driven,
# peak oxide voltage, flat-top charge, window charge of the programmed cells
_CNT, _SB, _SB2, _QW, _ET, _ETB, _SVP, _SVP2, _SVPQ, _SVPK, _SDF, _SQP = range(12)
_NQ = 12


# --------------------------------------------------------------------------- #
# the run


@dataclass(frozen=True)
class _Plan:
    card: Card
    n_syn: int
    t_s: np.ndarray           # window starts (U,)
    t_end_s: float
    amp_kind: str             # "table" | "array" | "callable"
    amp_table: np.ndarray | None      # signed V_p per update (table mode)
    amp_array: Any
    amp_callable: Callable[..., Any] | None
    tox: np.ndarray | None    # per cell, or None
    area: np.ndarray | None
    ref_beyond: np.ndarray    # (U,) shift for the variance sums
    seed: int | None = None   # stochastic mode (Poisson electrons, lim_hw.fast.stochastic); None = deterministic
    k1_max: float = math.inf  # largest k1 (1/s) and smallest k2 (V) over all cells of the run
    k2_min: float = 0.0
    numpy_kernels: bool = False   # the numpy kernels even where the numba ones apply (reference)

    @property
    def n_updates(self) -> int:
        return int(self.t_s.shape[0])


def _amp_row(plan: _Plan, n: int, s0: int, s1: int) -> np.ndarray:
    if plan.amp_kind == "array":
        a = np.ascontiguousarray(plan.amp_array[n, s0:s1], dtype=float)
    else:
        a = np.ascontiguousarray(np.asarray(plan.amp_callable(n, s0, s1), dtype=float))
        if a.shape != (s1 - s0,):
            raise InputError(f"amplitudes({n}, {s0}, {s1}) returned shape {a.shape}; expected ({s1 - s0},)")
    if not np.all(np.isfinite(a)):
        raise InputError(f"amplitudes of update {n + 1} contain NaN or inf; give finite volts")
    return a


class _Half:
    """Constants of one half (p or m) of a chunk: k's and the ``k1 dt`` of the fixed durations."""

    def __init__(self, k1: Any, k2: Any, rise: float, flat: float, W: float, scales=None) -> None:
        self.k1, self.k2, self.nk2 = k1, k2, -k2
        self.law = cell_law(scales, k2)
        self.ch, self.cF, self.cW = k1 * (0.5 * rise), k1 * flat, k1 * W
        self._G: tuple[float, Any, Any] | None = None

    def cG(self, G: float, W: float, rise: float) -> tuple[Any, Any]:
        """``(k1 G, k1 (G - W + rise/2))`` for a period ``G`` (cached)."""
        if self._G is None or self._G[0] != G:
            self._G = (G, self.k1 * G, self.k1 * (G - W + 0.5 * rise))
        return self._G[1], self._G[2]


def _run_chunk(plan: _Plan, s0: int, s1: int, acc: np.ndarray, mins: np.ndarray, maxs: np.ndarray,
               ci: int, V_out: np.ndarray, dV_out: np.ndarray | None, stats: _RampStats) -> None:
    """Cells of synapses ``s0:s1`` through every update; sums into ``acc``, final voltages into ``V_out``.

    Rectangular pulses, deterministic, under any FN law (classic, thermal, image force): fused numba
    passes per update (:func:`_run_chunk_rect`). Ramped pulses and the stochastic mode: the numpy
    kernels (:func:`_run_chunk_numpy`), which are also the reference the numba kernels are tested
    against (tests/test_fast_law_kernel.py).
    """
    card = plan.card
    if uses_numpy_path(plan):
        _run_chunk_numpy(plan, s0, s1, acc, mins, maxs, ci, V_out, dV_out, stats)
    else:
        _run_chunk_rect(plan, s0, s1, acc, mins, maxs, ci, V_out, dV_out)


def uses_numpy_path(plan: _Plan) -> bool:
    """Whether :func:`_run_chunk` runs the numpy kernels for this plan (ramped pulses, stochastic mode, asked)."""
    return plan.numpy_kernels or plan.card.programming.shape == "ramped" or plan.seed is not None


def _chunk_k(plan: _Plan, s0: int, s1: int) -> list[tuple[Any, Any]]:
    """``(k1, k2)`` of the + and - halves of synapses ``s0:s1`` (scalars without mismatch)."""
    card, dev = plan.card, plan.card.device
    if plan.tox is None:
        return [cell_k_constants(card, dev.tox_m, dev.area_m2)] * 2
    return [cell_k_constants(card, np.ascontiguousarray(plan.tox[2 * s0 + h:2 * s1:2]),
                             np.ascontiguousarray(plan.area[2 * s0 + h:2 * s1:2])) for h in (0, 1)]


def _run_chunk_rect(plan: _Plan, s0: int, s1: int, acc: np.ndarray, mins: np.ndarray, maxs: np.ndarray,
                    ci: int, V_out: np.ndarray, dV_out: np.ndarray | None) -> None:
    """Rectangular pulses: one fused numba pass per update (:mod:`lim_hw.fast.fused`; under the
    thermal / image-force law :mod:`lim_hw.fast.fused_law`)."""
    from . import fused   # numba: imported only when the fast engine runs

    card = plan.card
    dev, prog = card.device, card.programming
    assert fused.BLOCK == BLOCK_SYNAPSES and fused._SQP == _SQP and fused._SVPQ == _SVPQ
    C = s1 - s0
    b0 = s0 // BLOCK_SYNAPSES
    rise, width = prog.rise_s, prog.pulse_width_s
    W = width + 2.0 * rise
    flat = width + rise
    (k1p, k2p), (k1m, k2m) = [tuple(np.broadcast_to(np.asarray(k, dtype=float), (C,)) for k in hk)
                              for hk in _chunk_k(plan, s0, s1)]
    U = plan.n_updates
    t_first = float(plan.t_s[0]) if U else plan.t_end_s
    scales = law_scales(card)
    if scales is not None:
        from . import fused_law
        sc = fused_law.scratch()
    st = fused.pack_state(C, {fused._VP: _decay(np.full(C, dev.V0_V), k1p, k2p, t_first, cell_law(scales, k2p)),
                              fused._VM: _decay(np.full(C, dev.V0_V), k1m, k2m, t_first, cell_law(scales, k2m)),
                              fused._K1P: k1p, fused._K2P: k2p, fused._K1M: k1m, fused._K2M: k2m,
                              fused._IK2P: 1.0 / k2p, fused._IK2M: 1.0 / k2m})
    small = fused.window_is_small(plan.k1_max, plan.k2_min, dev.V0_V, W)
    amp = np.empty(C)
    no_row = np.empty(0)
    for n in range(U):
        G = float(plan.t_s[n + 1] - plan.t_s[n]) if n + 1 < U else plan.t_end_s - float(plan.t_s[n])
        if plan.amp_kind == "table":
            a = float(plan.amp_table[n])
            if a == 0.0:
                if scales is None:
                    fused.free_update(st, C, W, G, acc, b0, n, small)
                else:
                    fused_law.free_update_law(st, sc, C, W, G, acc, b0, n, scales)
                continue
            amp.fill(a)
            row = amp
        else:
            row = _amp_row(plan, n, s0, s1)
        dv_row = dV_out[n, 2 * s0:2 * s1] if dV_out is not None else no_row
        if scales is None:
            fused.pulse_update(st, C, row, dev.kappa, rise, flat, W, G, float(plan.ref_beyond[n]),
                               acc, b0, n, mins, maxs, ci, dv_row, small)
        else:
            fused_law.pulse_update_law(st, sc, C, row, dev.kappa, rise, flat, W, G, float(plan.ref_beyond[n]),
                                       acc, b0, n, mins, maxs, ci, dv_row, scales)
    V_out[2 * s0:2 * s1:2] = fused.state_row(st, C, fused._VP)
    V_out[2 * s0 + 1:2 * s1:2] = fused.state_row(st, C, fused._VM)


def _run_chunk_numpy(plan: _Plan, s0: int, s1: int, acc: np.ndarray, mins: np.ndarray, maxs: np.ndarray,
                     ci: int, V_out: np.ndarray, dV_out: np.ndarray | None, stats: _RampStats) -> None:
    """The numpy kernels: ramped or rectangular pulses under any FN law, optionally stochastic."""
    card = plan.card
    dev, prog = card.device, card.programming
    B = BLOCK_SYNAPSES
    C = s1 - s0
    b0 = s0 // B
    blk = slice(b0, b0 + -(-C // B))
    kappa = dev.kappa
    ramped = prog.shape == "ramped"
    rise, width = prog.rise_s, prog.pulse_width_s
    W = width + 2.0 * rise
    flat = width + rise
    halves = []
    scales = law_scales(card)
    for h in (0, 1):
        if plan.tox is None:
            k1, k2 = cell_k_constants(card, dev.tox_m, dev.area_m2)
        else:
            tox = np.ascontiguousarray(plan.tox[2 * s0 + h:2 * s1:2])
            area = np.ascontiguousarray(plan.area[2 * s0 + h:2 * s1:2])
            k1, k2 = cell_k_constants(card, tox, area)
        halves.append(_Half(k1, k2, rise, flat, W, scales))
    per_cell_k = plan.tox is not None
    U = plan.n_updates
    t_first = float(plan.t_s[0]) if U else plan.t_end_s
    V = [_decay(np.full(C, dev.V0_V), hf.k1, hf.k2, t_first, hf.law) for hf in halves]
    shot = None if plan.seed is None else ShotNoise(plan.seed, b0, C, B, dev.C_T_F / q_C)
    if shot is not None:
        for h in (0, 1):
            shot.decay(np.full(C, dev.V0_V), V[h])
    w = _Work(C)
    g = _Gather(C, per_cell_k) if plan.amp_kind != "table" else None
    lengths = _block_lengths(C, B)

    def add(q: int, x: np.ndarray, n: int) -> None:
        acc[q, blk, n] += _bsum(x, B)

    def pulse(Vx: np.ndarray, dV: Any, hf: _Half | None, k1: Any, k2: Any, G: float) -> None:
        if ramped:
            _ramp_into(w, Vx, dV, k1, k2, rise, width, W, G, stats, scales)
        elif hf is not None:
            _rect_into(w, Vx, dV, hf.nk2, hf.ch, hf.cF, hf.cW, hf.cG(G, W, rise)[1], hf.law)
        else:
            _rect_into(w, Vx, dV, -k2, k1 * (0.5 * rise), k1 * flat, k1 * W, k1 * (G - W + 0.5 * rise),
                       cell_law(scales, k2))

    for n in range(U):
        G = float(plan.t_s[n + 1] - plan.t_s[n]) if n + 1 < U else plan.t_end_s - float(plan.t_s[n])
        ref = float(plan.ref_beyond[n])
        if plan.amp_kind == "table":
            a = float(plan.amp_table[n])
            if a == 0.0:
                for h in (0, 1):
                    hf = halves[h]
                    V0c = V[h].copy() if shot is not None else None
                    _free_into(w, V[h], hf.nk2, hf.cW, hf.cG(G, W, rise)[0], hf.law)
                    if shot is not None:
                        shot.window(w, V0c, V[h], pulsed=False)
                    add(_QW, w.qw, n)
                continue
            hp = 0 if a > 0 else 1
            vp = abs(a)
            hf = halves[hp]
            V0c = V[hp].copy() if shot is not None else None
            pulse(V[hp], kappa * vp, hf, hf.k1, hf.k2, G)
            if shot is not None:
                shot.window(w, V0c, V[hp], pulsed=True)
            add(_QW, w.qw, n)
            add(_SQP, w.qw, n)
            acc[_CNT, blk, n] += lengths
            add(_SB, w.bz, n)
            np.subtract(w.bz, ref, out=w.t1)
            w.t1 *= w.t1
            add(_SB2, w.t1, n)
            add(_ET, w.et, n)
            add(_ETB, w.eb, n)
            add(_SVPK, w.Vh, n)
            add(_SDF, w.df, n)
            acc[_SVP, blk, n] += lengths * vp
            acc[_SVP2, blk, n] += lengths * (vp * vp)
            acc[_SVPQ, blk, n] += vp * _bsum(w.dq if ramped else w.df, B)
            mins[ci, n], maxs[ci, n] = float(w.bz.min()), float(w.bz.max())
            if dV_out is not None:
                dV_out[n, 2 * s0 + hp:2 * s1:2] = w.bz
            hf = halves[1 - hp]
            V0c = V[1 - hp].copy() if shot is not None else None
            _free_into(w, V[1 - hp], hf.nk2, hf.cW, hf.cG(G, W, rise)[0], hf.law)
            if shot is not None:
                shot.window(w, V0c, V[1 - hp], pulsed=False)
            add(_QW, w.qw, n)
            continue

        # per-synapse amplitudes: gather the pulsed half of every synapse (a >= 0: + half) into
        # slot "a", the other half into slot "b" (bitwise blends: exact), and scatter back after.
        a = _amp_row(plan, n, s0, s1)
        pos = a >= 0
        M = np.negative(pos.view(np.uint8).astype(np.uint64))
        NM = ~M
        prog_mask = a != 0
        fm = prog_mask.astype(float)
        vp = np.abs(a)
        Va = _blend(g.Va, M, NM, V[0], V[1], g.tmp)
        Vb = _blend(g.Vb, M, NM, V[1], V[0], g.tmp)
        Va0 = Va.copy() if shot is not None else None
        if per_cell_k:
            k1a = _blend(g.k1a, M, NM, halves[0].k1, halves[1].k1, g.tmp)
            k2a = _blend(g.k2a, M, NM, halves[0].k2, halves[1].k2, g.tmp)
            k1b = _blend(g.k1b, M, NM, halves[1].k1, halves[0].k1, g.tmp)
            nk2b = _blend(g.k2b, M, NM, halves[1].nk2, halves[0].nk2, g.tmp)
            pulse(Va, kappa * vp, None, k1a, k2a, G)
        else:
            k1b, nk2b = halves[0].k1, halves[0].nk2
            pulse(Va, kappa * vp, halves[0], halves[0].k1, halves[0].k2, G)
        if shot is not None:
            shot.window(w, Va0, Va, pulsed=True)
        add(_QW, w.qw, n)
        np.multiply(w.qw, fm, out=w.t1)
        add(_SQP, w.t1, n)
        add(_CNT, fm, n)
        w.bz *= fm
        add(_SB, w.bz, n)
        np.subtract(w.bz, ref, out=w.t1)
        w.t1 *= fm
        w.t1 *= w.t1
        add(_SB2, w.t1, n)
        w.et *= fm
        add(_ET, w.et, n)
        w.eb *= fm
        add(_ETB, w.eb, n)
        w.Vh *= fm
        add(_SVPK, w.Vh, n)
        w.df *= fm
        add(_SDF, w.df, n)
        add(_SVP, vp, n)
        np.multiply(vp, vp, out=w.t1)
        add(_SVP2, w.t1, n)
        np.multiply(vp, w.dq if ramped else w.df, out=w.t1)
        add(_SVPQ, w.t1, n)
        if prog_mask.any():
            sel = w.bz[prog_mask]
            mins[ci, n], maxs[ci, n] = float(sel.min()), float(sel.max())
        if dV_out is not None:
            dV_out[n, 2 * s0:2 * s1:2] = np.where(pos, w.bz, 0.0)
            dV_out[n, 2 * s0 + 1:2 * s1:2] = np.where(pos, 0.0, w.bz)
        Vb0 = Vb.copy() if shot is not None else None
        _free_into(w, Vb, nk2b, k1b * W, k1b * G, cell_law(scales, -nk2b))
        if shot is not None:
            shot.window(w, Vb0, Vb, pulsed=False)
        add(_QW, w.qw, n)
        _blend(V[0], M, NM, Va, Vb, g.tmp)
        _blend(V[1], M, NM, Vb, Va, g.tmp)
    V_out[2 * s0:2 * s1:2] = V[0]
    V_out[2 * s0 + 1:2 * s1:2] = V[1]
