"""``lim-hw netlist CARD.toml -o OUT.cir [--synapse | --array ROWSxCOLS]``."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..device.card import default_card_path, load_card
from ..netlist.generate import generate, parse_array
from ..netlist.render import relative_library
from ..outputs import write_csv_atomic, write_text_atomic
from ..provenance import csv_header_comment


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("netlist", help="generate an ngspice testbench from a device card",
                       description="Synthesise programming pulses from the card's schedule and write an "
                                   "ngspice testbench (cell, differential synapse or array) plus the "
                                   "synthesis table (CSV).")
    p.add_argument("card", nargs="?", type=Path, default=None,
                   help="device card (TOML); default: the built-in card")
    p.add_argument("-o", "--output", type=Path, required=True, help="netlist file to write (.cir)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--synapse", action="store_true", help="differential synapse testbench")
    group.add_argument("--array", metavar="ROWSxCOLS", help="array of differential synapses, e.g. 4x4")
    p.add_argument("--synthesis-csv", type=Path, default=None,
                   help="synthesis table to write (default: OUT_synthesis.csv beside the netlist)")
    inc = p.add_mutually_exclusive_group()
    inc.add_argument("--relative-include", action="store_true",
                     help="name the circuit library relative to the netlist file (portable decks checked in "
                          "beside the library, like netlists/); default: its absolute installed path, the "
                          "same .include as the decks lim-hw simulates")
    inc.add_argument("--absolute-include", action="store_true", help=argparse.SUPPRESS)  # the default now
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    card = load_card(args.card or default_card_path())
    array = parse_array(args.array)
    art = generate(card, "synapse" if args.synapse else "cell", array)
    out: Path = args.output
    stamp = csv_header_comment().lstrip("# ").strip()
    text = art.file_text(relative_library(out), stamp=stamp) if args.relative_include else art.file_text(stamp=stamp)
    csv_path = args.synthesis_csv or out.with_name(out.stem + "_synthesis.csv")
    write_csv_atomic(csv_path, art.table, provenance=False)  # versions: the deck's header
    write_text_atomic(out, text)
    print(f"wrote {out} ({len(art.table)} updates, {len(art.testbench.elements)} elements; "
          f"`ngspice -b {out}` prints its self-check) and {csv_path}")
    return 0
