"""Sweep files: a base card, grid axes over card keys, and Monte Carlo device mismatch.

A sweep file is TOML (format in docs/sweeps.md, example in examples/sweeps/)::

    [sweep]
    name = "tox-scan"          # default: the file name without .toml
    card = "default"           # or a card path, relative to the sweep file
    analysis = "flow"          # "flow" (ngspice, one run_flow per point) or "bound" (theory only)
    testbench = "cell"         # "cell", "synapse" or "array" (then array = "ROWSxCOLS")
    write_waveforms = false    # waveforms.raw in every point directory
    point_plots = false        # PNG plots and report.html in every point directory

    [set]                      # fixed overrides of the base card, "section.key" = value
    "schedule.n_updates" = 3

    [grid]                     # full factorial, first axis slowest
    "device.tox_m" = [11e-9, 12e-9, 13e-9]
    "programming.R_drv_ohm" = {start = 1e4, stop = 1e6, num = 3, log = true}

    [montecarlo]               # per-cell mismatch, n samples at every grid point
    n = 20
    seed = 1
    tox_m = {dist = "normal", sigma_rel = 0.01}
    area_m2 = {dist = "lognormal", sigma_ln = 0.05}

Points are numbered grid-major: ``index = grid_index * n_mc + sample``.
Sample ``s`` draws from its own stream ``SeedSequence([seed, s, param_id])``,
so a sample does not depend on ``n``, on the other parameter or on the grid
point: every grid point sees the same standard variates (common random
numbers), scaled to its own nominal value.

Everything is validated when the file is loaded; problems raise
:class:`lim_hw.errors.InputError` with a one-line message. A grid combination
that makes an invalid card (e.g. ``C_c_F + C_j_F > C_T_F``) becomes a failed
point, unless every combination with that axis value fails, which is reported
as an input error (a typo such as ``tox_m = 12`` stops the sweep up front).
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ..checks import checked_number
from ..device.card import Card, card_to_dict, default_card, load_card
from ..errors import InputError, one_line
from ..tech import technology_for
from ..tomlfile import read_toml

ANALYSES = ("flow", "bound")
TESTBENCHES = ("cell", "synapse", "array")
#: Per-cell mismatch parameters (what ``array_testbench`` can vary per cell) and their stream ids.
MISMATCH_PARAMS = {"tox_m": 0, "area_m2": 1}
DISTRIBUTIONS = {
    "normal": ({"sigma", "sigma_rel"}, {"mean"}),
    "lognormal": ({"sigma_ln"}, {"median"}),
    "uniform": ({"low", "high", "half_width_rel"}, set()),
}
MAX_POINTS = 1_000_000
#: Stream id of the PDK mismatch seeds (apart from the lim-hw parameters' ids above).
PDK_SEED_STREAM = 1000
_ARRAY_RE = re.compile(r"([1-9][0-9]{0,3})x([1-9][0-9]{0,3})")

Cell = tuple[int, int, str]
Mismatch = dict[Cell, dict[str, float]]


@dataclass(frozen=True)
class Axis:
    """One grid axis: a card key ``section.field`` and its values (in file order)."""

    key: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Distribution:
    """Distribution of one mismatch parameter; ``nominal`` is the point's card value.

    - ``normal``: ``mean`` (default nominal) + ``sigma`` (absolute, SI) or ``sigma_rel * nominal``;
    - ``lognormal``: ``median`` (default nominal) * exp(``sigma_ln`` * z);
    - ``uniform``: on [``low``, ``high``] (absolute) or nominal * [1 - h, 1 + h] with ``h = half_width_rel``.
    """

    param: str
    dist: str
    args: tuple[tuple[str, float], ...]

    def sample(self, rng: np.random.Generator, size: int, nominal: float) -> np.ndarray:
        a = dict(self.args)
        if self.dist == "uniform":
            u = rng.random(size)
            if "half_width_rel" in a:
                lo, hi = nominal * (1 - a["half_width_rel"]), nominal * (1 + a["half_width_rel"])
            else:
                lo, hi = a["low"], a["high"]
            return lo + (hi - lo) * u
        z = rng.standard_normal(size)
        if self.dist == "normal":
            sigma = a["sigma"] if "sigma" in a else a["sigma_rel"] * nominal
            return a.get("mean", nominal) + sigma * z
        return a.get("median", nominal) * np.exp(a["sigma_ln"] * z)


@dataclass(frozen=True)
class MonteCarlo:
    """``n`` mismatch samples from ``seed``; one :class:`Distribution` per varied parameter."""

    n: int
    seed: int
    dists: tuple[Distribution, ...]


@dataclass(frozen=True)
class Point:
    """One point of a sweep: grid values, Monte Carlo sample, the card (or why there is none).

    ``mismatch`` maps ``(row, col, half)`` to per-cell ``tox_m``/``area_m2`` (None without
    Monte Carlo). ``error`` is set, and ``card`` None, when the point's card is invalid.
    """

    index: int
    grid: tuple[tuple[str, Any], ...]
    sample: int | None
    card: Card | None
    mismatch: Mismatch | None = None
    error: str = ""

    def axis_values(self) -> dict[str, Any]:
        """Table columns describing the point: grid values, sample number, mismatch mean/std."""
        out: dict[str, Any] = dict(self.grid)
        if self.sample is not None:
            out["mc.sample"] = self.sample
            if self.card is not None and self.card.technology.mismatch:
                out["mc.pdk_seed"] = self.card.technology.seed
            for param in MISMATCH_PARAMS:
                vals = [v[param] for v in (self.mismatch or {}).values() if param in v]
                if vals:
                    out[f"mc.{param}_mean"] = float(np.mean(vals))
                    out[f"mc.{param}_std"] = float(np.std(vals))
        return out


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep (see the module docstring). Build with :func:`load_sweep` or :func:`sweep_from_dict`."""

    name: str
    base: Card
    base_ref: str
    analysis: str = "flow"
    testbench: str = "cell"
    array: tuple[int, int] | None = None
    write_waveforms: bool = False
    point_plots: bool = False
    set_values: tuple[tuple[str, Any], ...] = ()
    grid: tuple[Axis, ...] = ()
    montecarlo: MonteCarlo | None = None
    text: str = ""

    @property
    def n_grid(self) -> int:
        return math.prod(len(a.values) for a in self.grid)

    @property
    def n_points(self) -> int:
        return self.n_grid * (self.montecarlo.n if self.montecarlo else 1)

    def cells(self) -> list[Cell]:
        """The cells that get mismatch, in sampling order."""
        if self.testbench == "cell":
            return [(0, 0, "p")]
        rows, cols = self.array or (1, 1)
        return [(r, c, h) for r in range(rows) for c in range(cols) for h in ("p", "m")]

    def points(self) -> list[Point]:
        """Every point, in index order (grid-major, sample fastest)."""
        return list(_points(self))


