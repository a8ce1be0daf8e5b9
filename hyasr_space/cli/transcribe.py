"""`hyasr transcribe FILE...`: text, JSON, SRT or WebVTT on standard output."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence

from ..errors import HyasrError
from ..results import Transcription
from ..subtitles import render, transcription_dict
from .common import (
    Command,
    add_decoder_option,
    add_lm_options,
    add_model_options,
    command_error,
    lm_settings,
    load_transcriber,
)


def as_text(results: Sequence[Transcription]) -> str:
    """One line per file and decoder; prefixed by the file (several files) and the decoder
    (two decoders)."""
    lines = []
    for result in results:
        prefix = f"{result.source}: " if len(results) > 1 else ""
        for transcript in result.transcripts:
            tag = f"[{transcript.decoder}] " if len(result.transcripts) > 1 else ""
            lines.append(f"{prefix}{tag}{transcript.text}")
    return "\n".join(lines)


def as_json(results: Sequence[Transcription]) -> str:
    """A list with one object per file: file, duration, model, and per decoder the text,
    the words with start/end seconds and the caption segments."""
    return json.dumps([transcription_dict(r) for r in results], ensure_ascii=False, indent=2)


def as_srt(results: Sequence[Transcription]) -> str:
    """SubRip subtitles of the best transcript (one file: see SUBTITLE_FORMATS)."""
    return render(results[0], "srt").rstrip("\n")


def as_vtt(results: Sequence[Transcription]) -> str:
    """WebVTT subtitles of the best transcript (one file: see SUBTITLE_FORMATS)."""
    return render(results[0], "vtt").rstrip("\n")


OUTPUT_FORMATS: dict[str, Callable[[Sequence[Transcription]], str]] = {
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
    parser.add_argument("files", nargs="+", metavar="FILE", help="audio files")


def run(args: argparse.Namespace) -> int:
    """Exit status: 0 every file transcribed, 1 some file failed, 2 no model or bad usage."""
    if args.format in SUBTITLE_FORMATS and len(args.files) > 1:
        print(f"hyasr: --format {args.format} takes one file at a time", file=sys.stderr)
        return 2
    try:
        transcriber = load_transcriber(args)
        lm = lm_settings(transcriber.lm_defaults, args)
    except HyasrError as error:
        return command_error(error)
    results = []
    status = 0
    for path in args.files:
        try:
            results.append(transcriber.transcribe(path, args.decoder, lm))
        except HyasrError as error:
            print(f"hyasr: {error}", file=sys.stderr)
            status = 1
    notices = {notice for result in results for notice in result.notices}
    for notice in sorted(notices - set(transcriber.notices)):
        print(f"hyasr: note: {notice}", file=sys.stderr)
    if results:
        print(OUTPUT_FORMATS[args.format](results))
    return status


COMMAND = Command("transcribe", "transcribe audio files", configure, run)
