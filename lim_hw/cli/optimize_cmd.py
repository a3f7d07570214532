"""``lim-hw optimize CARD.toml -o DIR``: energy-optimal programming pulses for a card's schedule.

Chooses the pulse width, ramp time and per-update amplitudes that minimise the
energy per update while every update moves N_target transitions within
``--tol`` (scipy SLSQP with explicit constraints, verified afterwards), then
re-simulates the card's design and the optimised one in ngspice. Writes
updates_card.csv, updates_optimized.csv, pulses_optimized.csv, grid.csv,
ngspice_check*.csv, summary.json, card_optimized.toml and optimize.png.
See docs/codesign.md.
"""

from __future__ import annotations

import argparse
import math

from ..errors import InputError
from .codesign_args import add_codesign_parser, add_codesign_switches, check_output_dir, writing_outputs


def register(subparsers: argparse._SubParsersAction) -> None:
    p = add_codesign_parser(
        subparsers, "optimize", help="optimise pulse amplitude, width and ramp for minimum energy per update",
        description="Minimise the energy per update of a card's schedule over pulse amplitudes, width and "
                    "ramp time (adiabatic charging), subject to tracking the target transitions within a "
                    "tolerance; show how far the design closes the gap to the LIM bound and where the "
                    "remaining energy goes; check the result in ngspice.",
        input_name="card", input_help="device card (TOML)")
    p.add_argument("--tol", type=float, default=0.01, help="tracking tolerance |N_sim/N_target - 1| (default 0.01)")
    p.add_argument("--eta", type=float, default=0.0,
                   help="driver energy-recovery efficiency 0..1: 0 minimises drawn energy (CMOS driver, "
                        "default), 1 minimises net energy (ideal recovery)")
    p.add_argument("--shape", choices=("ramped", "rectangular"), default="ramped", help="pulse shape (default ramped)")
    p.add_argument("--width", nargs=2, type=float, metavar=("MIN_S", "MAX_S"),
                   help="pulse-width bounds in s (default 1e-4 .. window-fill x period)")
    p.add_argument("--rise", nargs=2, type=float, metavar=("MIN_S", "MAX_S"),
                   help="ramp-time bounds in s (default 1e-9 .. min(1e-2, 0.05 window))")
    p.add_argument("--window-fill", type=float, default=0.5,
                   help="largest pulse window as a fraction of the update period (default 0.5)")
    add_codesign_switches(p, run, ngspice_help="skip the ngspice re-simulation")


def _finite(name: str, v: float | None) -> None:
    if v is not None and not math.isfinite(v):
        raise InputError(f"{name} = {v!r} is not a finite number")


def run(args: argparse.Namespace) -> int:
    from ..codesign.optimize import ngspice_check_design, optimize_schedule, write_optimize_outputs
    from ..device.card import load_card

    for name in ("tol", "eta", "window_fill"):
        _finite(f"--{name.replace('_', '-')}", getattr(args, name))
    for name in ("width", "rise"):
        for v in getattr(args, name) or ():
            _finite(f"--{name}", v)
    if not 0 < args.window_fill < 1:
        raise InputError(f"--window-fill {args.window_fill:g} must lie in (0, 1)")
    card = load_card(args.card)
    check_output_dir(args.output)
    res = optimize_schedule(card, tol=args.tol, eta=args.eta, shape=args.shape,
                            width_bounds_s=tuple(args.width) if args.width else None,
                            rise_bounds_s=tuple(args.rise) if args.rise else None, window_fill=args.window_fill)
    check = check_before = None
    if not args.no_ngspice:
        check = ngspice_check_design(card, res.optimized, res.targets)
        check_before = ngspice_check_design(card, res.baseline, res.targets)
    with writing_outputs(args.output):
        write_optimize_outputs(res, args.output, check, check_before)
    if not args.quiet:
        s = res.summary
        b, o = s["baseline"], s["optimized"]
        print(f"card '{card.name}': {s['n_updates']} updates, tracking tolerance {s['tol']:g}, "
              f"objective {s['objective']} (method {s['method']})")
        print(f"  card design     : {b['shape']}, width {b['pulse_width_s']:.4g} s, rise {b['rise_s']:.3g} s, "
              f"drawn {b['E_drawn_mean_J']:.3e} J, net {b['E_net_mean_J']:.3e} J per update")
        print(f"  optimised design: {o['shape']}, width {o['pulse_width_s']:.4g} s, rise {o['rise_s']:.3g} s, "
              f"drawn {o['E_drawn_mean_J']:.3e} J, net {o['E_net_mean_J']:.3e} J per update")
        print(f"  tunnelling {o['E_tunnel_mean_J']:.3e} J, LIM bound {o['E_bound_mean_J']:.3e} J, "
              f"Landauer {o['E_landauer_mean_J']:.3e} J per update")
        print(f"  objective gain {s['gain_objective']:.3g}x; ratio to the LIM bound {s['ratio_to_bound_before']:.3g} "
              f"-> {s['ratio_to_bound_after']:.3g} ({s['gap_closed_log_fraction']:.0%} of the gap in log scale); "
              f"max tracking error {o['tracking_error_max_abs']:.3g}")
        if check is not None:
            c = check[1]
            print(f"  ngspice re-simulation: drawn energy within {c['max_abs_rel_drawn']:.2%}, tunnelling within "
                  f"{c['max_abs_rel_tunnel']:.2%}, transitions within {c['max_abs_rel_N']:.2%}")
    print(f"results in {args.output}/")  # the one line --quiet keeps
    return 0