def load_sweep(path: str | Path) -> SweepSpec:
    """Read and validate a sweep file; the base card path is relative to the file."""
    path = Path(path)
    data, text = read_toml(path, "sweep file")
    return sweep_from_dict(data, base_dir=path.parent, default_name=path.stem, text=text)


def sweep_from_dict(data: Mapping[str, Any], base_dir: Path | None = None, default_name: str = "sweep",
                    text: str = "") -> SweepSpec:
    """Validate a parsed sweep mapping (tables ``sweep``, ``set``, ``grid``, ``montecarlo``)."""
    _only(data, ("sweep", "set", "grid", "montecarlo"), "sweep file", "table")
    head = _table(data, "sweep")
    _only(head, ("name", "card", "analysis", "testbench", "array", "write_waveforms", "point_plots"), "[sweep]")
    name = _string(head.get("name", default_name), "[sweep] name")
    if not re.fullmatch(r"[A-Za-z0-9_.+-]{1,80}", name):
        raise InputError(f"[sweep] name {name!r} may hold only letters, digits and _ . + - (1-80 characters)")
    base_ref = _string(head.get("card", "default"), "[sweep] card")
    base = _base_card(base_ref, base_dir)
    analysis = _choice(head.get("analysis", "flow"), ANALYSES, "[sweep] analysis")
    testbench = _choice(head.get("testbench", "cell"), TESTBENCHES, "[sweep] testbench")
    array = None
    if testbench == "array":
        if "array" not in head:
            raise InputError('[sweep] testbench = "array" needs array = "ROWSxCOLS", e.g. array = "2x2"')
        m = _ARRAY_RE.fullmatch(str(head["array"]).strip().lower())
        if not m:
            raise InputError(f'[sweep] array = {head["array"]!r} is not "ROWSxCOLS"; write e.g. array = "4x4"')
        array = (int(m.group(1)), int(m.group(2)))
    elif "array" in head:
        raise InputError('[sweep] array is only used with testbench = "array"; remove it or set the testbench')
    waves = head.get("write_waveforms", False)
    if not isinstance(waves, bool):
        raise InputError(f"[sweep] write_waveforms must be true or false, got {waves!r}")
    point_plots = head.get("point_plots", False)
    if not isinstance(point_plots, bool):
        raise InputError(f"[sweep] point_plots must be true or false, got {point_plots!r}")

    fixed = _flatten(_table(data, "set"), "[set]")
    for key, value in fixed.items():
        _check_key(key, base, "[set]")
        _check_scalar(value, f"[set] {key!r}")
    if fixed:
        base = _apply(base, fixed, "[set]")

    grid = tuple(_axis(key, vals, base) for key, vals in _flatten(_table(data, "grid"), "[grid]").items())
    mc = _montecarlo(_table(data, "montecarlo"), _pdk_mismatch(base, grid)) if "montecarlo" in data else None
    if mc is not None:
        if analysis != "flow":
            raise InputError('[montecarlo] mismatch needs analysis = "flow" (the bound does not see it); '
                             "remove [montecarlo] or set analysis")
        if testbench == "synapse":
            raise InputError('[montecarlo] cannot vary the two halves of testbench = "synapse" separately; '
                             'use testbench = "array" with array = "1x1"')
    if analysis == "bound" and testbench != "cell":
        raise InputError('[sweep] analysis = "bound" has no testbench; leave testbench at "cell"')
    spec = SweepSpec(name=name, base=base, base_ref=base_ref, analysis=analysis, testbench=testbench,
                     array=array, write_waveforms=waves, point_plots=point_plots, set_values=tuple(fixed.items()), grid=grid,
                     montecarlo=mc, text=text)
    if spec.n_points > MAX_POINTS:
        raise InputError(f"the sweep has {spec.n_points} points, more than {MAX_POINTS}; split it")
    _check_axis_values(spec)
    return spec


