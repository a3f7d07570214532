"""The suite checks physics against the real simulator: without ngspice it stops, it does not skip."""

from __future__ import annotations

import ctypes.util
import shutil

import pytest


def pytest_sessionstart(session: pytest.Session) -> None:
    missing = [name for name, found in (("ngspice", shutil.which("ngspice")),
                                        ("libngspice", ctypes.util.find_library("ngspice"))) if not found]
    if missing:
        pytest.exit(f"{' and '.join(missing)} not found: run `make test` (it installs Debian's ngspice and "
                    "libngspice0-dev) or `sudo apt-get install ngspice libngspice0-dev`", returncode=2)


@pytest.fixture(scope="session")
def ramped_synapse_run(tmp_path_factory):
    """One flow run shared by the output tests: the held-out card tests/data/cards/outputs_ramped.toml
    (ramped edges, 11.5 nm oxide, 310 K, 8 updates) on the differential-synapse testbench."""
    from pathlib import Path

    from lim_hw.device.card import load_card
    from lim_hw.flow import run_flow

    card = load_card(Path(__file__).parent / "data" / "cards" / "outputs_ramped.toml")
    return run_flow(card, tmp_path_factory.mktemp("outputs") / "synapse", kind="synapse", progress=False)
