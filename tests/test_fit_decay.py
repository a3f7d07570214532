"""Decay fit (lim_hw.fit.decay): recovery of k0, k1, k2 and the device, interval coverage, statistics.

Synthetic data come from the closed form (fast); the ngspice round trip is in test_fit_cli.py.
Tolerances: noise-free data -> constants to 1e-7 relative; 100 uV noise on 40 points
1..1e6 s of the reference device -> t_ox within 0.05 % in every one of 100 seeded trials,
and the 95 % interval covers the truth in >= 85 of 100 trials for every parameter.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from lim_hw.device.floating_gate import device_from_k, fn_closed_form_V, fn_k_constants
from lim_hw.errors import InputError
from lim_hw.fit import fit_decay
from lim_hw.fit.decay import decay_model_V

REF = dict(tox_m=12e-9, area_m2=1e-12, C_T_F=100e-15, V0_V=8.0)
T = np.geomspace(10.0, 1e6, 40)


def _trace(t=T, **dev):
    d = {**REF, **dev}
    return fn_closed_form_V(t, d["tox_m"], d["area_m2"], d["C_T_F"], d["V0_V"])


def _truth(**dev):
    d = {**REF, **dev}
    k = fn_k_constants(d["tox_m"], d["area_m2"], d["C_T_F"], d["V0_V"])
    return {"ln_k0": k.ln_k0, "ln_k1": math.log(k.k1_per_s), "k2_V": k.k2_V, "tox_m": d["tox_m"],
            "area_m2": d["area_m2"], "V0_V": d["V0_V"], "t_knee_s": k.t_knee_s,
            "area_over_C_T_m2_per_F": d["area_m2"] / d["C_T_F"]}


def test_model_matches_closed_form():
    k = fn_k_constants(**REF)
    np.testing.assert_allclose(decay_model_V(T, k.ln_k0, math.log(k.k1_per_s), k.k2_V), _trace(), rtol=1e-13)


@pytest.mark.parametrize("dev", [
    {},
    {"tox_m": 8e-9, "V0_V": 6.0},
    {"tox_m": 14e-9, "area_m2": 1e-11, "C_T_F": 50e-15, "V0_V": 10.0},
    {"tox_m": 10e-9, "area_m2": 5e-13, "C_T_F": 200e-15, "V0_V": 7.0},
])
def test_noise_free_recovery(dev):
    truth = _truth(**dev)
    t = np.geomspace(truth["t_knee_s"] / 100, truth["t_knee_s"] * 1e4, 50)
    r = fit_decay(t, _trace(t, **dev) + 1e-12 * np.sin(np.arange(t.size)), C_T_F={**REF, **dev}["C_T_F"])
    for name in ("ln_k0", "ln_k1", "k2_V", "tox_m", "area_m2", "V0_V"):
        assert r[name].value == pytest.approx(truth[name], rel=1e-7), name


def test_ci_coverage_and_tox_accuracy_over_100_seeds():
    truth = _truth()
    V = _trace()
    names = ("ln_k0", "ln_k1", "k2_V", "tox_m", "area_m2", "V0_V", "t_knee_s")
    covered = dict.fromkeys(names, 0)
    tox_err = []
    for seed in range(100):
        rng = np.random.default_rng(seed)
        r = fit_decay(T, V + rng.normal(0.0, 100e-6, T.size), C_T_F=REF["C_T_F"])
        for n in names:
            covered[n] += r[n].covers(truth[n])
        tox_err.append(r["tox_m"].value / truth["tox_m"] - 1.0)
    assert min(covered.values()) >= 85, covered
    assert max(abs(e) for e in tox_err) < 5e-4
    # the reported standard error is honest: it matches the scatter over trials
    assert np.std(tox_err) * truth["tox_m"] == pytest.approx(r["tox_m"].stderr, rel=0.35)


def test_device_mapping_is_device_from_k():
    rng = np.random.default_rng(3)
    r = fit_decay(T, _trace() + rng.normal(0, 1e-4, T.size), C_T_F=REF["C_T_F"], phi_B_eV=3.0, m_eff=0.5)
    d = device_from_k(r["k1_per_s"].value, r["k2_V"].value, ln_k0=r["ln_k0"].value, phi_B_eV=3.0, m_eff=0.5)
    assert r["tox_m"].value == pytest.approx(d["tox_m"], rel=1e-12)
    assert r["area_over_C_T_m2_per_F"].value == pytest.approx(d["area_over_C_T_m2_per_F"], rel=1e-9)
    assert r["area_m2"].value == pytest.approx(d["area_over_C_T_m2_per_F"] * REF["C_T_F"], rel=1e-9)
    assert r["V0_V"].value == pytest.approx(d["V0_V"], rel=1e-12)
    assert set(r.card_updates) == {"tox_m", "area_m2", "V0_V"}
    assert any("never separable" in n for n in r.notes)


def test_area_and_C_T_only_as_a_ratio():
    """Doubling area and C_T together gives the same trace, hence the same fit."""
    V1 = _trace()
    V2 = _trace(area_m2=2e-12, C_T_F=200e-15)
    np.testing.assert_allclose(V1, V2, rtol=1e-14)


def test_sigma_gives_chi2_and_goodness():
    rng = np.random.default_rng(11)
    t = np.geomspace(10.0, 1e6, 200)
    r = fit_decay(t, _trace(t) + rng.normal(0, 1e-4, t.size), 1e-4)
    s = r.stats
    assert s["dof"] == 197 and s["chi2_per_dof"] == pytest.approx(1.0, abs=0.25)
    assert s["rms_residual"] == pytest.approx(1e-4, rel=0.2)
    assert 0.001 < s["chi2_p_value"] < 0.999
    r2 = fit_decay(t, _trace(t) + rng.normal(0, 1e-4, t.size))
    assert r2.stats["chi2_per_dof"] is None and "estimated" in r2.stats["sigma_source"]


def test_bootstrap_agrees_with_jacobian_errors():
    rng = np.random.default_rng(5)
    r = fit_decay(T, _trace() + rng.normal(0, 1e-4, T.size), C_T_F=REF["C_T_F"], n_bootstrap=60, seed=1)
    assert r.extra["bootstrap"]["n_ok"] == 60
    for n in ("k2_V", "tox_m", "ln_k1"):
        p = r[n]
        assert 0.5 < p.boot_stderr / p.stderr < 2.0, n
        assert p.boot_ci95[0] < p.value < p.boot_ci95[1]


def test_warns_when_trace_misses_the_knee():
    k = _truth()["t_knee_s"]
    t = np.geomspace(k * 50, k * 5e4, 30)
    rng = np.random.default_rng(0)
    r = fit_decay(t, _trace(t) + rng.normal(0, 1e-4, t.size))
    assert any("after the knee" in w for w in r.warnings)


@pytest.mark.parametrize("t, V, msg", [
    (T, np.full(T.size, 7.5), "constant"),
    (T[:4], _trace()[:4], "at least 5"),
    (T, np.where(np.arange(T.size) == 7, np.nan, _trace()), "NaN"),
    (T[::-1], _trace(), "not strictly increasing"),
    (T, _trace()[::-1], "does not decrease"),
    (T, -_trace(), "V_ox"),
])
def test_degenerate_data_refused(t, V, msg):
    with pytest.raises(InputError, match=msg):
        fit_decay(t, V)
