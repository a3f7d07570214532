"""A real headless browser (Debian's chromium) that opens report.html the way a reader does.

:func:`check_report` renders a report from ``file://`` and returns what the
reader sees: the headline text and, for every image, whether it loaded
(``naturalWidth > 0``). It opens a copy of the report, written beside it so
that relative image paths resolve, with a small script that writes those
facts into the page once it has loaded; ``--dump-dom`` returns the page
after its load event. :func:`screenshot` makes the PNG in README.md
(``python -m lim_hw.report.browser screenshot REPORT.html OUT.png``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import LimHwError

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "chrome")
#: Flags for a quiet, self-contained run: no sandbox (root in CI), no GPU, nothing fetched from the network.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
         "--allow-file-access-from-files")
_CHECK_ID = "lim-hw-browser-check"
#: An image that does not exist, added to the probe page: the check must see it broken, or it proves nothing.
CONTROL_IMAGE = "lim-hw-browser-check-missing.png"
_SCRIPT = (f"<img src='{CONTROL_IMAGE}' alt=''>"
           "<script>window.addEventListener('load',function(){var r={headline:(document.getElementById("
           "'headline')||{}).textContent||'',images:Array.prototype.map.call(document.images,function(i){"
           "return {src:i.getAttribute('src'),width:i.naturalWidth,height:i.naturalHeight,complete:i.complete}})};"
           f"var p=document.createElement('pre');p.id='{_CHECK_ID}';p.textContent=JSON.stringify(r);"
           "document.body.appendChild(p);});</script>")


@dataclass(frozen=True)
class PageCheck:
    """What the browser saw: the headline and ``(src, naturalWidth, naturalHeight)`` of every image.

    ``control_detected``: the probe's own missing image (:data:`CONTROL_IMAGE`) was seen as
    broken, so a broken report image would have been seen too.
    """

    headline: str
    images: tuple[tuple[str, int, int], ...]
    dom: str
    control_detected: bool

    @property
    def broken_images(self) -> list[str]:
        return [src for src, w, _h in self.images if w <= 0]


def find_chromium() -> str:
    """Path of a chromium binary (``$LIM_HW_CHROMIUM`` or the first of :data:`CANDIDATES` on PATH)."""
    override = os.environ.get("LIM_HW_CHROMIUM", "").strip()
    for name in ((override,) if override else CANDIDATES):
        exe = shutil.which(name)
        if exe:
            return exe
    raise LimHwError("chromium was not found -- hint: `make install` installs it as root "
                     "(apt-get install chromium), or set LIM_HW_CHROMIUM to a chromium/chrome binary")


def _run(args: list[str], timeout_s: float) -> str:
    with tempfile.TemporaryDirectory(prefix="lim-hw-chromium-") as profile:
        proc = subprocess.run([find_chromium(), *FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=timeout_s, stdin=subprocess.DEVNULL,
                              env={**os.environ, "HOME": profile})
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise LimHwError(f"chromium exited with status {proc.returncode}: {last}")
    return proc.stdout


def check_report(report: str | os.PathLike, timeout_s: float = 60.0) -> PageCheck:
    """Render ``report`` (an HTML file) in headless chromium from ``file://``; see :class:`PageCheck`."""
    report = Path(report).resolve()
    text = report.read_text(encoding="utf-8")
    probe = text.replace("</body>", _SCRIPT + "</body>", 1) if "</body>" in text else text + _SCRIPT
    fd, name = tempfile.mkstemp(dir=report.parent, prefix=".browser-check-", suffix=".html")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(probe)
        dom = _run(["--virtual-time-budget=5000", "--dump-dom", Path(name).as_uri()], timeout_s)
    finally:
        os.unlink(name)
    m = re.search(rf"<pre id=\"{_CHECK_ID}\">(.*?)</pre>", dom, re.DOTALL)
    if m is None:
        raise LimHwError("the page never finished loading in chromium (no load event); open it by hand")
    import html

    facts = json.loads(html.unescape(m.group(1)))
    images = tuple((i["src"], int(i["width"]), int(i["height"])) for i in facts["images"])
    control = [w for src, w, _h in images if src == CONTROL_IMAGE]
    return PageCheck(facts["headline"], tuple(i for i in images if i[0] != CONTROL_IMAGE),
                     dom[:m.start()] + dom[m.end():], control == [0])


def screenshot(report: str | os.PathLike, png: str | os.PathLike, width: int = 1000, height: int = 1700,
               timeout_s: float = 60.0) -> Path:
    """A PNG of the top ``width`` x ``height`` CSS pixels of ``report`` as chromium renders it."""
    png = Path(png).resolve()
    png.parent.mkdir(parents=True, exist_ok=True)
    _run([f"--window-size={width},{height}", "--virtual-time-budget=5000", f"--screenshot={png}",
          Path(report).resolve().as_uri()], timeout_s)
    if not png.is_file() or png.stat().st_size == 0:
        raise LimHwError(f"chromium wrote no screenshot {png}")
    return png


def main(argv: list[str] | None = None) -> int:
    """``python -m lim_hw.report.browser screenshot REPORT.html OUT.png [WIDTH HEIGHT]`` or ``check REPORT.html``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) >= 3 and args[0] == "screenshot":
        size = [int(a) for a in args[3:5]]
        print(screenshot(args[1], args[2], *size))
        return 0
    if len(args) == 2 and args[0] == "check":
        page = check_report(args[1])
        print(json.dumps({"headline": page.headline, "images": page.images, "broken": page.broken_images,
                          "control_detected": page.control_detected}, indent=1))
        return 1 if page.broken_images or not page.control_detected else 0
    print(main.__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
