"""``lim-hw regress`` on a small one-case suite: exit codes, table, JUnit, --update-baseline, errors."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from lim_hw.cli import main

SHIPPED = Path(__file__).parent / "regression"

SUITE = """
[suite]
name = "small"

[[case]]
name = "cell"
card = "card.toml"

  [[case.metric]]
  summary = "n_updates"
  abs_tol = 0

  [[case.metric]]
  summary = "E_supply_median_J"
  rel_tol = 1e-3

  [[case.metric]]
  updates = "V_p_V"
  n = 1
  rel_tol = 1e-4

  [[case.metric]]
  waveform = "V_fg_V"
  t_s = 999.0
  abs_tol = 1e-4
"""


def _make_suite(root: Path, suite: str = SUITE, n_updates: int = 2, extra_sim: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    card = (SHIPPED / "cards" / "reference.toml").read_text(encoding="utf-8")
    card = re.sub(r"(?m)^n_updates = 5", f"n_updates = {n_updates}", card)
    if extra_sim:
        card = re.sub(r"(?m)^timeout_s = .*$", extra_sim, card)
    (root / "card.toml").write_text(card, encoding="utf-8")
    (root / "suite.toml").write_text(suite, encoding="utf-8")
    return root / "suite.toml"


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A small suite with a freshly written baseline (the --update-baseline path)."""
    root = tmp_path_factory.mktemp("small")
    suite = _make_suite(root)
    rc = main(["regress", str(suite), "--update-baseline", "-q"])
    assert rc == 0
    return suite


def _run(capsys, *args: str) -> tuple[int, str, str]:
    rc = main(["regress", *args])
    out, err = capsys.readouterr()
    return rc, out, err


def test_update_baseline_writes_review_friendly_files(small):
    base = small.parent / "baseline"
    lines = (base / "metrics.csv").read_text().splitlines()
    assert lines[0] == "case,metric,value"
    assert [ln.split(",")[1] for ln in lines[1:]] == sorted(
        ["summary:n_updates", "summary:E_supply_median_J", "updates:V_p_V[n=1]", "waveform:V_fg_V@t=999"])
    assert "cell,summary:n_updates,2" in lines
    assert '"ngspice": "ngspice-' in (base / "provenance.json").read_text()


def test_check_passes_exit_0_with_junit(small, tmp_path, capsys):
    junit = tmp_path / "j.xml"
    rc, out, err = _run(capsys, str(small), "--junit", str(junit), "--workers", "1", "-o", str(tmp_path / "o"))
    assert rc == 0, out
    case_dir = tmp_path / "o" / "cell"      # per-case plots and report only with --plots
    assert (case_dir / "updates.csv").exists() and not (case_dir / "report.html").exists()
    assert not list(case_dir.glob("*.png"))
    assert "all 4 metrics passed" in out
    assert re.search(r"PASS\s+cell\s+summary:E_supply_median_J", out)
    assert "regress: [1/1] cell ok" in err
    root = ET.parse(junit).getroot()
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("4", "0", "0")


def test_plots_option_writes_each_case_report(small, tmp_path, capsys):
    rc, out, _ = _run(capsys, str(small), "--workers", "1", "-o", str(tmp_path / "o"), "--plots", "-q")
    assert rc == 0, out
    assert (tmp_path / "o" / "cell" / "report.html").exists() and (tmp_path / "o" / "cell" / "energy.png").exists()


def _edited_baseline(small: Path, dest: Path, factor: float, ngspice: str | None = None) -> Path:
    shutil.copytree(small.parent / "baseline", dest)
    m = dest / "metrics.csv"
    lines = m.read_text().splitlines()
    for i, ln in enumerate(lines):
        case, metric, value = ln.split(",")
        if metric == "summary:E_supply_median_J":
            lines[i] = f"{case},{metric},{float(value) * factor:.12g}"
    m.write_text("\n".join(lines) + "\n")
    if ngspice:
        p = dest / "provenance.json"
        p.write_text(re.sub(r'"ngspice-[^"]*"', f'"{ngspice}"', p.read_text()))
    return dest


def test_changed_metric_fails_exit_1_and_only_that_metric(small, tmp_path, capsys):
    base = _edited_baseline(small, tmp_path / "b", 1.01, ngspice="ngspice-0")
    junit = tmp_path / "j.xml"
    rc, out, _ = _run(capsys, str(small), "--baseline", str(base), "--junit", str(junit), "-q")
    assert rc == 1
    fails = re.findall(r"(?m)^FAIL {2,}cell {2,}(\S+)", out)  # table rows
    assert fails == ["summary:E_supply_median_J"]
    assert len(re.findall(r"(?m)^PASS {2,}cell ", out)) == 3
    # the simulator difference is reported next to the failure and in the summary line
    assert re.search(r"FAIL cell summary:E_supply_median_J: .*ngspice differs: baseline ngspice-0, here ngspice-",
                     out)
    assert "FAILED 1 of 4 metrics" in out and "baseline made with ngspice-0" in out
    assert "--update-baseline" in out
    root = ET.parse(junit).getroot()
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("4", "1", "0")
    assert root.find(".//testcase[@name='summary:E_supply_median_J']/failure") is not None


