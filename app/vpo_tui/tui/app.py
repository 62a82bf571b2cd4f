"""The Textual app: screens, the quit rules, themes; ``run_tui`` is what ``cli`` calls.

The app owns no processing logic. It turns the user's choices into FileJobs for
the batch runner (run from one thread worker per batch), renders the events the
runner sends back, and makes sure no runner outlives it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path, PurePath
from typing import Any, ClassVar

from textual import on
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.theme import Theme

from vpo_tui.batch.events import BatchResult
from vpo_tui.batch.exit_codes import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    exit_code_for,
)
from vpo_tui.batch.session import DEFAULT_POLICY, Refusal, Session
from vpo_tui.batch.workers import WorkerChoice
from vpo_tui.config import Config
from vpo_tui.engine.job import KnownProbe
from vpo_tui.phrasing import console_text
from vpo_tui.policy.model import Policy
from vpo_tui.tui.host import RunnerSet
from vpo_tui.tui.navigation import BackToPick, OpenHistory, ShowLastSummary
from vpo_tui.tui.request import BatchRequest, PreviewChoices, common_root
from vpo_tui.tui.screens.dialogs import QuitWhileRunning
from vpo_tui.tui.screens.help import HelpScreen
from vpo_tui.tui.screens.history import HistoryScreen
from vpo_tui.tui.screens.pick import PickScreen
from vpo_tui.tui.screens.preview import PreviewScreen
from vpo_tui.tui.screens.report import ReportScreen
from vpo_tui.tui.screens.run import RunScreen
from vpo_tui.tui.screens.summary import SummaryScreen
from vpo_tui.tui.services import Services, open_services, start_session
from vpo_tui.tui.styles import stylesheet_paths

QUIT_GRACE_S = 1.5  # after "kill now", exit even if a tool is slow to die (goal: gone in 2 s)
# SIGTERM, or the terminal closing (SIGHUP): nobody is left to answer a dialog
TERMINATING_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class StartRefused(Exception):
    """The app's session was refused before its first screen (``refusal`` says why)."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.console)
        self.refusal = refusal


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
        policy: str | None = DEFAULT_POLICY,
        workers: int | None = None,
        dry_run: bool = False,
        browse_root: Path | None = None,
        display_root: Path | None = None,
        executor: str | None = None,
        session: Session | None = None,
    ) -> None:
        """``policy`` defaults to the CLI's default policy; ``workers`` is ``--workers``.

        ``session`` is the batch session ``run_tui`` opened; without one the app opens
        its own from ``services`` (``StartRefused`` if it is refused: a worker count
        below 1, an unusable cluster).
        """
        super().__init__()
        self.services = services or Services()
        given = [Path(p).absolute() for p in paths]
        # A path that does not exist is said at once (as headless refuses it), never marked.
        self.missing_paths = [p for p in given if not os.path.lexists(p)]
        self.start_paths = [p for p in given if p not in self.missing_paths]
        self.start_policy = policy or DEFAULT_POLICY
        if session is None:
            opened = start_session(
                self.services,
                policy=self.start_policy,
                workers=workers,
                executor=executor,
                dry_run=dry_run,
            )
            if isinstance(opened, Refusal):
                raise StartRefused(opened)
            session = opened
        self.session = session
        self.worker_choice: WorkerChoice = session.workers
        self.start_dry_run = dry_run
        self.browse_root = (browse_root or _browse_root(self.start_paths)).absolute()
        self.display_root = display_root
        self.extra_policies: list[str] = []
        if self.start_policy not in self._builtin_names():
            self.extra_policies.append(self.start_policy)
        self.runners = RunnerSet()  # every runner a screen started; none outlives the app
        # A preview's exclusions and filter, by marked paths: esc then n keeps them.
        self.preview_memory: dict[tuple[Path, ...], PreviewChoices] = {}
        self.exit_when_idle = False
        self.terminated_by: signal.Signals | None = None
        self.quit_cut_batch_short = False
        self._signal_handlers: list[signal.Signals] = []
        self.last_result: BatchResult | None = None
        self.last_unreadable = 0  # paths the last batch's discovery could not read (exit 1)
        # The last batch's run screen, kept (even once closed) so that its summary
        # stays reachable from the pick screen and the palette until a new batch starts.
        self.last_run: RunScreen | None = None
        self._saved_theme = self.services.config.ui.theme

    @property
    def start_workers(self) -> int:
        return self.worker_choice.workers

    @property
    def worker_cap(self) -> int:
        return self.worker_choice.cap

    @property
    def worker_cap_text(self) -> str:
        return self.services.cap_reason(self.session)

    # -- start-up / shutdown -----------------------------------------------------
    def on_mount(self) -> None:
        self._handle_terminating_signals()
        wanted = self._saved_theme
        if wanted:
            if wanted in self.available_themes:
                self.theme = wanted
            else:
                self.notify(
                    f"[ui] theme = {wanted!r} is not a Textual theme; using {self.theme!r}",
                    severity="warning",
                    markup=False,
                )
        self.theme_changed_signal.subscribe(self, self._remember_theme)
        self.push_screen(PickScreen())
        if self.session.executor_note:  # on a Dask cluster: which one, how many workers
            self.notify(self.session.executor_note, title="Where files run", markup=False)
        for warning in self.session.warnings:  # a lowered worker count, plain TCP to a cluster
            self.notify(warning, severity="warning", timeout=10, markup=False)
        if self.services.store_problem:
            self.notify(self.services.store_problem, severity="warning", timeout=10, markup=False)

    def _remember_theme(self, theme: Theme) -> None:
        """Write the chosen theme into the config file in use ([ui] theme)."""
        save = self.services.save_theme
        if save is None or theme.name == self._saved_theme:
            return
        try:
            save(theme.name)
        except Exception as exc:  # a read-only or broken config must not break the UI
            self.notify(f"Theme not saved: {exc}", severity="warning", markup=False)
            return
        self._saved_theme = theme.name

    def on_unmount(self) -> None:
        """Last line of defence (crash or quit): no runner may outlive the app."""
        self.kill_all()
        loop = asyncio.get_running_loop()
        for sig in self._signal_handlers:
            loop.remove_signal_handler(sig)
        self._signal_handlers.clear()

    def _handle_terminating_signals(self) -> None:
        """SIGTERM/SIGHUP act as quit → kill now, so files end cancelled and clean.

        Without this the default action ends the process at once: the running
        tools die with it (parent-death signal), but their temp files stay until
        the next start and the batch stays "running" in the history.
        """
        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers can only be set from the main thread
        loop = asyncio.get_running_loop()
        for sig in TERMINATING_SIGNALS:
            try:
                loop.add_signal_handler(sig, self.terminate, sig)
            except (NotImplementedError, RuntimeError, ValueError):  # pragma: no cover
                continue
            self._signal_handlers.append(sig)

    def _leave_when_batches_end(self) -> None:
        """After a hang-up: exit the process once the killed batches have ended.

        There is no screen left to restore, and Textual's shutdown can block for
        ever writing to the terminal that went away; the files are already safe
        (cancelled, temp files removed, the end recorded) when the batches end.
        """

        def leave() -> None:
            self.wait_for_batches(timeout=2 * QUIT_GRACE_S + 5.0)
            store = self.services.store
            if store is not None:
                with contextlib.suppress(Exception):
                    store.close()
            os._exit(EXIT_INTERRUPTED)

        threading.Thread(target=leave, name="vpo-hangup-exit", daemon=True).start()

    def terminate(self, sig: signal.Signals = signal.SIGTERM) -> None:
        """Kill every running file and exit with 130 once the runners have ended."""
        if self.terminated_by is not None:
            return
        self.terminated_by = sig
        if sig == signal.SIGHUP:
            detach_from_dead_terminal()
            self._leave_when_batches_end()
        self.exit_when_idle = True
        for screen in self.screen_stack:
            if isinstance(screen, RunScreen) and screen.running:
                screen.kill_now()
        self.kill_all()
        if not self.runners.active:
            self.exit(self._exit_code())
        else:
            self.set_timer(QUIT_GRACE_S, lambda: self.exit(self._exit_code()))

    def kill_all(self) -> None:
        self.runners.kill_all()

    def wait_for_batches(self, timeout: float = QUIT_GRACE_S) -> bool:
        """After the app has exited: give killed runners time to record their end."""
        return self.runners.wait(timeout)

    # -- quitting ---------------------------------------------------------------------
    async def action_quit(self) -> None:
        running = [s for s in self.screen_stack if isinstance(s, RunScreen) and s.running]
        if not running:
            self.exit(self._exit_code())
            return

        def chosen(choice: str | None) -> None:
            still_running = any(screen.running for screen in running)
            if choice in ("finish", "kill") and still_running:
                self.quit_cut_batch_short = True  # exit 130, like Ctrl-C headless
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
            if self.exit_when_idle and not self.runners.active:
                self.exit(self._exit_code())  # the batch ended while the question was open

        active = sum(s.model.active for s in running)
        self.push_screen(QuitWhileRunning(active), chosen)

    def _exit_code(self) -> int:
        """The headless code of the last batch (``exit_code_for``); 130 when cut short on quit."""
        if self.terminated_by is not None or self.quit_cut_batch_short:
            return EXIT_INTERRUPTED
        result = self.last_result
        return exit_code_for(result, self.last_unreadable) if result is not None else EXIT_OK

    @on(RunScreen.RunnerDone)
    def _runner_done(self) -> None:
        if self.exit_when_idle and not self.runners.active:
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
        """The roots of recent batches, from the history store (the runner records them)."""
        store = self.services.store
        if store is None:
            return []
        try:
            return [Path(p) for p in store.recent_folders()]
        except Exception as exc:  # a broken database must not stop the picker
            self.notify(f"Cannot read recent folders: {exc}", severity="warning", markup=False)
            return []

    # -- what the screens ask for (their messages) ------------------------------------
    @on(PickScreen.PreviewRequested)
    def _preview_requested(self, message: PickScreen.PreviewRequested) -> None:
        self.open_preview(message.request)

    @on(PreviewScreen.RunRequested)
    def _run_requested(self, message: PreviewScreen.RunRequested) -> None:
        self.open_run(message.request, message.paths, message.known, message.durations)

    @on(SummaryScreen.RetryRequested)
    def _retry_requested(self, message: SummaryScreen.RetryRequested) -> None:
        self.retry(message.request, message.paths, message.durations)

    @on(RunScreen.Finished)
    def _run_finished(self, message: RunScreen.Finished) -> None:
        """A finished run: its result decides the exit code; its summary opens if the
        run is what the user is looking at (only the last run can still post this)."""
        self.last_result = message.result
        # A folder the preview could not read is work not done: exit 1, as headless says.
        self.last_unreadable = sum(1 for p in message.request.discovery_problems if p.unreadable)
        if self.last_run is not None and self.screen is self.last_run:
            self.push_screen(SummaryScreen(message.request, message.result, message.durations))

    @on(OpenHistory)
    def open_history(self) -> None:
        self.push_screen(HistoryScreen())

    def open_report(self) -> None:
        self.push_screen(ReportScreen())

    @on(ReportScreen.RetryGroup)
    def _retry_group(self, message: ReportScreen.RetryGroup) -> None:
        """A failure group from the report, run again under the policy it failed under."""
        from vpo_tui.policy.load import PolicyError, load_policy

        try:
            policy = load_policy(message.policy)
        except PolicyError as exc:
            self.notify(str(exc), title="Cannot run", severity="error", markup=False)
            return
        request = BatchRequest(
            message.paths, policy, self.start_workers, False, common_root(message.paths)
        )
        self.open_run(request, message.paths)

    @on(ShowLastSummary)
    def show_last_summary(self) -> None:
        """The last batch's summary, from wherever the user is (until a new batch starts)."""
        run = self.last_run
        if run is None or run.model.result is None:
            self.notify("No batch has finished yet in this session.")
            return
        if isinstance(self.screen, SummaryScreen):
            return
        if self.screen is not run and run in self.screen_stack:
            while self.screen is not run:
                self.pop_screen()
        self.push_screen(SummaryScreen(run.request, run.model.result, run.durations()))

    @on(BackToPick)
    def back_to_pick(self) -> None:
        while len(self.screen_stack) > 2 and not isinstance(self.screen, PickScreen):
            self.pop_screen()

    def open_preview(self, request: BatchRequest) -> None:
        self.push_screen(PreviewScreen(request))

    def open_run(
        self,
        request: BatchRequest,
        paths: Sequence[Path],
        known: Mapping[Path, KnownProbe] | None = None,
        durations: Mapping[Path, float] | None = None,
    ) -> None:
        """The run screen; ``known`` holds the preview's probes, which the run reuses,
        ``durations`` the playing times already probed (each file's weight in the bar)."""
        screen = RunScreen(request, paths, known, durations)
        self.last_run = screen
        if isinstance(self.screen, PickScreen):
            self.push_screen(screen)
        else:
            self.switch_screen(screen)

    def retry(
        self,
        request: BatchRequest,
        paths: Sequence[Path],
        durations: Mapping[Path, float] | None = None,
    ) -> None:
        self.pop_screen()  # the summary; the run screen underneath (if any) is replaced
        screen = RunScreen(request, paths, durations=durations)
        self.last_run = screen
        if isinstance(self.screen_stack[-1], RunScreen):
            self.switch_screen(screen)
        else:  # the summary was opened again from the pick screen
            self.push_screen(screen)

    @property
    def last_summary_ready(self) -> bool:
        run = self.last_run
        return run is not None and run.model.result is not None

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def get_system_commands(self, screen: Screen[Any]) -> Iterator[SystemCommand]:
        for command in super().get_system_commands(screen):
            if command.title != "Keys":  # Textual's key panel: "Help" below is the one list
                yield command
        yield SystemCommand("Help: keys", "Every key of every screen", self.action_help)
        yield SystemCommand("History", "Past batches and their files", self.open_history)
        yield SystemCommand(
            "Report", "Files, space and time per day; failures by cause", self.open_report
        )
        if self.last_summary_ready:
            yield SystemCommand(
                "Last batch's summary", "Totals, failures, retry", self.show_last_summary
            )


