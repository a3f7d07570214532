"""What the synthesis needs from the sky130 cell, measured by ngspice on the actual netlist.

:func:`small_signal` runs an AC analysis (1 MHz) of the cell testbench at its rest
operating point (control gate at the driver rail) and at its programming operating
point (control gate pulled to ground), with the floating gate biased through 1e15 ohm.
Kirchhoff's law at the floating gate, jw (C_T V_fg - sum_k C_k V_k) = I_fg, with one
excitation per terminal k (a current into the floating gate, a current into the control
gate, 1 V on the tunnelling, read-source and read-drain supplies) gives the total
capacitance C_T and the capacitance to every terminal: C_c (coupling, kappa = C_c/C_T), C_j
(tunnelling junction = the MOS capacitor), C_rs, C_rd (readout transistor) and the rest
to ground. :func:`calibrate` then runs one programming window through the real level
shifter and driver and measures the large-signal step of the oxide voltage (kappa_ls),
the effective pulse width and the energy per pulse of every supply (docs/pdk.md).
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ...device.card import Card
from ...energy.integrate import delivered_power_W, windowed_integrals
from ...errors import InputError
from ...netlist.render import _element
from ...netlist.validate import spice_number
from ...sim.batch import run_script
from ...sim.control import save_commands
from .cell import SEG_LEAD_S, build_testbench
from .render import FN_LIBRARY, SKY130_LIBRARY
from .run import simulate_testbench

AC_FREQ_HZ = 1e6
R_BIAS_OHM = 1e15
TERMINALS = ("cg", "tun", "rs", "rd")


@dataclass(frozen=True)
class SmallSignal:
    """Capacitances (F) at one operating point: total, and to each terminal (the rest to ground)."""

    C_T_F: float
    C_k_F: dict[str, float]

    @property
    def C_gnd_F(self) -> float:
        return self.C_T_F - sum(self.C_k_F.values())

    @property
    def kappa(self) -> float:
        return self.C_k_F["cg"] / self.C_T_F


@dataclass(frozen=True)
class Calibration:
    """One programming window through the real driver (measured by ngspice).

    ``kappa_ls``: oxide-voltage step / control-gate swing; ``dw_s``: effective flat top minus
    the logic pulse width; ``energy_J``: drawn energy per pulse of each supply category
    (``drv``, ``drv_sc``, ``ls``, ``logic``, ``tun``); ``N_window``: electrons in the window;
    ``w_s``: the logic width used; ``V_swing_V``: the control-gate swing.
    """

    kappa_ls: float
    dw_s: float
    energy_J: dict[str, float]
    N_window: float
    w_s: float
    V_swing_V: float
    t_fall_s: float
    t_rise_s: float
    level_shift_ok: bool


@dataclass(frozen=True)
class Sky130Design:
    """The sky130 cell as the synthesis sees it at one corner (all measured, SI).

    ``rest``/``pulse``: small-signal capacitances at the operating points of the updates
    (floating gate where the first update finds it; control gate at the rail / at ground);
    ``C_T_initial_F``: the mean C_T over the free decay before the first update (the
    readout transistor near threshold makes C_T move by ~0.3 % per 0.2 V there).
    """

    corner: str
    tox_m: float
    toxmm: float
    area_m2: float
    rest: SmallSignal
    pulse: SmallSignal
    calibration: Calibration | None = None
    provenance: dict = field(default_factory=dict)
    C_T_initial_F: float = 0.0   # mean C_T over the decay before the first update (0: rest.C_T_F)

    @property
    def kappa_ls(self) -> float:
        return self.calibration.kappa_ls if self.calibration else self.rest.kappa

    @property
    def dw_s(self) -> float:
        return self.calibration.dw_s if self.calibration else 0.0

    def summary(self) -> dict:
        """Plain numbers for summary.json."""
        out = {"corner": self.corner, "tox_m": self.tox_m, "toxe_mismatch_slope": self.toxmm,
               "area_m2": self.area_m2, "C_T_F": self.rest.C_T_F, "C_T_pulse_F": self.pulse.C_T_F,
               "kappa": self.rest.kappa, "kappa_pulse": self.pulse.kappa, "kappa_ls": self.kappa_ls,
               "C_c_F": self.rest.C_k_F["cg"], "C_j_F": self.rest.C_k_F["tun"],
               "C_rs_F": self.rest.C_k_F["rs"], "C_rd_F": self.rest.C_k_F["rd"], "C_gnd_F": self.rest.C_gnd_F,
               "dw_s": self.dw_s, "C_T_initial_F": self.C_T_initial_F or self.rest.C_T_F}
        if self.calibration:
            out["energy_per_pulse_J"] = dict(self.calibration.energy_J)
            out["calibration_w_s"] = self.calibration.w_s
        return out


_PRINT = re.compile(r"(lim_[a-z0-9_]+)\s*=\s*([-+0-9.eE]+)")
_PROGRESS = re.compile(r"[ \t]*Reference value[ \t]*:[ \t]*[-+0-9.eE]+[ \t]*\r?")


def printed(log: str) -> dict[str, float]:
    """``name = value`` results a control script printed, from the raw ngspice log.

    ngspice writes its progress ("Reference value : ...\\r") asynchronously, even into the
    middle of a printed line ("l<progress>im_x = 1"), so the progress is cut out first.
    """
    return {k: float(v) for k, v in _PRINT.findall(_PROGRESS.sub("", log))}


def small_signal(card: Card, subset, fn, toxmm: float, V_fg_rest_V, V_fg_pulse_V: float
                 ) -> tuple:
    """AC extraction at rest operating points (one or several floating-gate voltages ``V_fg_rest_V``)
    and at the programming operating point, in one ngspice run: ``(rest..., pulse)``."""
    rest_biases = [float(v) for v in np.atleast_1d(V_fg_rest_V)]
    table = pd.DataFrame({"n": [1], "t_s": [card.programming.first_update_s], "half": ["p"], "w_s": [0.0]})
    tb = build_testbench(card, table, [(0, 0, "p")], "cell", subset, fn, toxmm, 1.0)
    fg, cg = "fgp_0_0", "cgp0"
    lines = [f"* lim-hw sky130 small-signal extraction: {card.name}", tb.model_text.rstrip("\n"),
             f'.include "{FN_LIBRARY}"', f'.include "{SKY130_LIBRARY}"']
    lines += [_element(e) for e in tb.elements]
    lines += [f"rhx {fg} hs0 {spice_number(R_BIAS_OHM)}", f"iacf 0 {fg} dc 0 ac 0", f"iacc 0 {cg} dc 0 ac 0"]
    lines.append(".options " + " ".join(f"{k}={v if isinstance(v, str) else spice_number(v)}" for k, v in tb.options))
    exc = {"f": "iacf", "cg": "iacc", "tun": "vtun0", "rs": "vrs", "rd": "vrd"}
    ctl = [".control", "set noaskquit", "set numdgt=15"]
    V = card.technology.V_logic_V
    states = [(f"r{k}", v) for k, v in enumerate(rest_biases)] + [("p", V_fg_pulse_V)]
    for state, vfg in states:
        ctl.append(f"alter vhs0 dc = {spice_number(vfg)}")
        if state == "p":
            ctl += [f"alter @vin0p[pulse] = [ {V} {V} 1 1e-9 1e-9 1 2 ]", "alter @vinb0p[pulse] = [ 0 0 1 1e-9 1e-9 1 2 ]"]
        for key, src in exc.items():
            ctl.append(f"alter {src} acmag = 1")
            ctl.append(f"ac lin 1 {spice_number(AC_FREQ_HZ)} {spice_number(AC_FREQ_HZ)}")
            for node, tag in ((fg, "f"), (cg, "c")):
                ctl.append(f"let lim_{state}{key}_{tag}_re = real(v({node}))")
                ctl.append(f"let lim_{state}{key}_{tag}_im = imag(v({node}))")
                ctl.append(f"print lim_{state}{key}_{tag}_re lim_{state}{key}_{tag}_im")
            ctl.append(f"alter {src} acmag = 0")
        ctl.append(f"let lim_{state}_vcg = v({cg})")
        ctl.append("op")
        ctl.append(f"let lim_{state}_cgdc = v({cg})")
        ctl.append(f"print lim_{state}_cgdc")
    ctl += ["quit", ".endc", ".end"]
    deck = "\n".join(lines + ctl) + "\n"
    _, log, _ = run_script(deck, [], timeout_s=card.simulation.timeout_s, defines=tb.defines)
    got = printed(log)
    out = []
    w = 2 * math.pi * AC_FREQ_HZ
    for state, _ in states:
        def ph(key: str, tag: str) -> complex:
            try:
                return complex(got[f"lim_{state}{key}_{tag}_re"], got[f"lim_{state}{key}_{tag}_im"])
            except KeyError:
                raise InputError(f"the sky130 small-signal extraction printed no {state}{key}/{tag} result; "
                                 "ngspice log: " + " ".join(log.split()[-30:])) from None
        r = ph("cg", "f") / ph("cg", "c")                      # kappa with fg floating
        C_T = (1.0 / (1j * w * (ph("f", "f") - r * ph("f", "c")))).real
        C_c = (r * C_T).real
        C_k = {"cg": C_c}
        for key in ("tun", "rs", "rd"):
            C_k[key] = (C_T * ph(key, "f") - C_c * ph(key, "c")).real
        if not (C_T > 0 and all(math.isfinite(v) for v in C_k.values())):
            raise InputError(f"the sky130 small-signal extraction gave C_T = {C_T:g} F; check the [technology] sizes")
        out.append(SmallSignal(float(C_T), {k: float(v) for k, v in C_k.items()}))
    return tuple(out)


def calibrate(card: Card, subset, fn, toxmm: float, V_ox_V: float, w_s: float, C_T_F: float,
              model_n) -> Calibration:
    """One programming window of logic width ``w_s`` from oxide voltage ``V_ox_V`` through the real driver.

    ``model_n(w_eff) -> electrons in the window`` is the synthesis model; the effective
    width is where it matches ngspice. Raises InputError if the level shifter does not
    switch the driver (a rail too low for it at this corner).
    """
    t = card.technology
    cal_card = card.with_updates(device={"V0_V": V_ox_V}, programming={"first_update_s": SEG_LEAD_S})
    table = pd.DataFrame({"n": [1], "t_s": [SEG_LEAD_S], "half": ["p"], "w_s": [w_s]})
    tb = build_testbench(cal_card, table, [(0, 0, "p")], "cell", subset, fn, toxmm, C_T_F)
    window = tb.segments[[s.update for s in tb.segments].index(0)]
    tb = dataclasses.replace(tb, segments=(window,))
    sim, _ = simulate_testbench(cal_card, tb, table)
    tt = sim.time_s
    cg = sim[tb.drivers[0][1]["cg"]]
    fg = sim["v(fgp_0_0)"]
    V_rail = t.V_drv_V
    lo, end = float(np.min(cg)), float(cg[-1])
    ok = lo < 0.05 * V_rail and end > 0.95 * V_rail
    if not ok:
        what = (f"do not pull the control gate low (it reaches {lo:.3g} V)" if lo >= 0.05 * V_rail else
                f"do not bring the control gate back to the rail after the pulse (it ends at {end:.3g} V)")
        raise InputError(f"the sky130 level shifter and driver {what}: the level shifter cannot switch at corner "
                         f"{t.corner} with V_drv_V = {V_rail:g} V and these sizes; raise [technology] V_drv_V (the "
                         "g5v0d10v5 devices take up to 5.5 V), widen W_ls_n_m or weaken W_ls_p_m/L_ls_p_m")
    half = 0.5 * V_rail
    below = np.nonzero(cg < half)[0]
    t_fall, t_rise = float(tt[below[0]]), float(tt[below[-1] + 1])
    i_before = max(int(np.searchsorted(tt, SEG_LEAD_S * 0.9)) - 1, 0)
    t_after = t_fall + min(0.25 * (t_rise - t_fall), 50e-9)
    V_fg_before, V_fg_after = fg[i_before], float(np.interp(t_after, tt, fg))
    cg_before, cg_after = cg[i_before], float(np.interp(t_after, tt, cg))
    kappa_ls = float((V_fg_before - V_fg_after) / (cg_before - cg_after))
    t_a, t_b = tb.windows[0]
    N = float(windowed_integrals(tt, sim[tb.probes[0].current], [t_a], [t_b], log_mean=True)[0]) / 1.602176634e-19
    energy = {}
    d = tb.drivers[0][1]
    for key, (v, i) in {"drv": (d["v"], d["i"]), "ls": ("v(vls0p)", d["ls_i"]), "logic_in": d["in"],
                        "logic_inb": d["inb"], "tun": ("v(tun0)", "i(vtun0)")}.items():
        p = delivered_power_W(sim[v], sim[i])
        energy[key] = float(windowed_integrals(tt, p, [t_a], [t_b], positive=True)[0])
    energy["logic"] = energy.pop("logic_in") + energy.pop("logic_inb")
    energy["net"] = float(sum(windowed_integrals(tt, delivered_power_W(sim[s.v], sim[s.i]), [t_a], [t_b])[0]
                              for s in tb.supplies))
    if tb.read_windows:
        r_a, r_b = tb.read_windows[0]
        energy["read"] = float(sum(windowed_integrals(tt, delivered_power_W(sim[s.v], sim[s.i]), [r_a], [r_b],
                                                      positive=True)[0] for s in tb.read_supplies))
    i_p = np.maximum(-sim[d["i"]], 0.0)
    i_n = np.maximum(sim[d["i_n"]], 0.0)
    energy["drv_sc"] = float(windowed_integrals(tt, sim[d["v"]] * np.minimum(i_p, i_n), [t_a], [t_b])[0])
    w_eff = solve_width(model_n, N, w_s)
    return Calibration(kappa_ls, w_eff - w_s, energy, N, w_s, float(cg_before - cg_after), t_fall, t_rise, ok)


def solve_width(model_n, N_target: float, w_guess: float) -> float:
    """The width ``w`` (s) with ``model_n(w) = N_target`` (Brent, bracket grown from ``2 w_guess``)."""
    from ...netlist.rootfind import brent_root

    lo, hi = 0.0, max(2 * w_guess, 1e-9)
    while model_n(hi) < N_target and hi < 1e3:
        hi *= 2
    return brent_root(lambda w: model_n(w) - N_target, lo, hi, xtol=1e-15, rtol=1e-12)