def test_within_tolerance_change_passes(small, tmp_path, capsys):
    base = _edited_baseline(small, tmp_path / "b", 1.0005)  # 0.05 % < rel_tol 0.1 %
    rc, out, _ = _run(capsys, str(small), "--baseline", str(base), "-q")
    assert rc == 0, out


def test_update_baseline_marks_changes_within_tolerance(small, tmp_path, capsys):
    base = _edited_baseline(small, tmp_path / "b", 1.0005)
    rc, out, _ = _run(capsys, str(small), "--baseline", str(base), "--update-baseline", "-q")
    assert rc == 0
    assert re.search(r"(?m)^changed\s+cell\s+summary:E_supply_median_J .* \[within tolerance\]$", out), out
    assert "(1 of the changes within tolerance)" in out


def test_update_baseline_shows_old_to_new(small, tmp_path, capsys):
    base = _edited_baseline(small, tmp_path / "b", 2.0)
    old = float(next(ln.split(",")[2] for ln in (base / "metrics.csv").read_text().splitlines()
                     if "E_supply_median_J" in ln))
    rc, out, _ = _run(capsys, str(small), "--baseline", str(base), "--update-baseline", "-q")
    assert rc == 0
    m = re.search(r"(?m)^changed\s+cell\s+summary:E_supply_median_J\s+(\S+) -> (\S+)\s+\(-0.5 rel\)$", out)
    assert m, out
    assert float(m.group(1)) == old and float(m.group(2)) == pytest.approx(old / 2, rel=1e-11)
    assert "1 changed, 0 added, 0 removed, 3 unchanged" in out
    assert (base / "metrics.csv").read_text() == (small.parent / "baseline" / "metrics.csv").read_text()


def test_metric_that_cannot_be_computed(tmp_path, capsys):
    suite = _make_suite(tmp_path, SUITE.replace('updates = "V_p_V"', 'updates = "V_q_V"'), n_updates=1)
    rc, out, _ = _run(capsys, str(suite), "--update-baseline", "-q")
    assert rc == 1
    assert "ERROR cell updates:V_q_V[n=1]: no column 'V_q_V' in updates.csv" in out
    assert "NOT written" in out and not (tmp_path / "baseline").exists()


def test_case_that_does_not_simulate_is_an_error_exit_1(small, tmp_path, capsys):
    suite = _make_suite(tmp_path, extra_sim="timeout_s = 1e-4")
    shutil.copytree(small.parent / "baseline", tmp_path / "baseline")
    junit = tmp_path / "j.xml"
    rc, out, err = _run(capsys, str(suite), "--junit", str(junit))
    assert rc == 1
    assert len(re.findall(r"(?m)^ERROR {2,}cell ", out)) == 4
    assert "case did not run" in out and "cell FAILED" in err
    root = ET.parse(junit).getroot()
    assert (root.get("failures"), root.get("errors")) == ("0", "4")


@pytest.mark.parametrize("args, needle", [
    (["{suite}", "--workers", "0"], "--workers 0 must be >= 1"),
    (["{suite}", "--junit", "{tmp}"], "is a directory"),
    (["{suite}", "--junit", "x.xml", "--update-baseline"], "no meaning with --update-baseline"),
    (["{tmp}/missing.toml"], "cannot read suite"),
    (["{suite}", "--baseline", "{tmp}/nowhere"], "no baseline in"),
])
def test_bad_input_exit_2_one_line(tmp_path, capsys, args, needle):
    suite = _make_suite(tmp_path / "s")
    args = [a.format(suite=suite, tmp=tmp_path) for a in args]
    rc, out, err = _run(capsys, *args)
    assert rc == 2
    assert err.startswith("lim-hw: error: ") and err.count("\n") == 1 and needle in err


@pytest.mark.parametrize("name,text", [("metrics.csv", "date,reading\n1,2\n"),
                                       ("provenance.json", '{"my": "notes"}\n'),
                                       ("provenance.json", "not json")])
def test_update_baseline_never_overwrites_a_users_file(small, tmp_path, capsys, name, text):
    """``--baseline DIR --update-baseline`` into a folder holding someone else's file: exit 2 before any run."""
    base = tmp_path / "mine"
    base.mkdir()
    (base / name).write_text(text, encoding="utf-8")
    rc, out, err = _run(capsys, str(small), "--baseline", str(base), "--update-baseline", "-q")
    assert rc == 2 and err.count("\n") == 1 and "lim-hw will not overwrite it" in err
    assert (base / name).read_text(encoding="utf-8") == text and [p.name for p in base.iterdir()] == [name]
