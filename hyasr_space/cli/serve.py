"""`hyasr serve`: the web app (`python app.py` takes the same options)."""

from __future__ import annotations

import argparse

from .common import Command, add_model_options, command_settings


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `hyasr serve` and of `python app.py`."""
    add_model_options(parser)
    parser.add_argument("--share", action="store_true", help="also serve on a public share link")
    parser.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port to listen on (default 7860)")


def run(args: argparse.Namespace) -> int:
    from ..web import build_demo, launch

    settings = command_settings(args)
    demo = build_demo(settings, model=args.model, revision=args.revision)
    launch(demo, settings, share=args.share, host=args.host, port=args.port)
    return 0


COMMAND = Command("serve", "serve the web app", add_serve_arguments, run)
