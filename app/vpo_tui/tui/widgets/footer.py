"""The key line at the bottom of every screen, compact on a small terminal."""

from __future__ import annotations

from textual import events
from textual.widgets import Footer

NARROW = 100  # below this many columns the keys are drawn closer together


class KeyFooter(Footer):
    """Textual's footer; under ``NARROW`` columns in its compact style, so that the
    keys every screen ends with (``q`` quit, ``?`` help) still fit 80 columns."""

    def on_mount(self) -> None:
        self.compact = self.app.size.width < NARROW

    def on_resize(self, event: events.Resize) -> None:
        self.compact = self.app.size.width < NARROW
