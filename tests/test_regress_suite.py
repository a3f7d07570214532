"""Suite files: parsing, metric ids, list expansion and one-line errors for bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from lim_hw.errors import InputError
from lim_hw.regress.suite import load_suite, metric_id

SHIPPED = Path(__file__).parent / "regression" / "suite.toml"


def test_shipped_suite_loads():
    s = load_suite(SHIPPED)
    assert [c.name for c in s.cases] == ["cell", "synapse", "array-2x2", "retention"]
    assert s.baseline_dir == SHIPPED.parent / "baseline"
    cell = s.case("cell")
    assert cell.testbench == "cell" and cell.card.n_updates == 5
    assert s.case("synapse").testbench == "synapse"
    assert s.case("array-2x2").array == (2, 2) and s.case("array-2x2").testbench == "array 2x2"
    ret = s.case("retention")
    assert ret.card.n_updates == 0 and ret.card.simulation.duration_s == 1e6
    names = [m.name for m in cell.metrics]
    assert "updates:N_target[n=1]" in names and "updates:N_target[n=5]" in names   # n = [1, 5] expands
    assert "waveform:V_fg_V@t=999" in names and "waveform:V_fg_V@t=1049" in names
    assert not cell.needs_waveforms or any(m.source == "waveform" for m in cell.metrics)
    fit = next(m for m in ret.metrics if m.name == "fit:decay.tox_m")
    assert (fit.source, fit.key, fit.model, fit.rel_tol) == ("fit", "tox_m", "decay", 1e-4)
    assert ret.needs_waveforms
    e = next(m for m in cell.metrics if m.name == "summary:E_supply_median_J")
    assert (e.abs_tol, e.rel_tol) == (None, 1e-3)  # from [defaults]
    assert s.n_metrics == sum(len(c.metrics) for c in s.cases)


def test_metric_ids():
    assert metric_id("summary", "E_J") == "summary:E_J"
    assert metric_id("updates", "V_p_V", n=3) == "updates:V_p_V[n=3]"
    assert metric_id("updates", "E_J", agg="median") == "updates:E_J[median]"
    assert metric_id("waveform", "V_fg_V", t_s=1e6) == "waveform:V_fg_V@t=1000000"
    assert metric_id("waveform", "V_fg_V", t_s=0.5e-3) == "waveform:V_fg_V@t=0.0005"
    assert metric_id("fit", "tox_m", model="decay") == "fit:decay.tox_m"


def _write(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "suite.toml"
    p.write_text(body, encoding="utf-8")
    return p


GOOD_CASE = """
[[case]]
name = "c"
card = "default"
  [[case.metric]]
  summary = "n_updates"
  abs_tol = 0
"""


def test_default_card_and_named_metric(tmp_path):
    s = load_suite(_write(tmp_path, GOOD_CASE + '  [[case.metric]]\n  updates = "E_supply_J"\n  agg = "sum"\n'
                                               '  rel_tol = 0.01\n  name = "total energy"\n'))
    c = s.cases[0]
    assert c.card_ref == "default" and c.card.name == "default"
    assert [m.name for m in c.metrics] == ["summary:n_updates", "total energy"]
    assert s.name == "suite" and s.baseline_dir == tmp_path / "baseline"


@pytest.mark.parametrize("body, needle", [
    ("[suite\n", "malformed TOML"),
    ("[suite]\nname = 'x'\n", "has no [[case]] tables"),
    ("bogus = 1\n" + GOOD_CASE, "unknown top-level key"),
    ("[defaults]\nrel_tol = -1\n" + GOOD_CASE, "must be >= 0"),
    (GOOD_CASE.replace('name = "c"', 'name = "a b"'), "may only use letters"),
    (GOOD_CASE + GOOD_CASE, "used more than once"),
    (GOOD_CASE.replace('card = "default"', 'card = "nope.toml"'), "not found"),
    (GOOD_CASE.replace('card = "default"', 'card = "default"\nkind = "triode"'), "is not one of cell, synapse"),
    (GOOD_CASE.replace('card = "default"', 'card = "default"\narray = "2by2"'), "is not ROWSxCOLS"),
    (GOOD_CASE.replace('card = "default"', 'card = "default"\nkind = "synapse"\narray = "2x2"'), "drop one"),
    (GOOD_CASE.replace('abs_tol = 0', ''), "has no tolerance"),
    (GOOD_CASE.replace('abs_tol = 0', 'abs_tol = "0"'), "must be a number"),
    (GOOD_CASE.replace('summary = "n_updates"', 'summary = "a"\n  updates = "b"'), "exactly one of"),
    (GOOD_CASE.replace('summary = "n_updates"', 'updates = "V_p_V"'), "exactly one row selector"),
    (GOOD_CASE.replace('summary = "n_updates"', 'updates = "V_p_V"\n  n = 1\n  agg = "max"'), "exactly one row"),
    (GOOD_CASE.replace('summary = "n_updates"', 'updates = "V_p_V"\n  agg = "mode"'), "is not one of min"),
    (GOOD_CASE.replace('summary = "n_updates"', 'updates = "V_p_V"\n  n = 0'), "update number >= 1"),
    (GOOD_CASE.replace('summary = "n_updates"', 'waveform = "V_fg_V"'), "needs t_s"),
    (GOOD_CASE.replace('summary = "n_updates"', 'waveform = "V_fg_V"\n  t_s = []'), "is empty"),
    (GOOD_CASE.replace('summary = "n_updates"', 'summary = "x"\n  t_s = 1.0'), "does not apply"),
    (GOOD_CASE.replace('summary = "n_updates"', 'fit = "tox_m"\n  model = "iv"'), "is not one of decay"),
    (GOOD_CASE.replace('summary = "n_updates"', 'fit = "tox_m"\n  n = 1'), "does not apply to a fit"),
    (GOOD_CASE.replace('summary = "n_updates"', 'summary = "x"\n  model = "decay"'), "does not apply"),
    (GOOD_CASE.replace('summary = "n_updates"', 'summary = "a"\n  name = "x,y"'), "without commas"),
    (GOOD_CASE + '  [[case.metric]]\n  summary = "n_updates"\n  rel_tol = 1\n', "more than once"),
    (GOOD_CASE.replace('[[case.metric]]\n  summary = "n_updates"\n  abs_tol = 0', ''), "no [[case.metric]]"),
])
def test_bad_suites_raise_one_line_input_error(tmp_path, body, needle):
    with pytest.raises(InputError) as exc:
        load_suite(_write(tmp_path, body))
    msg = str(exc.value)
    assert needle in msg
    assert "\n" not in msg
    assert str(tmp_path) in msg  # names the suite file


def test_bad_card_is_reported_with_the_case(tmp_path):
    (tmp_path / "bad.toml").write_text("[device]\ntox_m = -1\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"case 'c'.*tox_m"):
        load_suite(_write(tmp_path, GOOD_CASE.replace('"default"', '"bad.toml"')))


def test_missing_suite_file(tmp_path):
    with pytest.raises(InputError, match="cannot read suite"):
        load_suite(tmp_path / "none.toml")
