"""The shipped regression suite (tests/regression/) against its shipped baseline, and a deliberate change.

``make test`` runs this: the reference designs (cell, synapse, 2x2 array,
1e6 s retention vs the closed form) must reproduce the committed baseline.
If a change of the flow moves them on purpose, regenerate the baseline with
``lim-hw regress tests/regression/suite.toml --update-baseline`` and commit
the diff of tests/regression/baseline/ with the change (docs/regression.md).
"""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from lim_hw.cli import main
from lim_hw.regress import check_suite, load_suite

SHIPPED = Path(__file__).parent / "regression"

#: Metrics that must not move when the oxide gets 2 % thicker: they do not depend on
#: the device (update count, LIM bound, schedule targets, DC biases, the weight before
#: any update) or state the quality of the flow for any sound card (schedule tracking,
#: agreement of ngspice with the closed-form decay, the decay fit recovering the card's
#: junction area and initial oxide voltage).
INVARIANTS = {
    ("cell", "summary:n_updates"), ("cell", "summary:E_bound_total_J"), ("cell", "updates:N_target[n=1]"),
    ("cell", "updates:N_target[n=5]"), ("cell", "updates:N_sim[sum]"), ("cell", "summary:tracking_error_max_abs"),
    ("cell", "waveform:V_tun_V@t=1030"),
    ("synapse", "summary:n_updates"), ("synapse", "summary:E_bound_total_J"),
    ("synapse", "summary:tracking_error_max_abs"), ("synapse", "waveform:V_w_V@t=999"),
    ("array-2x2", "summary:n_updates"), ("array-2x2", "updates:n_cells_programmed[n=1]"),
    ("array-2x2", "summary:E_bound_total_J"), ("array-2x2", "summary:tracking_error_max_abs"),
    ("retention", "summary:n_updates"), ("retention", "summary:retention_max_rel_error"),
    ("retention", "waveform:V_tun_V@t=500000"), ("retention", "fit:decay.area_m2"), ("retention", "fit:decay.V0_V"),
}
#: Metrics that depend on the oxide thickness: energies, synthesised pulse amplitudes,
#: floating-gate voltages (FN decay before and after the updates), the written weight,
#: the end-of-retention oxide voltage (simulated and closed form), the fitted oxide thickness.
DESIGN = {
    ("cell", "summary:E_supply_median_J"), ("cell", "summary:E_net_total_J"), ("cell", "summary:E_tunnel_total_J"),
    ("cell", "summary:ratio_supply_to_bound_median"), ("cell", "updates:V_p_V[n=1]"), ("cell", "updates:V_p_V[n=5]"),
    ("cell", "updates:E_supply_J[max]"), ("cell", "waveform:V_fg_V@t=999"), ("cell", "waveform:V_fg_V@t=1049"),
    ("synapse", "summary:E_supply_median_J"), ("synapse", "summary:eta_recovery_median"),
    ("synapse", "waveform:V_w_V@t=1049"), ("synapse", "waveform:V_fgp_V@t=999"),
    ("array-2x2", "summary:E_supply_total_J"), ("array-2x2", "summary:E_tunnel_median_J"),
    ("array-2x2", "updates:V_p_V[min]"), ("array-2x2", "waveform:V_fgp_1_1_V@t=1049"),
    ("retention", "summary:retention_V_ox_end_V"), ("retention", "summary:retention_V_ox_end_closed_form_V"),
    ("retention", "waveform:V_fg_V@t=1000"), ("retention", "waveform:V_fg_V@t=100000"),
    ("retention", "fit:decay.tox_m"),
}


def test_shipped_suite_passes_against_shipped_baseline(tmp_path, capsys):
    junit = tmp_path / "regress.xml"
    rc = main(["regress", str(SHIPPED / "suite.toml"), "--junit", str(junit), "-q"])
    out = capsys.readouterr().out
    assert rc == 0, out
    n = load_suite(SHIPPED / "suite.toml").n_metrics
    assert f"all {n} metrics passed" in out
    root = ET.parse(junit).getroot()
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == (str(n), "0", "0")


def test_metric_classification_covers_the_suite():
    suite = load_suite(SHIPPED / "suite.toml")
    every = {(c.name, m.name) for c in suite.cases for m in c.metrics}
    assert INVARIANTS | DESIGN == every and not INVARIANTS & DESIGN


@pytest.fixture(scope="module")
def thicker_oxide_report(tmp_path_factory):
    """The shipped suite on a copy of its cards with a 2 % thicker tunnelling oxide (12 -> 12.24 nm)."""
    root = tmp_path_factory.mktemp("thick")
    shutil.copy(SHIPPED / "suite.toml", root / "suite.toml")
    shutil.copytree(SHIPPED / "cards", root / "cards")
    for card in (root / "cards").glob("*.toml"):
        text = card.read_text(encoding="utf-8")
        new, n = re.subn(r"(?m)^tox_m = 12e-9", "tox_m = 12.24e-9", text)
        assert n == 1, card
        card.write_text(new, encoding="utf-8")
    return check_suite(load_suite(root / "suite.toml"), baseline_dir=SHIPPED / "baseline")


def test_thicker_oxide_fails_exactly_the_design_metrics(thicker_oxide_report):
    rep = thicker_oxide_report
    status = {(r.case, r.metric): r.status for r in rep.results}
    assert {k for k, s in status.items() if s == "fail"} == DESIGN
    assert {k for k, s in status.items() if s == "pass"} == INVARIANTS
    assert rep.n_errors == 0 and not rep.ok


def test_thicker_oxide_failures_are_not_marginal(thicker_oxide_report):
    """Each design metric misses its tolerance by 5x or more, so the statement above is robust."""
    for r in thicker_oxide_report.results:
        if r.status == "fail":
            assert r.diff >= 5 * r.allowed, (r.case, r.metric, r.diff, r.allowed)
            assert "netlist differs from the baseline's" in r.message
