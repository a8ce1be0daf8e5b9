"""A picture of the speech: librosa's mel spectrogram in dB, the words drawn at their times
(coloured by confidence where words carry one), and where captions and the language
model's beam search were cut.

People see at a glance where speech was missed (energy with no word under it), where two
words were glued together (one word across a gap), and where a long file went quiet.
`speech_picture` draws it from samples, words and cut times alone, so live captions and
alignments can show it as well; `transcription_picture` is a `Transcriber` result's
picture (the page and `hyasr transcribe --plot`).

Layout: long audio wraps into rows of `ROW_S` seconds, like lines of text, so a
10-minute file is 30 readable rows 1200 px wide rather than one strip too long to read
(a clip shorter than a row fills one). Each row has a time ruler, the spectrogram (low
frequencies at the bottom, darker is louder), each word's span as a bar coloured by its
confidence (red unsure, green sure, grey where the decoder gives none) with its text on
two alternating lines, caption cuts as solid orange lines and LM segment cuts as dashed
violet ones. A legend line on top says so.

Light for long files: the short-time Fourier transform runs block by block (never a
whole file's spectrum at once), only `N_MELS` mel bands at a 10 ms hop are kept, and each
row is scaled to its pixel width (at 60 px/s, from 100 frames/s). `benchmarks/picture.py`
measures the time and memory (README, "Performance").

librosa does the signal processing (`stft`, Slaney mel filters, `power_to_db`): the
project did none of this by hand before, so nothing was replaced. Pillow draws, not
matplotlib: Pillow comes with Gradio already, while matplotlib is not installed and would
be one more dependency (with its own) for axes, ticks and a layout that take a few lines
here, and for pixels we place exactly where a word's time says anyway. What matplotlib
would have brought is a font with Armenian letters (its DejaVu Sans); Pillow's own font
and many machines' have none, so `fonts/` holds DejaVu Sans cut down to Latin and
Armenian (33 KB, made by tools/subset_font.py, with its licence).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .audio import to_float
from .results import Clip, Transcription, Word
from .settings import LM, PACKAGE_DIR
from .subtitles import Caption, CaptionLimits, captions, format_clock

if TYPE_CHECKING:
    from .transcriber import Transcriber

WIDTH = 1200  # px: the page's full width on a desktop, so the picture is shown 1:1
ROW_S = 20.0  # seconds a row: 60 px a second at WIDTH, room for a word's text
MAX_ROWS = 60  # longer audio gets longer rows rather than an ever taller picture
WINDOW_S = 0.025  # the usual speech analysis window and hop
HOP_S = 0.010
N_MELS = 64
FMAX_HZ = 8_000.0
TOP_DB = 80.0  # the quietest level drawn, under the loudest
QUIET_DB = 60.0  # audio this far under full scale is drawn as faint, not as loud
BLOCK_FRAMES = 4096  # STFT frames computed at once (about 3 MB at 16 kHz)

FONT_PATH = PACKAGE_DIR / "fonts" / "DejaVuSans-hy.ttf"
FONT_PX = 11
LEGEND_H = 20
RULER_H = 14
SPECTROGRAM_H = 72
BAR_H = 5
TEXT_LINE_H = 14
ROW_GAP = 8
ROW_H = RULER_H + SPECTROGRAM_H + BAR_H + 2 * TEXT_LINE_H + ROW_GAP
MARGIN = 6

BACKGROUND = (255, 255, 255)
INK = (55, 65, 81)
RULER = (156, 163, 175)
FRAME = (229, 231, 235)
NO_CONFIDENCE = (100, 116, 139)
CAPTION_CUT = (234, 88, 12)
LM_CUT = (124, 58, 237)
# Confidence 0 -> 0.5 -> 1: red, amber, green.
CONFIDENCE_STOPS = ((0.0, (220, 38, 38)), (0.5, (245, 158, 11)), (1.0, (22, 163, 74)))
# Spectrogram, quiet -> loud: white through blue to near-black, leaving the warm colours
# to the words and cuts drawn over it.
SPECTROGRAM_STOPS = (
    (0.0, (255, 255, 255)),
    (0.35, (191, 219, 254)),
    (0.65, (59, 130, 246)),
    (0.85, (30, 58, 138)),
    (1.0, (15, 23, 42)),
)
TICK_STEPS_S = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0)
MIN_TICK_PX = 50


def speech_picture(
    samples: np.ndarray,
    sample_rate: int,
    words: Sequence[Word] = (),
    *,
    caption_cuts: Sequence[float] = (),
    lm_cuts: Sequence[float] = (),
    width: int = WIDTH,
    row_s: float = ROW_S,
    clock_offset_s: float = 0.0,
) -> Image.Image:
    """The mel spectrogram of mono `samples` with `words` and cut times drawn over it.

    Args:
        samples: mono audio, any float or int dtype (1-D).
        sample_rate: its rate in Hz (any; 16 kHz is what the model hears).
        words: `Word`s with start/end seconds; each `confidence` in [0, 1] colours its
            bar (grey where it is None).
        caption_cuts: seconds where one caption ends and the next begins
            (`caption_cut_times`).
        lm_cuts: seconds where the beam search was cut into segments (`lm.silence_cuts`
            frames times the seconds per frame).
        width: the picture's width in pixels.
        row_s: seconds a row; audio shorter than that fills one row.
        clock_offset_s: what the ruler reads at the first sample (a stretch of a longer
            recording, such as the latest seconds of a live stream); times in `words`
            and the cuts stay relative to `samples`.

    Returns an RGB `PIL.Image.Image` (`gr.Image` shows it; `.save("x.png")` writes it).
    Raises `ValueError` for empty or multi-channel samples or a rate that is not positive.
    """
    samples = np.asarray(samples)
    if samples.ndim != 1 or samples.size == 0:
        raise ValueError(f"expected non-empty mono samples, got shape {samples.shape}")
    if sample_rate <= 0:
        raise ValueError(f"the sample rate must be positive, not {sample_rate}")
    if width < 100 or row_s <= 0:
        raise ValueError("width must be at least 100 px and row_s positive")
    duration = samples.size / sample_rate
    rows = min(MAX_ROWS, max(1, math.ceil(duration / row_s - 1e-9)))
    row_s = max(row_s, duration / MAX_ROWS) if rows > 1 else duration
    plot_w = width - 2 * MARGIN
    px_per_s = plot_w / row_s

    db, hop_s = _mel_db(samples, sample_rate)
    picture = Image.new("RGB", (width, LEGEND_H + rows * ROW_H), BACKGROUND)
    draw = ImageDraw.Draw(picture)
    font = _font()
    for row in range(rows):
        start_s = row * row_s
        end_s = min(duration, start_s + row_s)
        top = LEGEND_H + row * ROW_H
        _draw_spectrogram(picture, db, hop_s, start_s, end_s, px_per_s, top + RULER_H)
        _draw_ruler(draw, font, start_s, end_s, row_s, px_per_s, top, clock_offset_s)
    geometry = _Rows(rows, row_s, px_per_s, duration)
    for time_s in caption_cuts:
        _draw_cut(draw, geometry, time_s, CAPTION_CUT, dashed=False)
    for time_s in lm_cuts:
        _draw_cut(draw, geometry, time_s, LM_CUT, dashed=True)
    _draw_words(draw, font, geometry, words)
    _draw_legend(draw, font, words, bool(caption_cuts), bool(lm_cuts))
    return picture


def prepare() -> None:
    """Load librosa and the font now. librosa's first import on a machine compiles its
    numba functions (20-40 s on 2 cores; cached beside the package after that), so a
    server calls this at start-up, in the background, and its first picture is quick."""
    speech_picture(np.zeros(1600, dtype=np.float32), 16_000, [Word("ա", 0.0, 0.05)])


def caption_cut_times(cues: Sequence[Caption]) -> list[float]:
    """Where each caption after the first begins (seconds): the captions' cuts."""
    return [cue.start for cue in cues[1:]]


