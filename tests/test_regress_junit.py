"""JUnit XML: well-formed, one testcase per metric, failures and errors counted correctly."""

from __future__ import annotations

import xml.dom.minidom
import xml.etree.ElementTree as ET

from lim_hw.regress.compare import ERROR, FAIL, PASS, MetricResult, Report
from lim_hw.regress.junit import junit_text, write_junit


def _report() -> Report:
    res = [
        MetricResult("cell", "summary:E_J", PASS, 1.0, 1.0, 0.0, 0.1, "rel 0.1"),
        MetricResult("cell", "updates:V_p_V[n=1]", FAIL, 2.0, 1.0, 1.0, 0.5, "abs 0.5",
                     "observed 2, baseline 1: |diff| 1 exceeds the allowed 0.5 (abs 0.5) [ngspice differs: "
                     "baseline ngspice-39, here ngspice-42]"),
        MetricResult("cell", "waveform:V_fg_V@t=1", FAIL, 3.0, 1.0, 2.0, 0.5, "abs 0.5", "x < y & \"z\""),
        MetricResult("array-2x2", "summary:n_updates", ERROR, tolerance="abs 0",
                     message="case did not run: ngspice said \x1b[31mbad\x00 things"),
        MetricResult("array-2x2", "summary:E_J", PASS, 1.0, 1.0, 0.0, 0.0, "abs 0"),
    ]
    return Report("suite<1>", res, ngspice="ngspice-42", baseline_ngspice="ngspice-39",
                  case_wall_s={"cell": 1.25, "array-2x2": 0.5},
                  case_notes={"cell": "ngspice differs: baseline ngspice-39, here ngspice-42"})


def test_junit_counts_and_structure(tmp_path):
    path = write_junit(_report(), tmp_path / "out" / "regress.xml")
    text = path.read_text(encoding="utf-8")
    xml.dom.minidom.parseString(text.encode())  # well-formed (a second, independent parser)
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("5", "2", "1")
    assert float(root.get("time")) == 1.75
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == {"suite<1>.cell", "suite<1>.array-2x2"}
    cell = suites["suite<1>.cell"]
    assert (cell.get("tests"), cell.get("failures"), cell.get("errors")) == ("3", "2", "0")
    arr = suites["suite<1>.array-2x2"]
    assert (arr.get("tests"), arr.get("failures"), arr.get("errors")) == ("2", "0", "1")
    cases = root.findall(".//testcase")
    assert len(cases) == 5
    assert len(root.findall(".//testcase/failure")) == 2
    assert len(root.findall(".//testcase/error")) == 1
    f = cell.find("testcase[@name='updates:V_p_V[n=1]']/failure")
    assert f.get("type") == "out-of-tolerance"
    assert "ngspice differs" in f.get("message") and "allowed   0.5 (abs 0.5)" in f.text
    assert cell.find("testcase[@name='waveform:V_fg_V@t=1']/failure").get("message") == 'x < y & "z"'
    err = arr.find("testcase[@name='summary:n_updates']/error")
    assert "\x00" not in err.get("message") and "\x1b" not in err.get("message")
    props = {p.get("name"): p.get("value") for p in cell.find("properties")}
    assert props["ngspice"] == "ngspice-42" and props["baseline_ngspice"] == "ngspice-39"
    assert all(tc.get("classname").startswith("suite<1>.") for tc in cases)


def test_junit_all_passed():
    rep = Report("s", [MetricResult("c", "m", PASS, 1.0, 1.0, 0.0, 0.0, "abs 0")])
    root = ET.fromstring(junit_text(rep))
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("1", "0", "0")
    assert root.find(".//failure") is None
