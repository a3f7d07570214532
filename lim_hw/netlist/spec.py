"""Testbenches as plain data: elements, initial conditions, analysis, what to save.

A :class:`Testbench` is built by :func:`cell_testbench`, :func:`synapse_testbench`
or :func:`array_testbench` from a validated :class:`~lim_hw.device.card.Card`
and a synthesis table, and turned into ngspice text by
:func:`lim_hw.netlist.render.render`. Nothing here is text yet, so a user can
add or replace elements before rendering. Every name and number is checked by
:mod:`lim_hw.netlist.validate` when it is rendered.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import pandas as pd

from ..device.card import Card, DeviceParams
from .synthesis import edge_list


@dataclass(frozen=True)
class ParamRef:
    """A subcircuit parameter given by a deck ``.param`` of that name (rendered ``{name}``).

    ``value`` is the number the deck's ``.param`` holds (used by the PySpice bridge,
    which writes plain numbers).
    """

    name: str
    value: float

    def __float__(self) -> float:
        return float(self.value)


@dataclass(frozen=True)
class VSource:
    """Independent voltage source: DC, PWL (time_s, volts) pairs, or one PULSE.

    ``pulse`` is ngspice's ``(V1, V2, TD, TR, TF, PW, PER)`` in V and s.
    """

    name: str
    n_plus: str
    n_minus: str
    dc_V: float = 0.0
    pwl: tuple[tuple[float, float], ...] | None = None
    pulse: tuple[float, float, float, float, float, float, float] | None = None


@dataclass(frozen=True)
class ISource:
    """Independent current source with one ngspice ``PULSE`` ``(I1, I2, TD, TR, TF, PW, PER)`` (A, s).

    Positive current flows from ``n_plus`` through the source into ``n_minus``.
    """

    name: str
    n_plus: str
    n_minus: str
    pulse: tuple[float, float, float, float, float, float, float]


@dataclass(frozen=True)
class VCVS:
    """Voltage-controlled voltage source ``e<name> n+ n- c+ c- gain``: V(n+, n-) = gain V(c+, c-)."""

    name: str
    n_plus: str
    n_minus: str
    c_plus: str
    c_minus: str
    gain: float = 1.0


@dataclass(frozen=True)
class Supply:
    """A port through which energy enters the circuit: its voltage and branch-current vectors.

    Delivered power is ``-v * i`` (ngspice's branch current flows into the + terminal).
    What the energy accounting knows of the load (lim_hw.energy.edges, docs/flow.md s.5):
    the delivered current is ``sum_d a_d i_d(t) + sum_k c_k I_k(t)``: ``i_d`` is the
    RC current of driver ``d`` (``rc_terms``: driver name, coefficient ``a_d``),
    the exact response of its ``lines`` identical lines (each ``R_ohm`` into
    ``C_line_F``, time constant ``tau_s``) to its piecewise-linear ``drive``
    (edges ``(t_start_s, dV_V, duration_s)``); ``I_k`` is the FN current of probe
    vector ``fn_terms[k][0]`` with coefficient ``fn_terms[k][1]``, from ngspice.
    """

    name: str
    v: str
    i: str
    drive: tuple[tuple[float, float, float], ...] = ()
    tau_s: float = 0.0
    C_line_F: float = 0.0
    R_ohm: float = 0.0
    lines: int = 1
    rc_terms: tuple[tuple[str, float], ...] = ()
    fn_terms: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class Resistor:
    name: str
    a: str
    b: str
    ohm: float


@dataclass(frozen=True)
class Instance:
    """Subcircuit instance ``x<name> nodes... <subckt> key=value...``."""

    name: str
    subckt: str
    nodes: tuple[str, ...]
    params: tuple[tuple[str, float | ParamRef], ...] = ()


@dataclass(frozen=True)
class TunnelProbe:
    """Where a junction's current and oxide voltage are read for energy accounting.

    ``current`` is the vector of the junction's sense source (A, positive from tun
    into fg); ``tun``/``fg`` are node vectors whose difference is V_ox.
    """

    cell: str
    current: str
    tun: str
    fg: str
    C_T_F: float
    half: str  # "p" or "m": which half of a synapse this cell is (a lone cell is "p"); "i": an injector
    cg: str = ""          # control-gate node vector (energy and charge balance)
    C_c_F: float = 0.0
    C_j_F: float = 0.0
    kind: str = "fn"   # "fn": a tunnelling junction; "injection": a hot-electron injector (tun = its drive)


@dataclass(frozen=True)
class Testbench:
    """An ngspice transient testbench as plain data."""

    title: str
    kind: str
    elements: tuple[VSource | ISource | VCVS | Resistor | Instance, ...]
    ic_V: tuple[tuple[str, float], ...]
    options: tuple[tuple[str, float | str], ...]
    tstep_s: float
    tstop_s: float
    tmax_s: float
    saves: tuple[str, ...]
    supplies: tuple[Supply, ...] = field(default=())
    probes: tuple[TunnelProbe, ...] = field(default=())
    params: tuple[tuple[str, float | str], ...] = field(default=())   # deck .param lines (value or expression)

    @property
    def sources(self) -> tuple[VSource, ...]:
        return tuple(e for e in self.elements if isinstance(e, VSource))


#: Deck ``.param`` names of the device values (docs/simulation.md): the cells take them by name, so
#: editing ``tox``, ``phib`` or ``meff`` in a generated deck recomputes the FN constants.
DEVICE_PARAM_NAMES = ("tox", "area", "phib", "meff", "fnthermal", "fnimgf", "ctot", "cc", "cj", "cfg")


def deck_params(dev: DeviceParams) -> tuple[tuple[str, float | str], ...]:
    """The device's ``.param`` lines: geometry, FN law, capacitances; ``cfg = ctot - cc - cj`` (an expression)."""
    return (("tox", dev.tox_m), ("area", dev.area_m2), ("phib", dev.phi_B_eV), ("meff", dev.m_eff),
            ("fnthermal", 1.0 if dev.law.thermal else 0.0), ("fnimgf", 1.0 if dev.image_force else 0.0),
            ("ctot", dev.C_T_F), ("cc", dev.C_c_F), ("cj", dev.C_j_F), ("cfg", "ctot - cc - cj"))


