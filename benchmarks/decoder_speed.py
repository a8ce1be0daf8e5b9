"""LM beam search speed against accuracy: pyctcdecode's pruning knobs for this vocabulary.

    python -m benchmarks.decoder_speed                      # demo model logits if it exists
    python -m benchmarks.decoder_speed --logits peaky --limit 150
    python -m benchmarks.decoder_speed --beam-widths 100 50 25 --prune -10 -5 --token-min -5 -3

Logits are realistic, never flat: the bundled demo model's on the held-out test clips
(build/speech/heldout-test, sentences kept out of the LM), or, with `--logits peaky` or
without the demo model, peaky logits that spell those sentences (bench_common). Every
setting decodes the same logits with `LMDecoder` (pyctcdecode + build/lm's KenLM or the
model's own LM), one clip at a time on one thread, as the app does. Reported per setting:
decode time per 10 s of audio (total time / total audio x 10), the median and worst clip,
corpus WER/CER against the references, and how many transcripts differ from the default
setting's (beam 100, prune -10, token_min -5).

Prints one JSON document on stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import time
from dataclasses import replace

from benchmarks.bench_common import (
    FRAME_S,
    LM_DIR,
    heldout_sentences,
    log,
    machine,
    peaky_logits,
)
from hyasr_space.audio import load_audio
from hyasr_space.lm import LMDecoder
from hyasr_space.results import Logits
from hyasr_space.settings import Settings
from hyasr_space.text import error_rates, normalize_text
from hyasr_space.vocabulary import Vocabulary

DEFAULT = (100, -10.0, -5.0)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--logits", choices=("auto", "demo", "peaky"), default="auto")
    parser.add_argument("--limit", type=int, default=150, help="held-out clips to decode")
    parser.add_argument("--beam-widths", nargs="+", type=int, default=[100, 64, 32, 16, 8])
    parser.add_argument("--prune", nargs="+", type=float, default=[-10.0, -5.0])
    parser.add_argument("--token-min", nargs="+", type=float, default=[-5.0, -3.0])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--alpha", type=float, default=None, help="default: the LM's attrs.json")
    parser.add_argument("--beta", type=float, default=None, help="default: the LM's attrs.json")
    return parser.parse_args(argv)


def load_logits(kind: str, limit: int) -> tuple[str, list[Logits], list[str], LMDecoder]:
    """(what the logits are, logits per clip, references, the decoder to use)."""
    items = heldout_sentences(limit)
    references = [sentence for _, sentence in items]
    settings = Settings(device="cpu", fallback_model=None, warm_up=False)
    if kind in ("auto", "demo"):
        try:
            from hyasr_space.transcriber import Transcriber

            transcriber = Transcriber.load("demo", settings=settings)
            logits = [transcriber.model.logits(load_audio(path, settings)) for path, _ in items]
            lm = transcriber.lm or _project_lm(transcriber.vocabulary, settings)
            return "demo model on held-out speech", logits, references, lm
        except Exception as error:
            if kind == "demo":
                raise
            log(f"no demo model ({error}); using peaky logits")
    logits = []
    for index, (path, sentence) in enumerate(items):
        import soundfile

        frames = int(soundfile.info(path).duration / FRAME_S)
        text = normalize_text(sentence)
        logits.append(Logits(peaky_logits(text, max(frames, 2 * len(text)), seed=index), FRAME_S))
    return "peaky (held-out text)", logits, references, _project_lm(Vocabulary.default(), settings)


def _project_lm(vocabulary: Vocabulary, settings: Settings) -> LMDecoder:
    lm = LMDecoder.from_dir(LM_DIR.parent, vocabulary, settings)
    if lm is None:
        raise SystemExit(f"no language model in {LM_DIR}")
    return lm


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    what, logits, references, lm = load_logits(args.logits, args.limit)
    if args.alpha is not None or args.beta is not None:
        lm.defaults = replace(
            lm.defaults,
            alpha=lm.defaults.alpha if args.alpha is None else args.alpha,
            beta=lm.defaults.beta if args.beta is None else args.beta,
        )
    audio_s = sum(item.duration for item in logits)
    log(f"{len(logits)} clips, {audio_s:.0f} s of audio, logits: {what}")
    grid = sorted(
        set(itertools.product(args.beam_widths, args.prune, args.token_min)) | {DEFAULT},
        key=lambda s: (-s[0], s[1], s[2]),
    )
    for item in logits[:3]:  # warm-up: kenlm pages, pyctcdecode caches
        lm.decode(item)
    rows, texts = [], {}
    for beam, prune, token_min in grid:
        settings = replace(
            lm.defaults, beam_width=beam, beam_prune_logp=prune, token_min_logp=token_min
        )
        times, hypotheses = [], []
        for item in logits:
            fastest = float("inf")
            for _ in range(args.repeats):
                started = time.perf_counter()
                text = lm.decode(item, settings).text
                fastest = min(fastest, time.perf_counter() - started)
            times.append(fastest)
            hypotheses.append(text)
        texts[(beam, prune, token_min)] = hypotheses
        rates = error_rates(references, hypotheses)
        per_clip_10s = [t / item.duration * 10 for t, item in zip(times, logits, strict=True)]
        rows.append(
            {
                "beam_width": beam,
                "beam_prune_logp": prune,
                "token_min_logp": token_min,
                "ms_per_10s": round(sum(times) / audio_s * 10 * 1000, 2),
                "ms_per_10s_median_clip": round(statistics.median(per_clip_10s) * 1000, 2),
                "ms_per_10s_worst_clip": round(max(per_clip_10s) * 1000, 2),
                "wer": round(rates.wer, 4),
                "cer": round(rates.cer, 4),
            }
        )
        log(f"beam {beam:3d} prune {prune:5.1f} token_min {token_min:5.1f}: {rows[-1]}")
    default = texts[DEFAULT]
    for row in rows:
        key = (row["beam_width"], row["beam_prune_logp"], row["token_min_logp"])
        row["differs_from_default"] = sum(a != b for a, b in zip(texts[key], default, strict=True))
    report = {
        "machine": machine(),
        "logits": what,
        "clips": len(logits),
        "audio_s": round(audio_s, 1),
        "lm": f"{lm.order}-gram {lm.kenlm_path}",
        "alpha": lm.defaults.alpha,
        "beta": lm.defaults.beta,
        "threads": "one (pyctcdecode is single-threaded Python)",
        "settings": rows,
    }
    json.dump(report, sys.stdout, indent=1, ensure_ascii=False)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
