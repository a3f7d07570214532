"""Pure-Python parts of lim_hw.sim: vector/netlist checks, log classification, raw files."""

from __future__ import annotations

import numpy as np
import pytest

from lim_hw.errors import InputError, LimHwError
from lim_hw.sim import (ConvergenceError, NetlistError, RawFileError, SimResult,
                        SimulationError, UnknownVectorError, simulate)
from lim_hw.sim.control import (batch_control, check_netlist, engine_deck, netlist_sha256, save_commands,
                                validate_vectors)
from lim_hw.sim.errors import clean_log, error_from_log
from lim_hw.sim.rawfile import parse_raw

DECK = "* title\nr1 a 0 1k\n.tran 1n 10n\n"


# --- vector names --------------------------------------------------------------------

@pytest.mark.parametrize("name", ["v(fg)", "v(x1.fg)", "v(in,out)", "v(1)", "i(vdrv)",
                                  "i(v.x1.vsense)", "@b1[i]", "@b.x1.bfn[i]", "@r1[i]"])
def test_good_vector_names(name):
    assert validate_vectors([name]) == (name,)


@pytest.mark.parametrize("name", [
    "V(FG)", "v(fg) ", "v( fg)", "v(fg);quit", "v(fg)\nquit", "v(fg) shell rm", "time", "fg",
    "v(a,0)", "v(gnd)", "i(v1 v2)", "@b1[i]x", "@b1", "v()", "i(vdrv)\n.end", "v(a-b)", "",
])
def test_bad_vector_names(name):
    with pytest.raises(InputError):
        validate_vectors([name])


def test_vector_list_checks():
    with pytest.raises(InputError, match="no vectors"):
        validate_vectors([])
    with pytest.raises(InputError, match="list"):
        validate_vectors("v(fg)")
    with pytest.raises(InputError, match="twice"):
        validate_vectors(["v(a)", "v(a)"])
    with pytest.raises(InputError, match="lower case"):
        validate_vectors(["V(a)"])


def test_save_commands_split_differential_and_chunk():
    names = [f"v(n{k})" for k in range(10)] + ["v(a,b)", "v(n1,a)", "@b1[i]"]
    cmds = save_commands(names)
    saved = " ".join(c.removeprefix("save ") for c in cmds).split()
    assert saved == [f"v(n{k})" for k in range(10)] + ["v(a)", "v(b)", "@b1[i]"]
    assert all(c.startswith("save ") and len(c.split()) <= 9 for c in cmds)


def test_batch_control_block():
    block = batch_control(["v(a)", "i(v1)"], "out.raw")
    lines = block.splitlines()
    assert lines[0] == ".control" and lines[-2:] == [".endc", ".end"]
    assert "set filetype=binary" in lines and "run" in lines and "quit" in lines
    assert "write out.raw v(a) i(v1)" in lines


# --- netlist checks ------------------------------------------------------------------

@pytest.mark.parametrize("deck,match", [
    ("", "empty"),
    ("\nr1 a 0 1k\n.tran 1n 10n\n", "empty"),
    (".tran 1n 10n\nr1 a 0 1k\n", "title"),
    ("* t\nr1 a 0 1k\n", "no .tran"),
    ("* t\nr1 a 0 1k\n.end\n.tran 1n 10n\n", ".end' with more deck after it"),
    ("* t\nr1 a 0 1k\n.tran 1n 10n\n.control\nshell ls\n.endc\n", ".control"),
    ("* t\nr1 a 0 1k\n.TRAN 1n 10n\n  .ENDC\n", ".endc"),
    ("* t\n.include models/fn.lib\nr1 a 0 1k\n.tran 1n 10n\n", "absolute"),
    ("* t\n.lib 'lib/x.lib' tt\nr1 a 0 1k\n.tran 1n 10n\n", "absolute"),
])
def test_bad_netlists(deck, match):
    with pytest.raises(InputError, match=match):
        check_netlist(deck)


def test_good_netlist_with_subckt_ends():
    check_netlist("* t\n.subckt cell a\nr1 a 0 1k\n.ends cell\nx1 n cell\n.TRAN 1n 10n uic\n"
                  ".include /abs/fn.lib\n.lib \"/abs/x.lib\" tt\n")