def device_params(dev: DeviceParams, **override: float) -> tuple[tuple[str, float | ParamRef], ...]:
    """Subcircuit parameters of ``fndam_cell``: references to :func:`deck_params` by name.

    A per-cell mismatch (``tox_m``/``area_m2`` in ``override``) gives that cell its own number
    for that key. The capacitances stay the card's (docs/device.md s.9: mismatch varies the
    tunnelling junction, not C_T).
    """
    vals = dict(deck_params(dev))
    value = {"tox": dev.tox_m, "area": dev.area_m2, "phib": dev.phi_B_eV, "meff": dev.m_eff,
             "fnthermal": vals["fnthermal"], "fnimgf": vals["fnimgf"], "cj": dev.C_j_F, "cc": dev.C_c_F,
             "cfg": dev.C_fg_F}
    keys = {"tox_m": "tox", "area_m2": "area"}
    over = {keys[k]: float(v) for k, v in override.items() if k in keys}
    sub = {"fnthermal": "thermal", "fnimgf": "imgf"}
    return tuple((sub.get(n, n), over[n] if n in over else ParamRef(n, value[n]))
                 for n in ("tox", "area", "phib", "meff", "fnthermal", "fnimgf", "cj", "cc", "cfg"))


def _options(card: Card) -> tuple[tuple[str, float | str], ...]:
    s = card.simulation
    return (("temp", card.device.T_K - 273.15), ("reltol", s.reltol), ("abstol", s.abstol_A), ("vntol", s.vntol_V),
            ("chgtol", s.chgtol_C), ("method", s.method))


#: Maximum step as a fraction of the FN decay time scale V/|dV/dt| at t = 0 (measured, docs/flow.md
#: "Step control": 1/200 keeps the free-decay error before the first update below 3e-6 V on a 10 nm oxide).
DECAY_STEP_FRACTION = 1.0 / 200.0
#: Ratio of the geometric breakpoint grid laid over the early free decay (t_k = t_knee (r^k - 1)).
DECAY_GRID_RATIO = 1.02
#: Breakpoints inside every ramped edge (so ngspice samples the FN current along the ramp).
RAMP_BREAKPOINTS = 16


