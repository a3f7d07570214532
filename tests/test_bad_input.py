"""Bad input of every kind to every command: exit 2, one `lim-hw: error:` line, nothing written or touched.

Each case runs ``lim_hw.cli.main([...])`` in-process in a sandbox folder holding
sentinel files (a user's notes, a non-result folder with data, a symlink, a FIFO,
an earlier result of another kind, a valid card). The whole sandbox -- and the
TMPDIR the command sees -- is hashed before and after: a refused command must
leave it byte for byte as it was. Malformed files live in tests/data/bad_inputs/
(first line: what is wrong); special and oversized files are made here.
A smaller set runs the real console script in a subprocess.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from lim_hw.cli import main

REPO = Path(__file__).resolve().parents[1]
BAD = REPO / "tests" / "data" / "bad_inputs"
BAD_CARDS = sorted((BAD / "cards").glob("*.toml"))
BAD_CSVS = sorted((BAD / "csv").glob("*.csv"))
DECAY_CSV = REPO / "examples" / "data" / "decay_ngspice.csv"
SWEEP_FILE = REPO / "examples" / "sweeps" / "tox_mismatch.toml"
SUITE = REPO / "tests" / "regression" / "suite.toml"
TRAIN = REPO / "examples" / "train.toml"
LIM_HW = str(Path(sys.executable).with_name("lim-hw"))
LONG = "L" * 300


def snapshot(root: Path) -> dict[str, str]:
    """Every path under ``root`` -> its type and content hash (FIFOs and links by type/target)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = os.lstat(p)
            rel = str(p.relative_to(root))
            if stat.S_ISLNK(st.st_mode):
                out[rel] = "link:" + os.readlink(p)
            elif stat.S_ISREG(st.st_mode):
                out[rel] = "file:" + hashlib.sha256(p.read_bytes()).hexdigest()
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = "dir"
            else:
                out[rel] = f"special:{stat.S_IFMT(st.st_mode)}"
    return out


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """cwd = tmp/work with sentinels; TMPDIR = tmp/tmp (must stay empty)."""
    work, tmp = tmp_path / "work", tmp_path / "tmp"
    work.mkdir()
    tmp.mkdir()
    (work / "notes.txt").write_text("my notes: keep\n")
    (work / "mydir").mkdir()
    (work / "mydir" / "thesis.tex").write_text("\\chapter{keep}\n")
    (work / "empty").mkdir()
    os.symlink("mydir", work / "link")
    os.symlink("notes.txt", work / "link2")
    os.mkfifo(work / "fifo")
    (work / "flowres").mkdir()
    (work / "flowres" / ".lim-hw-result.json").write_text(json.dumps({"tool": "lim-hw", "kind": "flow"}))
    (work / "flowres" / "summary.json").write_text("{}\n")
    (work / "card.toml").write_text("[schedule]\nn_updates = 3\n")
    monkeypatch.chdir(work)
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    return tmp_path


def refused(argv: list[str], sandbox: Path, capsys) -> str:
    """Run the command; assert exit 2, one error line, no traceback, sandbox untouched; return the line."""
    before = snapshot(sandbox)
    capsys.readouterr()
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert code == 2, f"exit {code} for {argv}: {err}"
    assert len(lines) == 1 and lines[0].startswith("lim-hw: error: "), f"{argv}: {err!r}"
    assert "Traceback" not in err and len(lines[0]) <= 320, lines[0]
    assert out == "", out
    assert snapshot(sandbox) == before, f"{argv} changed the sandbox"
    return lines[0]


# --- malformed cards, through every command that reads a card --------------------------------------

CARD_COMMANDS = {
    "simulate": lambda c: ["simulate", c, "-o", "out"],
    "netlist": lambda c: ["netlist", c, "-o", "out.cir"],
    "optimize": lambda c: ["optimize", c, "-o", "out", "--no-ngspice"],
    "bound": lambda c: ["bound", "--config", c],
    "fit": lambda c: ["fit", DECAY_CSV, "--model", "decay", "-o", "fitted.toml", "--base-card", c],
}


# every bad card through simulate; every second one through the other card readers as well
CARD_CASES = [(c, cmd) for i, c in enumerate(BAD_CARDS) for cmd in sorted(CARD_COMMANDS)
              if cmd == "simulate" or i % 2 == 0]


@pytest.mark.parametrize(("card", "command"), CARD_CASES, ids=[f"{c.stem}-{cmd}" for c, cmd in CARD_CASES])
def test_malformed_card(card, command, sandbox, capsys):
    line = refused(CARD_COMMANDS[command](card), sandbox, capsys)
    assert card.name in line or "card" in line or "config" in line or "[" in line or "schedule" in line


