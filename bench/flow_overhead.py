"""Benchmark 1: `lim-hw simulate` vs bare `ngspice -b` on the same generated netlist.

For each reference card: the netlist is generated once (`lim-hw netlist`, with the
same .save list the flow records), then bare `ngspice -b -r out.raw` and the full
`lim-hw simulate` (a fresh process: Python start-up, synthesis, ngspice, raw parsing,
energy accounting, CSV/JSON/PNG/HTML) are each timed 5 times, interleaved; medians and their
ratio are reported, with the flow's own stage timings (summary.json timing_s).
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
from pathlib import Path

from common import LIM_HW, median_runs, timed_run

CARDS = {
    # name: (card TOML text, extra flags)
    "default cell, 20 updates": ("", []),
    "cell, 400 updates": ("[schedule]\nn_updates = 400\n", []),
    "retention 1e6 s": ("[schedule]\nn_updates = 0\n[simulation]\nduration_s = 1e6\n", []),
    "array 4x4, 100 updates": ("[schedule]\nn_updates = 100\n", ["--array", "4x4"]),
    # periods of 5 s and 2 s keep the runs (~5000 s) short enough for 1 ns edges in double precision
    "cell, 800 updates": ("[schedule]\nn_updates = 800\n[programming]\nperiod_s = 5.0\n", []),
    "cell, 2000 updates": ("[schedule]\nn_updates = 2000\n[programming]\nperiod_s = 2.0\n", []),
}
#: What every `lim-hw simulate` pays before it can start ngspice: the interpreter and imports.
FLOOR = [sys.executable, "-c", "import lim_hw.cli.simulate_cmd"]


def run(repeats: int = 5) -> list[dict]:
    floor, _, _ = median_runs(FLOOR, repeats)
    rows = [{"case": "floor", "floor_s": floor}]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for name, (toml, flags) in CARDS.items():
            card = tmp / "card.toml"
            card.write_text(toml or "[schedule]\nn_updates = 20\n")
            deck = tmp / "deck.cir"
            median_runs(LIM_HW + ["netlist", str(card), "-o", str(deck), "--absolute-include"] + flags, 1)
            bare_runs, flow_runs = [], []
            for _ in range(repeats):  # interleaved, so drift in the machine's speed hits both alike
                bare_runs.append(timed_run(["ngspice", "-b", "-r", str(tmp / "out.raw"), str(deck)]))
                flow_runs.append(timed_run(LIM_HW + ["simulate", str(card), "-o", str(tmp / "out"), "--quiet"]
                                           + flags))
            bare, bare_mb = statistics.median(w for w, _ in bare_runs), max(m for _, m in bare_runs)
            flow, flow_mb = statistics.median(w for w, _ in flow_runs), max(m for _, m in flow_runs)
            stages = json.loads((tmp / "out" / "summary.json").read_text())["timing_s"]
            rows.append({"case": name, "bare_ngspice_s": bare, "lim_hw_simulate_s": flow,
                         "ratio": flow / bare, "stages": stages, "flow_peak_MB": flow_mb,
                         "ngspice_peak_MB": bare_mb})
            print(f"{name}: bare {bare:.3f} s, flow {flow:.3f} s, ratio {flow / bare:.2f}", file=sys.stderr)
    return rows


def markdown(rows: list[dict]) -> str:
    out = ["| case | bare `ngspice -b` (s) | `lim-hw simulate` (s) | ratio | overhead (s) | synthesis+netlist | "
           "ngspice in flow | accounting | waveforms+plots | rest (start-up, report) |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    floor = rows[0]["floor_s"]
    for r in rows[1:]:
        st = r["stages"]
        rest = r["lim_hw_simulate_s"] - sum(st.values())
        out.append(f"| {r['case']} | {r['bare_ngspice_s']:.3f} | {r['lim_hw_simulate_s']:.3f} | "
                   f"{r['ratio']:.2f}x | {r['lim_hw_simulate_s'] - r['bare_ngspice_s']:.3f} | "
                   f"{st['synthesis_netlist_s']:.3f} | {st['simulate_s']:.3f} | "
                   f"{st['energy_accounting_s']:.3f} | {st['waveforms_plots_s']:.3f} | {rest:.3f} |")
    over = [r["lim_hw_simulate_s"] - r["bare_ngspice_s"] for r in rows[1:]]
    out.append("")
    out.append(f"Start-up floor in the same run (Python + `import lim_hw.cli.simulate_cmd`, median): {floor:.3f} s. "
               f"Overhead (flow minus bare) {min(over):.2f}-{max(over):.2f} s, so the ratio is at most 1.15x once "
               f"bare ngspice takes about {min(over) / 0.15:.1f}-{max(over) / 0.15:.1f} s or more.")
    return "\n".join(out)


if __name__ == "__main__":
    print(markdown(run()))
