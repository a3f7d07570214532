"""Waveform plots a designer reads at a glance (matplotlib, Agg backend).

- :func:`plot_update_zoom`: one update zoomed in: the control-gate drive, the
  floating-gate voltage and the tunnelling current through the pulse.
- :func:`plot_fg_between_pulses`: the floating gate sampled *between* pulses
  (the ~1 V capacitive dip of each pulse left out) against the closed form, and
  its deviation from natural decay, where every weight step shows.
- :func:`plot_weight`: the weight w = V(fg+) - V(fg-) of every synapse between
  pulses (a band over all synapses of an array, with a heat map of the final
  weights) against the closed form.

The closed form is the synthesis model (theory.md s.5): natural decay
``V_ox(t) = V0 - drop(V0, t)`` and each synthesised pulse applied in turn
(:func:`replay_half`), for each half of a synapse on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..constants import q_C
from ..device.card import Card
from ..energy.updates import Waveforms, update_windows
from ..netlist.spec import Testbench, TunnelProbe
from ..netlist.synthesis import FGModel, apply_pulse, pulse_window_s
from matplotlib.ticker import MaxNLocator

from .plots import COLORS, eng_axis, plt, save
from .units import axis_unit, eng

#: Above this many traces a plot draws the band (min..max) and median instead of every line.
MAX_LINES = 4


@dataclass(frozen=True)
class HalfPrediction:
    """Closed-form oxide voltage of one half (``p``/``m``): breakpoints after each update window."""

    t_after_s: np.ndarray   # end of each pulse window (s); the state before the first is (0, V0)
    V_after_V: np.ndarray   # oxide voltage there (V)
    V0_V: float
    model: FGModel

    def V_ox(self, t_s: np.ndarray) -> np.ndarray:
        """Predicted oxide voltage at ``t_s`` outside the pulse windows (V)."""
        t = np.asarray(t_s, dtype=float)
        starts = np.concatenate([[0.0], self.t_after_s])
        values = np.concatenate([[self.V0_V], self.V_after_V])
        k = np.clip(np.searchsorted(starts, t, side="right") - 1, 0, None)
        return values[k] - self.model.drop_V(values[k], np.maximum(t - starts[k], 0.0))

    def natural_V_ox(self, t_s: np.ndarray) -> np.ndarray:
        """Oxide voltage of a cell that was never pulsed (V)."""
        t = np.asarray(t_s, dtype=float)
        return self.V0_V - self.model.drop_V(np.full_like(t, self.V0_V), t)


def replay_half(card: Card, table: pd.DataFrame, half: str) -> HalfPrediction:
    """The synthesis chain for one half: natural decay, and this half's pulses applied at their updates."""
    model = FGModel.from_card(card)
    window = pulse_window_s(card)
    V, t_prev = card.device.V0_V, 0.0
    t_after, V_after = [], []
    for rec in table.itertuples(index=False):
        t_n = float(rec.t_s)
        V -= float(model.drop_V(V, t_n - t_prev))
        if rec.half == "i" and half == "p":      # hot-electron injection into the + gate (docs/device.md s.11)
            V = float(rec.V_ox_after_V)
        elif rec.half == half and rec.V_p_V > 0:
            V = apply_pulse(model, card, V, float(rec.V_p_V)).V_after_V
        else:
            V -= float(model.drop_V(V, window))
        t_prev = t_n + window
        t_after.append(t_prev)
        V_after.append(V)
    return HalfPrediction(np.array(t_after), np.array(V_after), card.device.V0_V, model)


def between_pulses(card: Card, table: pd.DataFrame, time_s: np.ndarray) -> np.ndarray:
    """Mask of the time points well between pulses: outside every update window and the first
    5 % of the gap after it (an array column's control gates, loaded by every row's C_c, are
    still settling at the end of the accounting window: 16 µV off at 3 rows on the default card)."""
    keep = np.ones(time_s.shape, dtype=bool)
    for t_a, t_b in update_windows(card, table):
        tail = 0.05 * max(card.programming.period_s - (t_b - t_a), 0.0)
        keep &= ~((time_s >= t_a) & (time_s <= t_b + tail))
    return keep


