"""Discrete electrons in the fast model: Poisson counts per update window and in free decay.

``simulate_fast(..., seed=S)`` (``lim-hw simulate --engine fast --stochastic --seed S``,
or ``[simulation] stochastic = true``, ``seed = S``) replaces every deterministic
charge of the trajectory by a Poisson count of electrons with that mean: the window
of each update (pulsed or not), the rest of each period, and the decay before the
first update. Tunnelling events are independent, so the count over an interval is
Poisson to the extent the rate is fixed by the deterministic trajectory; the gate
moves by ``q / C_T`` = 1.6 uV per electron on 100 fF, so the feedback of one
electron on the rate (relative ``k2 q / (C_T V^2)`` ~ 1e-5) is neglected.
Energies of a window (tunnelling, flat-top and driven charge) are the deterministic
integrals scaled by ``N_sampled / N_mean``.

Generators: one ``numpy.random.default_rng([seed, block])`` per block of
:data:`lim_hw.fast.chunk.BLOCK_SYNAPSES` synapses, advanced in the same order
whatever the chunking or threads, so a seed gives the same result for any chunk
size and thread count (docs/fast-model.md).
"""

from __future__ import annotations

import numpy as np

__all__ = ["ShotNoise"]


class ShotNoise:
    """Poisson draws for the cells of one chunk (blocks ``b0, b0+1, ...`` of ``B`` synapses)."""

    def __init__(self, seed: int, b0: int, n_cells: int, B: int, to_N: float) -> None:
        self.B, self.to_N = B, to_N
        n_blocks = -(-n_cells // B)
        self.gens = [np.random.default_rng([int(seed), b0 + i]) for i in range(n_blocks)]

    def count(self, mean_V: np.ndarray) -> np.ndarray:
        """Electrons drawn for deterministic drops ``mean_V`` (volts of C_T), back in volts."""
        lam = np.maximum(mean_V, 0.0) * self.to_N
        out = np.empty_like(lam)
        for i, g in enumerate(self.gens):
            sl = slice(i * self.B, (i + 1) * self.B)
            out[sl] = g.poisson(lam[sl])
        return out / self.to_N

    def decay(self, V_start: np.ndarray, V: np.ndarray) -> None:
        """A free decay ``V_start -> V`` (in place): ``V = V_start - Poisson``."""
        V[...] = V_start - self.count(V_start - V)

    def window(self, w, V_start: np.ndarray, V: np.ndarray, pulsed: bool) -> None:
        """After a window kernel (:func:`~lim_hw.fast.kernels._rect_into`, ``_ramp_into`` or ``_free_into``):
        draw the window's and the rest of the period's electrons; update ``V`` and the window results."""
        rest = (V_start - V) - w.qw
        q_w = self.count(w.qw)
        q_r = self.count(rest)
        if pulsed:
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(w.qw > 0, q_w / np.where(w.qw > 0, w.qw, 1.0), 1.0)
            nat_e = w.dn * (V_start - 0.5 * w.dn)
            w.et *= ratio
            w.df *= ratio
            w.dq *= ratio
            np.subtract(w.et, nat_e, out=w.eb)
            np.subtract(q_w, w.dn, out=w.bz)
        w.qw[...] = q_w
        V[...] = V_start - q_w - q_r
