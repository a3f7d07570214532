"""Benchmark 2: array scaling in ngspice, 100 updates, 1 to 1024 synapses.

Each array is simulated by `lim-hw simulate --array RxC --no-waveforms` in a fresh
process. Arrays above `[simulation] array_block_synapses` (64) run as exact column
blocks: the linearity figure is the ngspice time per synapse with `--jobs 1` (blocks
one after another, so it measures work, not parallelism); `--jobs 2` shows the wall
time on both cores. For 64 and 256 synapses the whole array is also run as one
ngspice process (`array_block_synapses = 0`) in the same benchmark, for the ratio.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from common import LIM_HW, timed_run

SHAPES = [(1, 1), (4, 4), (8, 8), (16, 16), (32, 32)]
MONOLITHIC = {(8, 8), (16, 16)}


def _simulate(tmp: Path, card: Path, r: int, c: int, jobs: int) -> dict:
    wall, peak = timed_run(LIM_HW + ["simulate", str(card), "-o", str(tmp / "out"), "--array", f"{r}x{c}",
                                     "--no-waveforms", "--quiet", "--jobs", str(jobs)])
    summary = json.loads((tmp / "out" / "summary.json").read_text())
    return {"wall_s": wall, "peak_MB": peak, "ngspice_s": summary["provenance"]["simulation_wall_s"],
            "blocks": summary.get("array_blocks", {}).get("blocks", 1),
            "timepoints": summary["provenance"]["n_timepoints"]}


def run(shapes=SHAPES, n_updates: int = 100) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        card = tmp / "card.toml"
        card.write_text(f"[schedule]\nn_updates = {n_updates}\n[simulation]\ntimeout_s = 3000.0\n")
        whole = tmp / "whole.toml"
        whole.write_text(card.read_text() + "array_block_synapses = 0\n")
        for r, c in shapes:
            row = {"synapses": r * c, "shape": f"{r}x{c}", "seq": _simulate(tmp, card, r, c, 1)}
            if row["seq"]["blocks"] > 1:
                row["par"] = _simulate(tmp, card, r, c, 2)
            if (r, c) in MONOLITHIC:
                row["whole"] = _simulate(tmp, whole, r, c, 1)
            rows.append(row)
            print(f"{r}x{c}: {row['seq']['wall_s']:.2f} s", file=sys.stderr)
    return rows


def markdown(rows: list[dict]) -> str:
    out = ["| synapses | array | blocks | wall, --jobs 1 (s) | ngspice (s) | **ngspice s per synapse** | "
           "peak RSS (MB) | wall, --jobs 2 (s) | one ngspice run: s per synapse | time points |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        s, n = r["seq"], r["synapses"]
        par = f"{r['par']['wall_s']:.2f}" if "par" in r else "-"
        whole = f"{r['whole']['ngspice_s'] / n:.4f}" if "whole" in r else "-"
        out.append(f"| {n} | {r['shape']} | {s['blocks']} | {s['wall_s']:.2f} | {s['ngspice_s']:.2f} | "
                   f"**{s['ngspice_s'] / n:.4f}** | {s['peak_MB']:.0f} | {par} | {whole} | {s['timepoints']} |")
    return "\n".join(out)


if __name__ == "__main__":
    print(markdown(run()))