def test_closing_end_and_meas_are_dropped_for_the_engine():
    deck = "* t\n.include ../lib/x.lib\nr1 a 0 1k\n.tran 1n 10n\n.meas tran m1 integ v(a)\n+ from=0 to=1n\n.end\n* c\n"
    check_netlist(deck, base_dir="/abs/decks")  # a closing .end and a relative include with the deck's folder
    out = engine_deck(deck, base_dir="/abs/decks")
    assert '.include "/abs/lib/x.lib"' in out
    assert ".end" not in out.split() and ".meas" not in out and "from=0" not in out
    assert out.splitlines()[-1] == ".tran 1n 10n"
    with pytest.raises(InputError, match="relative path"):
        check_netlist(deck)


def test_simulate_rejects_bad_arguments_before_running():
    with pytest.raises(InputError, match="engine"):
        simulate(DECK, ["v(a)"], engine="spectre")
    for bad in (0, -1, float("nan"), float("inf"), "soon"):
        with pytest.raises(InputError, match="timeout_s"):
            simulate(DECK, ["v(a)"], timeout_s=bad)
    with pytest.raises(InputError, match="workdir"):
        simulate(DECK, ["v(a)"], workdir="/nonexistent/lim_hw_dir")


def test_netlist_hash_is_of_text_as_given():
    assert netlist_sha256(DECK) == netlist_sha256(str(DECK))
    assert netlist_sha256(DECK) != netlist_sha256(DECK + " ")
    assert len(netlist_sha256(DECK)) == 64


# --- log classification (canned ngspice 39 output) ----------------------------------

OK_LOG = """Note: No compatibility mode selected!
Circuit: error_amp testbench
Warning: singular matrix:  check node fg
Note: Starting dynamic gmin stepping
Warning: Dynamic gmin stepping failed
Note: Starting source stepping
Note: source stepping completed
No. of Data Rows : 62
binary raw file "out.raw"
ngspice-39 done"""


def test_recovered_warnings_are_not_errors():
    # gmin stepping failed, then source stepping succeeded; a node named error_* is fine.
    assert error_from_log(OK_LOG, 0) is None
    assert error_from_log("Node  Voltage\nerror_node   1.0\nerror   2.0\n", 0) is None
    assert error_from_log("Circuit: timestep too small demo\nngspice-39 done\n", 0) is None


def test_timestep_too_small_with_rc_zero():
    log = ("Using transient initial conditions\n"
           "doAnalyses: TRAN:  Timestep too small; time = 1.50246e-12, timestep = 7.75623e-21: "
           "trouble with node \"a\"\n\nrun simulation(s) aborted\nbinary raw file \"out.raw\"\n")
    err = error_from_log(log, 0)
    assert isinstance(err, ConvergenceError) and isinstance(err, LimHwError)
    assert "Timestep too small" in str(err) and 'node "a"' in str(err)
    assert "reltol" in str(err) and "\n" not in str(err) and err.log == log


def test_singular_matrix_names_the_node():
    log = ("Warning: singular matrix:  check node v1#branch\nWarning: source stepping failed\n"
           "Error: Transient op failed, timestep too small\n\n"
           "doAnalyses: TRAN:  Timestep too small; initial timepoint: cause unrecorded.\n")
    err = error_from_log(log, 0)
    assert isinstance(err, ConvergenceError)
    assert "v1#branch" in str(err) and "doAnalyses" in str(err) and ".ic" in str(err)


def test_netlist_errors_show_the_offending_line():
    log = ("warning, can't find model 'nomodel' from line\n    d1 a 0 nomodel\n"
           "Error on line 3 or its substitute:\n  d1 a 0 nomodel\n"
           "could not find a valid modelname\n"
           "    Simulation interrupted due to error!\n")
    err = error_from_log(log, 1)
    assert isinstance(err, NetlistError)
    expected = "Error on line 3 or its substitute: d1 a 0 nomodel could not find a valid modelname"
    assert expected in str(err)
    err = error_from_log("Error: unknown subckt: x1 a nosuch\n", 1)
    assert isinstance(err, NetlistError) and "x1 a nosuch" in str(err)


