"""The energy-per-update schedule optimiser, and the import path of the whole co-design pulse model.

The pulse model lives in sibling modules, one job each; their public names are
re-exported here, so ``from lim_hw.codesign.optimize import ...`` keeps working:

- :mod:`lim_hw.codesign.pulse_model` (part 1): one programming pulse in closed
  form -- trajectory, charge, tunnelling energy, drawn and net source energy
  (theory.md s.5-s.8), and the amplitude that moves a target charge;
- :mod:`lim_hw.codesign.schedule`: a schedule replayed update after update,
  designs (one pulse shape, one amplitude per update) and their per-update
  evaluation against the targets and the LIM bound;
- :mod:`lim_hw.codesign.ngspice_check`: a design's exact pulses re-simulated in
  ngspice and compared with the model.

Part 2 -- :func:`optimize_schedule`: choose one pulse width and ramp time for
the card and one amplitude per update that minimise the mean energy per update
``E_net + (1 - eta) (E_drawn - E_net)`` (``eta`` = energy-recovery efficiency
of the driver; 0 = conventional CMOS driver = drawn energy) subject to
``|N_sim / N_target - 1| <= tol`` for every update in this model.
scipy's SLSQP solves it with explicit inequality constraints, started from the
best point of a coarse (width, ramp) grid; the result is verified by an exact
sequential re-evaluation and never returned if it violates the tolerance
(fallback: the best verified grid design; if none is feasible,
:class:`~lim_hw.errors.InputError`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from ..device.card import Card
from ..errors import InputError
from ..netlist.generate import MIN_RISE_PER_STOP  # ngspice's limit on edges (its designs are re-simulated)
# the model's public names (and CHECK_COLUMNS, EVAL_COLUMNS) are re-exported: this is their old import path
from .ngspice_check import (CHECK_COLUMNS, design_card, design_table, ngspice_check_design,  # noqa: F401
                            ngspice_window)
from .pulse_model import (V_P_MAX_V, CellModel, PulseEval, PulseTiming, driver_loss_J, natural_drop_V, pulse_eval,
                          solve_amplitudes)
from .schedule import (EVAL_COLUMNS, Design, ScheduleEval, check_design, design_from_card,  # noqa: F401
                       evaluate_design, run_schedule, schedule_targets, solve_schedule)

__all__ = [
    "V_P_MAX_V", "CellModel", "PulseTiming", "PulseEval", "pulse_eval", "solve_amplitudes",
    "natural_drop_V", "driver_loss_J", "ScheduleEval", "run_schedule", "solve_schedule",
    "Design", "OptimizeResult", "schedule_targets", "design_from_card", "evaluate_design", "check_design",
    "optimize_schedule", "design_card", "design_table", "ngspice_window", "ngspice_check_design",
    "write_optimize_outputs",
]


@dataclass
class OptimizeResult:
    """Outcome of :func:`optimize_schedule` (designs, their per-update tables, and a summary)."""

    card: Card
    targets: pd.DataFrame
    baseline: Design
    optimized: Design
    baseline_eval: pd.DataFrame
    optimized_eval: pd.DataFrame
    summary: dict[str, Any]
    grid: pd.DataFrame = field(default_factory=pd.DataFrame)


def _bounds(card: Card, width_bounds_s, rise_bounds_s, window_fill: float) -> tuple[float, float, float, float, float]:
    p = card.programming
    settle = CellModel.from_card(card).settle_s
    window_max = window_fill * p.period_s
    if window_max >= p.period_s - settle:
        window_max = p.period_s - 2.0 * settle
    w_lo, w_hi = width_bounds_s if width_bounds_s is not None else (1e-4, window_max)
    # ngspice cannot resolve edges shorter than ~1.5e-13 x the run length (lim_hw.device.card)
    r_min = max(1e-9, 1.01 * MIN_RISE_PER_STOP * card.stop_time_s)
    r_lo, r_hi = rise_bounds_s if rise_bounds_s is not None else (r_min, max(r_min, min(1e-2, 0.05 * window_max)))
    for name, lo, hi in (("pulse width", w_lo, w_hi), ("ramp time", r_lo, r_hi)):
        if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo <= hi):
            raise InputError(f"{name} bounds [{lo:g}, {hi:g}] s are not an interval of positive times")
    if w_lo + 2 * r_lo > window_max:
        raise InputError(f"the shortest pulse window ({w_lo + 2 * r_lo:g} s) does not fit in "
                         f"{window_max:g} s of the update period; shorten the pulse bounds or lengthen period_s")
    return w_lo, min(w_hi, window_max), r_lo, r_hi, window_max


def optimize_schedule(card: Card, tol: float = 0.01, eta: float = 0.0, *, shape: str = "ramped",
                      width_bounds_s: tuple[float, float] | None = None,
                      rise_bounds_s: tuple[float, float] | None = None, window_fill: float = 0.5,
                      grid: tuple[int, int] = (9, 5), margin: float = 0.1, maxiter: int = 100) -> OptimizeResult:
    """Minimise the mean energy per update of ``card``'s schedule under a tracking constraint.

    Decision variables: pulse width ``w`` and ramp time ``r`` (common to all
    updates; ``shape`` is ``ramped`` (linear edges, adiabatic when slow) or
    ``rectangular``) and one amplitude ``V_p,n`` per update. Objective: mean of
    ``E_net + (1 - eta)(E_drawn - E_net)`` (``eta = 0``: drawn energy, a CMOS
    driver; ``eta = 1``: net energy, ideal recovery). Constraints (SLSQP,
    explicit): ``(1 - tol') <= N_sim,n / N_target,n <= 1 + tol'`` for every n
    with ``tol' = (1 - margin) tol`` (a safety margin), ``w + 2 r <= window_fill
    * period_s``, and bounds on ``w``, ``r`` and ``0 <= V_p <= 20 V``.
    The returned design is re-evaluated exactly and must satisfy
    ``|N_sim/N_target - 1| <= tol``; otherwise the best verified grid design is
    returned, and if there is none :class:`InputError` is raised.
    """
    if not (isinstance(tol, (int, float)) and math.isfinite(tol) and 0 < tol < 0.5):
        raise InputError(f"tracking tolerance {tol!r} must lie in (0, 0.5); e.g. 0.01 for +-1 %")
    if not (isinstance(eta, (int, float)) and 0.0 <= eta <= 1.0):
        raise InputError(f"recovery efficiency eta = {eta!r} must lie in [0, 1]")
    if not (0.0 <= margin < 1.0):
        raise InputError(f"margin {margin!r} must lie in [0, 1)")
    if shape not in ("ramped", "rectangular"):
        raise InputError(f"shape {shape!r} is not ramped or rectangular")
    t_start = time.perf_counter()
    tg = schedule_targets(card)
    cell = CellModel.from_card(card)
    V0 = card.device.V0_V
    t_s = tg["t_s"].to_numpy()
    N_t = tg["N_target"].to_numpy()
    n_up = len(N_t)
    w_lo, w_hi, r_lo, r_hi, window_max = _bounds(card, width_bounds_s, rise_bounds_s, window_fill)
    if shape == "rectangular":
        r_lo = r_hi = card.programming.rise_s if r_lo <= card.programming.rise_s <= r_hi else r_lo
    tol_in = (1.0 - margin) * tol

    baseline = design_from_card(card, tg, label="card")
    base_eval = evaluate_design(card, baseline, tg, eta)
    E_scale = float(base_eval["E_objective_J"].mean())

    # --- 1. grid over (width, rise), amplitudes solved at the lower edge of the inner tolerance
    widths = np.geomspace(w_lo, w_hi, grid[0]) if w_hi > w_lo else np.array([w_lo])
    rises = np.geomspace(r_lo, r_hi, grid[1]) if r_hi > r_lo else np.array([r_lo])
    W, R = (a.ravel() for a in np.meshgrid(widths, rises, indexing="ij"))
    fits = W + 2 * R <= window_max
    W, R = W[fits], R[fits]
    timing = PulseTiming(W, R, shape)
    amps = solve_schedule(cell, timing, V0, t_s, N_t[:, None] * (1.0 - tol_in), strict=False)
    ok_grid = np.all(np.isfinite(amps), axis=0)
    ev = run_schedule(cell, timing, V0, t_s, np.nan_to_num(amps))
    obj = np.where(ok_grid, ev.objective_J(eta).mean(axis=0), np.inf)
    grid_df = pd.DataFrame({"pulse_width_s": W, "rise_s": R, "feasible": ok_grid,
                            "E_objective_mean_J": np.where(ok_grid, obj, np.nan)})
    if not ok_grid.any():
        raise InputError("no pulse in the search range reaches the schedule's targets below "
                         f"{V_P_MAX_V:g} V; widen the pulse-width bounds or lower the targets")
    order = np.argsort(obj)
    best_grid = None
    for j in order[:5]:
        d = Design(shape, float(W[j]), float(R[j]), amps[:, j].copy(), label="grid")
        if check_design(card, d, tol, tg, window_max)[0]:
            best_grid = d
            break
    if best_grid is None:
        raise InputError("the optimiser found no design that meets the tracking tolerance; "
                         "loosen tol or widen the bounds")

    # --- 2. SLSQP polish with explicit constraints, variables z = [ln w, ln r, ln V_p...]
    lw_b = (math.log(w_lo), math.log(w_hi))
    lr_b = (math.log(r_lo), math.log(r_hi))
    z0 = np.concatenate(([math.log(best_grid.width_s), math.log(best_grid.rise_s)],
                         np.log(np.maximum(best_grid.V_p_V, 1e-6))))
    h = 1e-7
    cache: dict[bytes, tuple[np.ndarray, ...]] = {}

    def batch(z: np.ndarray):
        key = z.tobytes()
        if key in cache:
            return cache[key]
        Z = np.repeat(z[:, None], len(z) + 1, axis=1)
        Z[np.arange(len(z)), np.arange(1, len(z) + 1)] += h
        tim = PulseTiming(np.exp(Z[0]), np.exp(Z[1]), shape)
        res = run_schedule(cell, tim, V0, t_s, np.exp(Z[2:]))
        objv = res.objective_J(eta).mean(axis=0) / E_scale
        ratio = res.N_sim / N_t[:, None]
        window = np.exp(Z[0]) + 2 * np.exp(Z[1])
        out = (objv, ratio, window)
        if len(cache) > 64:
            cache.clear()
        cache[key] = out
        return out

    def fun(z):
        return batch(z)[0][0]

    def jac(z):
        o = batch(z)[0]
        return (o[1:] - o[0]) / h

    def cons(z):
        _, ratio, window = batch(z)
        r = ratio[:, 0]
        return np.concatenate((r - (1 - tol_in), (1 + tol_in) - r, [1.0 - window[0] / window_max]))

    def cons_jac(z):
        _, ratio, window = batch(z)
        dr = (ratio[:, 1:] - ratio[:, :1]) / h
        dwin = -(window[1:] - window[0]) / h / window_max
        return np.vstack((dr, -dr, dwin[None, :]))

    bounds = [lw_b, lr_b] + [(math.log(1e-6), math.log(V_P_MAX_V))] * n_up
    slsqp_info: dict[str, Any]
    try:
        with np.errstate(all="ignore"):
            sol = minimize(fun, z0, jac=jac, method="SLSQP", bounds=bounds,
                           constraints=[{"type": "ineq", "fun": cons, "jac": cons_jac}],
                           options={"maxiter": maxiter, "ftol": 1e-10})
        slsqp_info = {"success": bool(sol.success), "status": int(sol.status), "message": str(sol.message),
                      "nit": int(getattr(sol, "nit", 0)), "objective_rel": float(sol.fun)}
        cand = Design(shape, float(np.exp(sol.x[0])), float(np.exp(sol.x[1])), np.exp(sol.x[2:]), "optimized")
    except (ValueError, FloatingPointError, np.linalg.LinAlgError) as exc:  # pragma: no cover - defensive
        slsqp_info = {"success": False, "status": -1, "message": f"{type(exc).__name__}: {exc}", "nit": 0}
        cand = None

    # --- 3. verify; never return a design that violates the tolerance
    method = "slsqp"
    ok = False
    if cand is not None:
        ok, err, why = check_design(card, cand, tol, tg, window_max)
        slsqp_info["verified"] = ok
        slsqp_info["verify_note"] = why
        if ok:
            obj_c = float(evaluate_design(card, cand, tg, eta)["E_objective_J"].mean())
            obj_g = float(evaluate_design(card, best_grid, tg, eta)["E_objective_J"].mean())
            if obj_c > obj_g:
                ok = False
                slsqp_info["verify_note"] = "SLSQP result worse than the grid start"
    if not ok:
        method = "grid"
        cand = best_grid
    final = replace(cand, label="optimized")
    ok, err, why = check_design(card, final, tol, tg, window_max)
    if not ok:  # pragma: no cover - both paths were verified above
        raise InputError(f"optimised design failed verification ({why}); loosen tol")
    opt_eval = evaluate_design(card, final, tg, eta)
    summary = _summary(card, baseline, final, base_eval, opt_eval, tol, eta, method, slsqp_info,
                       window_max, (w_lo, w_hi), (r_lo, r_hi), margin)
    summary["optimizer_wall_s"] = time.perf_counter() - t_start
    return OptimizeResult(card, tg, baseline, final, base_eval, opt_eval, summary, grid_df)


def _means(df: pd.DataFrame) -> dict[str, float]:
    cols = ("E_drawn_J", "E_net_J", "E_tunnel_J", "E_drv_cap_J", "E_drv_res_J", "E_bias_cap_J", "E_bias_fn_J",
            "E_drv_fn_J", "E_objective_J", "E_tunnel_floor_J", "E_bound_J", "E_landauer_J")
    return {f"{c[:-2]}_mean_J": float(df[c].mean()) for c in cols}


def _summary(card, baseline, final, base_eval, opt_eval, tol, eta, method, slsqp, window_max, wb, rb, margin):
    b, o = _means(base_eval), _means(opt_eval)
    E_b, E_o, E_bd = b["E_objective_mean_J"], o["E_objective_mean_J"], o["E_bound_mean_J"]
    gap_closed = math.log(E_b / E_o) / math.log(E_b / E_bd) if E_b > E_bd and E_o > 0 else math.nan
    rest = o["E_drawn_mean_J"]
    breakdown = {
        "driver_capacitive_CV2_over_2": o["E_drv_cap_mean_J"],
        "driver_resistive_rising_edge": o["E_drv_res_mean_J"],
        "bias_capacitive_Cj": o["E_bias_cap_mean_J"],
        "bias_tunnelling_charge": o["E_bias_fn_mean_J"],
        "driver_hold_during_tunnelling": o["E_drv_fn_mean_J"],
        "of_which_tunnelling_dissipation": o["E_tunnel_mean_J"],
        "tunnelling_floor_N_q_Vox": o["E_tunnel_floor_mean_J"],
        "lim_bound": E_bd,
        "landauer_bits_kT_ln2": o["E_landauer_mean_J"],
    }
    return {
        "card": card.name, "n_updates": int(len(opt_eval)), "tol": tol, "margin": margin, "eta_recovery": eta,
        "objective": "drawn" if eta == 0 else ("net" if eta == 1 else f"net + {1 - eta:g} x recoverable"),
        "method": method, "slsqp": slsqp,
        "bounds": {"pulse_width_s": list(wb), "rise_s": list(rb), "window_max_s": window_max},
        "baseline": {**baseline.to_dict(), **b,
                     "tracking_error_max_abs": float(base_eval["tracking_error"].abs().max())},
        "optimized": {**final.to_dict(), **o,
                      "tracking_error_max_abs": float(opt_eval["tracking_error"].abs().max())},
        "gain_objective": E_b / E_o if E_o > 0 else math.inf,
        "gain_drawn": b["E_drawn_mean_J"] / o["E_drawn_mean_J"],
        "gain_net": b["E_net_mean_J"] / o["E_net_mean_J"],
        "ratio_to_bound_before": E_b / E_bd, "ratio_to_bound_after": E_o / E_bd,
        "gap_closed_log_fraction": gap_closed,
        "breakdown_after_mean_J": breakdown,
        "breakdown_after_share_of_drawn": {k: v / rest for k, v in breakdown.items()
                                           if k not in ("lim_bound", "landauer_bits_kT_ln2",
                                                        "tunnelling_floor_N_q_Vox")},
    }


# =============================================================================== outputs
def write_optimize_outputs(result: OptimizeResult, out_dir: str | Path,
                           check: tuple[pd.DataFrame, dict[str, Any]] | None = None,
                           check_before: tuple[pd.DataFrame, dict[str, Any]] | None = None) -> list[str]:
    """Write an optimisation into ``out_dir`` atomically; ``check``: ngspice comparison of the optimised design."""
    from ..device.card import card_to_toml
    from ..outputs import atomic_directory, write_csv_atomic, write_json_atomic, write_text_atomic
    from ..provenance import versions
    from .plots import plot_optimization
    from .train import _jsonable

    summary = {**result.summary, "versions": versions()}
    if check is not None:
        summary["ngspice_check_optimized"] = check[1]
    if check_before is not None:
        summary["ngspice_check_card"] = check_before[1]
    opt_card = design_card(result.card, result.optimized)
    files = ["updates_card.csv", "updates_optimized.csv", "pulses_optimized.csv", "grid.csv", "summary.json",
             "card_optimized.toml", "optimize.png"]
    with atomic_directory(out_dir, kind="optimize") as tmp:
        write_csv_atomic(tmp / "updates_card.csv", result.baseline_eval)
        write_csv_atomic(tmp / "updates_optimized.csv", result.optimized_eval)
        write_csv_atomic(tmp / "pulses_optimized.csv", design_table(result.card, result.optimized, result.targets))
        write_csv_atomic(tmp / "grid.csv", result.grid)
        if check is not None:
            write_csv_atomic(tmp / "ngspice_check.csv", check[0])
            files.append("ngspice_check.csv")
        if check_before is not None:
            write_csv_atomic(tmp / "ngspice_check_card.csv", check_before[0])
            files.append("ngspice_check_card.csv")
        write_json_atomic(tmp / "summary.json", _jsonable(summary))
        write_text_atomic(tmp / "card_optimized.toml", card_to_toml(
            opt_card, header=(f"card '{result.card.name}' with the optimised pulse shape (lim-hw optimize); "
                              "the per-update amplitudes are in pulses_optimized.csv")))
        plot_optimization(result.baseline_eval, result.optimized_eval, result.summary, tmp / "optimize.png",
                          check[0] if check is not None else None)
    return files
