"""Where the app's ``.tcss`` files are, installed or not.

A wheel carries them as ``vpo_tui/styles`` (pyproject force-include); an editable
install reads the repository's top-level ``styles/`` folder instead.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def styles_dir() -> Path:
    packaged = Path(str(resources.files("vpo_tui"))) / "styles"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / "styles"


def stylesheet_paths() -> list[Path]:
    """Every stylesheet, in a stable order (``app.tcss`` first)."""
    found = sorted(styles_dir().glob("*.tcss"), key=lambda p: (p.name != "app.tcss", p.name))
    return found