def test_missing_vector_and_generic_failures():
    err = error_from_log("Warning from checkvalid: vector zz is not available or has zero "
                         "length.\n")
    assert isinstance(err, UnknownVectorError) and "zz" in str(err)
    err = error_from_log("Error: something new went wrong\n", 0)
    assert type(err) is SimulationError and "something new" in str(err)
    err = error_from_log("all fine\n", -11)
    assert type(err) is SimulationError and "signal 11" in str(err)
    err = error_from_log("", 3)
    assert "status 3" in str(err)


def test_clean_log_drops_progress_lines():
    raw = "Circuit: x\n Reference value :  1.0e-12\r Reference value :  2.0e-12\rdone\n"
    assert clean_log(raw) == "Circuit: x\ndone\n"


# --- raw files -----------------------------------------------------------------------

def _raw(names, rows, flags="real", newline=b"\n", binary=True) -> bytes:
    head = [f"Title: t", "Date: today", "Plotname: Transient Analysis", f"Flags: {flags}",
            f"No. Variables: {len(names)}", f"No. Points: {len(rows)}", "Variables:"]
    head += [f"\t{k}\t{n}\t{'time' if k == 0 else 'voltage'}" for k, n in enumerate(names)]
    text = newline.join(h.encode() for h in head) + newline
    if binary:
        return text + b"Binary:" + newline + np.asarray(rows, dtype="<f8").tobytes()
    body = b"".join(f" {k}\t".encode() + b"\n".join(f"\t{x!r}".encode() for x in row) + b"\n"
                    for k, row in enumerate(rows))
    return text + b"Values:" + newline + body


def test_parse_binary_raw():
    rows = [[0.0, 1.0, -1.0], [1e-9, 2.0, -2.0], [3e-9, 3.5, 4.25]]
    plot = parse_raw(_raw(["time", "v(a)", "i(v1)"], rows))
    assert plot.names == ("time", "v(a)", "i(v1)") and plot.plotname == "Transient Analysis"
    np.testing.assert_array_equal(plot.data, np.array(rows).T)
    assert plot.data[1].flags["C_CONTIGUOUS"]


def test_parse_crlf_and_ascii_raw():
    rows = [[0.0, 1.0], [1e-9, 2.5]]
    np.testing.assert_array_equal(parse_raw(_raw(["time", "v(a)"], rows, newline=b"\r\n")).data,
                                  np.array(rows).T)
    np.testing.assert_array_equal(parse_raw(_raw(["time", "v(a)"], rows, binary=False)).data,
                                  np.array(rows).T)


def test_raw_file_errors():
    good = _raw(["time", "v(a)"], [[0.0, 1.0], [1.0, 2.0]])
    with pytest.raises(RawFileError, match="complex"):
        parse_raw(_raw(["time", "v(a)"], [[0.0, 1.0]], flags="complex"))
    with pytest.raises(RawFileError, match="truncated"):
        parse_raw(good[:-3])
    with pytest.raises(RawFileError, match="Binary"):
        parse_raw(b"Title: t\nFlags: real\n")
    with pytest.raises(RawFileError, match="No. Points"):
        parse_raw(good.replace(b"No. Points: 2\n", b""))
    bad_count = good.replace(b"No. Variables: 2", b"No. Variables: 3")
    with pytest.raises(RawFileError, match="lists 2 variables"):
        parse_raw(bad_count)


def test_simresult_frame():
    t = np.array([0.0, 1.0])
    vectors = {"v(a)": np.array([1.0, 2.0]), "i(v1)": np.array([0.0, -1.0])}
    res = SimResult(time_s=t, vectors=vectors,
                    log="", ngspice_version="ngspice-39", netlist_sha256="0" * 64, engine="batch",
                    wall_s=0.0)
    frame = res.to_frame()
    assert list(frame.columns) == ["time_s", "v(a)", "i(v1)"]
    np.testing.assert_array_equal(frame["i(v1)"], [0.0, -1.0])
    np.testing.assert_array_equal(res["v(a)"], [1.0, 2.0])
