"""The Textual app: screens, the quit rules, themes; ``run_tui`` is what ``cli`` calls.

The app owns no processing logic. It turns the user's choices into FileJobs for
the batch runner (run from one thread worker per batch), renders the events the
runner sends back, and makes sure no runner outlives it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path, PurePath
from typing import Any, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen

from vpo_tui.batch.events import BatchResult
from vpo_tui.engine.job import FileStatus
from vpo_tui.policy.model import Policy
from vpo_tui.tui.screens.dialogs import QuitWhileRunning
from vpo_tui.tui.screens.help import HelpScreen
from vpo_tui.tui.screens.history import HistoryScreen
from vpo_tui.tui.screens.pick import BatchRequest, PickScreen
from vpo_tui.tui.screens.preview import PreviewScreen
from vpo_tui.tui.screens.run import RunScreen
from vpo_tui.tui.screens.summary import SummaryScreen
from vpo_tui.tui.services import Runner, Services
from vpo_tui.tui.styles import stylesheet_paths

QUIT_GRACE_S = 1.5  # after "kill now", exit even if a tool is slow to die (goal: gone in 2 s)


class VpoApp(App[int]):
    TITLE = "vpo-tui"
    CSS_PATH: ClassVar[list[str | PurePath]] = list(stylesheet_paths())
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True),
        Binding("question_mark", "help", "Help"),
    ]

    def __init__(
        self,
        *,
        services: Services | None = None,
        paths: Sequence[Path] = (),
        policy: str | None = None,
        workers: int | None = None,
        dry_run: bool = False,
        browse_root: Path | None = None,
        display_root: Path | None = None,
        theme: str | None = None,
    ) -> None:
        super().__init__()
        self.services = services or Services()
        self.start_paths = [Path(p).absolute() for p in paths]
        self.start_policy = policy
        cap = self.services.worker_cap[0]
        self.start_workers = max(1, min(cap, workers or 2))
        self.start_dry_run = dry_run
        self.browse_root = (browse_root or _browse_root(self.start_paths)).absolute()
        self.display_root = display_root
        self.extra_policies: list[str] = []
        if policy and policy not in self._builtin_names():
            self.extra_policies.append(policy)
        self.active_runners: set[Runner] = set()
        self.exit_when_idle = False
        self.last_result: BatchResult | None = None
        self._start_theme = theme

    # -- start-up / shutdown -----------------------------------------------------
    def on_mount(self) -> None:
        if self._start_theme and self._start_theme in self.available_themes:
            self.theme = self._start_theme
        self.theme_changed_signal.subscribe(self, self._remember_theme)
        self.push_screen(PickScreen())

    def _remember_theme(self, theme: Any) -> None:
        save = self.services.save_theme
        if save is None or theme.name == self._start_theme:
            return
        try:
            save(theme.name)
            self._start_theme = theme.name
        except Exception as exc:  # a read-only config must not break the UI
            self.notify(f"Theme not saved: {exc}", severity="warning")

    def on_unmount(self) -> None:
        """Last line of defence (crash or quit): no runner may outlive the app."""
        self.kill_all()

    def kill_all(self) -> None:
        for runner in list(self.active_runners):
            runner.kill()

    # -- quitting ---------------------------------------------------------------------
    async def action_quit(self) -> None:
        running = [s for s in self.screen_stack if isinstance(s, RunScreen) and s.running]
        if not running:
            self.exit(self._exit_code())
            return

        def chosen(choice: str | None) -> None:
            if choice == "finish":
                self.exit_when_idle = True
                for screen in running:
                    screen.action_stop()
                self.notify("Finishing the running files, then quitting…")
            elif choice == "kill":
                self.exit_when_idle = True
                for screen in running:
                    screen.kill_now()
                self.kill_all()
                self.set_timer(QUIT_GRACE_S, lambda: self.exit(self._exit_code()))

        active = sum(s.model.active for s in running)
        self.push_screen(QuitWhileRunning(active), chosen)

    def _exit_code(self) -> int:
        result = self.last_result
        if result is not None and result.count(FileStatus.FAILED):
            return 1
        return 0

    def runner_started(self, runner: Runner) -> None:
        self.active_runners.add(runner)

    def runner_finished(self, runner: Runner | None) -> None:
        if runner is not None:
            self.active_runners.discard(runner)
        if self.exit_when_idle and not self.active_runners:
            self.exit(self._exit_code())

    # -- navigation -----------------------------------------------------------------------
    def _builtin_names(self) -> list[str]:
        try:
            return list(self.services.policy_names())
        except Exception:  # no built-ins is not a reason to crash the picker
            return []

    def policy_choices(self) -> list[str]:
        return self._builtin_names() + [p for p in self.extra_policies]

    def add_policy_choice(self, name: str) -> list[str]:
        if name not in self.policy_choices():
            self.extra_policies.append(name)
        return self.policy_choices()

    def recent_folders(self) -> list[Path]:
        store = self.services.store
        if store is None or not hasattr(store, "recent_folders"):
            return []
        try:
            return [Path(p) for p in store.recent_folders()]
        except Exception:
            return []

    def remember_folders(self, paths: Iterable[Path]) -> None:
        store = self.services.store
        if store is None or not hasattr(store, "add_recent_folder"):
            return
        for path in paths:
            try:
                store.add_recent_folder(path)
            except Exception as exc:
                self.notify(f"History not updated: {exc}", severity="warning")
                return

    def open_preview(self, request: BatchRequest) -> None:
        self.push_screen(PreviewScreen(request))

    def open_run(self, request: BatchRequest, paths: Sequence[Path]) -> None:
        screen = RunScreen(request, paths)
        if isinstance(self.screen, PickScreen):
            self.push_screen(screen)
        else:
            self.switch_screen(screen)

    def retry(self, request: BatchRequest, paths: Sequence[Path]) -> None:
        self.pop_screen()  # the summary; the run screen underneath is replaced
        self.switch_screen(RunScreen(request, paths))

    def batch_done(self, run: RunScreen, result: BatchResult) -> None:
        self.last_result = result
        if self.screen is run:
            self.push_screen(SummaryScreen(run, result))

    def back_to_pick(self) -> None:
        while len(self.screen_stack) > 2 and not isinstance(self.screen, PickScreen):
            self.pop_screen()

    def open_history(self) -> None:
        self.push_screen(HistoryScreen())

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def get_system_commands(self, screen: Screen[Any]) -> Iterator[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Help", "Every key, on one screen", self.action_help)
        yield SystemCommand("History", "Past batches and their files", self.open_history)


def _browse_root(paths: Sequence[Path]) -> Path:
    """Start the tree where the given paths are (their common folder), else the cwd."""
    if not paths:
        return Path.cwd()
    from vpo_tui.tui.screens.pick import common_root

    root = common_root(tuple(paths)) or Path.cwd()
    return root.parent if root in paths and root.parent != root else root


def run_tui(
    *,
    paths: Sequence[str | Path] = (),
    policy: str | Policy | None = None,
    workers: int | None = None,
    dry_run: bool = False,
    config: Any = None,
    db: str | Path | None = None,
    services: Services | None = None,
) -> int:
    """Open the app; returns the exit code (0, or 1 when the last batch had failures)."""
    services = services or default_services(config, db)
    policy_name = policy.source or policy.name if isinstance(policy, Policy) else policy
    app = VpoApp(
        services=services,
        paths=[Path(p) for p in paths],
        policy=policy_name,
        workers=workers,
        dry_run=dry_run,
        theme=_config_theme(config),
    )
    try:
        code = app.run()
    finally:
        app.kill_all()
    return code if isinstance(code, int) else (app.return_code or 0)


def _config_theme(config: Any) -> str | None:
    ui = getattr(config, "ui", None)
    theme = getattr(ui, "theme", None) if ui is not None else getattr(config, "theme", None)
    return theme if isinstance(theme, str) else None


def default_services(config: Any, db: str | Path | None) -> Services:
    """The real engine, runner, store and config behind the app."""
    settings = Services().settings
    if config is not None and hasattr(config, "engine_settings"):
        settings = config.engine_settings()
    # Quitting must finish within 2 s: a tool gets at most one second to honour TERM.
    settings = dataclasses.replace(settings, kill_grace_s=min(settings.kill_grace_s, 1.0))
    return Services(settings=settings, db_path=Path(db) if db else None)
