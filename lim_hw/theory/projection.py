"""Brain-scale training-energy projections: LIM versus Landauer versus conventional.

RECONSTRUCTION. arXiv:2402.14878 (Chen, Leugering, Cauwenberghs &
Chakrabartty, 2024; full text not available here) projects the LIM lower bound
for a brain-scale model (1e15 parameters, ~1e28 operations) at 1e8 - 1e9 J,
"on the same magnitude as" Landauer's bound and 6-7 orders of magnitude below
state-of-the-art accelerators (~1e17 J). We rebuild two projections:

1. compute x precision x per-bit energy: ``E = N_ops * bits * E_bit`` with
   ``E_bit = kT ln 2`` (Landauer; 2.87e-21 J at 300 K) by default. At 1e28
   operations and 8-32 bits this gives 2.30e8 - 9.19e8 J.
2. model size x schedule: ``E = N_params * sum_n E_diss_n`` (LIM_A per update,
   Performance Walls Eqs. 4-6 and Sec. III), with ``N_ops / N_params`` updates
   per parameter by default (1e13). Long schedules are summed exactly up to
   ``n_exact`` updates and by quadrature of the (smooth) analytic schedule
   beyond (:func:`long_schedule_sums`). For the default inverse schedule
   (eps_n = 0.5/n, alpha = 0.5, g = 1) this gives ~5.7e8 J.

The conventional figure is ``N_ops * E_op`` (10 pJ/op -> 1e17 J; 0.1-1 pJ/op ->
1e15 - 1e16 J).

Premises (docs/theory.md s.8, s.11). Every row of :func:`brain_scale_table` carries its
``premise``; the ASSUMED quantities are N_params = 1e15 and N_ops = 1e28 (brain scale,
from the paper's abstract), the precision (8-32 bits), the per-bit energy of the compute
estimate (kT ln 2 by default -- **the "LIM compute" row then equals the Landauer row by
construction**, not by any property of LIM hardware; ``E_bit_J`` changes it), the
updates per parameter of the schedule estimate (``N_ops/N_params`` = 1e13 by default)
and its schedule. The two LIM estimates are independent: the schedule estimate grows
like ``kT (alpha ln n - ln 2)`` per update (~0.5 ln n kT for alpha = 0.5), so it agrees
with the compute figure (bits x ln 2 kT per operation) only near the default 1e13
updates per parameter; :func:`brain_scale_summary` reports both and their ratio.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..constants import kT_J
from ..errors import InputError
from .lim import feasible_barrier, gradient_energy_J
from .schedules import ScheduleSpec, eps_at, update_rate_schedule_per_s
from .table import _check_T, bound_table

__all__ = ["DEFAULTS", "landauer_bit_J", "bits_range", "compute_projection_J",
           "conventional_projection_J", "long_schedule_sums", "schedule_projection",
           "brain_scale_table", "brain_scale_summary"]

#: Defaults of the brain-scale projection.
DEFAULTS = {
    "n_params": 1e15,
    "n_ops": 1e28,
    "bits_min": 8,
    "bits_max": 32,
    "T_K": 300.0,
    "pJ_per_op": (10.0, 1.0, 0.1),
    "R_max_per_s": 1e6,
}


def _pos(name: str, x: Any) -> float:
    if isinstance(x, bool):
        raise InputError(f"{name} must be a number, got {x!r}")
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {x!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise InputError(f"{name} is {x!r}; give a finite number > 0")
    return v


def landauer_bit_J(T_K: float = 300.0) -> float:
    """Landauer's limit ``kT ln 2`` per bit (J): 2.87e-21 J at 300 K."""
    return kT_J(_check_T(T_K)) * math.log(2.0)


def bits_range(bits_min: int = 8, bits_max: int = 32) -> list[int]:
    """Precisions to tabulate: ``bits_min``, the powers of two strictly between, ``bits_max``."""
    for name, b in (("bits_min", bits_min), ("bits_max", bits_max)):
        if isinstance(b, bool) or not float(b).is_integer() or b < 1:
            raise InputError(f"{name} is {b!r}; give a whole number of bits >= 1")
    lo, hi = int(bits_min), int(bits_max)
    if lo > hi:
        raise InputError(f"bits_min ({lo}) is above bits_max ({hi}); swap them")
    out = {lo, hi}
    p = 1
    while p < hi:
        if p > lo:
            out.add(p)
        p *= 2
    return sorted(out)


