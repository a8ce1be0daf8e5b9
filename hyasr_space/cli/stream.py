"""`hyasr stream -|FILE`: live captions in a terminal, from a pipe or played from a file.

    ffmpeg -i talk.mp3 -f s16le -ac 1 -ar 16000 - | hyasr stream -
    arecord -f S16_LE -r 16000 -c 1 -t raw | hyasr stream --format jsonl -
    hyasr stream --realtime speech.wav

Standard input is raw 16-bit little-endian 16 kHz mono PCM, fed to the stream as it
arrives (whatever the pipe holds, up to --chunk-ms at a time), so a live capture gives
live captions. A FILE is read block by block at its own rate and channel count
(libsndfile; other formats are decoded whole with ffmpeg first), as fast as the model
goes or, with --realtime, at the speed of speech. `--format text` prints each phrase
when it becomes final (and, on a terminal, the pending words in grey on the line below);
`--format jsonl` prints one JSON object per event: {"type": "partial"|"final", "text",
"start", "end", "words"}, a partial whenever the pending text changes. Ctrl-C ends the
stream cleanly: what was heard is decoded and printed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import numpy as np

from ..audio import read_file_chunks, read_pcm_chunks
from ..errors import HyasrError
from ..results import Partial, Phrase
from .common import (
    Command,
    add_decoder_option,
    add_lm_options,
    add_model_options,
    command_error,
    lm_settings,
    load_transcriber,
)

STDIN = "-"
FORMATS = ("text", "jsonl")
DEFAULT_CHUNK_MS = 100
GREY, RESET, CLEAR_LINE = "\x1b[90m", "\x1b[0m", "\r\x1b[K"


def configure(parser: argparse.ArgumentParser) -> None:
    add_model_options(parser)
    add_decoder_option(parser)
    parser.add_argument("--format", choices=FORMATS, default="text")
    add_lm_options(parser)
    parser.add_argument(
        "--chunk-ms",
        type=int,
        default=DEFAULT_CHUNK_MS,
        help=f"most audio fed at a time, in milliseconds (default {DEFAULT_CHUNK_MS})",
    )
    parser.add_argument(
        "--realtime", action="store_true", help="play a FILE at the speed of speech"
    )
    parser.add_argument(
        "source",
        metavar="-|FILE",
        help="'-': raw s16le 16 kHz mono PCM on standard input; or an audio file",
    )


def run(args: argparse.Namespace) -> int:
    """Exit status: 0 done, 1 the audio could not be read, 2 no model or bad usage."""
    if args.chunk_ms <= 0:
        print("hyasr: --chunk-ms must be positive", file=sys.stderr)
        return 2
    try:
        transcriber = load_transcriber(args)
        stream = transcriber.stream(args.decoder, lm_settings(transcriber.lm_defaults, args))
        if args.source == STDIN:
            chunks = read_pcm_chunks(sys.stdin.buffer, args.chunk_ms)
        else:
            chunks = read_file_chunks(Path(args.source), args.chunk_ms, transcriber.settings)
            chunks = paced(chunks) if args.realtime else chunks
    except HyasrError as error:
        return command_error(error)
    printer = Printer(args.format, sys.stdout)
    status = 0
    try:
        for samples, rate in chunks:
            printer.show(stream.feed(samples, rate))
    except KeyboardInterrupt:
        pass  # the stream ends here, and what was heard is still decoded
    except (HyasrError, OSError) as error:
        status = command_error(error)
    result = stream.finish()
    printer.show(stream.latest, done=True)
    for notice in result.notices:
        if notice not in transcriber.notices:
            print(f"hyasr: note: {notice}", file=sys.stderr)
    return status


class Printer:
    """Writes a stream's events as text lines or JSON lines."""

    def __init__(self, fmt: str, out: TextIO) -> None:
        self.format = fmt
        self.out = out
        self.pending = ""
        self.live = fmt == "text" and out.isatty()

    def show(self, partial: Partial, done: bool = False) -> None:
        for notice in partial.notices:
            print(f"hyasr: note: {notice}", file=sys.stderr)
        if self.live and (partial.closed or done):
            self.out.write(CLEAR_LINE)
        for phrase in partial.closed:
            self._event("final", phrase)
        pending = "" if done else partial.pending
        if pending != self.pending:
            self.pending = pending
            if self.format == "jsonl" and partial.open is not None:
                self._event("partial", partial.open)
            elif self.live:
                self.out.write(f"{CLEAR_LINE}{GREY}{pending}{RESET}")
        self.out.flush()

    def _event(self, kind: str, phrase: Phrase) -> None:
        if self.format == "jsonl":
            self.out.write(json.dumps({"type": kind, **phrase.to_dict()}, ensure_ascii=False))
        else:
            self.out.write(phrase.text)
        self.out.write("\n")


def paced(chunks: Iterator[tuple[np.ndarray, int]]) -> Iterator[tuple[np.ndarray, int]]:
    """The chunks no faster than the audio lasts (--realtime)."""
    started = time.perf_counter()
    played = 0.0
    for samples, rate in chunks:
        time.sleep(max(0.0, started + played - time.perf_counter()))
        played += len(samples) / rate
        yield samples, rate


COMMAND = Command("stream", "live captions from a pipe (raw PCM) or a file", configure, run)
