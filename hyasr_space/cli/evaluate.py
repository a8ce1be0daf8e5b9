"""`hyasr eval`: WER, CER and speed per decoder on a labelled data set (evaluation.py)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import HyasrError
from ..evaluation import (
    DEFAULT_SPLITS,
    evaluate,
    find_tsv,
    format_report_markdown,
    format_report_text,
    load_dataset,
    write_hypotheses,
)
from ..settings import BOTH
from .common import (
    Command,
    add_data_options,
    add_decoder_option,
    add_lm_options,
    add_model_options,
    command_error,
    lm_settings,
    load_transcriber,
    progress_printer,
)

REPORT_FORMATS = ("text", "json", "markdown")


def configure(parser: argparse.ArgumentParser) -> None:
    add_model_options(parser, required=True)
    add_data_options(parser, DEFAULT_SPLITS)
    add_decoder_option(parser, default=BOTH)
    add_lm_options(parser, hotwords=False)
    parser.add_argument("--format", choices=REPORT_FORMATS, default="text")
    parser.add_argument(
        "--hypotheses",
        type=Path,
        default=None,
        help="write per-utterance hypotheses here (.tsv, or .jsonl for JSON lines)",
    )


def run(args: argparse.Namespace) -> int:
    """Print WER/CER/RTF per decoder. Exit status: 0 done, 1 a clip could not be read,
    2 no model, no data set, or bad options."""
    try:
        tsv = find_tsv(args.data, (args.split,) if args.split else DEFAULT_SPLITS)
        dataset = load_dataset(tsv, limit=args.limit)
        transcriber = load_transcriber(args)
        report = evaluate(
            transcriber,
            dataset,
            args.decoder,
            lm_settings(transcriber.lm_defaults, args),
            data_name=str(tsv),
            progress=progress_printer("transcribing"),
        )
    except (HyasrError, ValueError, OSError) as error:
        return command_error(error)
    if args.hypotheses is not None:
        write_hypotheses(report, args.hypotheses)
    if args.format == "json":
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    elif args.format == "markdown":
        print(format_report_markdown(report))
    else:
        print(format_report_text(report))
    return 0


COMMAND = Command("eval", "measure WER, CER and speed on a labelled data set", configure, run)
