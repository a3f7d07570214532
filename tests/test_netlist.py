"""Netlist generation: synthesis round trip, golden reference netlists, real ngspice runs, injection."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from lim_hw.constants import q_C
from lim_hw.device.card import default_card
from lim_hw.device.floating_gate import decay_voltage_after_V, fg_dVdt_V_per_s
from lim_hw.errors import InputError, NetlistInjectionError
from lim_hw.netlist import generate, render, synthesize
from lim_hw.netlist.reference import NETLISTS_DIR, reference_texts
from lim_hw.netlist.spec import VCVS, Instance, ISource, Resistor, VSource, cell_testbench
from lim_hw.netlist.spec import Testbench as Bench
from lim_hw.netlist.validate import spice_name, spice_number, spice_path
from lim_hw.sim import simulate

ROOT = Path(__file__).resolve().parents[1]


def _dev_args(card):
    """The device module's arguments for the card's cell, with its FN law (thermal by default)."""
    d = card.device
    return dict(tox_m=d.tox_m, area_m2=d.area_m2, C_T_F=d.C_T_F, phi_B_eV=d.phi_B_eV, m_eff=d.m_eff,
                T_K=d.T_K if d.law.thermal else None, image_force=d.image_force)


def test_synthesis_round_trip_rectangular():
    """The synthesised amplitude, replayed through the device module's closed form, moves N_target."""
    card = default_card()
    table = synthesize(card)
    p, d = card.programming, card.device
    kw = _dev_args(card)
    for rec in table.itertuples():
        kV = d.kappa * rec.V_p_V
        V = decay_voltage_after_V(rec.V_ox_before_V, p.rise_s / 2, **kw) + kV
        V = decay_voltage_after_V(V, p.pulse_width_s + p.rise_s, **kw) - kV
        V = decay_voltage_after_V(V, p.rise_s / 2, **kw)
        V_nat = decay_voltage_after_V(rec.V_ox_before_V, p.pulse_width_s + 2 * p.rise_s, **kw)
        N = d.C_T_F * (V_nat - V) / q_C
        assert N == pytest.approx(rec.N_target, rel=1e-6)
        assert rec.dV_fg_pred_V == pytest.approx(rec.N_target * q_C / d.C_T_F, rel=1e-6)


def test_synthesis_round_trip_ramped_against_ode():
    """Ramped pulses: an independent ODE solve of the whole pulse reproduces N_target (1e-4)."""
    card = default_card().with_updates(programming={"shape": "ramped", "rise_s": 1e-3},
                                       schedule={"n_updates": 3})
    table = synthesize(card)
    p, d = card.programming, card.device
    kw = _dev_args(card)
    for rec in table.itertuples():
        kV = d.kappa * rec.V_p_V
        T = p.pulse_width_s + 2 * p.rise_s

        def drive(t):  # oxide-voltage shift from the control gate (V/s), trapezoid in time
            return kV / p.rise_s if t < p.rise_s else (-kV / p.rise_s if t > p.rise_s + p.pulse_width_s else 0.0)

        def rhs(t, y):
            return [drive(t) + fg_dVdt_V_per_s(y[0], **kw)]

        sol = solve_ivp(rhs, (0, T), [rec.V_ox_before_V], method="LSODA", rtol=1e-12, atol=1e-14,
                        max_step=p.rise_s / 20, first_step=1e-6)
        V_nat = decay_voltage_after_V(rec.V_ox_before_V, T, **kw)
        N = d.C_T_F * (V_nat - sol.y[0, -1]) / q_C
        assert N == pytest.approx(rec.N_target, rel=1e-4)


def test_amplitudes_decrease_with_schedule():
    table = synthesize(default_card())
    assert (np.diff(table["V_p_V"]) < 0).all()
    assert (table["V_p_V"] > 0).all() and (table["V_p_V"] < 20).all()


def test_reference_netlists_match_generator():
    """Golden files: regenerate with `make netlists` after an intended change."""
    for name, text in reference_texts().items():
        on_disk = (NETLISTS_DIR / name).read_text()
        assert on_disk == text, f"netlists/{name} drifted from the generator; run `make netlists`"


@pytest.mark.parametrize("name", ["cell.cir", "synapse.cir", "array_4x4.cir"])
def test_reference_netlist_runs_in_ngspice(name, tmp_path):
    raw = tmp_path / "out.raw"
    proc = subprocess.run(["ngspice", "-b", "-r", str(raw), name], cwd=NETLISTS_DIR,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log
    assert "error" not in log.lower(), log
    assert raw.stat().st_size > 1000


def test_library_files_have_headers():
    for lib in ["fn_junction.lib", "fndam_cell.lib", "fn_synapse.lib", "readout_buffer.lib"]:
        text = (ROOT / "circuits" / lib).read_text()
        assert text.startswith("* ====")
        assert "Ports" in text or "Single-ended" in text
        assert ".subckt" in text and ".ends" in text


@pytest.mark.parametrize("bad", ["x1\n.control", "a b", ".include", "x;y", "X1", "", "1abc", "a" * 40, None, 3])
def test_spice_name_rejects_injection(bad):
    with pytest.raises(NetlistInjectionError):
        spice_name(bad)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "1e-9\n.control", "{1}", True])
