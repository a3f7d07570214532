"""Baseline files: review-friendly format, round trip, change listing, clear errors when corrupt."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from lim_hw.cli import main
from lim_hw.errors import InputError
from lim_hw.regress.baseline import (FORMAT, changes, format_value, metrics_text, read_baseline, round_value,
                                     write_baseline)

SHIPPED = Path(__file__).parent / "regression"


def test_format_is_sorted_fixed_one_per_line(tmp_path):
    values = {("b", "summary:x"): 1 / 3, ("a", "summary:z"): 5.0, ("a", "summary:y"): math.nan,
              ("a", "updates:E_J[n=2]"): -1.5e-13, ("c", "w"): math.inf}
    write_baseline(tmp_path, values, {"ngspice": "ngspice-39", "cases": {"a": {"options": {"reltol": 1e-6}}}})
    lines = (tmp_path / "metrics.csv").read_text().splitlines()
    assert lines == ["case,metric,value", "a,summary:y,nan", "a,summary:z,5", "a,updates:E_J[n=2],-1.5e-13",
                     "b,summary:x,0.333333333333", "c,w,inf"]
    prov = json.loads((tmp_path / "provenance.json").read_text())
    assert prov["format"] == FORMAT and prov["ngspice"] == "ngspice-39"
    back = read_baseline(tmp_path)
    assert back.values[("b", "summary:x")] == round_value(1 / 3) == 0.333333333333
    assert math.isnan(back.values[("a", "summary:y")])
    assert back.case_provenance("a") == {"options": {"reltol": 1e-6}}
    assert back.case_provenance("missing") == {}
    # writing what was read gives the same bytes (stable diffs)
    assert metrics_text(back.values) == (tmp_path / "metrics.csv").read_text()


def test_format_value():
    assert format_value(1234567890123.456) == "1.23456789012e+12"
    assert format_value(2) == "2"
    assert format_value(-0.1) == "-0.1"


def test_shipped_baseline_is_canonical():
    """The committed baseline is exactly what write_baseline would write (sorted, %.12g)."""
    b = read_baseline(SHIPPED / "baseline")
    assert metrics_text(b.values) == (SHIPPED / "baseline" / "metrics.csv").read_text(encoding="utf-8")
    assert b.provenance["ngspice"].startswith("ngspice-")
    for case in ("cell", "synapse", "array-2x2", "retention"):
        p = b.case_provenance(case)
        assert p["ngspice"] and p["options"]["method"] == "gear" and "tstop_s" in p["tran"]


def test_changes():
    old = {("a", "m1"): 1.0, ("a", "m2"): 2.0, ("a", "gone"): 3.0}
    new = {("a", "m1"): 1.0, ("a", "m2"): 2.5, ("a", "new"): 4.0}
    ch = {c.metric: c for c in changes(old, new)}
    assert {m: c.kind for m, c in ch.items()} == {"m1": "unchanged", "m2": "changed", "gone": "removed",
                                                  "new": "added"}
    assert ch["m2"].text() == "a  m2  2 -> 2.5  (+0.25 rel)"
    assert ch["gone"].text() == "a  gone  3 -> (removed)"
    assert ch["new"].text() == "a  new  (new) -> 4"


GOOD = "case,metric,value\ncell,summary:n_updates,5\n"


@pytest.mark.parametrize("text, needle", [
    ("", "header must be case,metric,value"),
    ("case;metric;value\n", "header must be"),
    (GOOD + "cell,summary:E_J\n", "metrics.csv:3: expected case,metric,value"),
    (GOOD + "cell,summary:E_J,1e-3,extra\n", ":3: expected case,metric,value"),
    (GOOD + "cell,summary:E_J,one\n", ":3: value 'one' of cell summary:E_J is not a number"),
    (GOOD + "cell,summary:n_updates,6\n", ":3: cell summary:n_updates appears twice"),
    (GOOD + ",summary:E_J,1\n", ":3: expected"),
    (GOOD + 'cell,"summary:E_J,1\n', "corrupt baseline"),
])
def test_corrupt_metrics_file(tmp_path, text, needle):
    (tmp_path / "metrics.csv").write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as exc:
        read_baseline(tmp_path)
    msg = str(exc.value)
    assert needle in msg and "\n" not in msg
    assert "--update-baseline" in msg  # names the fix


def test_corrupt_provenance_file(tmp_path):
    (tmp_path / "metrics.csv").write_text(GOOD, encoding="utf-8")
    (tmp_path / "provenance.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="corrupt baseline .*provenance.json"):
        read_baseline(tmp_path)
    (tmp_path / "provenance.json").write_text('["a list"]', encoding="utf-8")
    with pytest.raises(InputError, match="not a JSON object"):
        read_baseline(tmp_path)
    (tmp_path / "provenance.json").write_text('{"format": "something else"}', encoding="utf-8")
    with pytest.raises(InputError, match="has format"):
        read_baseline(tmp_path)


def test_missing_baseline(tmp_path):
    with pytest.raises(InputError, match="no baseline in .*--update-baseline"):
        read_baseline(tmp_path / "nothing")


def test_cli_corrupt_baseline_exits_2_with_one_line(tmp_path, capsys):
    """The baseline is read before any simulation: a corrupt one fails at once, exit 2, one line."""
    bad = tmp_path / "baseline"
    bad.mkdir()
    (bad / "metrics.csv").write_text(GOOD + "cell,summary:E_supply_median_J,??\n", encoding="utf-8")
    rc = main(["regress", str(SHIPPED / "suite.toml"), "--baseline", str(bad), "-q"])
    out, err = capsys.readouterr()
    assert rc == 2
    assert err.count("\n") == 1 and err.startswith("lim-hw: error: corrupt baseline ")
    assert "metrics.csv:3" in err and "'??'" in err
    assert out == ""
