"""waveforms.raw in other tools (issue 17): spicelib without a dialect hint, PySpice, ngspice `load`;
and the notebook API that reads a run back (lim_hw.load_result, RawPlot by name)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

import lim_hw
from lim_hw.errors import InputError
from lim_hw.sim.rawfile import read_raw


def test_spicelib_opens_waveforms_raw_without_a_dialect(ramped_synapse_run):
    """spicelib recognises the dialect from the `Command:` line (ngspice >= 44 writes one; lim-hw too)."""
    from spicelib import RawRead

    path = ramped_synapse_run.out_dir / "waveforms.raw"
    raw = RawRead(str(path))
    assert raw.dialect == "ngspice"
    mine = read_raw(path)
    names = [n.lower() for n in raw.get_trace_names()]
    assert names == [n.lower() for n in mine.names]
    np.testing.assert_array_equal(raw.get_trace("time").get_wave(), mine.time_s)
    np.testing.assert_array_equal(raw.get_trace("v(fgp)").get_wave(), mine["v(fgp)"])


def test_ngspice_load_reads_waveforms_raw(ramped_synapse_run, tmp_path):
    """ngspice 39's own reader: no error, and the values it prints are the file's."""
    path = ramped_synapse_run.out_dir / "waveforms.raw"
    mine = read_raw(path)
    (tmp_path / "load.cir").write_text(f"* load\n.control\nload {path}\nprint v(fgp)[10] time[10]\nquit\n.endc\n.end\n")
    proc = subprocess.run(["ngspice", "-b", "load.cir"], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "error" not in out.lower(), out
    printed = {k: float(v) for k, v in (line.split(" = ") for line in out.splitlines() if " = " in line)}
    assert printed["v(fgp)[10]"] == pytest.approx(mine["v(fgp)"][10], rel=1e-6)   # ngspice prints 7 digits
    assert printed["time[10]"] == pytest.approx(mine.time_s[10], rel=1e-6)


def test_pyspice_loads_waveforms_raw(ramped_synapse_run, tmp_path):
    """PySpice's NgSpiceShared (libngspice) `load`s the file; its vectors equal the file's bit for bit.

    PySpice's exec_command raises on any stderr line and ngspice's `load` lists the loaded
    vectors there, so the script checks that list holds no error and reads the plot.
    Runs in a subprocess: libngspice is a process-wide singleton.
    """
    path = ramped_synapse_run.out_dir / "waveforms.raw"
    script = textwrap.dedent(f"""
        import json, logging, numpy as np
        logging.disable(logging.CRITICAL)
        from PySpice.Spice.NgSpice.Shared import NgSpiceShared, NgSpiceCommandError
        ng = NgSpiceShared.new_instance()
        try:
            ng.exec_command("load {path}")
        except NgSpiceCommandError:
            assert not [s for s in ng._stderr if "error" in s.lower()], ng._stderr
        plot = ng.plot(None, ng.last_plot)
        print(json.dumps({{k: np.asarray(plot[k].to_waveform(), dtype=float).tolist() for k in ("time", "v(fgp)")}}))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    mine = read_raw(path)
    np.testing.assert_array_equal(got["time"], mine.time_s)
    np.testing.assert_array_equal(got["v(fgp)"], mine["v(fgp)"])


def test_load_result_reads_a_run_back(ramped_synapse_run, tmp_path):
    res = ramped_synapse_run
    back = lim_hw.load_result(res.out_dir)
    pd.testing.assert_frame_equal(back.updates, pd.read_csv(res.out_dir / "updates.csv"))
    np.testing.assert_allclose(back.updates["E_supply_J"], res.updates["E_supply_J"], rtol=1e-11)
    assert back.summary["n_updates"] == 8 and back.headline.startswith("Drawn energy is")
    assert list(back.synthesis["n"]) == list(range(1, 9))
    wf = back.waveforms
    assert "v(fgp)" in wf and "V(FGP)" in wf and wf["V(FGP)"] is not None    # ngspice names, any case
    np.testing.assert_array_equal(wf["v(fgp)"], res.waveforms["v(fgp)"])
    assert wf.to_frame().shape == (wf.time_s.size, len(wf.names))
    with pytest.raises(KeyError, match="no vector"):
        wf["v(nowhere)"]
    with pytest.raises(InputError, match="not a lim-hw run directory"):
        lim_hw.load_result(tmp_path)


def test_in_memory_run_writes_nothing(tmp_path, monkeypatch):
    """run_flow(card, None): the tables, summary and waveforms in memory, not one file written."""
    monkeypatch.chdir(tmp_path)
    card = lim_hw.default_card().with_updates(schedule={"n_updates": 3})
    res = lim_hw.run_flow(card, None, progress=False)
    assert res.out_dir is None and res.files == [] and not list(tmp_path.iterdir())
    assert len(res.updates) == 3 and res.waveforms["v(fg)"].size == res.waveforms.time_s.size
    assert res.summary["n_updates"] == 3
    fast = lim_hw.run_flow(card, None, engine="fast", progress=False)
    assert fast.out_dir is None and len(fast.updates) == 3 and not list(tmp_path.iterdir())


def test_run_without_plots_writes_no_png_and_no_report(tmp_path):
    card = lim_hw.default_card().with_updates(schedule={"n_updates": 2})
    res = lim_hw.run_flow(card, tmp_path / "out", progress=False, plots=False)
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == sorted(res.files) and not [f for f in written if f.endswith((".png", ".html"))]
    assert {"updates.csv", "summary.json", "netlist.cir", "waveforms.raw"} <= set(written)
