"""A card's schedule as a sequence of pulses on one cell: exact replay, amplitudes, designs.

Built on the closed-form pulse model (:mod:`lim_hw.codesign.pulse_model`):
:func:`run_schedule` replays a sequence of updates (free decay between pulse
windows, as :func:`lim_hw.netlist.synthesis.synthesize`), :func:`solve_schedule`
finds the amplitudes that hit each update's target, :class:`Design` is one
pulse shape with one amplitude per update, and :func:`evaluate_design` /
:func:`check_design` tabulate and verify a design against the schedule's
targets (:func:`schedule_targets`, theory.md s.7) and the LIM bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..constants import kT_J, q_C
from ..device.card import Card
from ..errors import InputError
from ..theory.table import bound_table
from .pulse_model import V_P_MAX_V, CellModel, PulseTiming, natural_drop_V, pulse_eval, solve_amplitudes

__all__ = ["ScheduleEval", "run_schedule", "solve_schedule", "Design", "schedule_targets", "design_from_card",
           "EVAL_COLUMNS", "evaluate_design", "check_design"]


# =============================================================================== schedules
@dataclass(frozen=True)
class ScheduleEval:
    """A sequence of updates on one cell per design (arrays shaped (n_updates, *batch))."""

    t_s: np.ndarray
    V_p_V: np.ndarray
    V_before_V: np.ndarray
    V_peak_V: np.ndarray
    N_sim: np.ndarray
    E_tunnel_J: np.ndarray
    E_drawn_J: np.ndarray
    E_net_J: np.ndarray
    parts: dict[str, np.ndarray]

    def objective_J(self, eta: float = 0.0) -> np.ndarray:
        return self.E_net_J + (1.0 - eta) * (self.E_drawn_J - self.E_net_J)


_PARTS = ("E_drv_cap_J", "E_drv_res_J", "E_bias_cap_J", "E_bias_fn_J", "E_drv_fn_J")


def run_schedule(cell: CellModel, timing: PulseTiming, V0_V: float, t_s: np.ndarray,
                 V_p_V: np.ndarray) -> ScheduleEval:
    """Exact sequential replay: free decay from t = 0 (V_ox = V0), a pulse at each ``t_s[n]``.

    ``V_p_V`` is (n_updates, *batch); timing fields may be batch arrays.
    Mirrors :func:`lim_hw.netlist.synthesis.synthesize`: the next decay starts at
    the end of the pulse window.
    """
    V_p_V = np.asarray(V_p_V, dtype=float)
    t_s = np.asarray(t_s, dtype=float)
    n = len(t_s)
    V = np.asarray(V0_V, dtype=float)
    t_prev = 0.0
    rows: dict[str, list] = {k: [] for k in ("V_before_V", "V_peak_V", "N_sim", "E_tunnel_J", "E_drawn_J",
                                               "E_net_J", *_PARTS)}
    window = timing.window_s
    for i in range(n):
        gap = t_s[i] - t_prev
        if np.any(np.asarray(gap) < 0):
            raise InputError("updates overlap: the pulse window is longer than the update period")
        V = V - natural_drop_V(V, gap, cell.k1_per_s, cell.k2_V, cell.law_scales)
        ev = pulse_eval(cell, timing, V, V_p_V[i])
        rows["V_before_V"].append(np.broadcast_to(V, ev.N_sim.shape))
        for k in ("V_peak_V", "N_sim", "E_tunnel_J", "E_drawn_J", "E_net_J", *_PARTS):
            rows[k].append(np.broadcast_to(getattr(ev, k), ev.N_sim.shape))
        V = ev.V_after_V
        t_prev = t_s[i] + window
    arr = {k: np.array(v) for k, v in rows.items()}
    return ScheduleEval(t_s=t_s, V_p_V=V_p_V, V_before_V=arr["V_before_V"], V_peak_V=arr["V_peak_V"],
                        N_sim=arr["N_sim"], E_tunnel_J=arr["E_tunnel_J"], E_drawn_J=arr["E_drawn_J"],
                        E_net_J=arr["E_net_J"], parts={k: arr[k] for k in _PARTS})


def solve_schedule(cell: CellModel, timing: PulseTiming, V0_V: float, t_s: np.ndarray,
                   N_target: np.ndarray, strict: bool = False) -> np.ndarray:
    """Amplitudes (n_updates, *batch) that hit ``N_target[n]`` exactly, update after update."""
    t_s = np.asarray(t_s, dtype=float)
    N_target = np.asarray(N_target, dtype=float)
    V = np.asarray(V0_V, dtype=float)
    t_prev = 0.0
    out = []
    window = timing.window_s
    for i in range(len(t_s)):
        V = V - natural_drop_V(V, t_s[i] - t_prev, cell.k1_per_s, cell.k2_V, cell.law_scales)
        Vp = solve_amplitudes(cell, timing, V, N_target[i], strict=strict)
        ev = pulse_eval(cell, timing, V, np.nan_to_num(Vp, nan=0.0))
        out.append(Vp)
        V = ev.V_after_V
        t_prev = t_s[i] + window
    return np.array(out)


# =============================================================================== designs
@dataclass(frozen=True)
class Design:
    """A programming design for a card's schedule: one pulse shape for all updates, one amplitude each."""

    shape: str
    width_s: float
    rise_s: float
    V_p_V: np.ndarray
    label: str = "design"

    def timing(self) -> PulseTiming:
        return PulseTiming(self.width_s, self.rise_s, self.shape)

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "shape": self.shape, "pulse_width_s": float(self.width_s),
                "rise_s": float(self.rise_s), "V_p_V": [float(v) for v in self.V_p_V]}


