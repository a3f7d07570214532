"""sky130 from the command line: the example runs and reports both technologies; bad input is one line, exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _lim_hw(*args, env=None, cwd=None, timeout=600):
    return subprocess.run([sys.executable, "-m", "lim_hw", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, stdin=subprocess.DEVNULL, timeout=timeout)


def _card(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "card.toml"
    path.write_text(text)
    return path


def _assert_one_line_error(proc, tmp_path: Path, *words: str) -> None:
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip() and "%|" not in ln]
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("lim-hw: error:"), proc.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


def test_example_card_runs_and_reports_ideal_and_sky130(tmp_path):
    proc = _lim_hw("simulate", str(EXAMPLES / "sky130_cell.toml"), "-o", str(tmp_path / "o"), "--quiet")
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "o"
    html = (out / "report.html").read_text()
    assert "Ideal and sky130 designs of the same card" in html and "compare.png" in html
    cmp = pd.read_csv(out / "compare.csv", comment="#")
    assert {"E_supply_ideal_J", "E_supply_sky130_J", "E_bound_J", "E_landauer_J"} <= set(cmp.columns)
    assert (cmp["E_supply_sky130_J"] > cmp["E_supply_ideal_J"]).all()      # real drivers cost more
    assert (cmp["E_supply_ideal_J"] > cmp["E_bound_J"]).all()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["technology"]["corner"] == "tt" and summary["ideal_reference"]["directory"] == "ideal"
    assert summary["tracking_error_max_abs"] <= 1e-3
    assert (out / "ideal" / "updates.csv").exists()


SKY = '[technology]\npdk = "sky130"\n'
BAD = {
    "unknown pdk": ('[technology]\npdk = "gf180"\n', ("pdk", "ideal, sky130")),
    "unknown corner": (SKY + 'corner = "typical"\n', ("corner", "tt, ss, ff, sf, fs, tt_mm")),
    "unknown key": (SKY + "W_foo_m = 1e-6\n", ("W_foo_m", "allowed keys")),
    "size outside the bins": (SKY + "W_ro_m = 0.3e-6\n", ("W = 0.3 um", "W 0.42..100 um")),
    "rail below the logic": (SKY + "V_drv_V = 1.5\n", ("V_drv_V", "level shifter")),
    "rail above the oxide rating": (SKY + "V_drv_V = 6.0\n", ("V_drv_V", "5.5")),
    "level shifter cannot switch": (SKY + "read = false\nW_ls_n_m = 0.42e-6\nL_ls_n_m = 2e-6\nW_ls_p_m = 10e-6\n"
                                    "L_ls_p_m = 0.5e-6\n[schedule]\nn_updates = 2\n", ("level shifter cannot switch",)),
    "derived device key": (SKY + "[device]\ntox_m = 11e-9\n", ("tox_m", "model files")),
    "ramped pulses": (SKY + '[programming]\nshape = "ramped"\nrise_s = 1e-4\n', ("rectangular",)),
    "ideal with a corner": ('[technology]\ncorner = "ss"\n', ("corner", "sky130")),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_one_line_and_no_output(tmp_path, case):
    text, words = BAD[case]
    proc = _lim_hw("simulate", str(_card(tmp_path, text)), "-o", str(tmp_path / "out"), "--quiet")
    _assert_one_line_error(proc, tmp_path, *words)


@pytest.mark.parametrize("engine,words", [("shared", ("--engine shared", "batch")),
                                          ("fast", ("--engine fast", "mismatch"))])
def test_engines_sky130_cannot_serve(tmp_path, engine, words):
    text = SKY + ('corner = "tt_mm"\n' if engine == "fast" else "")
    proc = _lim_hw("simulate", str(_card(tmp_path, text)), "-o", str(tmp_path / "out"), "--engine", engine, "--quiet")
    _assert_one_line_error(proc, tmp_path, *words)


def test_pdk_root_without_sky130(tmp_path):
    env = {**os.environ, "PDK_ROOT": str(tmp_path / "pdks")}
    (tmp_path / "pdks").mkdir()
    proc = _lim_hw("simulate", str(_card(tmp_path, SKY)), "-o", str(tmp_path / "out"), "--quiet", env=env)
    _assert_one_line_error(proc, tmp_path, "PDK_ROOT", "make install")
