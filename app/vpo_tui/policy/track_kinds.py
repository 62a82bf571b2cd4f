"""What a subtitle or attachment is for, from its flags and its title. Pure.

Release groups and media managers often say "forced" or "SDH" only in a track's
title ("English (Forced)", "Signs & Songs", "English SDH") and never set the
flag. Such a title is the only thing that tells a signs-only track from the full
dialogue, so the planner reads it as a flag — and writes the flag before any
title is cleared, so the knowledge survives the pass.

Fonts matter to styled (ASS/SSA) subtitles: the subtitles name them, and
without them players fall back to another font.
"""

from __future__ import annotations

import re
from pathlib import PurePath

from vpo_tui.media import Track, TrackType

# "English (Forced)", "Forced", "Signs & Songs", "Signs", "Foreign parts only".
_FORCED_TITLE = re.compile(r"\b(forced|signs|songs|foreign parts)\b", re.IGNORECASE)
# "English SDH", "English (CC)", "Hearing Impaired", "Closed Captions", "Hard of hearing".
_SDH_TITLE = re.compile(
    r"\b(sdh|cc|hearing[ -]impaired|hard[ -]of[ -]hearing|closed[ -]captions?)\b",
    re.IGNORECASE,
)

# Subtitle codecs that name fonts (ffprobe's names).
STYLED_SUBTITLE_CODECS: frozenset[str] = frozenset({"ass", "ssa"})
FONT_MIME_TYPES: frozenset[str] = frozenset(
    {
        "application/x-truetype-font",
        "application/x-font-ttf",
        "application/x-font-otf",
        "application/x-font",
        "application/font-sfnt",
        "application/vnd.ms-opentype",
        "font/ttf",
        "font/otf",
        "font/sfnt",
        "font/collection",
        "font/woff",
        "font/woff2",
    }
)
# ffprobe's codec names for font attachments, and the usual file name endings.
_FONT_CODECS = frozenset({"ttf", "otf"})
_FONT_SUFFIXES = frozenset({".ttf", ".otf", ".ttc", ".otc", ".woff", ".woff2"})


def title_says_forced(title: str | None) -> bool:
    """The title marks a forced-only track (signs, songs, foreign parts)."""
    return bool(title and _FORCED_TITLE.search(title))


def title_says_sdh(title: str | None) -> bool:
    """The title marks subtitles for the deaf and hard of hearing."""
    return bool(title and _SDH_TITLE.search(title))


def is_forced_only(track: Track) -> bool:
    """A subtitle that shows only signs and foreign parts: by its flag or its title."""
    return track.forced or title_says_forced(track.title)


def is_sdh(track: Track) -> bool:
    """A subtitle for the deaf and hard of hearing: by its flag or its title."""
    return track.hearing_impaired or title_says_sdh(track.title)


def is_font(track: Track) -> bool:
    """An attachment that is a font (by codec, MIME type or file name)."""
    if track.type is not TrackType.ATTACHMENT:
        return False
    codec = track.codec.lower()
    mime = (track.mime_type or "").lower()
    if codec in _FONT_CODECS or codec in FONT_MIME_TYPES or mime in FONT_MIME_TYPES:
        return True
    return bool(track.filename and PurePath(track.filename).suffix.lower() in _FONT_SUFFIXES)


__all__ = [
    "FONT_MIME_TYPES",
    "STYLED_SUBTITLE_CODECS",
    "is_font",
    "is_forced_only",
    "is_sdh",
    "title_says_forced",
    "title_says_sdh",
]
