"""``lim-hw sweep``: killed midway by a real SIGTERM, resumed, equal to an uninterrupted run; bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lim_hw.cli import main

SWEEP = """\
[sweep]
name = "kill-me"
[set]
"schedule.n_updates" = 3
[grid]
"device.V0_V" = [7.6, 7.7, 7.8, 7.9, 8.0, 8.1, 8.2, 8.3]
"""


def _records(out: Path) -> list[dict]:
    log = out / "points.jsonl"
    if not log.exists():
        return []
    return [json.loads(s) for s in log.read_text().splitlines() if s.endswith("}")]


def test_sigterm_midway_then_resume_equals_uninterrupted_run(tmp_path, capsys):
    sweep = tmp_path / "kill.toml"
    sweep.write_text(SWEEP)
    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "lim_hw", "sweep", str(sweep), "-o", str(out),
                             "--workers", "2", "--quiet"], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 90
    while len(_records(out)) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "interrupted by SIGTERM" in err and "--resume" in err
    done = _records(out)
    assert 2 <= len(done) < 8, "the sweep should have been stopped midway"
    assert not (out / "sweep.csv").exists()
    stamps = {r["key"]: (out / r["dir"] / "summary.json").stat().st_mtime_ns for r in done}

    assert main(["sweep", str(sweep), "-o", str(out), "--resume", "--workers", "2", "--quiet"]) == 0
    after = _records(out)
    keys = [r["key"] for r in after]
    assert len(keys) == len(set(keys)) == 8  # every point once: nothing finished was rerun
    assert {k: (out / r["dir"] / "summary.json").stat().st_mtime_ns
            for r in after for k in [r["key"]] if k in stamps} == stamps
    assert not list((out / "points").glob(".*.tmp"))

    ref = tmp_path / "reference"
    assert main(["sweep", str(sweep), "-o", str(ref), "--workers", "2", "--quiet"]) == 0
    assert (out / "sweep.csv").read_bytes() == (ref / "sweep.csv").read_bytes()
    assert (out / "plot_device.V0_V.png").exists()


@pytest.mark.parametrize("text, extra, words", [
    ('[grid]\n"device.tox_m" = [12e-9, nan]\n', [], "finite"),
    ('[grid]\n"device.tox_mm" = [12e-9]\n', [], "not a card key"),
    ('[montecarlo]\nn = 2\nseed = 1\ntox_m = {dist = "cauchy", sigma = 1e-10}\n', [], "cauchy"),
    ('[grid]\n"device.tox_m" = [12e-9]\n', ["--scheduler", "tcp://127.0.0.1:8786"], "dask"),
    ('[grid]\n"device.tox_m" = [12e-9]\n', ["--workers", "0"], "positive integer"),
    ('[grid]\n"device.tox_m" = [12e-9]\n', ["--retry-failed"], "--resume"),
])
def test_bad_input_is_one_line_exit_2_and_no_output(tmp_path, capsys, text, extra, words):
    sweep = tmp_path / "bad.toml"
    sweep.write_text(text)
    out = tmp_path / "out"
    assert main(["sweep", str(sweep), "-o", str(out), *extra]) == 2
    cap = capsys.readouterr()
    assert cap.out == ""
    lines = cap.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lim-hw: error:") and words in lines[0]
    assert not out.exists()


def test_existing_sweep_needs_resume(tmp_path, capsys):
    sweep = tmp_path / "b.toml"
    sweep.write_text('[sweep]\nanalysis = "bound"\n[grid]\n"schedule.eps0" = [0.1, 0.2]\n')
    out = tmp_path / "o"
    assert main(["sweep", str(sweep), "-o", str(out), "--workers", "1", "--quiet"]) == 0
    assert main(["sweep", str(sweep), "-o", str(out), "--workers", "1"]) == 2
    assert "--resume" in capsys.readouterr().err
    assert main(["sweep", str(sweep), "-o", str(out), "--workers", "1", "--resume"]) == 0
    assert "2 points, 2 ok, 0 failed (0 run now" in capsys.readouterr().out
    assert os.path.exists(out / "sweep.csv")