def _browse_root(paths: Sequence[Path]) -> Path:
    """Start the tree where the given paths are (their common folder), else the cwd."""
    if not paths:
        return Path.cwd()
    root = common_root(tuple(paths)) or Path.cwd()
    return root.parent if root in paths and root.parent != root else root


def detach_from_dead_terminal() -> None:
    """Point stdin/stdout/stderr at /dev/null: the terminal that hung up is gone.

    Writes to it fail (EIO) or block, and Textual's shutdown writes to it to
    restore the screen; with /dev/null those writes succeed and the exit goes on.
    """
    null = os.open(os.devnull, os.O_RDWR)
    try:
        for fd in (0, 1, 2):
            os.dup2(null, fd)
    finally:
        os.close(null)


def run_tui(
    *,
    paths: Sequence[str | Path] = (),
    policy: str | Policy | None = None,
    workers: int | None = None,
    dry_run: bool = False,
    config: Config | None = None,
    db: str | Path | None = None,
    recursive: bool = True,
    services: Services | None = None,
    executor: str | None = None,
) -> int:
    """Open the app; returns the exit code (0, or 1 when the last batch had failures).

    A session refused at start-up (a worker count below 1, an unusable Dask cluster)
    is said as headless says it and ends with the same exit code.
    """
    owned = services is None
    if services is None:
        services = open_services(config or Config(), Path(db) if db else None, recursive=recursive)
    policy_name = (policy.source or policy.name) if isinstance(policy, Policy) else policy
    policy_name = policy_name or DEFAULT_POLICY

    def say(text: str) -> None:  # before the screen is drawn: "connecting to ..."
        sys.stderr.write(f"note: {console_text(text)}\n")
        sys.stderr.flush()

    opened = start_session(
        services, policy=policy_name, workers=workers, executor=executor, dry_run=dry_run, say=say
    )
    try:
        if isinstance(opened, Refusal):
            sys.stderr.write(f"vpo-tui: {opened.console}\n")
            return opened.exit_code
        with opened as session:
            if session.cluster is not None and session.cluster.warning:  # every time
                sys.stderr.write(f"vpo-tui: warning: {session.cluster.warning}\n")
            app = VpoApp(
                services=services,
                session=session,
                paths=[Path(p) for p in paths],
                policy=policy_name,
                workers=workers,
                dry_run=dry_run,
            )
            try:
                code = app.run()
            finally:
                app.kill_all()
                app.wait_for_batches()
            return code if isinstance(code, int) else (app.return_code or 0)
    finally:
        if owned and services.store is not None:
            services.store.close()
