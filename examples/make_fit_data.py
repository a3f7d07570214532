#!/usr/bin/env python3
"""Regenerate the example fit data in examples/data/ from the project's own ngspice runs.

    .venv/bin/python examples/make_fit_data.py          # ~5 s, needs ngspice

Four files, each with '#' comment lines saying how it was made and what the
true parameters are (so a fit can be checked against them). All use the default
card's FN law: the thermal factor at the stated temperature (docs/device.md s.6).

- ``decay_ngspice.csv`` (time_s, V_ox_V): retention run of the FN-DAM cell
  testbench (``lim_hw.netlist.spec.cell_testbench`` of a retention card:
  schedule.n_updates = 0, duration 1e6 s, 300 K) for a device under test with
  t_ox = 11.5 nm, area = 1.2 um^2, C_T = 100 fF, V0 = 8.2 V; V_ox = v(tun) - v(fg)
  read at 60 log-spaced times 10 s .. 1e6 s (linear interpolation of the
  simulator's points) plus 100 uV rms Gaussian readout noise.
- ``decay_T_ngspice.csv`` (time_s, V_ox_V, T_K): two retention traces of one device
  (t_ox = 11.5 nm, area = 1.2 um^2, phi_B = 3.1 eV, m_eff = 0.42, V0 = 8.2 V) at
  300 K and 360 K (ngspice ``.options temp``), 60 points each, 100 uV rms noise: the
  temperature dependence of the thermal factor determines phi_B (docs/fitting.md).
- ``iv_ngspice.csv`` (voltage_V, current_A): DC sweep 10..16 V in 0.25 V steps of
  the ``fn_junction`` subcircuit (circuits/lim_hw.lib) with t_ox = 12 nm,
  area = 1 um^2, phi_B = 3.1 eV, m_eff = 0.45 at 300 K (thermal factor on); the
  current i(v.x1.vsns) times (1 + 0.02 N(0,1)): 2 % multiplicative noise.
- ``pulse_ngspice.csv`` (t_pulse_s, dV_V): the cell testbench (default card but
  area = 1.2 um^2) with 24 identical control-gate pulses of 3 V, 10 ms, 1 us edges
  at log-spaced times 10 s .. 3e4 s; dV_V is the floating-gate step across each
  pulse window (v(fg) 1 us after the window minus v(fg) at its start) minus the
  natural decay over the same interval (closed form), plus 35 uV rms Gaussian
  noise (a 100 uV rms readout averaged over 16 samples before and after the pulse:
  100/sqrt(16) * sqrt(2)).

The noise generator is numpy's default_rng with the seeds below. Simulation goes
through lim_hw.sim.simulate when that API exists, else ``ngspice -b -r``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from lim_hw.device.card import default_card
from lim_hw.device.fn import fn_coefficients
from lim_hw.fit.insim import retention_card, run_ngspice_deck, run_testbench, simulate_retention_V_ox
from lim_hw.netlist.render import LIBRARY_FILE
from lim_hw.netlist.spec import cell_testbench
from lim_hw.netlist.synthesis import FGModel
from lim_hw.outputs import write_text_atomic
from lim_hw.provenance import versions

OUT = Path(__file__).resolve().parent / "data"
SEEDS = {"decay": 20240501, "iv": 20240502, "pulse": 20240503, "decay_T": 20240504}


def _write(name: str, df: pd.DataFrame, comments: list[str]) -> Path:
    head = "".join(f"# {c}\n" for c in comments)
    head += "# " + " ".join(f"{k}={v}" for k, v in versions().items() if k != "platform") + "\n"
    body = df.to_csv(index=False, float_format="%.10g", lineterminator="\n")
    return write_text_atomic(OUT / name, head + body)


def make_decay() -> Path:
    true = {"tox_m": 11.5e-9, "area_m2": 1.2e-12, "V0_V": 8.2}
    card = retention_card(default_card(), true, 1e6)
    t = np.geomspace(10.0, 1e6, 60)
    V, info = simulate_retention_V_ox(card, t)
    rng = np.random.default_rng(SEEDS["decay"])
    Vn = V + rng.normal(0.0, 100e-6, t.size)
    d = card.device
    return _write("decay_ngspice.csv", pd.DataFrame({"time_s": t, "V_ox_V": Vn}), [
        "FN-DAM retention trace (V_ox = v(tun) - v(fg)) simulated by ngspice; made by examples/make_fit_data.py",
        f"true device: tox_m={d.tox_m:g} area_m2={d.area_m2:g} C_T_F={d.C_T_F:g} V0_V={d.V0_V:g} "
        f"phi_B_eV={d.phi_B_eV:g} m_eff={d.m_eff:g} (so area/C_T = {d.area_m2 / d.C_T_F:g} m^2/F), "
        f"FN law {d.law.name} at T_K={d.T_K:g}",
        f"noise: 100e-6 V rms Gaussian readout noise added (numpy default_rng seed {SEEDS['decay']})",
        f"simulator: {info['backend']} ({info['ngspice']}), {info['n_time_points']} time points, "
        "V read by linear interpolation",
        "fit: lim-hw fit examples/data/decay_ngspice.csv --model decay --sigma 1e-4 -o fitted.toml --report rep",
    ])


def make_decay_T() -> Path:
    true = {"tox_m": 11.5e-9, "area_m2": 1.2e-12, "V0_V": 8.2, "phi_B_eV": 3.1}
    rng = np.random.default_rng(SEEDS["decay_T"])
    frames, info = [], {}
    for T in (300.0, 360.0):
        card = retention_card(default_card(), {**true, "T_K": T}, 1e6)
        t = np.geomspace(10.0, 1e6, 60)
        V, info = simulate_retention_V_ox(card, t)
        frames.append(pd.DataFrame({"time_s": t, "V_ox_V": V + rng.normal(0.0, 100e-6, t.size), "T_K": T}))
    return _write("decay_T_ngspice.csv", pd.concat(frames, ignore_index=True), [
        "FN-DAM retention traces of one device at two temperatures (ngspice .options temp), one trace per T_K; "
        "made by examples/make_fit_data.py",
        "true device: tox_m=1.15e-08 area_m2=1.2e-12 C_T_F=1e-13 V0_V=8.2 phi_B_eV=3.1 m_eff=0.42, thermal FN law",
        f"noise: 100e-6 V rms Gaussian readout noise (numpy default_rng seed {SEEDS['decay_T']})",
        f"simulator: {info['backend']} ({info['ngspice']}), V read by linear interpolation",
        "fit: lim-hw fit examples/data/decay_T_ngspice.csv --model decay --sigma 1e-4 -o fitted.toml "
        "(phi_B_eV, tox_m, area_m2, V0_V fitted jointly)",
    ])


def make_iv() -> Path:
    phi, meff, tox, area = 3.1, 0.45, 12e-9, 1e-12
    A, B = fn_coefficients(phi, meff)
    deck = "\n".join([
        "* lim-hw example: FN I-V of the fn_junction subcircuit (DC sweep, thermal FN law at 300 K)",
        f'.include "{LIBRARY_FILE}"',
        "vtun tun 0 dc 0",
        f"x1 tun 0 fn_junction tox={tox!r} area={area!r} phib={phi!r} meff={meff!r} thermal=1",
        ".options abstol=1e-21 reltol=1e-9 temp=26.85",
        ".dc vtun 10 16 0.25",
        ".save v(tun) i(v.x1.vsns)",
        ".end", ""])
    V, cols, ver = run_ngspice_deck(deck, 60.0)
    I = cols["i(v.x1.vsns)"]
    rng = np.random.default_rng(SEEDS["iv"])
    In = I * (1.0 + 0.02 * rng.standard_normal(I.size))
    return _write("iv_ngspice.csv", pd.DataFrame({"voltage_V": V, "current_A": In}), [
        "FN I-V curve of the fn_junction subcircuit, ngspice DC sweep; made by examples/make_fit_data.py",
        f"true junction: tox_m={tox:g} area_m2={area:g} phi_B_eV={phi:g} m_eff={meff:g} "
        f"(A={A:.6g} A/V^2, B={B:.6g} V/m), thermal FN factor at T = 300 K",
        f"noise: 2 % multiplicative Gaussian noise on the current (numpy default_rng seed {SEEDS['iv']})",
        f"simulator: ngspice -b -r ({ver})",
        "fit: lim-hw fit examples/data/iv_ngspice.csv --model iv --sigma 0.02 -o fitted.toml --report rep "
        "(tox_m and area_m2 of the default card match this junction)",
    ])


def make_pulse() -> Path:
    area, V_p, n = 1.2e-12, 3.0, 24
    t_pulse = np.geomspace(10.0, 3e4, n)
    # 1 us edges and max_step 1 s: with 1 ns edges ngspice 39 stops with "timestep too small" at the
    # first edge of sparse, log-spaced pulses (the flow's evenly spaced pulses are not affected)
    card = retention_card(default_card(), {"area_m2": area}, 3.2e4).with_updates(
        programming={"rise_s": 1e-6}, simulation={"max_step_s": 1.0})
    prog = card.programming
    table = pd.DataFrame({"t_s": t_pulse, "V_p_V": V_p, "half": "p"})
    tb = cell_testbench(card, table)
    time_s, cols, info = run_testbench(tb, ("v(tun)", "v(fg)"), 600.0)
    vfg = cols["v(fg)"]
    vox = cols["v(tun)"] - vfg
    model = FGModel.from_card(card)
    window = prog.pulse_width_s + 2 * prog.rise_s
    t_a, t_b = t_pulse, t_pulse + window + 1e-6
    fg_a, fg_b = np.interp(t_a, time_s, vfg), np.interp(t_b, time_s, vfg)
    vox_a = np.interp(t_a, time_s, vox)
    natural = np.asarray(model.drop_V(vox_a, t_b - t_a))      # free decay raises v(fg) by this much
    dV = fg_b - fg_a - natural
    rng = np.random.default_rng(SEEDS["pulse"])
    dVn = dV + rng.normal(0.0, 35e-6, dV.size)
    return _write("pulse_ngspice.csv", pd.DataFrame({"t_pulse_s": t_pulse, "dV_V": dVn}), [
        "FN-DAM programming response simulated by ngspice: floating-gate step beyond natural decay per pulse; "
        "made by examples/make_fit_data.py",
        f"true device: default card with area_m2={area:g} (tox_m={card.device.tox_m:g} C_T_F={card.device.C_T_F:g} "
        f"C_c_F={card.device.C_c_F:g} V0_V={card.device.V0_V:g}); pulses V_p={V_p:g} V, "
        f"width {prog.pulse_width_s:g} s, edges {prog.rise_s:g} s",
        f"noise: 35e-6 V rms Gaussian on each step (numpy default_rng seed {SEEDS['pulse']})",
        f"simulator: {info['backend']} ({info['ngspice']})",
        "fit: lim-hw fit examples/data/pulse_ngspice.csv --model pulse --sigma 35e-6 -o fitted.toml --report rep",
    ])


def main() -> int:
    for fn in (make_decay, make_decay_T, make_iv, make_pulse):
        print(f"wrote {fn()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
