"""Discrete electrons: the fast engine's stochastic mode, the precision figures, and ngspice's shot noise.

References: Poisson statistics (mean N, variance N) for the electrons of a window, the
hand-written precision formula, and an ngspice window with a current of density
2 q I_FN (numpy-seeded samples) against the fast engine's draws.
"""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest
from scipy import stats

from lim_hw.constants import k_B_J_per_K, q_C
from lim_hw.device.card import default_card
from lim_hw.device.precision import precision_columns, precision_summary
from lim_hw.errors import InputError
from lim_hw.fast import simulate_fast
from lim_hw.flow import run_flow
from lim_hw.netlist.synthesis import synthesize

CARD = default_card().with_updates(schedule={"n_updates": 4})


def test_poisson_statistics_of_the_weight_steps():
    table = synthesize(CARD)
    det = simulate_fast(CARD, table, n_synapses=1).updates
    res = simulate_fast(CARD, table, n_synapses=4096, seed=11)
    u = res.updates
    S = 4096
    # mean step over 4096 synapses within 4 standard errors of the deterministic model
    se = np.sqrt(det["N_window"]) / math.sqrt(S)
    assert np.all(np.abs(u["N_sim"] - det["N_sim"]) < 4 * se)
    # spread: Poisson std sqrt(N_window); the sample std of 4096 draws is within 5 %
    np.testing.assert_allclose(u["N_sim_std"], np.sqrt(det["N_window"]), rtol=0.05)
    assert res.info["stochastic"] and res.info["seed"] == 11
    # counts are whole electrons: N_window of one cell is an integer
    one = simulate_fast(CARD, table, n_synapses=1, seed=5).updates
    np.testing.assert_allclose(one["N_window"], np.round(one["N_window"]), atol=1e-6)


def test_stochastic_mode_is_reproducible_for_any_chunking():
    table = synthesize(CARD)
    a = simulate_fast(CARD, table, n_synapses=9000, seed=3, chunk_synapses=4096, threads=1)
    b = simulate_fast(CARD, table, n_synapses=9000, seed=3, chunk_synapses=16384, threads=2)
    np.testing.assert_array_equal(a.V_ox_final_V, b.V_ox_final_V)
    c = simulate_fast(CARD, table, n_synapses=9000, seed=4)
    assert not np.array_equal(a.V_ox_final_V, c.V_ox_final_V)
    d = simulate_fast(CARD.with_updates(simulation={"stochastic": True, "seed": 3}), table, n_synapses=9000)
    np.testing.assert_array_equal(a.V_ox_final_V, d.V_ox_final_V)      # the card keys do the same


def test_free_decay_is_poisson():
    """Retention: V_final = V0 - N q / C_T with N ~ Poisson(C_T (V0 - V_det) / q)."""
    card = default_card().with_updates(schedule={"n_updates": 0}, simulation={"duration_s": 1e4})
    det = simulate_fast(card, n_synapses=1).V_ox_final_V[0]
    V = simulate_fast(card, n_synapses=5000, seed=2).V_ox_final_V
    d = card.device
    lam = d.C_T_F * (d.V0_V - det) / q_C
    N = (d.V0_V - V) * d.C_T_F / q_C
    assert abs(N.mean() - lam) < 4 * math.sqrt(lam / N.size)
    assert N.std(ddof=1) == pytest.approx(math.sqrt(lam), rel=0.05)


def test_precision_columns_hand_values():
    C_T, T = 100e-15, 300.0
    cols = precision_columns(np.array([45.0, 4.0]), np.array([45.4, 4.1]), C_T, T)
    step = 45.0 * 1.602176634e-19 / C_T
    shot = math.sqrt(45.4) * 1.602176634e-19 / C_T
    kTC = math.sqrt(1.380649e-23 * 300.0 / C_T)
    assert cols["sigma_kTC_V"][0] == pytest.approx(2.0352e-4, rel=1e-4)       # sqrt(kT/C) on 100 fF
    assert cols["precision_bits"][0] == pytest.approx(math.log2(step / math.hypot(shot, kTC)), rel=1e-12)
    assert cols["precision_bits_shot"][1] == pytest.approx(math.log2(4.0 / math.sqrt(4.1)), rel=1e-12)
    summ = precision_summary({"N_target": [45.0, 2.0], "precision_bits": [1.0, 2.0],
                              "precision_bits_shot": [3.0, 4.0]})
    assert summ["electrons_per_update_min"] == 2.0 and "fewer than 3" in summ["warnings"][0]
    assert math.isclose(k_B_J_per_K, 1.380649e-23)


def test_stochastic_needs_the_fast_engine(tmp_path):
    with pytest.raises(InputError, match="fast engine only"):
        run_flow(CARD.with_updates(simulation={"stochastic": True}), tmp_path / "x", progress=False)
    assert not (tmp_path / "x").exists()


@pytest.mark.skipif(shutil.which("ngspice") is None, reason="ngspice not installed")
def test_ngspice_shot_noise_window_matches_the_fast_engine():
    """ngspice with a current of density 2 q I_FN in update 1's window (32 seeds) against the fast engine's
    Poisson draws (4096 synapses): means within 3.5 standard errors, variance ratio inside the F test's 99.9 %."""
    from lim_hw.netlist.shot import shot_noise_window

    table = synthesize(CARD)
    ng = shot_noise_window(CARD, table, 1, range(1, 33))["N_window"].to_numpy()
    fast = simulate_fast(CARD, table, n_synapses=4096, seed=7).updates.iloc[0]
    mu, sd = float(fast["N_window"]), float(fast["N_sim_std"])
    assert abs(ng.mean() - mu) < 3.5 * sd / math.sqrt(ng.size)
    F = ng.var(ddof=1) / sd**2
    lo, hi = stats.f.ppf([0.0005, 0.9995], ng.size - 1, 4095)
    assert lo < F < hi, F
