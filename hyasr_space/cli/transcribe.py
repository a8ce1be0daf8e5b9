"""`hyasr transcribe FILE...`: text, JSON, SRT or WebVTT on standard output; with
`--plot FILE.png`, the picture of the speech (picture.py) as well."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..audio import load_audio
from ..errors import HyasrError
from ..results import Clip, Transcription
from ..subtitles import CaptionLimits, render, transcription_dict
from .common import (
    Command,
    add_caption_options,
    add_decoder_option,
    add_lm_options,
    add_model_options,
    caption_limits,
    command_error,
    lm_settings,
    load_transcriber,
)

if TYPE_CHECKING:
    from ..transcriber import Transcriber


def as_text(results: Sequence[Transcription], limits: CaptionLimits | None = None) -> str:
    """One line per file and decoder; prefixed by the file (several files) and the decoder
    (two decoders)."""
    lines = []
    for result in results:
        prefix = f"{result.source}: " if len(results) > 1 else ""
        for transcript in result.transcripts:
            tag = f"[{transcript.decoder}] " if len(result.transcripts) > 1 else ""
            lines.append(f"{prefix}{tag}{transcript.text}")
    return "\n".join(lines)


def as_json(results: Sequence[Transcription], limits: CaptionLimits | None = None) -> str:
    """A list with one object per file: file, duration, model, and per decoder the text,
    the words with start/end seconds and the caption segments."""
    data = [transcription_dict(r, limits) for r in results]
    return json.dumps(data, ensure_ascii=False, indent=2)


def as_srt(results: Sequence[Transcription], limits: CaptionLimits | None = None) -> str:
    """SubRip subtitles of the best transcript (one file: see SUBTITLE_FORMATS)."""
    return render(results[0], "srt", limits=limits).rstrip("\n")


def as_vtt(results: Sequence[Transcription], limits: CaptionLimits | None = None) -> str:
    """WebVTT subtitles of the best transcript (one file: see SUBTITLE_FORMATS)."""
    return render(results[0], "vtt", limits=limits).rstrip("\n")


OUTPUT_FORMATS: dict[str, Callable[..., str]] = {
    "text": as_text,
    "json": as_json,
    "srt": as_srt,
    "vtt": as_vtt,
}
SUBTITLE_FORMATS = ("srt", "vtt")  # one document per file: these take one FILE


def configure(parser: argparse.ArgumentParser) -> None:
    add_model_options(parser)
    add_decoder_option(parser)
    parser.add_argument("--format", choices=sorted(OUTPUT_FORMATS), default="text")
    add_lm_options(parser)
    add_caption_options(parser)
    parser.add_argument(
        "--plot",
        type=Path,
        metavar="FILE.png",
        help="also write the spectrogram with the words and cuts (one audio file)",
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="audio files")


def run(args: argparse.Namespace) -> int:
    """Exit status: 0 every file transcribed, 1 some file failed, 2 no model or bad usage."""
    if len(args.files) > 1 and (args.format in SUBTITLE_FORMATS or args.plot is not None):
        option = "--plot" if args.plot is not None else f"--format {args.format}"
        print(f"hyasr: {option} takes one file at a time", file=sys.stderr)
        return 2
    if args.plot is not None and args.plot.suffix.lower() not in _picture_suffixes():
        print(f"hyasr: --plot {args.plot}: not a picture file name (use .png)", file=sys.stderr)
        return 2
    try:
        transcriber = load_transcriber(args)
        lm = lm_settings(transcriber.lm_defaults, args)
        limits = caption_limits(args, transcriber.settings)
    except HyasrError as error:
        return command_error(error)
    results = []
    status = 0
    for path in args.files:
        try:
            if args.plot is None:
                results.append(transcriber.transcribe(path, args.decoder, lm))
                continue
            clip = load_audio(path, transcriber.settings)  # decoded once, for both
            results.append(transcriber.transcribe(clip, args.decoder, lm))
            status = max(status, _plot(args.plot, transcriber, clip, results[-1], limits))
        except HyasrError as error:
            print(f"hyasr: {error}", file=sys.stderr)
            status = 1
    notices = {notice for result in results for notice in result.notices}
    for notice in sorted(notices - set(transcriber.notices)):
        print(f"hyasr: note: {notice}", file=sys.stderr)
    if results:
        print(OUTPUT_FORMATS[args.format](results, limits))
    return status


def _plot(
    path: Path,
    transcriber: Transcriber,
    clip: Clip,
    result: Transcription,
    limits: CaptionLimits,
) -> int:
    """Write the picture of `result`; 1 (and a message) when the file cannot be written."""
    from ..picture import transcription_picture

    try:
        transcription_picture(transcriber, clip, result, limits).save(path)
    except OSError as error:
        print(f"hyasr: --plot {path}: {error.strerror or error}", file=sys.stderr)
        return 1
    return 0


def _picture_suffixes() -> set[str]:
    from PIL import Image

    return set(Image.registered_extensions())


COMMAND = Command("transcribe", "transcribe audio files", configure, run)
