"""``lim-hw bound`` and ``lim-hw project``: outputs, and bad input -> one error line, exit 2, no file."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from lim_hw.cli import main
from lim_hw.constants import k_B_J_per_K
from lim_hw.theory import ScheduleSpec
from lim_hw.theory.table import bound_table

KT = k_B_J_per_K * 300.0


def test_bound_prints_table_and_totals(capsys):
    assert main(["bound", "--n-updates", "6", "--eps0", "0.5", "--n0", "1", "--R-max", "1e6"]) == 0
    out = capsys.readouterr().out
    for word in ("E0_kT", "E_diss_J", "feasible", "totals per parameter", "E_diss_total_J", "Robbins-Monro"):
        assert word in out
    assert out.count("False") == 2          # n = 1, 2 infeasible for eps0 = 0.5, n0 = 1


def test_bound_csv_json_plot(tmp_path, capsys):
    csv = tmp_path / "b.csv"
    png = tmp_path / "b.png"
    rc = main(["bound", "--kind", "power", "--p", "0.7", "--eps0", "0.5", "--n-updates", "40", "--R-max", "1e3",
               "--csv", str(csv), "--plot", str(png), "--json"])
    assert rc == 0
    data = json.loads(capsys.readouterr().out)
    assert data["command"] == "bound" and "lim_hw" in data["versions"]
    assert data["schedule"]["kind"] == "power" and data["R_max_per_s"] == 1e3
    assert len(data["steps"]) == 40
    # independent check of one step: n = 10, eps = 0.5 * 10^-0.7, R = R_max eps^1.5
    eps = 0.5 * 10 ** -0.7
    E0_kT = math.log(1 / eps ** 1.5) + math.log(math.tanh(eps / 2))
    assert data["steps"][9]["E0_kT"] == pytest.approx(E0_kT, rel=1e-12)
    assert data["totals"]["E_diss_total_J"] == pytest.approx(sum(s["E_diss_J"] for s in data["steps"]), rel=1e-12)
    assert data["robbins_monro"]["satisfied"] is True
    # CSV: versions comment first, then the table (12 significant digits)
    first = csv.read_text().splitlines()[0]
    assert first.startswith("# lim_hw=")
    df = pd.read_csv(csv, comment="#")
    ref = bound_table(ScheduleSpec(kind="power", p=0.7, n_updates=40), 1e3)
    assert list(df.columns) == list(ref.columns)
    np.testing.assert_allclose(df["E0_J"], ref["E0_J"], rtol=1e-11, atol=1e-40)
    # plot: a real PNG
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000


def test_bound_zero_updates(capsys, tmp_path):
    csv = tmp_path / "z.csv"
    assert main(["bound", "--n-updates", "0", "--csv", str(csv), "--plot", str(tmp_path / "z.png")]) == 0
    assert "no updates" in capsys.readouterr().out
    assert len(pd.read_csv(csv, comment="#")) == 0


def test_bound_config(tmp_path, capsys):
    (tmp_path / "t.csv").write_text("n,eps,R_per_s\n1,0.2,5\n2,0.1,2\n")
    cfg = tmp_path / "c.toml"
    cfg.write_text('[schedule]\nkind = "table"\ntable_csv = "t.csv"\n[device]\nR_max_per_s = 1000.0\nT_K = 77\n')
    assert main(["bound", "--config", str(cfg), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["T_K"] == 77 and data["R_max_per_s"] == 1000.0
    kT77 = k_B_J_per_K * 77
    E0 = kT77 * (math.log(1000 / 5) + math.log(math.tanh(0.1)))
    assert data["steps"][0]["E0_J"] == pytest.approx(E0, rel=1e-12)
    # flags override the config
    cfg2 = tmp_path / "d.toml"
    cfg2.write_text('[schedule]\nkind = "constant"\neps0 = 0.1\nn_updates = 3\n')
    assert main(["bound", "--config", str(cfg2), "--n-updates", "5", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["schedule"]["n_updates"] == 5 and data["schedule"]["eps0"] == 0.1


BAD_TOML = {
    "unknown_key": '[schedule]\nkind = "inverse"\nfoo = 1\n',
    "unknown_table": '[schedule]\nkind = "inverse"\n[extra]\nx = 1\n',
    "unknown_device_key": '[device]\nR_max = 1.0\n',
    "malformed": '[schedule\nkind = ',
    "nan": '[schedule]\neps0 = nan\n',
    "alpha": '[schedule]\nalpha = 1.5\n',
    "string_value": '[schedule]\neps0 = "0.5"\n',
    "negative_rate": '[device]\nR_max_per_s = -1e3\n',
    "missing_table": '[schedule]\nkind = "table"\ntable_csv = "missing.csv"\n',
    "unreadable_table": '[schedule]\nkind = "table"\ntable_csv = "junk.csv"\n',
}

BAD_FLAGS = {
    "eps0_nan": ["--eps0", "nan"],
    "eps0_zero": ["--eps0", "0"],
    "eps0_negative": ["--eps0", "-0.1"],
    "alpha_one": ["--alpha", "1"],
    "alpha_negative": ["--alpha", "-0.2"],
    "R_max_negative": ["--R-max", "-5"],
    "R_max_nan": ["--R-max", "nan"],
    "T_zero": ["--T", "0"],
    "n_updates_negative": ["--n-updates", "-3"],
    "table_without_csv": ["--kind", "table"],
    "missing_config": ["--config", "does_not_exist.toml"],
}


def _check_fails(argv, tmp_path, capsys):
    csv = tmp_path / "out.csv"
    png = tmp_path / "out.png"
    rc = main(["bound", *argv, "--csv", str(csv), "--plot", str(png)])
    cap = capsys.readouterr()
    assert rc == 2
    lines = cap.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lim-hw: error: ")
    assert cap.out == ""
    assert not csv.exists() and not png.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]  # no temp files left


@pytest.mark.parametrize("name", sorted(BAD_TOML))
def test_bound_bad_config(name, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "junk.csv").write_bytes(b"\x00\xff\xfe\x01")
    cfg = tmp_path / "bad.toml"
    cfg.write_text(BAD_TOML[name])
    _check_fails(["--config", str(cfg)], tmp_path, capsys)


@pytest.mark.parametrize("name", sorted(BAD_FLAGS))
def test_bound_bad_flags(name, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _check_fails(BAD_FLAGS[name], tmp_path, capsys)


def test_bound_bad_plot_suffix(tmp_path, capsys):
    rc = main(["bound", "--csv", str(tmp_path / "o.csv"), "--plot", str(tmp_path / "o.txt")])
    assert rc == 2 and "plot" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_bound_exit_code_via_subprocess(tmp_path):
    out = tmp_path / "o.csv"
    r = subprocess.run([sys.executable, "-m", "lim_hw", "bound", "--alpha", "2", "--csv", str(out)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "alpha" in r.stderr
    assert not out.exists()


def test_project_default_numbers(tmp_path, capsys):
    csv = tmp_path / "p.csv"
    assert main(["project", "--json", "--csv", str(csv)]) == 0
    data = json.loads(capsys.readouterr().out)
    s = data["summary"]
    kln2 = KT * math.log(2)
    assert s["LIM_compute_min_J"] == pytest.approx(1e28 * 8 * kln2, rel=1e-12)     # 2.30e8 J
    assert s["LIM_compute_max_J"] == pytest.approx(1e28 * 32 * kln2, rel=1e-12)    # 9.19e8 J
    assert 1e8 < s["LIM_schedule_J"] < 1e9
    assert s["conventional_J"]["conventional: ops x 10 pJ/op"] == pytest.approx(1e17, rel=1e-12)
    assert "versions" in data and data["reconstruction"] == "arXiv:2402.14878"
    df = pd.read_csv(csv, comment="#")
    assert len(df) == len(data["table"])


def test_project_text_and_flags(capsys):
    assert main(["project", "--params", "1e12", "--ops", "1e24", "--bits-min", "4", "--bits-max", "4",
                 "--pJ-per-op", "1"]) == 0
    out = capsys.readouterr().out
    assert "Landauer" in out and "conventional" in out
    assert f"{1e24 * 4 * KT * math.log(2):.4g}" in out


@pytest.mark.parametrize("argv", [["--ops", "nan"], ["--params", "-1"], ["--bits-min", "40"],
                                  ["--pJ-per-op", "-1"], ["--T", "0"]])
def test_project_bad_input(argv, tmp_path, capsys):
    csv = tmp_path / "p.csv"
    assert main(["project", *argv, "--csv", str(csv)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("lim-hw: error: ")
    assert not csv.exists()


def test_example_schedule_config(capsys):
    from importlib import resources

    path = resources.files("lim_hw") / "data" / "example_schedule.toml"
    assert main(["bound", "--config", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["schedule"]["kind"] == "power" and len(data["steps"]) == 1000
    eps = 0.2 * 1000 ** -0.8
    assert data["steps"][-1]["E0_kT"] == pytest.approx(math.log(eps ** -1.5) + math.log(math.tanh(eps / 2)), rel=1e-12)
