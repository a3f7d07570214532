"""Device cards: validation, defaults, round trip, and the netlist command's handling of bad cards."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd

import pytest

from lim_hw.device.card import card_to_toml, default_card, load_card
from lim_hw.errors import InputError


def _card(tmp_path, text):
    p = tmp_path / "c.toml"
    p.write_text(text)
    return p


def test_default_card_is_the_documented_reference_device():
    c = default_card()
    assert (c.device.tox_m, c.device.area_m2, c.device.C_T_F, c.device.V0_V) == (12e-9, 1e-12, 100e-15, 8.0)
    assert c.device.kappa == pytest.approx(0.5)
    assert c.n_updates == 20 and c.stop_time_s == pytest.approx(1200.0)


def test_round_trip_through_toml(tmp_path):
    c = default_card().with_updates(device={"tox_m": 11e-9}, programming={"shape": "ramped", "rise_s": 1e-4})
    again = load_card(_card(tmp_path, card_to_toml(c)))
    assert again.device == c.device and again.programming == c.programming
    assert again.schedule == c.schedule and again.simulation == c.simulation


def test_missing_keys_take_default_card_values(tmp_path):
    c = load_card(_card(tmp_path, "[device]\ntox_m = 10e-9\n"))
    assert c.device.tox_m == 10e-9
    assert c.schedule == default_card().schedule
    assert c.programming == default_card().programming


@pytest.mark.parametrize("text, match", [
    ("[device]\ntox_m = -12e-9\n", r"tox_m"),
    ("[device]\ntox_m = nan\n", r"tox_m is nan"),
    ("[device]\narea_m2 = 0.0\n", r"area_m2 = 0 must be > 0"),
    ("[device]\ntoxx_m = 1e-9\n", r"unknown key \[device\] toxx_m"),
    ("[devices]\ntox_m = 1e-9\n", r"unknown card section \[devices\]"),
    ("[device]\nC_c_F = 99e-15\n", r"C_c_F \+ C_j_F"),
    ("[device]\ntox_m = \"12n\"\n", r"must be a number"),
    ("[device\ntox_m = 1\n", r"malformed TOML"),
    ("[programming]\nshape = \"square\"\n", r"shape"),
    ("[programming]\npulse_width_s = 20.0\n", r"does not fit in period_s"),
    ("[schedule]\nn_updates = 0\n", r"duration_s is required"),
    ("[schedule]\nalpha = 1.5\n", r"alpha"),
    ("[simulation]\nengine = \"spectre\"\n", r"engine"),
])
def test_bad_cards_raise_one_line_input_error(tmp_path, text, match):
    with pytest.raises(InputError, match=match) as exc:
        load_card(_card(tmp_path, text))
    assert "\n" not in str(exc.value)


def test_unreadable_card(tmp_path):
    with pytest.raises(InputError, match="cannot read card"):
        load_card(tmp_path / "missing.toml")


def test_netlist_command_bad_card_exit_2_nothing_written(tmp_path):
    bad = _card(tmp_path, "[device]\ntox_m = -1.0\n")
    out = tmp_path / "out.cir"
    proc = subprocess.run([sys.executable, "-m", "lim_hw", "netlist", str(bad), "-o", str(out)],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2
    assert proc.stderr.startswith("lim-hw: error:") and proc.stderr.count("\n") == 1
    assert not out.exists() and not list(tmp_path.glob("*.csv")) and not list(tmp_path.glob(".*tmp"))


def test_netlist_command_writes_netlist_and_synthesis(tmp_path):
    out = tmp_path / "cell.cir"
    proc = subprocess.run([sys.executable, "-m", "lim_hw", "netlist", "-o", str(out), "--array", "2x2"],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert text.rstrip().endswith(".end") and ".include" in text and text.count("fndam_cell") == 8
    assert "* lim_hw=" in text                      # the versions: in the deck's header
    csv = tmp_path / "cell_synthesis.csv"   # a stand-alone CSV: its first line is the lim-hw stamp, as bound --csv
    assert csv.read_text().startswith("# lim_hw=")
    assert list(pd.read_csv(csv, comment="#").columns[:2]) == ["n", "t_s"]


def test_rise_too_short_for_ngspice_is_rejected_before_simulating(tmp_path):
    """The card is valid (the fast engine can run it); generating an ngspice netlist is refused."""
    from lim_hw.netlist import generate

    card = load_card(_card(tmp_path, "[programming]\nperiod_s = 1e5\nfirst_update_s = 10.0\n"
                                     "[schedule]\nn_updates = 5\n"))
    with pytest.raises(InputError, match=r"rise_s = 1e-09 s is too short .* use rise_s >= 7.5e-08"):
        generate(card)


def test_junction_capacitance_from_geometry_unless_given(tmp_path):
    """C_j_F left out = eps_ox area / t_ox (3.9 eps_0, scipy.constants); recomputed with the geometry; a given
    value is kept (docs/device.md s.9)."""
    from scipy import constants as sc

    d = default_card().device
    assert d.C_j_from_geometry and d.C_j_F == pytest.approx(3.9 * sc.epsilon_0 * 1e-12 / 12e-9, rel=1e-12)
    assert d.C_j_F == pytest.approx(2.8776e-15, rel=1e-4)
    assert d.C_fg_F == pytest.approx(100e-15 - 50e-15 - d.C_j_F, rel=1e-12)
    c = default_card().with_updates(device={"area_m2": 3e-12, "tox_m": 10e-9})
    assert c.device.C_j_F == pytest.approx(3.9 * sc.epsilon_0 * 3e-12 / 10e-9, rel=1e-12)
    again = load_card(_card(tmp_path, card_to_toml(c)))       # the TOML has no C_j_F: still computed
    assert again.device == c.device and again.device.C_j_from_geometry and "C_j_F" not in card_to_toml(c)
    given = default_card().with_updates(device={"C_j_F": 2e-15})
    assert given.device.C_j_F == 2e-15 and not given.device.C_j_from_geometry
    assert given.with_updates(device={"area_m2": 3e-12}).device.C_j_F == 2e-15
    with pytest.raises(InputError, match="from the geometry"):
        default_card().with_updates(device={"area_m2": 2e-11})   # 57.6 fF + C_c 50 fF > C_T 100 fF
