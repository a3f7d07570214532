"""The shipped sky130 regression suite (tests/regression/sky130/: the cell at tt, ss and ff) against its baseline.

Regenerate after an intended change with
``lim-hw regress tests/regression/sky130/suite.toml --update-baseline`` and commit the diff.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from lim_hw.regress import check_suite, load_suite

SUITE = Path(__file__).parent / "regression" / "sky130" / "suite.toml"
#: Metrics that state the flow's quality or the schedule, the same at every corner.
INVARIANT = {"summary:n_updates", "summary:E_bound_total_J", "waveform:V_tun0_V@t=1005"}
#: The self-checks and their stated tolerances (docs/pdk.md).
CHECKS = {"summary:tracking_error_max_abs": 1e-3, "summary:self_check.energy_closure_max_abs": 1e-3,
          "summary:self_check.charge_closure_max_abs": 3e-3}


def test_sky130_suite_passes_against_its_baseline():
    rep = check_suite(load_suite(SUITE))
    bad = [(r.case, r.metric, r.message) for r in rep.results if r.status != "pass"]
    assert rep.ok and not bad, bad
    assert {r.case for r in rep.results} == {"sky130-tt", "sky130-ss", "sky130-ff"}
    for r in rep.results:  # the stated tolerances themselves, not only "as before"
        if r.metric in CHECKS:
            assert 0 <= r.observed <= CHECKS[r.metric], (r.case, r.metric, r.observed)


def test_design_metrics_tell_the_corners_apart():
    """Every design metric of ss and ff differs from tt by more than 5x its tolerance; the invariants do not."""
    suite = load_suite(SUITE)
    base = pd.read_csv(SUITE.parent / "baseline" / "metrics.csv").set_index(["case", "metric"])["value"]
    tt = {m.name: m for m in next(c for c in suite.cases if c.name == "sky130-tt").metrics}
    for corner in ("ss", "ff"):
        for name, m in tt.items():
            a, b = float(base[("sky130-tt", name)]), float(base[(f"sky130-{corner}", name)])
            allowed = max(m.abs_tol or 0.0, (m.rel_tol or 0.0) * abs(a))
            if name in INVARIANT:
                assert abs(a - b) <= allowed, (corner, name)
            elif name not in CHECKS:
                assert abs(a - b) >= 5 * allowed, (corner, name, a, b, allowed)
