"""Closed-form kernels of the fast array model (vectorised, in place; k1, k2 scalars or arrays).

Free decay as the cancellation-free drop of the restarted closed form
``V = k2 / ln(k1 t + k0)`` (theory.md s.5) and the block sums that make the
per-update totals independent of chunking (the rectangular pulse is fused in
:mod:`lim_hw.fast.fused`). Used by :mod:`lim_hw.fast.chunk` and :mod:`lim_hw.fast.ramp`;
the physics is summarised in :mod:`lim_hw.fast.model` and docs/fast-model.md.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..device.card import Card
from ..device.fn import fn_coefficients

__all__ = ["cell_k_constants"]


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
