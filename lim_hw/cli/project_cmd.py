"""``lim-hw project``: brain-scale training-energy projection, LIM vs Landauer vs conventional.

RECONSTRUCTION of the projections of arXiv:2402.14878 (see
:mod:`lim_hw.theory.projection`). Defaults: 1e15 parameters, 1e28 operations,
8-32 bits, 300 K, conventional 10, 1 and 0.1 pJ per operation.

Examples::

    lim-hw project
    lim-hw project --bits-min 8 --bits-max 16 --pJ-per-op 10 --json
    lim-hw project --params 1e12 --ops 1e24 --csv projection.csv
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from ..output_paths import output_path
from ..errors import InputError, one_line
from .bound_cmd import check_output_path, df_records, jsonable


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "project", help="brain-scale training-energy projection: LIM vs Landauer vs conventional",
        description="Training-energy projection (reconstruction of arXiv:2402.14878): compute x "
                    "precision x per-bit energy (kT ln 2 by default), model size x LIM_A schedule, "
                    "Landauer, and conventional energy per operation.")
    p.add_argument("--params", type=float, default=1e15, help="model parameters (default 1e15)")
    p.add_argument("--ops", type=float, default=1e28, help="training operations (default 1e28)")
    p.add_argument("--bits-min", dest="bits_min", type=int, default=8, help="lowest precision, bits (default 8)")
    p.add_argument("--bits-max", dest="bits_max", type=int, default=32, help="highest precision, bits (default 32)")
    p.add_argument("--T", dest="T", type=float, default=300.0, metavar="K", help="temperature in K (default 300)")
    p.add_argument("--pJ-per-op", dest="pJ_per_op", type=float, nargs="+", default=[10.0, 1.0, 0.1],
                   metavar="PJ", help="conventional energy per operation in pJ (default 10 1 0.1)")
    p.add_argument("--E-bit-J", dest="E_bit_J", type=float, default=None,
                   help="LIM energy per bit in J for the compute projection (default kT ln 2)")
    p.add_argument("--updates-per-param", dest="updates_per_param", type=float, default=None,
                   help="updates per parameter for the schedule projection (default ops/params)")
    p.add_argument("--R-max", dest="R_max", type=float, default=1e6, metavar="PER_S",
                   help="R_max in 1/s for the schedule projection (default 1e6; the barrier does not "
                        "depend on it when R_n = R_max eps_n^(1+alpha))")
    p.add_argument("--csv", metavar="FILE", type=output_path, help="write the projection table as CSV (atomic)")
    p.add_argument("--json", action="store_true", help="print JSON (table, summary, versions) to stdout")
    p.set_defaults(func=run)


def _finite(name: str, v: Any) -> None:
    if v is not None and not math.isfinite(v):
        raise InputError(f"{name} is {v!r}; give a finite number")


def run(args: argparse.Namespace) -> int:
    from ..outputs import csv_text, write_files_atomic
    from ..provenance import versions
    from ..theory.projection import brain_scale_summary, brain_scale_table

    for name in ("params", "ops", "T", "E_bit_J", "updates_per_param", "R_max"):
        _finite(f"--{name.replace('_', '-')}", getattr(args, name))
    for v in args.pJ_per_op:
        _finite("--pJ-per-op", v)
    if args.updates_per_param is not None and args.updates_per_param < 0:
        raise InputError(f"--updates-per-param is {args.updates_per_param!r}; give a number >= 0")
    if args.csv:
        check_output_path(args.csv, "--csv")
    df = brain_scale_table(n_params=args.params, n_ops=args.ops, bits_min=args.bits_min,
                           bits_max=args.bits_max, T_K=args.T, pJ_per_op=tuple(args.pJ_per_op),
                           E_bit_J=args.E_bit_J, R_max_per_s=args.R_max,
                           updates_per_param=args.updates_per_param)
    summary = brain_scale_summary(df)
    if args.csv:
        try:
            write_files_atomic({Path(args.csv): csv_text(df)})
        except OSError as exc:
            raise InputError(f"cannot write {args.csv} ({one_line(exc)}); choose a writable path") from None
    if args.json:
        out = {"command": "project", "versions": versions(), "reconstruction": "arXiv:2402.14878",
               "inputs": {"n_params": args.params, "n_ops": args.ops, "bits_min": args.bits_min,
                          "bits_max": args.bits_max, "T_K": args.T, "pJ_per_op": args.pJ_per_op,
                          "E_bit_J": args.E_bit_J, "R_max_per_s": args.R_max,
                          "updates_per_param": args.updates_per_param},
               "summary": summary, "table": df_records(df)}
        print(json.dumps(jsonable(out), indent=2, allow_nan=False))
        return 0
    print(f"Training-energy projection (reconstruction of arXiv:2402.14878): {args.params:g} parameters, "
          f"{args.ops:g} operations, T={args.T:g} K")
    fmt = {"bits": "{:.0f}".format, "count": "{:.3g}".format,
           "per_unit_J": "{:.4g}".format, "E_J": "{:.4g}".format, "ratio_to_LIM": "{:.3g}".format}
    print(df.drop(columns=["premise"]).to_string(index=False, formatters=fmt, na_rep="-"))
    print(f"LIM (compute x precision): {summary['LIM_compute_min_J']:.3g} - "
          f"{summary['LIM_compute_max_J']:.3g} J; LIM (params x schedule): {summary['LIM_schedule_J']:.3g} J "
          f"({summary['schedule_energy_per_update_kT']:.3g} kT per update; "
          f"{summary['schedule_over_compute_min']:.3g}x the 8-bit compute figure)")
    if summary["LIM_compute_equals_Landauer_by_construction"]:
        print("note: the LIM compute rows use E_bit = kT ln 2 (the default), so they equal Landauer BY CONSTRUCTION; "
              "give --E-bit-J to assume another per-bit energy")
    print("premises (ASSUMED inputs, docs/theory.md s.11):")
    for est, prem in dict(zip(df["estimate"], df["premise"])).items():
        print(f"  {est}: {prem}")
    for k, (lo, hi) in summary["orders_of_magnitude_gap"].items():
        print(f"{k}: {lo:.1f} - {hi:.1f} orders of magnitude above the LIM compute range")
    if args.csv:
        print(f"wrote {args.csv}")
    return 0
