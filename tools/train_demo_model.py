"""Train the small Armenian wav2vec2 CTC model that the project ships as its offline default.

    python -m tools.train_demo_model --data build/speech --out build/demo-train

A randomly initialised ``Wav2Vec2ForCTC`` with the seed model's 44-token vocabulary and
ids (``hyasr_space.text.VOCAB``) and its architecture family (stable layer norm, layer-
normed conv feature encoder with bias, 16 kHz, 20 ms frames), scaled down to a few million
parameters, trained from scratch with CTC on espeak-ng speech from ``synth_speech.py``.
Because the layout and vocabulary match, the app's loading and decoding code serves the
shipped model and the real one alike.

Sized for a 2-core CPU, where the raw-waveform conv encoder dominates a training step: it
has four conv layers of 32-192 channels instead of seven of 512, with the same 20 ms
frame, while the transformer keeps hidden 192 (docs/development.md has the step times). Batches are
length-sorted and capped in total audio seconds; AdamW with a warm-up, a constant rate
through a short-clip curriculum, then cosine decay. Every
``--eval-every`` steps it measures greedy CER/WER on the held-out *tune* clips and saves
the best checkpoint in the Hub layout (config, safetensors, preprocessor, tokenizer).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import platform
import random
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2ForCTC

from hyasr_space.text import (
    BOS_TOKEN,
    EOS_TOKEN,
    PAD_TOKEN,
    UNK_TOKEN,
    VOCAB,
    WORD_DELIMITER,
    error_rates,
)

SAMPLE_RATE = 16_000
ID_TO_TOKEN = {index: token for token, index in VOCAB.items()}


def model_config() -> Wav2Vec2Config:
    return Wav2Vec2Config(
        vocab_size=len(VOCAB),
        pad_token_id=VOCAB[PAD_TOKEN],
        bos_token_id=VOCAB[BOS_TOKEN],
        eos_token_id=VOCAB[EOS_TOKEN],
        hidden_size=192,
        num_hidden_layers=4,
        num_attention_heads=4,
        intermediate_size=768,
        # Four conv layers instead of seven, same 320-sample (20 ms) frame: on a CPU the
        # 7 x 512 encoder's high-rate layers cost more than the whole transformer.
        conv_dim=(32, 64, 128, 192),
        conv_stride=(5, 4, 4, 4),
        conv_kernel=(10, 8, 4, 4),
        conv_bias=True,
        feat_extract_norm="layer",
        do_stable_layer_norm=True,
        num_conv_pos_embeddings=64,
        num_conv_pos_embedding_groups=16,
        hidden_dropout=0.05,
        activation_dropout=0.05,
        attention_dropout=0.05,
        feat_proj_dropout=0.05,
        final_dropout=0.05,
        layerdrop=0.0,
        mask_time_prob=0.05,
        mask_time_length=5,
        ctc_loss_reduction="mean",
        ctc_zero_infinity=True,
    )


def encode(text: str) -> list[int]:
    return [VOCAB[WORD_DELIMITER] if char == " " else VOCAB[char] for char in text]


def greedy_text(ids: np.ndarray) -> str:
    collapsed = [int(i) for index, i in enumerate(ids) if index == 0 or i != ids[index - 1]]
    tokens = [ID_TO_TOKEN[i] for i in collapsed if i < VOCAB[UNK_TOKEN]]
    return "".join(" " if token == WORD_DELIMITER else token for token in tokens).strip()


def normalize_batch(waves: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero-mean unit-variance per clip (the feature extractor's do_normalize), padded."""
    longest = max(len(wave) for wave in waves)
    values = torch.zeros(len(waves), longest)
    mask = torch.zeros(len(waves), longest, dtype=torch.long)
    for row, wave in enumerate(waves):
        wave = wave.astype(np.float32)
        wave = (wave - wave.mean()) / np.sqrt(wave.var() + 1e-7)
        values[row, : len(wave)] = torch.from_numpy(wave)
        mask[row, : len(wave)] = 1
    return values, mask


