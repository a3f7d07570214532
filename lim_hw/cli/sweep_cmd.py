"""``lim-hw sweep SWEEP.toml -o DIR [--executor local|dask] [--workers N] [--scheduler ADDR] [--resume]``.

Runs every point of a sweep file (grid axes over card keys, Monte Carlo
mismatch) as an isolated simulation, streaming results into ``DIR`` (see
docs/sweeps.md). SIGINT/SIGTERM stop it cleanly: finished points are kept and
``--resume`` runs only the rest. Exit status: 0 when every point has a result
(failed points included; see sweep.csv), 128 + signal number when interrupted,
2 for bad input.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from ..errors import InputError
from ..sweep.executors import KINDS, make_executor
from ..sweep.runner import run_sweep
from ..sweep.spec import load_sweep


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sweep", help="run a parameter / Monte Carlo sweep of device cards in parallel",
                       description="Run every point of a sweep file (grid axes over card keys, Monte Carlo "
                                   "device mismatch) as an isolated simulation on a local process pool or "
                                   "Dask. Results stream to DIR/points.jsonl and DIR/points/<key>/; the "
                                   "final table is DIR/sweep.csv, with one summary plot per axis.")
    p.add_argument("sweep", type=Path, help="sweep file (TOML; see docs/sweeps.md)")
    p.add_argument("-o", "--output", type=Path, required=True, help="sweep directory")
    p.add_argument("--executor", choices=KINDS, default="local",
                   help="local process pool (default) or dask")
    p.add_argument("--workers", type=int, default=None,
                   help="worker processes (default: usable cores; local --workers 1 runs in-process)")
    p.add_argument("--scheduler", metavar="ADDR", default=None,
                   help="dask scheduler address tcp://HOST:PORT (default: an in-process LocalCluster)")
    p.add_argument("--resume", action="store_true",
                   help="continue the sweep in DIR: run only the points it does not hold yet")
    p.add_argument("--retry-failed", action="store_true",
                   help="with --resume, also rerun the points that failed before")
    p.add_argument("--quiet", action="store_true",
                   help="no progress bar or summary: only the line naming the results (bars: on a terminal only)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.retry_failed and not args.resume:
        raise InputError("--retry-failed continues a sweep; add --resume")
    spec = load_sweep(args.sweep)
    make_executor(args.executor, args.workers, args.scheduler)  # checks the arguments; starts nothing
    res = run_sweep(spec, args.output, executor=args.executor, workers=args.workers, scheduler=args.scheduler,
                    resume=args.resume, retry_failed=args.retry_failed, progress=not args.quiet,
                    handle_signals=True)
    if res.interrupted is not None:
        name = signal.Signals(res.interrupted).name
        print(f"lim-hw: sweep interrupted by {name}: {res.n_ok + res.n_failed} of {res.n_points} points "
              f"done, kept in {res.out_dir}/points.jsonl; rerun with --resume to finish", file=sys.stderr)
        return 128 + res.interrupted
    if args.quiet:
        print(f"results in {res.out_dir}/sweep.csv ({res.n_ok} ok, {res.n_failed} failed)")
    else:
        print(f"sweep {spec.name}: {res.n_points} points, {res.n_ok} ok, {res.n_failed} failed "
              f"({res.n_run} run now on {res.executor}) in {res.wall_s:.1f} s")
        if res.n_failed:
            failed = res.table[res.table["status"] == "failed"]
            for _, row in failed.head(5).iterrows():
                print(f"  point {row['index']} failed: {row['error']}")
            if len(failed) > 5:
                print(f"  ... and {len(failed) - 5} more (see sweep.csv)")
        print(f"results in {res.out_dir}/sweep.csv; plots: {', '.join(f for f in res.files if f.endswith('.png')) or 'none'}")
    return 0
