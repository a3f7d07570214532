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

Modules: this one has the entry point (:func:`simulate_fast`, its input
checks and :class:`FastResult`); :mod:`lim_hw.fast.kernels` the closed-form
kernels and block sums, :mod:`lim_hw.fast.ramp` the ramped edges,
:mod:`lim_hw.fast.chunk` the loop over updates for one chunk of cells, and
:mod:`lim_hw.fast.assemble` the per-update table. Their public names are
re-exported here (``from lim_hw.fast.model import ...`` keeps working).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..device.card import Card
from ..errors import InputError
from .assemble import FAST_UPDATE_COLUMNS, _assemble
from .chunk import _NQ, BLOCK_SYNAPSES, _Plan, _run_chunk, uses_numpy_path
from .energy import drive_constants
from .kernels import cell_k_constants
from .ramp import _ramp, _RampStats  # noqa: F401  (_ramp: re-exported for the tests)

__all__ = ["FastResult", "simulate_fast", "FAST_UPDATE_COLUMNS", "BLOCK_SYNAPSES",
           "DEFAULT_CHUNK_SYNAPSES", "cell_k_constants"]

#: Default chunk (synapses processed together by one worker); a multiple of BLOCK_SYNAPSES.
DEFAULT_CHUNK_SYNAPSES = 16384


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
                  t_end_s: float | None = None, cells_per_line: int | None = None,
                  seed: int | None = None, kernels: str = "auto") -> FastResult:
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
    seed : stochastic mode (:mod:`lim_hw.fast.stochastic`): every window's and every free
        decay's electrons are Poisson counts, drawn with this seed (same result for any
        chunking or thread count); ``None`` (default) is the deterministic model.
        The card's ``[simulation] stochastic = true`` uses its ``seed`` when this is ``None``.
    kernels : ``"auto"`` (default): the fused numba kernels for rectangular pulses under any FN law,
        deterministic; the numpy kernels for ramped pulses and the stochastic mode. ``"numpy"``:
        the numpy kernels always (the reference the numba kernels are tested against; ~10-30x
        slower). ``info["kernels"]`` says which ran.
    """
    t_wall = time.perf_counter()
    if keep not in ("summary", "per_cell"):
        raise InputError(f"keep = {keep!r} must be 'summary' or 'per_cell'")
    if kernels not in ("auto", "numpy"):
        raise InputError(f"kernels = {kernels!r} must be 'auto' or 'numpy'")
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

    if seed is None and getattr(card.simulation, "stochastic", False):
        seed = card.simulation.seed
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise InputError(f"seed = {seed!r} must be a whole number >= 0")
    tox, area = _mismatch_arrays(mismatch, card, n_cells)
    theory = _theory_columns(card, table, U)
    k1_all, k2_all = cell_k_constants(card, card.device.tox_m if tox is None else tox,
                                      card.device.area_m2 if area is None else area)
    plan = _Plan(card=card, n_syn=S, t_s=t_s, t_end_s=t_end, amp_kind=amp_kind, amp_table=amp_table,
                 amp_array=amp_array, amp_callable=amp_callable, tox=tox, area=area,
                 ref_beyond=np.nan_to_num(theory["ref"]), k1_max=float(np.max(k1_all)),
                 k2_min=float(np.min(k2_all)), seed=None if seed is None else int(seed),
                 numpy_kernels=kernels == "numpy")

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
            "driver_tau_s": drive.tau_s, "driver_rho": drive.rho,
            "kernels": "numpy" if uses_numpy_path(plan) else "numba", "stochastic": seed is not None, **({"seed": int(seed)} if seed is not None else {})}
    if prog.shape == "ramped":
        info.update(ramp_max_panels=stats.max_panels, ramp_max_picard_iterations=stats.max_iterations,
                    ramp_unconverged=stats.unconverged)
    return FastResult(updates=updates, V_ox_final_V=V_out, shape=shape, t_end_s=t_end, dV_fg_V=dV_out, info=info)
