"""Captions from word timestamps: SRT, WebVTT, JSON, and what the Gradio page shows.

`captions()` groups a `Transcript`'s words into caption segments, greedily, in time order:
a new caption starts at a pause longer than `PAUSE_S`, when the caption would last longer
than `max_duration_s`, or when its words no longer fit `max_lines` lines of
`max_line_chars` characters (`CaptionLimits`; by default 6 s, 2 lines of 42, which
`CaptionLimits.from_settings` takes from HYASR_CAPTION_*). Two-line captions are broken
where the lines are most even.
Every other format is rendered from these captions, so the SRT file, the WebVTT file,
the captions on the audio player and the segment table always agree.

Times are clamped into the audio ([0, duration] when the duration is known), never
overlap, and never go backwards; a caption shorter than `MIN_CAPTION_S` is held on screen
that long unless the next caption or the end of the audio comes first.

SRT is composed with the `srt` library (it validates cues and writes the timestamp
format); WebVTT is written here: the format is a header line plus cues whose text needs
three characters escaped, and the parser webvtt-py, which the tests use to check our
output, would otherwise check its own writer.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import srt

from .results import Transcript, Transcription, Word
from .settings import CAPTION_MAX_LINE_CHARS, CAPTION_MAX_LINES, CAPTION_MAX_S, Settings

# Defaults of `CaptionLimits` beside the settings' three (HYASR_CAPTION_*); at least 5/6
# of a second on screen is Netflix's guideline, as are 42 characters a line, two lines.
PAUSE_S = 0.6  # a longer silence between two words ends a caption
MIN_CAPTION_S = 0.8  # shortest time a caption stays up, when there is room for it

FILE_FORMATS = ("srt", "vtt", "json")  # what `render` writes; the page offers all three
SEGMENT_COLUMNS = ["start", "end", "text"]
_MIN_CUE_S = 0.001
_UNSAFE_NAME = re.compile(r"[^\w\-]+")
_VTT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


@dataclass(frozen=True)
class CaptionLimits:
    """How words are grouped into captions (see the module docstring)."""

    max_line_chars: int = CAPTION_MAX_LINE_CHARS
    max_lines: int = CAPTION_MAX_LINES
    max_duration_s: float = CAPTION_MAX_S
    pause_s: float = PAUSE_S
    min_duration_s: float = MIN_CAPTION_S

    @classmethod
    def from_settings(cls, settings: Settings) -> CaptionLimits:
        """The limits a process is configured with (HYASR_CAPTION_*)."""
        return cls(
            max_line_chars=settings.caption_max_line_chars,
            max_lines=settings.caption_max_lines,
            max_duration_s=settings.caption_max_s,
        )

    def __post_init__(self) -> None:
        if self.max_line_chars < 1 or self.max_lines < 1:
            raise ValueError("max_line_chars and max_lines must be at least 1")
        if self.max_duration_s <= 0 or self.pause_s < 0 or self.min_duration_s < 0:
            raise ValueError("max_duration_s must be positive; pause_s, min_duration_s >= 0")


@dataclass(frozen=True)
class Caption:
    """One subtitle cue: its words, its lines of text, and when it is shown (seconds)."""

    start: float
    end: float
    lines: tuple[str, ...]
    words: tuple[Word, ...]

    @property
    def text(self) -> str:
        """The caption on one line (the audio player's captions, tables, JSON)."""
        return " ".join(self.lines)

    def to_dict(self) -> dict[str, Any]:
        return {"start": round(self.start, 3), "end": round(self.end, 3), "text": self.text}


def captions(
    transcript: Transcript | Iterable[Word],
    duration: float | None = None,
    limits: CaptionLimits | None = None,
) -> list[Caption]:
    """Group the words of a transcript into captions (in time order, non-overlapping).

    `duration` (seconds) bounds every time; without it the last word's end does.
    """
    limits = limits or CaptionLimits()
    words = transcript.words if isinstance(transcript, Transcript) else tuple(transcript)
    words = _clean_times(words, duration)
    groups: list[list[Word]] = []
    for word in words:
        group = groups[-1] if groups else None
        if group is None or _starts_new(group, word, limits):
            groups.append([word])
        else:
            group.append(word)
    limit_s = duration if duration is not None else (words[-1].end if words else 0.0)
    last_ms = math.floor(limit_s * 1000 + 1e-6) / 1000  # the last whole millisecond
    result: list[Caption] = []
    previous_end = 0.0
    for index, group in enumerate(groups):
        start, end = group[0].start, group[-1].end
        following = groups[index + 1][0].start if index + 1 < len(groups) else limit_s
        end = max(end, min(start + limits.min_duration_s, following, limit_s))
        # Whole milliseconds, as the files store them; WebVTT wants end > start.
        start, end = min(round(start, 3), last_ms), min(round(end, 3), last_ms)
        if end - start < _MIN_CUE_S:
            start = max(previous_end, round(end - _MIN_CUE_S, 3))
        if end - start < _MIN_CUE_S and result:  # squeezed to nothing: join the last cue
            last = result.pop()
            start, group = last.start, [*last.words, *group]
        previous_end = end
        lines = _wrap([word.text for word in group], limits.max_line_chars)
        result.append(Caption(start, end, tuple(lines), tuple(group)))
    return result


def _clean_times(words: Sequence[Word], duration: float | None) -> list[Word]:
    """Words with times inside [0, duration], each start >= the previous word's end."""
    cleaned: list[Word] = []
    floor = 0.0
    for word in words:
        if not word.text:
            continue
        start = max(word.start, floor)
        end = max(word.end, start)
        if duration is not None:
            start, end = min(start, duration), min(end, duration)
        cleaned.append(replace(word, start=start, end=end))
        floor = end
    return cleaned


def _starts_new(group: list[Word], word: Word, limits: CaptionLimits) -> bool:
    if word.start - group[-1].end > limits.pause_s:
        return True
    if word.end - group[0].start > limits.max_duration_s:
        return True
    texts = [w.text for w in group] + [word.text]
    return len(_wrap(texts, limits.max_line_chars)) > limits.max_lines


def _wrap(words: Sequence[str], max_chars: int) -> list[str]:
    """Lines of at most `max_chars` (a longer word gets a line of its own); two lines are
    balanced, so a caption does not read as one full line and a stub."""
    lines: list[list[str]] = []
    for word in words:
        if lines and len(" ".join([*lines[-1], word])) <= max_chars:
            lines[-1].append(word)
        else:
            lines.append([word])
    if len(lines) == 2:
        flat = lines[0] + lines[1]
        splits = [
            (max(len(" ".join(flat[:cut])), len(" ".join(flat[cut:]))), cut)
            for cut in range(1, len(flat))
        ]
        fitting = [item for item in splits if item[0] <= max_chars]
        if fitting:
            cut = min(fitting)[1]
            lines = [flat[:cut], flat[cut:]]
    return [" ".join(line) for line in lines]


def to_srt(
    transcript: Transcript, duration: float | None = None, limits: CaptionLimits | None = None
) -> str:
    """SubRip text (an empty string when nothing was recognised)."""
    cues = [
        srt.Subtitle(
            index=number,
            start=_timedelta(caption.start),
            end=_timedelta(caption.end),
            content="\n".join(caption.lines),
        )
        for number, caption in enumerate(captions(transcript, duration, limits), start=1)
    ]
    return srt.compose(cues, reindex=False)


def to_vtt(
    transcript: Transcript, duration: float | None = None, limits: CaptionLimits | None = None
) -> str:
    """WebVTT text (just the header when nothing was recognised)."""
    blocks = ["WEBVTT\n"]
    for caption in captions(transcript, duration, limits):
        timing = f"{_clock(caption.start, '.')} --> {_clock(caption.end, '.')}"
        text = "\n".join(line.translate(_VTT_ESCAPES) for line in caption.lines)
        blocks.append(f"{timing}\n{text}\n")
    return "\n".join(blocks)


def transcription_dict(
    transcription: Transcription, limits: CaptionLimits | None = None
) -> dict[str, Any]:
    """`Transcription.to_dict()` with each decoder's caption segments added."""
    data = transcription.to_dict()
    for transcript in transcription.transcripts:
        segments = captions(transcript, transcription.duration, limits)
        data["decoders"][transcript.decoder]["segments"] = [c.to_dict() for c in segments]
    return data


def to_json(transcription: Transcription, limits: CaptionLimits | None = None) -> str:
    """The whole result as JSON: every decoder's text, words and caption segments."""
    return (
        json.dumps(transcription_dict(transcription, limits), ensure_ascii=False, indent=2) + "\n"
    )


def render(
    transcription: Transcription,
    fmt: str,
    decoder: str | None = None,
    limits: CaptionLimits | None = None,
) -> str:
    """One of `FILE_FORMATS`; subtitles come from `decoder`'s transcript (default: the
    best)."""
    if fmt == "json":
        return to_json(transcription, limits)
    transcript = _pick(transcription, decoder)
    if fmt == "srt":
        return to_srt(transcript, transcription.duration, limits)
    if fmt == "vtt":
        return to_vtt(transcript, transcription.duration, limits)
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FILE_FORMATS)}")


