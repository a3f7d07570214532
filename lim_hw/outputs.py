"""Atomic output: a result file either appears whole or not at all.

Files are written to a temporary sibling and renamed into place, so an error
half-way leaves no partial or corrupt output behind.
"""

from __future__ import annotations

import contextlib
import json
import os
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
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:64]}.", suffix=".tmp")
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


def csv_text(df: pd.DataFrame, provenance: bool = True) -> str:
    """A DataFrame as CSV text, first line a ``#`` comment with versions (the lim-hw stamp)."""
    body = df.to_csv(index=False, float_format="%.12g", lineterminator="\n")
    return (csv_header_comment() if provenance else "") + body


def write_csv_atomic(path: str | os.PathLike, df: pd.DataFrame, provenance: bool = True) -> Path:
    """Write a DataFrame as CSV (first line a ``#`` comment with versions), atomically.

    Read it back with ``pandas.read_csv(path, comment="#")``. ``provenance=False``
    writes a plain CSV (header row first) for tables whose versions are recorded
    beside them (a run's summary.json, a sweep's sweep.json).
    """
    return write_text_atomic(path, csv_text(df, provenance))


def write_files_atomic(files: dict[Path, str | bytes]) -> list[Path]:
    """Write several files all or nothing: every temporary first, then the renames.

    Each target is re-checked with :func:`lim_hw.output_paths.check_output_file`
    (it may replace only a file lim-hw wrote) before anything is renamed.
    """
    from .output_paths import check_output_file

    temps: list[tuple[str, Path]] = []
    try:
        for path, data in files.items():
            path = Path(path)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:64]}.", suffix=".tmp")
            temps.append((tmp, path))
            with os.fdopen(fd, "wb") as fh:
                fh.write(data.encode("utf-8") if isinstance(data, str) else data)
            os.chmod(tmp, 0o666 & ~_umask())
        for _, path in temps:
            check_output_file(path, "output file")
        for tmp, path in temps:
            os.replace(tmp, path)
    except BaseException:
        for tmp, _ in temps:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise
    return [p for _, p in temps]


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
def atomic_directory(path: str | os.PathLike, overwrite: bool = True, kind: str = "flow") -> Iterator[Path]:
    """Build a result directory in a temporary sibling; swap it into place on success.

    ``path`` may be absent, an empty directory or an earlier lim-hw result of the
    same ``kind`` (its manifest says so); anything else raises :class:`InputError`
    before and again after the work (:func:`lim_hw.output_paths.check_output_dir`).
    The new directory gets a manifest and replaces the old one atomically (Linux
    ``renameat2`` exchange, else rename aside + rename in), then the old one is
    deleted; a kill at any moment leaves the old or the new result whole at ``path``
    (a stale sibling is removed, or put back, by the next run). On any exception the
    temporary directory is removed and ``path`` is untouched.
    """
    from .output_paths import (check_output_dir, exchange, remove_stale_siblings, remove_tree, sibling_prefix,
                               write_manifest)

    path = Path(path)
    check_output_dir(path, kind, "output directory", create_parents=True, probe=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_siblings(path)
    prefix = sibling_prefix(path.name)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=prefix, suffix=".tmp"))
    try:
        os.chmod(tmp, 0o777 & ~_umask())            # mkdtemp makes it 0700; a result is an ordinary folder
        write_manifest(tmp, kind, path.name, building=True)
        yield tmp
        write_manifest(tmp, kind, path.name)       # finished: from here on a stale copy is removable
        exists = check_output_dir(path, kind, "output directory", probe=False).exists()
        if exists and not overwrite:
            raise FileExistsError(f"{path} exists")
        if not exists:
            os.rename(tmp, path)
        elif exchange(tmp, path):
            remove_tree(tmp)                        # now the old result
        else:
            aside = Path(tempfile.mkdtemp(dir=path.parent, prefix=prefix, suffix=".old"))
            os.rename(path, aside)                  # an empty dir is replaced by rename
            os.rename(tmp, path)
            remove_tree(aside)
    except BaseException:
        remove_tree(tmp)
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
