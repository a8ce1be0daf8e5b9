"""Measure the bundled demo model the way its card and docs/development.md report it.

    python -m tools.measure_demo_model --model hyasr_space/demo_model --speech build/speech

1. ``hyasr eval`` on the held-out *test* clips with both decoders and the LM weights the
   LM was built with (pyctcdecode's defaults): the greedy and "LM, default" rows;
2. ``hyasr tune-lm --write`` on the held-out *tune* clips (other sentences): writes the
   best alpha/beta into the model's ``language_model/attrs.json``;
3. ``hyasr eval`` on the *test* clips again, with the tuned weights: the "LM, tuned" row.

Writes the three results to ``--out`` (JSON), which ``package_demo_model.py`` renders
into the model card.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from contextlib import redirect_stdout
from pathlib import Path

from hyasr_space.cli import main as hyasr
from hyasr_space.runtime import caches
from hyasr_space.settings import DEFAULT_ALPHA, DEFAULT_BETA


def run_json(argv: list[str]) -> dict:
    """`hyasr ARGV --format json`, in this process; its JSON."""
    captured = io.StringIO()
    with redirect_stdout(captured):
        status = hyasr([*argv, "--format", "json"])
    if status != 0:
        raise SystemExit(f"{argv} exited {status}")
    print(captured.getvalue(), file=sys.stderr)
    return json.loads(captured.getvalue())


def lm_row(report: dict) -> dict:
    row = dict(report["decoders"]["lm"])
    row.update(alpha=report["lm"]["alpha"], beta=report["lm"]["beta"])
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="hyasr_space/demo_model")
    parser.add_argument("--speech", type=Path, default=Path("build/speech"))
    parser.add_argument("--out", type=Path, default=Path("build/demo-metrics.json"))
    parser.add_argument("--alphas", default="0:2:0.25")
    parser.add_argument("--betas", default="-1:4:0.5")
    args = parser.parse_args()
    test, tune = str(args.speech / "heldout-test"), str(args.speech / "heldout-tune")

    # The LM's build-time weights (pyctcdecode's defaults), named explicitly so that
    # a rerun after tuning still measures them.
    default = run_json(
        ["eval", "--model", args.model, "--data", test, "--decoder", "both"]
        + ["--alpha", str(DEFAULT_ALPHA), "--beta", str(DEFAULT_BETA)],
    )
    tuning = run_json(
        ["tune-lm", "--model", args.model, "--data", tune, "--write", "--alphas", args.alphas]
        + ["--betas=" + args.betas, "--beam-widths", "16,32,64,100", "--jobs", "2"],
    )
    caches.clear()  # reload attrs.json as tune-lm wrote it
    tuned = run_json(["eval", "--model", args.model, "--data", test, "--decoder", "lm"])
    metrics = {
        "test": {
            "data": default["data"],
            "greedy": default["decoders"]["greedy"],
            "lm_default": lm_row(default),
            "lm_tuned": lm_row(tuned),
            "forward_rtf": tuned["forward_rtf"],
        },
        "tuning": tuning,
    }
    args.out.write_text(json.dumps(metrics, indent=1, ensure_ascii=False) + "\n")
    print(
        json.dumps({k: metrics["test"][k] for k in ("greedy", "lm_default", "lm_tuned")}, indent=1)
    )


if __name__ == "__main__":
    main()
