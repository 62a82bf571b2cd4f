"""Small modal questions: quit while files run, and confirm a kill."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Static

from vpo_tui.phrasing import plural

# Every dialog: the arrow keys and tab move between its buttons, and stop at the
# last one: focus never wraps round from the harmless answer to the destructive one.
ARROWS: list[BindingType] = [
    Binding("left,up,shift+tab", "move(-1)", "Previous button", show=False),
    Binding("right,down,tab", "move(1)", "Next button", show=False),
]


def move_between_buttons(screen: Screen[Any], step: int) -> None:
    """Focus the button ``step`` places on, or stay put at either end (no wrapping)."""
    buttons = [b for b in screen.query(Button) if b.focusable]
    if not buttons:
        return
    focused = screen.focused
    here = buttons.index(focused) if isinstance(focused, Button) and focused in buttons else 0
    buttons[max(0, min(len(buttons) - 1, here + step))].focus()


class QuitWhileRunning(ModalScreen[str]):
    """Returns ``"finish"``, ``"kill"`` or ``"cancel"``."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "choose('cancel')", "Cancel"),
        Binding("f", "choose('finish')", "Finish running files"),
        Binding("k", "choose('kill')", "Kill now"),
        *ARROWS,
    ]

    def __init__(self, running: int) -> None:
        super().__init__()
        self.running = running

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            one = self.running == 1
            files = f"{plural(self.running, 'file')} {'is' if one else 'are'}"
            it, its = ("it", "its original stays") if one else ("them", "their originals stay")
            yield Static(
                f"{files} still being processed.\n"
                f"Finish {it} first (no new file starts), kill {it} now "
                f"({its} untouched), or keep going?",
                classes="dialog-text",
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button(Text("Finish running files [f]"), id="finish", variant="primary")
                yield Button(Text("Kill now [k]"), id="kill", variant="error")
                yield Button(Text("Cancel [esc]"), id="cancel")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id or "cancel")

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice)

    def action_move(self, step: int) -> None:
        move_between_buttons(self, step)


class ConfirmKill(ModalScreen[bool]):
    """Kill stops running tools at once; ask first because their work is lost."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,n", "answer(False)", "No"),
        Binding("y", "answer(True)", "Yes, kill"),
        *ARROWS,
    ]

    def __init__(self, running: int) -> None:
        super().__init__()
        self.running = running

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            if self.running == 1:
                what = "the running file now? Its partial output is deleted and the original"
                what += " stays as it was"
            else:
                what = f"the {self.running} running files now? Their partial output is deleted"
                what += " and the originals stay as they were"
            yield Static(f"Kill {what}; queued files are cancelled.", classes="dialog-text")
            with Horizontal(classes="dialog-buttons"):
                yield Button(Text("Kill [y]"), id="yes", variant="error")
                yield Button(Text("Keep running [n]"), id="no", variant="primary")

    def on_mount(self) -> None:
        # enter must never kill by accident: the harmless answer has the focus, and
        # Kill is on its left, where right / down / tab never go (no wrapping)
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)

    def action_move(self, step: int) -> None:
        move_between_buttons(self, step)
