"""Benchmark 7: one-shot start-up -- `lim-hw --help`, `lim-hw bound`, and the fixed stages of `lim-hw simulate`.

Each command runs ``REPEATS`` times in a fresh process (medians), beside the floors that
bound it in the same run: the interpreter alone, ``import numpy``, ``import pandas``.
``python -X importtime`` of `lim-hw bound` names the largest imports. `lim-hw simulate`
of the default card reports its stages from summary.json ``timing_s``; 'rest' is Python
start-up, imports and the report. Targets: `--help` and `bound` <= 0.3 s.

Prints markdown on stdout; ``--json FILE`` writes the raw figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import LIM_HW

REPEATS = 7
PY = [sys.executable]


def wall(cmd: list[str], repeats: int = REPEATS) -> float:
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def top_imports(cmd: list[str], n: int = 6) -> list[tuple[str, float]]:
    """Largest cumulative top-level imports (seconds) of ``python -X importtime``."""
    err = subprocess.run(PY + ["-X", "importtime"] + cmd[1:], capture_output=True, text=True).stderr
    rows = []
    for line in err.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cum, name = line.split("|")
        if name.startswith("   "):   # nested import; keep the top-level ones (one leading space)
            continue
        try:
            rows.append((name.strip(), int(cum) / 1e6))
        except ValueError:
            continue
    return sorted(rows, key=lambda r: -r[1])[:n]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    res: dict = {"floors": {}, "commands": {}}
    res["floors"]["python -c pass"] = wall(PY + ["-c", "pass"])
    res["floors"]["import numpy"] = wall(PY + ["-c", "import numpy"])
    res["floors"]["import pandas"] = wall(PY + ["-c", "import pandas"])
    res["commands"]["lim-hw --help"] = wall(LIM_HW + ["--help"])
    res["commands"]["lim-hw bound"] = wall(LIM_HW + ["bound"])
    res["commands"]["lim-hw bound --help"] = wall(LIM_HW + ["bound", "--help"])
    res["bound_imports"] = top_imports(LIM_HW + ["bound"])
    from lim_hw.device.card import default_card_path

    with tempfile.TemporaryDirectory() as tmp_name:
        out = Path(tmp_name) / "run"
        sims, stages = [], []
        for _ in range(3):
            t0 = time.perf_counter()
            subprocess.run(LIM_HW + ["simulate", str(default_card_path()), "-o", str(out), "--quiet"], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            sims.append(time.perf_counter() - t0)
            stages.append(json.loads((out / "summary.json").read_text())["timing_s"])
        res["simulate"] = {"wall_s": statistics.median(sims),
                           "stages_s": {k: statistics.median(s[k] for s in stages) for k in stages[0]}}
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2))
    print(f"Medians of {REPEATS} fresh processes.\n")
    print("| command | wall (s) | target |")
    print("|---|---|---|")
    for k, v in res["floors"].items():
        print(f"| floor: `{k}` | {v:.3f} | |")
    for k, v in res["commands"].items():
        tgt = "<= 0.3 s " + ("met" if v <= 0.3 else "missed") if k in ("lim-hw --help", "lim-hw bound") else ""
        print(f"| `{k}` | {v:.3f} | {tgt} |")
    print("\nLargest top-level imports of `lim-hw bound` (`-X importtime`, cumulative): "
          + ", ".join(f"{n} {t:.3f} s" for n, t in res["bound_imports"]) + ".\n")
    sim = res["simulate"]
    st = sim["stages_s"]
    rest = sim["wall_s"] - sum(st.values())
    print(f"`lim-hw simulate` of the default card (median of 3): {sim['wall_s']:.3f} s = "
          + ", ".join(f"{k} {v:.3f}" for k, v in st.items()) + f", rest (start-up, imports, report) {rest:.3f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
