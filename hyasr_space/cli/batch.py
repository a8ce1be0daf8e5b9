"""`hyasr batch INPUT... --out DIR`: a corpus through Ray Data (hyasr_space/batch/).

Exit status: 0 every input transcribed, 1 some input failed (its row says why),
2 no Ray, no model, bad options or inputs, or DIR made with other settings.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import HyasrError
from ..lm_settings import parse_hotwords
from .common import (
    Command,
    add_caption_options,
    add_decoder_option,
    add_lm_options,
    add_model_options,
    caption_limits,
    command_error,
    command_settings,
)

LM_OPTIONS = ("alpha", "beta", "beam_width", "hotwords", "hotword_weight")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "inputs", nargs="+", metavar="INPUT",
        help="a folder (recursive), a glob, a CSV/TSV manifest (path[, sentence]), a "
        "save_to_disk folder or Parquet files with an Audio column, or a Hub data set id",
    )  # fmt: skip
    parser.add_argument("--out", required=True, type=Path, metavar="DIR",
                        help="where the Parquet rows, summary and subtitles go")  # fmt: skip
    add_model_options(parser)
    add_decoder_option(parser)
    add_lm_options(parser)
    add_caption_options(parser)
    outputs = parser.add_argument_group("outputs")
    outputs.add_argument("--jsonl", action="store_true", help="also DIR/transcripts.jsonl")
    outputs.add_argument("--srt", action="store_true", help="also one SRT file per input")
    outputs.add_argument("--vtt", action="store_true", help="also one WebVTT file per input")
    data = parser.add_argument_group("data sets")
    data.add_argument("--split", default=None, help="the split of a data set (Hub: required)")
    data.add_argument("--audio-column", default=None, help="default: the Audio column")
    data.add_argument(
        "--max-duration-s", type=float, default=None, metavar="S",
        help="longer files get an error row (default: 3600, as hyasr eval)",
    )  # fmt: skip
    cluster = parser.add_argument_group("Ray")
    cluster.add_argument(
        "--address", default=None,
        help="a Ray cluster (default: RAY_ADDRESS, else a local Ray in this process)",
    )  # fmt: skip
    cluster.add_argument(
        "--acoustic-workers",
        type=_count,
        default=None,
        metavar="N",
        help="acoustic model actors (default: one per GPU, or per 8 CPUs)",
    )
    cluster.add_argument(
        "--acoustic-threads",
        type=_count,
        default=None,
        metavar="N",
        help="torch threads per acoustic actor on CPUs",
    )
    cluster.add_argument("--decoder-workers", type=_count, default=None, metavar="N",
                         help="beam search actors (default: from the CPUs)")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    try:
        from ..batch import BatchOptions, RayMissingError, require_ray, run_batch

        require_ray()
    except ImportError as error:  # RayMissingError, or the package's own import of pyarrow
        from ..batch.ray_setup import INSTALL_HINT

        message = str(error) if "hyasr-space[batch]" in str(error) else INSTALL_HINT
        print(f"hyasr: {message}", file=sys.stderr)
        return 2
    try:
        settings = command_settings(args)
        options = BatchOptions(
            model=args.model,
            revision=args.revision,
            settings=settings,
            decoder=args.decoder,
            lm_overrides=lm_overrides(args),
            limits=caption_limits(args, settings),
            max_duration_s=args.max_duration_s,
            subtitles=tuple(f for f in ("srt", "vtt") if getattr(args, f)),
            jsonl=args.jsonl,
            split=args.split,
            audio_column=args.audio_column,
            acoustic_workers=args.acoustic_workers,
            acoustic_threads=args.acoustic_threads,
            decoder_workers=args.decoder_workers,
            address=args.address,
        )
        summary = run_batch(args.inputs, args.out, options)
    except RayMissingError as error:
        print(f"hyasr: {error}", file=sys.stderr)
        return 2
    except (HyasrError, ValueError, OSError) as error:  # before anything ran: bad usage
        command_error(error)
        return 2
    print(summary.text())
    _print_failures(args.out)
    return 1 if summary.failed or summary.written < summary.inputs else 0


def lm_overrides(args: argparse.Namespace) -> dict[str, object]:
    """The LM options given, hotwords parsed as `hyasr transcribe` parses them; the
    workers apply them to the checkpoint's settings (cli/common.py's `lm_settings`)."""
    given = {name: getattr(args, name, None) for name in LM_OPTIONS}
    if given["hotwords"] is not None:
        given["hotwords"] = parse_hotwords(given["hotwords"])
    return {name: value for name, value in given.items() if value is not None}


def _print_failures(out: Path, limit: int = 20) -> None:
    """One line per failed input (the first `limit`), its reason as the row has it."""
    from ..batch.output import OutputDir

    shown = 0
    for table in OutputDir(out).read(["id", "error"]):
        for row in table.to_pylist():
            if row["error"] and shown < limit:
                print(f"hyasr: failed: {row['id']}: {row['error']}", file=sys.stderr)
                shown += 1


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


COMMAND = Command("batch", "transcribe a corpus with Ray Data (folder, manifest, data set)",
                  configure, run)  # fmt: skip
