"""Pick: mark folders and files, choose the policy, the worker count and dry-run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, Input, Label, OptionList, Select, Static, Switch
from textual.widgets.option_list import Option

from vpo_tui.phrasing import console_text
from vpo_tui.policy.model import Policy
from vpo_tui.tui.host import Host, host_of, refuse_for_missing_tools
from vpo_tui.tui.navigation import OpenHistory, ShowLastSummary
from vpo_tui.tui.request import BatchRequest, common_root
from vpo_tui.tui.text import display_name
from vpo_tui.tui.widgets.footer import KeyFooter
from vpo_tui.tui.widgets.marking_tree import MarkingTree
from vpo_tui.tui.widgets.path_input import PathInput


class PickScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "preview", "Preview"),
        Binding("h", "history", "History"),
        Binding("slash,ctrl+l", "focus_path", "Type a path", key_display="/"),
        # The policy list is five tabs away otherwise (tree, path, marked, recent, policy).
        Binding("p,ctrl+o", "choose_policy", "Policy", key_display="p"),
        Binding("l", "last_summary", "Last summary"),
        Binding("escape", "focus_tree", "Tree", show=False),
    ]

    @dataclass
    class PreviewRequested(Message):
        """The user pressed n: preview ``request`` (the app opens the preview)."""

        request: BatchRequest

    def __init__(self) -> None:
        super().__init__()
        self._policy: Policy | None = None
        self._focus_on_return: Widget | None = None

    @property
    def host(self) -> Host:
        return host_of(self)

    def compose(self) -> ComposeResult:
        app = self.host
        yield Static("vpo-tui — pick folders and a policy", id="title")
        yield Static("", id="tools-warning")  # shown only when a tool is missing
        with Horizontal(id="pick-body"):
            with Vertical(id="pick-left"):
                tree = MarkingTree(app.browse_root, marked=app.start_paths, id="tree")
                tree.root.label = display_name(app.browse_root, app.display_root) or "."
                tree.border_title = "Folders  (space marks, enter opens)"
                yield tree
                yield PathInput(
                    placeholder="/ or ctrl+l: type a path, enter marks it (tab completes)",
                    id="path-input",
                )
            # Scrolls: on a small terminal (80x24) tab brings Workers, Dry run and
            # Preview into view as it reaches them.
            with VerticalScroll(id="pick-right"):
                marked = OptionList(id="marked")
                marked.border_title = "Marked  (enter unmarks)"
                yield marked
                recent = OptionList(id="recent")
                recent.border_title = "Recent folders  (enter marks)"
                yield recent
                yield Label("Policy  (p)", classes="field-label")
                names = app.policy_choices()
                yield Select(
                    [(name, name) for name in names],
                    value=app.start_policy if app.start_policy in names else Select.NULL,
                    prompt="Choose a policy",
                    id="policy",
                )
                yield Static("", id="policy-description")
                yield Input(placeholder="…or a policy file (enter loads it)", id="policy-file")
                with Horizontal(classes="field-row"):
                    yield Label("Workers", classes="field-label")
                    yield Button("-", id="workers-less", classes="stepper")
                    yield Static(str(app.start_workers), id="workers-value")
                    yield Button("+", id="workers-more", classes="stepper")
                yield Static(self._cap_text(), id="workers-cap")
                with Horizontal(classes="field-row"):
                    yield Label("Dry run (change nothing)", classes="field-label")
                    yield Switch(value=app.start_dry_run, id="dry-run")
                yield Button(Text("Preview  [n]"), id="go", variant="primary")
        yield KeyFooter()

    def _cap_text(self) -> Text:
        """The real cap and why; a lowered request (resolve_workers' warning) in yellow."""
        app = self.host
        text = Text(app.worker_cap_text)
        if app.worker_choice.warning:
            text.append(f"\n{app.worker_choice.warning}", style="bold yellow")
        return text

    def on_mount(self) -> None:
        for missing in self.host.missing_paths:  # as headless refuses them: said at once
            self.notify(
                f"{missing}: no such file or folder (not marked)",
                severity="error",
                timeout=12,
                markup=False,
            )
        problem = self._refresh_tools_warning()
        if problem is not None:
            self.notify(problem, title="Missing tool", severity="error", timeout=15, markup=False)
        self._workers = self.host.start_workers
        self._refresh_marked()  # recent folders are filled on every resume (below)
        policy = self.query_one("#policy", Select)
        if policy.value is not Select.NULL:
            self._load_policy(str(policy.value))
        self.query_one("#tree", MarkingTree).focus()

    # -- marks ------------------------------------------------------------------
    @property
    def marking_tree(self) -> MarkingTree:
        return self.query_one("#tree", MarkingTree)

    def _refresh_marked(self) -> None:
        marked = self.query_one("#marked", OptionList)
        marked.clear_options()
        for path in sorted(self.marking_tree.marked):
            label = display_name(path, self.host.display_root)
            marked.add_option(Option(label, id=str(path)))

    def on_screen_suspend(self) -> None:
        """Remember where the user was; the Preview button is the way out, not a place."""
        focused = self.focused
        self._focus_on_return = None if focused is None or focused.id == "go" else focused

    def _refresh_tools_warning(self) -> str | None:
        """A line under the title while a tool a real run needs is missing (or fixed)."""
        problem = self.host.services.missing_tools(self.host.session, dry_run=False)
        line = self.query_one("#tools-warning", Static)
        line.update(Text(f"⚠ {problem}", style="bold red") if problem else "")
        line.display = problem is not None
        return problem

    def on_screen_resume(self) -> None:
        """Back from a preview or a batch: its folders are now the most recent ones,
        and typed keys go where they went before (by default: the folder tree)."""
        self._fill_recent()
        self._refresh_tools_warning()
        self.refresh_bindings()  # "Last summary" once a batch has finished
        back = self._focus_on_return
        self._focus_on_return = None
        if back is None or not back.is_attached or not back.focusable:
            back = self.marking_tree
        back.focus(scroll_visible=False)

    def _fill_recent(self) -> None:
        recent = self.query_one("#recent", OptionList)
        recent.clear_options()
        for path in self.host.recent_folders():
            recent.add_option(Option(console_text(str(path)), id=str(path)))
        if not recent.option_count:
            recent.add_option(Option("(none yet)", disabled=True))

    @on(MarkingTree.MarksChanged)
    def _marks_changed(self) -> None:
        self._refresh_marked()

    @on(OptionList.OptionSelected, "#marked")
    def _unmark(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.marking_tree.toggle(Path(event.option.id))

    @on(OptionList.OptionSelected, "#recent")
    def _mark_recent(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self._mark_typed(event.option.id)

    @on(Input.Submitted, "#path-input")
    def _path_typed(self, event: Input.Submitted) -> None:
        if self._mark_typed(event.value):
            event.input.value = ""
            # Done typing: keys are commands again (l, h, n), not more letters in the box.
            self.marking_tree.focus()

    def _mark_typed(self, text: str) -> bool:
        path = Path(text.strip()).expanduser()
        if not text.strip():
            return False
        if not path.exists():
            self.notify(f"{path}: no such file or folder", severity="error")
            return False
        path = path.absolute()
        if path not in self.marking_tree.marked:
            self.marking_tree.toggle(path)
        return True

    # -- policy -------------------------------------------------------------------
    @on(Select.Changed, "#policy")
    def _policy_changed(self, event: Select.Changed) -> None:
        if event.value is not Select.NULL:
            self._load_policy(str(event.value))

    @on(Input.Submitted, "#policy-file")
    def _policy_file(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            return
        if self._load_policy(text):
            select = self.query_one("#policy", Select)
            names = self.host.add_policy_choice(text)
            select.set_options([(n, n) for n in names])
            select.value = text
            event.input.value = ""

    def _load_policy(self, name: str) -> bool:
        description = self.query_one("#policy-description", Static)
        try:
            policy = self.host.services.load_policy(name)
        except Exception as exc:  # PolicyError and friends: shown, never a crash
            self._policy = None
            description.update(Text.assemble(("Invalid policy: ", "bold red"), str(exc)))
            return False
        self._policy = policy
        description.update(Text(policy.description or "(no description)"))
        return True

    # -- workers / go -------------------------------------------------------------------
    @on(Button.Pressed, "#workers-less")
    def _less(self) -> None:
        self._set_workers(self._workers - 1)

    @on(Button.Pressed, "#workers-more")
    def _more(self) -> None:
        self._set_workers(self._workers + 1)

    def _set_workers(self, n: int) -> None:
        cap = self.host.worker_cap
        self._workers = max(1, min(cap, n))
        self.query_one("#workers-value", Static).update(str(self._workers))

    @on(Button.Pressed, "#go")
    def action_preview(self) -> None:
        if not self.marking_tree.marked:
            self.notify("Mark at least one folder or file (space in the tree).", severity="warning")
            return
        if self._policy is None:
            self.notify("Choose a valid policy first.", severity="warning")
            return
        dry_run = self.query_one("#dry-run", Switch).value
        if refuse_for_missing_tools(self, dry_run=dry_run):
            self._refresh_tools_warning()
            return
        paths = tuple(sorted(self.marking_tree.marked))
        request = BatchRequest(
            paths=paths,
            policy=self._policy,
            workers=self._workers,
            dry_run=dry_run,
            display_root=self.host.display_root or common_root(paths),
        )
        self.app.post_message(self.PreviewRequested(request))

    def action_history(self) -> None:
        self.app.post_message(OpenHistory())

    def action_focus_tree(self) -> None:
        self.marking_tree.focus()

    def action_focus_path(self) -> None:
        self.query_one("#path-input", PathInput).focus()

    def action_choose_policy(self) -> None:
        """Focus the policy list and open it: arrows move, enter chooses, escape closes."""
        select = self.query_one("#policy", Select)
        select.focus()
        select.expanded = True

    def action_last_summary(self) -> None:
        self.app.post_message(ShowLastSummary())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "last_summary":
            return self.host.last_summary_ready
        return True
