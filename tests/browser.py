"""Headless Chromium for the tests that look at a page as a browser lays it out (the
documentation's tables, the matrix's HTML page)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

#: The browser on PATH, or None (those tests skip, saying so; scripts/test.sh installs one).
CHROMIUM = next(
    (
        found
        for name in ("chromium", "chromium-browser", "google-chrome")
        if (found := shutil.which(name))
    ),
    None,
)
NO_BROWSER = "no Chromium to open the page in"


def dump_dom(page: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    """Open `page` headless, reaching for nothing on the network, and print its DOM once its
    scripts have run (the stdout)."""
    assert CHROMIUM is not None, NO_BROWSER
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            *flags,
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
