"""The planner's decisions in words: the change lines a user reads ("remove audio 3 (fre)").

The planner (``policy/plan.py``) decides; this module only says what was
decided. The lines are part of the plan (``Plan.changes``): shown in the
preview, the ``--json`` output and the history, and no lines means the file
already complies, so each line must name a difference the pass really makes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from vpo_tui.media import MediaInfo, Track, TrackType
from vpo_tui.policy.containers import ContainerRules, effective_tracks, rules_for
from vpo_tui.policy.planned import PlannedTrack


def track_label(track: Track, language: str | None = None) -> str:
    """``audio 3 (fre, "Director")``: kind, index, language and title or file name."""
    lang = language or track.language
    bits = [lang]
    if track.title:
        bits.append(f'"{track.title}"')
    elif track.filename:
        bits.append(track.filename)
    return f"{track.type.value} {track.index} ({', '.join(bits)})"


def removal(track: Track, language: str, reason: str) -> str:
    return f"remove {track_label(track, language)}: {reason}"


def font_kept(track: Track, styled: Iterable[str]) -> str:
    """Why ``attachments.drop`` left a font in place (said beside real changes only)."""
    return (
        f"keep {track_label(track)}: a font of the kept {'/'.join(styled)}"
        " subtitles (attachments.drop keeps fonts that styled subtitles use)"
    )


def rename(path: Path, suffix: str, container: str) -> str:
    return f"rename {path.name} → {path.stem}{suffix} ({container} content)"


def change_lines(
    media: MediaInfo,
    container: str,
    rules: ContainerRules,
    *,
    ordered: list[Track],
    predicted: tuple[PlannedTrack, ...],
    title: str | None,
    removed: Mapping[int, str],
    language: Mapping[int, str],
) -> list[str]:
    """Every difference between ``media`` and the planned output, one line each.

    ``removed`` maps a dropped source track to its reason, ``language`` each
    source track to the language the planner gave it.
    """
    changes: list[str] = []
    if container != media.container:
        changes.append(f"remux {media.container} → {container}")
        if not rules.keeps_titles and any(t.title for t in ordered):
            changes.append(f"track titles are not kept by {container}")
        if rules.names_attachments and not rules_for(media.container).names_attachments:
            changes += [
                f"cover art {t.source_index} → attachment {t.filename} ({t.mime_type})"
                for t in predicted
                if t.attached_pic
            ]
    changes += [removal(media.track(i), language[i], removed[i]) for i in sorted(removed)]
    source = {t.index: t for t in effective_tracks(container, media.tracks)}
    for planned in predicted:
        transcode = planned.transcode
        if transcode is None:
            continue
        src = source[planned.source_index]
        line = f"{src.codec} → {transcode.codec}"
        if planned.type is TrackType.SUBTITLE:
            changes.append(f"convert subtitle {src.index} {line}")
            continue
        if transcode.crf is not None:
            line += f" crf {transcode.crf}"
        if transcode.bitrate is not None:
            line += f" {transcode.bitrate}"
        if (planned.width, planned.height) != (src.width, src.height):
            line += f", scale {src.width}x{src.height} → {planned.width}x{planned.height}"
        changes.append(f"transcode {planned.type.value} {src.index} {line}")
    kept_in_file_order = [t.index for t in media.tracks if t.index not in removed]
    output_order = [t.source_index for t in predicted]
    if output_order != kept_in_file_order:
        changes.append("reorder tracks: " + ", ".join(_order_labels(media, predicted)))
    for planned in predicted:
        src = source[planned.source_index]
        where = f"{planned.type.value} {src.index}"
        if planned.language != src.language:
            changes.append(f"set language of {where}: {src.language} → {planned.language}")
        if planned.title != src.title:
            if planned.title is None:
                changes.append(f"clear title of {where}")
            else:
                changes.append(f'set title of {where} → "{planned.title}"')
        if planned.default and not src.default:
            changes.append(f"default {planned.type.value} → {src.index} ({planned.language})")
        elif src.default and not planned.default:
            changes.append(f"unset default of {where} ({planned.language})")
        if planned.forced != src.forced:
            changes.append(f"{'set' if planned.forced else 'unset'} forced on {where}")
        if planned.hearing_impaired != src.hearing_impaired:
            verb = "set" if planned.hearing_impaired else "unset"
            changes.append(f"{verb} hearing-impaired (SDH) on {where}")
    if title != media.title:
        changes.append("clear container title" if title is None else f'container title → "{title}"')
    return changes


def muxer_defaults(
    container: str, wanted: tuple[PlannedTrack, ...], predicted: tuple[PlannedTrack, ...]
) -> list[str]:
    """Say where the container overrules "no default video/audio/subtitle" (MP4 does).

    The diff compares effective values on both sides, so without this line the
    user would never learn that the output gets a default the policy did not ask for.
    """
    notes = []
    for kind in (TrackType.VIDEO, TrackType.AUDIO, TrackType.SUBTITLE):
        asked = [t for t in wanted if t.type is kind]
        if not asked or any(t.default for t in asked):
            continue
        marked = [t for t in predicted if t.type is kind and t.default]
        why = 'default (it cannot store "none")'
        notes += [f"{container} marks {kind.value} {t.source_index} {why}" for t in marked]
    return notes


def _order_labels(media: MediaInfo, predicted: Iterable[PlannedTrack]) -> list[str]:
    labels = []
    for planned in predicted:
        track = media.track(planned.source_index)
        labels.append(f"{track.type.value} {track.index} ({planned.language})")
    return labels
