"""Progress bars (tqdm) only where someone watches: on a terminal, never into a redirected log."""

from __future__ import annotations

import sys


def show_progress(requested: bool = True) -> bool:
    """True if a progress bar was asked for and stderr is a terminal (``sys.stderr.isatty()``)."""
    try:
        return bool(requested) and sys.stderr.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stderr
        return False
