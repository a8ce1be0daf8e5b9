"""`hyasr align AUDIO TEXT_FILE`: the text's words placed on the audio, as a table, JSON,
SRT or WebVTT on standard output; warnings (a poor match, words the model cannot spell)
on standard error."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import HyasrError
from ..results import Transcription
from .common import Command, add_model_options, command_error, load_transcriber
from .transcribe import OUTPUT_FORMATS

WORD_HEADER = "start\tend\tconfidence\tword"


def as_table(results: list[Transcription]) -> str:
    """One line per word: start and end seconds, confidence, the word as written; an
    interpolated word (letters the model cannot spell) has its confidence as '-'."""
    lines = [WORD_HEADER]
    for word in results[0].best.words:
        score = "-" if word.interpolated else f"{word.confidence:.3f}"
        lines.append(f"{word.start:.3f}\t{word.end:.3f}\t{score}\t{word.text}")
    return "\n".join(lines)


FORMATS = {**OUTPUT_FORMATS, "text": as_table}


def configure(parser: argparse.ArgumentParser) -> None:
    add_model_options(parser)
    parser.add_argument(
        "--format",
        choices=sorted(FORMATS),
        default="text",
        help="text: a table of words with start, end and confidence (default)",
    )
    parser.add_argument("audio", metavar="AUDIO", help="the recording")
    parser.add_argument("text", metavar="TEXT_FILE", type=Path, help="its text, UTF-8 ('-': stdin)")


def run(args: argparse.Namespace) -> int:
    """Exit status: 0 aligned (warnings or not), 1 the audio or the text could not be read,
    2 no model, bad usage or nothing to align."""
    try:
        text = sys.stdin.read() if str(args.text) == "-" else args.text.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        print(f"hyasr: cannot read the text {args.text}: {error}", file=sys.stderr)
        return 1
    try:
        transcriber = load_transcriber(args)
        result = transcriber.align(args.audio, text)
    except HyasrError as error:
        return command_error(error)
    for notice in result.notices:
        if notice not in transcriber.notices:
            print(f"hyasr: warning: {notice}", file=sys.stderr)
    print(FORMATS[args.format]([result]))
    return 0


COMMAND = Command("align", "align a text to its recording: word times and scores", configure, run)
