"""The app's rooms, read from the code: no import circle in ``tui/``, no other front end.

Screens depend on messages and the ``Host`` protocol, never on the app class; the
app is the only module that imports every screen (issue 16).
"""

from __future__ import annotations

import ast
from pathlib import Path

import vpo_tui.tui

TUI = Path(vpo_tui.tui.__file__).parent
OTHER_FRONT_ENDS = ("vpo_tui.headless", "vpo_tui.watch", "vpo_tui.cli")


def _imports() -> dict[str, set[str]]:
    """Module name -> the vpo_tui modules it imports (inside functions too)."""
    found: dict[str, set[str]] = {}
    for path in TUI.rglob("*.py"):
        name = ".".join(("vpo_tui", "tui", *path.relative_to(TUI).with_suffix("").parts))
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("vpo_tui"):
                deps.add(node.module or "")
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names if a.name.startswith("vpo_tui"))
        found[name.removesuffix(".__init__")] = deps
    return found


def test_no_import_circle_in_the_app() -> None:
    graph = _imports()
    circles: list[list[str]] = []

    def walk(module: str, path: list[str], done: set[str]) -> None:
        for dep in sorted(graph.get(module, ())):
            if dep in path:
                circles.append([*path[path.index(dep) :], dep])
            elif dep in graph and dep not in done:
                done.add(dep)
                walk(dep, [*path, dep], done)

    for module in sorted(graph):
        walk(module, [module], set())
    assert circles == []
    screens = [m for m in graph if m.startswith("vpo_tui.tui.screens.")]
    assert len(screens) >= 6 and not any("vpo_tui.tui.app" in graph[s] for s in screens)


def test_the_app_imports_no_other_front_end() -> None:
    leaks = {
        module: sorted(d for d in deps if d.startswith(OTHER_FRONT_ENDS))
        for module, deps in _imports().items()
    }
    assert {m: d for m, d in leaks.items() if d} == {}
