"""The picture of the speech (picture.py): real librosa spectrograms of real tones, read
back pixel by pixel: energy and pitch where the tones are, words and cuts at their times,
long audio in rows, and a `Transcriber` result's cuts from its cached logits."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from tone_model import GAP_S, RATE, TONE_S, TONES, WORDS, tone_speech

from hyasr_space import picture
from hyasr_space.picture import (
    BAR_H,
    CAPTION_CUT,
    LEGEND_H,
    LM_CUT,
    MARGIN,
    NO_CONFIDENCE,
    ROW_H,
    ROW_S,
    RULER_H,
    SPECTROGRAM_H,
    WIDTH,
    caption_cut_times,
    speech_picture,
    transcription_picture,
)
from hyasr_space.results import Clip, Word
from hyasr_space.settings import Settings
from hyasr_space.subtitles import CaptionLimits, captions
from hyasr_space.transcriber import Transcriber

PLOT_W = WIDTH - 2 * MARGIN
RED, GREEN = picture.CONFIDENCE_STOPS[0][1], picture.CONFIDENCE_STOPS[-1][1]
WHITE = (255, 255, 255)


@pytest.fixture(scope="module")
def tones() -> np.ndarray:
    return tone_speech(WORDS)[0]


def x_of(time_s: float, px_per_s: float, row: int = 0, row_s: float = ROW_S) -> int:
    return round(MARGIN + (time_s - row * row_s) * px_per_s)


def spectrogram(image, row: int = 0) -> np.ndarray:
    """The spectrogram of a row as (height, width, RGB), frame excluded."""
    top = LEGEND_H + row * ROW_H + RULER_H
    return np.asarray(image)[top : top + SPECTROGRAM_H, MARGIN:-MARGIN].astype(int)


def bar_colour(image, x: int, row: int = 0) -> tuple[int, ...]:
    y = LEGEND_H + row * ROW_H + RULER_H + SPECTROGRAM_H + BAR_H // 2
    return tuple(int(v) for v in np.asarray(image)[y, x])


def columns_of(image, colour: tuple[int, int, int], row: int = 0) -> list[int]:
    """x positions (in the whole picture) where the spectrogram holds `colour`."""
    found = (spectrogram(image, row) == colour).all(axis=2).any(axis=0)
    return [int(x) + MARGIN for x in np.flatnonzero(found)]


def test_the_spectrogram_is_dark_where_the_tones_are_and_high_where_they_are_high(
    tones: np.ndarray,
) -> None:
    image = speech_picture(tones, RATE)
    duration = len(tones) / RATE
    assert image.size == (WIDTH, LEGEND_H + ROW_H)  # a short clip is one full-width row
    px_per_s = PLOT_W / duration
    grey = spectrogram(image).mean(axis=2)
    darkest_row = {}
    for index, symbol in enumerate(WORDS):
        middle = GAP_S + index * (TONE_S + GAP_S) + TONE_S / 2
        column = grey[:, x_of(middle, px_per_s) - MARGIN]
        assert column.min() < 90, symbol  # loud somewhere in the tone
        darkest_row[symbol] = int(column.argmin())
        gap = middle + TONE_S / 2 + GAP_S / 2
        if gap < duration - GAP_S:
            assert grey[:, x_of(gap, px_per_s) - MARGIN].min() > 200, symbol  # silence
    # Low at the bottom: the higher a tone, the higher up (smaller y) its band.
    by_pitch = sorted(set(WORDS), key=TONES.get)
    rows = [darkest_row[symbol] for symbol in by_pitch]
    assert rows == sorted(rows, reverse=True) and rows[0] > rows[-1] + 20


def test_words_are_drawn_at_their_times_coloured_by_confidence(tones: np.ndarray) -> None:
    words = [Word("բարև", 0.1, 0.9, 0.0), Word("ձեզ", 1.2, 2.0, 1.0), Word("ա", 2.1, 2.3)]
    image = speech_picture(tones, RATE, words)
    px_per_s = PLOT_W / (len(tones) / RATE)
    assert bar_colour(image, x_of(0.5, px_per_s)) == RED
    assert bar_colour(image, x_of(1.6, px_per_s)) == GREEN
    assert bar_colour(image, x_of(2.2, px_per_s)) == NO_CONFIDENCE
    assert bar_colour(image, x_of(1.05, px_per_s)) == WHITE  # between words
    # Each word's text is written under its bar, from its start.
    text_top = LEGEND_H + RULER_H + SPECTROGRAM_H + BAR_H
    band = np.asarray(image)[text_top : text_top + 2 * picture.TEXT_LINE_H].min(axis=2)
    for word in words:
        x = x_of(word.start, px_per_s)
        assert (band[:, x : x + 12] < 200).any(), word.text


def test_cuts_are_drawn_where_they_were_made(tones: np.ndarray) -> None:
    image = speech_picture(tones, RATE, caption_cuts=[1.0], lm_cuts=[2.0])
    px_per_s = PLOT_W / (len(tones) / RATE)
    solid = columns_of(image, CAPTION_CUT)
    assert solid and all(abs(x - x_of(1.0, px_per_s)) <= 1 for x in solid)
    dashed = columns_of(image, LM_CUT)
    assert dashed and all(abs(x - x_of(2.0, px_per_s)) <= 1 for x in dashed)
    column = spectrogram(image)[:, x_of(2.0, px_per_s) - MARGIN]
    assert 0.3 < (column == LM_CUT).all(axis=1).mean() < 0.7  # dashed, not solid
    assert (spectrogram(image)[:, x_of(1.0, px_per_s) - MARGIN] == CAPTION_CUT).all()


def test_long_audio_wraps_into_rows_and_silence_stays_white() -> None:
    rng = np.random.default_rng(0)
    samples = (0.1 * rng.standard_normal(45 * RATE)).astype(np.float32)
    samples[20 * RATE : 40 * RATE] = 0  # the second row is silent
    words = [Word("ձեզ", 24.5, 25.5, 1.0)]
    image = speech_picture(samples, RATE, words, caption_cuts=[41.0])
    assert image.size == (WIDTH, LEGEND_H + 3 * ROW_H)
    px_per_s = PLOT_W / ROW_S
    assert spectrogram(image, 0).mean() < 200  # noise
    assert spectrogram(image, 1)[:, 3:-3].min() >= 250  # silence (bar the edge frames)
    assert bar_colour(image, x_of(25.0, px_per_s, row=1), row=1) == GREEN
    cut = columns_of(image, CAPTION_CUT, row=2)
    assert cut and all(abs(x - x_of(41.0, px_per_s, row=2)) <= 1 for x in cut)
    # The last row is as long as its audio (5 s of 20), not stretched.
    last = spectrogram(image, 2)
    assert last[:, round(6 * px_per_s) :].min() >= 250


def test_a_silent_file_is_white_and_int16_looks_like_float(tones: np.ndarray) -> None:
    assert spectrogram(speech_picture(np.zeros(RATE, dtype=np.float32), RATE)).min() >= 250
    as_int16 = (tones * 32767).astype(np.int16)
    difference = np.abs(
        spectrogram(speech_picture(as_int16, RATE)) - spectrogram(speech_picture(tones, RATE))
    )
    assert difference.mean() < 2


def test_bad_samples_are_drawn_as_silence(tones: np.ndarray) -> None:
    broken = tones.copy()
    broken[: RATE // 2] = np.nan
    broken[RATE // 2 : RATE // 2 + 10] = np.inf
    image = spectrogram(speech_picture(broken, RATE))
    px_per_s = PLOT_W / (len(tones) / RATE)
    assert image[:, : round(0.45 * px_per_s)].min() >= 250  # white where the NaNs were
    assert image[:, round(0.6 * px_per_s) :].min() < 90  # the tones after them drawn


def test_any_sample_rate_is_drawn_on_the_same_time_axis(tones: np.ndarray) -> None:
    import soxr

    at_44k = soxr.resample(tones, RATE, 44_100)
    a, b = spectrogram(speech_picture(tones, RATE)), spectrogram(speech_picture(at_44k, 44_100))
    assert a.shape == b.shape
    assert np.abs(a - b).mean() < 3  # of 255: the same tones at the same places
    assert np.abs(a - np.roll(b, 10, axis=1)).mean() > 10  # while 10 px off is not


@pytest.mark.parametrize(
    ("samples", "rate", "message"),
    [
        (np.zeros(0, dtype=np.float32), RATE, "non-empty mono"),
        (np.zeros((2, 1600), dtype=np.float32), RATE, "non-empty mono"),
        (np.zeros(1600, dtype=np.float32), 0, "sample rate must be positive"),
    ],
)
def test_bad_input_is_refused(samples: np.ndarray, rate: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        speech_picture(samples, rate)


def test_the_font_writes_armenian_letters() -> None:
    font = picture._font()

    def bitmap(text: str) -> bytes:
        return bytes(font.getmask(text))

    # Letters outside the font all draw the same "missing" box; Armenian ones differ.
    assert bitmap("\u4e00") == bitmap("\u4e01")
    assert len({bitmap(letter) for letter in "բարևձզ"}) == 6
    assert bitmap("բ") != bitmap("\u4e00")
    assert picture.FONT_PATH.stat().st_size < 60_000
    assert (picture.FONT_PATH.parent / "LICENSE").is_file()


def test_a_results_picture_shows_its_caption_and_beam_search_cuts(
    model_dir: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch, tones: np.ndarray
) -> None:
    # Segments of 1 s cut at 0.3 s of silence: the one pause in this clip cuts both.
    settings = replace(settings, lm_segment_s=1.0, lm_silence_s=0.3)
    transcriber = Transcriber.load(str(model_dir), settings=settings)
    pause_s = 1.0
    samples = np.concatenate([tones, np.zeros(int(pause_s * RATE), np.float32), tones])
    clip = Clip(samples)
    result = transcriber.transcribe(clip, "both")
    assert result.best.text == f"{WORDS} {WORDS}"
    limits = CaptionLimits()
    image = transcription_picture(transcriber, clip, result, limits)
    px_per_s = PLOT_W / clip.duration
    second_caption = caption_cut_times(captions(result.best, clip.duration, limits))
    assert len(second_caption) == 1
    assert all(
        abs(x - x_of(second_caption[0], px_per_s)) <= 1 for x in columns_of(image, CAPTION_CUT)
    )
    [lm_cut] = {round((x - MARGIN) / px_per_s, 1) for x in columns_of(image, LM_CUT)}
    # The beam search is cut where the pause begins (after the first clip's last gap).
    assert len(tones) / RATE - GAP_S - 0.1 <= lm_cut <= len(tones) / RATE + 0.1

    # Greedy decoding glued the two halves' words across the pause (no delimiter tone
    # ends the first): its picture shows one word over the silence, and no search cuts.
    greedy = transcription_picture(transcriber, clip, result, limits, decoder="greedy")
    pause = x_of(len(tones) / RATE + pause_s / 2, px_per_s)
    assert bar_colour(greedy, pause) != WHITE and bar_colour(image, pause) == WHITE
    assert not columns_of(greedy, CAPTION_CUT) and not columns_of(greedy, LM_CUT)
    # A clip whose logits left the cache gets no search cuts, and no second forward pass.
    monkeypatch.setattr(
        transcriber.model, "logits", lambda *a, **k: pytest.fail("the model ran again")
    )
    unseen = Clip(samples * 0.5)
    assert not columns_of(transcription_picture(transcriber, unseen, result), LM_CUT)


def test_a_clock_offset_moves_only_the_ruler() -> None:
    """The live tab draws the latest seconds of a stream with the stream's clock."""
    from hyasr_space.picture import LEGEND_H, RULER_H

    samples = (0.1 * np.random.default_rng(3).standard_normal(20 * 16_000)).astype(np.float32)
    words = [Word("բարև", 1.0, 2.0, 0.9)]
    plain = np.asarray(speech_picture(samples, 16_000, words))
    shifted = np.asarray(speech_picture(samples, 16_000, words, clock_offset_s=41.37))
    ruler = slice(LEGEND_H, LEGEND_H + RULER_H)
    assert (plain[ruler] != shifted[ruler]).any()
    np.testing.assert_array_equal(plain[LEGEND_H + RULER_H :], shifted[LEGEND_H + RULER_H :])
