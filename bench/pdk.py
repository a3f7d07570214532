"""Benchmark 8: the sky130 technology -- model loading, a 20-update cell against the ideal cell, corners.

1. Model loading: ngspice (fresh process) reads the full ``.lib sky130.lib.spice tt`` and the
   subset lim-hw writes into its decks (the default cell's devices, corner and W/L bins),
   each then solving one operating point of every device size; wall time, peak RSS and the
   largest relative difference of the device currents (target: subset <= 0.5 s).
2. The same 20-update card through ``run_flow`` as the ideal cell and as the sky130 cell in
   this one process: ngspice time (the sky130 run is one segmented script per simulation;
   its closed loop runs it again), extraction time, flow wall time.
3. Corners: extraction plus a 3-update closed-loop flow at tt, ss, ff, sf, fs (reads off).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT

sys.path.insert(0, str(ROOT))

from lim_hw.device.card import default_card  # noqa: E402
from lim_hw.flow import run_flow  # noqa: E402
from lim_hw.tech import technology_for  # noqa: E402
from lim_hw.tech.sky130.cell import DEFINES, used_devices  # noqa: E402
from lim_hw.tech.sky130.models import bias_check_deck, model_subset  # noqa: E402
from lim_hw.tech.sky130.pdk import locate_pdk  # noqa: E402


def _card(n: int, **tech):
    return default_card().with_updates(technology={"pdk": "sky130", **tech}, schedule={"n_updates": n})


def _ngspice(deck: str, tmp: Path) -> tuple[float, float, list[float]]:
    path = tmp / "deck.cir"
    path.write_text(deck)
    t0 = time.perf_counter()
    # as lim-hw runs it: -n (no .spiceinit), the PDK's settings as -D defines, a private HOME
    proc = subprocess.Popen(["ngspice", "-n", "-b", *[x for d in DEFINES for x in ("-D", d)], path.name], cwd=tmp,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            env={**os.environ, "HOME": str(tmp)})
    out = proc.stdout.read().decode()
    _, _, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    vals = [float(v) for v in re.findall(r"^\s*i\(vd\d+\)\s*=\s*(\S+)", out, re.M)]
    return wall, usage.ru_maxrss / 1024.0, vals


def loading() -> str:
    card = _card(1)
    sizes = {d: s for d, s in used_devices(card).items() if s}
    src = locate_pdk()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        t0 = time.perf_counter()
        sub = model_subset(src, "tt", used_devices(card)).text
        cut = time.perf_counter() - t0
        empty = _ngspice("* empty\nv1 a 0 1\nr1 a 0 1\n.control\nop\nquit\n.endc\n.end\n", tmp)[0]
        s_wall, s_rss, s_i = _ngspice(bias_check_deck(sub, sizes), tmp)
        f_wall, f_rss, f_i = _ngspice(bias_check_deck(f'.lib "{src.lib_file}" tt', sizes), tmp)
    diff = max(abs(a - b) / max(abs(a), abs(b)) for a, b in zip(s_i, f_i)) if s_i and len(s_i) == len(f_i) else float("nan")
    return ("| model set | ngspice wall (s) | peak RSS (MB) | devices solved |\n|---|---|---|---|\n"
            f"| full `.lib sky130.lib.spice tt` | {f_wall:.2f} | {f_rss:.0f} | {len(f_i)} |\n"
            f"| lim-hw subset (devices, corner, bins) | {s_wall:.3f} | {s_rss:.0f} | {len(s_i)} |\n"
            f"| empty deck (ngspice start) | {empty:.3f} | - | - |\n\n"
            f"Subset cut in Python (first call, files parsed): {cut:.3f} s, {len(sub) / 1e3:.0f} kB of deck text. "
            f"Largest relative difference of the {len(s_i)} device currents: {diff:.1e} (target 1e-9). "
            f"Full library / subset load: {f_wall / s_wall:.0f}x; subset model loading "
            f"{'meets' if s_wall - empty <= 0.5 else 'misses'} the 0.5 s target.")


def cell_vs_ideal() -> str:
    card = _card(20)
    tech = technology_for(card)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        t0 = time.perf_counter()
        ideal = run_flow(default_card(), tmp / "ideal", progress=False)
        t_ideal = time.perf_counter() - t0
        t0 = time.perf_counter()
        tech.design(card)
        t_design = time.perf_counter() - t0
        t0 = time.perf_counter()
        sky = run_flow(card, tmp / "sky", progress=False, ideal_reference=False)
        t_sky = time.perf_counter() - t0
    loop = sky.summary["technology"]["closed_loop"]
    sims = " + ".join(f"{it['simulation_wall_s']:.2f}" for it in loop)
    ng_ideal = ideal.summary["provenance"]["simulation_wall_s"]
    return ("| cell (20 updates) | ngspice (s) | flow wall (s) | tracking error max | energy drawn per update (J, median) |\n"
            "|---|---|---|---|---|\n"
            f"| ideal | {ng_ideal:.2f} | {t_ideal:.2f} | {ideal.summary['tracking_error_max_abs']:.1e} | "
            f"{ideal.summary['E_supply_median_J']:.3e} |\n"
            f"| sky130 tt | {sims} (closed loop: {len(loop)} runs) | {t_sky:.2f} (+ extraction {t_design:.2f}) | "
            f"{sky.summary['tracking_error_max_abs']:.1e} (open loop {loop[0]['tracking_error_max_abs']:.1e}) | "
            f"{sky.summary['E_supply_median_J']:.3e} |\n\n"
            f"One sky130 ngspice run / ideal ngspice run: {loop[0]['simulation_wall_s'] / ng_ideal:.0f}x "
            f"({sky.summary['technology']['segments']} transients in one ngspice process).")


def corners() -> str:
    rows = ["| corner | tox (nm) | extraction (s) | flow with closed loop (s) | tracking error max | w_s update 1 (us) |",
            "|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp_name:
        for corner in ("tt", "ss", "ff", "sf", "fs"):
            card = _card(3, corner=corner, read=False)
            t0 = time.perf_counter()
            d = technology_for(card).design(card)
            t_d = time.perf_counter() - t0
            t0 = time.perf_counter()
            res = run_flow(card, Path(tmp_name) / corner, progress=False, ideal_reference=False,
                           write_waveforms=False)
            t_f = time.perf_counter() - t0
            rows.append(f"| {corner} | {d.tox_m * 1e9:.3f} | {t_d:.2f} | {t_f:.2f} | "
                        f"{res.summary['tracking_error_max_abs']:.1e} | {res.updates['w_s'].iloc[0] * 1e6:.2f} |")
    return "\n".join(rows)


def main() -> int:
    load = os.getloadavg()[0]
    print(f"### Model loading\n\n{loading()}\n\n### 20-update cell: ideal vs sky130 (same process)\n\n"
          f"{cell_vs_ideal()}\n\n### Corners (3 updates each)\n\n{corners()}\n\n"
          f"Load average (1 min) at the start: {load:.1f} (other work on the machine inflates wall times).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
