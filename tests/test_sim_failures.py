"""Failure paths against the real ngspice: typed errors, one-line messages, no leftovers."""

from __future__ import annotations

import ctypes.util
import shutil
import time

import pytest

from lim_hw.errors import LimHwError
from lim_hw.sim import (ConvergenceError, NetlistError, NgspiceNotFoundError, SimulationError,
                        SimulationTimeoutError, UnknownVectorError, simulate)
from lim_hw.sim.shared import shutdown_worker

needs_ngspice = pytest.mark.skipif(shutil.which("ngspice") is None, reason="ngspice not installed")
needs_libngspice = pytest.mark.skipif(ctypes.util.find_library("ngspice") is None,
                                      reason="libngspice not installed")
ENGINES = ["batch", pytest.param("shared", marks=needs_libngspice)]

# dv/dt = (1e3 v^2 + 1e-3) / 1 pF blows up in finite time (~1.6 ps), so no time
# step can follow it: ngspice stops with "Timestep too small" (and exit status 0).
BLOWUP_DECK = """* finite-time blow-up
c1 a 0 1p
b1 0 a i=1e3*v(a)*v(a)+1m
.tran 1n 1u uic
"""
# Two ideal voltage sources in parallel: singular matrix, the operating point fails.
LOOP_DECK = """* voltage source loop
v1 a 0 1
v2 a 0 2
.tran 1n 10n
"""
UNKNOWN_SUBCKT_DECK = """* unknown subcircuit
r1 a 0 1k
x1 a nosuch_cell
.tran 1n 10n
"""
UNKNOWN_MODEL_DECK = """* unknown model
r1 a 0 1k
d1 a 0 nosuch_model
.tran 1n 10n
"""
# 1 ps steps forever (tmax = 1 ps over 1 s): runs far longer than any test timeout.
ENDLESS_DECK = """* endless transient
v1 a 0 sin(0 1 1g)
r1 a 0 1k
.tran 1p 1 0 1p
"""
OK_DECK = "* ok\nv1 a 0 1\nr1 a 0 1k\n.tran 1n 10n\n"


def _one_line(err: Exception) -> str:
    text = str(err)
    assert "\n" not in text and "hint" in text
    return text


@needs_ngspice
@pytest.mark.parametrize("engine", ENGINES)
def test_timestep_too_small_is_convergence_error(engine, tmp_path):
    with pytest.raises(ConvergenceError) as info:
        simulate(BLOWUP_DECK, ["v(a)"], engine=engine, workdir=tmp_path)
    text = _one_line(info.value)
    assert "Timestep too small" in text and "reltol" in text
    assert "Timestep too small" in info.value.log and isinstance(info.value, LimHwError)
    assert info.value.exit_code == 2
    assert list(tmp_path.iterdir()) == []


@needs_ngspice
@pytest.mark.parametrize("engine", ENGINES)
def test_singular_matrix_is_convergence_error(engine, tmp_path):
    with pytest.raises(ConvergenceError, match="singular matrix at node v1#branch"):
        simulate(LOOP_DECK, ["v(a)"], engine=engine, workdir=tmp_path)
    assert list(tmp_path.iterdir()) == []


@needs_ngspice
@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("deck,needle", [(UNKNOWN_SUBCKT_DECK, "unknown subckt"),
                                         (UNKNOWN_MODEL_DECK, "nosuch_model")])
def test_unknown_names_are_netlist_errors(engine, deck, needle, tmp_path):
    with pytest.raises(NetlistError) as info:
        simulate(deck, ["v(a)"], engine=engine, workdir=tmp_path)
    assert type(info.value) is NetlistError  # not its subclass UnknownVectorError
    assert needle in _one_line(info.value)
    assert list(tmp_path.iterdir()) == []


@needs_ngspice
@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("vector", ["v(nosuch)", "i(vnosuch)", "@bnosuch[i]"])
def test_unknown_vector(engine, vector, tmp_path):
    with pytest.raises(UnknownVectorError) as info:
        simulate(OK_DECK, ["v(a)", vector], engine=engine, workdir=tmp_path)
    assert "nosuch" in _one_line(info.value)
    assert list(tmp_path.iterdir()) == []


@needs_ngspice
@pytest.mark.parametrize("engine", ENGINES)
def test_timeout_kills_ngspice_promptly(engine, tmp_path):
    if engine == "shared":
        simulate(OK_DECK, ["v(a)"], engine=engine)  # worker start-up is not part of the test
    start = time.monotonic()
    with pytest.raises(SimulationTimeoutError) as info:
        simulate(ENDLESS_DECK, ["v(a)"], engine=engine, timeout_s=1, workdir=tmp_path)
    assert time.monotonic() - start < 3.0
    assert "timeout_s=1" in _one_line(info.value)
    assert list(tmp_path.iterdir()) == []
    # The engine recovers: the next run works (a fresh worker for the shared engine).
    res = simulate(OK_DECK, ["v(a)"], engine=engine, workdir=tmp_path)
    assert res["v(a)"][-1] == pytest.approx(1.0)
    assert list(tmp_path.iterdir()) == []


@needs_ngspice
def test_success_leaves_nothing_in_workdir(tmp_path):
    simulate(OK_DECK, ["v(a)"], workdir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_missing_ngspice_on_path(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory
    monkeypatch.delenv("LIM_HW_NGSPICE", raising=False)
    with pytest.raises(NgspiceNotFoundError) as info:
        simulate(OK_DECK, ["v(a)"], workdir=tmp_path)
    text = _one_line(info.value)
    assert "apt-get install ngspice libngspice0-dev" in text and "make install" in text
    assert isinstance(info.value, SimulationError) and info.value.exit_code == 2
    assert list(tmp_path.iterdir()) == []


def test_bad_lim_hw_ngspice(tmp_path, monkeypatch):
    monkeypatch.setenv("LIM_HW_NGSPICE", str(tmp_path / "no-ngspice-here"))
    with pytest.raises(NgspiceNotFoundError, match="LIM_HW_NGSPICE"):
        simulate(OK_DECK, ["v(a)"])


def test_missing_libngspice_for_shared_engine(monkeypatch):
    monkeypatch.setenv("NGSPICE_LIBRARY_PATH", "/nonexistent/libngspice.so")
    shutdown_worker()  # the next worker starts with the broken library path
    try:
        with pytest.raises(NgspiceNotFoundError, match="libngspice"):
            simulate(OK_DECK, ["v(a)"], engine="shared", timeout_s=60)
    finally:
        shutdown_worker()


@needs_ngspice
@needs_libngspice
def test_shared_worker_crash_mid_run_is_simulation_error():
    import os
    import signal
    import threading

    from lim_hw.sim import shared

    simulate(OK_DECK, ["v(a)"], engine="shared")
    pid = shared._worker.proc.pid
    threading.Timer(0.3, os.kill, (pid, signal.SIGKILL)).start()
    start = time.monotonic()
    with pytest.raises(SimulationError, match="exited unexpectedly") as info:
        simulate(ENDLESS_DECK, ["v(a)"], engine="shared", timeout_s=20)
    assert type(info.value) is SimulationError and time.monotonic() - start < 5
    assert simulate(OK_DECK, ["v(a)"], engine="shared")["v(a)"][-1] == pytest.approx(1.0)
