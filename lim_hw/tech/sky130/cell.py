"""sky130 testbenches as plain data: cells, drivers, supplies, and the segment plan.

One builder serves the cell, the synapse and the array (docs/pdk.md, "How the cell is
drawn"): every programmed half-cell is a ``fndam_cell_sky130`` instance
``xr<r>c<c><h>`` (floating gate ``fg<h>_<r>_<c>``); every column half ``(c, h)`` has its
own programming chain -- ideal 1.8 V logic sources ``vin<c><h>``/``vinb<c><h>`` (a pulse and
its complement), a ``sky130_level_shifter`` on its own rail ``vls<c><h>`` and a
``sky130_driver`` on its own rail ``vdrv<c><h>`` -- with 0 V sense sources between level
shifter and driver (``vsx<c><h>``) and between driver and control gate (``vso<c><h>``);
row ``r`` has its tunnelling supply ``vtun<r>``; all readout transistors share the read
rail ``vrs`` and the read-drain pulse ``vrd``.

Why segments (:class:`Segment`): a transistor edge needs time steps of ~1e-11 s, but at
t ~ 1000 s double precision resolves only ~1e-13 s, and BSIM4 switching does not converge
at the tolerances the femtoampere FN current needs (measured: "timestep too small" at
every edge with reltol 1e-6 or at t >= 10 s; see docs/pdk.md). So the run is one ngspice
process with one transient per segment, each in its own local time: a *window* around
every update (edges, flat top, read) at reltol 1e-4, and the *rest* between updates at
the card's tolerances. Each segment starts from the previous one's state: its operating
point holds every floating gate at the voltage it had (a behavioural hold, released after
10 ns); the rest of the circuit is at DC steady state there, so the charge is continuous.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from ...device.card import Card
from ...netlist.spec import Instance, Supply, Testbench, TunnelProbe, VSource
from .models import ModelSubset

#: ngspice variables the sky130 models expect (the PDK's .spiceinit), passed as ``-D``.
DEFINES = ("ngbehavior=hsa", "skywaterpdk", "ng_nomodcheck")
#: Smallest abstol (A) at which the BSIM4 devices converge (1e-18 crawls, 1e-21 fails).
ABSTOL_FLOOR_A = 1e-15
#: Tolerances of the window segments (transistor edges): reltol, vntol (V), chgtol (C).
WINDOW_TOL = (1e-4, 1e-6, 1e-18)
SEG_LEAD_S = 0.5e-6     #: a window segment starts this long before its update
HOLD_S = 10e-9          #: floating-gate hold released over [HOLD_S, 2 HOLD_S] of each segment
HOLD_SIEMENS = 1e-3     #: conductance of the hold while it is on
SETTLE_S = 1e-6         #: after an edge, time for the driver, level shifter and read to settle


@dataclass(frozen=True)
class BHold:
    """Behavioural hold of a floating gate: ``i = g v(hctl) (v(node) - v(ref))`` from node to ground."""

    name: str
    node: str
    ref: str
    control: str
    siemens: float = HOLD_SIEMENS


@dataclass(frozen=True)
class Segment:
    """One transient of the run, in local time from ``t0_s`` (global) for ``length_s``.

    ``update`` is the 0-based update row whose pulse and read this window carries (None
    for a rest segment); ``tol`` is (reltol, vntol_V, chgtol_C); ``tmax_s`` ngspice's
    maximum step.
    """

    t0_s: float
    length_s: float
    update: int | None
    tol: tuple[float, float, float]
    tmax_s: float
    tstep_s: float


@dataclass(frozen=True)
class Sky130Testbench(Testbench):
    """A :class:`~lim_hw.netlist.spec.Testbench` plus what the sky130 run needs.

    ``windows``/``read_windows``: global ``(t_a, t_b)`` of every update and read;
    ``read_supplies`` and ``hold`` sources are kept out of ``supplies`` (the update's energy);
    ``logic``: per column half ``(col, half) -> (vin, vinb)`` source names; ``drivers``:
    per column half ``(rail vector v, rail current i, pull-down sense current, cg port v, cg
    port i, ls rail i, x port v, x port i)``; ``cells``: ``(row, col, half, instance, fg, cg, tun)``.
    """

    model_text: str = ""
    defines: tuple[str, ...] = DEFINES
    segments: tuple[Segment, ...] = ()
    windows: tuple[tuple[float, float], ...] = ()
    read_windows: tuple[tuple[float, float], ...] = ()
    read_supplies: tuple[Supply, ...] = ()
    holds: tuple[BHold, ...] = ()
    logic: tuple[tuple[tuple[int, str], tuple[str, str]], ...] = ()
    drivers: tuple[tuple[tuple[int, str], dict], ...] = ()
    cells: tuple[tuple[int, int, str, str, str, str, str], ...] = ()
    widths_s: tuple[float, ...] = ()
    rise_s: float = 1e-9
    V_logic_V: float = 1.8
    V_read_V: float = 3.3
    read_width_s: float = 0.0
    corner: str = "tt"
    seed: int = 1
    extra: dict = field(default_factory=dict)


def used_devices(card: Card) -> dict[str, list[tuple[float, float]]]:
    """The PDK devices a sky130 testbench of ``card`` instantiates, with their (W, L) in m."""
    t = card.technology
    return {"pfet_g5v0d10v5": [(t.W_tun_m, t.L_tun_m), (t.W_ro_m, t.L_ro_m), (t.W_drv_p_m, t.L_drv_p_m),
                               (t.W_ls_p_m, t.L_ls_p_m)],
            "nfet_g5v0d10v5": [(t.W_drv_n_m, t.L_drv_n_m), (t.W_ls_n_m, t.L_ls_n_m)],
            "cap_mim_m3_1": []}


def _um(x_m: float) -> float:
    return round(x_m * 1e6, 9)


def cell_params(card: Card, fn: tuple[tuple[str, float], ...], toxmm: float,
                override: dict[str, float] | None = None) -> tuple[tuple[str, float], ...]:
    """``fndam_cell_sky130`` parameters: sizes (um), the FN law ``fn`` (tox, phib, meff, thermal, imgf) and ``toxmm``.

    ``override`` may set ``tox_m`` (FN oxide of this cell) or ``area_m2`` (scales the
    junction width, keeping its length: the FN area is W*L).
    """
    t = card.technology
    fnd = dict(fn)
    wt = t.W_tun_m
    if override:
        if "tox_m" in override:
            fnd["tox"] = float(override["tox_m"])
        if "area_m2" in override:
            wt = float(override["area_m2"]) / t.L_tun_m
    return (("wt", _um(wt)), ("lt", _um(t.L_tun_m)), *fnd.items(), ("toxmm", toxmm),
            ("wc", _um(t.W_cc_m)), ("lc", _um(t.L_cc_m)), ("wg", _um(t.W_cg_m)), ("lg", _um(t.L_cg_m)),
            ("wr", _um(t.W_ro_m)), ("lr", _um(t.L_ro_m)))


def build_testbench(card: Card, table: pd.DataFrame, cells: list[tuple[int, int, str]], kind: str,
                    subset: ModelSubset, fn: tuple[tuple[str, float], ...], toxmm: float, C_T_F: float,
                    mismatch: dict | None = None, col_offset: int = 0,
                    caps_F: tuple[float, float] = (0.0, 0.0)) -> Sky130Testbench:
    """The sky130 testbench of ``cells`` ``(row, col, half)`` for the synthesised ``table``.

    ``table`` needs the columns ``t_s``, ``half`` and ``w_s`` (logic pulse width of each
    update, 0 = no pulse). ``fn`` is the FN law of the junctions (``tox`` from the model
    file, ``phib``, ``meff``, ``thermal``, ``imgf``), ``C_T_F`` and ``caps_F`` = (C_c, C_j) the extracted capacitances
    (for the probes: natural decay and the charge balance).
    """
    t, dev, prog = card.technology, card.device, card.programming
    mismatch = mismatch or {}
    rows = sorted({r for r, _, _ in cells})
    halves = sorted({(c, h) for _, c, h in cells})
    el: list = []
    supplies: list[Supply] = []
    saves: list[str] = []
    for r in rows:
        el.append(VSource(f"vtun{r}", f"tun{r}", "0", dc_V=dev.V_tun_V))
        supplies.append(Supply(f"vtun{r}", f"v(tun{r})", f"i(vtun{r})"))
    logic, drivers = [], []
    tp = (("nw", _um(t.W_drv_n_m)), ("nl", _um(t.L_drv_n_m)), ("pw", _um(t.W_drv_p_m)), ("pl", _um(t.L_drv_p_m)))
    lp = (("nw", _um(t.W_ls_n_m)), ("nl", _um(t.L_ls_n_m)), ("pw", _um(t.W_ls_p_m)), ("pl", _um(t.L_ls_p_m)))
    off = (0.0, 0.0, SEG_LEAD_S, prog.rise_s, prog.rise_s, 1.0, 2.0)
    for c, h in halves:
        s = f"{c}{h}"
        vin, vinb = f"vin{s}", f"vinb{s}"
        el += [VSource(f"vdrv{s}", f"vdrv{s}", "0", dc_V=t.V_drv_V),
               VSource(f"vls{s}", f"vls{s}", "0", dc_V=t.V_drv_V),
               VSource(vin, f"in{s}", "0", pulse=off),
               VSource(vinb, f"inb{s}", "0", pulse=(t.V_logic_V, t.V_logic_V, *off[2:])),
               Instance(f"xls{s}", "sky130_level_shifter", (f"in{s}", f"inb{s}", f"x{s}", f"vls{s}"), lp),
               VSource(f"vsx{s}", f"x{s}", f"xd{s}", dc_V=0.0),
               Instance(f"xd{s}", "sky130_driver", (f"xd{s}", f"out{s}", f"vdrv{s}"), tp),
               VSource(f"vso{s}", f"out{s}", f"cg{h}{c}", dc_V=0.0)]
        for name, node in ((f"vdrv{s}", f"vdrv{s}"), (f"vls{s}", f"vls{s}"), (vin, f"in{s}"), (vinb, f"inb{s}")):
            supplies.append(Supply(name, f"v({node})", f"i({name})"))
        logic.append(((c, h), (vin, vinb)))
        drivers.append(((c, h), {"v": f"v(vdrv{s})", "i": f"i(vdrv{s})", "i_n": f"i(v.xd{s}.vsn)",
                                 "cg_v": f"v(out{s})", "cg_i": f"i(vso{s})", "ls_v": f"v(vls{s})", "ls_i": f"i(vls{s})",
                                 "x_v": f"v(x{s})", "x_i": f"i(vsx{s})", "in": (f"v(in{s})", f"i({vin})"),
                                 "inb": (f"v(inb{s})", f"i({vinb})"), "cg": f"v(cg{h}{c})"}))
        saves += [f"v(vdrv{s})", f"i(vdrv{s})", f"i(v.xd{s}.vsn)", f"v(out{s})", f"i(vso{s})", f"v(vls{s})",
                  f"i(vls{s})", f"v(x{s})", f"i(vsx{s})", f"v(in{s})", f"i({vin})", f"v(inb{s})", f"i({vinb})",
                  f"v(cg{h}{c})"]
    read = t.read and card.n_updates > 0
    el += [VSource("vrs", "rs", "0", dc_V=t.V_read_V),
           VSource("vrd", "rd", "0", pulse=(t.V_read_V, t.V_read_V, *off[2:]))]
    read_supplies = (Supply("vrs", "v(rs)", "i(vrs)"), Supply("vrd", "v(rd)", "i(vrd)"))
    saves += ["v(rs)", "i(vrs)", "v(rd)", "i(vrd)"]
    el.append(VSource("vhctl", "hctl", "0", pwl=((0.0, 1.0), (HOLD_S, 1.0), (2 * HOLD_S, 0.0))))
    probes, holds, cell_rows = [], [], []
    for k, (r, c, h) in enumerate(cells):
        inst, fg, cg, tun = f"xr{r}c{c}{h}", f"fg{h}_{r}_{c}", f"cg{h}{c}", f"tun{r}"
        el.append(Instance(inst, "fndam_cell_sky130", (cg, tun, fg, "rs", "rd"),
                           cell_params(card, fn, toxmm, mismatch.get((r, c, h)))))
        el.append(VSource(f"vhs{k}", f"hs{k}", "0", dc_V=dev.V_fg0_V))
        holds.append(BHold(f"bh{k}", fg, f"hs{k}", "hctl"))
        probe = TunnelProbe(inst, f"i(v.{inst}.xtj.xj.vsns)", f"v({tun})", f"v({fg})", C_T_F, h,
                            cg=f"v({cg})", C_c_F=caps_F[0], C_j_F=caps_F[1])
        probes.append(probe)
        cell_rows.append((r, c, h, inst, fg, cg, tun))
        saves += [f"v({fg})", probe.current]
    saves += [s.v for s in supplies] + [s.i for s in supplies]
    segs, windows, rwin, widths = plan_segments(card, table, read)
    abstol = max(card.simulation.abstol_A, ABSTOL_FLOOR_A)
    opts = (("temp", dev.T_K - 273.15), ("abstol", abstol), ("method", card.simulation.method))
    if t.mismatch:
        opts += (("seed", float(t.seed)),)
    title = f"lim-hw sky130 FN-DAM {kind} ({len(cells)} half-cells, corner {t.corner}): {card.name}"
    stop = card.stop_time_s
    return Sky130Testbench(
        title=title, kind=kind, elements=tuple(el), ic_V=(), options=opts, tstep_s=stop / 1000, tstop_s=stop,
        tmax_s=max(s.tmax_s for s in segs), saves=tuple(dict.fromkeys(saves)), supplies=tuple(supplies),
        probes=tuple(probes), model_text=subset.text, segments=tuple(segs), windows=tuple(windows),
        read_windows=tuple(rwin), read_supplies=read_supplies, holds=tuple(holds), logic=tuple(logic),
        drivers=tuple(drivers), cells=tuple(cell_rows), widths_s=tuple(widths), rise_s=prog.rise_s,
        V_logic_V=t.V_logic_V, V_read_V=t.V_read_V, read_width_s=t.read_width_s if read else 0.0,
        corner=t.corner, seed=t.seed)


def window_length_s(card: Card, w_s: float, read: bool) -> tuple[float, float, float]:
    """(update window, read start, segment length) in local time of a window segment."""
    t, r = card.technology, card.programming.rise_s
    upd_end = SEG_LEAD_S + w_s + 2 * r + min(SETTLE_S, t.read_delay_s / 2)
    read_start = SEG_LEAD_S + w_s + 2 * r + t.read_delay_s
    end = read_start + t.read_width_s + 2 * r + SETTLE_S if read else upd_end + SETTLE_S
    return upd_end, read_start, end


def plan_segments(card: Card, table: pd.DataFrame, read: bool
                  ) -> tuple[list[Segment], list[tuple[float, float]], list[tuple[float, float]], list[float]]:
    """Segments, update windows, read windows and pulse widths (s) of a run (global times)."""
    sim = card.simulation
    rest_tol = (sim.reltol, sim.vntol_V, sim.chgtol_C)
    stop = card.stop_time_s
    segs: list[Segment] = []
    windows, rwin, widths = [], [], []
    t_prev = 0.0
    for k, rec in enumerate(table.itertuples(index=False)):
        t_n = float(rec.t_s)
        w = float(rec.w_s)
        widths.append(w)
        s0 = t_n - SEG_LEAD_S
        if s0 > t_prev:
            segs.append(_rest(t_prev, s0 - t_prev, rest_tol, card))
        upd_end, read_start, end = window_length_s(card, w, read)
        windows.append((t_n, s0 + upd_end))
        if read:
            rwin.append((s0 + read_start, s0 + read_start + card.technology.read_width_s + 2 * card.programming.rise_s
                         + SETTLE_S / 2))
        tmax = end / 100.0
        segs.append(Segment(s0, end, k, WINDOW_TOL, tmax, tmax / 5))
        t_prev = s0 + end
    if stop > t_prev:
        segs.append(_rest(t_prev, stop - t_prev, rest_tol, card))
    return segs, windows, rwin, widths


def _rest(t0: float, length: float, tol: tuple[float, float, float], card: Card) -> Segment:
    if card.simulation.max_step_s:
        tmax = min(card.simulation.max_step_s, length)
    else:
        tmax = length / (100.0 if card.n_updates == 0 else 50.0)
    return Segment(t0, length, None, tol, tmax, min(length / 1000.0, 0.1) if card.n_updates == 0 else length / 100)


def segment_pulses(tb: Sky130Testbench, table: pd.DataFrame, seg: Segment) -> dict[str, tuple[float, ...]]:
    """PULSE parameters of every logic source and of the read drain in ``seg`` (local time)."""
    V, r = tb.V_logic_V, tb.rise_s
    hold = 2 * seg.length_s + 1.0
    out: dict[str, tuple[float, ...]] = {}
    active_half = None
    w = 0.0
    if seg.update is not None:
        w = tb.widths_s[seg.update]
        active_half = str(table["half"].iloc[seg.update]) if w > 0 else None
    for (c, h), (vin, vinb) in tb.logic:
        if h == active_half:
            out[vin] = (0.0, V, SEG_LEAD_S, r, r, w, hold)
            out[vinb] = (V, 0.0, SEG_LEAD_S, r, r, w, hold)
        else:
            out[vin] = (0.0, 0.0, SEG_LEAD_S, r, r, 1.0, hold)
            out[vinb] = (V, V, SEG_LEAD_S, r, r, 1.0, hold)
    Vr = tb.V_read_V
    if seg.update is not None and tb.read_width_s > 0:
        start = tb.read_windows[seg.update][0] - seg.t0_s
        out["vrd"] = (Vr, 0.0, start, r, r, tb.read_width_s, hold)
    else:
        out["vrd"] = (Vr, Vr, SEG_LEAD_S, r, r, 1.0, hold)
    return out


def fg_start_V(card: Card) -> float:
    """Initial floating-gate voltage (V): V_tun - V0 with the control gate at its rest (the rail)."""
    return card.device.V_fg0_V


def check_timing(card: Card, table: pd.DataFrame) -> None:
    """InputError-free sanity of the plan: every window must end before the next update."""
    from ...errors import InputError

    read = card.technology.read and card.n_updates > 0
    starts = table["t_s"].to_numpy(dtype=float)
    for k, rec in enumerate(table.itertuples(index=False)):
        _, _, end = window_length_s(card, float(rec.w_s), read)
        nxt = starts[k + 1] if k + 1 < len(starts) else card.stop_time_s
        if float(rec.t_s) - SEG_LEAD_S + end > nxt - SEG_LEAD_S:
            raise InputError(f"update {int(rec.n)} needs a {float(rec.w_s):.3g} s pulse plus its read, which does not "
                             f"fit before the next update ({card.programming.period_s:g} s period); lengthen "
                             "[programming] period_s, raise [technology] V_drv_V or shorten the read")
    if not math.isfinite(card.stop_time_s):
        raise InputError("the run has no finite end; set [simulation] duration_s")