@pytest.mark.parametrize("card", BAD_CARDS[::4], ids=[p.stem for p in BAD_CARDS[::4]])
def test_malformed_base_card_of_a_sweep(card, sandbox, capsys):
    sweep = sandbox / "work" / "s.toml"
    sweep.write_text(f'[sweep]\nname = "x"\ncard = "{card}"\n[grid]\n"device.tox_m" = [11e-9, 12e-9]\n')
    refused(["sweep", sweep, "-o", "sw"], sandbox, capsys)


def test_card_named_with_unicode_and_newline(sandbox, capsys):
    for name in ("kärte.toml", "new\nline.toml", "emoji-\U0001f600.toml"):
        p = sandbox / "work" / name
        p.write_text("[device]\ntox_m = nan\n")
        line = refused(["simulate", p, "-o", "out"], sandbox, capsys)
        assert "tox_m" in line
        p.unlink()


# --- special, missing and oversized input files --------------------------------------------------

INPUT_COMMANDS = {
    "simulate": lambda f: ["simulate", f, "-o", "out"],
    "netlist": lambda f: ["netlist", f, "-o", "out.cir"],
    "optimize": lambda f: ["optimize", f, "-o", "out"],
    "bound": lambda f: ["bound", "--config", f],
    "fit-data": lambda f: ["fit", f, "--model", "decay", "-o", "fitted.toml"],
    "fit-base": lambda f: ["fit", DECAY_CSV, "--model", "decay", "-o", "fitted.toml", "--base-card", f],
    "sweep": lambda f: ["sweep", f, "-o", "sw"],
    "regress": lambda f: ["regress", f],
    "train": lambda f: ["train", f, "-o", "out"],
    "bound-table": lambda f: ["bound", "--table-csv", f],
}
SPECIAL = ["fifo", "/dev/zero", "/dev/null", "mydir", "missing.toml"]


@pytest.mark.parametrize("path", SPECIAL)
@pytest.mark.parametrize("command", sorted(INPUT_COMMANDS))
def test_special_or_missing_input_file(command, path, sandbox, capsys):
    line = refused(INPUT_COMMANDS[command](path), sandbox, capsys)
    assert path in line


def test_oversized_inputs_are_refused_by_size(sandbox, capsys):
    big = sandbox / "work" / "big.csv"
    with open(big, "wb") as fh:
        fh.truncate(17 << 20)  # sparse: 17 MiB of zeros without writing them
    assert "limit" in refused(["fit", big, "--model", "decay", "-o", "f.toml"], sandbox, capsys)
    big.unlink()
    card = sandbox / "work" / "big.toml"
    with open(card, "wb") as fh:
        fh.truncate(2 << 20)
    assert "limit" in refused(["simulate", card, "-o", "out"], sandbox, capsys)
    card.unlink()
    rows = sandbox / "work" / "rows.csv"
    rows.write_text("time_s,V_ox_V\n" + "1,8\n" * 101_001)
    assert "row" in refused(["fit", rows, "--model", "decay", "-o", "f.toml"], sandbox, capsys)
    rows.unlink()


# --- malformed fit data ---------------------------------------------------------------------------

@pytest.mark.parametrize("csv", BAD_CSVS, ids=[p.stem for p in BAD_CSVS])
def test_malformed_fit_data(csv, sandbox, capsys):
    refused(["fit", csv, "--model", "decay", "-o", "fitted.toml"], sandbox, capsys)


@pytest.mark.parametrize("csv", BAD_CSVS[::3], ids=[p.stem for p in BAD_CSVS[::3]])
def test_malformed_schedule_table(csv, sandbox, capsys):
    refused(["bound", "--table-csv", csv], sandbox, capsys)


# --- dangerous output directories -----------------------------------------------------------------

DIR_COMMANDS = {
    "simulate": lambda o: ["simulate", "card.toml", "-o", o],
    "run": lambda o: ["run", "-o", o],
    "optimize": lambda o: ["optimize", "card.toml", "-o", o, "--no-ngspice"],
    "train": lambda o: ["train", TRAIN, "-o", o, "--no-ngspice"],
    "sweep": lambda o: ["sweep", SWEEP_FILE, "-o", o],
    "regress": lambda o: ["regress", SUITE, "-o", o],
    "fit-report": lambda o: ["fit", DECAY_CSV, "--model", "decay", "-o", "fitted.toml", "--report", o],
}
DANGEROUS_DIRS = [".", "..", "", "notes.txt", "mydir", "link", "notes.txt/sub", "missing/sub", LONG,
                  "/proc/lim_hw_nope", "fifo", "flowres", "/", os.path.expanduser("~")]


