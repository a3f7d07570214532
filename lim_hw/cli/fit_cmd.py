"""``lim-hw fit DATA.csv --model decay|iv|pulse -o CARD.toml [--report DIR] [--bootstrap N] ...``.

Fits the data, then writes a validated device card (base card with the fitted
``[device]`` keys replaced, a header comment saying what was fitted and what was
assumed) and, with ``--report``, a directory with report.json, report.md and
fit.png. Nothing is written unless the fit succeeded; each output is atomic.
"""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "fit", help="fit retention, FN I-V or programming-response data and write a device card",
        description="Fit measured or simulated FN-DAM data (CSV with a header, units in the column names; "
                    "'#' lines are comments) and write a device card ready for 'lim-hw simulate'. "
                    "decay: time_s, V_ox_V (or V_fg_V) -> tox_m, area_m2, V0_V. "
                    "iv: voltage_V, current_A -> phi_B_eV, m_eff (or tox_m, area_m2). "
                    "pulse: t_pulse_s, dV_V -> eps(t) schedule and area_m2. See docs/fitting.md.")
    p.add_argument("data", type=Path, help="data file (CSV)")
    p.add_argument("--model", required=True, choices=("decay", "iv", "pulse"), help="what the data are")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="CARD.toml",
                   help="fitted device card to write (replaced if it exists)")
    p.add_argument("--report", type=Path, metavar="DIR",
                   help="write report.json, report.md and fit.png into DIR (replaced if it holds an earlier report)")
    p.add_argument("--base-card", type=Path, metavar="CARD.toml",
                   help="card supplying everything not fitted (default: the built-in default card)")
    p.add_argument("--bootstrap", type=int, default=0, metavar="N",
                   help="also estimate uncertainties from N residual-bootstrap refits (default 0: off)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the bootstrap (default 0)")
    p.add_argument("--sigma", type=float, default=None,
                   help="measurement noise (1 sigma) when the file has no sigma column: volts for decay and "
                        "pulse, a fraction of the current for iv (e.g. 0.02); enables chi^2/dof")
    p.add_argument("--refine-ngspice", action="store_true",
                   help="decay only: refine the fit with ngspice in the loop so the card reproduces the data "
                        "in the simulator")
    p.add_argument("--iv-unknowns", choices=("barrier", "geometry"), default="barrier",
                   help="iv only: fit phi_B_eV and m_eff given the base card's tox_m and area_m2 (barrier, "
                        "default) or tox_m and area_m2 given phi_B_eV and m_eff (geometry)")
    p.add_argument("--gamma", type=float, default=None,
                   help="pulse only: fix the exponent of dV ~ (1 + t/t0)^-gamma (1 = ideal 1/t law)")
    p.add_argument("--quiet", action="store_true", help="print only the line naming the card written")
    p.set_defaults(func=run)


def _check_outputs(args: argparse.Namespace) -> None:
    from ..errors import InputError

    out: Path = args.output
    if out.exists() and out.is_dir():
        raise InputError(f"-o {out} is a directory; give the path of the card file to write (e.g. fitted.toml)")
    if args.report is not None:
        rep: Path = args.report
        if rep.exists() and not rep.is_dir():
            raise InputError(f"--report {rep} is a file; give a directory")
        if rep.is_dir() and any(rep.iterdir()) and not (rep / "report.json").exists():
            raise InputError(f"--report {rep} exists and is not an earlier fit report; refusing to replace it -- "
                             "give a new or empty directory")
        if out.resolve().parent == rep.resolve() or rep.resolve() in out.resolve().parents:
            raise InputError("-o must not lie inside the --report directory (the directory is replaced as a whole)")
    if args.bootstrap < 0 or args.bootstrap > 100000:
        raise InputError(f"--bootstrap {args.bootstrap} must be between 0 and 100000")
    if args.gamma is not None and not (0 < args.gamma < 10):
        raise InputError(f"--gamma {args.gamma} must be between 0 and 10")


def run(args: argparse.Namespace) -> int:
    from ..device.card import card_from_dict, card_to_toml, default_card, load_card
    from ..errors import InputError
    from ..fit import card_header, fit_data, fitted_card, read_fit_csv
    from ..fit.report import render_report, write_report
    from ..outputs import write_text_atomic

    _check_outputs(args)
    if args.refine_ngspice and args.model != "decay":
        raise InputError("--refine-ngspice works with --model decay only (it simulates a retention run)")
    base = load_card(args.base_card) if args.base_card else default_card()
    base_label = str(args.base_card) if args.base_card else "built-in default card"
    data = read_fit_csv(args.data, args.model, V_tun_V=base.device.V_tun_V)
    result = fit_data(data, base, n_bootstrap=args.bootstrap, seed=args.seed, refine_ngspice=args.refine_ngspice,
                      iv_unknowns=args.iv_unknowns, sigma=args.sigma, gamma_fixed=args.gamma)
    card = fitted_card(base, result, name=args.output.stem)
    text = card_to_toml(card, header=card_header(result, base_label))
    card_from_dict(tomllib.loads(text), name=args.output.stem)      # the file we write must load back
    files = render_report(result) if args.report is not None else None
    # everything computed: now write (each output atomically)
    if files is not None:
        write_report(files, args.report)
    write_text_atomic(args.output, text)
    if args.quiet:
        print(f"card: {args.output}")
    else:
        _print(result, args)
    return 0


def _print(result, args: argparse.Namespace) -> None:
    st = result.stats
    print(f"lim-hw fit --model {result.model}: {st['n_points']} points, RMS residual "
          f"{st['rms_residual']:.3g} {st['residual_unit']}"
          + (f", chi^2/dof {st['chi2_per_dof']:.3g}" if st.get("chi2_per_dof") is not None else ""))
    for p in (*result.params, *result.derived):
        print(f"  {p.name:24s} {p.value: .6g}  +- {p.stderr:.3g}  95% CI [{p.ci95[0]:.6g}, {p.ci95[1]:.6g}] {p.unit}")
    for w in result.warnings:
        print(f"  warning: {w}")
    print(f"card: {args.output} (fitted: {', '.join(result.card_updates) or 'nothing'})")
    if args.report is not None:
        print(f"report: {args.report}/report.md, report.json, fit.png")
