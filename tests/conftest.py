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