def compute_projection_J(n_ops: float = 1e28, bits: Any = 8, E_bit_J: float | None = None,
                         T_K: float = 300.0) -> Any:
    """Compute x precision x per-bit energy: ``N_ops * bits * E_bit`` (J); ``E_bit`` defaults to kT ln 2."""
    n_ops = _pos("n_ops", n_ops)
    E_bit = landauer_bit_J(T_K) if E_bit_J is None else _pos("E_bit_J", E_bit_J)
    b = np.asarray(bits, dtype=float)
    out = n_ops * b * E_bit
    return float(out) if out.ndim == 0 else out


def conventional_projection_J(n_ops: float = 1e28, pJ_per_op: Any = 10.0) -> Any:
    """Conventional hardware: ``N_ops * E_op`` (J), ``E_op`` in pJ per operation."""
    n_ops = _pos("n_ops", n_ops)
    e = np.asarray(pJ_per_op, dtype=float)
    if not np.all(np.isfinite(e) & (e > 0)):
        raise InputError(f"pJ_per_op is {pJ_per_op!r}; give energies per operation > 0 pJ")
    out = n_ops * e * 1e-12
    return float(out) if out.ndim == 0 else out


# ------------------------------------------------------------- long schedules
def _step_quantities(spec: ScheduleSpec, n: np.ndarray, R_max: float, T: float) -> dict:
    """Per-update E0, |dE|, E_diss, 1/R, infeasible indicator at (real) n (LIM_A)."""
    eps = eps_at(spec, n)
    if not np.all(eps > 0):
        bad = n[~(eps > 0)][0]
        raise InputError(f"the {spec.kind} schedule's eps underflows to 0 at n ~ {bad:.3g}; "
                         f"use fewer updates or a slower-decaying schedule")
    R = update_rate_schedule_per_s(eps, R_max, spec.alpha)
    if not np.all(R > 0):
        bad = n[~(R > 0)][0]
        raise InputError(f"the update rate underflows to 0 at n ~ {bad:.3g}; use fewer updates")
    E0, feasible, _ = feasible_barrier(R, R_max, eps, spec.grad, T)
    dE = np.abs(np.asarray(gradient_energy_J(eps, spec.grad, T)))
    return {"E0_J": E0, "dE_J": dE, "E_diss_J": E0 + dE, "inv_R_s": 1.0 / R,
            "infeasible": (~np.asarray(feasible)).astype(float)}


_KEYS = ("E0_J", "dE_J", "E_diss_J", "inv_R_s", "infeasible")


def long_schedule_sums(spec: ScheduleSpec, R_max_per_s: float, T_K: float = 300.0,
                       n_updates: float | None = None, n_exact: int = 1_000_000) -> dict:
    """Per-parameter LIM_A sums over a possibly huge number of updates.

    Exact (enumerated) for ``n <= n_exact``; beyond, the sum over integers is
    replaced by the integral over ``[n_exact + 1/2, N + 1/2]`` (midpoint rule,
    error ~ f''/24 per update, negligible for these slowly varying summands),
    done by 16-point Gauss-Legendre on panels of width 0.25 in ``ln n``.
    Returns ``E0_total_J, dE_total_J, E_diss_total_J, time_budget_s,
    n_infeasible`` (rounded), ``n_updates``, ``n_exact_used`` and ``method``.
    """
    T = _check_T(T_K)
    R_max = _pos("R_max_per_s", R_max_per_s)
    N = spec.n_updates if n_updates is None else n_updates
    if isinstance(N, bool) or not (math.isfinite(float(N)) and float(N) >= 0):
        raise InputError(f"n_updates is {N!r}; give a number of updates >= 0")
    N = float(N)
    if not N.is_integer():
        N = math.floor(N)
    if spec.kind == "table":
        if N != spec.n_updates:
            raise InputError("a 'table' schedule has exactly its rows as updates; drop n_updates")
        df = bound_table(spec, R_max, T)
        return {"n_updates": float(len(df)), "n_exact_used": len(df), "method": "exact",
                "E0_total_J": float(df["E0_J"].sum()), "dE_total_J": float(df["dE_J"].abs().sum()),
                "E_diss_total_J": float(df["E_diss_J"].sum()),
                "time_budget_s": float((1.0 / df["R_per_s"]).sum()),
                "n_infeasible": float((~df["feasible"]).sum())}
    n_exact = int(n_exact)
    n_ex = int(min(N, n_exact))
    tot = dict.fromkeys(_KEYS, 0.0)
    chunk = 1 << 20
    for start in range(1, n_ex + 1, chunk):
        n = np.arange(start, min(start + chunk, n_ex + 1), dtype=float)
        q = _step_quantities(spec, n, R_max, T)
        for k in _KEYS:
            tot[k] += float(np.sum(q[k]))
    method = "exact"
    if N > n_ex:
        method = "exact+quadrature"
        u0, u1 = math.log(n_ex + 0.5), math.log(N + 0.5)
        n_panels = max(1, math.ceil((u1 - u0) / 0.25))
        xg, wg = np.polynomial.legendre.leggauss(16)
        edges = np.linspace(u0, u1, n_panels + 1)
        half = 0.5 * np.diff(edges)
        mid = 0.5 * (edges[1:] + edges[:-1])
        u = (mid[:, None] + half[:, None] * xg[None, :]).ravel()
        w = (half[:, None] * wg[None, :]).ravel()
        x = np.exp(u)
        q = _step_quantities(spec, x, R_max, T)
        for k in _KEYS:
            tot[k] += float(np.sum(w * x * q[k]))
    return {"n_updates": N, "n_exact_used": n_ex, "method": method,
            "E0_total_J": tot["E0_J"], "dE_total_J": tot["dE_J"],
            "E_diss_total_J": tot["E_diss_J"], "time_budget_s": tot["inv_R_s"],
            "n_infeasible": float(round(tot["infeasible"]))}


