"""``lim-hw bound``: the per-update LIM bound for a learning-rate schedule.

Performance Walls (Chakrabartty & Cauwenberghs, ISCAS 2023) Eqs. 1-7: for each
update n the barrier E0_n (Eq. 4, clamped at 0 when infeasible), the gradient
energy dE_n = -kT eps_n g_n^2 (Eqs. 5-6) and E_diss_n = E0_n + |dE_n|.

Without ``--config`` the schedule, R_max and T are the default device card's
(lim_hw/data/default_card.toml), so the numbers equal those of ``lim-hw run``;
flags override single values.

Examples::

    lim-hw bound                               # the default card: inverse schedule, 20 updates
    lim-hw bound --kind power --p 0.7 --n-updates 1000 --csv bound.csv --plot bound.png
    lim-hw bound --config schedule.toml --json
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError, one_line
from ..tomlfile import read_toml


#: flag dest -> ScheduleSpec field
_SCHEDULE_FLAGS = {"kind": "kind", "n_updates": "n_updates", "eps0": "eps0", "n0": "n0", "p": "p",
                   "gamma": "gamma", "alpha": "alpha", "grad": "grad", "table_csv": "table_csv"}
_DEVICE_KEYS = ("R_max_per_s", "T_K")
_TOP_KEYS = ("schedule", "device")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "bound", help="per-update LIM barrier/energy bound for a schedule (Performance Walls Eqs. 1-7)",
        description="Per-update LIM bound: barrier height E0 (Eq. 4), gradient energy dE = -kT eps g^2, "
                    "dissipated energy E0 + |dE|, feasibility, and totals, for a learning-rate "
                    "schedule with update rate R_n = R_max eps_n^(1+alpha).")
    g = p.add_argument_group("schedule (override --config values)")
    g.add_argument("--kind", choices=("inverse", "power", "exponential", "constant", "table"),
                   help="learning-rate schedule (default: the default card's, inverse: eps0/(1+(n-1)/n0))")
    g.add_argument("--n-updates", dest="n_updates", type=int, help="number of updates (default card: 20)")
    g.add_argument("--eps0", type=float, help="initial learning rate (default card: 0.2)")
    g.add_argument("--n0", type=float, help="inverse schedule time constant (default card: 5)")
    g.add_argument("--p", type=float, help="power schedule exponent: eps0 n^-p (default 1)")
    g.add_argument("--gamma", type=float, help="exponential schedule: eps0 gamma^(n-1) (default 0.9)")
    g.add_argument("--alpha", type=float, help="update-rate exponent, R = R_max eps^(1+alpha), 0<alpha<1 "
                                               "(default card: 0.5)")
    g.add_argument("--grad", type=float, help="gradient magnitude g (default 1)")
    g.add_argument("--table-csv", dest="table_csv", metavar="CSV",
                   help="kind=table: CSV with columns n, eps [, R_per_s, grad]")
    d = p.add_argument_group("device")
    d.add_argument("--R-max", dest="R_max", type=float, metavar="PER_S",
                   help="spontaneous transition rate R_max in 1/s (default: the default card's, 5e4)")
    d.add_argument("--T", dest="T", type=float, metavar="K", help="temperature in K (default card: 300)")
    p.add_argument("--config", metavar="FILE.toml",
                   help="TOML with a [schedule] table and optional [device] R_max_per_s, T_K, "
                        "or a whole device card (its schedule, R_max_per_s and T_K are used); "
                        "default: the built-in default card, as `lim-hw run` uses")
    o = p.add_argument_group("output")
    o.add_argument("--csv", metavar="FILE", help="write the per-update table as CSV (atomic)")
    o.add_argument("--json", action="store_true", help="print JSON (table, totals, versions) to stdout")
    o.add_argument("--plot", metavar="FILE.png", help="plot barrier height and update rate vs n")
    o.add_argument("--max-rows", dest="max_rows", type=int, default=60,
                   help="rows of the table printed before eliding the middle (default 60)")
    p.set_defaults(func=run)


# ----------------------------------------------------------------- helpers
def load_config(path: str | os.PathLike) -> tuple[dict, dict, Path]:
    """Read a bound config TOML -> (schedule dict, device dict, base dir). Strict keys."""
    path = Path(path)
    data, _ = read_toml(path, "config file")
    if set(data) - set(_TOP_KEYS) or set(data.get("device", {}) or {}) - set(_DEVICE_KEYS):
        from ..device.card import SECTIONS, card_from_dict

        if set(data) <= set(SECTIONS):  # a full device card: validate it as one, use its schedule
            card = card_from_dict(data, name=path.stem, base_dir=path.resolve().parent)
            return (card.schedule.to_dict(),
                    {"R_max_per_s": card.device.R_max_per_s, "T_K": card.device.T_K},
                    path.resolve().parent)
    unknown = sorted(set(data) - set(_TOP_KEYS))
    if unknown:
        raise InputError(f"unknown key(s) {', '.join(map(repr, unknown))} in {path}; allowed tables "
                         f"are [schedule] and [device]")
    sched = data.get("schedule", {})
    dev = data.get("device", {})
    for name, tab in (("schedule", sched), ("device", dev)):
        if not isinstance(tab, dict):
            raise InputError(f"'{name}' in {path} must be a table ([{name}]); write it as a TOML table")
    bad = sorted(set(dev) - set(_DEVICE_KEYS))
    if bad:
        raise InputError(f"unknown key(s) {', '.join(map(repr, bad))} in [device] of {path}; allowed "
                         f"keys are {', '.join(_DEVICE_KEYS)}")
    for k, v in dev.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise InputError(f"[device] {k} in {path} must be a number, got {v!r}")
    return dict(sched), dict(dev), path.resolve().parent


def _positive(name: str, v: Any) -> float:
    v = float(v)
    if not (math.isfinite(v) and v > 0):
        raise InputError(f"{name} is {v!r}; give a finite number > 0")
    return v


def resolve_inputs(args: argparse.Namespace):
    """Merge --config and flags -> (ScheduleSpec, R_max_per_s, T_K)."""
    from ..theory.schedules import ScheduleSpec

    base = Path.cwd()
    if getattr(args, "config", None):
        sched, dev, base = load_config(args.config)
    else:  # the default card's schedule and device, so the numbers equal `lim-hw run`'s
        from ..device.card import default_card

        card = default_card()
        sched = card.schedule.to_dict()
        dev = {"R_max_per_s": card.device.R_max_per_s, "T_K": card.device.T_K}
    flag_sched = {field: getattr(args, dest) for dest, field in _SCHEDULE_FLAGS.items()
                  if getattr(args, dest, None) is not None}
    if "table_csv" in flag_sched:
        flag_sched["table_csv"] = str(Path(flag_sched["table_csv"]).resolve())
        flag_sched.setdefault("kind", "table")
        if "n_updates" not in flag_sched:
            sched.pop("n_updates", None)  # the table's rows define the updates
    if flag_sched.get("kind", "table") != "table":
        sched.pop("table_csv", None)      # --kind overrides a config table
    sched.update(flag_sched)
    spec = ScheduleSpec.from_dict(sched, base_dir=base)
    if dev.keys() < {"R_max_per_s", "T_K"}:  # a config without [device] values: the default card's
        from ..device.card import default_card

        d = default_card().device
        dev = {"R_max_per_s": d.R_max_per_s, "T_K": d.T_K, **dev}
    R_max = args.R_max if args.R_max is not None else dev["R_max_per_s"]
    T = args.T if args.T is not None else dev["T_K"]
    return spec, _positive("R_max_per_s (--R-max)", R_max), _positive("T_K (--T)", T)


def jsonable(obj: Any) -> Any:
    """Recursively convert numpy scalars/arrays and non-finite floats (-> None) for strict JSON."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [jsonable(v) for v in obj.tolist()]
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer, int)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        f = float(obj)
        return f if math.isfinite(f) else None
    return obj


