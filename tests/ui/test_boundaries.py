"""The layers stay apart: Qt only in memo_desktop/ui (napari's rule: the core, the CLI and the headless worker never
import PySide6), the web layer only in memo_desktop/web (core never imports it), and redis-py's errors only behind
core's boundary (the UI imports no `redis`)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import memo_desktop

PACKAGE = Path(memo_desktop.__file__).parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_qt_import_outside_the_ui_package():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if PACKAGE / "ui" in path.parents:
            continue
        if any(name.split(".")[0] in ("PySide6", "shiboken6") for name in imported_modules(path)):
            offenders.append(str(path.relative_to(PACKAGE.parent)))
    assert not offenders, f"Qt imported outside memo_desktop/ui: {offenders}"


def _offenders(under: Path, forbidden: tuple[str, ...]) -> list[str]:
    return [str(path.relative_to(PACKAGE.parent)) for path in sorted(under.rglob("*.py"))
            if any(name == f or name.startswith(f + ".") for name in imported_modules(path) for f in forbidden)]


def test_core_never_imports_the_shells():
    offenders = _offenders(PACKAGE / "core", ("memo_desktop.ui", "memo_desktop.web", "memo_desktop.cli"))
    assert not offenders, f"core imports a shell: {offenders}"


def test_the_ui_imports_no_redis():
    offenders = _offenders(PACKAGE / "ui", ("redis", "rq"))
    assert not offenders, f"the UI talks to Redis itself instead of through core: {offenders}"


def test_the_cli_and_core_load_without_qt():
    code = ("import sys, memo_desktop.cli, memo_desktop.core.context, memo_desktop.core.playback, "
            "memo_desktop.core.pipeline; sys.exit(1 if 'PySide6' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


WEB_STACK = ("memo_desktop.web", "fastapi", "starlette", "uvicorn", "jinja2", "python_multipart")


def test_core_never_imports_the_web_layer():
    """`web/` is a shell over core like `ui/`: core reads no routes, templates or HTTP framework."""
    offenders = []
    for path in sorted((PACKAGE / "core").rglob("*.py")):
        if any(name == stack or name.startswith(stack + ".") for name in imported_modules(path) for stack in WEB_STACK):
            offenders.append(str(path.relative_to(PACKAGE.parent)))
    assert not offenders, f"the web layer imported from core: {offenders}"


def test_the_web_layer_and_the_worker_load_without_qt():
    code = ("import sys, memo_desktop.web.server, memo_desktop.core.operations, memo_desktop.cli.web_commands; "
            "sys.exit(1 if 'PySide6' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0