def schedule_targets(card: Card) -> pd.DataFrame:
    """The schedule of ``card`` as update targets: n, t_s, eps, grad, R_per_s, E0_J, dE_J, feasible, N_target.

    ``N_target = R_n * pulse_width_s`` of the card (theory.md s.7), held fixed
    while a design changes the pulse width: the number of transitions per
    update is the schedule, the pulse is how it is delivered.
    """
    if card.n_updates == 0:
        raise InputError("the card has no updates (schedule.n_updates = 0); give a training schedule")
    bt = bound_table(card.schedule, card.device.R_max_per_s, card.device.T_K)
    p = card.programming
    return pd.DataFrame({
        "n": bt["n"].to_numpy(), "t_s": [p.update_start_s(int(n)) for n in bt["n"]],
        "eps": bt["eps"].to_numpy(), "grad": bt["grad"].to_numpy(), "R_per_s": bt["R_per_s"].to_numpy(),
        "E0_J": bt["E0_J"].to_numpy(), "dE_J": bt["dE_J"].to_numpy(), "feasible": bt["feasible"].to_numpy(),
        "N_target": bt["R_per_s"].to_numpy() * p.pulse_width_s,
    })


def design_from_card(card: Card, targets: pd.DataFrame | None = None, label: str = "card") -> Design:
    """The card's own design (shape, width, rise) with amplitudes that hit every target exactly."""
    tg = schedule_targets(card) if targets is None else targets
    cell = CellModel.from_card(card)
    timing = PulseTiming.from_card(card)
    amps = solve_schedule(cell, timing, card.device.V0_V, tg["t_s"].to_numpy(), tg["N_target"].to_numpy(),
                          strict=True)
    return Design(timing.shape, float(timing.width_s), float(timing.rise_s), np.asarray(amps, float), label)


EVAL_COLUMNS = ("n", "t_s", "N_target", "N_sim", "tracking_error", "V_p_V", "V_ox_before_V", "V_ox_peak_V",
                "E_drawn_J", "E_net_J", "E_tunnel_J", "E_drv_cap_J", "E_drv_res_J", "E_bias_cap_J",
                "E_bias_fn_J", "E_drv_fn_J", "E_objective_J", "E_tunnel_floor_J", "E_bound_J", "E_landauer_J",
                "ratio_drawn_to_bound", "ratio_net_to_bound", "ratio_tunnel_to_bound")


