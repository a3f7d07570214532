"""The bound statement of a run (summary.json `bound`, docs/theory.md s.10) against independent numbers."""

from __future__ import annotations

import numpy as np
import pytest

from lim_hw.constants import kT_J, q_C
from lim_hw.device.card import default_card
from lim_hw.flow import run_flow
from lim_hw.netlist.synthesis import synthesize
from lim_hw.theory.table import bound_table


def test_bound_statement_numbers(tmp_path):
    card = default_card().with_updates(schedule={"n_updates": 8})
    res = run_flow(card, tmp_path / "run", engine="fast", progress=False)
    b = res.summary["bound"]
    ns = b["N_set_by"]
    assert (ns["R_max_per_s"], ns["pulse_width_s"]) == (5e4, 10e-3)
    # bound per transition: E0 + |dE| of the theory table (PW Eqs. 4-6), median over the updates
    bt = bound_table(card.schedule, card.device.R_max_per_s, card.device.T_K)
    per_e = np.median(bt["E0_J"] + bt["dE_J"].abs())
    assert b["bound_per_electron_J"] == pytest.approx(per_e, rel=1e-9)
    # energy per tunnelling electron lies between q V_ox at the window start and at the pulse peak
    syn = synthesize(card)
    kT = kT_J(card.device.T_K)
    lo, hi = q_C * syn["V_ox_before_V"].min() / kT, q_C * syn["V_ox_peak_V"].max() / kT
    assert lo < b["q_V_ox_per_electron_kT"] < hi
    assert 260 < b["q_V_ox_per_electron_kT"] < 340
    assert b["floor_over_bound_per_electron"] == pytest.approx(b["q_V_ox_per_electron_J"] / per_e, rel=1e-12)
    assert b["landauer_card_precision_J"] == pytest.approx(8 * kT * np.log(2), rel=1e-12)
    assert "R_max" in b["statement"] and "FN-DAM floor" in b["statement"]


def test_bound_scales_with_the_free_choices():
    """N = R_max eps^(1+alpha) tau: doubling the pulse width doubles the targets and so the bound."""
    c1 = default_card().with_updates(schedule={"n_updates": 5})
    c2 = c1.with_updates(programming={"pulse_width_s": 20e-3})
    t1, t2 = synthesize(c1), synthesize(c2)
    np.testing.assert_allclose(t2["N_target"], 2 * t1["N_target"], rtol=1e-14)
    e1 = t1["N_target"] * (t1["E0_J"] + t1["dE_J"].abs())
    e2 = t2["N_target"] * (t2["E0_J"] + t2["dE_J"].abs())
    np.testing.assert_allclose(e2, 2 * e1, rtol=1e-14)
