"""``[notify]``: a command gets each changed file's JSON on stdin; Apprise URLs get a message.

The command runs from a real watcher on a real file; the URLs go to a local HTTP
server through Apprise's ``json://`` plugin.
"""

from __future__ import annotations

import json
import shutil
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from tests.conftest import AudioSpec, MakeMedia
from tests.watch.watching import Watch
from vpo_tui.batch.notify import Notifier, NotifyError

TWO = (AudioSpec("eng", default=True), AudioSpec("ger"))


def test_the_notify_command_hears_each_changed_file(tmp_path: Path, make_file: MakeMedia) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    heard = tmp_path / "heard.jsonl"
    script = (
        "import json, sys; doc = json.load(sys.stdin); "
        f"open({str(heard)!r}, 'a').write(json.dumps(doc) + '\\n')"
    )
    config = tmp_path / "config.toml"
    config.write_text(f"[notify]\ncommand = {json.dumps([sys.executable, '-c', script])}\n")
    source = make_file("movie.mkv", folder=tmp_path, audio=TWO)
    w = Watch(tmp_path, lib, "--config", str(config))
    try:
        w.watching()
        shutil.copy(source, lib / "new.mkv")
        w.wait_for(lambda: heard.exists() and bool(heard.read_text()))
        [doc] = [json.loads(line) for line in heard.read_text().splitlines()]
        assert doc["path"] == str(lib / "new.mkv") and doc["status"] == "ok"
        assert doc["changes"] and doc["after"]
        assert w.terminate() == 130
    finally:
        w.close()


def test_a_failing_notify_command_is_said_and_the_next_file_still_sent(tmp_path: Path) -> None:
    said: list[str] = []
    out = tmp_path / "out.txt"
    script = (
        "import json, sys; d = json.load(sys.stdin); "
        f"open({str(out)!r}, 'a').write(d['path'] + '\\n'); "
        "sys.exit(d['path'] == 'bad' and 3 or 0)"
    )
    notifier = Notifier([sys.executable, "-c", script], say=said.append)
    notifier.send({"path": "bad"})
    notifier.send({"path": "good"})
    notifier.close()
    assert out.read_text().splitlines() == ["bad", "good"]
    assert len(said) == 1 and "failed (3)" in said[0]


class _Catcher(BaseHTTPRequestHandler):
    got: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        self.got.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_apprise_urls_get_a_message_naming_the_file() -> None:
    pytest.importorskip("apprise")
    server = HTTPServer(("127.0.0.1", 0), _Catcher)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"json://127.0.0.1:{server.server_address[1]}/"
        notifier = Notifier(urls=[url], say=lambda text: None)
        notifier.send({"path": "/m/a.mkv", "output_path": "/m/a.mkv", "changes": ["remux"]})
        notifier.close()
        deadline = time.monotonic() + 10
        while not _Catcher.got and time.monotonic() < deadline:
            time.sleep(0.05)
        [message] = _Catcher.got
        assert message["title"] == "vpo-tui: /m/a.mkv" and message["message"] == "remux"
    finally:
        server.shutdown()


def test_a_url_apprise_does_not_know_is_refused_at_start() -> None:
    pytest.importorskip("apprise")
    with pytest.raises(NotifyError, match="does not accept"):
        Notifier(urls=["nosuchscheme://x"], say=lambda text: None)