# (an earlier flow result is what simulate/run may replace: tests/test_output_safety.py)
DIR_CASES = [(c, t) for c in sorted(DIR_COMMANDS) for t in DANGEROUS_DIRS
             if not (t == "flowres" and c in ("simulate", "run"))]


@pytest.mark.parametrize(("command", "target"), DIR_CASES, ids=[f"{c}-{t[:12] or 'empty'}" for c, t in DIR_CASES])
def test_dangerous_output_directory(command, target, sandbox, capsys):
    refused(DIR_COMMANDS[command](target), sandbox, capsys)


FILE_COMMANDS = {
    "netlist": lambda o: ["netlist", "card.toml", "-o", o],
    "netlist-csv": lambda o: ["netlist", "card.toml", "-o", "ok.cir", "--synthesis-csv", o],
    "bound-csv": lambda o: ["bound", "--csv", o],
    "bound-plot": lambda o: ["bound", "--plot", o],
    "project-csv": lambda o: ["project", "--csv", o],
    "regress-junit": lambda o: ["regress", SUITE, "--junit", o],
    "fit-card": lambda o: ["fit", DECAY_CSV, "--model", "decay", "-o", o],
}
DANGEROUS_FILES = ["", "notes.txt", "mydir", "link2", "notes.txt/x.png", "missing/x.png", LONG + ".png",
                   "fifo", "/proc/lim_hw_nope.png"]


@pytest.mark.parametrize("target", DANGEROUS_FILES, ids=lambda t: t[:12] or "empty")
@pytest.mark.parametrize("command", sorted(FILE_COMMANDS))
def test_dangerous_output_file(command, target, sandbox, capsys):
    refused(FILE_COMMANDS[command](target), sandbox, capsys)


def test_netlist_into_an_existing_directory_leaves_no_synthesis_csv(sandbox, capsys):
    refused(["netlist", "card.toml", "-o", "empty"], sandbox, capsys)
    assert not (sandbox / "work" / "empty_synthesis.csv").exists()


def test_same_file_for_two_outputs(sandbox, capsys):
    refused(["netlist", "card.toml", "-o", "a.cir", "--synthesis-csv", "a.cir"], sandbox, capsys)
    refused(["bound", "--csv", "x.png", "--plot", "x.png"], sandbox, capsys)


# --- argparse errors and bad values of flags ------------------------------------------------------

ARGV_ERRORS = [
    ["simulate"], ["simulate", "card.toml"], ["simulate", "card.toml", "-o", "o", "--engine", "gpu"],
    ["simulate", "card.toml", "-o", "o", "--synapse", "--array", "2x2"],
    ["simulate", "card.toml", "-o", "o", "--jobs", "0"], ["simulate", "card.toml", "-o", "o", "--jobs", "abc"],
    ["simulate", "card.toml", "-o", "o", "--bogus"], ["netlist"], ["netlist", "card.toml"],
    ["bound", "--eps0", "abc"], ["bound", "--n-updates", "1e9"], ["bound", "--kind", "cubic"], ["bound", "--bogus"],
    ["project", "--params", "many"], ["project", "--bits-min", "8.5"], ["fit"], ["fit", DECAY_CSV],
    ["fit", DECAY_CSV, "--model", "spline", "-o", "f.toml"], ["sweep"], ["sweep", SWEEP_FILE],
    ["sweep", SWEEP_FILE, "-o", "sw", "--executor", "ray"], ["regress"], ["train"], ["optimize"],
    ["optimize", "card.toml", "-o", "o", "--shape", "sine"], ["optimize", "card.toml", "-o", "o", "--width", "1"],
    ["nonsense-command"], ["--bogus"], ["run", "--bogus"],
]


@pytest.mark.parametrize("argv", ARGV_ERRORS, ids=lambda a: " ".join(map(str, a))[:40] or "none")
def test_argparse_error_is_one_line(argv, sandbox, capsys):
    line = refused(argv, sandbox, capsys)
    assert "--help" in line


