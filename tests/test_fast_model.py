"""lim_hw.fast.model: the vectorised array model against the closed form, the scalar synthesis code,
and itself (chunking, threads, mismatch locality)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.integrate import solve_ivp

from lim_hw.constants import q_C
from lim_hw.device.card import default_card
from lim_hw.device.floating_gate import device_voltage_V, fn_closed_form_V
from lim_hw.errors import InputError
from lim_hw.fast import (BLOCK_SYNAPSES, FAST_UPDATE_COLUMNS, cell_k_constants, drive_constants,
                         simulate_fast)
from lim_hw.fast.model import _ramp
from lim_hw.fast.model import _RampStats
from lim_hw.netlist.synthesis import FGModel, apply_pulse, pulse_window_s, synthesize

UPDATES_CSV_COLUMNS = ("n", "t_s", "eps", "R_target_per_s", "E0_J", "N_target", "N_sim", "E_supply_J",
                       "E_net_J", "E_tunnel_J", "E_bound_J", "ratio_supply_to_bound", "ratio_tunnel_to_bound")


def _card(shape="rectangular", n_updates=20, **prog):
    c = default_card()
    p = {"shape": shape, **({"rise_s": 1e-4} if shape == "ramped" else {}), **prog}
    return c.with_updates(schedule={"n_updates": n_updates}, programming=p)


def _mismatch(card, n_cells, seed=0):
    rng = np.random.default_rng(seed)
    return {"tox_m": card.device.tox_m * (1 + 0.01 * rng.standard_normal(n_cells)),
            "area_m2": card.device.area_m2 * (1 + 0.05 * rng.standard_normal(n_cells))}


def _amplitudes(table, n_syn, seed=1):
    """Per-synapse amplitudes around the synthesised ones: random sign, scale 0.5..1.2, some zeros."""
    rng = np.random.default_rng(seed)
    vp = table["V_p_V"].to_numpy()[:, None]
    a = vp * rng.uniform(0.5, 1.2, (len(table), n_syn)) * rng.choice([-1.0, 1.0], (len(table), n_syn))
    a[rng.random(a.shape) < 0.15] = 0.0
    return a


# --------------------------------------------------------------------------- #


def test_columns_and_agreement_with_synthesis():
    card = _card()
    table = synthesize(card)
    res = simulate_fast(card, table)
    u = res.updates
    assert tuple(u.columns) == FAST_UPDATE_COLUMNS
    assert set(UPDATES_CSV_COLUMNS) <= set(u.columns)
    try:   # same names, same order as the ngspice flow's updates.csv
        from lim_hw.energy.updates import UPDATE_COLUMNS
    except ImportError:
        UPDATE_COLUMNS = None
    if UPDATE_COLUMNS is not None:
        assert FAST_UPDATE_COLUMNS[:len(UPDATE_COLUMNS)] == tuple(UPDATE_COLUMNS)
    assert len(u) == 20 and (u["n_cells_programmed"] == 1).all()
    # the synthesis solved V_p so that the closed form moves exactly N_target: the fast model agrees
    np.testing.assert_allclose(u["dV_fg_V"], table["dV_fg_pred_V"], rtol=1e-12)
    np.testing.assert_allclose(u["N_sim"], table["N_target"], rtol=1e-10)
    np.testing.assert_allclose(u["V_p_V"], table["V_p_V"], rtol=0)
    assert np.all(u["E_bound_J"] == table["N_target"] * (table["E0_J"] + table["dE_J"].abs()))
    assert np.all(u["E_supply_J"] > u["E_net_J"]) and np.all(u["E_net_J"] > u["E_tunnel_J"])
    assert np.all(u["E_tunnel_J"] > u["E_tunnel_beyond_J"]) and np.all(u["E_tunnel_beyond_J"] > 0)
    np.testing.assert_allclose(u["ratio_supply_to_bound"], u["E_supply_J"] / u["E_bound_J"], rtol=1e-15)
    assert res.dV_fg_V is None and res.V_ox_final_V.shape == (2,)


def test_default_table_is_synthesised():
    card = _card(n_updates=5)
    a = simulate_fast(card)
    b = simulate_fast(card, synthesize(card))
    pd.testing.assert_frame_equal(a.updates, b.updates)


@pytest.mark.parametrize("V0,fn_model", [(8.0, "classic"), (5.0, "classic"), (11.0, "classic"),
                                         (8.0, "thermal"), (6.0, "thermal")])
def test_retention_equals_closed_form(V0, fn_model):
    """Classic law: the closed form; thermal: the device module's trajectory (itself checked against
    solve_ivp and the exact Ei time in tests/test_device_trajectory.py)."""
    card = default_card().with_updates(schedule={"n_updates": 0}, simulation={"duration_s": 3.7e6},
                                       device={"V0_V": V0, "fn_model": fn_model})
    d = card.device

    def ref_V(t):
        if fn_model == "classic":
            return fn_closed_form_V(t, d.tox_m, d.area_m2, d.C_T_F, d.V0_V, d.phi_B_eV, d.m_eff)
        return device_voltage_V(d, t)

    res = simulate_fast(card, n_synapses=5)
    np.testing.assert_allclose(res.V_ox_final_V, ref_V(3.7e6), rtol=1e-12)
    assert res.updates.empty and tuple(res.updates.columns) == FAST_UPDATE_COLUMNS
    for t in (1.0, 1e3, 1e7):
        r = simulate_fast(card, n_synapses=1, t_end_s=t)
        np.testing.assert_allclose(r.V_ox_final_V, ref_V(t), rtol=1e-12)


def _scalar_loop(card, table, amps, tox, area, t_end):
    """Per-cell reference with the scalar synthesis code (FGModel.drop_V, apply_pulse)."""
    dev = card.device
    W = pulse_window_s(card)
    U, S = amps.shape
    V_final = np.empty(2 * S)
    dV = np.zeros((U, 2 * S))
    for s in range(S):
        for h in (0, 1):
            i = 2 * s + h
            k1, k2 = cell_k_constants(card, tox[i], area[i])
            s_V, f1 = dev.law.trajectory_constants(tox[i], k2)
            model = FGModel(k1, k2, dev.C_T_F, dev.kappa, float(s_V), float(f1))
            V, t_prev = dev.V0_V, 0.0
            for n, t_n in enumerate(table["t_s"]):
                V -= float(model.drop_V(V, t_n - t_prev))
                a = amps[n, s]
                if (h == 0 and a > 0) or (h == 1 and a < 0):
                    r = apply_pulse(model, card, V, abs(a))
                    dV[n, i] = r.N_net * q_C / dev.C_T_F
                    V = r.V_after_V
                else:
                    V -= float(model.drop_V(V, W))
                t_prev = t_n + W
            V_final[i] = V - float(model.drop_V(V, t_end - t_prev))
    return V_final, dV


@pytest.mark.parametrize("shape,rtol_dv", [("rectangular", 1e-11), ("ramped", 1e-8)])
def test_vectorised_equals_scalar_loop(shape, rtol_dv):
    card = _card(shape, n_updates=8)
    table = synthesize(card)
    S = 6
    amps = _amplitudes(table, S)
    mm = _mismatch(card, 2 * S)
    res = simulate_fast(card, table, n_synapses=S, mismatch=mm, amplitudes=amps, keep="per_cell")
    V_ref, dV_ref = _scalar_loop(card, table, amps, mm["tox_m"], mm["area_m2"], res.t_end_s)
    np.testing.assert_allclose(res.V_ox_final_V, V_ref, rtol=1e-13)
    scale = np.abs(dV_ref).max()
    # the ramped reference integrates with LSODA (rtol 1e-11)
    np.testing.assert_allclose(res.dV_fg_V, dV_ref, rtol=rtol_dv, atol=rtol_dv * scale)
    assert np.all((res.dV_fg_V != 0) == (dV_ref != 0))
    prog = dV_ref != 0
    np.testing.assert_allclose(res.updates["n_cells_programmed"], prog.sum(axis=1))
    np.testing.assert_allclose(res.updates["N_sim"],
                               (dV_ref.sum(axis=1) / prog.sum(axis=1)) * card.device.C_T_F / q_C, rtol=1e-8)
    if shape == "ramped":
        assert res.info["ramp_unconverged"] == 0 and res.info["ramp_max_panels"] >= 1


def test_table_and_equivalent_amplitudes_agree():
    card = _card(n_updates=10)
    table = synthesize(card)
    table.loc[table["n"] % 3 == 0, "half"] = "m"
    signed = np.where(table["half"] == "p", table["V_p_V"], -table["V_p_V"])
    a = simulate_fast(card, table, n_synapses=3, keep="per_cell")
    b = simulate_fast(card, table, n_synapses=3, amplitudes=np.repeat(signed[:, None], 3, axis=1), keep="per_cell")
    np.testing.assert_array_equal(a.V_ox_final_V, b.V_ox_final_V)
    np.testing.assert_array_equal(a.dV_fg_V, b.dV_fg_V)
    pd.testing.assert_frame_equal(a.updates, b.updates, rtol=1e-14)
    # the - half is pulsed in updates 3, 6, 9
    assert np.all(a.dV_fg_V[2, 1::2] > 0) and np.all(a.dV_fg_V[2, 0::2] == 0)


@pytest.mark.parametrize("use_amps", [False, True])
def test_mismatch_changes_only_mismatched_cells(use_amps):
    card = _card(n_updates=12)
    table = synthesize(card)
    S = 9
    amps = _amplitudes(table, S) if use_amps else None
    nominal = {"tox_m": np.full(2 * S, card.device.tox_m), "area_m2": np.full(2 * S, card.device.area_m2)}
    changed = [3, 10, 17]
    mm = {k: v.copy() for k, v in nominal.items()}
    mm["tox_m"][changed] *= 1.01
    mm["area_m2"][changed[1]] *= 0.9
    ref = simulate_fast(card, table, n_synapses=S, amplitudes=amps, keep="per_cell")
    same = simulate_fast(card, table, n_synapses=S, amplitudes=amps, mismatch=nominal, keep="per_cell")
    res = simulate_fast(card, table, n_synapses=S, amplitudes=amps, mismatch=mm, keep="per_cell")
    np.testing.assert_array_equal(same.V_ox_final_V, ref.V_ox_final_V)
    np.testing.assert_array_equal(same.dV_fg_V, ref.dV_fg_V)
    other = np.setdiff1d(np.arange(2 * S), changed)
    np.testing.assert_array_equal(res.V_ox_final_V[other], ref.V_ox_final_V[other])
    np.testing.assert_array_equal(res.dV_fg_V[:, other], ref.dV_fg_V[:, other])
    assert np.all(res.V_ox_final_V[changed] != ref.V_ox_final_V[changed])
    # a thicker oxide tunnels less: its gate has decayed less
    assert res.V_ox_final_V[changed[0]] > ref.V_ox_final_V[changed[0]]


@pytest.mark.parametrize("mode", ["table", "array", "callable"])
def test_chunking_and_threads_bit_identical(mode):
    card = _card(n_updates=6)
    table = synthesize(card)
    S = 2 * BLOCK_SYNAPSES + 123
    mm = _mismatch(card, 2 * S, seed=4)
    amps = _amplitudes(table, S, seed=5) if mode != "table" else None
    arg = (lambda n, s0, s1: amps[n, s0:s1]) if mode == "callable" else amps
    runs = [simulate_fast(card, table, n_synapses=S, mismatch=mm, amplitudes=arg, keep="per_cell",
                          chunk_synapses=chunk, threads=thr)
            for chunk, thr in ((BLOCK_SYNAPSES, 1), (1, 2), (2 * BLOCK_SYNAPSES, 2), (10 * S, 1))]
    assert runs[0].info["n_chunks"] == 3 and runs[3].info["n_chunks"] == 1
    for r in runs[1:]:
        np.testing.assert_array_equal(r.V_ox_final_V, runs[0].V_ox_final_V)
        np.testing.assert_array_equal(r.dV_fg_V, runs[0].dV_fg_V)
        pd.testing.assert_frame_equal(r.updates, runs[0].updates, check_exact=True)
    summary = simulate_fast(card, table, n_synapses=S, mismatch=mm, amplitudes=arg, chunk_synapses=3 * BLOCK_SYNAPSES)
    assert summary.dV_fg_V is None
    np.testing.assert_array_equal(summary.V_ox_final_V, runs[0].V_ox_final_V)
    pd.testing.assert_frame_equal(summary.updates, runs[0].updates, check_exact=True)


def test_statistics_over_cells():
    card = _card(n_updates=5)
    table = synthesize(card)
    S = 50
    res = simulate_fast(card, table, n_synapses=S, mismatch=_mismatch(card, 2 * S), keep="per_cell")
    N = res.dV_fg_V[:, 0::2] * card.device.C_T_F / q_C      # + halves are pulsed by the default table
    u = res.updates
    np.testing.assert_allclose(u["N_sim"], N.mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(u["N_sim_std"], N.std(axis=1, ddof=1), rtol=1e-8)
    np.testing.assert_allclose(u["N_sim_min"], N.min(axis=1), rtol=1e-15)
    np.testing.assert_allclose(u["N_sim_max"], N.max(axis=1), rtol=1e-15)
    assert np.all(u["N_sim_std"] > 0)
    assert res.weights_V().shape == (S,) and res.V_ox_halves_V().shape == (S, 2)


def test_energy_bookkeeping_per_programmed_cell():
    card = _card(n_updates=4)
    table = synthesize(card)
    res = simulate_fast(card, table, n_synapses=(3, 4))
    dc = drive_constants(card, cells_per_line=3)
    assert res.info["cells_per_line"] == 3 and res.info["driver_tau_s"] == pytest.approx(3 * 1e5 * 25e-15)
    u = res.updates
    vp = table["V_p_V"].to_numpy()
    assert (u["n_cells_programmed"] == 12).all()
    # recovered = C V^2/2 - E_R (driver) + the bias edge charge
    recovered = (0.5 - dc.rho) * dc.C_eff_F * vp**2 + dc.b_bias_J_per_V * vp
    np.testing.assert_allclose(u["E_recovered_J"], recovered, rtol=1e-12)
    np.testing.assert_allclose(u["E_supply_J"], u["E_driver_J"] + u["E_bias_J"], rtol=1e-15)
    np.testing.assert_allclose(u["eta_recovery"], recovered / u["E_supply_J"], rtol=1e-12)
    # per-synapse drivers (amplitudes given): one cell per line
    signed = np.where(table["half"] == "p", vp, -vp)
    r1 = simulate_fast(card, table, n_synapses=(3, 4), amplitudes=np.repeat(signed[:, None], 12, axis=1))
    assert r1.info["cells_per_line"] == 1 and r1.info["driver_tau_s"] == pytest.approx(1e5 * 25e-15)


@pytest.mark.parametrize("V0,D,sigma,T", [
    (7.88, 0.96, +1, 1e-4),      # default ramped edge (rising)
    (8.84, 0.96, -1, 1e-4),      # falling edge
    (7.50, 5.00, +1, 1e-6),      # large, fast swing: many panels
    (9.00, 0.30, +1, 0.05),      # slow edge at high field: FN relaxes during the ramp
    (7.88, 0.0, +1, 1e-3),       # no swing: free decay
])
def test_ramp_collocation_accuracy(V0, D, sigma, T):
    card = default_card()
    k1, k2 = cell_k_constants(card, card.device.tox_m, card.device.area_m2)
    c = k1 / k2

    def rhs(t, y):
        V = V0 + sigma * D * t / T - y[0]
        f = c * V * V * np.exp(-k2 / V)
        frac = t / T if sigma > 0 else 1 - t / T
        return [f, f * V, f * frac]

    ref = solve_ivp(rhs, (0, T), [0.0, 0.0, 0.0], method="DOP853", rtol=1e-13, atol=[1e-30, 1e-30, 1e-30]).y[:, -1]
    stats = _RampStats()
    q, E, Qd = _ramp(np.array([V0]), D, float(sigma), k1, k2, T, stats)
    assert stats.unconverged == 0
    np.testing.assert_allclose([q[0], E[0], Qd[0]], ref, rtol=1e-12)   # measured: <= 3e-14
    q2, _, _ = _ramp(np.array([V0] * 3), np.array([D] * 3), float(sigma), k1, k2, T, _RampStats())
    assert np.all(q2 == q[0])


def test_ramp_too_slow_is_an_input_error():
    card = default_card()
    k1, k2 = cell_k_constants(card, card.device.tox_m, card.device.area_m2)
    with pytest.raises(InputError, match="rise_s"):
        _ramp(np.array([14.0]), 0.5, 1.0, k1, k2, 1e4, _RampStats())


def test_input_errors():
    card = _card(n_updates=4)
    table = synthesize(card)
    with pytest.raises(InputError, match="keep"):
        simulate_fast(card, table, keep="all")
    with pytest.raises(InputError, match="shape"):
        simulate_fast(card, table, n_synapses=2, amplitudes=np.ones((4, 3)))
    with pytest.raises(InputError, match="4 updates"):
        simulate_fast(card, table.iloc[:3], n_synapses=2, amplitudes=np.ones((4, 2)))
    with pytest.raises(InputError, match="one per cell"):
        simulate_fast(card, table, n_synapses=2, mismatch={"tox_m": np.full(3, 12e-9)})
    with pytest.raises(InputError, match="unknown mismatch"):
        simulate_fast(card, table, mismatch={"C_T_F": np.ones(2)})
    with pytest.raises(InputError, match="finite"):
        simulate_fast(card, table, mismatch={"area_m2": np.array([1e-12, np.nan])})
    with pytest.raises(InputError, match="NaN"):
        simulate_fast(card, table, n_synapses=1, amplitudes=np.array([[1.0], [np.nan], [1.0], [1.0]]))
    with pytest.raises(InputError, match="n_synapses"):
        simulate_fast(card, table, n_synapses=0)
    with pytest.raises(InputError, match="t_end_s"):
        simulate_fast(card, table, t_end_s=10.0)
    bad = table.copy()
    bad.loc[1, "t_s"] = bad.loc[0, "t_s"]
    with pytest.raises(InputError, match="update times"):
        simulate_fast(card, bad)
