"""Ramped edges of the fast array model: Gauss-Legendre collocation through a linear edge.

8 nodes per panel (order 16), Picard iteration, panels chosen per cell from the
growth rate of the FN current along the ramp; the flat top between the edges is
closed form (:mod:`lim_hw.fast.kernels`). See :mod:`lim_hw.fast.model` and
docs/fast-model.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from ..errors import InputError
from .kernels import _decay, _seg_energy, _ue, _Work, cell_law, fn_law_drop_into, fn_law_rate_factor

# ramp collocation
_GL_NODES = 8
_RAMP_GROWTH_PER_PANEL = 4.0     # max growth exponent of the FN current across one panel
_RAMP_STIFF_PER_PANEL = 0.05     # max (dI/dV / C_T) * panel length (Picard contraction)
_RAMP_MAX_PANELS = 4096
_PICARD_MAXIT = 40
_PICARD_RTOL = 1e-14


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


def _ramp_group(V0, D, sigma, c, k2, T, P, stats, scales=None):
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

    law = cell_law(scales, k2)

    def fn(Vd, qn):
        V = Vd - qn
        return c * V * V * np.exp(-k2 / V) * fn_law_rate_factor(V, law)

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


def _ramp(V0: np.ndarray, D: Any, sigma: float, k1: Any, k2: Any, T: float, stats: _RampStats,
          scales: tuple[float, float] | None = None):
    """One linear edge for every cell (cells grouped by their panel count)."""
    n = V0.shape[0]
    D = np.broadcast_to(np.asarray(D, dtype=float), (n,))
    c = k1 / k2
    P = _ramp_panels(V0, D, sigma, c, k2, T)
    Pmin, Pmax = int(P.min()), int(P.max())
    if Pmin == Pmax:
        return _ramp_group(V0, np.ascontiguousarray(D), sigma, c, k2, T, Pmin, stats, scales)
    q, E, Qd = np.empty(n), np.empty(n), np.empty(n)
    for Pv in np.unique(P):
        idx = np.flatnonzero(P == Pv)
        ci = c[idx] if np.ndim(c) else c
        k2i = k2[idx] if np.ndim(k2) else k2
        q[idx], E[idx], Qd[idx] = _ramp_group(V0[idx], D[idx], sigma, ci, k2i, T, int(Pv), stats, scales)
    return q, E, Qd


def _ramp_into(w: _Work, V: np.ndarray, dV: Any, k1: Any, k2: Any, rise: float, width: float, W: float,
               G: float, stats: _RampStats, scales: tuple[float, float] | None = None) -> None:
    """Ramped pulse on ``V`` (in place), results in ``w`` as :func:`lim_hw.fast.kernels._rect_into` (and :func:`lim_hw.fast.fused.pulse_update`) sum them.

    Collocation through both edges, closed form on the flat top (``width``), then
    decay to the next window start (``G`` after the window start). ``w.dq`` holds the
    amplitude-weighted charge moved while driven (edges weighted by the fraction of the swing).
    """
    law = cell_law(scales, k2)
    q_up, E_up, Qd_up = _ramp(V, dV, +1.0, k1, k2, rise, stats, scales)
    V1 = V + dV - q_up
    nk2 = -k2
    _ue(V1, nk2, w)
    fn_law_drop_into(w.df, V1, k1 * width, w, law)
    V1b = V1 - w.df
    q_dn, E_dn, Qd_dn = _ramp(V1b, dV, -1.0, k1, k2, rise, stats, scales)
    V_end = V1b - dV - q_dn
    _ue(V, nk2, w)
    fn_law_drop_into(w.dn, V, k1 * W, w, law)
    np.add(q_up, w.df, out=w.qw)
    w.qw += q_dn
    np.subtract(w.qw, w.dn, out=w.bz)
    np.add(E_up, _seg_energy(V1, w.df), out=w.et)
    w.et += E_dn
    np.subtract(w.et, _seg_energy(V, w.dn), out=w.eb)
    np.add(Qd_up, w.df, out=w.dq)
    w.dq += Qd_dn
    w.Vh[...] = V1
    V[...] = _decay(V_end, k1, k2, G - W, law)
