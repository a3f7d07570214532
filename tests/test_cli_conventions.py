"""Command-line conventions (issue 17): progress bars only on a terminal, --quiet keeps the result line."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios

CARD = "[schedule]\nn_updates = 2\n"


def _simulate(tmp_path, *extra: str, stderr=subprocess.PIPE):
    card = tmp_path / "c.toml"
    card.write_text(CARD)
    return subprocess.run([sys.executable, "-m", "lim_hw", "simulate", str(card), "-o", str(tmp_path / "out"), *extra],
                          stdout=subprocess.PIPE, stderr=stderr, text=True, timeout=300, stdin=subprocess.DEVNULL)


def test_no_progress_bars_into_a_redirected_log_and_quiet_keeps_the_result_line(tmp_path):
    proc = _simulate(tmp_path)   # stderr is a pipe, as in CI logs or `2> log`
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "" and "\r" not in proc.stdout and "%|" not in proc.stdout
    assert proc.stdout.splitlines()[-1] == f"results in {tmp_path / 'out'}/ (report.html ties them together)"
    assert len(proc.stdout.splitlines()) > 5    # the table and the headline
    quiet = _simulate(tmp_path, "--quiet", "--engine", "fast")
    assert quiet.returncode == 0 and quiet.stderr == ""
    assert quiet.stdout.splitlines() == proc.stdout.splitlines()[-1:]


def test_progress_bars_on_a_terminal(tmp_path):
    """The same run with stderr on a pseudo-terminal shows the tqdm bar (so the test above can fail)."""
    card = tmp_path / "c.toml"
    card.write_text(CARD)
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))  # a 120-column terminal
    proc = subprocess.Popen([sys.executable, "-m", "lim_hw", "simulate", str(card), "-o", str(tmp_path / "out"),
                             "--engine", "fast"],   # the same show_progress() gate, without an ngspice run
                            stdout=subprocess.DEVNULL, stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    seen = b""
    try:
        while True:  # read while it runs: Linux drops what is left in a pty once its last writer closes
            if select.select([master], [], [], 1.0)[0]:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                seen += chunk
            elif proc.poll() is not None:
                break
    finally:
        os.close(master)
        proc.wait(timeout=300)
    assert proc.returncode == 0
    assert b"%|" in seen and b"(fast)" in seen