def pdk_seed(mc: MonteCarlo, sample: int) -> int:
    """The ngspice seed of Monte Carlo sample ``sample`` on a PDK mismatch (``_mm``) corner: its own stream."""
    return int(np.random.SeedSequence([mc.seed, sample, PDK_SEED_STREAM]).generate_state(1)[0] % (2**31 - 2)) + 1


def sample_mismatch(card: Card, cells: Sequence[Cell], mc: MonteCarlo, sample: int) -> Mismatch:
    """Per-cell mismatch of Monte Carlo sample ``sample`` around ``card``'s nominal values.

    Raises InputError if a drawn value is not positive and finite.
    """
    out: Mismatch = {cell: {} for cell in cells}
    nominal = technology_for(card).nominal_device(card) if mc.dists else card.device  # sky130: tox from the model
    for d in mc.dists:
        rng = np.random.default_rng(np.random.SeedSequence([mc.seed, sample, MISMATCH_PARAMS[d.param]]))
        values = d.sample(rng, len(cells), float(getattr(nominal, d.param)))
        for cell, v in zip(cells, values):
            if not (math.isfinite(v) and v > 0):
                raise InputError(f"Monte Carlo sample {sample} drew {d.param} = {v:g} for cell {cell}; "
                                 "narrow the distribution so every value is positive")
            out[cell][d.param] = float(v)
    return out


# --- building points ---------------------------------------------------------------

def _points(spec: SweepSpec):
    cells = spec.cells()
    combos = itertools.product(*(a.values for a in spec.grid)) if spec.grid else [()]
    n_mc = spec.montecarlo.n if spec.montecarlo else 1
    for g, combo in enumerate(combos):
        grid = tuple(zip((a.key for a in spec.grid), combo))
        card, error = None, ""
        try:
            card = _apply(spec.base, dict(grid), "[grid]")
        except InputError as exc:
            error = f"InputError: {one_line(exc)}"
        for s in range(n_mc):
            index = g * n_mc + s
            if spec.montecarlo is None:
                yield Point(index, grid, None, card, None, error)
                continue
            mismatch, err, card_s = None, error, card
            if card is not None:
                try:
                    if card.technology.mismatch:  # the PDK's own mismatch: a seed of its own per sample
                        card_s = card.with_updates(technology={"seed": pdk_seed(spec.montecarlo, s)})
                    mismatch = sample_mismatch(card, cells, spec.montecarlo, s) if spec.montecarlo.dists else None
                except InputError as exc:
                    err = f"InputError: {one_line(exc)}"
            yield Point(index, grid, s, card_s if not err else None, mismatch, err)


