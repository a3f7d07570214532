"""The batch and shared engines against the real ngspice: same interface, same waveforms."""

from __future__ import annotations

import ctypes.util
import hashlib
import shutil

import numpy as np
import pytest

from lim_hw.sim import SimResult, simulate
from lim_hw.sim.shared import shutdown_worker

needs_ngspice = pytest.mark.skipif(shutil.which("ngspice") is None, reason="ngspice not installed")
needs_libngspice = pytest.mark.skipif(ctypes.util.find_library("ngspice") is None,
                                      reason="libngspice not installed")

R_OHM, C_F, V_V = 1e3, 1e-9, 1.5
RC_DECK = f"""* rc step, batch vs shared
vdrv in 0 pwl(0 0 10n 0 11n {V_V})
r1 in out {R_OHM}
c1 out 0 {C_F}
.tran 10n 8u
"""
# A capacitive divider onto a node with a tunnelling-like B-source current, inside a
# subcircuit (dotted names), started from .ic with uic.
NONLINEAR_DECK = """* nonlinear b-source, batch vs shared
.subckt cell cg
c1 cg fg 1p
c2 fg 0 1p
bfn fg 0 i=1e-7*max(v(fg),0.01)^2*exp(-20/max(v(fg),0.01))
.ends cell
vdrv in 0 pwl(0 0 1u 8 5u 8 6u 0)
x1 in cell
.ic v(x1.fg)=0
.tran 10n 10u uic
"""
NONLINEAR_VECTORS = ["v(x1.fg)", "i(vdrv)", "@b.x1.bfn[i]", "v(in,x1.fg)"]


def _on_grid(res: SimResult, grid: np.ndarray) -> dict[str, np.ndarray]:
    return {k: np.interp(grid, res.time_s, v) for k, v in res.vectors.items()}


@needs_ngspice
def test_batch_rc_matches_closed_form():
    res = simulate(RC_DECK, ["v(out)", "i(vdrv)", "v(in,out)"])
    assert res.engine == "batch" and res.ngspice_version.startswith("ngspice-")
    assert res.netlist_sha256 == hashlib.sha256(RC_DECK.encode()).hexdigest()
    assert list(res.vectors) == ["v(out)", "i(vdrv)", "v(in,out)"]
    assert res.time_s[0] == 0.0 and res.time_s[-1] == pytest.approx(8e-6)
    assert np.all(np.diff(res.time_s) >= 0) and "Circuit:" in res.log and res.wall_s > 0
    t, vout = res.time_s, res["v(out)"]
    late = t > 0.5e-6  # well after the 1 ns edge
    expected = V_V * (1 - np.exp(-(t[late] - 10.5e-9) / (R_OHM * C_F)))
    np.testing.assert_allclose(vout[late], expected, atol=2e-3 * V_V)
    # ngspice sign convention: the source delivers, so its branch current is negative.
    np.testing.assert_allclose(res["i(vdrv)"], -res["v(in,out)"] / R_OHM, rtol=1e-9, atol=1e-15)
    assert res["i(vdrv)"][late].max() < 0
    frame = res.to_frame()
    assert list(frame.columns) == ["time_s", "v(out)", "i(vdrv)", "v(in,out)"]
    assert len(frame) == len(t)


@needs_ngspice
@needs_libngspice
@pytest.mark.parametrize("deck,vectors", [(RC_DECK, ["v(out)", "i(vdrv)", "v(in,out)"]),
                                          (NONLINEAR_DECK, NONLINEAR_VECTORS)],
                         ids=["rc", "nonlinear"])
def test_batch_and_shared_agree(deck, vectors):
    """Same deck, same ngspice: the waveforms agree to 1e-9 of each vector's range
    on a common 2001-point grid (in practice they are bit-identical)."""
    batch = simulate(deck, vectors, engine="batch")
    shared = simulate(deck, vectors, engine="shared")
    assert shared.engine == "shared" and shared.ngspice_version == batch.ngspice_version
    assert shared.netlist_sha256 == batch.netlist_sha256
    assert list(shared.vectors) == vectors
    grid = np.linspace(max(batch.time_s[0], shared.time_s[0]),
                       min(batch.time_s[-1], shared.time_s[-1]), 2001)
    a, b = _on_grid(batch, grid), _on_grid(shared, grid)
    for name in vectors:
        scale = np.ptp(a[name]) or 1.0
        np.testing.assert_allclose(b[name], a[name], rtol=0, atol=1e-9 * scale, err_msg=name)
    if "@b.x1.bfn[i]" in vectors:  # the nonlinear current really flowed
        assert batch["@b.x1.bfn[i]"].max() > 1e-9 and np.ptp(batch["v(x1.fg)"]) > 1.0


