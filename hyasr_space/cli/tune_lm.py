"""`hyasr tune-lm`: search alpha and beta on a dev set, time beam widths (lm_tuning.py)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import HyasrError, InvalidRequestError
from ..evaluation import find_tsv, load_dataset
from ..lm_tuning import (
    DEFAULT_ALPHAS,
    DEFAULT_BEAM_WIDTHS,
    DEFAULT_BETAS,
    DEFAULT_SEARCH_BEAM,
    TUNE_SPLITS,
    TuneOptions,
    collect_logits,
    format_tune_text,
    parse_beam_widths,
    parse_grid,
    tune_lm,
    write_lm_attrs,
)
from .common import (
    Command,
    add_data_options,
    add_model_options,
    command_error,
    load_transcriber,
    progress_printer,
)


def configure(parser: argparse.ArgumentParser) -> None:
    add_model_options(parser, required=True)
    add_data_options(parser, TUNE_SPLITS)
    parser.add_argument(
        "--alphas", type=parse_grid, default=DEFAULT_ALPHAS, help="start:stop:step or a,b,c"
    )
    parser.add_argument(
        "--betas",
        type=parse_grid,
        default=DEFAULT_BETAS,
        help="start:stop:step or a,b,c; write a negative start as --betas=-1:4:0.5",
    )
    parser.add_argument(
        "--search-beam",
        type=int,
        default=DEFAULT_SEARCH_BEAM,
        help=f"beam width of the grid search (default {DEFAULT_SEARCH_BEAM})",
    )
    parser.add_argument(
        "--beam-widths",
        type=parse_beam_widths,
        default=DEFAULT_BEAM_WIDTHS,
        help="beam widths to time at the best alpha and beta",
    )
    parser.add_argument(
        "--beam-tolerance",
        type=float,
        default=0.0,
        help="WER (absolute, e.g. 0.005) a narrower recommended beam may lose",
    )
    parser.add_argument("--jobs", type=int, default=1, help="decoding processes (fork)")
    parser.add_argument(
        "--logits-cache", type=Path, default=None, help="an .npz file to keep the logits in"
    )
    parser.add_argument(
        "--write",
        action="store_true",
        help="store the best alpha and beta in the model's language_model/attrs.json",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")


def run(args: argparse.Namespace) -> int:
    """Print the grid, the beam table and the best setting.

    Exit status: 0 done, 1 a clip could not be read, 2 no model, LM or data set, or bad
    options.
    """
    try:
        tsv = find_tsv(args.data, (args.split,) if args.split else TUNE_SPLITS)
        dataset = load_dataset(tsv, limit=args.limit)
        transcriber = load_transcriber(args)
        if transcriber.lm is None:
            raise InvalidRequestError(f"{transcriber.model_name} has no language model to tune.")
        if args.write and transcriber.model.source.kind == "hub":
            raise InvalidRequestError(
                "--write changes files, and this model is in the Hugging Face cache; "
                "download it to a folder and tune that."
            )
        collected = collect_logits(
            transcriber, dataset, args.logits_cache, progress_printer("logits")
        )
        options = TuneOptions(
            alphas=args.alphas,
            betas=args.betas,
            search_beam_width=args.search_beam,
            beam_widths=args.beam_widths,
            beam_tolerance=args.beam_tolerance,
            jobs=args.jobs,
        )
        report = tune_lm(
            transcriber.lm,
            collected.references,
            collected.logits,
            options,
            transcriber.lm.defaults,
            progress_printer("settings"),
        )
    except (HyasrError, ValueError, OSError) as error:
        return command_error(error)
    written = None
    if args.write:
        written = write_lm_attrs(transcriber.model.path, report.best.alpha, report.best.beta)
    if args.format == "json":
        data = {
            "model": transcriber.model_name,
            "data": str(tsv),
            "forward_seconds": collected.forward_seconds,
            "logits_from_cache": collected.from_cache,
            **report.to_dict(),
            "written": str(written) if written else None,
        }
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        print(f"model:   {transcriber.describe()}")
        print(f"data:    {tsv}")
        source = "from the cache" if collected.from_cache else f"{collected.forward_seconds:.1f} s"
        print(f"logits:  {source}\n")
        print(format_tune_text(report))
        if written:
            print(f"wrote alpha {report.best.alpha:g}, beta {report.best.beta:g} to {written}")
        print(f"to use the beam width: HYASR_BEAM_WIDTH={report.recommended_beam_width}")
    return 0


COMMAND = Command(
    "tune-lm", "search the LM weights alpha and beta on a dev set; time beam widths", configure, run
)
