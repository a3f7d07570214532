"""Result directories: replaced only when they are lim-hw results, atomically, with stale siblings cleaned.

A kill at any moment of a replacement leaves the old or the new result whole at
the path (checked by SIGKILLing a child process right before and right after the
swap); the next run removes what the killed one left.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lim_hw.errors import InputError
from lim_hw.output_paths import MANIFEST, read_manifest, remove_stale_siblings, sibling_prefix
from lim_hw.outputs import atomic_directory


def _write(path: Path, text: str, kind: str = "flow") -> None:
    with atomic_directory(path, kind=kind) as tmp:
        (tmp / "result.txt").write_text(text)
        (tmp / "sub").mkdir()
        (tmp / "sub" / "more.txt").write_text(text * 2)


def _siblings(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir() if p.name.startswith(sibling_prefix(path.name)))


def test_result_is_marked_and_replaced_whole(tmp_path):
    out = tmp_path / "out"
    _write(out, "old")
    manifest = read_manifest(out)
    assert manifest["tool"] == "lim-hw" and manifest["kind"] == "flow" and manifest["target"] == "out"
    _write(out, "new")
    assert (out / "result.txt").read_text() == "new" and (out / "sub" / "more.txt").read_text() == "newnew"
    assert _siblings(out) == []
    assert oct(out.stat().st_mode & 0o777) == oct(0o777 & ~_umask())  # an ordinary folder, not mkdtemp's 0700


def _umask() -> int:
    m = os.umask(0)
    os.umask(m)
    return m


def test_empty_directory_is_used_and_foreign_ones_are_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    _write(tmp_path / "empty", "x")
    assert (tmp_path / "empty" / "result.txt").exists()
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("keep")
    with pytest.raises(InputError, match="not a lim-hw result"):
        _write(foreign, "x")
    with pytest.raises(InputError, match="not a 'train' one"):
        _write(tmp_path / "empty", "x", kind="train")
    assert (foreign / "keep.txt").read_text() == "keep" and _siblings(foreign) == []


def test_directory_that_appears_during_the_run_is_not_replaced(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(InputError, match="not a lim-hw result"):
        with atomic_directory(out) as tmp:
            (tmp / "a").write_text("a")
            out.mkdir()
            (out / "user.txt").write_text("arrived meanwhile")
    assert (out / "user.txt").read_text() == "arrived meanwhile" and _siblings(out) == []


def test_rename_fallback_without_exchange(tmp_path, monkeypatch):
    import lim_hw.output_paths as op

    monkeypatch.setattr(op, "exchange", lambda a, b: False)
    out = tmp_path / "out"
    _write(out, "old")
    _write(out, "new")
    assert (out / "result.txt").read_text() == "new" and _siblings(out) == []


def _stale(parent: Path, target: str, suffix: str, pid: int, manifest: bool = True) -> Path:
    d = parent / f"{sibling_prefix(target)}x{pid}{'m' if manifest else 'u'}{suffix}"
    d.mkdir()
    (d / "half.txt").write_text("half")
    if manifest:
        (d / MANIFEST).write_text(json.dumps({"tool": "lim-hw", "kind": "flow", "pid": pid, "target": target,
                                              "building": True}))
    return d


def test_only_provably_stale_siblings_are_removed(tmp_path):
    out = tmp_path / "out"
    _write(out, "current")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    gone = _stale(tmp_path, "out", ".tmp", dead_pid)
    alive = _stale(tmp_path, "out", ".tmp", os.getppid())          # a live process: maybe still building
    unmarked = _stale(tmp_path, "out", ".tmp", dead_pid, manifest=False)  # not provably ours
    other = _stale(tmp_path, "other", ".tmp", dead_pid)            # another target's
    assert remove_stale_siblings(out) == [gone]
    assert alive.exists() and unmarked.exists() and other.exists() and not gone.exists()


def test_stale_old_result_is_put_back_when_the_target_is_missing(tmp_path):
    aside = _stale(tmp_path, "out", ".old", 0)
    remove_stale_siblings(tmp_path / "out")
    assert (tmp_path / "out" / "half.txt").read_text() == "half" and not aside.exists()


CHILD = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    import lim_hw.output_paths as op
    from lim_hw.outputs import atomic_directory
    when = sys.argv[2]
    real_exchange, real_remove = op.exchange, op.remove_tree
    def exchange(a, b):
        if when == "before-swap":
            os.kill(os.getpid(), signal.SIGKILL)
        return real_exchange(a, b)
    def remove_tree(p):
        if when == "after-swap" and p.name.endswith(".tmp"):
            os.kill(os.getpid(), signal.SIGKILL)
        return real_remove(p)
    op.exchange, op.remove_tree = exchange, remove_tree
    with atomic_directory(Path(sys.argv[1])) as tmp:
        (tmp / "result.txt").write_text("new")
""")


@pytest.mark.parametrize("when,expect", [("before-swap", "old"), ("after-swap", "new")])
def test_sigkill_during_replacement_leaves_a_whole_result(tmp_path, when, expect):
    out = tmp_path / "out"
    _write(out, "old")
    r = subprocess.run([sys.executable, "-c", CHILD, str(out), when], capture_output=True, text=True)
    assert r.returncode == -signal.SIGKILL, r.stderr
    assert (out / "result.txt").read_text() == expect and read_manifest(out) is not None
    assert len(_siblings(out)) == 1  # what the killed run left ...
    _write(out, "next")  # ... the next run removes
    assert (out / "result.txt").read_text() == "next" and _siblings(out) == []


def test_flow_result_from_before_manifests_is_still_replaceable(tmp_path):
    """`make run` into an old ./lim-hw-out: recognised by its files and its summary.json provenance."""
    old = tmp_path / "lim-hw-out"
    old.mkdir()
    (old / "summary.json").write_text(json.dumps({"provenance": {"lim_hw": "0.1.0"}}))
    (old / "updates.csv").write_text("n\n1\n")
    _write(old, "new")
    assert (old / "result.txt").read_text() == "new"
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "summary.json").write_text(json.dumps({"provenance": {"lim_hw": "0.1.0"}}))
    (mixed / "thesis.tex").write_text("keep")
    with pytest.raises(InputError, match="not a lim-hw result"):
        _write(mixed, "x")
