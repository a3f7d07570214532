"""Sweeps end to end: local pool and a real Dask LocalCluster give the same table; failures are rows;
resume runs only what is missing (also after a torn last line); the bound analysis."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from lim_hw.errors import InputError
from lim_hw.sweep.executors import make_executor
from lim_hw.sweep.runner import run_sweep
from lim_hw.sweep.spec import sweep_from_dict
from lim_hw.theory import bound_table

from test_sweep_executors import _collect, square_or_fail

# 3 x 2 grid x 2 samples = 12 points: R_max 1e12 cannot be synthesised (4 points fail while planning),
# reltol 1e-14 makes ngspice fail to converge (4 points fail in the workers), 4 points simulate.
SWEEP = {
    "sweep": {"name": "mixed"},
    "set": {"schedule.n_updates": 3},
    "grid": {"device.R_max_per_s": [5e4, 1e12, 2e4], "simulation.reltol": [1e-6, 1e-14]},
    "montecarlo": {"n": 2, "seed": 11, "tox_m": {"dist": "normal", "sigma_rel": 0.01},
                   "area_m2": {"dist": "uniform", "half_width_rel": 0.05}},
}


@pytest.fixture(scope="module")
def dask_executor():
    with make_executor("dask", workers=2) as ex:
        yield ex


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("local") / "sweep"
    res = run_sweep(sweep_from_dict(SWEEP), out, executor="local", workers=2, progress=False)
    return out, res


def test_failures_are_rows_and_the_rest_finishes(local_run):
    out, res = local_run
    t = pd.read_csv(out / "sweep.csv", comment="#")
    assert res.complete and (res.n_points, res.n_ok, res.n_failed) == (12, 4, 8)
    assert list(t["index"]) == list(range(12))
    ok = t[t["status"] == "ok"]
    assert set(ok["device.R_max_per_s"]) == {5e4, 2e4} and set(ok["simulation.reltol"]) == {1e-6}
    planning = t[t["device.R_max_per_s"] == 1e12]
    assert (planning["status"] == "failed").all() and planning["error"].str.contains("control-gate pulse").all()
    conv = t[(t["simulation.reltol"] == 1e-14) & (t["device.R_max_per_s"] != 1e12)]
    assert (conv["status"] == "failed").all() and conv["error"].str.startswith("ConvergenceError").all()
    assert (ok["E_supply_median_J"] > ok["E_bound_median_J"]).all()
    assert ok["mc.tox_m_mean"].nunique() == 2 and ok["mc.area_m2_mean"].notna().all()
    for d in ok["dir"]:
        assert (out / d / "updates.csv").exists() and (out / d / "mismatch.csv").exists()
    files = {p.name for p in out.iterdir()}
    assert {"plot_device.R_max_per_s.png", "plot_simulation.reltol.png", "plot_montecarlo.png",
            "sweep.json", "points.jsonl", "sweep.toml", "base_card.toml"} <= files
    meta = json.loads((out / "sweep.json").read_text())
    assert meta["complete"] and meta["n_failed"] == 8 and meta["n_unique"] == 8


def test_dask_gives_the_identical_table(local_run, dask_executor, tmp_path):
    out, _ = local_run
    res = run_sweep(sweep_from_dict(SWEEP), tmp_path / "dask", executor=dask_executor, progress=False)
    assert res.complete and res.n_ok == 4
    assert (tmp_path / "dask" / "sweep.csv").read_bytes() == (out / "sweep.csv").read_bytes()


def test_dask_executor_reports_errors_per_item(dask_executor):
    results, errors = _collect(dask_executor, square_or_fail, list(range(8)))
    assert results == {i: i * i for i in range(8) if i != 3}
    assert list(errors) == [3] and isinstance(errors[3], ValueError)


def test_resume_runs_only_missing_points_even_after_a_torn_line(local_run, tmp_path):
    out, _ = local_run
    spec = sweep_from_dict(SWEEP)
    with pytest.raises(InputError, match="--resume"):
        run_sweep(spec, out, progress=False)
    again = run_sweep(spec, out, executor="local", workers=1, resume=True, progress=False)
    assert again.n_run == 0 and again.complete
    # tear the last record in half, as a kill during the write would
    log = out / "points.jsonl"
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2])
    before = (out / "sweep.csv").read_bytes()
    fixed = run_sweep(spec, out, executor="local", workers=1, resume=True, progress=False)
    assert fixed.n_run == 1
    assert (out / "sweep.csv").read_bytes().split(b"\n", 1)[1] == before.split(b"\n", 1)[1]
    keys = [json.loads(s)["key"] for s in log.read_text().splitlines()]
    assert len(keys) == len(set(keys)) == 8


def test_bound_analysis(tmp_path):
    spec = sweep_from_dict({"sweep": {"analysis": "bound"},
                            "grid": {"schedule.eps0": [0.1, 0.2], "device.T_K": [77.0, 300.0]}})
    res = run_sweep(spec, tmp_path / "b", workers=1, progress=False)
    t = res.table
    assert res.n_ok == 4
    card = spec.points()[3].card
    df = bound_table(card.schedule, card.device.R_max_per_s, card.device.T_K)
    expected = (df["R_per_s"] * card.programming.pulse_width_s * df["E_diss_J"]).median()
    assert t.loc[3, "E_bound_median_J"] == pytest.approx(expected, rel=1e-12)
    assert (tmp_path / "b" / t.loc[3, "dir"] / "bound.csv").exists()


def test_points_run_while_the_rest_are_planned(tmp_path, monkeypatch):
    """The sweep hands each point to the executor as soon as it is planned (no serial planning of every
    point first); duplicate points run once; the table has every point in index order."""
    from lim_hw.sweep import runner

    events: list[tuple[str, str]] = []
    plan, run = runner.plan_task, runner.run_point

    def planning(card, analysis, *args, **kwargs):
        task = plan(card, analysis, *args, **kwargs)
        events.append(("plan", task.key))
        return task

    def running(task):
        events.append(("run", task.key))
        return run(task)

    monkeypatch.setattr(runner, "plan_task", planning)
    monkeypatch.setattr(runner, "run_point", running)
    spec = sweep_from_dict({"sweep": {"analysis": "bound"},
                            "grid": {"schedule.eps0": [0.1, 0.2, 0.3], "device.T_K": [77.0, 300.0]}})
    res = run_sweep(spec, tmp_path / "b", workers=1, progress=False)
    kinds = [k for k, _ in events]
    assert kinds == ["plan", "run"] * 6                          # interleaved, not 6 plans, then 6 runs
    assert res.n_ok == 6 and list(res.table["index"]) == list(range(6))
    assert [k for kind, k in events if kind == "run"] == list(res.table["key"])
    again = run_sweep(spec, tmp_path / "b", workers=1, resume=True, progress=False)   # resume: nothing runs
    assert again.n_run == 0 and again.complete and [k for k, _ in events[12:]] == ["plan"] * 6


def test_point_plots_only_when_asked(local_run, tmp_path):
    """Point directories hold no PNG or report.html by default; point_plots = true adds them, same numbers."""
    out, res = local_run
    ok = res.table[res.table["status"] == "ok"]
    first = out / ok["dir"].iloc[0]
    assert (first / "updates.csv").exists()
    assert not list(first.glob("*.png")) and not (first / "report.html").exists()
    spec = sweep_from_dict({**SWEEP, "sweep": {"name": "mixed", "point_plots": True},
                            "grid": {"device.R_max_per_s": [5e4], "simulation.reltol": [1e-6]},
                            "montecarlo": {**SWEEP["montecarlo"], "n": 1}})
    with_plots = run_sweep(spec, tmp_path / "plots", workers=1, progress=False)
    d = tmp_path / "plots" / with_plots.table["dir"].iloc[0]
    assert (d / "report.html").exists() and (d / "energy.png").exists()
    row = ok[ok["index"] == 0].iloc[0]   # the same first point (same key) of the module's sweep
    assert with_plots.table["E_supply_total_J"].iloc[0] == row["E_supply_total_J"]
    with pytest.raises(InputError, match="point_plots must be true or false"):
        sweep_from_dict({"sweep": {"point_plots": "yes"}})
