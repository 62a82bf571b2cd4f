"""What is known about a source before a tool reads it: its probe, kept or new.

A preview or dry run probes a file and asks ``mkvmerge -J`` about it already;
the run that follows reuses both answers while the file is exactly the one
they describe, so it pays for no second probe. Here the probe is taken or
reused and mkvmerge's answer is asked for, kept with the probe and read back.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from pathlib import Path

from vpo_tui.engine.control import FileControl
from vpo_tui.engine.job import EngineSettings, FileFailure, FileJob, KnownProbe
from vpo_tui.engine.probe import PROBE_TIMEOUT_S, ProbeError, media_from_record, probe_with_ends
from vpo_tui.engine.run import run_tool
from vpo_tui.media import MediaInfo

IDENTIFY_KEY = "mkvmerge"  # where a probe record keeps ``mkvmerge -J``'s answer


@dataclasses.dataclass(frozen=True)
class Probed:
    """The source's probe: what it says, where its streams' packets end, the kept form."""

    media: MediaInfo
    ends: dict[int, float] | None
    known: KnownProbe


def probe_timeout(settings: EngineSettings) -> float:
    """Probes are quick: bounded by the tool timeout when one is set, else 2 minutes."""
    if settings.tool_timeout_s is None:
        return PROBE_TIMEOUT_S
    return min(settings.tool_timeout_s, PROBE_TIMEOUT_S)


def probe_source(
    job: FileJob, path: Path, original: os.stat_result, ffprobe: str, control: FileControl
) -> Probed:
    """The job's kept probe when the file is exactly the one it describes; else a new probe.

    A preview or dry run probed the file already; a run started after it pays
    for no second probe unless the file changed (size, mtime, inode or ctime).
    """
    now = KnownProbe.fingerprint_of(original)
    known = job.known
    if known is not None and known.fingerprint == now:
        try:
            media, ends = media_from_record(json.loads(known.record), path, original.st_size)
        except (ProbeError, ValueError, TypeError, KeyError, AttributeError):
            pass  # unreadable or of another version: probe again
        else:
            return Probed(media, ends, known)
    timeout = probe_timeout(job.settings)
    media, ends, record = probe_with_ends(
        path, ffprobe, control, timeout_s=timeout, backend=job.settings.probe_backend
    )
    return Probed(media, ends, KnownProbe(now, json.dumps(record, separators=(",", ":"))))


def mkvmerge_identify(
    media: MediaInfo, mkvmerge: str, settings: EngineSettings, control: FileControl
) -> dict[str, object]:
    """``mkvmerge -J``'s answer about the source (raises ``FileFailure`` if unreadable)."""
    done = run_tool(
        [mkvmerge, "-J", str(media.path.absolute())],
        control=control,
        timeout_s=probe_timeout(settings),
        capture_stdout=True,
        name="mkvmerge",
    )
    try:
        identified = json.loads(done.stdout.decode("utf-8", "replace"))
    except json.JSONDecodeError:
        raise FileFailure(f"{media.path}: mkvmerge -J gave unreadable output") from None
    if not isinstance(identified, dict):
        raise FileFailure(f"{media.path}: mkvmerge -J gave unreadable output")
    return identified


def kept_identify(probed: Probed | None) -> dict[str, object] | None:
    """The ``mkvmerge -J`` answer kept with the probe, if a dry run asked it already."""
    if probed is None:
        return None
    with contextlib.suppress(ValueError, TypeError, AttributeError):
        kept = json.loads(probed.known.record).get(IDENTIFY_KEY)
        if isinstance(kept, dict):
            return kept
    return None


def with_identify(known: KnownProbe, identified: dict[str, object] | None) -> KnownProbe:
    """The kept probe with ``mkvmerge -J``'s answer in it, so the next run asks no more."""
    if identified is None:
        return known
    try:
        record = json.loads(known.record)
    except ValueError:
        return known
    record[IDENTIFY_KEY] = {k: identified.get(k) for k in ("container", "tracks", "attachments")}
    return dataclasses.replace(known, record=json.dumps(record, separators=(",", ":")))
