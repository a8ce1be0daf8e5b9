"""Greedy (and LM) transcripts of the int8 path against float32 on the held-out test set.

    python benchmarks/int8_agreement.py                    # the bundled demo model
    python benchmarks/int8_agreement.py --model PATH --limit 50

Both paths read the same clips; the report gives each one's corpus WER/CER, the number of
clips whose transcript differs, the WER/CER of int8 against float32 itself, and the
forward time of each. Prints JSON on stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_common import HELDOUT, machine  # noqa: E402

from hyasr_space.evaluation import evaluate, load_dataset  # noqa: E402
from hyasr_space.model import load_model  # noqa: E402
from hyasr_space.settings import Settings  # noqa: E402
from hyasr_space.text import error_rates  # noqa: E402
from hyasr_space.transcriber import Transcriber  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="demo")
    parser.add_argument("--data", type=Path, default=HELDOUT)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--decoder", default="both", choices=("greedy", "lm", "both"))
    parser.add_argument("--cache-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    base = Settings(device="cpu", fallback_model=None, warm_up=False)
    if args.cache_dir:
        base = replace(base, cache_dir=args.cache_dir)
    dataset = load_dataset(args.data, limit=args.limit)
    reports = {}
    for dtype in ("float32", "int8"):
        settings = replace(base, dtype=dtype)
        transcriber = Transcriber(load_model(args.model, settings=settings), settings)
        reports[dtype] = evaluate(transcriber, dataset, args.decoder, data_name=str(args.data))
    out = {"machine": machine(), "model": args.model, "clips": len(dataset), "decoders": {}}
    for dtype, report in reports.items():
        out[f"{dtype}_forward_s"] = round(report.forward_seconds, 3)
    out["audio_s"] = round(reports["float32"].audio_seconds, 1)
    for result in reports["float32"].results:
        name = result.decoder
        fp32 = [item.hypotheses[name] for item in reports["float32"].items]
        int8 = [item.hypotheses[name] for item in reports["int8"].items]
        against = error_rates(fp32, int8)
        out["decoders"][name] = {
            "float32": {"wer": round(result.wer, 4), "cer": round(result.cer, 4)},
            "int8": {
                "wer": round(reports["int8"].result(name).wer, 4),
                "cer": round(reports["int8"].result(name).cer, 4),
            },
            "clips_differing": sum(a != b for a, b in zip(fp32, int8, strict=True)),
            "int8_vs_float32": {"wer": round(against.wer, 4), "cer": round(against.cer, 4)},
        }
    json.dump(out, sys.stdout, indent=1, ensure_ascii=False)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