def df_records(df: pd.DataFrame) -> list[dict]:
    return [jsonable(r) for r in df.to_dict(orient="records")]


def check_output_path(path: str, what: str, suffixes: tuple[str, ...] | None = None) -> Path:
    """Fail early (before any output is written) on an output path that cannot work."""
    p = Path(path)
    if suffixes is not None and p.suffix.lower() not in suffixes:
        raise InputError(f"{what} file {path} must end in {' or '.join(suffixes)}; rename it")
    if p.exists() and p.is_dir():
        raise InputError(f"{what} path {path} is a directory; give a file name")
    parent = p.parent if str(p.parent) else Path(".")
    if parent.exists() and not os.access(parent, os.W_OK):
        raise InputError(f"cannot write {what} file {path}: folder not writable; choose another path")
    return p


def render_plot(df: pd.DataFrame, spec: Any, R_max: float, T_K: float, fmt: str = "png") -> bytes:
    """Barrier height and update-rate profiles vs n (log n), the shape of PW Fig. 3(b)."""
    import matplotlib

    from ..constants import kT_J

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(2, 1, sharex=True, figsize=(6.4, 6.0))
    n = df["n"].to_numpy()
    if len(n):
        ax1.loglog(n, df["R_per_s"] / R_max, label="target R_n / R_max")
        ax1.loglog(n, df["R_achieved_per_s"] / R_max, "--", label="achieved")
        ax1.loglog(n, df["eps"], ":", label="learning rate eps_n")
        ax2.semilogx(n, df["E0_kT"], label="barrier E0_n / kT (Eq. 4)")
        ax2.semilogx(n, df["E_diss_J"] / kT_J(T_K), "-.", label="E_diss_n / kT")
        bad = ~df["feasible"].to_numpy()
        if bad.any():
            ax2.semilogx(n[bad], df["E0_kT"].to_numpy()[bad], "rx", label="infeasible (E0 clamped at 0)")
    else:
        ax1.text(0.5, 0.5, "no updates", ha="center", transform=ax1.transAxes)
    ax1.set_ylabel("normalised rate")
    if len(n):
        ax1.legend(fontsize=8)
        ax2.legend(fontsize=8)
    ax1.set_title(f"LIM bound: {spec.kind} schedule, alpha={spec.alpha:g}, T={T_K:g} K")
    ax2.set_xlabel("update n")
    ax2.set_ylabel("energy / kT")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=120)
    plt.close(fig)
    return buf.getvalue()


