"""Reading TOML input files with one-line errors (cards, sweeps, suites, configs)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from .errors import InputError, one_line


def read_toml(path: str | Path, what: str) -> tuple[dict[str, Any], str]:
    """Parse the TOML file ``path`` -> (data, text); ``what`` names it in errors (e.g. "card").

    Raises :class:`InputError` for an unreadable file or malformed TOML.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"cannot read {what} {path}: file not found; check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or one_line(exc)
        raise InputError(f"cannot read {what} {path}: {reason}; check the path") from None
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"malformed TOML in {what} {path} ({one_line(exc)}); fix the syntax") from None
