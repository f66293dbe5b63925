"""Where the service finds the files it ships: templates and packaged data."""

from __future__ import annotations

import sys
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = PACKAGE_DIR / "data"


def static_dir() -> Path:
    """The web application's stylesheet and images, shipped inside the package."""
    return PACKAGE_DIR / "static"


def templates_dir() -> Path:
    """The root ``templates/`` folder: beside the package in a checkout, under share/ in a wheel."""
    candidates = [
        PACKAGE_DIR.parent / "templates",
        Path(sys.prefix) / "share" / "pipeda-auditor" / "templates",
    ]
    for candidate in candidates:
        if (candidate / "base.html").is_file():
            return candidate
    raise RuntimeError("templates folder not found; reinstall pipeda-auditor")
