"""Long SPICE lines folded for people: ``+`` continuation lines."""

from __future__ import annotations


def fold(text: str, width: int) -> list[str]:
    """Split ``text`` at spaces into lines of about ``width`` characters, continued with ``+``."""
    words = text.split(" ")
    out, cur = [], ""
    for w in words:
        if cur and len(cur) + 1 + len(w) > width:
            out.append(cur)
            cur = "+ " + w
        else:
            cur = f"{cur} {w}" if cur else w
    out.append(cur)
    return out
