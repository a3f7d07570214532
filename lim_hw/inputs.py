"""Reading input files safely: regular files only, bounded size, one-line errors.

Every file lim-hw reads from a user (cards, sweeps, suites, configs, CSVs) goes
through :func:`read_input_bytes`: it stats the path first and refuses
directories and special files (FIFOs, devices, sockets) without opening them --
a FIFO would block forever, ``/dev/zero`` never ends -- and files larger than
the caller's cap. docs/safety.md lists the caps.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .errors import InputError


def _mib(n: int) -> str:
    return f"{n / (1 << 20):.3g} MiB"


def read_input_bytes(path: str | os.PathLike, what: str, max_bytes: int) -> bytes:
    """The bytes of the regular file ``path`` (at most ``max_bytes``), else :class:`InputError`."""
    p = Path(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise InputError(f"cannot read {what} {str(p)!r}: file not found; check the path") from None
    except (OSError, ValueError) as exc:  # ValueError: an embedded NUL
        reason = getattr(exc, "strerror", None) or str(exc)
        raise InputError(f"cannot read {what} {str(p)!r}: {reason}; check the path") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"{what} {str(p)!r} is a directory; give the path of a file")
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{what} {str(p)!r} is a special file (FIFO, device or socket), not read; "
                         "give a regular file")
    if st.st_size > max_bytes:
        raise InputError(f"{what} {str(p)!r} is {_mib(st.st_size)}, over the {_mib(max_bytes)} limit for "
                         f"{what}s; give a smaller file")
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK)  # never blocks, even if swapped for a FIFO meanwhile
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise InputError(f"{what} {str(p)!r} is not a regular file; give a regular file")
            chunks, left = [], max_bytes + 1
            while left > 0:
                chunk = os.read(fd, min(left, 1 << 20))
                if not chunk:
                    break
                chunks.append(chunk)
                left -= len(chunk)
        finally:
            os.close(fd)
    except OSError as exc:
        raise InputError(f"cannot read {what} {str(p)!r}: {exc.strerror}; check the path") from None
    data = b"".join(chunks)
    if len(data) > max_bytes:
        raise InputError(f"{what} {str(p)!r} grew past the {_mib(max_bytes)} limit while being read; "
                         "give a finished file")
    return data


def read_input_text(path: str | os.PathLike, what: str, max_bytes: int) -> str:
    """:func:`read_input_bytes` decoded as UTF-8 (a BOM is kept), else :class:`InputError`."""
    data = read_input_bytes(path, what, max_bytes)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{what} {str(path)!r} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset "
                         f"{exc.start}); save it as UTF-8") from None
