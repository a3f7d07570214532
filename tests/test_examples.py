"""Examples and documented commands (issue 17): the notebook example runs, following README leaves
nothing untracked, and a script that runs a sweep without a `__main__` guard fails without
caching failures."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Options whose value is a path a command writes.
OUTPUT_OPTIONS = ("-o", "--output", "--report", "--junit", "--csv", "--plot")


def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def git_checkout():
    if _git("rev-parse", "--is-inside-work-tree").stdout.strip() != "true":
        pytest.fail(f"{ROOT} is not a git checkout: these tests check what git would see (run them in a clone)")


def _untracked() -> set[str]:
    return {line[3:] for line in _git("status", "--porcelain", "--untracked-files=all").stdout.splitlines()
            if line.startswith("??")}


def test_notebook_example_runs_and_writes_only_ignored_files(git_checkout):
    before = _untracked()
    env = {k: v for k, v in os.environ.items() if k != "LIM_HW_EXAMPLES_OUT"}
    proc = subprocess.run([sys.executable, "examples/notebook.py"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, stdin=subprocess.DEVNULL, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "first weight step" in proc.stdout and "times the LIM bound" in proc.stdout
    assert (ROOT / "build" / "examples" / "notebook" / "energy_vs_bound.png").is_file()
    assert _untracked() == before


def _documented_outputs() -> list[tuple[str, str]]:
    """``(file, path)`` of every concrete output path in the shell examples of README.md and docs/."""
    found = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        in_code = False
        for line in doc.read_text(encoding="utf-8").splitlines():
            if line.startswith("```"):
                in_code = not in_code
                continue
            words = line.split("#")[0].split()
            if not in_code or not words or words[0] not in ("lim-hw", "python", ".venv/bin/lim-hw"):
                continue
            for opt, value in zip(words, words[1:]):
                if opt in OUTPUT_OPTIONS and value == value.lower() and not value.startswith(("[", "<")):
                    found.append((doc.name, value))
    return found


def test_documented_commands_write_where_git_ignores(git_checkout):
    """Following README and docs/ leaves no untracked item: every output path is ignored by git."""
    outputs = _documented_outputs()
    assert len(outputs) >= 10, outputs   # the README's fit, simulate, sweep, regress, optimize, train lines
    for doc, path in outputs:
        assert _git("check-ignore", "-q", path).returncode == 0, f"{doc}: output {path} is not ignored by git"


_SWEEP_SCRIPT = """
from lim_hw.sweep import run_sweep
from lim_hw.sweep.spec import sweep_from_dict

spec = sweep_from_dict({{"sweep": {{"name": "guard", "analysis": "bound"}},
                        "grid": {{"schedule.eps0": [0.1, 0.2, 0.3]}}}})
{body}
"""


def test_sweep_script_without_main_guard_fails_once_and_caches_nothing(tmp_path):
    """Under forkserver every worker re-imports the script; unguarded, the pool breaks. That is
    the caller's fault: one error line naming the guard, no point recorded as failed, and the
    guarded script then runs every point."""
    out = tmp_path / "sw"
    run = 'res = run_sweep(spec, {out!r}, executor="local", workers={workers}, progress=False, resume=True)\n' \
          'print("ok", res.n_ok, res.n_failed)'
    bad = tmp_path / "bad.py"
    bad.write_text(_SWEEP_SCRIPT.format(body=run.format(out=str(out), workers=2)))
    proc = subprocess.run([sys.executable, str(bad)], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode != 0 and 'if __name__ == "__main__":' in proc.stderr
    log = out / "points.jsonl"
    assert not log.exists() or not [json.loads(x) for x in log.read_text().splitlines() if x.strip()]
    good = tmp_path / "good.py"
    # the fixed script (in this process: a worker pool is the sweep tests' subject) runs every point
    fixed = textwrap.indent(run.format(out=str(out), workers=1), "    ")
    good.write_text(_SWEEP_SCRIPT.format(body='if __name__ == "__main__":\n' + fixed))
    proc = subprocess.run([sys.executable, str(good)], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split()[-3:] == ["ok", "3", "0"]


def test_sweeps_doc_snippet_has_the_main_guard():
    text = (ROOT / "docs" / "sweeps.md").read_text(encoding="utf-8")
    snippets = [b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "make_executor" in b]
    assert snippets and all('if __name__ == "__main__":' in b for b in snippets)
