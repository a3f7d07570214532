"""Benchmark 2: array scaling in ngspice, 100 updates, 1 to 1024 synapses.

Each array is simulated by `lim-hw simulate --array RxC --no-waveforms` in a fresh
process; wall time and peak memory (of the Python process and of ngspice) are
reported with the time per synapse, which stays flat when time grows linearly.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from common import LIM_HW, timed_run

SHAPES = [(1, 1), (4, 4), (8, 8), (16, 16), (32, 32)]


def run(shapes=SHAPES, n_updates: int = 100) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        card = tmp / "card.toml"
        card.write_text(f"[schedule]\nn_updates = {n_updates}\n[simulation]\ntimeout_s = 3000.0\n")
        for r, c in shapes:
            wall, peak = timed_run(LIM_HW + ["simulate", str(card), "-o", str(tmp / "out"), "--array",
                                             f"{r}x{c}", "--no-waveforms", "--quiet"])
            summary = json.loads((tmp / "out" / "summary.json").read_text())
            rows.append({"synapses": r * c, "shape": f"{r}x{c}", "wall_s": wall,
                         "ngspice_s": summary["timing_s"]["simulate_s"], "peak_MB": peak,
                         "timepoints": summary["provenance"]["n_timepoints"]})
            print(f"{r}x{c}: {wall:.2f} s", file=sys.stderr)
    return rows


def markdown(rows: list[dict]) -> str:
    out = ["| synapses | array | wall (s) | ngspice (s) | ngspice s per synapse | peak RSS (MB) | time points |",
           "|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['synapses']} | {r['shape']} | {r['wall_s']:.2f} | {r['ngspice_s']:.2f} | "
                   f"{r['ngspice_s'] / r['synapses']:.4f} | {r['peak_MB']:.0f} | {r['timepoints']} |")
    return "\n".join(out)


if __name__ == "__main__":
    print(markdown(run()))