def decay_time_scale_s(card: Card) -> tuple[float, float]:
    """``(t_knee_s, tau_FN0_s)``: the knee ``k0/k1`` of ``V = k2/ln(k1 t + k0)`` and ``V0/|dV/dt|`` at t = 0.

    ``V/|dV/dt| = ln(k1 t + k0) (t + k0/k1)`` (docs/device.md, the closed form), so at t = 0
    it is ``(k2/V0) k0/k1``; the decay is fastest (relative to t) around the knee.
    """
    from ..device.floating_gate import fn_k_constants  # local: keeps the import graph of spec light

    d = card.device
    k = fn_k_constants(d.tox_m, d.area_m2, d.C_T_F, d.V0_V, d.phi_B_eV, d.m_eff)
    import math
    t_knee = math.exp(min(float(k.ln_k0) - math.log(float(k.k1_per_s)), 700.0))
    return t_knee, float(k.ln_k0) * t_knee


def _tran(card: Card, refine: int = 0) -> tuple[float, float, float]:
    """``(tstep, tstop, tmax)`` of the transient, derived from the card (docs/flow.md, "Step control").

    ``tmax = min(stop/50, period/4, rise*1e9, tau_FN0/200)`` for programming runs (``rise*1e9``:
    ngspice gives up below ``delmin = 1e-11 tmax`` and edges need steps of ~rise/100) and
    ``min(stop/100, 1e3 (r - 1) t_knee)`` for retention runs (the early decay is resolved by
    breakpoints instead, :func:`decay_breakpoints`, and ngspice merges breakpoints closer
    than ``5e-5 tmax``). ``refine`` levels 1, 2, 3 divide tmax by 3, 10, 30.
    A card's ``max_step_s`` wins.
    """
    stop = card.stop_time_s
    if card.simulation.max_step_s:
        tmax = card.simulation.max_step_s
    elif card.n_updates == 0:
        # ngspice merges breakpoints closer than 5e-5 tmax: keep the decay grid's first spacings
        t_knee, _ = decay_time_scale_s(card)
        tmax = min(stop / 100.0, 1e3 * (DECAY_GRID_RATIO - 1.0) * t_knee)
    else:
        _, tau0 = decay_time_scale_s(card)
        tmax = min(stop / 50.0, card.programming.period_s / 4.0, card.programming.rise_s * 1e9,
                   tau0 * DECAY_STEP_FRACTION)
        tmax /= (1.0, 3.0, 10.0, 30.0)[min(refine, 3)]
    step = stop / 1000.0 if card.n_updates else min(stop / 1000.0, 0.1)  # retention: sample from ~1 ms
    return step, stop, tmax


def decay_breakpoints(card: Card) -> list[float]:
    """Geometric breakpoints ``t_knee (r^k - 1)`` over the free decay before the first update (s).

    ngspice's truncation-error control, whose charge tolerance is set by the gate's
    bias charge, lets steps reach ~0.1-0.3 of the decay time scale around the knee;
    a breakpoint cuts the next step to a tenth of the breakpoint spacing, so this
    grid bounds the steps to ~(r - 1) (t + t_knee) (docs/flow.md, "Step control").
    """
    t_knee, _ = decay_time_scale_s(card)
    end = card.stop_time_s if card.n_updates == 0 else card.programming.first_update_s
    out, k = [], 1
    while k < 100000:
        t = t_knee * (DECAY_GRID_RATIO ** k - 1.0)
        if t >= end:
            break
        if t > 1e-12 * end:
            out.append(t)
        k += 1
    return out


def ramp_breakpoints(card: Card, table: pd.DataFrame) -> list[float]:
    """Breakpoints inside each ramped edge (``RAMP_BREAKPOINTS - 1`` per edge); none for rectangular pulses."""
    prog = card.programming
    if prog.shape != "ramped":
        return []
    n = RAMP_BREAKPOINTS
    out = []
    for t, vp in zip(table["t_s"].to_numpy(float), table["V_p_V"].to_numpy(float)):
        if vp > 0:
            for e0 in (t, t + prog.rise_s + prog.pulse_width_s):
                out += [e0 + prog.rise_s * j / n for j in range(1, n)]
    return out


