"""Tell someone a file changed: a command with the file's JSON on stdin, Apprise URLs.

So a Jellyfin/Plex library refresh or a phone message follows each change. Sent
from one background thread, in order, so a slow server never holds up the
watcher; a command that fails or hangs (killed after ``timeout_s``) is reported
and the next file is sent all the same. Apprise is an optional extra
(``vpo-tui[notify]``): URLs without it installed are refused at start-up.
"""

from __future__ import annotations

import json
import queue
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

COMMAND_TIMEOUT_S = 60.0


class NotifyError(Exception):
    """The ``[notify]`` settings cannot be used (Apprise missing, a URL it rejects)."""


class Notifier:
    """Sends each finished file's JSON to the command and the URLs, in the background."""

    def __init__(
        self,
        command: Sequence[str] = (),
        urls: Sequence[str] = (),
        *,
        say: Callable[[str], None],
        timeout_s: float = COMMAND_TIMEOUT_S,
    ) -> None:
        self._command = list(command)
        self._say = say
        self._timeout_s = timeout_s
        self._apprise: _Sender | None = _apprise_for(urls) if urls else None
        self._queue: queue.SimpleQueue[Mapping[str, object] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self.sent = 0

    @property
    def active(self) -> bool:
        return bool(self._command) or self._apprise is not None

    def send(self, document: Mapping[str, object]) -> None:
        if not self.active:
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="vpo-notify", daemon=True)
            self._thread.start()
        self._queue.put(document)

    def close(self, timeout_s: float = 10.0) -> None:
        """Send what is queued (up to ``timeout_s``), then stop the thread."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout_s)
            self._thread = None

    def _loop(self) -> None:
        while True:
            document = self._queue.get()
            if document is None:
                return
            text = json.dumps(document)
            if self._command:
                self._run_command(text)
            if self._apprise is not None:
                self._notify_urls(document)
            self.sent += 1

    def _run_command(self, text: str) -> None:
        try:
            done = subprocess.run(
                self._command,
                input=text.encode("utf-8", "surrogateescape"),
                capture_output=True,
                timeout=self._timeout_s,
                check=False,
                start_new_session=True,
            )
        except subprocess.TimeoutExpired:
            self._say(f"notify command {self._command[0]} took over {self._timeout_s:g} s: killed")
            return
        except OSError as exc:
            self._say(f"notify command {self._command[0]} cannot start: {exc.strerror or exc}")
            return
        if done.returncode != 0:
            tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:]
            why = f": {tail[0]}" if tail else ""
            self._say(f"notify command {self._command[0]} failed ({done.returncode}){why}")

    def _notify_urls(self, document: Mapping[str, object]) -> None:
        if self._apprise is None:
            return
        path = str(document.get("output_path") or document.get("path"))
        changes = document.get("changes") or []
        body = "\n".join(str(c) for c in changes) if isinstance(changes, list) else ""
        try:
            ok = self._apprise.notify(title=f"vpo-tui: {path}", body=body or "changed")
        except Exception as exc:  # a plugin's own error must not end the watcher
            self._say(f"notify URLs: {exc}")
            return
        if not ok:
            self._say("notify URLs: not every notification could be sent")


class _Sender(Protocol):
    """The part of ``apprise.Apprise`` the notifier uses (Apprise is an optional extra)."""

    def notify(self, body: str, title: str = ...) -> object:
        """Send to every URL; truthy when all were sent."""
        ...


def _apprise_for(urls: Sequence[str]) -> _Sender:
    try:
        import apprise
    except ImportError:
        raise NotifyError(
            "[notify] urls needs Apprise: pip install 'vpo-tui[notify]' (or use [notify] command)"
        ) from None
    sender = apprise.Apprise()
    for url in urls:
        if not sender.add(url):
            raise NotifyError(f"[notify] urls: Apprise does not accept {url!r}")
    return sender
