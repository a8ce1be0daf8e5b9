"""`hyasr`: the command line, one module a command.

    hyasr transcribe [--model M] [--decoder greedy|lm|both] [--format text|json|srt|vtt] FILE...
    hyasr align [--model M] [--format text|json|srt|vtt] AUDIO TEXT_FILE
    hyasr stream [--model M] [--decoder greedy|lm|both] [--format text|jsonl] -|FILE
    hyasr serve [--model M] [--host HOST] [--port PORT] [--share]
    hyasr card [MODEL] [--format text|json] [--refresh]
    hyasr eval --model M --data D [--decoder greedy|lm|both] [--format text|json|markdown]
    hyasr tune-lm --model M --data D [--write]
    hyasr batch INPUT... --out DIR [--model M] [--decoder ...] [--jsonl] [--srt] [--vtt]

common.py holds the options, loading and error handling they share. Exit status: 0 done,
1 some input could not be read, 2 no model or bad usage.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

from . import align, batch, card, evaluate, serve, stream, transcribe, tune_lm
from .common import Command
from .serve import add_serve_arguments
from .transcribe import OUTPUT_FORMATS

COMMANDS: dict[str, Command] = {
    module.COMMAND.name: module.COMMAND
    for module in (transcribe, batch, stream, align, serve, card, evaluate, tune_lm)
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hyasr", description="Armenian speech recognition.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS.values():
        command.configure(commands.add_parser(command.name, help=command.help))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    return COMMANDS[args.command].run(args)


__all__ = ["COMMANDS", "OUTPUT_FORMATS", "add_serve_arguments", "build_parser", "main"]
