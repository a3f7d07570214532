"""Vectorised FN-DAM array model: every cell of an array under a programming schedule (numpy).

Same physics as the ngspice testbenches (theory.md s.5-8), without a circuit
simulator; docs/fast-model.md has the derivations and measured accuracy.

Cells and layout. An array of ``S`` differential synapses has ``2 S`` cells;
cell ``2 s`` is the + half (``p``) and cell ``2 s + 1`` the - half (``m``) of
synapse ``s``; for a ``rows x cols`` array ``s = r cols + c`` (the order of
:func:`lim_hw.netlist.spec.array_testbench`). Every cell starts at the card's
``V0_V`` at t = 0. Update ``n`` opens a window at ``t_n`` of length
``W = pulse_width + 2 rise``; the pulsed half of a synapse gets a control-gate
pulse of amplitude ``V_p`` that raises its oxide voltage by ``kappa V_p``.

Trajectory (per cell, exact within the model):

- free decay (between pulses, the un-pulsed half, the edges of rectangular
  pulses): the closed form ``V = k2 / ln(k1 t + k0)`` restarted from the
  current state, as the cancellation-free drop ``V^2 L / (k2 + V L)``,
  ``L = log1p(k1 dt exp(-k2/V))``;
- rectangular pulse: edges are steps at mid-edge (as in
  :func:`lim_hw.netlist.synthesis.apply_pulse`); during the flat top
  (``pulse_width + rise``) the oxide voltage is shifted by a constant
  ``kappa V_p``, so the same closed form applies exactly;
- ramped pulse: the edges are integrated with Gauss-Legendre collocation
  (8 nodes per panel, order 16, Picard iteration, panels chosen per cell from
  the growth rate of the FN current along the ramp); the flat top is closed form.

The driver's RC lag is ignored for the trajectory (it delays both edges
equally; measured effect ~5e-7 relative). Energies are the closed forms of
:mod:`lim_hw.fast.energy`.

Memory: cells are processed in chunks (``chunk_synapses``, a multiple of
:data:`BLOCK_SYNAPSES`) on a thread pool; per-update sums are kept per block
of cells and added in a fixed order, so results are bit-identical for any
chunk size or thread count. Nothing of size ``n_updates x n_cells`` is
allocated unless ``keep="per_cell"``.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from ..constants import kT_J, q_C
from ..device.barrier import effective_barrier_J
from ..device.card import Card
from ..device.fn import fn_coefficients
from ..errors import InputError
from .energy import DriveConstants, drive_constants

__all__ = ["FastResult", "simulate_fast", "FAST_UPDATE_COLUMNS", "BLOCK_SYNAPSES",
           "DEFAULT_CHUNK_SYNAPSES", "cell_k_constants"]

#: Synapses per summation block: per-update sums are formed per block, then added in block order.
BLOCK_SYNAPSES = 4096
#: Default chunk (synapses processed together by one worker); a multiple of BLOCK_SYNAPSES.
DEFAULT_CHUNK_SYNAPSES = 16384

#: Columns of :attr:`FastResult.updates`: the names of updates.csv (lim_hw.energy.updates) first.
FAST_UPDATE_COLUMNS = (
    "n", "t_s", "eps", "R_target_per_s", "E0_J", "E_eff_J", "N_target", "N_sim", "tracking_error",
    "V_p_V", "E_supply_J", "E_net_J", "E_recovered_J", "eta_recovery", "E_tunnel_J", "E_bound_J",
    "E_landauer_J", "ratio_supply_to_bound", "ratio_net_to_bound", "ratio_tunnel_to_bound", "n_cells_programmed",
    # fast-model extras
    "N_sim_std", "N_sim_min", "N_sim_max", "dV_fg_V", "E_driver_J", "E_bias_J", "E_tunnel_beyond_J",
    "ratio_tunnel_beyond_to_bound",
)

# per-update block sums (index into the accumulator): count, sum beyond, sum (beyond - ref)^2,
# window charge (all cells), tunnelling energy, its part beyond natural, sum V_p, V_p^2, V_p q_driven,
# peak oxide voltage, flat-top charge
_CNT, _SB, _SB2, _QW, _ET, _ETB, _SVP, _SVP2, _SVPQ, _SVPK, _SDF = range(11)
_NQ = 11

# ramp collocation
_GL_NODES = 8
_RAMP_GROWTH_PER_PANEL = 4.0     # max growth exponent of the FN current across one panel
_RAMP_STIFF_PER_PANEL = 0.05     # max (dI/dV / C_T) * panel length (Picard contraction)
_RAMP_MAX_PANELS = 4096
_PICARD_MAXIT = 40
_PICARD_RTOL = 1e-14


# --------------------------------------------------------------------------- #
# result


@dataclass(frozen=True)
class FastResult:
    """Result of :func:`simulate_fast`.

    ``updates``: one row per update (:data:`FAST_UPDATE_COLUMNS`); energies and
    transitions are per *programmed cell* (averaged over the cells pulsed in
    that update), as in updates.csv. ``V_ox_final_V``: oxide voltage of every
    cell at ``t_end_s`` (shape ``(n_cells,)``, cell ``2s`` = + half of synapse
    ``s``). ``dV_fg_V``: with ``keep="per_cell"``, the floating-gate step beyond
    natural decay of every cell in every update (``(n_updates, n_cells)``; 0
    for cells not pulsed), else ``None``. ``info``: run details (wall time,
    chunking, threads, ramp-integration statistics).
    """

    updates: pd.DataFrame
    V_ox_final_V: np.ndarray
    shape: tuple[int, ...]
    t_end_s: float
    dV_fg_V: np.ndarray | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def n_synapses(self) -> int:
        return int(np.prod(self.shape))

    @property
    def n_cells(self) -> int:
        return 2 * self.n_synapses

    def V_ox_halves_V(self) -> np.ndarray:
        """Final oxide voltages as ``shape + (2,)`` (last axis: + half, - half)."""
        return self.V_ox_final_V.reshape(*self.shape, 2)

    def weights_V(self) -> np.ndarray:
        """Final weights ``w = V_fg+ - V_fg- = V_ox- - V_ox+`` (V), shape ``shape``."""
        h = self.V_ox_halves_V()
        return h[..., 1] - h[..., 0]


# --------------------------------------------------------------------------- #
# closed-form pieces (vectorised; k1, k2 scalars or arrays)


def cell_k_constants(card: Card, tox_m: Any, area_m2: Any) -> tuple[Any, Any]:
    """``(k1_per_s, k2_V)`` for oxide thickness / junction area (scalars or arrays).

    Same expression and operation order as :func:`lim_hw.device.floating_gate.fn_k_constants`,
    so nominal cells agree bit for bit with the synthesis.
    """
    dev = card.device
    A, B = fn_coefficients(dev.phi_B_eV, dev.m_eff)
    A, B = float(A), float(B)
    return A * area_m2 * B / (dev.C_T_F * tox_m), B * tox_m


class _Work:
    """Preallocated per-chunk work arrays (the kernels write into them in place)."""

    NAMES = ("nu", "e", "L", "dn", "dp", "Vp", "Vh", "df", "V2", "dq", "dg", "qw", "bz", "et", "eb", "t1")

    def __init__(self, n: int) -> None:
        for name in self.NAMES:
            setattr(self, name, np.empty(n))


def _ue(V: np.ndarray, nk2: Any, w: _Work) -> None:
    """``w.nu = -k2/V``, ``w.e = exp(-k2/V)`` (``nk2 = -k2``)."""
    np.divide(nk2, V, out=w.nu)
    np.exp(w.nu, out=w.e)


def _drop_into(out: np.ndarray, V: np.ndarray, c: Any, w: _Work) -> np.ndarray:
    """Free-decay drop ``V L / (u + L)``, ``L = log1p(c e)``, ``u = k2/V`` (``c = k1 dt``; :func:`_ue` first).

    The cancellation-free closed form ``V^2 L / (k2 + V L)`` of
    :meth:`lim_hw.netlist.synthesis.FGModel.drop_V`, divided through by ``V``.
    """
    L = w.L
    np.multiply(w.e, c, out=L)
    np.log1p(L, out=L)
    np.multiply(V, L, out=out)
    np.subtract(L, w.nu, out=L)
    np.divide(out, L, out=out)
    return out


class _Gather:
    """Work arrays of the per-synapse-amplitude path (pulsed slot "a", other slot "b")."""

    def __init__(self, n: int, per_cell_k: bool) -> None:
        self.Va, self.Vb = np.empty(n), np.empty(n)
        self.tmp = np.empty(n, dtype=np.uint64)
        if per_cell_k:
            self.k1a, self.k2a, self.k1b, self.k2b = (np.empty(n) for _ in range(4))


def _blend(out: np.ndarray, M: np.ndarray, NM: np.ndarray, a: np.ndarray, b: np.ndarray,
           tmp: np.ndarray) -> np.ndarray:
    """``out = where(mask, a, b)`` by bit masks (``M`` all ones where true, ``NM = ~M``); exact, fast.

    ``out`` may be ``a`` but not ``b``.
    """
    o = out.view(np.uint64)
    np.bitwise_and(a.view(np.uint64), M, out=o)
    np.bitwise_and(b.view(np.uint64), NM, out=tmp)
    np.bitwise_or(o, tmp, out=o)
    return out


def _decay(V: np.ndarray, k1: Any, k2: Any, dt: float) -> np.ndarray:
    """Oxide voltage after ``dt`` of free decay (new array)."""
    if dt <= 0:
        return V.copy()
    w = _Work(V.shape[0])
    _ue(V, -k2, w)
    return V - _drop_into(w.dg, V, k1 * dt, w)


def _free_into(w: _Work, V: np.ndarray, nk2: Any, cW: Any, cG: Any) -> None:
    """No pulse: ``V`` (in place) decays over the period; ``w.qw`` = window charge / C_T (``nk2 = -k2``)."""
    _ue(V, nk2, w)
    _drop_into(w.qw, V, cW, w)
    _drop_into(w.dg, V, cG, w)
    V -= w.dg


def _seg_energy(Vs: np.ndarray, d: np.ndarray) -> np.ndarray:
    """``(Vs^2 - Ve^2)/2 = d (Vs - d/2)`` with ``Ve = Vs - d`` (tunnelling energy / C_T, V^2)."""
    return d * (Vs - 0.5 * d)


def _rect_into(w: _Work, V: np.ndarray, dV: Any, nk2: Any, ch: Any, cF: Any, cW: Any, cPG: Any) -> None:
    """Rectangular pulse on ``V`` (in place: becomes the value at the next window start).

    Steps at mid-edge (``ch = k1 rise/2``), flat top shifted by ``dV`` (``cF = k1 (width + rise)``),
    then decay over the post half-edge and the gap (``cPG``). Results in ``w``: ``qw`` window
    charge, ``dn`` natural window charge, ``bz = qw - dn`` (all / C_T, V); ``et``, ``eb``
    tunnelling energy and its part beyond natural (/ C_T, V^2); ``df`` flat-top charge; ``Vh``
    peak oxide voltage. Telescoping the segments, ``et = qw (V - qw/2) + dV df``.
    """
    _ue(V, nk2, w)
    _drop_into(w.dn, V, cW, w)
    _drop_into(w.dp, V, ch, w)
    np.subtract(V, w.dp, out=w.Vp)
    np.add(w.Vp, dV, out=w.Vh)
    _ue(w.Vh, nk2, w)
    _drop_into(w.df, w.Vh, cF, w)
    np.subtract(w.Vp, w.df, out=w.V2)
    _ue(w.V2, nk2, w)
    _drop_into(w.dq, w.V2, ch, w)
    _drop_into(w.dg, w.V2, cPG, w)
    np.add(w.dp, w.df, out=w.qw)
    w.qw += w.dq
    np.subtract(w.qw, w.dn, out=w.bz)
    t1 = w.t1
    np.multiply(w.qw, 0.5, out=t1)
    np.subtract(V, t1, out=t1)
    np.multiply(t1, w.qw, out=w.et)
    np.multiply(w.df, dV, out=t1)
    w.et += t1
    np.multiply(w.dn, 0.5, out=t1)
    np.subtract(V, t1, out=t1)
    t1 *= w.dn
    np.subtract(w.et, t1, out=w.eb)
    np.subtract(w.V2, w.dg, out=V)


# --------------------------------------------------------------------------- #
# ramped edges: Gauss-Legendre collocation


@lru_cache(maxsize=4)
def _gauss_collocation(m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nodes ``tau`` on [0, 1], weights ``w`` and integration matrix ``S[i, j] = int_0^tau_i l_j``."""
    leg = np.polynomial.legendre
    x, w = leg.leggauss(m)
    Cinv = np.linalg.inv(leg.legvander(x, m - 1))   # l_j = sum_k Cinv[k, j] P_k
    Iv = np.empty((m, m))
    for k in range(m):
        c = np.zeros(m)
        c[k] = 1.0
        Iv[:, k] = leg.legval(x, leg.legint(c, lbnd=-1.0))
    S = Iv @ Cinv / 2.0
    return (x + 1.0) / 2.0, w / 2.0, S


