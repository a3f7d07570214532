"""``lim-hw regress SUITE.toml [--baseline DIR] [--update-baseline] [--junit FILE] [--workers N]``.

Runs the suite's reference designs, compares every metric with the stored
baseline and prints a table. Exit status: 0 all metrics passed, 1 any metric
failed (or could not be computed), 2 bad input (suite, card, corrupt baseline).
``--update-baseline`` rewrites the baseline instead and lists old -> new per metric.
See docs/regression.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..output_paths import output_path
from ..errors import InputError

# The regress stack (flow, pandas, matplotlib) is imported when the command runs, not when
# ``lim-hw --help`` registers it.


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("regress", help="run the regression suite of reference designs against a stored baseline",
                       description="Simulate every case of a regression suite (in parallel), compare its metrics "
                                   "with the stored baseline (|obs - base| <= abs_tol or <= rel_tol*|base|), print "
                                   "a table and exit 1 on any failed metric, 2 on bad input.")
    p.add_argument("suite", type=Path, help="suite file (TOML), e.g. tests/regression/suite.toml")
    p.add_argument("--baseline", type=Path, metavar="DIR",
                   help="baseline folder (default: [suite] baseline, relative to the suite file)")
    p.add_argument("--update-baseline", action="store_true",
                   help="rewrite the baseline from this run and show what changed (old -> new)")
    p.add_argument("--junit", type=output_path, metavar="FILE", help="write JUnit XML (one testcase per metric) for CI")
    p.add_argument("--workers", type=int, metavar="N", help="parallel simulations (default: one per case, up to "
                                                            "the CPU count)")
    p.add_argument("-o", "--output", type=output_path, metavar="DIR",
                   help="keep each case's flow outputs in DIR/<case>/ (default: a temporary folder)")
    p.add_argument("--oversubscribe", action="store_true",
                   help="allow --workers above the number of CPUs (up to 16 per CPU)")
    p.add_argument("--plots", action="store_true",
                   help="with -o, also write each case's PNG plots and report.html (slow)")
    p.add_argument("--failed-only", action="store_true", help="print only the metrics that did not pass")
    p.add_argument("-q", "--quiet", action="store_true", help="no per-case progress lines on stderr")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..regress.baseline import METRICS_FILE
    from ..regress.compare import format_table, summary_line
    from ..regress.junit import write_junit
    from ..regress.runner import check_suite
    from ..regress.suite import load_suite

    from ..limits import check_workers

    check_workers(args.workers, "--workers", args.oversubscribe)
    if args.update_baseline and args.junit:
        raise InputError("--junit reports a comparison; it has no meaning with --update-baseline, drop one of them")
    if args.junit is not None:
        from ..output_paths import check_output_file

        check_output_file(args.junit, "--junit")
    if args.output is not None:
        from ..output_paths import check_output_dir

        check_output_dir(args.output, "regress")
    suite = load_suite(args.suite)
    on_done = None if args.quiet else _progress(len(suite.cases))
    if args.update_baseline:
        return _update(suite, args, on_done)
    report = check_suite(suite, args.baseline, args.workers, args.output, on_done, args.plots)
    print(format_table(report, failed_only=args.failed_only))
    print(summary_line(report))
    if args.junit is not None:
        write_junit(report, args.junit)
        print(f"wrote {args.junit}")
    if report.n_failed:
        print(f"if the change is intended: lim-hw regress {args.suite} --update-baseline, and commit the diff "
              f"of {METRICS_FILE} with the change")
    return 0 if report.ok else 1


def _update(suite, args: argparse.Namespace, on_done) -> int:
    from ..regress.baseline import METRICS_FILE, PROVENANCE_FILE
    from ..regress.runner import update_baseline

    res = update_baseline(suite, args.baseline, args.workers, args.output, on_done, args.plots)
    if not res.written:
        for e in res.errors:
            print(f"ERROR {e}")
        print(f"baseline {res.path} NOT written: {len(res.errors)} metric(s) could not be computed")
        return 1
    counts = res.counts()
    for c in res.changes:
        if c.kind != "unchanged":
            print(f"{c.kind:<8} {c.text()}")
    small = sum(1 for c in res.changes if c.kind == "changed" and c.within_tolerance)
    print(f"baseline {res.path}/{{{METRICS_FILE},{PROVENANCE_FILE}}} written: "
          + ", ".join(f"{v} {k}" for k, v in counts.items())
          + (f" ({small} of the changes within tolerance)" if small else ""))
    return 0


def _progress(n: int):
    done = [0]

    def on_done(o) -> None:  # o: lim_hw.regress.runner.CaseOutcome
        done[0] += 1
        state = "ok" if o.error is None else f"FAILED: {o.error}"
        print(f"regress: [{done[0]}/{n}] {o.case} {state} ({o.wall_s:.1f} s)", file=sys.stderr, flush=True)

    return on_done