def transcription_picture(
    transcriber: Transcriber,
    clip: Clip,
    transcription: Transcription,
    limits: CaptionLimits | None = None,
    decoder: str | None = None,
) -> Image.Image:
    """The picture of a `Transcriber` result: `decoder`'s transcript (default: the best),
    its caption cuts under `limits`, and, for an LM transcript, where the beam search was
    cut. Those come from the clip's logits while the transcriber still caches them (it
    has just transcribed the clip); the model is never run again for a picture."""
    transcript = transcription.get(decoder) if decoder else transcription.best
    if transcript is None:
        raise ValueError(f"no {decoder!r} transcript in this result")
    cues = captions(transcript, transcription.duration, limits)
    lm_cuts: list[float] = []
    logits = transcriber.cached_logits(clip) if transcript.decoder == LM else None
    if logits is not None and transcriber.lm is not None:
        from .lm import silence_cuts

        settings = transcriber.lm_defaults
        scores = transcriber.vocabulary.log_probs(logits)
        frames = silence_cuts(
            scores,
            transcriber.vocabulary.blank_id,
            logits.seconds_per_frame,
            settings.segment_s,
            settings.silence_s,
        )
        lm_cuts = [frame * logits.seconds_per_frame for frame in frames[1:-1]]
    return speech_picture(
        clip.samples,
        clip.sample_rate,
        transcript.words,
        caption_cuts=caption_cut_times(cues),
        lm_cuts=lm_cuts,
    )


