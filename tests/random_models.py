"""Small random CTC checkpoints of each served architecture, in the Hub layout, with the
tone model's 44-token vocabulary and a model card with metrics (tests/test_models.py).

Random weights read nothing sensible; they exercise loading, the frame grid, windows,
decoders, alignment, streaming and the card, not accuracy.
"""

from __future__ import annotations

import json
from pathlib import Path

from tone_model import BLANK, RATE, VOCAB, _write_tokenizer_files


def card(license_id: str, wer: float, split: str = "test", *, lm: bool = True) -> str:
    """A README.md with a model-index WER on Common Voice (`lm`: named as with an LM)."""
    name = "Test WER with LM" if lm else "Test WER"
    return (
        "---\n"
        f"license: {license_id}\n"
        "language: [hy]\n"
        "model-index:\n"
        "- name: m\n"
        "  results:\n"
        "  - task: {type: automatic-speech-recognition}\n"
        "    dataset: {type: mozilla-foundation/common_voice_17_0, name: CV hy, "
        f"split: {split}}}\n"
        "    metrics:\n"
        f"    - {{type: wer, value: {wer}, name: {name}}}\n"
        "---\n# A random test model\n"
    )


def build_random_wav2vec2(folder: Path, seed: int = 1) -> Path:
    """A 2-layer `Wav2Vec2ForCTC` with random weights (the tone model's shape)."""
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2ForCTC

    torch.manual_seed(seed)
    config = Wav2Vec2Config(
        vocab_size=len(VOCAB), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, conv_dim=(32,) * 7, conv_kernel=(10, 3, 3, 3, 3, 2, 2),
        conv_stride=(5, 2, 2, 2, 2, 2, 2), conv_bias=True, feat_extract_norm="layer",
        do_stable_layer_norm=True, num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=4, pad_token_id=BLANK,
    )  # fmt: skip
    Wav2Vec2ForCTC(config).eval().save_pretrained(folder)
    Wav2Vec2FeatureExtractor(
        feature_size=1, sampling_rate=RATE, padding_value=0.0, do_normalize=True,
        return_attention_mask=True,
    ).save_pretrained(folder)  # fmt: skip
    _write_tokenizer_files(folder)
    return folder


def build_random_w2v_bert(folder: Path, seed: int = 2) -> Path:
    """A 2-layer `Wav2Vec2BertForCTC` (conformer, relative positions) with random weights,
    taking `SeamlessM4TFeatureExtractor`'s 160-value stacked filter banks."""
    import torch
    from transformers import SeamlessM4TFeatureExtractor, Wav2Vec2BertConfig, Wav2Vec2BertForCTC

    torch.manual_seed(seed)
    config = Wav2Vec2BertConfig(
        vocab_size=len(VOCAB), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, feature_projection_input_dim=160,
        conv_depthwise_kernel_size=5, pad_token_id=BLANK, add_adapter=False,
    )  # fmt: skip
    network = Wav2Vec2BertForCTC(config).eval()
    with torch.no_grad():  # a few letters a second, as speech has, not blank only
        network.lm_head.weight.mul_(8.0)
        network.lm_head.bias.zero_()
        network.lm_head.bias[BLANK] = 1.0
    network.save_pretrained(folder)
    SeamlessM4TFeatureExtractor(sampling_rate=RATE).save_pretrained(folder)
    _write_tokenizer_files(folder)
    return folder


def build_respelled_tone_model(tone_dir: Path, folder: Path, swap: str = "բձ") -> Path:
    """The tone model with two letters' tokens swapped in its vocabulary: the same
    network, so it reads tone speech as surely, but spells `respelled(text)`. A second
    model whose text shows which model ran (random weights read nothing repeatable)."""
    import shutil

    shutil.copytree(tone_dir, folder, ignore=shutil.ignore_patterns("language_model"))
    vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
    first, second = swap
    vocab[first], vocab[second] = vocab[second], vocab[first]
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    return folder


def respelled(text: str, swap: str = "բձ") -> str:
    """What `build_respelled_tone_model` reads for tone speech of `text`."""
    first, second = swap
    return text.translate(str.maketrans({first: second, second: first}))


def write_card(folder: Path, text: str) -> None:
    (folder / "README.md").write_text(text, encoding="utf-8")


def read_config(folder: Path) -> dict:
    return json.loads((folder / "config.json").read_text(encoding="utf-8"))
