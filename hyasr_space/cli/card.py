"""`hyasr card [MODEL]`: a model card's metrics, each labelled with split and decoder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import IO

from ..card import load_card_report, report_json, report_text
from ..settings import DEMO_MODEL, Settings
from .common import Command


def configure(parser: argparse.ArgumentParser) -> None:
    default_model = Settings.from_env().model
    parser.add_argument(
        "model",
        nargs="?",
        default=default_model,
        help=f"Hub repo id, local model directory or 'demo' (default: {default_model})",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--revision", default=None, help="branch, tag or commit on the Hub")
    parser.add_argument(
        "--refresh", action="store_true", help="ask the Hub at once and read every file again"
    )


def card_command(
    model: str | Path,
    fmt: str = "text",
    out: IO[str] | None = None,
    *,
    revision: str | None = None,
    refresh: bool = False,
) -> int:
    """Print the card's metrics; return 0, or 1 when no card could be found."""
    settings = Settings.from_env()  # the command line is an edge: it reads the environment
    if model == DEMO_MODEL:
        model = settings.demo_model_dir
    out = out or sys.stdout
    report = load_card_report(model, revision=revision, refresh=refresh, settings=settings)
    out.write(report_json(report) + "\n" if fmt == "json" else report_text(report))
    return 0 if report.available else 1


def run(args: argparse.Namespace) -> int:
    return card_command(args.model, args.format, revision=args.revision, refresh=args.refresh)


COMMAND = Command("card", "print a model card's metrics (Hub, cache or local)", configure, run)
