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
    format_comparison_text,
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
    add_model_options(parser, required=True, several=True)
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
    """Print WER/CER/RTF per decoder (and per model: several --model make one table).
    Exit status: 0 done, 1 a clip could not be read, 2 no model, no data set, or bad
    options."""
    reports = []
    try:
        tsv = find_tsv(args.data, (args.split,) if args.split else DEFAULT_SPLITS)
        dataset = load_dataset(tsv, limit=args.limit)
        for name in args.model:
            transcriber = load_transcriber(argparse.Namespace(**{**vars(args), "model": name}))
            reports.append(
                evaluate(
                    transcriber,
                    dataset,
                    args.decoder,
                    lm_settings(transcriber.lm_defaults, args),
                    data_name=str(tsv),
                    progress=progress_printer(f"transcribing ({name})"),
                )
            )
    except (HyasrError, ValueError, OSError) as error:
        return command_error(error)
    if len(reports) > 1:
        if args.hypotheses is not None:
            for index, report in enumerate(reports):
                suffix = args.hypotheses.suffix
                write_hypotheses(report, args.hypotheses.with_suffix(f".{index + 1}{suffix}"))
        if args.format == "json":
            print(json.dumps([r.to_dict() for r in reports], ensure_ascii=False, indent=2))
        else:
            print(format_comparison_text(reports, markdown=args.format == "markdown"))
        return 0
    report = reports[0]
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
