"""Benchmark of the fast vectorised array model (lim_hw.fast.simulate_fast).

Default: 1e6 differential synapses (2e6 FN-DAM cells) x 1000 updates of the default card's
O(1/n) schedule. Targets: <= 8 ns per synapse-update (table, mismatch), <= 15 ns (amplitudes),
peak RSS < 500 MB. Prints wall time, CPU time (and CPU/wall: how much of the second core is
used), ns per synapse-update, the warm-up call's time (numba compile or cache load) and the peak
resident memory (resource.getrusage), one line per scenario, and optionally JSON. With more
than one scenario each runs in its own process, so the peak RSS is that scenario's.

    .venv/bin/python bench/fast_model.py                       # all scenarios, 1e6 x 1000
    .venv/bin/python bench/fast_model.py --synapses 100000 --scenarios table
    .venv/bin/python bench/fast_model.py --json bench-fast.json

Scenarios: ``table`` (every synapse gets the synthesised pulse), ``mismatch`` (plus per-cell
t_ox 1 % and area 2 % Gaussian mismatch), ``amplitudes`` (mismatch plus per-synapse
amplitudes from a callable: random sign per synapse, so both halves are pulsed somewhere
in every update). Run each scenario in a fresh process (``--scenarios`` one at a time) if
you want the peak RSS of that scenario alone: ru_maxrss is a process-wide high-water mark.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time

import numpy as np

from lim_hw.device.card import default_card
from lim_hw.fast import simulate_fast
from lim_hw.netlist.synthesis import synthesize

TARGET_NS = {"table": 8.0, "mismatch": 8.0, "amplitudes": 15.0}
MEM_TARGET_MB = 500.0


def peak_rss_MiB() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0   # Linux: KiB


def run(scenario: str, n_syn: int, n_upd: int, chunk: int | None, threads: int | None,
        fn_model: str | None = None, kernels: str = "auto") -> dict:
    card = default_card().with_updates(schedule={"n_updates": n_upd},
                                       **({"device": {"fn_model": fn_model}} if fn_model else {}))
    t0 = time.perf_counter()
    table = synthesize(card)
    t_syn = time.perf_counter() - t0
    mismatch = amplitudes = None
    if scenario in ("mismatch", "amplitudes"):
        rng = np.random.default_rng(0)
        n_cells = 2 * n_syn
        mismatch = {"tox_m": card.device.tox_m * (1 + 0.01 * rng.standard_normal(n_cells)),
                    "area_m2": card.device.area_m2 * (1 + 0.02 * rng.standard_normal(n_cells))}
    if scenario == "amplitudes":
        sign = np.where(np.random.default_rng(1).random(n_syn) < 0.5, -1.0, 1.0)
        vp = table["V_p_V"].to_numpy()

        def amplitudes(n: int, s0: int, s1: int) -> np.ndarray:
            return (vp[n] if n % 2 else -vp[n]) * sign[s0:s1]

    w0 = time.perf_counter()   # warm-up: numba compile (first run) or cache load, on 1 block
    simulate_fast(card, table, n_synapses=min(n_syn, 4096),
                  mismatch=None if mismatch is None else {k: v[:2 * min(n_syn, 4096)] for k, v in mismatch.items()},
                  amplitudes=amplitudes, threads=1, kernels=kernels)
    warm = time.perf_counter() - w0
    c0, w0 = time.process_time(), time.perf_counter()
    res = simulate_fast(card, table, n_synapses=n_syn, mismatch=mismatch, amplitudes=amplitudes,
                        chunk_synapses=chunk, threads=threads, kernels=kernels)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    u = res.updates
    return {
        "scenario": scenario, "fn_model": card.device.fn_model, "kernels": res.info["kernels"], "n_synapses": n_syn, "n_cells": 2 * n_syn, "n_updates": n_upd,
        "wall_s": wall, "cpu_s": cpu, "synthesis_s": t_syn, "warmup_s": warm,
        "ns_per_synapse_update": wall / (n_syn * n_upd) * 1e9,
        "cpu_ns_per_synapse_update": cpu / (n_syn * n_upd) * 1e9,
        "peak_rss_MiB": peak_rss_MiB(), "threads": res.info["threads"],
        "chunk_synapses": res.info["chunk_synapses"], "load_avg_1min": os.getloadavg()[0],
        "target_ns": TARGET_NS[scenario],
        "meets_target": wall / (n_syn * n_upd) * 1e9 <= TARGET_NS[scenario] and peak_rss_MiB() < MEM_TARGET_MB,
        "N_sim_first": float(u["N_sim"].iloc[0]) if len(u) else None,
        "E_supply_total_J": float((u["E_supply_J"] * u["n_cells_programmed"]).sum()) if len(u) else None,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--synapses", type=float, default=1e6)
    ap.add_argument("--updates", type=int, default=1000)
    ap.add_argument("--scenarios", default="table,mismatch,amplitudes")
    ap.add_argument("--chunk", type=int, default=None, help="synapses per chunk (default: the model's)")
    ap.add_argument("--threads", type=int, default=None, help="worker threads (default: CPUs available)")
    ap.add_argument("--fn-model", default=None, choices=("thermal", "classic"),
                    help="the card's FN law (default: the default card's, thermal)")
    ap.add_argument("--kernels", default="auto", choices=("auto", "numpy"),
                    help="simulate_fast kernels: auto (numba where it applies) or numpy (the reference)")
    ap.add_argument("--json", default=None, help="write the results to this JSON file")
    args = ap.parse_args(argv)
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    for sc in scenarios:
        if sc not in TARGET_NS:
            ap.error(f"unknown scenario {sc!r}")
    results = []
    for sc in scenarios:
        if len(scenarios) > 1:   # a fresh process per scenario: its own peak RSS and compile/cache load
            import subprocess
            import tempfile

            with tempfile.NamedTemporaryFile(suffix=".json") as fh:
                cmd = [sys.executable, __file__, "--synapses", str(args.synapses), "--updates", str(args.updates),
                       "--scenarios", sc, "--json", fh.name]
                cmd += ["--chunk", str(args.chunk)] if args.chunk else []
                cmd += ["--threads", str(args.threads)] if args.threads else []
                cmd += ["--fn-model", args.fn_model] if args.fn_model else []
                cmd += ["--kernels", args.kernels]
                proc = subprocess.run(cmd, capture_output=True, text=True)
                if proc.returncode != 0:
                    print(proc.stderr[-2000:], file=sys.stderr)
                    return proc.returncode
                print(proc.stdout.strip(), flush=True)
                results += json.load(open(fh.name, encoding="utf-8"))
            continue
        r = run(sc, int(args.synapses), args.updates, args.chunk, args.threads, args.fn_model, args.kernels)
        results.append(r)
        print(f"fast_model {sc:10s} {r['fn_model']} law, {r['kernels']} kernels, {r['n_synapses']:.0e} synapses x {r['n_updates']} updates: "
              f"wall {r['wall_s']:.1f} s (cpu {r['cpu_s']:.1f} s, cpu/wall {r['cpu_s'] / r['wall_s']:.2f}, "
              f"{r['threads']} threads), {r['ns_per_synapse_update']:.1f} ns/synapse-update "
              f"(cpu {r['cpu_ns_per_synapse_update']:.1f}), warm-up {r['warmup_s']:.1f} s, "
              f"peak RSS {r['peak_rss_MiB']:.0f} MiB, load {r['load_avg_1min']:.1f}, target "
              f"{TARGET_NS[sc]:.0f} ns and {MEM_TARGET_MB:.0f} MB: {'ok' if r['meets_target'] else 'MISSED'}",
              flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(results, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