# --- The spectrogram ---------------------------------------------------------------------


def _mel_db(samples: np.ndarray, sample_rate: int) -> tuple[np.ndarray, float]:
    """(N_MELS, frames) mel power in dB, 0 at the loudest, -TOP_DB at the quietest drawn;
    frame f is centred on f * hop seconds. Computed block by block, so a long file never
    holds its whole complex spectrum."""
    import librosa

    n_fft = max(16, round(WINDOW_S * sample_rate))
    hop = max(1, round(HOP_S * sample_rate))
    basis = librosa.filters.mel(
        sr=sample_rate,
        n_fft=n_fft,
        n_mels=N_MELS,
        fmax=min(FMAX_HZ, sample_rate / 2),
        dtype=np.float32,
    )
    audio = samples if samples.dtype == np.float32 else to_float(samples)
    if not np.isfinite(audio).all():  # librosa refuses NaN and inf; audio.py drops them too
        audio = np.nan_to_num(audio, nan=0.0, posinf=0.0, neginf=0.0)
    frames = 1 + audio.size // hop
    mel = np.empty((N_MELS, frames), dtype=np.float32)
    half = n_fft // 2
    for first in range(0, frames, BLOCK_FRAMES):
        last = min(frames, first + BLOCK_FRAMES)
        # Frame f spans samples [f * hop - half, f * hop - half + n_fft), zero outside.
        begin, end = first * hop - half, (last - 1) * hop - half + n_fft
        block = audio[max(0, begin) : min(audio.size, end)]
        if begin < 0 or end > audio.size:
            block = np.pad(block, (max(0, -begin), max(0, end - audio.size)))
        spectrum = librosa.stft(block, n_fft=n_fft, hop_length=hop, center=False)
        mel[:, first:last] = basis @ (np.abs(spectrum) ** 2)
    # Loudness relative to the loudest band, but never to a quiet file's own noise floor.
    full_scale = (n_fft / 4) ** 2 * float(basis.max())  # a full-scale sine's peak band
    reference = max(float(mel.max()), full_scale * 10 ** (-QUIET_DB / 10))
    floor = reference * 10 ** (-TOP_DB / 10)  # true silence (0) is drawn at -TOP_DB
    db = librosa.power_to_db(mel, ref=reference, amin=floor, top_db=None)
    return np.clip(db, -TOP_DB, 0.0, out=db), hop / sample_rate


