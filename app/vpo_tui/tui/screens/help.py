"""The key reference, one screen, reachable from everywhere with ``?``."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP_TEXT = """\
# vpo-tui keys

**Flow:** Pick folders and a policy → Preview what will change → Run → Summary.

## Everywhere

- `?` this help · `q` / `ctrl+q` quit (asks what to do with running files)
- `escape` back (on the run screen: once the batch has ended)
- `tab` / `shift+tab` the next / previous control · `ctrl+p` command palette

## Pick

- `space` mark / unmark the folder or file under the cursor · `enter` open / close a folder
- `/`, `ctrl+l` type a path (`tab` completes, also `.hidden` names); `enter` marks it
  and gives the keys back to the tree
- `p`, `ctrl+o` choose the policy (`enter` picks, `escape` closes the list)
- `n` preview the marked paths · `h` history · `l` the last batch's summary

## Preview

- `x` exclude / include the file under the cursor
- `/` filter by file name: `r` then runs only the files shown (the count line says so);
  `escape` in the filter clears it
- `r` run · exclusions and the filter are kept when you go back and preview again

## Run

- `p` pause / resume · `s` **Stop**: running files finish, no new file starts
- `k` **Kill**: stop running files now (asks first; originals untouched)
- `+` / `-` one worker more / less · `l` the error log · `/` filter the table
- `enter` the summary, once the batch has ended

## Summary and history

- `r` run the failed and cancelled files again · `n` a new batch · `h` history

## Report (command palette: Report)

- `s` 24 hours / 7 days / 30 days · `r` run the selected failure group again

## Watch (`vpo-tui watch` on a terminal)

- `q` stop watching: running files are killed, originals kept

## Dialogs

- arrow keys / `tab` move between the buttons; they stop at the last one
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss_help", "Close"),
    ]

    def compose(self) -> ComposeResult:
        box = VerticalScroll(id="help-box")
        # Said on the frame itself: in view however the text is scrolled.
        box.border_title = "Help: esc, q or ? closes"
        box.border_subtitle = "↑ ↓ PgUp PgDn scroll"
        with box:
            yield Markdown(HELP_TEXT)

    def on_mount(self) -> None:
        self.query_one("#help-box", VerticalScroll).focus()  # the arrow keys scroll it

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