def _check_axis_values(spec: SweepSpec) -> None:
    """InputError if every grid combination holding some axis value is an invalid card."""
    if not spec.grid:
        return
    ok: dict[tuple[str, int], bool] = {}
    first_error: dict[tuple[str, int], str] = {}
    for combo in itertools.product(*(range(len(a.values)) for a in spec.grid)):
        grid = {a.key: a.values[i] for a, i in zip(spec.grid, combo)}
        try:
            _apply(spec.base, grid, "[grid]")
            good, msg = True, ""
        except InputError as exc:
            good, msg = False, one_line(exc)
        for a, i in zip(spec.grid, combo):
            ok[(a.key, i)] = ok.get((a.key, i), False) or good
            first_error.setdefault((a.key, i), msg)
        if spec.n_grid > 2000:  # large grids: only check that the first combination is valid
            if not good:
                raise InputError(f"[grid] the first combination is not a valid card: {msg}")
            return
    for (key, i), good in ok.items():
        if not good:
            axis = next(a for a in spec.grid if a.key == key)
            raise InputError(f"[grid] {key!r} = {axis.values[i]!r} gives no valid card with any other axis "
                             f"value: {first_error[(key, i)]}")


def _pdk_mismatch(base: Card, grid: Sequence[Axis]) -> bool:
    """True if the base card or a grid value selects a PDK mismatch corner (``*_mm``): then [montecarlo]
    may vary nothing of lim-hw's own and sample the PDK's mismatch through its seed alone."""
    corners = [v for a in grid if a.key == "technology.corner" for v in a.values]
    return base.technology.mismatch or any(str(c).endswith("_mm") for c in corners)


def _apply(card: Card, flat: Mapping[str, Any], where: str) -> Card:
    sections: dict[str, dict[str, Any]] = {}
    for key, value in flat.items():
        sec, field_ = key.split(".", 1)
        sections.setdefault(sec, {})[field_] = value
    try:
        return card.with_updates(**sections)
    except InputError as exc:
        raise InputError(f"{where} {one_line(exc)}") from None


# --- validation helpers -----------------------------------------------------------

def _base_card(ref: str, base_dir: Path | None) -> Card:
    if ref == "default":
        return default_card()
    path = Path(ref).expanduser()
    if base_dir is not None and not path.is_absolute():
        path = base_dir / path
    return load_card(path)


def _table(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, Mapping):
        raise InputError(f"[{name}] must be a TOML table, got {value!r}")
    return value


def _only(d: Mapping[str, Any], allowed: Sequence[str], where: str, what: str = "key") -> None:
    for key in d:
        if key not in allowed:
            raise InputError(f"unknown {what} {key!r} in {where}; allowed: {', '.join(allowed)}")


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise InputError(f"{where} must be a non-empty string, got {value!r}")
    return value


def _choice(value: Any, choices: Sequence[str], where: str) -> str:
    if value not in choices:
        raise InputError(f"{where} = {value!r} is not one of {', '.join(choices)}")
    return value


def _flatten(d: Mapping[str, Any], where: str, prefix: str = "") -> dict[str, Any]:
    """``{"device": {"tox_m": x}}`` and ``{"device.tox_m": x}`` both give ``{"device.tox_m": x}``."""
    out: dict[str, Any] = {}
    for key, value in d.items():
        full = f"{prefix}{key}"
        if isinstance(value, Mapping) and "." not in full and not _is_range(value):
            out.update(_flatten(value, where, full + "."))
        else:
            if full in out:
                raise InputError(f"{where} gives {full!r} twice; keep one")
            out[full] = value
    return out


def _is_range(value: Mapping[str, Any]) -> bool:
    return "start" in value or "stop" in value or "num" in value


def _keys_of(card: Card) -> dict[str, dict[str, Any]]:
    """Every card key a sweep may set: the card's tables, with all ``technology`` keys even on an ideal card."""
    d = card_to_dict(card)
    if "technology" not in d:
        d["technology"] = {f.name: getattr(card.technology, f.name) for f in fields(card.technology)}
    return d


def _check_key(key: str, card: Card, where: str) -> None:
    d = _keys_of(card)
    parts = key.split(".")
    if len(parts) != 2 or parts[0] not in d or parts[1] not in d[parts[0]]:
        sections = ", ".join(d)
        raise InputError(f"{where} key {key!r} is not a card key; write \"section.key\" with section one of "
                         f"{sections} (e.g. \"device.tox_m\")")