def breakpoint_sources(times: Sequence[float], stop_s: float) -> list:
    """Elements that give ngspice a breakpoint at each of ``times``: one one-shot PULSE current source of
    1e-30 A per breakpoint into a 1 ohm node of their own, which the circuit never sees. One source
    each: ngspice chains the later corners of a PULSE from the earlier ones and skips some (as it
    did for the drive edges, docs/flow.md); ngspice also drops breakpoints closer than its minimum spacing."""
    t = sorted(set(float(x) for x in times if 0.0 < x < stop_s))
    if not t:
        return []
    hold = 1e3 * max(stop_s, 1.0)
    out: list = [ISource(f"ibp{j}", "0", "bp", pulse=(0.0, 1e-30, x, 1e-9 * max(x, 1.0), 1e-9 * max(x, 1.0), hold, 2 * hold))
                 for j, x in enumerate(t)]
    out.append(Resistor("rbp", "bp", "0", 1.0))
    return out


def _breakpoints(card: Card, table: pd.DataFrame) -> list:
    return breakpoint_sources(decay_breakpoints(card) + ramp_breakpoints(card, table), card.stop_time_s)


def line_tau_s(card: Card, cells_per_line: int = 1) -> float:
    """RC time constant of a control-gate line: ``R_drv * cells * C_c (C_T - C_c) / C_T`` (s)."""
    d = card.device
    return card.programming.R_drv_ohm * cells_per_line * d.C_c_F * (d.C_T_F - d.C_c_F) / d.C_T_F


def _loads(card: Card, supplies: Sequence[Supply], probes: Sequence["TunnelProbe"], rows: int, cols: int
           ) -> tuple[Supply, ...]:
    """``supplies`` with their load models (see :class:`Supply`).

    KCL at cg and fg of one cell gives its resistor current ``C_eff V_cg' - kappa I_FN``
    and its bias-source current ``(1 - C_j/C_T) I_FN - C_j/(C_T - C_c) C_eff V_cg'``
    (``C_eff = C_c (C_T - C_c)/C_T``). A driver feeds ``cols`` lines of ``rows``
    cells; a tunnelling line sees ``1/rows`` of each driver's RC current.
    """
    d = card.device
    drivers = [s for s in supplies if s.drive or not s.name.startswith("vtun")]
    c_eff = d.C_c_F * (d.C_T_F - d.C_c_F) / d.C_T_F
    out = []
    for s in supplies:
        if s in drivers:
            cells = [p for p in probes if _half_of(s) == p.half]
            out.append(dataclasses.replace(
                s, tau_s=line_tau_s(card, rows), C_line_F=rows * c_eff, R_ohm=card.programming.R_drv_ohm,
                lines=cols, rc_terms=((s.name, 1.0),), fn_terms=tuple((p.current, -d.kappa) for p in cells)))
        else:
            cells = [p for p in probes if p.tun == s.v]
            ratio = d.C_j_F / (d.C_T_F - d.C_c_F) if d.C_T_F > d.C_c_F else 0.0
            out.append(dataclasses.replace(
                s, tau_s=line_tau_s(card, rows), rc_terms=tuple((drv.name, -ratio / rows) for drv in drivers),
                fn_terms=tuple((p.current, 1.0 - d.C_j_F / d.C_T_F) for p in cells)))
    return tuple(out)


def _half_of(s: Supply) -> str:
    """Which half a driver supply drives (``v(drv)`` of a lone cell: ``p``)."""
    name = s.v[len("v(drv"):-1]
    return name[:1] if name[:1] in ("p", "m") else "p"