def gradio_subtitles(
    transcript: Transcript, duration: float | None = None, limits: CaptionLimits | None = None
) -> list[dict[str, Any]]:
    """Captions for `gr.Audio(subtitles=...)`: ``[{"text": ..., "timestamp": [s, e]}]``."""
    return [
        {"text": c.text, "timestamp": [round(c.start, 3), round(c.end, 3)]}
        for c in captions(transcript, duration, limits)
    ]


def segments_table(
    transcript: Transcript, duration: float | None = None, limits: CaptionLimits | None = None
) -> list[list[str]]:
    """Rows of `SEGMENT_COLUMNS` for a `gr.Dataframe`: start, end (as m:ss.ss), text."""
    return [
        [format_clock(c.start), format_clock(c.end), c.text]
        for c in captions(transcript, duration, limits)
    ]


def format_clock(seconds: float, decimals: int = 2) -> str:
    """A short readable time: ``7.25`` -> ``0:07.25``, ``3725.5`` -> ``1:02:05.50``;
    `decimals` digits after the seconds (0: none)."""
    unit = 10**decimals
    ticks = round(max(seconds, 0.0) * unit)
    hours, rest = divmod(ticks, 3600 * unit)
    minutes, rest = divmod(rest, 60 * unit)
    second = f"{rest // unit:02d}" + (f".{rest % unit:0{decimals}d}" if decimals else "")
    return f"{hours}:{minutes:02d}:{second}" if hours else f"{minutes}:{second}"


def _clock(seconds: float, separator: str) -> str:
    millis = round(max(seconds, 0.0) * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}{separator}{rest % 1000:03d}"


def _timedelta(seconds: float) -> timedelta:
    return timedelta(milliseconds=round(max(seconds, 0.0) * 1000))


def _pick(transcription: Transcription, decoder: str | None) -> Transcript:
    if decoder is None:
        return transcription.best
    transcript = transcription.get(decoder)
    if transcript is None:
        available = ", ".join(t.decoder for t in transcription.transcripts)
        raise ValueError(f"no {decoder!r} transcript in this result (it has: {available})")
    return transcript


def file_stem(name: str) -> str:
    """A safe file name stem from an audio file's name (letters of any script kept)."""
    stem = _UNSAFE_NAME.sub("_", Path(name).stem).strip("_")[:80]
    return stem or "transcript"
