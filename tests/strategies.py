"""Hypothesis strategies shared by the property tests and the fuzz suite.

Generated tracks, probed files and policies for the planner; TOML values for the
policy loader. Test modules import these from here, never from each other.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from hypothesis import strategies as st

from vpo_tui.media import MediaInfo, Track, TrackType
from vpo_tui.policy.model import (
    AttachmentPolicy,
    AudioDefault,
    AudioFallback,
    AudioPolicy,
    AudioTranscodePolicy,
    ContainerFormat,
    ContainerPolicy,
    Languages,
    MetadataPolicy,
    OnIncompatible,
    Policy,
    SubtitleDefault,
    SubtitlePolicy,
    VideoTranscodePolicy,
)

LANGS = ["eng", "jpn", "fre", "ger", "und"]
TITLES = [
    None,
    None,
    "Main",
    "Director's Commentary",
    "Forced",
    "commentary track",
    "English SDH",
    "Signs & Songs",
]
langs = st.sampled_from(LANGS)
lang_lists = st.lists(st.sampled_from(LANGS[:4]), unique=True, max_size=3).map(tuple)


@st.composite
def tracks(draw: st.DrawFn) -> tuple[Track, ...]:
    specs: list[tuple[TrackType, dict[str, object]]] = []
    for _ in range(draw(st.integers(0, 2))):
        w = draw(st.integers(16, 4000))
        h = draw(st.integers(16, 2200))
        specs.append(
            (
                TrackType.VIDEO,
                {
                    "codec": draw(st.sampled_from(["h264", "hevc", "av1", "mpeg2video", "vp9"])),
                    "width": w,
                    "height": h,
                    "attached_pic": draw(st.booleans()) and draw(st.booleans()),
                },
            )
        )
    for _ in range(draw(st.integers(0, 4))):
        specs.append(
            (
                TrackType.AUDIO,
                {
                    "codec": draw(st.sampled_from(["aac", "ac3", "dts", "flac", "opus", "truehd"])),
                    "channels": draw(st.sampled_from([1, 2, 6])),
                },
            )
        )
    for _ in range(draw(st.integers(0, 4))):
        specs.append(
            (
                TrackType.SUBTITLE,
                {
                    "codec": draw(
                        st.sampled_from(
                            ["subrip", "ass", "mov_text", "webvtt", "hdmv_pgs_subtitle"]
                        )
                    ),
                    "forced": draw(st.booleans()),
                    "hearing_impaired": draw(st.booleans()) and draw(st.booleans()),
                },
            )
        )
    for _ in range(draw(st.integers(0, 2))):
        attachment = draw(st.sampled_from([("ttf", "f.ttf"), ("text/plain", "notes.nfo")]))
        specs.append((TrackType.ATTACHMENT, {"codec": attachment[0], "filename": attachment[1]}))
    for _ in range(draw(st.integers(0, 1))):
        specs.append((TrackType.DATA, {"codec": "bin_data"}))
    for _ in range(draw(st.integers(0, 1))):  # cover art, as ffprobe shows it
        cover = draw(st.sampled_from([("mjpeg", "image/jpeg"), ("png", "image/png")]))
        named = {"filename": f"cover.{cover[0][:3]}", "mime_type": cover[1]}
        extra = {"codec": cover[0], "attached_pic": True, **(named if draw(st.booleans()) else {})}
        specs.append((TrackType.VIDEO, extra))
    specs = draw(st.permutations(specs)) if draw(st.booleans()) else specs
    out = []
    for index, (kind, extra) in enumerate(specs):
        has_lang = kind in (TrackType.VIDEO, TrackType.AUDIO, TrackType.SUBTITLE)
        out.append(
            Track(
                index=index,
                type=kind,
                language=draw(langs) if has_lang else "und",
                title=draw(st.sampled_from(TITLES)) if has_lang else None,
                default=draw(st.booleans()),
                **extra,  # type: ignore[arg-type]
            )
        )
    return tuple(out)


@st.composite
def media_infos(draw: st.DrawFn) -> MediaInfo:
    container = draw(st.sampled_from(["mkv", "mp4", "avi", "webm", "mov"]))
    drawn = draw(tracks())
    if container == "avi":
        # what a probe of an AVI can show: it stores no languages and no flags
        drawn = tuple(
            dataclasses.replace(t, language="und", default=False, forced=False) for t in drawn
        )
    return MediaInfo(
        path=Path(f"/lib/Some Movie.{container}"),
        container=container,
        size=draw(st.integers(1, 10**9)),
        duration=2.0,
        tracks=drawn,
        title=draw(st.sampled_from([None, "Old Title", "Some Movie"])),
    )


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    video = None
    if draw(st.booleans()):
        codec = draw(st.sampled_from(["h264", "hevc", "av1", "vp9"]))
        video = VideoTranscodePolicy(
            codec=codec,
            crf=draw(st.sampled_from([None, 22])),
            max_height=draw(st.sampled_from([None, 1080, 720, 99])),
            max_width=draw(st.sampled_from([None, 1920, 1280, 101])),
            skip_codecs=draw(
                st.lists(st.sampled_from(["hevc", "av1", "h264"]), unique=True).map(tuple)
            ),
        )
    audio_tc = None
    if draw(st.booleans()):
        audio_tc = AudioTranscodePolicy(
            codec=draw(st.sampled_from(["aac", "opus", "flac", "ac3"])),
            bitrate=draw(st.sampled_from([None, "192k"])),
            keep_codecs=draw(
                st.lists(st.sampled_from(["flac", "dts", "aac"]), unique=True).map(tuple)
            ),
        )
    return Policy(
        name="random",
        languages=Languages(
            audio=draw(lang_lists), subtitle=draw(lang_lists), reorder=draw(st.booleans())
        ),
        audio=AudioPolicy(
            keep=draw(st.one_of(st.none(), lang_lists)),
            drop_commentary=draw(st.booleans()),
            min_tracks=draw(st.integers(0, 3)),
            fallback=draw(st.sampled_from([AudioFallback.KEEP_FIRST, AudioFallback.KEEP_ALL])),
            default=draw(st.sampled_from(AudioDefault)),
        ),
        subtitles=SubtitlePolicy(
            keep=draw(st.one_of(st.none(), lang_lists)),
            keep_forced=draw(st.booleans()),
            drop_commentary=draw(st.booleans()),
            remove_all=draw(st.booleans()) and draw(st.booleans()),
            default=draw(st.sampled_from(SubtitleDefault)),
        ),
        attachments=AttachmentPolicy(drop=draw(st.booleans())),
        metadata=MetadataPolicy(
            und_language=draw(st.sampled_from([None, "eng", "jpn"])),
            clear_titles=draw(
                st.lists(st.sampled_from(list(TrackType)[:4]), unique=True).map(tuple)
            ),
            container_title=draw(st.sampled_from([None, "", "{stem}", "Fixed {stem} title"])),
        ),
        container=ContainerPolicy(
            format=draw(st.sampled_from(ContainerFormat)),
            on_incompatible=draw(st.sampled_from(OnIncompatible)),
        ),
        video_transcode=video,
        audio_transcode=audio_tc,
    )


WORDS = [
    "eng",
    "jpn",
    "und",
    "xx",
    "en",
    "skip",
    "fail",
    "mkv",
    "mp4",
    "keep",
    "error",
    "transcode",
    "hevc",
    "h264",
    "av1",
    "vp9",
    "aac",
    "opus",
    "medium",
    "good",
    "192k",
    "4M",
    "none",
    "preferred",
    "foreign_audio",
    "keep_first",
    "keep_all",
    "audio",
    "subtitle",
    "{stem}",
    "{x}",
    "",
    " ",
    "ünï",
    "-1",
]

scalars = st.one_of(
    st.sampled_from(WORDS),
    st.text(max_size=8),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.dates(),
    st.datetimes(),
    st.times(),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(["a", "codec", "keep", "audio"]), inner, max_size=3),
    ),
    max_leaves=6,
)


def toml_value(value: object) -> str:
    """A TOML literal for a Python value (tomllib only reads; we write by hand)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return "nan"
        if value in (float("inf"), float("-inf")):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return (
            '"'
            + "".join(
                c if c not in '"\\' and c.isprintable() else f"\\u{ord(c):04x}" for c in value
            )
            + '"'
        )
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f'"{k}" = {toml_value(v)}' for k, v in value.items()) + "}"
    raise AssertionError(type(value))
