"""The test suite's model: a tiny real `Wav2Vec2ForCTC` that reads "tone speech", a tiny KenLM.

No test downloads anything. The model is the real transformers code with 2 layers and
hidden size 32, saved in the Hub layout. Its random encoder is left as it is; only the
output layer is fitted (least squares, in a second) so that each of a handful of pure
tones reads as one letter and silence as the CTC blank. A clip of tones therefore
transcribes to a known string through the whole real pipeline: feature extractor,
network, chunking, decoders, transcriber, app.
"""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter
from pathlib import Path

import numpy as np

from hyasr_space.settings import SAMPLE_RATE
from hyasr_space.text import PAD_TOKEN, VOCAB, WORD_DELIMITER

RATE = SAMPLE_RATE
WORDS = "բարև ձեզ"
LONG_WORDS = "բարև ձեզ բարև ձեզ բարև"
# One tone per symbol; the space is the word delimiter "|".
TONES = {" ": 2700.0, "բ": 300.0, "ա": 450.0, "ր": 650.0, "և": 900.0, "ձ": 1200.0,
         "ե": 1600.0, "զ": 2100.0}  # fmt: skip
TONE_S = 0.22
GAP_S = 0.08
BLANK = VOCAB[PAD_TOKEN]


def tone_speech(text: str, rate: int = RATE) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
    """Samples for `text` (one tone per symbol, silence between) and the token spans."""
    pieces = [np.zeros(int(GAP_S * rate))]
    spans = []
    position = len(pieces[0])
    for symbol in text:
        length = int(TONE_S * rate)
        t = np.arange(length) / rate
        pieces.append(0.5 * np.sin(2 * np.pi * TONES[symbol] * t))
        token = VOCAB[WORD_DELIMITER] if symbol == " " else VOCAB[symbol]
        spans.append((position, position + length, token))
        position += length
        pieces.append(np.zeros(int(GAP_S * rate)))
        position += len(pieces[-1])
    return np.concatenate(pieces).astype(np.float32), spans


# int8 and bf16 kernels round differently on AVX2 (u8s8 multiply-adds), AVX-512 VNNI, AMX and ARM,
# so frames whose two best scores nearly tie can flip from one CPU to the next: what must
# hold everywhere is the reading (the transcripts), with most frames agreeing and the
# logits close on average. Measured (int8 and bf16) on AVX-512 VNNI/AMX: 100 % of frames
# agree, largest |difference| 0.4 (the tone model's logits span about -8..8).
MIN_FRAME_AGREEMENT = 0.95
MAX_MEAN_LOGIT_DIFFERENCE = 0.25


def assert_reads_like_float32(got: np.ndarray, expected: np.ndarray) -> None:
    """What a reduced-precision path must share with float32 on any CPU."""
    assert got.shape == expected.shape
    agreement = float(np.mean(got.argmax(1) == expected.argmax(1)))
    assert agreement >= MIN_FRAME_AGREEMENT, agreement
    assert float(np.mean(np.abs(got - expected))) <= MAX_MEAN_LOGIT_DIFFERENCE


def _frame_labels(spans: list[tuple[int, int, int]], frames: int, offset: int = 0) -> np.ndarray:
    labels = np.full(frames, BLANK)
    for frame in range(frames):
        first, last = offset + frame * 320, offset + frame * 320 + 400
        for start, end, token in spans:
            if first >= start and last <= end:
                labels[frame] = token
    return labels


def build_tiny_model(folder: Path) -> Path:
    """A 2-layer Wav2Vec2ForCTC in the Hub layout whose output layer reads tone speech."""
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2ForCTC

    torch.manual_seed(0)
    config = Wav2Vec2Config(
        vocab_size=len(VOCAB),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        conv_dim=(32,) * 7,
        conv_kernel=(10, 3, 3, 3, 3, 2, 2),
        conv_stride=(5, 2, 2, 2, 2, 2, 2),
        conv_bias=True,
        feat_extract_norm="layer",
        do_stable_layer_norm=True,
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=4,
        pad_token_id=BLANK,
        ctc_loss_reduction="mean",
    )
    network = Wav2Vec2ForCTC(config).eval()
    extractor = Wav2Vec2FeatureExtractor(
        feature_size=1,
        sampling_rate=RATE,
        padding_value=0.0,
        do_normalize=True,
        return_attention_mask=True,
    )
    # Fit the output layer on whole clips and on crops of them, so that chunked forward
    # passes (which see less context) read the tones the same way.
    # Also fit on 16-bit and on slightly noisy copies: near-silence must read as blank too.
    rng = np.random.default_rng(0)
    features, labels = [], []
    for text in (WORDS, LONG_WORDS):
        clean, spans = tone_speech(text)
        versions = [
            clean,
            np.round(clean * 32767) / 32768,
            clean + rng.normal(scale=1e-3, size=clean.shape),
        ]
        crops = [(0, len(clean))] + [
            (start, min(start + 16_000, len(clean))) for start in range(0, len(clean), 4_800)
        ]
        for samples, (start, end) in itertools.product(versions, crops):
            piece = samples[start:end].astype(np.float32)
            inputs = extractor(piece, sampling_rate=RATE, return_tensors="pt")
            with torch.no_grad():
                hidden = network.wav2vec2(inputs.input_values).last_hidden_state[0].numpy()
            features.append(hidden)
            labels.append(_frame_labels(spans, len(hidden), offset=start))
    hidden = np.concatenate(features)
    targets = np.concatenate(labels)
    design = np.hstack([hidden, np.ones((len(hidden), 1))])
    onehot = np.eye(len(VOCAB))[targets] * 8.0 - 4.0
    weights = np.linalg.solve(design.T @ design + 1e-3 * np.eye(design.shape[1]), design.T @ onehot)
    with torch.no_grad():
        network.lm_head.weight.copy_(torch.from_numpy(weights[:-1].T.astype(np.float32)))
        network.lm_head.bias.copy_(torch.from_numpy(weights[-1].astype(np.float32)))
    folder.mkdir(parents=True, exist_ok=True)
    network.save_pretrained(folder)
    extractor.save_pretrained(folder)
    _write_tokenizer_files(folder)
    return folder


