"""Benchmark 6: warm-path overhead -- a 32-point sweep and a 32-case regression suite vs bare `ngspice -b`.

The 32 cards are the default cell with ``N_UPDATES`` updates (about 1 s of ngspice each) over
8 oxide thicknesses x 4 initial oxide voltages. In one run, on 2 processes each:

1. bare: the 32 generated netlists (`lim-hw netlist`'s decks) through ``ngspice -b -r out.raw``,
   2 at a time (a thread per process slot);
2. sweep: ``run_sweep`` of the same 32 points on a local pool of 2 warm workers (started and
   warmed before the clock; start-up reported apart), per-point plots off (the default);
3. sweep with ``point_plots = true`` (what every point paid before: PNGs and report.html);
4. suite: ``lim-hw regress`` of 32 cases (one per card, 2 metrics each) with ``--workers 2``,
   a fresh process (start-up, pool, baseline comparison included).

Target: sweep and suite <= 1.10x bare. The per-stage table is the mean over the sweep's points
of the flow's own ``timing_s`` (summary.json) and the worker's wall time per point
(points.jsonl); 'rest' is the worker's time outside those stages (output files, JSON, bookkeeping).

Prints markdown on stdout, progress on stderr; ``--json FILE`` writes the raw figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from common import LIM_HW

N_UPDATES = 400
TOX = [11.6e-9, 11.7e-9, 11.8e-9, 11.9e-9, 12.0e-9, 12.1e-9, 12.2e-9, 12.3e-9]
V0 = [7.8, 7.9, 8.0, 8.1]
WORKERS = 2
STAGES = ("synthesis_netlist_s", "simulate_s", "energy_accounting_s", "waveforms_plots_s")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _cards(tmp: Path) -> list[Path]:
    paths = []
    for i, tox in enumerate(TOX):
        for j, v0 in enumerate(V0):
            p = tmp / "cards" / f"c{i}{j}.toml"
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(f"[schedule]\nn_updates = {N_UPDATES}\n[device]\ntox_m = {tox!r}\nV0_V = {v0!r}\n")
            paths.append(p)
    return paths


def _decks(cards: list[Path], tmp: Path) -> list[Path]:
    from lim_hw.device.card import load_card
    from lim_hw.netlist.generate import generate

    decks = []
    for c in cards:
        d = tmp / "decks" / (c.stem + ".cir")
        d.parent.mkdir(exist_ok=True)
        d.write_text(generate(load_card(c), "cell").file_text())
        decks.append(d)
    return decks


def bare(decks: list[Path], tmp: Path) -> tuple[float, list[float]]:
    """All decks through `ngspice -b`, WORKERS at a time; (wall, per-deck seconds)."""
    def one(d: Path) -> float:
        t0 = time.perf_counter()
        subprocess.run(["ngspice", "-b", "-r", str(tmp / f"{d.stem}.raw"), str(d)], check=True,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.perf_counter() - t0

    t0 = time.perf_counter()
    with ThreadPoolExecutor(WORKERS) as pool:
        per = list(pool.map(one, decks))
    return time.perf_counter() - t0, per


def sweep(tmp: Path, name: str, point_plots: bool) -> dict:
    from lim_hw.sweep.executors import make_executor
    from lim_hw.sweep.runner import run_sweep
    from lim_hw.sweep.spec import sweep_from_dict
    from lim_hw.sweep.store import POINTS_DIR, point_dirname

    spec = sweep_from_dict({"sweep": {"name": name, "point_plots": point_plots},
                            "set": {"schedule.n_updates": N_UPDATES},
                            "grid": {"device.tox_m": TOX, "device.V0_V": V0}})
    t0 = time.perf_counter()
    ex = make_executor("local", WORKERS)
    ex.start()
    list(ex.map_unordered(abs, [0] * (2 * WORKERS)))   # warm: workers started
    t1 = time.perf_counter()
    out = tmp / name
    res = run_sweep(spec, out, executor=ex, progress=False)
    t2 = time.perf_counter()
    ex.close()
    assert res.complete and res.n_ok == spec.n_points, res.table["error"].unique()
    records = [json.loads(s) for s in (out / "points.jsonl").read_text().splitlines() if s.strip()]
    stages = {k: [] for k in STAGES}
    walls = []
    for r in records:
        summary = json.loads((out / POINTS_DIR / point_dirname(r["key"]) / "summary.json").read_text())
        for k in STAGES:
            stages[k].append(summary["timing_s"].get(k, 0.0))
        walls.append(r["wall_s"])
    return {"startup_s": t1 - t0, "wall_s": t2 - t1, "n": res.n_ok,
            "stage_mean_s": {k: statistics.fmean(v) for k, v in stages.items() if v},
            "point_wall_mean_s": statistics.fmean(walls) if walls else float("nan")}


def suite(cards: list[Path], tmp: Path) -> dict:
    root = tmp / "suite"
    root.mkdir()
    lines = ['[suite]\nname = "warm"\n']
    for c in cards:
        lines.append(f'[[case]]\nname = "{c.stem}"\ncard = "{c}"\n'
                     '  [[case.metric]]\n  summary = "E_supply_median_J"\n  rel_tol = 1e-3\n'
                     '  [[case.metric]]\n  summary = "n_updates"\n  abs_tol = 0\n')
    (root / "suite.toml").write_text("\n".join(lines))
    cmd = LIM_HW + ["regress", str(root / "suite.toml"), "--workers", str(WORKERS), "-q"]
    subprocess.run(cmd + ["--update-baseline"], check=True, stdout=subprocess.DEVNULL)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"regress failed ({proc.returncode}): {proc.stdout[-800:]} {proc.stderr[-800:]}")
    return {"wall_s": wall}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", default=None, help="write the raw figures to this JSON file")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        cards = _cards(tmp)
        decks = _decks(cards, tmp)
        load0 = os.getloadavg()[0]
        b_wall, b_per = bare(decks, tmp)
        log(f"bare: {b_wall:.1f} s ({statistics.fmean(b_per):.2f} s per deck)")
        sw = sweep(tmp, "warm", point_plots=False)
        log(f"sweep: {sw['wall_s']:.1f} s")
        sp = sweep(tmp, "warm-plots", point_plots=True)
        log(f"sweep with point plots: {sp['wall_s']:.1f} s")
        su = suite(cards, tmp)
        log(f"suite: {su['wall_s']:.1f} s")
        b2_wall, _ = bare(decks, tmp)   # again, to show the drift of the machine within the run
        log(f"bare again: {b2_wall:.1f} s")
        load1 = os.getloadavg()[0]
    res = {"bare_s": b_wall, "bare_again_s": b2_wall, "bare_per_deck_s": statistics.fmean(b_per),
           "sweep": sw, "sweep_point_plots": sp, "suite": su, "load_avg_1min": [load0, load1]}
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2))
    ref = statistics.fmean([b_wall, b2_wall])
    drift = abs(b2_wall - b_wall) / ref   # the machine's speed moved during the run: no verdict
    print(f"32 default cells x {N_UPDATES} updates ({statistics.fmean(b_per):.2f} s of bare ngspice each), "
          f"{WORKERS} processes; bare runs before and after: {b_wall:.1f} s and {b2_wall:.1f} s (mean {ref:.1f} s "
          f"is the reference); load average {load0:.1f} -> {load1:.1f}.\n")
    print("| run | wall (s) | ratio to bare | target | start-up apart (s) |")
    print("|---|---|---|---|---|")
    print(f"| bare `ngspice -b`, 2 at a time | {ref:.1f} | 1.00x | | |")
    for name, r, tgt in (("sweep (per-point plots off: default)", sw, "<= 1.10x"),
                         ("sweep, `point_plots = true` (as before)", sp, ""),
                         ("`lim-hw regress`, 32 cases, `--workers 2` (fresh process)", su, "<= 1.10x")):
        ratio = r["wall_s"] / ref
        verdict = ("met" if ratio <= 1.10 else "missed") if tgt else ""
        if tgt and drift > 0.15:
            verdict = f"not valid: bare runs differ by {drift * 100:.0f} %"
        start = f"{r['startup_s']:.2f}" if "startup_s" in r else "included"
        print(f"| {name} | {r['wall_s']:.1f} | {ratio:.2f}x | {tgt} {verdict} | {start} |")
    print("\nPer point (mean over the 32 points of each sweep, seconds):\n")
    print("| stage | plots off | plots on |")
    print("|---|---|---|")
    for k in STAGES:
        print(f"| {k} | {sw['stage_mean_s'].get(k, 0):.3f} | {sp['stage_mean_s'].get(k, 0):.3f} |")
    for label, key in (("worker wall per point", "point_wall_mean_s"),):
        print(f"| {label} | {sw[key]:.3f} | {sp[key]:.3f} |")
    rest = [r["point_wall_mean_s"] - sum(r["stage_mean_s"].values()) for r in (sw, sp)]
    print(f"| rest (files, JSON, bookkeeping) | {rest[0]:.3f} | {rest[1]:.3f} |")
    print(f"| bare ngspice per deck | {statistics.fmean(b_per):.3f} | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
