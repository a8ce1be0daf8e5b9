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
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import numpy as np

from ..errors import AudioDecodeError, HyasrError
from ..results import Partial, Phrase
from ..settings import SAMPLE_RATE
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
        chunks = (
            pcm_chunks(sys.stdin.buffer, args.chunk_ms)
            if args.source == STDIN
            else file_chunks(Path(args.source), args.chunk_ms, args.realtime)
        )
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


def pcm_chunks(pipe, chunk_ms: int) -> Iterator[tuple[np.ndarray, int]]:
    """Raw s16le 16 kHz mono PCM from a pipe, in chunks of what has arrived (at most
    `chunk_ms`), so that a live capture is fed as it is spoken."""
    limit = max(2, SAMPLE_RATE * chunk_ms // 1000 * 2)
    fd = pipe.fileno()
    left = b""
    while True:
        data = os.read(fd, limit)
        if not data:
            return
        data = left + data
        whole = len(data) // 2 * 2
        left = data[whole:]
        if whole:
            yield np.frombuffer(data[:whole], dtype="<i2"), SAMPLE_RATE


def file_chunks(path: Path, chunk_ms: int, realtime: bool) -> Iterator[tuple[np.ndarray, int]]:
    """A file's samples (samples, channels) at its own rate, `chunk_ms` at a time; with
    `realtime`, no faster than the audio lasts."""
    import soundfile

    if not path.is_file():
        raise AudioDecodeError(f"{path.name} was not found.")
    try:
        info = soundfile.info(str(path))
        blocks = soundfile.blocks(
            str(path), blocksize=max(1, info.samplerate * chunk_ms // 1000), dtype="float32",
            always_2d=True,
        )  # fmt: skip
        rate = info.samplerate
    except (soundfile.LibsndfileError, RuntimeError, TypeError):
        from ..audio import load_audio  # m4a, webm, ...: ffmpeg decodes it whole

        clip = load_audio(path)
        step = SAMPLE_RATE * chunk_ms // 1000
        blocks = (clip.samples[i : i + step] for i in range(0, len(clip.samples), step))
        rate = clip.sample_rate
    started = time.perf_counter()
    played = 0
    for block in blocks:
        if realtime:
            time.sleep(max(0.0, started + played / rate - time.perf_counter()))
        played += len(block)
        yield block, rate


COMMAND = Command("stream", "live captions from a pipe (raw PCM) or a file", configure, run)
