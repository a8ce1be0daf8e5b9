"""Assemble the bundled demo model in the Hub layout: ``hyasr_space/demo_model/``.

    python -m tools.package_demo_model --checkpoint build/demo-train/best --lm build/lm \
        --metrics build/demo-metrics.json

Copies the trained checkpoint (config, safetensors weights, preprocessor and tokenizer
files), the KenLM folder (``language_model/``: lm.binary, unigrams.txt, attrs.json),
writes ``alphabet.json`` in pyctcdecode's layout, and, given the measured metrics, stores
the tuned LM weights in ``attrs.json`` and renders the model card (``README.md``) with a
``model-index`` that holds the metrics. The metrics file
is what ``tools/measure_demo_model.py`` writes from ``hyasr eval``.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from hyasr_space.lm_tuning import write_lm_attrs
from hyasr_space.vocabulary import Vocabulary

CHECKPOINT_FILES = (
    "config.json",
    "model.safetensors",
    "preprocessor_config.json",
    "vocab.json",
    "added_tokens.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
)
LM_FILES = ("lm.binary", "unigrams.txt", "attrs.json")
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "hyasr_space" / "demo_model"
CARD_TEMPLATE = Path(__file__).with_name("demo_model_card.md")


def copy_model(checkpoint: Path, lm: Path, out: Path) -> None:
    (out / "language_model").mkdir(parents=True, exist_ok=True)
    for name in CHECKPOINT_FILES:
        shutil.copy2(checkpoint / name, out / name)
    for name in LM_FILES:
        shutil.copy2(lm / "language_model" / name, out / "language_model" / name)
    labels = Vocabulary.from_dir(out).labels()
    (out / "alphabet.json").write_text(
        json.dumps({"labels": labels, "is_bpe": False}, ensure_ascii=False) + "\n"
    )


def _rate(value: float) -> str:
    return f"{value * 100:.1f}%"


def render_card(out: Path, metrics: dict, training: dict, lm_info: dict) -> str:
    test = metrics["test"]
    rows = [
        ("greedy", test["greedy"]),
        (
            f"LM, default weights (alpha {test['lm_default']['alpha']:g}, "
            f"beta {test['lm_default']['beta']:g})",
            test["lm_default"],
        ),
        (
            f"LM, tuned weights (alpha {test['lm_tuned']['alpha']:g}, "
            f"beta {test['lm_tuned']['beta']:g})",
            test["lm_tuned"],
        ),
    ]
    table = "\n".join(
        f"| {name} | {_rate(row['wer'])} | {_rate(row['cer'])} | {row['utterances']} |"
        for name, row in rows
    )
    sources = lm_info["sources"]
    lm_sentences = sum(source["kept"] for source in sources.values())
    best_eval = min(training["evals"], key=lambda row: row["cer"])
    return CARD_TEMPLATE.read_text(encoding="utf-8").format(
        greedy_wer=test["greedy"]["wer"],
        greedy_cer=test["greedy"]["cer"],
        lm_wer=test["lm_tuned"]["wer"],
        lm_cer=test["lm_tuned"]["cer"],
        lm_default_wer=test["lm_default"]["wer"],
        lm_default_cer=test["lm_default"]["cer"],
        utterances=test["greedy"]["utterances"],
        table=table,
        parameters=f"{training['parameters'] / 1e6:.2f}",
        train_clips=training["train_clips"],
        train_hours=training["train_hours"],
        steps=best_eval["step"],
        tune_cer=_rate(best_eval["cer"]),
        hardware=training["hardware"],
        train_minutes=round(best_eval["elapsed_s"] / 60),
        torch_version=training["torch"],
        lm_sentences=f"{lm_sentences:,}",
        lm_words=f"{sum(source['words'] for source in sources.values()):,}",
        lm_order=lm_info.get("order", 5),
        lm_unigrams=f"{lm_info.get('unigrams', 0):,}",
        tuned_alpha=test["lm_tuned"]["alpha"],
        tuned_beta=test["lm_tuned"]["beta"],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, default=Path("build/demo-train/best"))
    parser.add_argument("--lm", type=Path, default=Path("build/lm"))
    parser.add_argument("--metrics", type=Path, help="measured metrics (JSON); omit to copy only")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    copy_model(args.checkpoint, args.lm, args.out)
    training = json.loads((args.checkpoint / "training_info.json").read_text())
    (args.out / "training_info.json").write_text(json.dumps(training, indent=1) + "\n")
    lm_info = json.loads((args.lm / "lm_build_info.json").read_text())
    if args.metrics:
        metrics = json.loads(args.metrics.read_text())
        tuned = metrics["test"]["lm_tuned"]
        write_lm_attrs(args.out, tuned["alpha"], tuned["beta"])  # the weights measured
        card = render_card(args.out, metrics, training, lm_info)
        (args.out / "README.md").write_text(card, encoding="utf-8")
    size = sum(path.stat().st_size for path in args.out.rglob("*") if path.is_file())
    print(json.dumps({"out": str(args.out), "megabytes": round(size / 2**20, 1)}))


if __name__ == "__main__":
    main()
