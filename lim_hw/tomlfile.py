"""Reading TOML input files with one-line errors (cards, sweeps, suites, configs)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from .errors import InputError, one_line

#: Largest TOML input (card, sweep, suite, config) read: 1 MiB (the default card is 3 kB).
MAX_TOML_BYTES = 1 << 20


def read_toml(path: str | Path, what: str) -> tuple[dict[str, Any], str]:
    """Parse the TOML file ``path`` -> (data, text); ``what`` names it in errors (e.g. "card").

    Raises :class:`InputError` for an unreadable file or malformed TOML.
    """
    from .inputs import read_input_text

    path = Path(path)
    text = read_input_text(path, what, MAX_TOML_BYTES).removeprefix("\ufeff")  # a BOM is harmless
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"malformed TOML in {what} {path} ({one_line(exc)}); fix the syntax") from None
    except (ValueError, RecursionError) as exc:  # e.g. an integer of more than 4300 digits, deep nesting
        raise InputError(f"malformed TOML in {what} {path} ({type(exc).__name__}: {one_line(exc)[:80]}); "
                         "fix the value") from None
