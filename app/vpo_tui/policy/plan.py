"""The planner: a policy's target state diffed against a probed file. Pure.

``plan(policy, media)`` decides which tracks the output carries, in which order,
with which flags, languages, titles and codecs, predicts what ffprobe will
report once the file is written (``policy/containers.py`` holds the container
facts), and lists the differences as human-readable changes (the words are in
``policy/wording.py``; the decisions are here). No changes means
the file already complies and nothing is written; the engine runs exactly the
one tool pass named by ``Plan.pass_kind``.

Idempotence is the design rule: applying ``predicted_media(plan)`` and planning
again must give no changes, so every comparison is made on *effective* values
(what the output container can actually hold) and every choice depends only on
values that survive the pass.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from vpo_tui.media import MediaInfo, Track, TrackType
from vpo_tui.policy import wording
from vpo_tui.policy.containers import (
    IMAGE_SUBTITLE_CODECS,
    TEXT_SUBTITLE_CODECS,
    ContainerRules,
    effective_tracks,
    rules_for,
)
from vpo_tui.policy.model import (
    AudioDefault,
    AudioFallback,
    ContainerFormat,
    OnIncompatible,
    Policy,
    SubtitleDefault,
)
from vpo_tui.policy.planned import PassKind, Plan, PlanError, PlannedTrack, Transcode
from vpo_tui.policy.track_kinds import (
    STYLED_SUBTITLE_CODECS,
    is_font,
    is_forced_only,
    is_sdh,
    title_says_forced,
    title_says_sdh,
)

MKV = "mkv"


class _SkipFile(Exception):
    """Internal: the policy says to leave this file alone (on_incompatible = "skip")."""


def scaled_size(
    width: int, height: int, max_width: int | None, max_height: int | None
) -> tuple[int, int]:
    """Frame size after fitting into max_width x max_height: aspect kept, never upscaled, even.

    The engine builds its ``scale=W:H`` filter from this same function, so the
    prediction and the real output agree. Even sizes because 4:2:0 encoders need them.
    """
    factor = 1.0
    if max_width is not None and width > max_width:
        factor = min(factor, max_width / width)
    if max_height is not None and height > max_height:
        factor = min(factor, max_height / height)
    new_width = max(2, int(width * factor) // 2 * 2)
    new_height = max(2, int(height * factor) // 2 * 2)
    return new_width, new_height


def output_container(policy: Policy, media: MediaInfo) -> str:
    """The container the output will be: the policy's format, or the source's own."""
    if policy.container.format is ContainerFormat.KEEP:
        return media.container
    return str(policy.container.format.value)


def is_commentary(policy: Policy, track: Track) -> bool:
    """A commentary track: its title contains one of the policy's patterns (any case)."""
    if not track.title:
        return False
    title = track.title.lower()
    return any(pattern.lower() in title for pattern in policy.commentary_patterns)


