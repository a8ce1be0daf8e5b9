"""Captions, SRT, WebVTT, JSON and the Gradio views, checked with real parsers.

SRT is read back with `srt.parse` and WebVTT with webvtt-py in strict mode, so a file
that only looks right to our own code fails here.
"""

from __future__ import annotations

import gc
import json
import random
import unicodedata
from pathlib import Path

import pytest
import srt
import webvtt

from hyasr_space.results import Transcript, Transcription, Word
from hyasr_space.settings import GREEDY, LM
from hyasr_space.subtitles import (
    FILE_FORMATS,
    SEGMENT_COLUMNS,
    CaptionLimits,
    captions,
    file_stem,
    format_clock,
    gradio_subtitles,
    render,
    segments_table,
    to_json,
    to_srt,
    to_vtt,
    transcription_dict,
)
from hyasr_space.web.session_files import SessionFiles, close_session_files

ARMENIAN = "բարև ձեզ ինչպես եք այսօր եղանակը շատ լավ է և արևը փայլում է".split()


def transcript(words: list[Word], decoder: str = GREEDY) -> Transcript:
    return Transcript(" ".join(w.text for w in words), tuple(words), decoder, decoder)


def spoken(texts: list[str], start: float = 0.0, word_s: float = 0.4, gap_s: float = 0.1):
    """Words one after another, `gap_s` apart."""
    words, time = [], start
    for text in texts:
        words.append(Word(text, time, time + word_s))
        time += word_s + gap_s
    return words


def random_words(seed: int, count: int = 300) -> list[Word]:
    rng = random.Random(seed)
    words, time = [], rng.uniform(0, 2)
    for _ in range(count):
        length = rng.uniform(0.02, 1.2)
        words.append(Word(rng.choice(ARMENIAN), time, time + length))
        time += length + rng.choice([0.0, 0.02, 0.1, 0.3, 0.7, 2.5])
    return words


def vtt_times(caption: webvtt.Caption) -> tuple[float, float]:
    return caption.start_time.in_milliseconds() / 1000, caption.end_time.in_milliseconds() / 1000


def check_invariants(result, words, duration, limits=None):
    limits = limits or CaptionLimits()
    assert " ".join(c.text for c in result) == " ".join(w.text for w in words)
    previous_end = 0.0
    for caption in result:
        assert 0 <= previous_end <= caption.start < caption.end <= duration + 1e-9
        assert 1 <= len(caption.lines) <= limits.max_lines
        assert all(len(line) <= limits.max_line_chars or " " not in line for line in caption.lines)
        if len(caption.words) > 1:
            assert caption.words[-1].end - caption.words[0].start <= limits.max_duration_s
            gaps = [b.start - a.end for a, b in zip(caption.words, caption.words[1:], strict=False)]
            assert max(gaps) <= limits.pause_s
        previous_end = caption.end


def test_words_split_at_pauses_duration_and_line_length():
    words = spoken(ARMENIAN[:3]) + spoken(ARMENIAN[3:6], start=3.0)  # a 1.6 s pause
    result = captions(transcript(words))
    assert [c.text for c in result] == [" ".join(ARMENIAN[:3]), " ".join(ARMENIAN[3:6])]

    many = spoken(ARMENIAN * 3, gap_s=0.05)  # no pauses: duration and length split it
    limits = CaptionLimits(max_line_chars=20, max_lines=2, max_duration_s=3.0)
    result = captions(transcript(many), limits=limits)
    assert len(result) > 3
    check_invariants(result, many, many[-1].end, limits)


def test_two_lines_are_balanced():
    words = spoken(["ա" * 10, "բ" * 10, "գ" * 10, "դ" * 10, "ե" * 10])  # 54 characters
    (caption,) = captions(transcript(words))
    assert [len(line) for line in caption.lines] == [21, 32]  # ties: the longer line below


def test_a_word_longer_than_a_line_stays_whole():
    long_word = "ա" * 60
    result = captions(transcript(spoken(["բարև", long_word, "ձեզ"])))
    assert long_word in [line for c in result for line in c.lines]


@pytest.mark.parametrize("seed", range(5))
def test_random_transcripts_keep_every_word_in_order_and_in_the_audio(seed):
    words = random_words(seed)
    duration = words[-1].end + 1.0
    result = captions(transcript(words), duration)
    check_invariants(result, words, duration)
    subtitles = list(srt.parse(to_srt(transcript(words), duration)))
    cues = webvtt.from_string(to_vtt(transcript(words), duration), strict=True).captions
    assert len(subtitles) == len(cues) == len(result)


