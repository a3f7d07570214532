"""Typed simulation failures, and reading them out of an ngspice log.

Every error is a :class:`lim_hw.errors.LimHwError` (the CLI prints it and exits 2).
The message is one line: what went wrong, the offending ngspice log line, and a hint.
The full log is kept on the exception as ``.log`` for whoever wants more.

ngspice does not report failures reliably through its exit status: ``ngspice -b``
returns 0 after "Timestep too small" (and writes a partial raw file), and the shared
library returns 0 from every call. So :func:`error_from_log` reads the log itself.
"""

from __future__ import annotations

import re

from lim_hw.errors import LimHwError, one_line

INSTALL_HINT = ("install ngspice (Debian/Ubuntu: apt-get install ngspice libngspice0-dev, "
                "or `make install`)")


class SimulationError(LimHwError):
    """A simulation did not produce the requested waveforms.

    Attributes: ``log`` (the captured ngspice output, possibly empty) and
    ``line`` (the offending log line, or ``""``).
    """

    def __init__(self, message: str, *, log: str = "", line: str = "") -> None:
        super().__init__(one_line(message))
        self.log = log
        self.line = line


class NgspiceNotFoundError(SimulationError):
    """The ngspice binary (batch engine) or libngspice/PySpice (shared engine) is missing."""


class NetlistError(SimulationError):
    """ngspice rejected the netlist: unknown element, model or subcircuit; syntax error."""


class UnknownVectorError(NetlistError):
    """A requested vector does not exist in the simulated circuit."""


class ConvergenceError(SimulationError):
    """The operating point or the transient did not converge (e.g. timestep too small)."""


class SimulationTimeoutError(SimulationError):
    """ngspice ran longer than ``timeout_s`` and was killed."""


class RawFileError(SimulationError):
    """The raw file ngspice wrote is missing, truncated or of an unsupported kind."""


# --- reading failures out of a log ------------------------------------------------

_I = re.IGNORECASE

# A log shows a failed run if any line matches one of these (anchored where a node or
# title containing the word "error" could otherwise fire them).
_FATAL = [re.compile(p, _I) for p in (
    r"^\s*error\s*:", r"^\s*pterror", r"error on line", r"simulation interrupted due to error",
    r"run simulation\(s\) aborted", r"^\s*doanalyses:", r"timestep too small",
    r"transient solution failed", r"warning from checkvalid", r"no such vector",
    r"circuit not parsed", r"unknown subckt",
)]

_NETLIST = [re.compile(p, _I) for p in (  # most telling first
    r"error on line", r"^\s*error:.*(?:subckt|model|include|device|parameter)",
    r"unknown subckt", r"could not find a valid modelname",
    r"unable to find definition of model", r"can't find model", r"could not find include file",
    r"syntax error", r"unknown device", r"unknown model", r"circuit not parsed",
    r"device already exists", r"there aren't any circuits loaded", r"no such function",
    r"undefined (?:parameter|function|subckt|model)", r"too few (?:parameters|nodes)",
)]

_CONVERGENCE = [re.compile(p, _I) for p in (
    r"timestep too small", r"singular matrix", r"gmin stepping failed", r"source stepping failed",
    r"no convergence", r"transient solution failed", r"transient op failed",
    r"iteration limit", r"too many iterations",
)]

_VECTOR = [re.compile(p, _I) for p in (
    r"checkvalid: vector (\S+) is not available", r"no such vector (\S+)",
    r"vector (\S+) not found",
)]

_HINT_TIMESTEP = ("loosen .options reltol/abstol/chgtol (or use method=gear), add a large "
                  "shunt resistor (e.g. 1e15 ohm) to floating nodes, check the .ic values and "
                  "`.tran ... uic`, and smooth discontinuous B-source expressions")
_HINT_SINGULAR = ("a node has no DC path to ground (a floating gate?) or voltage sources "
                  "form a loop: give `.ic v(node)=...` with `.tran ... uic`, or add a large "
                  "shunt resistor")
_HINT_OP = ("the operating point failed: give initial conditions (.ic/.nodeset) and "
            "`.tran ... uic`, or add shunt resistors to floating nodes")
_HINT_NETLIST = ("check the element, model and subcircuit names and the .include/.lib paths "
                 "in the netlist")
_HINT_VECTOR = ("request only nodes, sources and device parameters that exist in the netlist "
                "(names are lower case; nodes inside subcircuits are v(x1.node))")


def clean_log(text: str) -> str:
    """Drop ngspice's carriage-return progress lines ("Reference value : ...") from a log."""
    if "\r" not in text and "Reference value" not in text:
        return text
    parts = re.split(r"\r\n?|\n", text)
    return "\n".join(p for p in parts if not p.lstrip().startswith("Reference value"))