def _band(ax, x: np.ndarray, ys: list[np.ndarray], color: str, label: str) -> None:
    """Every trace (up to MAX_LINES), else the median with the min..max band."""
    if len(ys) <= MAX_LINES:
        for k, y in enumerate(ys):
            ax.plot(x, y, "-", lw=1.4, color=color, alpha=1.0 if len(ys) == 1 else 0.8,
                    label=label if k == 0 else None)
        return
    stack = np.vstack(ys)
    ax.fill_between(x, stack.min(axis=0), stack.max(axis=0), color=color, alpha=0.25, lw=0,
                    label=f"{label}: min..max of {len(ys)}")
    ax.plot(x, np.median(stack, axis=0), "-", lw=1.2, color=color, label=f"{label}: median")


def _probes_by_half(tb: Testbench) -> dict[str, list[TunnelProbe]]:
    out: dict[str, list[TunnelProbe]] = {}
    for p in tb.probes:
        if p.kind == "fn":                       # an injector probe has no floating-gate vector
            out.setdefault(p.half, []).append(p)
    return out


def plot_fg_between_pulses(card: Card, table: pd.DataFrame, tb: Testbench, wf: Waveforms, path: Path) -> Path:
    """V_fg between pulses vs the closed form (top) and its deviation from natural decay (bottom, mV).

    Without updates (a retention run) the bottom panel is the deviation of the
    simulation from the closed form, the retention check in picture.
    """
    t = wf.time_s
    keep = between_pulses(card, table, t)
    tk = t[keep]
    V_tun = card.device.V_tun_V
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 6.2), sharex=True)
    groups = _probes_by_half(tb)
    dev_max = resid_max = 0.0
    t_lo = max(float(table["t_s"].iloc[0]) - card.programming.period_s, 0.0) if card.n_updates else 0.0
    view = tk >= t_lo
    y_lo, y_hi = np.inf, -np.inf
    for half, probes in groups.items():
        pred = replay_half(card, table, half)
        v_pred = V_tun - pred.V_ox(tk)
        v_nat = V_tun - pred.natural_V_ox(tk)
        name = {"p": "fg+", "m": "fg-"}[half] if tb.kind != "cell" else "V_fg"
        color = COLORS[half] if tb.kind != "cell" else COLORS["sim"]
        sims = [wf[p.fg][keep] for p in probes]
        _band(top, tk, sims, color, f"{name} (ngspice)")
        top.plot(tk, v_pred, "--", lw=1.0, color=COLORS["pred"], label="closed form" if half == "p" else None)
        if view.any():
            y_lo = min(y_lo, *(float(s_[view].min()) for s_ in sims), float(v_pred[view].min()))
            y_hi = max(y_hi, *(float(s_[view].max()) for s_ in sims), float(v_pred[view].max()))
            resid_max = max(resid_max, *(float(np.abs(s_ - v_pred)[view].max()) for s_ in sims))
        ref = v_pred if card.n_updates == 0 else v_nat
        devs = [s_ - ref for s_ in sims]
        _band(bottom, tk, devs, color, f"{name} (ngspice)")
        if card.n_updates:
            bottom.plot(tk, v_pred - v_nat, "--", lw=1.0, color=COLORS["pred"],
                        label="closed form with the synthesised pulses" if half == "p" else None)
            dev_max = max(dev_max, float(np.max(np.abs(v_pred - v_nat)[view])) if view.any() else 0.0)
    top.set_ylabel("floating-gate voltage (V)")
    top.set_title(f"{'Between pulses (the pulse dips left out)' if card.n_updates else 'Retention'}: "
                  f"ngspice within {eng(resid_max, 'V')} of the closed form", fontsize=10)
    top.legend(fontsize=8, frameon=False)
    if np.isfinite(y_lo) and y_hi > y_lo:
        pad = 0.05 * (y_hi - y_lo)
        top.set_ylim(y_lo - pad, y_hi + pad)
    eng_axis(bottom, "V")
    if card.n_updates:
        bottom.set_ylabel("V_fg - natural decay")
        bottom.set_xlim(left=t_lo, right=float(t[-1]) if t.size else None)
        steps = table["dV_fg_pred_V"].abs()
        bottom.set_title(f"Weight steps: {len(table)} updates, {eng(steps.max(), 'V')} to {eng(steps.min(), 'V')} "
                         f"each, {eng(dev_max, 'V')} in all", fontsize=10)
    else:
        bottom.set_ylabel("ngspice - closed form")
        bottom.set_title("Retention: deviation from the closed form", fontsize=10)
        if tk.size and tk[0] > 0 and tk[-1] / tk[0] > 1e3:
            bottom.set_xscale("log")
    bottom.set_xlabel("time (s)")
    bottom.grid(alpha=0.25)
    top.grid(alpha=0.25)
    bottom.legend(fontsize=8, frameon=False)
    return save(fig, path, bottom=0.09, top=0.94, left=0.13, hspace=0.28)