def pulse_driver(card: Card, table: pd.DataFrame, half: str, top: str, prefix: str, invert: bool = False
                 ) -> tuple[list, Supply]:
    """A control-gate driver: an ideal voltage source whose value is the sum of one step per pulse edge.

    Each edge is a one-shot ``PULSE`` current source (ngspice registers its edge from
    its own delay, so none is skipped, unlike the chained breakpoints of one long PWL
    or PULSE source) into a 1 ohm summing resistor at node ``<top>_sum``; a VCVS of
    gain 1 copies that voltage to ``top``. Current sources add no unknowns to the
    circuit matrix, so a run with many updates stays cheap (a series chain of voltage
    sources added a node and a branch per edge: ngspice time grew with edges x time
    points). The supply seen by energy accounting is the VCVS: ``v(top)`` and its
    branch current; the summing network is an internal signal generator that the
    load never sees. With no pulses the driver is a 0 V source ``prefix``. ``invert`` drives
    the pulses to ``+V_p`` instead of ``-V_p`` (the hot-electron injector's drain).
    """
    pulses = edge_list(card, table, half)
    if invert:
        pulses = [(v1, -v2, *rest) for v1, v2, *rest in pulses]
    if not pulses:
        src = VSource(prefix, top, "0", dc_V=0.0)
        return [src], Supply(prefix, f"v({top})", f"i({prefix})", drive=((0.0, 0.0, 0.0),))
    base = prefix[1:] if prefix.startswith("v") else prefix
    total = f"{top}_sum"
    elements: list = [Resistor(f"r{base}_sum", total, "0", 1.0)]
    elements += [ISource(f"i{base}_{k + 1}", "0", total, pulse=pulse) for k, pulse in enumerate(pulses)]
    elements.append(VCVS(f"e{base}", top, "0", total, "0", 1.0))
    drive = tuple((float(pl[2]), float(pl[1] - pl[0]), float(pl[3])) for pl in pulses)
    return elements, Supply(f"e{base}", f"v({top})", f"i(e{base})", drive=drive)


def driver_ic_nodes(elements: Sequence) -> tuple[str, ...]:
    """Internal driver nodes that need an ``.ic`` (the summing nodes of :func:`pulse_driver`)."""
    return tuple(e.c_plus for e in elements if isinstance(e, VCVS))


def _drivers(card: Card, table: pd.DataFrame, suffix: str) -> tuple[list, list[Supply], dict[str, str]]:
    """Control-gate drivers (pulse driver + output resistance) for the + and - halves."""
    elements: list = []
    supplies: list[Supply] = []
    nodes: dict[str, str] = {}
    for half in ("p", "m"):
        chain, supply = pulse_driver(card, table, half, f"drv{half}{suffix}", f"vdrv{half}{suffix}")
        elements += chain + [Resistor(f"rdrv{half}{suffix}", f"drv{half}{suffix}", f"cg{half}{suffix}",
                                      card.programming.R_drv_ohm)]
        supplies.append(supply)
        nodes[half] = f"cg{half}{suffix}"
    return elements, supplies, nodes


def injector(card: Card, table: pd.DataFrame, fg: str, suffix: str = "") -> tuple[list, Supply, TunnelProbe]:
    """A hot-electron injector on gate ``fg`` with its drain driver (``decrease = "injection"``; docs/device.md s.11).

    The drive is the ideal pulse driver of :func:`pulse_driver` (inverted: to ``+V_ds``) straight on the
    drain node ``inj<suffix>``; its supply's load is the sensed channel current (``fn_terms``), so it
    carries the channel energy ``I_s V_ds``. The probe (``kind = "injection"``) has the drive as ``tun``
    and the gate it injects into as ``fg``.
    """
    dev = card.device
    node = f"inj{suffix}"
    chain, supply = pulse_driver(card, table, "i", node, f"vdrvi{suffix}", invert=True)
    inst = Instance(f"xinj{suffix}", "hei_injector", (fg, node),
                    (("is", dev.inj_I_s_A), ("beta", dev.inj_beta), ("vinj", dev.inj_V_inj_V)))
    supply = dataclasses.replace(supply, fn_terms=((f"i(v.xinj{suffix}.vsc)", 1.0),))
    probe = TunnelProbe(f"xinj{suffix}", f"i(v.xinj{suffix}.vsi)", f"v({node})", f"v({fg})", dev.C_T_F, "i",
                        kind="injection")
    return [*chain, inst], supply, probe


def _with_injector(card: Card, table: pd.DataFrame, tb: Testbench, fg: str) -> Testbench:
    """``tb`` plus an injector on ``fg`` when the card lowers weights by injection."""
    if card.programming.decrease != "injection":
        return tb
    elements, supply, probe = injector(card, table, fg)
    ics = tb.ic_V + tuple((n, 0.0) for n in ("inj", *driver_ic_nodes(elements)))
    saves = _unique(tb.saves + (probe.current, probe.tun, supply.v, supply.i, supply.fn_terms[0][0]))
    return dataclasses.replace(tb, elements=tb.elements + tuple(elements), ic_V=ics, saves=saves,
                               supplies=tb.supplies + (supply,), probes=tb.probes + (probe,))