@dataclass
class _RampStats:
    max_panels: int = 0
    max_iterations: int = 0
    unconverged: int = 0

    def merge(self, other: "_RampStats") -> None:
        self.max_panels = max(self.max_panels, other.max_panels)
        self.max_iterations = max(self.max_iterations, other.max_iterations)
        self.unconverged += other.unconverged


def _ramp_panels(V0: np.ndarray, D: np.ndarray, sigma: float, c: Any, k2: Any, T: float) -> np.ndarray:
    """Panels per cell: growth of the FN current across a panel <= e^4, Picard contraction <= 0.05."""
    V_lo = np.maximum(V0 - D, 1e-3) if sigma < 0 else V0
    V_hi = V0 if sigma < 0 else V0 + D
    growth = D * (2.0 / V_lo + k2 / (V_lo * V_lo))
    stiff = c * V_hi * V_hi * np.exp(-k2 / V_hi) * (2.0 / V_hi + k2 / (V_hi * V_hi)) * T
    P = np.maximum(np.ceil(growth / _RAMP_GROWTH_PER_PANEL), np.ceil(stiff / _RAMP_STIFF_PER_PANEL))
    P = np.maximum(P, 1.0)
    if np.any(P > _RAMP_MAX_PANELS):
        raise InputError(
            f"a ramped edge needs more than {_RAMP_MAX_PANELS} integration panels (edge rise_s = {T:g} s is far "
            "longer than the tunnelling time constant at this oxide voltage); shorten [programming] rise_s")
    return P.astype(np.int64)


