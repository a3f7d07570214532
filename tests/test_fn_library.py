"""circuits/fn_junction.lib in real ngspice: the four FN laws against lim_hw.device.fn, `temper`,
deck .param editing, and retention at 300 K and 350 K against the Python trajectory."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest

from lim_hw.device.card import default_card
from lim_hw.device.floating_gate import fg_voltage_V
from lim_hw.device.fn import fn_current_A
from lim_hw.fit.insim import run_ngspice_deck
from lim_hw.energy.updates import Waveforms
from lim_hw.flow import retention_check
from lim_hw.netlist import generate
from lim_hw.netlist.render import LIBRARY_FILE
from lim_hw.sim import simulate

pytestmark = pytest.mark.skipif(shutil.which("ngspice") is None, reason="ngspice not installed")


def _dc_current(thermal: int, imgf: int, temp_C: float, extra: str = "") -> tuple[np.ndarray, np.ndarray]:
    deck = "\n".join([
        "* fn_junction DC sweep", f'.include "{LIBRARY_FILE}"', "vt tun 0 dc 8", "vf fg 0 dc 0.5",
        f"x1 tun fg fn_junction tox=11e-9 area=2e-12 phib=3.1 meff=0.45 thermal={thermal} imgf={imgf} {extra}",
        f".options temp={temp_C!r} abstol=1e-45 reltol=1e-12", ".dc vt 6.5 12.5 0.5", ".save v(tun) i(v.x1.vsns)",
        ".end", ""])
    V, cols, _ = run_ngspice_deck(deck, 60.0)
    return V - 0.5, cols["i(v.x1.vsns)"]


@pytest.mark.parametrize("thermal, imgf", [(0, 0), (1, 0), (0, 1), (1, 1)])
def test_junction_current_equals_python_law(thermal, imgf):
    for T in (300.0, 350.0):
        V, I = _dc_current(thermal, imgf, T - 273.15)
        I_py = fn_current_A(V, 11e-9, 2e-12, 3.1, 0.45, T_K=T if thermal else None, image_force=bool(imgf))
        np.testing.assert_allclose(I, I_py, rtol=1e-9)        # observed ~5e-13 (A, B folded from CODATA)


def test_junction_afn_bfn_override_and_temperature_matters():
    V, I = _dc_current(0, 0, 26.85, "afn=1.2e-6 bfn=2.6e10")
    np.testing.assert_allclose(I, 2e-12 * 1.2e-6 * (V / 11e-9) ** 2 * np.exp(-2.6e10 * 11e-9 / V), rtol=1e-9)
    _, I300 = _dc_current(1, 0, 26.85)
    _, I350 = _dc_current(1, 0, 76.85)
    assert np.all(I350 > 1.05 * I300)                         # the factor grows with T at every field


def test_deck_param_edit_recomputes_fn_constants():
    """Editing `.param tox=...` in a generated deck changes the junction as the Python law says."""
    card = default_card().with_updates(schedule={"n_updates": 0}, simulation={"duration_s": 200.0})
    deck = generate(card).deck()
    assert re.search(r"^\.param tox=1\.2e-0?8 ", deck, re.M)
    edited = re.sub(r"^\.param tox=1\.2e-0?8 ", ".param tox=1.17e-08 ", deck, flags=re.M)
    res = simulate(edited, ("v(tun)", "v(fg)"))
    d = card.device
    V_py = fg_voltage_V(res.time_s[-1], 1.17e-8, d.area_m2, d.C_T_F, d.V0_V, d.phi_B_eV, d.m_eff, T_K=d.T_K)
    V_old = fg_voltage_V(res.time_s[-1], d.tox_m, d.area_m2, d.C_T_F, d.V0_V, d.phi_B_eV, d.m_eff, T_K=d.T_K)
    V_sim = res["v(tun)"][-1] - res["v(fg)"][-1]
    assert abs(V_sim - V_py) < 2e-5 < abs(V_py - V_old) / 10


def test_retention_at_300_and_350_K_against_python():
    """ngspice `.options temp` and the junction's `temper` against the Python trajectory (1e-4 relative,
    the flow's retention check); the full-flow retention at 300 K is tests/test_flow.py's."""
    ends = {}
    for T in (300.0, 350.0):
        card = default_card().with_updates(schedule={"n_updates": 0}, simulation={"duration_s": 3e5},
                                           device={"T_K": T})
        art = generate(card)
        tb = art.testbench
        sim = simulate(art.deck(), tb.saves)
        check = retention_check(card, Waveforms(sim.time_s, sim.vectors), tb)
        assert check["retention_max_rel_error"] < 1e-5       # observed 3.4e-8 (300 K), 4.6e-8 (350 K)
        ends[T] = check["retention_V_ox_end_V"]
    d = default_card().device
    V_classic = fg_voltage_V(3e5, d.tox_m, d.area_m2, d.C_T_F, d.V0_V)
    # the thermal factor speeds the decay, more at 350 K (hand: F_T(8 V) = 1.46 at 300 K, 1.71 at 350 K)
    assert ends[350.0] < ends[300.0] - 5e-3 and ends[300.0] < V_classic - 5e-3
