"""A policy in plain words, for ``vpo-tui policy show`` and the TUI's policy picker.

People choose a policy by what it does, not by reading TOML; these lines say
what a policy changes and omit what it leaves alone.
"""

from __future__ import annotations

from vpo_tui.policy.languages import language_name
from vpo_tui.policy.model import AudioDefault, ContainerFormat, Policy, SubtitleDefault


def _langs(codes: tuple[str, ...]) -> str:
    return ", ".join(f"{language_name(c)} ({c})" for c in codes)


def describe_policy(policy: Policy) -> list[str]:
    """One line per thing the policy does, in the order the planner applies them."""
    lines: list[str] = []
    if policy.metadata.und_language:
        lines.append(f"tracks without a language become {_langs((policy.metadata.und_language,))}")
    audio = policy.audio
    if audio.keep is not None:
        lines.append(
            f"audio: keep {_langs(audio.keep) or 'no language'}"
            f" (at least {audio.min_tracks}; otherwise {audio.fallback.value.replace('_', ' ')})"
        )
    if audio.drop_commentary:
        lines.append("audio: drop commentary")
    subs = policy.subtitles
    if subs.remove_all:
        lines.append("subtitles: remove all")
    elif subs.keep is not None:
        forced = " plus forced tracks" if subs.keep_forced else ""
        lines.append(f"subtitles: keep {_langs(subs.keep) or 'no language'}{forced}")
    if subs.drop_commentary and not subs.remove_all:
        lines.append("subtitles: drop commentary")
    if policy.attachments.drop:
        lines.append("drop attachments and cover art")
    prefs = policy.languages
    if prefs.reorder and (prefs.audio or prefs.subtitle):
        lines.append("order tracks by type, then language preference, commentary last")
    if audio.default is AudioDefault.PREFERRED and prefs.audio:
        lines.append(f"default audio: first of {_langs(prefs.audio)} present")
    sub_default = {
        SubtitleDefault.NONE: "default subtitle: none",
        SubtitleDefault.PREFERRED: "default subtitle: most preferred language present",
        SubtitleDefault.FOREIGN_AUDIO: "default subtitle: only when the audio is foreign",
    }.get(subs.default)
    if sub_default:
        lines.append(sub_default)
    if policy.metadata.clear_titles:
        kinds = ", ".join(k.value for k in policy.metadata.clear_titles)
        lines.append(f"clear titles of: {kinds}")
    title = policy.metadata.container_title
    if title is not None:
        lines.append("clear the container title" if not title else f'container title: "{title}"')
    if policy.container.format is not ContainerFormat.KEEP:
        lines.append(
            f"container: {policy.container.format.value}"
            f" (incompatible codec: {policy.container.on_incompatible.value})"
        )
    video = policy.video_transcode
    if video is not None:
        quality = f"crf {video.crf}" if video.crf is not None else (video.bitrate or "default")
        size = ""
        if video.max_width or video.max_height:
            size = f", fit {video.max_width or 'any'}x{video.max_height or 'any'}"
        skip = f" (skip {', '.join(video.skip_codecs)})" if video.skip_codecs else ""
        lines.append(f"video → {video.codec} {quality}{size}{skip}")
    audio_tc = policy.audio_transcode
    if audio_tc is not None:
        keep = f" (keep {', '.join(audio_tc.keep_codecs)})" if audio_tc.keep_codecs else ""
        lines.append(f"audio → {audio_tc.codec} {audio_tc.bitrate or ''}".rstrip() + keep)
    return lines or ["changes nothing"]


__all__ = ["describe_policy"]