def _ramp_group(V0, D, sigma, c, k2, T, P, stats):
    """Collocation through one linear edge for cells sharing the panel count ``P``.

    ``V(t) = V0 + sigma D t/T - q(t)``, ``q' = f(V) = c V^2 exp(-k2/V)``, ``q(0) = 0``.
    Returns ``(q, E, Qd)``: ``q(T)``; ``int f V dt`` (tunnelling energy / C_T); and
    ``int f a(t) dt`` with ``a`` the fraction of the swing applied (t/T up, 1 - t/T down).
    """
    tau, w, S = _gauss_collocation(_GL_NODES)
    m = _GL_NODES
    h = T / P
    n = V0.shape[0]
    q = np.zeros(n)
    E = np.zeros(n)
    Qd = np.zeros(n)

    def fn(Vd, qn):
        V = Vd - qn
        return c * V * V * np.exp(-k2 / V)

    for p in range(P):
        t_nodes = [(p + tau[i]) * h for i in range(m)]
        Vd = [V0 + (sigma * t_nodes[i] / T) * D for i in range(m)]
        qa = q
        qn = [qa.copy() for _ in range(m)]
        f = [fn(Vd[i], qn[i]) for i in range(m)]
        q_end = qa + h * sum(w[j] * f[j] for j in range(m))
        active = np.ones(n, dtype=bool)
        it = 0
        for it in range(1, _PICARD_MAXIT + 1):
            for i in range(m):
                acc = S[i, 0] * f[0]
                for j in range(1, m):
                    acc += S[i, j] * f[j]
                acc *= h
                acc += qa
                np.copyto(qn[i], acc, where=active)
            f = [fn(Vd[i], qn[i]) for i in range(m)]
            q_new = qa + h * sum(w[j] * f[j] for j in range(m))
            conv = np.abs(q_new - q_end) <= _PICARD_RTOL * np.abs(q_new) + 1e-300
            q_end = q_new
            active &= ~conv
            if not active.any():
                break
        stats.max_iterations = max(stats.max_iterations, it)
        stats.unconverged += int(np.count_nonzero(active))
        q = q_end
        E += h * sum(w[j] * f[j] * (Vd[j] - qn[j]) for j in range(m))
        frac = [t_nodes[j] / T if sigma > 0 else 1.0 - t_nodes[j] / T for j in range(m)]
        Qd += h * sum((w[j] * frac[j]) * f[j] for j in range(m))
    stats.max_panels = max(stats.max_panels, P)
    return q, E, Qd


