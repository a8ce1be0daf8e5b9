"""Hugging Face Space entry point: `python app.py [--share] [--host H] [--port P] [--model M]`.

The demo is built at import, as Spaces (and `gradio app.py` reload mode) expect, so the
model is loaded once, before the first request.
"""

try:  # ZeroGPU patches torch when `spaces` is imported, so it must come first.
    import spaces  # noqa: F401
except ImportError:
    pass

import argparse
import logging

from hyasr_space.cli import add_serve_arguments
from hyasr_space.cli.common import command_settings
from hyasr_space.web import build_demo, launch

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

parser = argparse.ArgumentParser(description="Serve the Armenian speech recognition app.")
add_serve_arguments(parser)
args, _ = parser.parse_known_args()  # tolerate options of whatever imports this module
settings = command_settings(args)
demo = build_demo(settings, model=args.model, revision=args.revision)

if __name__ == "__main__":
    launch(demo, settings, share=args.share, host=args.host, port=args.port)
