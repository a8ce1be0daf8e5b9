"""`hyasr`: transcribe files from the terminal, or serve the app.

    hyasr transcribe [--model ID|DIR] [--decoder greedy|lm|both] [--format text|json] FILES...
    hyasr serve [--model ID|DIR] [--host HOST] [--port PORT] [--share]
    hyasr card [MODEL] [--format text|json]
    hyasr eval --model M --data D [--decoder greedy|lm|both] [--format text|json]
    hyasr tune-lm --model M --data D [--write]

Subcommands and output formats are registries (`register`, `FORMATS`), so later ones
(model card, evaluation, LM tuning; SRT/VTT) are added without touching these.
Exit status: 0 all files transcribed, 1 some file failed, 2 no model or bad usage.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from .card import add_card_arguments, run_card_command
from .decoding import LM, parse_hotwords
from .errors import HyasrError, ModelUnavailableError
from .evaluation import add_eval_arguments, run_eval_command
from .lm_tuning import add_tune_arguments, run_tune_command
from .settings import DEMO_MODEL, Settings
from .subtitles import render, transcription_dict
from .transcriber import DECODER_CHOICES, Transcriber, Transcription

log = logging.getLogger("hyasr")

Runner = Callable[[argparse.Namespace], int]
Formatter = Callable[[Sequence[Transcription]], str]


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Runner


COMMANDS: dict[str, Command] = {}


def register(
    name: str, help: str, configure: Callable[[argparse.ArgumentParser], None]
) -> Callable[[Runner], Runner]:
    """Add a subcommand: `configure` adds its options, the decorated function runs it."""

    def decorate(run: Runner) -> Runner:
        COMMANDS[name] = Command(name, help, configure, run)
        return run

    return decorate


def format_text(results: Sequence[Transcription]) -> str:
    """One line per file and decoder; prefixed by the file (several files) and the decoder
    (two decoders)."""
    lines = []
    for result in results:
        prefix = f"{result.source}: " if len(results) > 1 else ""
        for transcript in result.transcripts:
            tag = f"[{transcript.decoder}] " if len(result.transcripts) > 1 else ""
            lines.append(f"{prefix}{tag}{transcript.text}")
    return "\n".join(lines)


def format_json(results: Sequence[Transcription]) -> str:
    """A list with one object per file: file, duration, model, and per decoder the text
    and the words with start/end seconds."""
    data = [transcription_dict(result) for result in results]
    return json.dumps(data, ensure_ascii=False, indent=2)


def format_srt(results: Sequence[Transcription]) -> str:
    """SubRip subtitles of the best transcript (one file: see SUBTITLE_FORMATS)."""
    return render(results[0], "srt").rstrip("\n")


def format_vtt(results: Sequence[Transcription]) -> str:
    """WebVTT subtitles of the best transcript (one file: see SUBTITLE_FORMATS)."""
    return render(results[0], "vtt").rstrip("\n")


FORMATS: dict[str, Formatter] = {
    "text": format_text,
    "json": format_json,
    "srt": format_srt,
    "vtt": format_vtt,
}
SUBTITLE_FORMATS = ("srt", "vtt")  # one document per file: these take one FILE


def _model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        default=None,
        help="Hub id, local directory or 'demo' (default: HYASR_MODEL or the Armenian XLS-R 1B; "
        "only the default falls back to the demo model when it cannot be loaded)",
    )
    parser.add_argument("--revision", default=None, help="Hub revision: branch, tag or commit")


def _transcribe_arguments(parser: argparse.ArgumentParser) -> None:
    _model_arguments(parser)
    parser.add_argument("--decoder", choices=DECODER_CHOICES, default=LM)
    parser.add_argument("--format", choices=sorted(FORMATS), default="text")
    parser.add_argument("--alpha", type=float, help="LM weight (default: the checkpoint's)")
    parser.add_argument("--beta", type=float, help="word bonus (default: the checkpoint's)")
    parser.add_argument("--beam-width", type=int, help="beam width (default: 100)")
    parser.add_argument("--hotwords", default="", help="comma-separated words to favour")
    parser.add_argument("--hotword-weight", type=float, help="hotword weight (default: 10)")
    parser.add_argument("files", nargs="+", metavar="FILE", help="audio files")


@register("transcribe", "transcribe audio files", _transcribe_arguments)
def _transcribe(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    try:
        transcriber = Transcriber.load(args.model, args.revision, settings)
    except ModelUnavailableError as error:
        print(f"hyasr: {error}", file=sys.stderr)
        return 2
    for notice in transcriber.notices:
        print(f"hyasr: warning: {notice}", file=sys.stderr)
    if args.format in SUBTITLE_FORMATS and len(args.files) > 1:
        print(f"hyasr: --format {args.format} takes one file at a time", file=sys.stderr)
        return 2
    changes = {
        "alpha": args.alpha,
        "beta": args.beta,
        "beam_width": args.beam_width,
        "hotword_weight": args.hotword_weight,
    }
    results = []
    status = 0
    try:
        lm = replace(
            transcriber.lm_defaults,
            hotwords=parse_hotwords(args.hotwords),
            **{key: value for key, value in changes.items() if value is not None},
        )
    except HyasrError as error:
        print(f"hyasr: {error}", file=sys.stderr)
        return 2
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
        print(FORMATS[args.format](results))
    return status


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `hyasr serve` and of `python app.py`."""
    _model_arguments(parser)
    parser.add_argument("--share", action="store_true", help="also serve on a public share link")
    parser.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port to listen on (default 7860)")


@register("serve", "serve the web app", add_serve_arguments)
def _serve(args: argparse.Namespace) -> int:
    from .ui import build_demo, launch

    settings = Settings.from_env()
    demo = build_demo(settings, model=args.model, revision=args.revision)
    launch(demo, settings, share=args.share, host=args.host, port=args.port)
    return 0


def add_card_command_arguments(parser: argparse.ArgumentParser) -> None:
    add_card_arguments(parser, default_model=Settings.from_env().model)


@register("card", "print a model card's metrics (Hub, cache or local)", add_card_command_arguments)
def _card(args: argparse.Namespace) -> int:
    if args.model == DEMO_MODEL:
        args.model = str(Settings.from_env().demo_model_dir)
    return run_card_command(args)


register("eval", "measure WER, CER and speed on a labelled data set", add_eval_arguments)(
    run_eval_command
)
register(
    "tune-lm",
    "search the LM weights alpha and beta on a dev set; time beam widths",
    add_tune_arguments,
)(run_tune_command)


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


__all__ = [
    "COMMANDS",
    "FORMATS",
    "add_serve_arguments",
    "build_parser",
    "format_json",
    "format_text",
    "main",
    "register",
]

if __name__ == "__main__":
    sys.exit(main())