def schedule_projection(spec: ScheduleSpec | None = None, n_params: float = 1e15,
                        n_updates: float | None = None, n_ops: float = 1e28,
                        R_max_per_s: float = 1e6, T_K: float = 300.0,
                        n_exact: int = 1_000_000) -> dict:
    """Model size x schedule: ``N_params * sum_n E_diss_n`` (J), LIM_A (RECONSTRUCTION).

    ``n_updates`` (per parameter) defaults to ``N_ops / N_params``. Returns the
    :func:`long_schedule_sums` keys (per parameter) plus ``n_params`` and
    ``E_model_J``.
    """
    spec = ScheduleSpec() if spec is None else spec
    n_params = _pos("n_params", n_params)
    if n_updates is None:
        n_updates = math.floor(_pos("n_ops", n_ops) / n_params)
    sums = long_schedule_sums(spec, R_max_per_s, T_K, n_updates, n_exact)
    sums.update({"n_params": n_params, "E_model_J": n_params * sums["E_diss_total_J"]})
    return sums


def brain_scale_table(n_params: float = 1e15, n_ops: float = 1e28, bits_min: int = 8,
                      bits_max: int = 32, T_K: float = 300.0,
                      pJ_per_op: Sequence[float] = (10.0, 1.0, 0.1),
                      E_bit_J: float | None = None, spec: ScheduleSpec | None = None,
                      R_max_per_s: float = 1e6, updates_per_param: float | None = None,
                      n_exact: int = 1_000_000) -> pd.DataFrame:
    """Brain-scale projection table (RECONSTRUCTION of arXiv:2402.14878's projections).

    One row per estimate, columns ``estimate, bits, count, per_unit_J, E_J,
    ratio_to_LIM, premise`` (``premise`` says which inputs are ASSUMED and, for the
    default per-bit energy, that the LIM compute row equals Landauer by construction): LIM compute x precision x per-bit energy (one row per
    precision; ``E_bit`` defaults to kT ln 2), Landauer ``N_ops * bits * kT ln 2``,
    LIM model size x schedule (bits not applicable, NaN), and conventional
    ``N_ops * E_op`` for each ``pJ_per_op``. ``ratio_to_LIM`` divides by the
    smallest LIM compute figure.
    """
    T = _check_T(T_K)
    bits = bits_range(bits_min, bits_max)
    kln2 = landauer_bit_J(T)
    E_bit = kln2 if E_bit_J is None else _pos("E_bit_J", E_bit_J)
    spec_used = ScheduleSpec() if spec is None else spec
    ebit_premise = ("ASSUMED per-bit energy E_bit = kT ln 2 (default): equal to the Landauer row BY CONSTRUCTION"
                    if E_bit_J is None else f"ASSUMED per-bit energy E_bit = {E_bit:.4g} J")
    ops_premise = f"ASSUMED N_ops = {float(n_ops):.3g} and precision (bits)"
    rows = []
    for b in bits:
        rows.append(("LIM: ops x bits x E_bit", b, float(n_ops), b * E_bit,
                     compute_projection_J(n_ops, b, E_bit, T), f"{ebit_premise}; {ops_premise}"))
    for b in bits:
        rows.append(("Landauer: ops x bits x kT ln 2", b, float(n_ops), b * kln2,
                     compute_projection_J(n_ops, b, kln2, T), f"reference kT ln 2 per bit at {T:g} K; {ops_premise}"))
    sp = schedule_projection(spec, n_params, updates_per_param, n_ops, R_max_per_s, T, n_exact)
    sched_premise = (f"ASSUMED N_params = {float(n_params):.3g}, {sp['n_updates']:.3g} updates per parameter"
                     + (" (= N_ops/N_params)" if updates_per_param is None else "")
                     + f", {spec_used.kind} schedule eps0 = {spec_used.eps0:g}, alpha = {spec_used.alpha:g}, "
                       f"g = {spec_used.grad:g}; per update E0 + |dE| (PW Eqs. 4-6), E0 ~ kT (alpha ln n - ln 2)")
    rows.append(("LIM: params x schedule (LIM_A)", float("nan"), float(n_params),
                 sp["E_diss_total_J"], sp["E_model_J"], sched_premise))
    for e in pJ_per_op:
        rows.append((f"conventional: ops x {e:g} pJ/op", float("nan"), float(n_ops), float(e) * 1e-12,
                     conventional_projection_J(n_ops, e), f"ASSUMED {e:g} pJ per operation and N_ops = {float(n_ops):.3g}"))
    df = pd.DataFrame([r[:5] for r in rows], columns=["estimate", "bits", "count", "per_unit_J", "E_J"])
    lim_min = min(r[4] for r in rows[: len(bits)])
    df["ratio_to_LIM"] = df["E_J"] / lim_min
    df["premise"] = [r[5] for r in rows]
    df.attrs["E_bit_assumed_kT_ln2"] = E_bit_J is None
    df.attrs["updates_per_param"] = sp["n_updates"]
    df.attrs["T_K"] = T
    return df


