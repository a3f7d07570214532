"""The end-to-end flow (issue 4): real ngspice runs, energy accounting checks, outputs, failure paths."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from lim_hw.device.card import default_card
from lim_hw.energy.integrate import energy_delivered_J, integral
from lim_hw.energy.updates import ACCOUNT_COLUMNS, Waveforms, update_windows
from lim_hw.flow import run_flow
from lim_hw.netlist import generate
from lim_hw.sim import simulate
from lim_hw.sim.rawfile import read_raw

#: Stated bound on the schedule tracking error |N_sim / N_target - 1| of the default card.
TRACKING_BOUND = 1e-3


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("flow") / "run"
    return run_flow(default_card(), out, progress=False)


def test_tracking_error_below_bound(default_run):
    err = default_run.updates["tracking_error"].abs()
    assert len(err) == 20
    assert err.max() < TRACKING_BOUND


def test_bound_without_config_equals_the_default_run(default_run, capsys):
    """`lim-hw bound` defaults to the default card (schedule, R_max, T): its barrier E0_n and its
    bound per transition equal the run's E0_J and E_bound_J / N_target (to the 12 digits of the CSV)."""
    from lim_hw.cli import main

    assert main(["bound", "--json"]) == 0
    steps = pd.DataFrame(json.loads(capsys.readouterr().out)["steps"])
    u = default_run.updates
    assert len(steps) == len(u) == 20
    np.testing.assert_allclose(steps["E0_J"], u["E0_J"], rtol=1e-12)
    np.testing.assert_allclose(steps["E_diss_J"], u["E_bound_J"] / u["N_target"], rtol=1e-12)


def test_energy_conservation_in_every_update_window(default_run):
    """Net energy from the sources = tunnelling + resistor dissipation + change of capacitor energy.

    An independent check of the accounting: every term is integrated from the
    waveforms of a fresh simulation. Trapezoidal integration of the quadratic
    resistor term over the sampled RC edges limits the closure to a few 1e-3 of
    the energy drawn in the window; the stated tolerance is 2e-3.
    """
    card = default_card()
    art = generate(card)
    tb = art.testbench
    vecs = tb.saves + ("v(drv)", "v(cg)", "v(tun)")
    sim = simulate(art.deck(), tuple(dict.fromkeys(vecs)))
    wf = Waveforms(sim.time_s, sim.vectors)
    d = card.device
    R = card.programming.R_drv_ohm

    def cap_energy(t):
        cg, fg, tun = (wf.at(v, t) for v in ("v(cg)", "v(fg)", "v(tun)"))
        return 0.5 * (d.C_c_F * (cg - fg) ** 2 + d.C_j_F * (tun - fg) ** 2 + d.C_fg_F * fg ** 2)

    worst = []
    for t_a, t_b in update_windows(card, art.table):
        net = sum(energy_delivered_J(wf.time_s, wf[s.v], wf[s.i], t_a, t_b)[1] for s in tb.supplies)
        drawn = sum(energy_delivered_J(wf.time_s, wf[s.v], wf[s.i], t_a, t_b)[0] for s in tb.supplies)
        v_ox = wf["v(tun)"] - wf["v(fg)"]
        e_tun = integral(wf.time_s, wf["i(v.x1.xj.vsns)"] * v_ox, t_a, t_b)
        e_r = integral(wf.time_s, (wf["v(drv)"] - wf["v(cg)"]) ** 2 / R, t_a, t_b)
        balance = net - (e_tun + e_r + cap_energy(t_b) - cap_energy(t_a))
        worst.append(abs(balance) / drawn)
    assert max(worst) < 2e-3


def test_retention_through_full_flow_matches_closed_form(tmp_path):
    """Retention card, 1 s .. 1e6 s: simulated oxide voltage within 1e-4 of the closed form."""
    card = default_card().with_updates(schedule={"n_updates": 0}, simulation={"duration_s": 1e6})
    res = run_flow(card, tmp_path / "ret", progress=False, write_waveforms=False)
    assert res.updates.empty
    assert res.summary["retention_max_rel_error"] < 1e-4


def test_batch_and_shared_engines_agree_on_reference_cell():
    art = generate(default_card())
    vecs = art.testbench.saves
    a = simulate(art.deck(), vecs, engine="batch")
    b = simulate(art.deck(), vecs, engine="shared")
    grid = np.linspace(1.0, a.time_s[-1], 5000)
    for v in ("v(fg)", "i(v.x1.xj.vsns)"):
        ya, yb = np.interp(grid, a.time_s, a[v]), np.interp(grid, b.time_s, b[v])
        scale = np.max(np.abs(ya))
        assert np.max(np.abs(ya - yb)) <= 1e-9 * scale, v


