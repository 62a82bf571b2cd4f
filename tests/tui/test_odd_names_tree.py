"""The folder tree names a file whose name is odd as the console does: escaped."""

from __future__ import annotations

import os
from pathlib import Path

from textual.app import App, ComposeResult

from vpo_tui.tui.widgets.marking_tree import MarkingTree


class _TreeApp(App[None]):
    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root

    def compose(self) -> ComposeResult:
        yield MarkingTree(self.root)


async def test_the_folder_tree_escapes_a_newline_and_a_byte_that_is_not_utf8(
    tmp_path: Path,
) -> None:
    for name in (b"caf\xe9.mkv", b"new\nline.mkv", "Show [ジャ].mkv".encode()):
        (tmp_path / os.fsdecode(name)).write_bytes(b"")
    app = _TreeApp(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        tree = app.query_one(MarkingTree)
        for _ in range(50):
            if len(tree.root.children) == 3:
                break
            await pilot.pause(0.05)
        labels = sorted(str(node.label) for node in tree.root.children)
    assert labels == ["Show [ジャ].mkv", "caf\\xe9.mkv", "new\\nline.mkv"]
