"""Output paths that never destroy data: validation, result manifests, stale temporaries.

Rules (README "What -o replaces", docs/safety.md):

- A result directory carries a manifest :data:`MANIFEST` (tool, kind, version,
  created). lim-hw replaces a directory only if it carries a manifest of the
  same kind, or is empty. It refuses ``""``, the current directory and its
  ancestors, a symbolic link, an existing file, a non-empty directory without a
  manifest, a path under a file, a missing or unwritable parent and a name too
  long for the file system -- with one error line naming the path and the fix,
  before any simulation starts (:func:`check_output_dir`).
- A single output file (CSV, netlist, card, plot, JUnit XML) may replace only a
  file lim-hw wrote: one whose first bytes carry the ``lim_hw=<version>``
  provenance stamp (:func:`check_output_file`).
- Temporary siblings are named ``.<name>.lim-hw-XXXX.tmp`` and carry a manifest
  with the pid that made them; :func:`remove_stale_siblings` removes only those
  whose process is gone.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as _dt
import errno
import json
import os
import re
import shutil
import stat
import time
from pathlib import Path

from . import __version__
from .errors import InputError

MANIFEST = ".lim-hw-result.json"
TOOL = "lim-hw"
#: Bytes of a file searched for the provenance stamp (plots keep theirs in metadata).
STAMP_SCAN_BYTES = 1 << 20
STAMP = re.compile(rb"lim_hw=\d")
#: Longest file name component most Linux file systems accept (bytes).
NAME_MAX = 255
_TMP_TAG = ".lim-hw-"
#: An empty temporary sibling this old (s) is stale even without a manifest.
_EMPTY_STALE_S = 60.0


def _fail(option: str, path: object, problem: str, fix: str) -> InputError:
    return InputError(f"{option} {str(path)!r} {problem}; {fix}")


def _basic(path: str | os.PathLike, option: str) -> Path:
    text = os.fspath(path)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if not text.strip():
        raise InputError(f"{option} is empty; give a path such as out")
    if "\0" in text:
        raise _fail(option, text, "contains a NUL character", "give a plain path")
    for part in Path(text).parts:
        if len(os.fsencode(part)) > NAME_MAX:
            raise _fail(option, text[:60] + "...", f"has a name longer than {NAME_MAX} bytes",
                        "choose a shorter name")
    return Path(text)


def _lstat(p: Path) -> os.stat_result | None:
    try:
        return os.lstat(p)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise InputError(f"cannot inspect {str(p)!r} ({exc.strerror}); check the path") from None


def _check_parent(p: Path, option: str, create_parents: bool) -> Path:
    """The parent of ``p``: existing directory (or creatable when ``create_parents``)."""
    parent = p.parent
    probe = parent
    while True:
        st = _lstat(probe)
        if st is not None:
            if not stat.S_ISDIR(os.stat(probe).st_mode):
                raise _fail(option, p, f"lies under {str(probe)!r}, which is not a directory",
                            "choose a path in a directory")
            break
        if probe == probe.parent:
            break
        probe = probe.parent
    if probe != parent and not create_parents:
        raise _fail(option, p, f"needs the folder {str(parent)!r}, which does not exist",
                    f"create it first (mkdir -p {parent}) or choose another path")
    return parent


def _check_not_cwd(p: Path, option: str) -> None:
    try:
        resolved, cwd = p.resolve(), Path.cwd().resolve()
    except (OSError, RuntimeError) as exc:
        raise _fail(option, p, f"cannot be resolved ({exc})", "give a plain directory path") from None
    if resolved == cwd or resolved in cwd.parents:
        raise _fail(option, p, "is the current directory or one of its parents, which lim-hw never replaces",
                    "give a new directory name such as out")


def read_manifest(directory: Path) -> dict | None:
    """The manifest of ``directory`` if it is a lim-hw result, else None."""
    try:
        st = os.lstat(directory / MANIFEST)
        if not stat.S_ISREG(st.st_mode) or st.st_size > 65536:
            return None
        data = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) and data.get("tool") == TOOL else None


#: Files a flow result written before manifests existed (lim-hw 0.1.0 of 2026) may hold.
_LEGACY_FLOW = re.compile(r"(updates\.csv|summary\.json|synthesis\.csv|netlist\.cir|card\.toml|report\.html|"
                          r"(fg_voltage|barrier|energy)\.png|waveforms(_c\d+-\d+)?\.(raw|csv))")


def _legacy_flow_result(p: Path) -> bool:
    """A flow result from before manifests: only flow output files, and a summary.json lim-hw wrote."""
    try:
        entries = list(os.scandir(p))
        if not all(e.is_file(follow_symlinks=False) and _LEGACY_FLOW.fullmatch(e.name) for e in entries):
            return False
        summary = json.loads((p / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return False
    return isinstance(summary, dict) and "lim_hw" in (summary.get("provenance") or {})


def _replaceable_dir(p: Path, kind: str, option: str) -> bool:
    """True if ``p`` exists (an empty dir or a result of ``kind``); False if absent. Else InputError."""
    st = _lstat(p)
    if st is None:
        return False
    if stat.S_ISLNK(st.st_mode):
        raise _fail(option, p, "is a symbolic link", "give the real directory, or a new name")
    if not stat.S_ISDIR(st.st_mode):
        raise _fail(option, p, "exists and is not a directory", "choose a new directory name")
    try:
        empty = next(os.scandir(p), None) is None
    except OSError as exc:
        raise _fail(option, p, f"cannot be read ({exc.strerror})", "choose another directory") from None
    if empty:
        return True
    manifest = read_manifest(p)
    if manifest is None and kind == "flow" and _legacy_flow_result(p):
        return True
    if manifest is None:
        raise _fail(option, p, f"is a non-empty directory that is not a lim-hw result (no {MANIFEST}); "
                    "lim-hw replaces only its own results", "choose a new or empty directory")
    if manifest.get("kind") != kind:
        raise _fail(option, p, f"holds a lim-hw {manifest.get('kind')!r} result, not a {kind!r} one",
                    "choose another directory")
    return True


def _probe_write(parent: Path, p: Path, option: str, want_dir: bool) -> None:
    """Create (then remove) the target's name itself, or a probe beside it if it exists."""
    try:
        if _lstat(p) is None:
            if want_dir:
                os.mkdir(p)
                os.rmdir(p)
            else:
                os.close(os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
                os.unlink(p)
        else:
            probe = parent / f".lim-hw-probe-{os.getpid()}-{time.monotonic_ns()}"
            os.mkdir(probe)
            os.rmdir(probe)
    except OSError as exc:
        raise _fail(option, p, f"cannot be written ({exc.strerror})",
                    "choose a writable location") from None


def check_output_dir(path: str | os.PathLike, kind: str, option: str = "-o", *,
                     create_parents: bool = False, probe: bool = True) -> Path:
    """Validate an output directory before any work starts (see the module rules) -> Path.

    ``kind`` names what the command writes ("flow", "train", "sweep", ...). Raises
    :class:`InputError` (one line: the path, the problem, the fix).
    """
    p = _basic(path, option)
    _check_not_cwd(p, option)
    parent = _check_parent(p, option, create_parents)
    _replaceable_dir(p, kind, option)
    if probe and _lstat(parent) is not None:
        _probe_write(parent, p, option, want_dir=True)
    return p


def written_by_lim_hw(path: Path) -> bool:
    """True if the regular file ``path`` carries the ``lim_hw=<version>`` provenance stamp."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        return STAMP.search(os.read(fd, STAMP_SCAN_BYTES)) is not None
    finally:
        os.close(fd)


def check_output_file(path: str | os.PathLike, option: str, suffixes: tuple[str, ...] | None = None) -> Path:
    """Validate a single output file before any work starts -> Path (InputError otherwise).

    An existing file is replaced only if lim-hw wrote it (:func:`written_by_lim_hw`).
    """
    p = _basic(path, option)
    if suffixes is not None and p.suffix.lower() not in suffixes:
        raise _fail(option, p, f"must end in {' or '.join(suffixes)}", "rename it")
    parent = _check_parent(p, option, create_parents=False)
    st = _lstat(p)
    if st is not None:
        if stat.S_ISLNK(st.st_mode):
            raise _fail(option, p, "is a symbolic link", "give the real file, or a new name")
        if stat.S_ISDIR(st.st_mode):
            raise _fail(option, p, "is a directory", "give a file name")
        if not stat.S_ISREG(st.st_mode):
            raise _fail(option, p, "is a special file (FIFO, device or socket)", "give a regular file name")
        if not written_by_lim_hw(p):
            raise _fail(option, p, "exists and was not written by lim-hw (no lim_hw= stamp); lim-hw replaces "
                        "only files it wrote", "choose a new name or remove the file yourself")
    _probe_write(parent, p, option, want_dir=False)
    return p


def check_distinct(*pairs: tuple[str, Path | None]) -> None:
    """Refuse two outputs of one command that name the same file."""
    seen: dict[Path, str] = {}
    for option, p in pairs:
        if p is None:
            continue
        key = Path(os.path.abspath(p))
        if key in seen:
            raise InputError(f"{seen[key]} and {option} name the same file {str(p)!r}; give two different paths")
        seen[key] = option


# --- manifests and temporary siblings --------------------------------------------------

def manifest_text(kind: str, target: str, building: bool = False) -> str:
    data = {"tool": TOOL, "kind": kind, "version": __version__,
            "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "pid": os.getpid(), "target": target}
    if building:
        data["building"] = True
    return json.dumps(data, indent=2) + "\n"


def write_manifest(directory: Path, kind: str, target: str, building: bool = False) -> None:
    """Write the manifest of ``directory`` (atomically: temp file + rename).

    ``building`` marks a temporary directory still being written by process ``pid``.
    """
    tmp = directory / f"{MANIFEST}.{os.getpid()}.tmp"
    tmp.write_text(manifest_text(kind, target, building), encoding="utf-8")
    os.replace(tmp, directory / MANIFEST)


def ensure_result_dir(path: str | os.PathLike, kind: str, option: str = "-o") -> Path:
    """Make ``path`` an (incrementally written) result directory of ``kind``: validate, create, mark."""
    p = check_output_dir(path, kind, option, create_parents=True, probe=False)
    p.mkdir(parents=True, exist_ok=True)
    if read_manifest(p) is None:
        write_manifest(p, kind, p.name)
    return p


def sibling_prefix(name: str) -> str:
    """``.<name>.lim-hw-`` with ``name`` cut to 64 bytes (so the sibling's name stays short)."""
    stem = os.fsencode(name)[:64].decode("utf-8", errors="ignore") if name else "out"
    return f".{stem}{_TMP_TAG}"


def _pid_alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_tree(path: Path) -> None:
    """Delete a result tree, its manifest last, so a kill midway leaves it recognisable as ours."""
    try:
        entries = list(os.scandir(path))
    except FileNotFoundError:
        return
    except NotADirectoryError:
        path.unlink(missing_ok=True)
        return
    for e in entries:
        if e.name == MANIFEST:
            continue
        if e.is_dir(follow_symlinks=False):
            shutil.rmtree(e.path, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(e.path)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path / MANIFEST)
    with contextlib.suppress(FileNotFoundError):
        os.rmdir(path)


def remove_stale_siblings(target: Path) -> list[Path]:
    """Remove temporaries of ``target`` left by killed lim-hw runs; return what was removed.

    Only directories named ``.<name>.lim-hw-*.tmp`` / ``.old`` whose manifest names
    ``target`` and is not still being built by a live process (or empty ones older
    than a minute): a finished manifest there is a result that was swapped out.
    A stale ``.old`` (the previous result, renamed aside) is put back if ``target`` is gone.
    """
    parent, prefix = target.parent, sibling_prefix(target.name)
    removed: list[Path] = []
    try:
        entries = [e for e in os.scandir(parent) if e.name.startswith(prefix)
                   and e.name.endswith((".tmp", ".old"))]
    except OSError:
        return removed
    for e in entries:
        p = Path(e.path)
        if not e.is_dir(follow_symlinks=False):
            continue
        manifest = read_manifest(p)
        if manifest is None:
            with contextlib.suppress(OSError):
                if next(os.scandir(p), None) is None and time.time() - os.lstat(p).st_mtime > _EMPTY_STALE_S:
                    os.rmdir(p)
                    removed.append(p)
            continue
        if manifest.get("target") != target.name or (manifest.get("building") and _pid_alive(manifest.get("pid"))):
            continue
        if e.name.endswith(".old") and _lstat(target) is None:
            with contextlib.suppress(OSError):
                os.rename(p, target)  # the previous result, put back
            continue
        remove_tree(p)
        removed.append(p)
    return removed


_libc = None


def exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux ``renameat2(RENAME_EXCHANGE)``); False where unsupported."""
    global _libc
    try:
        if _libc is None:
            _libc = ctypes.CDLL(None, use_errno=True)
        fn = _libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EPERM):
        return False
    raise OSError(err, os.strerror(err), str(b))


def output_path(text: str) -> Path:
    """argparse ``type=`` for output paths: refuses an empty string (which Path would read as ".")."""
    import argparse

    if not text.strip():
        raise argparse.ArgumentTypeError("empty path; give a file or directory name")
    return Path(text)
