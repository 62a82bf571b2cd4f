"""A probe helper process: reads files with PyAV, one request at a time, for its parent.

libavformat inside a process cannot be stopped like a tool: a file that makes a
demuxer spin or crash would hang or kill whoever called it. So vpo-tui keeps it
out of its own process, in a few long-lived helpers (see ``probe_pool``) that
are replaced when one dies or overruns. The protocol is one JSON line each way:

    request:  {"path": "/abs/file.mkv", "packets_from": 99999999.0 | null}
    answer:   {"document": {...}, "log": "..."}        ffprobe's JSON document
              {"failed": "...", "log": "..."}          libavformat refused the file
              {"unsupported": "..."}                   ask ffprobe instead

The first line the helper writes says whether PyAV works here at all:
``{"ready": "libavformat 62.12.102"}`` or ``{"broken": "why"}``.

``VPO_TUI_PROBE_FAULT=hang:NAME`` or ``abort:NAME`` (several joined by ``|``)
makes the helper hang or abort on a file whose name contains NAME: the fault
suite's stand-in for a demuxer that never returns or crashes the process.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import sys
import time
from typing import Any

FAULT_ENV = "VPO_TUI_PROBE_FAULT"
_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    """Linux: be SIGKILLed when the parent goes, even while stuck inside a demuxer."""
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _injected_fault(path: str) -> None:
    """The fault suite's stand-ins (``hang:NAME|abort:OTHER``): never set in normal use."""
    for entry in os.environ.get(FAULT_ENV, "").split("|"):
        kind, _, name = entry.partition(":")
        if not name or name not in os.path.basename(path):
            continue
        if kind == "hang":
            while True:
                time.sleep(3600)
        if kind == "abort":
            os.abort()


def _answer(request: dict[str, Any]) -> dict[str, Any]:
    from vpo_tui.engine.probe_av import OpenFailed, Unsupported, read_document

    path = str(request["path"])
    packets_from = request.get("packets_from")
    _injected_fault(path)
    try:
        document, log = read_document(path, None if packets_from is None else float(packets_from))
    except Unsupported as exc:
        return {"unsupported": str(exc)}
    except OpenFailed as exc:
        return {"failed": str(exc), "log": ""}
    return {"document": document, "log": log}


def main() -> int:
    parent = int(os.environ.get("VPO_TUI_PROBE_PARENT", "0")) or os.getppid()
    _die_with_parent(parent)
    out = sys.stdout
    try:
        from vpo_tui.engine.probe_av import ffmpeg_version, prepare_logging

        prepare_logging()
        hello: dict[str, Any] = {"ready": ffmpeg_version()}
    except Exception as exc:  # a missing or broken PyAV: the parent falls back to ffprobe
        hello = {"broken": f"{type(exc).__name__}: {exc}"}
    out.write(json.dumps(hello) + "\n")
    out.flush()
    if "broken" in hello:
        return 1
    for line in sys.stdin:
        try:
            answer = _answer(json.loads(line))
        except Exception as exc:  # never a traceback on the pipe: one answer per request
            answer = {"unsupported": f"{type(exc).__name__}: {exc}"}
        out.write(json.dumps(answer) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
