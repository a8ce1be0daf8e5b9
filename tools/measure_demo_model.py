"""Measure the bundled demo model the way its card and the README report it.

    python tools/measure_demo_model.py --model hyasr_space/demo_model --speech build/speech

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

from hyasr_space.evaluation import add_eval_arguments, run_eval_command
from hyasr_space.lm_tuning import add_tune_arguments, run_tune_command
from hyasr_space.transcriber import clear_transcriber_cache

BUILD_ALPHA, BUILD_BETA = 0.5, 1.5  # tools/build_lm.py's attrs.json


def run_json(add_arguments, run_command, argv: list[str]) -> dict:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(argv + ["--format", "json"])
    captured = io.StringIO()
    with redirect_stdout(captured):
        status = run_command(args)
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
        add_eval_arguments,
        run_eval_command,
        ["--model", args.model, "--data", test, "--decoder", "both"]
        + ["--alpha", str(BUILD_ALPHA), "--beta", str(BUILD_BETA)],
    )
    tuning = run_json(
        add_tune_arguments,
        run_tune_command,
        ["--model", args.model, "--data", tune, "--write", "--alphas", args.alphas]
        + ["--betas=" + args.betas, "--beam-widths", "16,32,64,100", "--jobs", "2"],
    )
    clear_transcriber_cache()  # reload attrs.json as tune-lm wrote it
    tuned = run_json(
        add_eval_arguments,
        run_eval_command,
        ["--model", args.model, "--data", test, "--decoder", "lm"],
    )
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