def save_like_transformers_4(folder: Path) -> None:
    """Replace `model.safetensors` by a `pytorch_model.bin` with the weight-norm names of
    old checkpoints, as the seed model's (transformers 4.17) has them."""
    import torch
    from safetensors.torch import load_file

    renames = {"parametrizations.weight.original0": "weight_g",
               "parametrizations.weight.original1": "weight_v"}  # fmt: skip
    state = {}
    for name, tensor in load_file(folder / "model.safetensors").items():
        for new, old in renames.items():
            name = name.replace(new, old)
        state[name] = tensor
    torch.save(state, folder / "pytorch_model.bin")
    (folder / "model.safetensors").unlink()


def _write_tokenizer_files(folder: Path) -> None:
    """The seed checkpoint's layout: 42 tokens in vocab.json, <s> and </s> added."""
    base = {token: index for token, index in VOCAB.items() if index < 42}
    added = {token: index for token, index in VOCAB.items() if index >= 42}
    special = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "[UNK]", "pad_token": "[PAD]"}
    files = {
        "vocab.json": base,
        "added_tokens.json": added,
        "special_tokens_map.json": special,
        "tokenizer_config.json": {
            **special,
            "do_lower_case": False,
            "word_delimiter_token": WORD_DELIMITER,
            "tokenizer_class": "Wav2Vec2CTCTokenizer",
        },
    }
    for name, content in files.items():
        (folder / name).write_text(json.dumps(content, ensure_ascii=False), encoding="utf-8")


def write_arpa(path: Path, sentences: list[str]) -> Path:
    """A bigram ARPA file with add-half unigrams and a fixed back-off (KenLM reads it)."""
    unigrams: Counter[str] = Counter()
    bigrams: Counter[tuple[str, str]] = Counter()
    for sentence in sentences:
        words = ["<s>", *sentence.split(), "</s>"]
        unigrams.update(words)
        bigrams.update(zip(words, words[1:], strict=False))
    vocabulary = sorted(unigrams) + ["<unk>"]
    total = sum(count for word, count in unigrams.items() if word != "<s>")
    lines = ["\\data\\", f"ngram 1={len(vocabulary)}", f"ngram 2={len(bigrams)}", "", "\\1-grams:"]
    for word in vocabulary:
        logp = (
            -99.0
            if word == "<s>"
            else math.log10((unigrams[word] + 0.5) / (total + len(vocabulary)))
        )
        lines.append(f"{logp:.4f}\t{word}\t{math.log10(0.4):.4f}")
    lines += ["", "\\2-grams:"]
    for (first, second), count in sorted(bigrams.items()):
        lines.append(f"{math.log10(0.6 * count / unigrams[first]):.4f}\t{first} {second}")
    lines += ["", "\\end\\", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


LM_SENTENCES = [
    "բարև ձեզ",
    "բարև ձեզ բարև ձեզ",
    "մայր հայաստան",
    "իմ մայր",
    "մայր և հայր",
    "բարև մայր",
]


def write_language_model(model_dir: Path, alpha: float = 0.5, beta: float = 1.5) -> Path:
    folder = model_dir / "language_model"
    folder.mkdir(parents=True, exist_ok=True)
    write_arpa(folder / "lm.arpa", LM_SENTENCES)
    words = sorted({word for sentence in LM_SENTENCES for word in sentence.split()})
    (folder / "unigrams.txt").write_text("\n".join(words) + "\n", encoding="utf-8")
    attrs = {"alpha": alpha, "beta": beta, "unk_score_offset": -10.0, "score_boundary": True}
    (folder / "attrs.json").write_text(json.dumps(attrs), encoding="utf-8")
    return folder