def make_batches(lengths: np.ndarray, max_seconds: float, max_clips: int, rng) -> list:
    order = np.argsort(lengths)
    batches, current, longest = [], [], 0
    for index in order:
        longest_if_added = max(longest, lengths[index])
        if current and (
            longest_if_added * (len(current) + 1) > max_seconds * SAMPLE_RATE
            or len(current) >= max_clips
        ):
            batches.append(current)
            current, longest_if_added = [], lengths[index]
        current.append(int(index))
        longest = longest_if_added
    if current:
        batches.append(current)
    rng.shuffle(batches)
    return batches


def load_heldout(folder: Path) -> tuple[list[np.ndarray], list[str]]:
    with open(folder / "metadata.tsv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    waves = [sf.read(folder / row["path"], dtype="float32")[0] for row in rows]
    return waves, [row["sentence"] for row in rows]


@torch.no_grad()
def evaluate(model, waves, references, batch_size: int = 16) -> dict:
    model.eval()
    device = next(model.parameters()).device
    order = np.argsort([len(w) for w in waves])
    by_index = {}
    for start in range(0, len(order), batch_size):
        chunk = [int(i) for i in order[start : start + batch_size]]
        values, mask = normalize_batch([waves[i] for i in chunk])
        logits = model(values.to(device), attention_mask=mask.to(device)).logits.float().cpu()
        frames = model._get_feat_extract_output_lengths(mask.sum(-1))
        for row, index in enumerate(chunk):
            ids = logits[row, : frames[row]].argmax(-1).numpy()
            by_index[index] = greedy_text(ids)
    hypotheses = [by_index[i] for i in range(len(waves))]
    model.train()
    rates = error_rates(references, hypotheses)
    return {"cer": rates.cer, "wer": rates.wer, "n": rates.utterances, "example": hypotheses[0]}


def save_checkpoint(model, out: Path, info: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    Wav2Vec2FeatureExtractor(
        feature_size=1,
        sampling_rate=SAMPLE_RATE,
        padding_value=0.0,
        do_normalize=True,
        return_attention_mask=True,
    ).save_pretrained(out)
    # Tokenizer files in the seed repo's layout: 42 base tokens + <s>, </s> added.
    base = {token: index for token, index in VOCAB.items() if index < VOCAB[BOS_TOKEN]}
    (out / "vocab.json").write_text(json.dumps(base, ensure_ascii=False, indent=1))
    (out / "added_tokens.json").write_text(
        json.dumps({BOS_TOKEN: VOCAB[BOS_TOKEN], EOS_TOKEN: VOCAB[EOS_TOKEN]})
    )
    (out / "tokenizer_config.json").write_text(
        json.dumps(
            {
                "tokenizer_class": "Wav2Vec2CTCTokenizer",
                "unk_token": UNK_TOKEN,
                "pad_token": PAD_TOKEN,
                "bos_token": BOS_TOKEN,
                "eos_token": EOS_TOKEN,
                "word_delimiter_token": WORD_DELIMITER,
                "do_lower_case": False,
                "replace_word_delimiter_char": " ",
            },
            indent=1,
        )
    )
    (out / "special_tokens_map.json").write_text(
        json.dumps(
            {
                "unk_token": UNK_TOKEN,
                "pad_token": PAD_TOKEN,
                "bos_token": BOS_TOKEN,
                "eos_token": EOS_TOKEN,
            }
        )
    )
    (out / "training_info.json").write_text(json.dumps(info, indent=1))


def learning_rate_factor(step: int, args: argparse.Namespace) -> float:
    """Linear warm-up, a constant plateau through the curriculum, then cosine decay to 5%.

    CTC from scratch sits on a plateau (blank everywhere, loss near the letters' entropy)
    before it finds the alignment; a learning rate that is already decaying then never
    gets off it. So the rate stays high until the short-clip curriculum is over.
    """
    if step < args.warmup_steps:
        return (step + 1) / args.warmup_steps
    if step < args.curriculum_steps:
        return 1.0
    progress = (step - args.curriculum_steps) / max(1, args.steps - args.curriculum_steps)
    return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("build/speech"))
    parser.add_argument("--out", type=Path, default=Path("build/demo-train"))
    parser.add_argument("--steps", type=int, default=1100)
    parser.add_argument("--batch-seconds", type=float, default=120.0)
    parser.add_argument("--max-clips", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--eval-every", type=int, default=200)
    parser.add_argument("--warmup-steps", type=int, default=50)
    parser.add_argument(
        "--curriculum-steps",
        type=int,
        default=400,
        help="steps on short clips only, at the full learning rate (SortaGrad-like)",
    )
    parser.add_argument("--curriculum-seconds", type=float, default=3.5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast (GPU)")
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = random.Random(args.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"

    data = np.load(args.data / "train.npz")
    audio, offsets, texts = data["audio"], data["offsets"], data["texts"]
    lengths = np.diff(offsets)
    labels = [encode(str(text)) for text in texts]
    heldout_waves, heldout_refs = load_heldout(args.data / "heldout-tune")

    model = Wav2Vec2ForCTC(model_config()).to(device)
    parameters = sum(p.numel() for p in model.parameters())
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: learning_rate_factor(step, args)
    )
    info = {
        "parameters": parameters,
        "hardware": f"{platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} threads, device {device}"
        + (f" ({torch.cuda.get_device_name()})" if device == "cuda" else ""),
        "torch": torch.__version__,
        "train_clips": len(lengths),
        "train_hours": round(float(lengths.sum()) / SAMPLE_RATE / 3600, 2),
        "args": {k: str(v) for k, v in vars(args).items()},
        "evals": [],
    }
    print(json.dumps({"parameters": parameters, "clips": len(lengths)}), flush=True)

    step, best_cer, started = 0, math.inf, time.time()
    model.train()
    short = np.flatnonzero(lengths <= args.curriculum_seconds * SAMPLE_RATE)
    while step < args.steps:
        pool = short if step < args.curriculum_steps else np.arange(len(lengths))
        for batch in make_batches(lengths[pool], args.batch_seconds, args.max_clips, rng):
            batch = [int(pool[i]) for i in batch]
            if step == args.curriculum_steps and len(pool) == len(short):
                break  # curriculum over: rebuild the batches from every clip
            if step >= args.steps:
                break
            values, mask = normalize_batch([audio[offsets[i] : offsets[i + 1]] for i in batch])
            longest_label = max(len(labels[i]) for i in batch)
            label_tensor = torch.full((len(batch), longest_label), -100, dtype=torch.long)
            for row, index in enumerate(batch):
                label_tensor[row, : len(labels[index])] = torch.tensor(labels[index])
            with torch.autocast(device, dtype=torch.bfloat16, enabled=args.bf16):
                loss = model(
                    values.to(device),
                    attention_mask=mask.to(device),
                    labels=label_tensor.to(device),
                ).loss
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            step += 1
            if step % 10 == 0:
                print(
                    json.dumps(
                        {
                            "step": step,
                            "loss": round(loss.item(), 4),
                            "elapsed_s": round(time.time() - started),
                        }
                    ),
                    flush=True,
                )
            if step % args.eval_every == 0 or step == args.steps:
                result = evaluate(model, heldout_waves, heldout_refs)
                result.update(step=step, elapsed_s=round(time.time() - started))
                info["evals"].append(result)
                print(json.dumps(result, ensure_ascii=False), flush=True)
                save_checkpoint(model, args.out / "last", info)
                if result["cer"] < best_cer:
                    best_cer = result["cer"]
                    save_checkpoint(model, args.out / "best", info)


if __name__ == "__main__":
    main()
