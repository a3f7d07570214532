"""``lim-hw fit``: ngspice round trip card -> retention -> noise -> fit -> card; outputs; bad input.

Round-trip tolerance: the fitted t_ox is within 0.5 % of the card's (observed ~1e-4),
V0 within 0.1 %, area (with the base card's C_T) within 2 %; the written card loads with
lim_hw.device.card.load_card. Bad input: exit 2, one line on stderr, nothing written.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lim_hw.cli import main
from lim_hw.device.card import default_card, load_card
from lim_hw.fit import retention_card, simulate_retention_V_ox

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "data"
needs_ngspice = pytest.mark.skipif(shutil.which("ngspice") is None, reason="ngspice not installed")


def _write_decay(path: Path, t, V) -> Path:
    pd.DataFrame({"time_s": t, "V_ox_V": V}).to_csv(path, index=False, float_format="%.12g")
    return path


@pytest.fixture(scope="module")
def ngspice_trace():
    """Retention run of the default card's cell (to 1e5 s) in ngspice, read at 50 log-spaced times."""
    if shutil.which("ngspice") is None:
        pytest.skip("ngspice not installed")
    card = retention_card(default_card(), {}, 1e5)
    t = np.geomspace(1.0, 1e5, 50)
    V, _ = simulate_retention_V_ox(card, t)
    return card, t, V


