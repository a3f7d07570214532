"""Image-force lowering end to end (issue 15 item 2): ngspice flow vs fast model, and the decay fit.

Held-out card: phi_B = 3.6 eV (so the 11.5x image-force current at 8 MV/cm keeps the pulses
below 4 V), image_force = true, thermal law at 300 K, 4 updates.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from lim_hw.device.card import default_card
from lim_hw.device.floating_gate import device_voltage_V
from lim_hw.errors import InputError
from lim_hw.fast import simulate_fast
from lim_hw.fit import fit_decay_law
from lim_hw.flow import run_flow

CARD = default_card().with_updates(device={"image_force": True, "phi_B_eV": 3.6}, schedule={"n_updates": 4})


@pytest.mark.skipif(shutil.which("ngspice") is None, reason="ngspice not installed")
def test_image_force_card_in_ngspice_and_fast_model_agree(tmp_path):
    res = run_flow(CARD, tmp_path / "if", progress=False, write_waveforms=False)
    u = res.updates
    assert res.summary["tracking_error_max_abs"] < 1e-5            # observed 6e-7
    fast = simulate_fast(CARD, res.synthesis).updates
    np.testing.assert_allclose(fast["N_sim"], u["N_sim"], rtol=1e-5)
    np.testing.assert_allclose(fast["E_tunnel_J"], u["E_tunnel_J"], rtol=1e-5)
    assert res.summary["device_derived"]["fn_law"] == "thermal+image-force"


def test_decay_fit_of_image_force_traces_recovers_the_device():
    """Two temperatures of a synthetic image-force device (the Python trajectory, 50 uV noise): the joint
    fit with image force on recovers phi_B, t_ox, area and V0."""
    true = {"tox_m": 11.0e-9, "area_m2": 1.5e-12, "V0_V": 7.8, "phi_B_eV": 3.5}
    rng = np.random.default_rng(4)
    t, V, T = [], [], []
    for TK in (300.0, 370.0):
        d = default_card().with_updates(device={**true, "image_force": True, "T_K": TK}).device
        tt = np.geomspace(10.0, 1e6, 50)
        t.append(tt)
        V.append(device_voltage_V(d, tt) + rng.normal(0, 50e-6, tt.size))
        T.append(np.full(tt.size, TK))
    base = default_card().with_updates(device={"image_force": True, "phi_B_eV": 3.3}).device
    r = fit_decay_law(np.concatenate(t), np.concatenate(V), 50e-6, np.concatenate(T), law=base.law,
                      C_T_F=base.C_T_F)
    assert r["phi_B_eV"].value == pytest.approx(3.5, abs=4 * r["phi_B_eV"].stderr + 1e-3)
    assert r["tox_m"].value == pytest.approx(11.0e-9, rel=1e-2)
    assert r["area_m2"].value == pytest.approx(1.5e-12, rel=3e-2)
    assert r["V0_V"].value == pytest.approx(7.8, abs=1e-3)
    assert r.stats["chi2_per_dof"] < 1.5


def test_new_card_keys_are_validated():
    for bad, match in (({"device": {"fn_model": "hot"}}, "fn_model"),
                       ({"device": {"image_force": 1}}, "image_force"),
                       ({"programming": {"decrease": "push"}}, "decrease"),
                       ({"simulation": {"stochastic": "yes"}}, "stochastic"),
                       ({"simulation": {"seed": 1.5}}, "seed"),
                       ({"device": {"inj_I_s_A": -1.0}}, "inj_I_s_A")):
        with pytest.raises(InputError, match=match):
            default_card().with_updates(**bad)