def plot_update_zoom(card: Card, table: pd.DataFrame, tb: Testbench, wf: Waveforms, path: Path,
                     n: int | None = None, updates: pd.DataFrame | None = None) -> Path:
    """One update zoomed in (default the first): drive voltage, V_fg, tunnelling current (log)."""
    row = table.iloc[0] if n is None else table[table["n"] == n].iloc[0]
    n = int(row["n"])
    t_a, t_b = update_windows(card, table.iloc[[table.index.get_loc(row.name)]])[0]
    pad = 0.15 * (t_b - t_a)
    t = wf.time_s
    sel = (t >= t_a - pad) & (t <= t_b + pad)
    x = (t[sel] - t_a)
    x_factor, x_unit = axis_unit([t_b - t_a], "s")
    probe = next((p for p in tb.probes if p.half == row["half"] and p.kind == "fn"), tb.probes[0])
    supply = next((s for s in tb.supplies if s.v.startswith(f"v(drv{row['half']}") or s.v == "v(drv)"), None)
    fig, (a1, a2, a3) = plt.subplots(3, 1, figsize=(7, 7), sharex=True)
    if supply is not None:
        a1.plot(x * x_factor, wf[supply.v][sel], "-", color=COLORS["drive"], lw=1.3, label=f"driver {supply.v}")
    if "v(cg)" in wf.vectors:
        a1.plot(x * x_factor, wf["v(cg)"][sel], "--", color="0.3", lw=1.0, label="control gate v(cg)")
    a1.set_ylabel("drive (V)")
    a1.legend(fontsize=8, frameon=False, loc="center right")
    v_fg = wf[probe.fg][sel]
    a2.plot(x * x_factor, v_fg, "-", color=COLORS["sim"], lw=1.3, label=f"{probe.fg} (ngspice)")
    a2.set_ylabel("floating gate (V)")
    a2.legend(fontsize=8, frameon=False, loc="center right")
    i = np.abs(wf[probe.current][sel])
    mid = t_a + card.programming.rise_s + card.programming.pulse_width_s / 2
    a3.semilogy(x * x_factor, np.where(i > 0, i, np.nan), "-", color=COLORS["tunnel"], lw=1.3,
                label=f"|{probe.current}|: {eng(abs(wf.at(probe.current, mid)), 'A')} during the pulse, "
                      f"{eng(abs(wf.at(probe.current, t_a)), 'A')} before")
    a3.set_ylabel("tunnelling current")
    eng_axis(a3, "A")
    a3.legend(fontsize=8, frameon=False, loc="center right")
    a3.set_xlabel(f"time from the start of update {n} at t = {eng(t_a, 's', 4)} ({x_unit})")
    # the simulated step beyond natural decay: the junction charge in the window (the flow's N_sim) over C_T
    step = float(updates.loc[updates["n"] == n, "N_sim"].iloc[0]) * q_C / probe.C_T_F if updates is not None \
        and (updates["n"] == n).any() else float("nan")
    for ax in (a1, a2, a3):
        ax.grid(alpha=0.25)
    a1.set_title(f"Update {n}: pulse {eng(-float(row['V_p_V']), 'V', 4)}\nfloating-gate step beyond natural decay "
                 f"{eng(step, 'V', 4)} (closed form {eng(float(row['dV_fg_pred_V']), 'V', 4)})", fontsize=9)
    return save(fig, path, bottom=0.08, top=0.93, left=0.14, hspace=0.12)