@needs_ngspice
def test_round_trip_card_ngspice_fit_card(tmp_path, ngspice_trace, capsys):
    card, t, V = ngspice_trace
    rng = np.random.default_rng(7)
    data = _write_decay(tmp_path / "trace.csv", t, V + rng.normal(0.0, 100e-6, t.size))
    out, rep = tmp_path / "fitted.toml", tmp_path / "rep"
    assert main(["fit", str(data), "--model", "decay", "-o", str(out), "--report", str(rep),
                 "--sigma", "1e-4", "--bootstrap", "30"]) == 0
    assert "tox_m" in capsys.readouterr().out
    fitted = load_card(out)
    dev, ref = fitted.device, card.device
    assert dev.tox_m == pytest.approx(ref.tox_m, rel=5e-3)
    assert dev.V0_V == pytest.approx(ref.V0_V, rel=1e-3)
    assert dev.area_m2 == pytest.approx(ref.area_m2, rel=2e-2)
    assert dev.C_T_F == ref.C_T_F            # not fitted: kept from the base card
    assert "C_T_F is NOT fitted" in out.read_text()
    rj = json.loads((rep / "report.json").read_text())
    assert rj["model"] == "decay" and rj["statistics"]["chi2_per_dof"] == pytest.approx(1.0, abs=0.5)
    assert rj["extra"]["bootstrap"]["n_ok"] == 30 and "ngspice" in rj["versions"]
    names = {p["name"]: p for p in rj["derived"]}
    assert abs(names["tox_m"]["value"] - ref.tox_m) < 4 * names["tox_m"]["stderr"]
    assert (rep / "fit.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "## Goodness of fit" in (rep / "report.md").read_text()


@needs_ngspice
def test_refine_ngspice_reproduces_data_in_simulator(tmp_path, ngspice_trace):
    card, t, V = ngspice_trace
    rng = np.random.default_rng(8)
    Vn = V + rng.normal(0.0, 100e-6, t.size)
    data = _write_decay(tmp_path / "trace.csv", t, Vn)
    out, rep = tmp_path / "fitted.toml", tmp_path / "rep"
    assert main(["fit", str(data), "--model", "decay", "-o", str(out), "--report", str(rep), "--quiet",
                 "--refine-ngspice"]) == 0
    ng = json.loads((rep / "report.json").read_text())["extra"]["ngspice_refinement"]
    assert ng["converged"] and ng["iterations"] <= 4
    assert ng["rms_data_minus_sim_after_V"] < 1.3e-4          # the card reproduces the data in ngspice
    fitted = load_card(out)
    assert fitted.device.tox_m == pytest.approx(card.device.tox_m, rel=5e-3)
    # independent check: simulate the written card and compare with the data
    V_sim, _ = simulate_retention_V_ox(retention_card(fitted, {}, float(t.max())), t)
    assert np.sqrt(np.mean((Vn - V_sim) ** 2)) < 1.3e-4


@pytest.mark.parametrize("model, name, key, true, rel", [
    ("decay", "decay_ngspice.csv", "tox_m", 11.5e-9, 5e-3),
    ("decay", "decay_T_ngspice.csv", "phi_B_eV", 3.1, 5e-3),       # two temperatures: phi_B from F_T(T)
    ("iv", "iv_ngspice.csv", "phi_B_eV", 3.1, 0.03),
    ("pulse", "pulse_ngspice.csv", "area_m2", 1.2e-12, 0.15),
])
def test_shipped_example_data_fit(tmp_path, model, name, key, true, rel):
    """The shipped ngspice data (examples/make_fit_data.py; true values in each file's header)."""
    out = tmp_path / f"{model}.toml"
    assert main(["fit", str(EXAMPLES / name), "--model", model, "-o", str(out), "--quiet"]) == 0
    dev = load_card(out).device
    assert getattr(dev, key) == pytest.approx(true, rel=rel)


def _bad_files(tmp: Path) -> dict[str, tuple[Path, str]]:
    good_t = np.geomspace(10, 1e6, 20)
    V = 8.0 - 0.1 * np.log10(good_t)
    files = {
        "missing": (tmp / "nope.csv", "cannot read"),
        "nan": (_write_decay(tmp / "nan.csv", good_t, np.where(np.arange(20) == 3, np.nan, V)), "NaN"),
        "nonmono": (_write_decay(tmp / "nm.csv", good_t[::-1], V), "not strictly increasing"),
        "few": (_write_decay(tmp / "few.csv", good_t[:3], V[:3]), "at least 5"),
        "const": (_write_decay(tmp / "const.csv", good_t, np.full(20, 7.0)), "constant"),
    }
    p = tmp / "nocol.csv"
    p.write_text("t,V\n1,2\n")
    files["nocol"] = (p, "no column time_s")
    return files


@pytest.mark.parametrize("case", ["missing", "nan", "nonmono", "few", "const", "nocol"])
def test_bad_input_exit_2_one_line_nothing_written(tmp_path, capsys, case):
    path, msg = _bad_files(tmp_path)[case]
    out, rep = tmp_path / "out.toml", tmp_path / "rep"
    rc = main(["fit", str(path), "--model", "decay", "-o", str(out), "--report", str(rep)])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("lim-hw: error: ") and err.count("\n") == 1 and msg in err
    assert not out.exists() and not rep.exists()


def test_negative_current_cli_and_subprocess(tmp_path):
    p = tmp_path / "iv.csv"
    p.write_text("voltage_V,current_A\n10,1e-13\n11,-1e-12\n12,3e-12\n13,1e-11\n14,5e-11\n")
    out = tmp_path / "o.toml"
    proc = subprocess.run([sys.executable, "-m", "lim_hw", "fit", str(p), "--model", "iv", "-o", str(out)],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "negative" in proc.stderr
    assert not out.exists() and proc.stdout == ""


def test_refuses_to_replace_foreign_report_dir_and_dir_output(tmp_path, capsys):
    data = EXAMPLES / "iv_ngspice.csv"
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("keep me")
    assert main(["fit", str(data), "--model", "iv", "-o", str(tmp_path / "c.toml"), "--report", str(foreign)]) == 2
    assert (foreign / "thesis.tex").exists() and not (tmp_path / "c.toml").exists()
    assert main(["fit", str(data), "--model", "iv", "-o", str(tmp_path)]) == 2
    assert main(["fit", str(data), "--model", "iv", "-o", str(tmp_path / "c.toml"), "--refine-ngspice"]) == 2
    err = capsys.readouterr().err
    assert "not a lim-hw result" in err and "is a directory" in err and "decay only" in err


def test_base_card_and_iv_geometry(tmp_path):
    base = tmp_path / "base.toml"
    base.write_text("[device]\nphi_B_eV = 3.1\nm_eff = 0.45\nC_T_F = 120e-15\n")
    out = tmp_path / "g.toml"
    assert main(["fit", str(EXAMPLES / "iv_ngspice.csv"), "--model", "iv", "--iv-unknowns", "geometry",
                 "--base-card", str(base), "-o", str(out), "--quiet", "--sigma", "0.02"]) == 0
    dev = load_card(out).device
    assert dev.tox_m == pytest.approx(12e-9, rel=0.01) and dev.area_m2 == pytest.approx(1e-12, rel=0.1)
    assert dev.phi_B_eV == 3.1 and dev.C_T_F == 120e-15