@cache
def _palette(stops: tuple[tuple[float, tuple[int, int, int]], ...]) -> np.ndarray:
    """A 256 x 3 colour table interpolated between (position, RGB) stops."""
    positions = np.array([p for p, _ in stops])
    colours = np.array([c for _, c in stops], dtype=np.float64)
    levels = np.linspace(0.0, 1.0, 256)
    table = [np.interp(levels, positions, colours[:, channel]) for channel in range(3)]
    return np.stack(table, axis=1).round().astype(np.uint8)


def _draw_spectrogram(
    picture: Image.Image,
    db: np.ndarray,
    hop_s: float,
    start_s: float,
    end_s: float,
    px_per_s: float,
    top: int,
) -> None:
    first = round(start_s / hop_s)
    last = max(first + 1, min(db.shape[1], round(end_s / hop_s)))
    levels = ((db[::-1, first:last] + TOP_DB) * (255.0 / TOP_DB)).astype(np.uint8)
    width = max(1, round((end_s - start_s) * px_per_s))
    # Scale the grey levels (one channel), then colour them.
    scaled = Image.fromarray(levels, mode="L").resize(
        (width, SPECTROGRAM_H), Image.Resampling.BILINEAR
    )
    coloured = _palette(SPECTROGRAM_STOPS)[np.asarray(scaled)]
    picture.paste(Image.fromarray(coloured, mode="RGB"), (MARGIN, top))
    # A hairline frame, so that a silent stretch still shows where the row's time runs.
    ImageDraw.Draw(picture).rectangle(
        [MARGIN - 1, top - 1, MARGIN + width, top + SPECTROGRAM_H], outline=FRAME
    )


# --- What is drawn over it ---------------------------------------------------------------