def brain_scale_summary(df: pd.DataFrame) -> dict:
    """Headline numbers of a :func:`brain_scale_table`: LIM range, schedule figure,
    conventional figures and the gap in orders of magnitude."""
    lim = df[df["estimate"].str.startswith("LIM: ops")]["E_J"]
    sched = df[df["estimate"].str.startswith("LIM: params")]["E_J"]
    conv = df[df["estimate"].str.startswith("conventional")]
    land = df[df["estimate"].str.startswith("Landauer")]["E_J"]
    out = {
        "LIM_compute_min_J": float(lim.min()),
        "LIM_compute_max_J": float(lim.max()),
        "LIM_schedule_J": float(sched.iloc[0]) if len(sched) else None,
        "conventional_J": {str(k): float(v) for k, v in zip(conv["estimate"], conv["E_J"])},
    }
    # the two LIM estimates side by side, with what each rests on (docs/theory.md s.11)
    same = bool(len(lim) == len(land) and np.allclose(lim.to_numpy(), land.to_numpy(), rtol=1e-12, atol=0))
    out["LIM_compute_equals_Landauer"] = same
    out["LIM_compute_equals_Landauer_by_construction"] = bool(df.attrs.get("E_bit_assumed_kT_ln2", same))
    if len(sched):
        out["schedule_over_compute_min"] = out["LIM_schedule_J"] / out["LIM_compute_min_J"]
        out["schedule_over_compute_max"] = out["LIM_schedule_J"] / out["LIM_compute_max_J"]
    n_upd = df.attrs.get("updates_per_param")
    T = df.attrs.get("T_K")
    if n_upd and T and len(sched):
        n_par = float(df[df["estimate"].str.startswith("LIM: params")]["count"].iloc[0])
        out["schedule_energy_per_update_kT"] = out["LIM_schedule_J"] / (n_par * n_upd * kT_J(T))
    out["assumptions"] = {
        "ASSUMED": ["N_params (brain scale, 1e15 by default)", "N_ops (1e28 by default)", "precision (bits)",
                    "per-bit energy of the compute estimate (kT ln 2 by default)",
                    "updates per parameter of the schedule estimate (N_ops/N_params by default)",
                    "the learning-rate schedule and alpha of the schedule estimate",
                    "conventional energy per operation"],
        "premises": {str(e): str(p) for e, p in zip(df["estimate"], df["premise"])} if "premise" in df else {},
        "note": ("the compute estimate (bits x E_bit per operation) and the schedule estimate (sum of "
                 "E0 + |dE| per update, ~(alpha ln n - ln 2) kT each) rest on different premises; they agree "
                 "only near the default updates per parameter"),
    }
    # orders of magnitude between each conventional figure and the LIM range: [vs max, vs min]
    out["orders_of_magnitude_gap"] = {
        str(k): [math.log10(float(v) / out["LIM_compute_max_J"]),
                 math.log10(float(v) / out["LIM_compute_min_J"])]
        for k, v in zip(conv["estimate"], conv["E_J"])}
    return out