@dataclass
class _Planner:
    """One planning run: the policy, the file, and what has been decided so far."""

    policy: Policy
    media: MediaInfo
    container: str
    rules: ContainerRules

    def __post_init__(self) -> None:
        self.language: dict[int, str] = {}
        self.removed: dict[int, str] = {}  # source index -> reason
        self.notes: list[str] = []  # said beside real changes only (not changes themselves)

    # -- helpers

    def title_kept(self, track: Track) -> bool:
        """The output carries this track's title (not cleared, and the container keeps titles)."""
        return self.rules.keeps_titles and track.type not in self.policy.metadata.clear_titles

    def commentary(self, track: Track) -> bool:
        """Commentary as far as ordering/defaults may use it.

        Judged on the title the OUTPUT will carry: a container that drops titles
        (MP4) or ``metadata.clear_titles`` forgets which track was commentary, so
        ordering or defaults based on it would change again on the next run. There
        only ``drop_commentary`` (applied once, on the source titles) uses it.
        """
        return self.title_kept(track) and is_commentary(self.policy, track)

    def forced_flag(self, track: Track) -> bool:
        """The output's forced flag: the source's, or the title's word when the title is lost.

        "English (Forced)" loses its title under ``clear_titles`` (or in MP4); the flag
        then carries what the title said, so forced-only stays tellable from the full
        subtitles on every later run.
        """
        lost = track.type is TrackType.SUBTITLE and not self.title_kept(track)
        return track.forced or (lost and title_says_forced(track.title))

    def hearing_impaired_flag(self, track: Track) -> bool:
        """The output's SDH flag, by the same rule as ``forced_flag``."""
        lost = track.type is TrackType.SUBTITLE and not self.title_kept(track)
        return track.hearing_impaired or (lost and title_says_sdh(track.title))

    def remove(self, track: Track, reason: str) -> None:
        self.removed[track.index] = reason

    # -- 1. languages

    def assign_languages(self) -> None:
        # Only tracks a viewer chooses between by language: giving the picture a
        # language would rewrite almost every file for no visible benefit.
        und = self.policy.metadata.und_language
        spoken_types = (TrackType.AUDIO, TrackType.SUBTITLE)
        for track in self.media.tracks:
            lang = track.language
            if und and lang == "und" and track.type in spoken_types:
                lang = und
            self.language[track.index] = lang

    # -- 2-6. selection

    def select(self) -> None:
        policy = self.policy
        self.select_audio()
        self.select_subtitles()
        # after the subtitles: which fonts stay depends on which subtitles do
        styled = self.styled_subtitle_codecs()
        for track in self.media.tracks:
            if track.type is TrackType.VIDEO and track.attached_pic and policy.attachments.drop:
                self.remove(track, "cover art (attachments.drop)")
            elif track.attached_pic and not self.rules.carries_covers:
                self.remove(track, f"{self.container} cannot carry cover art")
            elif track.type is TrackType.ATTACHMENT:
                font_needed = bool(styled) and is_font(track) and self.rules.carries_attachments
                if policy.attachments.drop and not font_needed:
                    self.remove(track, "attachment (attachments.drop)")
                elif not self.rules.carries_attachments:
                    self.remove(track, f"{self.container} cannot carry attachments")
                elif policy.attachments.drop:
                    self.notes.append(wording.font_kept(track, styled))
            elif track.type is TrackType.DATA and not self.rules.carries_data:
                self.remove(track, f"{self.container} cannot carry data streams")
            elif track.type is TrackType.DATA and not self.rules.accepts(track.type, track.codec):
                self.remove(track, f"{self.container} cannot carry {track.codec} data streams")

    def styled_subtitle_codecs(self) -> list[str]:
        """Codecs of the kept subtitles that name fonts (ASS/SSA) and stay as they are."""
        codecs = {
            t.codec
            for t in self.media.of_type(TrackType.SUBTITLE)
            if t.index not in self.removed
            and t.codec in STYLED_SUBTITLE_CODECS
            and self.rules.accepts(TrackType.SUBTITLE, t.codec)
        }
        return sorted(codecs)

    def select_audio(self) -> None:
        policy, audio = self.policy, self.media.of_type(TrackType.AUDIO)
        if not audio:
            return
        commentary = {t.index for t in audio if is_commentary(policy, t)}
        candidates = [
            t for t in audio if not (policy.audio.drop_commentary and t.index in commentary)
        ]
        keep = policy.audio.keep
        kept = [t for t in candidates if keep is None or self.language[t.index] in keep]
        if not kept:
            fallback = policy.audio.fallback
            # Every track is commentary: fall back among those in a kept language
            # first. Keeping the others too would not last: once their titles are
            # cleared they are plain tracks in the wrong language, removed next run.
            in_language = [t for t in audio if keep is None or self.language[t.index] in keep]
            pool = candidates or in_language or list(audio)
            if fallback is AudioFallback.ERROR:
                present = ", ".join(self.language[t.index] for t in audio)
                wanted = ", ".join(keep or ())
                raise PlanError(
                    f"{self.media.path}: no audio track in a kept language ({wanted});"
                    f' the file has: {present} (audio.fallback = "error")'
                )
            if fallback is AudioFallback.KEEP_ALL:
                kept = list(pool)
            else:
                firsts = [t for t in pool if t.index not in commentary] or pool
                kept = [firsts[0]]
        if len(kept) < policy.audio.min_tracks:
            rest = [t for t in audio if t not in kept]
            rest.sort(key=lambda t: (t.index in commentary, self.media.tracks.index(t)))
            kept += rest[: policy.audio.min_tracks - len(kept)]
        kept_ids = {t.index for t in kept}
        for track in audio:
            if track.index in kept_ids:
                continue
            if policy.audio.drop_commentary and track.index in commentary:
                self.remove(track, "commentary")
            else:
                self.remove(track, "language not in audio.keep")

    def select_subtitles(self) -> None:
        policy = self.policy
        for track in self.media.of_type(TrackType.SUBTITLE):
            lang = self.language[track.index]
            if policy.subtitles.remove_all:
                self.remove(track, "subtitles.remove_all")
            elif policy.subtitles.drop_commentary and is_commentary(policy, track):
                self.remove(track, "commentary")
            elif not self.subtitle_wanted(track, lang):
                self.remove(track, "language not in subtitles.keep")

    def subtitle_wanted(self, track: Track, lang: str) -> bool:
        keep = self.policy.subtitles.keep
        forced_kept = is_forced_only(track) and self.policy.subtitles.keep_forced
        return keep is None or lang in keep or forced_kept

    # -- 7. order

    def order(self, kept: list[Track]) -> list[Track]:
        position = {t.index: n for n, t in enumerate(self.media.tracks)}
        attachment_rank = TrackType.ATTACHMENT.order

        def type_rank(track: Track) -> float:
            if track.type is TrackType.VIDEO and track.attached_pic:
                # cover art is an attachment in MKV, a (second) video stream elsewhere
                return attachment_rank if self.container == MKV else TrackType.VIDEO.order + 0.5
            return track.type.order

        langs = self.policy.languages
        if not (langs.reorder and (langs.audio or langs.subtitle)):
            # file order; MKV always stores attachments after the tracks
            return sorted(kept, key=lambda t: (type_rank(t) >= attachment_rank, position[t.index]))

        def preference(track: Track) -> int:
            order = {TrackType.AUDIO: langs.audio, TrackType.SUBTITLE: langs.subtitle}.get(
                track.type, ()
            )
            lang = self.language[track.index]
            return order.index(lang) if lang in order else len(order)

        return sorted(
            kept,
            key=lambda t: (type_rank(t), preference(t), self.commentary(t), position[t.index]),
        )

    # -- 10-12. codecs

    def incompatible(self, track: Track) -> Transcode:
        what = f"{wording.track_label(track)}: codec {track.codec} cannot go into {self.container}"
        choice = self.policy.container.on_incompatible
        if choice is OnIncompatible.SKIP:
            raise _SkipFile(what + ' (container.on_incompatible = "skip")')
        if choice is OnIncompatible.TRANSCODE:
            if track.type is TrackType.VIDEO:
                return Transcode(codec=self.rules.default_video)
            if track.type is TrackType.AUDIO:
                # The policy's own audio target (already checked against the
                # container) wins over the container default: otherwise the next
                # run would transcode the result a second time.
                target = self.policy.audio_transcode
                if target is not None:
                    return Transcode(codec=target.codec, bitrate=target.bitrate)
                return Transcode(codec=self.rules.default_audio)
            what += " (image subtitles cannot be converted to text)"
        raise PlanError(f"{self.media.path}: {what}")

    def transcode_for(self, track: Track) -> Transcode | None:
        policy, rules = self.policy, self.rules
        if track.type is TrackType.VIDEO and not track.attached_pic:
            return self.video_transcode(track)
        if track.type is TrackType.AUDIO:
            target = policy.audio_transcode
            if target is not None and not rules.accepts(TrackType.AUDIO, target.codec):
                # checked for every audio track, so that a second run agrees with the first
                raise PlanError(
                    f"{self.media.path}: transcode.audio.codec {target.codec}"
                    f" cannot go into {self.container}"
                )
            if target is not None and not (
                track.codec in target.keep_codecs or track.codec == target.codec
            ):
                return Transcode(codec=target.codec, bitrate=target.bitrate)
            if not rules.accepts(TrackType.AUDIO, track.codec):
                return self.incompatible(track)
            return None
        if track.type is TrackType.SUBTITLE and not rules.accepts(TrackType.SUBTITLE, track.codec):
            if track.codec in TEXT_SUBTITLE_CODECS and rules.text_subtitle_codec:
                return Transcode(codec=rules.text_subtitle_codec)
            if track.codec in IMAGE_SUBTITLE_CODECS or rules.subtitle is not None:
                return self.incompatible(track)
        return None

    def video_transcode(self, track: Track) -> Transcode | None:
        target = self.policy.video_transcode
        rules = self.rules
        if target is None:
            return None if rules.accepts(TrackType.VIDEO, track.codec) else self.incompatible(track)
        if not rules.accepts(TrackType.VIDEO, target.codec):
            raise PlanError(
                f"{self.media.path}: transcode.video.codec {target.codec}"
                f" cannot go into {self.container}"
            )
        fits = (
            track.width is None
            or track.height is None
            or (
                (target.max_width is None or track.width <= target.max_width)
                and (target.max_height is None or track.height <= target.max_height)
            )
        )
        accepted_codec = track.codec in target.skip_codecs or track.codec == target.codec
        if accepted_codec and fits and rules.accepts(TrackType.VIDEO, track.codec):
            return None
        return Transcode(
            codec=target.codec,
            crf=target.crf,
            bitrate=target.bitrate,
            preset=target.preset,
            max_width=target.max_width,
            max_height=target.max_height,
        )

    # -- 8-9. flags and titles

    def source_defaults(self, ordered: list[Track]) -> dict[int, bool]:
        """The source's default flags, or what plays where its container stores none.

        AVI and MPEG-PS hold no flags: a player plays their first video and first
        audio, so that is what "keep" means when such a file is remuxed; writing
        "not default" into the MKV would misread the source.
        """
        if rules_for(self.media.container).keeps_flags:
            return {t.index: t.default for t in ordered}
        firsts = {
            kind: next((t.index for t in self.media.of_type(kind) if not t.attached_pic), None)
            for kind in (TrackType.VIDEO, TrackType.AUDIO)
        }
        return {t.index: t.index == firsts.get(t.type) for t in ordered}

    def flags(self, ordered: list[Track]) -> dict[int, bool]:
        policy = self.policy
        default = self.source_defaults(ordered)
        videos = [t for t in ordered if t.type is TrackType.VIDEO and not t.attached_pic]
        if len(videos) > 1:
            # Only a choice between pictures needs a rule (the first one plays).
            # A lone video keeps its flag: players show it either way, and files
            # written by ffmpeg (no flags) would otherwise all be rewritten.
            for n, track in enumerate(videos):
                default[track.index] = n == 0

        audio = [t for t in ordered if t.type is TrackType.AUDIO]
        if audio and policy.audio.default is AudioDefault.PREFERRED and policy.languages.audio:
            prefs = policy.languages.audio
            plain = [t for t in audio if not self.commentary(t)] or audio
            chosen = plain[0]
            for lang in prefs:
                matches = [t for t in plain if self.language[t.index] == lang]
                if matches:
                    chosen = matches[0]
                    break
            for track in audio:
                default[track.index] = track is chosen

        subs = [t for t in ordered if t.type is TrackType.SUBTITLE]
        mode = policy.subtitles.default
        if subs and mode is not SubtitleDefault.KEEP:
            chosen_sub: Track | None = None
            if mode is SubtitleDefault.PREFERRED:
                chosen_sub = self.preferred_subtitle(subs)
            elif mode is SubtitleDefault.FOREIGN_AUDIO:
                chosen_sub = self.foreign_audio_subtitle(subs, audio, default)
            for track in subs:
                default[track.index] = track is chosen_sub
        return default

    def subtitle_rank(self, subs: list[Track]) -> Callable[[Track], tuple[bool, bool, bool, int]]:
        """Full dialogue first, then SDH, then forced-only; commentary after its kind."""

        def rank(track: Track) -> tuple[bool, bool, bool, int]:
            return (is_forced_only(track), self.commentary(track), is_sdh(track), subs.index(track))

        return rank

    def preferred_subtitle(self, subs: list[Track], *, full_only: bool = False) -> Track | None:
        """The best subtitle in the most preferred language present."""
        for lang in self.policy.languages.subtitle:
            matches = [t for t in subs if self.language[t.index] == lang]
            if full_only:
                matches = [t for t in matches if not is_forced_only(t)]
            if matches:
                return min(matches, key=self.subtitle_rank(subs))
        return None

    def foreign_audio_subtitle(
        self, subs: list[Track], audio: list[Track], default: dict[int, bool]
    ) -> Track | None:
        """Full subtitles when the audio is foreign; forced-only ones when it is not.

        A French film gets the full English subtitles (a signs-only track would
        leave the dialogue untranslated); an English film gets the English forced
        track, if there is one, for its signs and foreign parts.
        """
        default_audio = next((t for t in audio if default[t.index]), None)
        if default_audio is None and audio and self.rules.first_track_default:
            # MP4 will write the first audio as default: judge by what plays
            default_audio = audio[0]
        prefs = self.policy.languages.subtitle
        if default_audio is None or not prefs:
            return None
        reads = prefs[0]
        if self.language[default_audio.index] != reads:
            return self.preferred_subtitle(subs, full_only=True)
        forced = [t for t in subs if self.language[t.index] == reads and is_forced_only(t)]
        return min(forced, key=self.subtitle_rank(subs)) if forced else None

    def title(self, track: Track) -> str | None:
        if track.type in self.policy.metadata.clear_titles:
            return None
        return track.title

    def container_title(self) -> str | None:
        wanted = self.policy.metadata.container_title
        if wanted is None:
            return self.media.title
        text = wanted.replace("{stem}", self.media.path.stem).strip()
        return text or None

    # -- putting it together

    def run(self) -> Plan:
        self.assign_languages()
        self.select()
        kept = [t for t in self.media.tracks if t.index not in self.removed]
        ordered = self.order(kept)
        transcodes = {t.index: self.transcode_for(t) for t in ordered}
        default = self.flags(ordered)
        target: list[PlannedTrack] = []
        for track in ordered:
            transcode = transcodes[track.index]
            width, height = track.width, track.height
            if transcode is not None and width is not None and height is not None:
                width, height = scaled_size(
                    width, height, transcode.max_width, transcode.max_height
                )
            target.append(
                PlannedTrack(
                    source_index=track.index,
                    type=track.type,
                    codec=transcode.codec if transcode else track.codec,
                    language=self.language[track.index],
                    title=self.title(track),
                    default=default[track.index],
                    forced=self.forced_flag(track),
                    transcode=transcode,
                    width=width,
                    height=height,
                    hearing_impaired=self.hearing_impaired_flag(track),
                    attached_pic=track.attached_pic,
                    filename=track.filename,
                    mime_type=track.mime_type,
                )
            )
        predicted = effective_tracks(self.container, tuple(target))
        title = self.container_title()
        changes = wording.change_lines(
            self.media,
            self.container,
            self.rules,
            ordered=ordered,
            predicted=predicted,
            title=title,
            removed=self.removed,
            language=self.language,
        )
        suffix = self.misnamed()
        if suffix is not None:
            changes.append(wording.rename(self.media.path, suffix, self.container))
        if changes and not self.rules.writable:
            # said before any tool runs, so the dry run and the real run agree
            raise PlanError(
                f"{self.media.path}: vpo-tui cannot write {self.container} files, and the policy"
                f" would change this one ({changes[0]}); a policy with"
                ' [container] format = "mkv" remuxes it'
            )
        if changes:
            # only beside real changes: on a complying file it would be a change
            # that no rewrite can make (and the plan would never become empty)
            changes += wording.muxer_defaults(self.container, tuple(target), predicted)
            changes += self.notes
        return Plan(
            source=self.media,
            container=self.container,
            tracks=predicted,
            title=title,
            changes=tuple(changes),
            pass_kind=self.pass_kind(changes, ordered, predicted),
            suffix=suffix,
        )

    def misnamed(self) -> str | None:
        """The right extension for Matroska content with another name, when the policy
        asks for MKV (a kept container keeps the user's name)."""
        media = self.media
        asked = self.policy.container.format is ContainerFormat.MKV
        wrong = media.path.suffix.lower() not in (".mkv", ".mk3d")
        if asked and media.container == MKV and self.container == MKV and wrong:
            return ".mkv"
        return None

    def pass_kind(
        self, changes: list[str], ordered: list[Track], predicted: tuple[PlannedTrack, ...]
    ) -> PassKind:
        if not changes:
            return PassKind.NONE
        if any(t.transcode is not None for t in predicted) or self.container != MKV:
            return PassKind.FFMPEG
        same_tracks = [t.index for t in ordered] == [t.index for t in self.media.tracks]
        if self.media.container != MKV or not same_tracks:
            return PassKind.MKVMERGE
        return PassKind.MKVPROPEDIT


