"""`hyasr compare --model A --model B FILE...`: each file through every model, side by side,
the words where each differs from the first model in [brackets] (text), or JSON."""

from __future__ import annotations

import argparse
import json
import sys

from ..compare import compare, marked_texts, word_differences
from ..errors import HyasrError
from ..subtitles import transcription_dict
from .common import Command, add_decoder_option, add_model_options, command_error, load_transcriber

FORMATS = ("text", "json")


def configure(parser: argparse.ArgumentParser) -> None:
    add_model_options(parser, required=True, several=True)
    add_decoder_option(parser)
    parser.add_argument("--format", choices=FORMATS, default="text")
    parser.add_argument("files", nargs="+", metavar="FILE", help="audio files")


def run(args: argparse.Namespace) -> int:
    """Exit status: 0 every file compared, 1 some file failed, 2 no model or bad usage."""
    if len(args.model) < 2:
        print("hyasr: compare needs --model twice or more", file=sys.stderr)
        return 2
    try:
        transcribers = [load_transcriber(replace_model(args, name)) for name in args.model]
    except HyasrError as error:
        return command_error(error)
    status, documents = 0, []
    for path in args.files:
        try:
            comparison = compare(path, transcribers, args.decoder)
        except HyasrError as error:
            print(f"hyasr: {error}", file=sys.stderr)
            status = 1
            continue
        if args.format == "json":
            documents.append(
                {
                    "file": comparison.source,
                    "duration": comparison.duration,
                    "models": [transcription_dict(r) for r in comparison.results],
                    "differing_words": [
                        sum(len(run.first) for run in word_differences(comparison.texts[0], t)
                            if not run.same)
                        for t in comparison.texts
                    ],
                }
            )  # fmt: skip
            continue
        if len(args.files) > 1:
            print(f"{comparison.source}:")
        width = max(len(name) for name in args.model)
        first = comparison.texts[0]
        for index, (name, result) in enumerate(zip(args.model, comparison.results, strict=True)):
            text = marked_texts(first, result.best.text)[1] if index else first
            print(f"{name:<{width}}  [{result.best.decoder}] {text}")
            for notice in result.notices:
                print(f"hyasr: note: {name}: {notice}", file=sys.stderr)
    if documents:
        print(json.dumps(documents, ensure_ascii=False, indent=2))
    return status


def replace_model(args: argparse.Namespace, name: str) -> argparse.Namespace:
    """The command's options with one of its --model values."""
    return argparse.Namespace(**{**vars(args), "model": name})


COMMAND = Command("compare", "transcribe audio with several models side by side", configure, run)
