"""``lim-hw train CONFIG.toml -o DIR``: online training on FN-DAM synapses, energy vs the LIM bound.

Trains a linear classifier whose weights are differential FN-DAM synapses on
the closed-form device model (mismatch, intrinsic decay), re-simulates a window
of updates of one synapse in ngspice, and writes history.csv, weights.csv,
trace.csv, ngspice_check.csv, summary.json, training.png and card.toml.
See docs/codesign.md.
"""

from __future__ import annotations

import argparse

from .codesign_args import add_codesign_parser, add_codesign_switches, check_output_dir, writing_outputs


def register(subparsers: argparse._SubParsersAction) -> None:
    p = add_codesign_parser(
        subparsers, "train", help="train a classifier on FN-DAM synapses; accuracy and energy vs the LIM bound",
        description="Online training of a linear classifier whose weights live in differential FN-DAM "
                    "synapses (device model with mismatch and intrinsic decay). Reports accuracy over "
                    "training next to cumulative energy per parameter, the LIM bound, the Landauer "
                    "reference and a conventional digital update, and checks a window of updates in ngspice.",
        input_name="config", input_help="training config (TOML; see examples/train.toml)")
    p.add_argument("--resume", action="store_true",
                   help="MLP configs: continue from the checkpoint DIR.checkpoint.npz of an interrupted run")
    add_codesign_switches(p, run, ngspice_help="skip the ngspice check of a window of updates")


def run(args: argparse.Namespace) -> int:
    from ..codesign.mlp_config import is_mlp_config
    from ..tomlfile import read_toml

    data, _ = read_toml(args.config, "training config")
    if is_mlp_config(data):
        from .train_mlp_cmd import run_mlp

        return run_mlp(args, data)
    if args.resume:
        from ..errors import InputError

        raise InputError("--resume applies to MLP configs (with a [model] table) only")
    from ..codesign.train import load_train_config, ngspice_check_training, train, write_train_outputs

    cfg = load_train_config(args.config)
    check_output_dir(args.output)
    res = train(cfg)
    if cfg.check.ngspice and not args.no_ngspice:
        res.check, res.check_summary = ngspice_check_training(res)
    with writing_outputs(args.output):
        write_train_outputs(res, args.output)
    if not args.quiet:
        s = res.summary
        f, e, u = s["final"], s["energy_per_parameter_J"], s["energy_per_update_J"]
        bayes = f.get("bayes_accuracy")
        print(f"trained {s['n_parameters']} weights for {s['n_steps']} steps (lr = {s['lr']}, "
              f"{s['electrons_per_weight']:g} electrons per unit weight)")
        print(f"test accuracy: device {f['acc_test']:.3f}, float SGD {f['acc_test_software']:.3f}"
              + (f", Bayes {bayes:.3f}" if bayes is not None else ""))
        print("energy per parameter over training (J):")
        for key, label in (("device_drawn", "device, drawn (no recovery)"), ("device_net", "device, net"),
                           ("device_tunnelling", "device, tunnelling"), ("lim_bound", "LIM bound"),
                           ("landauer", "Landauer (bits kT ln 2)"), ("conventional_digital", "digital update")):
            print(f"  {label:<30} {e[key]:.3e}")
        print(f"per update: device drawn {u['device_drawn']:.3e} J, bound {u['lim_bound']:.3e} J, "
              f"digital {u['conventional_digital']:.1e} J")
        if res.check_summary is not None:
            c = res.check_summary
            print(f"ngspice check (synapse {c['synapse']}, steps {c['steps'][0]}-{c['steps'][1]}, "
                  f"{c['n_updates_checked']} updates): max |dN/N| {c['max_abs_rel_N']:.2e}, "
                  f"max |dV_fg diff| {c['max_abs_dV_fg_diff_V']:.2e} V, drawn energy within "
                  f"{c['max_abs_rel_drawn']:.2%}")
    print(f"results in {args.output}/")  # the one line --quiet keeps
    return 0
