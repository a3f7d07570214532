"""``lim-hw simulate CARD.toml -o DIR [--engine batch|shared|fast] [--array ROWSxCOLS | --synapse]``."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from ..output_paths import output_path
from ..device.card import default_card, load_card
from ..flow import FlowResult, run_flow
from ..netlist.generate import parse_array
from ..limits import check_run_size, check_workers
from ..output_paths import check_output_dir

TABLE_COLUMNS = ("n", "t_s", "eps", "N_target", "N_sim", "V_p_V", "E_supply_J", "E_net_J", "E_tunnel_J",
                 "E_bound_J", "ratio_supply_to_bound")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("simulate", help="simulate a device card in ngspice and compare energy with the LIM bound",
                       description="Synthesise programming pulses, run the testbench in ngspice, extract the "
                                   "energy of every update and compare it with the LIM bound. Writes "
                                   "updates.csv, summary.json, waveforms.raw (ngspice binary raw), PNG plots and report.html.")
    p.add_argument("card", type=Path, help="device card (TOML)")
    add_flow_options(p, default_out=None)
    p.set_defaults(func=run)


def add_flow_options(p: argparse.ArgumentParser, default_out: Path | None) -> None:
    p.add_argument("-o", "--output", type=output_path, required=default_out is None, default=default_out,
                   help="output directory: new, empty, or an earlier lim-hw flow result (replaced whole)")
    p.add_argument("--engine", choices=("batch", "shared", "fast"), default=None,
                   help="simulation engine (default: the card's [simulation] engine)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--synapse", action="store_true", help="simulate a differential synapse")
    group.add_argument("--array", metavar="ROWSxCOLS", help="simulate an array, e.g. 4x4")
    waves = p.add_mutually_exclusive_group()
    waves.add_argument("--no-waveforms", action="store_true", help="write no waveforms (large arrays)")
    waves.add_argument("--waveforms-csv", action="store_true",
                       help="also write waveforms.csv (text; slow for long runs) beside waveforms.raw")
    p.add_argument("--jobs", type=_positive_int, default=None, metavar="N",
                   help="ngspice processes at once for an array split into column blocks "
                        "(default: one per CPU; see [simulation] array_block_synapses)")
    p.add_argument("--oversubscribe", action="store_true",
                   help="allow --jobs above the number of CPUs (up to 16 per CPU)")
    p.add_argument("--stochastic", action="store_true",
                   help="fast engine: Poisson electron counts per update and in free decay (docs/device.md s.10)")
    p.add_argument("--seed", type=int, default=None, metavar="N",
                   help="seed of --stochastic (default: the card's [simulation] seed); implies --stochastic")
    p.add_argument("--shot-noise-check", dest="shot_noise_check", type=_positive_int, default=0, metavar="M",
                   help="ngspice engines: also simulate update 1 with transient shot noise (TRNOISE scaled by the "
                        "FN current) for M seeds and report its spread in summary.json (docs/device.md s.10)")
    p.add_argument("--quiet", action="store_true",
                   help="no progress bar or table: only the line naming the results folder (progress bars "
                        "are shown on a terminal only)")


def execute(card, args: argparse.Namespace) -> FlowResult:
    check_workers(args.jobs, "--jobs", args.oversubscribe)
    check_run_size(card.n_updates, args.engine or card.simulation.engine, parse_array(args.array))
    check_output_dir(args.output, "flow")
    if getattr(args, "stochastic", False) or getattr(args, "seed", None) is not None:
        from ..errors import InputError

        if args.seed is not None and args.seed < 0:
            raise InputError(f"--seed {args.seed} must be >= 0")
        sim = {"stochastic": True, **({"seed": args.seed} if args.seed is not None else {})}
        card = card.with_updates(simulation=sim)
    return run_flow(card, args.output, engine=args.engine, kind="synapse" if args.synapse else "cell",
                    array=parse_array(args.array), progress=not args.quiet,
                    write_waveforms=not args.no_waveforms, jobs=args.jobs,
                    waveforms_csv=args.waveforms_csv, shot_noise_check=getattr(args, "shot_noise_check", 0))


def _positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return n


def print_result(res: FlowResult, quiet: bool = False) -> None:
    """The per-update table and the headline; with ``quiet`` only the closing result line."""
    s = res.summary
    if not quiet and not res.updates.empty:
        with pd.option_context("display.width", 200, "display.max_rows", 60, "display.float_format",
                               "{:.4g}".format):
            print(res.updates[list(TABLE_COLUMNS)].to_string(index=False))
        print()
        print(f"median energy per update (drawn from supplies): {s['E_supply_median_J']:.3e} J")
        print(f"median net energy (perfect recovery):           {s['E_net_median_J']:.3e} J")
        print(f"median tunnelling dissipation:                  {s['E_tunnel_median_J']:.3e} J")
        print(f"median LIM bound N (E0 + |dE|):                 {s['E_bound_median_J']:.3e} J")
        print(f"drawn energy is {s['ratio_supply_to_bound_median']:.3g} x the LIM bound "
              f"(tunnelling alone {s['ratio_tunnel_to_bound_median']:.3g} x); "
              f"schedule tracking error max {s['tracking_error_max_abs']:.2e}")
        from ..theory.bound_statement import headline_lines

        for line in headline_lines(s.get("bound", {})):
            print(line)
        for w in s.get("warnings", []):
            print(f"warning: {w}")
    elif not quiet and "retention_max_rel_error" in s:
        print(f"retention run: V_ox(end) = {s['retention_V_ox_end_V']:.6g} V, closed form "
              f"{s['retention_V_ox_end_closed_form_V']:.6g} V, max relative error {s['retention_max_rel_error']:.2e}")
    print(f"results in {res.out_dir}/ (report.html ties them together)")


def run(args: argparse.Namespace) -> int:
    card = load_card(args.card)
    print_result(execute(card, args), quiet=args.quiet)
    return 0


def default_run(args: argparse.Namespace) -> int:
    print_result(execute(default_card(), args), quiet=args.quiet)
    return 0