VALUE_ERRORS = [
    ["bound", "--eps0", "nan"], ["bound", "--eps0", "inf"], ["bound", "--eps0", "-1"], ["bound", "--R-max", "0"],
    ["bound", "--T", "-1"], ["bound", "--n-updates", "2000000"], ["bound", "--n-updates", "-5"],
    ["bound", "--n-updates", "9" * 400], ["bound", "--eps0", "1e400"], ["bound", "--kind", "table"],
    ["bound", "--alpha", "1.5"], ["project", "--params", "nan"], ["project", "--T", "inf"],
    ["project", "--bits-min", "40", "--bits-max", "8"], ["project", "--pJ-per-op", "inf"],
    ["project", "--updates-per-param", "-1"],
    ["optimize", "card.toml", "-o", "o", "--tol", "nan"], ["optimize", "card.toml", "-o", "o", "--window-fill", "2"],
    ["simulate", "card.toml", "-o", "o", "--array", "200x200"], ["simulate", "card.toml", "-o", "o", "--array", "3x"],
    ["simulate", "card.toml", "-o", "o", "--array", "0x4"], ["simulate", "card.toml", "-o", "o", "--jobs", "1000"],
    ["simulate", "card.toml", "-o", "o", "--array", "2000x2000", "--engine", "fast"],
    ["netlist", "card.toml", "-o", "x.cir", "--array", "9999x9999"],
    ["sweep", SWEEP_FILE, "-o", "sw", "--workers", "100000"], ["sweep", SWEEP_FILE, "-o", "sw", "--workers", "0"],
    ["sweep", SWEEP_FILE, "-o", "sw", "--retry-failed"],
    ["sweep", SWEEP_FILE, "-o", "sw", "--scheduler", "tcp://127.0.0.1:1"],
    ["regress", SUITE, "--workers", "0"], ["regress", SUITE, "--update-baseline", "--junit", "j.xml"],
    ["fit", DECAY_CSV, "--model", "decay", "-o", "f.toml", "--bootstrap", "-1"],
    ["fit", DECAY_CSV, "--model", "decay", "-o", "f.toml", "--gamma", "20"],
    ["fit", REPO / "examples" / "data" / "iv_ngspice.csv", "--model", "iv", "-o", "f.toml", "--refine-ngspice"],
    ["train", TRAIN, "-o", "o", "--resume"],
]


@pytest.mark.parametrize("argv", VALUE_ERRORS, ids=lambda a: " ".join(map(str, a))[:48])
def test_bad_flag_value(argv, sandbox, capsys):
    refused(argv, sandbox, capsys)


def test_help_still_prints_usage(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["simulate", "--help"])
    assert exc.value.code == 0 and "usage: lim-hw simulate" in capsys.readouterr().out


def test_internal_error_is_one_line_with_a_debug_hint(monkeypatch, sandbox, capsys):
    import lim_hw.cli.project_cmd as project

    def broken(args):
        raise KeyError("bug")

    monkeypatch.setattr(project, "run", broken)
    monkeypatch.setattr("lim_hw.cli.build_parser", _parser_with(project, broken))
    code = main(["project"])
    err = capsys.readouterr().err
    assert code == 70 and err.count("\n") == 1 and "internal error" in err and "LIM_HW_DEBUG=1" in err
    monkeypatch.setenv("LIM_HW_DEBUG", "1")
    with pytest.raises(KeyError):
        main(["project"])


def _parser_with(module, func):
    from lim_hw import cli

    real = cli.build_parser

    def build(only=None, **kw):
        parser = real(only, **kw)
        parser._subparsers._group_actions[0].choices["project"].set_defaults(func=func)
        return parser

    return build


# --- the real console script ------------------------------------------------------------------------

def _run(args: list[str], cwd: Path, **kw) -> subprocess.CompletedProcess:
    env = dict(os.environ, TMPDIR=str(cwd.parent / "tmp"))
    return subprocess.run([LIM_HW, *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120, **kw)


@pytest.mark.parametrize("argv", [["simulate", "card.toml", "-o", "."], ["simulate", "fifo", "-o", "out"],
                                  ["bound", "--eps0", "x"], ["netlist", "card.toml", "-o", "mydir"],
                                  ["simulate", BAD / "cards" / "huge_int_tox.toml", "-o", "out"],
                                  ["fit", BAD / "csv" / "binary.csv", "--model", "iv", "-o", "f.toml"]],
                         ids=["cwd", "fifo", "argparse", "netlist-dir", "huge-int", "binary-csv"])
def test_console_script_one_line(argv, sandbox):
    before = snapshot(sandbox)
    r = _run(argv, sandbox / "work")
    assert r.returncode == 2 and r.stdout == ""
    assert len(r.stderr.splitlines()) == 1 and r.stderr.startswith("lim-hw: error: "), r.stderr
    assert snapshot(sandbox) == before


def test_bound_json_into_a_closed_pipe_is_quiet(sandbox):
    """`lim-hw bound --json | head -1`: no BrokenPipeError traceback."""
    p = subprocess.Popen([LIM_HW, "bound", "--json", "--n-updates", "5000"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, cwd=sandbox / "work")
    p.stdout.readline()
    p.stdout.close()  # the reader goes away, as `head` does
    err = p.stderr.read().decode()
    assert p.wait(timeout=60) in (0, 141) and err == "", err