def _lim_hw(*args, env=None, cwd=None):
    return subprocess.run([sys.executable, "-m", "lim_hw", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, stdin=subprocess.DEVNULL, timeout=300)


def test_run_command_writes_every_output_and_report_links_exist(tmp_path):
    proc = _lim_hw("run", "--quiet", "--waveforms-csv", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "lim-hw-out"
    for name in ("updates.csv", "summary.json", "waveforms.raw", "waveforms.csv", "synthesis.csv", "netlist.cir",
                 "card.toml", "fg_voltage.png", "barrier.png", "energy.png", "report.html"):
        assert (out / name).stat().st_size > 0, name
    html = (out / "report.html").read_text()
    refs = re.findall(r"(?:src|href)='([^']+)'", html)
    assert refs and all((out / r).exists() for r in refs)
    updates = pd.read_csv(out / "updates.csv")  # plain CSV: the versions are in summary.json
    assert updates.shape == (20, len(ACCOUNT_COLUMNS))
    for col in ("n", "t_s", "eps", "R_target_per_s", "E0_J", "N_target", "N_sim", "E_supply_J",
                "E_tunnel_J", "E_bound_J", "ratio_supply_to_bound", "ratio_tunnel_to_bound"):
        assert col in updates.columns
    summary = json.loads((out / "summary.json").read_text())
    assert summary["provenance"]["ngspice"].startswith("ngspice")
    assert summary["provenance"]["lim_hw"] and summary["provenance"]["numpy"]
    wave = pd.read_csv(out / "waveforms.csv")
    assert wave.columns[0] == "time_s" and "V_fg_V" in wave.columns
    raw = read_raw(out / "waveforms.raw")  # the same samples, binary (CSV keeps 12 digits, time 17)
    assert raw.names[0] == "time" and "v(fg)" in raw.names
    np.testing.assert_array_equal(raw.data[0], wave["time_s"].to_numpy())
    np.testing.assert_allclose(raw.data[raw.names.index("v(fg)")], wave["V_fg_V"].to_numpy(), rtol=1e-11)


def test_run_prints_headline(tmp_path):
    proc = _lim_hw("run", "-o", str(tmp_path / "o"), cwd=tmp_path)
    assert proc.returncode == 0
    assert "x the LIM bound" in proc.stdout
    assert "median energy per update" in proc.stdout


def test_missing_ngspice_gives_one_line_and_no_output(tmp_path):
    env = {**os.environ, "PATH": str(tmp_path / "empty")}
    (tmp_path / "empty").mkdir()
    proc = _lim_hw("run", "-o", str(tmp_path / "out"), "--quiet", env=env)
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "ngspice" in lines[0] and lines[0].startswith("lim-hw: error:")
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


def test_simulation_timeout_gives_typed_error_and_no_output(tmp_path):
    card_path = tmp_path / "slow.toml"
    card_path.write_text("[schedule]\nn_updates = 0\n[simulation]\nduration_s = 1e7\nmax_step_s = 1e-3\n"
                         "timeout_s = 1.0\n")
    proc = _lim_hw("simulate", str(card_path), "-o", str(tmp_path / "out"), "--quiet")
    assert proc.returncode == 2
    assert "timed out" in proc.stderr.lower() or "timeout" in proc.stderr.lower()
    assert not (tmp_path / "out").exists()


def test_malformed_card_gives_one_line_exit_2(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[device]\ntox_m = -1e-9\n")
    proc = _lim_hw("simulate", str(bad), "-o", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "tox_m" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_fast_engine_flow_agrees_with_ngspice(default_run, tmp_path):
    """`--engine fast` writes the same tables; transitions and tunnelling energy match ngspice to 1e-5."""
    fast = run_flow(default_card(), tmp_path / "fast", engine="fast", progress=False)
    for name in ("updates.csv", "summary.json", "synthesis.csv", "card.toml", "energy.png", "report.html"):
        assert (tmp_path / "fast" / name).exists(), name
    a, b = fast.updates, default_run.updates
    assert list(a.columns) == list(b.columns)
    np.testing.assert_allclose(a["N_sim"], b["N_sim"], rtol=1e-5)
    np.testing.assert_allclose(a["E_tunnel_J"], b["E_tunnel_J"], rtol=1e-5)
    # supply energy: the fast model's exact ramp formula vs ngspice's sampled edges (stated: 2 %)
    np.testing.assert_allclose(a["E_supply_J"], b["E_supply_J"], rtol=2e-2)


def test_missed_edges_detects_a_stepped_over_edge():
    """An edge with no time point within rise/100 of its start is reported; exact hits are not."""
    from lim_hw.energy.updates import edge_times, missed_edges
    from lim_hw.netlist import synthesize

    card = default_card().with_updates(schedule={"n_updates": 3})
    table = synthesize(card)
    edges = edge_times(card, table)
    assert edges.size == 6
    grid = np.sort(np.concatenate([np.linspace(1.0, card.stop_time_s, 500), edges]))
    assert missed_edges(card, table, grid).size == 0
    skipped = grid[grid != edges[3]]
    assert missed_edges(card, table, skipped).tolist() == [edges[3]]


def test_ramped_pulses_track_the_schedule(tmp_path):
    """Adiabatic (1 ms ramp) drive: tracking within the stated bound; drawn energy about halves."""
    card = default_card().with_updates(programming={"shape": "ramped", "rise_s": 1e-3},
                                       schedule={"n_updates": 5})
    res = run_flow(card, tmp_path / "ramp", progress=False, write_waveforms=False)
    assert res.updates["tracking_error"].abs().max() < TRACKING_BOUND
    fast = run_flow(card.with_updates(programming={"shape": "rectangular", "rise_s": 1e-9}),
                    tmp_path / "rect", progress=False, write_waveforms=False)
    # slow ramps recover the capacitor energy: drawn -> C V^2 / 2 instead of ~C V^2
    assert (res.updates["E_supply_J"] < 0.75 * fast.updates["E_supply_J"]).all()


def test_batch_engine_write_all_mode_matches_explicit_write(monkeypatch):
    """Large arrays exceed ngspice's `write` argument limit; the write-all path picks columns by name."""
    import lim_hw.sim.control as control

    art = generate(default_card().with_updates(schedule={"n_updates": 2}), array=(1, 2))
    vecs = art.testbench.saves
    explicit = simulate(art.deck(), vecs)
    monkeypatch.setattr(control, "WRITE_ALL_ABOVE", 5)
    assert "write out.raw\n" in control.batch_control(vecs, "out.raw")
    by_name = simulate(art.deck(), vecs)
    for v in vecs:
        np.testing.assert_array_equal(explicit[v], by_name[v])


def test_batch_engine_reports_simulated_time_as_progress():
    card = default_card().with_updates(schedule={"n_updates": 0}, simulation={"duration_s": 1e6})
    art = generate(card)
    seen: list[float] = []
    simulate(art.deck(), ("v(fg)",), progress=seen.append)
    assert seen and all(b >= a for a, b in zip(seen, seen[1:]))
    assert 0 < seen[-1] <= 1e6


@pytest.mark.parametrize("engine", ["batch", "fast"])
def test_plots_false_writes_the_same_numbers_without_plots_or_report(default_run, tmp_path, engine):
    """run_flow(plots=False): no PNG, no report.html, no matplotlib work; the tables are those of a full run."""
    res = run_flow(default_card(), tmp_path / "np", engine=engine, progress=False, plots=False)
    names = {p.name for p in (tmp_path / "np").iterdir()} - {".lim-hw-result.json"}  # the manifest: not an output
    assert not {n for n in names if n.endswith(".png")} and "report.html" not in names
    assert {"updates.csv", "summary.json", "synthesis.csv", "card.toml"} <= names == set(res.files)
    if engine == "batch":   # ngspice is deterministic: the same deck gives the same numbers
        pd.testing.assert_frame_equal(res.updates, default_run.updates, check_exact=True)
    else:
        np.testing.assert_allclose(res.updates["N_sim"], default_run.updates["N_sim"], rtol=1e-5)


def test_the_kept_run_is_accounted_once_with_the_numbers_of_its_waveforms(tmp_path, monkeypatch):
    """The self-check's accounting of the run the flow keeps is its updates.csv (no second accounting):
    one call per run, and the table equals an accounting of the written waveforms.raw, bit for bit."""
    import dataclasses

    import lim_hw.flow_sim as flow_sim
    import lim_hw.tech.ideal as ideal
    from lim_hw.device.card import card_from_dict
    from lim_hw.energy.updates import account_updates

    calls = []

    def counted(*args, **kwargs):
        calls.append(1)
        return account_updates(*args, **kwargs)

    monkeypatch.setattr(flow_sim, "account_updates", counted)
    monkeypatch.setattr(ideal, "account_updates", counted)
    card = card_from_dict({"schedule": {"n_updates": 3}})
    res = run_flow(card, tmp_path / "run", progress=False, plots=False)
    assert len(calls) == 1
    raw = read_raw(tmp_path / "run" / "waveforms.raw")
    wf = Waveforms(raw.time_s, {k: v for k, v in raw.vectors.items()})
    tb = generate(card, "cell").testbench
    tb = dataclasses.replace(tb, tmax_s=res.summary["provenance"]["tran"]["tmax_s"])  # the run kept
    again = account_updates(card, res.synthesis, tb, wf)
    pd.testing.assert_frame_equal(res.updates.reset_index(drop=True), again.reset_index(drop=True),
                                  check_exact=True)
    timing = res.summary["timing_s"]
    assert timing["energy_accounting_s"] > 0 and timing["simulate_s"] > 0
