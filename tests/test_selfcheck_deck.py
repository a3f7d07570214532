"""Self-checking decks (issue 17): a deck run by hand in ngspice measures each update itself and agrees
with the flow's updates.csv; `lim-hw netlist` output runs unchanged in ngspice and lim_hw.sim.simulate."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from lim_hw.constants import q_C
from lim_hw.device.card import load_card
from lim_hw.energy.integrate import delivered_power_W, windowed_integrals
from lim_hw.energy.updates import update_windows
from lim_hw.netlist.generate import generate
from lim_hw.netlist.reference import NETLISTS_DIR
from lim_hw.netlist.render import portable_sha256
from lim_hw.netlist.selfcheck import parse_measurements
from lim_hw.netlist.synthesis import FGModel
from lim_hw.sim import simulate

CARD = Path(__file__).parent / "data" / "cards" / "outputs_ramped.toml"


def _ngspice_by_hand(deck: Path, cwd: Path) -> str:
    """`ngspice -b deck.cir`, as a designer types it (stdout: the .meas results)."""
    proc = subprocess.run(["ngspice", "-b", str(deck)], cwd=cwd, capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc.stdout


def test_deck_by_hand_measures_what_updates_csv_reports(ramped_synapse_run, tmp_path):
    """netlist.cir of a run, by hand: per update the energy drawn, the junction charge and the fg step.

    Tolerances: energy 1e-3 relative against the trapezoid of the same samples (measured 5e-5 on
    this card, 1.2e-4 on the default one: ngspice's .meas integ and the trapezoid with exact zero
    crossings of the drawn power treat the same samples differently), 3e-3 against updates.csv,
    whose drawn energy replaces ngspice's edge solution by the exact RC current (measured 1.1e-3). Charge: .meas integ is the trapezoid rule on
    ngspice's samples (equal to the trapezoid of the flow's waveforms to 1e-5, .meas prints
    6 digits), while the flow integrates the current as exponential between samples
    (log-mean), which on ramped edges is 1e-3 lower (measured 0.8..1.0e-3): N_sim within
    2e-3 of N_target. dvfg = q_tun / C_T to the printed precision.
    """
    res = ramped_synapse_run
    card = load_card(CARD)
    log = _ngspice_by_hand(res.out_dir / "netlist.cir", tmp_path)  # another folder: the include is absolute
    meas = parse_measurements(log)
    u = pd.read_csv(res.out_dir / "updates.csv")          # a plain CSV, as written
    n = u["n"].to_numpy()
    assert sorted(meas["e_drawn"]) == list(n) == sorted(meas["q_tun"]) == sorted(meas["dvfg"])
    e = np.array([meas["e_drawn"][k] for k in n])
    wf, windows = res.waveforms, np.array(update_windows(card, res.synthesis))
    # the same samples: .meas integ of the drawn power against the trapezoid of the flow's waveforms
    sampled = sum(windowed_integrals(wf.time_s, delivered_power_W(wf[s.v], wf[s.i]), windows[:, 0],
                                     windows[:, 1], positive=True) for s in generate(card, "synapse").testbench.supplies)
    np.testing.assert_allclose(e, sampled, rtol=1e-3)
    # updates.csv corrects ngspice's edge solution with the exact RC current (docs/flow.md, "How drawn and
    # net energy are integrated"): the deck's figure carries ngspice's own edge error, measured 1.1e-3 here
    # and up to ~1 % on nanosecond edges; on this card within 3e-3
    np.testing.assert_allclose(e, u["E_supply_J"] * u["n_cells_programmed"], rtol=3e-3)
    # N_sim = charge through the junction / q minus the closed-form natural decay over the window,
    # from the oxide voltage the synthesis predicts at the window start
    model = FGModel.from_card(card)
    n_nat = card.device.C_T_F * model.drop_V(res.synthesis["V_ox_before_V"].to_numpy(),
                                             windows[:, 1] - windows[:, 0]) / q_C
    n_sim_deck = np.array([meas["q_tun"][k] for k in n]) / q_C - n_nat
    assert np.max(np.abs(n_sim_deck - u["N_sim"]) / u["N_target"]) < 2e-3
    trapezoid = windowed_integrals(wf.time_s, wf["i(v.xs.xp.xj.vsns)"], windows[:, 0], windows[:, 1])
    np.testing.assert_allclose([meas["q_tun"][k] for k in n], trapezoid, rtol=1e-5)
    dv = np.array([meas["dvfg"][k] for k in n])
    np.testing.assert_allclose(dv, np.array([meas["q_tun"][k] for k in n]) / card.device.C_T_F, rtol=1e-5)


def test_netlist_command_output_runs_unchanged_in_ngspice_and_simulate(ramped_synapse_run, tmp_path):
    """One include convention: `lim-hw netlist` writes the circuit the flow simulated (same portable
    digest), and the file runs as written through simulate() (a Path) and ngspice -b."""
    res = ramped_synapse_run
    deck = tmp_path / "deck.cir"
    proc = subprocess.run([sys.executable, "-m", "lim_hw", "netlist", str(CARD), "--synapse", "-o", str(deck)],
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    text = deck.read_text()
    flow_text = (res.out_dir / "netlist.cir").read_text()
    assert text.splitlines()[5:] == flow_text.splitlines()[5:]          # the same include line, same circuit
    assert portable_sha256(text) == portable_sha256(flow_text)
    sim = simulate(deck, ["v(fgp)", "v(fgm)"])                          # the file itself, .meas and .end included
    wf = res.waveforms
    assert sim.time_s.size == wf.time_s.size
    # the file's self-check B-source adds an unknown, so Newton's iterates may differ within the
    # solver's vntol (1e-9 V): measured 7.6e-10 V at 4 of 916 points with the thermal FN law
    np.testing.assert_allclose(sim["v(fgp)"], wf["v(fgp)"], rtol=0, atol=1e-9)
    assert simulate(text, ["v(fgp)"]).time_s.size == sim.time_s.size   # and as text (absolute include)
    assert "e_drawn_8" in _ngspice_by_hand(deck, tmp_path)


def test_checked_in_reference_deck_runs_from_its_folder_and_through_simulate():
    """netlists/cell.cir names the library relative to itself: ngspice by hand in netlists/, and
    simulate() given the file resolves the relative include the same way."""
    deck = NETLISTS_DIR / "cell.cir"
    assert '.include "../circuits/lim_hw.lib"' in deck.read_text()
    log = _ngspice_by_hand(Path(deck.name), NETLISTS_DIR)
    meas = parse_measurements(log)
    assert len(meas["e_drawn"]) == 20 and all(v > 0 for v in meas["e_drawn"].values())
    sim = simulate(deck, ["v(fg)"])
    assert sim.time_s[-1] == 1200.0