def _ramp(V0: np.ndarray, D: Any, sigma: float, k1: Any, k2: Any, T: float, stats: _RampStats):
    """One linear edge for every cell (cells grouped by their panel count)."""
    n = V0.shape[0]
    D = np.broadcast_to(np.asarray(D, dtype=float), (n,))
    c = k1 / k2
    P = _ramp_panels(V0, D, sigma, c, k2, T)
    Pmin, Pmax = int(P.min()), int(P.max())
    if Pmin == Pmax:
        return _ramp_group(V0, np.ascontiguousarray(D), sigma, c, k2, T, Pmin, stats)
    q, E, Qd = np.empty(n), np.empty(n), np.empty(n)
    for Pv in np.unique(P):
        idx = np.flatnonzero(P == Pv)
        ci = c[idx] if np.ndim(c) else c
        k2i = k2[idx] if np.ndim(k2) else k2
        q[idx], E[idx], Qd[idx] = _ramp_group(V0[idx], D[idx], sigma, ci, k2i, T, int(Pv), stats)
    return q, E, Qd


def _ramp_into(w: _Work, V: np.ndarray, dV: Any, k1: Any, k2: Any, rise: float, width: float, W: float,
               G: float, stats: _RampStats) -> None:
    """Ramped pulse on ``V`` (in place), results in ``w`` as :func:`_rect_into`.

    Collocation through both edges, closed form on the flat top (``width``), then
    decay to the next window start (``G`` after the window start). ``w.dq`` holds the
    amplitude-weighted charge moved while driven (edges weighted by the fraction of the swing).
    """
    q_up, E_up, Qd_up = _ramp(V, dV, +1.0, k1, k2, rise, stats)
    V1 = V + dV - q_up
    nk2 = -k2
    _ue(V1, nk2, w)
    _drop_into(w.df, V1, k1 * width, w)
    V1b = V1 - w.df
    q_dn, E_dn, Qd_dn = _ramp(V1b, dV, -1.0, k1, k2, rise, stats)
    V_end = V1b - dV - q_dn
    _ue(V, nk2, w)
    _drop_into(w.dn, V, k1 * W, w)
    np.add(q_up, w.df, out=w.qw)
    w.qw += q_dn
    np.subtract(w.qw, w.dn, out=w.bz)
    np.add(E_up, _seg_energy(V1, w.df), out=w.et)
    w.et += E_dn
    np.subtract(w.et, _seg_energy(V, w.dn), out=w.eb)
    np.add(Qd_up, w.df, out=w.dq)
    w.dq += Qd_dn
    w.Vh[...] = V1
    V[...] = _decay(V_end, k1, k2, G - W)


# --------------------------------------------------------------------------- #
# block sums


def _bsum(x: np.ndarray, B: int) -> np.ndarray:
    """Sums over consecutive blocks of ``B`` (the last block may be short)."""
    n = x.shape[0]
    nf = n // B
    if nf * B == n:
        return x.reshape(nf, B).sum(axis=1)
    out = np.empty(nf + 1)
    if nf:
        out[:nf] = x[:nf * B].reshape(nf, B).sum(axis=1)
    out[nf] = x[nf * B:].sum()
    return out


