"""Regenerate the reference netlists in ``netlists/`` (``make netlists``).

The files are golden artefacts: a test regenerates them in memory and fails
if they drift from what is checked in, so a generator change shows up in
review as a diff of these files.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..device.card import default_card
from ..outputs import write_text_atomic
from .generate import generate
from .render import relative_library

NETLISTS_DIR = Path(__file__).resolve().parents[2] / "netlists"

#: file stem -> (testbench kind, array shape)
REFERENCES: dict[str, tuple[str, tuple[int, int] | None]] = {
    "cell": ("cell", None),
    "synapse": ("synapse", None),
    "array_4x4": ("cell", (4, 4)),
}


def reference_texts(directory: Path = NETLISTS_DIR) -> dict[str, str]:
    """File name -> expected text of every reference artefact (netlists + synthesis table)."""
    card = default_card()
    out: dict[str, str] = {}
    table = None
    for stem, (kind, array) in REFERENCES.items():
        art = generate(card, kind, array, table=table)
        table = art.table
        path = directory / f"{stem}.cir"
        out[path.name] = art.file_text(relative_library(path))
    assert table is not None
    out["default_synthesis.csv"] = table.to_csv(index=False, float_format="%.12g", lineterminator="\n")
    return out


def main(directory: Path = NETLISTS_DIR) -> int:
    for name, text in reference_texts(directory).items():
        write_text_atomic(directory / name, text)
        print(f"wrote {directory / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