def cell_testbench(card: Card, table: pd.DataFrame) -> Testbench:
    """One FN-DAM cell: tunnelling bias, a driver through R_drv on the control gate (and an injector
    for ``decrease = "injection"``)."""
    dev = card.device
    chain, drv = pulse_driver(card, table, "p", "drv", "vdrv")
    tun = VSource("vtun", "tun", "0", dc_V=dev.V_tun_V)
    elements = (tun, *chain, Resistor("rdrv", "drv", "cg", card.programming.R_drv_ohm),
                Instance("x1", "fndam_cell", ("cg", "tun", "fg"), device_params(dev)), *_breakpoints(card, table))
    probe = TunnelProbe("x1", "i(v.x1.xj.vsns)", "v(tun)", "v(fg)", dev.C_T_F, "p", "v(cg)", dev.C_c_F, dev.C_j_F)
    step, stop, tmax = _tran(card)
    supplies = _loads(card, (Supply("vtun", "v(tun)", "i(vtun)"), drv), (probe,), 1, 1)
    saves = _unique(("v(fg)", "v(cg)", probe.current) + _supply_vectors(supplies))
    tb = Testbench(f"lim-hw FN-DAM cell testbench: {card.name}", "cell", elements,
                   _ics(dev, ("fg",), ("tun",), ("drv", "cg", *driver_ic_nodes(chain))), _options(card),
                   step, stop, tmax, saves, supplies=supplies, probes=(probe,), params=deck_params(dev))
    return _with_injector(card, table, tb, "fg")


def synapse_testbench(card: Card, table: pd.DataFrame) -> Testbench:
    """One differential synapse (w = V(fgp) - V(fgm)) with a driver per half and a readout."""
    dev = card.device
    tun = VSource("vtun", "tun", "0", dc_V=dev.V_tun_V)
    drivers, drv_supplies, cg = _drivers(card, table, "")
    syn = Instance("xs", "fn_synapse", (cg["p"], cg["m"], "tun", "fgp", "fgm"), device_params(dev))
    readout = Instance("xro", "diff_readout", ("fgp", "fgm", "w"))
    elements = (tun, *drivers, syn, readout, *_breakpoints(card, table))
    probes = (TunnelProbe("xs.xp", "i(v.xs.xp.xj.vsns)", "v(tun)", "v(fgp)", dev.C_T_F, "p", "v(cgp)",
                          dev.C_c_F, dev.C_j_F),
              TunnelProbe("xs.xm", "i(v.xs.xm.xj.vsns)", "v(tun)", "v(fgm)", dev.C_T_F, "m", "v(cgm)",
                          dev.C_c_F, dev.C_j_F))
    step, stop, tmax = _tran(card)
    supplies = _loads(card, (Supply("vtun", "v(tun)", "i(vtun)"), *drv_supplies), probes, 1, 1)
    saves = _unique(("v(fgp)", "v(fgm)", "v(w)", "v(cgp)", "v(cgm)") + tuple(p.current for p in probes)
                    + _supply_vectors(supplies))
    tb = Testbench(f"lim-hw differential synapse testbench: {card.name}", "synapse", elements,
                   _ics(dev, ("fgp", "fgm"), ("tun",), ("drvp", "drvm", "cgp", "cgm", *driver_ic_nodes(drivers))),
                   _options(card), step, stop, tmax, saves, supplies=supplies, probes=probes,
                   params=deck_params(dev))
    return _with_injector(card, table, tb, "fgp")


