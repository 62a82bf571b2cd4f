# ruff: noqa: E501  (expected error messages are kept whole, one per line, to be readable)
"""Loading and validating policy TOML: precise errors before any file is touched."""

from __future__ import annotations

from pathlib import Path

import pytest

from vpo_tui.media import TrackType
from vpo_tui.policy.load import (
    PolicyError,
    builtin_policy_names,
    load_policy,
    parse_policy,
    policy_text,
)
from vpo_tui.policy.model import (
    AudioDefault,
    AudioFallback,
    ContainerFormat,
    OnError,
    OnIncompatible,
    SubtitleDefault,
)

SKETCH = """
name = "normalize"
description = "English/Japanese audio, English subtitles, MKV"
on_error = "skip"

[languages]                 # preference order
audio = ["eng", "jpn"]
subtitle = ["eng"]

[audio]
keep = ["eng", "jpn", "und"]
drop_commentary = true
min_tracks = 1

[subtitles]
keep = ["eng"]
keep_forced = true
default = "foreign_audio"   # none | preferred | foreign_audio

[attachments]
drop = false

[container]
format = "mkv"              # mkv | mp4 | keep
on_incompatible = "error"   # error | skip | transcode

[transcode.video]
codec = "hevc"
crf = 22
preset = "medium"
max_height = 1080
skip_codecs = ["hevc", "av1"]

[transcode.audio]
codec = "aac"
bitrate = "192k"
keep_codecs = ["truehd", "dts", "flac", "eac3", "aac"]
"""


def error_of(text: str) -> PolicyError:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "policy.toml")
    return caught.value


def test_sketch_from_policy_md_loads_as_written() -> None:
    policy = parse_policy(SKETCH, "policy.toml")
    assert policy.name == "normalize"
    assert policy.on_error is OnError.SKIP
    assert policy.languages.audio == ("eng", "jpn")
    assert policy.languages.subtitle == ("eng",)
    assert policy.audio.keep == ("eng", "jpn", "und")
    assert policy.audio.drop_commentary is True
    assert policy.audio.min_tracks == 1
    assert policy.subtitles.keep == ("eng",)
    assert policy.subtitles.default is SubtitleDefault.FOREIGN_AUDIO
    assert policy.attachments.drop is False
    assert policy.container.format is ContainerFormat.MKV
    assert policy.container.on_incompatible is OnIncompatible.ERROR
    assert policy.video_transcode is not None
    assert policy.video_transcode.codec == "hevc"
    assert policy.video_transcode.crf == 22
    assert policy.video_transcode.max_height == 1080
    assert policy.video_transcode.skip_codecs == ("hevc", "av1")
    assert policy.audio_transcode is not None
    assert policy.audio_transcode.bitrate == "192k"
    assert policy.audio_transcode.keep_codecs == ("truehd", "dts", "flac", "eac3", "aac")
    assert policy.source == "policy.toml"
    assert len(policy.digest) == 64


def test_every_other_key() -> None:
    policy = parse_policy(
        """
        commentary_patterns = ["Kommentar"]
        [languages]
        reorder = false
        [audio]
        fallback = "error"
        default = "keep"
        [subtitles]
        drop_commentary = true
        remove_all = true
        [metadata]
        und_language = "en"
        clear_titles = ["subtitle", "audio"]
        container_title = "{stem}"
        [transcode.video]
        codec = "x265"
        bitrate = "4M"
        max_width = 1920
        """,
        "p.toml",
    )
    assert policy.name == "p"  # defaults to the file stem
    assert policy.commentary_patterns == ("kommentar",)
    assert policy.languages.reorder is False
    assert policy.audio.fallback is AudioFallback.ERROR
    assert policy.audio.default is AudioDefault.KEEP
    assert policy.subtitles.remove_all and policy.subtitles.drop_commentary
    assert policy.metadata.und_language == "eng"
    assert policy.metadata.clear_titles == (TrackType.AUDIO, TrackType.SUBTITLE)
    assert policy.metadata.container_title == "{stem}"
    assert policy.video_transcode is not None
    assert policy.video_transcode.codec == "hevc"
    assert policy.video_transcode.bitrate == "4M"