def evaluate_design(card: Card, design: Design, targets: pd.DataFrame | None = None,
                    eta: float = 0.0) -> pd.DataFrame:
    """Per-update table of a design in the closed-form model (columns :data:`EVAL_COLUMNS`).

    ``E_tunnel_floor_J = N_target q V_ox`` is what the transitions dissipate
    crossing the oxide at the present bias (irreducible at this oxide
    voltage); ``E_bound_J = N_target (E0 + |dE|)``; ``E_landauer_J = bits kT ln 2``.
    """
    tg = schedule_targets(card) if targets is None else targets
    cell = CellModel.from_card(card)
    ev = run_schedule(cell, design.timing(), card.device.V0_V, tg["t_s"].to_numpy(), design.V_p_V)
    N_t = tg["N_target"].to_numpy()
    kT = kT_J(card.device.T_K)
    bound = N_t * (tg["E0_J"].to_numpy() + np.abs(tg["dE_J"].to_numpy()))
    df = pd.DataFrame({
        "n": tg["n"].to_numpy(), "t_s": tg["t_s"].to_numpy(), "N_target": N_t, "N_sim": ev.N_sim,
        "tracking_error": ev.N_sim / N_t - 1.0, "V_p_V": design.V_p_V, "V_ox_before_V": ev.V_before_V,
        "V_ox_peak_V": ev.V_peak_V, "E_drawn_J": ev.E_drawn_J, "E_net_J": ev.E_net_J,
        "E_tunnel_J": ev.E_tunnel_J, **{k: ev.parts[k] for k in _PARTS},
        "E_objective_J": ev.objective_J(eta), "E_tunnel_floor_J": N_t * q_C * ev.V_before_V,
        "E_bound_J": bound, "E_landauer_J": np.full(len(N_t), card.programming.precision_bits * kT * math.log(2)),
    })
    df["ratio_drawn_to_bound"] = df["E_drawn_J"] / df["E_bound_J"]
    df["ratio_net_to_bound"] = df["E_net_J"] / df["E_bound_J"]
    df["ratio_tunnel_to_bound"] = df["E_tunnel_J"] / df["E_bound_J"]
    return df[list(EVAL_COLUMNS)]


def check_design(card: Card, design: Design, tol: float, targets: pd.DataFrame | None = None,
                 window_max_s: float | None = None) -> tuple[bool, float, str]:
    """Exact re-evaluation of a design: (ok, max |tracking error|, reason if not ok)."""
    tg = schedule_targets(card) if targets is None else targets
    V_p = np.asarray(design.V_p_V, dtype=float)
    if V_p.shape != (len(tg),) or not np.all(np.isfinite(V_p)):
        return False, math.inf, "amplitudes missing or not finite"
    if np.any(V_p < 0) or np.any(V_p > V_P_MAX_V):
        return False, math.inf, f"an amplitude lies outside [0, {V_P_MAX_V:g}] V"
    window = design.width_s + 2 * design.rise_s
    limit = card.programming.period_s - CellModel.from_card(card).settle_s
    if window_max_s is not None:
        limit = min(limit, window_max_s * (1 + 1e-9))
    if not (design.width_s > 0 and design.rise_s > 0 and window <= limit):
        return False, math.inf, f"pulse window {window:.4g} s does not fit in {limit:.4g} s"
    df = evaluate_design(card, design, tg)
    err = float(np.max(np.abs(df["tracking_error"].to_numpy())))
    if not math.isfinite(err) or err > tol:
        return False, err, f"tracking error {err:.3g} exceeds the tolerance {tol:.3g}"
    return True, err, ""
