"""What the `hyasr` commands share: their options, loading the model, errors, progress.

Each option is defined once here; a command picks the groups it needs. Exit statuses
are the same everywhere: 0 done, 1 some input could not be read, 2 no model, bad options
or no data set.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TextIO

from ..errors import AudioError
from ..evaluation import ProgressCallback
from ..lm import LMSettings, parse_hotwords
from ..settings import DECODER_CHOICES, DEVICES, DTYPES, LM, Settings
from ..subtitles import CaptionLimits
from ..transcriber import Transcriber

Runner = Callable[[argparse.Namespace], int]
log = logging.getLogger("hyasr_space.cli")


@dataclass(frozen=True)
class Command:
    """A subcommand: its name, its one-line help, its options and what it runs."""

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Runner


def add_model_options(parser: argparse.ArgumentParser, *, required: bool = False) -> None:
    """--model, --revision, --device, --dtype. Without `required`, the default model (with
    its fallback to the demo model) serves when --model is not given."""
    if required:
        help_text = "Hub id, local directory in the Hub layout, or 'demo' for the bundled model"
    else:
        help_text = (
            "Hub id, local directory or 'demo' (default: HYASR_MODEL or the Armenian XLS-R "
            "1B; only the default falls back to the demo model when it cannot be loaded)"
        )
    parser.add_argument("--model", required=required, default=None, help=help_text)
    parser.add_argument("--revision", default=None, help="Hub revision: branch, tag or commit")
    parser.add_argument("--device", choices=DEVICES, default=None, help="default: HYASR_DEVICE")
    parser.add_argument("--dtype", choices=DTYPES, default=None, help="default: HYASR_DTYPE")


def add_decoder_option(parser: argparse.ArgumentParser, default: str = LM) -> None:
    parser.add_argument("--decoder", choices=DECODER_CHOICES, default=default)


def add_lm_options(parser: argparse.ArgumentParser, *, hotwords: bool = True) -> None:
    """--alpha, --beta, --beam-width (and --hotwords, --hotword-weight): each overrides
    the checkpoint's setting when given."""
    parser.add_argument("--alpha", type=float, help="LM weight (default: the checkpoint's)")
    parser.add_argument("--beta", type=float, help="word bonus (default: the checkpoint's)")
    parser.add_argument("--beam-width", type=int, help="beam width (default: HYASR_BEAM_WIDTH)")
    if hotwords:
        parser.add_argument("--hotwords", default=None, help="comma-separated words to favour")
        parser.add_argument("--hotword-weight", type=float, help="hotword weight (default: 10)")


def add_caption_options(parser: argparse.ArgumentParser) -> None:
    """--max-line-chars, --max-lines, --max-caption-s: how words are grouped into captions
    (SRT, WebVTT, JSON segments, the picture's cuts); each overrides HYASR_CAPTION_*."""
    parser.add_argument(
        "--max-line-chars", type=_whole(1), metavar="N",
        help="characters a caption line (default: HYASR_CAPTION_MAX_LINE_CHARS, 42)",
    )  # fmt: skip
    parser.add_argument(
        "--max-lines", type=_whole(1), metavar="N",
        help="lines a caption (default: HYASR_CAPTION_MAX_LINES, 2)",
    )  # fmt: skip
    parser.add_argument(
        "--max-caption-s", type=_positive, metavar="S",
        help="seconds a caption stays up at most (default: HYASR_CAPTION_MAX_S, 6)",
    )  # fmt: skip


def caption_limits(args: argparse.Namespace, settings: Settings) -> CaptionLimits:
    """The settings' caption limits with the command's options where given."""
    options = {
        "max_line_chars": "max_line_chars",
        "max_lines": "max_lines",
        "max_caption_s": "max_duration_s",
    }
    changes = {
        field: getattr(args, option)
        for option, field in options.items()
        if getattr(args, option, None) is not None
    }
    return replace(CaptionLimits.from_settings(settings), **changes)


def _whole(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {value}")
        return value

    return parse


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, not {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text}")
    return value


def add_data_options(parser: argparse.ArgumentParser, splits: Sequence[str]) -> None:
    """--data, --split, --limit; `splits` are the TSVs looked for in a folder, in order."""
    names = [f"{split}.tsv" for split in splits]
    parser.add_argument(
        "--data",
        required=True,
        type=Path,
        help="a TSV with 'path' and 'sentence' columns, or a folder with "
        f"{', '.join(names[:-1])} or {names[-1]} (audio beside it or in clips/)",
    )
    parser.add_argument(
        "--split", default=None, help="which TSV of a folder to read, e.g. 'dev' or 'test'"
    )
    parser.add_argument("--limit", type=int, default=None, help="only the first N utterances")


def command_settings(args: argparse.Namespace) -> Settings:
    """Settings from the environment, with the command's --device/--dtype on top."""
    overrides = {
        name: getattr(args, name)
        for name in ("device", "dtype")
        if getattr(args, name, None) is not None
    }
    return replace(Settings.from_env(), **overrides)


def load_transcriber(args: argparse.Namespace) -> Transcriber:
    """The transcriber of --model (the default model falls back to the demo model, a named
    one never: a result must name its model), its notices printed as warnings.

    A one-shot command does not start an int8 export it would not live to use (nor
    share its cores with one): it serves int8 when the cache has it (the app made it, or
    `--dtype int8` once), else the interim precision (runtime/precision.py).
    """
    settings = replace(command_settings(args), background_export=False)
    transcriber = Transcriber.load(args.model, args.revision, settings)
    log.info("model: %s", transcriber.describe())
    for notice in transcriber.notices:
        print(f"hyasr: warning: {notice}", file=sys.stderr)
    return transcriber


def lm_settings(base: LMSettings, args: argparse.Namespace) -> LMSettings:
    """`base` with the command's LM options where given. Raises `InvalidRequestError`."""
    changes = {
        name: getattr(args, name)
        for name in ("alpha", "beta", "beam_width", "hotword_weight")
        if getattr(args, name, None) is not None
    }
    if getattr(args, "hotwords", None) is not None:
        changes["hotwords"] = parse_hotwords(args.hotwords)
    return replace(base, **changes)


def command_error(error: Exception) -> int:
    """Print a command's error; its exit status: 1 for unreadable audio, else 2."""
    print(f"hyasr: {error}", file=sys.stderr)
    return 1 if isinstance(error, (AudioError, OSError)) else 2


def progress_printer(label: str, stream: TextIO | None = None) -> ProgressCallback | None:
    """A one-line counter on a terminal's stderr; nothing when stderr is not a terminal."""
    stream = stream or sys.stderr
    if not stream.isatty():
        return None

    def show(done: int, total: int) -> None:
        stream.write(f"\r{label} {done}/{total}" + ("\n" if done == total else ""))
        stream.flush()

    return show