def _check_scalar(value: Any, where: str) -> Any:
    if not isinstance(value, (bool, int, float, str)):  # booleans: card switches such as technology.read
        raise InputError(f"{where} must be a number, a string or true/false, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(f"{where} is {value}; give a finite number")
    return value


def _axis(key: str, spec: Any, base: Card) -> Axis:
    where = f"[grid] {key!r}"
    _check_key(key, base, "[grid]")
    if isinstance(spec, Mapping):
        values = _range(spec, where)
    elif isinstance(spec, list):
        values = list(spec)
    else:
        raise InputError(f"{where} must be a list of values or {{start, stop, num[, log]}}, got {spec!r}")
    if not values:
        raise InputError(f"{where} has no values; give at least one")
    for v in values:
        _check_scalar(v, f"{where} value {v!r}")
    sec, field_ = key.split(".")
    base_value = _keys_of(base)[sec][field_]
    if isinstance(base_value, str) != any(isinstance(v, str) for v in values) or \
            len({isinstance(v, str) for v in values}) > 1:
        kind = "strings" if isinstance(base_value, str) else "numbers"
        raise InputError(f"{where} values must all be {kind} (like the card value {base_value!r})")
    if len(set(values)) != len(values):
        raise InputError(f"{where} repeats a value; list each value once")
    return Axis(key, tuple(values))


def _range(spec: Mapping[str, Any], where: str) -> list[float]:
    _only(spec, ("start", "stop", "num", "log"), where)
    for k in ("start", "stop", "num"):
        if k not in spec:
            raise InputError(f"{where} range needs start, stop and num; {k} is missing")
    start, stop = (checked_number(spec[k], f"{where} {k}") for k in ("start", "stop"))
    num = spec["num"]
    if isinstance(num, bool) or not isinstance(num, int) or not 1 <= num <= 100_000:
        raise InputError(f"{where} num must be an integer 1..100000, got {num!r}")
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise InputError(f"{where} log must be true or false, got {log!r}")
    if log:
        if start <= 0 or stop <= 0:
            raise InputError(f"{where} log range needs positive start and stop")
        return [float(v) for v in np.geomspace(start, stop, num)]
    return [float(v) for v in np.linspace(start, stop, num)]


def _montecarlo(d: Mapping[str, Any], pdk_mismatch: bool = False) -> MonteCarlo:
    allowed = ("n", "seed", *MISMATCH_PARAMS)
    _only(d, allowed, "[montecarlo]")
    for k in ("n", "seed"):
        if k not in d:
            raise InputError(f"[montecarlo] needs {k} (n samples from an integer seed, e.g. n = 20, seed = 1)")
    n, seed = d["n"], d["seed"]
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_POINTS:
        raise InputError(f"[montecarlo] n must be an integer 1..{MAX_POINTS}, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InputError(f"[montecarlo] seed must be a non-negative integer, got {seed!r}")
    dists = tuple(_distribution(p, d[p]) for p in MISMATCH_PARAMS if p in d)
    if not dists and not pdk_mismatch:
        raise InputError(f"[montecarlo] varies nothing; add e.g. tox_m = {{dist = \"normal\", sigma_rel = 0.01}} "
                         f"(parameters: {', '.join(MISMATCH_PARAMS)}), or give a sky130 card a PDK mismatch corner "
                         "(corner = \"tt_mm\") to sample the PDK's own mismatch")
    return MonteCarlo(n=n, seed=seed, dists=dists)


def _distribution(param: str, d: Any) -> Distribution:
    where = f"[montecarlo] {param}"
    if not isinstance(d, Mapping):
        raise InputError(f"{where} must be a table like {{dist = \"normal\", sigma_rel = 0.01}}, got {d!r}")
    dist = d.get("dist")
    if dist not in DISTRIBUTIONS:
        raise InputError(f"{where} dist = {dist!r} is not one of {', '.join(DISTRIBUTIONS)}")
    scale, optional = DISTRIBUTIONS[dist]
    _only(d, ("dist", *sorted(scale), *sorted(optional)), f"{where} ({dist})")
    args: dict[str, float] = {}
    for k, v in d.items():
        if k != "dist":
            args[k] = checked_number(v, f"{where} {k}", nonneg=k in ("sigma", "sigma_rel", "sigma_ln",
                                                            "half_width_rel"),
                              positive=k in ("mean", "median", "low", "high"))
    given = set(args) & scale
    if dist == "normal" and len(given) != 1:
        raise InputError(f"{where} normal needs exactly one of sigma (absolute, SI) or sigma_rel (relative)")
    if dist == "lognormal" and "sigma_ln" not in args:
        raise InputError(f"{where} lognormal needs sigma_ln (standard deviation of the log)")
    if dist == "uniform":
        if given == {"half_width_rel"}:
            if args["half_width_rel"] >= 1:
                raise InputError(f"{where} half_width_rel must be < 1 so every value stays positive")
        elif given == {"low", "high"}:
            if args["low"] >= args["high"]:
                raise InputError(f"{where} uniform needs low < high")
        else:
            raise InputError(f"{where} uniform needs low and high (absolute) or half_width_rel (relative)")
    return Distribution(param=param, dist=dist, args=tuple(sorted(args.items())))