def test_srt_parses_and_round_trips_times_and_armenian_text():
    words = spoken(ARMENIAN[:4]) + spoken(ARMENIAN[4:], start=10.0)
    text = to_srt(transcript(words), duration=20.0)
    parsed = list(srt.parse(text))
    expected = captions(transcript(words), 20.0)
    assert [s.index for s in parsed] == list(range(1, len(expected) + 1))
    for subtitle, caption in zip(parsed, expected, strict=True):
        assert subtitle.start.total_seconds() == pytest.approx(caption.start, abs=5e-4)
        assert subtitle.end.total_seconds() == pytest.approx(caption.end, abs=5e-4)
        assert subtitle.content.split("\n") == list(caption.lines)
    assert unicodedata.is_normalized("NFC", text)
    assert " ".join(s.content.replace("\n", " ") for s in parsed) == " ".join(ARMENIAN)


def test_vtt_parses_strictly_and_round_trips():
    words = spoken(ARMENIAN[:4]) + spoken(ARMENIAN[4:], start=10.0)
    text = to_vtt(transcript(words), duration=20.0)
    assert text.startswith("WEBVTT\n\n")
    parsed = webvtt.from_string(text, strict=True).captions
    expected = captions(transcript(words), 20.0)
    for cue, caption in zip(parsed, expected, strict=True):
        assert vtt_times(cue) == pytest.approx((caption.start, caption.end), abs=5e-4)
        assert cue.text.split("\n") == list(caption.lines)


def test_vtt_escapes_markup_characters():
    text = to_vtt(transcript(spoken(["a<b", "c&d", "e>f"])))
    assert "a&lt;b c&amp;d e&gt;f" in text
    (cue,) = webvtt.from_string(text, strict=True).captions
    assert "<" not in cue.raw_text


def test_first_word_at_zero_and_times_past_an_hour():
    words = [Word("բարև", 0.0, 0.5), Word("ձեզ", 3725.5, 3726.25)]
    srt_text = to_srt(transcript(words), duration=3730.0)
    assert "00:00:00,000 --> 00:00:00,800" in srt_text  # held for MIN_CAPTION_S
    assert "01:02:05,500 --> 01:02:06,300" in srt_text
    first, second = srt.parse(srt_text)
    assert second.start.total_seconds() == 3725.5
    vtt_text = to_vtt(transcript(words), duration=3730.0)
    assert "01:02:05.500 --> 01:02:06.300" in vtt_text
    cues = webvtt.from_string(vtt_text, strict=True).captions
    assert vtt_times(cues[1]) == (3725.5, 3726.3)
    assert segments_table(transcript(words), 3730.0)[1][:2] == ["1:02:05.50", "1:02:06.30"]


def test_short_captions_are_held_without_overlap_or_leaving_the_audio():
    words = [Word("ա", 1.0, 1.1), Word("բ", 1.75, 1.8), Word("գ", 9.95, 9.98)]
    result = captions(transcript(words), duration=10.0, limits=CaptionLimits(pause_s=0.5))
    assert [(c.start, c.end) for c in result] == [(1.0, 1.75), (1.75, 2.55), (9.95, 10.0)]


def test_times_are_clamped_into_the_audio_and_made_monotonic():
    words = [Word("ա", -0.5, 0.3), Word("բ", 0.2, 0.6), Word("գ", 4.0, 12.0)]
    result = captions(transcript(words), duration=5.0)
    check_invariants(result, words, 5.0)
    assert result[0].start == 0.0 and result[-1].end == 5.0


def test_a_word_squeezed_to_the_end_still_gets_a_valid_cue():
    words = [Word("ա", 1.0, 2.0), Word("բ", 2.0, 2.0)]
    text = to_vtt(transcript(words), duration=2.0, limits=CaptionLimits(max_duration_s=0.5))
    cues = webvtt.from_string(text, strict=True).captions
    assert [(vtt_times(c), c.text) for c in cues] == [((1.0, 2.0), "ա բ")]


def test_empty_transcript_gives_valid_empty_files():
    empty = transcript([])
    assert captions(empty) == []
    assert list(srt.parse(to_srt(empty))) == []
    assert webvtt.from_string(to_vtt(empty), strict=True).captions == []
    assert gradio_subtitles(empty) == [] and segments_table(empty) == []
    result = Transcription("silence.wav", 2.0, "tiny", (empty,))
    data = json.loads(to_json(result))
    assert data["decoders"][GREEDY]["segments"] == [] and data["decoders"][GREEDY]["text"] == ""


def test_json_holds_every_decoder_with_words_and_segments():
    greedy = transcript(spoken(ARMENIAN[:5]))
    lm = transcript(spoken(ARMENIAN[:4]) + spoken(ARMENIAN[4:6], start=5.0), decoder=LM)
    result = Transcription("ձայն.wav", 8.0, "tiny", (greedy, lm))
    text = to_json(result)
    assert "բարև" in text  # UTF-8, not \\u escapes
    data = json.loads(text)
    assert data == transcription_dict(result)
    assert data["file"] == "ձայն.wav" and data["duration"] == 8.0
    assert set(data["decoders"]) == {GREEDY, LM}
    segments = data["decoders"][LM]["segments"]
    assert [s["text"] for s in segments] == [" ".join(ARMENIAN[:4]), " ".join(ARMENIAN[4:6])]
    assert data["decoders"][LM]["words"][4] == {"word": ARMENIAN[4], "start": 5.0, "end": 5.4}