def _block_lengths(n: int, B: int) -> np.ndarray:
    nb = -(-n // B)
    out = np.full(nb, float(B))
    out[-1] = n - (nb - 1) * B
    return out


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

    def __init__(self, k1: Any, k2: Any, rise: float, flat: float, W: float) -> None:
        self.k1, self.k2, self.nk2 = k1, k2, -k2
        self.ch, self.cF, self.cW = k1 * (0.5 * rise), k1 * flat, k1 * W
        self._G: tuple[float, Any, Any] | None = None

    def cG(self, G: float, W: float, rise: float) -> tuple[Any, Any]:
        """``(k1 G, k1 (G - W + rise/2))`` for a period ``G`` (cached)."""
        if self._G is None or self._G[0] != G:
            self._G = (G, self.k1 * G, self.k1 * (G - W + 0.5 * rise))
        return self._G[1], self._G[2]


def _run_chunk(plan: _Plan, s0: int, s1: int, acc: np.ndarray, mins: np.ndarray, maxs: np.ndarray,
               ci: int, V_out: np.ndarray, dV_out: np.ndarray | None, stats: _RampStats) -> None:
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
    for h in (0, 1):
        if plan.tox is None:
            k1, k2 = cell_k_constants(card, dev.tox_m, dev.area_m2)
        else:
            tox = np.ascontiguousarray(plan.tox[2 * s0 + h:2 * s1:2])
            area = np.ascontiguousarray(plan.area[2 * s0 + h:2 * s1:2])
            k1, k2 = cell_k_constants(card, tox, area)
        halves.append(_Half(k1, k2, rise, flat, W))
    per_cell_k = plan.tox is not None
    U = plan.n_updates
    t_first = float(plan.t_s[0]) if U else plan.t_end_s
    V = [_decay(np.full(C, dev.V0_V), hf.k1, hf.k2, t_first) for hf in halves]
    w = _Work(C)
    g = _Gather(C, per_cell_k) if plan.amp_kind != "table" else None
    lengths = _block_lengths(C, B)

    def add(q: int, x: np.ndarray, n: int) -> None:
        acc[q, blk, n] += _bsum(x, B)

    def pulse(Vx: np.ndarray, dV: Any, hf: _Half | None, k1: Any, k2: Any, G: float) -> None:
        if ramped:
            _ramp_into(w, Vx, dV, k1, k2, rise, width, W, G, stats)
        elif hf is not None:
            _rect_into(w, Vx, dV, hf.nk2, hf.ch, hf.cF, hf.cW, hf.cG(G, W, rise)[1])
        else:
            _rect_into(w, Vx, dV, -k2, k1 * (0.5 * rise), k1 * flat, k1 * W, k1 * (G - W + 0.5 * rise))

    for n in range(U):
        G = float(plan.t_s[n + 1] - plan.t_s[n]) if n + 1 < U else plan.t_end_s - float(plan.t_s[n])
        ref = float(plan.ref_beyond[n])
        if plan.amp_kind == "table":
            a = float(plan.amp_table[n])
            if a == 0.0:
                for h in (0, 1):
                    hf = halves[h]
                    _free_into(w, V[h], hf.nk2, hf.cW, hf.cG(G, W, rise)[0])
                    add(_QW, w.qw, n)
                continue
            hp = 0 if a > 0 else 1
            vp = abs(a)
            hf = halves[hp]
            pulse(V[hp], kappa * vp, hf, hf.k1, hf.k2, G)
            add(_QW, w.qw, n)
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
            _free_into(w, V[1 - hp], hf.nk2, hf.cW, hf.cG(G, W, rise)[0])
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
        if per_cell_k:
            k1a = _blend(g.k1a, M, NM, halves[0].k1, halves[1].k1, g.tmp)
            k2a = _blend(g.k2a, M, NM, halves[0].k2, halves[1].k2, g.tmp)
            k1b = _blend(g.k1b, M, NM, halves[1].k1, halves[0].k1, g.tmp)
            nk2b = _blend(g.k2b, M, NM, halves[1].nk2, halves[0].nk2, g.tmp)
            pulse(Va, kappa * vp, None, k1a, k2a, G)
        else:
            k1b, nk2b = halves[0].k1, halves[0].nk2
            pulse(Va, kappa * vp, halves[0], halves[0].k1, halves[0].k2, G)
        add(_QW, w.qw, n)
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
        _free_into(w, Vb, nk2b, k1b * W, k1b * G)
        add(_QW, w.qw, n)
        _blend(V[0], M, NM, Va, Vb, g.tmp)
        _blend(V[1], M, NM, Vb, Va, g.tmp)
    V_out[2 * s0:2 * s1:2] = V[0]
    V_out[2 * s0 + 1:2 * s1:2] = V[1]


# --------------------------------------------------------------------------- #
# public entry point


def _shape_of(n_synapses: Any) -> tuple[int, ...]:
    if isinstance(n_synapses, (tuple, list)):
        if len(n_synapses) != 2:
            raise InputError(f"array shape {tuple(n_synapses)!r} must be (rows, cols)")
        shape = tuple(int(x) for x in n_synapses)
    else:
        if isinstance(n_synapses, bool) or not isinstance(n_synapses, (int, np.integer)):
            raise InputError(f"n_synapses = {n_synapses!r} must be an integer or a (rows, cols) pair")
        shape = (int(n_synapses),)
    if any(x < 1 for x in shape):
        raise InputError(f"n_synapses (array shape {shape}) must be positive; give at least one synapse")
    return shape


def _mismatch_arrays(mismatch: Any, card: Card, n_cells: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    if mismatch is None:
        return None, None
    if isinstance(mismatch, pd.DataFrame):
        mismatch = {k: mismatch[k].to_numpy() for k in mismatch.columns}
    if not isinstance(mismatch, Mapping):
        raise InputError("mismatch must be a mapping (or DataFrame) with keys tox_m and/or area_m2")
    unknown = set(mismatch) - {"tox_m", "area_m2"}
    if unknown:
        raise InputError(f"unknown mismatch key(s) {', '.join(sorted(unknown))}; allowed: tox_m, area_m2")
    out = []
    for key, nominal in (("tox_m", card.device.tox_m), ("area_m2", card.device.area_m2)):
        if key not in mismatch or mismatch[key] is None:
            out.append(np.full(n_cells, nominal))
            continue
        a = np.asarray(mismatch[key], dtype=float).reshape(-1)
        if a.shape != (n_cells,):
            raise InputError(f"mismatch[{key!r}] has {a.size} values; give one per cell ({n_cells} = 2 x synapses, "
                             "cell 2s = + half of synapse s)")
        if not (np.all(np.isfinite(a)) and np.all(a > 0)):
            raise InputError(f"mismatch[{key!r}] must be finite and > 0 (SI units)")
        out.append(np.ascontiguousarray(a))
    return out[0], out[1]


def _theory_columns(card: Card, table: pd.DataFrame | None, U: int) -> dict[str, np.ndarray]:
    nan = np.full(U, np.nan)
    cols = {"eps": nan, "R_target_per_s": nan, "E0_J": nan, "dE_J": nan, "N_target": nan, "ref": np.zeros(U)}
    if table is not None and len(table) == U:
        for k in ("eps", "R_target_per_s", "E0_J", "dE_J", "N_target"):
            if k in table:
                cols[k] = table[k].to_numpy(dtype=float)
        if "dV_fg_pred_V" in table:
            cols["ref"] = table["dV_fg_pred_V"].to_numpy(dtype=float)
        return cols
    if card.n_updates == U and U > 0:
        from ..theory.table import bound_table
        bt = bound_table(card.schedule, card.device.R_max_per_s, card.device.T_K)
        cols.update(eps=bt["eps"].to_numpy(float), R_target_per_s=bt["R_per_s"].to_numpy(float),
                    E0_J=bt["E0_J"].to_numpy(float), dE_J=bt["dE_J"].to_numpy(float),
                    N_target=bt["R_per_s"].to_numpy(float) * card.programming.pulse_width_s)
    return cols


def simulate_fast(card: Card, table: pd.DataFrame | None = None, n_synapses: int | tuple[int, int] = 1,
                  mismatch: Mapping[str, Any] | pd.DataFrame | None = None,
                  amplitudes: np.ndarray | Callable[[int, int, int], Any] | None = None,
                  keep: str = "summary", *, chunk_synapses: int | None = None, threads: int | None = None,
                  t_end_s: float | None = None, cells_per_line: int | None = None) -> FastResult:
    """Simulate every cell of an FN-DAM array under a programming schedule (vectorised closed form).

    Parameters
    ----------
    card : the design (device, schedule, programming).
    table : synthesis table (:func:`lim_hw.netlist.synthesis.synthesize`); columns
        ``t_s``, ``V_p_V``, ``half`` drive the pulses, the theory columns
        (``eps``, ``R_target_per_s``, ``E0_J``, ``dE_J``, ``N_target``) fill the
        bound. Synthesised from the card when ``None`` and no amplitudes are given.
    n_synapses : number of differential synapses, or ``(rows, cols)``.
    mismatch : per-cell ``tox_m`` and/or ``area_m2`` (each ``(n_cells,)``, SI,
        cell ``2s`` = + half of synapse ``s``; absolute values, not deltas).
    amplitudes : per-update per-synapse pulse amplitudes (V), ``(n_updates,
        n_synapses)``; ``a > 0`` pulses the + half with ``V_p = a``, ``a < 0`` the
        - half with ``V_p = -a``, 0 no pulse. Or a callable ``f(n, s0, s1)``
        returning the amplitudes of update ``n`` (0-based) for synapses
        ``s0:s1`` (memory stays bounded for huge arrays). Update times come from
        ``table`` if given, else from the card.
    keep : ``"summary"`` (per-update table and final voltages) or ``"per_cell"``
        (also ``dV_fg_V``, ``n_updates x n_cells``).
    chunk_synapses : synapses per chunk (rounded up to a multiple of
        :data:`BLOCK_SYNAPSES`); results do not depend on it.
    threads : worker threads (default: the CPUs available); results do not depend on it.
    t_end_s : end of the run (default ``card.stop_time_s``).
    cells_per_line : cells sharing one control-gate driver, for the driver RC
        (default ``rows`` for a ``(rows, cols)`` array driven by the table, else 1).
    """
    t_wall = time.perf_counter()
    if keep not in ("summary", "per_cell"):
        raise InputError(f"keep = {keep!r} must be 'summary' or 'per_cell'")
    shape = _shape_of(n_synapses)
    S = int(np.prod(shape))
    n_cells = 2 * S
    prog = card.programming
    W = prog.pulse_width_s + 2.0 * prog.rise_s

    if amplitudes is None and table is None:
        from ..netlist.synthesis import synthesize
        table = synthesize(card)

    # amplitudes
    amp_table = amp_array = amp_callable = None
    if amplitudes is None:
        for col in ("t_s", "V_p_V", "half"):
            if col not in table:
                raise InputError(f"synthesis table has no column {col!r}; "
                                 "build it with lim_hw.netlist.synthesis.synthesize")
        vp = table["V_p_V"].to_numpy(dtype=float)
        half = table["half"].astype(str).to_numpy()
        if not np.all(np.isfinite(vp)) or np.any(vp < 0):
            raise InputError("synthesis table V_p_V must be finite and >= 0")
        if not np.all(np.isin(half, ("p", "m"))):
            raise InputError("synthesis table column half must be 'p' or 'm'")
        amp_table = np.where(half == "p", vp, -vp)
        U = len(table)
        amp_kind = "table"
    elif callable(amplitudes):
        amp_kind = "callable"
        amp_callable = amplitudes
        U = len(table) if table is not None else card.n_updates
    else:
        amp_kind = "array"
        amp_array = amplitudes if isinstance(amplitudes, np.ndarray) else np.asarray(amplitudes, dtype=float)
        if amp_array.ndim == 1 and S == 1:
            amp_array = amp_array.reshape(-1, 1)
        if amp_array.ndim != 2 or amp_array.shape[1] != S:
            raise InputError(f"amplitudes have shape {amp_array.shape}; expected (n_updates, {S})")
        U = amp_array.shape[0]
        if table is not None and len(table) != U:
            raise InputError(f"amplitudes have {U} updates but the table has {len(table)} rows")

    # times
    if table is not None and len(table) == U and "t_s" in table:
        t_s = table["t_s"].to_numpy(dtype=float)
    else:
        t_s = np.array([prog.update_start_s(n) for n in range(1, U + 1)], dtype=float)
    if U and (not np.all(np.isfinite(t_s)) or t_s[0] < 0 or np.any(np.diff(t_s) < W)):
        raise InputError(f"update times must be >= 0 and at least one window ({W:g} s) apart")
    if t_end_s is None:
        if U and card.simulation.duration_s <= 0 and card.n_updates != U:
            t_end = float(t_s[-1]) + prog.period_s
        else:
            t_end = card.stop_time_s
    else:
        t_end = float(t_end_s)
    if not math.isfinite(t_end) or t_end < 0 or (U and t_end < t_s[-1] + W):
        raise InputError(f"t_end_s = {t_end:g} s must be finite and after the last update window")

    tox, area = _mismatch_arrays(mismatch, card, n_cells)
    theory = _theory_columns(card, table, U)
    plan = _Plan(card=card, n_syn=S, t_s=t_s, t_end_s=t_end, amp_kind=amp_kind, amp_table=amp_table,
                 amp_array=amp_array, amp_callable=amp_callable, tox=tox, area=area,
                 ref_beyond=np.nan_to_num(theory["ref"]))

    # chunks
    B = BLOCK_SYNAPSES
    chunk = DEFAULT_CHUNK_SYNAPSES if chunk_synapses is None else int(chunk_synapses)
    if chunk < 1:
        raise InputError(f"chunk_synapses = {chunk} must be >= 1")
    chunk = -(-chunk // B) * B
    bounds = [(s0, min(S, s0 + chunk)) for s0 in range(0, S, chunk)]
    n_blocks = -(-S // B)
    acc = np.zeros((_NQ, n_blocks, U))
    mins = np.full((len(bounds), U), np.inf)
    maxs = np.full((len(bounds), U), -np.inf)
    V_out = np.empty(n_cells)
    dV_out = np.zeros((U, n_cells)) if keep == "per_cell" else None
    n_threads = threads if threads is not None else len(os.sched_getaffinity(0))
    n_threads = max(1, min(int(n_threads), len(bounds)))
    stats_list = [_RampStats() for _ in bounds]

    def work(ci: int) -> None:
        s0, s1 = bounds[ci]
        _run_chunk(plan, s0, s1, acc, mins, maxs, ci, V_out, dV_out, stats_list[ci])

    if n_threads == 1:
        for ci in range(len(bounds)):
            work(ci)
    else:
        with ThreadPoolExecutor(max_workers=n_threads) as pool:
            for fut in [pool.submit(work, ci) for ci in range(len(bounds))]:
                fut.result()
    stats = _RampStats()
    for s in stats_list:
        stats.merge(s)

    if cells_per_line is None:
        cells_per_line = shape[0] if (len(shape) == 2 and amp_kind == "table") else 1
    drive = drive_constants(card, int(cells_per_line))
    tot = acc.sum(axis=1)   # (NQ, U), blocks added in a fixed order
    updates = _assemble(card, drive, t_s, tot, mins.min(axis=0), maxs.max(axis=0), theory)
    info = {"wall_s": time.perf_counter() - t_wall, "chunk_synapses": chunk, "threads": n_threads,
            "n_chunks": len(bounds), "engine": "fast", "cells_per_line": int(cells_per_line),
            "driver_tau_s": drive.tau_s, "driver_rho": drive.rho}
    if prog.shape == "ramped":
        info.update(ramp_max_panels=stats.max_panels, ramp_max_picard_iterations=stats.max_iterations,
                    ramp_unconverged=stats.unconverged)
    return FastResult(updates=updates, V_ox_final_V=V_out, shape=shape, t_end_s=t_end, dV_fg_V=dV_out, info=info)


def _assemble(card: Card, drive: DriveConstants, t_s: np.ndarray, tot: np.ndarray, mins: np.ndarray,
              maxs: np.ndarray, theory: dict[str, np.ndarray]) -> pd.DataFrame:
    dev = card.device
    C_T = dev.C_T_F
    U = t_s.shape[0]
    cnt = tot[_CNT]
    with np.errstate(invalid="ignore", divide="ignore"):
        per = np.where(cnt > 0, 1.0 / np.where(cnt > 0, cnt, 1.0), np.nan)
        mean_b = tot[_SB] * per
        var = np.maximum(tot[_SB2] * per - (mean_b - np.nan_to_num(theory["ref"])) ** 2, 0.0)
        var = np.where(cnt > 1, var * cnt / np.maximum(cnt - 1, 1), np.where(cnt == 1, 0.0, np.nan))
        to_N = C_T / q_C
        E_drv_drawn = drive.a_drawn_J_per_V2 * tot[_SVP2] + drive.kappa * C_T * tot[_SVPQ]
        E_drv_net = drive.a_net_J_per_V2 * tot[_SVP2] + drive.kappa * C_T * tot[_SVPQ]
        E_bias_drawn = drive.b_bias_J_per_V * tot[_SVP] + drive.c_bias_J_per_C * C_T * tot[_QW]
        E_bias_net = drive.c_bias_J_per_C * C_T * tot[_QW]
        E_supply = (E_drv_drawn + E_bias_drawn) * per
        E_net = (E_drv_net + E_bias_net) * per
        E_tun = C_T * tot[_ET] * per
        E_tun_b = C_T * tot[_ETB] * per
        N_sim = mean_b * to_N
        N_target = theory["N_target"]
        E_bound = N_target * (theory["E0_J"] + np.abs(theory["dE_J"]))
        V_mid = (tot[_SVPK] - 0.5 * tot[_SDF]) * per
        E_eff = np.full(U, np.nan)
        ok = np.isfinite(V_mid) & (V_mid > 0)
        if ok.any():
            E_eff[ok] = effective_barrier_J(V_mid[ok], dev.R_max_per_s, dev.tox_m, dev.area_m2,
                                            dev.phi_B_eV, dev.m_eff, dev.T_K)

        def ratio(a: np.ndarray) -> np.ndarray:
            return np.where(E_bound > 0, a / np.where(E_bound > 0, E_bound, 1.0), np.nan)

        cols = {
            "n": np.arange(1, U + 1), "t_s": t_s, "eps": theory["eps"], "R_target_per_s": theory["R_target_per_s"],
            "E0_J": theory["E0_J"], "E_eff_J": E_eff, "N_target": N_target, "N_sim": N_sim,
            "tracking_error": np.where(N_target > 0, N_sim / np.where(N_target > 0, N_target, 1.0) - 1.0, np.nan),
            "V_p_V": tot[_SVP] * per, "E_supply_J": E_supply, "E_net_J": E_net,
            "E_recovered_J": E_supply - E_net,
            "eta_recovery": np.where(E_supply > 0, (E_supply - E_net) / np.where(E_supply > 0, E_supply, 1.0), np.nan),
            "E_tunnel_J": E_tun, "E_bound_J": E_bound,
            "E_landauer_J": np.full(U, getattr(card.programming, "precision_bits", np.nan) * kT_J(dev.T_K)
                                    * math.log(2.0)),
            "ratio_supply_to_bound": ratio(E_supply), "ratio_net_to_bound": ratio(E_net),
            "ratio_tunnel_to_bound": ratio(E_tun), "n_cells_programmed": cnt.astype(np.int64),
            "N_sim_std": np.sqrt(var) * to_N,
            "N_sim_min": np.where(cnt > 0, mins * to_N, np.nan), "N_sim_max": np.where(cnt > 0, maxs * to_N, np.nan),
            "dV_fg_V": mean_b, "E_driver_J": E_drv_drawn * per, "E_bias_J": E_bias_drawn * per,
            "E_tunnel_beyond_J": E_tun_b, "ratio_tunnel_beyond_to_bound": ratio(E_tun_b),
        }
    return pd.DataFrame(cols, columns=list(FAST_UPDATE_COLUMNS))