def synapse_pairs(tb: Testbench) -> list[tuple[TunnelProbe, TunnelProbe, tuple[int, int]]]:
    """``(fg+ probe, fg- probe, (row, col))`` of every differential synapse of a testbench."""
    minus = {p.fg.replace("fgm", "fgp", 1): p for p in tb.probes if p.half == "m"}
    pairs = []
    for p in tb.probes:
        if p.half == "p" and p.fg in minus:
            parts = p.fg[len("v(fgp"):-1].strip("_").split("_")
            rc = (int(parts[0]), int(parts[1])) if len(parts) == 2 and all(s.isdigit() for s in parts) else (0, 0)
            pairs.append((p, minus[p.fg], rc))
    return pairs


def plot_weight(card: Card, table: pd.DataFrame, tb: Testbench, wf: Waveforms, path: Path) -> Path | None:
    """w(t) = V(fg+) - V(fg-) between pulses for every synapse, vs the closed form; None without synapses.

    An array also gets a heat map of every synapse's final weight relative to the
    closed form (µV), where mismatch between cells shows.
    """
    pairs = synapse_pairs(tb)
    if not pairs:
        return None
    t = wf.time_s
    keep = between_pulses(card, table, t)
    tk = t[keep]
    w = [wf[p.fg][keep] - wf[m.fg][keep] for p, m, _ in pairs]
    pp, pm = replay_half(card, table, "p"), replay_half(card, table, "m")
    w_pred = pm.V_ox(tk) - pp.V_ox(tk)  # V_fg = V_tun - V_ox
    heat = len(pairs) > 1
    fig = plt.figure(figsize=(10 if heat else 7, 4.2))
    ax = fig.add_axes((0.09, 0.14, 0.52 if heat else 0.86, 0.74))
    _band(ax, tk, w, COLORS["sim"], "w (ngspice)")
    ax.plot(tk, w_pred, "--", lw=1.0, color=COLORS["pred"], label="closed form")
    eng_axis(ax, "V")
    if card.n_updates:
        ax.set_xlim(left=max(float(table["t_s"].iloc[0]) - card.programming.period_s, 0.0), right=float(t[-1]))
    ax.set_xlabel("time (s)")
    ax.set_ylabel("weight w = V(fg+) - V(fg-)")
    ax.grid(alpha=0.25)
    ax.legend(fontsize=8, frameon=False)
    w_end = np.array([y[-1] for y in w]) if tk.size else np.zeros(len(w))
    ax.set_title(f"Weight of {len(pairs)} synapse{'s' if len(pairs) > 1 else ''}: final "
                 f"{eng(float(np.median(w_end)), 'V')} (closed form {eng(float(w_pred[-1]) if tk.size else 0.0, 'V')})",
                 fontsize=10)
    if heat:
        rows = max(rc[0] for *_, rc in pairs) + 1
        cols_ = sorted({rc[1] for *_, rc in pairs})
        grid = np.full((rows, len(cols_)), np.nan)
        for (_, _, (r, c)), v in zip(pairs, w_end):
            grid[r, cols_.index(c)] = v
        centre = float(np.nanmedian(grid))
        dev_uV = 1e6 * (grid - centre)
        hx = fig.add_axes((0.68, 0.14, 0.24, 0.74))
        lim = max(float(np.nanmax(np.abs(dev_uV))), 1e-3)
        im = hx.imshow(dev_uV, cmap="coolwarm", vmin=-lim, vmax=lim, aspect="auto", interpolation="nearest",
                       extent=(cols_[0] - 0.5, cols_[-1] + 0.5, rows - 0.5, -0.5))
        hx.xaxis.set_major_locator(MaxNLocator(integer=True))
        hx.yaxis.set_major_locator(MaxNLocator(integer=True))
        hx.set_xlabel("column")
        hx.set_ylabel("row")
        spread = float(np.nanmax(grid) - np.nanmin(grid))
        hx.set_title(f"final w minus its median {eng(centre, 'V')} (µV)\nspread {eng(spread, 'V')}", fontsize=9)
        fig.colorbar(im, ax=hx, fraction=0.08, pad=0.04)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)