def array_testbench(card: Card, table: pd.DataFrame, rows: int, cols: int,
                    mismatch: Mapping[tuple[int, int, str], Mapping[str, float]] | None = None,
                    col_offset: int = 0) -> Testbench:
    """rows x cols differential synapses sharing row tunnelling lines and column program lines.

    ``mismatch[(r, c, half)]`` may override ``tox_m``/``area_m2`` of one cell.
    Row r has tunnelling source ``vtun<r>``; the pulse drivers ``edrvp``/``edrvm``
    feed column c through ``rdrvp<c>``/``rdrvm<c>``; cell (r, c, half) is instance ``xr<r>c<c><half>`` with floating
    gate ``fg<half>_<r>_<c>``. ``col_offset`` numbers columns of a block of a
    larger array so that blocks keep their global names.
    """
    if rows < 1 or cols < 1:
        raise ValueError("an array needs at least 1 row and 1 column")
    if card.programming.decrease == "injection":
        from ..errors import InputError

        raise InputError("[programming] decrease = \"injection\" is implemented for the cell and synapse "
                         "testbenches; simulate an array with decrease = \"pair\"")
    dev = card.device
    mismatch = mismatch or {}
    elements: list = []
    supplies: list[Supply] = []
    probes: list[TunnelProbe] = []
    ics: list[tuple[str, float]] = []
    saves: list[str] = []
    for r in range(rows):
        elements.append(VSource(f"vtun{r}", f"tun{r}", "0", dc_V=dev.V_tun_V))
        supplies.append(Supply(f"vtun{r}", f"v(tun{r})", f"i(vtun{r})"))
        ics.append((f"tun{r}", dev.V_tun_V))
    # Every column gets the same pulses, so one ideal pulse driver per half feeds all
    # columns, each through its own output resistance: electrically identical to a
    # driver per column, with cols times fewer sources.
    for half in ("p", "m"):
        chain, supply = pulse_driver(card, table, half, f"drv{half}", f"vdrv{half}")
        elements += chain
        supplies.append(supply)
        ics += [(f"drv{half}", 0.0)] + [(n, 0.0) for n in driver_ic_nodes(chain)]
    for c in range(col_offset, col_offset + cols):
        for half in ("p", "m"):
            elements.append(Resistor(f"rdrv{half}{c}", f"drv{half}", f"cg{half}{c}", card.programming.R_drv_ohm))
            ics.append((f"cg{half}{c}", 0.0))
        for r in range(rows):
            for half in ("p", "m"):
                inst = f"xr{r}c{c}{half}"
                fg = f"fg{half}_{r}_{c}"
                params = device_params(dev, **mismatch.get((r, c, half), {}))
                elements.append(Instance(inst, "fndam_cell", (f"cg{half}{c}", f"tun{r}", fg), params))
                ics.append((fg, dev.V_fg0_V))
                probes.append(TunnelProbe(inst, f"i(v.{inst}.xj.vsns)", f"v(tun{r})", f"v({fg})",
                                          dev.C_T_F, half, f"v(cg{half}{c})", dev.C_c_F, dev.C_j_F))
                saves += [f"v({fg})", f"i(v.{inst}.xj.vsns)", f"v(cg{half}{c})"]
    step, stop, tmax = _tran(card)
    supplies = list(_loads(card, supplies, probes, rows, cols))
    elements += _breakpoints(card, table)
    saves += _supply_vectors(supplies)
    return Testbench(f"lim-hw {rows}x{cols} FN-DAM synapse array: {card.name}", "array",
                     tuple(elements), tuple(ics), _options(card), step, stop, tmax, _unique(saves),
                     supplies=tuple(supplies), probes=tuple(probes), params=deck_params(dev))


def _supply_vectors(supplies: Sequence[Supply]) -> tuple[str, ...]:
    return tuple(vec for s in supplies for vec in (s.v, s.i))


def _unique(items: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _ics(dev: DeviceParams, fgs: Sequence[str], tuns: Sequence[str], grounded: Sequence[str]
         ) -> tuple[tuple[str, float], ...]:
    """Initial node voltages for ``uic``: every node given, so no capacitor starts from 0 V by accident."""
    return (tuple((n, dev.V_fg0_V) for n in fgs) + tuple((n, dev.V_tun_V) for n in tuns)
            + tuple((n, 0.0) for n in grounded))


def build_testbench(card: Card, table: pd.DataFrame, kind: str = "cell",
                    array: Sequence[int] | None = None) -> Testbench:
    """Dispatch on ``kind`` (cell, synapse) or an ``array = (rows, cols)``."""
    if array is not None:
        return array_testbench(card, table, int(array[0]), int(array[1]))
    if kind == "cell":
        return cell_testbench(card, table)
    if kind == "synapse":
        return synapse_testbench(card, table)
    raise ValueError(f"unknown testbench kind {kind!r}")