@needs_ngspice
@needs_libngspice
def test_shared_engine_reuses_worker_and_stays_clean():
    first = simulate(RC_DECK, ["v(out)"], engine="shared")
    again = simulate(RC_DECK, ["v(out)"], engine="shared")
    np.testing.assert_array_equal(first["v(out)"], again["v(out)"])
    assert "Unsupported Ngspice version" not in again.log
    # Data rows appear once per run: the previous circuit and plot were freed.
    assert again.log.count("No. of Data Rows") == 1


@needs_ngspice
@pytest.mark.parametrize("engine", ["batch", pytest.param("shared", marks=needs_libngspice)])
def test_user_spiceinit_is_ignored(engine, tmp_path, monkeypatch):
    (tmp_path / ".spiceinit").write_text("echo LIM_HW_SPICEINIT_WAS_READ\n")
    monkeypatch.setenv("HOME", str(tmp_path))
    shutdown_worker()  # a fresh shared worker sees the new HOME
    try:
        res = simulate(RC_DECK, ["v(out)"], engine=engine)
    finally:
        shutdown_worker()
    assert "LIM_HW_SPICEINIT_WAS_READ" not in res.log


@needs_ngspice
@pytest.mark.parametrize("engine", ["batch", pytest.param("shared", marks=needs_libngspice)])
def test_long_tmpdir_runs_and_leaves_nothing(engine, tmp_path):
    """A working folder of ~800 bytes: ngspice 39 aborts on a HOME that long, so the batch
    engine then gives it HOME=/ (measured: 400-byte HOME runs, 500 aborts)."""
    deep = tmp_path.joinpath(*["d" * 200] * 4)
    deep.mkdir(parents=True)
    shutdown_worker()
    try:
        res = simulate(RC_DECK, ["v(out)"], engine=engine, workdir=deep)
    finally:
        shutdown_worker()
    assert res["v(out)"][-1] == pytest.approx(V_V, rel=1e-3)
    assert list(deep.iterdir()) == []


@needs_ngspice
def test_lim_hw_ngspice_overrides_path(tmp_path, monkeypatch):
    exe = shutil.which("ngspice")
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("LIM_HW_NGSPICE", exe)
    res = simulate(RC_DECK, ["v(out)"], workdir=tmp_path)
    assert res["v(out)"][-1] == pytest.approx(V_V, rel=1e-3)
    assert list(tmp_path.iterdir()) == []


@needs_ngspice
@pytest.mark.parametrize("engine", ["batch", pytest.param("shared", marks=needs_libngspice)])
def test_concurrent_callers(engine):
    """Threads may call simulate at once: batch runs in parallel, shared serialises."""
    from concurrent.futures import ThreadPoolExecutor

    decks = [RC_DECK.replace(f"pwl(0 0 10n 0 11n {V_V})", f"pwl(0 0 10n 0 11n {k + 1})")
             for k in range(6)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda d: simulate(d, ["v(out)"], engine=engine), decks))
    finals = [r["v(out)"][-1] for r in results]
    np.testing.assert_allclose(finals, np.arange(1, 7), rtol=1e-3)


@needs_ngspice
@needs_libngspice
def test_shared_worker_replaced_after_it_dies():
    import os
    import signal

    from lim_hw.sim import shared

    simulate(RC_DECK, ["v(out)"], engine="shared")
    os.kill(shared._worker.proc.pid, signal.SIGKILL)
    shared._worker.proc.wait()
    res = simulate(RC_DECK, ["v(out)"], engine="shared")
    assert res["v(out)"][-1] == pytest.approx(V_V, rel=1e-3)


def test_write_raw_round_trips_and_refuses_bad_names(tmp_path):
    """write_raw -> read_raw gives back the same float64 samples and ngspice names."""
    from lim_hw.sim.rawfile import read_raw, write_raw

    t = np.linspace(0.0, 1.0, 7)
    vecs = {"v(fg)": np.sin(t), "i(v.x1.xj.vsns)": -t * 1e-18}
    plot = read_raw(write_raw(tmp_path / "w.raw", t, vecs, title="lim-hw test"))
    assert plot.names == ("time", "v(fg)", "i(v.x1.xj.vsns)")
    np.testing.assert_array_equal(plot.data, np.vstack([t, *vecs.values()]))
    with pytest.raises(ValueError):
        write_raw(tmp_path / "bad.raw", t, {"v(a) b": t})