def test_render_picks_the_decoder_and_rejects_unknown_formats():
    greedy = transcript(spoken(["ա"]))
    lm = transcript(spoken(["բ"]), decoder=LM)
    result = Transcription("x.wav", 1.0, "tiny", (greedy, lm))
    assert "բ" in render(result, "srt") and "ա" in render(result, "vtt", decoder=GREEDY)
    with pytest.raises(ValueError, match="unknown format"):
        render(result, "txt2")
    with pytest.raises(ValueError, match="no 'lm' transcript"):
        render(Transcription("x.wav", 1.0, "tiny", (greedy,)), "srt", decoder=LM)


def test_gradio_views():
    words = spoken(ARMENIAN[:3]) + spoken(ARMENIAN[3:5], start=65.0)
    subtitles = gradio_subtitles(transcript(words), duration=70.0)
    assert subtitles == [
        {"text": " ".join(ARMENIAN[:3]), "timestamp": [0.0, 1.4]},
        {"text": " ".join(ARMENIAN[3:5]), "timestamp": [65.0, 65.9]},
    ]
    rows = segments_table(transcript(words), duration=70.0)
    assert len(SEGMENT_COLUMNS) == 3
    assert rows == [["0:00.00", "0:01.40", " ".join(ARMENIAN[:3])],
                    ["1:05.00", "1:05.90", " ".join(ARMENIAN[3:5])]]  # fmt: skip


def test_gradio_audio_accepts_the_subtitles():
    gr = pytest.importorskip("gradio")
    subtitles = gradio_subtitles(transcript(spoken(ARMENIAN[:3])))
    audio = gr.Audio(subtitles=subtitles)
    assert audio.subtitles == [{"start": 0.0, "end": 1.4, "text": " ".join(ARMENIAN[:3])}]


def test_format_clock():
    assert format_clock(0) == "0:00.00"
    assert format_clock(7.254) == "0:07.25"
    assert format_clock(599.999) == "10:00.00"
    assert format_clock(3725.5) == "1:02:05.50"


def test_file_stem_is_safe_and_keeps_armenian():
    assert file_stem("Հարցազրույց 1.mp3") == "Հարցազրույց_1"
    assert file_stem("../../etc/passwd") == "passwd"
    assert file_stem("...") == "transcript"
    assert file_stem("<script>.wav") == "script"


def test_session_files_write_replace_and_clean_up(tmp_path: Path):
    result = Transcription("ձայն.wav", 3.0, "tiny", (transcript(spoken(ARMENIAN[:3])),))
    with SessionFiles(root=tmp_path) as files:
        paths = files.write_transcription(result)
        assert set(paths) == set(FILE_FORMATS)
        assert all(p.parent == files.path and p.stem == "ձայն" for p in paths.values())
        assert list(srt.parse(paths["srt"].read_text(encoding="utf-8")))
        other = Transcription("other.wav", 3.0, "tiny", result.transcripts)
        files.write_transcription(other, formats=["vtt"])
        assert [p.name for p in files.path.iterdir()] == ["other.vtt"]
        folder = files.path
    assert not folder.exists() and files.closed
    with pytest.raises(RuntimeError):
        files.write("x.srt", "")
    files.close()  # twice is fine

    forgotten = SessionFiles(root=tmp_path)
    folder = forgotten.path
    forgotten.write("a.srt", "")
    del forgotten
    gc.collect()
    assert not folder.exists()

    state = SessionFiles(root=tmp_path)
    close_session_files(state)
    close_session_files(None)
    assert state.closed and not any(tmp_path.iterdir())


def test_session_file_names_cannot_leave_the_folder(tmp_path: Path):
    with SessionFiles(root=tmp_path) as files:
        path = files.write("../../escape.srt", "x")
        assert path.parent == files.path
        for name in ("", ".", ".."):
            with pytest.raises(ValueError):
                files.write(name, "x")


def test_caption_limits_come_from_the_settings_and_the_environment():
    from hyasr_space.settings import Settings

    assert CaptionLimits.from_settings(Settings()) == CaptionLimits()  # 42, 2 lines, 6 s
    assert (CaptionLimits().max_line_chars, CaptionLimits().max_lines) == (42, 2)
    environ = {
        "HYASR_CAPTION_MAX_LINE_CHARS": "20",
        "HYASR_CAPTION_MAX_LINES": "1",
        "HYASR_CAPTION_MAX_S": "2.5",
    }
    limits = CaptionLimits.from_settings(Settings.from_env(environ))
    assert (limits.max_line_chars, limits.max_lines, limits.max_duration_s) == (20, 1, 2.5)
    for variable in environ:
        with pytest.raises(ValueError, match="must be positive"):
            Settings.from_env({variable: "0"})
