"""Reader and writer for ngspice raw files (one real-valued plot, binary or ASCII).

Binary layout (what ``write`` produces with ``set filetype=binary``): ASCII header
lines ``Title:``, ``Date:``, ``Plotname:``, ``Flags:``, ``No. Variables:``,
``No. Points:``, ``Variables:`` (then one ``<index> <name> <type>`` line per
variable, the scale first), then ``Binary:`` and a newline, then ``No. Points`` rows
of ``No. Variables`` little-endian float64 values, row by row.
:func:`write_raw` writes that layout plus a ``Command:`` line naming ngspice (as
ngspice 44 and later write it: spicelib's ``RawRead`` recognises the dialect from
it, and ngspice's own reader accepts it after ``Plotname:``), so the flow's
``waveforms.raw`` opens in ngspice (``load``), PySpice (``NgSpiceShared`` +
``load``), spicelib and waveform viewers as well as in :func:`read_raw`.

A :class:`RawPlot` is indexed by vector name: ``plot["v(fg)"]``, ``plot.time_s``,
``"v(fg)" in plot``, ``plot.to_frame()``.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import RawFileError

_DATA_MARKER = re.compile(rb"^(Binary|Values):\r?\n", re.MULTILINE)


@dataclass(frozen=True)
class RawPlot:
    """One plot of a raw file: ``data[k]`` is the contiguous column of ``names[k]``.

    Indexed by name (case-insensitive, as ngspice treats vector names):
    ``plot["v(fg)"]`` is the column of ``v(fg)``; ``plot.time_s`` the scale (s for a
    transient); ``plot.vectors`` every column but the scale, by name.
    """

    plotname: str
    flags: str
    names: tuple[str, ...]
    data: np.ndarray  # shape (n_variables, n_points), float64

    def _index(self, name: str) -> int:
        key = name.lower()
        for k, n in enumerate(self.names):
            if n.lower() == key:
                return k
        raise KeyError(f"no vector {name!r} in this raw file; it has {', '.join(self.names)}")

    def __getitem__(self, name: str) -> np.ndarray:
        return self.data[self._index(name)]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in {n.lower() for n in self.names}

    def keys(self) -> tuple[str, ...]:
        """Vector names, the scale (``time``) first."""
        return self.names

    @property
    def time_s(self) -> np.ndarray:
        """The scale vector (the first column: time in s for a transient)."""
        return self.data[0]

    @property
    def vectors(self) -> dict[str, np.ndarray]:
        """Every vector but the scale, by name (views into :attr:`data`)."""
        return {n: self.data[k] for k, n in enumerate(self.names) if k > 0}

    def to_frame(self):
        """A pandas DataFrame: the scale and one column per vector, ngspice names."""
        import pandas as pd

        return pd.DataFrame({n: self.data[k] for k, n in enumerate(self.names)}, copy=False)


def _header_value(header: dict[str, str], key: str, path: Path) -> str:
    try:
        return header[key]
    except KeyError:
        raise RawFileError(f"raw file {path.name} has no '{key}:' header line -- hint: the "
                           "run was probably cut short; read the ngspice log") from None


def parse_raw(buf: bytes, path: Path = Path("out.raw")) -> RawPlot:
    """Parse the first plot in the raw-file bytes ``buf`` (``path`` is for messages)."""
    m = _DATA_MARKER.search(buf)
    if m is None:
        raise RawFileError(f"raw file {path.name} has no 'Binary:' or 'Values:' section -- "
                           "hint: the run was probably cut short; read the ngspice log")
    binary = m.group(1) == b"Binary"
    lines = buf[:m.start()].decode("ascii", errors="replace").splitlines()

    header: dict[str, str] = {}
    names: list[str] = []
    in_vars = False
    for line in lines:
        if in_vars and line[:1] in ("\t", " ") and line.strip():
            parts = line.split()
            if len(parts) < 3:
                raise RawFileError(f"raw file {path.name}: bad variable line {line.strip()!r}")
            names.append(parts[1])
            continue
        in_vars = False
        key, sep, value = line.partition(":")
        if not sep:
            continue
        header[key.strip()] = value.strip()
        in_vars = key.strip() == "Variables"

    flags = _header_value(header, "Flags", path).lower()
    if "complex" in flags:
        raise RawFileError(f"raw file {path.name} holds complex data (Flags: {flags}); only "
                           "real transient data is supported -- hint: use a .tran analysis")
    try:
        n_vars = int(_header_value(header, "No. Variables", path))
        n_points = int(_header_value(header, "No. Points", path))
    except ValueError as exc:
        raise RawFileError(f"raw file {path.name}: bad count in header ({exc})") from None
    if len(names) != n_vars:
        raise RawFileError(f"raw file {path.name} lists {len(names)} variables but says "
                           f"'No. Variables: {n_vars}'")

    start = m.end()
    if binary:
        need = n_vars * n_points * 8
        if len(buf) - start < need:
            raise RawFileError(f"raw file {path.name} is truncated: {len(buf) - start} data "
                               f"bytes for {n_points} points x {n_vars} variables ({need} bytes)")
        rows = np.frombuffer(buf, dtype="<f8", count=n_vars * n_points, offset=start)
    else:
        tokens = buf[start:].split()
        try:
            # Each point: "<index> v0 v1 ...": drop the index column.
            rows = np.array(tokens[: n_points * (n_vars + 1)], dtype=np.float64)
            rows = rows.reshape(n_points, n_vars + 1)[:, 1:]
        except ValueError as exc:
            raise RawFileError(f"raw file {path.name}: bad ASCII data ({exc})") from None
    # One copy: rows (point-major) -> contiguous, native-endian columns.
    data = np.ascontiguousarray(rows.reshape(n_points, n_vars).T, dtype=np.float64)
    return RawPlot(plotname=header.get("Plotname", ""), flags=flags, names=tuple(names), data=data)


def read_raw(path: Path) -> RawPlot:
    """Read and parse the raw file at ``path``."""
    try:
        buf = Path(path).read_bytes()
    except FileNotFoundError:
        raise RawFileError(f"ngspice wrote no raw file {Path(path).name} -- hint: read the "
                           "ngspice log (exception attribute .log)") from None
    return parse_raw(buf, Path(path))


def _variable_type(name: str) -> str:
    return "voltage" if name.startswith("v(") else "current" if name.startswith("i(") else "unknown"


def write_raw(path: str | Path, time_s: np.ndarray, vectors: Mapping[str, np.ndarray],
              title: str = "lim-hw", plotname: str = "Transient Analysis", ngspice: str = "ngspice") -> Path:
    """Write ``time_s`` and ``vectors`` (ngspice names -> values) as a binary raw file.

    Names and title must be single tokens / single lines (they are ngspice vector
    names and a netlist title here). ``ngspice``: the version that simulated the
    data, written in the ``Command:`` line. About 10 ms per 10 MB: no text formatting.
    """
    names = ["time", *vectors]
    if any(not n or any(c.isspace() for c in n) for n in names) or "\n" in title:
        raise ValueError("raw-file variable names must be non-empty single tokens and the title one line")
    t = np.asarray(time_s, dtype="<f8")
    cols = [t, *(np.asarray(v, dtype="<f8") for v in vectors.values())]
    if any(c.shape != t.shape for c in cols):
        raise ValueError("every vector must have as many points as time_s")
    from .. import __version__

    command = f"{ngspice} (written by lim-hw {__version__})" if "ngspice" in ngspice else f"ngspice ({ngspice})"
    if "\n" in command:
        raise ValueError("the ngspice version must be one line")
    lines = [f"Title: {title}", f"Date: {_dt.datetime.now(_dt.timezone.utc):%a %b %d %H:%M:%S %Y}",
             f"Plotname: {plotname}", f"Command: {command}", "Flags: real", f"No. Variables: {len(names)}", f"No. Points: {t.size}",
             "Variables:", *(f"\t{k}\t{n}\t{'time' if k == 0 else _variable_type(n)}" for k, n in enumerate(names)),
             "Binary:"]
    with open(path, "wb") as fh:
        fh.write(("\n".join(lines) + "\n").encode("ascii"))
        fh.write(np.column_stack(cols).astype("<f8", copy=False).tobytes())
    return Path(path)
