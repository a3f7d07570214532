"""The tolerance rule of lim-hw regress, exactly at its boundary, and the comparison report."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from lim_hw.device.card import default_card
from lim_hw.regress.baseline import Baseline
from lim_hw.regress.compare import (ERROR, FAIL, PASS, allowed_difference, compare, format_table, provenance_note,
                                    summary_line, within_tolerance)
from lim_hw.regress.suite import CaseSpec, MetricSpec, Suite

# Every number below is exactly representable in binary, so |obs - base| and
# rel_tol * |base| are computed without rounding and the boundary is exact.


@pytest.mark.parametrize("obs", [1.5, 0.5])
def test_abs_tol_boundary_is_inclusive(obs):
    assert within_tolerance(obs, 1.0, abs_tol=0.5)
    assert allowed_difference(1.0, abs_tol=0.5) == 0.5


@pytest.mark.parametrize("obs", [1.5 + 2 ** -52, 0.5 - 2 ** -53])
def test_abs_tol_just_past_boundary_fails(obs):
    assert abs(obs - 1.0) > 0.5
    assert not within_tolerance(obs, 1.0, abs_tol=0.5)


def test_rel_tol_boundary_is_inclusive():
    # 0.25 * |-2| = 0.5 exactly
    assert within_tolerance(-2.5, -2.0, rel_tol=0.25)
    assert within_tolerance(-1.5, -2.0, rel_tol=0.25)
    assert not within_tolerance(-2.5 - 2 ** -51, -2.0, rel_tol=0.25)
    assert allowed_difference(-2.0, rel_tol=0.25) == 0.5


def test_either_tolerance_passes():
    # diff 0.75: abs 0.5 fails, rel 0.25*4 = 1.0 passes -> pass (OR rule)
    assert within_tolerance(4.75, 4.0, abs_tol=0.5, rel_tol=0.25)
    # diff 0.75: abs 1.0 passes, rel 0.125*4 = 0.5 fails -> pass
    assert within_tolerance(4.75, 4.0, abs_tol=1.0, rel_tol=0.125)
    # diff 0.75 > both 0.5 and 0.5 -> fail
    assert not within_tolerance(4.75, 4.0, abs_tol=0.5, rel_tol=0.125)
    assert allowed_difference(4.0, abs_tol=0.5, rel_tol=0.25) == 1.0


def test_zero_tolerance_accepts_only_equal():
    assert within_tolerance(3.0, 3.0, abs_tol=0.0)
    assert not within_tolerance(3.0 + 2 ** -51, 3.0, abs_tol=0.0)


def test_rel_tol_on_zero_baseline_accepts_only_zero():
    assert within_tolerance(0.0, 0.0, rel_tol=0.5)
    assert not within_tolerance(1e-300, 0.0, rel_tol=0.5)


def test_no_tolerance_never_passes():
    assert not within_tolerance(1.0, 1.0)
    assert allowed_difference(1.0) == -math.inf


def test_special_values():
    nan, inf = math.nan, math.inf
    assert within_tolerance(nan, nan, abs_tol=0)
    assert not within_tolerance(nan, 1.0, abs_tol=1e300)
    assert not within_tolerance(1.0, nan, abs_tol=1e300)
    assert within_tolerance(inf, inf, rel_tol=0)
    assert not within_tolerance(-inf, inf, abs_tol=1e300)
    assert not within_tolerance(1e308, inf, abs_tol=1e300)


# ----------------------------------------------------------------- compare() on hand-made data
def _suite() -> Suite:
    ms = (MetricSpec("summary:a", "summary", "a", abs_tol=0.5),
          MetricSpec("summary:b", "summary", "b", rel_tol=0.25),
          MetricSpec("summary:c", "summary", "c", abs_tol=0.0),
          MetricSpec("summary:d", "summary", "d", abs_tol=0.0))
    cases = (CaseSpec("one", default_card(), "default", metrics=ms),
             CaseSpec("two", default_card(), "default", metrics=(MetricSpec("summary:a", "summary", "a", abs_tol=1),)))
    return Suite(Path("suite.toml"), "s", Path("baseline"), cases)


def test_compare_statuses_and_messages():
    base = Baseline({("one", "summary:a"): 1.0, ("one", "summary:b"): -2.0, ("one", "summary:c"): 7.0,
                     ("two", "summary:a"): 0.0},
                    {"ngspice": "ngspice-39", "cases": {"one": {"ngspice": "ngspice-39"}}})
    obs = {("one", "summary:a"): 1.5,              # at the abs boundary: pass
           ("one", "summary:b"): -2.5 - 2 ** -51,  # just past the rel boundary: fail
           ("one", "summary:c"): "no key 'c' in summary.json",  # not computed: error
           ("one", "summary:d"): 1.0}              # missing from the baseline: error
    prov = {"one": {"ngspice": "ngspice-42"}, "two": {}}
    rep = compare(_suite(), obs, base, provenance=prov, case_errors={"two": "ngspice timed out"})
    status = {(r.case, r.metric): r.status for r in rep.results}
    assert status == {("one", "summary:a"): PASS, ("one", "summary:b"): FAIL, ("one", "summary:c"): ERROR,
                      ("one", "summary:d"): ERROR, ("two", "summary:a"): ERROR}
    assert (rep.n_passed, rep.n_failed, rep.n_errors, rep.ok) == (1, 1, 3, False)
    fail = next(r for r in rep.results if r.status == FAIL)
    assert fail.allowed == 0.5 and fail.diff == 0.5 + 2 ** -51
    assert "exceeds the allowed 0.5 (rel 0.25)" in fail.message
    # a different simulator is reported next to the failure
    assert "ngspice differs: baseline ngspice-39, here ngspice-42" in fail.message
    errors = {r.metric if r.case == "one" else r.case: r.message for r in rep.results if r.status == ERROR}
    assert "no key 'c'" in errors["summary:c"]
    assert "--update-baseline" in errors["summary:d"]
    assert "ngspice timed out" in errors["two"]
    table = format_table(rep)
    assert "FAIL" in table and "PASS" in table and "rel 0.25" in table
    assert format_table(rep, failed_only=True).count("PASS") == 0
    assert "FAILED 4 of 5 metrics (1 out of tolerance, 3 errors" in summary_line(rep)


def test_compare_all_pass():
    base = Baseline({("one", m): 1.0 for m in ("summary:a", "summary:b", "summary:c", "summary:d")}
                    | {("two", "summary:a"): 1.0})
    obs = {k: 1.0 for k in base.values}
    rep = compare(_suite(), obs, base)
    assert rep.ok and rep.n_passed == 5
    assert "all 5 metrics passed" in summary_line(rep)


def test_provenance_note():
    assert provenance_note({"ngspice": "a"}, {"ngspice": "a"}) == ""
    assert provenance_note({}, {"ngspice": "a"}) == ""
    note = provenance_note({"ngspice": "b", "options": {"reltol": 1e-5}, "deck_sha256": "x"},
                           {"ngspice": "a", "options": {"reltol": 1e-6}, "deck_sha256": "y"})
    assert "ngspice differs: baseline a, here b" in note
    assert "options differ: reltol 1e-06 -> 1e-05" in note
    assert "netlist differs" in note
    # the hash of the deck as simulated holds the checkout's library path: no note from it alone
    assert provenance_note({"netlist_sha256": "x", "deck_sha256": "d"}, {"netlist_sha256": "y", "deck_sha256": "d"}) == ""


def test_portable_deck_digest_ignores_checkout_and_stamp_but_not_the_circuit():
    """Why "[netlist differs from the baseline's]" tagged every failure on a fresh clone: the
    recorded hash covered the absolute .include path. The portable digest does not."""
    from lim_hw.netlist import generate
    from lim_hw.netlist.render import portable_sha256, render_file

    art = generate(default_card())
    here = render_file(art.testbench, "/work/a/circuits/lim_hw.lib", stamp="lim_hw=0.1.0 python=3.11")
    clone = render_file(art.testbench, "/tmp/fresh/circuits/lim_hw.lib", stamp="lim_hw=0.1.0 python=3.12")
    assert here != clone and portable_sha256(here) == portable_sha256(clone)
    thicker = generate(default_card().with_updates(device={"tox_m": 12.24e-9}))
    assert portable_sha256(render_file(thicker.testbench, "/work/a/circuits/lim_hw.lib")) != portable_sha256(here)