def _first(lines: list[str], patterns: list[re.Pattern]) -> tuple[int, re.Match] | None:
    """(index, match) of the first line matching the earliest pattern in ``patterns``."""
    for pat in patterns:
        for k, line in enumerate(lines):
            m = pat.search(line)
            if m:
                return k, m
    return None


def _netlist_line(lines: list[str], k: int) -> str:
    """The log line k, with the netlist line and reason that follow "Error on line N"."""
    line = lines[k].strip()
    if re.search(r"error on line", line, _I):
        rest = [s.strip() for s in lines[k + 1:k + 3] if s.strip()]
        line = " ".join([line] + rest)
    return line


_MODEL_LINE = re.compile(r"^\s*(m\S*)\s.*?\s(\S+__model)\s.*?\bl=\s*(\S+)\s+w=\s*(\S+)", _I)


def model_bin_error(lines: list[str], log: str) -> NetlistError | None:
    """ngspice's "could not find a valid modelname" (a W/L outside every bin of a binned model) as one line.

    Names the instance, the model and the size (as ngspice got it, after ``.option scale``
    the PDK's micrometres); the valid range is the model's lmin..lmax, wmin..wmax.
    """
    if not any("could not find a valid modelname" in s.lower() for s in lines):
        return None
    for s in lines:
        m = _MODEL_LINE.search(s)
        if m:
            inst, model, l_, w_ = m.groups()
            try:
                size = f"W = {float(w_):.4g}, L = {float(l_):.4g} (netlist units, um for sky130)"
            except ValueError:
                size = f"W = {w_}, L = {l_}"
            msg = (f"ngspice has no model bin for {model} at {size} in instance {inst} -- hint: choose W and L "
                   "inside the model's lmin..lmax and wmin..wmax bins (sky130 g5v0d10v5: W 0.42..100 um, "
                   "L 0.5..100 um)")
            return NetlistError(msg, log=log, line=s.strip())
    return None


def error_from_log(log: str, returncode: int | None = 0) -> SimulationError | None:
    """The error an ngspice log (and exit status) shows, or ``None`` if the run looks fine.

    Order: netlist errors (ngspice stops before simulating), then convergence failures,
    then missing vectors, then any other error line or a non-zero exit status.
    """
    # The "Circuit: <title>" echo is the user's text, not ngspice's verdict.
    lines = [s for s in log.splitlines() if s.strip() and not s.lstrip().startswith("Circuit:")]
    fatal = _first(lines, _FATAL)
    if fatal is None and not returncode:
        return None

    binned = model_bin_error(lines, log)
    if binned is not None:
        return binned
    hit = _first(lines, _NETLIST)
    if hit is not None:
        line = _netlist_line(lines, hit[0])
        return NetlistError(f"ngspice rejected the netlist: {line} -- hint: {_HINT_NETLIST}",
                            log=log, line=line)

    hit = _first(lines, _CONVERGENCE)
    if hit is not None and fatal is not None:
        # Prefer the "Timestep too small ... trouble with node" line; name a singular node too.
        tts = _first(lines, [re.compile(r"doanalyses:.*timestep too small", _I),
                             re.compile(r"timestep too small", _I)])
        k = tts[0] if tts is not None else hit[0]
        line = lines[k].strip()
        sing = _first(lines, [re.compile(r"singular matrix:?\s*check node (\S+)", _I)])
        if sing is not None:
            hint = _HINT_SINGULAR
            line += f" (singular matrix at node {sing[1].group(1)})"
        elif re.search(r"stepping failed|op failed|initial timepoint", log, _I):
            hint = _HINT_OP
        else:
            hint = _HINT_TIMESTEP
        return ConvergenceError(f"ngspice did not converge: {line} -- hint: {hint}",
                                log=log, line=line)

    hit = _first(lines, _VECTOR)
    if hit is not None:
        line = lines[hit[0]].strip()
        return UnknownVectorError(f"ngspice has no vector {hit[1].group(1)}: {line} -- "
                                  f"hint: {_HINT_VECTOR}", log=log, line=line)

    if fatal is not None:
        line = lines[fatal[0]].strip()
        return SimulationError(f"ngspice reported an error: {line} -- hint: read the ngspice "
                               "log (exception attribute .log)", log=log, line=line)
    last = lines[-1].strip() if lines else "(no output)"
    how = (f"was killed by signal {-returncode}" if returncode < 0
           else f"exited with status {returncode}")
    return SimulationError(f"ngspice {how}; last log line: {last} -- hint: run the deck by hand "
                           "with `ngspice -b` to see the full output", log=log, line=last)
