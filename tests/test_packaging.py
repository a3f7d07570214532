"""The built wheel carries the circuit library and data files, and `lim-hw run` works from it.

The wheel is built offline (``pip wheel --no-deps --no-build-isolation``, setuptools
and wheel come with the test extra), installed into a fresh venv outside the source
tree whose only link to the project venv is a .pth line adding its site-packages
(for numpy & co.; .pth files inside an added directory are not processed, so the
editable install of the checkout does not leak in), and run from a folder outside
the repository.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _site_packages(python: Path) -> Path:
    out = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


def test_wheel_ships_circuits_and_runs_outside_the_source_tree(tmp_path):
    wheels = tmp_path / "wheels"
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                        "-w", str(wheels), str(REPO)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    (wheel,) = wheels.glob("lim_hw-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {p.relative_to(REPO / "circuits").as_posix() for p in (REPO / "circuits").rglob("*") if p.is_file()}
    assert shipped and {f"lim_hw/circuits/{n}" for n in shipped} <= names  # every file, subfolders too
    assert {"lim_hw/data/default_card.toml", "lim_hw/data/example_schedule.toml"} <= names

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    site = _site_packages(py)
    (site / "lim_hw_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    r = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index", "-q",
                        str(wheel)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]

    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    probe = subprocess.run([str(py), "-c", "import lim_hw; print(lim_hw.__file__); print(lim_hw.circuits_dir())"],
                           cwd=work, env=env, capture_output=True, text=True, check=True)
    module, circuits = (Path(line) for line in probe.stdout.split())
    assert site in module.parents and circuits == module.parent / "circuits"
    assert REPO not in work.parents and REPO not in module.parents
    r = subprocess.run([str(venv / "bin" / "lim-hw"), "run", "-o", "out", "--quiet", "--no-waveforms"],
                       cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    deck = (work / "out" / "netlist.cir").read_text()
    assert f'.include "{circuits / "lim_hw.lib"}"' in deck  # the installed library was simulated
    assert (work / "out" / "summary.json").is_file() and (work / "out" / ".lim-hw-result.json").is_file()
