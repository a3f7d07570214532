"""Atomic output: a result file either appears whole or not at all.

Files are written to a temporary sibling and renamed into place, so an error
half-way leaves no partial or corrupt output behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import pandas as pd

from .provenance import csv_header_comment

if TYPE_CHECKING:
    import numpy as np


@contextlib.contextmanager
def _atomic_file(path: str | os.PathLike, mode: str = "w") -> Iterator[Any]:
    """Open a temporary sibling of ``path`` for writing; rename it into place on success.

    ``mode`` is ``"w"`` (UTF-8 text) or ``"wb"``. On any exception the temporary
    file is removed and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        kwargs = {} if "b" in mode else {"encoding": "utf-8", "newline": ""}
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (temp file + rename)."""
    with _atomic_file(path) as fh:
        fh.write(text)
    return Path(path)


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temp file + rename)."""
    with _atomic_file(path, "wb") as fh:
        fh.write(data)
    return Path(path)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json_atomic(path: str | os.PathLike, data: Any) -> Path:
    """Write ``data`` as indented JSON, atomically."""
    return write_text_atomic(path, json.dumps(data, indent=2, sort_keys=False, default=_json_default) + "\n")


def write_csv_atomic(path: str | os.PathLike, df: pd.DataFrame, provenance: bool = True) -> Path:
    """Write a DataFrame as CSV (first line a ``#`` comment with versions), atomically.

    Read it back with ``pandas.read_csv(path, comment="#")``. ``provenance=False``
    writes a plain CSV (header row first) for tables whose versions are recorded
    beside them (a run's summary.json, a sweep's sweep.json).
    """
    body = df.to_csv(index=False, float_format="%.12g", lineterminator="\n")
    return write_text_atomic(path, (csv_header_comment() if provenance else "") + body)


def write_columns_csv_atomic(path: str | os.PathLike, columns: dict[str, "np.ndarray"],
                             exact_first: bool = True, provenance: bool = True) -> Path:
    """Write equal-length float columns as CSV (versions comment first unless ``provenance=False``),
    atomically and fast.

    The first column (time) is written with 17 significant digits so that it
    round-trips exactly; the others with 12. ~3x faster than ``DataFrame.to_csv``.
    """
    import numpy as np

    names = list(columns)
    data = np.column_stack([np.asarray(columns[n], dtype=float) for n in names]) if names else np.empty((0, 0))
    fmt = (["%.17g"] if exact_first else ["%.12g"]) + ["%.12g"] * (len(names) - 1)
    with _atomic_file(path) as fh:
        if provenance:
            fh.write(csv_header_comment())
        np.savetxt(fh, data, fmt=fmt, delimiter=",", header=",".join(names), comments="")
    return Path(path)


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike, overwrite: bool = True) -> Iterator[Path]:
    """Build an output directory in a temporary sibling; move it into place on success.

    On any exception the temporary directory is removed and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    try:
        yield tmp
        if path.exists():
            if not overwrite:
                raise FileExistsError(f"{path} exists")
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
