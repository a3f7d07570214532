"""JUnit XML for CI: one ``<testcase>`` per metric.

Layout (the common Jenkins/GitLab/GitHub schema)::

    <testsuites name=SUITE tests failures errors time>
      <testsuite name=SUITE.CASE tests failures errors time>
        <properties> ngspice, baseline_ngspice, testbench notes </properties>
        <testcase classname=SUITE.CASE name=METRIC time="0">
          <failure type="out-of-tolerance" message="one line">details</failure>   (or <error type="not-computed">)
        </testcase>

Out-of-tolerance metrics are ``<failure>``; metrics that could not be computed
(case did not simulate, column missing, not in the baseline) are ``<error>``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from ..outputs import write_text_atomic
from .compare import ERROR, FAIL, Report

# Characters XML 1.0 cannot hold (ngspice logs sometimes carry them).
_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: str) -> str:
    return _BAD_XML.sub("?", str(text))


def junit_element(report: Report) -> ET.Element:
    """The ``<testsuites>`` element of ``report``."""
    root = ET.Element("testsuites", name=_clean(report.suite))
    cases: dict[str, list] = {}
    for r in report.results:
        cases.setdefault(r.case, []).append(r)
    for case, results in cases.items():
        n_fail = sum(r.status == FAIL for r in results)
        n_err = sum(r.status == ERROR for r in results)
        wall = report.case_wall_s.get(case, 0.0)
        ts = ET.SubElement(root, "testsuite", name=_clean(f"{report.suite}.{case}"), tests=str(len(results)),
                           failures=str(n_fail), errors=str(n_err), skipped="0", time=f"{wall:.3f}")
        props = ET.SubElement(ts, "properties")
        for name, value in (("ngspice", report.ngspice), ("baseline_ngspice", report.baseline_ngspice),
                            ("provenance_note", report.case_notes.get(case, ""))):
            if value:
                ET.SubElement(props, "property", name=name, value=_clean(value))
        for r in results:
            tc = ET.SubElement(ts, "testcase", classname=_clean(f"{report.suite}.{case}"), name=_clean(r.metric),
                               time="0")
            if r.status == FAIL:
                el = ET.SubElement(tc, "failure", type="out-of-tolerance", message=_clean(r.message))
                el.text = _clean(_details(r))
            elif r.status == ERROR:
                el = ET.SubElement(tc, "error", type="not-computed", message=_clean(r.message))
                el.text = _clean(r.message)
    root.set("tests", str(len(report.results)))
    root.set("failures", str(report.n_failed))
    root.set("errors", str(report.n_errors))
    root.set("time", f"{sum(report.case_wall_s.values()):.3f}")
    return root


def _details(r) -> str:
    return (f"observed  {r.observed:.12g}\nbaseline  {r.baseline:.12g}\n|diff|    {r.diff:.6g}\n"
            f"allowed   {r.allowed:.6g} ({r.tolerance})\n{r.message}")


def junit_text(report: Report) -> str:
    root = junit_element(report)
    ET.indent(root)
    from ..provenance import csv_header_comment

    stamp = csv_header_comment().lstrip("# ").strip()  # lim_hw=<version>: lim-hw may replace this file
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<!-- written by {stamp} -->\n'
            + ET.tostring(root, encoding="unicode") + "\n")


def write_junit(report: Report, path: str | Path) -> Path:
    """Write the JUnit XML of ``report`` to ``path`` atomically."""
    return write_text_atomic(path, junit_text(report))
