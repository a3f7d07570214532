"""FN I-V fit (lim_hw.fit.iv): FN-plot regression and weighted NLS, mapping to phi_B/m* or t_ox/area.

Synthetic data: the FN current of the reference junction (t_ox 12 nm, 1 um^2) at 25 voltages
10..16 V with 2 % multiplicative noise. Tolerance: the 95 % intervals of phi_B and m* cover
the truth in >= 85 of 100 seeded trials; the two methods agree within 2 standard errors.
"""

from __future__ import annotations

import numpy as np
import pytest

from lim_hw.device.fn import fn_coefficients, fn_current_A
from lim_hw.errors import InputError
from lim_hw.fit import fit_iv
from lim_hw.fit.iv import barrier_from_AB, fn_iv_model_A, fn_plot_regression

V = np.linspace(10.0, 16.0, 25)


def _iv(phi=3.2, m=0.42, tox=12e-9, area=1e-12):
    return fn_current_A(V, tox, area, phi, m)


@pytest.mark.parametrize("phi, m", [(3.2, 0.42), (2.9, 0.5), (3.6, 0.3)])
def test_barrier_from_AB_inverts_fn_coefficients(phi, m):
    assert barrier_from_AB(*fn_coefficients(phi, m)) == pytest.approx((phi, m), rel=1e-12)


def test_model_is_fn_current():
    A, B = fn_coefficients()
    a, b = 1e-12 * A / 12e-9**2, B * 12e-9
    np.testing.assert_allclose(fn_iv_model_A(V, np.log(a), b), _iv(), rtol=1e-12)


def test_noise_free_both_methods_exact():
    r = fit_iv(V, _iv(3.1, 0.45))
    assert r["phi_B_eV"].value == pytest.approx(3.1, rel=1e-8)
    assert r["m_eff"].value == pytest.approx(0.45, rel=1e-8)
    lin = r.extra["fn_plot_regression"]["parameters"]
    assert lin["phi_B_eV"]["value"] == pytest.approx(3.1, rel=1e-8)
    assert r.extra["fn_plot_regression"]["r_squared"] == pytest.approx(1.0, abs=1e-12)
    assert set(r.card_updates) == {"phi_B_eV", "m_eff"}


def test_coverage_over_100_seeds_and_methods_agree():
    I = _iv()
    cov = {"phi_B_eV": 0, "m_eff": 0, "b_V": 0}
    b_true = fn_coefficients()[1] * 12e-9
    worst = 0.0
    for seed in range(100):
        rng = np.random.default_rng(seed)
        r = fit_iv(V, I * (1 + 0.02 * rng.standard_normal(V.size)))
        cov["phi_B_eV"] += r["phi_B_eV"].covers(3.2)
        cov["m_eff"] += r["m_eff"].covers(0.42)
        cov["b_V"] += r["b_V"].covers(b_true)
        worst = max(worst, max(abs(x) for x in r.extra["fn_plot_regression"]["nls_minus_regression_over_stderr"]
                               .values() if x is not None))
    assert min(cov.values()) >= 85, cov
    assert worst < 2.0


def test_geometry_mode_recovers_tox_and_area():
    rng = np.random.default_rng(1)
    r = fit_iv(V, _iv(tox=11e-9, area=2e-12) * (1 + 0.02 * rng.standard_normal(V.size)), unknowns="geometry")
    assert set(r.card_updates) == {"tox_m", "area_m2"}
    assert r["tox_m"].covers(11e-9) and r["area_m2"].covers(2e-12)
    assert r["tox_m"].value == pytest.approx(11e-9, rel=0.01)


def test_sigma_gives_chi2_and_regression_weights():
    rng = np.random.default_rng(2)
    I = _iv()
    In = I * (1 + 0.02 * rng.standard_normal(V.size))
    r = fit_iv(V, In, 0.02 * I)
    assert r.stats["chi2_per_dof"] == pytest.approx(1.0, abs=0.6)
    p, cov, dof, _ = fn_plot_regression(V, In, 0.02 * I)
    assert dof == V.size - 2 and np.all(np.diag(cov) > 0)


def test_bootstrap():
    rng = np.random.default_rng(4)
    r = fit_iv(V, _iv() * (1 + 0.02 * rng.standard_normal(V.size)), n_bootstrap=50)
    p = r["phi_B_eV"]
    assert r.extra["bootstrap"]["n_ok"] == 50 and 0.5 < p.boot_stderr / p.stderr < 2.0


@pytest.mark.parametrize("Vs, I, msg", [
    (V, -_iv(), "negative"),
    (V, np.where(np.arange(V.size) == 3, 0.0, _iv()), "is 0"),
    (V[:4], _iv()[:4], "at least 5"),
    (V, np.full(V.size, 1e-12), "constant"),
    (-V, _iv(), "positive oxide voltage"),
    (V, np.where(np.arange(V.size) == 2, np.nan, _iv()), "NaN"),
    (V, _iv()[::-1], "non-negative slope"),
])
def test_bad_iv_refused(Vs, I, msg):
    with pytest.raises(InputError, match=msg):
        fit_iv(Vs, I)