def _fmt_table(df: pd.DataFrame, max_rows: int) -> str:
    cols = ["n", "eps", "R_per_s", "E0_J", "E0_kT", "dE_J", "E_diss_J", "feasible", "R_achieved_per_s"]
    show = df[cols]
    fmt = {c: (lambda v: f"{v:.4g}") for c in cols if c not in ("n", "feasible")}
    return show.to_string(index=False, formatters=fmt, max_rows=max(2, max_rows))


def _fmt_totals(tot: dict) -> str:
    lines = []
    for k, v in tot.items():
        if isinstance(v, float):
            v = f"{v:.6g}"
        lines.append(f"  {k:<24} {v}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from ..outputs import write_bytes_atomic, write_csv_atomic
    from ..provenance import versions
    from ..theory.schedules import robbins_monro
    from ..theory.table import bound_table, bound_totals

    spec, R_max, T = resolve_inputs(args)
    if args.csv:
        check_output_path(args.csv, "CSV")
    if args.plot:
        check_output_path(args.plot, "plot", (".png", ".pdf", ".svg"))
    df = bound_table(spec, R_max, T)
    tot = bound_totals(df, T)
    rm = robbins_monro(spec)
    png = render_plot(df, spec, R_max, T, Path(args.plot).suffix.lower()[1:]) if args.plot else None
    try:
        if args.csv:
            write_csv_atomic(args.csv, df)
        if png is not None:
            write_bytes_atomic(args.plot, png)
    except OSError as exc:
        raise InputError(f"cannot write output ({one_line(exc)}); choose a writable path") from None
    if args.json:
        out = {"command": "bound", "versions": versions(), "schedule": spec.to_dict(),
               "R_max_per_s": R_max, "T_K": T, "robbins_monro": rm, "totals": tot,
               "steps": df_records(df)}
        print(json.dumps(jsonable(out), indent=2, allow_nan=False))
        return 0
    print(f"LIM bound (Performance Walls Eqs. 1-7): {spec.kind} schedule, n_updates={spec.n_updates}, "
          f"R_max={R_max:g} 1/s, T={T:g} K")
    print(f"schedule: {spec.to_dict()}")
    if len(df):
        print(_fmt_table(df, args.max_rows))
    else:
        print("(no updates: empty table)")
    print("totals per parameter:")
    print(_fmt_totals(tot))
    print(f"Robbins-Monro: satisfied={rm['satisfied']} ({rm['note']})")
    if args.csv:
        print(f"wrote {args.csv}")
    if args.plot:
        print(f"wrote {args.plot}")
    return 0
