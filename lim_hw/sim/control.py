"""Checks on what enters ngspice, and the control commands the engines append.

Vector names are the only caller text that reaches an ngspice *command* line, so
they are matched against a strict pattern; nothing else can be injected. The
netlist itself is the caller's (built by ``lim_hw.netlist``); it is only checked
for the lines the engines own (``.control``/``.endc``/``.end``).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence

from lim_hw.errors import InputError

_ID = r"[a-z0-9_]+(?:\.[a-z0-9_]+)*"  # lower case, dots for subcircuit paths
_VEC_V = re.compile(rf"v\(({_ID})(?:,({_ID}))?\)")
_VEC_I = re.compile(rf"i\(({_ID})\)")
_VEC_AT = re.compile(rf"@({_ID})\[([a-z0-9_]+)\]")
_GROUND = {"0", "gnd"}
_ENGINE_LINES = {".control", ".endc"}
_INCLUDE_LINES = {".include", ".inc"}
_SAVE_CHUNK = 8  # vectors per `save` command (keeps command lines short)


def validate_vectors(vectors: Sequence[str]) -> tuple[str, ...]:
    """Check requested vector names; return them as a tuple.

    Accepted (lower case, no spaces): ``v(node)``, ``v(a,b)``, ``i(vname)``,
    ``@dev[param]``; names are ``[a-z0-9_]`` words joined by dots (``v(x1.fg)``,
    ``@b.x1.bfn[i]``). Raises :class:`InputError` otherwise.
    """
    if isinstance(vectors, str):
        raise InputError(f"vectors must be a list of names, not the string {vectors!r}; "
                         f"use [{vectors!r}]")
    out = tuple(vectors)
    if not out:
        raise InputError("no vectors requested; name at least one, e.g. ['v(fg)']")
    for name in out:
        if not isinstance(name, str):
            raise InputError(f"vector name {name!r} is not a string")
        m = _VEC_V.fullmatch(name)
        if m is not None:
            if _GROUND & {m.group(1), m.group(2)}:
                raise InputError(f"vector {name!r} names ground; use v(a) for the voltage of "
                                 "a to ground (and -v(a) for the reverse)")
            continue
        if _VEC_I.fullmatch(name) or _VEC_AT.fullmatch(name):
            continue
        hint = " (names must be lower case)" if name.lower() != name else ""
        raise InputError(f"bad vector name {name!r}{hint}; use v(node), v(a,b), i(vname) "
                         "or @dev[param] with lower-case names, dots for subcircuit paths")
    dupes = sorted({n for n in out if out.count(n) > 1})
    if dupes:
        raise InputError(f"vector(s) requested twice: {', '.join(dupes)}; name each once")
    return out


def save_names(vectors: Sequence[str]) -> list[str]:
    """The ngspice ``save`` arguments that keep every vector needed (v(a,b) -> v(a), v(b))."""
    names: list[str] = []
    for name in vectors:
        m = _VEC_V.fullmatch(name)
        parts = [f"v({node})" for node in m.groups() if node] if m else [name]
        for part in parts:
            if part not in names:
                names.append(part)
    return names


def save_commands(vectors: Sequence[str]) -> list[str]:
    """``save`` commands (several accumulate) so only the needed vectors are stored."""
    names = save_names(vectors)
    return ["save " + " ".join(names[k:k + _SAVE_CHUNK]) for k in range(0, len(names), _SAVE_CHUNK)]


def _words(line: str) -> list[str]:
    return line.split()


def _final_end(lines: list[str]) -> int | None:
    """Index of a closing ``.end`` line (nothing but blank lines and comments after it), else None."""
    for k in range(len(lines) - 1, 0, -1):
        words = _words(lines[k])
        if not words or words[0].startswith("*"):
            continue
        return k if words[0].lower() == ".end" else None
    return None


def check_netlist(netlist: str, base_dir: str | os.PathLike | None = None) -> None:
    """Check the deck the caller gives: title first, a .tran line, no .control/.endc, at most a
    closing ``.end`` (a stand-alone deck: the engines drop it and append their own), and
    absolute paths in .include/.lib (the engines run ngspice in a temporary directory) unless
    ``base_dir``, the deck's folder, resolves relative ones.

    Raises :class:`InputError`.
    """
    if not isinstance(netlist, str):
        raise InputError(f"netlist must be text (str) or a deck file (Path), not {type(netlist).__name__}")
    if "\x00" in netlist:
        raise InputError("netlist contains a NUL character; remove it")
    lines = netlist.splitlines()
    if not lines or not lines[0].strip():
        raise InputError("netlist is empty or its first line is blank; the first line is "
                         "the title, e.g. '* fn-dam testbench'")
    if lines[0].lstrip().startswith("."):
        raise InputError(f"the first netlist line {lines[0].strip()!r} is a directive, but "
                         "ngspice reads the first line as the title; put a title line first")
    end = _final_end(lines)
    has_tran = False
    for k, line in enumerate(lines[1:], start=2):
        words = _words(line)
        first = words[0].lower() if words else ""
        if first in _ENGINE_LINES:
            raise InputError(f"netlist line {k} is {first!r}; give the deck without "
                             ".control/.endc (the simulation engine appends its own)")
        if first == ".end" and k - 1 != end:
            raise InputError(f"netlist line {k} is '.end' with more deck after it; ngspice stops reading "
                             "at .end: remove it or move it to the end")
        has_tran = has_tran or first == ".tran"
        if (first in _INCLUDE_LINES or (first == ".lib" and len(words) >= 3)) and len(words) >= 2:
            path = words[1].strip("\"'")
            if not os.path.isabs(path) and base_dir is None:
                raise InputError(f"netlist line {k} includes the relative path {path!r}; give an "
                                 "absolute path, or pass the deck's file (a Path) so that it is resolved "
                                 "against the deck's folder (the engines do not run in your directory)")
    if not has_tran:
        raise InputError("netlist has no .tran line; the simulation engines run transients "
                         "only (e.g. '.tran 1u 1m uic')")


def engine_deck(netlist: str, base_dir: str | os.PathLike | None = None) -> str:
    """The deck the engines run: a closing ``.end`` and ``.meas`` lines dropped, relative include paths
    made absolute against ``base_dir`` (what ngspice itself does for a deck file).

    ``.meas`` statements are for a deck run by hand (``ngspice -b deck.cir`` prints them); the
    engines save only the requested vectors, which a measurement of other vectors would miss.
    Call :func:`check_netlist` first.
    """
    lines = netlist.splitlines()
    end = _final_end(lines)
    if end is not None:
        lines = lines[:end]
    kept, dropping = [], False
    for line in lines:
        first = line.split()[0].lower() if line.split() else ""
        if first in (".meas", ".measure"):
            dropping = True
            continue
        if dropping and first.startswith("+"):
            continue
        dropping = False
        kept.append(line)
    lines = kept
    if base_dir is not None:
        for k, line in enumerate(lines):
            words = _words(line)
            first = words[0].lower() if words else ""
            if (first in _INCLUDE_LINES or (first == ".lib" and len(words) >= 3)) and len(words) >= 2:
                path = words[1].strip("\"'")
                if not os.path.isabs(path):
                    full = os.path.normpath(os.path.join(os.fspath(base_dir), path))
                    lines[k] = " ".join([words[0], f'"{full}"', *words[2:]])
    return "\n".join(lines) + "\n"


#: Above this many vectors the batch engine writes every saved vector (see batch_control).
WRITE_ALL_ABOVE = 400


def batch_control(vectors: Sequence[str], raw_name: str) -> str:
    """The control block and ``.end`` the batch engine appends to the deck."""
    # ngspice's `write` refuses more than ~1000 arguments ("too many args"): beyond
    # WRITE_ALL_ABOVE plain vectors, write everything saved and pick the columns by name.
    plain = all("," not in v for v in vectors)
    write = f"write {raw_name}" if plain and len(vectors) > WRITE_ALL_ABOVE else \
        f"write {raw_name} " + " ".join(vectors)
    lines = [".control", "set noaskquit", "set filetype=binary", *save_commands(vectors), "run",
             write, "quit", ".endc", ".end"]
    return "\n".join(lines) + "\n"


def netlist_sha256(netlist: str) -> str:
    """Hex sha256 of the netlist text (UTF-8) as given."""
    return hashlib.sha256(netlist.encode("utf-8")).hexdigest()
