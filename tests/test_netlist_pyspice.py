"""The PySpice bridge: a converted testbench simulates exactly like the native rendering."""

from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp

from lim_hw.device.card import default_card
from lim_hw.device.floating_gate import device_voltage_V
from lim_hw.device.fn import fn_current_A
from lim_hw.netlist import generate
from lim_hw.netlist.pyspice import pyspice_deck, to_pyspice
from lim_hw.sim import simulate


def test_pyspice_round_trip_gives_identical_waveforms():
    card = default_card().with_updates(schedule={"n_updates": 3})
    art = generate(card)
    tb = art.testbench
    circuit = to_pyspice(tb)
    text = str(circuit)
    assert "fndam_cell" in text and "PULSE(" in text
    native = simulate(art.deck(), ("v(fg)", "i(edrv)"))
    bridged = simulate(pyspice_deck(circuit, tb), ("v(fg)", "i(edrv)"))
    grid = np.linspace(1.0, 1030.0, 2000)
    for v in ("v(fg)", "i(edrv)"):
        a = np.interp(grid, native.time_s, native[v])
        b = np.interp(grid, bridged.time_s, bridged[v])
        assert np.max(np.abs(a - b)) <= 1e-9 * np.max(np.abs(a)) + 1e-30, v


def test_user_extension_through_pyspice_changes_the_result():
    """A designer adds a leakage resistor on the floating gate with PySpice; the gate then moves."""
    card = default_card().with_updates(schedule={"n_updates": 0}, simulation={"duration_s": 100.0})
    art = generate(card)
    circuit = to_pyspice(art.testbench)
    circuit.R("leak", "fg", circuit.gnd, 1e15)  # 1 POhm to ground: tau = 1e15 * 100 fF = 100 s
    base = simulate(art.deck(), ("v(fg)",))
    leaky = simulate(pyspice_deck(circuit, art.testbench), ("v(fg)",))
    # Without the leak the gate follows the FN law's trajectory (thermal factor at T_K; it rises
    # ~23 mV in 100 s). With it, C_T dV_fg/dt = I_FN(V_tun - V_fg) - V_fg / R: solved independently
    # with scipy (rtol 1e-10).
    d = card.device
    v_cf = d.V_tun_V - device_voltage_V(d, base.time_s[-1])
    assert abs(base["v(fg)"][-1] - v_cf) < 1e-6
    def rhs(_t, y):
        return [(fn_current_A(d.V_tun_V - y[0], d.tox_m, d.area_m2, T_K=d.T_K) - y[0] / 1e15) / d.C_T_F]

    t_end = leaky.time_s[-1]
    ref = solve_ivp(rhs, (0.0, t_end), [d.V_fg0_V], method="LSODA", rtol=1e-10, atol=1e-12).y[0, -1]
    assert leaky["v(fg)"][-1] < 1.5  # the leak matters: the gate moved by more than 0.5 V
    assert abs(leaky["v(fg)"][-1] - ref) < 1e-4
