"""Greedy (and LM) transcripts of the int8 (or bf16) path against float32 on the held-out set.

    python -m benchmarks.int8_agreement                    # the bundled demo model, int8
    python -m benchmarks.int8_agreement --dtypes int8 bfloat16 --model PATH --limit 50
    python -m benchmarks.int8_agreement --weight-bits 7   # what a CPU without VNNI/AMX gets

Every path reads the same clips; the report gives each one's corpus WER/CER, the number
of clips whose transcript differs from float32's, its WER/CER against float32 itself,
and the forward time of each. Prints JSON on stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from benchmarks.bench_common import heldout_dir, machine
from hyasr_space.evaluation import evaluate, load_dataset
from hyasr_space.runtime import load_model
from hyasr_space.settings import Settings
from hyasr_space.text import error_rates
from hyasr_space.transcriber import Transcriber


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="demo")
    parser.add_argument("--data", type=Path, default=None, help="default: the held-out test set")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--decoder", default="both", choices=("greedy", "lm", "both"))
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument("--dtypes", nargs="+", default=["int8"], help="compared with float32")
    parser.add_argument(
        "--weight-bits", type=int, choices=(7, 8), default=None, help="default: this CPU's"
    )
    args = parser.parse_args(argv)
    if args.weight_bits:  # the export another CPU kind would make (precision.py)
        from hyasr_space.runtime import int8 as quantized

        quantized.weight_bits = lambda: args.weight_bits
    base = Settings(device="cpu", fallback_model=None, warm_up=False, background_export=False)
    if args.cache_dir:
        base = replace(base, cache_dir=args.cache_dir)
    args.data = args.data or heldout_dir()
    dataset = load_dataset(args.data, limit=args.limit)
    reports = {}
    for dtype in ("float32", *args.dtypes):
        settings = replace(base, dtype=dtype)
        transcriber = Transcriber(load_model(args.model, settings=settings), settings)
        reports[dtype] = evaluate(transcriber, dataset, args.decoder, data_name=str(args.data))
    out = {"machine": machine(), "model": args.model, "clips": len(dataset), "decoders": {}}
    if "int8" in args.dtypes:
        from hyasr_space.runtime.int8 import weight_bits

        out["int8_weight_bits"] = weight_bits()
    for dtype, report in reports.items():
        out[f"{dtype}_forward_s"] = round(report.forward_seconds, 3)
    out["audio_s"] = round(reports["float32"].audio_seconds, 1)
    for result in reports["float32"].results:
        name = result.decoder
        fp32 = [item.hypotheses[name] for item in reports["float32"].items]
        row = {"float32": {"wer": round(result.wer, 4), "cer": round(result.cer, 4)}}
        for dtype in args.dtypes:
            other = [item.hypotheses[name] for item in reports[dtype].items]
            against = error_rates(fp32, other)
            row[dtype] = {
                "wer": round(reports[dtype].result(name).wer, 4),
                "cer": round(reports[dtype].result(name).cer, 4),
                "clips_differing": sum(a != b for a, b in zip(fp32, other, strict=True)),
                "vs_float32": {"wer": round(against.wer, 4), "cer": round(against.cer, 4)},
            }
        out["decoders"][name] = row
    json.dump(out, sys.stdout, indent=1, ensure_ascii=False)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