def plan(policy: Policy, media: MediaInfo) -> Plan:
    """What ``policy`` would change in ``media`` and how (raises ``PlanError`` naming the file)."""
    container = output_container(policy, media)
    planner = _Planner(policy, media, container, rules_for(container))
    try:
        return planner.run()
    except _SkipFile as skip:
        unchanged = tuple(
            PlannedTrack(
                source_index=t.index,
                type=t.type,
                codec=t.codec,
                language=t.language,
                title=t.title,
                default=t.default,
                forced=t.forced,
                width=t.width,
                height=t.height,
                hearing_impaired=t.hearing_impaired,
                attached_pic=t.attached_pic,
                filename=t.filename,
                mime_type=t.mime_type,
            )
            for t in media.tracks
        )
        return Plan(
            source=media,
            container=media.container,
            tracks=unchanged,
            title=media.title,
            changes=(),
            pass_kind=PassKind.NONE,
            skip_reason=f"{media.path}: {skip}",
        )


def predicted_media(plan: Plan) -> MediaInfo:
    """The ``MediaInfo`` a probe of the output should return, if the pass does what was planned.

    Used to verify real outputs (engine) and to test idempotence (plan it again: no changes).
    """
    source = plan.source
    path = source.path
    if plan.suffix is not None:
        path = path.with_suffix(plan.suffix)
    elif plan.container != source.container and plan.container in ("mkv", "mp4", "mov"):
        path = path.with_suffix(f".{plan.container}")
    tracks = []
    for position, planned in enumerate(plan.tracks):
        original = source.track(planned.source_index)
        tracks.append(
            dataclasses.replace(
                original,
                index=position,
                codec=planned.codec,
                language=planned.language,
                title=planned.title,
                default=planned.default,
                forced=planned.forced,
                width=planned.width,
                height=planned.height,
                hearing_impaired=planned.hearing_impaired,
                filename=planned.filename,
                mime_type=planned.mime_type,
            )
        )
    return dataclasses.replace(
        source, path=path, container=plan.container, tracks=tuple(tracks), title=plan.title
    )


__all__ = [
    "is_commentary",
    "output_container",
    "plan",
    "predicted_media",
    "scaled_size",
]
