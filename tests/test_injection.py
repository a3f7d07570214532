"""Bidirectional updates by hot-electron injection (issue 15 item 6; docs/device.md s.11).

References: the closed-form injected charge and drive energy of a trapezoidal drive (edges
checked against scipy.integrate.quad), ngspice running circuits/fn_injection.lib, and a
held-out card (tests/data/bidir_injection.toml: 10 nm oxide, 7 V, signed-gradient schedule).
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy.integrate import quad

from lim_hw.constants import q_C
from lim_hw.device.card import load_card
from lim_hw.device.injection import injected_electrons, injection_amplitude_V, injector_drive_energy_J
from lim_hw.errors import InputError
from lim_hw.flow import run_flow
from lim_hw.netlist.render import LIBRARY_FILE
from lim_hw.sim import simulate

DATA = Path(__file__).parent / "data"
needs_ngspice = pytest.mark.skipif(shutil.which("ngspice") is None, reason="ngspice not installed")


def test_closed_forms_against_quadrature_and_inverse():
    Is, beta, Vi, width, rise, V = 1e-7, 1.0, 60.0, 1e-2, 1e-3, 3.2

    def drive(t):
        return V * min(t / rise, 1.0, (2 * rise + width - t) / rise)

    T = 2 * rise + width
    pts = [rise, rise + width]
    N_q = quad(lambda t: Is * beta * math.exp(-Vi / drive(t)) if drive(t) > 0.1 else 0.0, 0, T, points=pts,
               epsabs=0, epsrel=1e-12, limit=200)[0] / q_C
    assert injected_electrons(V, Is, beta, Vi, width, rise) == pytest.approx(N_q, rel=1e-9)
    E_q = quad(lambda t: Is * drive(t) if drive(t) > 0.1 else 0.0, 0, T, points=[*pts, 0.1 / V * rise],
               epsabs=0, epsrel=1e-12, limit=200)[0]
    assert injector_drive_energy_J(V, Is, width, rise) == pytest.approx(E_q, rel=1e-9)
    for N in (3.0, 40.0, 2e3):
        Vd = injection_amplitude_V(N, Is, beta, Vi, width, rise)
        assert injected_electrons(Vd, Is, beta, Vi, width, rise) == pytest.approx(N, rel=1e-10)
    with pytest.raises(InputError, match="drive above"):
        injection_amplitude_V(1e12, Is, beta, Vi, width, rise)


@needs_ngspice
def test_injector_in_ngspice_moves_the_closed_form_charge():
    Is, Vi, V, rise, width = 2e-7, 55.0, 3.0, 1e-6, 5e-3
    deck = "\n".join([
        "* hei_injector pulse", f'.include "{LIBRARY_FILE}"',
        f"vd drv 0 pwl(0 0 1e-3 0 {1e-3 + rise!r} {V!r} {1e-3 + rise + width!r} {V!r} {1e-3 + 2 * rise + width!r} 0)",
        "vfg fg 0 dc 2", f"x1 fg drv hei_injector is={Is!r} beta=1 vinj={Vi!r}",
        ".options abstol=1e-21 reltol=1e-9 chgtol=1e-22", ".tran 1e-6 8e-3 0 1e-5"])
    res = simulate(deck, ("i(v.x1.vsi)", "i(vd)", "v(drv)"))
    t = res.time_s
    Q = float(np.sum(0.5 * (res["i(v.x1.vsi)"][1:] + res["i(v.x1.vsi)"][:-1]) * np.diff(t)))
    assert Q / q_C == pytest.approx(injected_electrons(V, Is, 1.0, Vi, width, rise), rel=1e-3)   # trapezoids
    E = float(np.sum(0.5 * (-(res["v(drv)"] * res["i(vd)"])[1:] - (res["v(drv)"] * res["i(vd)"])[:-1]) * np.diff(t)))
    assert E == pytest.approx(injector_drive_energy_J(V, Is, width, rise), rel=1e-3)


@needs_ngspice
def test_bidirectional_flow_by_injection(tmp_path):
    card = load_card(DATA / "bidir_injection.toml")
    res = run_flow(card, tmp_path / "bi", progress=False, write_waveforms=False)
    syn, u, s = res.synthesis, res.updates, res.summary
    inj = syn["half"].to_numpy() == "i"
    assert inj.tolist() == [False, True, False, True, True, False]     # the schedule's negative gradients
    assert np.all(syn["dV_fg_pred_V"][inj] < 0) and np.all(syn["dV_fg_pred_V"][~inj] > 0)
    np.testing.assert_allclose(u["N_sim"][inj], u["N_target"][inj], rtol=1e-5)     # observed 1.3e-8
    np.testing.assert_allclose(u["N_sim"][~inj], u["N_target"][~inj], rtol=1e-4)   # observed 1.2e-5
    # energy of an injection update: the channel I_s V_ds (closed form) dominates the drawn energy
    E_drive = [injector_drive_energy_J(v, card.device.inj_I_s_A, card.programming.pulse_width_s,
                                       card.programming.rise_s) for v in syn["V_p_V"][inj]]
    np.testing.assert_allclose(u["E_supply_J"][inj], E_drive, rtol=1e-4)
    assert s["injection"]["n_updates"] == 3 and s["injection"]["injection_efficiency_median"] < 1e-6
    assert u["E_supply_J"][inj].min() > 1e4 * u["E_supply_J"][~inj].max()
    with pytest.raises(InputError, match="ngspice engines"):
        run_flow(card, tmp_path / "f", engine="fast", progress=False)
