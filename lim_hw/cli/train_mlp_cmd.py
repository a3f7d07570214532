"""``lim-hw train`` for MLP configs (``[model] kind = "mlp"``): digits on FN-DAM synapses, with checkpoints."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import Any

from .codesign_args import check_output_dir, writing_outputs


def checkpoint_path(output: Path) -> Path:
    """Where a run into ``output`` keeps its checkpoint: the sibling ``output.checkpoint.npz``."""
    return output.parent / f"{output.name}.checkpoint.npz"


def run_mlp(args: argparse.Namespace, data: dict[str, Any]) -> int:
    from ..codesign.mlp_check import ngspice_check_mlp
    from ..codesign.mlp_config import mlp_config_from_dict
    from ..codesign.mlp_outputs import write_mlp_outputs
    from ..codesign.mlp_train import train_mlp

    cfg = mlp_config_from_dict(data, base_dir=Path(args.config).resolve().parent, name=Path(args.config).stem)
    check_output_dir(args.output)
    ckpt = checkpoint_path(args.output)
    progress = not args.quiet and sys.stderr.isatty()
    res = train_mlp(cfg, progress=progress, checkpoint=ckpt, resume=args.resume)
    if cfg.check.ngspice and not args.no_ngspice:
        res.check, res.check_summary = ngspice_check_mlp(res)
    with writing_outputs(args.output):
        write_mlp_outputs(res, args.output)
    with contextlib.suppress(FileNotFoundError):
        ckpt.unlink()            # the run is complete: its checkpoint is no longer needed
    if not args.quiet:
        s = res.summary
        f, e, u, sp = s["final"], s["energy_run_J"], s["energy_per_update_J"], s["speed"]
        print(f"trained MLP {'-'.join(map(str, s['layers']))} ({s['n_parameters']} synapses) for {s['epochs']} "
              f"epochs = {s['n_steps']} steps (lr = {s['lr']}, batch {s['batch_size']}, "
              f"{s['electrons_per_weight']:g} electrons per unit weight)")
        print(f"test accuracy: FN-DAM {f['acc_test']:.3f}, float {f['acc_test_float']:.3f}")
        print("energy of the training run (J):")
        for key, label in (("device_drawn", "device, drawn (no recovery)"), ("device_net", "device, net"),
                           ("device_tunnelling", "device, tunnelling"), ("lim_A_updates_made", "LIM_A bound"),
                           ("lim_B_updates_made", "LIM_B bound"), ("landauer", "Landauer (bits kT ln 2)"),
                           ("conventional_digital", "digital updates")):
            print(f"  {label:<30} {e[key]:.3e}")
        print(f"per update: drawn {u['drawn']:.3e} J, LIM_A {u['limA']:.3e} J, LIM_B {u['limB']:.3e} J, "
              f"digital {u['digital']:.1e} J")
        print(f"speed: {sp['synapse_updates_per_s']:.3g} synapse-updates/s ({sp['training_loop_s']:.1f} s loop)")
        if res.check_summary is not None:
            c = res.check_summary
            print(f"ngspice replay (synapses {c['synapses']}, steps {c['steps'][0]}-{c['steps'][1]}, "
                  f"{c['n_updates_checked']} updates): max |dN/N| {c['max_abs_rel_N']:.2e}, drawn energy within "
                  f"{c['max_abs_rel_drawn']:.2%}, tunnelling within {c['max_abs_rel_tunnel']:.2%}")
        print(f"results in {args.output}/")
    return 0
