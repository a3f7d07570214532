"""On-disk state of a sweep: the streamed point log, point directories, the final table.

Layout of a sweep directory ``DIR``::

    DIR/points.jsonl        one JSON line per finished point, appended + flushed + fsynced
    DIR/points/<key16>/     the point's run directory (run_flow outputs), named by its key
    DIR/sweep.csv           the final table, one row per point, sorted by index (when complete)
    DIR/sweep.json          metadata: counts, axes, executor, versions
    DIR/sweep.toml          the sweep file as run; DIR/base_card.toml the resolved base card

A point is identified by its key, the sha256 of its rendered deck and card
(:func:`lim_hw.sweep.runner.point_key`); ``points.jsonl`` is the record of what
is done, so a resumed sweep skips every key it holds. A line cut short by a
kill is dropped (and the file truncated to the last whole line) when the store
is opened. Only one process may write a sweep directory at a time (a lock file).
"""

from __future__ import annotations

import datetime as _dt
import errno
import fcntl
import json
import os
import shutil
from pathlib import Path
from typing import Any

from ..errors import InputError

POINTS_LOG = "points.jsonl"
POINTS_DIR = "points"
TABLE = "sweep.csv"
META = "sweep.json"
LOCK = ".lock"


def point_dirname(key: str) -> str:
    """Directory name of a point: the first 16 hex digits of its key."""
    return key[:16]


class SweepStore:
    """The point log of one sweep directory; use as a context manager (holds the lock)."""

    def __init__(self, out_dir: str | os.PathLike, resume: bool = False) -> None:
        self.dir = Path(out_dir)
        if (self.dir / POINTS_LOG).exists() and not resume:
            raise InputError(f"{self.dir} already holds a sweep; pass --resume to continue it or choose "
                             "another output directory")
        if self.dir.exists() and not self.dir.is_dir():
            raise InputError(f"output {self.dir} exists and is not a directory; choose another -o")
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / POINTS_DIR).mkdir(exist_ok=True)
        self._lock = open(self.dir / LOCK, "a+")
        try:
            fcntl.flock(self._lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            self._lock.close()
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                raise InputError(f"another process is writing the sweep in {self.dir}; wait for it or "
                                 "choose another output directory") from None
            raise
        self.records: dict[str, dict[str, Any]] = self._load()
        self._remove_stale_temporaries()
        self._log = open(self.dir / POINTS_LOG, "a", encoding="utf-8")

    def __enter__(self) -> "SweepStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if not self._log.closed:
            self._log.close()
        if not self._lock.closed:
            self._lock.close()  # releases the lock

    def point_dir(self, key: str) -> Path:
        return self.dir / POINTS_DIR / point_dirname(key)

    def append(self, record: dict[str, Any]) -> None:
        """Add one finished point: one JSON line, flushed and fsynced before returning."""
        record = {**record, "finished_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
        line = json.dumps(record, separators=(",", ":"), default=_plain) + "\n"
        self._log.write(line)
        self._log.flush()
        os.fsync(self._log.fileno())
        self.records[record["key"]] = record

    def _load(self) -> dict[str, dict[str, Any]]:
        path = self.dir / POINTS_LOG
        if not path.exists():
            return {}
        data = path.read_bytes()
        records: dict[str, dict[str, Any]] = {}
        good = 0
        pos = 0
        while pos < len(data):
            end = data.find(b"\n", pos)
            if end < 0:
                break  # a line cut short by a kill
            try:
                rec = json.loads(data[pos:end])
                records[rec["key"]] = rec  # the last record of a key wins (a retried failure)
            except (ValueError, KeyError, TypeError):
                break
            pos = good = end + 1
        if good < len(data):
            with open(path, "r+b") as fh:
                fh.truncate(good)
                fh.flush()
                os.fsync(fh.fileno())
        return records

    def _remove_stale_temporaries(self) -> None:
        """Half-written point directories left by a killed run (``.<name>.*.tmp``)."""
        for p in (self.dir / POINTS_DIR).glob(".*.tmp"):
            shutil.rmtree(p, ignore_errors=True)


def _plain(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
