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

| Key | Where | What it does |
|---|---|---|
| `space` | Pick | mark / unmark the folder or file under the cursor |
| `enter` | Pick | open / close a folder |
| `/`, `ctrl+l` | Pick | type a path (`tab` completes, also `.hidden` names; `enter` marks it) |
| `p`, `ctrl+o` | Pick | choose the policy (opens the list; `enter` picks, `escape` closes) |
| `n` | Pick | go to the preview of the marked paths |
| `l` | Pick | the last batch's summary (until a new batch starts) |
| `x` | Preview | exclude / include the file under the cursor |
| `r` | Preview, Summary | run the batch (Summary: run the failed and cancelled files again) |
| `s` | Run | **Stop**: running files finish, no new file starts (a button too) |
| `k` | Run | **Kill**: stop running files now (asks first; originals untouched; a button too) |
| `p` | Run | pause / resume (a button too) |
| `enter` | Run | the summary, once the batch has ended |
| `+` / `-` | Run | one worker more / less |
| `l` | Run | show / hide the error log |
| `/` | Preview, Run | filter the table by file name |
| `h` | Pick, Summary | history of past batches |
| `s` | Report | 24 hours / 7 days / 30 days (the Report is in the command palette) |
| `r` | Report | run the selected failure group again |
| `q` | Watch (`vpo-tui watch`) | stop watching (running files killed, originals kept) |
| `escape` | everywhere | back |
| arrow keys | dialogs | move between the buttons |
| `?` | everywhere | this help |
| `ctrl+p` | everywhere | command palette (themes, screens, quit) |
| `q` / `ctrl+q` | everywhere | quit (asks what to do with running files) |
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss_help", "Close"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Markdown(HELP_TEXT)

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