def test_clear_titles_true_means_every_titled_type() -> None:
    policy = parse_policy("[metadata]\nclear_titles = true\n", "p.toml")
    assert TrackType.AUDIO in policy.metadata.clear_titles
    assert TrackType.SUBTITLE in policy.metadata.clear_titles


def test_empty_policy_changes_nothing_by_default() -> None:
    policy = parse_policy("", "empty.toml")
    assert policy.audio.keep is None and policy.subtitles.keep is None
    assert policy.container.format is ContainerFormat.KEEP
    assert policy.video_transcode is None and policy.audio_transcode is None


def test_language_codes_are_normalised() -> None:
    policy = parse_policy('[audio]\nkeep = ["en", "deu", "GER"]\n', "p.toml")
    assert policy.audio.keep == ("eng", "ger")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[audio]\nkeep = ["eng", "jpn", "xx"]\n',
            'policy.toml: audio.keep[2]: "xx" is not an ISO 639-2 language code'
            ' (expected e.g. "eng", "jpn", "und")',
        ),
        (
            "[audio]\nkeeep = []\n",
            "policy.toml: audio.keeep: unknown key audio.keeep; did you mean audio.keep?",
        ),
        (
            "langauges = {}\n",
            "policy.toml: langauges: unknown key langauges; did you mean languages?",
        ),
        (
            "[subtitle]\nkeep = []\n",
            "policy.toml: subtitle: unknown key subtitle; did you mean subtitles?",
        ),
        (
            '[container]\nformat = "avi"\n',
            'policy.toml: container.format: "avi" is not one of "mkv", "mp4", "keep"',
        ),
        (
            "[audio]\nmin_tracks = -1\n",
            "policy.toml: audio.min_tracks: -1 is out of range (expected >= 0)",
        ),
        (
            '[audio]\nmin_tracks = "2"\n',
            'policy.toml: audio.min_tracks: expected an integer, got a string "2"',
        ),
        (
            "[audio]\ndrop_commentary = 1\n",
            "policy.toml: audio.drop_commentary: expected a boolean (true or false), got an integer 1",
        ),
        (
            '[languages]\naudio = "eng"\n',
            "policy.toml: languages.audio: expected an array of strings, got a string",
        ),
        (
            "[languages]\naudio = [1]\n",
            "policy.toml: languages.audio[0]: expected a string, got an integer",
        ),
        ('on_error = "ignore"\n', 'policy.toml: on_error: "ignore" is not one of "skip", "fail"'),
        (
            '[subtitles]\ndefault = "always"\n',
            'policy.toml: subtitles.default: "always" is not one of "none", "preferred", "foreign_audio", "keep"',
        ),
        (
            '[audio]\nfallback = "first"\n',
            'policy.toml: audio.fallback: "first" is not one of "keep_first", "keep_all", "error"',
        ),
        (
            '[metadata]\nund_language = "english"\n',
            'policy.toml: metadata.und_language: "english" is not an ISO 639-2 language code (expected e.g. "eng", "jpn", "und")',
        ),
        (
            '[metadata]\nclear_titles = ["audio", "sound"]\n',
            'policy.toml: metadata.clear_titles[1]: "sound" is not one of "video", "audio", "subtitle", "attachment"',
        ),
        (
            '[metadata]\ncontainer_title = "{name}"\n',
            'policy.toml: metadata.container_title: "{name}": the only placeholder is {stem} (the file name without extension)',
        ),
        (
            "transcode = 3\n",
            "policy.toml: transcode: expected a table ([transcode]), got an integer",
        ),
        (
            "[transcode.video]\ncrf = 20\n",
            'policy.toml: transcode.video.codec: missing (expected one of "h264", "hevc", "av1", "vp9")',
        ),
        (
            '[transcode.video]\ncodec = "mpeg2"\n',
            'policy.toml: transcode.video.codec: "mpeg2" is not one of "h264", "hevc", "av1", "vp9"',
        ),
        (
            '[transcode.video]\ncodec = "hevc"\ncrf = 52\n',
            "policy.toml: transcode.video.crf: 52 is out of range (expected 0..51 for hevc)",
        ),
        (
            '[transcode.video]\ncodec = "h264"\ncrf = -1\n',
            "policy.toml: transcode.video.crf: -1 is out of range (expected 0..51 for h264)",
        ),
        (
            '[transcode.video]\ncodec = "av1"\ncrf = 64\n',
            "policy.toml: transcode.video.crf: 64 is out of range (expected 0..63 for av1)",
        ),
        (
            '[transcode.video]\ncodec = "hevc"\ncrf = 20\nbitrate = "4M"\n',
            "policy.toml: transcode.video.bitrate: crf and bitrate are exclusive (give one of them)",
        ),
        (
            '[transcode.video]\ncodec = "hevc"\nbitrate = "fast"\n',
            'policy.toml: transcode.video.bitrate: "fast" is not a bitrate (expected e.g. "192k" or "4M")',
        ),
        (
            '[transcode.video]\ncodec = "hevc"\nmax_height = 0\n',
            "policy.toml: transcode.video.max_height: 0 is out of range (expected 1..100000)",
        ),
        (
            '[transcode.video]\ncodec = "vp9"\npreset = "medium"\n',
            'policy.toml: transcode.video.preset: "medium" is not a vp9 preset (one of "good", "best", "realtime")',
        ),
        (
            '[transcode.video]\ncodec = "hevc"\nskip_codecs = ["h 264"]\n',
            'policy.toml: transcode.video.skip_codecs[0]: "h 264" is not a codec name (expected e.g. "hevc", "aac")',
        ),
        (
            '[transcode.audio]\ncodec = "dts"\n',
            'policy.toml: transcode.audio.codec: "dts" is not one of "aac", "ac3", "eac3", "opus", "flac", "mp3"',
        ),
        (
            '[transcode.audio]\ncodec = "aac"\nbitrate = 192\n',
            "policy.toml: transcode.audio.bitrate: expected a string, got an integer",
        ),
        (
            '[transcode.audio]\ncodec = "aac"\nkeep_codec = []\n',
            "policy.toml: transcode.audio.keep_codec: unknown key transcode.audio.keep_codec; did you mean transcode.audio.keep_codecs?",
        ),
        (
            'commentary_patterns = [""]\n',
            "policy.toml: commentary_patterns[0]: expected a non-empty text to look for in track titles",
        ),
    ],
)
def test_validation_errors_name_key_value_and_expectation(text: str, expected: str) -> None:
    assert str(error_of(text)) == expected