class _Rows:
    """Time <-> position: which row a time falls in and its x there."""

    def __init__(self, rows: int, row_s: float, px_per_s: float, duration: float) -> None:
        self.rows, self.row_s, self.px_per_s, self.duration = rows, row_s, px_per_s, duration

    def row(self, time_s: float) -> int:
        return min(self.rows - 1, max(0, int(time_s // self.row_s)))

    def x(self, time_s: float, row: int) -> float:
        return MARGIN + (time_s - row * self.row_s) * self.px_per_s

    def top(self, row: int) -> int:
        return LEGEND_H + row * ROW_H


def _draw_ruler(
    draw: ImageDraw.ImageDraw,
    font: ImageFont.FreeTypeFont,
    start_s: float,
    end_s: float,
    row_s: float,
    px_per_s: float,
    top: int,
    offset_s: float = 0.0,
) -> None:
    step = next((s for s in TICK_STEPS_S if s * px_per_s >= MIN_TICK_PX), TICK_STEPS_S[-1])
    tick = math.ceil((start_s + offset_s) / step - 1e-9)  # round numbers on the clock
    while (clock_s := tick * step) - offset_s <= end_s + 1e-9:
        x = MARGIN + (clock_s - offset_s - start_s) * px_per_s
        draw.line([(x, top + RULER_H - 4), (x, top + RULER_H - 1)], fill=RULER)
        label = _clock(clock_s, step)
        if x + font.getlength(label) <= MARGIN + row_s * px_per_s + MARGIN:
            draw.text((x + 2, top), label, fill=RULER, font=font)
        tick += 1


def _clock(seconds: float, step: float) -> str:
    """A ruler label: tenths of a second between ticks closer than a second apart."""
    return f"{seconds:.1f}s" if step < 1 else format_clock(seconds, 0)


def _draw_cut(
    draw: ImageDraw.ImageDraw,
    rows: _Rows,
    time_s: float,
    colour: tuple[int, int, int],
    *,
    dashed: bool,
) -> None:
    if not 0 <= time_s <= rows.duration:
        return
    row = rows.row(time_s)
    x = rows.x(time_s, row)
    top = rows.top(row) + RULER_H
    bottom = top + SPECTROGRAM_H + BAR_H
    step = 5 if dashed else bottom - top
    for y in range(top, bottom, step * (2 if dashed else 1)):
        draw.line([(x, y), (x, min(bottom, y + step))], fill=colour, width=2)


def _confidence_colour(confidence: float | None) -> tuple[int, int, int]:
    if confidence is None:
        return NO_CONFIDENCE
    value = min(1.0, max(0.0, float(confidence)))
    positions = [p for p, _ in CONFIDENCE_STOPS]
    channels = zip(*(c for _, c in CONFIDENCE_STOPS), strict=True)
    return tuple(round(float(np.interp(value, positions, channel))) for channel in channels)


def _darker(colour: tuple[int, int, int], factor: float = 0.7) -> tuple[int, int, int]:
    return tuple(round(channel * factor) for channel in colour)


def _draw_words(
    draw: ImageDraw.ImageDraw,
    font: ImageFont.FreeTypeFont,
    rows: _Rows,
    words: Sequence[Word],
) -> None:
    placed = sorted((w for w in words if w.text and w.end >= 0), key=lambda w: w.start)
    starts = [(rows.row(w.start), rows.x(max(0.0, w.start), rows.row(w.start))) for w in placed]
    right_edge = MARGIN + rows.row_s * rows.px_per_s
    for index, word in enumerate(placed):
        colour = _confidence_colour(word.confidence)
        start = min(max(0.0, word.start), rows.duration)
        end = min(max(start, word.end), rows.duration)
        for row in range(rows.row(start), rows.row(end) + 1):  # a word may span two rows
            left = rows.x(max(start, row * rows.row_s), row)
            right = rows.x(min(end, (row + 1) * rows.row_s), row)
            y = rows.top(row) + RULER_H + SPECTROGRAM_H
            draw.rectangle([left, y + 1, max(left + 1, right - 1), y + BAR_H - 1], fill=colour)
        # The text on one of two lines, alternating, cut short before the next word on
        # the same line.
        row, x = starts[index]
        following = starts[index + 2] if index + 2 < len(starts) else None
        limit = following[1] if following and following[0] == row else right_edge
        text = _fit(word.text, font, limit - x - 3)
        if text:
            y = rows.top(row) + RULER_H + SPECTROGRAM_H + BAR_H + (index % 2) * TEXT_LINE_H
            draw.text((x, y), text, fill=_darker(colour), font=font)


def _fit(text: str, font: ImageFont.FreeTypeFont, room: float) -> str:
    """`text`, or as much of it as fits `room` px followed by an ellipsis; "" if none."""
    if font.getlength(text) <= room:
        return text
    for cut in range(len(text) - 1, 0, -1):
        shorter = text[:cut] + "…"
        if font.getlength(shorter) <= room:
            return shorter
    return ""


def _draw_legend(
    draw: ImageDraw.ImageDraw,
    font: ImageFont.FreeTypeFont,
    words: Sequence[Word],
    caption_cuts: bool,
    lm_cuts: bool,
) -> None:
    x, y = MARGIN, 4
    middle = y + FONT_PX // 2 + 1

    def label(text: str) -> None:
        nonlocal x
        draw.text((x, y), text, fill=INK, font=font)
        x += font.getlength(text) + 14

    if any(word.confidence is not None for word in words):
        for step in range(5):
            colour = _confidence_colour(step / 4)
            draw.rectangle([x, middle - 2, x + 7, middle + 2], fill=colour)
            x += 8
        x += 4
        label("word confidence, low to high")
    elif words:
        draw.rectangle([x, middle - 2, x + 20, middle + 2], fill=NO_CONFIDENCE)
        x += 24
        label("words")
    if caption_cuts:
        draw.line([(x, y), (x, y + FONT_PX)], fill=CAPTION_CUT, width=2)
        x += 6
        label("caption cut")
    if lm_cuts:
        draw.line([(x, y), (x, y + 4)], fill=LM_CUT, width=2)
        draw.line([(x, y + 8), (x, y + FONT_PX)], fill=LM_CUT, width=2)
        x += 6
        label("language model segment cut")
    label("mel spectrogram (dB)")


@cache
def _font(size: int = FONT_PX, path: Path = FONT_PATH) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size)


__all__ = ["caption_cut_times", "prepare", "speech_picture", "transcription_picture"]
