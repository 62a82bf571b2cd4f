"""A parsed policy document → the ``Policy`` model, checked key by key.

Every problem names the key path (``audio.keep[2]``), the value and what was
expected, and all problems of a document are reported at once; unknown keys get
a "did you mean". ``vpo_tui.policy.load`` finds and parses the TOML and hands the
document here.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

from vpo_tui.media import TrackType
from vpo_tui.policy.containers import (
    AUDIO_TARGET_CODECS,
    VIDEO_CRF_RANGE,
    VIDEO_PRESETS,
    canonical_codec,
)
from vpo_tui.policy.errors import PolicyError, did_you_mean, show_value, type_name
from vpo_tui.policy.languages import normalize_language
from vpo_tui.policy.model import (
    DEFAULT_COMMENTARY_PATTERNS,
    AttachmentPolicy,
    AudioDefault,
    AudioFallback,
    AudioPolicy,
    AudioTranscodePolicy,
    ContainerFormat,
    ContainerPolicy,
    Languages,
    MetadataPolicy,
    OnError,
    OnIncompatible,
    Policy,
    SubtitleDefault,
    SubtitlePolicy,
    VideoTranscodePolicy,
)

if sys.version_info >= (3, 11):
    pass
else:  # pragma: no cover - exercised on 3.10 only
    pass


_BITRATE = re.compile(r"^[1-9][0-9]{0,6}(\.[0-9]+)?[kKmM]?$")

_CODEC_NAME = re.compile(r"^[a-z0-9_.-]{1,40}$")

_STEM_PLACEHOLDER = "{stem}"

E = TypeVar("E", bound=Enum)

T = TypeVar("T")

_SECTIONS: dict[str, tuple[str, ...]] = {
    "": (
        "name",
        "description",
        "on_error",
        "commentary_patterns",
        "languages",
        "audio",
        "subtitles",
        "attachments",
        "metadata",
        "container",
        "transcode",
    ),
    "languages": ("audio", "subtitle", "reorder"),
    "audio": ("keep", "drop_commentary", "min_tracks", "fallback", "default"),
    "subtitles": ("keep", "keep_forced", "drop_commentary", "remove_all", "default"),
    "attachments": ("drop",),
    "metadata": ("und_language", "clear_titles", "container_title"),
    "container": ("format", "on_incompatible"),
    "transcode": ("video", "audio"),
    "transcode.video": (
        "codec",
        "crf",
        "bitrate",
        "preset",
        "max_height",
        "max_width",
        "skip_codecs",
    ),
    "transcode.audio": ("codec", "bitrate", "keep_codecs"),
}

_ALL_KEYS = [f"{s}.{k}" if s else k for s, keys in _SECTIONS.items() for k in keys]


class DocumentReader:
    """Walks the parsed document section by section, checking every key."""

    def __init__(self, source: str, document: Mapping[str, Any]) -> None:
        self.source = source
        self.document = document
        self.problems: list[PolicyError] = []

    def fail(self, key_path: str, message: str) -> PolicyError:
        return PolicyError(self.source, message, key_path=key_path)

    def note(self, key_path: str, message: str) -> None:
        """Record a problem and go on reading (the caller uses its default)."""
        self.problems.append(self.fail(key_path, message))

    def read(self, reader: Callable[[], T], fallback: T) -> T:
        """``reader()``, or ``fallback`` with its problem noted, so reading goes on."""
        try:
            return reader()
        except PolicyError as problem:
            self.problems.append(problem)
            return fallback

    # ---- structure

    def section(self, path: str) -> Mapping[str, Any]:
        """The table at ``path`` ("" = top level), its keys checked against the schema."""
        table: Any = self.document
        if path:
            for part in path.split("."):
                table = table.get(part, {})
                if not isinstance(table, dict):
                    raise self.fail(path, f"expected a table ([{path}]), got {type_name(table)}")
        known = {}
        for key, value in table.items():
            if key in _SECTIONS[path]:
                known[key] = value
            else:
                full = f"{path}.{key}" if path else key
                self.problems.append(self.fail(full, self._unknown(full)))
        return known

    def _unknown(self, full: str) -> str:
        close = did_you_mean(full, _ALL_KEYS)
        hint = f"; did you mean {close}?" if close else ""
        return f"unknown key {full}{hint}"

    # ---- scalars

    def string(self, table: Mapping[str, Any], section: str, key: str) -> str | None:
        if key not in table:
            return None
        value = table[key]
        if not isinstance(value, str):
            self.note(_join(section, key), f"expected a string, got {type_name(value)}")
            return None
        return value

    def boolean(self, table: Mapping[str, Any], section: str, key: str, default: bool) -> bool:
        if key not in table:
            return default
        value = table[key]
        if not isinstance(value, bool):
            self.note(
                _join(section, key),
                f"expected a boolean (true or false), got {type_name(value)} {show_value(value)}",
            )
            return default
        return value

    def integer(
        self,
        table: Mapping[str, Any],
        section: str,
        key: str,
        *,
        low: int,
        high: int | None = None,
        what: str = "",
    ) -> int | None:
        if key not in table:
            return None
        value = table[key]
        path = _join(section, key)
        if isinstance(value, bool) or not isinstance(value, int):
            self.note(path, f"expected an integer, got {type_name(value)} {show_value(value)}")
            return None
        if value < low or (high is not None and value > high):
            bound = f"{low}..{high}" if high is not None else f">= {low}"
            self.note(path, f"{value} is out of range (expected {bound}{what})")
            return None
        return value

    def enum(
        self, table: Mapping[str, Any], section: str, key: str, kind: type[E], default: E
    ) -> E:
        raw = self.string(table, section, key)
        if raw is None:
            return default
        allowed = [member.value for member in kind]
        if raw not in allowed:
            listed = ", ".join(f'"{a}"' for a in allowed)
            self.note(_join(section, key), f"{show_value(raw)} is not one of {listed}")
            return default
        return kind(raw)

    def string_list(
        self,
        table: Mapping[str, Any],
        section: str,
        key: str,
        item: Callable[[str, str], str],
    ) -> tuple[str, ...] | None:
        """Strings, each checked/normalised by ``item(value, key_path)``; duplicates removed."""
        if key not in table:
            return None
        value = table[key]
        path = _join(section, key)
        if not isinstance(value, list):
            self.note(path, f"expected an array of strings, got {type_name(value)}")
            return None
        out: list[str] = []
        for position, entry in enumerate(value):
            entry_path = f"{path}[{position}]"
            if not isinstance(entry, str):
                self.note(entry_path, f"expected a string, got {type_name(entry)}")
                continue
            try:
                checked = item(entry, entry_path)
            except PolicyError as problem:
                self.problems.append(problem)
                continue
            if checked not in out:
                out.append(checked)
        return tuple(out)

    # ---- item checkers

    def language(self, value: str, key_path: str) -> str:
        code = normalize_language(value)
        if code is None:
            raise self.fail(
                key_path,
                f"{show_value(value)} is not an ISO 639-2 language code"
                ' (expected e.g. "eng", "jpn", "und")',
            )
        return code

    def codec_name(self, value: str, key_path: str) -> str:
        codec = canonical_codec(value)
        if not _CODEC_NAME.match(codec):
            raise self.fail(
                key_path, f'{show_value(value)} is not a codec name (expected e.g. "hevc", "aac")'
            )
        return codec

    def pattern(self, value: str, key_path: str) -> str:
        if not value.strip():
            raise self.fail(key_path, "expected a non-empty text to look for in track titles")
        return value.lower()

    def bitrate(self, table: Mapping[str, Any], section: str, key: str) -> str | None:
        raw = self.string(table, section, key)
        if raw is not None and not _BITRATE.match(raw.strip()):
            self.note(
                _join(section, key),
                f'{show_value(raw)} is not a bitrate (expected e.g. "192k" or "4M")',
            )
            return None
        return raw.strip() if raw is not None else None

    # ---- the whole policy

    def policy(self, source: str) -> Policy:
        """The policy, or one PolicyError naming every problem found.

        Scalar readers note a problem and return their default; a section whose
        shape is wrong is noted once and read as its defaults. Either way reading
        goes on, and the error raised at the end lists everything.
        """
        read = self.read
        top = self.section("")
        name = self.string(top, "", "name")
        if name is None:
            name = source[len("builtin:") :] if source.startswith("builtin:") else Path(source).stem
        patterns = self.string_list(top, "", "commentary_patterns", self.pattern)
        attachments = self.section_or_empty("attachments")
        policy = Policy(
            name=name.strip() or "policy",
            description=self.string(top, "", "description") or "",
            on_error=self.enum(top, "", "on_error", OnError, OnError.SKIP),
            languages=read(self.languages, Languages()),
            audio=read(self.audio, AudioPolicy()),
            subtitles=read(self.subtitles, SubtitlePolicy()),
            attachments=AttachmentPolicy(
                drop=self.boolean(attachments, "attachments", "drop", False)
            ),
            metadata=read(self.metadata, MetadataPolicy()),
            container=read(self.container, ContainerPolicy()),
            video_transcode=read(self.video_transcode, None),
            audio_transcode=read(self.audio_transcode, None),
            commentary_patterns=DEFAULT_COMMENTARY_PATTERNS if patterns is None else patterns,
            source=source,
        )
        if self.problems:
            raise PolicyError.all_of(self.problems)
        return policy

    def section_or_empty(self, path: str) -> Mapping[str, Any]:
        return self.read(lambda: self.section(path), {})

    def languages(self) -> Languages:
        table = self.section("languages")
        return Languages(
            audio=self.string_list(table, "languages", "audio", self.language) or (),
            subtitle=self.string_list(table, "languages", "subtitle", self.language) or (),
            reorder=self.boolean(table, "languages", "reorder", True),
        )

    def audio(self) -> AudioPolicy:
        table = self.section("audio")
        min_tracks = self.integer(table, "audio", "min_tracks", low=0)
        return AudioPolicy(
            keep=self.string_list(table, "audio", "keep", self.language),
            drop_commentary=self.boolean(table, "audio", "drop_commentary", False),
            min_tracks=1 if min_tracks is None else min_tracks,
            fallback=self.enum(table, "audio", "fallback", AudioFallback, AudioFallback.KEEP_FIRST),
            default=self.enum(table, "audio", "default", AudioDefault, AudioDefault.PREFERRED),
        )

    def subtitles(self) -> SubtitlePolicy:
        table = self.section("subtitles")
        keep = self.string_list(table, "subtitles", "keep", self.language)
        remove_all = self.boolean(table, "subtitles", "remove_all", False)
        if remove_all and keep:
            self.note(
                "subtitles.remove_all",
                f"true removes every subtitle, but subtitles.keep lists {', '.join(keep)};"
                " drop one of the two",
            )
        return SubtitlePolicy(
            keep=keep,
            keep_forced=self.boolean(table, "subtitles", "keep_forced", True),
            drop_commentary=self.boolean(table, "subtitles", "drop_commentary", False),
            remove_all=remove_all,
            default=self.enum(table, "subtitles", "default", SubtitleDefault, SubtitleDefault.KEEP),
        )

    def metadata(self) -> MetadataPolicy:
        table = self.section("metadata")
        und = self.string(table, "metadata", "und_language")
        und_language = (
            None
            if und is None
            else self.read(lambda: self.language(und, "metadata.und_language"), None)
        )
        title = self.string(table, "metadata", "container_title")
        if title is not None and (
            "{" in title.replace(_STEM_PLACEHOLDER, "")
            or "}" in title.replace(_STEM_PLACEHOLDER, "")
        ):
            self.note(
                "metadata.container_title",
                f"{show_value(title)}: the only placeholder is {{stem}}"
                " (the file name without extension)",
            )
        return MetadataPolicy(
            und_language=und_language,
            clear_titles=self.clear_titles(table),
            container_title=title,
        )

    def clear_titles(self, table: Mapping[str, Any]) -> tuple[TrackType, ...]:
        if "clear_titles" not in table:
            return ()
        value = table["clear_titles"]
        titled = (TrackType.VIDEO, TrackType.AUDIO, TrackType.SUBTITLE, TrackType.ATTACHMENT)
        if isinstance(value, bool):
            return titled if value else ()
        allowed = [kind.value for kind in titled]

        def kind(entry: str, key_path: str) -> str:
            if entry not in allowed:
                listed = ", ".join(f'"{a}"' for a in allowed)
                raise self.fail(key_path, f"{show_value(entry)} is not one of {listed}")
            return entry

        if not isinstance(value, list):
            self.note(
                "metadata.clear_titles",
                f'expected true/false or an array of track types (e.g. ["audio", "subtitle"]), '
                f"got {type_name(value)}",
            )
            return ()
        names = self.string_list(table, "metadata", "clear_titles", kind) or ()
        return tuple(sorted((TrackType(n) for n in names), key=lambda k: k.order))

    def container(self) -> ContainerPolicy:
        table = self.section("container")
        return ContainerPolicy(
            format=self.enum(table, "container", "format", ContainerFormat, ContainerFormat.KEEP),
            on_incompatible=self.enum(
                table, "container", "on_incompatible", OnIncompatible, OnIncompatible.ERROR
            ),
        )

    def video_transcode(self) -> VideoTranscodePolicy | None:
        if "video" not in self.section("transcode"):
            return None
        section = "transcode.video"
        table = self.section(section)
        codec = self.target_codec(table, section, tuple(VIDEO_CRF_RANGE))
        low, high = VIDEO_CRF_RANGE[codec]
        crf = self.integer(table, section, "crf", low=low, high=high, what=f" for {codec}")
        bitrate = self.bitrate(table, section, "bitrate")
        if crf is not None and bitrate is not None:
            self.note(f"{section}.bitrate", "crf and bitrate are exclusive (give one of them)")
        preset = self.string(table, section, "preset")
        if preset is not None and preset not in VIDEO_PRESETS[codec]:
            listed = ", ".join(f'"{p}"' for p in VIDEO_PRESETS[codec])
            self.note(
                f"{section}.preset",
                f"{show_value(preset)} is not a {codec} preset (one of {listed})",
            )
        return VideoTranscodePolicy(
            codec=codec,
            crf=crf,
            bitrate=bitrate,
            preset=preset,
            max_height=self.integer(table, section, "max_height", low=1, high=100_000),
            max_width=self.integer(table, section, "max_width", low=1, high=100_000),
            skip_codecs=self.string_list(table, section, "skip_codecs", self.codec_name) or (),
        )

    def audio_transcode(self) -> AudioTranscodePolicy | None:
        transcode = self.document.get("transcode", {})
        if not isinstance(transcode, dict) or "audio" not in transcode:
            return None
        section = "transcode.audio"
        table = self.section(section)
        codec = self.target_codec(table, section, AUDIO_TARGET_CODECS)
        return AudioTranscodePolicy(
            codec=codec,
            bitrate=self.bitrate(table, section, "bitrate"),
            keep_codecs=self.string_list(table, section, "keep_codecs", self.codec_name) or (),
        )

    def target_codec(self, table: Mapping[str, Any], section: str, allowed: tuple[str, ...]) -> str:
        raw = self.string(table, section, "codec")
        listed = ", ".join(f'"{a}"' for a in allowed)
        if raw is None:
            raise self.fail(f"{section}.codec", f"missing (expected one of {listed})")
        codec = canonical_codec(raw)
        if codec not in allowed:
            raise self.fail(f"{section}.codec", f"{show_value(raw)} is not one of {listed}")
        return codec


def _join(section: str, key: str) -> str:
    return f"{section}.{key}" if section else key