def test_error_fields() -> None:
    error = error_of('[audio]\nkeep = ["eng", "jpn", "xx"]\n')
    assert error.source == "policy.toml"
    assert error.key_path == "audio.keep[2]"
    assert error.line is None


def test_every_problem_is_reported_at_once() -> None:
    text = (
        'on_eror = "skip"\n'
        "[audio]\n"
        'keep = ["english", "jpn", 4]\n'
        'default = "loudest"\n'
        "[subtitles]\n"
        'remove_all = "yes"\n'
        "[transcode.video]\n"
        'codec = "hevc"\n'
        "crf = 99\n"
        'bitrate = "2M"\n'
        "[container]\n"
        'format = "avi"\n'
    )
    error = error_of(text)
    assert [p.key_path for p in error.problems] == [
        "on_eror",
        "audio.keep[0]",
        "audio.keep[2]",
        "audio.default",
        "subtitles.remove_all",
        "container.format",
        "transcode.video.crf",
    ]
    lines = str(error).splitlines()
    assert len(lines) == len(error.problems)
    assert all(line.startswith("policy.toml: ") for line in lines)
    assert lines[0] == "policy.toml: on_eror: unknown key on_eror; did you mean on_error?"
    # the error's own fields describe the first problem, as for a single one
    assert (error.key_path, error.source) == ("on_eror", "policy.toml")


