"""An array of differential FN-DAM synapses on the closed-form pulse model, written by a controller.

Synapse ``j`` is two cells (row 0: + half, row 1: - half of the state arrays);
its weight is ``w_j = (V_fg+ - V_fg-)/V_unit - offset_j = (V_ox- - V_ox+)/V_unit
- offset_j`` with ``V_unit = electrons_per_weight q / C_T``. Every cell has its
own (mismatched) ``k1, k2`` (theory.md s.5). A write turns the requested
weight changes ``dw`` into ``N = |dw| electrons_per_weight`` transitions on the
half picked by the sign of ``dw`` and a control-gate amplitude from the
controller's *nominal* cell (:class:`AmplitudeTable` for ``lr = device``, the
root-find :func:`~lim_hw.codesign.pulse_model.solve_amplitudes` at the measured
oxide voltage otherwise); the actual cells then receive those pulses
(:func:`~lim_hw.codesign.pulse_model.pulse_eval`, vectorised over the array)
and return the transitions they really made and the energy of every update
(the accounting of docs/codesign.md s.1). The LIM bound of every update
(``N (E0 + |dE|)``, LIM_A; LIM_B with the injected drive,
:func:`lim_hw.theory.totals.lim_b_terms`) is accumulated beside it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..constants import kT_J, q_C
from ..device.card import Card
from ..theory.lim import feasible_barrier
from ..theory.totals import lim_b_terms
from .pulse_model import V_P_MAX_V, CellModel, PulseTiming, natural_drop_V, pulse_eval, solve_amplitudes

__all__ = ["AmplitudeTable", "SynapseArray", "WriteResult", "ENERGY_KEYS"]

#: Per-synapse cumulative quantities kept by :class:`SynapseArray` (energies in J).
ENERGY_KEYS = ("drawn", "net", "tunnel", "driver", "bias", "limA", "limB", "pulses", "transitions")


class AmplitudeTable:
    """Amplitude map ``N -> V_p`` of the nominal cell at one oxide voltage (``lr = device``).

    The root-find is done once on ``n_nodes`` log-spaced targets and interpolated
    by a cubic spline in ``(ln N, ln V_p)`` (both smooth: ``V_p ~ N`` for small
    N, ``~ ln N`` for large N). Measured interpolation error on the reference
    cell: < 1e-9 relative in the transitions (tests/test_codesign_mlp.py).
    """

    def __init__(self, cell: CellModel, timing: PulseTiming, V_ox_V: float, N_min: float,
                 n_nodes: int = 1200) -> None:
        from scipy.interpolate import CubicSpline

        self.N_max = float(pulse_eval(cell, timing, V_ox_V, V_P_MAX_V).N_sim) * (1.0 - 1e-9)
        self.N_min = max(min(float(N_min), 0.5), 1e-3) * 0.5
        N = np.exp(np.linspace(np.log(self.N_min), np.log(self.N_max), int(n_nodes)))
        Vp = solve_amplitudes(cell, timing, np.full(N.size, V_ox_V), N)
        self._spline = CubicSpline(np.log(N), np.log(Vp))
        self.V_ox_V = float(V_ox_V)

    def __call__(self, N: np.ndarray) -> np.ndarray:
        """Amplitudes (V); NaN above the largest reachable target (pulse above V_P_MAX_V)."""
        N = np.asarray(N, dtype=float)
        out = np.exp(self._spline(np.log(np.clip(N, self.N_min, self.N_max))))
        return np.where(N > self.N_max, np.nan, np.where(N > 0, out, 0.0))


@dataclass
class WriteResult:
    """One write of the whole array (arrays over the pulsed synapses ``sel``)."""

    sel: np.ndarray          # indices of the pulsed synapses
    half: np.ndarray         # 0: + half, 1: - half
    V_p_V: np.ndarray        # amplitudes applied
    N_want: np.ndarray       # transitions requested
    N_real: np.ndarray       # transitions made by the actual cells
    E_drawn_J: np.ndarray
    E_net_J: np.ndarray
    E_tunnel_J: np.ndarray
    E_limA_J: np.ndarray
    E_limB_J: np.ndarray
    n_clipped_V_max: int
    n_limA_infeasible: int


class SynapseArray:
    """``P`` differential synapses with per-cell mismatch; state, reads, writes and energy totals."""

    def __init__(self, card: Card, tox_m: np.ndarray, area_m2: np.ndarray, electrons_per_weight: float,
                 min_electrons: float = 0.5, shot_noise: bool = False, noise_seed: int = 0) -> None:
        dev = card.device
        self.card = card
        self.P = int(tox_m.shape[1])
        self.Q_unit = float(electrons_per_weight)
        self.V_unit = self.Q_unit * q_C / dev.C_T_F
        self.min_electrons = float(min_electrons)
        self.shot_noise = bool(shot_noise)
        self.timing = PulseTiming.from_card(card)
        self.window_s = float(self.timing.window_s)
        self.nominal = CellModel.from_card(card)
        cells = CellModel.from_card(card, tox_m, area_m2)
        self.k1 = np.broadcast_to(cells.k1_per_s, (2, self.P)).copy()
        self.k2 = np.broadcast_to(cells.k2_V, (2, self.P)).copy()
        self.tox_m, self.area_m2 = np.asarray(tox_m, float), np.asarray(area_m2, float)
        self.V = np.full((2, self.P), dev.V0_V)
        self.t_prev = 0.0
        self.offset = np.zeros(self.P)
        self.cum = {k: np.zeros(self.P) for k in ENERGY_KEYS}
        self.noise_rng = np.random.default_rng(noise_seed)
        self.kT = kT_J(dev.T_K)

    # ------------------------------------------------------------------ state
    def state(self) -> dict[str, Any]:
        """Everything that changes during training (for checkpoints)."""
        return {"V": self.V.copy(), "t_prev": self.t_prev, "offset": self.offset.copy(),
                "cum": {k: v.copy() for k, v in self.cum.items()},
                "noise_rng": self.noise_rng.bit_generator.state}

    def set_state(self, s: dict[str, Any]) -> None:
        self.V = np.array(s["V"], dtype=float)
        self.t_prev = float(s["t_prev"])
        self.offset = np.array(s["offset"], dtype=float)
        self.cum = {k: np.array(s["cum"][k], dtype=float) for k in ENERGY_KEYS}
        self.noise_rng.bit_generator.state = s["noise_rng"]

    def _noisy(self, drop_V: np.ndarray) -> np.ndarray:
        """Shot noise: the electrons of a drop are a Poisson count (mean = the deterministic drop)."""
        if not self.shot_noise:
            return drop_V
        C_T = self.card.device.C_T_F
        return self.noise_rng.poisson(np.maximum(drop_V, 0.0) * C_T / q_C) * q_C / C_T

    def decay_to(self, t_s: float) -> None:
        """Free decay of every cell from the end of the last window to ``t_s``."""
        self.V = self.V - self._noisy(natural_drop_V(self.V, t_s - self.t_prev, self.k1, self.k2, self.nominal.law_scales))
        self.t_prev = t_s

    def read(self) -> np.ndarray:
        """Weights the controller reads (weight units)."""
        return (self.V[1] - self.V[0]) / self.V_unit - self.offset

    def zero(self) -> None:
        """Take the present reading as zero (mismatched halves have drifted apart since t = 0)."""
        self.offset = (self.V[1] - self.V[0]) / self.V_unit

    # ------------------------------------------------------------------ write
    def write(self, dw: np.ndarray, t_s: float, table: AmplitudeTable | None, grad: np.ndarray | None,
              R_max_per_s: float, lim_b: dict[str, Any] | None = None) -> WriteResult:
        """Pulse every synapse whose ``|dw| electrons_per_weight >= min_electrons`` (window at ``t_s``).

        ``table``: amplitudes from the fixed nominal map (``lr = device``); ``None``:
        root-find at each pulsed cell's present oxide voltage (compensated writes).
        ``grad``: the gradient behind ``dw`` (for the LIM bound; ``None`` = no
        bound, e.g. programming the initial weights). Ends at ``t_s + window``.
        """
        if abs(t_s - self.t_prev) > 1e-9 * max(1.0, t_s):
            self.decay_to(t_s)
        N_want_all = np.abs(dw) * self.Q_unit
        half_all = np.where(dw > 0, 0, 1)
        sel = np.flatnonzero(N_want_all >= max(self.min_electrons, 1e-9))
        cols = half_all[sel]
        N_want = N_want_all[sel]
        V_tgt = self.V[cols, sel]
        Vp = table(N_want) if table is not None else solve_amplitudes(self.nominal, self.timing, V_tgt, N_want,
                                                                        strict=False)
        clipped = ~np.isfinite(Vp)
        Vp = np.where(clipped, V_P_MAX_V, Vp)
        V_after = self.V - self._noisy(natural_drop_V(self.V, self.window_s, self.k1, self.k2, self.nominal.law_scales))
        z = np.zeros(sel.size)
        res = WriteResult(sel, cols, Vp, N_want, z, z, z, z, z.copy(), z.copy(), int(clipped.sum()), 0)
        if sel.size:
            cells = dataclasses.replace(self.nominal, k1_per_s=self.k1[cols, sel], k2_V=self.k2[cols, sel])
            ev = pulse_eval(cells, self.timing, V_tgt, Vp)
            N_real = np.maximum(ev.N_sim, 0.0)
            Va = ev.V_after_V
            if self.shot_noise:
                tot = np.maximum(ev.N_sim + ev.N_natural, 0.0)
                Va = Va - (self.noise_rng.poisson(tot) - tot) * q_C / self.card.device.C_T_F
            V_after[cols, sel] = Va
            res.N_real, res.E_drawn_J, res.E_net_J, res.E_tunnel_J = N_real, ev.E_drawn_J, ev.E_net_J, ev.E_tunnel_J
            c = self.cum
            c["drawn"][sel] += ev.E_drawn_J
            c["net"][sel] += ev.E_net_J
            c["tunnel"][sel] += ev.E_tunnel_J
            c["driver"][sel] += ev.E_drv_cap_J + ev.E_drv_res_J + ev.E_drv_fn_J
            c["bias"][sel] += ev.E_bias_cap_J + ev.E_bias_fn_J
            c["pulses"][sel] += 1
            c["transitions"][sel] += N_real
            if grad is not None:
                self._bound(res, np.abs(grad[sel]), R_max_per_s, lim_b or {})
        self.V = V_after
        self.t_prev = t_s + self.window_s
        return res

    def _bound(self, res: WriteResult, gs: np.ndarray, R_max_per_s: float, lim_b: dict[str, Any]) -> None:
        """LIM_A and LIM_B bounds of the updates made: ``N (E0 + |dE|)`` at ``R = N / pulse_width``."""
        N = res.N_real
        ok = (N > 0) & (gs > 0)
        if not ok.any():
            return
        eps_eff = N[ok] / (self.Q_unit * gs[ok])       # the learning rate the update realised
        R = N[ok] / self.card.programming.pulse_width_s
        T = self.card.device.T_K
        E0, feas, _ = feasible_barrier(R, R_max_per_s, eps_eff, gs[ok], T)
        E_grad = self.kT * eps_eff * gs[ok] ** 2
        res.E_limA_J[ok] = N[ok] * (np.atleast_1d(E0) + E_grad)
        res.n_limA_infeasible = int(np.count_nonzero(~np.atleast_1d(feas)))
        res.E_limB_J[ok] = N[ok] * lim_b_terms(R, E_grad, R_max_per_s, T, **lim_b)["E_diss_J"]
        self.cum["limA"][res.sel] += res.E_limA_J
        self.cum["limB"][res.sel] += res.E_limB_J