def test_spice_number_rejects_non_numbers(bad):
    with pytest.raises(NetlistInjectionError):
        spice_number(bad)


def test_spice_path_rejects_quotes_and_newlines():
    for bad in ['/tmp/a".lib', "/tmp/a\n.control", "/tmp/a b.lib"]:
        with pytest.raises(NetlistInjectionError):
            spice_path(bad)


def test_render_refuses_injected_element_fields():
    card = default_card()
    tb = cell_testbench(card, synthesize(card))
    evil = (VSource("vx", "tun\n.control\nshell rm -rf /\n.endc", "0"),)
    with pytest.raises(NetlistInjectionError):
        render(Bench(**{**tb.__dict__, "elements": tb.elements + evil}))
    evil_param = Instance("x2", "fndam_cell", ("cg", "tun", "fg2"), (("tox}\n.control", 1.0),))
    with pytest.raises(NetlistInjectionError):
        render(Bench(**{**tb.__dict__, "elements": tb.elements + (evil_param,)}))


def test_render_checks_the_type_letter_and_nodes_of_driver_elements():
    card = default_card()
    tb = cell_testbench(card, synthesize(card))
    step = (0.0, 1.0, 1.0, 1e-9, 1e-9, 1.0, 2.0)
    for bad in (ISource("vx", "0", "drv_sum", step),            # would render as a voltage source
                ISource("ix", "0", "n\n.control", step),
                VCVS("rx", "a", "0", "drv_sum", "0"),
                VCVS("ex", "a", "0", "drv_sum", "0 .endc"),
                VSource("rx", "a", "0"),                           # every element keeps its type letter
                Resistor("vx", "a", "0", 1.0),
                Instance("r2", "fndam_cell", ("cg", "tun", "fg2"))):
        with pytest.raises(NetlistInjectionError):
            render(Bench(**{**tb.__dict__, "elements": tb.elements + (bad,)}))


def test_summing_driver_applies_every_synthesised_pulse():
    """v(drv) = -V_p on each flat top and 0 between pulses (independent: the synthesis table).

    The driver is one VCVS copying the sum of one current step per edge (1 ohm), so no
    edge may be lost or doubled; checked mid-flat-top and mid-gap for all 20 updates.
    """
    card = default_card()
    art = generate(card)
    sim = simulate(art.deck(), ("v(drv)", "i(edrv)"))
    prog, table = card.programming, art.table
    t_top = table["t_s"].to_numpy() + prog.rise_s + prog.pulse_width_s / 2
    t_gap = table["t_s"].to_numpy() + prog.period_s / 2
    v_top = np.interp(t_top, sim.time_s, sim["v(drv)"])
    np.testing.assert_allclose(v_top, -table["V_p_V"].to_numpy(), rtol=0, atol=1e-9)
    np.testing.assert_allclose(np.interp(t_gap, sim.time_s, sim["v(drv)"]), 0.0, atol=1e-9)


def test_card_string_where_number_expected_is_rejected():
    with pytest.raises(InputError, match=r"\[device\] tox_m must be a number"):
        default_card().with_updates(device={"tox_m": "12n\n.control"})
    with pytest.raises(InputError, match=r"\[programming\] shape"):
        default_card().with_updates(programming={"shape": "rectangular\n.endc"})


def test_array_testbench_has_every_cell():
    art = generate(default_card(), array=(2, 3))
    insts = [e for e in art.testbench.elements if isinstance(e, Instance)]
    assert len(insts) == 2 * 3 * 2
    assert len(art.testbench.probes) == 12
    deck = art.deck()
    assert deck.count("fndam_cell") == 12


def test_synthesis_survives_long_and_slow_pulses():
    """2 s rectangular pulses (the oxide voltage collapses during the pulse) and 0.2 s ramps."""
    for prog in ({"pulse_width_s": 2.0}, {"shape": "ramped", "rise_s": 0.2, "pulse_width_s": 1.0}):
        card = default_card().with_updates(programming=prog, schedule={"n_updates": 3})
        table = synthesize(card)
        assert np.isfinite(table["V_p_V"]).all() and (table["V_p_V"] > 0).all()
        assert np.allclose(table["dV_fg_pred_V"], table["N_target"] * q_C / card.device.C_T_F, rtol=1e-6)