def test_a_section_of_the_wrong_shape_does_not_hide_the_others() -> None:
    error = error_of('audio = 3\ntranscode = "x"\n[subtitles]\nkeep = "eng"\n')
    assert str(error).splitlines() == [
        "policy.toml: audio: expected a table ([audio]), got an integer",
        "policy.toml: subtitles.keep: expected an array of strings, got a string",
        "policy.toml: transcode: expected a table ([transcode]), got a string",
    ]


def test_remove_all_with_a_keep_list_is_a_contradiction() -> None:
    error = error_of('[subtitles]\nkeep = ["eng", "jpn"]\nremove_all = true\n')
    assert str(error) == (
        "policy.toml: subtitles.remove_all: true removes every subtitle, but subtitles.keep"
        " lists eng, jpn; drop one of the two"
    )
    # remove_all with an empty keep list says the same thing twice: fine
    parse_policy("[subtitles]\nkeep = []\nremove_all = true\n", "policy.toml")


def test_a_single_problem_is_one_line_with_itself_as_the_only_problem() -> None:
    error = error_of("[audio]\nmin_tracks = -1\n")
    assert error.problems == (error,)
    assert str(error) == "policy.toml: audio.min_tracks: -1 is out of range (expected >= 0)"


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("name = \n", 1, 8),
        ('name = "x"\n\n[audio]\nkeep = ["eng" "jpn"]\n', 4, 15),
        ("[audio]\n[audio]\n", 2, 7),  # tomllib points after the header
    ],
)
def test_syntax_errors_give_line_and_column(text: str, line: int, column: int) -> None:
    error = error_of(text)
    assert (error.line, error.column) == (line, column)
    assert str(error).startswith(f"policy.toml:{line}:{column}: TOML syntax error: ")


def test_unclosed_array_points_at_the_end() -> None:
    error = error_of('[audio]\nkeep = ["eng"\n')
    assert error.line is not None
    assert "TOML syntax error" in str(error)


def test_builtin_policies_ship_and_load() -> None:
    names = builtin_policy_names()
    assert {"normalize", "mkv-remux", "english-only", "hevc-1080p", "anime"} <= set(names)
    for name in names:
        policy = load_policy(name)
        assert policy.name == name
        assert policy.source == f"builtin:{name}"
        assert len(policy.description) > 40, name
        assert policy_text(name).startswith(f'name = "{name}"')


def test_anime_policy_prefers_japanese_with_foreign_audio_subtitles() -> None:
    anime = load_policy("anime")
    assert anime.languages.audio[0] == "jpn"
    assert anime.subtitles.default is SubtitleDefault.FOREIGN_AUDIO


def test_load_from_path(tmp_path: Path) -> None:
    path = tmp_path / "my policy.toml"
    path.write_text('[audio]\nkeep = ["eng"]\n', encoding="utf-8")
    policy = load_policy(str(path))
    assert policy.name == "my policy"
    assert policy.source == str(path)
    assert policy.source_path == path


def test_errors_name_the_file_given(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[audio]\nkeep = 3\n", encoding="utf-8")
    with pytest.raises(PolicyError, match=rf"^{path}: audio.keep: expected an array"):
        load_policy(str(path))


def test_missing_file_and_unknown_name(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"not a built-in policy.*normalize"):
        load_policy("no-such-policy")
    with pytest.raises(PolicyError, match="no such policy file"):
        load_policy(str(tmp_path / "missing.toml"))
    with pytest.raises(PolicyError, match="is a folder"):
        load_policy(str(tmp_path) + "/")


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'name = "caf\xe9"\n')
    with pytest.raises(PolicyError, match="not UTF-8"):
        load_policy(str(path))


def test_digest_follows_meaning_not_name() -> None:
    a = parse_policy('name = "a"\n[audio]\nkeep = ["eng"]\n', "a.toml")
    b = parse_policy('name = "b"\ndescription = "x"\n[audio]\nkeep = ["en"]\n', "b.toml")
    c = parse_policy('name = "a"\n[audio]\nkeep = ["jpn"]\n', "a.toml")
    assert a.digest == b.digest
    assert a.digest != c.digest
