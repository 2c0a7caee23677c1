"""The app's icons, shipped inside the package (SVG, drawn by Qt's SVG icon engine).

`icon("record")`; an unknown name raises KeyError listing the known ones, so a typo fails loudly in tests instead
of showing an empty button.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from PySide6.QtGui import QIcon

_DIR = Path(__file__).parent


def names() -> list[str]:
    return sorted(p.stem for p in _DIR.glob("*.svg"))


@cache
def icon(name: str) -> QIcon:
    path = _DIR / f"{name}.svg"
    if not path.is_file():
        raise KeyError(f"unknown icon {name!r}; known icons: {', '.join(names())}")
    return QIcon(str(path))
